//! Spend caps (an account's own, and the default for accounts without one) and the portal's
//! API switch: the portal-wide limits.

use minijinja::context;
use shared::accounts::{Account, AccountChange};
use shared::audit::AuditAction;
use shared::form::FieldErrors;
use shared::session::Flash;
use shared::store::{AccountStore, ApiKeyStore, StoreError, UsageStore};
use shared::usage::Cost;
use shared::users::Username;
use shared::{AppError, Reply, Visit};

use crate::handler::{AdminForm, Problems, refuse};

/// A cap as the form gives it: blank for none.
pub(crate) fn parse_cap(raw: &str) -> Result<Option<Cost>, &'static str> {
    match raw.trim() {
        "" => Ok(None),
        amount => Cost::parse_dollars(amount).map(Some),
    }
}

/// Sets an account's own monthly cap, or (blank) makes it follow the default.
pub async fn account(
    visit: &mut Visit<'_>,
    admin: &Account,
    form: &AdminForm,
) -> Result<Reply, AppError> {
    let store = visit.app().store().await?;
    let username = Username::parse(&form.username)
        .map_err(|_| AppError::BadRequest("That is not a valid username."))?;
    let cap = match parse_cap(&form.cap) {
        Ok(cap) => cap,
        Err(message) => {
            let error = format!(
                "The cap for {} was not changed: {message}",
                username.as_str()
            );
            return refuse(visit, Problems::message(&error)).await;
        }
    };
    match store
        .change_account(&username, &AccountChange::SpendCap(cap))
        .await
    {
        Ok(_) => {}
        Err(StoreError::NotFound) => return Err(AppError::NotFound),
        Err(err) => return Err(AppError::internal(err)),
    }
    tracing::info!(
        admin = admin.username.as_str(),
        user = username.as_str(),
        cap = cap.map(Cost::nanos),
        "spend cap set"
    );
    let detail = cap.map_or("the default".to_string(), |c| {
        format!("{} a month", c.dollars())
    });
    let entry = visit.audit_entry(AuditAction::SpendCapChanged);
    visit
        .record(entry.on(username.as_str()).detail(&detail))
        .await;
    visit.flash(Flash::new(match cap {
        Some(cap) => format!(
            "{} may now spend {} a month.",
            username.as_str(),
            cap.dollars()
        ),
        None => format!("{} now follows the default cap.", username.as_str()),
    }));
    Ok(Reply::Redirect("/admin"))
}

/// Sets the cap for accounts without their own, or (blank) none.
pub async fn default(
    visit: &mut Visit<'_>,
    admin: &Account,
    form: &AdminForm,
) -> Result<Reply, AppError> {
    let store = visit.app().store().await?;
    let cap = match parse_cap(&form.cap) {
        Ok(cap) => cap,
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add("default_cap", message);
            let values = context! { default_cap => form.cap.trim() };
            return refuse(visit, Problems::fields(errors, values)).await;
        }
    };
    store.set_default_spend_cap(cap).await?;
    tracing::info!(
        admin = admin.username.as_str(),
        cap = cap.map(Cost::nanos),
        "default spend cap set"
    );
    let detail = cap.map_or("none".to_string(), |c| format!("{} a month", c.dollars()));
    let entry = visit.audit_entry(AuditAction::DefaultSpendCapChanged);
    visit.record(entry.detail(&detail)).await;
    visit.flash(Flash::new(match cap {
        Some(cap) => format!(
            "Accounts without their own cap may now spend {} a month.",
            cap.dollars()
        ),
        None => "Accounts without their own cap have no limit now.".to_string(),
    }));
    Ok(Reply::Redirect("/admin"))
}

/// Turns the portal's API on or off: off, every key is refused (none is deleted).
pub async fn api(
    visit: &mut Visit<'_>,
    admin: &Account,
    form: &AdminForm,
) -> Result<Reply, AppError> {
    let enabled = match form.api.as_str() {
        "on" => true,
        "off" => false,
        _ => return Err(AppError::BadRequest("Choose on or off for the API.")),
    };
    visit.app().store().await?.set_api_enabled(enabled).await?;
    tracing::info!(admin = admin.username.as_str(), enabled, "api switched");
    let entry = visit.audit_entry(AuditAction::ApiSwitched);
    visit.record(entry.detail(&form.api)).await;
    visit.flash(Flash::new(if enabled {
        "The API is on: API keys work again."
    } else {
        "The API is off: every API key is refused until it is turned on again."
    }));
    Ok(Reply::Redirect("/admin"))
}
