//! Share links: a conversation's read-only link, keyed by its token's hash.

use super::*;

impl ShareStore for DynamoStore {
    async fn share_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        token: &str,
    ) -> StoreResult<()> {
        let conversation_key = key(user_pk(owner.as_str()), conversation_sk(id));
        let mark = Update::builder()
            .table_name(&self.table)
            .set_key(Some(conversation_key.clone()))
            .update_expression("SET #share = :token")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(#share)")
            .expression_attribute_names("#share", "share")
            .expression_attribute_values(":token", s(token))
            .build()
            .expect("table, key and expression are set");
        let mut link = share_key(token);
        link.insert("owner".into(), s(owner.as_str()));
        link.insert("conversation".into(), s(id.as_str()));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(link))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .expect("table and item are set");
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(mark).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(self.account_is_live(owner))
            .send()
            .await;
        let Err(err) = result else { return Ok(()) };
        match condition_failures(&err) {
            Some(failed) if failed(2) => Err(StoreError::NotFound),
            Some(failed) if failed(0) => Err(self.conflict_or_gone(owner, id).await),
            Some(failed) if failed(1) => Err(StoreError::Conflict),
            _ => Err(backend(err)),
        }
    }

    async fn unshare_conversation(&self, owner: &Username, id: &ConversationId) -> StoreResult<()> {
        let conversation_key = key(user_pk(owner.as_str()), conversation_sk(id));
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(conversation_key.clone()))
            .projection_expression("#share")
            .expression_attribute_names("#share", "share")
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let Some(token) = output
            .item
            .and_then(|item| item.get("share")?.as_s().ok().cloned())
        else {
            return Err(StoreError::NotFound);
        };
        let unmark = Update::builder()
            .table_name(&self.table)
            .set_key(Some(conversation_key))
            .update_expression("REMOVE #share")
            .condition_expression("#share = :token")
            .expression_attribute_names("#share", "share")
            .expression_attribute_values(":token", s(&token))
            .build()
            .expect("table, key and expression are set");
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(share_key(&token)))
            .build()
            .expect("table and key are set");
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(unmark).build())
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Unshared (or deleted) by another request meanwhile.
            Err(err) if condition_failures(&err).is_some_and(|failed| failed(0)) => {
                Err(StoreError::NotFound)
            }
            Err(err) => Err(backend(err)),
        }
    }

    async fn shared(&self, token: &str) -> StoreResult<Option<SharedConversation>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(share_key(token)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let field = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .ok_or_else(|| StoreError::Corrupt(format!("share without {name}")))
        };
        SharedConversation::parse(&field("owner")?, &field("conversation")?).map(Some)
    }
}
