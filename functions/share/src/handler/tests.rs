use lambda_http::http::Method;
use lambda_http::http::StatusCode;
use shared::accounts::Role;
use shared::conversations::{Conversation, Message, MessageState, MessageText, Title};
use shared::link_tokens;
use shared::store::TurnWrite;
use shared::testing::{self, body_text, request, with_cookie};

use super::*;

async fn shared_conversation(app: &App) -> (shared::accounts::Account, Conversation, String) {
    shared_conversation_with(app, Vec::new()).await
}

/// As `shared_conversation`, the question sent with `attachments`.
async fn shared_conversation_with(
    app: &App,
    attachments: Vec<shared::attachments::Attachment>,
) -> (shared::accounts::Account, Conversation, String) {
    let ann = testing::create_account(app, "sharer", Role::User, "pw").await;
    let store = app.store().await.unwrap();
    let c = Conversation::new(
        Title::parse("Holiday plans").unwrap(),
        "offline".into(),
        None,
        1,
    );
    store.create_conversation(&ann.username, &c).await.unwrap();
    let mut question = Message::user(0, &MessageText::parse("Where to go?").unwrap(), "t", 2);
    question.attachments = attachments;
    let mut answer = Message::pending_reply(1, "offline", "t", 2);
    answer.text = "Somewhere **warm**. <script>alert(1)</script>".into();
    answer.state = MessageState::Complete;
    let messages = [question, answer];
    let write = TurnWrite {
        expected_next_seq: 0,
        next_seq: 2,
        leaf: 2 - 1,
        model: "offline",
        messages: &messages,
        now: 3,
        limits: Default::default(),
        expires_at: None,
    };
    store
        .write_turn(&ann.username, &c.id, &write)
        .await
        .unwrap();
    let (token, _) = link_tokens::generate();
    store
        .share_conversation(&ann.username, &c.id, &token)
        .await
        .unwrap();
    (ann, c, token)
}

#[tokio::test]
async fn anyone_with_the_link_reads_the_conversation_and_nothing_else() {
    let app = testing::app();
    let (ann, _, token) = shared_conversation(&app).await;
    let response = handle(&app, request(Method::GET, &format!("/share/{token}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(&response);
    assert!(html.contains("Holiday plans"), "{html}");
    assert!(html.contains("Where to go?"), "{html}");
    assert!(html.contains("Somewhere <strong>warm</strong>."), "{html}");
    assert!(!html.contains("<script>alert(1)"), "sanitised: {html}");
    assert!(
        !html.contains(ann.username.as_str()),
        "the owner stays anonymous"
    );
    assert!(!html.contains("<form method=\"post\""), "read-only: {html}");
    assert!(html.contains("noindex"), "{html}");

    // Signed in as someone else: the same page, and still nothing of the owner's.
    let bob = testing::create_account(&app, "reader", Role::User, "pw").await;
    let (cookie, _) = testing::sign_in(&app, &bob).await;
    let response = handle(
        &app,
        with_cookie(request(Method::GET, &format!("/share/{token}")), &cookie),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!body_text(&response).contains(ann.username.as_str()));
}

#[tokio::test]
async fn a_disabled_owners_links_stop_answering_while_disabled() {
    use shared::accounts::AccountChange;
    let app = testing::app();
    let (ann, _, token) = shared_conversation(&app).await;
    let store = app.store().await.unwrap();
    let path = format!("/share/{token}");
    for (disabled, status) in [(true, StatusCode::NOT_FOUND), (false, StatusCode::OK)] {
        store
            .change_account(&ann.username, &AccountChange::Disabled(disabled))
            .await
            .unwrap();
        let response = handle(&app, request(Method::GET, &path)).await;
        assert_eq!(response.status(), status, "disabled: {disabled}");
    }
}

#[tokio::test]
async fn revoked_unknown_and_malformed_links_are_not_found() {
    let app = testing::app();
    let (ann, c, token) = shared_conversation(&app).await;
    let store = app.store().await.unwrap();
    store
        .unshare_conversation(&ann.username, &c.id)
        .await
        .unwrap();
    for path in [
        format!("/share/{token}"),
        format!("/share/{}", link_tokens::generate().0),
        "/share/short".to_string(),
        format!("/share/{}", "!".repeat(43)),
    ] {
        let response = handle(&app, request(Method::GET, &path)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let (token, _) = link_tokens::generate();
    store
        .share_conversation(&ann.username, &c.id, &token)
        .await
        .unwrap();
    store
        .delete_conversation(&ann.username, &c.id)
        .await
        .unwrap();
    let response = handle(&app, request(Method::GET, &format!("/share/{token}"))).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "deleted");
    let post = handle(&app, request(Method::POST, &format!("/share/{token}"))).await;
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_shared_conversations_images_are_served_by_its_link_and_its_documents_are_not() {
    use shared::attachments::{Attachment, AttachmentId, FileName, MediaType};
    let app = testing::app();
    let bucket = app.bucket().await.unwrap().unwrap();
    let file = |name: &str, media_type, size| Attachment {
        id: AttachmentId::generate(),
        name: FileName::parse(name).unwrap(),
        media_type,
        size,
        width: None,
        height: None,
        tokens: 1,
        key: format!("files/sharer/{}", shared::random::token::<8>()),
    };
    let image = file("beach.png", MediaType::Png, testing::PNG_2X1.len() as u64);
    let notes = file("notes.pdf", MediaType::Pdf, 9);
    for (a, bytes) in [(&image, testing::PNG_2X1), (&notes, b"%PDF-1.7".as_slice())] {
        bucket
            .write(
                &a.key,
                bytes::Bytes::copy_from_slice(bytes),
                a.media_type.mime(),
            )
            .await
            .unwrap();
    }
    let (ann, c, token) = shared_conversation_with(&app, vec![image.clone(), notes.clone()]).await;
    let page = body_text(&handle(&app, request(Method::GET, &format!("/share/{token}"))).await)
        .replace("&#x2f;", "/");
    let link = format!("/share/{token}/attachments/{}", image.link_name(0));
    assert!(page.contains(&format!("<img src=\"{link}\"")), "{page}");
    assert!(page.contains("notes.pdf"), "{page}");

    let response = handle(&app, request(Method::GET, &link)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    let pdf = format!("/share/{token}/attachments/{}", notes.link_name(0));
    let response = handle(&app, request(Method::GET, &pdf)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Another link's token, or none at all once sharing stops: nothing.
    let (other, _) = link_tokens::generate();
    let response = handle(
        &app,
        request(
            Method::GET,
            &format!("/share/{other}/attachments/{}", image.link_name(0)),
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    app.store()
        .await
        .unwrap()
        .unshare_conversation(&ann.username, &c.id)
        .await
        .unwrap();
    let response = handle(&app, request(Method::GET, &link)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
