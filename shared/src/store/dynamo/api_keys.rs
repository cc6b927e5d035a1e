//! API keys: one item per key in its owner's partition (`APIKEY#<id>`, with the key's hash),
//! and a lookup item by hash (`APIKEY#<sha256>`), written and deleted together.

use super::*;
use crate::api_keys::{ApiKey, ApiKeyId, KeyHash};
use crate::store::{ApiCaller, ApiKeyRecord, ApiKeyStore};

fn key_sk(id: &ApiKeyId) -> String {
    format!("APIKEY#{}", id.as_str())
}

pub(super) fn lookup_key(hash: &str) -> Item {
    key(format!("APIKEY#{hash}"), "APIKEY")
}

#[derive(Serialize, Deserialize)]
struct ApiKeyItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(flatten)]
    record: ApiKeyRecord,
}

impl ApiKeyStore for DynamoStore {
    async fn create_api_key(
        &self,
        owner: &Username,
        api_key: &ApiKey,
        hash: &KeyHash,
    ) -> StoreResult<()> {
        let item = to_item(&ApiKeyItem {
            pk: user_pk(owner.as_str()),
            sk: key_sk(&api_key.id),
            record: ApiKeyRecord::new(api_key, hash),
        })?;
        let mut lookup = lookup_key(hash.as_str());
        lookup.insert("owner".into(), s(owner.as_str()));
        lookup.insert("id".into(), s(api_key.id.as_str()));
        self.put_new_while_live(owner, vec![item, lookup]).await
    }

    async fn api_keys(&self, owner: &Username) -> StoreResult<Vec<ApiKey>> {
        let mut keys = self
            .user_items(owner, "APIKEY#")
            .await?
            .into_iter()
            .map(|item| from_item::<ApiKeyItem>(item)?.record.into_key())
            .collect::<StoreResult<Vec<_>>>()?;
        keys.sort_by(|a, b| (a.created_at, a.id.as_str()).cmp(&(b.created_at, b.id.as_str())));
        Ok(keys)
    }

    async fn revoke_api_key(&self, owner: &Username, id: &ApiKeyId) -> StoreResult<()> {
        let item_key = key(user_pk(owner.as_str()), key_sk(id));
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_key.clone()))
            .projection_expression("key_hash")
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let Some(hash) = output
            .item
            .and_then(|item| item.get("key_hash")?.as_s().ok().cloned())
        else {
            return Err(StoreError::NotFound);
        };
        let delete = |key| {
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key))
                        .build()
                        .expect("table and key are set"),
                )
                .build()
        };
        self.client
            .transact_write_items()
            .transact_items(delete(item_key))
            .transact_items(delete(lookup_key(&hash)))
            .send()
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn api_caller(&self, hash: &KeyHash) -> StoreResult<Option<ApiCaller>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(lookup_key(hash.as_str())))
            .send()
            .await
            .map_err(backend)?;
        let Some(link) = output.item else {
            return Ok(None);
        };
        let field = |name: &str| link.get(name).and_then(|v| v.as_s().ok()).cloned();
        let (Some(owner), Some(id)) = (field("owner"), field("id")) else {
            return Err(StoreError::Corrupt("api key link without its owner".into()));
        };
        let owner = Username::parse(&owner)
            .map_err(|e| StoreError::Corrupt(format!("api key owner: {e}")))?;
        let id =
            ApiKeyId::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("api key id {id}")))?;
        // The key itself, in its owner's partition (a link left behind by an interrupted
        // revoke or deletion leads nowhere), with the account and the portal's settings and
        // groups: one consistent read, so a revoke or a disable applies at once.
        let key_key = key(user_pk(owner.as_str()), key_sk(&id));
        let account_key = key(user_pk(owner.as_str()), ACCOUNT_SK);
        let settings_key = key(SETTINGS_PK.into(), SPEND_CAP_SK);
        let groups_key = groups::groups_key();
        let keys = vec![
            key_key.clone(),
            account_key.clone(),
            settings_key,
            groups_key.clone(),
        ];
        let (mut api_key, mut account, mut settings, mut groups) = (None, None, None, None);
        for item in self.get_batch(keys, None).await? {
            let found = item_key(&item);
            if found == key_key {
                api_key = Some(from_item::<ApiKeyItem>(item)?.record);
            } else if found == account_key {
                account = Some(account_from_item(item)?);
            } else if found == groups_key {
                groups = Some(groups::groups_from_item(&item)?);
            } else {
                settings = Some(item);
            }
        }
        let Some(record) = api_key.filter(|r| r.key_hash == hash.as_str()) else {
            return Ok(None);
        };
        Ok(Some(ApiCaller {
            owner,
            key: record.into_key()?,
            account,
            default_spend_cap: settings.as_ref().and_then(spend_cap_from_item),
            groups: groups.unwrap_or_default(),
            api_enabled: settings.as_ref().is_none_or(api_enabled_in_item),
        }))
    }

    async fn api_enabled(&self) -> StoreResult<bool> {
        Ok(self
            .portal_settings()
            .await?
            .as_ref()
            .is_none_or(api_enabled_in_item))
    }

    async fn set_api_enabled(&self, enabled: bool) -> StoreResult<()> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(SETTINGS_PK.into(), SPEND_CAP_SK)));
        let update = match enabled {
            true => update.update_expression("REMOVE api_off"),
            false => update
                .update_expression("SET api_off = :true")
                .expression_attribute_values(":true", AttributeValue::Bool(true)),
        };
        update.send().await.map_err(backend)?;
        Ok(())
    }

    async fn touch_api_key(&self, owner: &Username, id: &ApiKeyId, now: u64) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(owner.as_str()), key_sk(id))))
            .update_expression("SET last_used_at = :now")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Err(StoreError::NotFound),
            Err(err) => Err(backend(err)),
        }
    }
}
