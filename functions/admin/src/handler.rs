//! `GET /admin` lists accounts (paginated) for administrators; `POST /admin` runs one of the
//! page's actions, each in a file named for what it works on: `accounts` (create, reset,
//! disable, enable, promote, demote), `invites`, `caps` (an account's, the default).
//! `GET /admin/audit` is the audit log (`audit`); `/admin/groups` the groups (`groups`);
//! `GET /admin/usage` the spending by group, account and model (`dashboard`).

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use minijinja::Value;
use serde::Deserialize;
use shared::form::FieldErrors;
use shared::web::query;
use shared::{AlsoRead, App, AppError, Methods, Reply, Verb, Visit, serve_reading};

use crate::{accounts, audit, caps, dashboard, groups, invites, page};

/// The page's forms.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Invite,
    Reset,
    Disable,
    Enable,
    Promote,
    Demote,
    Cap,
    DefaultCap,
    /// Turns the portal's API on or off (`api`: `on` or `off`).
    Api,
}

/// The fields the page's forms post (each form some of them).
#[derive(Deserialize)]
pub struct AdminForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub role: String,
    /// A spend cap in dollars; blank for none (the default) or the default (an account).
    #[serde(default)]
    pub cap: String,
    /// `on` or `off`: the portal's API.
    #[serde(default)]
    pub api: String,
}

#[derive(Deserialize)]
struct AdminQuery {
    after: Option<String>,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    // The page shows the default cap: read it with the account. Not for a post, which may
    // change it before the page is shown again.
    let also = if req.method() == Method::GET {
        AlsoRead::DefaultSpendCap
    } else {
        AlsoRead::Nothing
    };
    serve_reading(app, req, also, route).await
}

async fn route(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    let path = req.uri().path().trim_end_matches('/');
    if path.ends_with("/admin/audit") {
        return audit::page(visit, req).await;
    }
    if path.ends_with("/admin/groups") {
        return groups::page(visit, req).await;
    }
    if path.ends_with("/admin/usage") {
        return dashboard::page(visit, req).await;
    }
    match Methods::GetPost.of(req)? {
        Verb::Get => {
            visit.require_admin()?;
            let after = query::<AdminQuery>(req)?.after;
            page::render(visit, StatusCode::OK, after.as_deref(), Problems::default()).await
        }
        Verb::Post => {
            let action = visit.action(req)?;
            let form: AdminForm = shared::form::parse(req)?;
            let admin = visit.require_admin()?.clone();
            match action {
                Action::Create => accounts::create(visit, &admin, &form).await,
                Action::Reset => accounts::reset(visit, &admin, &form).await,
                Action::Disable | Action::Enable | Action::Promote | Action::Demote => {
                    accounts::change(visit, &admin, &form, action).await
                }
                Action::Invite => invites::create(visit, &admin).await,
                Action::Cap => caps::account(visit, &admin, &form).await,
                Action::DefaultCap => caps::default(visit, &admin, &form).await,
                Action::Api => caps::api(visit, &admin, &form).await,
            }
        }
    }
}

/// What to show again when a form was not accepted.
#[derive(Default)]
pub struct Problems {
    pub errors: FieldErrors,
    pub error: Option<String>,
    pub form: Option<Value>,
}

impl Problems {
    pub fn fields(errors: FieldErrors, form: Value) -> Self {
        Self {
            errors,
            error: None,
            form: Some(form),
        }
    }

    pub fn message(error: &str) -> Self {
        Self {
            error: Some(error.to_string()),
            ..Default::default()
        }
    }
}

pub async fn refuse(visit: &Visit<'_>, problems: Problems) -> Result<Reply, AppError> {
    page::render(visit, StatusCode::BAD_REQUEST, None, problems).await
}

#[cfg(test)]
mod tests;
