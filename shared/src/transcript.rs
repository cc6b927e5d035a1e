//! A conversation's messages as pages show them: Markdown rendered safe, each message's
//! state in words, who wrote it and what it cost. The conversation page and a shared link's
//! page both show them so.

use minijinja::{Value, context};

use crate::conversations::{Message, MessageState};
use crate::{App, listing, markdown};

/// Whether a reply marked as streaming is still being written, or was abandoned (its
/// function stopped) and will never finish.
pub fn still_streaming(app: &App, message: &Message, now: u64) -> bool {
    message.state == MessageState::Streaming
        && message.updated_at + app.config.provider_timeout.as_secs() + 30 >= now
}

/// Whether any of `messages` is a reply still being written.
pub fn live(app: &App, messages: &[Message], now: u64) -> bool {
    messages.iter().any(|m| still_streaming(app, m, now))
}

/// The template context of `messages`.
pub fn messages(app: &App, messages: &[Message], now: u64) -> Vec<Value> {
    messages.iter().map(|m| message(app, m, now)).collect()
}

fn message(app: &App, m: &Message, now: u64) -> Value {
    let state = match m.state {
        MessageState::Streaming if !still_streaming(app, m, now) => "interrupted",
        state => state.as_str(),
    };
    let estimated = if m.tokens_estimated {
        " (estimated)"
    } else {
        ""
    };
    let cost = m.cost.map(|c| format!(" · {c}")).unwrap_or_default();
    let tokens = match (m.input_tokens, m.output_tokens) {
        (Some(i), Some(o)) => Some(format!("{i} in · {o} out tokens{estimated}{cost}")),
        (None, Some(o)) => Some(format!("{o} tokens{estimated}{cost}")),
        _ => None,
    };
    context! {
        seq => m.seq,
        speaker => m.speaker.as_str(),
        html => if m.state == MessageState::Streaming {
            markdown::render(&m.text)
        } else {
            markdown::render_cached(&m.text).to_string()
        },
        raw => &m.text,
        // Shown apart (collapsed), as plain text: it is the model's working, not its answer.
        thinking => (!m.thinking.is_empty()).then_some(&m.thinking),
        state,
        error => &m.error,
        model_name => m.model.as_deref().map(|id| listing::model_name(&app.config.models, id)),
        tokens,
        attachments => m.attachments.iter().map(|a| context! {
            link => a.link_name(m.seq),
            name => a.name.as_str(),
            label => a.media_type.label(),
            size => a.size_label(),
            image => a.is_image(),
            width => a.width,
            height => a.height,
        }).collect::<Vec<_>>(),
    }
}
