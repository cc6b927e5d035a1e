//! What is sent upstream: the system prompt and as much of the conversation's history as
//! fits the model's context window.
//!
//! The rule (documented in docs/models.md): tokens are estimated as one per 4 bytes of text
//! plus 4 per message. The budget is the model's `context_tokens` minus its
//! `max_output_tokens` (kept free for the reply) minus the system prompt. The newest message
//! is always sent; older messages are added, newest first, while they fit; the first one that
//! does not fit ends the history there, so what is sent is always a recent, unbroken stretch.
//! Replies with no text (a failed start) are left out, and the stretch starts at a user's
//! message, as providers require.

use bytes::Bytes;

use crate::attachments::{Attachment, Kind};
use crate::conversations::{Message, MessageState, Speaker};

use super::Model;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PromptMessage {
    /// `user` or `assistant`, as both APIs name them.
    pub role: &'static str,
    pub text: String,
    /// The files sent with it; their bytes are read just before the model is asked
    /// (`attachments::load`).
    pub files: Vec<PromptFile>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptFile {
    pub attachment: Attachment,
    /// Its bytes, when they are sent (`None`: named only, in the text).
    pub data: Option<Bytes>,
}

impl PromptMessage {
    /// The message's text with its text documents inlined (every model reads text), and a
    /// note for each file not sent: what every provider sends as the text part.
    pub fn text_with_documents(&self) -> String {
        let mut text = self.text.clone();
        for file in &self.files {
            let a = &file.attachment;
            match (&file.data, a.kind()) {
                (Some(data), Kind::Text) => {
                    let content = String::from_utf8_lossy(data);
                    let content = content.strip_prefix('\u{feff}').unwrap_or(&content);
                    text.push_str(&format!(
                        "\n\n<document name=\"{}\">\n{}\n</document>",
                        a.name.as_str().replace('"', "'"),
                        content.trim_end()
                    ));
                }
                (None, _) => text.push_str(&format!(
                    "\n\n[Attached {} \"{}\": not sent to this model.]",
                    a.media_type.label(),
                    a.name.as_str()
                )),
                _ => {}
            }
        }
        text
    }

    /// The files sent as images or documents (not as text).
    pub fn binary_files(&self) -> impl Iterator<Item = (&Attachment, &Bytes)> {
        self.files.iter().filter_map(|f| {
            let data = f.data.as_ref()?;
            (f.attachment.kind() != Kind::Text).then_some((&f.attachment, data))
        })
    }
}

/// What a message costs of the context: its text and its files (`attachments::sniff`).
fn message_tokens(message: &Message) -> u32 {
    estimate_tokens(&message.text) + message.attachments.iter().map(|a| a.tokens).sum::<u32>()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub system: Option<String>,
    pub messages: Vec<PromptMessage>,
    /// The conversation's temperature, in hundredths (`parameters`); none: the model's own.
    pub temperature: Option<u16>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContextError {
    #[error("the message alone is longer than the model's context allows")]
    TooLong,
    #[error("there is no message to answer")]
    Empty,
}

pub fn estimate_tokens(text: &str) -> u32 {
    (text.len() as u32).div_ceil(4) + 4
}

impl Prompt {
    /// The last message of the part a conversation's next turn sends again (all but the
    /// newest message): where prompt caching marks the end of the cacheable prefix. `None`
    /// when there is only the newest message.
    pub fn last_stable(&self) -> Option<usize> {
        self.messages.len().checked_sub(2)
    }

    /// The prompt for a reply to the last message of `history` (oldest first).
    pub fn build(
        model: &Model,
        system: Option<&str>,
        history: &[Message],
    ) -> Result<Self, ContextError> {
        let system_tokens = system.map_or(0, estimate_tokens);
        let budget = model
            .context_tokens
            .saturating_sub(model.max_output_tokens)
            .saturating_sub(system_tokens);
        let usable = history.iter().filter(|m| {
            m.speaker == Speaker::User
                || (m.state != MessageState::Streaming && !m.text.trim().is_empty())
        });
        let mut picked: Vec<&Message> = Vec::new();
        let mut used = 0;
        for message in usable.rev() {
            let cost = message_tokens(message);
            if used + cost > budget {
                if picked.is_empty() {
                    return Err(ContextError::TooLong);
                }
                break;
            }
            used += cost;
            picked.push(message);
        }
        picked.reverse();
        while picked.first().is_some_and(|m| m.speaker != Speaker::User) {
            picked.remove(0);
        }
        if picked.is_empty() {
            return Err(ContextError::Empty);
        }
        // Two user messages in a row (a reply that failed before any text) become one, so
        // that roles alternate as Anthropic requires.
        let mut messages: Vec<PromptMessage> = Vec::new();
        for message in picked {
            let role = message.speaker.as_str();
            match messages.last_mut() {
                Some(last) if last.role == role => {
                    last.text.push_str("\n\n");
                    last.text.push_str(&message.text);
                    last.files.extend(files_of(message));
                }
                _ => messages.push(PromptMessage {
                    role: if message.speaker == Speaker::User {
                        "user"
                    } else {
                        "assistant"
                    },
                    text: message.text.clone(),
                    files: files_of(message).collect(),
                }),
            }
        }
        Ok(Self {
            system: system.map(str::to_string),
            messages,
            temperature: None,
        })
    }

    pub fn estimated_tokens(&self) -> u32 {
        self.system.as_deref().map_or(0, estimate_tokens)
            + self
                .messages
                .iter()
                .map(|m| {
                    estimate_tokens(&m.text)
                        + m.files.iter().map(|f| f.attachment.tokens).sum::<u32>()
                })
                .sum::<u32>()
    }
}

fn files_of(message: &Message) -> impl Iterator<Item = PromptFile> + '_ {
    message.attachments.iter().map(|a| PromptFile {
        attachment: a.clone(),
        data: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::Catalogue;
    use crate::conversations::MessageText;

    fn model(context: u32, reserve: u32) -> Model {
        let mut model = Catalogue::embedded().default_model().clone();
        model.context_tokens = context;
        model.max_output_tokens = reserve;
        model
    }

    fn history(texts: &[(&str, Speaker)]) -> Vec<Message> {
        texts
            .iter()
            .enumerate()
            .map(|(i, (text, speaker))| {
                let mut m = Message::user(i as u32, &MessageText::parse("x").unwrap(), "t", 0);
                m.speaker = *speaker;
                m.text = text.to_string();
                m
            })
            .collect()
    }

    #[test]
    fn the_newest_messages_that_fit_are_sent() {
        use Speaker::*;
        // Each 40-byte message costs 14 tokens; the budget is 50 - 10 = 40: two fit, the
        // third does not, and the stretch then starts at a user's message.
        let h = history(&[
            (&"a".repeat(40), User),
            (&"b".repeat(40), Assistant),
            (&"c".repeat(40), User),
            (&"d".repeat(40), Assistant),
            (&"e".repeat(40), User),
        ]);
        let prompt = Prompt::build(&model(50, 10), None, &h).unwrap();
        assert_eq!(prompt.messages.len(), 1, "{prompt:?}");
        assert!(prompt.messages[0].text.starts_with('e'));
        let prompt = Prompt::build(&model(60, 10), Some("be brief"), &h).unwrap();
        let firsts: String = prompt.messages.iter().map(|m| &m.text[..1]).collect();
        assert_eq!(firsts, "cde");
        assert_eq!(prompt.system.as_deref(), Some("be brief"));
    }

    #[test]
    fn a_message_too_long_for_the_model_is_refused() {
        let h = history(&[(&"a".repeat(400), Speaker::User)]);
        assert_eq!(
            Prompt::build(&model(100, 10), None, &h),
            Err(ContextError::TooLong)
        );
    }

    #[test]
    fn empty_replies_are_left_out_and_users_merge() {
        use Speaker::*;
        let h = history(&[("one", User), ("", Assistant), ("two", User)]);
        let prompt = Prompt::build(&model(1000, 10), None, &h).unwrap();
        assert_eq!(
            prompt.messages,
            vec![PromptMessage {
                role: "user",
                text: "one\n\ntwo".into(),
                files: Vec::new(),
            }]
        );
    }
}
