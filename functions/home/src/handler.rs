//! `GET /`: the signed-in user's conversations (most recent first, or those matching a
//! search), their folders, and the form that starts a new one; everyone else goes to the
//! sign-in page. `/folders` and `/folders/{id}`: folders (`folders`).

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::conversations::Shelf;
use shared::web::query;
use shared::{AlsoRead, App, AppError, Methods, Reply, Visit, listing, serve_reading};

#[derive(Deserialize)]
struct HomeQuery {
    q: Option<String>,
    after: Option<String>,
    /// `archived` for the archived conversations.
    shelf: Option<String>,
    /// `delete` asks to confirm deleting every archived conversation.
    confirm: Option<String>,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    // The new-conversation form offers the models the account's groups allow.
    serve_reading(app, req, AlsoRead::Groups, route).await
}

async fn route(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    if req.uri().path().trim_end_matches('/').ends_with("/folders")
        || req.uri().path().contains("/folders/")
    {
        return crate::folders::route(visit, req).await;
    }
    Methods::Get.of(req)?;
    let owner = visit.require_user()?.username.clone();
    let page: HomeQuery = query(req)?;
    let shelf = match page.shelf.as_deref() {
        None | Some("") => Shelf::Recent,
        Some("archived") => Shelf::Archived,
        Some(_) => return Err(AppError::BadRequest("That page link is not valid.")),
    };
    let access = visit.model_access().await?;
    let context = listing::home(
        visit.app(),
        &owner,
        page.q.as_deref(),
        page.after.as_deref(),
        &access,
        listing::Listing::Shelf(shelf),
    )
    .await?;
    let confirm_delete = shelf == Shelf::Archived && page.confirm.as_deref() == Some("delete");
    // The new-conversation form takes files too (without reading them here: the home function
    // has no S3 client; the send checks them).
    let attached = shared::attachments::page::in_address(req);
    let files =
        shared::attachments::page::form_context(visit, &owner, "/", &attached, None).await?;
    let context =
        minijinja::value::merge_maps([context, files, minijinja::context! { confirm_delete }]);
    Ok(Reply::page("home.html", context))
}
#[cfg(test)]
mod tests;
