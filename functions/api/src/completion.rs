//! One chat completion: the model chosen and the request checked against it, the call
//! reserved against the caller's caps and send rate (atomically, as a send is), then the
//! reply written, streamed as chunks or answered whole, charged as "API" usage and, for keys
//! that keep their calls, kept as a conversation.

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Value, json};
use shared::ai::{EventStream, Growing, Model, Prompt, Step};
use shared::conversations::{Message, MessageState, new_turn_id};
use shared::store::{ApiKeyStore, StoreError, UsageStore};
use shared::web::ByteStream;
use shared::web::Listener;
use shared::{App, session};

use crate::caller::Caller;
use crate::error::ApiError;
use crate::formats::{self, Completion, Finish, Usage};
use crate::keep::Kept;
use crate::request::CompletionRequest;

/// A key's "last used" is written at most this often (a write per call would double a
/// call's store writes for a date shown to the minute).
const TOUCH_EVERY_SECONDS: u64 = 60;

/// What the handler answers with.
pub enum Answer {
    /// A whole completion.
    Whole(Value),
    /// Server-sent events, as they are written.
    Events(ByteStream),
}

/// The completion and, when the key keeps its calls, the conversation it becomes.
pub struct Answered {
    pub answer: Answer,
    pub conversation: Option<String>,
}

/// A call on its way: everything its end needs.
struct Call {
    app: &'static App,
    caller: Caller,
    model: Model,
    prompt: Prompt,
    completion: Completion,
    include_usage: bool,
    kept: Option<Kept>,
}

pub async fn complete(
    app: &'static App,
    caller: Caller,
    request: CompletionRequest,
) -> Result<Answered, ApiError> {
    let model = caller.model(app, &request.model)?;
    let parameters = request.parameters(model)?;
    // As the call asks: its output limit and reasoning effort.
    let model = parameters.apply(model);
    let prompt = request.prompt(&model, &parameters)?;
    let now = session::now();
    let store = app.store().await?;
    let limits = caller.limits.for_send(now);
    let reserve = store.reserve_send(&caller.owner, &limits);
    let stale = caller
        .key
        .last_used_at
        .is_none_or(|at| now >= at + TOUCH_EVERY_SECONDS);
    let touch = async {
        if stale
            && let Err(err) = store
                .touch_api_key(&caller.owner, &caller.key.id, now)
                .await
        {
            tracing::warn!(%err, "noting the key's use failed");
        }
    };
    let (reserved, ()) = tokio::join!(reserve, touch);
    if let Err(err) = reserved {
        return Err(match (caller.limits.refusal(&err, now), err) {
            (Some(refusal), _) => ApiError::Limited(refusal),
            (None, StoreError::NotFound) => ApiError::AccountUnusable,
            (None, err) => ApiError::internal(err),
        });
    }
    // Nothing arrived, so nothing is charged (the send still counts against the rate).
    let events = app.ask(&model, &prompt).await.map_err(ApiError::Upstream)?;
    let kept = caller
        .key
        .keeps_conversations
        .then(|| Kept::new(&request, &model, &caller.limits, now));
    let call = Call {
        app,
        completion: Completion {
            id: format!("chatcmpl-{}", shared::random::token::<18>()),
            created: now,
            model: request.model.clone(),
        },
        include_usage: request.include_usage,
        caller,
        model,
        prompt,
        kept,
    };
    let conversation = call.kept.as_ref().map(|k| k.id().to_string());
    let answer = if request.stream {
        Answer::Events(call.stream(events))
    } else {
        Answer::Whole(call.whole(events).await?)
    };
    Ok(Answered {
        answer,
        conversation,
    })
}

impl Call {
    fn growing(&self) -> Growing {
        Growing::new(Message::pending_reply(
            0,
            &self.model.id,
            &new_turn_id(),
            self.completion.created,
        ))
    }

    /// The whole reply, answered at once; a failure part way is an error (its text lost to
    /// the caller, but charged: the provider was paid for it).
    async fn whole(self, mut events: EventStream) -> Result<Value, ApiError> {
        let mut growing = self.growing();
        while let Some(item) = events.next().await {
            if let Step::Stop(_) = growing.take(item, &self.model) {
                break;
            }
        }
        growing.end();
        let (usage, finish, failure) = self.finish(&mut growing).await;
        if let Some(message) = failure {
            return Err(ApiError::Upstream(message));
        }
        let reply = &growing.reply;
        Ok(self
            .completion
            .whole(&reply.text, &reply.thinking, finish, usage))
    }

    /// The reply as chunks while it is written. The writing goes on if the caller leaves
    /// (the provider is paid either way), so its cost is always counted.
    fn stream(self, events: EventStream) -> ByteStream {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move { self.write(events, Listener::new(Some(tx))).await });
        Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
    }

    async fn write(self, mut events: EventStream, mut listener: Listener) {
        let chunk =
            |delta: Value| formats::event(&self.completion.chunk(delta, None, self.include_usage));
        listener.send(chunk(json!({ "role": "assistant", "content": "" })));
        let mut growing = self.growing();
        while let Some(item) = events.next().await {
            match growing.take(item, &self.model) {
                Step::Text(piece) => listener.send(chunk(json!({ "content": piece }))),
                Step::Thinking(piece) => {
                    listener.send(chunk(json!({ "reasoning_content": piece })))
                }
                Step::Quiet => {}
                Step::Stop(last) => {
                    if let Some(piece) = last {
                        listener.send(chunk(json!({ "content": piece })));
                    }
                    break;
                }
            }
        }
        growing.end();
        let (usage, finish, failure) = self.finish(&mut growing).await;
        if let Some(err) = failure {
            // OpenAI's clients raise an error for an event carrying one.
            listener.send(formats::event(&ApiError::Upstream(err).body()));
            return;
        }
        let last = self
            .completion
            .chunk(json!({}), Some(finish), self.include_usage);
        listener.send(formats::event(&last));
        if self.include_usage {
            listener.send(formats::event(&self.completion.usage_chunk(usage)));
        }
        listener.send(Bytes::from_static(formats::DONE));
    }

    /// Charges the reply as "API" usage and keeps it, if the key keeps its calls: its usage,
    /// why it ended, and the failure, if it failed.
    async fn finish(
        &self,
        growing: &mut Growing,
    ) -> (Usage, Finish, Option<shared::ai::ProviderError>) {
        let now = session::now();
        let charge = growing.charge(
            &self.model,
            self.prompt.estimated_tokens(),
            (shared::usage::API_USAGE, shared::usage::API_USAGE_TITLE),
            self.caller.limits.counted_groups(),
            now,
        );
        match self.app.store().await {
            Ok(store) => {
                if let Some(charge) = &charge
                    && let Err(err) = store.record_usage(&self.caller.owner, charge).await
                {
                    tracing::error!(%err, "recording an API call's usage failed");
                }
                if let Some(kept) = &self.kept
                    && let Err(err) = kept.store(store, &self.caller.owner, &growing.reply).await
                {
                    tracing::error!(%err, "keeping an API call as a conversation failed");
                }
            }
            Err(err) => tracing::error!(%err, "no store to charge an API call"),
        }
        let reply = &growing.reply;
        let finish = match reply.state {
            MessageState::Truncated => Finish::Length,
            _ => Finish::Stop,
        };
        (
            Usage::of(reply, growing.cache_read, growing.cache_write),
            finish,
            growing.failure.take(),
        )
    }
}
