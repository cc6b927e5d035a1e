//! Export and import: a whole account's transcripts, imported in one transaction.

use super::*;

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
