//! The conversation page: its messages rendered (Markdown, sanitised), their states, and the
//! actions open on the last reply.

use minijinja::{Value, context};
use shared::branches;
use shared::conversations::{Conversation, HISTORY_PAGE, Message, Shelf, Speaker};
use shared::folders::Folder;
use shared::groups::ModelAccess;
use shared::store::{ConversationStore, FolderStore};
use shared::users::Username;
use shared::{App, AppError, estimate, listing, session, transcript, usage};

/// Which part of the page's history to show, and in which mode.
#[derive(Default)]
pub struct Show {
    /// Messages before this sequence number (an earlier page), or the latest.
    pub before: Option<u32>,
    pub confirm_delete: bool,
    /// The branch shown: the one through this message, continued by its newest replies
    /// (`None`: the conversation's own).
    pub at: Option<u32>,
    /// The user's message in the edit form: `Some(None)` for the branch's last.
    pub edit: Option<Option<u32>>,
}

/// How many of the owner's latest conversations the sidebar lists.
const SIDEBAR_CONVERSATIONS: usize = 20;

/// What a conversation's page shows: the conversation, the part of its history `Show` asks
/// for, and the owner's latest conversations for the sidebar.
pub struct Loaded {
    pub conversation: Conversation,
    pub messages: Vec<Message>,
    pub recent: Vec<Conversation>,
    /// The pinned ones, which head the sidebar.
    pub pinned: Vec<Conversation>,
    /// The owner's folders (to file it in one, and to name the one it is in).
    pub folders: Vec<Folder>,
}

/// Loads what `show` asks for, the sidebar's conversations beside it, pinned and recent, and
/// the owner's folders (one round trip: four queries at once); `None` if `owner` has no such
/// conversation.
pub async fn load(
    app: &App,
    owner: &Username,
    id: &shared::conversations::ConversationId,
    show: &Show,
) -> Result<Option<Loaded>, AppError> {
    let store = app.store().await?;
    // On the heap: four store reads at once make a large future, and every page awaits it.
    let (history, recent, pinned, folders) = Box::pin(async {
        tokio::join!(
            history(store, owner, id, show),
            store.list_conversations(owner, None, SIDEBAR_CONVERSATIONS),
            store.list_shelf(owner, Shelf::Pinned, None, SIDEBAR_CONVERSATIONS),
            store.folders(owner)
        )
    })
    .await;
    let Some((conversation, messages)) = history? else {
        return Ok(None);
    };
    Ok(Some(Loaded {
        conversation,
        messages,
        recent: recent?.items,
        pinned: pinned?.items,
        folders: folders?,
    }))
}

async fn history(
    store: &shared::store::Store,
    owner: &Username,
    id: &shared::conversations::ConversationId,
    show: &Show,
) -> Result<Option<(Conversation, Vec<Message>)>, AppError> {
    match show.before {
        None => store
            .conversation(owner, id, HISTORY_PAGE)
            .await
            .map_err(AppError::internal),
        Some(before) => {
            let Some((conversation, _)) = store.conversation(owner, id, 0).await? else {
                return Ok(None);
            };
            let messages = store
                .messages_before(owner, id, before, HISTORY_PAGE)
                .await?;
            Ok(Some((conversation, messages)))
        }
    }
}

/// The page's context; `extra` (errors, form values) wins over what is computed here.
pub fn page(app: &App, loaded: &Loaded, show: &Show, extra: Value, access: &ModelAccess) -> Value {
    let Loaded {
        conversation,
        messages: all,
        recent,
        pinned,
        folders,
    } = loaded;
    let now = session::now();
    // The branch shown (an earlier page shows its messages as they were read).
    let shown: Vec<Message> = if show.before.is_some() {
        all.clone()
    } else {
        show.at
            .map(|at| branches::tip(all, at))
            .or_else(|| branches::default_leaf(all, conversation.leaf))
            .map(|leaf| branches::path(all, leaf).into_iter().cloned().collect())
            .unwrap_or_default()
    };
    let messages = &shown;
    let live = transcript::live(app, all, now);
    // Messages before the first shown, if there are any.
    let earlier = messages
        .first()
        .filter(|m| m.parent.is_some() || (show.before.is_some() && m.seq > 0))
        .map(|m| m.seq);
    let leaf = messages.last().map(|m| m.seq);
    let edited = match show.edit {
        None => None,
        Some(None) => messages.iter().rposition(|m| m.speaker == Speaker::User),
        Some(Some(seq)) => messages
            .iter()
            .position(|m| m.seq == seq && m.speaker == Speaker::User),
    };
    let editing = edited.is_some() && show.before.is_none() && !live;
    let edited = edited.filter(|_| editing);
    let form = match edited {
        Some(at) => context! { message => &messages[at].text, seq => messages[at].seq },
        None => context! {},
    };
    let typed = extra
        .get_attr("form")
        .ok()
        .and_then(|f| f.get_attr("message").ok())
        .and_then(|m| m.as_str().map(str::to_string))
        .unwrap_or_default();
    let picked = extra
        .get_attr("form")
        .ok()
        .and_then(|f| f.get_attr("model").ok())
        .and_then(|m| m.as_str().filter(|m| !m.is_empty()).map(str::to_string))
        .unwrap_or_else(|| conversation.model.clone());
    let estimate = {
        let catalogue = &app.config.models;
        let model = catalogue
            .get(&picked)
            .unwrap_or_else(|| catalogue.default_model());
        // Editing sends the message anew after the messages before it.
        let history = match edited {
            Some(at) => &messages[..at],
            None => &messages[..],
        };
        // Files waiting in the form count as their estimates (`attachments::page`).
        let waiting = extra
            .get_attr("attached_tokens")
            .ok()
            .and_then(|v| v.as_i64())
            .map_or(0, |t| t.clamp(0, i64::from(u32::MAX)) as u32);
        let context_tokens =
            estimate::context_tokens(model, conversation.system.as_deref(), history) + waiting;
        let typed = match edited {
            Some(at) if typed.is_empty() => messages[at].text.clone(),
            _ => typed,
        };
        estimate::view(
            catalogue,
            &model.id,
            context_tokens,
            &typed,
            usage::typical_reply_tokens(messages),
        )
    };
    // Later maps win: `extra` (what the form was sent with) over what is computed here.
    minijinja::value::merge_maps([
        context! {
            conversation => context! {
                id => conversation.id.as_str(),
                title => &conversation.title,
                model => &conversation.model,
                system => &conversation.system,
                share => &conversation.share,
                temporary => conversation.temporary,
                shelf => conversation.shelf.as_str(),
                expires_at => conversation.expires_at,
                folder => conversation.folder.as_ref().map(|f| f.as_str()),
                folder_name => conversation.folder.as_ref().and_then(|id| folders.iter().find(|f| f.id == *id)).map(|f| f.name.as_str()),
            },
            folders => folders
                .iter()
                .map(|f| context! { id => f.id.as_str(), name => f.name.as_str() })
                .collect::<Vec<_>>(),
            messages => with_branches(app, all, messages, now),
            leaf,
            at => show.at,
            parameters => parameters_view(app, conversation),
            earlier,
            older_page => show.before.is_some(),
            live,
            editing,
            confirm_delete => show.confirm_delete,
            models => listing::models(&app.config.models, access),
            form,
            estimate,
            recent => recent
                .iter()
                .map(|c| context! { id => c.id.as_str(), title => &c.title })
                .collect::<Vec<_>>(),
            pinned => pinned
                .iter()
                .map(|c| context! { id => c.id.as_str(), title => &c.title })
                .collect::<Vec<_>>(),
        },
        extra,
    ])
}

/// The shown messages as the page lists them, each with its siblings (other versions of it:
/// edits of a message, regenerations of a reply) where it has any.
fn with_branches(app: &App, all: &[Message], shown: &[Message], now: u64) -> Vec<Value> {
    transcript::messages(app, shown, now)
        .into_iter()
        .zip(shown)
        .map(|(rendered, m)| {
            let siblings = branches::siblings(all, m);
            let versions = (siblings.count > 1).then(|| {
                context! {
                    position => siblings.position,
                    count => siblings.count,
                    previous => siblings.previous,
                    next => siblings.next,
                }
            });
            minijinja::value::merge_maps([rendered, context! { versions }])
        })
        .collect()
}

/// The parameters form: what the conversation's model offers, and what is set.
fn parameters_view(app: &App, conversation: &Conversation) -> Value {
    let catalogue = &app.config.models;
    let model = catalogue
        .get(&conversation.model)
        .unwrap_or_else(|| catalogue.default_model());
    let set = &conversation.parameters;
    context! {
        model_name => &model.name,
        max_temperature => model.max_temperature,
        efforts => &model.reasoning_efforts,
        default_effort => &model.reasoning_effort,
        max_output_tokens => model.max_output_tokens,
        least_output_tokens => model.thinking_budget.map_or(1, |b| b + 1),
        temperature => set.temperature_text(),
        output_tokens => set.max_output_tokens,
        effort => &set.reasoning_effort,
        custom => !set.is_default(),
    }
}

/// The conversation's page again after a form was refused: `extra` (the errors, what was
/// typed) over it, answered 400; nothing was changed.
pub async fn refused(
    visit: &shared::Visit<'_>,
    owner: &Username,
    id: &shared::conversations::ConversationId,
    extra: Value,
) -> Result<shared::Reply, AppError> {
    let app = visit.app();
    let loaded = load(app, owner, id, &Show::default())
        .await?
        .ok_or(AppError::NotFound)?;
    let access = visit.model_access().await?;
    let page = page(app, &loaded, &Show::default(), extra, &access);
    Ok(shared::Reply::page_with_status(
        lambda_http::http::StatusCode::BAD_REQUEST,
        "chat.html",
        page,
    ))
}
