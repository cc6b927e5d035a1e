//! Accounts: creating one, resetting a password, and disabling, enabling, promoting and
//! demoting (never one's own account's access).

use minijinja::context;
use secrecy::SecretString;
use shared::accounts::{Account, AccountChange, Email, Role};
use shared::audit::AuditAction;
use shared::form::FieldErrors;
use shared::session::Flash;
use shared::store::{AccountStore, StoreError};
use shared::users::Username;
use shared::{AppError, Reply, Visit, password};

use crate::handler::{Action, AdminForm, Problems, refuse};

/// Creates an account (never a bootstrap admin's name: it is kept for its first sign-in).
pub async fn create(
    visit: &mut Visit<'_>,
    admin: &Account,
    form: &AdminForm,
) -> Result<Reply, AppError> {
    let app = visit.app();
    let store = visit.app().store().await?;
    let now = visit.now();
    let mut errors = FieldErrors::default();
    let username = errors.check("username", Username::parse(&form.username));
    if let Some(name) = &username
        && app.config.bootstrap_admins.reserves(name)
    {
        errors.add(
            "username",
            "That username is kept for a bootstrap administrator's first sign-in \
             (SWITCHBOARD_BOOTSTRAP_ADMINS).",
        );
    }
    let email = match form.email.trim() {
        "" => Some(None),
        email => errors.check("email", Email::parse(email).map(Some)),
    };
    errors.check(
        "password",
        password::check_new(&form.password, form.username.trim()),
    );
    let role = match form.role.as_str() {
        "admin" => Role::Admin,
        "user" | "" => Role::User,
        _ => return Err(AppError::BadRequest("The role must be user or admin.")),
    };
    let values = context! { username => form.username.trim(), email => form.email.trim(), role => role.as_str() };
    let (Some(username), Some(email), true) = (username, email, errors.is_empty()) else {
        return refuse(visit, Problems::fields(errors, values)).await;
    };
    let digest = password::hash(&SecretString::from(form.password.clone()));
    let account = Account::new(username, email, digest, role, now);
    match store.create_account(&account).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            errors.add("username", "That username is taken.");
            return refuse(visit, Problems::fields(errors, values)).await;
        }
        Err(err) => return Err(AppError::internal(err)),
    }
    tracing::info!(
        admin = admin.username.as_str(),
        user = account.username.as_str(),
        "account created"
    );
    let entry = visit.audit_entry(AuditAction::AccountCreated);
    visit
        .record(entry.on(account.username.as_str()).detail(role.as_str()))
        .await;
    visit.flash(Flash::new(format!(
        "Created the account {} ({}).",
        account.username.as_str(),
        role.as_str()
    )));
    Ok(Reply::Redirect("/admin"))
}

/// Sets a new password for an account, ending its sessions.
pub async fn reset(
    visit: &mut Visit<'_>,
    admin: &Account,
    form: &AdminForm,
) -> Result<Reply, AppError> {
    let store = visit.app().store().await?;
    let mut errors = FieldErrors::default();
    let username = errors.check("reset_username", Username::parse(&form.username));
    errors.check(
        "reset_password",
        password::check_new(&form.password, form.username.trim()),
    );
    let values = context! { reset_username => form.username.trim() };
    let (Some(username), true) = (username, errors.is_empty()) else {
        return refuse(visit, Problems::fields(errors, values)).await;
    };
    let digest = password::hash(&SecretString::from(form.password.clone()));
    match store
        .change_account(&username, &AccountChange::Password(digest))
        .await
    {
        Ok(_) => {}
        Err(StoreError::NotFound) => {
            errors.add("reset_username", "No account has this username.");
            return refuse(visit, Problems::fields(errors, values)).await;
        }
        Err(err) => return Err(AppError::internal(err)),
    }
    tracing::info!(
        admin = admin.username.as_str(),
        user = username.as_str(),
        "password reset"
    );
    let entry = visit.audit_entry(AuditAction::PasswordReset);
    visit.record(entry.on(username.as_str())).await;
    visit.flash(Flash::new(format!(
        "The password of {} has been reset, and their sessions signed out.",
        username.as_str()
    )));
    Ok(Reply::Redirect("/admin"))
}

/// Disables, enables, promotes or demotes an account.
pub async fn change(
    visit: &mut Visit<'_>,
    admin: &Account,
    form: &AdminForm,
    action: Action,
) -> Result<Reply, AppError> {
    let store = visit.app().store().await?;
    let username = Username::parse(&form.username)
        .map_err(|_| AppError::BadRequest("That is not a valid username."))?;
    if username == admin.username && matches!(action, Action::Disable | Action::Demote) {
        let error = "You cannot disable or demote your own account: ask another administrator.";
        return refuse(visit, Problems::message(error)).await;
    }
    let (change, done) = match action {
        Action::Disable => (
            AccountChange::Disabled(true),
            "has been disabled and signed out",
        ),
        Action::Enable => (AccountChange::Disabled(false), "has been enabled"),
        Action::Promote => (AccountChange::Role(Role::Admin), "is now an admin"),
        _ => (AccountChange::Role(Role::User), "is now a user"),
    };
    match store.change_account(&username, &change).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => return Err(AppError::NotFound),
        Err(err) => return Err(AppError::internal(err)),
    }
    tracing::info!(
        admin = admin.username.as_str(),
        user = username.as_str(),
        action = ?action,
        "account changed"
    );
    let (audited, detail) = match action {
        Action::Disable => (AuditAction::AccountDisabled, ""),
        Action::Enable => (AuditAction::AccountEnabled, ""),
        Action::Promote => (AuditAction::RoleChanged, "admin"),
        _ => (AuditAction::RoleChanged, "user"),
    };
    let entry = visit.audit_entry(audited).on(username.as_str());
    visit.record(entry.detail(detail)).await;
    visit.flash(Flash::new(format!("{} {done}.", username.as_str())));
    Ok(Reply::Redirect("/admin"))
}
