//! The embedded store: one SQLite file in WAL mode, shared by every local function process.

use std::path::Path;

use std::sync::Mutex;

use std::time::Duration;

use rusqlite::types::Value;

use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, Transaction, params};

use super::{
    AccountRecord, AccountStore, ActivityCursor, AuditRecord, AuditStore, ConversationRecord,
    ConversationStore, Extras, GroupStore, IdentityStore, Invite, InviteStore, MessageRecord, Page,
    SessionStore, ShareStore, SharedConversation, SignedIn, StoreError, StoreResult, ThrottleKey,
    ThrottleStore, Transcript, TransferStore, TurnWrite, UsageStore,
};

use crate::accounts::{Account, AccountChange, Email, Identity, ProviderGroups};

use crate::audit::{AuditEntry, AuditFilter};

use crate::groups::{Group, GroupId, Groups};

use super::groups::{groups_from_json, groups_to_json};

use crate::conversations::{Conversation, ConversationId, Message, Shelf, Title};

use crate::link_tokens;

use crate::session::SessionId;

use crate::usage::{Cached, Charge, Cost, Month, SendRate, Totals, UsageLine, UsageReport};

use crate::users::Username;

mod accounts;
mod api_keys;
mod audit;
mod conversations;
mod folders;
mod groups;
mod identities;
mod invites;
mod rows;
mod schema;
mod sessions;
mod shares;
mod throttle;
mod transfer;
mod usage;

use rows::*;
use schema::{SCHEMA, migrate};
use usage::*;

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    pub fn open(path: &Path) -> StoreResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(StoreError::backend)?;
        }
        let conn = Connection::open(path).map_err(StoreError::backend)?;
        // Other processes may hold the write lock for a moment: wait rather than fail.
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(StoreError::backend)?;
        // Switching to WAL can report "busy" without waiting while another process opens the
        // same new file; it is a one-time step per file, so retry it briefly.
        let mut attempts = 0;
        loop {
            let setup = conn
                .pragma_update(None, "journal_mode", "WAL")
                .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
                .and_then(|()| conn.execute_batch(SCHEMA))
                .and_then(|()| migrate(&conn));
            match setup {
                Ok(()) => break,
                Err(err)
                    if err.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                        && attempts < 50 =>
                {
                    attempts += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(err) => return Err(StoreError::backend(err)),
            }
        }
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut conn)
    }
}

fn backend(err: rusqlite::Error) -> StoreError {
    match err.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => StoreError::Conflict,
        _ => StoreError::backend(err),
    }
}

/// A `LIKE` pattern matching `query` anywhere, with its wildcards taken literally.
/// Refuses a write under `owner` (`NotFound`) unless the account exists and is not being
/// deleted: nothing may be left behind for a later account of the same name.
fn require_live_account(conn: &Connection, owner: &Username) -> StoreResult<()> {
    let live = conn
        .query_row(
            "SELECT 1 FROM accounts WHERE username = ?1 AND deleting = 0",
            [owner.as_str()],
            |_| Ok(()),
        )
        .optional()
        .map_err(backend)?;
    live.ok_or(StoreError::NotFound)
}

#[cfg(test)]
mod contract {
    use std::path::PathBuf;

    use super::SqliteStore;

    /// One database file for the whole test binary, opened anew by each store handle, as
    /// several function processes would.
    fn path() -> PathBuf {
        static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        DIR.get_or_init(|| {
            let dir =
                std::env::temp_dir().join(format!("switchboard-contract-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            dir
        })
        .join("store.sqlite3")
    }

    crate::contract_tests!(async { SqliteStore::open(&path()).unwrap() });
}
