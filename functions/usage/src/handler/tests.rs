use lambda_http::http::Method;
use lambda_http::http::StatusCode;
use shared::accounts::{Account, AccountChange, Role};
use shared::conversations::{Conversation, Title};
use shared::store::{AccountStore, ConversationStore};
use shared::testing::{self, body_text, request, with_cookie};
use shared::usage::Charge;

use super::*;

async fn charge(app: &App, account: &Account, title: &str, model: &str, month: Month, nanos: u64) {
    let store = app.store().await.unwrap();
    let conversation = Conversation::new(
        Title::parse(title).unwrap(),
        model.into(),
        None,
        shared::session::now(),
    );
    store
        .create_conversation(&account.username, &conversation)
        .await
        .unwrap();
    let charge = Charge {
        month,
        conversation: conversation.id.as_str().to_string(),
        title: title.into(),
        model: model.into(),
        input_tokens: 100,
        output_tokens: 50,
        cost: Cost::from_nanos(nanos),
        estimated: model == "offline",
        cache: Default::default(),
        groups: Vec::new(),
        day: 1,
    };
    store
        .record_usage(&account.username, &charge)
        .await
        .unwrap();
}

async fn page(app: &App, cookie: &str, path: &str) -> (StatusCode, String) {
    let response = handle(app, with_cookie(request(Method::GET, path), cookie)).await;
    (
        response.status(),
        body_text(&response).replace("&#x2f;", "/"),
    )
}

#[tokio::test]
async fn shows_what_prompt_caching_read_wrote_and_saved() {
    let app = testing::app();
    let ann = testing::create_account(&app, "cacher", Role::User, "pw").await;
    let (cookie, _) = testing::sign_in(&app, &ann).await;
    let (_, html) = page(&app, &cookie, "/usage").await;
    assert!(
        !html.contains("Prompt caching"),
        "nothing cached, nothing said"
    );
    let store = app.store().await.unwrap();
    let conversation = Conversation::new(
        Title::parse("Long talk").unwrap(),
        "claude".into(),
        None,
        shared::session::now(),
    );
    store
        .create_conversation(&ann.username, &conversation)
        .await
        .unwrap();
    let charge = Charge {
        month: Month::of(shared::session::now()),
        conversation: conversation.id.as_str().to_string(),
        title: "Long talk".into(),
        model: "claude".into(),
        input_tokens: 20,
        output_tokens: 50,
        cost: Cost::from_nanos(1_000),
        estimated: false,
        cache: shared::usage::Cached {
            read_tokens: 9_000,
            write_tokens: 300,
            saved: Cost::parse_dollars("0.02").unwrap(),
        },
        groups: Vec::new(),
        day: 1,
    };
    store.record_usage(&ann.username, &charge).await.unwrap();
    let (_, html) = page(&app, &cookie, "/usage").await;
    assert!(
        html.contains(
            "Prompt caching: 9000 tokens read from the cache and 300 written to it; reading \
             them from the cache saved $0.02"
        ),
        "{html}"
    );
}

#[tokio::test]
async fn shows_this_and_last_months_usage_by_model_and_conversation() {
    let app = testing::app();
    let ann = testing::create_account(&app, "counted", Role::User, "pw").await;
    let bob = testing::create_account(&app, "other", Role::User, "pw").await;
    let now = Month::of(shared::session::now());
    charge(&app, &ann, "Trip plans", "offline", now, 0).await;
    charge(&app, &ann, "Tax questions", "gpt-x", now, 2_500_000).await;
    charge(&app, &ann, "Old chat", "gpt-x", now.previous(), 40_000_000).await;
    charge(&app, &bob, "Bob's secret", "gpt-x", now, 9_000_000_000).await;
    app.store()
        .await
        .unwrap()
        .change_account(
            &ann.username,
            &AccountChange::SpendCap(Some(Cost::parse_dollars("1").unwrap())),
        )
        .await
        .unwrap();
    let (cookie, _) = testing::sign_in(&app, &ann).await;

    let (status, html) = page(&app, &cookie, "/usage").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&now.name()) && html.contains(&now.previous().name()),
        "{html}"
    );
    assert!(
        html.contains("<strong>$0.0025</strong> for 2 replies"),
        "{html}"
    );
    assert!(html.contains("(1 estimated)"), "{html}");
    assert!(
        html.contains("Trip plans") && html.contains("Tax questions"),
        "{html}"
    );
    assert!(
        html.contains("<strong>$0.04</strong> for 1 reply"),
        "last month: {html}"
    );
    assert!(
        html.contains("Your cap is <strong>$1.00</strong> a month. You have spent <strong>$0.0025</strong> this month (0%)."),
        "{html}"
    );
    assert!(!html.contains("Bob"), "nothing of anyone else's: {html}");

    // Another pair of months; an empty one says so.
    let older = now.previous().previous();
    let (status, html) = page(&app, &cookie, &format!("/usage?month={}", older.key())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No replies this month."), "{html}");
    assert!(
        html.contains(&format!("month={}", older.next().key())),
        "a later link: {html}"
    );

    let (status, html) = page(&app, &cookie, "/usage?month=2026-13").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("That month is not valid"), "{html}");
}

#[tokio::test]
async fn api_calls_are_one_line_of_their_own() {
    let app = testing::app();
    let ann = testing::create_account(&app, "caller", Role::User, "pw").await;
    let now = Month::of(shared::session::now());
    charge(&app, &ann, "Trip plans", "offline", now, 1_000).await;
    let api = Charge {
        month: now,
        conversation: shared::usage::API_USAGE.into(),
        title: shared::usage::API_USAGE_TITLE.into(),
        model: "gpt-x".into(),
        input_tokens: 10,
        output_tokens: 5,
        cost: Cost::from_nanos(3_000_000),
        estimated: false,
        cache: Default::default(),
        groups: Vec::new(),
        day: 1,
    };
    let store = app.store().await.unwrap();
    for _ in 0..2 {
        store.record_usage(&ann.username, &api).await.unwrap();
    }
    let (cookie, _) = testing::sign_in(&app, &ann).await;
    let (_, html) = page(&app, &cookie, "/usage").await;
    assert!(
        html.contains("<th scope=\"row\">API (your keys)</th><td>2</td>"),
        "one unlinked line for both calls: {html}"
    );
    assert!(html.contains(">Trip plans</a>"), "{html}");
    assert!(!html.contains("/chat/api"), "{html}");
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in_and_only_get_is_served() {
    let app = testing::app();
    let response = handle(&app, request(Method::GET, "/usage")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let ann = testing::create_account(&app, "poster", Role::User, "pw").await;
    let (cookie, _) = testing::sign_in(&app, &ann).await;
    let response = handle(&app, with_cookie(request(Method::POST, "/usage"), &cookie)).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn this_months_spend_is_charted_by_day_and_by_model_with_the_figures_beside() {
    let app = testing::app();
    let ann = testing::create_account(&app, "charted", Role::User, "pw").await;
    let (cookie, _) = testing::sign_in(&app, &ann).await;
    let (_, html) = page(&app, &cookie, "/usage").await;
    assert!(!html.contains("Day by day"), "no replies, no charts");
    let month = Month::of(shared::session::now());
    charge(&app, &ann, "Big", "claude", month, 3_000_000_000).await;
    charge(&app, &ann, "Small", "offline", month, 1_000_000_000).await;
    let (_, html) = page(&app, &cookie, "/usage").await;
    for expected in [
        "<svg class=\"chart columns\" role=\"img\"",
        "<title>1: $4.00</title>",
        "<title>2: $0.00</title>",
        "<h3>Each model's share</h3>",
        "claude (75%): $3.00</title>",
        "<th scope=\"row\">1</th><td>2</td><td>$4.00</td>",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    // One column for every day of the month.
    assert_eq!(
        html.matches("<rect x=").count() as u8 - 2,
        month.days(),
        "{html}"
    );
}
