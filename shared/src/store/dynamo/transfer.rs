//! Export and import: a whole account's transcripts, and conditional imports.

use super::*;

/// How many conversations an import writes at once.
pub(super) const IMPORT_PARALLELISM: usize = 8;

/// The most items one `TransactWriteItems` takes, and (with room to spare) the most bytes.
pub(super) const TRANSACTION_ITEMS: usize = 100;

pub(super) const TRANSACTION_BYTES: usize = 3 * 1024 * 1024;

/// How long an import can be running (the chat and transfer functions' 15-minute limit):
/// messages an import wrote longer ago than this, with no conversation item, are what an
/// interrupted import left, and a new import may write over them.
pub(super) const IMPORT_STALE_SECS: u64 = 15 * 60;

impl DynamoStore {
    /// Writes one imported conversation: its messages, then its metadata, in transactions of
    /// conditional puts that each check the account is live. `Ok(false)` if another request
    /// is importing the same conversation (its items are there); the keys written either way.
    pub(super) async fn import_one(
        &self,
        owner: &Username,
        (conversation, messages): &Transcript,
        now: u64,
    ) -> (Vec<Item>, StoreResult<bool>) {
        let mut written = Vec::new();
        let mut items = Vec::with_capacity(messages.len() + 1);
        for message in messages {
            match message_item(owner, &conversation.id, message) {
                Ok(mut item) => {
                    item.insert("imported_at".into(), n(now));
                    items.push((item, true));
                }
                Err(err) => return (written, Err(err)),
            }
        }
        match conversation_item(owner, conversation) {
            Ok(item) => items.push((item, false)),
            Err(err) => return (written, Err(err)),
        }
        let stale_before = now.saturating_sub(IMPORT_STALE_SECS);
        let mut chunk: Vec<(Item, bool)> = Vec::new();
        let mut bytes = 0;
        let last = items.len() - 1;
        for (i, (item, is_message)) in items.into_iter().enumerate() {
            bytes += item_size(&item);
            chunk.push((item, is_message));
            let full = chunk.len() == TRANSACTION_ITEMS - 1 || bytes >= TRANSACTION_BYTES;
            if !full && i != last {
                continue;
            }
            let mut write = self
                .client
                .transact_write_items()
                .transact_items(self.account_is_live(owner));
            let keys: Vec<Item> = chunk.iter().map(|(item, _)| item_key(item)).collect();
            for (item, is_message) in chunk.drain(..) {
                let put = Put::builder().table_name(&self.table).set_item(Some(item));
                let put = if is_message {
                    put.condition_expression(
                        "attribute_not_exists(PK) OR imported_at < :stale_before",
                    )
                    .expression_attribute_values(":stale_before", n(stale_before))
                } else {
                    put.condition_expression("attribute_not_exists(PK)")
                };
                let put = put.build().expect("table and item are set");
                write = write.transact_items(TransactWriteItem::builder().put(put).build());
            }
            bytes = 0;
            match write.send().await {
                Ok(_) => written.extend(keys),
                Err(err) => {
                    let outcome = match condition_failures(&err) {
                        Some(failed) if failed(0) => Err(StoreError::NotFound),
                        // Another import holds this conversation: it is theirs; ours of it go.
                        Some(_) => {
                            let ours = std::mem::take(&mut written);
                            match self.delete_keys(&ours).await {
                                Ok(()) => Ok(false),
                                Err(undo) => {
                                    written = ours;
                                    Err(undo)
                                }
                            }
                        }
                        None => Err(backend(err)),
                    };
                    return (written, outcome);
                }
            }
        }
        (written, Ok(true))
    }
}

impl TransferStore for DynamoStore {
    async fn export_conversations(&self, owner: &Username) -> StoreResult<Vec<Transcript>> {
        // One query over the owner's conversation items, in key order: each conversation's
        // messages, then its metadata.
        let mut transcripts = Vec::new();
        let mut messages = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :conv)")
                .expression_attribute_values(":pk", s(user_pk(owner.as_str())))
                .expression_attribute_values(":conv", s("CONV#"))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                if is_conversation_item(&item) {
                    let conversation = conversation_from_item(item)?;
                    let items = std::mem::take(&mut messages);
                    transcripts.push((conversation, messages_from_items(items)?));
                } else {
                    messages.push(item);
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                // Messages left without metadata belong to a conversation being deleted.
                return Ok(transcripts);
            }
        }
    }

    async fn import_conversations(
        &self,
        owner: &Username,
        transcripts: &[Transcript],
    ) -> StoreResult<usize> {
        use futures_util::StreamExt;
        let ids: Vec<&ConversationId> = transcripts.iter().map(|(c, _)| &c.id).collect();
        let existing = self.existing_conversations(owner, &ids).await?;
        let new: Vec<&Transcript> = transcripts
            .iter()
            .filter(|(c, _)| !existing.contains(&conversation_sk(&c.id)))
            .collect();
        let now = crate::session::now();
        // A few conversations at a time: an import of many small ones must not take one
        // round trip after another past the function's time limit.
        // Collected first: a stream holding the closure across the await would not be `Send`
        // for every lifetime, as lambda_http's handler future must be.
        let imports: Vec<_> = new
            .into_iter()
            .map(|transcript| self.import_one(owner, transcript, now))
            .collect();
        let outcomes: Vec<(Vec<Item>, StoreResult<bool>)> = futures_util::stream::iter(imports)
            .buffer_unordered(IMPORT_PARALLELISM)
            .collect()
            .await;
        let mut added = 0;
        let mut failure = None;
        let mut written = Vec::new();
        for (keys, outcome) in outcomes {
            written.extend(keys);
            match outcome {
                Ok(true) => added += 1,
                Ok(false) => {}
                Err(err) => failure = failure.or(Some(err)),
            }
        }
        let Some(err) = failure else {
            return Ok(added);
        };
        // All or nothing: what this import wrote goes again. Only its own writes: each was
        // conditional on the item not being there (or being a stale import's), so none of
        // them is another request's.
        if let Err(undo) = self.delete_keys(&written).await {
            tracing::error!(%undo, "undoing a failed import failed");
        }
        Err(err)
    }
}
