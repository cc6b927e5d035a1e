//! `GET /settings` shows the account's settings; `POST /settings` changes the password
//! (`password`), signs out every session (`sign_out_everywhere`), makes or revokes a personal
//! API key (`api_keys`), or deletes the account with everything it owns (`deletion`). Each
//! action is a file of its name.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use minijinja::context;
use secrecy::SecretString;
use serde::Deserialize;
use shared::form::FieldErrors;
use shared::{AlsoRead, App, AppError, Methods, Reply, Verb, Visit, serve_reading};

use crate::{api_keys, deletion, password, sign_out_everywhere};

/// The page's forms.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Action {
    Password,
    SignOutEverywhere,
    Delete,
    CreateKey,
    RevokeKey,
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
    /// A new API key's name, days until it expires (blank: never) and models (the
    /// repeated `key_model` fields; none: all the account's).
    #[serde(default)]
    pub key_name: String,
    #[serde(default)]
    pub key_days: String,
    /// Ticked: the new key's calls are kept as conversations.
    #[serde(default)]
    pub key_keep: String,
    /// The API key to revoke.
    #[serde(default)]
    pub key: String,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    // The API keys' form offers the models the account's groups allow: read the groups with
    // the account.
    serve_reading(app, req, AlsoRead::Groups, route).await
}

async fn route(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    match Methods::GetPost.of(req)? {
        Verb::Get => {
            visit.require_user()?;
            let keys = api_keys::listed(visit).await?;
            Ok(Reply::page(
                "settings.html",
                context! { ..keys, ..signed_in_with(visit) },
            ))
        }
        Verb::Post => {
            let action = visit.action(req)?;
            let form: SettingsForm = shared::form::parse(req)?;
            match action {
                Action::Password => password::change(visit, &form).await,
                Action::SignOutEverywhere => sign_out_everywhere::sign_out(visit).await,
                Action::Delete => deletion::delete(visit, &form).await,
                Action::CreateKey => api_keys::create(visit, req, &form).await,
                Action::RevokeKey => api_keys::revoke(visit, &form).await,
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

/// The settings page with `extra` (the API keys' part) over it.
pub fn page_with(visit: &Visit, status: StatusCode, extra: minijinja::Value) -> Reply {
    Reply::page_with_status(
        status,
        "settings.html",
        context! { ..extra, ..signed_in_with(visit) },
    )
}

pub fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

#[cfg(test)]
mod tests;
