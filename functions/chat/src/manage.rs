//! Managing a conversation: renaming it, sharing it by a read-only link and stopping that,
//! deleting it.

use minijinja::context;
use shared::conversations::{ConversationId, Shelf, Title};
use shared::folders::FolderId;
use shared::form::FieldErrors;
use shared::store::{ConversationStore, FolderStore, ShareStore, StoreError};
use shared::users::Username;
use shared::{AppError, Reply, Visit, link_tokens};

use crate::handler::{ChatForm, not_found_or_internal};
use crate::view;

/// A new title; one that is not valid is shown beside the field.
pub async fn rename(
    visit: &mut Visit<'static>,
    owner: &Username,
    id: &ConversationId,
    form: &ChatForm,
) -> Result<Reply, AppError> {
    let app = visit.app();
    let store = app.store().await?;
    match Title::parse(&form.title) {
        Ok(title) => {
            store
                .rename_conversation(owner, id, &title)
                .await
                .map_err(not_found_or_internal)?;
            Ok(Reply::RedirectTo(format!("/chat/{}", id.as_str())))
        }
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add("title", message);
            let extra = context! { errors, form => context! { title => &form.title } };
            view::refused(visit, owner, id, extra).await
        }
    }
}

/// Shares the conversation by a link (the same one if it is shared already).
pub async fn share(
    visit: &mut Visit<'static>,
    owner: &Username,
    id: &ConversationId,
) -> Result<Reply, AppError> {
    let store = visit.app().store().await?;
    let (token, _) = link_tokens::generate();
    match store.share_conversation(owner, id, &token).await {
        // Shared already: its link stays the one it was.
        Ok(()) | Err(StoreError::Conflict) => {}
        Err(err) => return Err(not_found_or_internal(err)),
    }
    visit.flash(shared::session::Flash::new(
        "Anyone with the link below can now read this conversation, without signing in.",
    ));
    Ok(Reply::RedirectTo(format!("/chat/{}#share", id.as_str())))
}

/// Stops sharing: the link leads nowhere from now on.
pub async fn unshare(
    visit: &mut Visit<'static>,
    owner: &Username,
    id: &ConversationId,
) -> Result<Reply, AppError> {
    let store = visit.app().store().await?;
    match store.unshare_conversation(owner, id).await {
        // Not shared (any more): nothing to end.
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(err) => return Err(AppError::internal(err)),
    }
    visit.flash(shared::session::Flash::new(
        "The conversation is no longer shared: its link leads nowhere now.",
    ));
    Ok(Reply::RedirectTo(format!("/chat/{}#share", id.as_str())))
}

/// Deletes the conversation, its messages and its share link.
/// Pins, archives, or puts back on the recent list.
pub async fn shelve(
    visit: &mut Visit<'static>,
    owner: &Username,
    id: &ConversationId,
    shelf: Shelf,
) -> Result<Reply, AppError> {
    let store = visit.app().store().await?;
    store
        .shelve(owner, id, shelf)
        .await
        .map_err(not_found_or_internal)?;
    visit.flash(shared::session::Flash::new(match shelf {
        Shelf::Pinned => "Pinned: it is listed first.",
        Shelf::Archived => "Archived: it is off the list, and still found by a search.",
        Shelf::Recent => "It is back on the list of recent conversations.",
    }));
    Ok(Reply::RedirectTo(format!("/chat/{}", id.as_str())))
}

/// `action=file`: into the folder the form names, or (blank) back on the recent list.
pub async fn file(
    visit: &mut Visit<'static>,
    req: &lambda_http::Request,
    owner: &Username,
    id: &ConversationId,
) -> Result<Reply, AppError> {
    let form: ChatForm = visit.form(req)?;
    let store = visit.app().store().await?;
    let folder = match form.folder.trim() {
        "" => None,
        raw => Some(FolderId::parse(raw).ok_or(AppError::NotFound)?),
    };
    // The folder's name, for the notice (another user's id is simply not found).
    let named = match &folder {
        Some(folder) => Some(
            store
                .folder(owner, folder)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    store
        .file_conversation(owner, id, folder.as_ref())
        .await
        .map_err(not_found_or_internal)?;
    visit.flash(shared::session::Flash::new(match named {
        Some(folder) => format!("Moved to the folder {}.", folder.name.as_str()),
        None => "It is back on the list of recent conversations.".to_string(),
    }));
    Ok(Reply::RedirectTo(format!("/chat/{}", id.as_str())))
}

/// The most archived conversations one request deletes (the page offers to go on).
const DELETE_ARCHIVED_AT_ONCE: usize = 200;

/// `POST /chat` with `action=delete-archived` (after the archived list's confirmation):
/// deletes every archived conversation.
pub async fn delete_archived(
    visit: &mut Visit<'static>,
    req: &lambda_http::Request,
) -> Result<Reply, AppError> {
    visit.form::<serde::de::IgnoredAny>(req)?;
    let owner = visit.require_user()?.username.clone();
    let store = visit.app().store().await?;
    let page = store
        .list_shelf(&owner, Shelf::Archived, None, DELETE_ARCHIVED_AT_ONCE)
        .await?;
    let mut deleted = 0;
    for conversation in &page.items {
        match store.delete_conversation(&owner, &conversation.id).await {
            // Deleted meanwhile by another request: as good.
            Ok(()) | Err(StoreError::NotFound) => {
                crate::attach::delete_files(visit.app(), &owner, &conversation.id).await;
                deleted += 1;
            }
            Err(err) => return Err(AppError::internal(err)),
        }
    }
    tracing::info!(
        user = owner.as_str(),
        deleted,
        "deleted archived conversations"
    );
    let more = if page.next.is_some() {
        " There are more: delete them all again to go on."
    } else {
        ""
    };
    visit.flash(shared::session::Flash::new(format!(
        "Deleted {deleted} archived conversation{}.{more}",
        if deleted == 1 { "" } else { "s" }
    )));
    Ok(Reply::Redirect("/?shelf=archived"))
}

pub async fn delete(
    visit: &mut Visit<'static>,
    owner: &Username,
    id: &ConversationId,
) -> Result<Reply, AppError> {
    let store = visit.app().store().await?;
    store
        .delete_conversation(owner, id)
        .await
        .map_err(not_found_or_internal)?;
    crate::attach::delete_files(visit.app(), owner, id).await;
    visit.flash(shared::session::Flash::new("The conversation was deleted."));
    Ok(Reply::Redirect("/"))
}

/// `action=parameters`: the conversation's temperature, output limit and reasoning effort,
/// checked against its model's catalogue entry; refused with the form again (and the message
/// beside each field) when out of range, nothing changed.
pub async fn parameters(
    visit: &mut Visit<'static>,
    req: &lambda_http::Request,
    owner: &Username,
    id: &ConversationId,
) -> Result<Reply, AppError> {
    let form: shared::parameters::ParametersForm = shared::form::parse(req)?;
    let app = visit.app();
    let (conversation, _) = app
        .store()
        .await?
        .conversation(owner, id, 0)
        .await?
        .ok_or(AppError::NotFound)?;
    let catalogue = &app.config.models;
    let model = catalogue
        .get(&conversation.model)
        .unwrap_or_else(|| catalogue.default_model());
    match shared::parameters::Parameters::parse(&form, model) {
        Ok(parameters) => {
            app.store()
                .await?
                .set_parameters(owner, id, &parameters)
                .await
                .map_err(not_found_or_internal)?;
            visit.flash(shared::session::Flash::new(
                "The conversation's parameters were saved.",
            ));
            Ok(Reply::RedirectTo(format!("/chat/{}", id.as_str())))
        }
        Err(problems) => {
            let mut errors = FieldErrors::default();
            for (field, message) in problems {
                errors.add(field, message);
            }
            let extra = context! {
                errors,
                typed_parameters => context! {
                    temperature => form.temperature.trim(),
                    max_output_tokens => form.max_output_tokens.trim(),
                    reasoning_effort => form.reasoning_effort.trim(),
                },
            };
            view::refused(visit, owner, id, extra).await
        }
    }
}
