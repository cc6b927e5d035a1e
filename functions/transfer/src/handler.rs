//! `GET /export` downloads all of the signed-in user's conversations as JSON (the format in
//! `format`), `GET /export/{id}` one conversation as Markdown; `GET /import` shows the page
//! for both, and `POST /import` takes an export file back (all or nothing, each conversation
//! once).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use minijinja::context;
use shared::conversations::{ConversationId, HISTORY_PAGE};
use shared::session::Flash;
use shared::store::{ConversationStore, TransferStore};
use shared::web::path_parameter;
use shared::{App, AppError, Methods, Reply, Verb, Visit, serve};

use crate::import::{self, ImportError};
use crate::{export, format};

/// The most an export download may hold: a buffered Lambda response carries 6 MB.
const MAX_EXPORT_BYTES: usize = 5 * 1024 * 1024;

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    serve(app, req, route).await
}

async fn route(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    if let Some(raw) = path_parameter(req, "id", "/export/") {
        Methods::Get.of(req)?;
        return markdown(visit, &raw).await;
    }
    if !req.uri().path().trim_end_matches('/').ends_with("/import") {
        Methods::Get.of(req)?;
        return everything(visit).await;
    }
    match Methods::GetPost.of(req)? {
        Verb::Get => {
            visit.require_user()?;
            Ok(page(StatusCode::OK, None))
        }
        Verb::Post => take(visit, req).await,
    }
}

/// The export and import page, with `error` if an import was refused.
fn page(status: StatusCode, error: Option<String>) -> Reply {
    Reply::page_with_status(
        status,
        "transfer.html",
        context! {
            error,
            max_import_mib => import::MAX_IMPORT_BYTES / (1024 * 1024),
            format_version => format::VERSION,
        },
    )
}

async fn everything(visit: &mut Visit<'_>) -> Result<Reply, AppError> {
    let owner = visit.require_user()?.username.clone();
    let now = visit.now();
    let mut transcripts = visit
        .app()
        .store()
        .await?
        .export_conversations(&owner)
        .await?;
    // Temporary chats are meant to go; what expired is gone, whether or not it is yet.
    transcripts.retain(|(c, _)| !c.temporary && !c.is_expired(now));
    for (_, messages) in &mut transcripts {
        messages.retain(|m| !m.is_expired(now));
    }
    let body = export::json(transcripts, now);
    if body.len() > MAX_EXPORT_BYTES {
        let error = "Your conversations are more than one download can hold (5 MiB). Download \
                     them one at a time as Markdown from their pages, or delete some you no \
                     longer need.";
        return Ok(page(StatusCode::PAYLOAD_TOO_LARGE, Some(error.to_string())));
    }
    let (year, month, day) = shared::calendar::civil_date(now);
    Ok(Reply::Download {
        content_type: "application/json",
        filename: format!("switchboard-{year:04}-{month:02}-{day:02}.json"),
        body,
    })
}

async fn markdown(visit: &mut Visit<'_>, raw: &str) -> Result<Reply, AppError> {
    let owner = visit.require_user()?.username.clone();
    let id = ConversationId::parse(raw).ok_or(AppError::NotFound)?;
    let app = visit.app();
    let store = app.store().await?;
    let (conversation, mut messages) = store
        .conversation(&owner, &id, HISTORY_PAGE)
        .await?
        .ok_or(AppError::NotFound)?;
    // All of it, not just the latest page.
    if let Some(first) = messages.first().map(|m| m.seq).filter(|seq| *seq > 0) {
        let earlier = store
            .messages_before(&owner, &id, first, first as usize)
            .await?;
        messages.splice(0..0, earlier);
    }
    // The branch the conversation shows (the JSON export carries every branch).
    let messages: Vec<_> = shared::branches::default_leaf(&messages, conversation.leaf)
        .map(|leaf| {
            shared::branches::path(&messages, leaf)
                .into_iter()
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Ok(Reply::Download {
        content_type: "text/markdown; charset=utf-8",
        filename: format!("conversation-{}.md", id.as_str()),
        body: export::markdown(&app.config.models, &conversation, &messages),
    })
}

async fn take(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    let owner = visit.require_user()?.username.clone();
    let refuse = |err: ImportError| Ok(page(err.status(), Some(err.to_string())));
    let upload = match import::upload(req).await {
        Ok(upload) => upload,
        // Too large to read: the token cannot be checked, but nothing is changed either.
        Err(err) => return refuse(err),
    };
    visit.check_csrf(&upload.csrf_token)?;
    let Some(file) = upload.file else {
        return refuse(ImportError::NoFile);
    };
    let mut transcripts = match import::parse(&file) {
        Ok(transcripts) => transcripts,
        Err(err) => return refuse(err),
    };
    // Under a retention period, imported conversations are kept that long from now.
    if let Some(days) = visit.retention_days().await? {
        let expires_at = Some(visit.now() + u64::from(days) * 86_400);
        for (conversation, messages) in &mut transcripts {
            conversation.expires_at = expires_at;
            for message in messages {
                message.expires_at = expires_at;
            }
        }
    }
    let added = visit
        .app()
        .store()
        .await?
        .import_conversations(&owner, &transcripts)
        .await?;
    let known = transcripts.len() - added;
    tracing::info!(user = owner.as_str(), added, known, "import");
    visit.flash(Flash::new(match (added, known) {
        (0, 0) => "The file held no conversations.".to_string(),
        (0, 1) => "Nothing new: the conversation in the file was here already.".to_string(),
        (0, _) => format!("Nothing new: all {known} conversations in the file were here already."),
        (_, 0) => format!("Imported {added} conversation{}.", plural(added)),
        _ => format!(
            "Imported {added} conversation{}; {known} were here already and were left as they are.",
            plural(added)
        ),
    }));
    Ok(Reply::Redirect("/"))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests;
