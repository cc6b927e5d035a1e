//! `POST /chat`: a new conversation with its first message, sent at once; refused (with the
//! form as it was) before anything is stored when the message cannot be sent.

use lambda_http::Request;
use lambda_http::http::StatusCode;
use minijinja::context;
use shared::conversations::{Conversation, MessageText, Shelf, SystemPrompt, Title};
use shared::folders::{Folder, FolderId};
use shared::form::FieldErrors;
use shared::groups::ModelAccess;
use shared::listing::Listing;
use shared::store::{ConversationStore, FolderStore};
use shared::users::Username;
use shared::{AppError, Reply, Visit, listing, session};

use crate::handler::{self, ChatForm};
use crate::send;
use crate::titling::Untitled;
use crate::turn::{self, Kind, TurnError};

/// `POST /chat`: a new conversation with its first message.
pub async fn start(visit: &mut Visit<'static>, req: &Request) -> Result<Reply, AppError> {
    let mut form: ChatForm = visit.form(req)?;
    form.attachments = shared::attachments::page::posted(req);
    let owner = visit.require_user()?.username.clone();
    let app = visit.app();
    // Read before anything is written, so that a failure here leaves nothing behind.
    let limits = visit.limits().await?;
    let folder = posted_folder(app, &owner, &form).await?;
    // In a folder, its model unless the form names one.
    let requested = match (form.model.as_str(), &folder) {
        ("", Some(folder)) => folder.model.as_deref().unwrap_or(""),
        (model, _) => model,
    };
    let model = turn::pick_model(app, &limits.access, requested, "")?;
    let mut errors = FieldErrors::default();
    let system = errors.check("system", SystemPrompt::parse(&form.system));
    let text = errors.check("message", MessageText::parse(&form.message));
    if let Some(text) = &text
        && let Err(TurnError::Message(message)) = turn::check_fits(model, text)
    {
        errors.add("message", message);
    }
    let (Some(system), Some(text), true) = (system, text, errors.is_empty()) else {
        return home_again(
            visit,
            &owner,
            &form,
            errors,
            StatusCode::BAD_REQUEST,
            (&limits.access, folder.as_ref()),
        )
        .await;
    };
    let first = Title::from_message(&text);
    let now = session::now();
    let conversation = if form.temporary.is_empty() {
        let mut conversation = Conversation::new(first.clone(), model.id.clone(), system, now);
        conversation.expires_at = conversation.expiry_after_turn(now, limits.retention_days);
        conversation.folder = folder.as_ref().map(|f| f.id.clone());
        conversation
    } else {
        Conversation::temporary(first.clone(), model.id.clone(), system, now)
    };
    let store = app.store().await?;
    store.create_conversation(&owner, &conversation).await?;
    let id = conversation.id;
    let untitled = Untitled {
        owner: owner.clone(),
        id: id.clone(),
        first,
        message: text.as_str().to_string(),
        groups: limits.counted_groups(),
    };
    let send = Kind::Send(text, form.attachments.clone(), None);
    match turn::prepare(app, (&owner, &id), &send, &model.id, &limits, None).await {
        Ok(prepared) => Ok(send::deliver(visit, req, &id, prepared, Some(untitled)).await),
        Err(err) => {
            let Some((status, message)) = err.refusal() else {
                return Err(handler::turn_failure(err));
            };
            // Refused before anything was sent: the new conversation goes, the form stays.
            store.delete_conversation(&owner, &id).await?;
            let mut errors = FieldErrors::default();
            errors.add("message", message);
            let listed = (&limits.access, folder.as_ref());
            home_again(visit, &owner, &form, errors, status, listed).await
        }
    }
}

/// The folder the new-conversation form names, if it names one: another user's (or a
/// deleted one) is not found.
async fn posted_folder(
    app: &shared::App,
    owner: &Username,
    form: &ChatForm,
) -> Result<Option<Folder>, AppError> {
    match form.folder.trim() {
        "" => Ok(None),
        raw => {
            let id = FolderId::parse(raw).ok_or(AppError::NotFound)?;
            let folder = app.store().await?.folder(owner, &id).await?;
            folder.ok_or(AppError::NotFound).map(Some)
        }
    }
}

/// The home (or folder) page again, with the new-conversation form as it was sent (its files
/// still attached) and `errors` beside its fields; nothing stored.
async fn home_again(
    visit: &Visit<'_>,
    owner: &Username,
    form: &ChatForm,
    errors: FieldErrors,
    status: StatusCode,
    (access, folder): (&ModelAccess, Option<&Folder>),
) -> Result<Reply, AppError> {
    let app = visit.app();
    let listed = match folder {
        Some(folder) => Listing::Folder(folder),
        None => Listing::Shelf(Shelf::Recent),
    };
    let page = listing::home(app, owner, None, None, access, listed).await?;
    let bucket = app.bucket().await?;
    let files =
        shared::attachments::page::form_context(visit, owner, "/", &form.attachments, bucket)
            .await?;
    let catalogue = &app.config.models;
    // Later maps win: what the form was sent with over the page's defaults.
    let context = minijinja::value::merge_maps([
        page,
        files,
        context! {
            errors,
            estimate => listing::new_conversation_estimate(catalogue, &form.model, &form.system, &form.message),
            form => context! {
                message => &form.message, system => &form.system, model => &form.model,
                temporary => !form.temporary.is_empty(), sent => true,
            },
        },
    ]);
    Ok(Reply::page_with_status(status, "home.html", context))
}
