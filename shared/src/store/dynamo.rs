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
    AccountRecord, AccountStore, ActivityCursor, ConversationRecord, ConversationStore, Invite,
    InviteStore, MessageRecord, Page, SessionStore, ShareStore, SharedConversation, SignedIn,
    StoreError, StoreResult, ThrottleKey, ThrottleStore, Transcript, TransferStore, TurnWrite,
    UsageStore, matches_search,
};
use crate::accounts::{Account, AccountChange};
use crate::conversations::{Conversation, ConversationId, Message, Title};
use crate::link_tokens;
use crate::session::SessionId;
use crate::usage::{Charge, Cost, Month, Totals, UsageLine, UsageReport};
use crate::users::Username;

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

const ACCOUNT_SK: &str = "ACCOUNT";
const ACCOUNTS_PARTITION: &str = "ACCOUNTS";
const INVITE_SK: &str = "INVITE";

fn user_pk(username: &str) -> String {
    format!("USER#{username}")
}

/// A conversation's items sort together under this prefix: its messages in order, then its
/// metadata (`~` sorts after `M`), so one descending query reads the metadata and the latest
/// messages.
fn conversation_prefix(id: &ConversationId) -> String {
    format!("CONV#{}#", id.as_str())
}

fn conversation_sk(id: &ConversationId) -> String {
    format!("CONV#{}#~", id.as_str())
}

fn message_sk(id: &ConversationId, seq: u32) -> String {
    format!("CONV#{}#M#{seq:010}", id.as_str())
}

fn conversations_pk(owner: &Username) -> String {
    format!("CONVS#{}", owner.as_str())
}

fn activity_sk(updated_at: u64, id: &str) -> String {
    format!("{updated_at:012}#{id}")
}

/// A revoked session's marker, in its owner's partition (so it goes with the account).
fn revoked_session_sk(session: &SessionId) -> String {
    format!("SESSION#{}", session.as_str())
}

fn invite_pk(token_hash: &str) -> String {
    format!("INVITE#{token_hash}")
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(pk: String, sk: impl Into<String>) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (table::PARTITION_KEY.to_string(), s(pk)),
        (table::SORT_KEY.to_string(), s(sk)),
    ])
}

#[derive(Serialize, Deserialize)]
struct AccountItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1sk: String,
    #[serde(flatten)]
    record: AccountRecord,
}

impl AccountItem {
    fn new(account: &Account) -> Self {
        let username = account.username.as_str();
        Self {
            pk: user_pk(username),
            sk: ACCOUNT_SK.into(),
            gsi1pk: ACCOUNTS_PARTITION.into(),
            gsi1sk: username.into(),
            record: AccountRecord::from_account(account),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct ConversationItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1sk: String,
    #[serde(flatten)]
    record: ConversationRecord,
}

#[derive(Serialize, Deserialize)]
struct MessageItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(flatten)]
    record: MessageRecord,
}

fn conversation_item(owner: &Username, c: &Conversation) -> StoreResult<Item> {
    to_item(&ConversationItem {
        pk: user_pk(owner.as_str()),
        sk: conversation_sk(&c.id),
        gsi1pk: conversations_pk(owner),
        gsi1sk: activity_sk(c.updated_at, c.id.as_str()),
        record: ConversationRecord::from_conversation(c),
    })
}

fn message_item(owner: &Username, id: &ConversationId, m: &Message) -> StoreResult<Item> {
    to_item(&MessageItem {
        pk: user_pk(owner.as_str()),
        sk: message_sk(id, m.seq),
        record: MessageRecord::from_message(m),
    })
}

type Item = HashMap<String, AttributeValue>;

fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn conversation_from_item(item: Item) -> StoreResult<Conversation> {
    from_item::<ConversationItem>(item)?
        .record
        .into_conversation()
}

fn message_from_item(item: Item) -> StoreResult<Message> {
    from_item::<MessageItem>(item)?.record.into_message()
}

fn is_conversation_item(item: &Item) -> bool {
    item.get(table::SORT_KEY)
        .and_then(|v| v.as_s().ok())
        .is_some_and(|sk| sk.ends_with("#~"))
}

#[derive(Serialize, Deserialize)]
struct InviteItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    created_by: String,
    created_at: u64,
    expires_at: u64,
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

fn to_item<T: Serialize>(value: &T) -> StoreResult<HashMap<String, AttributeValue>> {
    serde_dynamo::to_item(value).map_err(StoreError::backend)
}

fn account_from_item(item: HashMap<String, AttributeValue>) -> StoreResult<Account> {
    let item: AccountItem =
        serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    item.record.into_account()
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

impl AccountStore for DynamoStore {
    async fn create_account(&self, account: &Account) -> StoreResult<()> {
        self.put_new(to_item(&AccountItem::new(account))?).await
    }

    async fn create_account_with_invite(
        &self,
        account: &Account,
        invite_hash: &str,
        now: u64,
    ) -> StoreResult<()> {
        let use_invite = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(invite_pk(invite_hash), INVITE_SK)))
            .condition_expression("attribute_exists(PK) AND expires_at > :now")
            .expression_attribute_values(":now", n(now))
            .build()
            .expect("table and key are set");
        let put_account = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&AccountItem::new(account))?))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .expect("table and item are set");
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(use_invite).build())
            .transact_items(TransactWriteItem::builder().put(put_account).build())
            .send()
            .await;
        let Err(err) = result else { return Ok(()) };
        match condition_failures(&err) {
            Some(failed) if failed(0) => Err(StoreError::InviteUnusable),
            Some(failed) if failed(1) => Err(StoreError::Conflict),
            _ => Err(backend(err)),
        }
    }

    async fn account(&self, username: &Username) -> StoreResult<Option<Account>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(username.as_str()), ACCOUNT_SK)))
            // A disabled account or a "sign out everywhere" must take effect at once.
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        output.item.map(account_from_item).transpose()
    }

    async fn list_accounts(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Account>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(table::ACCOUNTS_INDEX)
            .expression_attribute_values(":accounts", s(ACCOUNTS_PARTITION))
            .limit((limit + 1) as i32);
        // DynamoDB refuses an empty string in a key condition: no "after" means no bound.
        let query = match after.filter(|a| !a.is_empty()) {
            Some(after) => query
                .key_condition_expression("GSI1PK = :accounts AND GSI1SK > :after")
                .expression_attribute_values(":after", s(after)),
            None => query.key_condition_expression("GSI1PK = :accounts"),
        };
        let output = query.send().await.map_err(backend)?;
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(account_from_item)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::of_accounts(items, limit))
    }

    async fn change_account(
        &self,
        username: &Username,
        change: &AccountChange,
    ) -> StoreResult<Account> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(username.as_str()), ACCOUNT_SK)))
            .condition_expression("attribute_exists(PK)")
            .return_values(ReturnValue::AllNew);
        let update = match change {
            AccountChange::Password(digest) => update
                .update_expression("SET password = :password ADD session_epoch :one")
                .expression_attribute_values(":password", s(digest.as_str()))
                .expression_attribute_values(":one", n(1)),
            AccountChange::Role(role) => update
                .update_expression("SET #role = :role")
                .expression_attribute_names("#role", "role")
                .expression_attribute_values(":role", s(role.as_str())),
            AccountChange::Disabled(true) => update
                .update_expression("SET disabled = :true ADD session_epoch :one")
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .expression_attribute_values(":one", n(1)),
            AccountChange::Disabled(false) => update
                .update_expression("SET disabled = :false")
                .expression_attribute_values(":false", AttributeValue::Bool(false)),
            AccountChange::SignOutEverywhere => update
                .update_expression("ADD session_epoch :one")
                .expression_attribute_values(":one", n(1)),
            AccountChange::SpendCap(Some(cap)) => update
                .update_expression("SET spend_cap = :cap")
                .expression_attribute_values(":cap", n(cap.nanos())),
            AccountChange::SpendCap(None) => update.update_expression("REMOVE spend_cap"),
        };
        match update.send().await {
            Ok(output) => account_from_item(output.attributes.unwrap_or_default()),
            Err(err) if is_condition_failure(&err) => Err(StoreError::NotFound),
            Err(err) => Err(backend(err)),
        }
    }

    async fn begin_account_deletion(&self, username: &Username) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(username.as_str()), ACCOUNT_SK)))
            .update_expression("SET deleting = :true")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Ok(()),
            Err(err) => Err(backend(err)),
        }
    }

    async fn delete_account(&self, username: &Username) -> StoreResult<()> {
        // The tombstone first: from now on nothing new is written in the partition (every
        // write checks the account), so the purge below cannot be outrun, and an interrupted
        // deletion is finished by calling this again.
        self.begin_account_deletion(username).await?;
        let pk = user_pk(username.as_str());
        // Everything the user owns lives in their partition (plus the share links it names):
        // query, delete, and query again until only the account is left.
        loop {
            let mut start = None;
            let mut deleted_any = false;
            loop {
                let output = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("PK = :pk")
                    .expression_attribute_values(":pk", s(&pk))
                    .projection_expression("PK, SK, #share")
                    .expression_attribute_names("#share", "share")
                    .consistent_read(true)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(backend)?;
                let items = output.items.unwrap_or_default();
                let mut keys = Vec::new();
                for item in &items {
                    if let Some(token) = item.get("share").and_then(|v| v.as_s().ok()) {
                        keys.push(share_key(token));
                    }
                    let is_account = item
                        .get(table::SORT_KEY)
                        .and_then(|v| v.as_s().ok())
                        .is_some_and(|sk| sk == ACCOUNT_SK);
                    if !is_account {
                        keys.push(item_key(item));
                    }
                }
                deleted_any |= !keys.is_empty();
                self.delete_keys(&keys).await?;
                start = output.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
            if !deleted_any {
                break;
            }
        }
        // Last, the tombstone: the name is free once nothing of the account is left.
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, ACCOUNT_SK)))
            .condition_expression("attribute_exists(deleting)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Gone already (a deletion that finished meanwhile).
            Err(err) if is_condition_failure(&err) => Ok(()),
            Err(err) => Err(backend(err)),
        }
    }
}

impl InviteStore for DynamoStore {
    async fn create_invite(&self, invite: &Invite) -> StoreResult<()> {
        let item = InviteItem {
            pk: invite_pk(&invite.token_hash),
            sk: INVITE_SK.into(),
            created_by: invite.created_by.as_str().into(),
            created_at: invite.created_at,
            expires_at: invite.expires_at,
        };
        self.put_new(to_item(&item)?).await
    }

    async fn invite(&self, token_hash: &str, now: u64) -> StoreResult<Option<Invite>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(invite_pk(token_hash), INVITE_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let item: InviteItem =
            serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // TTL deletion lags by up to days: expiry is checked here too.
        if item.expires_at <= now {
            return Ok(None);
        }
        Ok(Some(Invite {
            token_hash: token_hash.to_string(),
            created_by: Username::parse(&item.created_by)
                .map_err(|e| StoreError::Corrupt(e.into()))?,
            created_at: item.created_at,
            expires_at: item.expires_at,
        }))
    }
}

/// Requests one search may make before it returns what it found and where to go on.
const SEARCH_READ_BUDGET: usize = 8;

impl ConversationStore for DynamoStore {
    async fn create_conversation(&self, owner: &Username, c: &Conversation) -> StoreResult<()> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(conversation_item(owner, c)?))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .expect("table and item are set");
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(self.account_is_live(owner))
            .send()
            .await;
        let Err(err) = result else { return Ok(()) };
        match condition_failures(&err) {
            Some(failed) if failed(0) => Err(StoreError::Conflict),
            Some(failed) if failed(1) => Err(StoreError::NotFound),
            _ => Err(backend(err)),
        }
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
        let mut messages = items
            .map(message_from_item)
            .collect::<StoreResult<Vec<_>>>()?;
        messages.reverse();
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
            .expression_attribute_values(":last", s(message_sk(id, before - 1)))
            .scan_index_forward(false)
            .limit(limit as i32)
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let mut messages = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(message_from_item)
            .collect::<StoreResult<Vec<_>>>()?;
        messages.reverse();
        Ok(messages)
    }

    async fn list_conversations(
        &self,
        owner: &Username,
        after: Option<&ActivityCursor>,
        limit: usize,
    ) -> StoreResult<Page<Conversation>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(table::ACCOUNTS_INDEX)
            .expression_attribute_values(":pk", s(conversations_pk(owner)))
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
        Ok(Page::of_conversations(items, limit))
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
                    if matched || matches_search(&conversation.title, &needle) {
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
        let pk = user_pk(owner.as_str());
        let move_on = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk.clone(), conversation_sk(id))))
            .update_expression(
                "SET next_seq = :next, updated_at = :now, model = :model, GSI1SK = :activity",
            )
            .condition_expression("attribute_exists(PK) AND next_seq = :expected")
            .expression_attribute_values(":next", n(turn.next_seq))
            .expression_attribute_values(":now", n(turn.now))
            .expression_attribute_values(":model", s(turn.model))
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
        let mut position = live_at + 1;
        let mut cap_at = None;
        if let Some(limit) = turn.spend_limit {
            // The month's total stays below the cap until a reply's cost is added: sends
            // racing past this check are only those already in flight.
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    pk.clone(),
                    usage_sk(limit.month, UsageKind::Total),
                )))
                .condition_expression("attribute_not_exists(cost) OR cost < :cap")
                .expression_attribute_values(":cap", n(limit.cap.nanos()))
                .build()
                .expect("table, key and condition are set");
            write =
                write.transact_items(TransactWriteItem::builder().condition_check(check).build());
            cap_at = Some(position);
            position += 1;
        }
        let mut rate_at = None;
        if let Some(rate) = turn.rate {
            let count = Update::builder()
                .table_name(&self.table)
                .set_key(Some(throttle_key(
                    &ThrottleKey::Sends(owner.as_str().to_string()),
                    rate.window_start,
                )))
                .update_expression("ADD sends :one SET expires_at = :expires")
                .condition_expression("attribute_not_exists(sends) OR sends < :limit")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":expires", n(rate.expires_at()))
                .expression_attribute_values(":limit", n(rate.limit))
                .build()
                .expect("table, key and expression are set");
            write = write.transact_items(TransactWriteItem::builder().update(count).build());
            rate_at = Some(position);
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
            if cap_at.is_some_and(&failed) {
                return Err(StoreError::SpendCapReached);
            }
            if rate_at.is_some_and(&failed) {
                return Err(StoreError::RateLimited);
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

fn share_key(token: &str) -> Item {
    key(format!("SHARE#{}", link_tokens::hash(token)), "SHARE")
}

/// How many conversations an import writes at once.
const IMPORT_PARALLELISM: usize = 8;
/// The most items one `TransactWriteItems` takes, and (with room to spare) the most bytes.
const TRANSACTION_ITEMS: usize = 100;
const TRANSACTION_BYTES: usize = 3 * 1024 * 1024;
/// How long an import can be running (the chat and transfer functions' 15-minute limit):
/// messages an import wrote longer ago than this, with no conversation item, are what an
/// interrupted import left, and a new import may write over them.
const IMPORT_STALE_SECS: u64 = 15 * 60;

/// The most items one `BatchWriteItem` takes.
const BATCH_WRITE_LIMIT: usize = 25;
/// The most keys one `BatchGetItem` takes.
const BATCH_GET_LIMIT: usize = 100;

impl DynamoStore {
    /// Why a write conditioned on the conversation failed: `Conflict` if it still exists
    /// (another request changed it first), `NotFound` if it is gone.
    async fn conflict_or_gone(&self, owner: &Username, id: &ConversationId) -> StoreError {
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
    async fn write_batches(
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
    async fn delete_keys(&self, keys: &[Item]) -> StoreResult<()> {
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

    /// Writes one imported conversation: its messages, then its metadata, in transactions of
    /// conditional puts that each check the account is live. `Ok(false)` if another request
    /// is importing the same conversation (its items are there); the keys written either way.
    async fn import_one(
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

    /// Which of the owner's conversation ids exist, read consistently in batches.
    async fn existing_conversations(
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
    async fn get_batch(&self, keys: Vec<Item>, projection: Option<&str>) -> StoreResult<Vec<Item>> {
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

/// The default spend cap's item holds `cap` (nano-dollars), or nothing when there is none.
fn spend_cap_from_item(item: &Item) -> Option<Cost> {
    item.get("cap")?
        .as_n()
        .ok()?
        .parse()
        .ok()
        .map(Cost::from_nanos)
}

/// About how many bytes DynamoDB counts for an item: its names and string values.
fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value.as_s().map_or(16, String::len))
        .sum()
}

fn item_key(item: &Item) -> Item {
    [table::PARTITION_KEY, table::SORT_KEY]
        .iter()
        .filter_map(|name| Some((name.to_string(), item.get(*name)?.clone())))
        .collect()
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
                    transcripts.push((conversation, std::mem::take(&mut messages)));
                } else {
                    messages.push(message_from_item(item)?);
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

/// The items of a user's monthly usage, under `USAGE#<month>#` in their partition.
#[derive(Clone, Copy)]
enum UsageKind<'a> {
    Total,
    Model(&'a str),
    Conversation(&'a str),
}

fn usage_prefix(month: Month) -> String {
    format!("USAGE#{}#", month.key())
}

fn usage_sk(month: Month, kind: UsageKind) -> String {
    let prefix = usage_prefix(month);
    match kind {
        UsageKind::Total => format!("{prefix}T"),
        UsageKind::Model(id) => format!("{prefix}M#{id}"),
        UsageKind::Conversation(id) => format!("{prefix}C#{id}"),
    }
}

fn spend_pk(month: Month) -> String {
    format!("SPEND#{}", month.key())
}

const SETTINGS_PK: &str = "SETTINGS";
const SPEND_CAP_SK: &str = "SPEND_CAP";
/// How many pages of one month's usage lines a usage report reads at most (each page holds
/// thousands of lines).
const USAGE_READ_BUDGET: usize = 10;

#[derive(Deserialize)]
struct UsageItem {
    #[serde(rename = "SK")]
    sk: String,
    #[serde(default)]
    label: String,
    #[serde(rename = "GSI1SK", default)]
    username: String,
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cost: u64,
    #[serde(default)]
    replies: u64,
    #[serde(default)]
    estimated_replies: u64,
}

impl UsageItem {
    fn totals(&self) -> Totals {
        Totals {
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cost: Cost::from_nanos(self.cost),
            replies: self.replies,
            estimated_replies: self.estimated_replies,
        }
    }
}

impl DynamoStore {
    /// The three counters a reply's usage is added to, as atomic `ADD`s.
    fn usage_updates(&self, owner: &Username, charge: &Charge) -> Vec<Update> {
        let pk = user_pk(owner.as_str());
        let kinds = [
            UsageKind::Total,
            UsageKind::Model(&charge.model),
            UsageKind::Conversation(&charge.conversation),
        ];
        kinds
            .into_iter()
            .map(|kind| {
                let mut set = "SET label = :label".to_string();
                let label = match kind {
                    UsageKind::Total => "",
                    UsageKind::Model(id) => id,
                    UsageKind::Conversation(_) => &charge.title,
                };
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(pk.clone(), usage_sk(charge.month, kind))))
                    .expression_attribute_values(":label", s(label))
                    .expression_attribute_values(":i", n(charge.input_tokens))
                    .expression_attribute_values(":o", n(charge.output_tokens))
                    .expression_attribute_values(":c", n(charge.cost.nanos()))
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":e", n(u8::from(charge.estimated)));
                // The month's total is also listed by month for the admin's spend view.
                let update = if let UsageKind::Total = kind {
                    set.push_str(", GSI1PK = :spend, GSI1SK = :user");
                    update
                        .expression_attribute_values(":spend", s(spend_pk(charge.month)))
                        .expression_attribute_values(":user", s(owner.as_str()))
                } else {
                    update
                };
                update
                    .update_expression(format!(
                        "{set} ADD input_tokens :i, output_tokens :o, cost :c, replies :one, \
                         estimated_replies :e"
                    ))
                    .build()
                    .expect("table, key and expression are set")
            })
            .collect()
    }
}

impl UsageStore for DynamoStore {
    async fn record_usage(&self, owner: &Username, charge: &Charge) -> StoreResult<()> {
        let mut write = self
            .client
            .transact_write_items()
            .transact_items(self.account_is_live(owner));
        for update in self.usage_updates(owner, charge) {
            write = write.transact_items(TransactWriteItem::builder().update(update).build());
        }
        let Err(err) = write.send().await else {
            return Ok(());
        };
        match condition_failures(&err) {
            Some(failed) if failed(0) => Err(StoreError::NotFound),
            _ => Err(backend(err)),
        }
    }

    async fn usage(&self, owner: &Username, month: Month) -> StoreResult<UsageReport> {
        let prefix = usage_prefix(month);
        let mut report = UsageReport::default();
        let mut start = None;
        for _ in 0..USAGE_READ_BUDGET {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(user_pk(owner.as_str())))
                .expression_attribute_values(":prefix", s(&prefix))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                let item: UsageItem = from_item(item)?;
                let rest = &item.sk[prefix.len()..];
                let line = |id: &str| UsageLine {
                    id: id.to_string(),
                    label: item.label.clone(),
                    totals: item.totals(),
                };
                if rest == "T" {
                    report.total = item.totals();
                } else if let Some(id) = rest.strip_prefix("M#") {
                    report.by_model.push(line(id));
                } else if let Some(id) = rest.strip_prefix("C#") {
                    report.by_conversation.push(line(id));
                } else {
                    return Err(StoreError::Corrupt(format!("usage item {}", item.sk)));
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(report.sorted())
    }

    async fn spend_between(
        &self,
        month: Month,
        first: &str,
        last: &str,
    ) -> StoreResult<Vec<(String, Totals)>> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(table::ACCOUNTS_INDEX)
                .key_condition_expression("GSI1PK = :pk AND GSI1SK BETWEEN :first AND :last")
                .expression_attribute_values(":pk", s(spend_pk(month)))
                .expression_attribute_values(":first", s(first))
                .expression_attribute_values(":last", s(last))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                let item: UsageItem = from_item(item)?;
                found.push((item.username.clone(), item.totals()));
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    async fn default_spend_cap(&self) -> StoreResult<Option<Cost>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(SETTINGS_PK.into(), SPEND_CAP_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(output.item.as_ref().and_then(spend_cap_from_item))
    }

    async fn set_default_spend_cap(&self, cap: Option<Cost>) -> StoreResult<()> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(SETTINGS_PK.into(), SPEND_CAP_SK)));
        let update = match cap {
            Some(cap) => update
                .update_expression("SET cap = :cap")
                .expression_attribute_values(":cap", n(cap.nanos())),
            None => update.update_expression("REMOVE cap"),
        };
        update.send().await.map_err(backend)?;
        Ok(())
    }
}

impl SessionStore for DynamoStore {
    async fn revoke_session(
        &self,
        owner: &Username,
        session: &SessionId,
        expires_at: u64,
    ) -> StoreResult<()> {
        let mut item = key(user_pk(owner.as_str()), revoked_session_sk(session));
        item.insert(table::TTL_ATTRIBUTE.into(), n(expires_at));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn signed_in(
        &self,
        owner: &Username,
        session: &SessionId,
        default_spend_cap: bool,
    ) -> StoreResult<SignedIn> {
        let account_key = key(user_pk(owner.as_str()), ACCOUNT_SK);
        let session_key = key(user_pk(owner.as_str()), revoked_session_sk(session));
        let cap_key = key(SETTINGS_PK.into(), SPEND_CAP_SK);
        let mut keys = vec![account_key.clone(), session_key.clone()];
        if default_spend_cap {
            keys.push(cap_key);
        }
        // One consistent batch read: a sign-out, a disable or "sign out everywhere" applies
        // at once.
        let mut signed_in = SignedIn {
            account: None,
            revoked: false,
            default_spend_cap: default_spend_cap.then_some(None),
        };
        for item in self.get_batch(keys, None).await? {
            let found = item_key(&item);
            if found == account_key {
                signed_in.account = Some(account_from_item(item)?);
            } else if found == session_key {
                signed_in.revoked = true;
            } else {
                signed_in.default_spend_cap = Some(spend_cap_from_item(&item));
            }
        }
        Ok(signed_in)
    }
}

fn throttle_key(key: &ThrottleKey, window_start: u64) -> HashMap<String, AttributeValue> {
    self::key(
        format!("THROTTLE#{}", key.storage_key()),
        format!("W#{window_start}"),
    )
}

impl ThrottleStore for DynamoStore {
    async fn reserve_attempt(
        &self,
        key: &ThrottleKey,
        window_start: u64,
        expires_at: u64,
        limit: u32,
    ) -> StoreResult<bool> {
        if limit == 0 {
            return Ok(false);
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(throttle_key(key, window_start)))
            .update_expression("ADD failures :one SET expires_at = :expires")
            .condition_expression("attribute_not_exists(failures) OR failures < :limit")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires", n(expires_at))
            .expression_attribute_values(":limit", n(limit))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(backend(err)),
        }
    }

    async fn release_attempt(&self, key: &ThrottleKey, window_start: u64) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(throttle_key(key, window_start)))
            .update_expression("ADD failures :minus_one")
            .condition_expression("failures > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Ok(()),
            Err(err) => Err(backend(err)),
        }
    }
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
        let source = include_str!("../../../infra/template.yaml");
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
