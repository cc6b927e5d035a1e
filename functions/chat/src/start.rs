//! `POST /chat`: a new conversation with its first message, sent at once; refused (with the
//! form as it was) before anything is stored when the message cannot be sent.

use lambda_http::Request;
use lambda_http::http::StatusCode;
use minijinja::context;
use shared::conversations::{Conversation, MessageText, Shelf, SystemPrompt, Title};
use shared::form::FieldErrors;
use shared::groups::ModelAccess;
use shared::store::ConversationStore;
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
    let model = turn::pick_model(app, &limits.access, &form.model, "")?;
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
            &limits.access,
        )
        .await;
    };
    let first = Title::from_message(&text);
    let now = session::now();
    let conversation = if form.temporary.is_empty() {
        let mut conversation = Conversation::new(first.clone(), model.id.clone(), system, now);
        conversation.expires_at = conversation.expiry_after_turn(now, limits.retention_days);
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
    let send = Kind::Send(text, form.attachments.clone());
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
            home_again(visit, &owner, &form, errors, status, &limits.access).await
        }
    }
}

/// The home page again, with the new-conversation form as it was sent (its files still
/// attached) and `errors` beside its fields; nothing stored.
async fn home_again(
    visit: &Visit<'_>,
    owner: &Username,
    form: &ChatForm,
    errors: FieldErrors,
    status: StatusCode,
    access: &ModelAccess,
) -> Result<Reply, AppError> {
    let app = visit.app();
    let page = listing::home(app, owner, None, None, access, Shelf::Recent).await?;
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
                temporary => !form.temporary.is_empty(),
            },
        },
    ]);
    Ok(Reply::page_with_status(status, "home.html", context))
}
