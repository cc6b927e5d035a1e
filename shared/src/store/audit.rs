//! The audit capability: entries recorded, and listed newest first, filtered and in pages.

use super::*;
use crate::audit::{AuditEntry, AuditFilter};

#[allow(async_fn_in_trait)]
pub trait AuditStore {
    async fn record_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Up to `limit` entries that `filter` selects, newest first, older than the entry
    /// `before` (an id) when given, leaving out those expired at `now`. `next` is where the
    /// following page starts.
    async fn audit_entries(
        &self,
        filter: &AuditFilter,
        before: Option<&str>,
        limit: usize,
        now: u64,
    ) -> StoreResult<Page<AuditEntry>>;
}

impl AuditStore for Store {
    async fn record_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        delegate!(self, s => s.record_audit(entry))
    }
    async fn audit_entries(
        &self,
        filter: &AuditFilter,
        before: Option<&str>,
        limit: usize,
        now: u64,
    ) -> StoreResult<Page<AuditEntry>> {
        delegate!(self, s => s.audit_entries(filter, before, limit, now))
    }
}

impl Page<AuditEntry> {
    /// A page from entries read one past `limit`: the extra one only says there is more.
    pub(crate) fn of_audit(mut items: Vec<AuditEntry>, limit: usize) -> Self {
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|e| e.id.clone())
        } else {
            None
        };
        Self { items, next }
    }
}

/// An entry as both backends keep it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct AuditRecord {
    pub id: String,
    pub at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default)]
    pub address: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    pub expires_at: u64,
}

impl AuditRecord {
    pub fn from_entry(e: &AuditEntry) -> Self {
        Self {
            id: e.id.clone(),
            at: e.at,
            actor: e.actor.clone(),
            action: e.action.as_str().to_string(),
            subject: e.subject.clone(),
            address: e.address.clone(),
            detail: e.detail.clone(),
            expires_at: e.expires_at,
        }
    }

    pub fn into_entry(self) -> StoreResult<AuditEntry> {
        Ok(AuditEntry {
            action: crate::audit::AuditAction::parse(&self.action)
                .ok_or_else(|| StoreError::Corrupt(format!("audit action: {}", self.action)))?,
            id: self.id,
            at: self.at,
            actor: self.actor,
            subject: self.subject,
            address: self.address,
            detail: self.detail,
            expires_at: self.expires_at,
        })
    }
}
