//! Share links: a conversation's read-only link, keyed by its token's hash.

use super::*;

/// The conversation's share token: `None` if there is no such conversation, `Some(None)` if
/// it is not shared.
pub(super) fn share_of(
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
