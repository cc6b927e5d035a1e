//! Helpers for handler tests: configuration, requests built from API Gateway event fixtures,
//! and cookie plumbing.

use std::sync::OnceLock;

use lambda_http::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use lambda_http::http::{HeaderValue, Method};
use lambda_http::{Body, Request, RequestExt, Response};
use secrecy::SecretString;

use crate::App;
use crate::config::Config;

/// 64 bytes, base64: a fixed key for tests only.
pub const SESSION_KEY_B64: &str = "c3dpdGNoYm9hcmQtdGVzdC1rZXktc3dpdGNoYm9hcmQtdGVzdC1rZXktc3dpdGNoYm9hcmQtdGVzdC1rZXktMDEyMzQ1Njc=";
pub const ALICE_PASSWORD: &str = "alice-has-a-long-password";

/// An API Gateway REST (v1) proxy event, as Lambda delivers it.
const REST_EVENT: &str = include_str!("../../tests/fixtures/apigw/rest-get-home.json");

pub fn session_key() -> cookie::Key {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(SESSION_KEY_B64)
        .unwrap();
    cookie::Key::from(&bytes)
}

pub fn alice_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        crate::password::hash(&SecretString::from(ALICE_PASSWORD.to_string()))
            .as_str()
            .to_string()
    })
}

/// `SWITCHBOARD_USERS` with one user, alice.
pub fn users_variable() -> String {
    format!("alice={}", alice_hash())
}

pub fn app() -> App {
    let users = users_variable();
    let config = Config::from_lookup(|name| match name {
        crate::config::SESSION_KEY => Some(SESSION_KEY_B64.to_string()),
        crate::config::USERS => Some(users.clone()),
        _ => None,
    })
    .unwrap();
    App::new(config)
}

/// A request parsed from the API Gateway fixture, then given `method` and `path`.
pub fn request(method: Method, path: &str) -> Request {
    let mut req = lambda_http::request::from_str(REST_EVENT)
        .expect("the fixture parses")
        .with_lambda_context(lambda_context());
    *req.method_mut() = method;
    *req.uri_mut() = format!("https://abc123.execute-api.eu-west-1.amazonaws.com{path}")
        .parse()
        .unwrap();
    req
}

/// The invocation context Lambda would attach, with a known request id.
pub fn lambda_context() -> lambda_http::Context {
    let mut context = lambda_http::Context::default();
    context.request_id = REQUEST_ID.to_string();
    context
}

pub const REQUEST_ID: &str = "test-request-0001";

/// A form post to `path` with an url-encoded body built from `fields`.
pub fn form_post(path: &str, fields: &[(&str, &str)]) -> Request {
    let mut req = request(Method::POST, path);
    req.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    *req.body_mut() = Body::from(serde_urlencoded::to_string(fields).unwrap());
    req
}

pub fn with_cookie(mut req: Request, cookie: &str) -> Request {
    req.headers_mut()
        .insert(COOKIE, HeaderValue::from_str(cookie).unwrap());
    req
}

/// The `name=value` part of the session cookie a response sets, if it sets one.
pub fn session_cookie(response: &Response<Body>) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(crate::session::COOKIE_NAME))
        .map(|v| v.split(';').next().unwrap().to_string())
}

pub fn body_text(response: &Response<Body>) -> String {
    String::from_utf8_lossy(response.body().as_ref()).into_owned()
}

/// The CSRF token in the first form of a page.
pub fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("the page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}
