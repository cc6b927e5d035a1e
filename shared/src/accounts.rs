//! Accounts: who may sign in, with what role, and the rules their fields follow.

use serde::{Deserialize, Serialize};

use crate::password::PasswordDigest;
use crate::usage::Cost;
use crate::users::Username;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

/// An email address, trimmed and with its domain lowercased. Checked for shape only: one `@`,
/// a local part, a dotted domain, no spaces, at most 254 characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let input = input.trim();
        if input.is_empty() {
            return Err("Enter an email address.");
        }
        if input.chars().count() > 254 || input.chars().any(char::is_whitespace) {
            return Err("Enter a valid email address, like name@example.com.");
        }
        let (local, domain) = input
            .rsplit_once('@')
            .ok_or("Enter a valid email address, like name@example.com.")?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.contains('@') || !domain_ok {
            return Err("Enter a valid email address, like name@example.com.");
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

impl TryFrom<String> for Email {
    type Error = &'static str;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

/// An account's identity, never reused: 128 random bits given when the account is created.
/// A session names the account by it, so a session cannot outlive its account and open
/// another that later takes the same username.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    pub fn generate() -> Self {
        Self(crate::random::token::<16>())
    }

    /// The id of an account stored before accounts had ids: its creation time, which a new
    /// account (given a random id) can never have as its id.
    pub fn legacy(created_at: u64) -> Self {
        Self(format!("legacy-{created_at}"))
    }

    /// An id as stored or as a session carries it: 1 to 64 URL-safe characters.
    pub fn parse(value: &str) -> Option<Self> {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        ok.then(|| Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Given at creation, never reused (usernames can be, once an account is deleted).
    pub id: AccountId,
    pub username: Username,
    /// Optional for accounts an administrator or the bootstrap setting created.
    pub email: Option<Email>,
    pub password: PasswordDigest,
    pub role: Role,
    pub disabled: bool,
    /// Bumped by "sign out everywhere" and password changes: sessions carry the epoch they
    /// were issued in and stop working when it is no longer the account's.
    pub session_epoch: u32,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    /// The most this account may spend on replies in a calendar month; `None` follows the
    /// portal's default cap (which may be none).
    pub spend_cap: Option<Cost>,
    /// Being deleted (a tombstone): it cannot sign in, nothing new is written under it, and
    /// its name stays taken until everything it owned is gone.
    pub deleting: bool,
}

impl Account {
    pub fn new(
        username: Username,
        email: Option<Email>,
        password: PasswordDigest,
        role: Role,
        now: u64,
    ) -> Self {
        Self {
            id: AccountId::generate(),
            username,
            email,
            password,
            role,
            disabled: false,
            session_epoch: 0,
            created_at: now,
            spend_cap: None,
            deleting: false,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Whether an enabled admin other than `except` exists: the last one may not delete their
/// own account, or nobody could administer the portal. Reads the accounts in pages (admins
/// deleting themselves is rare; no request path depends on it).
pub async fn another_enabled_admin<S: crate::store::AccountStore>(
    store: &S,
    except: &Username,
) -> crate::store::StoreResult<bool> {
    let mut after: Option<String> = None;
    loop {
        let page = store.list_accounts(after.as_deref(), 100).await?;
        if page
            .items
            .iter()
            .any(|a| a.is_admin() && !a.disabled && !a.deleting && a.username != *except)
        {
            return Ok(true);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(false),
        }
    }
}

/// A change to one account, applied atomically by the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountChange {
    /// A new password; also ends every other session.
    Password(PasswordDigest),
    Role(Role),
    /// Disabling also ends every session.
    Disabled(bool),
    SignOutEverywhere,
    /// The account's own monthly spend cap, or `None` to follow the default.
    SpendCap(Option<Cost>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_for_shape_and_normalised() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "Ann@example.com"
        );
        assert_eq!(Email::parse("a@b.co").unwrap().domain(), "b.co");
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "ann@localhost",
            "a b@x.com",
            "a@x..com",
            "a@.x.com",
            "a@@x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse(&format!("{}@x.com", "a".repeat(250))).is_err());
    }
}
