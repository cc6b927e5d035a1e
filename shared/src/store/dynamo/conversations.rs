//! Conversations and messages: reads, listing, search, turns and replies.

use super::*;

/// Requests one search may make before it returns what it found and where to go on.
pub(super) const SEARCH_READ_BUDGET: usize = 8;

impl DynamoStore {
    /// The conversations listed in one index partition (a shelf or a folder), most recent
    /// activity first.
    pub(super) async fn list_listing(
        &self,
        pk: &str,
        after: Option<&ActivityCursor>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(table::ACCOUNTS_INDEX)
            .expression_attribute_values(":pk", s(pk))
            .scan_index_forward(false)
            .limit((limit + 1) as i32);
        let query = match after {
            Some(after) => query
                .key_condition_expression("GSI1PK = :pk AND GSI1SK < :after")
                .expression_attribute_values(":after", s(activity_sk(after.updated_at, &after.id))),
            None => query.key_condition_expression("GSI1PK = :pk"),
        };
        let output = query.send().await.map_err(backend)?;
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(conversation_from_item)
            .collect::<StoreResult<Vec<_>>>()?;
        // Paged first, so the next page starts where this one's read stopped.
        let mut page = Page::of_conversations(items, limit);
        let now = crate::session::now();
        page.items.retain(|c| !c.is_expired(now));
        Ok(page)
    }
}

impl ConversationStore for DynamoStore {
    async fn create_conversation(&self, owner: &Username, c: &Conversation) -> StoreResult<()> {
        self.put_new_while_live(owner, vec![conversation_item(owner, c)?])
            .await
    }

    async fn conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        limit: usize,
    ) -> StoreResult<Option<(Conversation, Vec<Message>)>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(user_pk(owner.as_str())))
            .expression_attribute_values(":prefix", s(conversation_prefix(id)))
            .scan_index_forward(false)
            .limit((limit + 1) as i32)
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let mut items = output.items.unwrap_or_default().into_iter();
        let Some(first) = items.next().filter(is_conversation_item) else {
            return Ok(None);
        };
        let conversation = conversation_from_item(first)?;
        // DynamoDB deletes expired items some time after: until then, they are not there.
        let now = crate::session::now();
        if conversation.is_expired(now) {
            return Ok(None);
        }
        let mut messages = messages_from_items(items)?;
        messages.retain(|m| !m.is_expired(now));
        Ok(Some((conversation, messages)))
    }

    async fn messages_before(
        &self,
        owner: &Username,
        id: &ConversationId,
        before: u32,
        limit: usize,
    ) -> StoreResult<Vec<Message>> {
        if before == 0 || limit == 0 {
            return Ok(Vec::new());
        }
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :first AND :last")
            .expression_attribute_values(":pk", s(user_pk(owner.as_str())))
            .expression_attribute_values(":first", s(message_sk(id, 0)))
            .expression_attribute_values(":last", s(message_end_sk(id, before - 1)))
            .scan_index_forward(false)
            .limit(limit as i32)
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let now = crate::session::now();
        let mut messages = messages_from_items(output.items.unwrap_or_default())?;
        messages.retain(|m| !m.is_expired(now));
        Ok(messages)
    }

    /// The message's own items (it and its attachments): one query between its keys.
    async fn message(
        &self,
        owner: &Username,
        id: &ConversationId,
        seq: u32,
    ) -> StoreResult<Option<Message>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :first AND :last")
            .expression_attribute_values(":pk", s(user_pk(owner.as_str())))
            .expression_attribute_values(":first", s(message_sk(id, seq)))
            .expression_attribute_values(":last", s(message_end_sk(id, seq)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let now = crate::session::now();
        let messages = messages_from_items(output.items.unwrap_or_default())?;
        Ok(messages
            .into_iter()
            .find(|m| m.seq == seq && !m.is_expired(now)))
    }

    async fn list_shelf(
        &self,
        owner: &Username,
        shelf: Shelf,
        after: Option<&ActivityCursor>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>> {
        self.list_listing(&shelf_pk(owner, shelf), after, limit)
            .await
    }

    async fn shelve(&self, owner: &Username, id: &ConversationId, shelf: Shelf) -> StoreResult<()> {
        // The index partition moves with it; a temporary chat has none and stays so.
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(owner.as_str()), conversation_sk(id))))
            .condition_expression("attribute_exists(PK) AND attribute_exists(GSI1PK)")
            .expression_attribute_values(":pk", s(shelf_pk(owner, shelf)));
        let update = match shelf {
            // On a shelf, it is in no folder (see `FolderStore`).
            Shelf::Recent => update.update_expression("SET GSI1PK = :pk REMOVE shelf, folder"),
            other => update
                .update_expression("SET GSI1PK = :pk, shelf = :shelf REMOVE folder")
                .expression_attribute_values(":shelf", s(other.as_str())),
        };
        match update.send().await {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Err(StoreError::NotFound),
            Err(err) => Err(backend(err)),
        }
    }

    async fn search_conversations(
        &self,
        owner: &Username,
        query: &str,
        after: Option<&ConversationId>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>> {
        // DynamoDB has no text search: read the owner's conversations in key order (each one's
        // messages, then its metadata) and match here, a bounded number of reads per request.
        let needle = query.to_lowercase();
        let pk = user_pk(owner.as_str());
        let mut start = after.map(|id| key(pk.clone(), conversation_sk(id)));
        let mut found = Vec::new();
        let mut matched = false;
        let mut last_boundary = after.map(|id| id.as_str().to_string());
        for _ in 0..SEARCH_READ_BUDGET {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :conv)")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":conv", s("CONV#"))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            let items = output.items.unwrap_or_default();
            let total = items.len();
            for (i, item) in items.into_iter().enumerate() {
                if is_conversation_item(&item) {
                    let conversation = conversation_from_item(item)?;
                    let listed =
                        !conversation.temporary && !conversation.is_expired(crate::session::now());
                    if listed && (matched || matches_search(&conversation.title, &needle)) {
                        found.push(conversation.clone());
                    }
                    matched = false;
                    last_boundary = Some(conversation.id.as_str().to_string());
                    let more = i + 1 < total || output.last_evaluated_key.is_some();
                    if found.len() >= limit && more {
                        return Ok(Page {
                            items: found,
                            next: last_boundary,
                        });
                    }
                } else if !matched {
                    let text = item.get("text").and_then(|v| v.as_s().ok());
                    matched = text.is_some_and(|t| matches_search(t, &needle));
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(Page {
                    items: found,
                    next: None,
                });
            }
        }
        // Out of budget: the next request resumes after the last whole conversation read.
        Ok(Page {
            items: found,
            next: last_boundary,
        })
    }

    async fn set_parameters(
        &self,
        owner: &Username,
        id: &ConversationId,
        parameters: &crate::parameters::Parameters,
    ) -> StoreResult<()> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(owner.as_str()), conversation_sk(id))))
            .condition_expression("attribute_exists(PK)")
            // A reserved word in DynamoDB's expressions.
            .expression_attribute_names("#parameters", "parameters");
        let update = if parameters.is_default() {
            update.update_expression("REMOVE #parameters")
        } else {
            let value =
                serde_dynamo::to_attribute_value(parameters).map_err(StoreError::backend)?;
            update
                .update_expression("SET #parameters = :parameters")
                .expression_attribute_values(":parameters", value)
        };
        match update.send().await {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Err(StoreError::NotFound),
            Err(err) => Err(backend(err)),
        }
    }

    async fn rename_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        title: &Title,
    ) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(owner.as_str()), conversation_sk(id))))
            .update_expression("SET title = :title")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":title", s(title.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Err(StoreError::NotFound),
            Err(err) => Err(backend(err)),
        }
    }

    async fn retitle_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        from: &Title,
        to: &Title,
    ) -> StoreResult<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(owner.as_str()), conversation_sk(id))))
            .update_expression("SET title = :to")
            .condition_expression("attribute_exists(PK) AND title = :from")
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":from", s(from.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            // Renamed meanwhile (the item is there) or gone (it is not).
            Err(err) if is_condition_failure(&err) => {
                match self.conflict_or_gone(owner, id).await {
                    StoreError::Conflict => Ok(false),
                    other => Err(other),
                }
            }
            Err(err) => Err(backend(err)),
        }
    }

    async fn delete_conversation(&self, owner: &Username, id: &ConversationId) -> StoreResult<()> {
        // The metadata goes first: the conversation leaves every listing at once, and messages
        // without metadata are never shown.
        let pk = user_pk(owner.as_str());
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk.clone(), conversation_sk(id))))
            .condition_expression("attribute_exists(PK)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let old = match result {
            Ok(output) => output.attributes.unwrap_or_default(),
            Err(err) if is_condition_failure(&err) => return Err(StoreError::NotFound),
            Err(err) => return Err(backend(err)),
        };
        // Its share link goes with it.
        if let Some(token) = old.get("share").and_then(|v| v.as_s().ok()) {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(share_key(token)))
                .send()
                .await
                .map_err(backend)?;
        }
        self.delete_under(pk, Some(conversation_prefix(id))).await
    }

    async fn write_turn(
        &self,
        owner: &Username,
        id: &ConversationId,
        turn: &TurnWrite<'_>,
    ) -> StoreResult<()> {
        // Checked first: a cap of zero refuses before anything is sent.
        let limits = self.limit_checks(owner, &turn.limits)?;
        let pk = user_pk(owner.as_str());
        let expiry = match turn.expires_at {
            Some(_) => "SET expires_at = :expires,",
            None => "REMOVE expires_at SET",
        };
        let move_on = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk.clone(), conversation_sk(id))))
            .update_expression(format!(
                "{expiry} next_seq = :next, updated_at = :now, model = :model, #leaf = :leaf, \
                 GSI1SK = :activity"
            ))
            .set_expression_attribute_values(
                turn.expires_at
                    .map(|at| HashMap::from([(":expires".to_string(), n(at))])),
            )
            .condition_expression("attribute_exists(PK) AND next_seq = :expected")
            .expression_attribute_values(":next", n(turn.next_seq))
            .expression_attribute_values(":now", n(turn.now))
            .expression_attribute_values(":model", s(turn.model))
            .expression_attribute_names("#leaf", "leaf")
            .expression_attribute_values(":leaf", n(turn.leaf))
            .expression_attribute_values(":activity", s(activity_sk(turn.now, id.as_str())))
            .expression_attribute_values(":expected", n(turn.expected_next_seq))
            .build()
            .expect("table, key and expression are set");
        let mut write = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(move_on).build());
        for message in turn.messages {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(message_item(owner, id, message)?))
                .build()
                .expect("table and item are set");
            write = write.transact_items(TransactWriteItem::builder().put(put).build());
        }
        let live_at = 1 + turn.messages.len();
        write = write.transact_items(self.account_is_live(owner));
        // The messages' attachments, after every check (whose positions the reasons for a
        // cancelled transaction are read by).
        let mut attachments = Vec::new();
        for message in turn.messages {
            attachments.extend(attachment_items(owner, id, message)?);
        }
        for item in limits.items.iter().cloned() {
            write = write.transact_items(item);
        }
        for item in attachments {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .build()
                .expect("table and item are set");
            write = write.transact_items(TransactWriteItem::builder().put(put).build());
        }
        let Err(err) = write.send().await else {
            return Ok(());
        };
        let Some(failed) = condition_failures(&err) else {
            return Err(backend(err));
        };
        if !failed(0) {
            if failed(live_at) {
                return Err(StoreError::NotFound);
            }
            if let Some(refusal) = limits.refusal(live_at + 1, &failed) {
                return Err(refusal);
            }
            return Err(backend(err));
        }
        // Cancelled by the conversation's condition: gone, or moved on by another send.
        Err(self.conflict_or_gone(owner, id).await)
    }

    async fn save_reply(
        &self,
        owner: &Username,
        id: &ConversationId,
        reply: &Message,
        charge: Option<&Charge>,
    ) -> StoreResult<()> {
        let Some(charge) = charge else {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(message_item(owner, id, reply)?))
                .condition_expression("turn = :turn")
                .expression_attribute_values(":turn", s(&reply.turn))
                .send()
                .await;
            return match result {
                Ok(_) => Ok(()),
                Err(err) if is_condition_failure(&err) => Err(StoreError::Conflict),
                Err(err) => Err(backend(err)),
            };
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(message_item(owner, id, reply)?))
            .condition_expression("turn = :turn")
            .expression_attribute_values(":turn", s(&reply.turn))
            .build()
            .expect("table and item are set");
        let mut write = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(self.account_is_live(owner));
        for update in self.usage_updates(owner, charge) {
            write = write.transact_items(TransactWriteItem::builder().update(update).build());
        }
        let Err(err) = write.send().await else {
            return Ok(());
        };
        match condition_failures(&err) {
            Some(failed) if failed(0) => Err(StoreError::Conflict),
            Some(failed) if failed(1) => Err(StoreError::NotFound),
            _ => Err(backend(err)),
        }
    }
}
