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
    /// `last`: the last message in an edit form.
    edit: Option<String>,
}

pub async fn show(
    visit: &mut Visit<'static>,
    req: &Request,
    id: &ConversationId,
) -> Result<Reply, AppError> {
    let owner = visit.require_user()?.username.clone();
    let page: ShowQuery = query(req)?;
    let show = Show {
        before: page.before,
        confirm_delete: page.confirm.as_deref() == Some("delete"),
        editing: page.edit.as_deref() == Some("last"),
    };
    let app = visit.app();
    let loaded = view::load(app, &owner, id, &show)
        .await?
        .ok_or(AppError::NotFound)?;
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
