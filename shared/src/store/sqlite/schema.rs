//! The embedded store's schema, and the migrations that bring older files up to date.

use super::*;

pub(super) const SCHEMA: &str = "
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
pub(super) const MIGRATIONS: &[&str] = &[
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
    // Replies' thinking.
    "ALTER TABLE messages ADD COLUMN thinking TEXT;",
    // Prompt caching in the usage totals.
    "ALTER TABLE usage ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE usage ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE usage ADD COLUMN cache_saved INTEGER NOT NULL DEFAULT 0;",
    // Single sign-on: the provider's issuer and subject (one account each), and its groups.
    "ALTER TABLE accounts ADD COLUMN issuer TEXT;
     ALTER TABLE accounts ADD COLUMN subject TEXT;
     ALTER TABLE accounts ADD COLUMN groups TEXT;
     CREATE UNIQUE INDEX accounts_by_identity ON accounts (issuer, subject)
         WHERE issuer IS NOT NULL;",
    // The audit log.
    "CREATE TABLE audit (
         id         TEXT PRIMARY KEY, -- <seconds>.<microseconds>#<random>: time order
         at         INTEGER NOT NULL,
         actor      TEXT,
         action     TEXT NOT NULL,
         subject    TEXT,
         address    TEXT NOT NULL,
         detail     TEXT NOT NULL,
         expires_at INTEGER NOT NULL
     ) WITHOUT ROWID;",
    // Groups: accounts' memberships (a JSON array of group ids), and every group's
    // definition as one JSON value with its version.
    "ALTER TABLE accounts ADD COLUMN member_of TEXT;
     CREATE TABLE portal_groups (
         singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
         groups    TEXT NOT NULL,
         version   INTEGER NOT NULL
     );",
    // Groups' spend by month, for their caps.
    "CREATE TABLE group_spend (
         group_id TEXT NOT NULL,
         month    TEXT NOT NULL,
         cost     INTEGER NOT NULL,
         replies  INTEGER NOT NULL,
         PRIMARY KEY (group_id, month)
     ) WITHOUT ROWID;",
    // Retention and temporary chats: when a conversation and its messages expire.
    "ALTER TABLE conversations ADD COLUMN temporary INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE conversations ADD COLUMN expires_at INTEGER;
     ALTER TABLE messages ADD COLUMN expires_at INTEGER;",
    // Pinned and archived conversations (NULL: the recent list).
    "ALTER TABLE conversations ADD COLUMN shelf TEXT;",
    // Attachments' metadata, as JSON, with the message they came with.
    "ALTER TABLE messages ADD COLUMN attachments TEXT;",
    // Conversations' own parameters, as JSON.
    "ALTER TABLE conversations ADD COLUMN parameters TEXT;",
    // Personal API keys, found by their hash.
    "CREATE TABLE api_keys (
        key_hash TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        last_used_at INTEGER,
        models TEXT,
        UNIQUE (owner, id)
     );",
    // API keys whose calls are kept as conversations.
    "ALTER TABLE api_keys ADD COLUMN keeps_conversations INTEGER NOT NULL DEFAULT 0;",
    // Folders, and the folder a conversation is filed in.
    "CREATE TABLE folders (
        owner TEXT NOT NULL,
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        model TEXT,
        system TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (owner, id)
     ) WITHOUT ROWID;
     ALTER TABLE conversations ADD COLUMN folder TEXT;",
    // Branches: the message each follows where it is not the one before, and the branch a
    // conversation shows.
    "ALTER TABLE messages ADD COLUMN parent INTEGER;
     ALTER TABLE messages ADD COLUMN root INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE conversations ADD COLUMN leaf INTEGER;",
];

/// Brings the file up to date with `MIGRATIONS`, as one transaction that holds the write lock,
/// so that processes opening the same file at once apply each change exactly once.
pub(super) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
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
