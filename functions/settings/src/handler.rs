//! `GET /settings` shows the account's settings; `POST /settings` changes the password
//! (`password`), signs out every session (`sign_out_everywhere`), or deletes the account with
//! everything it owns (`deletion`). Each action is a file of its name.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use minijinja::context;
use secrecy::SecretString;
use serde::Deserialize;
use shared::form::FieldErrors;
use shared::{App, AppError, Methods, Reply, Verb, Visit, serve};

use crate::{deletion, password, sign_out_everywhere};

/// The page's forms.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Action {
    Password,
    SignOutEverywhere,
    Delete,
}

/// The fields the page's forms post (each form some of them).
#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    pub current_password: String,
    #[serde(default)]
    pub new_password: String,
    #[serde(default)]
    pub confirm: String,
    #[serde(default)]
    pub confirm_username: String,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    serve(app, req, route).await
}

async fn route(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    match Methods::GetPost.of(req)? {
        Verb::Get => {
            visit.require_user()?;
            Ok(Reply::page("settings.html", signed_in_with(visit)))
        }
        Verb::Post => {
            let action = visit.action(req)?;
            let form: SettingsForm = shared::form::parse(req)?;
            match action {
                Action::Password => password::change(visit, &form).await,
                Action::SignOutEverywhere => sign_out_everywhere::sign_out(visit).await,
                Action::Delete => deletion::delete(visit, &form).await,
            }
        }
    }
}

/// How the account signs in: the identity provider's name for an account that signs in
/// with it (it then has no password here), and the provider's groups for it.
fn signed_in_with(visit: &Visit) -> minijinja::Value {
    let account = visit.user();
    let provider = account
        .filter(|a| a.identity.is_some())
        .map(|_| provider_name(visit));
    let groups = account
        .map(|a| a.groups.names().to_vec())
        .unwrap_or_default();
    context! { provider, groups }
}

/// The identity provider's display name (its configuration may be gone: then a generic one).
pub fn provider_name(visit: &Visit) -> String {
    visit
        .app()
        .config
        .sso
        .as_ref()
        .map_or("your identity provider".into(), |s| s.display_name.clone())
}

/// The settings page again, with what was wrong.
pub fn again(
    visit: &Visit,
    status: StatusCode,
    errors: FieldErrors,
    confirm_username: &str,
) -> Result<Reply, AppError> {
    Ok(Reply::page_with_status(
        status,
        "settings.html",
        context! { errors, confirm_username, ..signed_in_with(visit) },
    ))
}

pub fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

#[cfg(test)]
mod tests;
