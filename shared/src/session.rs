//! Sessions kept in an encrypted, authenticated cookie (the `cookie` crate's private jar).
//!
//! A session exists for every visitor: signed-out visitors get one too, because it carries the
//! CSRF token that the sign-in form needs. Signing in replaces it with a fresh one.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use cookie::{Cookie, CookieJar, Key, SameSite};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use secrecy::{ExposeSecret, SecretString};

use crate::accounts::{Account, AccountId};

/// The cookie's name on a plain-HTTP local run (browsers refuse `__Host-` cookies there).
pub const COOKIE_NAME: &str = "sb_session";

/// The cookie's name over HTTPS. Browsers accept a `__Host-` cookie only from this very host,
/// Secure, with `Path=/` and no `Domain`: a sibling subdomain cannot plant or overwrite it.
pub const SECURE_COOKIE_NAME: &str = "__Host-sb_session";

pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_COOKIE_NAME
    } else {
        COOKIE_NAME
    }
}

/// How long a signed-out visitor's session (and so a sign-in form) stays valid.
pub const ANONYMOUS_LIFETIME: Duration = Duration::from_secs(2 * 3600);

/// The current key seals new cookies; the previous one still opens cookies sealed before a
/// rotation, so rotating the key signs nobody out.
#[derive(Clone)]
pub struct SessionKeys {
    current: Key,
    previous: Option<Key>,
}

/// A one-time message shown on the next page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Flash(String);

impl Flash {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn signed_out() -> Self {
        Self::new("You have been signed out.")
    }

    pub fn session_ended() -> Self {
        Self::new("Your session has ended. Please sign in again.")
    }

    pub fn text(&self) -> &str {
        &self.0
    }
}

/// A secret per session that state-changing forms must echo back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CsrfToken(String);

impl CsrfToken {
    fn generate() -> Self {
        Self(crate::random::token::<32>())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, submitted: &str) -> bool {
        !submitted.is_empty() && bool::from(self.0.as_bytes().ct_eq(submitted.as_bytes()))
    }
}

/// One session's identity: 128 random bits, so that signing out can end this session (and
/// no other) on the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(String);

impl SessionId {
    fn generate() -> Self {
        Self(crate::random::token::<16>())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A single sign-on begun in this browser: what the provider's answer must match. Kept in the
/// sealed cookie, so the answer counts only in the browser that asked, and only once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignOn {
    #[serde(rename = "s")]
    pub state: String,
    #[serde(rename = "n")]
    pub nonce: String,
    /// PKCE's code verifier.
    #[serde(rename = "v")]
    pub verifier: String,
    #[serde(rename = "t")]
    pub started_at: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    #[serde(rename = "s")]
    pub id: SessionId,
    /// The signed-in username.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The signed-in account's id: the session counts only for the account it was issued for,
    /// not for a later one that took the same username.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
    /// The account's session epoch when this session began; a newer one on the account
    /// ("sign out everywhere", a password change) ends it.
    #[serde(rename = "p", default)]
    pub epoch: u32,
    #[serde(rename = "c")]
    pub csrf: CsrfToken,
    /// Seconds since the Unix epoch.
    #[serde(rename = "i")]
    pub issued_at: u64,
    #[serde(rename = "e")]
    pub expires_at: u64,
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub flash: Option<Flash>,
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub sign_on: Option<PendingSignOn>,
    /// Signed in through the identity provider (so signing out may end its session too).
    #[serde(rename = "x", default, skip_serializing_if = "std::ops::Not::not")]
    pub by_provider: bool,
}

impl Session {
    /// A new session for `account`, or a signed-out one.
    pub fn new(account: Option<&Account>, lifetime: Duration, now: u64) -> Self {
        Self {
            id: SessionId::generate(),
            user: account.map(|a| a.username.as_str().to_string()),
            account: account.map(|a| a.id.clone()),
            epoch: account.map_or(0, |a| a.session_epoch),
            csrf: CsrfToken::generate(),
            issued_at: now,
            expires_at: now.saturating_add(lifetime.as_secs()),
            flash: None,
            sign_on: None,
            by_provider: false,
        }
    }

    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }

    /// Whether this session still counts for `account` as stored now: issued for this very
    /// account (its id, and not before it was created), in its current epoch, and the account
    /// enabled and not being deleted. Whether the session was ended by signing out is the store's to say.
    pub fn is_valid_for(&self, account: &Account) -> bool {
        self.account.as_ref() == Some(&account.id)
            && self.issued_at >= account.created_at
            && self.epoch == account.session_epoch
            && !account.disabled
            && !account.deleting
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl SessionKeys {
    pub fn new(current: Key, previous: Option<Key>) -> Self {
        Self { current, previous }
    }

    /// A key for `purpose`, derived from the current key: what the portal signs other
    /// things with (it changes when the session key is rotated).
    pub fn derived(&self, purpose: &str) -> [u8; 32] {
        use sha2::Digest;
        let mut hash = sha2::Sha256::new();
        hash.update(purpose.as_bytes());
        hash.update([0]);
        hash.update(self.current.master());
        hash.finalize().into()
    }

    /// A key given as base64 of at least 64 random bytes.
    pub fn parse_key(value: &SecretString) -> Result<Key, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value.expose_secret().trim())
            .map_err(|_| "expected base64 (e.g. `openssl rand -base64 64`)".to_string())?;
        Key::try_from(bytes.as_slice())
            .map_err(|_| "expected at least 64 random bytes, base64-encoded".to_string())
    }

    /// Keys from a Secrets Manager secret: `{"current": "...", "previous": "..."}`, where
    /// `previous` may be empty or absent.
    pub fn from_secret_json(value: &SecretString) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Stored {
            current: SecretString,
            #[serde(default)]
            previous: Option<SecretString>,
        }
        let stored: Stored = serde_json::from_str(value.expose_secret())
            .map_err(|_| "expected JSON with a \"current\" key".to_string())?;
        let current = Self::parse_key(&stored.current).map_err(|e| format!("current: {e}"))?;
        let previous = stored
            .previous
            .filter(|p| !p.expose_secret().trim().is_empty())
            .map(|p| Self::parse_key(&p).map_err(|e| format!("previous: {e}")))
            .transpose()?;
        Ok(Self::new(current, previous))
    }

    /// The session in a `Cookie` request header, if one is there (under the name for the
    /// request's scheme), opens with one of our keys and parses. Anything else (absent,
    /// tampered, foreign, garbled) is `None`. Expiry is the caller's to check, so that it can
    /// tell "ended" from "absent".
    pub fn open(&self, cookie_header: &str, secure: bool) -> Option<Session> {
        let name = cookie_name(secure);
        Cookie::split_parse_encoded(cookie_header.to_string())
            .filter_map(Result::ok)
            .filter(|c| c.name() == name)
            .find_map(|sealed| self.open_one(sealed.into_owned()))
    }

    fn open_one(&self, sealed: Cookie<'static>) -> Option<Session> {
        let jar = CookieJar::new();
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find_map(|key| jar.private(key).decrypt(sealed.clone()))
            .and_then(|plain| serde_json::from_str(plain.value()).ok())
    }

    /// The `Set-Cookie` value that stores `session`, encrypted with the current key.
    pub fn seal(&self, session: &Session, secure: bool, now: u64) -> String {
        let value = serde_json::to_string(session).expect("a session always serialises");
        let max_age = session.expires_at.saturating_sub(now);
        let name = cookie_name(secure);
        let cookie = Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .max_age(cookie::time::Duration::seconds(max_age as i64))
            .build();
        let mut jar = CookieJar::new();
        jar.private_mut(&self.current).add(cookie);
        let sealed = jar.get(name).expect("the cookie was just added");
        sealed.encoded().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn keys() -> SessionKeys {
        SessionKeys::new(testing::session_key(), None)
    }

    fn cookie_pair(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_string()
    }

    fn alice_account() -> Account {
        let mut account = crate::store::contract::account("alice");
        account.session_epoch = 3;
        account.created_at = 900;
        account
    }

    fn alice() -> Session {
        Session::new(Some(&alice_account()), Duration::from_secs(60), 1_000)
    }

    #[test]
    fn a_sealed_session_opens_again() {
        let session = alice();
        let header = keys().seal(&session, true, 1_000);
        assert!(header.contains("HttpOnly"));
        assert!(header.contains("SameSite=Lax"));
        assert!(header.contains("Path=/"));
        assert!(header.contains("Secure"));
        assert!(header.contains("Max-Age=60"));
        assert!(header.starts_with("__Host-sb_session="), "{header}");
        assert!(!header.contains("Domain"), "{header}");
        assert!(
            !header.contains("alice"),
            "the session is encrypted: {header}"
        );
        let cookies = format!("other=1; {}; x=y", cookie_pair(&header));
        assert_eq!(keys().open(&cookies, true), Some(session));
    }

    #[test]
    fn over_https_only_the_host_only_cookie_counts() {
        let session = alice();
        let secure = cookie_pair(&keys().seal(&session, true, 1_000));
        let plain = cookie_pair(&keys().seal(&session, false, 1_000));
        assert!(plain.starts_with("sb_session="));
        // A cookie under the plain name (which a sibling subdomain could set) is ignored over
        // HTTPS, even when it opens.
        assert_eq!(keys().open(&plain, true), None);
        let (_, value) = secure.split_once('=').unwrap();
        assert_eq!(keys().open(&format!("sb_session={value}"), true), None);
        assert_eq!(keys().open(&secure, false), None);
        assert_eq!(keys().open(&plain, false), Some(session));
    }

    #[test]
    fn a_session_counts_only_for_the_account_it_was_issued_for() {
        let account = alice_account();
        let session = Session::new(Some(&account), Duration::from_secs(60), 1_000);
        assert!(session.is_valid_for(&account));
        assert_ne!(session.id, alice().id, "every session has its own id");

        let mut same_name_later = account.clone();
        same_name_later.id = AccountId::generate();
        assert!(!session.is_valid_for(&same_name_later));
        let mut created_after = account.clone();
        created_after.created_at = 1_001;
        assert!(!session.is_valid_for(&created_after));
        let mut signed_out_everywhere = account.clone();
        signed_out_everywhere.session_epoch += 1;
        assert!(!session.is_valid_for(&signed_out_everywhere));
        let mut disabled = account.clone();
        disabled.disabled = true;
        assert!(!session.is_valid_for(&disabled));
        let anonymous = Session::new(None, Duration::from_secs(60), 1_000);
        assert!(!anonymous.is_valid_for(&account));
    }

    #[test]
    fn plain_http_cookies_are_not_secure() {
        let header = keys().seal(&alice(), false, 1_000);
        assert!(!header.contains("Secure"));
    }

    #[test]
    fn tampered_foreign_and_garbled_cookies_do_not_open() {
        let pair = cookie_pair(&keys().seal(&alice(), true, 1_000));
        let (name, value) = pair.split_once('=').unwrap();
        let mut tampered: Vec<char> = value.chars().collect();
        let mid = tampered.len() / 2;
        tampered[mid] = if tampered[mid] == 'A' { 'B' } else { 'A' };
        let tampered: String = tampered.into_iter().collect();
        assert_eq!(keys().open(&format!("{name}={tampered}"), true), None);

        let foreign = SessionKeys::new(Key::from(&[9u8; 64]), None);
        assert_eq!(foreign.open(&pair, true), None);

        for garbage in [
            "",
            "sb_session=",
            "sb_session=%%%",
            "sb_session=abc",
            "__Host-sb_session=abc",
            ";;;=",
            "\u{0}",
        ] {
            assert_eq!(keys().open(garbage, true), None, "{garbage:?}");
            assert_eq!(keys().open(garbage, false), None, "{garbage:?}");
        }
    }

    #[test]
    fn the_previous_key_still_opens_after_a_rotation() {
        let session = alice();
        let pair = cookie_pair(&keys().seal(&session, true, 1_000));
        let rotated = SessionKeys::new(Key::from(&[3u8; 64]), Some(testing::session_key()));
        assert_eq!(rotated.open(&pair, true), Some(session.clone()));
        let resealed = cookie_pair(&rotated.seal(&session, true, 1_000));
        assert_eq!(
            keys().open(&resealed, true),
            None,
            "new cookies use the new key"
        );
    }

    #[test]
    fn keys_come_from_secret_json() {
        let secret = |s: String| SecretString::from(s);
        let json = format!(
            r#"{{"current":"{}","previous":""}}"#,
            testing::SESSION_KEY_B64
        );
        let keys = SessionKeys::from_secret_json(&secret(json)).unwrap();
        let pair = cookie_pair(&keys.seal(&alice(), true, 1_000));
        assert!(
            self::keys().open(&pair, true).is_some(),
            "same key as the test key"
        );
        assert!(keys.previous.is_none());

        let both = format!(
            r#"{{"current":"{}","previous":"{}"}}"#,
            "A".repeat(88),
            testing::SESSION_KEY_B64
        );
        let rotated = SessionKeys::from_secret_json(&secret(both)).unwrap();
        assert!(
            rotated.open(&pair, true).is_some(),
            "the previous key still opens"
        );

        for bad in [
            "",
            "{}",
            r#"{"current":"short"}"#,
            r#"{"current":"QUFB","previous":"x"}"#,
        ] {
            assert!(
                SessionKeys::from_secret_json(&secret(bad.into())).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn sessions_expire() {
        let session = alice();
        assert!(!session.is_expired(1_059));
        assert!(session.is_expired(1_060));
    }

    #[test]
    fn csrf_tokens_are_random_and_compared_whole() {
        let a = CsrfToken::generate();
        let b = CsrfToken::generate();
        assert_ne!(a, b);
        assert!(a.matches(a.as_str()));
        assert!(!a.matches(b.as_str()));
        assert!(!a.matches(""));
        assert!(!a.matches(&a.as_str()[..10]));
    }
}
