//! Folders: one item per folder in its owner's partition (`FOLDER#<id>`); a conversation
//! filed in one carries its id (`folder`) and is listed in the index partition
//! `FOLDER#<owner>#<id>` in place of the recent list's.

use super::*;
use crate::folders::{self, Folder};
use crate::store::{ActivityCursor, FolderRecord, FolderStore, Page};

#[derive(Serialize, Deserialize)]
struct FolderItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(flatten)]
    record: FolderRecord,
}

impl DynamoStore {
    fn folder_item(&self, owner: &Username, folder: &Folder) -> StoreResult<Item> {
        to_item(&FolderItem {
            pk: user_pk(owner.as_str()),
            sk: folder_sk(&folder.id),
            record: FolderRecord::new(folder),
        })
    }
}

impl FolderStore for DynamoStore {
    async fn create_folder(&self, owner: &Username, folder: &Folder) -> StoreResult<()> {
        self.put_new_while_live(owner, vec![self.folder_item(owner, folder)?])
            .await
    }

    async fn folders(&self, owner: &Username) -> StoreResult<Vec<Folder>> {
        let mut list = self
            .user_items(owner, "FOLDER#")
            .await?
            .into_iter()
            .map(|item| from_item::<FolderItem>(item)?.record.into_folder())
            .collect::<StoreResult<Vec<_>>>()?;
        folders::sort(&mut list);
        Ok(list)
    }

    async fn folder(&self, owner: &Username, id: &FolderId) -> StoreResult<Option<Folder>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(owner.as_str()), folder_sk(id))))
            .send()
            .await
            .map_err(backend)?;
        output
            .item
            .map(|item| from_item::<FolderItem>(item)?.record.into_folder())
            .transpose()
    }

    async fn update_folder(&self, owner: &Username, folder: &Folder) -> StoreResult<()> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.folder_item(owner, folder)?))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Err(StoreError::NotFound),
            Err(err) => Err(backend(err)),
        }
    }

    async fn delete_folder(&self, owner: &Username, id: &FolderId) -> StoreResult<()> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(owner.as_str()), folder_sk(id))))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(err) if is_condition_failure(&err) => return Err(StoreError::NotFound),
            Err(err) => return Err(backend(err)),
        }
        // Its conversations go back to the recent list (the folder is gone first, so none
        // can be filed in it meanwhile).
        loop {
            let page = self.list_listing(&folder_pk(owner, id), None, 100).await?;
            for c in &page.items {
                match self.file_conversation(owner, &c.id, None).await {
                    Ok(()) | Err(StoreError::NotFound) => {}
                    Err(err) => return Err(err),
                }
            }
            if page.next.is_none() {
                return Ok(());
            }
        }
    }

    async fn file_conversation(
        &self,
        owner: &Username,
        id: &ConversationId,
        folder: Option<&FolderId>,
    ) -> StoreResult<()> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(owner.as_str()), conversation_sk(id))))
            // A temporary chat has no index partition, and keeps none.
            .condition_expression("attribute_exists(PK) AND attribute_exists(GSI1PK)")
            .expression_attribute_values(":pk", s(listing_pk(owner, Shelf::Recent, folder)));
        let update = match folder {
            Some(folder) => update
                .update_expression("SET GSI1PK = :pk, folder = :folder REMOVE shelf")
                .expression_attribute_values(":folder", s(folder.as_str())),
            None => update.update_expression("SET GSI1PK = :pk REMOVE shelf, folder"),
        }
        .build()
        .expect("table, key and expression are set");
        let mut write = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build());
        if let Some(folder) = folder {
            let exists = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(user_pk(owner.as_str()), folder_sk(folder))))
                .condition_expression("attribute_exists(PK)")
                .build()
                .expect("table, key and condition are set");
            write =
                write.transact_items(TransactWriteItem::builder().condition_check(exists).build());
        }
        let Err(err) = write.send().await else {
            return Ok(());
        };
        match condition_failures(&err) {
            Some(_) => Err(StoreError::NotFound),
            None => Err(backend(err)),
        }
    }

    async fn list_folder(
        &self,
        owner: &Username,
        folder: &FolderId,
        after: Option<&ActivityCursor>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>> {
        self.list_listing(&folder_pk(owner, folder), after, limit)
            .await
    }
}
