//! `GET /signup` shows the sign-up form the policy allows (closed, invite-only or open);
//! `POST /signup` creates the account, atomically using up the invite when one is needed.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use minijinja::context;
use secrecy::SecretString;
use serde::Deserialize;
use shared::accounts::{Account, Email, Role};
use shared::audit::AuditAction;
use shared::form::FieldErrors;
use shared::session::Flash;
use shared::signup::SignupPolicy;
use shared::store::{AccountStore, InviteStore, StoreError};
use shared::users::Username;
use shared::web::query;
use shared::{App, AppError, Methods, Reply, Verb, Visit, link_tokens, password, serve};

#[derive(Deserialize)]
struct SignupForm {
    #[serde(default)]
    invite: String,
    username: String,
    email: String,
    password: String,
    confirm: String,
}

#[derive(Deserialize)]
struct SignupQuery {
    invite: Option<String>,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    serve(app, req, route).await
}

async fn route(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    match Methods::GetPost.of(req)? {
        Verb::Get if visit.user().is_some() => Ok(Reply::Redirect("/")),
        Verb::Get => show(visit, req).await,
        Verb::Post => submit(visit, req).await,
    }
}

fn domains(policy: &SignupPolicy) -> Vec<String> {
    match policy {
        SignupPolicy::Open { domains } => domains.clone(),
        _ => Vec::new(),
    }
}

async fn show(visit: &Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    let app = visit.app();
    let policy = &app.config.signup;
    if !app.config.password_signin {
        let sso = app.config.sso.as_ref().map(|s| s.display_name.as_str());
        return Ok(Reply::page("signup.html", context! { sso_only => sso }));
    }
    match policy {
        SignupPolicy::Closed => Ok(Reply::page("signup.html", context! { closed => true })),
        SignupPolicy::Invite => {
            let invite = query::<SignupQuery>(req)?.invite;
            let Some(token) = invite.as_deref().filter(|t| !t.trim().is_empty()) else {
                return Ok(Reply::page("signup.html", context! { need_invite => true }));
            };
            let store = app.store().await?;
            let found = store.invite(&link_tokens::hash(token), visit.now()).await?;
            if found.is_none() {
                return Err(AppError::InviteUnusable);
            }
            Ok(Reply::page("signup.html", context! { invite => token }))
        }
        SignupPolicy::Open { .. } => Ok(Reply::page(
            "signup.html",
            context! { domains => domains(policy) },
        )),
    }
}

async fn submit(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    let form: SignupForm = visit.form(req)?;
    let app = visit.app();
    let policy = &app.config.signup;
    if !app.config.password_signin {
        return Err(AppError::Forbidden);
    }
    let invite = match policy {
        SignupPolicy::Closed => return Err(AppError::Forbidden),
        SignupPolicy::Invite if form.invite.trim().is_empty() => {
            return Err(AppError::InviteUnusable);
        }
        SignupPolicy::Invite => Some(link_tokens::hash(&form.invite)),
        SignupPolicy::Open { .. } => None,
    };

    let mut errors = FieldErrors::default();
    let username = errors.check("username", Username::parse(&form.username));
    if let Some(name) = &username
        && app.config.bootstrap_admins.reserves(name)
    {
        // Kept for the operator's first sign-in; said as for any taken name.
        errors.add("username", "That username is taken. Choose another.");
    }
    let email = errors.check("email", Email::parse(&form.email));
    if let Some(email) = &email
        && !policy.allows_domain(email.domain())
    {
        let allowed = domains(policy).join(", ");
        errors.add("email", format!("Use an email address at {allowed}."));
    }
    errors.check(
        "password",
        password::check_new(&form.password, form.username.trim()),
    );
    if form.password != form.confirm {
        errors.add("confirm", "The two passwords do not match.");
    }
    let again = |errors: FieldErrors| {
        Ok(Reply::page_with_status(
            StatusCode::BAD_REQUEST,
            "signup.html",
            context! {
                errors, username => form.username.trim(), email => form.email.trim(),
                invite => form.invite.trim(), domains => domains(policy),
            },
        ))
    };
    let (Some(username), Some(email), true) = (username, email, errors.is_empty()) else {
        return again(errors);
    };

    let digest = password::hash(&SecretString::from(form.password.clone()));
    let account = Account::new(username, Some(email), digest, Role::User, visit.now());
    let store = app.store().await?;
    let created = match &invite {
        Some(hash) => {
            store
                .create_account_with_invite(&account, hash, visit.now())
                .await
        }
        None => store.create_account(&account).await,
    };
    match created {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            errors.add("username", "That username is taken. Choose another.");
            return again(errors);
        }
        Err(StoreError::InviteUnusable) => return Err(AppError::InviteUnusable),
        Err(err) => return Err(AppError::internal(err)),
    }
    tracing::info!(
        user = account.username.as_str(),
        "account created by sign-up"
    );
    let via = if invite.is_some() {
        "with an invite"
    } else {
        ""
    };
    let entry = visit.audit_entry(AuditAction::SignUp);
    let name = account.username.as_str();
    visit.record(entry.by(name).on(name).detail(via)).await;
    let welcome = format!("Welcome to Switchboard, {}!", account.username.as_str());
    visit.sign_in(account);
    visit.flash(Flash::new(welcome));
    Ok(Reply::Redirect("/"))
}

#[cfg(test)]
mod tests;
