//! `GET /chat/{id}`: a conversation's page.

use lambda_http::Request;
use serde::Deserialize;
use shared::conversations::ConversationId;
use shared::web::query;
use shared::{AppError, Reply, Visit};

use crate::view::{self, Show};
use shared::attachments::page;

#[derive(Deserialize)]
struct ShowQuery {
    /// Earlier messages: those before this sequence number.
    before: Option<u32>,
    /// `delete`: the page asks to confirm deleting the conversation.
    confirm: Option<String>,
    /// `last` (the branch's last message of the user's) or a message's number: that message
    /// in the edit form.
    edit: Option<String>,
    /// The branch through this message (and its newest replies).
    at: Option<u32>,
}

pub async fn show(
    visit: &mut Visit<'static>,
    req: &Request,
    id: &ConversationId,
) -> Result<Reply, AppError> {
    let owner = visit.require_user()?.username.clone();
    let page: ShowQuery = query(req)?;
    let edit = match page.edit.as_deref() {
        None => None,
        Some("last") => Some(None),
        Some(n) => Some(Some(n.parse::<u32>().map_err(|_| AppError::NotFound)?)),
    };
    let show = Show {
        before: page.before,
        confirm_delete: page.confirm.as_deref() == Some("delete"),
        at: page.at,
        edit,
    };
    let app = visit.app();
    let loaded = view::load(app, &owner, id, &show)
        .await?
        .ok_or(AppError::NotFound)?;
    // A branch or a message that is not this conversation's (among its latest) is not found.
    let known = |seq: u32| loaded.messages.iter().any(|m| m.seq == seq);
    if show.at.is_some_and(|at| !known(at)) || edit.flatten().is_some_and(|seq| !known(seq)) {
        return Err(AppError::NotFound);
    }
    let access = visit.model_access().await?;
    let attached = page::in_address(req);
    let path = format!("/chat/{}", id.as_str());
    let bucket = app.bucket().await?;
    let files = page::form_context(visit, &owner, &path, &attached, bucket).await?;
    Ok(Reply::page(
        "chat.html",
        view::page(app, &loaded, &show, files, &access),
    ))
}
