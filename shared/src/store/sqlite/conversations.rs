//! Conversations and messages: reads, listing, search, turns and replies.

use super::*;

pub(super) fn like_pattern(query: &str) -> String {
    let escaped = query
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Deletes the owner's conversations and messages whose time has come: SQLite has no TTL, so
/// this store clears them as it reads the list (reads also leave out what expired meanwhile).
pub(super) fn clear_expired(conn: &Connection, owner: &Username, now: u64) -> StoreResult<()> {
    conn.execute(
        "DELETE FROM messages WHERE owner = ?1 AND (expires_at <= ?2 OR conversation IN \
         (SELECT id FROM conversations WHERE owner = ?1 AND expires_at <= ?2))",
        params![owner.as_str(), now as i64],
    )
    .map_err(backend)?;
    conn.execute(
        "DELETE FROM conversations WHERE owner = ?1 AND expires_at <= ?2",
        params![owner.as_str(), now as i64],
    )
    .map_err(backend)?;
    Ok(())
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
                    "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE owner = ?1 AND id = ?2 \
                     AND (expires_at IS NULL OR expires_at > ?3)"
                ),
                params![owner.as_str(), id.as_str(), crate::session::now() as i64],
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
                     AND (expires_at IS NULL OR expires_at > ?5) \
                     ORDER BY seq DESC LIMIT ?4"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![
                        owner.as_str(),
                        id.as_str(),
                        before,
                        limit as i64,
                        crate::session::now() as i64
                    ],
                    message_from_row,
                )
                .map_err(backend)?;
            let mut messages = collect(rows, MessageRecord::into_message)?;
            messages.reverse();
            Ok(messages)
        })
    }

    async fn list_shelf(
        &self,
        owner: &Username,
        shelf: Shelf,
        after: Option<&ActivityCursor>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>> {
        let shelf = (shelf != Shelf::Recent).then_some(shelf.as_str());
        let (updated, id) = after.map_or((i64::MAX, ""), |c| (c.updated_at as i64, c.id.as_str()));
        self.with(|conn| {
            clear_expired(conn, owner, crate::session::now())?;
            // Temporary chats are never listed.
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {CONVERSATION_COLUMNS} FROM conversations \
                     WHERE owner = ?1 AND temporary = 0 AND shelf IS ?5 AND folder IS NULL \
                     AND (updated_at < ?2 OR (updated_at = ?2 AND id < ?3)) \
                     ORDER BY updated_at DESC, id DESC LIMIT ?4"
                ))
                .map_err(backend)?;
            let id = if after.is_some() { id } else { "~" };
            let rows = stmt
                .query_map(
                    params![owner.as_str(), updated, id, (limit + 1) as i64, shelf],
                    conversation_from_row,
                )
                .map_err(backend)?;
            let items = collect(rows, ConversationRecord::into_conversation)?;
            Ok(Page::of_conversations(items, limit))
        })
    }

    async fn shelve(&self, owner: &Username, id: &ConversationId, shelf: Shelf) -> StoreResult<()> {
        let shelf = (shelf != Shelf::Recent).then_some(shelf.as_str());
        self.with(|conn| {
            let changed = conn
                .execute(
                    // On a shelf, it is in no folder (see `FolderStore`).
                    "UPDATE conversations SET shelf = ?3, folder = NULL \
                     WHERE owner = ?1 AND id = ?2 AND temporary = 0",
                    params![owner.as_str(), id.as_str(), shelf],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
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
                     WHERE c.owner = ?1 AND c.id > ?2 AND c.temporary = 0 \
                     AND (c.expires_at IS NULL OR c.expires_at > ?5) \
                     AND (c.title LIKE ?3 ESCAPE '\\' \
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
                        (limit + 1) as i64,
                        crate::session::now() as i64
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

    async fn set_parameters(
        &self,
        owner: &Username,
        id: &ConversationId,
        parameters: &crate::parameters::Parameters,
    ) -> StoreResult<()> {
        let json = parameters_json(parameters)?;
        self.with(|conn| {
            let changed = conn
                .execute(
                    "UPDATE conversations SET parameters = ?3 WHERE owner = ?1 AND id = ?2",
                    params![owner.as_str(), id.as_str(), json],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
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

    async fn retitle_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        from: &Title,
        to: &Title,
    ) -> StoreResult<bool> {
        self.with(|conn| {
            let changed = conn
                .execute(
                    "UPDATE conversations SET title = ?4 WHERE owner = ?1 AND id = ?2 AND title = ?3",
                    params![owner.as_str(), id.as_str(), from.as_str(), to.as_str()],
                )
                .map_err(backend)?;
            if changed == 1 {
                return Ok(true);
            }
            let exists: bool = conn
                .query_row(
                    "SELECT EXISTS(SELECT 1 FROM conversations WHERE owner = ?1 AND id = ?2)",
                    params![owner.as_str(), id.as_str()],
                    |row| row.get(0),
                )
                .map_err(backend)?;
            if exists { Ok(false) } else { Err(StoreError::NotFound) }
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
            super::usage::check_limits(&tx, owner, &turn.limits)?;
            tx.execute(
                "UPDATE conversations SET next_seq = ?3, updated_at = ?4, model = ?5, \
                 expires_at = ?6, leaf = ?7 WHERE owner = ?1 AND id = ?2",
                params![
                    owner.as_str(),
                    id.as_str(),
                    turn.next_seq,
                    turn.now as i64,
                    turn.model,
                    turn.expires_at.map(|t| t as i64),
                    turn.leaf
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
