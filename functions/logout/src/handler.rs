//! `POST /logout`: ends the session and says so on the sign-in page (by way of the identity
//! provider's sign-out, for a single sign-on when the portal is set to end its session too).

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
    let end_provider_session = visit.signed_in_by_provider()
        && visit
            .app()
            .config
            .sso
            .as_ref()
            .is_some_and(|s| s.end_session);
    // Ends this session on the server, so a copy of its cookie stops working too.
    visit.sign_out().await?;
    visit.flash(Flash::signed_out());
    if end_provider_session {
        // The login function knows the provider's end-session endpoint; it comes back to /login.
        return Ok(Reply::Redirect("/login/sso/end"));
    }
    Ok(Reply::Redirect("/login"))
}

#[cfg(test)]
mod tests;
