//! A harness for tests that need running services, all started by `scripts/test`: a
//! cookie-keeping HTTP client pointed at a running portal, and SDK clients for DynamoDB Local
//! and the Secrets Manager server.

use reqwest::header::SET_COOKIE;
use reqwest::{Client, Response, StatusCode, redirect};

pub const USER: &str = "tester";
pub const PASSWORD: &str = "tester-password-123";
/// The password of accounts the tests sign up.
pub const NEW_PASSWORD: &str = "violet kettle marching owl";

/// One visitor with their own cookies, like a browser that does not follow redirects.
pub struct Visitor {
    pub base: String,
    pub client: Client,
}

impl Visitor {
    pub fn new() -> Self {
        let base = std::env::var("SWITCHBOARD_TEST_URL").expect(
            "SWITCHBOARD_TEST_URL is not set: start the portal with `tests/services/portal.sh start` \
             and set it to the printed address, or run `scripts/test`",
        );
        // The portal's own client builder: reqwest has no TLS crypto provider of its own here.
        let client = shared::https::provider_client()
            .redirect(redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("an HTTP client");
        Self { base, client }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    /// Posts `fields` and the file `contents` as `multipart/form-data`, as a browser sends a
    /// form with a file.
    pub async fn post_file(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        contents: &[u8],
    ) -> Response {
        let (content_type, body) = shared::testing::multipart_body(fields, contents);
        self.client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST")
    }

    /// A GET with `cookie` as the only cookie (a copy of someone's, kept or stolen).
    pub async fn get_with_cookie(&self, path: &str, cookie: &str) -> Response {
        self.client
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .expect("GET")
    }

    /// The CSRF token of the form on the page at `path`.
    pub async fn csrf_token(&self, path: &str) -> String {
        let html = self.get(path).await.text().await.expect("a page");
        csrf_token(&html)
    }

    pub async fn sign_in(&self, user: &str, password: &str) -> Response {
        let token = self.csrf_token("/login").await;
        self.post_form(
            "/login",
            &[
                ("csrf_token", &token),
                ("username", user),
                ("password", password),
            ],
        )
        .await
    }
}

impl Visitor {
    /// Signs up as `name` with `NEW_PASSWORD` (the portal's sign-up is open).
    pub async fn sign_up(&self, name: &str) -> Response {
        let token = self.csrf_token("/signup").await;
        let fields = [
            ("csrf_token", token.as_str()),
            ("username", name),
            ("email", "someone@example.com"),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ];
        self.post_form("/signup", &fields).await
    }

    /// A new account with a fresh name starting with `prefix`, signed in; and its name.
    pub async fn newcomer(prefix: &str) -> (Self, String) {
        let visitor = Self::new();
        let name = shared::store::contract::unique_name(prefix);
        let created = visitor.sign_up(name.as_str()).await;
        assert_eq!(created.status(), StatusCode::SEE_OTHER);
        (visitor, name.as_str().to_string())
    }

    /// Starts a conversation with a plain form post, as a browser without JavaScript does;
    /// its path.
    pub async fn start_conversation(&self, model: &str, message: &str) -> String {
        let token = self.csrf_token("/").await;
        let response = self
            .post_form(
                "/chat",
                &[
                    ("csrf_token", &token),
                    ("model", model),
                    ("message", message),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let path = location(&response)
            .unwrap()
            .trim_end_matches("#latest")
            .to_string();
        assert!(path.starts_with("/chat/"), "{path}");
        path
    }
}

impl Default for Visitor {
    fn default() -> Self {
        Self::new()
    }
}

pub fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("the page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

pub fn location(response: &Response) -> Option<&str> {
    response.headers().get("location")?.to_str().ok()
}

pub fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect()
}

/// The `name=value` of the session cookie a response sets.
pub fn session_cookie(response: &Response) -> String {
    set_cookies(response)
        .iter()
        .find(|c| c.contains("sb_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string()
}

pub async fn expect_page(response: Response, status: StatusCode, text: &str) -> String {
    assert_eq!(response.status(), status, "{}", response.url());
    let html = response.text().await.expect("a body");
    assert!(html.contains(text), "expected {text:?} in:\n{html}");
    html
}

pub fn service_url(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} is not set: these tests need the services `scripts/test` starts")
    })
}

/// A DynamoDB client for DynamoDB Local, with the static credentials it accepts.
pub fn dynamodb() -> aws_sdk_dynamodb::Client {
    shared::testing::local_dynamodb(&service_url("SWITCHBOARD_TEST_DYNAMODB_URL"))
}

/// A Secrets Manager client for the local server.
pub fn secrets_manager() -> aws_sdk_secretsmanager::Client {
    shared::testing::local_secrets_manager(&service_url("SWITCHBOARD_TEST_SECRETS_URL"))
}
