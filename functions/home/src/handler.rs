//! `GET /`: the signed-in user's conversations (most recent first, or those matching a
//! search) and the form that starts a new one; everyone else goes to the sign-in page.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::web::query;
use shared::{App, AppError, Methods, Reply, Visit, listing, serve};

#[derive(Deserialize)]
struct HomeQuery {
    q: Option<String>,
    after: Option<String>,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    serve(app, req, route).await
}

async fn route(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    Methods::Get.of(req)?;
    let owner = visit.require_user()?.username.clone();
    let page: HomeQuery = query(req)?;
    let context = listing::home(
        visit.app(),
        &owner,
        page.q.as_deref(),
        page.after.as_deref(),
    )
    .await?;
    Ok(Reply::page("home.html", context))
}
#[cfg(test)]
mod tests;
