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
    let transcripts = visit
        .app()
        .store()
        .await?
        .export_conversations(&owner)
        .await
        .map_err(AppError::internal)?;
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
        .await
        .map_err(AppError::internal)?
        .ok_or(AppError::NotFound)?;
    // All of it, not just the latest page.
    if let Some(first) = messages.first().map(|m| m.seq).filter(|seq| *seq > 0) {
        let earlier = store
            .messages_before(&owner, &id, first, first as usize)
            .await
            .map_err(AppError::internal)?;
        messages.splice(0..0, earlier);
    }
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
    let transcripts = match import::parse(&file) {
        Ok(transcripts) => transcripts,
        Err(err) => return refuse(err),
    };
    let added = visit
        .app()
        .store()
        .await?
        .import_conversations(&owner, &transcripts)
        .await
        .map_err(AppError::internal)?;
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
mod tests {
    use lambda_http::http::Method;
    use lambda_http::http::header::{CONTENT_TYPE, LOCATION};
    use shared::accounts::Role;
    use shared::conversations::{Conversation, Message, MessageText, Title};
    use shared::testing::{self, body_text, multipart_post, request, session_cookie, with_cookie};

    use super::*;

    struct Person {
        app: App,
        cookie: String,
        csrf: String,
        name: shared::users::Username,
    }

    async fn person(app: App) -> Person {
        let account = testing::create_account(&app, "mover", Role::User, "pw").await;
        let (cookie, csrf) = testing::sign_in(&app, &account).await;
        Person {
            app,
            cookie,
            csrf,
            name: account.username,
        }
    }

    impl Person {
        async fn get(&self, path: &str) -> Response<Body> {
            handle(
                &self.app,
                with_cookie(request(Method::GET, path), &self.cookie),
            )
            .await
        }

        async fn import(&self, file: &[u8]) -> Response<Body> {
            let req = multipart_post("/import", &[("csrf_token", &self.csrf)], file);
            handle(&self.app, with_cookie(req, &self.cookie)).await
        }

        async fn conversation(&self, title: &str, texts: &[&str]) -> Conversation {
            let store = self.app.store().await.unwrap();
            let c = Conversation::new(Title::parse(title).unwrap(), "offline".into(), None, 1);
            store.create_conversation(&self.name, &c).await.unwrap();
            let messages: Vec<Message> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    if i % 2 == 0 {
                        Message::user(i as u32, &MessageText::parse(t).unwrap(), "t", 2)
                    } else {
                        let mut reply = Message::pending_reply(i as u32, "offline", "t", 3);
                        reply.text = t.to_string();
                        reply.state = shared::conversations::MessageState::Complete;
                        reply
                    }
                })
                .collect();
            let write = shared::store::TurnWrite {
                expected_next_seq: 0,
                next_seq: messages.len() as u32,
                model: "offline",
                messages: &messages,
                now: 4,
                spend_limit: None,
                rate: None,
            };
            store.write_turn(&self.name, &c.id, &write).await.unwrap();
            c
        }

        async fn titles(&self) -> Vec<String> {
            let store = self.app.store().await.unwrap();
            let mut titles: Vec<String> = store
                .export_conversations(&self.name)
                .await
                .unwrap()
                .into_iter()
                .map(|(c, _)| c.title)
                .collect();
            titles.sort();
            titles
        }
    }

    #[tokio::test]
    async fn an_export_imports_into_another_account_once() {
        let ann = person(testing::app()).await;
        ann.conversation("Recipes", &["How long to boil an egg?", "Seven minutes."])
            .await;
        ann.conversation("Empty one", &[]).await;
        let response = ann.get("/export").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let disposition = response.headers()["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with("attachment; filename=\"switchboard-"),
            "{disposition}"
        );
        let file = body_text(&response);
        assert!(
            file.contains("\"format\": \"switchboard-export\""),
            "{file}"
        );

        let bob = person(testing::app()).await;
        let response = bob.import(file.as_bytes()).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{}",
            body_text(&response)
        );
        assert_eq!(response.headers()[LOCATION], "/");
        assert_eq!(bob.titles().await, ["Empty one", "Recipes"]);
        let again = bob.import(file.as_bytes()).await;
        assert_eq!(again.status(), StatusCode::SEE_OTHER);
        assert_eq!(bob.titles().await.len(), 2, "importing twice adds nothing");
        let cookie = session_cookie(&again).unwrap();
        let home = handle(
            &bob.app,
            with_cookie(request(Method::GET, "/import"), &cookie),
        )
        .await;
        assert!(
            body_text(&home)
                .contains("Nothing new: all 2 conversations in the file were here already."),
            "the flash says what happened"
        );
    }

    #[tokio::test]
    async fn a_bad_or_oversized_import_says_why_and_imports_nothing() {
        let ann = person(testing::app()).await;
        ann.conversation("Mine", &["hi", "hello"]).await;
        let good = body_text(&ann.get("/export").await);
        let bob = person(testing::app()).await;

        let response = bob.import(b"not json at all").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(body_text(&response).contains("That file is not valid JSON (line 1, column 2)."));

        // One bad message anywhere: none of the file's conversations are added.
        let mut value: serde_json::Value = serde_json::from_str(&good).unwrap();
        value["conversations"][0]["messages"][1]["speaker"] = "robot".into();
        let response = bob.import(value.to_string().as_bytes()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let html = body_text(&response);
        assert!(html.contains("Conversation 1 (“Mine”): message 2: its speaker must be user or assistant. Nothing was imported."), "{html}");
        assert!(bob.titles().await.is_empty());

        let big = vec![b'x'; import::MAX_IMPORT_BYTES + 1];
        let response = bob.import(&big).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(body_text(&response).contains("larger than the 4 MiB"));

        let response = bob.import(b"").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(body_text(&response).contains("Choose an export file"));

        let forged = multipart_post("/import", &[("csrf_token", "forged")], good.as_bytes());
        let response = handle(&bob.app, with_cookie(forged, &bob.cookie)).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(bob.titles().await.is_empty());
    }

    #[tokio::test]
    async fn one_conversation_downloads_as_markdown_for_its_owner_only() {
        let ann = person(testing::app()).await;
        let c = ann
            .conversation("Recipes", &["How long to boil an egg?", "Seven minutes."])
            .await;
        let path = format!("/export/{}", c.id.as_str());
        let response = ann.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "text/markdown; charset=utf-8"
        );
        let md = body_text(&response);
        assert!(md.starts_with("# Recipes\n"), "{md}");
        assert!(
            md.contains("How long to boil an egg?\n") && md.contains("Seven minutes.\n"),
            "{md}"
        );

        let bob = person(testing::app()).await;
        assert_eq!(bob.get(&path).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            bob.get("/export/not-an-id").await.status(),
            StatusCode::NOT_FOUND
        );
        let anonymous = handle(&ann.app, request(Method::GET, &path)).await;
        assert_eq!(anonymous.status(), StatusCode::SEE_OTHER, "sign in first");
    }
}
