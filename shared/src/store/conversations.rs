//! The conversations capability: conversations, their messages, turns and replies.

use super::*;

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
    /// The last message of the branch the conversation now shows (the turn's reply).
    pub leaf: u32,
    /// New messages, or replacements for those with the same `seq`.
    pub messages: &'a [Message],
    pub now: u64,
    /// The caps the turn is checked against and the send rate it is counted in: refused
    /// (`SpendCapReached`, `GroupCapReached`, `RateLimited`) with nothing written.
    pub limits: crate::limits::SendLimits,
    /// When the conversation now expires (`Conversation::expiry_after_turn`); its new
    /// messages carry the same.
    pub expires_at: Option<u64>,
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
    /// The message `seq` with its attachments; `None` if `owner` has no such message.
    async fn message(
        &self,
        owner: &Username,
        id: &ConversationId,
        seq: u32,
    ) -> StoreResult<Option<Message>> {
        let messages = self
            .messages_before(owner, id, seq.saturating_add(1), 1)
            .await?;
        Ok(messages.into_iter().find(|m| m.seq == seq))
    }
    /// The owner's conversations on the recent list, most recent activity first, `limit` at
    /// a time.
    async fn list_conversations(
        &self,
        owner: &Username,
        after: Option<&ActivityCursor>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>> {
        self.list_shelf(owner, Shelf::Recent, after, limit).await
    }
    /// The owner's conversations on `shelf` (never temporary ones), most recent activity
    /// first, `limit` at a time.
    async fn list_shelf(
        &self,
        owner: &Username,
        shelf: Shelf,
        after: Option<&ActivityCursor>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>>;
    /// Moves the conversation to `shelf`; `NotFound` if there is none.
    async fn shelve(&self, owner: &Username, id: &ConversationId, shelf: Shelf) -> StoreResult<()>;
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
    /// Sets the conversation's parameters (the defaults clear them); `NotFound` if there is
    /// no such conversation.
    async fn set_parameters(
        &self,
        owner: &Username,
        id: &ConversationId,
        parameters: &crate::parameters::Parameters,
    ) -> StoreResult<()>;
    /// `NotFound` if there is no such conversation.
    async fn rename_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        title: &Title,
    ) -> StoreResult<()>;
    /// Replaces the title `from` by `to`, unless the conversation was renamed meanwhile: true
    /// if it was replaced, false if the title is no longer `from`; `NotFound` if it is gone.
    async fn retitle_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        from: &Title,
        to: &Title,
    ) -> StoreResult<bool>;
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
    async fn message(
        &self,
        owner: &Username,
        id: &ConversationId,
        seq: u32,
    ) -> StoreResult<Option<Message>> {
        delegate!(self, s => s.message(owner, id, seq))
    }
    async fn list_shelf(
        &self,
        owner: &Username,
        shelf: Shelf,
        after: Option<&ActivityCursor>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>> {
        delegate!(self, s => s.list_shelf(owner, shelf, after, limit))
    }
    async fn shelve(&self, owner: &Username, id: &ConversationId, shelf: Shelf) -> StoreResult<()> {
        delegate!(self, s => s.shelve(owner, id, shelf))
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
    async fn set_parameters(
        &self,
        owner: &Username,
        id: &ConversationId,
        parameters: &crate::parameters::Parameters,
    ) -> StoreResult<()> {
        delegate!(self, s => s.set_parameters(owner, id, parameters))
    }
    async fn rename_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        title: &Title,
    ) -> StoreResult<()> {
        delegate!(self, s => s.rename_conversation(owner, id, title))
    }
    async fn retitle_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        from: &Title,
        to: &Title,
    ) -> StoreResult<bool> {
        delegate!(self, s => s.retitle_conversation(owner, id, from, to))
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
