//! `GET /login` shows the sign-in page; `POST /login` checks a password (throttled per account
//! and per address) and starts a session. Single sign-on's routes are in `sso`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use minijinja::context;
use secrecy::SecretString;
use serde::Deserialize;
use shared::accounts::{Account, Role};
use shared::audit::AuditAction;
use shared::password;
use shared::signup::SignupPolicy;
use shared::store::{AccountStore, StoreError};
use shared::throttle::Attempt;
use shared::users::Username;
use shared::{App, AppError, Methods, Reply, Verb, Visit, serve};

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    serve(app, req, route).await
}

async fn route(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    let path = req.uri().path().trim_end_matches('/');
    if path.ends_with("/login/sso") {
        return crate::sso::start(visit, req).await;
    }
    if path.ends_with("/login/callback") {
        return crate::sso::callback(visit, req).await;
    }
    if path.ends_with("/login/sso/end") {
        return crate::sso::end(visit, req).await;
    }
    match Methods::GetPost.of(req)? {
        Verb::Get if visit.user().is_some() => Ok(Reply::Redirect("/")),
        Verb::Get => Ok(form_page(visit, StatusCode::OK, "", None)),
        Verb::Post => submit(visit, req).await,
    }
}

/// The sign-in page: the single sign-on button when there is a provider, and the password
/// form (folded away for administrators' recovery when password sign-in is off).
pub(crate) fn form_page(
    visit: &Visit,
    status: StatusCode,
    username: &str,
    error: Option<String>,
) -> Reply {
    let config = &visit.app().config;
    let signup_open = config.password_signin && config.signup != SignupPolicy::Closed;
    let sso = config.sso.as_ref().map(|s| s.display_name.as_str());
    Reply::page_with_status(
        status,
        "login.html",
        context! {
            username, error, signup_open, sso,
            password_signin => config.password_signin,
        },
    )
}

async fn submit(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    let form: LoginForm = visit.form(req)?;
    let username = form.username.trim();
    let refuse =
        |visit: &Visit, status, error: String| Ok(form_page(visit, status, username, Some(error)));
    if username.is_empty() || form.password.is_empty() {
        return refuse(
            visit,
            StatusCode::BAD_REQUEST,
            "Enter your username and password.".into(),
        );
    }
    if form.password.chars().count() > password::MAX_CHARS {
        return refuse(
            visit,
            StatusCode::BAD_REQUEST,
            "Passwords have at most 1024 characters.".into(),
        );
    }

    let app = visit.app();
    // With password sign-in off, only the configured admins may use one (for recovery).
    if !app.config.password_signin && app.config.bootstrap_admins.find(username).is_none() {
        let refused = visit.audit_entry(AuditAction::SignInRefused);
        visit
            .record(refused.on(username).detail("password sign-in is off"))
            .await;
        let provider = app
            .config
            .sso
            .as_ref()
            .map_or("", |s| s.display_name.as_str());
        return refuse(
            visit,
            StatusCode::FORBIDDEN,
            format!("Password sign-in is turned off here. Sign in with {provider}."),
        );
    }
    let store = app.store().await?;
    let password = SecretString::from(form.password);
    let name = Username::parse(username).ok();
    let account = match &name {
        Some(name) => store.account(name).await?,
        None => None,
    };
    // An account whose deletion was interrupted: finish it, and answer as for no account.
    let tombstoned = account.as_ref().is_some_and(|a| a.deleting);
    if let (true, Some(name)) = (tombstoned, &name) {
        match store.delete_account(name).await {
            Ok(()) => {
                shared::attachments::delete_all_of(app, name).await;
                tracing::info!(user = name.as_str(), "finished an interrupted deletion");
            }
            Err(err) => tracing::error!(%err, "finishing an interrupted deletion failed"),
        }
    }
    let account = account.filter(|a| !a.deleting);
    let bootstrap = match (&account, tombstoned) {
        (None, false) => app.config.bootstrap_admins.find(username),
        _ => None,
    };
    let digest = account.as_ref().map(|a| &a.password).or(bootstrap);
    let attempt = Attempt {
        account: username,
        address: visit.address(),
        now: visit.now(),
    };
    // The attempt is counted before the password is checked (runs for unknown names too,
    // against a dummy hash, so timing tells nothing), so parallel guesses get no more than
    // the limit between them.
    let verified = app
        .config
        .throttle
        .verify_password(store, attempt, &password, digest)
        .await?;
    let now = visit.now();
    match verified {
        Err(throttled) => {
            tracing::warn!(address = visit.address(), "sign-in throttled");
            let entry = visit.audit_entry(AuditAction::SignInThrottled).on(username);
            visit.record(entry).await;
            return refuse(
                visit,
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many failed sign-in attempts. {}",
                    throttled.wait_message()
                ),
            );
        }
        Ok(false) => {
            tracing::info!("sign-in refused: wrong username or password");
            let entry = visit.audit_entry(AuditAction::SignInRefused).on(username);
            visit
                .record(entry.detail("wrong username or password"))
                .await;
            // The same words whether or not the user exists.
            return refuse(
                visit,
                StatusCode::UNAUTHORIZED,
                "Incorrect username or password.".into(),
            );
        }
        Ok(true) => {}
    }

    let account = match (account, name, bootstrap) {
        (Some(account), _, _) => account,
        (None, Some(name), Some(digest)) => {
            create_bootstrap_admin(store, name, digest.clone(), now).await?
        }
        // A password only verifies against a digest found for a name that parses.
        (None, _, _) => {
            return Err(AppError::internal(
                "a password verified without an account or bootstrap digest",
            ));
        }
    };
    if account.disabled {
        let entry = visit.audit_entry(AuditAction::SignInRefused);
        visit
            .record(
                entry
                    .on(account.username.as_str())
                    .detail("account disabled"),
            )
            .await;
        return refuse(
            visit,
            StatusCode::FORBIDDEN,
            "This account has been disabled. Ask an administrator to enable it.".into(),
        );
    }
    tracing::info!(user = account.username.as_str(), "signed in");
    let entry = visit
        .audit_entry(AuditAction::SignIn)
        .by(account.username.as_str());
    visit.record(entry.detail("password")).await;
    visit.sign_in(account);
    Ok(Reply::Redirect("/"))
}

/// The first sign-in of a configured bootstrap admin creates their account.
async fn create_bootstrap_admin(
    store: &shared::store::Store,
    name: Username,
    digest: password::PasswordDigest,
    now: u64,
) -> Result<Account, AppError> {
    let account = Account::new(name, None, digest, Role::Admin, now);
    match store.create_account(&account).await {
        Ok(()) => {
            tracing::info!(user = account.username.as_str(), "created bootstrap admin");
            Ok(account)
        }
        // Another request created it a moment ago: use what is stored.
        Err(StoreError::Conflict) => store
            .account(&account.username)
            .await?
            .ok_or(AppError::internal("bootstrap admin vanished")),
        Err(err) => Err(AppError::internal(err)),
    }
}

#[cfg(test)]
mod tests;
