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
