use lambda_http::http::header::{ALLOW, LOCATION};
use lambda_http::http::{Method, StatusCode};
use shared::accounts::Role;
use shared::testing::{self, body_text, request, with_cookie};

use super::*;

#[tokio::test]
async fn greets_the_signed_in_user() {
    let app = testing::app();
    let ann = testing::create_account(&app, "ann", Role::User, "pw").await;
    let (cookie, _) = testing::sign_in(&app, &ann).await;
    let response = handle(&app, with_cookie(request(Method::GET, "/"), &cookie)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(&response);
    assert!(
        html.contains(&format!("Hello, {}!", ann.username.as_str())),
        "{html}"
    );
    assert!(!html.contains("href=\"/admin\""), "no admin link for users");
    assert!(html.contains("action=\"/logout\""));
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
}

#[tokio::test]
async fn sends_signed_out_visitors_to_the_sign_in_page() {
    let app = testing::app();
    for cookie in [
        None,
        Some("sb_session=garbage"),
        Some("sb_session=%ff%00; x"),
    ] {
        let req = request(Method::GET, "/");
        let req = match cookie {
            Some(c) => with_cookie(req, c),
            None => req,
        };
        let response = handle(&app, req).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{cookie:?}");
        assert_eq!(response.headers()[LOCATION], "/login");
    }
}

#[tokio::test]
async fn refuses_other_methods() {
    let app = testing::app();
    let response = handle(&app, request(Method::POST, "/")).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "GET");
    let html = body_text(&response);
    assert!(html.contains("Method not allowed"));
    assert!(html.contains(testing::REQUEST_ID));
}

#[tokio::test]
async fn pinned_conversations_head_the_list_and_archived_ones_are_listed_apart() {
    use shared::conversations::{Conversation, Shelf, Title};
    use shared::store::ConversationStore;
    let app = testing::app();
    let ann = testing::create_account(&app, "shelves", Role::User, "pw").await;
    let (cookie, _) = testing::sign_in(&app, &ann).await;
    let store = app.store().await.unwrap();
    let now = shared::session::now();
    let mut ids = Vec::new();
    for (title, shelf) in [
        ("Daily plan", Shelf::Pinned),
        ("Old notes", Shelf::Archived),
        ("Fresh chat", Shelf::Recent),
    ] {
        let c = Conversation::new(Title::parse(title).unwrap(), "offline".into(), None, now);
        store.create_conversation(&ann.username, &c).await.unwrap();
        store.shelve(&ann.username, &c.id, shelf).await.unwrap();
        ids.push(c.id);
    }
    let get = |path: &str| handle(&app, with_cookie(request(Method::GET, path), &cookie));
    let html = body_text(&get("/").await);
    let pinned = html
        .find("<h2 id=\"pinned-heading\">Pinned</h2>")
        .expect("a pinned section");
    let daily = html.find("Daily plan").unwrap();
    let fresh = html.find("Fresh chat").unwrap();
    assert!(pinned < daily && daily < fresh, "pinned first: {html}");
    assert!(!html.contains("Old notes"), "archived ones are not listed");
    assert!(html.contains("href=\"/?shelf=archived\""));

    let archived = body_text(&get("/?shelf=archived").await);
    assert!(archived.contains("Archived conversations") && archived.contains("Old notes"));
    assert!(!archived.contains("Fresh chat") && !archived.contains("pinned-heading"));
    let confirm = body_text(&get("/?shelf=archived&confirm=delete").await);
    assert!(confirm.contains("Delete every archived conversation?"));
    assert!(confirm.contains("value=\"delete-archived\""));
    // Still found by a search.
    assert!(body_text(&get("/?q=notes").await).contains("Old notes"));
    assert_eq!(
        get("/?shelf=pinned").await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_new_conversation_form_takes_files_and_lists_those_uploaded() {
    let app = testing::app();
    let ann = testing::create_account(&app, "ann", Role::User, "pw").await;
    let (cookie, _) = testing::sign_in(&app, &ann).await;
    let html = body_text(&handle(&app, with_cookie(request(Method::GET, "/"), &cookie)).await)
        .replace("&#x2f;", "/");
    assert!(html.contains("enctype=\"multipart/form-data\""), "{html}");
    assert!(html.contains("action=\"/attachments\""), "{html}");
    // Back from an upload without the script: the file is listed to send, by its name; an
    // upload key of someone else is not.
    let mine = format!(
        "{}shot.png",
        shared::attachments::upload_key::folder(&ann.username, shared::session::now())
    );
    let theirs = "uploads/bob/1-AAAAAAAAAAAAAAAA/x.png";
    let query =
        serde_urlencoded::to_string([("key", mine.as_str()), ("attached", theirs)]).unwrap();
    let html = body_text(
        &handle(
            &app,
            with_cookie(request(Method::GET, &format!("/?{query}")), &cookie),
        )
        .await,
    )
    .replace("&#x2f;", "/");
    assert!(html.contains(&format!("value=\"{mine}\"")), "{html}");
    assert!(!html.contains("x.png"), "{html}");
}
