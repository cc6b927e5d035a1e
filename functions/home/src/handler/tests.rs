use lambda_http::http::header::{ALLOW, LOCATION};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Response};
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

/// A form post to the home function with the session's cookie and CSRF token.
async fn post(
    app: &shared::App,
    (cookie, csrf): (&str, &str),
    path: &str,
    fields: &[(&str, &str)],
) -> Response<Body> {
    let mut fields = fields.to_vec();
    fields.push(("csrf_token", csrf));
    handle(app, with_cookie(testing::form_post(path, &fields), cookie)).await
}

#[tokio::test]
async fn folders_are_made_set_up_and_deleted_by_their_owner_only() {
    use shared::conversations::{Conversation, Title};
    use shared::store::{ConversationStore, FolderStore};
    let app = testing::app_with(&[(
        shared::config::MODELS,
        "[[model]]\nid = \"offline\"\nname = \"Offline\"\nprovider = \"offline\"\nupstream = \"offline\"\ncontext_tokens = 8000\n\n\
         [[model]]\nid = \"second\"\nname = \"Second\"\nprovider = \"offline\"\nupstream = \"offline\"\ncontext_tokens = 8000\n",
    )]);
    let ann = testing::create_account(&app, "foldering", Role::User, "pw").await;
    let (cookie, csrf) = testing::sign_in(&app, &ann).await;
    let session = (cookie.as_str(), csrf.as_str());
    let get = |path: &str| handle(&app, with_cookie(request(Method::GET, path), &cookie));

    // A name is required; the home page says so beside the field, nothing made.
    let refused = post(
        &app,
        session,
        "/folders",
        &[("action", "create"), ("folder_name", " ")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&refused).contains("Name the folder."));
    let store = app.store().await.unwrap();
    assert!(store.folders(&ann.username).await.unwrap().is_empty());
    // Without the form's token, nothing either.
    let forged = handle(
        &app,
        with_cookie(
            testing::form_post("/folders", &[("action", "create"), ("folder_name", "X")]),
            &cookie,
        ),
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    let made = post(
        &app,
        session,
        "/folders",
        &[("action", "create"), ("folder_name", "Trips")],
    )
    .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let path = made.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(path.starts_with("/folders/"), "{path}");
    let folder = store.folders(&ann.username).await.unwrap().remove(0);
    assert_eq!(folder.name.as_str(), "Trips");
    let home = body_text(&get("/").await).replace("&#x2f;", "/");
    assert!(
        home.contains(&format!("href=\"{path}\">Trips</a>")),
        "{home}"
    );

    // Its settings: a model not offered is refused beside the field; then saved.
    let bad = post(
        &app,
        session,
        &path,
        &[
            ("action", "settings"),
            ("folder_name", "Trips"),
            ("folder_model", "gpt-17"),
            ("folder_system", ""),
        ],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&bad).contains("Choose among the models listed."));
    let saved = post(
        &app,
        session,
        &path,
        &[
            ("action", "settings"),
            ("folder_name", "Travel"),
            ("folder_model", "second"),
            ("folder_system", "Plan trips on a budget."),
        ],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    // Its page: the new-conversation form starts with its model and system prompt, filed.
    let page = body_text(&get(&path).await).replace("&#x2f;", "/");
    assert!(page.contains("<h1>Travel</h1>"), "{page}");
    assert!(page.contains(&format!("name=\"folder\" value=\"{}\"", folder.id.as_str())));
    assert!(
        page.contains("<option value=\"second\" selected>"),
        "{page}"
    );
    assert!(
        page.contains(">Plan trips on a budget.</textarea>"),
        "{page}"
    );
    assert!(page.contains("Nothing in this folder yet."));

    // Its conversations are listed there, not on the recent list.
    let now = shared::session::now();
    let filed = Conversation::new(
        Title::parse("Lisbon in May").unwrap(),
        "offline".into(),
        None,
        now,
    );
    store
        .create_conversation(&ann.username, &filed)
        .await
        .unwrap();
    store
        .file_conversation(&ann.username, &filed.id, Some(&folder.id))
        .await
        .unwrap();
    assert!(body_text(&get(&path).await).contains("Lisbon in May"));
    assert!(!body_text(&get("/").await).contains("Lisbon in May"));

    // Someone else's folder: not found, whatever is asked of it.
    let bob = testing::create_account(&app, "other", Role::User, "pw").await;
    let (bob_cookie, bob_csrf) = testing::sign_in(&app, &bob).await;
    let theirs = handle(&app, with_cookie(request(Method::GET, &path), &bob_cookie)).await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    let attempt = post(
        &app,
        (&bob_cookie, &bob_csrf),
        &path,
        &[("action", "delete")],
    )
    .await;
    assert_eq!(attempt.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        get("/folders/not-an-id").await.status(),
        StatusCode::NOT_FOUND
    );

    // Deleting it asks first; its conversations go back on the recent list.
    let confirm = body_text(&get(&format!("{path}?confirm=delete")).await);
    assert!(confirm.contains("Delete the folder “Travel”?"), "{confirm}");
    let deleted = post(&app, session, &path, &[("action", "delete")]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert!(store.folders(&ann.username).await.unwrap().is_empty());
    assert!(body_text(&get("/").await).contains("Lisbon in May"));
    assert_eq!(get(&path).await.status(), StatusCode::NOT_FOUND);
}
