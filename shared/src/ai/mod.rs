//! AI replies: the model catalogue, the context sent upstream, and the providers that stream
//! a reply back (OpenAI-compatible Chat Completions, Anthropic Messages, and the built-in
//! offline model).

pub mod anthropic;
pub mod bedrock;
pub mod catalogue;
pub mod context;
pub mod growing;
pub mod keys;
pub mod offline;
pub mod openai;
pub mod sse;

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use secrecy::SecretString;

pub use catalogue::{Catalogue, Model, ProviderKind};
pub use context::{ContextError, Prompt, PromptMessage, estimate_tokens};
pub use growing::{Growing, Step};

/// One piece of a streamed reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Text(String),
    /// The model's reasoning before (or between) its answer: shown apart, never mixed in.
    Thinking(String),
    /// Token counts the provider reported (any may come alone). `input` counts the prompt
    /// tokens read at the full price; with prompt caching, `cache_read` were read from the
    /// provider's cache and `cache_write` written to it, each at its own price.
    Usage {
        input: Option<u32>,
        output: Option<u32>,
        cache_read: Option<u32>,
        cache_write: Option<u32>,
    },
    /// The model stopped at its output limit (`max_output_tokens`): the reply is cut.
    Cut,
}

#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum ProviderError {
    #[error("the provider is rate limiting (HTTP 429)")]
    RateLimited,
    #[error("the provider refused the API key (HTTP {0})")]
    Unauthorized(u16),
    #[error("the provider answered HTTP {status}: {detail}")]
    Status { status: u16, detail: String },
    #[error("no data from the provider for {0:?}")]
    Timeout(Duration),
    #[error("the reply was still going after {0:?}")]
    Deadline(Duration),
    #[error("the stream ended before the reply was complete")]
    Dropped,
    #[error("the provider sent an event that is not a valid reply: {0}")]
    Malformed(String),
    #[error("the provider reported an error mid-stream: {0}")]
    Reported(String),
    #[error("could not reach the provider: {0}")]
    Network(String),
    #[error("no API key for model {0}")]
    NoKey(String),
}

impl Event {
    /// Usage without prompt caching.
    pub fn tokens(input: Option<u32>, output: Option<u32>) -> Self {
        Event::Usage {
            input,
            output,
            cache_read: None,
            cache_write: None,
        }
    }
}

impl ProviderError {
    /// What the user is told: plain words, nothing internal.
    pub fn user_message(&self) -> &'static str {
        match self {
            ProviderError::RateLimited => {
                "The model's provider is busy right now (rate limited). Try again in a moment."
            }
            ProviderError::Unauthorized(_) | ProviderError::NoKey(_) => {
                "This model is not set up correctly (its API key is missing or refused). Ask your administrator."
            }
            ProviderError::Status { .. } | ProviderError::Reported(_) => {
                "The model's provider reported an error."
            }
            ProviderError::Timeout(_) => "The model stopped responding.",
            ProviderError::Deadline(_) => {
                "The reply took longer than this portal allows, so it was stopped."
            }
            ProviderError::Dropped => "The connection to the model broke off mid-reply.",
            ProviderError::Malformed(_) => {
                "The model's provider sent a reply that could not be read."
            }
            ProviderError::Network(_) => "The model's provider could not be reached.",
        }
    }
}

/// A reply as it streams in.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<Event, ProviderError>> + Send>>;

/// How long to wait: for the provider to answer at all, and between two pieces of a reply
/// (`idle`); and for the whole reply, however busy the provider keeps the stream (`deadline`).
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub idle: Duration,
    pub deadline: Duration,
}

/// How much of an error response's body is read (for the log and the failure's detail).
pub const MAX_ERROR_BODY_BYTES: usize = 4 * 1024;

/// Asks `model` for a reply to `prompt`, streaming. `key` is the model's API key, if it has
/// one. Each wait for the next event is bounded by `timeouts.idle`, the whole reply by
/// `timeouts.deadline`.
pub async fn stream_reply(
    http: &reqwest::Client,
    model: &Model,
    key: Option<&SecretString>,
    prompt: &Prompt,
    timeouts: Timeouts,
    offline_pace: Duration,
) -> Result<EventStream, ProviderError> {
    let stream = match model.provider {
        ProviderKind::Offline => return Ok(offline::reply(prompt, offline_pace)),
        ProviderKind::OpenAi => openai::request(http, model, key, prompt),
        ProviderKind::Anthropic => anthropic::request(http, model, key, prompt),
        // Called through the AWS SDK (`bedrock::stream`), not over plain HTTP.
        ProviderKind::Bedrock => {
            return Err(ProviderError::Network(
                "a Bedrock model is called through its SDK client".into(),
            ));
        }
    };
    let deadline = tokio::time::Instant::now() + timeouts.deadline;
    let response = tokio::time::timeout(timeouts.idle, stream.send())
        .await
        .map_err(|_| ProviderError::Timeout(timeouts.idle))?
        .map_err(|e| ProviderError::Network(error_chain(&e)))?;
    let status = response.status().as_u16();
    if status != 200 {
        let detail = tokio::time::timeout(timeouts.idle, error_detail(response))
            .await
            .unwrap_or_default();
        return Err(match status {
            429 => ProviderError::RateLimited,
            401 | 403 => ProviderError::Unauthorized(status),
            _ => ProviderError::Status { status, detail },
        });
    }
    let events = sse::events(response.bytes_stream());
    let parsed: EventStream = match model.provider {
        ProviderKind::Anthropic => anthropic::parse(events),
        _ => openai::parse(events),
    };
    Ok(with_timeouts(
        parsed,
        timeouts.idle,
        deadline,
        timeouts.deadline,
    ))
}

/// The start of an error response's body, as text: at most `MAX_ERROR_BODY_BYTES` are read,
/// however much the provider sends.
async fn error_detail(response: reqwest::Response) -> String {
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(Ok(chunk)) = chunks.next().await {
        let room = MAX_ERROR_BODY_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == MAX_ERROR_BODY_BYTES {
            break;
        }
    }
    String::from_utf8_lossy(&body).chars().take(300).collect()
}

/// A JSON POST to `path` under the model's base URL, asking for server-sent events.
fn post_for_events(
    http: &reqwest::Client,
    model: &Model,
    path: &str,
    body: &serde_json::Value,
) -> reqwest::RequestBuilder {
    let base = model.base_url.as_deref().unwrap_or_default();
    http.post(format!("{}/{path}", base.trim_end_matches('/')))
        .header("content-type", "application/json")
        .header("accept", "text/event-stream")
        .body(body.to_string())
}

/// Ends the stream with `Timeout` when no event arrives for `idle`, and with `Deadline` at
/// `deadline` (which is `allowed` after the request), whatever arrives.
pub(crate) fn with_timeouts(
    stream: EventStream,
    idle: Duration,
    deadline: tokio::time::Instant,
    allowed: Duration,
) -> EventStream {
    Box::pin(futures_util::stream::unfold(
        Some(stream),
        move |state| async move {
            let mut stream = state?;
            let idle_until = tokio::time::Instant::now() + idle;
            match tokio::time::timeout_at(idle_until.min(deadline), stream.next()).await {
                Ok(Some(item)) => Some((item, Some(stream))),
                Ok(None) => None,
                Err(_) if idle_until < deadline => Some((Err(ProviderError::Timeout(idle)), None)),
                Err(_) => Some((Err(ProviderError::Deadline(allowed)), None)),
            }
        },
    ))
}

/// An error and its causes on one line, for logs.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use fake_provider::FakeProvider;

    use super::*;

    fn model(kind: ProviderKind, upstream: &str, fake: &FakeProvider) -> Model {
        let mut model = Catalogue::embedded().default_model().clone();
        model.provider = kind;
        model.upstream = upstream.into();
        model.base_url = Some(fake.openai_url());
        model
    }

    fn prompt() -> Prompt {
        Prompt {
            temperature: None,
            system: Some("Be brief.".into()),
            messages: vec![PromptMessage {
                role: "user",
                text: "hello there".into(),
                ..Default::default()
            }],
        }
    }

    const KINDS: [ProviderKind; 2] = [ProviderKind::OpenAi, ProviderKind::Anthropic];

    /// The events up to the first error, and that error.
    async fn run(
        kind: ProviderKind,
        upstream: &str,
        fake: &FakeProvider,
    ) -> (String, Vec<Event>, Option<ProviderError>) {
        let http = crate::https::provider_client().build().unwrap();
        let key = SecretString::from("sk-test");
        let timeouts = Timeouts {
            idle: Duration::from_millis(500),
            deadline: Duration::from_secs(2),
        };
        let model = model(kind, upstream, fake);
        let mut stream = match stream_reply(
            &http,
            &model,
            Some(&key),
            &prompt(),
            timeouts,
            Duration::ZERO,
        )
        .await
        {
            Ok(stream) => stream,
            Err(err) => return (String::new(), Vec::new(), Some(err)),
        };
        let (mut text, mut others) = (String::new(), Vec::new());
        while let Some(item) = stream.next().await {
            match item {
                Ok(Event::Text(t)) => text.push_str(&t),
                Ok(other) => others.push(other),
                Err(err) => return (text, others, Some(err)),
            }
        }
        (text, others, None)
    }

    #[tokio::test]
    async fn a_reply_streams_with_its_usage() {
        let fake = FakeProvider::start().await;
        for kind in KINDS {
            let (text, usage, error) = run(kind, "echo", &fake).await;
            assert_eq!(error, None, "{kind:?}");
            assert!(
                text.starts_with("You said: hello there."),
                "{kind:?}: {text}"
            );
            let output: Vec<_> = usage
                .iter()
                .filter_map(|e| match e {
                    Event::Usage {
                        output: Some(n), ..
                    } => Some(*n),
                    _ => None,
                })
                .collect();
            assert_eq!(output, [15], "{kind:?}: {usage:?}");
        }
        let requests = fake.requests();
        let openai = &requests[0];
        assert_eq!(openai.path, "/v1/chat/completions");
        assert_eq!(openai.key.as_deref(), Some("Bearer sk-test"));
        assert_eq!(openai.body["messages"][0]["role"], "system");
        assert_eq!(openai.body["messages"][1]["content"], "hello there");
        assert_eq!(openai.body["stream"], true);
        let anthropic = &requests[1];
        assert_eq!(anthropic.path, "/v1/messages");
        assert_eq!(anthropic.key.as_deref(), Some("sk-test"));
        assert_eq!(anthropic.body["system"], "Be brief.");
        assert_eq!(anthropic.body["messages"][0]["role"], "user");
    }

    #[tokio::test]
    async fn failures_are_told_apart_and_keep_what_arrived() {
        let fake = FakeProvider::start().await;
        for kind in KINDS {
            let (_, _, error) = run(kind, "status-429", &fake).await;
            assert_eq!(error, Some(ProviderError::RateLimited), "{kind:?}");
            let (_, _, error) = run(kind, "status-500", &fake).await;
            assert!(
                matches!(error, Some(ProviderError::Status { status: 500, .. })),
                "{kind:?} {error:?}"
            );
            let (text, _, error) = run(kind, "drop", &fake).await;
            assert_eq!(error, Some(ProviderError::Dropped), "{kind:?}");
            assert_eq!(text, "You said: hello ", "{kind:?}");
            let (text, _, error) = run(kind, "stall", &fake).await;
            assert_eq!(
                error,
                Some(ProviderError::Timeout(Duration::from_millis(500))),
                "{kind:?}"
            );
            assert_eq!(text, "You said: hello ", "{kind:?}");
            let (text, _, error) = run(kind, "garbage", &fake).await;
            assert!(
                matches!(error, Some(ProviderError::Malformed(_))),
                "{kind:?} {error:?}"
            );
            assert_eq!(text, "You ", "{kind:?}");
        }
    }

    #[tokio::test]
    async fn the_thinking_settings_are_sent() {
        let fake = FakeProvider::start().await;
        let http = crate::https::provider_client().build().unwrap();
        let timeouts = Timeouts {
            idle: Duration::from_secs(2),
            deadline: Duration::from_secs(5),
        };
        let mut anthropic = model(ProviderKind::Anthropic, "echo", &fake);
        anthropic.max_output_tokens = 4096;
        anthropic.thinking_budget = Some(2048);
        let mut openai = model(ProviderKind::OpenAi, "echo", &fake);
        openai.reasoning_effort = Some("low".into());
        for model in [&anthropic, &openai] {
            let mut events = stream_reply(&http, model, None, &prompt(), timeouts, Duration::ZERO)
                .await
                .unwrap();
            while events.next().await.is_some() {}
        }
        let requests = fake.requests();
        assert_eq!(
            requests[0].body["thinking"],
            serde_json::json!({"type": "enabled", "budget_tokens": 2048})
        );
        assert_eq!(requests[1].body["reasoning_effort"], "low");
    }

    #[tokio::test]
    async fn anthropic_prompt_caching_marks_the_stable_prefix_and_reports_the_cache() {
        let fake = FakeProvider::start().await;
        let http = crate::https::provider_client().build().unwrap();
        let timeouts = Timeouts {
            idle: Duration::from_secs(2),
            deadline: Duration::from_secs(5),
        };
        let mut claude = model(ProviderKind::Anthropic, "echo", &fake);
        claude.prompt_caching = true;
        let prompt = Prompt {
            temperature: None,
            system: Some("Be brief.".into()),
            messages: vec![
                PromptMessage {
                    role: "user",
                    text: "one".into(),
                    ..Default::default()
                },
                PromptMessage {
                    role: "assistant",
                    text: "two".into(),
                    ..Default::default()
                },
                PromptMessage {
                    role: "user",
                    text: "three".into(),
                    ..Default::default()
                },
            ],
        };
        let mut events = stream_reply(&http, &claude, None, &prompt, timeouts, Duration::ZERO)
            .await
            .unwrap();
        let mut usage = Vec::new();
        while let Some(event) = events.next().await {
            if let Ok(Event::Usage {
                cache_read,
                cache_write,
                ..
            }) = event
            {
                usage.push((cache_read, cache_write));
            }
        }
        assert!(usage.contains(&(
            Some(fake_provider::CACHE_READ),
            Some(fake_provider::CACHE_WRITE)
        )));
        let body = &fake.requests()[0].body;
        assert_eq!(body["system"][0]["cache_control"]["type"], "ephemeral");
        assert_eq!(body["messages"][1]["content"][0]["text"], "two");
        assert_eq!(
            body["messages"][1]["content"][0]["cache_control"]["type"],
            "ephemeral"
        );
        assert_eq!(
            body["messages"][2]["content"], "three",
            "the newest message is not cached"
        );
        assert_eq!(body["messages"][0]["content"], "one");
    }

    #[tokio::test]
    async fn thinking_comes_apart_from_the_answer() {
        let fake = FakeProvider::start().await;
        for kind in KINDS {
            let (text, others, error) = run(kind, "thinking", &fake).await;
            assert_eq!(error, None, "{kind:?}");
            assert!(
                text.starts_with("You said: hello there."),
                "{kind:?}: {text}"
            );
            let thinking: String = others
                .iter()
                .filter_map(|e| match e {
                    Event::Thinking(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(thinking, fake_provider::THINKING.concat(), "{kind:?}");
            assert!(!text.contains("echo it"), "{kind:?}: never mixed in");
        }
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed_so_the_key_goes_nowhere_else() {
        let fake = FakeProvider::start().await;
        let elsewhere = FakeProvider::start().await;
        for kind in KINDS {
            let upstream = format!("redirect-{}", elsewhere.port);
            let (_, _, error) = run(kind, &upstream, &fake).await;
            assert!(
                matches!(error, Some(ProviderError::Status { status: 307, .. })),
                "{kind:?} {error:?}"
            );
        }
        assert!(
            elsewhere.requests().is_empty(),
            "nothing reached the other host"
        );
    }

    #[tokio::test]
    async fn a_hostile_provider_is_bounded() {
        let fake = FakeProvider::start().await;
        for kind in KINDS {
            // A line that never ends is refused at its limit, keeping what came before it.
            let (text, _, error) = run(kind, "long-line", &fake).await;
            assert!(
                matches!(&error, Some(ProviderError::Malformed(why)) if why.contains("line longer")),
                "{kind:?} {error:?}"
            );
            assert_eq!(text, "You ", "{kind:?}");
            // Megabytes of error body: only the start is read.
            let (_, _, error) = run(kind, "big-error", &fake).await;
            match error {
                Some(ProviderError::Status {
                    status: 500,
                    detail,
                }) => {
                    assert!(detail.len() <= 300, "{kind:?}: {} bytes", detail.len())
                }
                other => panic!("{kind:?}: {other:?}"),
            }
            // Usage-only events forever keep the stream busy but do not outlast the deadline.
            let (text, usage, error) = run(kind, "usage-forever", &fake).await;
            assert_eq!(
                error,
                Some(ProviderError::Deadline(Duration::from_secs(2))),
                "{kind:?}"
            );
            assert_eq!(text, "You ", "{kind:?}");
            assert!(usage.len() > 10, "{kind:?}: the events kept coming");
        }
    }

    #[tokio::test]
    async fn an_unreachable_provider_is_a_network_error() {
        let fake = FakeProvider::start().await;
        let mut model = model(ProviderKind::OpenAi, "echo", &fake);
        model.base_url = Some("http://127.0.0.1:1/v1".into());
        let timeouts = Timeouts {
            idle: Duration::from_secs(2),
            deadline: Duration::from_secs(10),
        };
        let result = stream_reply(
            &crate::https::provider_client().build().unwrap(),
            &model,
            None,
            &prompt(),
            timeouts,
            Duration::ZERO,
        )
        .await;
        assert!(matches!(result, Err(ProviderError::Network(_))));
    }

    #[tokio::test]
    async fn the_offline_model_answers_without_a_network() {
        let model = Catalogue::embedded().default_model().clone();
        let timeouts = Timeouts {
            idle: Duration::from_secs(1),
            deadline: Duration::from_secs(10),
        };
        let client = crate::https::provider_client().build().unwrap();
        let mut stream = stream_reply(&client, &model, None, &prompt(), timeouts, Duration::ZERO)
            .await
            .unwrap();
        let mut text = String::new();
        let mut usage = None;
        while let Some(event) = stream.next().await {
            match event.unwrap() {
                Event::Text(t) => text.push_str(&t),
                u => usage = Some(u),
            }
        }
        assert!(text.contains("Offline demo model"), "{text}");
        assert!(text.contains("> hello there"), "{text}");
        assert!(matches!(
            usage,
            Some(Event::Usage {
                input: Some(_),
                output: Some(_),
                ..
            })
        ));
    }
}
