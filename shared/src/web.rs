//! One visit: the session read from the request, what the handler did with it, and the
//! response that results, including the mapping of every `AppError` to its page.

use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, HOST, LOCATION, SET_COOKIE};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use minijinja::value::merge_maps;
use minijinja::{Value, context};

use std::borrow::Cow;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::LazyLock;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body::Frame;
use http_body_util::StreamBody;

use crate::accounts::Account;
use crate::session::{self, ANONYMOUS_LIFETIME, Flash, Session, SessionKeys};
use crate::store::{SessionStore, UsageStore};
use crate::usage::Cost;
use crate::users::Username;
use crate::{App, AppError};

/// What a handler answers when all went well.
pub enum Reply {
    Page {
        status: StatusCode,
        template: &'static str,
        context: Value,
    },
    /// A 303 See Other, so that a form post is followed by a GET.
    Redirect(&'static str),
    /// A 303 to a path made at run time (a conversation's page).
    RedirectTo(String),
    /// Server-sent events, written as they are produced (functions run with
    /// `run_with_streaming_response`).
    Events(ByteStream),
    /// A file to save (an export), named `filename`.
    Download {
        content_type: &'static str,
        filename: String,
        body: String,
    },
}

/// A body written piece by piece.
pub type ByteStream = Pin<Box<dyn Stream<Item = Bytes> + Send>>;

/// The body of a streaming function's responses: whole pages are one piece.
pub type Streamed =
    StreamBody<Pin<Box<dyn Stream<Item = Result<Frame<Bytes>, Infallible>> + Send>>>;

fn streamed(stream: ByteStream) -> Streamed {
    StreamBody::new(Box::pin(stream.map(|bytes| Ok(Frame::data(bytes)))))
}

fn whole(body: Body) -> Streamed {
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(data) => Bytes::from(data),
        _ => Bytes::new(),
    };
    streamed(Box::pin(futures_util::stream::iter(
        (!bytes.is_empty()).then_some(bytes),
    )))
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Page {
                status, template, ..
            } => write!(f, "Page({status}, {template})"),
            Reply::Redirect(path) => write!(f, "Redirect({path})"),
            Reply::RedirectTo(path) => write!(f, "RedirectTo({path})"),
            Reply::Events(_) => write!(f, "Events"),
            Reply::Download { filename, .. } => write!(f, "Download({filename})"),
        }
    }
}

impl Reply {
    pub fn page(template: &'static str, context: Value) -> Self {
        Self::Page {
            status: StatusCode::OK,
            template,
            context,
        }
    }

    pub fn page_with_status(status: StatusCode, template: &'static str, context: Value) -> Self {
        Self::Page {
            status,
            template,
            context,
        }
    }
}

/// Scripts may only be the page's own inline script, named by its hash; requests only to the
/// portal itself.
static CONTENT_SECURITY_POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    let policy = format!(
        "default-src 'none'; script-src '{}'; style-src 'unsafe-inline'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        crate::pages::script_hash()
    );
    HeaderValue::try_from(policy).expect("the policy is ASCII")
});

const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
];

/// What a visit reads with the signed-in account, in the same request to the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlsoRead {
    Nothing,
    /// The portal's default spend cap: pages that apply or show the account's cap.
    DefaultSpendCap,
}

pub struct Visit<'a> {
    app: &'a App,
    /// Absent only when the keys could not be had; then no cookie is read or written.
    keys: Option<Cow<'a, SessionKeys>>,
    session: Session,
    account: Option<Account>,
    /// The default spend cap, when it was read with the account.
    default_spend_cap: Option<Option<Cost>>,
    /// Whether the session changed and its cookie must be sent again.
    changed: bool,
    /// Why the visit could not begin, if it could not: the handler is then not run.
    failure: Option<AppError>,
    secure: bool,
    request_id: String,
    base_path: String,
    address: String,
    host: String,
    now: u64,
}

/// Runs `route` for the request and turns its outcome into the response.
pub async fn serve<'a, F>(app: &'a App, req: Request, route: F) -> Response<Body>
where
    F: for<'v> AsyncFnOnce(&'v mut Visit<'a>, &'v Request) -> Result<Reply, AppError>,
{
    serve_reading(app, req, AlsoRead::Nothing, route).await
}

/// As `serve`, reading `also` with the signed-in account.
pub async fn serve_reading<'a, F>(
    app: &'a App,
    req: Request,
    also: AlsoRead,
    route: F,
) -> Response<Body>
where
    F: for<'v> AsyncFnOnce(&'v mut Visit<'a>, &'v Request) -> Result<Reply, AppError>,
{
    let mut visit = Visit::start_reading(app, &req, also).await;
    let outcome = match visit.failure.take() {
        Some(err) => Err(err),
        None => route(&mut visit, &req).await,
    };
    visit.finish(outcome)
}

impl<'a> Visit<'a> {
    /// Reads the session and, for a signed-in one, the account: one store read. A session that
    /// does not open, has expired, or whose account is gone, disabled or signed out everywhere
    /// since, means signed out.
    pub async fn start(app: &'a App, req: &Request) -> Self {
        Self::start_reading(app, req, AlsoRead::Nothing).await
    }

    /// As `start`, reading `also` with the account (still one store read).
    pub async fn start_reading(app: &'a App, req: &Request, also: AlsoRead) -> Self {
        let now = session::now();
        let mut visit = Self {
            app,
            keys: None,
            session: Session::new(None, ANONYMOUS_LIFETIME, now),
            account: None,
            default_spend_cap: None,
            changed: true,
            failure: None,
            secure: !is_plain_http_loopback(req),
            request_id: request_id(req),
            base_path: base_path(req),
            address: source_address(req),
            host: req
                .headers()
                .get(HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
            now,
        };
        let keys = match app.session_keys().await {
            Ok(keys) => keys,
            Err(err) => {
                visit.failure = Some(err);
                return visit;
            }
        };
        let cookies = req
            .headers()
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join("; ");
        let opened = keys.open(&cookies, visit.secure);
        visit.keys = Some(keys);
        let Some(session) = opened else {
            return visit;
        };
        if session.is_expired(now) {
            if session.user.is_some() {
                visit.session.flash = Some(Flash::session_ended());
            }
            return visit;
        }
        let Some(name) = session.user.clone() else {
            visit.session = session;
            visit.changed = false;
            return visit;
        };
        match visit.load_account(&name, &session, also).await {
            Ok(Some(account)) => {
                visit.account = Some(account);
                visit.session = session;
                visit.changed = false;
            }
            Ok(None) => visit.session.flash = Some(Flash::session_ended()),
            Err(err) => visit.failure = Some(err),
        }
        visit
    }

    /// The session's account, if the session still counts for it: one read of the account and
    /// of whether the session was ended.
    async fn load_account(
        &mut self,
        name: &str,
        session: &Session,
        also: AlsoRead,
    ) -> Result<Option<Account>, AppError> {
        let Ok(username) = Username::parse(name) else {
            return Ok(None);
        };
        let store = self.app.store().await?;
        let read = store
            .signed_in(&username, &session.id, also == AlsoRead::DefaultSpendCap)
            .await?;
        self.default_spend_cap = read.default_spend_cap;
        Ok(read
            .account
            .filter(|account| !read.revoked && session.is_valid_for(account)))
    }

    /// The spend cap that applies to the signed-in account: its own, else the portal's
    /// default (read with the account when the visit asked for it, else now).
    pub async fn spend_cap(&self) -> Result<Option<Cost>, AppError> {
        match self.require_user()?.spend_cap {
            Some(cap) => Ok(Some(cap)),
            None => self.default_spend_cap().await,
        }
    }

    /// The portal's default spend cap: as read with the account, when the visit asked for
    /// it, else read now.
    pub async fn default_spend_cap(&self) -> Result<Option<Cost>, AppError> {
        if let Some(default) = self.default_spend_cap {
            return Ok(default);
        }
        self.app
            .store()
            .await?
            .default_spend_cap()
            .await
            .map_err(AppError::internal)
    }

    /// Why the visit could not begin, if it could not: then the handler must not run.
    pub fn take_failure(&mut self) -> Option<AppError> {
        self.failure.take()
    }

    /// As `finish`, for a function that streams (`run_with_streaming_response`):
    /// `Reply::Events` is written as it is produced, anything else as one piece.
    pub fn finish_streaming(mut self, outcome: Result<Reply, AppError>) -> Response<Streamed> {
        match outcome {
            Ok(Reply::Events(events)) => {
                let mut response = Response::new(Body::Empty);
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream; charset=utf-8"),
                );
                // Proxies must pass each event on at once.
                response
                    .headers_mut()
                    .insert("x-accel-buffering", HeaderValue::from_static("no"));
                self.decorate(&mut response);
                response.map(|_| streamed(events))
            }
            outcome => self.finish(outcome).map(whole),
        }
    }

    /// The signed-in account, if any.
    pub fn user(&self) -> Option<&Account> {
        self.account.as_ref()
    }

    /// The signed-in account, or a redirect to the sign-in page.
    pub fn require_user(&self) -> Result<&Account, AppError> {
        self.account.as_ref().ok_or(AppError::SignInRequired)
    }

    /// The signed-in account if it is an admin's; 403 for anyone else signed in.
    pub fn require_admin(&self) -> Result<&Account, AppError> {
        let account = self.require_user()?;
        if account.is_admin() {
            Ok(account)
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn app(&self) -> &'a App {
        self.app
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    /// The address the request came from, as API Gateway saw it.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The prefix of the portal's paths as the browser sees them (API Gateway's stage).
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// An absolute URL for a path of the portal, for links shown to be copied elsewhere.
    pub fn absolute_url(&self, path: &str) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        format!("{scheme}://{}{}{path}", self.host, self.base_path)
    }

    /// Refuses a state-changing request whose form did not carry this session's token.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), AppError> {
        if self.session.csrf.matches(submitted) {
            Ok(())
        } else {
            Err(AppError::Csrf)
        }
    }

    /// Starts a new session for `account`: new id, new token, new issue time, new expiry.
    pub fn sign_in(&mut self, account: Account) {
        self.session = Session::new(Some(&account), self.app.config.session_lifetime, self.now);
        self.account = Some(account);
        self.changed = true;
    }

    /// Ends the signed-in session on the server (a copy of its cookie no longer counts; the
    /// account's other sessions go on), then replaces it with a new signed-out one.
    pub async fn sign_out(&mut self) -> Result<(), AppError> {
        if let Some(account) = &self.account {
            self.app
                .store()
                .await?
                .revoke_session(&account.username, &self.session.id, self.session.expires_at)
                .await?;
        }
        self.forget_session();
        Ok(())
    }

    /// Replaces the session with a new signed-out one, for when the account is gone or every
    /// session of it has ended already.
    pub fn forget_session(&mut self) {
        self.session = Session::new(None, ANONYMOUS_LIFETIME, self.now);
        self.account = None;
        self.changed = true;
    }

    pub fn flash(&mut self, flash: Flash) {
        self.session.flash = Some(flash);
        self.changed = true;
    }

    /// Turns the handler's outcome into the response, with the session cookie when it changed.
    pub fn finish(mut self, outcome: Result<Reply, AppError>) -> Response<Body> {
        let mut response = match outcome {
            Ok(Reply::Redirect(path)) => self.redirect(path),
            Ok(Reply::RedirectTo(path)) => self.redirect(&path),
            Ok(Reply::Events(_)) => self.error_page(&AppError::internal(
                "events from a function that does not stream",
            )),
            Ok(Reply::Page {
                status,
                template,
                context,
            }) => self.render(status, template, context),
            Ok(Reply::Download {
                content_type,
                filename,
                body,
            }) => download(content_type, &filename, body),
            Err(AppError::SignInRequired) => self.redirect("/login"),
            Err(err) => self.error_page(&err),
        };
        self.decorate(&mut response);
        response
    }

    /// The headers every response carries, and the session cookie when it changed.
    fn decorate<B>(&mut self, response: &mut Response<B>) {
        let headers = response.headers_mut();
        headers.insert("content-security-policy", CONTENT_SECURITY_POLICY.clone());
        for (name, value) in SECURITY_HEADERS {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let (true, Some(keys)) = (self.changed, &self.keys) {
            let cookie = keys.seal(&self.session, self.secure, self.now);
            match HeaderValue::try_from(cookie) {
                Ok(value) => {
                    headers.append(SET_COOKIE, value);
                }
                Err(err) => tracing::error!(%err, "session cookie is not a valid header"),
            }
        }
    }

    fn render(&mut self, status: StatusCode, template: &str, page: Value) -> Response<Body> {
        let flash = self.session.flash.take();
        if flash.is_some() {
            self.changed = true;
        }
        // Later maps win (minijinja's merge looks keys up from the last map back): the
        // page's own values over the common ones.
        let context = merge_maps([
            self.common_context(),
            context! { flash => flash.as_ref().map(Flash::text) },
            page,
        ]);
        match self.app.pages.render(template, context) {
            Ok(html) => html_response(status, html),
            Err(err) => self.error_page(&AppError::internal(err)),
        }
    }

    fn redirect(&self, path: &str) -> Response<Body> {
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::SEE_OTHER;
        let location = format!("{}{path}", self.base_path);
        match HeaderValue::try_from(location) {
            Ok(location) => {
                response.headers_mut().insert(LOCATION, location);
                response
            }
            Err(err) => self.error_page(&AppError::internal(err)),
        }
    }

    fn common_context(&self) -> Value {
        context! {
            base => &self.base_path,
            // The portal's absolute address, for links meant to be copied elsewhere.
            site => self.absolute_url(""),
            user => self.user().map(|u| u.username.as_str()),
            is_admin => self.user().is_some_and(Account::is_admin),
            csrf_token => self.session.csrf.as_str(),
            request_id => &self.request_id,
        }
    }

    fn error_page(&self, err: &AppError) -> Response<Body> {
        let status = err.status();
        match err {
            AppError::Internal(cause) => {
                tracing::error!(request_id = %self.request_id, cause = %cause, "request failed");
            }
            other => tracing::info!(request_id = %self.request_id, %other, "request refused"),
        }
        let context = context! {
            status => status.as_u16(),
            title => err.title(),
            message => err.message(),
            ..self.common_context(),
        };
        let mut response = match self.app.pages.render("error.html", context) {
            Ok(html) => html_response(status, html),
            Err(render_err) => {
                tracing::error!(%render_err, "the error page does not render");
                let text = format!("{} (request id {})", err.title(), self.request_id);
                let mut response = Response::new(Body::from(text));
                *response.status_mut() = status;
                response
            }
        };
        if let AppError::MethodNotAllowed { allow } = err {
            response
                .headers_mut()
                .insert("allow", HeaderValue::from_static(allow));
        }
        response
    }
}

/// The client's address as API Gateway saw it (not a header the client could set).
fn source_address(req: &Request) -> String {
    let address = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.identity.source_ip.clone(),
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    };
    address
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

fn download(content_type: &'static str, filename: &str, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The name is ours (letters, digits, dashes, dots); anything else is dropped.
    let safe: String = filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if let Ok(value) = HeaderValue::try_from(format!("attachment; filename=\"{safe}\"")) {
        headers.insert("content-disposition", value);
    }
    response
}

fn html_response(status: StatusCode, html: String) -> Response<Body> {
    let mut response = Response::new(Body::from(html));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// The id Lambda gave this invocation, shown on error pages and logged with their causes.
fn request_id(req: &Request) -> String {
    req.lambda_context_ref()
        .map(|ctx| ctx.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The prefix of the portal's paths as the browser sees them. API Gateway's default REST
/// endpoint puts the stage first (`/Prod/login`) but hands the function `/login`; links and
/// redirects must add it back. A custom domain or a local run has no prefix.
fn base_path(req: &Request) -> String {
    let Some(RequestContext::ApiGatewayV1(ctx)) = req.request_context_ref() else {
        return String::new();
    };
    let (Some(stage), Some(path)) = (ctx.stage.as_deref(), ctx.path.as_deref()) else {
        return String::new();
    };
    let valid = !stage.is_empty()
        && stage
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let prefix = format!("/{stage}");
    let prefixed = path == prefix || path.starts_with(&format!("{prefix}/"));
    if valid && prefixed {
        prefix
    } else {
        String::new()
    }
}

/// Plain http on this machine is the one place a cookie may go without `Secure`: browsers do
/// not send Secure cookies over http, and local runs have no TLS.
fn is_plain_http_loopback(req: &Request) -> bool {
    let headers = req.headers();
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    !forwarded_https && matches!(host, "localhost" | "127.0.0.1" | "::1")
}

#[cfg(test)]
mod tests {
    use lambda_http::http::Method;

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
}
