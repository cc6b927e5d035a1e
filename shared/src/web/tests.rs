//! Tests of a visit: sessions, security headers, error pages, paths behind API Gateway.

use lambda_http::http::Method;

use super::respond::SECURITY_HEADERS;
use super::*;
use crate::accounts::{AccountChange, Role};
use crate::config::SessionKeySource;
use crate::store::AccountStore;
use crate::testing::{self, request};

fn with_headers(headers: &[(&'static str, &'static str)]) -> Request {
    let mut req = request(Method::GET, "/");
    req.headers_mut().remove(HOST);
    req.headers_mut().remove("x-forwarded-proto");
    for (name, value) in headers {
        req.headers_mut()
            .insert(*name, HeaderValue::from_static(value));
    }
    req
}

fn sealed(app: &App, user: &Account, lifetime_secs: u64, issued_at: u64) -> String {
    let session = Session::new(
        Some(user),
        std::time::Duration::from_secs(lifetime_secs),
        issued_at,
    );
    let SessionKeySource::Fixed(keys) = &app.config.session_keys else {
        panic!("tests use fixed keys");
    };
    let header = keys.seal(&session, true, issued_at);
    header.split(';').next().unwrap().to_string()
}

async fn visit<'a>(app: &'a App, cookie: &str) -> Visit<'a> {
    Visit::start(
        app,
        &testing::with_cookie(request(Method::GET, "/"), cookie),
    )
    .await
}

fn login_page(visit: Visit) -> String {
    let response = visit.finish(Ok(Reply::page("login.html", context! {})));
    testing::body_text(&response)
}

#[tokio::test]
async fn a_live_session_signs_its_user_in() {
    let app = testing::app();
    let ann = testing::create_account(&app, "ann", Role::User, "pw").await;
    let cookie = sealed(&app, &ann, 600, session::now());
    let visit = visit(&app, &cookie).await;
    assert_eq!(visit.user().unwrap().username, ann.username);
}

#[tokio::test]
async fn ended_sessions_mean_signed_out_with_a_notice() {
    let app = testing::app();
    let store = app.store().await.unwrap();
    let expired = testing::create_account(&app, "exp", Role::User, "pw").await;
    let gone = testing::create_account(&app, "gone", Role::User, "pw").await;
    let disabled = testing::create_account(&app, "dis", Role::User, "pw").await;
    let everywhere = testing::create_account(&app, "every", Role::User, "pw").await;
    let cookies = [
        sealed(&app, &expired, 60, session::now() - 61),
        sealed(&app, &gone, 600, session::now()),
        sealed(&app, &disabled, 600, session::now()),
        sealed(&app, &everywhere, 600, session::now()),
    ];
    store.delete_account(&gone.username).await.unwrap();
    store
        .change_account(&disabled.username, &AccountChange::Disabled(true))
        .await
        .unwrap();
    store
        .change_account(&everywhere.username, &AccountChange::SignOutEverywhere)
        .await
        .unwrap();
    for cookie in cookies {
        let visit = visit(&app, &cookie).await;
        assert!(visit.user().is_none());
        assert!(login_page(visit).contains("Your session has ended"));
    }
}

#[tokio::test]
async fn a_session_does_not_outlive_its_account() {
    let app = testing::app();
    let store = app.store().await.unwrap();
    let jane = testing::create_account(&app, "jane", Role::User, "pw").await;
    let kept = sealed(&app, &jane, 600, session::now());
    store.delete_account(&jane.username).await.unwrap();
    // Someone else signs up as jane (an admin, even: the worst case).
    let mut new_jane = crate::store::contract::account("jane");
    new_jane.username = jane.username.clone();
    new_jane.role = Role::Admin;
    new_jane.created_at = session::now();
    store.create_account(&new_jane).await.unwrap();
    let visit = visit(&app, &kept).await;
    assert!(visit.user().is_none(), "the kept cookie opens nothing");
    assert!(login_page(visit).contains("Your session has ended"));
    let theirs = sealed(&app, &new_jane, 600, session::now());
    assert_eq!(
        visit_user(&app, &theirs).await,
        Some(new_jane.username.clone())
    );
}

async fn visit_user(app: &App, cookie: &str) -> Option<Username> {
    visit(app, cookie)
        .await
        .user()
        .map(|account| account.username.clone())
}

#[tokio::test]
async fn a_session_issued_before_its_account_was_created_is_refused() {
    let app = testing::app();
    let mut ann = crate::store::contract::account("early");
    ann.created_at = session::now();
    app.store()
        .await
        .unwrap()
        .create_account(&ann)
        .await
        .unwrap();
    // A session naming this very account, but issued before it existed: forged or replayed.
    let early = sealed(&app, &ann, 600, ann.created_at - 10);
    assert_eq!(visit_user(&app, &early).await, None);
}

#[tokio::test]
async fn over_https_the_cookie_is_host_only() {
    let app = testing::app();
    let ann = testing::create_account(&app, "host", Role::User, "pw").await;
    let (cookie, _) = testing::sign_in(&app, &ann).await;
    assert!(cookie.starts_with("__Host-sb_session="), "{cookie}");
    // The same value under the plain name (which a sibling subdomain could plant) is not
    // read over HTTPS.
    let (_, value) = cookie.split_once('=').unwrap();
    assert_eq!(visit_user(&app, &format!("sb_session={value}")).await, None);
    assert_eq!(visit_user(&app, &cookie).await, Some(ann.username));
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let app = testing::app();
    let response = Visit::start(&app, &request(Method::GET, "/"))
        .await
        .finish(Err(AppError::NotFound));
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(response.headers()[*name], *value);
    }
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        policy.starts_with("default-src 'none'; script-src 'sha256-"),
        "{policy}"
    );
}

#[tokio::test]
async fn internal_errors_show_the_request_id_and_no_internals() {
    let app = testing::app();
    let response = Visit::start(&app, &request(Method::GET, "/"))
        .await
        .finish(Err(AppError::internal("database password is hunter2")));
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let html = testing::body_text(&response);
    assert!(html.contains(testing::REQUEST_ID));
    assert!(!html.contains("hunter2"));
}

#[tokio::test]
async fn a_broken_store_is_a_500_page_not_a_crash() {
    let app = testing::app_with(&[(crate::config::SQLITE_PATH, "/proc/no-such-dir/x.db")]);
    let ann = crate::store::contract::account("ann");
    let cookie = sealed(&app, &ann, 600, session::now());
    let req = testing::with_cookie(request(Method::GET, "/"), &cookie);
    let response = serve(&app, req, async |_, _| Ok(Reply::Redirect("/"))).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

fn with_context_path(stage: &str, path: &str) -> Request {
    let req = request(Method::GET, "/");
    let Some(RequestContext::ApiGatewayV1(mut ctx)) = req.request_context_ref().cloned() else {
        panic!("the fixture is a REST API event");
    };
    ctx.stage = Some(stage.to_string());
    ctx.path = Some(path.to_string());
    req.with_request_context(RequestContext::ApiGatewayV1(ctx))
}

#[tokio::test]
async fn links_and_redirects_keep_the_stage_prefix_of_the_default_endpoint() {
    let app = testing::app();
    let req = with_context_path("Prod", "/Prod/");
    assert_eq!(base_path(&req), "/Prod");
    let response = Visit::start(&app, &req)
        .await
        .finish(Ok(Reply::Redirect("/login")));
    assert_eq!(response.headers()[LOCATION], "/Prod/login");
    let page = Visit::start(&app, &req)
        .await
        .finish(Ok(Reply::page("login.html", context! {})));
    // minijinja's HTML escaping writes `/` as `&#x2f;`, which browsers read back as `/`.
    let html = testing::body_text(&page).replace("&#x2f;", "/");
    assert!(html.contains("action=\"/Prod/login\""), "{html}");

    for (stage, path) in [("Prod", "/login"), ("$default", "/$default/x"), ("", "/")] {
        assert_eq!(
            base_path(&with_context_path(stage, path)),
            "",
            "{stage} {path}"
        );
    }
}

#[test]
fn the_source_address_comes_from_the_request_context() {
    assert_eq!(source_address(&request(Method::GET, "/")), "203.0.113.7");
}

#[test]
fn only_plain_http_to_loopback_is_insecure() {
    for host in [
        "localhost:9000",
        "127.0.0.1:9000",
        "localhost",
        "[::1]:9000",
    ] {
        let req = with_headers(&[("host", host)]);
        assert!(is_plain_http_loopback(&req), "{host}");
    }
    let https = with_headers(&[("host", "localhost:9000"), ("x-forwarded-proto", "https")]);
    assert!(!is_plain_http_loopback(&https));
    for host in [
        "abc.execute-api.eu-west-1.amazonaws.com",
        "localhost.evil.com",
        "",
    ] {
        assert!(
            !is_plain_http_loopback(&with_headers(&[("host", host)])),
            "{host}"
        );
    }
}

#[test]
fn methods_answer_405_with_their_allow_list() {
    let get = request(Method::GET, "/");
    let post = request(Method::POST, "/");
    let put = request(Method::PUT, "/");
    assert_eq!(Methods::Get.of(&get).unwrap(), Verb::Get);
    assert_eq!(Methods::GetPost.of(&post).unwrap(), Verb::Post);
    for (methods, req, allow) in [
        (Methods::Get, &post, "GET"),
        (Methods::Post, &get, "POST"),
        (Methods::GetPost, &put, "GET, POST"),
    ] {
        match methods.of(req) {
            Err(AppError::MethodNotAllowed { allow: said }) => assert_eq!(said, allow),
            other => panic!("{methods:?}: {other:?}"),
        }
    }
}

#[test]
fn query_strings_parse_into_types() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Page {
        q: Option<String>,
        before: Option<u32>,
    }
    let parsed: Page = query(&request(Method::GET, "/?q=two+words&before=7")).unwrap();
    assert_eq!(
        parsed,
        Page {
            q: Some("two words".into()),
            before: Some(7)
        }
    );
    let none: Page = query(&request(Method::GET, "/")).unwrap();
    assert_eq!(
        none,
        Page {
            q: None,
            before: None
        }
    );
    assert!(matches!(
        query::<Page>(&request(Method::GET, "/?before=soon")),
        Err(AppError::BadRequest(_))
    ));
}

#[test]
fn path_parameters_come_from_the_router_or_the_path() {
    let req = request(Method::GET, "/chat/abc123");
    assert_eq!(path_parameter(&req, "id", "/chat/"), Some("abc123".into()));
    assert_eq!(
        path_parameter(&request(Method::GET, "/chat"), "id", "/chat/"),
        None
    );
    assert_eq!(
        path_parameter(&request(Method::GET, "/chat/"), "id", "/chat/"),
        None
    );
    let routed = request(Method::GET, "/chat/ignored").with_path_parameters(
        std::collections::HashMap::from([("id".to_string(), "routed".to_string())]),
    );
    assert_eq!(
        path_parameter(&routed, "id", "/chat/"),
        Some("routed".into())
    );
}
