//! `POST /chat` starts a conversation with its first message (`start`); `GET /chat/{id}`
//! shows one (`show`: `?before=N` for earlier messages, `?edit=last`, `?confirm=delete`);
//! `POST /chat/{id}` sends a message, regenerates or edits the last one (`send`), renames,
//! shares, stops sharing or deletes the conversation (`manage`).
//!
//! A send from the page's script (`Accept: text/event-stream`) is answered with the reply as
//! server-sent events while it is written; a plain form post waits for the whole reply and
//! redirects to the conversation.

use lambda_http::http::Method;
use lambda_http::{Request, Response};
use serde::Deserialize;
use shared::conversations::{ConversationId, Shelf};
use shared::store::StoreError;
use shared::web::path_parameter;
use shared::{AlsoRead, App, AppError, Methods, Reply, Streamed, Verb, Visit};

use crate::turn::{self, Prefetched, TurnError};
use crate::{attach, manage, send, show, start};

/// The conversation page's forms. A message form posts no action: a send.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    #[default]
    #[serde(alias = "")]
    Send,
    Edit,
    Regenerate,
    Rename,
    Share,
    Unshare,
    Delete,
    Pin,
    Unpin,
    Archive,
    Unarchive,
    /// The conversation's temperature, output limit and reasoning effort.
    Parameters,
    /// Files it in a folder (`folder`), or (blank) back on the recent list.
    File,
}

/// The fields the chat forms post (each form some of them).
#[derive(Deserialize)]
pub struct ChatForm {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub system: String,
    #[serde(default)]
    pub title: String,
    /// The new-conversation form's "temporary chat" box (present when checked).
    #[serde(default)]
    pub temporary: String,
    /// The folder a new conversation starts in, or one is filed in (blank: none).
    #[serde(default)]
    pub folder: String,
    /// The message an edit or a regenerate is of (blank: the last of the branch shown).
    #[serde(default)]
    pub seq: String,
    /// The last message of the branch a message is sent after (blank: the conversation's).
    #[serde(default)]
    pub at: String,
    /// The uploads the message attaches (its repeated `attachment` fields; see `ChatForm::of`).
    #[serde(skip)]
    pub attachments: Vec<String>,
}

/// A message's number as a form gives it: blank for none.
fn message_number(raw: &str) -> Result<Option<u32>, AppError> {
    match raw.trim() {
        "" => Ok(None),
        n => n
            .parse()
            .map(Some)
            .map_err(|_| AppError::BadRequest("That message number is not valid.")),
    }
}

impl ChatForm {
    /// The message an edit or a regenerate is of.
    pub fn message_seq(&self) -> Result<Option<u32>, AppError> {
        message_number(&self.seq)
    }

    /// The last message of the branch a send continues.
    pub fn branch(&self) -> Result<Option<u32>, AppError> {
        message_number(&self.at)
    }

    /// The form posted, with its repeated `attachment` fields.
    pub fn of(req: &Request) -> Result<Self, AppError> {
        let mut form: ChatForm = shared::form::parse(req)?;
        form.attachments = shared::attachments::page::posted(req);
        Ok(form)
    }
}

pub async fn handle(app: &'static App, req: Request) -> Response<Streamed> {
    // Not `shared::serve`: its generic route makes the future's `Send`-ness unprovable, and
    // the streaming runtime needs it.
    // A post may send, and a send applies the spend cap: read the default with the account.
    // Every page offers the models the account's groups allow: read the groups too.
    let also = if req.method() == Method::POST {
        AlsoRead::DefaultSpendCapAndGroups
    } else {
        AlsoRead::Groups
    };
    // A send's first read runs while the visit checks the session: the turn is then written
    // after one round trip to the store, not two.
    let (mut visit, prefetched) = tokio::join!(
        Visit::start_reading(app, &req, also),
        turn::prefetch(app, &req)
    );
    let outcome = match visit.take_failure() {
        Some(err) => Err(err),
        None => route(&mut visit, &req, prefetched).await,
    };
    visit.finish_streaming(outcome)
}

async fn route(
    visit: &mut Visit<'static>,
    req: &Request,
    prefetched: Option<Prefetched>,
) -> Result<Reply, AppError> {
    if let Some(raw) = path_parameter(req, "attachment", "/attachments/") {
        Methods::Get.of(req)?;
        let id = path_parameter(req, "id", "/chat/")
            .or_else(|| shared::attachments::serve::owner_segment(req.uri().path(), "/chat/"))
            .and_then(|raw| ConversationId::parse(&raw))
            .ok_or(AppError::NotFound)?;
        return attach::serve(visit, &id, &raw).await;
    }
    if req
        .uri()
        .path()
        .trim_end_matches('/')
        .ends_with("/attachments")
    {
        Methods::Post.of(req)?;
        return attach::receive(visit.app(), req).await;
    }
    let Some(raw) = path_parameter(req, "id", "/chat/") else {
        Methods::Post.of(req)?;
        // The archived list's "delete them all" posts here too; every other post starts one.
        #[derive(Deserialize)]
        struct Which {
            #[serde(default)]
            action: String,
        }
        let which: Which = shared::form::parse(req)?;
        if which.action == "delete-archived" {
            return manage::delete_archived(visit, req).await;
        }
        return start::start(visit, req).await;
    };
    let verb = Methods::GetPost.of(req)?;
    // Anything that is not an id of yours is simply not found.
    let id = ConversationId::parse(&raw).ok_or(AppError::NotFound)?;
    match verb {
        Verb::Get => show::show(visit, req, &id).await,
        Verb::Post => submit(visit, req, &id, prefetched).await,
    }
}

/// `POST /chat/{id}`: one of the conversation page's forms.
async fn submit(
    visit: &mut Visit<'static>,
    req: &Request,
    id: &ConversationId,
    prefetched: Option<Prefetched>,
) -> Result<Reply, AppError> {
    let action: Action = visit.action(req)?;
    let form = ChatForm::of(req)?;
    let owner = visit.require_user()?.username.clone();
    match action {
        Action::Send | Action::Edit | Action::Regenerate => {
            send::turn(visit, req, (&owner, id), action, &form, prefetched).await
        }
        Action::Rename => manage::rename(visit, &owner, id, &form).await,
        Action::Share => manage::share(visit, &owner, id).await,
        Action::Unshare => manage::unshare(visit, &owner, id).await,
        Action::Delete => manage::delete(visit, &owner, id).await,
        Action::Pin => manage::shelve(visit, &owner, id, Shelf::Pinned).await,
        Action::Archive => manage::shelve(visit, &owner, id, Shelf::Archived).await,
        Action::Unpin | Action::Unarchive => manage::shelve(visit, &owner, id, Shelf::Recent).await,
        Action::Parameters => manage::parameters(visit, req, &owner, id).await,
        Action::File => manage::file(visit, req, &owner, id).await,
    }
}

impl Action {
    /// Whether the form sends to the model (and so begins with the conversation's history).
    pub fn sends(self) -> bool {
        matches!(self, Action::Send | Action::Edit | Action::Regenerate)
    }
}

pub fn turn_failure(err: TurnError) -> AppError {
    match err {
        TurnError::NotFound => AppError::NotFound,
        TurnError::App(err) => err,
        refused => AppError::internal(refused.to_string()),
    }
}

pub fn not_found_or_internal(err: StoreError) -> AppError {
    match err {
        StoreError::NotFound => AppError::NotFound,
        other => AppError::internal(other),
    }
}

#[cfg(test)]
mod tests;
