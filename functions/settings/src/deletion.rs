//! Deleting the account and everything it owns: the username typed to confirm and the
//! password (a throttled check; an account that signs in with single sign-on has none here,
//! so for it the username and the session's form token); the last enabled admin may not.

use lambda_http::http::StatusCode;
use shared::accounts;
use shared::audit::AuditAction;
use shared::form::FieldErrors;
use shared::session::Flash;
use shared::store::AccountStore;
use shared::{AppError, Reply, Visit};

use crate::handler::{SettingsForm, again};
use crate::verify::check_password;

pub async fn delete(visit: &mut Visit<'_>, form: &SettingsForm) -> Result<Reply, AppError> {
    let account = visit.require_user()?.clone();
    let store = visit.app().store().await?;
    let mut errors = FieldErrors::default();
    if form.confirm_username.trim().to_lowercase() != account.username.as_str() {
        errors.add("confirm_username", "Type your username exactly to confirm.");
    }
    let mut status = if account.identity.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        check_password(
            visit,
            &account,
            &form.current_password,
            "delete_password",
            "That is not your password.",
            &mut errors,
        )
        .await?
    };
    if errors.is_empty()
        && account.is_admin()
        && !accounts::another_enabled_admin(store, &account.username).await?
    {
        errors.add(
            "confirm_username",
            "You are the only administrator. Make another account an administrator \
             before deleting yours.",
        );
        status = StatusCode::CONFLICT;
    }
    if !errors.is_empty() {
        return again(visit, status, errors, form.confirm_username.trim());
    }
    store.delete_account(&account.username).await?;
    shared::attachments::delete_all_of(visit.app(), &account.username).await;
    tracing::info!(user = account.username.as_str(), "account deleted");
    let name = account.username.as_str();
    visit
        .record(visit.audit_entry(AuditAction::AccountDeleted).on(name))
        .await;
    visit.forget_session();
    visit.flash(Flash::new(
        "Your account and all its data have been deleted.",
    ));
    Ok(Reply::Redirect("/login"))
}
