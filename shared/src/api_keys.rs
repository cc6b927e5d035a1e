//! Personal API keys: what a user's own tools (the `openai` SDKs, editors, scripts) present
//! to the portal's OpenAI-compatible API instead of a password. A key is shown once, when it
//! is made; only its SHA-256 is kept, so a stolen table holds no usable key. A key may expire
//! and may be limited to some models; revoking it ends it at once.

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Every key starts so: secret scanners and people recognise it.
pub const PREFIX: &str = "sk-sb-";
/// At most this many live keys per account.
pub const MAX_KEYS: usize = 20;
/// The longest expiry offered, in days.
pub const MAX_DAYS: u32 = 365;

crate::random_id!(
    /// An API key's id (not the key: it names the key in its owner's list).
    ApiKeyId
);

/// What the key is called in the list ("laptop", "CI"): 1 to 60 characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct KeyName(String);

impl KeyName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Name the key (what uses it: a laptop, a script).");
        }
        if name.chars().count() > 60 {
            return Err("A key's name has at most 60 characters.");
        }
        if name.chars().any(char::is_control) {
            return Err("A key's name may not contain control characters.");
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A key as its owner's list shows it (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: KeyName,
    pub created_at: u64,
    pub expires_at: Option<u64>,
    pub last_used_at: Option<u64>,
    /// The models it may use (within the account's); `None`: all of the account's.
    pub models: Option<Vec<String>>,
    /// Whether its calls are kept as conversations (off unless asked for).
    pub keeps_conversations: bool,
}

impl ApiKey {
    /// Whether the key may use `model` (within what its owner's account may).
    pub fn allows(&self, model: &str) -> bool {
        self.models
            .as_ref()
            .is_none_or(|models| models.iter().any(|m| m == model))
    }

    pub fn is_expired(&self, now: u64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// The SHA-256 of a key, hex: what is stored and looked up.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyHash(String);

impl KeyHash {
    pub fn of(secret: &SecretString) -> Self {
        let digest = Sha256::digest(secret.expose_secret().as_bytes());
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A stored hash, as read back.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new key's secret (`sk-sb-` and 43 random characters: 256 bits), to show once.
pub fn generate_secret() -> SecretString {
    SecretString::from(format!("{PREFIX}{}", crate::random::token::<32>()))
}

/// Whether a presented bearer token has a key's shape (checked before any lookup).
pub fn looks_like_key(token: &str) -> bool {
    token
        .strip_prefix(PREFIX)
        .is_some_and(|rest| crate::random::is_token(rest, 43))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_shaped_and_hashed() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(looks_like_key(a.expose_secret()));
        assert!(!looks_like_key("sk-sb-short"));
        assert!(!looks_like_key("Bearer x"));
        assert_eq!(KeyHash::of(&a), KeyHash::of(&a));
        assert_ne!(KeyHash::of(&a), KeyHash::of(&b));
        assert_eq!(KeyHash::of(&a).as_str().len(), 64);
    }

    #[test]
    fn names_are_bounded() {
        assert_eq!(KeyName::parse("  laptop ").unwrap().as_str(), "laptop");
        assert!(KeyName::parse(" ").is_err());
        assert!(KeyName::parse(&"x".repeat(61)).is_err());
        assert!(KeyName::parse("a\u{7}b").is_err());
    }
}
