//! The embedded store: one SQLite file in WAL mode, shared by every local function process.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, Transaction, params};

use super::{
    AccountRecord, AccountStore, ActivityCursor, ConversationRecord, ConversationStore, Invite,
    InviteStore, MessageRecord, Page, SessionStore, ShareStore, SharedConversation, SignedIn,
    StoreError, StoreResult, ThrottleKey, ThrottleStore, Transcript, TransferStore, TurnWrite,
    UsageStore,
};
use crate::accounts::{Account, AccountChange, Email};
use crate::conversations::{Conversation, ConversationId, Message, Title};
use crate::link_tokens;
use crate::session::SessionId;
use crate::usage::{Charge, Cost, Month, SendRate, Totals, UsageLine, UsageReport};
use crate::users::Username;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    username      TEXT PRIMARY KEY,
    email         TEXT,
    password      TEXT NOT NULL,
    role          TEXT NOT NULL,
    disabled      INTEGER NOT NULL,
    session_epoch INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS invites (
    token_hash TEXT PRIMARY KEY,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS throttle (
    key          TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    failures     INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conversations (
    owner      TEXT NOT NULL,
    id         TEXT NOT NULL,
    title      TEXT NOT NULL,
    model      TEXT NOT NULL,
    system     TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    next_seq   INTEGER NOT NULL,
    PRIMARY KEY (owner, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conversations_by_activity
    ON conversations (owner, updated_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS messages (
    owner         TEXT NOT NULL,
    conversation  TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    speaker       TEXT NOT NULL,
    text          TEXT NOT NULL,
    state         TEXT NOT NULL,
    turn          TEXT NOT NULL,
    model         TEXT,
    input_tokens  INTEGER,
    output_tokens INTEGER,
    error         TEXT,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (owner, conversation, seq)
) WITHOUT ROWID;
";

/// Changes to files made by earlier versions, applied in order once per file: a file's
/// `user_version` counts those applied. Never edit one that has shipped; add another.
const MIGRATIONS: &[&str] = &[
    // Usage, costs and spend caps.
    "ALTER TABLE accounts ADD COLUMN spend_cap INTEGER;
     ALTER TABLE messages ADD COLUMN cost INTEGER;
     ALTER TABLE messages ADD COLUMN tokens_estimated INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE usage (
         owner             TEXT NOT NULL,
         month             TEXT NOT NULL,
         kind              TEXT NOT NULL, -- T (the month's total), M (a model), C (a conversation)
         id                TEXT NOT NULL,
         label             TEXT NOT NULL,
         input_tokens      INTEGER NOT NULL,
         output_tokens     INTEGER NOT NULL,
         cost              INTEGER NOT NULL,
         replies           INTEGER NOT NULL,
         estimated_replies INTEGER NOT NULL,
         PRIMARY KEY (owner, month, kind, id)
     ) WITHOUT ROWID;
     CREATE INDEX usage_by_month ON usage (month, kind, owner);
     CREATE TABLE settings (
         name  TEXT PRIMARY KEY,
         value INTEGER
     ) WITHOUT ROWID;",
    // Share links.
    "ALTER TABLE conversations ADD COLUMN share TEXT;
     CREATE TABLE shares (
         token_hash   TEXT PRIMARY KEY,
         owner        TEXT NOT NULL,
         conversation TEXT NOT NULL
     ) WITHOUT ROWID;",
    // Accounts' ids (older accounts keep none: `AccountId::legacy`), deletion tombstones and
    // ended sessions.
    "ALTER TABLE accounts ADD COLUMN id TEXT;
     ALTER TABLE accounts ADD COLUMN deleting INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE revoked_sessions (
         owner      TEXT NOT NULL,
         session    TEXT NOT NULL,
         expires_at INTEGER NOT NULL,
         PRIMARY KEY (owner, session)
     ) WITHOUT ROWID;",
];

const DEFAULT_CAP_SETTING: &str = "default_spend_cap";

const CONVERSATION_COLUMNS: &str =
    "id, title, model, system, created_at, updated_at, next_seq, share";
const MESSAGE_COLUMNS: &str = "seq, speaker, text, state, turn, model, input_tokens, \
     output_tokens, error, updated_at, cost, tokens_estimated";

const ACCOUNT_COLUMNS: &str =
    "username, email, password, role, disabled, session_epoch, created_at, spend_cap, id, deleting";

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

/// Brings the file up to date with `MIGRATIONS`, as one transaction that holds the write lock,
/// so that processes opening the same file at once apply each change exactly once.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        for migration in MIGRATIONS.iter().skip(version as usize) {
            conn.execute_batch(migration)?;
        }
        conn.pragma_update(None, "user_version", MIGRATIONS.len() as i64)
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(err) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(err)
        }
    }
}

fn backend(err: rusqlite::Error) -> StoreError {
    match err.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => StoreError::Conflict,
        _ => StoreError::backend(err),
    }
}

fn account_from_row(row: &Row) -> rusqlite::Result<AccountRecord> {
    Ok(AccountRecord {
        username: row.get(0)?,
        email: row.get(1)?,
        password: row.get(2)?,
        role: row.get(3)?,
        disabled: row.get(4)?,
        session_epoch: row.get(5)?,
        created_at: row.get::<_, i64>(6)? as u64,
        spend_cap: row.get::<_, Option<i64>>(7)?.map(|c| c as u64),
        id: row.get(8)?,
        deleting: row.get(9)?,
    })
}

fn conversation_from_row(row: &Row) -> rusqlite::Result<ConversationRecord> {
    Ok(ConversationRecord {
        id: row.get(0)?,
        title: row.get(1)?,
        model: row.get(2)?,
        system: row.get(3)?,
        created_at: row.get::<_, i64>(4)? as u64,
        updated_at: row.get::<_, i64>(5)? as u64,
        next_seq: row.get(6)?,
        share: row.get(7)?,
    })
}

fn message_from_row(row: &Row) -> rusqlite::Result<MessageRecord> {
    Ok(MessageRecord {
        seq: row.get(0)?,
        speaker: row.get(1)?,
        text: row.get(2)?,
        state: row.get(3)?,
        turn: row.get(4)?,
        model: row.get(5)?,
        input_tokens: row.get(6)?,
        output_tokens: row.get(7)?,
        error: row.get(8)?,
        updated_at: row.get::<_, i64>(9)? as u64,
        cost: row.get::<_, Option<i64>>(10)?.map(|c| c as u64),
        tokens_estimated: row.get(11)?,
    })
}

fn collect<R, T>(
    rows: impl Iterator<Item = rusqlite::Result<R>>,
    convert: impl Fn(R) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    rows.map(|row| convert(row.map_err(backend)?)).collect()
}

fn insert_message(
    conn: &Connection,
    owner: &Username,
    id: &ConversationId,
    m: &Message,
) -> StoreResult<()> {
    let r = MessageRecord::from_message(m);
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO messages (owner, conversation, {MESSAGE_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        ),
        params![
            owner.as_str(),
            id.as_str(),
            r.seq,
            r.speaker,
            r.text,
            r.state,
            r.turn,
            r.model,
            r.input_tokens,
            r.output_tokens,
            r.error,
            r.updated_at as i64,
            r.cost.map(|c| c as i64),
            r.tokens_estimated,
        ],
    )
    .map_err(backend)?;
    Ok(())
}

fn insert_conversation(conn: &Connection, owner: &Username, c: &Conversation) -> StoreResult<()> {
    let r = ConversationRecord::from_conversation(c);
    conn.execute(
        &format!(
            "INSERT INTO conversations (owner, {CONVERSATION_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ),
        params![
            owner.as_str(),
            r.id,
            r.title,
            r.model,
            r.system,
            r.created_at as i64,
            r.updated_at as i64,
            r.next_seq,
            r.share,
        ],
    )
    .map_err(backend)?;
    Ok(())
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

fn like_pattern(query: &str) -> String {
    let escaped = query
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

fn insert_account(conn: &Connection, a: &Account) -> StoreResult<()> {
    conn.execute(
        &format!(
            "INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ),
        params![
            a.username.as_str(),
            a.email.as_ref().map(Email::as_str),
            a.password.as_str(),
            a.role.as_str(),
            a.disabled,
            a.session_epoch,
            a.created_at as i64,
            a.spend_cap.map(|c| c.nanos() as i64),
            a.id.as_str(),
            a.deleting,
        ],
    )
    .map_err(backend)?;
    Ok(())
}

impl AccountStore for SqliteStore {
    async fn create_account(&self, account: &Account) -> StoreResult<()> {
        self.with(|conn| insert_account(conn, account))
    }

    async fn create_account_with_invite(
        &self,
        account: &Account,
        invite_hash: &str,
        now: u64,
    ) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let used = tx
                .execute(
                    "DELETE FROM invites WHERE token_hash = ?1 AND expires_at > ?2",
                    params![invite_hash, now as i64],
                )
                .map_err(backend)?;
            if used == 0 {
                return Err(StoreError::InviteUnusable);
            }
            insert_account(&tx, account)?;
            tx.commit().map_err(backend)
        })
    }

    async fn account(&self, username: &Username) -> StoreResult<Option<Account>> {
        self.with(|conn| {
            conn.query_row(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username = ?1"),
                [username.as_str()],
                account_from_row,
            )
            .optional()
            .map_err(backend)?
            .map(AccountRecord::into_account)
            .transpose()
        })
    }

    async fn list_accounts(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Account>> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username > ?1 \
                     ORDER BY username LIMIT ?2"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![after.unwrap_or(""), (limit + 1) as i64],
                    account_from_row,
                )
                .map_err(backend)?;
            let mut items = Vec::new();
            for row in rows {
                items.push(row.map_err(backend)?.into_account()?);
            }
            Ok(Page::of_accounts(items, limit))
        })
    }

    async fn change_account(
        &self,
        username: &Username,
        change: &AccountChange,
    ) -> StoreResult<Account> {
        let (assignments, value): (&str, Option<Value>) = match change {
            AccountChange::Password(digest) => (
                "password = ?2, session_epoch = session_epoch + 1",
                Some(Value::Text(digest.as_str().to_string())),
            ),
            AccountChange::Role(role) => ("role = ?2", Some(Value::Text(role.as_str().into()))),
            AccountChange::SpendCap(cap) => (
                "spend_cap = ?2",
                Some(cap.map_or(Value::Null, |c| Value::Integer(c.nanos() as i64))),
            ),
            AccountChange::Disabled(true) => {
                ("disabled = 1, session_epoch = session_epoch + 1", None)
            }
            AccountChange::Disabled(false) => ("disabled = 0", None),
            AccountChange::SignOutEverywhere => ("session_epoch = session_epoch + 1", None),
        };
        self.with(|conn| {
            let sql = format!(
                "UPDATE accounts SET {assignments} WHERE username = ?1 RETURNING {ACCOUNT_COLUMNS}"
            );
            let result = match &value {
                Some(v) => conn.query_row(&sql, params![username.as_str(), v], account_from_row),
                None => conn.query_row(&sql, params![username.as_str()], account_from_row),
            };
            result
                .optional()
                .map_err(backend)?
                .ok_or(StoreError::NotFound)?
                .into_account()
        })
    }

    async fn begin_account_deletion(&self, username: &Username) -> StoreResult<()> {
        self.with(|conn| {
            conn.execute(
                "UPDATE accounts SET deleting = 1 WHERE username = ?1",
                [username.as_str()],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    // One transaction: an interrupted deletion leaves everything as it was (or, after
    // `begin_account_deletion`, the tombstone, which this finishes).
    async fn delete_account(&self, username: &Username) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            for table in [
                "messages",
                "conversations",
                "usage",
                "shares",
                "revoked_sessions",
            ] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE owner = ?1"),
                    [username.as_str()],
                )
                .map_err(backend)?;
            }
            tx.execute(
                "DELETE FROM accounts WHERE username = ?1",
                [username.as_str()],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
    }
}

impl InviteStore for SqliteStore {
    async fn create_invite(&self, invite: &Invite) -> StoreResult<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO invites (token_hash, created_by, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    invite.token_hash,
                    invite.created_by.as_str(),
                    invite.created_at as i64,
                    invite.expires_at as i64
                ],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    async fn invite(&self, token_hash: &str, now: u64) -> StoreResult<Option<Invite>> {
        self.with(|conn| {
            let row = conn
                .query_row(
                    "SELECT token_hash, created_by, created_at, expires_at FROM invites \
                     WHERE token_hash = ?1 AND expires_at > ?2",
                    params![token_hash, now as i64],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()
                .map_err(backend)?;
            row.map(|(token_hash, created_by, created_at, expires_at)| {
                Ok(Invite {
                    token_hash,
                    created_by: Username::parse(&created_by)
                        .map_err(|e| StoreError::Corrupt(e.into()))?,
                    created_at: created_at as u64,
                    expires_at: expires_at as u64,
                })
            })
            .transpose()
        })
    }
}

impl ThrottleStore for SqliteStore {
    async fn reserve_attempt(
        &self,
        key: &ThrottleKey,
        window_start: u64,
        expires_at: u64,
        limit: u32,
    ) -> StoreResult<bool> {
        self.with(|conn| {
            // Expired counters go as new ones come, as DynamoDB's TTL does for the other store.
            conn.execute(
                "DELETE FROM throttle WHERE expires_at < ?1",
                [window_start as i64],
            )
            .map_err(backend)?;
            // One statement: the count grows only while under the limit.
            let counted = conn
                .execute(
                    "INSERT INTO throttle (key, window_start, failures, expires_at) \
                     VALUES (?1, ?2, 1, ?3) \
                     ON CONFLICT (key, window_start) DO UPDATE SET failures = failures + 1 \
                     WHERE failures < ?4",
                    params![
                        key.storage_key(),
                        window_start as i64,
                        expires_at as i64,
                        limit
                    ],
                )
                .map_err(backend)?;
            Ok(counted == 1 && limit > 0)
        })
    }

    async fn release_attempt(&self, key: &ThrottleKey, window_start: u64) -> StoreResult<()> {
        self.with(|conn| {
            conn.execute(
                "UPDATE throttle SET failures = failures - 1 \
                 WHERE key = ?1 AND window_start = ?2 AND failures > 0",
                params![key.storage_key(), window_start as i64],
            )
            .map_err(backend)?;
            Ok(())
        })
    }
}

impl ConversationStore for SqliteStore {
    async fn create_conversation(&self, owner: &Username, c: &Conversation) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            require_live_account(&tx, owner)?;
            insert_conversation(&tx, owner, c)?;
            tx.commit().map_err(backend)
        })
    }

    async fn conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        limit: usize,
    ) -> StoreResult<Option<(Conversation, Vec<Message>)>> {
        let Some(conversation) = self.with(|conn| {
            conn.query_row(
                &format!(
                    "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE owner = ?1 AND id = ?2"
                ),
                params![owner.as_str(), id.as_str()],
                conversation_from_row,
            )
            .optional()
            .map_err(backend)?
            .map(ConversationRecord::into_conversation)
            .transpose()
        })?
        else {
            return Ok(None);
        };
        let messages = self
            .messages_before(owner, id, conversation.next_seq, limit)
            .await?;
        Ok(Some((conversation, messages)))
    }

    async fn messages_before(
        &self,
        owner: &Username,
        id: &ConversationId,
        before: u32,
        limit: usize,
    ) -> StoreResult<Vec<Message>> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages \
                     WHERE owner = ?1 AND conversation = ?2 AND seq < ?3 \
                     ORDER BY seq DESC LIMIT ?4"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![owner.as_str(), id.as_str(), before, limit as i64],
                    message_from_row,
                )
                .map_err(backend)?;
            let mut messages = collect(rows, MessageRecord::into_message)?;
            messages.reverse();
            Ok(messages)
        })
    }

    async fn list_conversations(
        &self,
        owner: &Username,
        after: Option<&ActivityCursor>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>> {
        let (updated, id) = after.map_or((i64::MAX, ""), |c| (c.updated_at as i64, c.id.as_str()));
        self.with(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {CONVERSATION_COLUMNS} FROM conversations \
                     WHERE owner = ?1 AND (updated_at < ?2 OR (updated_at = ?2 AND id < ?3)) \
                     ORDER BY updated_at DESC, id DESC LIMIT ?4"
                ))
                .map_err(backend)?;
            let id = if after.is_some() { id } else { "~" };
            let rows = stmt
                .query_map(
                    params![owner.as_str(), updated, id, (limit + 1) as i64],
                    conversation_from_row,
                )
                .map_err(backend)?;
            let items = collect(rows, ConversationRecord::into_conversation)?;
            Ok(Page::of_conversations(items, limit))
        })
    }

    async fn search_conversations(
        &self,
        owner: &Username,
        query: &str,
        after: Option<&ConversationId>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {CONVERSATION_COLUMNS} FROM conversations c \
                     WHERE c.owner = ?1 AND c.id > ?2 AND (c.title LIKE ?3 ESCAPE '\\' \
                       OR EXISTS (SELECT 1 FROM messages m WHERE m.owner = c.owner \
                         AND m.conversation = c.id AND m.text LIKE ?3 ESCAPE '\\')) \
                     ORDER BY c.id LIMIT ?4"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![
                        owner.as_str(),
                        after.map_or("", ConversationId::as_str),
                        like_pattern(query),
                        (limit + 1) as i64
                    ],
                    conversation_from_row,
                )
                .map_err(backend)?;
            let mut items = collect(rows, ConversationRecord::into_conversation)?;
            let next = if items.len() > limit {
                items.truncate(limit);
                items.last().map(|c| c.id.as_str().to_string())
            } else {
                None
            };
            Ok(Page { items, next })
        })
    }

    async fn rename_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        title: &Title,
    ) -> StoreResult<()> {
        self.with(|conn| {
            let changed = conn
                .execute(
                    "UPDATE conversations SET title = ?3 WHERE owner = ?1 AND id = ?2",
                    params![owner.as_str(), id.as_str(), title.as_str()],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
    }

    async fn delete_conversation(&self, owner: &Username, id: &ConversationId) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let deleted = tx
                .execute(
                    "DELETE FROM conversations WHERE owner = ?1 AND id = ?2",
                    params![owner.as_str(), id.as_str()],
                )
                .map_err(backend)?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            for table in ["messages", "shares"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE owner = ?1 AND conversation = ?2"),
                    params![owner.as_str(), id.as_str()],
                )
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
    }

    async fn write_turn(
        &self,
        owner: &Username,
        id: &ConversationId,
        turn: &TurnWrite<'_>,
    ) -> StoreResult<()> {
        self.with(|conn| {
            // IMMEDIATE takes the write lock first, so the check and the writes are one step
            // even across processes.
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            require_live_account(&tx, owner)?;
            let current: Option<u32> = tx
                .query_row(
                    "SELECT next_seq FROM conversations WHERE owner = ?1 AND id = ?2",
                    params![owner.as_str(), id.as_str()],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)?;
            match current {
                None => return Err(StoreError::NotFound),
                Some(seq) if seq != turn.expected_next_seq => return Err(StoreError::Conflict),
                Some(_) => {}
            }
            if let Some(limit) = &turn.spend_limit {
                let spent = month_total(&tx, owner.as_str(), limit.month)?.cost;
                if spent >= limit.cap {
                    return Err(StoreError::SpendCapReached);
                }
            }
            if let Some(rate) = &turn.rate {
                count_send(&tx, owner, rate)?;
            }
            tx.execute(
                "UPDATE conversations SET next_seq = ?3, updated_at = ?4, model = ?5 \
                 WHERE owner = ?1 AND id = ?2",
                params![
                    owner.as_str(),
                    id.as_str(),
                    turn.next_seq,
                    turn.now as i64,
                    turn.model
                ],
            )
            .map_err(backend)?;
            for message in turn.messages {
                insert_message(&tx, owner, id, message)?;
            }
            tx.commit().map_err(backend)
        })
    }

    async fn save_reply(
        &self,
        owner: &Username,
        id: &ConversationId,
        reply: &Message,
        charge: Option<&Charge>,
    ) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            let turn: Option<String> = tx
                .query_row(
                    "SELECT turn FROM messages WHERE owner = ?1 AND conversation = ?2 AND seq = ?3",
                    params![owner.as_str(), id.as_str(), reply.seq],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)?;
            if turn.as_deref() != Some(reply.turn.as_str()) {
                return Err(StoreError::Conflict);
            }
            require_live_account(&tx, owner)?;
            insert_message(&tx, owner, id, reply)?;
            if let Some(charge) = charge {
                add_usage(&tx, owner, charge)?;
            }
            tx.commit().map_err(backend)
        })
    }
}

fn read_default_cap(conn: &Connection) -> StoreResult<Option<Cost>> {
    conn.query_row(
        "SELECT value FROM settings WHERE name = ?1",
        [DEFAULT_CAP_SETTING],
        |row| row.get::<_, Option<i64>>(0),
    )
    .optional()
    .map(|v| v.flatten().map(|c| Cost::from_nanos(c as u64)))
    .map_err(backend)
}

fn totals_from_row(row: &Row, first: usize) -> rusqlite::Result<Totals> {
    let n = |i: usize| row.get::<_, i64>(first + i).map(|v| v as u64);
    Ok(Totals {
        input_tokens: n(0)?,
        output_tokens: n(1)?,
        cost: Cost::from_nanos(n(2)?),
        replies: n(3)?,
        estimated_replies: n(4)?,
    })
}

const TOTALS_COLUMNS: &str = "input_tokens, output_tokens, cost, replies, estimated_replies";

fn month_total(tx: &Transaction, owner: &str, month: Month) -> StoreResult<Totals> {
    tx.query_row(
        &format!(
            "SELECT {TOTALS_COLUMNS} FROM usage \
             WHERE owner = ?1 AND month = ?2 AND kind = 'T' AND id = ''"
        ),
        params![owner, month.key()],
        |row| totals_from_row(row, 0),
    )
    .optional()
    .map(Option::unwrap_or_default)
    .map_err(backend)
}

/// Counts one send in the rate's window, or refuses it once the window is full.
fn count_send(tx: &Transaction, owner: &Username, rate: &SendRate) -> StoreResult<()> {
    let key = ThrottleKey::Sends(owner.as_str().to_string()).storage_key();
    tx.execute(
        "DELETE FROM throttle WHERE expires_at < ?1",
        [rate.window_start as i64],
    )
    .map_err(backend)?;
    let sent: u32 = tx
        .query_row(
            "SELECT failures FROM throttle WHERE key = ?1 AND window_start = ?2",
            params![key, rate.window_start as i64],
            |row| row.get(0),
        )
        .optional()
        .map_err(backend)?
        .unwrap_or(0);
    if sent >= rate.limit {
        return Err(StoreError::RateLimited);
    }
    tx.execute(
        "INSERT INTO throttle (key, window_start, failures, expires_at) VALUES (?1, ?2, 1, ?3) \
         ON CONFLICT (key, window_start) DO UPDATE SET failures = failures + 1",
        params![key, rate.window_start as i64, rate.expires_at() as i64],
    )
    .map_err(backend)?;
    Ok(())
}

fn add_usage(tx: &Transaction, owner: &Username, charge: &Charge) -> StoreResult<()> {
    let lines = [
        ("T", "", ""),
        ("M", charge.model.as_str(), charge.model.as_str()),
        ("C", charge.conversation.as_str(), charge.title.as_str()),
    ];
    for (kind, id, label) in lines {
        tx.execute(
            &format!(
                "INSERT INTO usage (owner, month, kind, id, label, {TOTALS_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9) \
                 ON CONFLICT (owner, month, kind, id) DO UPDATE SET label = excluded.label, \
                 input_tokens = input_tokens + excluded.input_tokens, \
                 output_tokens = output_tokens + excluded.output_tokens, \
                 cost = cost + excluded.cost, replies = replies + 1, \
                 estimated_replies = estimated_replies + excluded.estimated_replies"
            ),
            params![
                owner.as_str(),
                charge.month.key(),
                kind,
                id,
                label,
                charge.input_tokens,
                charge.output_tokens,
                charge.cost.nanos() as i64,
                charge.estimated,
            ],
        )
        .map_err(backend)?;
    }
    Ok(())
}

impl TransferStore for SqliteStore {
    async fn export_conversations(&self, owner: &Username) -> StoreResult<Vec<Transcript>> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE owner = ?1 ORDER BY id"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map([owner.as_str()], conversation_from_row)
                .map_err(backend)?;
            let conversations = collect(rows, ConversationRecord::into_conversation)?;
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages \
                     WHERE owner = ?1 AND conversation = ?2 ORDER BY seq"
                ))
                .map_err(backend)?;
            let mut transcripts = Vec::with_capacity(conversations.len());
            for conversation in conversations {
                let rows = stmt
                    .query_map(
                        params![owner.as_str(), conversation.id.as_str()],
                        message_from_row,
                    )
                    .map_err(backend)?;
                let messages = collect(rows, MessageRecord::into_message)?;
                transcripts.push((conversation, messages));
            }
            Ok(transcripts)
        })
    }

    async fn import_conversations(
        &self,
        owner: &Username,
        transcripts: &[Transcript],
    ) -> StoreResult<usize> {
        self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            require_live_account(&tx, owner)?;
            let mut added = 0;
            for (conversation, messages) in transcripts {
                let exists: bool = tx
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM conversations WHERE owner = ?1 AND id = ?2)",
                        params![owner.as_str(), conversation.id.as_str()],
                        |row| row.get(0),
                    )
                    .map_err(backend)?;
                if exists {
                    continue;
                }
                insert_conversation(&tx, owner, conversation)?;
                for message in messages {
                    insert_message(&tx, owner, &conversation.id, message)?;
                }
                added += 1;
            }
            tx.commit().map_err(backend)?;
            Ok(added)
        })
    }
}

/// The conversation's share token: `None` if there is no such conversation, `Some(None)` if
/// it is not shared.
fn share_of(
    tx: &Transaction,
    owner: &Username,
    id: &ConversationId,
) -> StoreResult<Option<Option<String>>> {
    tx.query_row(
        "SELECT share FROM conversations WHERE owner = ?1 AND id = ?2",
        params![owner.as_str(), id.as_str()],
        |row| row.get(0),
    )
    .optional()
    .map_err(backend)
}

impl ShareStore for SqliteStore {
    async fn share_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        token: &str,
    ) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            require_live_account(&tx, owner)?;
            match share_of(&tx, owner, id)? {
                None => return Err(StoreError::NotFound),
                Some(Some(_)) => return Err(StoreError::Conflict),
                Some(None) => {}
            }
            tx.execute(
                "UPDATE conversations SET share = ?3 WHERE owner = ?1 AND id = ?2",
                params![owner.as_str(), id.as_str(), token],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO shares (token_hash, owner, conversation) VALUES (?1, ?2, ?3)",
                params![link_tokens::hash(token), owner.as_str(), id.as_str()],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
    }

    async fn unshare_conversation(&self, owner: &Username, id: &ConversationId) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            let Some(token) = share_of(&tx, owner, id)?.flatten() else {
                return Err(StoreError::NotFound);
            };
            tx.execute(
                "UPDATE conversations SET share = NULL WHERE owner = ?1 AND id = ?2",
                params![owner.as_str(), id.as_str()],
            )
            .map_err(backend)?;
            tx.execute(
                "DELETE FROM shares WHERE token_hash = ?1",
                [link_tokens::hash(&token)],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
    }

    async fn shared(&self, token: &str) -> StoreResult<Option<SharedConversation>> {
        self.with(|conn| {
            let found: Option<(String, String)> = conn
                .query_row(
                    "SELECT owner, conversation FROM shares WHERE token_hash = ?1",
                    [link_tokens::hash(token)],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(backend)?;
            found
                .map(|(owner, id)| SharedConversation::parse(&owner, &id))
                .transpose()
        })
    }
}

impl UsageStore for SqliteStore {
    async fn record_usage(&self, owner: &Username, charge: &Charge) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            require_live_account(&tx, owner)?;
            add_usage(&tx, owner, charge)?;
            tx.commit().map_err(backend)
        })
    }

    async fn usage(&self, owner: &Username, month: Month) -> StoreResult<UsageReport> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT kind, id, label, {TOTALS_COLUMNS} FROM usage \
                     WHERE owner = ?1 AND month = ?2"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![owner.as_str(), month.key()], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        UsageLine {
                            id: row.get(1)?,
                            label: row.get(2)?,
                            totals: totals_from_row(row, 3)?,
                        },
                    ))
                })
                .map_err(backend)?;
            let mut report = UsageReport::default();
            for row in rows {
                let (kind, line) = row.map_err(backend)?;
                match kind.as_str() {
                    "T" => report.total = line.totals,
                    "M" => report.by_model.push(line),
                    "C" => report.by_conversation.push(line),
                    other => return Err(StoreError::Corrupt(format!("usage kind {other}"))),
                }
            }
            Ok(report.sorted())
        })
    }

    async fn spend_between(
        &self,
        month: Month,
        first: &str,
        last: &str,
    ) -> StoreResult<Vec<(String, Totals)>> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT owner, {TOTALS_COLUMNS} FROM usage \
                     WHERE month = ?1 AND kind = 'T' AND owner BETWEEN ?2 AND ?3 ORDER BY owner"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![month.key(), first, last], |row| {
                    Ok((row.get::<_, String>(0)?, totals_from_row(row, 1)?))
                })
                .map_err(backend)?;
            collect(rows, Ok)
        })
    }

    async fn default_spend_cap(&self) -> StoreResult<Option<Cost>> {
        self.with(|conn| read_default_cap(conn))
    }

    async fn set_default_spend_cap(&self, cap: Option<Cost>) -> StoreResult<()> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO settings (name, value) VALUES (?1, ?2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![DEFAULT_CAP_SETTING, cap.map(|c| c.nanos() as i64)],
            )
            .map_err(backend)?;
            Ok(())
        })
    }
}

impl SessionStore for SqliteStore {
    async fn revoke_session(
        &self,
        owner: &Username,
        session: &SessionId,
        expires_at: u64,
    ) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            // Ended sessions are forgotten once their cookies have expired anyway.
            tx.execute(
                "DELETE FROM revoked_sessions WHERE expires_at < ?1",
                [crate::session::now() as i64],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT OR REPLACE INTO revoked_sessions (owner, session, expires_at) \
                 VALUES (?1, ?2, ?3)",
                params![owner.as_str(), session.as_str(), expires_at as i64],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
    }

    async fn signed_in(
        &self,
        owner: &Username,
        session: &SessionId,
        default_spend_cap: bool,
    ) -> StoreResult<SignedIn> {
        self.with(|conn| {
            let account = conn
                .query_row(
                    &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username = ?1"),
                    [owner.as_str()],
                    account_from_row,
                )
                .optional()
                .map_err(backend)?
                .map(AccountRecord::into_account)
                .transpose()?;
            let revoked = conn
                .query_row(
                    "SELECT 1 FROM revoked_sessions WHERE owner = ?1 AND session = ?2",
                    params![owner.as_str(), session.as_str()],
                    |_| Ok(()),
                )
                .optional()
                .map_err(backend)?
                .is_some();
            let default_spend_cap = if default_spend_cap {
                Some(read_default_cap(conn)?)
            } else {
                None
            };
            Ok(SignedIn {
                account,
                revoked,
                default_spend_cap,
            })
        })
    }
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

#[cfg(test)]
mod migrations {
    use rusqlite::Connection;

    use super::{SCHEMA, SqliteStore};
    use crate::store::AccountStore;
    use crate::users::Username;

    #[tokio::test]
    async fn a_file_from_before_usage_is_upgraded_and_keeps_its_data() {
        let dir = std::env::temp_dir().join(format!("switchboard-migrate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.sqlite3");
        let _ = std::fs::remove_file(&path);
        {
            let old = Connection::open(&path).unwrap();
            old.execute_batch(SCHEMA).unwrap();
            old.execute(
                "INSERT INTO accounts VALUES ('ann', NULL, \
                 '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', \
                 'user', 0, 3, 1700000000)",
                [],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let ann = store
            .account(&Username::parse("ann").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((ann.session_epoch, ann.spend_cap), (3, None));
        assert_eq!(ann.id, crate::accounts::AccountId::legacy(1_700_000_000));
        // Opening again (another process) finds it up to date and changes nothing.
        drop(store);
        SqliteStore::open(&path).unwrap();
    }
}
