//! API keys: one row per key, found by its hash (the primary key) or by its owner.

use super::*;
use crate::api_keys::{ApiKey, ApiKeyId, KeyHash};
use crate::store::{ApiCaller, ApiKeyRecord, ApiKeyStore};

const COLUMNS: &str =
    "id, name, key_hash, created_at, expires_at, last_used_at, models, keeps_conversations";

/// A key from a row whose key columns (`COLUMNS`) start at `at`.
fn key_from_row(row: &Row, at: usize) -> rusqlite::Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: row.get(at)?,
        name: row.get(at + 1)?,
        key_hash: row.get(at + 2)?,
        created_at: row.get::<_, i64>(at + 3)? as u64,
        expires_at: row.get::<_, Option<i64>>(at + 4)?.map(|t| t as u64),
        last_used_at: row.get::<_, Option<i64>>(at + 5)?.map(|t| t as u64),
        models: match row.get::<_, Option<String>>(at + 6)? {
            Some(json) => Some(serde_json::from_str(&json).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    at + 6,
                    rusqlite::types::Type::Text,
                    e.into(),
                )
            })?),
            None => None,
        },
        keeps_conversations: row.get(at + 7)?,
    })
}

impl ApiKeyStore for SqliteStore {
    async fn create_api_key(
        &self,
        owner: &Username,
        key: &ApiKey,
        hash: &KeyHash,
    ) -> StoreResult<()> {
        let r = ApiKeyRecord::new(key, hash);
        let models = r
            .models
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(StoreError::backend)?;
        self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            require_live_account(&tx, owner)?;
            tx.execute(
                &format!("INSERT INTO api_keys (owner, {COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                params![
                    owner.as_str(),
                    r.id,
                    r.name,
                    r.key_hash,
                    r.created_at as i64,
                    r.expires_at.map(|t| t as i64),
                    r.last_used_at.map(|t| t as i64),
                    models,
                    r.keeps_conversations,
                ],
            )
            // A taken key is a `Conflict` (`backend` says so).
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
    }

    async fn api_keys(&self, owner: &Username) -> StoreResult<Vec<ApiKey>> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM api_keys WHERE owner = ?1 ORDER BY created_at, id"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map([owner.as_str()], |row| key_from_row(row, 0))
                .map_err(backend)?;
            collect(rows, ApiKeyRecord::into_key)
        })
    }

    async fn revoke_api_key(&self, owner: &Username, id: &ApiKeyId) -> StoreResult<()> {
        self.with(|conn| {
            let changed = conn
                .execute(
                    "DELETE FROM api_keys WHERE owner = ?1 AND id = ?2",
                    params![owner.as_str(), id.as_str()],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
    }

    async fn api_caller(&self, hash: &KeyHash) -> StoreResult<Option<ApiCaller>> {
        self.with(|conn| {
            let found = conn
                .query_row(
                    &format!("SELECT owner, {COLUMNS} FROM api_keys WHERE key_hash = ?1"),
                    [hash.as_str()],
                    |row| Ok((row.get::<_, String>(0)?, key_from_row(row, 1)?)),
                )
                .optional()
                .map_err(backend)?;
            let Some((owner, record)) = found else {
                return Ok(None);
            };
            let owner = Username::parse(&owner)
                .map_err(|e| StoreError::Corrupt(format!("api key owner: {e}")))?;
            let account = super::accounts::read_account(conn, &owner)?;
            Ok(Some(ApiCaller {
                key: record.into_key()?,
                account,
                default_spend_cap: super::usage::read_default_cap(conn)?,
                groups: super::groups::read_groups(conn)?,
                api_enabled: super::usage::read_api_enabled(conn)?,
                owner,
            }))
        })
    }

    async fn api_enabled(&self) -> StoreResult<bool> {
        self.with(|conn| super::usage::read_api_enabled(conn))
    }

    async fn set_api_enabled(&self, enabled: bool) -> StoreResult<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO settings (name, value) VALUES (?1, ?2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![super::usage::API_OFF_SETTING, i64::from(!enabled)],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    async fn touch_api_key(&self, owner: &Username, id: &ApiKeyId, now: u64) -> StoreResult<()> {
        self.with(|conn| {
            let changed = conn
                .execute(
                    "UPDATE api_keys SET last_used_at = ?3 WHERE owner = ?1 AND id = ?2",
                    params![owner.as_str(), id.as_str(), now as i64],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
    }
}
