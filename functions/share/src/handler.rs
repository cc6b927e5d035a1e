//! `GET /share/{token}`: a conversation its owner shared, read-only, for anyone with the link
//! and signed in or not. It shows the conversation's title and messages and nothing else of
//! the owner's (not even their name); a link that was never issued, was revoked or whose
//! conversation was deleted is a 404. `GET /share/{token}/attachments/{ref}` serves the
//! conversation's images to the same readers.

use lambda_http::{Body, Request, Response};
use minijinja::context;
use serde::Deserialize;
use shared::conversations::HISTORY_PAGE;
use shared::store::{AccountStore, ConversationStore, ShareStore};
use shared::web::{path_parameter, query};
use shared::{App, AppError, Methods, Reply, Visit, serve, transcript};

/// A link token is 43 characters of base64url (256 bits).
const TOKEN_CHARS: usize = 43;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    serve(app, req, route).await
}

#[derive(Deserialize)]
struct ShareQuery {
    /// Earlier messages: those before this sequence number.
    before: Option<u32>,
}

fn token(req: &Request) -> Option<String> {
    let raw = path_parameter(req, "token", "/share/")
        .or_else(|| shared::attachments::serve::owner_segment(req.uri().path(), "/share/"))?;
    let valid = raw.len() == TOKEN_CHARS
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then_some(raw)
}

async fn route(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    Methods::Get.of(req)?;
    let token = token(req).ok_or(AppError::NotFound)?;
    let before = query::<ShareQuery>(req)?.before;
    let app = visit.app();
    let store = app.store().await?;
    let shared = store.shared(&token).await?.ok_or(AppError::NotFound)?;
    // The owner and the conversation, read at once: a disabled owner's links stop answering
    // (while disabled), as their sign-ins do.
    let (owner, found) = tokio::join!(
        store.account(&shared.owner),
        store.conversation(&shared.owner, &shared.id, HISTORY_PAGE)
    );
    if !owner?.is_some_and(|owner| !owner.disabled && !owner.deleting) {
        return Err(AppError::NotFound);
    }
    let (conversation, latest) = found?.ok_or(AppError::NotFound)?;
    // The link must still be the conversation's own (not one revoked meanwhile).
    if conversation.share.as_deref() != Some(token.as_str()) {
        return Err(AppError::NotFound);
    }
    // A shared image (shown in the page); documents are named, not served.
    if let Some(raw) = path_parameter(req, "attachment", "/attachments/") {
        let attachment =
            shared::attachments::serve::find(app, &shared.owner, &shared.id, &raw).await?;
        if !attachment.is_image() {
            return Err(AppError::NotFound);
        }
        return shared::attachments::serve::reply(app, &attachment).await;
    }
    let messages = match before {
        // The branch the conversation shows.
        None => shared::branches::default_leaf(&latest, conversation.leaf)
            .map(|leaf| {
                shared::branches::path(&latest, leaf)
                    .into_iter()
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
        Some(before) => {
            store
                .messages_before(&shared.owner, &shared.id, before, HISTORY_PAGE)
                .await?
        }
    };
    let now = visit.now();
    Ok(Reply::page(
        "share.html",
        context! {
            title => &conversation.title,
            token,
            messages => transcript::messages(app, &messages, now),
            live => transcript::live(app, &messages, now),
            earlier => messages
                .first()
                .filter(|m| m.parent.is_some() || (before.is_some() && m.seq > 0))
                .map(|m| m.seq),
            older_page => before.is_some(),
        },
    ))
}

#[cfg(test)]
mod tests;
