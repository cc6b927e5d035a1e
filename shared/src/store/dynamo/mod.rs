//! The DynamoDB store: one table, keys that keep each user's data in that user's partition,
//! gets and queries only, conditional writes where requests could race. See
//! docs/data-model.md for the item types and which request does what.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, DeleteRequest,
    GlobalSecondaryIndex, KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType,
    Put, ReturnValue, ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem, Update,
    WriteRequest,
};

use serde::{Deserialize, Serialize};

use super::{
    AccountRecord, AccountStore, ActivityCursor, AttachmentRecord, AuditRecord, AuditStore,
    ConversationRecord, ConversationStore, Extras, GroupStore, IdentityStore, Invite, InviteStore,
    MessageRecord, Page, SessionStore, ShareStore, SharedConversation, SignedIn, StoreError,
    StoreResult, ThrottleKey, ThrottleStore, Transcript, TransferStore, TurnWrite, UsageStore,
    matches_search,
};

use crate::accounts::{Account, AccountChange, Identity};

use crate::audit::{AuditEntry, AuditFilter};

use crate::groups::{Group, GroupId, Groups};

use super::groups::{groups_from_json, groups_to_json};

use crate::conversations::{Conversation, ConversationId, Message, Shelf, Title};
use crate::folders::FolderId;

use crate::link_tokens;

use crate::session::SessionId;

use crate::usage::{Cached, Charge, Cost, Month, Totals, UsageLine, UsageReport};

use crate::users::Username;

mod accounts;
mod api_keys;
mod audit;
mod batch;
mod conversations;
mod folders;
mod groups;
mod identities;
mod invites;
mod items;
mod keys;
mod sessions;
mod shares;
mod throttle;
mod transfer;
mod usage;

use items::*;
use keys::*;

/// The table's shape. `infra/template.yaml` declares the same; a test checks they agree.
pub mod table {
    pub const PARTITION_KEY: &str = "PK";
    pub const SORT_KEY: &str = "SK";
    /// Lists every account in username order (for the admin page), and each user's
    /// conversations by recent activity.
    pub const ACCOUNTS_INDEX: &str = "GSI1";
    pub const ACCOUNTS_INDEX_PARTITION_KEY: &str = "GSI1PK";
    pub const ACCOUNTS_INDEX_SORT_KEY: &str = "GSI1SK";
    /// Epoch seconds after which DynamoDB may delete the item (invites, throttle counters).
    pub const TTL_ATTRIBUTE: &str = "expires_at";

    /// A key schema: (attribute name, HASH or RANGE).
    pub type KeySchema = Vec<(String, String)>;

    /// Everything about the table that the code depends on, in one comparable value.
    #[derive(Debug, PartialEq, Eq)]
    pub struct Definition {
        pub billing_mode: &'static str,
        /// (name, type), all strings.
        pub attributes: Vec<(String, String)>,
        pub key: KeySchema,
        /// (index name, its key, its projection)
        pub indexes: Vec<(String, KeySchema, String)>,
        pub ttl_attribute: String,
    }

    pub fn definition() -> Definition {
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        Definition {
            billing_mode: "PAY_PER_REQUEST",
            attributes: [
                PARTITION_KEY,
                SORT_KEY,
                ACCOUNTS_INDEX_PARTITION_KEY,
                ACCOUNTS_INDEX_SORT_KEY,
            ]
            .iter()
            .map(|name| pair(name, "S"))
            .collect(),
            key: vec![pair(PARTITION_KEY, "HASH"), pair(SORT_KEY, "RANGE")],
            indexes: vec![(
                ACCOUNTS_INDEX.to_string(),
                vec![
                    pair(ACCOUNTS_INDEX_PARTITION_KEY, "HASH"),
                    pair(ACCOUNTS_INDEX_SORT_KEY, "RANGE"),
                ],
                "ALL".to_string(),
            )],
            ttl_attribute: TTL_ATTRIBUTE.to_string(),
        }
    }
}

pub struct DynamoStore {
    client: Client,
    table: String,
}

fn backend<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::backend(err)
}

fn is_condition_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

impl DynamoStore {
    /// A transaction's check that `owner`'s account exists and is not being deleted: every
    /// write under a user carries it, so nothing is written once a deletion has begun, and
    /// nothing is left for a later account of the same name.
    fn account_is_live(&self, owner: &Username) -> TransactWriteItem {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(owner.as_str()), ACCOUNT_SK)))
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(deleting)")
            .build()
            .expect("table, key and condition are set");
        TransactWriteItem::builder().condition_check(check).build()
    }

    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Writes an item whose key must not exist yet: `Conflict` if it does.
    async fn put_new(&self, item: HashMap<String, AttributeValue>) -> StoreResult<()> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Err(StoreError::Conflict),
            Err(err) => Err(backend(err)),
        }
    }

    /// Writes new items of `owner`'s (keys that must not exist yet) in one transaction, only
    /// while the account is live: `NotFound` if it is gone (or going), `Conflict` if a key
    /// is taken.
    async fn put_new_while_live(&self, owner: &Username, items: Vec<Item>) -> StoreResult<()> {
        let count = items.len();
        let mut write = self.client.transact_write_items();
        for item in items {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .expect("table and item are set");
            write = write.transact_items(TransactWriteItem::builder().put(put).build());
        }
        let result = write
            .transact_items(self.account_is_live(owner))
            .send()
            .await;
        let Err(err) = result else { return Ok(()) };
        match condition_failures(&err) {
            Some(failed) if failed(count) => Err(StoreError::NotFound),
            Some(_) => Err(StoreError::Conflict),
            None => Err(backend(err)),
        }
    }

    /// `owner`'s items whose sort key starts with `prefix` (a consistent read).
    async fn user_items(&self, owner: &Username, prefix: &str) -> StoreResult<Vec<Item>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(user_pk(owner.as_str())))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(output.items.unwrap_or_default())
    }

    /// Deletes every item of partition `pk` (whose sort key starts with `prefix`, if given):
    /// a query for the keys, then batched deletes.
    async fn delete_under(&self, pk: String, prefix: Option<String>) -> StoreResult<()> {
        let mut start = None;
        loop {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_values(":pk", s(&pk))
                .projection_expression("PK, SK")
                .set_exclusive_start_key(start);
            let query = match &prefix {
                Some(prefix) => query
                    .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                    .expression_attribute_values(":prefix", s(prefix)),
                None => query.key_condition_expression("PK = :pk"),
            };
            let output = query.send().await.map_err(backend)?;
            self.delete_keys(&output.items.unwrap_or_default()).await?;
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(());
            }
        }
    }

    /// Creates the table from `table::definition()` (what `infra/template.yaml` declares), for
    /// local runs and tests. An existing table is left as it is.
    pub async fn create_table(&self) -> StoreResult<()> {
        let definition = table::definition();
        let key_element = |(name, kind): &(String, String)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::from(kind.as_str()))
                .build()
                .expect("name and type are set")
        };
        let mut create = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::from(definition.billing_mode))
            .set_key_schema(Some(definition.key.iter().map(key_element).collect()));
        for (name, kind) in &definition.attributes {
            create = create.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::from(kind.as_str()))
                    .build()
                    .expect("name and type are set"),
            );
        }
        for (name, key, projection) in &definition.indexes {
            create = create.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(name)
                    .set_key_schema(Some(key.iter().map(key_element).collect()))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::from(projection.as_str()))
                            .build(),
                    )
                    .build()
                    .expect("name and keys are set"),
            );
        }
        match create.send().await {
            Ok(_) => {}
            Err(err)
                if err.as_service_error().and_then(ProvideErrorMetadata::code)
                    == Some("ResourceInUseException") =>
            {
                return Ok(());
            }
            Err(err) => return Err(backend(err)),
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(&definition.ttl_attribute)
                    .enabled(true)
                    .build()
                    .expect("name and flag are set"),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(backend)
    }
}

/// For a cancelled transaction, which of its items' conditions failed (by position).
fn condition_failures<R>(
    err: &SdkError<TransactWriteItemsError, R>,
) -> Option<impl Fn(usize) -> bool + use<R>> {
    let reasons = match err.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(e) => {
            e.cancellation_reasons().to_vec()
        }
        _ => return None,
    };
    Some(move |i: usize| {
        reasons
            .get(i)
            .and_then(|r| r.code())
            .is_some_and(|c| c == "ConditionalCheckFailed")
    })
}

#[cfg(test)]
mod tests {
    use yaml_rust2::{Yaml, YamlLoader};

    use super::table;

    fn pairs(list: &Yaml, a: &str, b: &str) -> Vec<(String, String)> {
        list.as_vec()
            .expect("a list")
            .iter()
            .map(|item| {
                let field = |k: &str| {
                    item[k]
                        .as_str()
                        .unwrap_or_else(|| panic!("{k}"))
                        .to_string()
                };
                (field(a), field(b))
            })
            .collect()
    }

    /// The table the code creates locally is the table the SAM template deploys.
    #[test]
    fn the_sam_template_declares_the_table_the_code_uses() {
        let source = include_str!("../../../../infra/template.yaml");
        let docs = YamlLoader::load_from_str(source).expect("the template is YAML");
        let table = &docs[0]["Resources"]["Table"];
        assert_eq!(table["Type"].as_str(), Some("AWS::DynamoDB::Table"));
        let props = &table["Properties"];
        let mut attributes = pairs(
            &props["AttributeDefinitions"],
            "AttributeName",
            "AttributeType",
        );
        attributes.sort();
        let indexes = props["GlobalSecondaryIndexes"]
            .as_vec()
            .expect("indexes")
            .iter()
            .map(|index| {
                (
                    index["IndexName"].as_str().unwrap().to_string(),
                    pairs(&index["KeySchema"], "AttributeName", "KeyType"),
                    index["Projection"]["ProjectionType"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        let declared = table::Definition {
            billing_mode: if props["BillingMode"].as_str() == Some("PAY_PER_REQUEST") {
                "PAY_PER_REQUEST"
            } else {
                "something else"
            },
            attributes,
            key: pairs(&props["KeySchema"], "AttributeName", "KeyType"),
            indexes,
            ttl_attribute: props["TimeToLiveSpecification"]["AttributeName"]
                .as_str()
                .unwrap()
                .to_string(),
        };
        let mut expected = table::definition();
        expected.attributes.sort();
        assert_eq!(declared, expected);
        assert_eq!(
            props["TimeToLiveSpecification"]["Enabled"].as_bool(),
            Some(true)
        );
    }
}
