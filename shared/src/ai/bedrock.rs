//! Amazon Bedrock's ConverseStream API (one API for Claude, Llama, Mistral, Nova and the
//! rest), through the AWS SDK and the function's own credentials: no API key. The client is
//! the App's, one per region, built on the first reply that needs it.

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::http::HttpResponse;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse_stream::ConverseStreamError;
use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
use aws_sdk_bedrockruntime::types::{
    CachePointBlock, CachePointType, ContentBlock, ContentBlockDelta, ConversationRole,
    ConverseStreamOutput, InferenceConfiguration, Message, ReasoningContentBlockDelta, StopReason,
    SystemContentBlock,
};
use aws_smithy_types::{Document, Number};

use super::{Event, EventStream, Model, Prompt, ProviderError, Timeouts};

/// A client for `region` (the SDK configuration's own when `None`). It does not retry, as
/// the other providers' calls do not: a throttled or failed call is told to the user at once
/// (with a Retry button), not waited out in backoff (the SDK's throttling backoff runs to
/// seconds).
pub fn client(sdk: &aws_types::SdkConfig, region: Option<&str>) -> Client {
    // Nor does it cut a stream that pauses: a model may think for longer than the SDK's
    // stalled-stream grace period (5 s) before its first token, and the portal's own idle
    // timeout and deadline bound a reply (aws-sdk-rust issue 1287: with a custom HTTP client
    // the SDK's protection cut Bedrock streams that were merely slow).
    let mut builder = aws_sdk_bedrockruntime::config::Builder::from(sdk)
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .stalled_stream_protection(
            aws_sdk_bedrockruntime::config::StalledStreamProtectionConfig::disabled(),
        );
    if let Some(region) = region {
        builder = builder.region(aws_types::region::Region::new(region.to_string()));
    }
    Client::from_conf(builder.build())
}

fn cache_point() -> CachePointBlock {
    CachePointBlock::builder()
        .r#type(CachePointType::Default)
        .build()
        .expect("the type is set")
}

/// The conversation as ConverseStream takes it; with prompt caching, a cache point after the
/// conversation before the newest message (the part the next turn repeats).
fn messages(prompt: &Prompt, caching: bool) -> Result<Vec<Message>, ProviderError> {
    prompt
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let role = if m.role == "assistant" {
                ConversationRole::Assistant
            } else {
                ConversationRole::User
            };
            let mut message = Message::builder().role(role);
            for (attachment, data) in m.binary_files() {
                message = message.content(file_block(attachment, data)?);
            }
            message = message.content(ContentBlock::Text(m.text_with_documents()));
            if caching && prompt.last_stable() == Some(i) {
                message = message.content(ContentBlock::CachePoint(cache_point()));
            }
            message
                .build()
                .map_err(|e| ProviderError::Malformed(e.to_string()))
        })
        .collect()
}

/// An image or a PDF as ConverseStream's image and document blocks.
fn file_block(
    attachment: &crate::attachments::Attachment,
    data: &bytes::Bytes,
) -> Result<ContentBlock, ProviderError> {
    use aws_sdk_bedrockruntime::types::{
        DocumentBlock, DocumentFormat, DocumentSource, ImageBlock, ImageFormat, ImageSource,
    };
    let blob = aws_smithy_types::Blob::new(data.to_vec());
    let malformed =
        |e: aws_sdk_bedrockruntime::error::BuildError| ProviderError::Malformed(e.to_string());
    if attachment.is_image() {
        let image = ImageBlock::builder()
            .format(ImageFormat::from(attachment.media_type.format()))
            .source(ImageSource::Bytes(blob))
            .build()
            .map_err(malformed)?;
        return Ok(ContentBlock::Image(image));
    }
    let document = DocumentBlock::builder()
        .format(DocumentFormat::from(attachment.media_type.format()))
        .name(document_name(attachment.name.as_str()))
        .source(DocumentSource::Bytes(blob))
        .build()
        .map_err(malformed)?;
    Ok(ContentBlock::Document(document))
}

/// A document's name as Bedrock allows it: letters, digits, single spaces, hyphens,
/// parentheses and square brackets.
fn document_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() || "-()[]".contains(c) {
            c
        } else {
            ' '
        };
        if !(c == ' ' && (out.is_empty() || out.ends_with(' '))) {
            out.push(c);
        }
    }
    let out = out.trim_end().to_string();
    if out.is_empty() {
        "document".to_string()
    } else {
        out
    }
}

/// The system prompt, with a cache point after it when caching.
fn system(prompt: &Prompt, caching: bool) -> Option<Vec<SystemContentBlock>> {
    let text = prompt.system.as_ref()?;
    let mut blocks = vec![SystemContentBlock::Text(text.clone())];
    if caching {
        blocks.push(SystemContentBlock::CachePoint(cache_point()));
    }
    Some(blocks)
}

/// Extended thinking for Claude on Bedrock, as the model's own request field.
fn thinking(budget: u32) -> Document {
    let field = |pairs: Vec<(&str, Document)>| {
        Document::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    };
    field(vec![(
        "thinking",
        field(vec![
            ("type", Document::String("enabled".into())),
            (
                "budget_tokens",
                Document::Number(Number::PosInt(u64::from(budget))),
            ),
        ]),
    )])
}

/// Asks `model` for a reply to `prompt` through Bedrock, streaming. Waiting for the stream to
/// open is bounded by `timeouts.idle`, each event after by the same, the whole by
/// `timeouts.deadline`.
pub async fn stream(
    client: &Client,
    model: &Model,
    prompt: &Prompt,
    timeouts: Timeouts,
) -> Result<EventStream, ProviderError> {
    let deadline = tokio::time::Instant::now() + timeouts.deadline;
    let max_tokens = i32::try_from(model.max_output_tokens).unwrap_or(i32::MAX);
    let request = client
        .converse_stream()
        .model_id(&model.upstream)
        .set_messages(Some(messages(prompt, model.prompt_caching)?))
        .set_system(system(prompt, model.prompt_caching))
        .inference_config(
            InferenceConfiguration::builder()
                .max_tokens(max_tokens)
                // With thinking on, the model takes no temperature but its own.
                .set_temperature(
                    prompt
                        .temperature
                        .filter(|_| model.thinking_budget.is_none())
                        .map(|t| f32::from(t) / 100.0),
                )
                .build(),
        )
        .set_additional_model_request_fields(model.thinking_budget.map(thinking));
    let output = tokio::time::timeout(timeouts.idle, request.send())
        .await
        .map_err(|_| ProviderError::Timeout(timeouts.idle))?
        .map_err(|err| opening_error(model, err))?;
    // The state: the receiver, and whether the model has said it stopped (after which only
    // its usage is left to come).
    let events: EventStream = Box::pin(futures_util::stream::unfold(
        Some((output.stream, false)),
        |state| async move {
            let (mut receiver, mut stopped) = state?;
            loop {
                match receiver.recv().await {
                    Ok(Some(event)) => match translate(event) {
                        Step::Emit(out) => return Some((Ok(out), Some((receiver, stopped)))),
                        Step::Stopped { cut: true } => {
                            return Some((Ok(Event::Cut), Some((receiver, true))));
                        }
                        Step::Stopped { cut: false } => stopped = true,
                        Step::Skip => {}
                    },
                    // The end: whole only if the model said it stopped.
                    Ok(None) if stopped => return None,
                    Ok(None) => return Some((Err(ProviderError::Dropped), None)),
                    Err(err) => return Some((Err(stream_error(err)), None)),
                }
            }
        },
    ));
    Ok(super::with_timeouts(
        events,
        timeouts.idle,
        deadline,
        timeouts.deadline,
    ))
}

enum Step {
    Emit(Event),
    /// The model stopped, `cut` when at its output limit.
    Stopped {
        cut: bool,
    },
    Skip,
}

fn translate(event: ConverseStreamOutput) -> Step {
    match event {
        ConverseStreamOutput::ContentBlockDelta(delta) => {
            match delta.delta {
                Some(ContentBlockDelta::Text(text)) if !text.is_empty() => {
                    Step::Emit(Event::Text(text))
                }
                Some(ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(
                    text,
                ))) if !text.is_empty() => Step::Emit(Event::Thinking(text)),
                _ => Step::Skip,
            }
        }
        ConverseStreamOutput::MessageStop(stop) => Step::Stopped {
            cut: stop.stop_reason == StopReason::MaxTokens,
        },
        ConverseStreamOutput::Metadata(metadata) => match metadata.usage {
            Some(usage) => Step::Emit(Event::Usage {
                input: u32::try_from(usage.input_tokens).ok(),
                output: u32::try_from(usage.output_tokens).ok(),
                cache_read: usage
                    .cache_read_input_tokens
                    .and_then(|n| u32::try_from(n).ok()),
                cache_write: usage
                    .cache_write_input_tokens
                    .and_then(|n| u32::try_from(n).ok()),
            }),
            None => Step::Skip,
        },
        _ => Step::Skip,
    }
}

/// A service error as the failure's detail: its code and message, at most 300 characters.
fn described(err: &impl ProvideErrorMetadata) -> String {
    format!(
        "{}: {}",
        err.code().unwrap_or("error"),
        err.message().unwrap_or_default()
    )
    .chars()
    .take(300)
    .collect()
}

/// Why the stream did not open, in the failure table's terms.
fn opening_error(model: &Model, err: SdkError<ConverseStreamError, HttpResponse>) -> ProviderError {
    match &err {
        SdkError::ServiceError(service) => match service.err() {
            ConverseStreamError::ThrottlingException(_) => ProviderError::RateLimited,
            ConverseStreamError::AccessDeniedException(_) => ProviderError::Unauthorized(403),
            error @ (ConverseStreamError::ModelStreamErrorException(_)
            | ConverseStreamError::ModelErrorException(_)) => {
                ProviderError::Reported(described(error))
            }
            other => ProviderError::Status {
                status: service.raw().status().as_u16(),
                detail: described(other),
            },
        },
        // No credentials to sign with: the model cannot be used until the role (or a local
        // profile) provides them, which is the administrator's to set up.
        SdkError::ConstructionFailure(_) | SdkError::DispatchFailure(_)
            if super::error_chain(&err).contains("credentials") =>
        {
            tracing::warn!(model = %model.id, "no AWS credentials for Bedrock");
            ProviderError::NoKey(model.id.clone())
        }
        SdkError::TimeoutError(_) => ProviderError::Network("timed out connecting".into()),
        _ => ProviderError::Network(super::error_chain(&err)),
    }
}

/// A failure after the stream opened.
fn stream_error<R: std::fmt::Debug>(err: SdkError<ConverseStreamOutputError, R>) -> ProviderError {
    match &err {
        SdkError::ServiceError(service) => match service.err() {
            ConverseStreamOutputError::ThrottlingException(_) => ProviderError::RateLimited,
            other => ProviderError::Reported(described(other)),
        },
        other => {
            tracing::warn!(err = %super::error_chain(other), "the Bedrock stream broke");
            ProviderError::Dropped
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use fake_provider::FakeProvider;
    use futures_util::StreamExt;

    use super::*;
    use crate::ai::{Catalogue, PromptMessage, ProviderKind};

    fn model(upstream: &str) -> Model {
        let mut model = Catalogue::embedded().default_model().clone();
        model.provider = ProviderKind::Bedrock;
        model.upstream = upstream.into();
        model.max_output_tokens = 321;
        model
    }

    fn prompt() -> Prompt {
        Prompt {
            temperature: None,
            system: Some("Be brief.".into()),
            messages: vec![
                PromptMessage {
                    role: "user",
                    text: "hello there".into(),
                    ..Default::default()
                },
                PromptMessage {
                    role: "assistant",
                    text: "Hi.".into(),
                    ..Default::default()
                },
                PromptMessage {
                    role: "user",
                    text: "and again".into(),
                    ..Default::default()
                },
            ],
        }
    }

    /// The text, the other events, and the error that ended the stream, if one did.
    async fn run(
        upstream: &str,
        fake: &FakeProvider,
    ) -> (String, Vec<Event>, Option<ProviderError>) {
        let sdk = crate::testing::local_service(&fake.openai_url().replace("/v1", ""));
        let client = client(&sdk, Some("eu-west-1"));
        let timeouts = Timeouts {
            idle: Duration::from_millis(500),
            deadline: Duration::from_secs(5),
        };
        let mut events = match stream(&client, &model(upstream), &prompt(), timeouts).await {
            Ok(events) => events,
            Err(err) => return (String::new(), Vec::new(), Some(err)),
        };
        let (mut text, mut others) = (String::new(), Vec::new());
        while let Some(item) = events.next().await {
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
        let (text, others, error) = run("eu.anthropic.claude-3-haiku-20240307-v1:0", &fake).await;
        assert_eq!(error, None);
        assert!(text.starts_with("You said: and again."), "{text}");
        assert_eq!(others, [Event::tokens(Some(11), Some(15))]);
        let request = &fake.requests()[0];
        assert_eq!(
            request.path,
            "/model/eu.anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"
        );
        assert!(
            request
                .key
                .as_deref()
                .is_some_and(|k| k.starts_with("AWS4-HMAC-SHA256")),
            "signed with the SDK's credentials, no API key: {:?}",
            request.key
        );
        assert_eq!(request.body["system"][0]["text"], "Be brief.");
        assert_eq!(request.body["messages"][1]["role"], "assistant");
        assert_eq!(
            request.body["messages"][2]["content"][0]["text"],
            "and again"
        );
        assert_eq!(request.body["inferenceConfig"]["maxTokens"], 321);
    }

    #[tokio::test]
    async fn a_thinking_budget_is_sent_as_the_models_own_field() {
        let fake = FakeProvider::start().await;
        let sdk = crate::testing::local_service(&fake.openai_url().replace("/v1", ""));
        let mut claude = model("echo");
        claude.max_output_tokens = 4096;
        claude.thinking_budget = Some(2048);
        let timeouts = Timeouts {
            idle: Duration::from_secs(2),
            deadline: Duration::from_secs(5),
        };
        let mut events = stream(&client(&sdk, None), &claude, &prompt(), timeouts)
            .await
            .unwrap();
        while events.next().await.is_some() {}
        let body = &fake.requests()[0].body;
        assert_eq!(
            body["additionalModelRequestFields"]["thinking"],
            serde_json::json!({"type": "enabled", "budget_tokens": 2048})
        );
    }

    #[tokio::test]
    async fn prompt_caching_sets_cache_points_and_reports_the_cache() {
        let fake = FakeProvider::start().await;
        let sdk = crate::testing::local_service(&fake.openai_url().replace("/v1", ""));
        let mut claude = model("echo");
        claude.prompt_caching = true;
        let timeouts = Timeouts {
            idle: Duration::from_secs(2),
            deadline: Duration::from_secs(5),
        };
        let mut events = stream(&client(&sdk, None), &claude, &prompt(), timeouts)
            .await
            .unwrap();
        let mut usage = None;
        while let Some(event) = events.next().await {
            if let Ok(Event::Usage {
                cache_read,
                cache_write,
                ..
            }) = event
            {
                usage = Some((cache_read, cache_write));
            }
        }
        assert_eq!(
            usage,
            Some((
                Some(fake_provider::CACHE_READ),
                Some(fake_provider::CACHE_WRITE)
            ))
        );
        let body = &fake.requests()[0].body;
        assert_eq!(body["system"][1]["cachePoint"]["type"], "default");
        assert_eq!(
            body["messages"][1]["content"][1]["cachePoint"]["type"],
            "default"
        );
        assert_eq!(body["messages"][2]["content"].as_array().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn reasoning_comes_apart_from_the_answer() {
        let fake = FakeProvider::start().await;
        let (text, others, error) = run("thinking", &fake).await;
        assert_eq!(error, None);
        assert!(text.starts_with("You said: and again."), "{text}");
        let thinking: String = others
            .iter()
            .filter_map(|e| match e {
                Event::Thinking(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(thinking, fake_provider::THINKING.concat());
    }

    #[tokio::test]
    async fn the_output_limit_marks_the_reply_cut_and_keeps_its_usage() {
        let fake = FakeProvider::start().await;
        let (text, others, error) = run("max-tokens", &fake).await;
        assert_eq!(error, None);
        assert_eq!(text, "You said: and ");
        assert_eq!(others, [Event::Cut, Event::tokens(Some(11), Some(3))]);
    }

    #[tokio::test]
    async fn failures_map_to_the_failure_table_and_keep_what_arrived() {
        let fake = FakeProvider::start().await;
        let (_, _, error) = run("throttled", &fake).await;
        assert_eq!(error, Some(ProviderError::RateLimited));
        assert_eq!(fake.requests().len(), 1, "told at once, not retried");
        let (_, _, error) = run("denied", &fake).await;
        assert_eq!(error, Some(ProviderError::Unauthorized(403)));
        let (text, _, error) = run("stream-error", &fake).await;
        assert!(
            matches!(&error, Some(ProviderError::Reported(why)) if why.contains("broke")),
            "{error:?}"
        );
        assert_eq!(text, "You said: and ");
        let (text, _, error) = run("drop", &fake).await;
        assert_eq!(error, Some(ProviderError::Dropped));
        assert_eq!(text, "You said: and ");
        let (text, _, error) = run("stall", &fake).await;
        assert_eq!(
            error,
            Some(ProviderError::Timeout(Duration::from_millis(500)))
        );
        assert_eq!(text, "You said: and ");
    }
}
