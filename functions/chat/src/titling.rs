//! A new conversation's title, made after its first reply by the catalogue's `title_model`
//! (a cheap one), its cost recorded like any reply's. Until then, and whenever the model
//! fails or says nothing usable, the title is the first message's first line without its
//! Markdown (`Title::from_message`). A title the user chose meanwhile is never replaced.

use std::time::Duration;

use shared::App;
use shared::ai::{Event, Model, Prompt, PromptMessage};
use shared::conversations::{ConversationId, Message, MessageState, Title};
use shared::session;
use shared::store::{ConversationStore, UsageStore};
use shared::usage::{Cached, Charge};
use shared::users::Username;

/// What the title model may write: a title, not an essay.
const TITLE_OUTPUT_TOKENS: u32 = 24;
/// Of the first message and the reply, what the title model is shown.
const EXCERPT_CHARS: usize = 1500;
/// Of what it writes, what is read.
const MAX_TITLE_BYTES: usize = 400;
/// The reply is there; the title may not hold the response up for longer.
const DEADLINE: Duration = Duration::from_secs(8);

const INSTRUCTION: &str = "You name conversations. Answer with a title of at most six words \
                           for the conversation you are shown, in its language. No quotes, no \
                           Markdown, no full stop.";

/// The conversation being titled: whose, which, and the title it started with.
pub struct Untitled {
    pub owner: Username,
    pub id: ConversationId,
    pub first: Title,
    pub message: String,
    /// The groups the title's cost counts in, as the reply's does.
    pub groups: Vec<shared::groups::GroupId>,
}

/// Asks the title model for a title for the conversation's first exchange and puts it in
/// place of the first one, unless it was renamed meanwhile. Failures are logged and leave
/// the first title.
pub async fn retitle(app: &App, untitled: &Untitled, reply: &Message) -> Option<Title> {
    let model = app.config.models.title_model()?;
    if reply.state != MessageState::Complete || reply.text.trim().is_empty() {
        return None;
    }
    let model = Model {
        max_output_tokens: TITLE_OUTPUT_TOKENS.min(model.max_output_tokens),
        ..model.clone()
    };
    let prompt = Prompt {
        temperature: None,
        system: Some(INSTRUCTION.to_string()),
        messages: vec![PromptMessage {
            role: "user",
            text: format!(
                "The first message:\n\n{}\n\nThe reply:\n\n{}",
                excerpt(&untitled.message),
                excerpt(&reply.text)
            ),
            files: Vec::new(),
        }],
    };
    let mut answer = Message::pending_reply(0, &model.id, "title", session::now());
    let written = tokio::time::timeout(DEADLINE, ask(app, &model, &prompt, &mut answer)).await;
    let store = app.store().await.ok()?;
    let title = match written {
        Ok(Ok(())) => tidy(&answer.text),
        Ok(Err(err)) => {
            tracing::warn!(model = %model.id, %err, "the title model failed");
            None
        }
        Err(_) => {
            tracing::warn!(model = %model.id, "the title model took too long");
            None
        }
    };
    // Whatever it wrote was paid for.
    let charge = Charge::of_reply(
        &mut answer,
        &model,
        prompt.estimated_tokens(),
        Cached::of(&model, 0, 0),
        (untitled.id.as_str(), untitled.first.as_str()),
        session::now(),
    )
    .map(|charge| Charge {
        groups: untitled.groups.clone(),
        ..charge
    });
    if let Some(charge) = &charge
        && let Err(err) = store.record_usage(&untitled.owner, charge).await
    {
        tracing::error!(%err, "recording the title's usage failed");
    }
    let title = title?;
    match store
        .retitle_conversation(&untitled.owner, &untitled.id, &untitled.first, &title)
        .await
    {
        Ok(true) => Some(title),
        Ok(false) => None,
        Err(err) => {
            tracing::warn!(%err, "the new title could not be saved");
            None
        }
    }
}

async fn ask(
    app: &App,
    model: &Model,
    prompt: &Prompt,
    answer: &mut Message,
) -> Result<(), shared::ai::ProviderError> {
    use futures_util::StreamExt;
    let mut events = app.ask(model, prompt).await?;
    while let Some(event) = events.next().await {
        match event? {
            Event::Text(text) if answer.text.len() < MAX_TITLE_BYTES => answer.text.push_str(&text),
            Event::Usage { input, output, .. } => {
                answer.input_tokens = input.or(answer.input_tokens);
                answer.output_tokens = output.or(answer.output_tokens);
            }
            _ => {}
        }
    }
    Ok(())
}

fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// A model's title as a title: its first line as it reads, without the quotes and the full
/// stop models add; `None` if nothing is left.
fn tidy(written: &str) -> Option<Title> {
    let text = shared::conversations::MessageText::parse(written).ok()?;
    let line = Title::from_message(&text);
    let trimmed = line
        .as_str()
        .trim_matches(|c: char| "\"'“”‘’`*_#".contains(c) || c.is_whitespace())
        .trim_end_matches('.')
        .trim_matches(|c: char| "\"'“”‘’".contains(c) || c.is_whitespace());
    // Only marks (`***`, a bare heading) read as nothing, which `from_message` would have
    // called "New conversation": no title is better than that one.
    if !trimmed.chars().any(char::is_alphanumeric) || !written.chars().any(char::is_alphanumeric) {
        return None;
    }
    Title::parse(trimmed).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_titles_are_tidied() {
        for (written, title) in [
            ("\"Weekend in **Rome**\".", Some("Weekend in Rome")),
            ("“Budget planning”\nMore words", Some("Budget planning")),
            (
                "  Rust lifetimes explained  ",
                Some("Rust lifetimes explained"),
            ),
            ("\"\"", None),
            ("", None),
            ("***", None),
            ("# \n---", None),
        ] {
            assert_eq!(
                tidy(written).as_ref().map(Title::as_str),
                title,
                "{written:?}"
            );
        }
        let long = "word ".repeat(40);
        assert!(tidy(&long).unwrap().as_str().chars().count() <= 61);
    }
}
