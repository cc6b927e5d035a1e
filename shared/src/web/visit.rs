//! One visit: the session read from the request, the signed-in account, and what the
//! handler does with them.

use super::*;

/// What a visit reads with the signed-in account, in the same request to the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlsoRead {
    Nothing,
    /// The portal's default spend cap: pages that apply or show the account's cap.
    DefaultSpendCap,
    /// The portal's groups: pages that offer or use models (model access).
    Groups,
    /// Both: sends, which use a model and apply the cap.
    DefaultSpendCapAndGroups,
}

impl AlsoRead {
    fn extras(self) -> Extras {
        match self {
            Self::Nothing => Extras::NONE,
            Self::DefaultSpendCap => Extras::SPEND_CAP,
            Self::Groups => Extras::GROUPS,
            Self::DefaultSpendCapAndGroups => Extras::SPEND_CAP_AND_GROUPS,
        }
    }
}

pub struct Visit<'a> {
    pub(super) app: &'a App,
    /// Absent only when the keys could not be had; then no cookie is read or written.
    pub(super) keys: Option<Cow<'a, SessionKeys>>,
    pub(super) session: Session,
    pub(super) account: Option<Account>,
    /// The default spend cap, when it was read with the account.
    pub(super) default_spend_cap: Option<Option<Cost>>,
    /// Whether the portal's API is on, when it was read with the account (with the cap).
    pub(super) api_enabled: Option<bool>,
    /// The portal's groups, when they were read with the account.
    pub(super) groups: Option<Groups>,
    /// Whether the session changed and its cookie must be sent again.
    pub(super) changed: bool,
    /// Why the visit could not begin, if it could not: the handler is then not run.
    pub(super) failure: Option<AppError>,
    pub(super) secure: bool,
    pub(super) request_id: String,
    pub(super) base_path: String,
    pub(super) address: String,
    pub(super) host: String,
    pub(super) now: u64,
}

/// Every `Cookie` header of the request as one.
fn cookie_header(req: &Request) -> String {
    req.headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The username the request's session cookie names, if it opens and has not expired. A claim,
/// not a sign-in: it lets a function start a read of that user's data while the visit checks
/// the session, and the result must be used only if the visit then signs in that same user.
pub async fn claimed_user(app: &App, req: &Request) -> Option<Username> {
    let keys = app.session_keys().await.ok()?;
    let session = keys.open(&cookie_header(req), !is_plain_http_loopback(req))?;
    if session.is_expired(session::now()) {
        return None;
    }
    Username::parse(session.user.as_deref()?).ok()
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
            api_enabled: None,
            groups: None,
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
        let opened = keys.open(&cookie_header(req), visit.secure);
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
            .signed_in(&username, &session.id, also.extras())
            .await?;
        self.default_spend_cap = read.default_spend_cap;
        self.api_enabled = read.api_enabled;
        self.groups = read.groups;
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

    /// The limits the signed-in account's sends are checked against (caps, rate, models),
    /// from what was read with the account.
    pub async fn limits(&self) -> Result<crate::limits::Limits, AppError> {
        let account = self.require_user()?;
        let groups = self.account_groups().await?;
        let default_cap = match account.spend_cap {
            Some(_) => None,
            None => self.default_spend_cap().await?,
        };
        Ok(crate::limits::Limits::of(
            &self.app.config,
            account,
            default_cap,
            groups,
        ))
    }

    /// The models the signed-in account may use: those of its groups, else the portal's
    /// default set (the groups as read with the account when the visit asked for them, else
    /// read now).
    pub async fn model_access(&self) -> Result<ModelAccess, AppError> {
        let groups = self.account_groups().await?;
        Ok(ModelAccess::of(
            &groups.iter().collect::<Vec<_>>(),
            &self.app.config.default_models,
        ))
    }

    /// How many days the signed-in account's conversations are kept after their last
    /// activity: the shortest of the portal's and its groups' periods (none: for ever).
    pub async fn retention_days(&self) -> Result<Option<u32>, AppError> {
        let groups = self.account_groups().await?;
        Ok(crate::groups::retention_days(
            self.app.config.retention_days,
            &groups,
        ))
    }

    /// The groups the signed-in account is in (as read with the account when the visit asked
    /// for them, else read now).
    pub async fn account_groups(&self) -> Result<Vec<Group>, AppError> {
        let account = self.require_user()?;
        let read;
        let groups = match &self.groups {
            Some(groups) => groups,
            None => {
                read = self.app.store().await?.groups().await?;
                &read
            }
        };
        Ok(groups.of(account).into_iter().cloned().collect())
    }

    /// Whether the portal's API is on: as read with the account, when the visit asked for
    /// the portal's settings, else read now.
    pub async fn api_enabled(&self) -> Result<bool, AppError> {
        if let Some(enabled) = self.api_enabled {
            return Ok(enabled);
        }
        Ok(crate::store::ApiKeyStore::api_enabled(self.app.store().await?).await?)
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

    /// The submitted form as `T`, once its `csrf_token` field is this session's: every
    /// state-changing form is read through here.
    pub fn form<T: serde::de::DeserializeOwned>(&self, req: &Request) -> Result<T, AppError> {
        #[derive(serde::Deserialize)]
        struct Token {
            // Absent means "no token": a CSRF refusal, not a malformed form.
            #[serde(default)]
            csrf_token: String,
        }
        let token: Token = crate::form::parse(req)?;
        self.check_csrf(&token.csrf_token)?;
        crate::form::parse(req)
    }

    /// Which of a page's forms was posted: its `action` field as the page's enum of them
    /// (serde names), once the form's `csrf_token` is this session's. An action the page does
    /// not have is a 400. The form's other fields are then read with `form::parse`.
    pub fn action<A: serde::de::DeserializeOwned>(&self, req: &Request) -> Result<A, AppError> {
        #[derive(serde::Deserialize)]
        struct Action {
            #[serde(default)]
            action: String,
        }
        let posted: Action = self.form(req)?;
        A::deserialize(
            serde::de::IntoDeserializer::<serde::de::value::Error>::into_deserializer(
                posted.action.as_str(),
            ),
        )
        .map_err(|_| AppError::BadRequest("The form asked for an unknown action."))
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

    /// As `sign_in`, for an account the identity provider vouched for.
    pub fn sign_in_by_provider(&mut self, account: Account) {
        self.sign_in(account);
        self.session.by_provider = true;
    }

    /// Whether this session began with a single sign-on.
    pub fn signed_in_by_provider(&self) -> bool {
        self.account.is_some() && self.session.by_provider
    }

    /// Remembers a single sign-on begun in this browser (one at a time: a new one replaces
    /// an unfinished one).
    pub fn begin_sign_on(&mut self, pending: PendingSignOn) {
        self.session.sign_on = Some(pending);
        self.changed = true;
    }

    /// The single sign-on begun in this browser, forgotten as it is read: a provider's answer
    /// is used once.
    pub fn take_sign_on(&mut self) -> Option<PendingSignOn> {
        let pending = self.session.sign_on.take();
        self.changed |= pending.is_some();
        pending
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

    /// An audit entry for `action` done now, from this request's address, by the signed-in
    /// account (if any; `by` names another), kept for the configured days.
    pub fn audit_entry(&self, action: AuditAction) -> AuditEntry {
        let entry = AuditEntry::new(action, self.now, &self.address, self.app.config.audit_days);
        match &self.account {
            Some(account) => entry.by(account.username.as_str()),
            None => entry,
        }
    }

    /// Records `entry` in the audit log. A failure to record is logged as an error and does
    /// not undo or refuse what was done: the log describes what happened, and whatever
    /// happened did.
    pub async fn record(&self, entry: AuditEntry) {
        let result = match self.app.store().await {
            Ok(store) => store.record_audit(&entry).await.map_err(AppError::from),
            Err(err) => Err(err),
        };
        if let Err(err) = result {
            tracing::error!(%err, action = entry.action.as_str(), "audit entry not recorded");
        }
    }

    pub fn flash(&mut self, flash: Flash) {
        self.session.flash = Some(flash);
        self.changed = true;
    }
}
