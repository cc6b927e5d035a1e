//! The people who may sign in. Until accounts are stored, they come from configuration.

use crate::password::PasswordDigest;

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
            None => return Err("Enter a username."),
            Some(first) if !first.is_ascii_alphanumeric() => {
                return Err("A username starts with a letter or digit.");
            }
            _ => {}
        }
        if name.chars().count() > Self::MAX_LEN {
            return Err("A username has at most 32 characters.");
        }
        if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c)) {
            return Err("A username may use only letters, digits, '.', '_' and '-'.");
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Administrators named in configuration, so that a new deployment has someone who can
/// sign in. When someone signs in with one of these names and no such account exists yet, it
/// is created as an admin with this password hash; from then on the stored account rules.
#[derive(Clone, Debug, Default)]
pub struct BootstrapAdmins {
    admins: Vec<(Username, PasswordDigest)>,
}

impl BootstrapAdmins {
    /// Parses whitespace-separated `name=argon2id-hash` entries.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut admins: Vec<(Username, PasswordDigest)> = Vec::new();
        for entry in spec.split_whitespace() {
            let (name, hash) = entry
                .split_once('=')
                .ok_or_else(|| format!("entry `{}` is not `name=hash`", truncate(entry)))?;
            let username = Username::parse(name).map_err(|e| format!("`{name}`: {e}"))?;
            let password = PasswordDigest::parse(hash).map_err(|e| format!("`{name}`: {e}"))?;
            if admins.iter().any(|(u, _)| *u == username) {
                return Err(format!("`{name}` is listed twice"));
            }
            admins.push((username, password));
        }
        Ok(Self { admins })
    }

    /// Whether `username` is a bootstrap admin's: such names are kept for the operator's first
    /// sign-in, and nobody may take them by signing up or being created by an admin first.
    pub fn reserves(&self, username: &Username) -> bool {
        self.admins.iter().any(|(u, _)| u == username)
    }

    pub fn find(&self, username: &str) -> Option<&PasswordDigest> {
        let username = Username::parse(username).ok()?;
        self.admins
            .iter()
            .find(|(u, _)| *u == username)
            .map(|(_, digest)| digest)
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
    fn bootstrap_admins_parse() {
        let admins = BootstrapAdmins::parse(&testing::bootstrap_variable()).unwrap();
        assert!(admins.find("ALICE").is_some());
        assert!(admins.find("bob").is_none());
        assert!(BootstrapAdmins::parse("").unwrap().find("alice").is_none());
    }

    #[test]
    fn refuses_malformed_lists() {
        let hash = testing::alice_hash();
        assert!(BootstrapAdmins::parse("alice").is_err());
        assert!(BootstrapAdmins::parse(&format!("alice={hash} ALICE={hash}")).is_err());
        assert!(BootstrapAdmins::parse(&format!("bad name={hash}")).is_err());
        assert!(
            BootstrapAdmins::parse("alice=$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA").is_err()
        );
    }
}
