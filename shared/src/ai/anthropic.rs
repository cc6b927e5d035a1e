//! Anthropic's Messages API, streaming.

use base64::Engine;
use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::sse::SseStream;
use super::{Event, EventStream, Model, Prompt, ProviderError};

const API_VERSION: &str = "2023-06-01";

pub fn request(
    http: &reqwest::Client,
    model: &Model,
    key: Option<&SecretString>,
    prompt: &Prompt,
) -> reqwest::RequestBuilder {
    // With prompt caching, the system prompt and the conversation before the newest message
    // are marked as the cacheable prefix: the next turn reads them from the cache.
    let cache = json!({"type": "ephemeral"});
    let messages: Vec<Value> = prompt
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let text = m.text_with_documents();
            let cached = model.prompt_caching && prompt.last_stable() == Some(i);
            let files = file_blocks(m);
            if !cached && files.is_empty() {
                return json!({"role": m.role, "content": text});
            }
            let mut block = json!({"type": "text", "text": text});
            if cached {
                block["cache_control"] = cache.clone();
            }
            // Files before the text, as Anthropic advises; the cache mark ends the message.
            let mut blocks = files;
            blocks.push(block);
            json!({"role": m.role, "content": blocks})
        })
        .collect();
    let mut body = json!({
        "model": model.upstream,
        "messages": messages,
        "max_tokens": model.max_output_tokens,
        "stream": true,
    });
    if let Some(system) = &prompt.system {
        body["system"] = if model.prompt_caching {
            json!([{"type": "text", "text": system, "cache_control": cache}])
        } else {
            json!(system)
        };
    }
    if let Some(budget) = model.thinking_budget {
        body["thinking"] = json!({"type": "enabled", "budget_tokens": budget});
    } else if let Some(t) = prompt.temperature {
        // With thinking on, Anthropic takes no temperature but its own.
        body["temperature"] = json!(f64::from(t) / 100.0);
    }
    let mut request = super::post_for_events(http, model, "messages", &body)
        .header("anthropic-version", API_VERSION);
    if let Some(key) = key {
        request = request.header("x-api-key", key.expose_secret());
    }
    request
}

/// Images and PDFs as base64 blocks.
fn file_blocks(m: &super::PromptMessage) -> Vec<Value> {
    m.binary_files()
        .map(|(attachment, data)| {
            let source = json!({
                "type": "base64",
                "media_type": attachment.media_type.mime(),
                "data": base64::engine::general_purpose::STANDARD.encode(data),
            });
            if attachment.is_image() {
                json!({"type": "image", "source": source})
            } else {
                json!({"type": "document", "source": source, "title": attachment.name.as_str()})
            }
        })
        .collect()
}

/// Events to events: text deltas, usage from `message_start` and `message_delta`, the end at
/// `message_stop`. A stream that ends before `message_stop` was cut off.
pub fn parse(events: SseStream) -> EventStream {
    Box::pin(futures_util::stream::unfold(
        (events, false),
        |(mut events, done)| async move {
            if done {
                return None;
            }
            loop {
                let Some(item) = events.next().await else {
                    return Some((Err(ProviderError::Dropped), (events, true)));
                };
                let event = match item {
                    Ok(event) => event,
                    Err(err) => return Some((Err(err), (events, true))),
                };
                match translate(&event.event, &event.data) {
                    Ok(Step::Skip) => continue,
                    Ok(Step::Emit(out)) => return Some((Ok(out), (events, false))),
                    Ok(Step::Stop) => return None,
                    Err(err) => return Some((Err(err), (events, true))),
                }
            }
        },
    ))
}

enum Step {
    Emit(Event),
    Skip,
    Stop,
}

fn translate(event: &str, data: &str) -> Result<Step, ProviderError> {
    let value: Value = serde_json::from_str(data)
        .map_err(|e| ProviderError::Malformed(format!("{e} in {data:.80}")))?;
    let kind = value["type"].as_str().unwrap_or(event);
    Ok(match kind {
        "message_start" => {
            let usage = &value["message"]["usage"];
            let count = |name: &str| usage[name].as_u64().map(|n| n as u32);
            Step::Emit(Event::Usage {
                input: count("input_tokens"),
                output: None,
                cache_read: count("cache_read_input_tokens"),
                cache_write: count("cache_creation_input_tokens"),
            })
        }
        "content_block_delta" => {
            let delta = &value["delta"];
            match (
                delta["type"].as_str(),
                delta["text"].as_str(),
                delta["thinking"].as_str(),
            ) {
                (_, Some(text), _) if !text.is_empty() => Step::Emit(Event::Text(text.to_string())),
                (Some("thinking_delta"), _, Some(thinking)) if !thinking.is_empty() => {
                    Step::Emit(Event::Thinking(thinking.to_string()))
                }
                _ => Step::Skip,
            }
        }
        "message_delta" => match value["usage"]["output_tokens"].as_u64() {
            Some(n) => Step::Emit(Event::tokens(None, Some(n as u32))),
            None => Step::Skip,
        },
        "message_stop" => Step::Stop,
        "error" => {
            let message = value["error"]["message"]
                .as_str()
                .unwrap_or("unknown error");
            return Err(ProviderError::Reported(message.to_string()));
        }
        _ => Step::Skip,
    })
}
