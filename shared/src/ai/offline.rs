//! The built-in offline model: no network, no key and no AI. It answers every message with a
//! short, clearly labelled echo, streamed a word at a time, so a local portal shows the whole
//! chat flow without an account anywhere.

use std::time::Duration;

use super::{Event, EventStream, Prompt};

pub fn reply(prompt: &Prompt, pace: Duration) -> EventStream {
    let last_message = prompt.messages.iter().rev().find(|m| m.role == "user");
    let last = last_message.map(|m| m.text.as_str()).unwrap_or_default();
    let files: Vec<String> = last_message
        .map(|m| &m.files[..])
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let a = &f.attachment;
            match (a.width, a.height) {
                (Some(w), Some(h)) => {
                    format!("{} ({}, {w}×{h})", a.name.as_str(), a.media_type.label())
                }
                _ => format!(
                    "{} ({}, {})",
                    a.name.as_str(),
                    a.media_type.label(),
                    a.size_label()
                ),
            }
        })
        .collect();
    let files = if files.is_empty() {
        String::new()
    } else {
        format!(" You attached {}.", files.join(", "))
    };
    let words = last.split_whitespace().count();
    let quoted: String = last
        .lines()
        .take(20)
        .map(|line| format!("> {line}\n"))
        .collect();
    let text = format!(
        "*Offline demo model: no AI is involved.* You wrote {words} word{s} in a conversation of {n} message{ns}.{files} \
         Here is your message back:\n\n{quoted}\nPick a real model in the model list to get real answers.",
        s = if words == 1 { "" } else { "s" },
        n = prompt.messages.len(),
        ns = if prompt.messages.len() == 1 { "" } else { "s" },
    );
    let input = prompt.estimated_tokens();
    let pieces = split_keeping_spaces(&text);
    let output = pieces.len() as u32;
    let events = pieces
        .into_iter()
        .map(Event::Text)
        .chain(std::iter::once(Event::tokens(Some(input), Some(output))));
    Box::pin(futures_util::stream::unfold(
        events,
        move |mut events| async move {
            let event = events.next()?;
            if matches!(event, Event::Text(_)) && !pace.is_zero() {
                tokio::time::sleep(pace).await;
            }
            Some((Ok(event), events))
        },
    ))
}

fn split_keeping_spaces(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if !c.is_whitespace() && current.ends_with(char::is_whitespace) {
            pieces.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}
