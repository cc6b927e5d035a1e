//! One turn of a conversation: the user's message (or a regenerate or an edit) stored with an
//! empty reply first, then the reply streamed from the model, saved as it grows and completed
//! at the end, whether or not anyone is still reading.

use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::json;
use shared::ai::{self, ContextError, Growing, Model, Prompt, Step};
use shared::branches;
use shared::conversations::{
    Conversation, ConversationId, Message, MessageState, MessageText, Speaker, new_turn_id,
};
use shared::groups::{GroupId, ModelAccess};
use shared::limits::Limits;
use shared::session;
use shared::store::{ConversationStore, StoreError, TurnWrite, UsageStore};
use shared::transcript::still_streaming;
use shared::usage::Charge;
use shared::users::Username;
use shared::web::{claimed_user, path_parameter};
use shared::{App, AppError};

use crate::attach;
use crate::handler::Action;
use crate::saving::Saves;
use shared::attachments::Attachment;
use shared::web::Listener;
use tokio::sync::mpsc::UnboundedSender;

/// How many of the latest messages a reply's context is chosen from.
pub const CONTEXT_MESSAGES: usize = 100;
/// Sends racing for the same conversation retry this often before giving up.
const WRITE_ATTEMPTS: usize = 8;

pub enum Kind {
    /// A message, with the uploads it attaches (`attach::claim`), after the branch ending at
    /// the message given (none: the branch the conversation shows).
    Send(MessageText, Vec<String>, Option<u32>),
    /// A new reply in place of the reply given (none: the last of the branch shown); the
    /// earlier one stays, as its sibling.
    Regenerate(Option<u32>),
    /// The user's message given (none: the last of the branch shown) written anew, and a
    /// reply to it; the earlier one stays, as its sibling, with its replies.
    Edit(Option<u32>, MessageText),
}

#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error("no such conversation")]
    NotFound,
    /// Shown beside the message field; nothing was stored.
    #[error("{0}")]
    Message(String),
    /// A limit refused the send (spend cap, send rate); shown beside the message field with
    /// `status`; nothing was stored.
    #[error("{1}")]
    Limited(StatusCode, String),
    #[error(transparent)]
    App(#[from] AppError),
}

impl TurnError {
    /// What to show beside the message field, and with which status, if the send was
    /// refused for something the user can act on.
    pub fn refusal(&self) -> Option<(StatusCode, &str)> {
        match self {
            TurnError::Message(message) => Some((StatusCode::BAD_REQUEST, message)),
            TurnError::Limited(status, message) => Some((*status, message)),
            _ => None,
        }
    }
}

fn limit_error(err: StoreError, limits: &Limits, now: u64) -> TurnError {
    match limits.refusal(&err, now) {
        Some(refusal) => TurnError::Limited(refusal.status(), refusal.message),
        None => TurnError::App(AppError::internal(err)),
    }
}

/// A turn whose messages are stored, ready for the model to write the reply.
pub struct Prepared {
    pub owner: Username,
    pub id: ConversationId,
    /// The conversation's title, which its usage is listed under.
    pub title: String,
    pub reply: Message,
    pub model: Model,
    pub prompt: Prompt,
    /// The groups the reply's cost counts in.
    pub groups: Vec<GroupId>,
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
/// the first the account may use; an unknown requested id is a bad request, and one the
/// account's groups do not include (or a conversation's model it may no longer use) is
/// refused.
pub fn pick_model<'a>(
    app: &'a App,
    access: &ModelAccess,
    requested: &str,
    current: &str,
) -> Result<&'a Model, AppError> {
    let catalogue = &app.config.models;
    let model = match (requested, current) {
        ("", "") => access.models(catalogue).first().copied(),
        ("", current) => catalogue
            .get(current)
            .or_else(|| access.models(catalogue).first().copied()),
        (requested, _) => Some(
            catalogue
                .get(requested)
                .ok_or(AppError::BadRequest("There is no model with that id."))?,
        ),
    };
    model
        .filter(|m| access.allows(&m.id))
        .ok_or(AppError::ModelNotAllowed)
}

/// Checks `text` alone fits `model`, before anything is stored.
pub fn check_fits(model: &Model, text: &MessageText) -> Result<(), TurnError> {
    let message = Message::user(0, text, "", 0);
    Prompt::build(model, None, std::slice::from_ref(&message))
        .map(|_| ())
        .map_err(|e| context_error(model, e))
}

/// A send's first read, started before the visit has checked the session (see `prefetch`).
pub struct Prefetched {
    owner: Username,
    id: ConversationId,
    read: Result<Option<(Conversation, Vec<Message>)>, StoreError>,
}

/// For a post that sends (a message, an edit, a regenerate): the conversation and its recent
/// history, read for the user the session cookie names, so that the read runs while the visit
/// checks the session (one round trip before the turn is written, not two). `prepare` uses it
/// only if the visit then signed in that very user; anyone else's read is dropped unseen.
pub async fn prefetch(app: &App, req: &Request) -> Option<Prefetched> {
    #[derive(serde::Deserialize)]
    struct Posted {
        #[serde(default)]
        action: Action,
    }
    if req.method() != lambda_http::http::Method::POST {
        return None;
    }
    let id = path_parameter(req, "id", "/chat/").and_then(|raw| ConversationId::parse(&raw))?;
    let posted: Posted = shared::form::parse(req).ok()?;
    if !posted.action.sends() {
        return None;
    }
    let owner = claimed_user(app, req).await?;
    let store = app.store().await.ok()?;
    let read = store.conversation(&owner, &id, CONTEXT_MESSAGES).await;
    Some(Prefetched { owner, id, read })
}

/// Stores the turn's messages after the conversation's last one, retrying when another send
/// got there first, and gives back what the model is to answer. A send's attachments are
/// taken in first; if the turn is then not stored, their files go again.
pub async fn prepare(
    app: &App,
    (owner, id): (&Username, &ConversationId),
    kind: &Kind,
    requested_model: &str,
    limits: &Limits,
    prefetched: Option<Prefetched>,
) -> Result<Prepared, TurnError> {
    let mut claimed = None;
    let prepared = prepare_claiming(
        app,
        (owner, id),
        kind,
        requested_model,
        limits,
        prefetched,
        &mut claimed,
    )
    .await;
    let claimed = claimed.filter(|a: &Vec<_>| !a.is_empty());
    match (&prepared, claimed, kind) {
        (Ok(_), Some(_), Kind::Send(_, uploads, _)) => attach::used(app, uploads).await,
        // Not stored: the copies go, and the uploads stay to be sent again.
        (Err(_), Some(attachments), _) => {
            if let Ok(Some(bucket)) = app.bucket().await {
                attach::forget(bucket, &attachments).await;
            }
        }
        _ => {}
    }
    prepared
}

async fn prepare_claiming(
    app: &App,
    (owner, id): (&Username, &ConversationId),
    kind: &Kind,
    requested_model: &str,
    limits: &Limits,
    prefetched: Option<Prefetched>,
    claimed: &mut Option<Vec<(Attachment, Bytes)>>,
) -> Result<Prepared, TurnError> {
    let store = app.store().await?;
    // The prefetched read counts only for this user's own conversation.
    let mut first = prefetched
        .filter(|p| p.owner == *owner && p.id == *id)
        .map(|p| p.read);
    for _ in 0..WRITE_ATTEMPTS {
        let now = session::now();
        let read = match first.take() {
            Some(read) => read,
            None => store.conversation(owner, id, CONTEXT_MESSAGES).await,
        };
        let (conversation, history) = read.map_err(AppError::from)?.ok_or(TurnError::NotFound)?;
        let picked = pick_model(app, &limits.access, requested_model, &conversation.model)?;
        // As this conversation uses it: its own output limit and reasoning effort.
        let tuned = conversation.parameters.apply(picked);
        let model = &tuned;
        let turn = new_turn_id();
        let next = conversation.next_seq;
        let shown = branches::default_leaf(&history, conversation.leaf);
        let find = |seq: u32| history.iter().find(|m| m.seq == seq);
        // The branch before a message: what its context is.
        let before = |parent: Option<u32>| -> Vec<Message> {
            parent.map_or_else(Vec::new, |p| {
                branches::path(&history, p).into_iter().cloned().collect()
            })
        };
        let busy = || {
            history
                .iter()
                .any(|m| still_streaming(app, m, now))
                .then(|| {
                    AppError::BadRequest("A reply is still being written; wait for it to finish.")
                })
        };
        let (messages, context, next_seq) = match kind {
            Kind::Send(text, uploads, at) => {
                let after = match at {
                    Some(at) => Some(
                        find(*at)
                            .ok_or(AppError::BadRequest(
                                "That branch is not in this conversation's latest messages.",
                            ))?
                            .seq,
                    ),
                    None => shown,
                };
                if claimed.is_none() {
                    *claimed =
                        Some(attach::claim(app, owner, &conversation, uploads, model).await?);
                }
                let mut user = Message::user(next, text, &turn, now);
                user.parent = after;
                user.attachments = claimed.iter().flatten().map(|(a, _)| a.clone()).collect();
                let reply = Message::pending_reply(next + 1, &model.id, &turn, now);
                let mut context = before(after);
                context.push(user.clone());
                (vec![user, reply], context, next + 2)
            }
            Kind::Regenerate(seq) => {
                let target = match seq {
                    Some(seq) => find(*seq),
                    None => shown.and_then(|leaf| {
                        branches::path(&history, leaf)
                            .into_iter()
                            .rev()
                            .find(|m| m.speaker == Speaker::Assistant)
                    }),
                };
                let Some(target) = target.filter(|m| m.speaker == Speaker::Assistant) else {
                    return Err(AppError::BadRequest("There is no reply to regenerate.").into());
                };
                if let Some(busy) = busy() {
                    return Err(busy.into());
                }
                let mut reply = Message::pending_reply(next, &model.id, &turn, now);
                reply.parent = target.parent;
                let context = before(target.parent);
                (vec![reply], context, next + 1)
            }
            Kind::Edit(seq, text) => {
                let target = match seq {
                    Some(seq) => find(*seq),
                    None => shown.and_then(|leaf| {
                        branches::path(&history, leaf)
                            .into_iter()
                            .rev()
                            .find(|m| m.speaker == Speaker::User)
                    }),
                };
                let Some(question) = target.filter(|m| m.speaker == Speaker::User) else {
                    return Err(AppError::BadRequest("There is no message to edit.").into());
                };
                if let Some(busy) = busy() {
                    return Err(busy.into());
                }
                // An edit keeps the message's files.
                let mut user = Message::user(next, text, &turn, now);
                user.parent = question.parent;
                user.attachments = question.attachments.clone();
                let reply = Message::pending_reply(next + 1, &model.id, &turn, now);
                let mut context = before(question.parent);
                context.push(user.clone());
                (vec![user, reply], context, next + 2)
            }
        };
        let mut prompt = Prompt::build(model, conversation.system.as_deref(), &context)
            .map_err(|e| context_error(model, e))?;
        prompt.temperature = conversation.parameters.temperature_for(model);
        // The new message's files go to the model from the bytes the claim read, not read again.
        if let (Kind::Send(..), Some(files), Some(newest)) =
            (kind, claimed.as_ref(), prompt.messages.last_mut())
        {
            for file in &mut newest.files {
                if let Some((_, bytes)) = files.iter().find(|(a, _)| a.id == file.attachment.id) {
                    file.data = Some(bytes.clone());
                }
            }
        }
        // The turn's messages go with the conversation when it expires.
        let expires_at = conversation.expiry_after_turn(now, limits.retention_days);
        let mut messages = messages;
        for message in &mut messages {
            message.expires_at = expires_at;
        }
        let write = TurnWrite {
            expected_next_seq: next,
            next_seq,
            leaf: next_seq - 1,
            model: &model.id,
            messages: &messages,
            now,
            limits: limits.for_send(now),
            expires_at,
        };
        match store.write_turn(owner, id, &write).await {
            Ok(()) => {
                let reply = messages.last().cloned().expect("a turn writes a reply");
                return Ok(Prepared {
                    owner: owner.clone(),
                    id: id.clone(),
                    title: conversation.title,
                    reply,
                    model: model.clone(),
                    prompt,
                    groups: limits.counted_groups(),
                });
            }
            Err(StoreError::Conflict) => continue,
            Err(StoreError::NotFound) => return Err(TurnError::NotFound),
            Err(err) => return Err(limit_error(err, limits, now)),
        }
    }
    Err(AppError::internal("too many concurrent sends to one conversation").into())
}

fn event(name: &str, data: serde_json::Value) -> Bytes {
    ai::sse::encode(name, &data)
}

/// Writes the reply: asks the model, saves the text as it grows (`saving`) and at the end, and
/// tells `listener` (if any) each piece. Returns the reply as last saved.
pub async fn run(
    app: &App,
    turn: Prepared,
    url: String,
    listener: Option<UnboundedSender<Bytes>>,
) -> Message {
    let mut listener = Listener::new(listener);
    let Prepared {
        owner,
        id,
        title,
        reply,
        model,
        mut prompt,
        groups,
    } = turn;
    listener.send(event("start", json!({ "url": url, "seq": reply.seq })));
    // The files' bytes are read only now, for the model (the page's stream has started).
    if prompt.messages.iter().any(|m| !m.files.is_empty()) {
        let bucket = app.bucket().await.ok().flatten();
        shared::attachments::load(bucket, &model, &mut prompt).await;
    }
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
    let mut growing = Growing::new(reply);
    match app.ask(&model, &prompt).await {
        Err(err) => growing.fail(&model, &err),
        Ok(mut events) => {
            let mut saves = Saves::start(Instant::now());
            while let Some(item) = events.next().await {
                match growing.take(item, &model) {
                    Step::Text(piece) => listener.send(event("text", json!(piece))),
                    Step::Thinking(piece) => listener.send(event("thinking", json!(piece))),
                    Step::Quiet => continue,
                    Step::Stop(last) => {
                        if let Some(piece) = last {
                            listener.send(event("text", json!(piece)));
                        }
                        break;
                    }
                }
                // What has arrived (answer or thinking) is saved as it grows.
                let reply = &mut growing.reply;
                if saves.due(Instant::now(), reply.text.len() + reply.thinking.len()) {
                    reply.updated_at = session::now();
                    if let Err(StoreError::Conflict) = save(store, &owner, &id, reply, None).await {
                        superseded = true;
                        break;
                    }
                }
            }
            growing.end();
        }
    }
    let charge = growing.charge(
        &model,
        prompt.estimated_tokens(),
        (id.as_str(), &title),
        groups,
        session::now(),
    );
    let mut reply = growing.reply;
    if superseded {
        tracing::info!(
            conversation = id.as_str(),
            "reply replaced by a newer turn; stopped"
        );
        // The provider was still paid for what it wrote.
        if let Some(charge) = &charge {
            match store.record_usage(&owner, charge).await {
                // The account is gone (deleted meanwhile): nothing of it may be written.
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(err) => tracing::error!(%err, "recording a replaced reply's usage failed"),
            }
        }
        listener.send(event(
            "error",
            json!({ "message": "This reply was replaced, or its conversation deleted." }),
        ));
        return reply;
    }
    reply.updated_at = session::now();
    let saved = match save(store, &owner, &id, &reply, charge.as_ref()).await {
        Err(StoreError::Conflict) => {
            // Replaced at the last moment: the reply is not saved, but its usage counts.
            if let Some(charge) = &charge {
                let _ = store.record_usage(&owner, charge).await;
            }
            Err(StoreError::Conflict)
        }
        other => other,
    };
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

async fn save(
    store: &shared::store::Store,
    owner: &Username,
    id: &ConversationId,
    reply: &Message,
    charge: Option<&Charge>,
) -> Result<(), StoreError> {
    let result = store.save_reply(owner, id, reply, charge).await;
    if let Err(err) = &result {
        match err {
            StoreError::Conflict => {}
            other => tracing::error!(err = %other, "saving the reply failed"),
        }
    }
    result
}
