//! Single sign-on through the real binaries and a real OpenID provider (oidc-provider, started
//! by `tests/services/oidc.sh`; the test portals are configured for it as "Test ID"): its own
//! login page, the code flow back to the portal, and signing out of both.

use e2e::{Visitor, csrf_token, expect_page, location};
use reqwest::{Response, StatusCode};
use shared::store::contract::unique_name;

/// Follows redirects (the portal's and the provider's) to the first page that is not one.
async fn follow(visitor: &Visitor, mut response: Response) -> Response {
    for _ in 0..10 {
        let Some(next) = location(&response).map(str::to_string) else {
            return response;
        };
        // Relative to the page that redirected (the portal's or the provider's).
        let url = response.url().join(&next).expect("a redirect URL");
        response = visitor.client.get(url).send().await.expect("GET");
    }
    panic!("more than 10 redirects");
}

/// A form's `action` and a hidden field's value, from the provider's pages.
fn attribute(html: &str, before: &str) -> String {
    let start = html
        .find(before)
        .unwrap_or_else(|| panic!("{before} in {html}"))
        + before.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// Starts a sign-on and signs in at the provider's login page as `login`: the portal's
/// callback request the provider sends the browser back with (not yet followed).
async fn at_the_provider(visitor: &Visitor, login: &str) -> Response {
    let login_page = follow(visitor, visitor.get("/login/sso").await).await;
    assert_eq!(login_page.status(), StatusCode::OK);
    let html = login_page.text().await.unwrap();
    assert!(
        html.contains("name=\"login\""),
        "the provider's login page: {html}"
    );
    let action = attribute(&html, "action=\"");
    let mut response = visitor
        .client
        .post(action)
        .form(&[("prompt", "login"), ("login", login), ("password", "any")])
        .send()
        .await
        .unwrap();
    // Through the provider's redirects, up to the one back to the portal.
    while let Some(next) = location(&response).map(str::to_string) {
        let next = response.url().join(&next).unwrap();
        if next.as_str().starts_with(&visitor.base) {
            return visitor.client.get(next).send().await.unwrap();
        }
        response = visitor.client.get(next).send().await.unwrap();
    }
    panic!(
        "the provider did not send the browser back: {}",
        response.text().await.unwrap()
    );
}

#[tokio::test]
async fn signing_on_lands_home_and_signing_out_ends_both_sessions() {
    let name = unique_name("sso");
    let visitor = Visitor::new();
    expect_page(
        visitor.get("/login").await,
        StatusCode::OK,
        "Sign in with Test ID",
    )
    .await;
    let back = at_the_provider(&visitor, name.as_str()).await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&back), Some("/"));
    let hello = format!("Hello, {}!", name.as_str());
    let home = expect_page(visitor.get("/").await, StatusCode::OK, &hello).await;
    let settings = expect_page(
        visitor.get("/settings").await,
        StatusCode::OK,
        "You sign in with Test ID",
    )
    .await;
    assert!(
        settings.contains("Your groups there: staff, team-"),
        "{settings}"
    );

    // Signing out goes by the provider's sign-out page, then back to the portal's sign-in.
    let token = csrf_token(&home);
    let out = visitor
        .post_form("/logout", &[("csrf_token", &token)])
        .await;
    let confirm = follow(&visitor, out).await;
    let html = confirm.text().await.unwrap();
    assert!(
        html.contains("session/end/confirm"),
        "the provider's sign-out page: {html}"
    );
    let xsrf = attribute(&html, "name=\"xsrf\" value=\"");
    let done = visitor
        .client
        .post(attribute(&html, "action=\""))
        .form(&[("xsrf", xsrf.as_str()), ("logout", "yes")])
        .send()
        .await
        .unwrap();
    expect_page(
        follow(&visitor, done).await,
        StatusCode::OK,
        "You have been signed out.",
    )
    .await;
    assert_eq!(visitor.get("/").await.status(), StatusCode::SEE_OTHER);
    // The provider's session ended too: a new sign-on asks who you are again.
    let again = follow(&visitor, visitor.get("/login/sso").await).await;
    assert!(again.text().await.unwrap().contains("name=\"login\""));
}

#[tokio::test]
async fn the_providers_answer_is_used_once() {
    let visitor = Visitor::new();
    let back = at_the_provider(&visitor, unique_name("once").as_str()).await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    let callback = back.url().to_string();
    let replay = visitor.client.get(callback).send().await.unwrap();
    expect_page(
        replay,
        StatusCode::BAD_REQUEST,
        "did not start in this browser",
    )
    .await;
    // Replayed from another browser, with nothing pending there, it is refused the same way.
    let stranger = Visitor::new();
    let replay = stranger
        .client
        .get(back.url().clone())
        .send()
        .await
        .unwrap();
    expect_page(
        replay,
        StatusCode::BAD_REQUEST,
        "did not start in this browser",
    )
    .await;
    assert_eq!(
        stranger.get("/").await.status(),
        StatusCode::SEE_OTHER,
        "not signed in"
    );
}

#[tokio::test]
async fn a_provider_account_without_a_username_is_refused_clearly() {
    let visitor = Visitor::new();
    let back = at_the_provider(&visitor, &format!("nameless-{}", unique_name("x").as_str())).await;
    expect_page(
        back,
        StatusCode::FORBIDDEN,
        "Test ID did not say who you are",
    )
    .await;
    assert_eq!(
        visitor.get("/").await.status(),
        StatusCode::SEE_OTHER,
        "not signed in"
    );
}
