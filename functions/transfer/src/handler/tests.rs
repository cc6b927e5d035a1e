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
            leaf: (messages.len() as u32).saturating_sub(1),
            model: "offline",
            messages: &messages,
            now: 4,
            limits: Default::default(),
            expires_at: None,
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
