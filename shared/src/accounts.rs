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

/// Who an identity provider says someone is: its issuer and the subject it gives them, which
/// the OpenID Connect specification makes stable and unique within the issuer (unlike a
/// username or an email address, which can change or be reassigned).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    issuer: String,
    subject: String,
}

impl Identity {
    /// The specification bounds a subject at 255 ASCII characters; an issuer is a URL.
    pub fn new(issuer: &str, subject: &str) -> Result<Self, &'static str> {
        if issuer.is_empty() || issuer.len() > 512 {
            return Err("the issuer is empty or longer than 512 bytes");
        }
        if subject.is_empty() || subject.len() > 255 {
            return Err("the subject is empty or longer than 255 bytes");
        }
        Ok(Self {
            issuer: issuer.to_string(),
            subject: subject.to_string(),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// A fixed-length key naming this identity in storage (a SHA-256 of issuer and subject,
    /// so any characters and lengths fit a key).
    pub fn storage_key(&self) -> String {
        crate::link_tokens::sha256_hex(format!("{}\0{}", self.issuer, self.subject).as_bytes())
    }
}

/// The groups an identity provider listed for an account at its last sign-in: at most
/// `MAX` names of at most `MAX_LEN` bytes each, without blanks or repeats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderGroups(Vec<String>);

impl ProviderGroups {
    pub const MAX: usize = 100;
    pub const MAX_LEN: usize = 128;

    /// Keeps the names that fit, in order; says how many it left out.
    pub fn bounded(names: impl IntoIterator<Item = String>) -> (Self, usize) {
        let mut kept: Vec<String> = Vec::new();
        let mut dropped = 0;
        for name in names {
            let name = name.trim().to_string();
            if name.is_empty() || kept.contains(&name) {
                continue;
            }
            if name.len() > Self::MAX_LEN || kept.len() == Self::MAX {
                dropped += 1;
                continue;
            }
            kept.push(name);
        }
        (Self(kept), dropped)
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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
    /// The identity provider's account this one signs in with, if it does.
    pub identity: Option<Identity>,
    /// The provider's groups for it, as of its last single sign-on.
    pub groups: ProviderGroups,
    /// The groups an administrator put it in.
    pub member_of: Vec<crate::groups::GroupId>,
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
            identity: None,
            groups: ProviderGroups::default(),
            member_of: Vec::new(),
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
    /// The identity provider's groups, stored at each single sign-on.
    Groups(ProviderGroups),
    /// Put in a group by an administrator (nothing if it is in it already).
    JoinGroup(crate::groups::GroupId),
    /// Taken out of a group (nothing if it is not in it).
    LeaveGroup(crate::groups::GroupId),
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

    #[test]
    fn provider_groups_are_bounded_and_deduplicated() {
        let (groups, dropped) = ProviderGroups::bounded(
            [" staff ", "", "staff", "admins", &"x".repeat(129)].map(String::from),
        );
        assert_eq!(groups.names(), ["staff", "admins"]);
        assert_eq!(dropped, 1);
        let (many, dropped) = ProviderGroups::bounded((0..150).map(|i| format!("g{i}")));
        assert_eq!((many.names().len(), dropped), (ProviderGroups::MAX, 50));
    }

    #[test]
    fn identities_are_bounded_and_keyed_by_issuer_and_subject() {
        let a = Identity::new("https://idp.example.com", "ab").unwrap();
        let b = Identity::new("https://idp.example.coma", "b").unwrap();
        assert_ne!(a.storage_key(), b.storage_key());
        assert_eq!(a.storage_key().len(), 64);
        assert!(Identity::new("https://idp", "").is_err());
        assert!(Identity::new("https://idp", &"s".repeat(256)).is_err());
    }
}
