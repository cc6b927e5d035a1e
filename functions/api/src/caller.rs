//! Who is calling: the bearer key, checked (shape, hash, expiry), with its owner's account
//! (live, enabled), the portal's and groups' API switches, and the limits the call is held
//! to, all from one read of the store.

use lambda_http::Request;
use lambda_http::http::header::AUTHORIZATION;
use secrecy::SecretString;
use shared::App;
use shared::ai::Model;
use shared::api_keys::{self, ApiKey, KeyHash};
use shared::limits::Limits;
use shared::store::ApiKeyStore;
use shared::users::Username;

use crate::error::ApiError;

/// An authenticated caller.
pub struct Caller {
    pub owner: Username,
    pub key: ApiKey,
    pub limits: Limits,
}

impl Caller {
    /// Whether the key may use `model`: the account's groups allow it, and so does the key.
    pub fn may_use(&self, model: &Model) -> bool {
        self.limits.access.allows(&model.id) && self.key.allows(&model.id)
    }

    /// The model `id` names, if the caller may use it: 404 for no such model, 403 for one
    /// it may not use.
    pub fn model<'a>(&self, app: &'a App, id: &str) -> Result<&'a Model, ApiError> {
        let model = app
            .config
            .models
            .get(id)
            .ok_or_else(|| ApiError::ModelNotFound(id.to_string()))?;
        if !self.may_use(model) {
            return Err(ApiError::ModelNotAllowed(id.to_string()));
        }
        Ok(model)
    }
}

/// The key the request presents as `Authorization: Bearer <key>`.
fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

pub async fn authenticate(app: &App, req: &Request, now: u64) -> Result<Caller, ApiError> {
    let token = bearer(req).ok_or(ApiError::MissingKey)?;
    // Anything not shaped like our keys is refused before the store is asked.
    if !api_keys::looks_like_key(token) {
        return Err(ApiError::InvalidKey);
    }
    let hash = KeyHash::of(&SecretString::from(token.to_string()));
    let caller = app
        .store()
        .await?
        .api_caller(&hash)
        .await?
        .ok_or(ApiError::InvalidKey)?;
    if caller.key.is_expired(now) {
        return Err(ApiError::ExpiredKey);
    }
    let account = caller
        .account
        .filter(|a| !a.disabled && !a.deleting)
        .ok_or(ApiError::AccountUnusable)?;
    let groups: Vec<_> = caller.groups.of(&account).into_iter().cloned().collect();
    if !caller.api_enabled || !shared::groups::api_allowed(&groups) {
        return Err(ApiError::ApiOff);
    }
    Ok(Caller {
        limits: Limits::of(&app.config, &account, caller.default_spend_cap, groups),
        owner: caller.owner,
        key: caller.key,
    })
}
