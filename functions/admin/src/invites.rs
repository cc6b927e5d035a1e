//! Invite links: single-use, for invite-only sign-up, shown once.

use shared::accounts::Account;
use shared::audit::AuditAction;
use shared::session::Flash;
use shared::signup::SignupPolicy;
use shared::store::{Invite, InviteStore};
use shared::{AppError, Reply, Visit, link_tokens};

use crate::handler::{Problems, refuse};

/// A new invite link, in the one-time message.
pub async fn create(visit: &mut Visit<'_>, admin: &Account) -> Result<Reply, AppError> {
    let app = visit.app();
    let store = visit.app().store().await?;
    let now = visit.now();
    if app.config.signup != SignupPolicy::Invite {
        let error = "Invite links are for invite-only sign-up, and sign-up here is not \
                     invite-only (see SWITCHBOARD_SIGNUP).";
        return refuse(visit, Problems::message(error)).await;
    }
    let (token, hash) = link_tokens::generate();
    let invite = Invite {
        token_hash: hash,
        created_by: admin.username.clone(),
        created_at: now,
        expires_at: now + app.config.invite_lifetime.as_secs(),
    };
    store.create_invite(&invite).await?;
    tracing::info!(admin = admin.username.as_str(), "invite created");
    let days = app.config.invite_lifetime.as_secs() / 86_400;
    let entry = visit.audit_entry(AuditAction::InviteCreated);
    visit
        .record(entry.detail(&format!("valid {days} days")))
        .await;
    let link = visit.absolute_url(&format!("/signup?invite={token}"));
    visit.flash(Flash::new(format!(
        "New invite link, for one sign-up within {} days. Copy it now: it is not shown again. {link}",
        app.config.invite_lifetime.as_secs() / 86_400
    )));
    Ok(Reply::Redirect("/admin"))
}
