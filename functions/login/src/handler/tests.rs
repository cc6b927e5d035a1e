use base64::Engine;
use lambda_http::http::Method;
use lambda_http::http::header::{ALLOW, LOCATION, SET_COOKIE};
use shared::accounts::AccountChange;
use shared::audit::AuditAction;
use shared::store::AuditStore;
use shared::testing::{
    self, ALICE_PASSWORD, body_text, csrf_token, form_post, request, session_cookie, with_cookie,
};

use super::*;

const PASSWORD: &str = "violet kettle marching owl";

/// A signed-out visitor's cookie and the token from the form they were shown.
async fn visit_form(app: &App) -> (String, String) {
    let response = handle(app, request(Method::GET, "/login")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = session_cookie(&response).expect("a session for the form's token");
    (cookie, csrf_token(&body_text(&response)))
}

async fn post(app: &App, cookie: &str, fields: &[(&str, &str)]) -> Response<Body> {
    handle(app, with_cookie(form_post("/login", fields), cookie)).await
}

async fn sign_in(app: &App, username: &str, password: &str) -> Response<Body> {
    let (cookie, token) = visit_form(app).await;
    post(
        app,
        &cookie,
        &[
            ("csrf_token", &token),
            ("username", username),
            ("password", password),
        ],
    )
    .await
}

async fn user(app: &App) -> Account {
    testing::create_account(app, "ann", Role::User, PASSWORD).await
}

#[tokio::test]
async fn shows_the_form_with_labelled_fields() {
    let app = testing::app();
    let response = handle(&app, request(Method::GET, "/login")).await;
    let html = body_text(&response);
    assert!(html.contains("<label for=\"username\">"));
    assert!(html.contains("<label for=\"password\">"));
    assert!(!html.contains("action=\"/logout\""));
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("Secure"));
}

#[tokio::test]
async fn right_credentials_start_a_new_session() {
    let app = testing::app();
    let ann = user(&app).await;
    let (cookie, token) = visit_form(&app).await;
    let name = ann.username.as_str().to_uppercase();
    let fields = [
        ("csrf_token", token.as_str()),
        ("username", &name),
        ("password", PASSWORD),
    ];
    let response = post(&app, &cookie, &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/");
    let signed_in = session_cookie(&response).expect("a renewed session");
    assert_ne!(signed_in, cookie);

    let again = handle(
        &app,
        with_cookie(request(Method::GET, "/login"), &signed_in),
    )
    .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER, "signed in: no form");
    assert!(
        session_cookie(&again).is_none(),
        "an unchanged session is not resent"
    );
}

#[tokio::test]
async fn wrong_credentials_get_401_and_the_same_message_for_unknown_users() {
    let app = testing::app();
    let ann = user(&app).await;
    let mut bodies = Vec::new();
    for (username, password) in [
        (ann.username.as_str(), "wrong password"),
        ("nobody-x", PASSWORD),
    ] {
        let response = sign_in(&app, username, password).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(session_cookie(&response).is_none(), "no session change");
        let html = body_text(&response);
        assert!(html.contains("Incorrect username or password."));
        assert!(
            html.contains(&format!("value=\"{username}\"")),
            "keeps the username"
        );
        assert!(!html.contains(password), "never echoes the password");
        bodies.push(
            html.replace(username, "NAME")
                .replace(&csrf_token(&html), "TOKEN"),
        );
    }
    assert_eq!(
        bodies[0], bodies[1],
        "unknown and known users look the same"
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_even_with_the_right_password() {
    let app = testing::app_with(&[("SWITCHBOARD_LOGIN_FAILURES_PER_ACCOUNT", "3")]);
    let ann = user(&app).await;
    for _ in 0..3 {
        let response = sign_in(&app, ann.username.as_str(), "wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = sign_in(&app, ann.username.as_str(), PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(body_text(&response).contains("Too many failed sign-in attempts. Wait"));
    assert!(session_cookie(&response).is_none(), "not signed in");
}

#[tokio::test]
async fn a_disabled_account_cannot_sign_in() {
    let app = testing::app();
    let ann = user(&app).await;
    let store = app.store().await.unwrap();
    store
        .change_account(&ann.username, &AccountChange::Disabled(true))
        .await
        .unwrap();
    let response = sign_in(&app, ann.username.as_str(), PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(body_text(&response).contains("disabled"));
    assert!(session_cookie(&response).is_none());
}

#[tokio::test]
async fn a_bootstrap_admin_is_created_on_first_sign_in_and_then_stored() {
    let name = shared::store::contract::unique_name("boss");
    let admins = format!("{}={}", name.as_str(), testing::alice_hash());
    let app = testing::app_with(&[("SWITCHBOARD_BOOTSTRAP_ADMINS", &admins)]);
    let store = app.store().await.unwrap();
    assert!(store.account(&name).await.unwrap().is_none());
    let wrong = sign_in(&app, name.as_str(), "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        store.account(&name).await.unwrap().is_none(),
        "nothing created"
    );

    let response = sign_in(&app, name.as_str(), ALICE_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let stored = store.account(&name).await.unwrap().expect("created");
    assert_eq!(stored.role, Role::Admin);

    // From now on the stored account rules: a changed password replaces the configured one.
    let new = password::hash(&SecretString::from(PASSWORD.to_string()));
    store
        .change_account(&name, &AccountChange::Password(new))
        .await
        .unwrap();
    let old = sign_in(&app, name.as_str(), ALICE_PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let current = sign_in(&app, name.as_str(), PASSWORD).await;
    assert_eq!(current.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn empty_fields_get_a_message() {
    let app = testing::app();
    let response = sign_in(&app, "ann", "").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&response).contains("Enter your username and password."));
}

#[tokio::test]
async fn a_missing_or_wrong_csrf_token_is_refused_and_signs_nobody_in() {
    let app = testing::app();
    let ann = user(&app).await;
    let name = ann.username.as_str();
    let (cookie, token) = visit_form(&app).await;
    let (_, other_token) = visit_form(&app).await;
    let cases: [(&str, Vec<(&str, &str)>); 3] = [
        (&cookie, vec![("username", name), ("password", PASSWORD)]),
        (
            &cookie,
            vec![
                ("csrf_token", &other_token),
                ("username", name),
                ("password", PASSWORD),
            ],
        ),
        (
            "",
            vec![
                ("csrf_token", &token),
                ("username", name),
                ("password", PASSWORD),
            ],
        ),
    ];
    for (cookie, fields) in cases {
        let response = post(&app, cookie, &fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(body_text(&response).contains("Form expired"));
        if let Some(new) = session_cookie(&response) {
            let page = handle(&app, with_cookie(request(Method::GET, "/login"), &new)).await;
            assert_eq!(page.status(), StatusCode::OK, "still signed out");
        }
    }
}

#[tokio::test]
async fn bad_bodies_get_400_or_413() {
    let app = testing::app();
    let (cookie, token) = visit_form(&app).await;
    let missing_password = post(
        &app,
        &cookie,
        &[("csrf_token", &token), ("username", "ann")],
    )
    .await;
    assert_eq!(missing_password.status(), StatusCode::BAD_REQUEST);

    let huge = "x".repeat(200 * 1024);
    let fields = [
        ("csrf_token", token.as_str()),
        ("username", "ann"),
        ("password", &huge),
    ];
    let too_big = post(&app, &cookie, &fields).await;
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body_text(&too_big).contains("192 KiB"));

    let mut json = with_cookie(form_post("/login", &[]), &cookie);
    json.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    *json.body_mut() = Body::from("{\"username\":\"ann\"}");
    assert_eq!(handle(&app, json).await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn other_methods_get_405() {
    let app = testing::app();
    let response = handle(&app, request(Method::PUT, "/login")).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "GET, POST");
}

#[tokio::test]
async fn an_interrupted_deletion_is_finished_and_signs_nobody_in() {
    let app = testing::app();
    let ann = user(&app).await;
    let store = app.store().await.unwrap();
    store.begin_account_deletion(&ann.username).await.unwrap();
    let response = sign_in(&app, ann.username.as_str(), PASSWORD).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(body_text(&response).contains("Incorrect username or password."));
    assert_eq!(
        store.account(&ann.username).await.unwrap(),
        None,
        "finished"
    );
}

/// API Gateway HTTP APIs (payload 2.0) send cookies in their own field and may base64 the
/// body; a sign-in through that shape works too.
#[tokio::test]
async fn signs_in_from_an_http_api_event() {
    let app = testing::app();
    let ann = user(&app).await;
    let (cookie, token) = visit_form(&app).await;
    let body = serde_urlencoded::to_string([
        ("csrf_token", token.as_str()),
        ("username", ann.username.as_str()),
        ("password", PASSWORD),
    ])
    .unwrap();
    let event = include_str!("../../../../tests/fixtures/apigw/http-post-login.json")
        .replace("SESSION_COOKIE", &cookie)
        .replace(
            "BASE64_FORM",
            &base64::engine::general_purpose::STANDARD.encode(body),
        );
    let req = lambda_http::request::from_str(&event).unwrap();
    let response = handle(&app, req).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(session_cookie(&response).is_some());
}

/// The audit entries about `name`, oldest first, as (action, who did it, detail).
async fn audited(app: &App, name: &str) -> Vec<(AuditAction, Option<String>, String)> {
    let filter = shared::audit::AuditFilter {
        who: Some(name.to_string()),
        action: None,
    };
    let store = app.store().await.unwrap();
    let page = store
        .audit_entries(&filter, None, 100, shared::session::now())
        .await
        .unwrap();
    page.items
        .into_iter()
        .rev()
        .map(|e| (e.action, e.actor, e.detail))
        .collect()
}

#[tokio::test]
async fn sign_ins_refusals_and_throttling_are_audited_without_passwords() {
    let app = testing::app_with(&[("SWITCHBOARD_LOGIN_FAILURES_PER_ACCOUNT", "2")]);
    let ann = user(&app).await;
    let name = ann.username.as_str();
    sign_in(&app, name, PASSWORD).await;
    sign_in(&app, name, "wrong password one").await;
    sign_in(&app, name, "wrong password two").await;
    sign_in(&app, name, PASSWORD).await;
    let entries = audited(&app, name).await;
    let actions: Vec<AuditAction> = entries.iter().map(|e| e.0).collect();
    assert_eq!(
        actions,
        [
            AuditAction::SignIn,
            AuditAction::SignInRefused,
            AuditAction::SignInRefused,
            AuditAction::SignInThrottled
        ]
    );
    assert_eq!(entries[0].1.as_deref(), Some(name), "who signed in");
    assert_eq!(entries[1].1, None, "a refused sign-in has nobody behind it");
    let store = app.store().await.unwrap();
    let all = store
        .audit_entries(&Default::default(), None, 1000, shared::session::now())
        .await
        .unwrap();
    assert!(
        all.items
            .iter()
            .all(|e| !e.detail.contains("wrong password") && !e.detail.contains(PASSWORD)),
        "no password is ever recorded"
    );
}
