//! The shares capability: read-only links to conversations.

use super::*;

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
