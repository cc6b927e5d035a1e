//! Batched reads and writes, retrying what DynamoDB leaves unprocessed.

use super::*;

/// The most items one `BatchWriteItem` takes.
pub(super) const BATCH_WRITE_LIMIT: usize = 25;

/// The most keys one `BatchGetItem` takes.
pub(super) const BATCH_GET_LIMIT: usize = 100;

impl DynamoStore {
    /// Why a write conditioned on the conversation failed: `Conflict` if it still exists
    /// (another request changed it first), `NotFound` if it is gone.
    pub(super) async fn conflict_or_gone(
        &self,
        owner: &Username,
        id: &ConversationId,
    ) -> StoreError {
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(owner.as_str()), conversation_sk(id))))
            .projection_expression("PK")
            .consistent_read(true)
            .send()
            .await;
        match read {
            Ok(output) if output.item.is_some() => StoreError::Conflict,
            Ok(_) => StoreError::NotFound,
            Err(err) => backend(err),
        }
    }

    /// Sends write requests in batches, retrying what DynamoDB leaves unprocessed; `done` is
    /// told each batch that was written whole.
    pub(super) async fn write_batches(
        &self,
        requests: Vec<WriteRequest>,
        mut done: impl FnMut(&[WriteRequest]),
    ) -> StoreResult<()> {
        for chunk in requests.chunks(BATCH_WRITE_LIMIT) {
            let mut pending = chunk.to_vec();
            while !pending.is_empty() {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(backend)?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
            }
            done(chunk);
        }
        Ok(())
    }

    /// Deletes the items with these keys.
    pub(super) async fn delete_keys(&self, keys: &[Item]) -> StoreResult<()> {
        let requests = keys
            .iter()
            .map(|k| {
                let delete = DeleteRequest::builder().set_key(Some(k.clone())).build();
                WriteRequest::builder()
                    .delete_request(delete.expect("key is set"))
                    .build()
            })
            .collect();
        self.write_batches(requests, |_| {}).await
    }

    /// Which of the owner's conversation ids exist, read consistently in batches.
    pub(super) async fn existing_conversations(
        &self,
        owner: &Username,
        ids: &[&ConversationId],
    ) -> StoreResult<std::collections::HashSet<String>> {
        let pk = user_pk(owner.as_str());
        let keys = ids
            .iter()
            .map(|id| key(pk.clone(), conversation_sk(id)))
            .collect();
        Ok(self
            .get_batch(keys, Some("SK"))
            .await?
            .into_iter()
            .filter_map(|item| Some(item.get(table::SORT_KEY)?.as_s().ok()?.clone()))
            .collect())
    }

    /// The items with these keys (those that exist, in no particular order), read
    /// consistently in batches, retrying what DynamoDB leaves unprocessed.
    pub(super) async fn get_batch(
        &self,
        keys: Vec<Item>,
        projection: Option<&str>,
    ) -> StoreResult<Vec<Item>> {
        let mut found = Vec::new();
        for chunk in keys.chunks(BATCH_GET_LIMIT) {
            let mut keys = chunk.to_vec();
            while !keys.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .set_projection_expression(projection.map(str::to_string))
                    .consistent_read(true)
                    .build()
                    .expect("keys are set");
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(backend)?;
                found.extend(
                    output
                        .responses
                        .and_then(|mut r| r.remove(&self.table))
                        .unwrap_or_default(),
                );
                keys = output
                    .unprocessed_keys
                    .and_then(|mut m| m.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
            }
        }
        Ok(found)
    }
}
