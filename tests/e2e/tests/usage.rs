//! Usage, costs and spend caps through the real binaries under `cargo lambda watch`, with the
//! fake provider's priced models: on the embedded store and on DynamoDB Local.

use e2e::{PASSWORD, USER, Visitor, expect_page, location};
use reqwest::StatusCode;

async fn page(visitor: &Visitor, path: &str) -> String {
    let html = visitor.get(path).await.text().await.expect("a page");
    html.replace("&#x2f;", "/")
}

/// As the bootstrap admin: gives `name` a monthly cap of `dollars`.
async fn set_cap(name: &str, dollars: &str) {
    let admin = Visitor::new();
    assert_eq!(
        admin.sign_in(USER, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let token = admin.csrf_token("/admin").await;
    let response = admin
        .post_form(
            "/admin",
            &[
                ("csrf_token", &token),
                ("action", "cap"),
                ("username", name),
                ("cap", dollars),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), Some("/admin"));
}

#[tokio::test]
async fn the_usage_page_shows_what_each_reply_cost() {
    let (ann, _) = Visitor::newcomer("usage").await;
    let path = ann.start_conversation("fake-echo", "count my tokens").await;
    let html = page(&ann, &path).await;
    // The fake reports 11 tokens in; $1 and $2 per million tokens.
    assert!(html.contains("11 in · "), "{html}");
    assert!(
        html.contains("Sending with Fake echo costs about $"),
        "{html}"
    );
    let html = expect_page(ann.get("/usage").await, StatusCode::OK, "Usage and cost").await;
    assert!(html.contains("for 1 reply"), "{html}");
    assert!(html.contains("<th scope=\"row\">Fake echo</th>"), "{html}");
    assert!(html.contains("count my tokens</a>"), "{html}");
    assert!(html.contains("There is no spending cap"), "{html}");
}

#[tokio::test]
async fn parallel_sends_cannot_overspend_by_more_than_the_replies_in_flight() {
    let (ann, name) = Visitor::newcomer("capped").await;
    set_cap(&name, "1").await;
    let path = ann.start_conversation("offline", "a free start").await;
    let token = ann.csrf_token(&path).await;
    // Each reply costs far more than the cap, but none has landed when the sends are checked:
    // all of them may go (those are the replies in flight), and no more after.
    let sends = (0..4).map(|i| {
        let (ann, path, token) = (&ann, &path, &token);
        async move {
            let message = format!("pricey {i}");
            ann.post_form(
                path,
                &[
                    ("csrf_token", token.as_str()),
                    ("model", "fake-pricey"),
                    ("message", &message),
                ],
            )
            .await
            .status()
        }
    });
    let statuses = futures_util::future::join_all(sends).await;
    let accepted = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::FORBIDDEN),
        "{statuses:?}"
    );
    assert!(
        accepted >= 1,
        "the first send is checked against nothing spent"
    );

    // The replies have landed: the month's spend is past the cap, and sends are refused
    // with the reason, and stored nothing.
    let one_more = [
        ("csrf_token", token.as_str()),
        ("model", "offline"),
        ("message", "one more"),
    ];
    let refused = ann.post_form(&path, &one_more).await;
    let html = expect_page(
        refused,
        StatusCode::FORBIDDEN,
        "You have reached your spending cap",
    )
    .await;
    assert!(html.contains(">one more</textarea>"), "{html}");
    let html = page(&ann, &path).await;
    assert!(!html.contains("one more"), "nothing stored: {html}");
    let usage = page(&ann, "/usage").await;
    assert!(
        usage.contains(&format!("for {} replies", accepted + 1)),
        "every accepted reply is counted: {usage}"
    );
    assert!(usage.contains("You have reached it"), "{usage}");

    // The admin raises the cap: sends go again.
    set_cap(&name, "1000000").await;
    let again = ann.post_form(&path, &one_more).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
}
