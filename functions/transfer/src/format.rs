//! The export file, version 2: what `GET /export` writes and `POST /import` reads (version 1,
//! without branches, too). Documented in docs/export.md; change it only with a new version.

use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "switchboard-export";
/// The version written.
pub const VERSION: u32 = 2;
/// The versions read: 1 had no branches (each message followed the one before it).
pub const READ_VERSIONS: [u32; 2] = [1, 2];

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportFile {
    /// Always `switchboard-export`.
    pub format: String,
    /// Always 1 for this schema.
    pub version: u32,
    /// Seconds since the Unix epoch.
    pub exported_at: u64,
    pub conversations: Vec<ExportConversation>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportConversation {
    /// 16 characters of `A-Z a-z 0-9 - _`; an import adds a conversation only if the account
    /// has none with this id.
    pub id: String,
    pub title: String,
    /// The catalogue id of the model new replies come from.
    pub model: String,
    #[serde(default)]
    pub system: Option<String>,
    pub created_at: u64,
    pub updated_at: u64,
    /// Oldest first.
    pub messages: Vec<ExportMessage>,
    /// (Version 2) the index of the last message of the branch it shows; absent: its last.
    #[serde(default)]
    pub leaf: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportMessage {
    /// `user` or `assistant`.
    pub speaker: String,
    pub text: String,
    /// `complete`, `failed` or `truncated` (`streaming` is read as an interrupted, failed
    /// reply).
    pub state: String,
    /// For replies: the model that wrote it.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub input_tokens: Option<u32>,
    #[serde(default)]
    pub output_tokens: Option<u32>,
    /// What the reply cost, in nano-dollars (10⁻⁹ US dollars).
    #[serde(default)]
    pub cost_nanodollars: Option<u64>,
    #[serde(default)]
    pub tokens_estimated: bool,
    /// For replies of models that reason: their thinking, apart from the answer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thinking: String,
    /// For failed replies: what went wrong.
    #[serde(default)]
    pub error: Option<String>,
    /// When it was last written, in seconds since the Unix epoch.
    pub at: u64,
    /// (Version 2) the index of the message it follows in its branch; `null` for the first
    /// message of one. (Version 1: always the one before.)
    #[serde(default)]
    pub parent: Option<u32>,
}
