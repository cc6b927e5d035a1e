//! One turn of a conversation: the user's message (or a regenerate or an edit) stored with an
//! empty reply first, then the reply streamed from the model, saved as it grows and completed
//! at the end, whether or not anyone is still reading.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;
use shared::ai::{self, ContextError, Event, Model, Prompt, Timeouts};
use shared::conversations::{
    ConversationId, MAX_REPLY_BYTES, Message, MessageState, MessageText, Speaker, new_turn_id,
};
use shared::session;
use shared::store::{ConversationStore, StoreError, TurnWrite};
use shared::users::Username;
use shared::{App, AppError};
use tokio::sync::mpsc::UnboundedSender;

/// How often a growing reply is written back, so that a reload shows it.
pub const SAVE_EVERY: Duration = Duration::from_millis(500);
/// How many of the latest messages a reply's context is chosen from.
pub const CONTEXT_MESSAGES: usize = 100;
/// Sends racing for the same conversation retry this often before giving up.
const WRITE_ATTEMPTS: usize = 8;

pub enum Kind {
    Send(MessageText),
    /// Replace the last reply with a new one.
    Regenerate,
    /// Replace the last message (the user's) and its reply.
    Edit(MessageText),
}

#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error("no such conversation")]
    NotFound,
    /// Shown beside the message field; nothing was stored.
    #[error("{0}")]
    Message(String),
    #[error(transparent)]
    App(#[from] AppError),
}

/// A turn whose messages are stored, ready for the model to write the reply.
pub struct Prepared {
    pub owner: Username,
    pub id: ConversationId,
    pub reply: Message,
    pub model: Model,
    pub prompt: Prompt,
}

/// Whether a reply marked as streaming is still being written, or was abandoned (its
/// function stopped) and will never finish.
pub fn still_streaming(app: &App, message: &Message, now: u64) -> bool {
    message.state == MessageState::Streaming
        && message.updated_at + app.config.provider_timeout.as_secs() + 30 >= now
}

fn context_error(model: &Model, err: ContextError) -> TurnError {
    match err {
        ContextError::TooLong => TurnError::Message(format!(
            "That message is too long for {} (its context holds about {} tokens).",
            model.name, model.context_tokens
        )),
        ContextError::Empty => {
            TurnError::App(AppError::BadRequest("There is nothing to reply to."))
        }
    }
}

/// The model the form names (`requested`), or else the conversation's (`current`), or else
/// the catalogue's default; an unknown requested id is a bad request.
pub fn pick_model<'a>(app: &'a App, requested: &str, current: &str) -> Result<&'a Model, AppError> {
    let catalogue = &app.config.models;
    if requested.is_empty() {
        return Ok(catalogue
            .get(current)
            .unwrap_or_else(|| catalogue.default_model()));
    }
    catalogue
        .get(requested)
        .ok_or(AppError::BadRequest("There is no model with that id."))
}

/// Checks `text` alone fits `model`, before anything is stored.
pub fn check_fits(model: &Model, text: &MessageText) -> Result<(), TurnError> {
    let message = Message::user(0, text, "", 0);
    Prompt::build(model, None, std::slice::from_ref(&message))
        .map(|_| ())
        .map_err(|e| context_error(model, e))
}

/// Stores the turn's messages after the conversation's last one, retrying when another send
/// got there first, and gives back what the model is to answer.
pub async fn prepare(
    app: &App,
    owner: &Username,
    id: &ConversationId,
    kind: &Kind,
    requested_model: &str,
) -> Result<Prepared, TurnError> {
    let store = app.store().await?;
    for _ in 0..WRITE_ATTEMPTS {
        let now = session::now();
        let (conversation, history) = store
            .conversation(owner, id, CONTEXT_MESSAGES)
            .await
            .map_err(AppError::internal)?
            .ok_or(TurnError::NotFound)?;
        let model = pick_model(app, requested_model, &conversation.model)?;
        let turn = new_turn_id();
        let next = conversation.next_seq;
        let (messages, context, next_seq) = match kind {
            Kind::Send(text) => {
                let user = Message::user(next, text, &turn, now);
                let reply = Message::pending_reply(next + 1, &model.id, &turn, now);
                let mut context = history;
                context.push(user.clone());
                (vec![user, reply], context, next + 2)
            }
            Kind::Regenerate => {
                let Some(last) = history.last().filter(|m| m.speaker == Speaker::Assistant) else {
                    return Err(AppError::BadRequest("There is no reply to regenerate.").into());
                };
                if still_streaming(app, last, now) {
                    return Err(AppError::BadRequest(
                        "The last reply is still being written; wait for it to finish.",
                    )
                    .into());
                }
                let reply = Message::pending_reply(last.seq, &model.id, &turn, now);
                let mut context = history;
                context.pop();
                (vec![reply], context, next)
            }
            Kind::Edit(text) => {
                let n = history.len();
                let pair = (n >= 2).then(|| (&history[n - 2], &history[n - 1]));
                let Some((question, answer)) = pair
                    .filter(|(q, a)| q.speaker == Speaker::User && a.speaker == Speaker::Assistant)
                else {
                    return Err(AppError::BadRequest("There is no message to edit.").into());
                };
                if still_streaming(app, answer, now) {
                    return Err(AppError::BadRequest(
                        "The last reply is still being written; wait for it to finish.",
                    )
                    .into());
                }
                let user = Message::user(question.seq, text, &turn, now);
                let reply = Message::pending_reply(answer.seq, &model.id, &turn, now);
                let mut context = history;
                context.truncate(n - 2);
                context.push(user.clone());
                (vec![user, reply], context, next)
            }
        };
        let prompt = Prompt::build(model, conversation.system.as_deref(), &context)
            .map_err(|e| context_error(model, e))?;
        let write = TurnWrite {
            expected_next_seq: next,
            next_seq,
            model: &model.id,
            messages: &messages,
            now,
            spend_limit: None,
            rate: None,
        };
        match store.write_turn(owner, id, &write).await {
            Ok(()) => {
                let reply = messages.last().cloned().expect("a turn writes a reply");
                return Ok(Prepared {
                    owner: owner.clone(),
                    id: id.clone(),
                    reply,
                    model: model.clone(),
                    prompt,
                });
            }
            Err(StoreError::Conflict) => continue,
            Err(StoreError::NotFound) => return Err(TurnError::NotFound),
            Err(err) => return Err(AppError::internal(err).into()),
        }
    }
    Err(AppError::internal("too many concurrent sends to one conversation").into())
}

fn event(name: &str, data: serde_json::Value) -> Bytes {
    ai::sse::encode(name, &data)
}

/// Where the reply's pieces go as they arrive; a reader who left is not an error.
struct Listener(Option<UnboundedSender<Bytes>>);

impl Listener {
    fn send(&mut self, bytes: Bytes) {
        if let Some(tx) = &self.0
            && tx.send(bytes).is_err()
        {
            self.0 = None;
        }
    }
}

/// Writes the reply: asks the model, saves the text every `SAVE_EVERY` and at the end, and
/// tells `listener` (if any) each piece. Returns the reply as last saved.
pub async fn run(
    app: &App,
    turn: Prepared,
    url: String,
    listener: Option<UnboundedSender<Bytes>>,
) -> Message {
    let mut listener = Listener(listener);
    let Prepared {
        owner,
        id,
        mut reply,
        model,
        prompt,
    } = turn;
    listener.send(event("start", json!({ "url": url, "seq": reply.seq })));
    let store = match app.store().await {
        Ok(store) => store,
        Err(err) => {
            tracing::error!(%err, "no store for the reply");
            listener.send(event(
                "error",
                json!({ "message": "The reply could not be saved." }),
            ));
            return reply;
        }
    };
    let mut superseded = false;
    let outcome = start(app, &model, &prompt).await;
    match outcome {
        Err(err) => fail(&mut reply, &model, &err),
        Ok(mut events) => {
            let mut last_save = Instant::now();
            while let Some(item) = events.next().await {
                match item {
                    Ok(Event::Text(text)) => {
                        let room = MAX_REPLY_BYTES - reply.text.len();
                        let piece = if text.len() > room {
                            let mut cut = room;
                            while !text.is_char_boundary(cut) {
                                cut -= 1;
                            }
                            &text[..cut]
                        } else {
                            &text
                        };
                        reply.text.push_str(piece);
                        listener.send(event("text", json!(piece)));
                        if piece.len() < text.len() {
                            reply.state = MessageState::Truncated;
                            break;
                        }
                        if last_save.elapsed() >= SAVE_EVERY {
                            last_save = Instant::now();
                            reply.updated_at = session::now();
                            if let Err(StoreError::Conflict) =
                                save(store, &owner, &id, &reply).await
                            {
                                superseded = true;
                                break;
                            }
                        }
                    }
                    Ok(Event::Usage { input, output }) => {
                        reply.input_tokens = input.or(reply.input_tokens);
                        reply.output_tokens = output.or(reply.output_tokens);
                    }
                    Err(err) => {
                        fail(&mut reply, &model, &err);
                        break;
                    }
                }
            }
            if reply.state == MessageState::Streaming {
                reply.state = MessageState::Complete;
            }
        }
    }
    if superseded {
        tracing::info!(
            conversation = id.as_str(),
            "reply replaced by a newer turn; stopped"
        );
        listener.send(event(
            "error",
            json!({ "message": "This reply was replaced, or its conversation deleted." }),
        ));
        return reply;
    }
    reply.updated_at = session::now();
    let saved = save(store, &owner, &id, &reply).await;
    match (saved, reply.state) {
        (Err(_), _) => listener.send(event(
            "error",
            json!({ "message": "The reply could not be saved." }),
        )),
        (Ok(()), MessageState::Failed) => listener.send(event(
            "error",
            json!({ "message": reply.error.clone().unwrap_or_default() }),
        )),
        (Ok(()), _) => listener.send(event("done", json!({ "state": reply.state.as_str() }))),
    }
    reply
}

async fn start(
    app: &App,
    model: &Model,
    prompt: &Prompt,
) -> Result<ai::EventStream, ai::ProviderError> {
    if model.is_offline() {
        return Ok(ai::offline::reply(prompt, app.config.offline_pace));
    }
    let key = app.api_key(model).await?;
    let http = app
        .http()
        .await
        .map_err(|e| ai::ProviderError::Network(e.to_string()))?;
    let timeouts = Timeouts {
        idle: app.config.provider_timeout,
    };
    ai::stream_reply(
        http,
        model,
        key.as_ref(),
        prompt,
        timeouts,
        app.config.offline_pace,
    )
    .await
}

fn fail(reply: &mut Message, model: &Model, err: &ai::ProviderError) {
    tracing::warn!(model = %model.id, %err, "the reply failed");
    reply.state = MessageState::Failed;
    reply.error = Some(err.user_message().to_string());
}

async fn save(
    store: &shared::store::Store,
    owner: &Username,
    id: &ConversationId,
    reply: &Message,
) -> Result<(), StoreError> {
    let result = store.save_reply(owner, id, reply, None).await;
    if let Err(err) = &result {
        match err {
            StoreError::Conflict => {}
            other => tracing::error!(err = %other, "saving the reply failed"),
        }
    }
    result
}
