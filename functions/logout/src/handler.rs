//! `POST /logout`: ends the session and says so on the sign-in page.

use lambda_http::{Body, Request, Response};
use shared::session::Flash;
use shared::{App, AppError, Methods, Reply, Visit, serve};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    serve(app, req, route).await
}

async fn route(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    Methods::Post.of(req)?;
    // Nothing but the CSRF token, which `form` checks.
    visit.form::<serde::de::IgnoredAny>(req)?;
    if let Some(user) = visit.user() {
        tracing::info!(user = user.username.as_str(), "signed out");
    }
    // Ends this session on the server, so a copy of its cookie stops working too.
    visit.sign_out().await?;
    visit.flash(Flash::signed_out());
    Ok(Reply::Redirect("/login"))
}

#[cfg(test)]
mod tests;
