//! Reading an import: the uploaded file out of a `multipart/form-data` post, then the export
//! (`format`) checked whole, every field parsed into the types the store keeps, before
//! anything is written.

use std::collections::HashSet;

use bytes::Bytes;
use lambda_http::Request;
use lambda_http::http::StatusCode;
use shared::conversations::{
    Conversation, ConversationId, MAX_REPLY_BYTES, MAX_THINKING_BYTES, Message, MessageState,
    MessageText, Speaker, SystemPrompt, Title, new_turn_id,
};
use shared::store::Transcript;
use shared::usage::Cost;

use crate::format::{ExportConversation, ExportFile, ExportMessage, FORMAT, READ_VERSIONS};

/// The largest file an import takes: a Lambda request holds 6 MB, and API Gateway sends an
/// upload base64-encoded (a third larger).
pub const MAX_IMPORT_BYTES: usize = 4 * 1024 * 1024;
/// The most conversations and messages one import writes: a 4 MiB file of tiny ones would
/// otherwise mean thousands of writes, past what one request should take.
pub const MAX_IMPORT_CONVERSATIONS: usize = 1_000;
pub const MAX_IMPORT_MESSAGES: usize = 20_000;
/// Room for the form's other parts and the multipart framing.
const MAX_BODY_BYTES: usize = MAX_IMPORT_BYTES + 16 * 1024;
const MAX_MODEL_ID_CHARS: usize = 100;
const MAX_ERROR_CHARS: usize = 1000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("The file is larger than the 4 MiB an import may be. Nothing was imported.")]
    TooLarge,
    #[error("Choose an export file to import.")]
    NoFile,
    #[error("That file is not valid JSON ({0}). Nothing was imported.")]
    NotJson(String),
    #[error(
        "That file is not a Switchboard export (format switchboard-export, version 1 or 2). \
         Nothing was imported."
    )]
    NotAnExport,
    #[error(
        "That file holds {conversations} conversations and {messages} messages; an import takes \
         at most {MAX_IMPORT_CONVERSATIONS} conversations and {MAX_IMPORT_MESSAGES} messages. \
         Nothing was imported: split the export and import the parts."
    )]
    TooMany {
        conversations: usize,
        messages: usize,
    },
    #[error("Conversation {number} (“{title}”): {problem}. Nothing was imported.")]
    Invalid {
        number: usize,
        title: String,
        problem: String,
    },
}

impl ImportError {
    pub fn status(&self) -> StatusCode {
        match self {
            ImportError::TooLarge | ImportError::TooMany { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// The upload: the form's CSRF token and the file's bytes.
pub struct Upload {
    pub csrf_token: String,
    pub file: Option<Bytes>,
}

/// Reads the `multipart/form-data` body: its `csrf_token` field and its `file`.
pub async fn upload(req: &Request) -> Result<Upload, ImportError> {
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ImportError::TooLarge);
    }
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(MAX_BODY_BYTES as u64)
            .for_field("file", MAX_IMPORT_BYTES as u64)
            .for_field("csrf_token", 1024),
    );
    let mut multipart = shared::form::multipart(req, constraints).ok_or(ImportError::NoFile)?;
    let mut upload = Upload {
        csrf_token: String::new(),
        file: None,
    };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => return Err(multipart_error(err)),
        };
        match field.name() {
            Some("csrf_token") => {
                upload.csrf_token = field.text().await.map_err(multipart_error)?;
            }
            Some("file") => {
                let bytes = field.bytes().await.map_err(multipart_error)?;
                upload.file = (!bytes.is_empty()).then_some(bytes);
            }
            _ => {}
        }
    }
    Ok(upload)
}

fn multipart_error(err: multer::Error) -> ImportError {
    match err {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            ImportError::TooLarge
        }
        other => {
            tracing::info!(err = %other, "malformed upload");
            ImportError::NoFile
        }
    }
}

/// Checks the whole file and gives back its conversations as the store keeps them.
pub fn parse(file: &[u8]) -> Result<Vec<Transcript>, ImportError> {
    if file.len() > MAX_IMPORT_BYTES {
        return Err(ImportError::TooLarge);
    }
    let value: serde_json::Value = serde_json::from_slice(file)
        .map_err(|e| ImportError::NotJson(format!("line {}, column {}", e.line(), e.column())))?;
    let version = value
        .get("version")
        .and_then(|v| v.as_u64())
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| READ_VERSIONS.contains(v));
    let (true, Some(version)) = (
        value.get("format").and_then(|f| f.as_str()) == Some(FORMAT),
        version,
    ) else {
        return Err(ImportError::NotAnExport);
    };
    let export: ExportFile = serde_json::from_value(value).map_err(|e| ImportError::Invalid {
        number: 0,
        title: String::new(),
        problem: e.to_string(),
    })?;
    let messages = export.conversations.iter().map(|c| c.messages.len()).sum();
    if export.conversations.len() > MAX_IMPORT_CONVERSATIONS || messages > MAX_IMPORT_MESSAGES {
        return Err(ImportError::TooMany {
            conversations: export.conversations.len(),
            messages,
        });
    }
    let mut seen = HashSet::new();
    export
        .conversations
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let (number, title) = (i + 1, c.title.clone());
            let invalid = |problem: String| ImportError::Invalid {
                number,
                title: title.clone(),
                problem,
            };
            if !seen.insert(c.id.clone()) {
                return Err(invalid("its id appears twice in the file".to_string()));
            }
            conversation(c, version).map_err(invalid)
        })
        .collect()
}

fn conversation(c: ExportConversation, version: u32) -> Result<Transcript, String> {
    let id = ConversationId::parse(&c.id).ok_or("its id is not valid")?;
    let title = Title::parse(&c.title).map_err(|e| format!("its title: {e}"))?;
    check_model_id(&c.model).map_err(|e| format!("its model: {e}"))?;
    let system = SystemPrompt::parse(c.system.as_deref().unwrap_or_default())
        .map_err(|e| format!("its system prompt: {e}"))?;
    let mut messages = Vec::with_capacity(c.messages.len());
    let mut turn = new_turn_id();
    for (seq, m) in c.messages.into_iter().enumerate() {
        let seq = u32::try_from(seq).map_err(|_| "it has too many messages")?;
        // Version 1 had no branches: each message followed the one before.
        let parent = if version >= 2 {
            m.parent
        } else {
            seq.checked_sub(1)
        };
        if parent.is_some_and(|p| p >= seq) {
            return Err(format!(
                "message {}: its parent must be an earlier message",
                seq + 1
            ));
        }
        let message =
            message(seq, m, parent, &mut turn).map_err(|e| format!("message {}: {e}", seq + 1))?;
        messages.push(message);
    }
    let leaf = c.leaf;
    if leaf.is_some_and(|l| l as usize >= messages.len()) {
        return Err("its leaf must be one of its messages".into());
    }
    let conversation = Conversation {
        id,
        title: title.as_str().to_string(),
        model: c.model,
        system: system.map(|s| s.as_str().to_string()),
        created_at: c.created_at,
        updated_at: c.updated_at,
        next_seq: messages.len() as u32,
        share: None,
        temporary: false,
        // Set by the importing account's retention period, if it has one.
        expires_at: None,
        // Imports land on the recent list (exports do not carry pins or archiving).
        shelf: Default::default(),
        // Nor parameters: the model's defaults.
        parameters: Default::default(),
        // Nor folders.
        folder: None,
        leaf,
    };
    Ok((conversation, messages))
}

fn message(
    seq: u32,
    m: ExportMessage,
    parent: Option<u32>,
    turn: &mut String,
) -> Result<Message, String> {
    let speaker = Speaker::parse(&m.speaker).ok_or("its speaker must be user or assistant")?;
    let (state, error) = match MessageState::parse(&m.state) {
        // Nothing will finish it now.
        Some(MessageState::Streaming) => (
            MessageState::Failed,
            Some("This reply was interrupted before it finished.".to_string()),
        ),
        Some(state) => (state, m.error),
        None => return Err(format!("its state {:?} is not known", m.state)),
    };
    if error
        .as_ref()
        .is_some_and(|e| e.chars().count() > MAX_ERROR_CHARS)
    {
        return Err("its error is too long".into());
    }
    if let Some(model) = &m.model {
        check_model_id(model).map_err(|e| format!("its model: {e}"))?;
    }
    let text = match speaker {
        Speaker::User => {
            // Each message of the user's starts a turn; the replies after it share it.
            *turn = new_turn_id();
            MessageText::parse(&m.text)?.as_str().to_string()
        }
        Speaker::Assistant if m.text.len() > MAX_REPLY_BYTES => {
            return Err(format!("it is longer than {MAX_REPLY_BYTES} bytes"));
        }
        Speaker::Assistant => m.text,
    };
    if m.thinking.len() > MAX_THINKING_BYTES {
        return Err(format!(
            "its thinking is longer than {MAX_THINKING_BYTES} bytes"
        ));
    }
    if speaker == Speaker::User && !m.thinking.is_empty() {
        return Err("only replies have thinking".into());
    }
    Ok(Message {
        seq,
        speaker,
        text,
        state,
        turn: turn.clone(),
        model: m.model,
        input_tokens: m.input_tokens,
        output_tokens: m.output_tokens,
        cost: m.cost_nanodollars.map(Cost::from_nanos),
        tokens_estimated: m.tokens_estimated,
        thinking: m.thinking,
        error,
        updated_at: m.at,
        expires_at: None,
        // Exports carry no attachments (docs/export.md).
        attachments: Vec::new(),
        parent,
    })
}

fn check_model_id(id: &str) -> Result<(), &'static str> {
    let valid = !id.is_empty()
        && id.chars().count() <= MAX_MODEL_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'));
    if valid { Ok(()) } else { Err("not a model id") }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn export(conversations: serde_json::Value) -> Vec<u8> {
        json!({
            "format": "switchboard-export",
            "version": 1,
            "exported_at": 5,
            "conversations": conversations,
        })
        .to_string()
        .into_bytes()
    }

    fn conversation(id: &str, messages: serde_json::Value) -> serde_json::Value {
        json!({
            "id": id, "title": "Plans", "model": "gpt-4o-mini", "system": null,
            "created_at": 1, "updated_at": 2, "messages": messages,
        })
    }

    fn message(speaker: &str, text: &str, state: &str) -> serde_json::Value {
        json!({ "speaker": speaker, "text": text, "state": state, "at": 3 })
    }

    #[test]
    fn version_two_carries_branches_and_version_one_is_a_line() {
        let branched = json!({
            "format": "switchboard-export", "version": 2, "exported_at": 5,
            "conversations": [{
                "id": "branchedconver01", "title": "Plans", "model": "m", "system": null,
                "created_at": 1, "updated_at": 2, "leaf": 2,
                "messages": [
                    { "speaker": "user", "text": "a", "state": "complete", "at": 3, "parent": null },
                    { "speaker": "assistant", "text": "b", "state": "complete", "at": 3, "parent": 0 },
                    { "speaker": "assistant", "text": "c", "state": "complete", "at": 3, "parent": 0 },
                ],
            }],
        });
        let read = parse(branched.to_string().as_bytes()).unwrap();
        let (c, messages) = &read[0];
        assert_eq!(c.leaf, Some(2));
        let parents: Vec<_> = messages.iter().map(|m| m.parent).collect();
        assert_eq!(parents, [None, Some(0), Some(0)]);
        let line = export(json!([conversation(
            "lineconversati01",
            json!([
                message("user", "a", "complete"),
                message("assistant", "b", "complete")
            ])
        )]));
        let read = parse(&line).unwrap();
        let parents: Vec<_> = read[0].1.iter().map(|m| m.parent).collect();
        assert_eq!(parents, [None, Some(0)]);
        // A parent that is not an earlier message, or a leaf that is no message: refused.
        let mut bad = branched.clone();
        bad["conversations"][0]["messages"][1]["parent"] = json!(1);
        assert!(parse(bad.to_string().as_bytes()).is_err());
        let mut bad = branched.clone();
        bad["conversations"][0]["leaf"] = json!(3);
        assert!(parse(bad.to_string().as_bytes()).is_err());
    }

    #[test]
    fn a_valid_export_becomes_transcripts() {
        let file = export(json!([conversation(
            "AAAAAAAAAAAAAAAA",
            json!([
                message("user", "hi", "complete"),
                message("assistant", "hello", "complete"),
                message("user", "again", "complete"),
                message("assistant", "half", "streaming"),
            ])
        )]));
        let transcripts = parse(&file).unwrap();
        let (c, messages) = &transcripts[0];
        assert_eq!(
            (c.id.as_str(), c.next_seq, c.share.as_ref()),
            ("AAAAAAAAAAAAAAAA", 4, None)
        );
        assert_eq!(
            messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        assert_eq!(
            messages[0].turn, messages[1].turn,
            "a reply shares its message's turn"
        );
        assert_ne!(messages[1].turn, messages[2].turn);
        assert_eq!(
            messages[3].state,
            MessageState::Failed,
            "an unfinished reply stays so"
        );
    }

    #[test]
    fn thinking_is_imported_for_replies_only_and_bounded() {
        let mut reply = message("assistant", "hello", "complete");
        reply["thinking"] = json!("Consider the greeting.");
        let file = export(json!([conversation(
            "AAAAAAAAAAAAAAAA",
            json!([message("user", "hi", "complete"), reply])
        )]));
        let transcripts = parse(&file).unwrap();
        assert_eq!(transcripts[0].1[1].thinking, "Consider the greeting.");
        assert_eq!(transcripts[0].1[0].thinking, "");

        let mut mine = message("user", "hi", "complete");
        mine["thinking"] = json!("not mine to have");
        let file = export(json!([conversation("AAAAAAAAAAAAAAAA", json!([mine]))]));
        assert!(matches!(parse(&file), Err(ImportError::Invalid { .. })));
        let mut long = message("assistant", "hello", "complete");
        long["thinking"] = json!("x".repeat(MAX_THINKING_BYTES + 1));
        let file = export(json!([conversation(
            "AAAAAAAAAAAAAAAA",
            json!([message("user", "hi", "complete"), long])
        )]));
        assert!(matches!(parse(&file), Err(ImportError::Invalid { .. })));
    }

    #[test]
    fn files_past_the_counts_are_refused_whole() {
        let id = |i: usize| format!("{i:0>16}");
        let many: Vec<_> = (0..=MAX_IMPORT_CONVERSATIONS)
            .map(|i| conversation(&id(i), json!([])))
            .collect();
        let refused = parse(&export(json!(many)));
        assert!(
            matches!(refused, Err(ImportError::TooMany { conversations, .. }) if conversations == MAX_IMPORT_CONVERSATIONS + 1)
        );
        let refused = refused.unwrap_err();
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(refused.to_string().contains("Nothing was imported"));

        let words = vec![message("user", "hi", "complete"); MAX_IMPORT_MESSAGES / 2 + 1];
        let long: Vec<_> = (0..2).map(|i| conversation(&id(i), json!(words))).collect();
        assert!(matches!(
            parse(&export(json!(long))),
            Err(ImportError::TooMany { messages, .. }) if messages == MAX_IMPORT_MESSAGES + 2
        ));
        let just: Vec<_> = (0..MAX_IMPORT_CONVERSATIONS)
            .map(|i| conversation(&id(i), json!([])))
            .collect();
        assert_eq!(
            parse(&export(json!(just))).unwrap().len(),
            MAX_IMPORT_CONVERSATIONS
        );
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        assert!(matches!(parse(b"{not json"), Err(ImportError::NotJson(_))));
        assert_eq!(
            parse(b"{\"format\": \"other\"}"),
            Err(ImportError::NotAnExport)
        );
        let big = vec![b' '; MAX_IMPORT_BYTES + 1];
        assert_eq!(parse(&big), Err(ImportError::TooLarge));
        let cases = [
            (conversation("short", json!([])), "its id is not valid"),
            (
                conversation(
                    "AAAAAAAAAAAAAAAA",
                    json!([message("robot", "x", "complete")]),
                ),
                "message 1: its speaker must be user or assistant",
            ),
            (
                conversation("AAAAAAAAAAAAAAAA", json!([message("user", "", "complete")])),
                "message 1: Write a message first.",
            ),
            (
                conversation("AAAAAAAAAAAAAAAA", json!([message("user", "x", "lost")])),
                "message 1: its state \"lost\" is not known",
            ),
            (
                conversation(
                    "AAAAAAAAAAAAAAAA",
                    json!([message("user", &"x".repeat(32_001), "complete")]),
                ),
                "message 1: ",
            ),
        ];
        for (c, expected) in cases {
            let err = parse(&export(json!([c]))).unwrap_err();
            assert!(err.to_string().contains(expected), "{err} / {expected}");
            assert!(
                err.to_string().contains("Conversation 1 (“Plans”)"),
                "{err}"
            );
        }
        let twice = export(json!([
            conversation("AAAAAAAAAAAAAAAA", json!([])),
            conversation("AAAAAAAAAAAAAAAA", json!([])),
        ]));
        assert!(
            parse(&twice)
                .unwrap_err()
                .to_string()
                .contains("appears twice")
        );
        let unknown_field = export(json!([{ "id": "AAAAAAAAAAAAAAAA", "surprise": 1 }]));
        assert!(matches!(
            parse(&unknown_field),
            Err(ImportError::Invalid { .. })
        ));
    }
}
