//! Export, import and share links through the real binaries under `cargo lambda watch`: on
//! the embedded store and on DynamoDB Local.

use e2e::{Visitor, expect_page};
use reqwest::StatusCode;

async fn post(visitor: &Visitor, path: &str, action: &str) -> reqwest::Response {
    let token = visitor.csrf_token(path).await;
    visitor
        .post_form(path, &[("csrf_token", &token), ("action", action)])
        .await
}

#[tokio::test]
async fn an_export_moves_to_another_account_once_and_a_bad_file_moves_nothing() {
    let (ann, _) = Visitor::newcomer("exporter").await;
    let first = ann
        .start_conversation("fake-echo", "Pack for the Alps")
        .await;
    ann.start_conversation("offline", "Second thoughts").await;
    let export = ann.get("/export").await;
    assert_eq!(export.status(), StatusCode::OK);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let file = export.bytes().await.unwrap();
    let markdown = ann.get(&first.replacen("/chat/", "/export/", 1)).await;
    let markdown = expect_page(markdown, StatusCode::OK, "# Pack for the Alps").await;
    assert!(
        markdown.contains("You said: Pack for the Alps."),
        "{markdown}"
    );

    let (bob, _) = Visitor::newcomer("importer").await;
    let token = bob.csrf_token("/import").await;
    // A broken file first: refused with the reason, nothing imported.
    let mut broken: serde_json::Value = serde_json::from_slice(&file).unwrap();
    broken["conversations"][1]["messages"][0]["state"] = "lost".into();
    let refused = bob
        .post_file(
            "/import",
            &[("csrf_token", &token)],
            broken.to_string().as_bytes(),
        )
        .await;
    let html = expect_page(refused, StatusCode::BAD_REQUEST, "Nothing was imported.").await;
    assert!(html.contains("its state"), "{html}");
    let home = expect_page(bob.get("/").await, StatusCode::OK, "New conversation").await;
    assert!(!home.contains("Pack for the Alps"), "{home}");

    let imported = bob
        .post_file("/import", &[("csrf_token", &token)], &file)
        .await;
    assert_eq!(imported.status(), StatusCode::SEE_OTHER);
    let home = expect_page(
        bob.get("/").await,
        StatusCode::OK,
        "Imported 2 conversations.",
    )
    .await;
    assert!(home.contains("Pack for the Alps") && home.contains("Second thoughts"));
    let again = bob
        .post_file("/import", &[("csrf_token", &token)], &file)
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let home = expect_page(bob.get("/").await, StatusCode::OK, "Nothing new").await;
    assert_eq!(home.matches("Pack for the Alps").count(), 1, "{home}");
}

#[tokio::test]
async fn a_share_link_shows_the_conversation_to_anyone_until_it_is_revoked() {
    let (ann, name) = Visitor::newcomer("sharer").await;
    let path = ann.start_conversation("fake-echo", "Public question").await;
    assert_eq!(
        post(&ann, &path, "share").await.status(),
        StatusCode::SEE_OTHER
    );
    let html = ann
        .get(&path)
        .await
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/");
    let marker = "id=\"share-link\" href=\"";
    let start = html.find(marker).expect("the link is shown") + marker.len();
    let link = html[start..].split('"').next().unwrap().to_string();
    assert!(link.starts_with("/share/"), "{link}");

    let stranger = Visitor::new();
    let page = expect_page(stranger.get(&link).await, StatusCode::OK, "Public question").await;
    assert!(page.contains("You said: Public question."), "{page}");
    assert!(!page.contains(&name), "nothing of the owner's: {page}");

    assert_eq!(
        post(&ann, &path, "unshare").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(stranger.get(&link).await.status(), StatusCode::NOT_FOUND);
}
