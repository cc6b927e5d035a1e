//! Personal API keys: made with a name, an optional expiry and optionally only some models;
//! shown once, on the page that answers the form (never again: only its hash is kept); listed
//! with when each was made and last used; revoked at once.

use lambda_http::Request;
use lambda_http::http::StatusCode;
use minijinja::{Value, context};
use secrecy::ExposeSecret;
use shared::api_keys::{self, ApiKey, ApiKeyId, KeyHash, KeyName};
use shared::audit::AuditAction;
use shared::form::FieldErrors;
use shared::session::Flash;
use shared::store::{ApiKeyStore, StoreError};
use shared::{AppError, Reply, Visit};

use crate::handler::{SettingsForm, page_with};

/// The keys' part of the page: the owner's keys, and the models a new one may be limited to.
pub async fn listed(visit: &Visit<'_>) -> Result<Value, AppError> {
    let owner = visit.require_user()?.username.clone();
    let app = visit.app();
    let keys = app.store().await?.api_keys(&owner).await?;
    let access = visit.model_access().await?;
    let now = visit.now();
    let catalogue = &app.config.models;
    Ok(context! {
        keys => keys.iter().map(|k| context! {
            id => k.id.as_str(),
            name => k.name.as_str(),
            created_at => k.created_at,
            expires_at => k.expires_at,
            expired => k.is_expired(now),
            last_used_at => k.last_used_at,
            keeps_conversations => k.keeps_conversations,
            models => k.models.as_ref().map(|ids| ids
                .iter()
                .map(|id| shared::listing::model_name(catalogue, id))
                .collect::<Vec<_>>()),
        }).collect::<Vec<_>>(),
        key_models => access.models(catalogue).iter().map(|m| context! {
            id => &m.id, name => &m.name,
        }).collect::<Vec<_>>(),
        max_keys => api_keys::MAX_KEYS,
        max_key_days => api_keys::MAX_DAYS,
    })
}

/// `action=create-key`.
pub async fn create(
    visit: &mut Visit<'_>,
    req: &Request,
    form: &SettingsForm,
) -> Result<Reply, AppError> {
    let owner = visit.require_user()?.username.clone();
    let app = visit.app();
    let store = app.store().await?;
    let mut errors = FieldErrors::default();
    let name = errors.check("key_name", KeyName::parse(&form.key_name));
    let days = match form.key_days.trim() {
        "" => Some(None),
        raw => errors.check(
            "key_days",
            raw.parse::<u32>()
                .ok()
                .filter(|d| (1..=api_keys::MAX_DAYS).contains(d))
                .map(Some)
                .ok_or(format!(
                    "Enter a whole number of days from 1 to {}, or leave it blank for a key that \
                     does not expire.",
                    api_keys::MAX_DAYS
                )),
        ),
    };
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(req.body().as_ref()).unwrap_or_default();
    let chosen: Vec<String> = pairs
        .into_iter()
        .filter(|(field, _)| field == "key_model")
        .map(|(_, id)| id)
        .collect();
    let access = visit.model_access().await?;
    if chosen
        .iter()
        .any(|id| !access.allows(id) || app.config.models.get(id).is_none())
    {
        errors.add("key_models", "Choose among the models listed.");
    }
    if store.api_keys(&owner).await?.len() >= api_keys::MAX_KEYS {
        errors.add(
            "key_name",
            format!(
                "You have {} keys, the most an account may have: revoke one first.",
                api_keys::MAX_KEYS
            ),
        );
    }
    let (Some(name), Some(days), true) = (name, days, errors.is_empty()) else {
        let keys = listed(visit).await?;
        let typed = context! {
            key_name => form.key_name.trim(),
            key_days => form.key_days.trim(),
            key_keep => !form.key_keep.is_empty(),
        };
        return Ok(page_with(
            visit,
            StatusCode::BAD_REQUEST,
            context! { errors, typed_key => typed, ..keys },
        ));
    };
    let now = visit.now();
    let key = ApiKey {
        id: ApiKeyId::generate(),
        name,
        created_at: now,
        expires_at: days.map(|d| now + u64::from(d) * 86_400),
        last_used_at: None,
        models: (!chosen.is_empty()).then_some(chosen),
        keeps_conversations: !form.key_keep.is_empty(),
    };
    let secret = api_keys::generate_secret();
    match store
        .create_api_key(&owner, &key, &KeyHash::of(&secret))
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(AppError::SignInRequired),
        Err(err) => return Err(AppError::internal(err)),
    }
    tracing::info!(
        user = owner.as_str(),
        key = key.id.as_str(),
        "api key created"
    );
    visit
        .record(
            visit
                .audit_entry(AuditAction::ApiKeyCreated)
                .on(owner.as_str())
                .detail(key.name.as_str()),
        )
        .await;
    // Shown here, once: the answer to the form is the page itself, never stored anywhere.
    let keys = listed(visit).await?;
    Ok(page_with(
        visit,
        StatusCode::CREATED,
        context! {
            new_key => context! { name => key.name.as_str(), secret => secret.expose_secret() },
            ..keys
        },
    ))
}

/// `action=revoke-key`: the key stops working at once. Another user's key id is a 404.
pub async fn revoke(visit: &mut Visit<'_>, form: &SettingsForm) -> Result<Reply, AppError> {
    let owner = visit.require_user()?.username.clone();
    let id = ApiKeyId::parse(form.key.trim()).ok_or(AppError::NotFound)?;
    let store = visit.app().store().await?;
    match store.revoke_api_key(&owner, &id).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(AppError::NotFound),
        Err(err) => return Err(AppError::internal(err)),
    }
    tracing::info!(user = owner.as_str(), key = id.as_str(), "api key revoked");
    visit
        .record(
            visit
                .audit_entry(AuditAction::ApiKeyRevoked)
                .on(owner.as_str()),
        )
        .await;
    visit.flash(Flash::new("The API key was revoked: it no longer works."));
    Ok(Reply::Redirect("/settings"))
}
