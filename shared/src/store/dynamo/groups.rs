//! Groups: one item, `SETTINGS` / `GROUPS`, holding every group (JSON) and its version; saved
//! on the condition that the version is the one read.

use super::*;

pub(super) fn groups_key() -> Item {
    key(SETTINGS_PK.into(), GROUPS_SK)
}

pub(super) fn groups_from_item(item: &Item) -> StoreResult<Groups> {
    let json = item.get("groups").and_then(|v| v.as_s().ok());
    let version = item
        .get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    match json {
        Some(json) => groups_from_json(json, version),
        None => Ok(Groups::default()),
    }
}

impl GroupStore for DynamoStore {
    async fn groups(&self) -> StoreResult<Groups> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(groups_key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        match output.item {
            Some(item) => groups_from_item(&item),
            None => Ok(Groups::default()),
        }
    }

    async fn save_groups(&self, list: &[Group], read_version: u64) -> StoreResult<u64> {
        let version = read_version + 1;
        let mut item = groups_key();
        item.insert("groups".into(), s(groups_to_json(list)?));
        item.insert("version".into(), n(version));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let put = if read_version == 0 {
            put.condition_expression("attribute_not_exists(PK)")
        } else {
            put.condition_expression("version = :read")
                .expression_attribute_values(":read", n(read_version))
        };
        match put.send().await {
            Ok(_) => Ok(version),
            Err(err) if is_condition_failure(&err) => Err(StoreError::Conflict),
            Err(err) => Err(backend(err)),
        }
    }

    async fn group_spend(
        &self,
        groups: &[GroupId],
        month: Month,
    ) -> StoreResult<Vec<(GroupId, Cost)>> {
        let keys: Vec<Item> = groups.iter().map(|g| group_spend_key(g, month)).collect();
        let found = if keys.is_empty() {
            Vec::new()
        } else {
            self.get_batch(keys.clone(), None).await?
        };
        Ok(groups
            .iter()
            .zip(keys)
            .map(|(group, key)| {
                let cost = found
                    .iter()
                    .find(|item| item_key(item) == key)
                    .and_then(|item| item.get("cost"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .map_or(Cost::ZERO, Cost::from_nanos);
                (group.clone(), cost)
            })
            .collect())
    }
}
