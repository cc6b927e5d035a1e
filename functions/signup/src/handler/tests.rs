use lambda_http::http::Method;
use lambda_http::http::header::LOCATION;
use shared::store::Invite;
use shared::store::contract::unique_name;
use shared::testing::{
    self, body_text, csrf_token, form_post, request, session_cookie, with_cookie,
};

use super::*;

const PASSWORD: &str = "violet kettle marching owl";

async fn form(app: &App, path: &str) -> (Response<Body>, String, String) {
    let response = handle(app, request(Method::GET, path)).await;
    let cookie = session_cookie(&response).unwrap_or_default();
    let html = body_text(&response);
    let token = if html.contains("csrf_token") {
        csrf_token(&html)
    } else {
        String::new()
    };
    (response, cookie, token)
}

async fn post(app: &App, fields: &[(&str, &str)]) -> Response<Body> {
    let (_, cookie, token) = form(app, "/signup").await;
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    handle(app, with_cookie(form_post("/signup", &all), &cookie)).await
}

fn fields<'a>(name: &'a str, email: &'a str, password: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("username", name),
        ("email", email),
        ("password", password),
        ("confirm", password),
    ]
}

#[tokio::test]
async fn open_sign_up_creates_a_user_and_signs_them_in() {
    let app = testing::app();
    let name = unique_name("new");
    let response = post(&app, &fields(name.as_str(), "new@example.com", PASSWORD)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/");
    let cookie = session_cookie(&response).unwrap();
    let visit = Visit::start(&app, &with_cookie(request(Method::GET, "/"), &cookie)).await;
    let account = visit.user().expect("signed in");
    assert_eq!(account.role, Role::User);
    assert_eq!(account.email.as_ref().unwrap().as_str(), "new@example.com");
    assert!(password::verify(
        &SecretString::from(PASSWORD.to_string()),
        Some(&account.password)
    ));
}

#[tokio::test]
async fn each_bad_field_gets_its_own_message_and_nothing_is_created() {
    let app = testing::app();
    let response = post(
        &app,
        &[
            ("username", "-bad name"),
            ("email", "nope"),
            ("password", "password1"),
            ("confirm", "other"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = body_text(&response);
    for message in [
        "A username starts with a letter or digit.",
        "Enter a valid email address",
        "Use at least 10 characters.",
        "The two passwords do not match.",
    ] {
        assert!(html.contains(message), "{message} in {html}");
    }
    assert!(
        html.contains("id=\"username-error\""),
        "the message sits beside its field"
    );
    assert!(
        html.contains("value=\"-bad name\""),
        "what was typed is kept"
    );
    assert!(!html.contains("password1"), "passwords are not echoed");

    let common = post(
        &app,
        &fields(unique_name("c").as_str(), "c@example.com", "password123"),
    )
    .await;
    assert!(body_text(&common).contains("too common"));
}

#[tokio::test]
async fn a_taken_username_is_refused_beside_the_field() {
    let app = testing::app();
    let ann = testing::create_account(&app, "ann", Role::User, "pw").await;
    let response = post(
        &app,
        &fields(ann.username.as_str(), "x@example.com", PASSWORD),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&response).contains("That username is taken."));
}

#[tokio::test]
async fn a_bootstrap_admins_name_cannot_be_taken_before_its_first_sign_in() {
    let root = unique_name("root");
    let bootstrap = format!("{}={}", root.as_str(), testing::alice_hash());
    let app = testing::app_with(&[("SWITCHBOARD_BOOTSTRAP_ADMINS", &bootstrap)]);
    let response = post(&app, &fields(root.as_str(), "x@example.com", PASSWORD)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&response).contains("That username is taken."));
    let store = app.store().await.unwrap();
    assert!(
        store.account(&root).await.unwrap().is_none(),
        "nothing created"
    );
}

#[tokio::test]
async fn open_sign_up_can_require_an_email_domain() {
    let app = testing::app_with(&[("SWITCHBOARD_SIGNUP_DOMAINS", "example.com")]);
    let response = post(
        &app,
        &fields(unique_name("d").as_str(), "me@elsewhere.org", PASSWORD),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&response).contains("Use an email address at example.com."));
    let ok = post(
        &app,
        &fields(unique_name("d").as_str(), "me@Example.com", PASSWORD),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn closed_sign_up_explains_and_refuses() {
    let app = testing::app_with(&[("SWITCHBOARD_SIGNUP", "closed")]);
    let (page, _, _) = form(&app, "/signup").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(body_text(&page).contains("Sign-up is closed"));
    let response = post(
        &app,
        &fields(unique_name("x").as_str(), "x@example.com", PASSWORD),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn invite_links_work_once_and_bad_ones_get_a_clear_error() {
    let app = testing::app_with(&[("SWITCHBOARD_SIGNUP", "invite")]);
    let store = app.store().await.unwrap();
    let (token, hash) = link_tokens::generate();
    let now = shared::session::now();
    let invite = Invite {
        token_hash: hash,
        created_by: unique_name("admin"),
        created_at: now,
        expires_at: now + 3600,
    };
    store.create_invite(&invite).await.unwrap();

    let (none, _, _) = form(&app, "/signup").await;
    assert!(body_text(&none).contains("Sign-up here is by invitation"));
    for bad in ["tampered", &format!("{token}x")] {
        let (page, _, _) = form(&app, &format!("/signup?invite={bad}")).await;
        assert_eq!(page.status(), StatusCode::GONE, "{bad}");
        assert!(body_text(&page).contains("Invite link not valid"));
    }

    let path = format!("/signup?invite={token}");
    let (page, cookie, csrf) = form(&app, &path).await;
    assert_eq!(page.status(), StatusCode::OK);
    let name = unique_name("invited");
    let mut all = vec![("csrf_token", csrf.as_str()), ("invite", token.as_str())];
    all.extend(fields(name.as_str(), "i@example.com", PASSWORD));
    let created = handle(&app, with_cookie(form_post("/signup", &all), &cookie)).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    assert!(store.account(&name).await.unwrap().is_some());

    let (reused, _, _) = form(&app, &path).await;
    assert_eq!(reused.status(), StatusCode::GONE);
    let second = unique_name("second");
    let mut all = vec![("csrf_token", csrf.as_str()), ("invite", token.as_str())];
    all.extend(fields(second.as_str(), "s@example.com", PASSWORD));
    let refused = handle(&app, with_cookie(form_post("/signup", &all), &cookie)).await;
    assert_eq!(refused.status(), StatusCode::GONE);
    assert!(
        store.account(&second).await.unwrap().is_none(),
        "nothing half-written"
    );
}
