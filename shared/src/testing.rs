//! Helpers for handler tests: configuration, requests built from API Gateway event fixtures,
//! and cookie plumbing.

use std::sync::OnceLock;

use lambda_http::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use lambda_http::http::{HeaderValue, Method};
use lambda_http::{Body, Request, RequestExt, Response};
use secrecy::SecretString;

use crate::accounts::{Account, Role};
use crate::config::Config;
use crate::store::AccountStore;
use crate::{App, Reply, Visit};

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

/// `SWITCHBOARD_BOOTSTRAP_ADMINS` with one admin, alice.
pub fn bootstrap_variable() -> String {
    format!("alice={}", alice_hash())
}

/// A database file for this test process.
pub fn sqlite_path() -> String {
    std::env::temp_dir()
        .join(format!("switchboard-test-{}", std::process::id()))
        .join("store.sqlite3")
        .to_string_lossy()
        .into_owned()
}

/// An app on the embedded store, with alice as bootstrap admin and open sign-up; `overrides`
/// replace or add variables.
pub fn app_with(overrides: &[(&str, &str)]) -> App {
    let mut vars: std::collections::HashMap<String, String> = [
        (crate::config::SESSION_KEY, SESSION_KEY_B64.to_string()),
        (crate::config::BOOTSTRAP_ADMINS, bootstrap_variable()),
        (crate::config::SQLITE_PATH, sqlite_path()),
        (crate::config::SIGNUP, "open".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in overrides {
        vars.insert(k.to_string(), v.to_string());
    }
    App::new(Config::from_lookup(|name| vars.get(name).cloned()).unwrap())
}

/// As `app_with`, with the AWS SDK pointed at a local stand-in at `aws_url` (the fake
/// provider's Bedrock runtime), with test credentials.
pub fn app_with_aws(overrides: &[(&str, &str)], aws_url: &str) -> App {
    let config = app_with(overrides).config;
    App::with_aws(config, local_service(aws_url))
}

pub fn app() -> App {
    app_with(&[])
}

/// A new account (a fresh unique name) with `password`, stored.
pub async fn create_account(app: &App, prefix: &str, role: Role, password: &str) -> Account {
    let mut account = crate::store::contract::account(prefix);
    account.role = role;
    account.password = crate::password::hash(&SecretString::from(password.to_string()));
    app.store()
        .await
        .unwrap()
        .create_account(&account)
        .await
        .unwrap();
    account
}

/// The session cookie of someone signed in as `account`, and its CSRF token.
pub async fn sign_in(app: &App, account: &Account) -> (String, String) {
    let mut visit = Visit::start(app, &request(Method::GET, "/")).await;
    visit.sign_in(account.clone());
    let response = visit.finish(Ok(Reply::page("home.html", minijinja::context! {})));
    (
        session_cookie(&response).expect("a session cookie"),
        csrf_token(&body_text(&response)),
    )
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
    // API Gateway hands the function the query already parsed; so does this.
    let query = path.split_once('?').map_or("", |(_, q)| q);
    let mut params: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (name, value) in serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap() {
        params.entry(name).or_default().push(value);
    }
    req.with_query_string_parameters(params)
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

/// A `multipart/form-data` body, as a browser sends a form with a file: `fields`, then the
/// file `contents` as the field `file`. Gives back the content type (with its boundary) and
/// the body.
pub fn multipart_body(fields: &[(&str, &str)], contents: &[u8]) -> (String, Vec<u8>) {
    multipart_file_body(fields, "export.json", contents)
}

/// As `multipart_body`, with the file named `file_name`.
pub fn multipart_file_body(
    fields: &[(&str, &str)],
    file_name: &str,
    contents: &[u8],
) -> (String, Vec<u8>) {
    const BOUNDARY: &str = "----switchboard-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(contents);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// A post of `multipart_body(fields, contents)` to `path`.
pub fn multipart_post(path: &str, fields: &[(&str, &str)], contents: &[u8]) -> Request {
    multipart_file_post(path, fields, "export.json", contents)
}

/// A post of `multipart_file_body(fields, file_name, contents)` to `path`.
pub fn multipart_file_post(
    path: &str,
    fields: &[(&str, &str)],
    file_name: &str,
    contents: &[u8],
) -> Request {
    let (content_type, body) = multipart_file_body(fields, file_name, contents);
    let mut req = request(Method::POST, path);
    req.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_str(&content_type).unwrap());
    *req.body_mut() = Body::from(body);
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
        .find(|v| {
            v.starts_with(crate::session::COOKIE_NAME)
                || v.starts_with(crate::session::SECURE_COOKIE_NAME)
        })
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

/// The whole body of a streaming function's response, once it has ended.
pub async fn streamed_text(response: Response<crate::Streamed>) -> String {
    use http_body_util::BodyExt;
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("bodies cannot fail")
        .to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The SDK configuration for a local stand-in of an AWS service at `url`, with the static
/// credentials such services accept (DynamoDB Local keeps a database per access key:
/// whatever else talks to it uses `test`).
pub fn local_service(url: &str) -> aws_types::SdkConfig {
    use aws_sdk_dynamodb::config::{
        BehaviorVersion, Credentials, Region, SharedCredentialsProvider,
    };
    aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(crate::https::aws_client())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "tests",
        )))
        .build()
}

/// A DynamoDB client for DynamoDB Local at `url`.
pub fn local_dynamodb(url: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&local_service(url))
}

/// A Secrets Manager client for the local Secrets Manager server at `url`.
pub fn local_secrets_manager(url: &str) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&local_service(url))
}

/// A valid 2×1 PNG image.
pub const PNG_2X1: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x7B, 0x40, 0xE8,
    0xDD, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0xF8, 0xCF, 0x00, 0x04,
    0xFF, 0x01, 0x07, 0x00, 0x01, 0xFF, 0x3D, 0x7D, 0x8C, 0x49, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];
