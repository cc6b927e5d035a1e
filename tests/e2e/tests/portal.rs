//! The real function binaries under `cargo lambda watch`, driven over HTTP.

use e2e::{PASSWORD, USER, Visitor, expect_page, location, set_cookies};
use reqwest::StatusCode;

#[tokio::test]
async fn sign_in_greet_sign_out() {
    let visitor = Visitor::new();

    let home = visitor.get("/").await;
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&home), Some("/login"));

    let signed_in = visitor.sign_in(USER, PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_in), Some("/"));
    let cookie = set_cookies(&signed_in).join("\n");
    for attribute in [
        "sb_session=",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http on localhost: {cookie}"
    );

    expect_page(visitor.get("/").await, StatusCode::OK, "Hello, tester!").await;

    let token = visitor.csrf_token("/").await;
    let out = visitor
        .post_form("/logout", &[("csrf_token", &token)])
        .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out), Some("/login"));
    expect_page(
        visitor.get("/login").await,
        StatusCode::OK,
        "You have been signed out.",
    )
    .await;
    let again = visitor.get("/login").await.text().await.unwrap();
    assert!(
        !again.contains("You have been signed out."),
        "the message shows once"
    );
    assert_eq!(visitor.get("/").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn wrong_credentials_get_401_without_saying_which_part_was_wrong() {
    let visitor = Visitor::new();
    let wrong_password = visitor.sign_in(USER, "not-the-password").await;
    let a = expect_page(
        wrong_password,
        StatusCode::UNAUTHORIZED,
        "Incorrect username or password.",
    )
    .await;
    let unknown_user = visitor.sign_in("nobody", PASSWORD).await;
    let b = expect_page(
        unknown_user,
        StatusCode::UNAUTHORIZED,
        "Incorrect username or password.",
    )
    .await;
    let strip = |html: &str, name: &str| e2e::csrf_token(html).len() + html.replace(name, "").len();
    assert_eq!(strip(&a, USER), strip(&b, "nobody"));
    assert_eq!(
        visitor.get("/").await.status(),
        StatusCode::SEE_OTHER,
        "still signed out"
    );
}

#[tokio::test]
async fn a_logout_without_a_valid_token_is_refused_and_changes_nothing() {
    let visitor = Visitor::new();
    visitor.sign_in(USER, PASSWORD).await;
    for fields in [vec![], vec![("csrf_token", "forged")]] {
        let response = visitor.post_form("/logout", &fields).await;
        expect_page(response, StatusCode::FORBIDDEN, "Form expired").await;
        expect_page(visitor.get("/").await, StatusCode::OK, "Hello, tester!").await;
    }
}

#[tokio::test]
async fn a_sign_in_without_the_session_token_is_refused() {
    let visitor = Visitor::new();
    let response = visitor
        .post_form("/login", &[("username", USER), ("password", PASSWORD)])
        .await;
    expect_page(response, StatusCode::FORBIDDEN, "Form expired").await;
    // A token from someone else's session does not work either.
    let other = Visitor::new();
    let token = other.csrf_token("/login").await;
    let response = visitor
        .post_form(
            "/login",
            &[
                ("csrf_token", &token),
                ("username", USER),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(visitor.get("/").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn bad_input_gets_the_right_status_and_a_page() {
    let visitor = Visitor::new();
    expect_page(
        visitor.get("/no/such/page").await,
        StatusCode::NOT_FOUND,
        "Page not found",
    )
    .await;
    let put = visitor
        .client
        .put(visitor.url("/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.headers()["allow"], "GET, POST");
    expect_page(put, StatusCode::METHOD_NOT_ALLOWED, "Method not allowed").await;
    let get_logout = visitor.get("/logout").await;
    assert_eq!(get_logout.status(), StatusCode::METHOD_NOT_ALLOWED);

    let token = visitor.csrf_token("/login").await;
    let malformed = visitor
        .client
        .post(visitor.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf_token={token}&username=tester"))
        .send()
        .await
        .unwrap();
    expect_page(
        malformed,
        StatusCode::BAD_REQUEST,
        "incomplete or malformed",
    )
    .await;

    let huge = "x".repeat(200 * 1024);
    let too_big = visitor
        .post_form(
            "/login",
            &[
                ("csrf_token", &token),
                ("username", USER),
                ("password", &huge),
            ],
        )
        .await;
    expect_page(too_big, StatusCode::PAYLOAD_TOO_LARGE, "192 KiB").await;
}

#[tokio::test]
async fn malformed_cookies_mean_signed_out() {
    let visitor = Visitor::new();
    for cookie in [
        "sb_session=garbage",
        "sb_session=%ff%fe",
        "sb_session=; other=1",
        "===;;;",
    ] {
        let response = visitor
            .client
            .get(visitor.url("/"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{cookie}");
        assert_eq!(location(&response), Some("/login"));
    }
}
