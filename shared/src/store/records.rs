//! Accounts, conversations and messages as both backends keep them: plain fields,
//! checked when read back.

use super::*;
use crate::attachments::{Attachment, AttachmentId, FileName, MediaType};
use crate::parameters::Parameters;

/// An account as both backends keep it: plain fields, checked when read back.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct AccountRecord {
    /// Absent on accounts stored before accounts had ids (see `AccountId::legacy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub password: String,
    pub role: String,
    pub disabled: bool,
    pub session_epoch: u32,
    pub created_at: u64,
    /// In nano-dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend_cap: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleting: bool,
    /// The identity provider's issuer and subject, for an account that signs in with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// The ids of the groups an administrator put it in (DynamoDB: a string set).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_of: Vec<String>,
}

impl AccountRecord {
    pub fn from_account(a: &Account) -> Self {
        Self {
            id: Some(a.id.as_str().to_string()),
            username: a.username.as_str().to_string(),
            email: a.email.as_ref().map(|e| e.as_str().to_string()),
            password: a.password.as_str().to_string(),
            role: a.role.as_str().to_string(),
            disabled: a.disabled,
            session_epoch: a.session_epoch,
            created_at: a.created_at,
            spend_cap: a.spend_cap.map(Cost::nanos),
            deleting: a.deleting,
            issuer: a.identity.as_ref().map(|i| i.issuer().to_string()),
            subject: a.identity.as_ref().map(|i| i.subject().to_string()),
            groups: a.groups.names().to_vec(),
            member_of: a.member_of.iter().map(|g| g.as_str().to_string()).collect(),
        }
    }

    pub fn into_account(self) -> StoreResult<Account> {
        let corrupt = |what: &str, why: &str| StoreError::Corrupt(format!("{what}: {why}"));
        let id = match &self.id {
            Some(id) => AccountId::parse(id).ok_or_else(|| corrupt("id", id))?,
            None => AccountId::legacy(self.created_at),
        };
        Ok(Account {
            id,
            username: Username::parse(&self.username).map_err(|e| corrupt("username", e))?,
            email: self
                .email
                .map(|e| Email::parse(&e))
                .transpose()
                .map_err(|e| corrupt("email", e))?,
            password: PasswordDigest::parse(&self.password).map_err(|e| corrupt("password", &e))?,
            role: match self.role.as_str() {
                "admin" => Role::Admin,
                "user" => Role::User,
                other => return Err(corrupt("role", other)),
            },
            disabled: self.disabled,
            session_epoch: self.session_epoch,
            created_at: self.created_at,
            spend_cap: self.spend_cap.map(Cost::from_nanos),
            deleting: self.deleting,
            identity: match (&self.issuer, &self.subject) {
                (Some(issuer), Some(subject)) => {
                    Some(Identity::new(issuer, subject).map_err(|e| corrupt("identity", e))?)
                }
                _ => None,
            },
            groups: ProviderGroups::bounded(self.groups).0,
            member_of: self
                .member_of
                .iter()
                .map(|g| crate::groups::GroupId::parse(g).ok_or_else(|| corrupt("group", g)))
                .collect::<StoreResult<_>>()?,
        })
    }
}

/// A conversation's metadata as both backends keep it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct ConversationRecord {
    pub id: String,
    pub title: String,
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub created_at: u64,
    pub updated_at: u64,
    pub next_seq: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub temporary: bool,
    /// `pinned` or `archived`; absent for the recent list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shelf: Option<String>,
    /// Epoch seconds: DynamoDB's TTL attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Parameters::is_default")]
    pub parameters: Parameters,
    /// The folder it is filed in; absent on any other list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// The last message of the branch it shows; absent: its last message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf: Option<u32>,
}

impl ConversationRecord {
    pub fn from_conversation(c: &Conversation) -> Self {
        Self {
            id: c.id.as_str().to_string(),
            title: c.title.clone(),
            model: c.model.clone(),
            system: c.system.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            next_seq: c.next_seq,
            share: c.share.clone(),
            temporary: c.temporary,
            expires_at: c.expires_at,
            shelf: (c.shelf != Shelf::Recent).then(|| c.shelf.as_str().to_string()),
            parameters: c.parameters.clone(),
            folder: c.folder.as_ref().map(|f| f.as_str().to_string()),
            leaf: c.leaf,
        }
    }

    pub fn into_conversation(self) -> StoreResult<Conversation> {
        Ok(Conversation {
            id: ConversationId::parse(&self.id)
                .ok_or_else(|| StoreError::Corrupt(format!("conversation id {}", self.id)))?,
            title: self.title,
            model: self.model,
            system: self.system,
            created_at: self.created_at,
            updated_at: self.updated_at,
            next_seq: self.next_seq,
            share: self.share,
            temporary: self.temporary,
            expires_at: self.expires_at,
            shelf: match self.shelf.as_deref() {
                None => Shelf::Recent,
                Some(name) => Shelf::parse(name)
                    .ok_or_else(|| StoreError::Corrupt(format!("shelf {name}")))?,
            },
            parameters: self.parameters,
            folder: match self.folder {
                None => None,
                Some(id) => Some(
                    crate::folders::FolderId::parse(&id)
                        .ok_or_else(|| StoreError::Corrupt(format!("folder id {id}")))?,
                ),
            },
            leaf: self.leaf,
        })
    }
}

/// One message as both backends keep it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct MessageRecord {
    pub seq: u32,
    pub speaker: String,
    pub text: String,
    pub state: String,
    pub turn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u32>,
    /// In nano-dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tokens_estimated: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thinking: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub updated_at: u64,
    /// Epoch seconds: DynamoDB's TTL attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The files sent with it (at most `attachments::MAX_PER_MESSAGE`, written once with it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentRecord>,
    /// The message it follows, kept only where that is not the one before it (`seq - 1`),
    /// as it was for every message before branches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u32>,
    /// It begins a branch of its own though it is not the first message (an edit of the
    /// first one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub root: bool,
}

/// An attachment's metadata, as stored with its message (its bytes are in the bucket).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct AttachmentRecord {
    pub id: String,
    pub name: String,
    /// `MediaType::format`: png, jpeg, webp, gif, pdf, txt, md, csv.
    #[serde(rename = "type")]
    pub media_type: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    pub tokens: u32,
    pub key: String,
}

impl AttachmentRecord {
    pub fn from_attachment(a: &Attachment) -> Self {
        Self {
            id: a.id.as_str().to_string(),
            name: a.name.as_str().to_string(),
            media_type: a.media_type.format().to_string(),
            size: a.size,
            width: a.width,
            height: a.height,
            tokens: a.tokens,
            key: a.key.clone(),
        }
    }

    pub fn into_attachment(self) -> StoreResult<Attachment> {
        let corrupt = |what: &str, value: &str| StoreError::Corrupt(format!("{what}: {value}"));
        Ok(Attachment {
            id: AttachmentId::parse(&self.id).ok_or_else(|| corrupt("attachment id", &self.id))?,
            name: FileName::parse(&self.name).map_err(|_| corrupt("file name", &self.name))?,
            media_type: MediaType::parse(&self.media_type)
                .ok_or_else(|| corrupt("attachment type", &self.media_type))?,
            size: self.size,
            width: self.width,
            height: self.height,
            tokens: self.tokens,
            key: self.key,
        })
    }
}

impl MessageRecord {
    pub fn from_message(m: &Message) -> Self {
        Self {
            seq: m.seq,
            speaker: m.speaker.as_str().to_string(),
            text: m.text.clone(),
            state: m.state.as_str().to_string(),
            turn: m.turn.clone(),
            model: m.model.clone(),
            input_tokens: m.input_tokens,
            output_tokens: m.output_tokens,
            cost: m.cost.map(Cost::nanos),
            tokens_estimated: m.tokens_estimated,
            thinking: m.thinking.clone(),
            error: m.error.clone(),
            updated_at: m.updated_at,
            expires_at: m.expires_at,
            attachments: m
                .attachments
                .iter()
                .map(AttachmentRecord::from_attachment)
                .collect(),
            parent: m.parent.filter(|p| Some(*p) != m.seq.checked_sub(1)),
            root: m.parent.is_none() && m.seq > 0,
        }
    }

    pub fn into_message(self) -> StoreResult<Message> {
        let corrupt = |what: &str, value: &str| StoreError::Corrupt(format!("{what}: {value}"));
        Ok(Message {
            seq: self.seq,
            speaker: Speaker::parse(&self.speaker)
                .ok_or_else(|| corrupt("speaker", &self.speaker))?,
            state: MessageState::parse(&self.state).ok_or_else(|| corrupt("state", &self.state))?,
            text: self.text,
            turn: self.turn,
            model: self.model,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cost: self.cost.map(Cost::from_nanos),
            tokens_estimated: self.tokens_estimated,
            thinking: self.thinking,
            error: self.error,
            updated_at: self.updated_at,
            expires_at: self.expires_at,
            attachments: self
                .attachments
                .into_iter()
                .map(AttachmentRecord::into_attachment)
                .collect::<StoreResult<_>>()?,
            parent: match (self.root, self.parent) {
                (true, _) => None,
                (false, Some(parent)) if parent < self.seq => Some(parent),
                (false, Some(parent)) => return Err(corrupt("parent", &parent.to_string())),
                (false, None) => self.seq.checked_sub(1),
            },
        })
    }
}
