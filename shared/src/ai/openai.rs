//! OpenAI's Chat Completions API, streaming: OpenAI itself and every server that speaks it
//! (Ollama, vLLM, OpenRouter, Groq, LM Studio...).

use base64::Engine;
use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::sse::SseStream;
use super::{Event, EventStream, Model, Prompt, ProviderError};

pub fn request(
    http: &reqwest::Client,
    model: &Model,
    key: Option<&SecretString>,
    prompt: &Prompt,
) -> reqwest::RequestBuilder {
    let mut messages = Vec::new();
    if let Some(system) = &prompt.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    for m in &prompt.messages {
        messages.push(json!({"role": m.role, "content": content(m)}));
    }
    let body = json!({
        "model": model.upstream,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
        "max_tokens": model.max_output_tokens,
    });
    let mut body = body;
    if let Some(effort) = &model.reasoning_effort {
        body["reasoning_effort"] = json!(effort);
    }
    if let Some(t) = prompt.temperature {
        body["temperature"] = json!(f64::from(t) / 100.0);
    }
    let mut request = super::post_for_events(http, model, "chat/completions", &body);
    if let Some(key) = key {
        request = request.bearer_auth(key.expose_secret());
    }
    request
}

/// A message's content: its text, or with files, parts: the text (text documents inlined),
/// then each image as a data URL and each PDF as a file part.
fn content(m: &super::PromptMessage) -> Value {
    let text = m.text_with_documents();
    let mut files = m.binary_files().peekable();
    if files.peek().is_none() {
        return json!(text);
    }
    let mut parts = vec![json!({"type": "text", "text": text})];
    for (attachment, data) in files {
        let url = format!(
            "data:{};base64,{}",
            attachment.media_type.mime(),
            base64::engine::general_purpose::STANDARD.encode(data)
        );
        parts.push(if attachment.is_image() {
            json!({"type": "image_url", "image_url": {"url": url}})
        } else {
            json!({"type": "file", "file": {"filename": attachment.name.as_str(), "file_data": url}})
        });
    }
    json!(parts)
}

/// Chunks to events. The stream must end with `[DONE]` (or at least a finish reason):
/// anything else means it was cut off.
pub fn parse(events: SseStream) -> EventStream {
    Box::pin(futures_util::stream::unfold(
        (events, false, false),
        |(mut events, finished, done)| async move {
            if done {
                return None;
            }
            loop {
                let Some(item) = events.next().await else {
                    return if finished {
                        None
                    } else {
                        Some((Err(ProviderError::Dropped), (events, finished, true)))
                    };
                };
                let event = match item {
                    Ok(event) => event,
                    Err(err) => return Some((Err(err), (events, finished, true))),
                };
                if event.data.trim() == "[DONE]" {
                    return None;
                }
                match chunk(&event.data) {
                    Ok((out, ended)) => {
                        let finished = finished || ended;
                        if let Some(out) = out {
                            return Some((Ok(out), (events, finished, false)));
                        }
                        if ended {
                            continue;
                        }
                    }
                    Err(err) => return Some((Err(err), (events, finished, true))),
                }
            }
        },
    ))
}

/// One chunk's event, if it carries one, and whether it ends the reply.
fn chunk(data: &str) -> Result<(Option<Event>, bool), ProviderError> {
    let value: Value = serde_json::from_str(data)
        .map_err(|e| ProviderError::Malformed(format!("{e} in {data:.80}")))?;
    if let Some(error) = value.get("error") {
        let message = error["message"].as_str().unwrap_or("unknown error");
        return Err(ProviderError::Reported(message.to_string()));
    }
    if let Some(usage) = value.get("usage").filter(|u| u.is_object()) {
        let count = |name: &str| usage[name].as_u64().map(|n| n as u32);
        // OpenAI caches long prompts by itself and counts the cached part in `prompt_tokens`.
        let cached = usage["prompt_tokens_details"]["cached_tokens"]
            .as_u64()
            .map(|n| n as u32)
            .filter(|n| *n > 0);
        let input = count("prompt_tokens").map(|n| n - cached.unwrap_or(0).min(n));
        return Ok((
            Some(Event::Usage {
                input,
                output: count("completion_tokens"),
                cache_read: cached,
                cache_write: None,
            }),
            true,
        ));
    }
    let Some(choice) = value["choices"].get(0) else {
        return Ok((None, false));
    };
    let ended = choice["finish_reason"].is_string();
    let delta = &choice["delta"];
    let piece = |name: &str| delta[name].as_str().filter(|t| !t.is_empty());
    let event = match piece("content") {
        Some(text) => Some(Event::Text(text.to_string())),
        // Servers that reason name it `reasoning_content` (DeepSeek, vLLM) or `reasoning`
        // (OpenRouter, Ollama).
        None => piece("reasoning_content")
            .or_else(|| piece("reasoning"))
            .map(|t| Event::Thinking(t.to_string())),
    };
    Ok((event, ended))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_give_text_usage_and_the_end() {
        let text = r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#;
        assert_eq!(
            chunk(text).unwrap(),
            (Some(Event::Text("Hi".into())), false)
        );
        let stop = r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;
        assert_eq!(chunk(stop).unwrap(), (None, true));
        let usage = r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5}}"#;
        assert_eq!(
            chunk(usage).unwrap().0,
            Some(Event::tokens(Some(3), Some(5)))
        );
        let cached = r#"{"choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":800}}}"#;
        assert_eq!(
            chunk(cached).unwrap().0,
            Some(Event::Usage {
                input: Some(200),
                output: Some(5),
                cache_read: Some(800),
                cache_write: None,
            }),
            "OpenAI's own caching: the cached part counted apart"
        );
        assert!(matches!(chunk("{nope"), Err(ProviderError::Malformed(_))));
        assert!(matches!(
            chunk(r#"{"error":{"message":"overloaded"}}"#),
            Err(ProviderError::Reported(m)) if m == "overloaded"
        ));
    }
}
