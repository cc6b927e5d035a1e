//! A fake AI provider for tests: speaks just enough HTTP/1.1 to serve OpenAI's Chat
//! Completions (`POST /v1/chat/completions`) and Anthropic's Messages (`POST /v1/messages`)
//! as server-sent event streams. The upstream model name in the request picks the behaviour:
//!
//! | model | behaviour |
//! | --- | --- |
//! | `echo` (or anything else) | streams "You said: …" word by word, with usage |
//! | `slow` | the same, 250 ms per word |
//! | `markdown` | streams a reply with a code block and an attempted script injection |
//! | `title` | streams a conversation title, quoted and marked up as models write them |
//! | `drop` | three words, then the connection closes mid-stream |
//! | `stall` | three words, then nothing (until the client gives up) |
//! | `status-429`, `status-500` | answers that status with a JSON error body |
//! | `garbage` | one good word, then an event whose data is not JSON |
//! | `thinking` | reasoning first (`reasoning_content`, Anthropic `thinking_delta`), then "You said: …" |
//! | `redirect-PORT` | answers 307 to the same path on `127.0.0.1:PORT` (another server) |
//! | `long-line` | one good word, then a line that never ends (megabytes without a newline) |
//! | `big-error` | answers 500 with an error body of megabytes |
//! | `usage-forever` | one good word, then usage-only events every 10 ms, never finishing |
//!
//! It also serves Amazon Bedrock's ConverseStream (`bedrock`), the model id in the path picking
//! the behaviour the same way.
//!
//! Every request is recorded (path, API key header, JSON body) for tests to inspect.

pub mod bedrock;
pub mod oidc;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The prompt tokens a request that asks for caching is told its cache served and stored.
pub const CACHE_READ: u32 = 700;
pub const CACHE_WRITE: u32 = 50;

/// What the `thinking` models think, piece by piece, before they answer.
pub const THINKING: [&str; 3] = ["The user said something. ", "I should echo it ", "back."];
/// The pause after each piece of thinking.
pub const THINKING_PACE: Duration = Duration::from_millis(200);

/// The reply the `title` model streams: a title as models write them, quoted and with a full
/// stop, for the portal to tidy.
pub const TITLE_REPLY: &str = "\"Weekend in **Rome**\".";

/// The reply the `markdown` model streams.
pub const MARKDOWN_REPLY: &str = "Here is **bold** text and code:\n\n```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n\n<script>alert(1)</script><img src=x onerror=alert(2)> done.";

/// A Switchboard model catalogue (TOML) of this server's models at `base_url`:
/// `fake-<behaviour>` for each behaviour over the OpenAI API, `fake-anthropic` (echo) over
/// Anthropic's, `fake-bedrock` and `fake-bedrock-<behaviour>` over Bedrock's ConverseStream
/// (for a portal whose `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` is this server), and the built-in
/// offline model.
pub fn catalogue(base_url: &str) -> String {
    let mut toml = String::new();
    for behaviour in [
        "echo",
        "slow",
        "markdown",
        "drop",
        "stall",
        "status-429",
        "status-500",
        "garbage",
        "long-line",
        "big-error",
        "usage-forever",
        "thinking",
        "title",
    ] {
        toml.push_str(&format!(
            "[[model]]\nid = \"fake-{behaviour}\"\nname = \"Fake {behaviour}\"\nprovider = \"openai\"\n\
             upstream = \"{behaviour}\"\nbase_url = \"{base_url}\"\ncontext_tokens = 4000\n\
             input_price = 1.0\noutput_price = 2.0\nimages = true\ndocuments = true\n\
             max_temperature = 2.0\nreasoning_efforts = [\"low\", \"medium\", \"high\"]\n\n"
        ));
    }
    // A model that reads text only: attachments other than text are refused before sending.
    toml.push_str(&format!(
        "[[model]]\nid = \"fake-text-only\"\nname = \"Fake text only\"\nprovider = \"openai\"\n\
         upstream = \"echo\"\nbase_url = \"{base_url}\"\ncontext_tokens = 4000\n\n"
    ));
    // A dollar a token: one reply goes past any small spend cap.
    toml.push_str(&format!(
        "[[model]]\nid = \"fake-pricey\"\nname = \"Fake pricey\"\nprovider = \"openai\"\n\
         upstream = \"echo\"\nbase_url = \"{base_url}\"\ncontext_tokens = 4000\n\
         input_price = 1000000.0\noutput_price = 1000000.0\n\n"
    ));
    // Prompt caching: the models mark their prompts, and the fake reports cache use.
    toml.push_str(&format!(
        "[[model]]\nid = \"fake-anthropic-cached\"\nname = \"Fake Anthropic cached\"\n\
         provider = \"anthropic\"\nupstream = \"echo\"\nbase_url = \"{base_url}\"\n\
         context_tokens = 4000\ninput_price = 3.0\noutput_price = 15.0\nprompt_caching = true\n\
         cache_read_price = 0.3\ncache_write_price = 3.75\n\n\
         [[model]]\nid = \"fake-bedrock-cached\"\nname = \"Fake Bedrock cached\"\n\
         provider = \"bedrock\"\nupstream = \"echo\"\nregion = \"eu-west-1\"\n\
         context_tokens = 4000\ninput_price = 3.0\noutput_price = 15.0\nprompt_caching = true\n\
         cache_read_price = 0.3\ncache_write_price = 3.75\n\n"
    ));
    for (id, upstream) in [
        ("fake-bedrock", "eu.anthropic.claude-3-haiku-20240307-v1:0"),
        ("fake-bedrock-cut", "max-tokens"),
        ("fake-bedrock-throttled", "throttled"),
        ("fake-bedrock-denied", "denied"),
        ("fake-bedrock-error", "stream-error"),
        ("fake-bedrock-thinking", "thinking"),
    ] {
        toml.push_str(&format!(
            "[[model]]\nid = \"{id}\"\nname = \"Fake Bedrock {upstream}\"\nprovider = \"bedrock\"\n\
             upstream = \"{upstream}\"\nregion = \"eu-west-1\"\ncontext_tokens = 4000\n\
             input_price = 1.0\noutput_price = 2.0\nimages = true\ndocuments = true\n\n"
        ));
    }
    toml.push_str(&format!(
        "[[model]]\nid = \"fake-anthropic\"\nname = \"Fake Anthropic\"\nprovider = \"anthropic\"\n\
         upstream = \"echo\"\nbase_url = \"{base_url}\"\ncontext_tokens = 4000\nimages = true\n\
         documents = true\n\n\
         [[model]]\nid = \"offline\"\nname = \"Offline demo (no AI)\"\nprovider = \"offline\"\n\
         upstream = \"offline\"\ncontext_tokens = 8000\n"
    ));
    toml
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    /// The `Authorization` or `x-api-key` header, as sent.
    pub key: Option<String>,
    pub body: Value,
}

#[derive(Clone)]
pub struct FakeProvider {
    pub port: u16,
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeProvider {
    /// Starts serving on an ephemeral loopback port, on the current tokio runtime.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the fake provider");
        let port = listener.local_addr().expect("local address").port();
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let log = recorded.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, log.clone()));
            }
        });
        Self { port, recorded }
    }

    /// The base URL an OpenAI-compatible client is configured with.
    pub fn openai_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    pub fn anthropic_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }
}

struct Request {
    path: String,
    key: Option<String>,
    body: Value,
}

/// A request as read off the connection: its method, path, headers and body.
pub(crate) struct RawRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) async fn read_raw(stream: &mut TcpStream) -> Option<RawRequest> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(Some(0), |(_, v)| v.parse().ok())?;
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(RawRequest {
        method,
        path,
        headers,
        body: buf[head_end..head_end + length].to_vec(),
    })
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let raw = read_raw(stream).await?;
    let key = raw
        .header("authorization")
        .or(raw.header("x-api-key"))
        .map(str::to_string);
    let body = serde_json::from_slice(&raw.body).unwrap_or(Value::Null);
    Some(Request {
        path: raw.path,
        key,
        body,
    })
}

async fn serve(mut stream: TcpStream, log: Arc<Mutex<Vec<Recorded>>>) {
    let Some(req) = read_request(&mut stream).await else {
        return;
    };
    log.lock().unwrap().push(Recorded {
        path: req.path.clone(),
        key: req.key.clone(),
        body: req.body.clone(),
    });
    if let Some(model) = bedrock::model_of(&req.path) {
        let cached = req.body.to_string().contains("cachePoint");
        return bedrock::serve(stream, &model, split_words(&echo(&req.body)), cached).await;
    }
    let anthropic = req.path.ends_with("/messages");
    let model = req.body["model"].as_str().unwrap_or("echo").to_string();
    if let Some(port) = model.strip_prefix("redirect-") {
        let response = format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:{port}{}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            req.path
        );
        let _ = stream.write_all(response.as_bytes()).await;
        return;
    }
    if model == "big-error" {
        let head = "HTTP/1.1 500 Error\r\ncontent-type: application/json\r\ncontent-length: 16777216\r\nconnection: close\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b'x'; 65536];
        for _ in 0..256 {
            if stream.write_all(&chunk).await.is_err() {
                return;
            }
        }
        return;
    }
    if let Some(status) = model.strip_prefix("status-") {
        let body =
            json!({"error": {"type": "fake_error", "message": format!("fake status {status}")}})
                .to_string();
        let reason = if status == "429" {
            "Too Many Requests"
        } else {
            "Error"
        };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        return;
    }
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let text = match model.as_str() {
        "markdown" => MARKDOWN_REPLY.to_string(),
        "title" => TITLE_REPLY.to_string(),
        _ => echo(&req.body),
    };
    let words = split_words(&text);
    let delay = Duration::from_millis(if model == "slow" { 250 } else { 2 });
    let mut events = Events { stream, anthropic };
    if anthropic {
        let mut usage = json!({"input_tokens": 11, "output_tokens": 1});
        // Asked to cache (a `cache_control` mark): reports what the cache served and stored.
        if req.body.to_string().contains("cache_control") {
            usage["cache_read_input_tokens"] = json!(CACHE_READ);
            usage["cache_creation_input_tokens"] = json!(CACHE_WRITE);
        }
        let start = json!({"type": "message_start", "message": {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [], "usage": usage}});
        events.send(Some("message_start"), &start.to_string()).await;
        let block = json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}});
        events
            .send(Some("content_block_start"), &block.to_string())
            .await;
        events.send(Some("ping"), r#"{"type": "ping"}"#).await;
    }
    if model == "thinking" {
        for piece in THINKING {
            events.thinking(piece).await;
            // Slow enough for a browser to see the thinking arrive before the answer.
            tokio::time::sleep(THINKING_PACE).await;
        }
    }
    for (i, word) in words.iter().enumerate() {
        match model.as_str() {
            "drop" if i == 3 => return,
            "stall" if i == 3 => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            "garbage" if i == 1 => {
                events.send(None, "{not json at all").await;
                events.finish().await;
                return;
            }
            "long-line" if i == 1 => {
                let line = vec![b'x'; 65536];
                let _ = events.raw(b"data: ").await;
                for _ in 0..256 {
                    if events.raw(&line).await.is_err() {
                        return;
                    }
                }
                return;
            }
            "usage-forever" if i == 1 => loop {
                if !events.usage_only().await {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            },
            _ => {}
        }
        events.token(word).await;
        tokio::time::sleep(delay).await;
    }
    if anthropic {
        events
            .send(
                Some("content_block_stop"),
                r#"{"type": "content_block_stop", "index": 0}"#,
            )
            .await;
        let delta = json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": words.len()}});
        events.send(Some("message_delta"), &delta.to_string()).await;
        events
            .send(Some("message_stop"), r#"{"type": "message_stop"}"#)
            .await;
    } else {
        let done = json!({"id": "fake", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
        events.send(None, &done.to_string()).await;
        let usage = json!({"id": "fake", "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": words.len(), "total_tokens": 11 + words.len()}});
        events.send(None, &usage.to_string()).await;
        events.send(None, "[DONE]").await;
    }
    events.finish().await;
}

/// Words with their trailing whitespace, so that joined they give back the text.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if !c.is_whitespace() && current.ends_with(char::is_whitespace) {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The echo models' reply to a request.
fn echo(body: &Value) -> String {
    let (images, documents) = last_user_files(body);
    let files = if images + documents > 0 {
        format!(" It came with {images} image(s) and {documents} document(s).")
    } else {
        String::new()
    };
    format!(
        "You said: {}.{files} This reply comes from the fake provider, streamed word by word.",
        last_user_text(body)
    )
}

/// The images and documents of the last user message, as each API sends them (OpenAI's
/// `image_url` and `file` parts, Anthropic's `image` and `document` blocks, Bedrock's
/// `image` and `document` content).
fn last_user_files(body: &Value) -> (usize, usize) {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let Some(Value::Array(parts)) = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| m["content"].clone())
    else {
        return (0, 0);
    };
    let is = |p: &Value, kinds: &[&str]| {
        kinds
            .iter()
            .any(|k| p["type"] == *k || p.get(*k).is_some_and(Value::is_object))
    };
    let images = parts
        .iter()
        .filter(|p| is(p, &["image_url", "image"]))
        .count();
    let documents = parts
        .iter()
        .filter(|p| is(p, &["file", "document"]))
        .count();
    (images, documents)
}

fn last_user_text(body: &Value) -> String {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let Some(last) = messages.iter().rev().find(|m| m["role"] == "user") else {
        return String::new();
    };
    match &last["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

struct Events {
    stream: TcpStream,
    anthropic: bool,
}

impl Events {
    async fn send(&mut self, event: Option<&str>, data: &str) {
        let mut text = String::new();
        if let Some(event) = event {
            text.push_str(&format!("event: {event}\n"));
        }
        text.push_str(&format!("data: {data}\n\n"));
        let chunk = format!("{:x}\r\n{text}\r\n", text.len());
        let _ = self.stream.write_all(chunk.as_bytes()).await;
        let _ = self.stream.flush().await;
    }

    async fn token(&mut self, word: &str) {
        if self.anthropic {
            let delta = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}});
            self.send(Some("content_block_delta"), &delta.to_string())
                .await;
        } else {
            let chunk = json!({"id": "fake", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": null}]});
            self.send(None, &chunk.to_string()).await;
        }
    }

    /// A piece of the model's reasoning: Anthropic's `thinking_delta`, OpenAI-compatible
    /// servers' `reasoning_content`.
    async fn thinking(&mut self, piece: &str) {
        if self.anthropic {
            let delta = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": piece}});
            self.send(Some("content_block_delta"), &delta.to_string())
                .await;
        } else {
            let chunk = json!({"id": "fake", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"reasoning_content": piece}, "finish_reason": null}]});
            self.send(None, &chunk.to_string()).await;
        }
    }

    /// Bytes as one chunk of the body, whatever they hold.
    async fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream
            .write_all(format!("{:x}\r\n", bytes.len()).as_bytes())
            .await?;
        self.stream.write_all(bytes).await?;
        self.stream.write_all(b"\r\n").await?;
        self.stream.flush().await
    }

    /// An event that carries token counts and no text; false once the client has gone.
    async fn usage_only(&mut self) -> bool {
        let data = if self.anthropic {
            json!({"type": "message_delta", "delta": {}, "usage": {"output_tokens": 1}})
        } else {
            json!({"id": "fake", "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 1, "total_tokens": 12}})
        };
        let mut text = String::new();
        if self.anthropic {
            text.push_str("event: message_delta\n");
        }
        text.push_str(&format!("data: {data}\n\n"));
        self.raw(text.as_bytes()).await.is_ok()
    }

    async fn finish(&mut self) {
        let _ = self.stream.write_all(b"0\r\n\r\n").await;
        let _ = self.stream.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_their_spacing() {
        assert_eq!(split_words("a b  c\nd"), ["a ", "b  ", "c\n", "d"]);
        assert_eq!(split_words("a b").concat(), "a b");
    }
}
