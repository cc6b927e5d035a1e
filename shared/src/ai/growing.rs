//! A reply as its events arrive: the answer and the thinking kept apart, each within its
//! limit, the provider's token counts, and how it ended. The conversation page's turn and
//! the API both write replies through it, so they agree on limits, failures and cost.

use super::{Event, Model, ProviderError};
use crate::conversations::{MAX_REPLY_BYTES, MAX_THINKING_BYTES, Message, MessageState};
use crate::usage::{Cached, Charge};

/// What one event did to the reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Answer text added, to pass on.
    Text(String),
    /// Thinking added, to pass on.
    Thinking(String),
    /// Nothing to pass on (token counts, the output limit reached).
    Quiet,
    /// Stop reading: the reply failed, or the answer reached its size limit (after the text
    /// that filled it, if any).
    Stop(Option<String>),
}

/// A reply being written.
#[derive(Clone, Debug)]
pub struct Growing {
    pub reply: Message,
    /// Prompt tokens the provider's cache served and stored, as its usage says.
    pub cache_read: u32,
    pub cache_write: u32,
    /// Why it failed, if it did.
    pub failure: Option<ProviderError>,
}

/// As much of `text` as fits in `room` bytes, cut at a character boundary.
pub fn within(text: &str, room: usize) -> &str {
    let mut cut = text.len().min(room);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

impl Growing {
    pub fn new(reply: Message) -> Self {
        Self {
            reply,
            cache_read: 0,
            cache_write: 0,
            failure: None,
        }
    }

    /// Takes in the next item of the provider's stream.
    pub fn take(&mut self, item: Result<Event, ProviderError>, model: &Model) -> Step {
        let reply = &mut self.reply;
        match item {
            Ok(Event::Text(text)) => {
                let piece = within(&text, MAX_REPLY_BYTES - reply.text.len()).to_string();
                reply.text.push_str(&piece);
                if piece.len() < text.len() {
                    reply.state = MessageState::Truncated;
                    return Step::Stop((!piece.is_empty()).then_some(piece));
                }
                Step::Text(piece)
            }
            // Kept apart from the answer, up to its own limit; the answer goes on.
            Ok(Event::Thinking(thinking)) => {
                let room = MAX_THINKING_BYTES.saturating_sub(reply.thinking.len());
                let piece = within(&thinking, room);
                if piece.is_empty() {
                    return Step::Quiet;
                }
                reply.thinking.push_str(piece);
                Step::Thinking(piece.to_string())
            }
            Ok(Event::Usage {
                input,
                output,
                cache_read,
                cache_write,
            }) => {
                reply.input_tokens = input.or(reply.input_tokens);
                reply.output_tokens = output.or(reply.output_tokens);
                self.cache_read = cache_read.unwrap_or(self.cache_read);
                self.cache_write = cache_write.unwrap_or(self.cache_write);
                Step::Quiet
            }
            // Stopped at the output limit: marked as cut, its usage still to come.
            Ok(Event::Cut) => {
                reply.state = MessageState::Truncated;
                Step::Quiet
            }
            Err(err) => {
                self.fail(model, &err);
                Step::Stop(None)
            }
        }
    }

    /// The reply failed: what the user is told, with whatever text arrived.
    pub fn fail(&mut self, model: &Model, err: &ProviderError) {
        tracing::warn!(model = %model.id, %err, "the reply failed");
        self.reply.state = MessageState::Failed;
        self.reply.error = Some(err.user_message().to_string());
        self.failure = Some(err.clone());
    }

    /// The stream ended: a reply still being written is complete.
    pub fn end(&mut self) {
        if self.reply.state == MessageState::Streaming {
            self.reply.state = MessageState::Complete;
        }
    }

    /// Fills in the reply's tokens and cost (`Charge::of_reply`), to be counted under
    /// `usage` (a conversation's id and title) and in `groups`' totals.
    pub fn charge(
        &mut self,
        model: &Model,
        prompt_tokens: u32,
        usage: (&str, &str),
        groups: Vec<crate::groups::GroupId>,
        now: u64,
    ) -> Option<Charge> {
        Charge::of_reply(
            &mut self.reply,
            model,
            prompt_tokens,
            Cached::of(model, self.cache_read, self.cache_write),
            usage,
            now,
        )
        .map(|charge| Charge { groups, ..charge })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn growing() -> (Growing, Model) {
        let model = crate::ai::Catalogue::embedded().default_model().clone();
        (
            Growing::new(Message::pending_reply(1, &model.id, "t", 0)),
            model,
        )
    }

    #[test]
    fn answer_thinking_and_usage_are_kept_apart() {
        let (mut g, model) = growing();
        assert_eq!(
            g.take(Ok(Event::Thinking("hmm".into())), &model),
            Step::Thinking("hmm".into())
        );
        assert_eq!(
            g.take(Ok(Event::Text("Hi".into())), &model),
            Step::Text("Hi".into())
        );
        let usage = Event::Usage {
            input: Some(3),
            output: Some(4),
            cache_read: Some(5),
            cache_write: None,
        };
        assert_eq!(g.take(Ok(usage), &model), Step::Quiet);
        g.end();
        assert_eq!(
            (g.reply.text.as_str(), g.reply.thinking.as_str()),
            ("Hi", "hmm")
        );
        assert_eq!(
            (g.reply.input_tokens, g.reply.output_tokens, g.cache_read),
            (Some(3), Some(4), 5)
        );
        assert_eq!(g.reply.state, MessageState::Complete);
    }

    #[test]
    fn limits_and_failures_stop_the_reply() {
        let (mut g, model) = growing();
        let big = "é".repeat(MAX_REPLY_BYTES);
        match g.take(Ok(Event::Text(big)), &model) {
            Step::Stop(Some(piece)) => assert!(piece.len() <= MAX_REPLY_BYTES),
            other => panic!("{other:?}"),
        }
        assert_eq!(g.reply.state, MessageState::Truncated);
        let (mut g, model) = growing();
        assert_eq!(g.take(Ok(Event::Cut), &model), Step::Quiet);
        g.end();
        assert_eq!(g.reply.state, MessageState::Truncated);
        let (mut g, model) = growing();
        assert_eq!(
            g.take(Err(ProviderError::Dropped), &model),
            Step::Stop(None)
        );
        assert_eq!(g.reply.state, MessageState::Failed);
        assert!(g.reply.error.is_some());
        assert_eq!(g.failure, Some(ProviderError::Dropped));
    }

    #[test]
    fn text_is_cut_at_a_character_boundary() {
        assert_eq!(within("héllo", 2), "h");
        assert_eq!(within("héllo", 3), "hé");
        assert_eq!(within("hi", 10), "hi");
    }
}
