//! Storage behind traits split by capability, with two real backends: DynamoDB in AWS and an
//! embedded SQLite database for local runs (WAL mode, so every `cargo lambda watch` process
//! can use it at once). `contract` holds the one test suite both must pass.

pub mod dynamo;
pub mod sqlite;

#[cfg(any(test, feature = "test-support"))]
pub mod contract;

use crate::accounts::{Account, AccountChange, Email, Role};
use crate::password::PasswordDigest;
use crate::users::Username;

pub use dynamo::DynamoStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key (a username) is already taken.
    #[error("already exists")]
    Conflict,
    #[error("not found")]
    NotFound,
    /// An invite that does not exist, has expired or was used.
    #[error("invite not usable")]
    InviteUnusable,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("storage backend failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn backend(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Backend(err.into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An account as both backends keep it: plain fields, checked when read back.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct AccountRecord {
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub password: String,
    pub role: String,
    pub disabled: bool,
    pub session_epoch: u32,
    pub created_at: u64,
}

impl AccountRecord {
    pub fn from_account(a: &Account) -> Self {
        Self {
            username: a.username.as_str().to_string(),
            email: a.email.as_ref().map(|e| e.as_str().to_string()),
            password: a.password.as_str().to_string(),
            role: a.role.as_str().to_string(),
            disabled: a.disabled,
            session_epoch: a.session_epoch,
            created_at: a.created_at,
        }
    }

    pub fn into_account(self) -> StoreResult<Account> {
        let corrupt = |what: &str, why: &str| StoreError::Corrupt(format!("{what}: {why}"));
        Ok(Account {
            username: Username::parse(&self.username).map_err(|e| corrupt("username", e))?,
            email: self
                .email
                .map(|e| Email::parse(&e))
                .transpose()
                .map_err(|e| corrupt("email", e))?,
            password: PasswordDigest::parse(&self.password).map_err(|e| corrupt("password", &e))?,
            role: match self.role.as_str() {
                "admin" => Role::Admin,
                "user" => Role::User,
                other => return Err(corrupt("role", other)),
            },
            disabled: self.disabled,
            session_epoch: self.session_epoch,
            created_at: self.created_at,
        })
    }
}

/// One page of a listing, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl Page<Account> {
    /// A page from a query that asked for one item more than `limit`: the extra one only
    /// tells that there is a next page, which starts after the last item kept.
    pub(crate) fn of_accounts(mut items: Vec<Account>, limit: usize) -> Self {
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|a| a.username.as_str().to_string())
        } else {
            None
        };
        Self { items, next }
    }
}

/// A single-use invitation to sign up. Only a hash of its token is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invite {
    pub token_hash: String,
    pub created_by: Username,
    pub created_at: u64,
    pub expires_at: u64,
}

/// What a throttle counts failures against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThrottleKey {
    Account(String),
    Address(String),
}

impl ThrottleKey {
    pub fn storage_key(&self) -> String {
        match self {
            ThrottleKey::Account(name) => format!("account#{name}"),
            ThrottleKey::Address(addr) => format!("address#{addr}"),
        }
    }
}

// These traits are used only inside this workspace, on Lambda's one-request-at-a-time
// runtime, so the futures' `Send`-ness need not be part of their contract.
#[allow(async_fn_in_trait)]
pub trait AccountStore {
    /// Creates the account unless its username is taken (`Conflict`), atomically.
    async fn create_account(&self, account: &Account) -> StoreResult<()>;
    /// Creates the account and uses up the invite in one step: both happen or neither.
    async fn create_account_with_invite(
        &self,
        account: &Account,
        invite_hash: &str,
        now: u64,
    ) -> StoreResult<()>;
    async fn account(&self, username: &Username) -> StoreResult<Option<Account>>;
    /// Accounts in username order, `limit` at a time, starting after `after`.
    async fn list_accounts(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Account>>;
    /// Applies `change` and returns the account as it now is; `NotFound` if there is none.
    async fn change_account(
        &self,
        username: &Username,
        change: &AccountChange,
    ) -> StoreResult<Account>;
    /// Removes the account and everything it owns.
    async fn delete_account(&self, username: &Username) -> StoreResult<()>;
}

#[allow(async_fn_in_trait)]
pub trait InviteStore {
    async fn create_invite(&self, invite: &Invite) -> StoreResult<()>;
    /// The invite if it exists and has not expired at `now`.
    async fn invite(&self, token_hash: &str, now: u64) -> StoreResult<Option<Invite>>;
}

#[allow(async_fn_in_trait)]
pub trait ThrottleStore {
    /// Failures counted for `key` in the window starting at `window_start`.
    async fn failures(&self, key: &ThrottleKey, window_start: u64) -> StoreResult<u32>;
    /// Counts one more failure, atomically, and returns the new count. The counter may be
    /// forgotten after `expires_at`.
    async fn record_failure(
        &self,
        key: &ThrottleKey,
        window_start: u64,
        expires_at: u64,
    ) -> StoreResult<u32>;
}

/// The store a deployment uses, chosen by configuration.
pub enum Store {
    Embedded(SqliteStore),
    Dynamo(DynamoStore),
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Embedded($store) => $call.await,
            Store::Dynamo($store) => $call.await,
        }
    };
}

impl AccountStore for Store {
    async fn create_account(&self, account: &Account) -> StoreResult<()> {
        delegate!(self, s => s.create_account(account))
    }
    async fn create_account_with_invite(
        &self,
        account: &Account,
        invite_hash: &str,
        now: u64,
    ) -> StoreResult<()> {
        delegate!(self, s => s.create_account_with_invite(account, invite_hash, now))
    }
    async fn account(&self, username: &Username) -> StoreResult<Option<Account>> {
        delegate!(self, s => s.account(username))
    }
    async fn list_accounts(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Account>> {
        delegate!(self, s => s.list_accounts(after, limit))
    }
    async fn change_account(
        &self,
        username: &Username,
        change: &AccountChange,
    ) -> StoreResult<Account> {
        delegate!(self, s => s.change_account(username, change))
    }
    async fn delete_account(&self, username: &Username) -> StoreResult<()> {
        delegate!(self, s => s.delete_account(username))
    }
}

impl InviteStore for Store {
    async fn create_invite(&self, invite: &Invite) -> StoreResult<()> {
        delegate!(self, s => s.create_invite(invite))
    }
    async fn invite(&self, token_hash: &str, now: u64) -> StoreResult<Option<Invite>> {
        delegate!(self, s => s.invite(token_hash, now))
    }
}

impl ThrottleStore for Store {
    async fn failures(&self, key: &ThrottleKey, window_start: u64) -> StoreResult<u32> {
        delegate!(self, s => s.failures(key, window_start))
    }
    async fn record_failure(
        &self,
        key: &ThrottleKey,
        window_start: u64,
        expires_at: u64,
    ) -> StoreResult<u32> {
        delegate!(self, s => s.record_failure(key, window_start, expires_at))
    }
}
