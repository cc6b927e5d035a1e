//! Signing out everywhere: every session of the account ends, this one among them.

use shared::accounts::AccountChange;
use shared::audit::AuditAction;
use shared::session::Flash;
use shared::store::AccountStore;
use shared::{AppError, Reply, Visit};

pub async fn sign_out(visit: &mut Visit<'_>) -> Result<Reply, AppError> {
    let account = visit.require_user()?.clone();
    let store = visit.app().store().await?;
    store
        .change_account(&account.username, &AccountChange::SignOutEverywhere)
        .await?;
    tracing::info!(user = account.username.as_str(), "signed out everywhere");
    let name = account.username.as_str();
    visit
        .record(visit.audit_entry(AuditAction::SignedOutEverywhere).on(name))
        .await;
    // Every session ended with the new epoch, this one among them.
    visit.forget_session();
    visit.flash(Flash::new("You have been signed out everywhere."));
    Ok(Reply::Redirect("/login"))
}
