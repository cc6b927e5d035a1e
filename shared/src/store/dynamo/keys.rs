//! Key building: every partition and sort key the DynamoDB store uses, in one place.

use super::*;

pub(super) const ACCOUNT_SK: &str = "ACCOUNT";

pub(super) const ACCOUNTS_PARTITION: &str = "ACCOUNTS";

pub(super) const INVITE_SK: &str = "INVITE";

pub(super) fn user_pk(username: &str) -> String {
    format!("USER#{username}")
}

/// A conversation's items sort together under this prefix: its messages in order, then its
/// metadata (`~` sorts after `M`), so one descending query reads the metadata and the latest
/// messages.
pub(super) fn conversation_prefix(id: &ConversationId) -> String {
    format!("CONV#{}#", id.as_str())
}

pub(super) fn conversation_sk(id: &ConversationId) -> String {
    format!("CONV#{}#~", id.as_str())
}

pub(super) fn message_sk(id: &ConversationId, seq: u32) -> String {
    format!("CONV#{}#M#{seq:010}", id.as_str())
}

/// A message's attachments sort right after it, in the order they were attached.
pub(super) fn attachment_sk(id: &ConversationId, seq: u32, index: usize) -> String {
    format!("{}#A#{index:02}", message_sk(id, seq))
}

/// The last key a message's own items (it and its attachments) can have.
pub(super) fn message_end_sk(id: &ConversationId, seq: u32) -> String {
    format!("{}#~", message_sk(id, seq))
}

/// Where a conversation is listed (its index partition): a folder, or its shelf.
pub(super) fn listing_pk(owner: &Username, shelf: Shelf, folder: Option<&FolderId>) -> String {
    match (shelf, folder) {
        (Shelf::Recent, Some(folder)) => folder_pk(owner, folder),
        _ => shelf_pk(owner, shelf),
    }
}

/// The index partition of a folder's conversations.
pub(super) fn folder_pk(owner: &Username, folder: &FolderId) -> String {
    format!("FOLDER#{}#{}", owner.as_str(), folder.as_str())
}

/// A folder's own item's sort key, in its owner's partition.
pub(super) fn folder_sk(folder: &FolderId) -> String {
    format!("FOLDER#{}", folder.as_str())
}

/// Where a conversation on a shelf is listed (its index partition): the recent list, the
/// pinned ones, the archived ones; each a query of its own.
pub(super) fn shelf_pk(owner: &Username, shelf: Shelf) -> String {
    match shelf {
        Shelf::Recent => format!("CONVS#{}", owner.as_str()),
        Shelf::Pinned => format!("PINNED#{}", owner.as_str()),
        Shelf::Archived => format!("ARCHIVED#{}", owner.as_str()),
    }
}

pub(super) fn activity_sk(updated_at: u64, id: &str) -> String {
    format!("{updated_at:012}#{id}")
}

/// A revoked session's marker, in its owner's partition (so it goes with the account).
pub(super) fn revoked_session_sk(session: &SessionId) -> String {
    format!("SESSION#{}", session.as_str())
}

/// An identity provider's subject's link to its account: its own partition, so a sign-in
/// finds the account by subject with one read, and a put conditioned on its absence keeps
/// one account per subject.
pub(super) fn identity_key(identity: &Identity) -> HashMap<String, AttributeValue> {
    key(format!("IDENTITY#{}", identity.storage_key()), "IDENTITY")
}

pub(super) fn invite_pk(token_hash: &str) -> String {
    format!("INVITE#{token_hash}")
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn key(pk: String, sk: impl Into<String>) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (table::PARTITION_KEY.to_string(), s(pk)),
        (table::SORT_KEY.to_string(), s(sk)),
    ])
}

pub(super) fn share_key(token: &str) -> Item {
    key(format!("SHARE#{}", link_tokens::hash(token)), "SHARE")
}

/// The items of a user's monthly usage, under `USAGE#<month>#` in their partition.
#[derive(Clone, Copy)]
pub(super) enum UsageKind<'a> {
    Total,
    Model(&'a str),
    Conversation(&'a str),
    /// A day of the month, for the usage page's daily chart.
    Day(u8),
}

pub(super) fn usage_prefix(month: Month) -> String {
    format!("USAGE#{}#", month.key())
}

pub(super) fn usage_sk(month: Month, kind: UsageKind) -> String {
    let prefix = usage_prefix(month);
    match kind {
        UsageKind::Total => format!("{prefix}T"),
        UsageKind::Model(id) => format!("{prefix}M#{id}"),
        UsageKind::Conversation(id) => format!("{prefix}C#{id}"),
        UsageKind::Day(day) => format!("{prefix}D#{day:02}"),
    }
}

pub(super) fn spend_pk(month: Month) -> String {
    format!("SPEND#{}", month.key())
}

pub(super) const SETTINGS_PK: &str = "SETTINGS";

/// The portal's settings item: the default spend cap, and whether the API is off (named
/// for its first setting, which existing tables keep).
pub(super) const SPEND_CAP_SK: &str = "SPEND_CAP";

pub(super) const GROUPS_SK: &str = "GROUPS";

/// A model's totals in a month over every account: one partition per month, an item per
/// model (a dashboard reads the month with one query).
pub(super) fn model_spend_pk(month: Month) -> String {
    format!("MODELSPEND#{}", month.key())
}

/// A group's spend in a month: its own partition, apart from any user's.
pub(super) fn group_spend_key(group: &GroupId, month: Month) -> HashMap<String, AttributeValue> {
    key(
        format!("GROUP#{}", group.as_str()),
        format!("SPEND#{}", month.key()),
    )
}

pub(super) fn throttle_key(
    key: &ThrottleKey,
    window_start: u64,
) -> HashMap<String, AttributeValue> {
    self::key(
        format!("THROTTLE#{}", key.storage_key()),
        format!("W#{window_start}"),
    )
}
