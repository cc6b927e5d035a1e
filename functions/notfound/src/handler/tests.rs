use lambda_http::http::{Method, StatusCode};
use shared::testing::{self, body_text, request};

use super::*;

#[tokio::test]
async fn answers_404_with_a_page_for_any_method() {
    let app = testing::app();
    for method in [Method::GET, Method::POST, Method::DELETE] {
        let response = handle(&app, request(method, "/no/such/page")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let html = body_text(&response);
        assert!(html.contains("Page not found"));
        assert!(html.contains(testing::REQUEST_ID));
    }
}
