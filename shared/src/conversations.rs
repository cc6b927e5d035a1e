//! Conversations and their messages, parsed at the edge: ids, titles, message text and system
//! prompts each have a type that only holds a valid value. Sizes are capped well under
//! DynamoDB's 400 KB item limit (one item per message).

use crate::usage::Cost;

/// The most a user's message may hold, in bytes of UTF-8.
pub const MAX_MESSAGE_BYTES: usize = 32_000;
/// The most of a reply that is kept; a longer one is cut here and marked as cut.
/// The most of a reply's thinking that is kept: beyond it, the rest is dropped (the answer
/// goes on).
pub const MAX_THINKING_BYTES: usize = 100_000;

pub const MAX_REPLY_BYTES: usize = 200_000;
pub const MAX_SYSTEM_PROMPT_BYTES: usize = 8_000;
pub const MAX_TITLE_CHARS: usize = 100;
/// Messages shown per page of a conversation's history.
pub const HISTORY_PAGE: usize = 50;

crate::random_id!(
    /// An unguessable conversation id.
    ConversationId
);

/// The first line of `markdown` with text in it, as a reader sees it: emphasis, code spans,
/// links and headings reduced to their words, HTML tags left out.
fn first_line_as_read(markdown: &str) -> String {
    use pulldown_cmark::{Event, Parser, TagEnd};
    let mut line = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(text) | Event::Code(text) => {
                let mut lines = text.split('\n');
                line.push_str(lines.next().unwrap_or_default());
                // A code block's or a text's second line ends the first.
                if lines.next().is_some() && !line.trim().is_empty() {
                    break;
                }
            }
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::CodeBlock
                | TagEnd::Item
                | TagEnd::BlockQuote(_)
                | TagEnd::TableCell
                | TagEnd::HtmlBlock,
            ) if !line.trim().is_empty() => break,
            _ => {}
        }
    }
    line
}

/// Marks the messages one send (or regenerate) wrote, so that a reply being saved by an older
/// send cannot overwrite a newer one.
pub fn new_turn_id() -> String {
    crate::random::token::<9>()
}

/// Where a conversation is listed: with the recent ones (by activity), pinned above them, or
/// archived (off the list, still searchable, and deletable all at once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Shelf {
    #[default]
    Recent,
    Pinned,
    Archived,
}

impl Shelf {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recent => "recent",
            Self::Pinned => "pinned",
            Self::Archived => "archived",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Recent, Self::Pinned, Self::Archived]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let title = raw.trim();
        if title.is_empty() {
            return Err("Give the conversation a title.");
        }
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err("Titles can be at most 100 characters.");
        }
        if title.chars().any(char::is_control) {
            return Err("Titles are one line of text.");
        }
        Ok(Self(title.to_string()))
    }

    /// A title made from the first message: the text of its first line as it reads, without
    /// its Markdown (`Write **markdown**` is titled "Write markdown"), cut at a word near 60
    /// characters.
    pub fn from_message(text: &MessageText) -> Self {
        let line = first_line_as_read(text.as_str());
        let line: String = if line.trim().is_empty() {
            "New conversation".to_string()
        } else {
            line.trim()
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect()
        };
        if line.chars().count() <= 60 {
            return Self(line);
        }
        let cut: String = line.chars().take(60).collect();
        let cut = match cut.rfind(' ') {
            Some(at) if at > 30 => &cut[..at],
            _ => &cut,
        };
        Self(format!("{}…", cut.trim_end()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a user sends: not blank, at most `MAX_MESSAGE_BYTES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        // Browsers send CRLF in textareas; keep one line ending.
        let text = raw.replace("\r\n", "\n");
        if text.trim().is_empty() {
            return Err("Write a message first.");
        }
        if text.len() > MAX_MESSAGE_BYTES {
            return Err("That message is too long: the limit is 32,000 bytes (about 8,000 words).");
        }
        Ok(Self(text.trim_end().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemPrompt(String);

impl SystemPrompt {
    /// `None` for a blank prompt: the conversation has none.
    pub fn parse(raw: &str) -> Result<Option<Self>, &'static str> {
        let text = raw.replace("\r\n", "\n");
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.len() > MAX_SYSTEM_PROMPT_BYTES {
            return Err("The system prompt can be at most 8,000 bytes.");
        }
        Ok(Some(Self(text.to_string())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    pub title: String,
    /// The catalogue id of the model new replies come from.
    pub model: String,
    pub system: Option<String>,
    pub created_at: u64,
    /// Last activity: creation, or the last message sent.
    pub updated_at: u64,
    /// The sequence number the next message will get; also the number of messages.
    pub next_seq: u32,
    /// While the conversation is shared: the token of its read-only link.
    pub share: Option<String>,
    /// A temporary chat: never listed or searched, and kept for a day only.
    pub temporary: bool,
    /// Where it is listed: with the recent ones, pinned above them, or archived.
    pub shelf: Shelf,
    /// When it (and every message in it) is deleted: a temporary chat a day after it began;
    /// under a retention period, that long after its last activity. Stored as the table's TTL.
    pub expires_at: Option<u64>,
    /// Its own temperature, output limit and reasoning effort, where set.
    pub parameters: crate::parameters::Parameters,
    /// The folder it is filed in (only while on no other shelf: see `FolderStore`).
    pub folder: Option<crate::folders::FolderId>,
    /// The last message of the branch it shows, which a turn moves to its reply; `None`: its
    /// last message.
    pub leaf: Option<u32>,
}

impl Conversation {
    pub fn new(title: Title, model: String, system: Option<SystemPrompt>, now: u64) -> Self {
        Self {
            id: ConversationId::generate(),
            title: title.0,
            model,
            system: system.map(|s| s.0),
            created_at: now,
            updated_at: now,
            next_seq: 0,
            share: None,
            temporary: false,
            expires_at: None,
            shelf: Shelf::Recent,
            parameters: Default::default(),
            folder: None,
            leaf: None,
        }
    }
    /// How long a temporary chat is kept.
    pub const TEMPORARY_SECONDS: u64 = 86_400;

    /// A temporary chat: never listed, deleted a day after it began.
    pub fn temporary(title: Title, model: String, system: Option<SystemPrompt>, now: u64) -> Self {
        Self {
            temporary: true,
            expires_at: Some(now + Self::TEMPORARY_SECONDS),
            ..Self::new(title, model, system, now)
        }
    }

    /// Whether it has expired at `now` (the store may not have deleted it yet).
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// When a turn at `now` makes it expire: a temporary chat keeps its day; under a
    /// retention period of `retention_days`, that long after `now`; otherwise never.
    pub fn expiry_after_turn(&self, now: u64, retention_days: Option<u32>) -> Option<u64> {
        if self.temporary {
            return self.expires_at;
        }
        retention_days.map(|days| now + u64::from(days) * 86_400)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speaker {
    User,
    Assistant,
}

impl Speaker {
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::User => "user",
            Speaker::Assistant => "assistant",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(Speaker::User),
            "assistant" => Some(Speaker::Assistant),
            _ => None,
        }
    }
}

/// Where a message stands. A user's message is always `Complete`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageState {
    /// The reply is still arriving; what is stored is what has arrived so far.
    Streaming,
    Complete,
    /// The provider failed or timed out; what is stored is what arrived before.
    Failed,
    /// The reply passed `MAX_REPLY_BYTES` and was cut there.
    Truncated,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Streaming => "streaming",
            MessageState::Complete => "complete",
            MessageState::Failed => "failed",
            MessageState::Truncated => "truncated",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "streaming" => MessageState::Streaming,
            "complete" => MessageState::Complete,
            "failed" => MessageState::Failed,
            "truncated" => MessageState::Truncated,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub seq: u32,
    pub speaker: Speaker,
    pub text: String,
    pub state: MessageState,
    /// The send that wrote this message (see `new_turn_id`).
    pub turn: String,
    /// For replies: the catalogue id of the model that wrote it.
    pub model: Option<String>,
    pub input_tokens: Option<u32>,
    pub output_tokens: Option<u32>,
    /// For replies: what it cost at the catalogue's prices.
    pub cost: Option<Cost>,
    /// Whether the tokens are our estimate rather than the provider's count.
    pub tokens_estimated: bool,
    /// For replies of models that reason: their thinking, shown apart from the answer.
    pub thinking: String,
    /// For failed replies: what went wrong, in words for the user.
    pub error: Option<String>,
    pub updated_at: u64,
    /// When it is deleted with its conversation (see `Conversation::expires_at`).
    pub expires_at: Option<u64>,
    /// For the user's messages: the files sent with it.
    pub attachments: Vec<crate::attachments::Attachment>,
    /// The message it follows in its branch (`None`: it begins the conversation). A message
    /// edited, or a reply regenerated, becomes a sibling of the one it replaces: a new message
    /// with the same parent (see `branches`).
    pub parent: Option<u32>,
}

impl Message {
    /// A message with no model, tokens, cost or error (yet).
    pub(crate) fn plain(
        seq: u32,
        speaker: Speaker,
        text: String,
        state: MessageState,
        turn: &str,
        now: u64,
    ) -> Self {
        Self {
            seq,
            speaker,
            text,
            state,
            turn: turn.to_string(),
            model: None,
            input_tokens: None,
            output_tokens: None,
            cost: None,
            tokens_estimated: false,
            thinking: String::new(),
            error: None,
            updated_at: now,
            expires_at: None,
            attachments: Vec::new(),
            parent: seq.checked_sub(1),
        }
    }

    /// Whether it has expired at `now` (the store may not have deleted it yet).
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    pub fn user(seq: u32, text: &MessageText, turn: &str, now: u64) -> Self {
        Self::plain(
            seq,
            Speaker::User,
            text.0.clone(),
            MessageState::Complete,
            turn,
            now,
        )
    }

    /// The empty reply a send starts with, filled in as the provider streams.
    pub fn pending_reply(seq: u32, model: &str, turn: &str, now: u64) -> Self {
        Self {
            model: Some(model.to_string()),
            ..Self::plain(
                seq,
                Speaker::Assistant,
                String::new(),
                MessageState::Streaming,
                turn,
                now,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_parse_back() {
        let a = ConversationId::generate();
        assert_ne!(a, ConversationId::generate());
        assert_eq!(ConversationId::parse(a.as_str()), Some(a));
        for bad in [
            "",
            "short",
            "../../etc/passwd",
            "aaaaaaaaaaaaaaa=",
            "aaaaaaaaaaaaaaaaa",
        ] {
            assert_eq!(ConversationId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn messages_must_say_something_and_not_too_much() {
        assert!(MessageText::parse("  \r\n ").is_err());
        assert_eq!(
            MessageText::parse("hi\r\nthere\n").unwrap().as_str(),
            "hi\nthere"
        );
        assert!(MessageText::parse(&"a".repeat(MAX_MESSAGE_BYTES)).is_ok());
        assert!(MessageText::parse(&"a".repeat(MAX_MESSAGE_BYTES + 1)).is_err());
    }

    #[test]
    fn titles_come_from_the_first_line() {
        let text = MessageText::parse("\n  Plan a trip\nto Rome").unwrap();
        assert_eq!(Title::from_message(&text).as_str(), "Plan a trip");
        let long = MessageText::parse(&"word ".repeat(30)).unwrap();
        let title = Title::from_message(&long);
        assert!(title.as_str().ends_with('…'));
        assert!(title.as_str().chars().count() <= 61);
        for (message, title) in [
            (
                "Write **markdown** with a code block:",
                "Write markdown with a code block:",
            ),
            ("# Trip to *Rome*\nDetails follow", "Trip to Rome"),
            (
                "Explain `git rebase` and [merging](https://git-scm.com)",
                "Explain git rebase and merging",
            ),
            (
                "```rust\nfn main() {}\n```\nWhy does this fail?",
                "fn main() {}",
            ),
            ("<b>bold</b> move", "bold move"),
            ("- first item\n- second", "first item"),
            ("> quoted line\nnext", "quoted line"),
            ("**", "**"),
        ] {
            let text = MessageText::parse(message).unwrap();
            assert_eq!(Title::from_message(&text).as_str(), title, "{message}");
        }
        assert!(Title::parse(" ").is_err());
        assert!(Title::parse(&"x".repeat(101)).is_err());
        assert!(Title::parse("a\u{7}b").is_err());
    }

    #[test]
    fn blank_system_prompts_are_none() {
        assert_eq!(SystemPrompt::parse("  ").unwrap(), None);
        assert!(SystemPrompt::parse(&"a".repeat(8001)).is_err());
    }
}
