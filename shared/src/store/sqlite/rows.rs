//! Row mapping: accounts, conversations, messages and totals to and from SQLite rows.

use super::*;

pub(super) const CONVERSATION_COLUMNS: &str = "id, title, model, system, created_at, updated_at, next_seq, share, temporary, expires_at, shelf, parameters, folder, leaf";

pub(super) const MESSAGE_COLUMNS: &str = "seq, speaker, text, state, turn, model, input_tokens, \
     output_tokens, error, updated_at, cost, tokens_estimated, thinking, expires_at, attachments, \
     parent, root";

pub(super) const ACCOUNT_COLUMNS: &str = "username, email, password, role, disabled, session_epoch, created_at, spend_cap, id, deleting, \
     issuer, subject, groups, member_of";

pub(super) fn account_from_row(row: &Row) -> rusqlite::Result<AccountRecord> {
    Ok(AccountRecord {
        username: row.get(0)?,
        email: row.get(1)?,
        password: row.get(2)?,
        role: row.get(3)?,
        disabled: row.get(4)?,
        session_epoch: row.get(5)?,
        created_at: row.get::<_, i64>(6)? as u64,
        spend_cap: row.get::<_, Option<i64>>(7)?.map(|c| c as u64),
        id: row.get(8)?,
        deleting: row.get(9)?,
        issuer: row.get(10)?,
        subject: row.get(11)?,
        groups: groups_from_column(row.get(12)?),
        member_of: groups_from_column(row.get(13)?),
    })
}

/// Groups (a provider's names, or group ids) are kept as a JSON array (NULL for none).
pub(super) fn groups_column(groups: &ProviderGroups) -> Option<String> {
    names_column(groups.names().iter().map(String::as_str))
}

pub(super) fn names_column<'a>(names: impl Iterator<Item = &'a str>) -> Option<String> {
    let names: Vec<&str> = names.collect();
    (!names.is_empty()).then(|| serde_json::to_string(&names).unwrap_or_default())
}

pub(super) fn groups_from_column(value: Option<String>) -> Vec<String> {
    value
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default()
}

pub(super) fn conversation_from_row(row: &Row) -> rusqlite::Result<ConversationRecord> {
    Ok(ConversationRecord {
        id: row.get(0)?,
        title: row.get(1)?,
        model: row.get(2)?,
        system: row.get(3)?,
        created_at: row.get::<_, i64>(4)? as u64,
        updated_at: row.get::<_, i64>(5)? as u64,
        next_seq: row.get(6)?,
        share: row.get(7)?,
        temporary: row.get(8)?,
        expires_at: row.get::<_, Option<i64>>(9)?.map(|t| t as u64),
        shelf: row.get(10)?,
        parameters: match row.get::<_, Option<String>>(11)? {
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(11, rusqlite::types::Type::Text, e.into())
            })?,
            None => Default::default(),
        },
        folder: row.get(12)?,
        leaf: row.get(13)?,
    })
}

pub(super) fn message_from_row(row: &Row) -> rusqlite::Result<MessageRecord> {
    Ok(MessageRecord {
        seq: row.get(0)?,
        speaker: row.get(1)?,
        text: row.get(2)?,
        state: row.get(3)?,
        turn: row.get(4)?,
        model: row.get(5)?,
        input_tokens: row.get(6)?,
        output_tokens: row.get(7)?,
        error: row.get(8)?,
        updated_at: row.get::<_, i64>(9)? as u64,
        cost: row.get::<_, Option<i64>>(10)?.map(|c| c as u64),
        tokens_estimated: row.get(11)?,
        thinking: row.get::<_, Option<String>>(12)?.unwrap_or_default(),
        expires_at: row.get::<_, Option<i64>>(13)?.map(|t| t as u64),
        attachments: match row.get::<_, Option<String>>(14)? {
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(14, rusqlite::types::Type::Text, e.into())
            })?,
            None => Vec::new(),
        },
        parent: row.get(15)?,
        root: row.get(16)?,
    })
}

pub(super) fn collect<R, T>(
    rows: impl Iterator<Item = rusqlite::Result<R>>,
    convert: impl Fn(R) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    rows.map(|row| convert(row.map_err(backend)?)).collect()
}

pub(super) fn insert_message(
    conn: &Connection,
    owner: &Username,
    id: &ConversationId,
    m: &Message,
) -> StoreResult<()> {
    let r = MessageRecord::from_message(m);
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO messages (owner, conversation, {MESSAGE_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
             ?18, ?19)"
        ),
        params![
            owner.as_str(),
            id.as_str(),
            r.seq,
            r.speaker,
            r.text,
            r.state,
            r.turn,
            r.model,
            r.input_tokens,
            r.output_tokens,
            r.error,
            r.updated_at as i64,
            r.cost.map(|c| c as i64),
            r.tokens_estimated,
            (!r.thinking.is_empty()).then_some(&r.thinking),
            r.expires_at.map(|t| t as i64),
            (!r.attachments.is_empty())
                .then(|| serde_json::to_string(&r.attachments))
                .transpose()
                .map_err(StoreError::backend)?,
            r.parent,
            r.root,
        ],
    )
    .map_err(backend)?;
    Ok(())
}

pub(super) fn insert_conversation(
    conn: &Connection,
    owner: &Username,
    c: &Conversation,
) -> StoreResult<()> {
    let r = ConversationRecord::from_conversation(c);
    conn.execute(
        &format!(
            "INSERT INTO conversations (owner, {CONVERSATION_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
        ),
        params![
            owner.as_str(),
            r.id,
            r.title,
            r.model,
            r.system,
            r.created_at as i64,
            r.updated_at as i64,
            r.next_seq,
            r.share,
            r.temporary,
            r.expires_at.map(|t| t as i64),
            r.shelf,
            parameters_json(&r.parameters)?,
            r.folder,
            r.leaf,
        ],
    )
    .map_err(backend)?;
    Ok(())
}

pub(super) fn insert_account(conn: &Connection, a: &Account) -> StoreResult<()> {
    conn.execute(
        &format!(
            "INSERT INTO accounts ({ACCOUNT_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        ),
        params![
            a.username.as_str(),
            a.email.as_ref().map(Email::as_str),
            a.password.as_str(),
            a.role.as_str(),
            a.disabled,
            a.session_epoch,
            a.created_at as i64,
            a.spend_cap.map(|c| c.nanos() as i64),
            a.id.as_str(),
            a.deleting,
            a.identity.as_ref().map(Identity::issuer),
            a.identity.as_ref().map(Identity::subject),
            groups_column(&a.groups),
            names_column(a.member_of.iter().map(|g| g.as_str())),
        ],
    )
    .map_err(backend)?;
    Ok(())
}

pub(super) fn totals_from_row(row: &Row, first: usize) -> rusqlite::Result<Totals> {
    let n = |i: usize| row.get::<_, i64>(first + i).map(|v| v as u64);
    Ok(Totals {
        input_tokens: n(0)?,
        output_tokens: n(1)?,
        cost: Cost::from_nanos(n(2)?),
        replies: n(3)?,
        estimated_replies: n(4)?,
        cache: Cached {
            read_tokens: n(5)?,
            write_tokens: n(6)?,
            saved: Cost::from_nanos(n(7)?),
        },
    })
}

pub(super) const TOTALS_COLUMNS: &str = "input_tokens, output_tokens, cost, replies, estimated_replies, cache_read_tokens, \
     cache_write_tokens, cache_saved";

/// A conversation's parameters as its row keeps them: JSON, or NULL for the model's defaults.
pub(super) fn parameters_json(
    parameters: &crate::parameters::Parameters,
) -> StoreResult<Option<String>> {
    (!parameters.is_default())
        .then(|| serde_json::to_string(parameters))
        .transpose()
        .map_err(StoreError::backend)
}
