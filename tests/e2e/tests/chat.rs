//! Conversations through the real binaries under `cargo lambda watch`, with the fake provider
//! the test portal's catalogue points at: on the embedded store and on DynamoDB Local.

use e2e::{Visitor, expect_page};
use reqwest::StatusCode;

/// A new account, signed in.
async fn someone() -> Visitor {
    Visitor::newcomer("chat").await.0
}

async fn page(visitor: &Visitor, path: &str) -> String {
    let html = expect_page(visitor.get(path).await, StatusCode::OK, "Send a message").await;
    html.replace("&#x2f;", "/")
}

#[tokio::test]
async fn without_javascript_a_send_shows_the_finished_reply() {
    let ann = someone().await;
    let path = ann
        .start_conversation("fake-echo", "What is a monad?")
        .await;
    let html = page(&ann, &path).await;
    assert!(html.contains("You said: What is a monad?"), "{html}");
    assert!(html.contains("data-live=\"false\""));
    let home = page_of_home(&ann).await;
    assert!(home.contains("What is a monad?"), "listed on the home page");
    let search = ann.get("/?q=MONAD").await.text().await.unwrap();
    assert!(
        search.contains(&path.replace('/', "&#x2f;")) || search.contains(&path),
        "{search}"
    );
    let nothing = ann.get("/?q=zebra-crossing").await.text().await.unwrap();
    assert!(nothing.contains("No conversation matches."));
}

async fn page_of_home(visitor: &Visitor) -> String {
    visitor
        .get("/")
        .await
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/")
}

#[tokio::test]
async fn a_reply_streams_and_a_reload_mid_stream_shows_it_so_far() {
    let ann = someone().await;
    let path = ann.start_conversation("offline", "hello").await;
    let token = e2e::csrf_token(&page(&ann, &path).await);
    let mut response = ann
        .client
        .post(ann.url(&path))
        .header("accept", "text/event-stream")
        .form(&[
            ("csrf_token", token.as_str()),
            ("model", "fake-slow"),
            ("message", "tell me slowly"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut seen = String::new();
    while !seen.contains("\"slowly. \"") {
        let chunk = response
            .chunk()
            .await
            .unwrap()
            .expect("more events before the end");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.starts_with("event: start\n"), "{seen}");
    assert!(
        !seen.contains("event: done"),
        "the reply is still being written: {seen}"
    );
    // A second reader (a reload) sees what has been saved so far.
    let mut html = page(&ann, &path).await;
    for _ in 0..20 {
        if html.contains("You said: tell me") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        html = page(&ann, &path).await;
    }
    assert!(html.contains("data-live=\"true\""), "{html}");
    assert!(html.contains("Still being written"), "{html}");
    assert!(html.contains("You said: tell me"), "{html}");
    while let Some(chunk) = response.chunk().await.unwrap() {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: done\n"), "{seen}");
    let html = page(&ann, &path).await;
    assert!(html.contains("streamed word by word."), "{html}");
    assert!(html.contains("data-live=\"false\""));
}

#[tokio::test]
async fn concurrent_sends_keep_every_message_in_order() {
    let ann = someone().await;
    let path = ann.start_conversation("fake-echo", "first").await;
    let token = e2e::csrf_token(&page(&ann, &path).await);
    let sends = (0..4).map(|i| {
        let (ann, path, token) = (&ann, &path, &token);
        async move {
            let message = format!("parallel {i}");
            ann.post_form(path, &[("csrf_token", token), ("message", &message)])
                .await
                .status()
        }
    });
    for status in futures_util::future::join_all(sends).await {
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    let html = page(&ann, &path).await;
    for i in 0..4 {
        let question = format!("<p>parallel {i}</p>");
        let asked = html.find(&question).expect("every message kept") + question.len();
        let answered = html[asked..]
            .find(&format!("You said: parallel {i}."))
            .expect("and its reply");
        // The next message after a question is its own reply.
        let between = &html[asked..asked + answered];
        assert!(
            !between.contains("<p>parallel"),
            "reply {i} follows its question: {between}"
        );
    }
}

#[tokio::test]
async fn a_failing_provider_keeps_the_message_and_offers_a_retry() {
    let ann = someone().await;
    let path = ann.start_conversation("fake-drop", "are you there?").await;
    let html = page(&ann, &path).await;
    assert!(html.contains("<p>are you there?</p>"), "{html}");
    assert!(
        html.contains("You said: are "),
        "the part that arrived: {html}"
    );
    assert!(html.contains("broke off mid-reply"), "{html}");
    assert!(html.contains(">Retry</button>"));
    let token = e2e::csrf_token(&html);
    let retried = ann
        .post_form(
            &path,
            &[
                ("csrf_token", &token),
                ("action", "regenerate"),
                ("model", "fake-echo"),
            ],
        )
        .await;
    assert_eq!(retried.status(), StatusCode::SEE_OTHER);
    let html = page(&ann, &path).await;
    assert!(
        html.contains("You said: are you there?. This reply"),
        "{html}"
    );
    assert!(!html.contains("broke off"));
}

#[tokio::test]
async fn a_bedrock_model_replies_through_the_sdk_with_no_key() {
    let ann = someone().await;
    let path = ann
        .start_conversation("fake-bedrock", "Hello from the portal")
        .await;
    let html = page(&ann, &path).await;
    assert!(html.contains("You said: Hello from the portal."), "{html}");
    // The role may not call a model: "not set up correctly", and the message is kept.
    let denied = ann
        .start_conversation("fake-bedrock-denied", "Anyone there?")
        .await;
    let html = page(&ann, &denied).await;
    assert!(html.contains("<p>Anyone there?</p>"), "{html}");
    assert!(html.contains("not set up correctly"), "{html}");
}

#[tokio::test]
async fn another_users_conversation_is_not_found() {
    let ann = someone().await;
    let bob = someone().await;
    let path = ann.start_conversation("offline", "mine alone").await;
    assert_eq!(bob.get(&path).await.status(), StatusCode::NOT_FOUND);
    let token = e2e::csrf_token(&page_of_home(&bob).await);
    let attempt = bob
        .post_form(&path, &[("csrf_token", &token), ("action", "delete")])
        .await;
    assert_eq!(attempt.status(), StatusCode::NOT_FOUND);
    assert!(page(&ann, &path).await.contains("mine alone"));
    let unknown = bob
        .post_form(
            "/chat",
            &[
                ("csrf_token", &token),
                ("model", "gpt-99"),
                ("message", "hi"),
            ],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let empty = bob
        .post_form(
            "/chat",
            &[
                ("csrf_token", &token),
                ("model", "offline"),
                ("message", ""),
            ],
        )
        .await;
    expect_page(empty, StatusCode::BAD_REQUEST, "Write a message first.").await;
}
