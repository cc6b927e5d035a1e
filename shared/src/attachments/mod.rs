//! Attachments: images and documents sent with a message. The bytes live outside the table
//! (`bucket`: S3 in AWS, a directory locally), uploaded by the browser itself (`uploads`, with
//! a form signed as `post_policy` says);
//! each attachment's metadata is one item under its message. What a file is comes from its
//! content (`sniff`), never from its name or the type the browser declared.

pub mod bucket;
pub mod page;
pub mod post_policy;
pub mod serve;
pub mod sniff;
pub mod upload_key;
pub mod uploads;

pub use bucket::{Bucket, BucketError};
pub use sniff::{Checked, SniffError};
pub use upload_key::UploadKey;
pub use uploads::Uploads;

use serde::Serialize;

use crate::conversations::{Conversation, ConversationId};
use crate::users::Username;

/// At most this many files go with one message.
pub const MAX_PER_MESSAGE: usize = 5;
/// Images up to Bedrock's limit (the smallest of the providers'): 3.75 MB.
pub const MAX_IMAGE_BYTES: u64 = 3_750_000;
/// PDFs up to Bedrock's document limit: 4.5 MB.
pub const MAX_PDF_BYTES: u64 = 4_500_000;
/// Text documents are sent as text, so they also count against the model's context.
pub const MAX_TEXT_BYTES: u64 = 512 * 1024;
/// The largest upload of any kind: what a presigned POST's policy allows.
pub const MAX_UPLOAD_BYTES: u64 = MAX_PDF_BYTES;
/// Images, at most, that a reply's context carries (older ones are named, not sent).
pub const MAX_CONTEXT_IMAGES: usize = 20;

crate::random_id!(
    /// An attachment's id, unique within its message.
    AttachmentId
);

/// How an attachment is named in a link: its message's number and its id (`12-<id>`), so
/// that it is found with one read under its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentRef {
    pub seq: u32,
    pub id: AttachmentId,
}

impl AttachmentRef {
    pub fn parse(raw: &str) -> Option<Self> {
        let (seq, id) = raw.split_once('-')?;
        if seq.is_empty() || seq.len() > 10 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Self {
            seq: seq.parse().ok()?,
            id: AttachmentId::parse(id)?,
        })
    }
}

/// The types accepted, each recognised by its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    Png,
    Jpeg,
    Webp,
    Gif,
    Pdf,
    /// Plain text, including source code.
    Text,
    Markdown,
    Csv,
}

/// What a model is given an attachment as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Image,
    /// A binary document (PDF): for models that read documents.
    Document,
    /// Sent as text to any model.
    Text,
}

impl MediaType {
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Png => "image/png",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Webp => "image/webp",
            MediaType::Gif => "image/gif",
            MediaType::Pdf => "application/pdf",
            MediaType::Text => "text/plain",
            MediaType::Markdown => "text/markdown",
            MediaType::Csv => "text/csv",
        }
    }

    /// The short name Bedrock's image and document formats use.
    pub fn format(self) -> &'static str {
        match self {
            MediaType::Png => "png",
            MediaType::Jpeg => "jpeg",
            MediaType::Webp => "webp",
            MediaType::Gif => "gif",
            MediaType::Pdf => "pdf",
            MediaType::Text => "txt",
            MediaType::Markdown => "md",
            MediaType::Csv => "csv",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            MediaType::Png,
            MediaType::Jpeg,
            MediaType::Webp,
            MediaType::Gif,
            MediaType::Pdf,
            MediaType::Text,
            MediaType::Markdown,
            MediaType::Csv,
        ]
        .into_iter()
        .find(|t| t.format() == raw)
    }

    pub fn kind(self) -> Kind {
        match self {
            MediaType::Png | MediaType::Jpeg | MediaType::Webp | MediaType::Gif => Kind::Image,
            MediaType::Pdf => Kind::Document,
            MediaType::Text | MediaType::Markdown | MediaType::Csv => Kind::Text,
        }
    }

    pub fn max_bytes(self) -> u64 {
        match self.kind() {
            Kind::Image => MAX_IMAGE_BYTES,
            Kind::Document => MAX_PDF_BYTES,
            Kind::Text => MAX_TEXT_BYTES,
        }
    }

    /// What the page calls it.
    pub fn label(self) -> &'static str {
        match self {
            MediaType::Png => "PNG image",
            MediaType::Jpeg => "JPEG image",
            MediaType::Webp => "WebP image",
            MediaType::Gif => "GIF image",
            MediaType::Pdf => "PDF document",
            MediaType::Text => "text",
            MediaType::Markdown => "Markdown",
            MediaType::Csv => "CSV",
        }
    }
}

/// A file's name as shown and as sent to models: at most 120 characters, without path
/// separators or control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FileName(String);

impl FileName {
    pub const MAX_CHARS: usize = 120;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        // Browsers send a bare name, but some send a path.
        let base = raw.rsplit(['/', '\\']).next().unwrap_or_default().trim();
        if base.is_empty() || base == "." || base == ".." {
            return Err("The file has no name.");
        }
        if base.chars().count() > Self::MAX_CHARS {
            return Err("A file name has at most 120 characters.");
        }
        if base.chars().any(char::is_control) {
            return Err("A file name may not contain control characters.");
        }
        Ok(Self(base.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The extension, lowercased, if any.
    pub fn extension(&self) -> Option<String> {
        let (stem, ext) = self.0.rsplit_once('.')?;
        (!stem.is_empty()).then(|| ext.to_ascii_lowercase())
    }
}

/// One attachment's metadata: one item under its message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub name: FileName,
    pub media_type: MediaType,
    pub size: u64,
    /// An image's size in pixels.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Input tokens it is estimated to cost (`sniff::estimate_tokens`).
    pub tokens: u32,
    /// Where its bytes are in the bucket.
    pub key: String,
}

impl Attachment {
    pub fn kind(&self) -> Kind {
        self.media_type.kind()
    }

    pub fn is_image(&self) -> bool {
        self.kind() == Kind::Image
    }

    /// The link a page shows it by: `<seq>-<id>`.
    pub fn link_name(&self, seq: u32) -> String {
        format!("{seq}-{}", self.id.as_str())
    }

    /// "2.4 MB", "310 KB", "12 bytes".
    pub fn size_label(&self) -> String {
        size_label(self.size)
    }
}

pub fn size_label(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{} KB", bytes.div_ceil(1_000)),
        _ => format!("{:.1} MB", bytes as f64 / 1_000_000.0),
    }
}

/// Where a conversation's files are kept: every key under them goes when it is deleted. A
/// temporary chat's are apart, where the bucket's lifecycle deletes them after two days (the
/// chat itself goes after one).
pub fn conversation_prefixes(owner: &Username, id: &ConversationId) -> [String; 2] {
    [
        format!("files/{}/{}/", owner.as_str(), id.as_str()),
        format!("temporary/{}/{}/", owner.as_str(), id.as_str()),
    ]
}

/// Where all of a user's files and uploads are: deleted with the account.
pub fn owner_prefixes(owner: &Username) -> [String; 3] {
    [
        format!("files/{}/", owner.as_str()),
        format!("temporary/{}/", owner.as_str()),
        format!("uploads/{}/", owner.as_str()),
    ]
}

/// The key an attachment of `conversation` is kept under.
pub fn file_key(owner: &Username, conversation: &Conversation, id: &AttachmentId) -> String {
    let [kept, temporary] = conversation_prefixes(owner, &conversation.id);
    let prefix = if conversation.temporary {
        temporary
    } else {
        kept
    };
    format!("{prefix}{}", id.as_str())
}

/// Reads the bytes of the files `prompt` sends to `model`: text documents always, images and
/// PDFs when the model reads them (the newest `MAX_CONTEXT_IMAGES` of them). Files whose bytes
/// are there already (the send's own, as its claim read them) are not read again. What is not
/// read (or is gone) stays named in the text (`PromptMessage::text_with_documents`).
pub async fn load(
    bucket: Option<&Bucket>,
    model: &crate::ai::Model,
    prompt: &mut crate::ai::Prompt,
) {
    let Some(bucket) = bucket else { return };
    let mut binary_left = MAX_CONTEXT_IMAGES;
    for message in prompt.messages.iter_mut().rev() {
        for file in message.files.iter_mut().rev() {
            let a = &file.attachment;
            let wanted = match a.kind() {
                Kind::Text => true,
                Kind::Image => model.images,
                Kind::Document => model.documents,
            };
            if !wanted {
                continue;
            }
            if a.kind() != Kind::Text {
                if binary_left == 0 {
                    file.data = None;
                    continue;
                }
                binary_left -= 1;
            }
            if file.data.is_some() {
                continue;
            }
            match bucket.read(&a.key, a.media_type.max_bytes()).await {
                Ok(data) => file.data = Some(data),
                Err(err) => tracing::warn!(%err, key = a.key, "an attachment could not be read"),
            }
        }
    }
}

/// Removes every file and upload of `owner`, as their account is deleted (after its items:
/// a file is never left without its owner knowing, only the other way round, and then
/// only until this runs again for the same name).
pub async fn delete_all_of(app: &crate::App, owner: &Username) {
    let Ok(Some(bucket)) = app.bucket().await else {
        return;
    };
    for prefix in owner_prefixes(owner) {
        if let Err(err) = bucket.delete_prefix(&prefix).await {
            tracing::error!(%err, prefix, "a deleted account's files were left behind");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_only_in_their_own_shape() {
        let id = AttachmentId::generate();
        let r = AttachmentRef::parse(&format!("12-{}", id.as_str())).unwrap();
        assert_eq!((r.seq, r.id), (12, id.clone()));
        for bad in [
            "12".to_string(),
            format!("-{}", id.as_str()),
            format!("x-{}", id.as_str()),
            format!("99999999999-{}", id.as_str()),
            "12-short".to_string(),
            format!("12-{}/", &id.as_str()[..15]),
        ] {
            assert_eq!(AttachmentRef::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn file_names_lose_their_path_and_are_bounded() {
        assert_eq!(
            FileName::parse("C:\\Users\\me\\shot.png").unwrap().as_str(),
            "shot.png"
        );
        assert_eq!(
            FileName::parse("a/b/notes.md").unwrap().as_str(),
            "notes.md"
        );
        assert!(FileName::parse("").is_err());
        assert!(FileName::parse("dir/").is_err());
        assert!(FileName::parse("..").is_err());
        assert!(FileName::parse("bad\u{7}.txt").is_err());
        assert!(FileName::parse(&"x".repeat(121)).is_err());
        assert_eq!(
            FileName::parse("Report.PDF")
                .unwrap()
                .extension()
                .as_deref(),
            Some("pdf")
        );
        assert_eq!(FileName::parse(".bashrc").unwrap().extension(), None);
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size_label(12), "12 bytes");
        assert_eq!(size_label(310_200), "311 KB");
        assert_eq!(size_label(2_400_000), "2.4 MB");
    }

    #[test]
    fn media_types_round_trip_by_their_format() {
        for t in [
            MediaType::Png,
            MediaType::Pdf,
            MediaType::Csv,
            MediaType::Text,
        ] {
            assert_eq!(MediaType::parse(t.format()), Some(t));
        }
        assert_eq!(MediaType::parse("svg"), None);
    }
}
