//! Storage behind traits split by capability, with two real backends: DynamoDB in AWS and an
//! embedded SQLite database for local runs (WAL mode, so every `cargo lambda watch` process
//! can use it at once). `contract` holds the one test suite both must pass.

pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod sqlite;

#[cfg(any(test, feature = "test-support"))]
pub mod contract;

use crate::accounts::{Account, AccountChange, AccountId, Email, Identity, ProviderGroups, Role};
use crate::conversations::{
    Conversation, ConversationId, Message, MessageState, Shelf, Speaker, Title,
};
use crate::limits::SendLimits;
use crate::password::PasswordDigest;
use crate::session::SessionId;
use crate::usage::{Charge, Cost, Month, Totals, UsageReport};
use crate::users::Username;

pub use dynamo::DynamoStore;

#[cfg(feature = "embedded")]
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
    /// A send refused because the month's spend has reached the cap.
    #[error("monthly spend cap reached")]
    SpendCapReached,
    /// A send refused because the group's spend this month has reached its cap.
    #[error("group {0:?}'s monthly spend cap reached")]
    GroupCapReached(crate::groups::GroupId),
    /// A send refused because the user sent too many in the current window.
    #[error("send rate limit reached")]
    RateLimited,
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

/// One page of a listing, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// The store a deployment uses, chosen by configuration.
pub enum Store {
    #[cfg(feature = "embedded")]
    Embedded(SqliteStore),
    Dynamo(DynamoStore),
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            #[cfg(feature = "embedded")]
            Store::Embedded($store) => $call.await,
            Store::Dynamo($store) => $call.await,
        }
    };
}

// After `delegate!`, which the capabilities' `impl ... for Store` use.
mod accounts;
mod api_keys;
mod audit;
mod conversations;
mod folders;
mod groups;
mod identities;
mod invites;
mod records;
mod sessions;
mod shares;
mod throttle;
mod transfer;
mod usage;

pub use accounts::*;
pub(crate) use api_keys::ApiKeyRecord;
pub use api_keys::{ApiCaller, ApiKeyStore};
pub use audit::*;
pub use conversations::*;
pub(crate) use folders::FolderRecord;
pub use folders::FolderStore;
pub use groups::*;
pub use identities::*;
pub use invites::*;
pub(crate) use records::*;
pub use sessions::*;
pub use shares::*;
pub use throttle::*;
pub use transfer::*;
pub use usage::*;
