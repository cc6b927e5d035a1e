//! The API keys capability: each user's personal keys, found by their hash.

use super::*;
use crate::api_keys::{ApiKey, ApiKeyId, KeyHash, KeyName};

/// A key as both backends keep it (with its hash, never the key).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub key_hash: String,
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keeps_conversations: bool,
}

/// Who an API call comes from, read with everything its checks need, at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiCaller {
    pub owner: Username,
    pub key: ApiKey,
    /// The owner's account; `None` if it is gone.
    pub account: Option<Account>,
    /// The portal's default spend cap.
    pub default_spend_cap: Option<Cost>,
    /// The portal's groups.
    pub groups: crate::groups::Groups,
    /// Whether the portal's API is on (administrators may turn it off).
    pub api_enabled: bool,
}

impl ApiKeyRecord {
    pub fn new(key: &ApiKey, hash: &KeyHash) -> Self {
        Self {
            id: key.id.as_str().to_string(),
            name: key.name.as_str().to_string(),
            key_hash: hash.as_str().to_string(),
            created_at: key.created_at,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            models: key.models.clone(),
            keeps_conversations: key.keeps_conversations,
        }
    }

    pub fn into_key(self) -> StoreResult<ApiKey> {
        Ok(ApiKey {
            id: ApiKeyId::parse(&self.id)
                .ok_or_else(|| StoreError::Corrupt(format!("api key id {}", self.id)))?,
            name: KeyName::parse(&self.name)
                .map_err(|e| StoreError::Corrupt(format!("api key name: {e}")))?,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            models: self.models,
            keeps_conversations: self.keeps_conversations,
        })
    }
}

#[allow(async_fn_in_trait)]
pub trait ApiKeyStore {
    /// Keeps `owner`'s new key under `hash`: `NotFound` if the account is gone (or going).
    async fn create_api_key(
        &self,
        owner: &Username,
        key: &ApiKey,
        hash: &KeyHash,
    ) -> StoreResult<()>;
    /// The owner's keys, oldest first.
    async fn api_keys(&self, owner: &Username) -> StoreResult<Vec<ApiKey>>;
    /// Ends the key at once: `NotFound` if the owner has no such key.
    async fn revoke_api_key(&self, owner: &Username, id: &ApiKeyId) -> StoreResult<()>;
    /// Whose key has this hash, with the key, the account and the portal's settings a call
    /// is checked against, if the key exists (revoked ones do not).
    async fn api_caller(&self, hash: &KeyHash) -> StoreResult<Option<ApiCaller>>;
    /// Whether the portal's API is on.
    async fn api_enabled(&self) -> StoreResult<bool>;
    /// Turns the portal's API on or off (off: every key is refused, none is deleted).
    async fn set_api_enabled(&self, enabled: bool) -> StoreResult<()>;
    /// Notes that the key was used at `now` (shown in its owner's list).
    async fn touch_api_key(&self, owner: &Username, id: &ApiKeyId, now: u64) -> StoreResult<()>;
}

impl ApiKeyStore for Store {
    async fn create_api_key(
        &self,
        owner: &Username,
        key: &ApiKey,
        hash: &KeyHash,
    ) -> StoreResult<()> {
        delegate!(self, s => s.create_api_key(owner, key, hash))
    }
    async fn api_keys(&self, owner: &Username) -> StoreResult<Vec<ApiKey>> {
        delegate!(self, s => s.api_keys(owner))
    }
    async fn revoke_api_key(&self, owner: &Username, id: &ApiKeyId) -> StoreResult<()> {
        delegate!(self, s => s.revoke_api_key(owner, id))
    }
    async fn api_caller(&self, hash: &KeyHash) -> StoreResult<Option<ApiCaller>> {
        delegate!(self, s => s.api_caller(hash))
    }
    async fn api_enabled(&self) -> StoreResult<bool> {
        delegate!(self, s => s.api_enabled())
    }
    async fn set_api_enabled(&self, enabled: bool) -> StoreResult<()> {
        delegate!(self, s => s.set_api_enabled(enabled))
    }
    async fn touch_api_key(&self, owner: &Username, id: &ApiKeyId, now: u64) -> StoreResult<()> {
        delegate!(self, s => s.touch_api_key(owner, id, now))
    }
}
