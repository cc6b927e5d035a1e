//! Sending: a message, an edit of the last one, a regenerate of the last reply. The turn is
//! stored before the model is asked; the reply streams to the page's script, or is awaited
//! whole by a plain form post.

use lambda_http::Request;
use lambda_http::http::StatusCode;
use lambda_http::http::header::ACCEPT;
use minijinja::context;
use shared::conversations::{ConversationId, MessageText};
use shared::form::FieldErrors;
use shared::users::Username;
use shared::{AppError, Reply, Visit};

use crate::handler::{self, Action, ChatForm};
use crate::titling::{self, Untitled};
use crate::turn::{self, Kind, Prefetched};
use crate::view::{self, Show};

/// A send, an edit of the last message, or a regenerate of the last reply.
pub async fn turn(
    visit: &mut Visit<'static>,
    req: &Request,
    (owner, id): (&Username, &ConversationId),
    action: Action,
    form: &ChatForm,
    prefetched: Option<Prefetched>,
) -> Result<Reply, AppError> {
    let seq = form.message_seq()?;
    let at = form.branch()?;
    let editing = (action == Action::Edit).then_some(seq);
    let kind = match action {
        Action::Regenerate => Kind::Regenerate(seq),
        _ => match MessageText::parse(&form.message) {
            Ok(text) if editing.is_some() => Kind::Edit(seq, text),
            Ok(text) => Kind::Send(text, form.attachments.clone(), at),
            Err(message) => {
                return again(visit, owner, id, form, message.to_string(), editing).await;
            }
        },
    };
    converse(visit, req, (owner, id), kind, &form.model, prefetched).await
}

/// The conversation page again, with `message` beside the message field; nothing stored.
async fn again(
    visit: &mut Visit<'static>,
    owner: &Username,
    id: &ConversationId,
    form: &ChatForm,
    message: String,
    editing: Option<Option<u32>>,
) -> Result<Reply, AppError> {
    again_with_status(
        visit,
        owner,
        id,
        form,
        (StatusCode::BAD_REQUEST, &message),
        editing,
    )
    .await
}

async fn again_with_status(
    visit: &mut Visit<'static>,
    owner: &Username,
    id: &ConversationId,
    form: &ChatForm,
    (status, message): (StatusCode, &str),
    edit: Option<Option<u32>>,
) -> Result<Reply, AppError> {
    let app = visit.app();
    let show = Show {
        edit,
        at: form.branch()?,
        ..Show::default()
    };
    let loaded = view::load(app, owner, id, &show)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::default();
    errors.add("message", message.to_string());
    // The files stay attached, to send again.
    let path = format!("/chat/{}", id.as_str());
    let bucket = app.bucket().await?;
    let files =
        shared::attachments::page::form_context(visit, owner, &path, &form.attachments, bucket)
            .await?;
    let extra = minijinja::value::merge_maps([
        files,
        context! { errors, form => context! { message => &form.message, model => &form.model, seq => &form.seq } },
    ]);
    let access = visit.model_access().await?;
    let page = view::page(app, &loaded, &show, extra, &access);
    Ok(Reply::page_with_status(status, "chat.html", page))
}

/// Stores the turn, then streams the reply to a script, or waits for it and redirects.
async fn converse(
    visit: &mut Visit<'static>,
    req: &Request,
    (owner, id): (&Username, &ConversationId),
    kind: Kind,
    model: &str,
    prefetched: Option<Prefetched>,
) -> Result<Reply, AppError> {
    let app = visit.app();
    let limits = visit.limits().await?;
    let err = match turn::prepare(app, (owner, id), &kind, model, &limits, prefetched).await {
        Ok(prepared) => return Ok(deliver(visit, req, id, prepared, None).await),
        Err(err) => err,
    };
    let Some(refusal) = err.refusal() else {
        return Err(handler::turn_failure(err));
    };
    let (seq, at) = match &kind {
        Kind::Send(_, _, at) => (None, *at),
        Kind::Edit(seq, _) | Kind::Regenerate(seq) => (*seq, None),
    };
    let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
    let form = ChatForm {
        message: match &kind {
            Kind::Send(t, _, _) | Kind::Edit(_, t) => t.as_str().to_string(),
            Kind::Regenerate(_) => String::new(),
        },
        seq: number(seq),
        at: number(at),
        model: model.to_string(),
        system: String::new(),
        title: String::new(),
        temporary: String::new(),
        folder: String::new(),
        attachments: match &kind {
            Kind::Send(_, uploads, _) => uploads.clone(),
            _ => Vec::new(),
        },
    };
    let editing = matches!(kind, Kind::Edit(..)).then_some(seq);
    again_with_status(visit, owner, id, &form, refusal, editing).await
}

/// Writes the stored turn's reply: streamed to a script as it is written, or awaited whole
/// before redirecting to the conversation. A new conversation (`untitled`) is then given a
/// title by the title model, before the response ends (a function's work stops with it).
pub async fn deliver(
    visit: &Visit<'static>,
    req: &Request,
    id: &ConversationId,
    prepared: turn::Prepared,
    untitled: Option<Untitled>,
) -> Reply {
    let app = visit.app();
    let path = format!("/chat/{}", id.as_str());
    if !wants_events(req) {
        let reply = turn::run(app, prepared, String::new(), None).await;
        if let Some(untitled) = &untitled {
            titling::retitle(app, untitled, &reply).await;
        }
        return Reply::RedirectTo(format!("{path}#latest"));
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let url = format!("{}{path}", visit.base_path());
    tokio::spawn(async move {
        // The stream stays open while the title is made, so that the page's reload at its end
        // shows it.
        let reply = turn::run(app, prepared, url, Some(tx.clone())).await;
        if let Some(untitled) = &untitled {
            titling::retitle(app, untitled, &reply).await;
        }
        drop(tx);
    });
    let events = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Reply::Events(Box::pin(events))
}

fn wants_events(req: &Request) -> bool {
    req.headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}
