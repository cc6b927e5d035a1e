//! A fake Amazon Bedrock runtime: `POST /model/{modelId}/converse-stream` answered in
//! ConverseStream's own `application/vnd.amazon.eventstream` binary framing (encoded with
//! the SDK's `aws-smithy-eventstream`), as the real service does. The model id picks the
//! behaviour:
//!
//! | model id | behaviour |
//! | --- | --- |
//! | `echo` (or anything else) | "You said: …" word by word, `end_turn`, then usage |
//! | `slow` | the same, 250 ms per word |
//! | `max-tokens` | three words, then `max_tokens` (the output limit), then usage |
//! | `throttled` | HTTP 429 `ThrottlingException` |
//! | `denied` | HTTP 403 `AccessDeniedException` (the role may not call the model) |
//! | `stream-error` | three words, then a `modelStreamErrorException` frame |
//! | `thinking` | reasoning first (`reasoningContent` deltas), then "You said: …" |
//! | `drop` | three words, then the connection closes |
//! | `stall` | three words, then nothing |
//!
//! Requests are not checked for their signature: any credentials do.

use std::time::Duration;

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The model id of a ConverseStream path, decoded (`/model/eu.x%3A0/converse-stream`).
pub fn model_of(path: &str) -> Option<String> {
    let id = path
        .strip_prefix("/model/")?
        .strip_suffix("/converse-stream")?;
    Some(percent_decode(id))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn error(stream: &mut TcpStream, status: &str, kind: &str, message: &str) {
    let body = json!({ "message": message }).to_string();
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nx-amzn-errortype: {kind}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
}

/// One frame: an event (`:event-type`) or an exception (`:exception-type`), JSON payload.
fn frame(message_type: &str, kind: &str, payload: &Value) -> Vec<u8> {
    let kind_header = if message_type == "exception" {
        ":exception-type"
    } else {
        ":event-type"
    };
    let message = Message::new(payload.to_string().into_bytes())
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String(message_type.to_string().into()),
        ))
        .add_header(Header::new(
            kind_header,
            HeaderValue::String(kind.to_string().into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".to_string().into()),
        ));
    let mut bytes = Vec::new();
    write_message_to(&message, &mut bytes).expect("a frame encodes");
    bytes
}

/// Writes `bytes` as one chunk of the chunked body; false once the client has gone.
async fn chunk(stream: &mut TcpStream, bytes: &[u8]) -> bool {
    let head = format!("{:x}\r\n", bytes.len());
    stream.write_all(head.as_bytes()).await.is_ok()
        && stream.write_all(bytes).await.is_ok()
        && stream.write_all(b"\r\n").await.is_ok()
        && stream.flush().await.is_ok()
}

/// Serves one ConverseStream; `cached` when the request marked a cache point, so that the
/// usage reports what the cache served and stored.
pub async fn serve(mut stream: TcpStream, model: &str, words: Vec<String>, cached: bool) {
    match model {
        "throttled" => {
            return error(
                &mut stream,
                "429 Too Many Requests",
                "ThrottlingException",
                "Too many requests, please wait.",
            )
            .await;
        }
        "denied" => {
            return error(
                &mut stream,
                "403 Forbidden",
                "AccessDeniedException",
                "You don't have access to the model with the specified model ID.",
            )
            .await;
        }
        _ => {}
    }
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\n\
                transfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let delay = Duration::from_millis(if model == "slow" { 250 } else { 2 });
    if !chunk(
        &mut stream,
        &frame("event", "messageStart", &json!({"role": "assistant"})),
    )
    .await
    {
        return;
    }
    if model == "thinking" {
        for piece in crate::THINKING {
            let delta =
                json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": piece}}});
            if !chunk(&mut stream, &frame("event", "contentBlockDelta", &delta)).await {
                return;
            }
            tokio::time::sleep(crate::THINKING_PACE).await;
        }
    }
    let mut sent = 0;
    for (i, word) in words.iter().enumerate() {
        if i == 3 {
            match model {
                "drop" => return,
                "stall" => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return;
                }
                "stream-error" => {
                    let error = json!({"message": "The model stream broke (fake)."});
                    chunk(
                        &mut stream,
                        &frame("exception", "modelStreamErrorException", &error),
                    )
                    .await;
                    let _ = stream.write_all(b"0\r\n\r\n").await;
                    return;
                }
                "max-tokens" => break,
                _ => {}
            }
        }
        let delta = json!({"contentBlockIndex": 0, "delta": {"text": word}});
        if !chunk(&mut stream, &frame("event", "contentBlockDelta", &delta)).await {
            return;
        }
        sent += 1;
        tokio::time::sleep(delay).await;
    }
    let stop_reason = if model == "max-tokens" {
        "max_tokens"
    } else {
        "end_turn"
    };
    let events = [
        ("contentBlockStop", json!({"contentBlockIndex": 0})),
        ("messageStop", json!({"stopReason": stop_reason})),
        ("metadata", {
            let mut usage =
                json!({"inputTokens": 11, "outputTokens": sent, "totalTokens": 11 + sent});
            if cached {
                usage["cacheReadInputTokens"] = json!(crate::CACHE_READ);
                usage["cacheWriteInputTokens"] = json!(crate::CACHE_WRITE);
            }
            json!({"usage": usage, "metrics": {"latencyMs": 5}})
        }),
    ];
    for (kind, payload) in events {
        if !chunk(&mut stream, &frame("event", kind, &payload)).await {
            return;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn model_ids_are_read_from_the_path() {
        assert_eq!(
            super::model_of("/model/eu.anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"),
            Some("eu.anthropic.claude-3-haiku-20240307-v1:0".into())
        );
        assert_eq!(
            super::model_of("/model/echo/converse-stream"),
            Some("echo".into())
        );
        assert_eq!(super::model_of("/v1/messages"), None);
    }
}
