//! Changing the password: the current one (a throttled check), a new one that passes the
//! password rules, twice. Other sessions end; this one follows the account to its new epoch.

use shared::accounts::AccountChange;
use shared::audit::AuditAction;
use shared::form::FieldErrors;
use shared::session::Flash;
use shared::store::AccountStore;
use shared::{AppError, Reply, Visit, password};

use crate::handler::{SettingsForm, again, secret};
use crate::verify::check_password;

pub async fn change(visit: &mut Visit<'_>, form: &SettingsForm) -> Result<Reply, AppError> {
    let account = visit.require_user()?.clone();
    if account.identity.is_some() {
        // Its password is kept by the identity provider; here it has none to change.
        return Err(AppError::BadRequest(
            "This account signs in with single sign-on: change your password with your \
             identity provider.",
        ));
    }
    let store = visit.app().store().await?;
    let mut errors = FieldErrors::default();
    let status = check_password(
        visit,
        &account,
        &form.current_password,
        "current_password",
        "That is not your current password.",
        &mut errors,
    )
    .await?;
    errors.check(
        "new_password",
        password::check_new(&form.new_password, account.username.as_str()),
    );
    if form.new_password != form.confirm {
        errors.add("confirm", "The two passwords do not match.");
    }
    if !errors.is_empty() {
        return again(visit, status, errors, "");
    }
    let digest = password::hash(&secret(&form.new_password));
    let updated = store
        .change_account(&account.username, &AccountChange::Password(digest))
        .await?;
    tracing::info!(user = account.username.as_str(), "password changed");
    let name = account.username.as_str();
    visit
        .record(visit.audit_entry(AuditAction::PasswordChanged).on(name))
        .await;
    // The change moved the account to a new epoch: this session follows it, others end.
    visit.sign_in(updated);
    visit.flash(Flash::new(
        "Your password has been changed. Your other sessions have been signed out.",
    ));
    Ok(Reply::Redirect("/settings"))
}
