//! The people who may sign in. Until accounts are stored, they come from configuration.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::password::{self, PasswordDigest};

/// A user's stable identifier, as kept in their session. Currently the username itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A username: 1 to 32 characters of lowercase letters, digits, `.`, `_` and `-`, starting with
/// a letter or digit. Sign-in is case-insensitive: input is lowercased before it is parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MAX_LEN: usize = 32;

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let name = input.trim().to_lowercase();
        let mut chars = name.chars();
        match chars.next() {
            None => return Err("a username cannot be empty"),
            Some(first) if !first.is_ascii_alphanumeric() => {
                return Err("a username starts with a letter or digit");
            }
            _ => {}
        }
        if name.chars().count() > Self::MAX_LEN {
            return Err("a username has at most 32 characters");
        }
        if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c)) {
            return Err("a username uses only letters, digits, '.', '_' and '-'");
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    password: PasswordDigest,
}

#[derive(Debug)]
pub struct UserDirectory {
    users: Vec<User>,
}

impl UserDirectory {
    /// Parses whitespace-separated `name=argon2id-hash` entries.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut users: Vec<User> = Vec::new();
        for entry in spec.split_whitespace() {
            let (name, hash) = entry
                .split_once('=')
                .ok_or_else(|| format!("entry `{}` is not `name=hash`", truncate(entry)))?;
            let username = Username::parse(name).map_err(|e| format!("`{name}`: {e}"))?;
            let password = PasswordDigest::parse(hash).map_err(|e| format!("`{name}`: {e}"))?;
            if users.iter().any(|u| u.username == username) {
                return Err(format!("`{name}` is listed twice"));
            }
            users.push(User {
                id: UserId(username.as_str().to_string()),
                username,
                password,
            });
        }
        if users.is_empty() {
            return Err("no users listed".into());
        }
        Ok(Self { users })
    }

    pub fn find(&self, username: &str) -> Option<&User> {
        let username = Username::parse(username).ok()?;
        self.users.iter().find(|u| u.username == username)
    }

    pub fn get(&self, id: &UserId) -> Option<&User> {
        self.users.iter().find(|u| &u.id == id)
    }

    /// The user with this name and password, if both match. Takes as long for an unknown
    /// name as for a known one.
    pub fn authenticate(&self, username: &str, password: &SecretString) -> Option<&User> {
        let user = self.find(username);
        let ok = password::verify(password, user.map(|u| &u.password));
        user.filter(|_| ok)
    }
}

fn truncate(s: &str) -> &str {
    s.char_indices().nth(24).map_or(s, |(i, _)| &s[..i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(Username::parse("  Alice ").unwrap().as_str(), "alice");
        assert!(Username::parse("a.b_c-1").is_ok());
        assert!(Username::parse("").is_err());
        assert!(Username::parse("-alice").is_err());
        assert!(Username::parse("al ice").is_err());
        assert!(Username::parse("élodie").is_err());
        assert!(Username::parse(&"a".repeat(33)).is_err());
        assert!(Username::parse(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn authenticates_known_users_with_their_password() {
        let directory = UserDirectory::parse(&testing::users_variable()).unwrap();
        let good = SecretString::from(testing::ALICE_PASSWORD.to_string());
        let bad = SecretString::from("wrong".to_string());
        assert_eq!(
            directory.authenticate("ALICE", &good).unwrap().id.as_str(),
            "alice"
        );
        assert!(directory.authenticate("alice", &bad).is_none());
        assert!(directory.authenticate("nobody", &good).is_none());
        assert!(directory.authenticate("", &good).is_none());
    }

    #[test]
    fn refuses_malformed_lists() {
        let hash = testing::alice_hash();
        assert!(UserDirectory::parse("").is_err());
        assert!(UserDirectory::parse("alice").is_err());
        assert!(UserDirectory::parse(&format!("alice={hash} ALICE={hash}")).is_err());
        assert!(UserDirectory::parse(&format!("bad name={hash}")).is_err());
    }
}
