//! Single sign-on with OpenID Connect: `GET /login/sso` sends the browser to the provider
//! (authorization code flow with PKCE, `state` and `nonce`, all kept in the sealed session
//! cookie); `GET /login/callback` takes the provider's answer, exchanges the code, verifies
//! the ID token against the provider's keys and signs the account in; `GET /login/sso/end`
//! ends the provider's session after the portal's (RP-initiated logout).

mod accounts;
mod claims;
mod provider;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, CsrfToken, LogoutRequest, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, PostLogoutRedirectUrl, RedirectUrl, RequestTokenError, Scope, TokenResponse,
};
use serde::Deserialize;
use shared::accounts::Account;
use shared::audit::AuditAction;
use shared::session::PendingSignOn;
use shared::store::StoreError;
use shared::web::query;
use shared::{AppError, Methods, Reply, Visit};
use subtle::ConstantTimeEq;

use self::accounts::Found;
use self::claims::{Claims, SignOn, Token};
use self::provider::{Client, Provider, describe, send};

/// How long someone may take at the provider before the portal forgets the sign-on.
const PENDING_SECONDS: u64 = 10 * 60;

/// Why a single sign-on did not sign anyone in. Each is answered with the sign-in page, its
/// status and a message for the person; the cause goes to the log.
#[derive(Debug, thiserror::Error)]
pub enum SignOnError {
    #[error("single sign-on is not configured")]
    NotConfigured,
    #[error("no sign-on pending in this browser, or a state that does not match it")]
    Stale,
    #[error("the provider answered with an error: {0}")]
    Refused(String),
    #[error("the provider cannot be reached: {0}")]
    ProviderDown(String),
    #[error("the provider refused the code: {0}")]
    Exchange(String),
    #[error("the ID token did not verify: {0}")]
    Unverified(String),
    #[error("the ID token has no `{0}` claim")]
    MissingClaim(String),
    #[error("the ID token's {0} claim cannot be used: {1}")]
    BadClaim(&'static str, String),
    #[error("no account for {0}, and sign-up does not admit them")]
    NoAccount(String),
    #[error("the username {0} belongs to an account this sign-on may not open")]
    NameTaken(String),
    #[error("the account is disabled")]
    Disabled,
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl SignOnError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotConfigured => StatusCode::NOT_FOUND,
            Self::Stale => StatusCode::BAD_REQUEST,
            Self::Refused(_) | Self::Unverified(_) => StatusCode::UNAUTHORIZED,
            Self::ProviderDown(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Exchange(_) => StatusCode::BAD_GATEWAY,
            Self::MissingClaim(_) | Self::BadClaim(..) | Self::NoAccount(_) | Self::Disabled => {
                StatusCode::FORBIDDEN
            }
            Self::NameTaken(_) => StatusCode::CONFLICT,
            Self::Store(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(&self, provider: &str) -> String {
        match self {
            Self::NotConfigured => "Single sign-on is not set up on this portal.".into(),
            Self::Stale => "This sign-in did not start in this browser, was already used, or \
                            took too long. Please start again."
                .into(),
            Self::Refused(_) => format!("{provider} did not sign you in. Please try again."),
            Self::ProviderDown(_) => {
                format!("{provider} cannot be reached right now. Please try again in a minute.")
            }
            Self::Exchange(_) => {
                format!("{provider} did not accept this sign-in. Please start again.")
            }
            Self::Unverified(_) => format!(
                "The answer from {provider} could not be verified, so you were not signed in."
            ),
            Self::MissingClaim(_) => format!(
                "{provider} did not say who you are, so you were not signed in. Ask an \
                 administrator to check the portal's single sign-on settings."
            ),
            Self::BadClaim("username", why) => format!(
                "Your {provider} username cannot be used here ({why}). Ask an administrator."
            ),
            Self::BadClaim(..) => format!(
                "Your {provider} account details cannot be used here. Ask an administrator."
            ),
            Self::NoAccount(name) => format!(
                "There is no account for {name} here, and this portal does not create one \
                 for you. Ask an administrator for access."
            ),
            Self::NameTaken(name) => format!(
                "The username {name} belongs to an existing account that is not linked to \
                 your {provider} account. Ask an administrator to link them."
            ),
            Self::Disabled => {
                "This account has been disabled. Ask an administrator to enable it.".into()
            }
            Self::Store(_) | Self::Internal(_) => {
                "Something went wrong signing you in. Please try again.".into()
            }
        }
    }
}

/// The answer a sign-on that failed gets: the sign-in page with the reason, and nothing else
/// changed (no session, nothing stored).
async fn refusal(visit: &Visit<'_>, err: SignOnError) -> Result<Reply, AppError> {
    match &err {
        SignOnError::NotConfigured => return Err(AppError::NotFound),
        SignOnError::Store(_) | SignOnError::Internal(_) => {
            tracing::error!(cause = %err, "single sign-on failed")
        }
        _ => tracing::warn!(cause = %err, "single sign-on refused"),
    }
    let mut entry = visit
        .audit_entry(AuditAction::SingleSignOnRefused)
        .detail(&err.to_string());
    if let SignOnError::NoAccount(name) | SignOnError::NameTaken(name) = &err {
        entry = entry.on(name);
    }
    visit.record(entry).await;
    let provider = visit
        .app()
        .config
        .sso
        .as_ref()
        .map_or("The identity provider", |s| s.display_name.as_str());
    Ok(crate::handler::form_page(
        visit,
        err.status(),
        "",
        Some(err.message(provider)),
    ))
}

/// `GET /login/sso`: to the provider, with a new state, nonce and PKCE challenge.
pub async fn start(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    Methods::Get.of(req)?;
    if visit.user().is_some() {
        return Ok(Reply::Redirect("/"));
    }
    match authorization_url(visit).await {
        Ok(url) => Ok(Reply::Elsewhere(url)),
        Err(err) => refusal(visit, err).await,
    }
}

async fn authorization_url(visit: &mut Visit<'_>) -> Result<String, SignOnError> {
    let app = visit.app();
    let provider = Provider::get(app).await?;
    let redirect = RedirectUrl::new(visit.absolute_url("/login/callback"))
        .map_err(|err| SignOnError::Internal(format!("redirect URL: {err}")))?;
    let client = provider.client(app).await?.set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in &provider.config.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, state, nonce) = request.url();
    visit.begin_sign_on(PendingSignOn {
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        started_at: visit.now(),
    });
    Ok(url.to_string())
}

/// The provider's answer, as its redirect's query.
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: Option<String>,
}

/// `GET /login/callback`: the provider's answer, checked, and the account signed in.
pub async fn callback(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    Methods::Get.of(req)?;
    let answer: Answer = query(req)?;
    // Forgotten whatever happens next: an answer is used once.
    let pending = visit.take_sign_on();
    match finish(visit, answer, pending).await {
        Ok((account, found)) => {
            tracing::info!(
                user = account.username.as_str(),
                "signed in with single sign-on"
            );
            let name = account.username.as_str();
            if found == Found::NewlyLinked {
                let linked = visit.audit_entry(AuditAction::SingleSignOnLinked);
                visit
                    .record(linked.by(name).on(name).detail("email address verified"))
                    .await;
            }
            let detail = match found {
                Found::Created => "account created",
                _ => "",
            };
            let entry = visit.audit_entry(AuditAction::SingleSignOn).by(name);
            visit.record(entry.detail(detail)).await;
            visit.sign_in_by_provider(account);
            Ok(Reply::Redirect("/"))
        }
        Err(err) => refusal(visit, err).await,
    }
}

async fn finish(
    visit: &Visit<'_>,
    answer: Answer,
    pending: Option<PendingSignOn>,
) -> Result<(Account, Found), SignOnError> {
    let now = visit.now();
    let pending = pending
        .filter(|p| now.saturating_sub(p.started_at) <= PENDING_SECONDS)
        .filter(|p| bool::from(p.state.as_bytes().ct_eq(answer.state.as_bytes())))
        .ok_or(SignOnError::Stale)?;
    if let Some(error) = answer.error {
        let code: String = error
            .chars()
            .take(64)
            .filter(|c| c.is_ascii_graphic())
            .collect();
        return Err(SignOnError::Refused(code));
    }
    if answer.code.is_empty() || answer.code.len() > 4096 {
        return Err(SignOnError::Exchange("no code, or one over 4 KiB".into()));
    }

    let app = visit.app();
    let provider = Provider::get(app).await?;
    let redirect = RedirectUrl::new(visit.absolute_url("/login/callback"))
        .map_err(|err| SignOnError::Internal(format!("redirect URL: {err}")))?;
    let client = provider.client(app).await?.set_redirect_uri(redirect);
    let http = provider.http.clone();
    let tokens = client
        .exchange_code(AuthorizationCode::new(answer.code))
        .map_err(|err| SignOnError::Internal(format!("no token endpoint: {err}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
        .request_async(&move |request| send(http.clone(), request))
        .await
        .map_err(|err| match err {
            RequestTokenError::Request(cause) => SignOnError::ProviderDown(describe(&cause)),
            other => SignOnError::Exchange(describe(&other)),
        })?;
    let token: Token = tokens
        .id_token()
        .ok_or_else(|| SignOnError::Unverified("the token response has no ID token".into()))?
        .to_string()
        .parse()
        .map_err(|err| SignOnError::Unverified(format!("unreadable ID token: {err}")))?;
    let nonce = Nonce::new(pending.nonce);
    let claims = match verify(&client, &token, &nonce) {
        // Perhaps signed with a key published since the keys were fetched: fetch them again.
        Err(ClaimsVerificationError::SignatureVerification(_)) if !provider.fresh => {
            let provider = Provider::discover(provider.config, provider.http.clone()).await?;
            verify(&provider.client(app).await?, &token, &nonce)
        }
        other => other,
    }
    .map_err(|err| SignOnError::Unverified(describe(&err)))?;
    let sign_on = SignOn::read(&claims, provider.config)?;
    let store = app
        .store()
        .await
        .map_err(|err| SignOnError::Internal(err.to_string()))?;
    accounts::account_for(app, store, &sign_on, now).await
}

/// The ID token's claims, once its signature (by the provider's keys), issuer, audience,
/// expiry and nonce check out.
fn verify(
    client: &Client,
    token: &Token,
    nonce: &Nonce,
) -> Result<Claims, ClaimsVerificationError> {
    token.claims(&client.id_token_verifier(), nonce).cloned()
}

/// `GET /login/sso/end`: after signing out of the portal, to the provider's end-session
/// endpoint, which comes back to the sign-in page (or straight there if it has none).
pub async fn end(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    Methods::Get.of(req)?;
    let app = visit.app();
    let provider = match Provider::get(app).await {
        Ok(provider) => provider,
        Err(err) => {
            tracing::warn!(cause = %err, "could not end the provider's session");
            return Ok(Reply::Redirect("/login"));
        }
    };
    let Some(endpoint) = provider
        .metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
    else {
        return Ok(Reply::Redirect("/login"));
    };
    let back = PostLogoutRedirectUrl::new(visit.absolute_url("/login"))
        .map_err(|err| AppError::internal(format!("post-logout URL: {err}")))?;
    let url = LogoutRequest::from(endpoint)
        .set_client_id(openidconnect::ClientId::new(
            provider.config.client_id.clone(),
        ))
        .set_post_logout_redirect_uri(back)
        .http_get_url();
    Ok(Reply::Elsewhere(url.to_string()))
}

#[cfg(test)]
mod tests;
