//! Item mapping: accounts, conversations and messages to and from DynamoDB items.

use super::*;

#[derive(Serialize, Deserialize)]
pub(super) struct AccountItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    #[serde(rename = "GSI1PK")]
    pub(super) gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub(super) gsi1sk: String,
    #[serde(flatten)]
    pub(super) record: AccountRecord,
}

impl AccountItem {
    pub(super) fn new(account: &Account) -> Self {
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
pub(super) struct ConversationItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    /// Absent for a temporary chat, which is never listed (the index is sparse).
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    pub(super) gsi1pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    pub(super) gsi1sk: Option<String>,
    #[serde(flatten)]
    pub(super) record: ConversationRecord,
}

#[derive(Serialize, Deserialize)]
pub(super) struct MessageItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) record: MessageRecord,
}

pub(super) fn conversation_item(owner: &Username, c: &Conversation) -> StoreResult<Item> {
    to_item(&ConversationItem {
        pk: user_pk(owner.as_str()),
        sk: conversation_sk(&c.id),
        gsi1pk: (!c.temporary).then(|| listing_pk(owner, c.shelf, c.folder.as_ref())),
        gsi1sk: (!c.temporary).then(|| activity_sk(c.updated_at, c.id.as_str())),
        record: ConversationRecord::from_conversation(c),
    })
}

/// A message's own item; its attachments are items of their own (`attachment_items`).
pub(super) fn message_item(
    owner: &Username,
    id: &ConversationId,
    m: &Message,
) -> StoreResult<Item> {
    let mut record = MessageRecord::from_message(m);
    record.attachments.clear();
    to_item(&MessageItem {
        pk: user_pk(owner.as_str()),
        sk: message_sk(id, m.seq),
        record,
    })
}

/// One item per attachment, under its message (and expiring with it).
#[derive(Serialize, Deserialize)]
pub(super) struct AttachmentItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    /// The message it came with.
    pub(super) seq: u32,
    #[serde(flatten)]
    pub(super) record: AttachmentRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) expires_at: Option<u64>,
}

pub(super) fn attachment_items(
    owner: &Username,
    id: &ConversationId,
    m: &Message,
) -> StoreResult<Vec<Item>> {
    m.attachments
        .iter()
        .enumerate()
        .map(|(index, a)| {
            to_item(&AttachmentItem {
                pk: user_pk(owner.as_str()),
                sk: attachment_sk(id, m.seq, index),
                seq: m.seq,
                record: AttachmentRecord::from_attachment(a),
                expires_at: m.expires_at,
            })
        })
        .collect()
}

pub(super) fn is_attachment_item(item: &Item) -> bool {
    item.get(table::SORT_KEY)
        .and_then(|v| v.as_s().ok())
        .is_some_and(|sk| sk.contains("#A#"))
}

/// A conversation's message and attachment items (in either key order) as its messages in
/// key order, each with its attachments; attachments whose message is not among the items
/// (a page that ended between them) are left out.
pub(super) fn messages_from_items(
    items: impl IntoIterator<Item = Item>,
) -> StoreResult<Vec<Message>> {
    let mut messages = Vec::new();
    let mut attachments: Vec<(String, AttachmentItem)> = Vec::new();
    for item in items {
        if is_attachment_item(&item) {
            let attachment: AttachmentItem = from_item(item)?;
            attachments.push((attachment.sk.clone(), attachment));
        } else {
            messages.push(message_from_item(item)?);
        }
    }
    messages.sort_by_key(|m: &Message| m.seq);
    attachments.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, attachment) in attachments {
        if let Ok(at) = messages.binary_search_by_key(&attachment.seq, |m| m.seq) {
            messages[at]
                .attachments
                .push(attachment.record.into_attachment()?);
        }
    }
    Ok(messages)
}

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn conversation_from_item(item: Item) -> StoreResult<Conversation> {
    from_item::<ConversationItem>(item)?
        .record
        .into_conversation()
}

pub(super) fn message_from_item(item: Item) -> StoreResult<Message> {
    from_item::<MessageItem>(item)?.record.into_message()
}

pub(super) fn is_conversation_item(item: &Item) -> bool {
    item.get(table::SORT_KEY)
        .and_then(|v| v.as_s().ok())
        .is_some_and(|sk| sk.ends_with("#~"))
}

pub(super) fn to_item<T: Serialize>(value: &T) -> StoreResult<HashMap<String, AttributeValue>> {
    serde_dynamo::to_item(value).map_err(StoreError::backend)
}

pub(super) fn account_from_item(item: HashMap<String, AttributeValue>) -> StoreResult<Account> {
    let item: AccountItem =
        serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    item.record.into_account()
}

/// The default spend cap's item holds `cap` (nano-dollars), or nothing when there is none.
pub(super) fn spend_cap_from_item(item: &Item) -> Option<Cost> {
    item.get("cap")?
        .as_n()
        .ok()?
        .parse()
        .ok()
        .map(Cost::from_nanos)
}

/// Whether the portal's settings item leaves the API on (it is, unless turned off).
pub(super) fn api_enabled_in_item(item: &Item) -> bool {
    !item
        .get("api_off")
        .and_then(|v| v.as_bool().ok())
        .is_some_and(|off| *off)
}

/// About how many bytes DynamoDB counts for an item: its names and string values.
pub(super) fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value.as_s().map_or(16, String::len))
        .sum()
}

pub(super) fn item_key(item: &Item) -> Item {
    [table::PARTITION_KEY, table::SORT_KEY]
        .iter()
        .filter_map(|name| Some((name.to_string(), item.get(*name)?.clone())))
        .collect()
}
