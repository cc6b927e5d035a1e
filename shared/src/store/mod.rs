//! Storage behind traits split by capability, with two real backends: DynamoDB in AWS and an
//! embedded SQLite database for local runs (WAL mode, so every `cargo lambda watch` process
//! can use it at once). `contract` holds the one test suite both must pass.

pub mod dynamo;
pub mod sqlite;

#[cfg(any(test, feature = "test-support"))]
pub mod contract;

use crate::accounts::{Account, AccountChange, AccountId, Email, Role};
use crate::conversations::{Conversation, ConversationId, Message, MessageState, Speaker, Title};
use crate::password::PasswordDigest;
use crate::session::SessionId;
use crate::usage::{Charge, Cost, Month, SendRate, SpendLimit, Totals, UsageReport};
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
    /// A send refused because the month's spend has reached the cap.
    #[error("monthly spend cap reached")]
    SpendCapReached,
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

/// An account as both backends keep it: plain fields, checked when read back.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct AccountRecord {
    /// Absent on accounts stored before accounts had ids (see `AccountId::legacy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub password: String,
    pub role: String,
    pub disabled: bool,
    pub session_epoch: u32,
    pub created_at: u64,
    /// In nano-dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend_cap: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleting: bool,
}

impl AccountRecord {
    pub fn from_account(a: &Account) -> Self {
        Self {
            id: Some(a.id.as_str().to_string()),
            username: a.username.as_str().to_string(),
            email: a.email.as_ref().map(|e| e.as_str().to_string()),
            password: a.password.as_str().to_string(),
            role: a.role.as_str().to_string(),
            disabled: a.disabled,
            session_epoch: a.session_epoch,
            created_at: a.created_at,
            spend_cap: a.spend_cap.map(Cost::nanos),
            deleting: a.deleting,
        }
    }

    pub fn into_account(self) -> StoreResult<Account> {
        let corrupt = |what: &str, why: &str| StoreError::Corrupt(format!("{what}: {why}"));
        let id = match &self.id {
            Some(id) => AccountId::parse(id).ok_or_else(|| corrupt("id", id))?,
            None => AccountId::legacy(self.created_at),
        };
        Ok(Account {
            id,
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
            spend_cap: self.spend_cap.map(Cost::from_nanos),
            deleting: self.deleting,
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

/// A conversation's metadata as both backends keep it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct ConversationRecord {
    pub id: String,
    pub title: String,
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub created_at: u64,
    pub updated_at: u64,
    pub next_seq: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<String>,
}

impl ConversationRecord {
    pub fn from_conversation(c: &Conversation) -> Self {
        Self {
            id: c.id.as_str().to_string(),
            title: c.title.clone(),
            model: c.model.clone(),
            system: c.system.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            next_seq: c.next_seq,
            share: c.share.clone(),
        }
    }

    pub fn into_conversation(self) -> StoreResult<Conversation> {
        Ok(Conversation {
            id: ConversationId::parse(&self.id)
                .ok_or_else(|| StoreError::Corrupt(format!("conversation id {}", self.id)))?,
            title: self.title,
            model: self.model,
            system: self.system,
            created_at: self.created_at,
            updated_at: self.updated_at,
            next_seq: self.next_seq,
            share: self.share,
        })
    }
}

/// One message as both backends keep it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct MessageRecord {
    pub seq: u32,
    pub speaker: String,
    pub text: String,
    pub state: String,
    pub turn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u32>,
    /// In nano-dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tokens_estimated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub updated_at: u64,
}

impl MessageRecord {
    pub fn from_message(m: &Message) -> Self {
        Self {
            seq: m.seq,
            speaker: m.speaker.as_str().to_string(),
            text: m.text.clone(),
            state: m.state.as_str().to_string(),
            turn: m.turn.clone(),
            model: m.model.clone(),
            input_tokens: m.input_tokens,
            output_tokens: m.output_tokens,
            cost: m.cost.map(Cost::nanos),
            tokens_estimated: m.tokens_estimated,
            error: m.error.clone(),
            updated_at: m.updated_at,
        }
    }

    pub fn into_message(self) -> StoreResult<Message> {
        let corrupt = |what: &str, value: &str| StoreError::Corrupt(format!("{what}: {value}"));
        Ok(Message {
            seq: self.seq,
            speaker: Speaker::parse(&self.speaker)
                .ok_or_else(|| corrupt("speaker", &self.speaker))?,
            state: MessageState::parse(&self.state).ok_or_else(|| corrupt("state", &self.state))?,
            text: self.text,
            turn: self.turn,
            model: self.model,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cost: self.cost.map(Cost::from_nanos),
            tokens_estimated: self.tokens_estimated,
            error: self.error,
            updated_at: self.updated_at,
        })
    }
}

/// Where a listing by recent activity resumes: after this conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityCursor {
    pub updated_at: u64,
    pub id: String,
}

impl ActivityCursor {
    pub fn of(c: &Conversation) -> String {
        format!("{}.{}", c.updated_at, c.id.as_str())
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let (updated_at, id) = raw.split_once('.')?;
        let id = ConversationId::parse(id)?;
        Some(Self {
            updated_at: updated_at.parse().ok()?,
            id: id.as_str().to_string(),
        })
    }
}

/// What one send, regenerate or edit writes, all at once.
#[derive(Debug, Clone)]
pub struct TurnWrite<'a> {
    /// The conversation's `next_seq` as the caller read it: the write happens only if no other
    /// send has moved it since.
    pub expected_next_seq: u32,
    pub next_seq: u32,
    /// The model the conversation continues with.
    pub model: &'a str,
    /// New messages, or replacements for those with the same `seq`.
    pub messages: &'a [Message],
    pub now: u64,
    /// Refuse the turn (`SpendCapReached`) if the owner's spend this month has reached the cap.
    pub spend_limit: Option<SpendLimit>,
    /// Count the send against the owner's rate, refusing it (`RateLimited`) past the limit.
    pub rate: Option<SendRate>,
}

/// Whether `text` contains `query`, ignoring case: how search matches in both backends.
pub(crate) fn matches_search(text: &str, query_lowercase: &str) -> bool {
    text.to_lowercase().contains(query_lowercase)
}

impl Page<Conversation> {
    /// As `of_accounts`, for a listing by recent activity.
    pub(crate) fn of_conversations(mut items: Vec<Conversation>, limit: usize) -> Self {
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(ActivityCursor::of)
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
    /// A user's sends (the send rate limit).
    Sends(String),
}

impl ThrottleKey {
    pub fn storage_key(&self) -> String {
        match self {
            ThrottleKey::Account(name) => format!("account#{name}"),
            ThrottleKey::Address(addr) => format!("address#{addr}"),
            ThrottleKey::Sends(name) => format!("sends#{name}"),
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
    /// Marks the account as being deleted (a tombstone): from then on sessions and sign-ins
    /// refuse it, writes under it (conversations, turns, replies' usage, shares, imports) are
    /// refused with `NotFound`, and its name stays taken. Nothing if there is no account.
    async fn begin_account_deletion(&self, username: &Username) -> StoreResult<()>;
    /// Removes the account and everything it owns, share links included: begins the deletion
    /// if it was not begun, and finishes one that was interrupted (call it again after a
    /// failure). The name is free only once everything is gone.
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
    /// Counts one more attempt for `key` in the window starting at `window_start`, unless
    /// `limit` are counted there already: `true` if it was counted, `false` if refused. The
    /// check and the count are one atomic step, so parallel attempts (from any number of
    /// function instances) never get more than `limit` between them. The counter may be
    /// forgotten after `expires_at`.
    async fn reserve_attempt(
        &self,
        key: &ThrottleKey,
        window_start: u64,
        expires_at: u64,
        limit: u32,
    ) -> StoreResult<bool>;
    /// Gives back one counted attempt (it succeeded, and only failures count), never going
    /// below zero.
    async fn release_attempt(&self, key: &ThrottleKey, window_start: u64) -> StoreResult<()>;
}

#[allow(async_fn_in_trait)]
pub trait ConversationStore {
    /// Creates the conversation, owned by `owner`; `Conflict` if its id is taken.
    async fn create_conversation(&self, owner: &Username, c: &Conversation) -> StoreResult<()>;
    /// The conversation with its latest `limit` messages, oldest first; `None` if `owner` has
    /// no conversation with that id (whoever else may).
    async fn conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        limit: usize,
    ) -> StoreResult<Option<(Conversation, Vec<Message>)>>;
    /// Up to `limit` messages before sequence number `before`, oldest first.
    async fn messages_before(
        &self,
        owner: &Username,
        id: &ConversationId,
        before: u32,
        limit: usize,
    ) -> StoreResult<Vec<Message>>;
    /// The owner's conversations, most recent activity first, `limit` at a time.
    async fn list_conversations(
        &self,
        owner: &Username,
        after: Option<&ActivityCursor>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>>;
    /// The owner's conversations whose title or any message contains `query` (ignoring
    /// case), in id order, resuming after the id in `after`. A page may hold fewer than
    /// `limit` even when `next` is set: the search reads a bounded amount per request.
    async fn search_conversations(
        &self,
        owner: &Username,
        query: &str,
        after: Option<&ConversationId>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>>;
    /// `NotFound` if there is no such conversation.
    async fn rename_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        title: &Title,
    ) -> StoreResult<()>;
    /// Removes the conversation and all its messages; `NotFound` if there is none.
    async fn delete_conversation(&self, owner: &Username, id: &ConversationId) -> StoreResult<()>;
    /// Writes a turn's messages and moves the conversation on, atomically: `Conflict` if
    /// another send moved it first (re-read and try again), `NotFound` if it is gone.
    async fn write_turn(
        &self,
        owner: &Username,
        id: &ConversationId,
        turn: &TurnWrite<'_>,
    ) -> StoreResult<()>;
    /// Saves a reply's progress, only while the stored message still belongs to the same
    /// turn: `Conflict` once a newer send replaced it or the conversation was deleted. With a
    /// `charge` (the finished reply's usage), the month's totals grow by it in the same
    /// atomic write; on `Conflict` nothing is written.
    async fn save_reply(
        &self,
        owner: &Username,
        id: &ConversationId,
        reply: &Message,
        charge: Option<&Charge>,
    ) -> StoreResult<()>;
}

/// A conversation with all its messages, oldest first: what an export holds.
pub type Transcript = (Conversation, Vec<Message>);

#[allow(async_fn_in_trait)]
pub trait TransferStore {
    /// Every conversation of the owner with all its messages, in id order.
    async fn export_conversations(&self, owner: &Username) -> StoreResult<Vec<Transcript>>;
    /// Adds the transcripts whose conversation ids the owner does not have yet, all of them or
    /// (on any failure) none, and returns how many were added; those already there are left
    /// as they are, so importing the same export twice adds nothing the second time.
    async fn import_conversations(
        &self,
        owner: &Username,
        transcripts: &[Transcript],
    ) -> StoreResult<usize>;
}

/// Where a share link leads: whose conversation, and which.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedConversation {
    pub owner: Username,
    pub id: ConversationId,
}

impl SharedConversation {
    /// A share's stored owner and conversation id, checked.
    pub(crate) fn parse(owner: &str, id: &str) -> StoreResult<Self> {
        Ok(Self {
            owner: Username::parse(owner)
                .map_err(|e| StoreError::Corrupt(format!("share owner: {e}")))?,
            id: ConversationId::parse(id)
                .ok_or_else(|| StoreError::Corrupt(format!("share conversation {id}")))?,
        })
    }
}

#[allow(async_fn_in_trait)]
pub trait ShareStore {
    /// Shares the conversation under `token` (its link): `NotFound` if there is no such
    /// conversation, `Conflict` if it is shared already (under another token).
    async fn share_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        token: &str,
    ) -> StoreResult<()>;
    /// Ends the conversation's share: its link leads nowhere from then on. `NotFound` if it
    /// was not shared.
    async fn unshare_conversation(&self, owner: &Username, id: &ConversationId) -> StoreResult<()>;
    /// Where the link with this token leads, if it is live.
    async fn shared(&self, token: &str) -> StoreResult<Option<SharedConversation>>;
}

#[allow(async_fn_in_trait)]
pub trait UsageStore {
    /// Adds a reply's usage to the owner's totals for its month (overall, its model's and its
    /// conversation's), atomically.
    async fn record_usage(&self, owner: &Username, charge: &Charge) -> StoreResult<()>;
    /// The owner's usage in `month`.
    async fn usage(&self, owner: &Username, month: Month) -> StoreResult<UsageReport>;
    /// Every account's totals in `month` whose username lies between `first` and `last`
    /// (inclusive), in username order; accounts that used nothing are left out.
    async fn spend_between(
        &self,
        month: Month,
        first: &str,
        last: &str,
    ) -> StoreResult<Vec<(String, Totals)>>;
    /// The cap for accounts without their own.
    async fn default_spend_cap(&self) -> StoreResult<Option<Cost>>;
    async fn set_default_spend_cap(&self, cap: Option<Cost>) -> StoreResult<()>;
}

/// What a signed-in request reads before anything else, in one request to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub account: Option<Account>,
    /// Whether the session was ended (signed out) on the server.
    pub revoked: bool,
    /// The portal's default spend cap, when it was asked for.
    pub default_spend_cap: Option<Option<Cost>>,
}

#[allow(async_fn_in_trait)]
pub trait SessionStore {
    /// Ends one session of `owner`'s: it no longer counts, though its cookie lives on until
    /// `expires_at` (after which the record may be forgotten).
    async fn revoke_session(
        &self,
        owner: &Username,
        session: &SessionId,
        expires_at: u64,
    ) -> StoreResult<()>;
    /// The account, whether `session` was revoked, and (with `default_spend_cap`) the
    /// portal's default cap: every signed-in request's check, in one read.
    async fn signed_in(
        &self,
        owner: &Username,
        session: &SessionId,
        default_spend_cap: bool,
    ) -> StoreResult<SignedIn>;
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
    async fn begin_account_deletion(&self, username: &Username) -> StoreResult<()> {
        delegate!(self, s => s.begin_account_deletion(username))
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
    async fn reserve_attempt(
        &self,
        key: &ThrottleKey,
        window_start: u64,
        expires_at: u64,
        limit: u32,
    ) -> StoreResult<bool> {
        delegate!(self, s => s.reserve_attempt(key, window_start, expires_at, limit))
    }
    async fn release_attempt(&self, key: &ThrottleKey, window_start: u64) -> StoreResult<()> {
        delegate!(self, s => s.release_attempt(key, window_start))
    }
}

impl ConversationStore for Store {
    async fn create_conversation(&self, owner: &Username, c: &Conversation) -> StoreResult<()> {
        delegate!(self, s => s.create_conversation(owner, c))
    }
    async fn conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        limit: usize,
    ) -> StoreResult<Option<(Conversation, Vec<Message>)>> {
        delegate!(self, s => s.conversation(owner, id, limit))
    }
    async fn messages_before(
        &self,
        owner: &Username,
        id: &ConversationId,
        before: u32,
        limit: usize,
    ) -> StoreResult<Vec<Message>> {
        delegate!(self, s => s.messages_before(owner, id, before, limit))
    }
    async fn list_conversations(
        &self,
        owner: &Username,
        after: Option<&ActivityCursor>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>> {
        delegate!(self, s => s.list_conversations(owner, after, limit))
    }
    async fn search_conversations(
        &self,
        owner: &Username,
        query: &str,
        after: Option<&ConversationId>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>> {
        delegate!(self, s => s.search_conversations(owner, query, after, limit))
    }
    async fn rename_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        title: &Title,
    ) -> StoreResult<()> {
        delegate!(self, s => s.rename_conversation(owner, id, title))
    }
    async fn delete_conversation(&self, owner: &Username, id: &ConversationId) -> StoreResult<()> {
        delegate!(self, s => s.delete_conversation(owner, id))
    }
    async fn write_turn(
        &self,
        owner: &Username,
        id: &ConversationId,
        turn: &TurnWrite<'_>,
    ) -> StoreResult<()> {
        delegate!(self, s => s.write_turn(owner, id, turn))
    }
    async fn save_reply(
        &self,
        owner: &Username,
        id: &ConversationId,
        reply: &Message,
        charge: Option<&Charge>,
    ) -> StoreResult<()> {
        delegate!(self, s => s.save_reply(owner, id, reply, charge))
    }
}

impl TransferStore for Store {
    async fn export_conversations(&self, owner: &Username) -> StoreResult<Vec<Transcript>> {
        delegate!(self, s => s.export_conversations(owner))
    }
    async fn import_conversations(
        &self,
        owner: &Username,
        transcripts: &[Transcript],
    ) -> StoreResult<usize> {
        delegate!(self, s => s.import_conversations(owner, transcripts))
    }
}

impl ShareStore for Store {
    async fn share_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        token: &str,
    ) -> StoreResult<()> {
        delegate!(self, s => s.share_conversation(owner, id, token))
    }
    async fn unshare_conversation(&self, owner: &Username, id: &ConversationId) -> StoreResult<()> {
        delegate!(self, s => s.unshare_conversation(owner, id))
    }
    async fn shared(&self, token: &str) -> StoreResult<Option<SharedConversation>> {
        delegate!(self, s => s.shared(token))
    }
}

impl UsageStore for Store {
    async fn record_usage(&self, owner: &Username, charge: &Charge) -> StoreResult<()> {
        delegate!(self, s => s.record_usage(owner, charge))
    }
    async fn usage(&self, owner: &Username, month: Month) -> StoreResult<UsageReport> {
        delegate!(self, s => s.usage(owner, month))
    }
    async fn spend_between(
        &self,
        month: Month,
        first: &str,
        last: &str,
    ) -> StoreResult<Vec<(String, Totals)>> {
        delegate!(self, s => s.spend_between(month, first, last))
    }
    async fn default_spend_cap(&self) -> StoreResult<Option<Cost>> {
        delegate!(self, s => s.default_spend_cap())
    }
    async fn set_default_spend_cap(&self, cap: Option<Cost>) -> StoreResult<()> {
        delegate!(self, s => s.set_default_spend_cap(cap))
    }
}

impl SessionStore for Store {
    async fn revoke_session(
        &self,
        owner: &Username,
        session: &SessionId,
        expires_at: u64,
    ) -> StoreResult<()> {
        delegate!(self, s => s.revoke_session(owner, session, expires_at))
    }
    async fn signed_in(
        &self,
        owner: &Username,
        session: &SessionId,
        default_spend_cap: bool,
    ) -> StoreResult<SignedIn> {
        delegate!(self, s => s.signed_in(owner, session, default_spend_cap))
    }
}
