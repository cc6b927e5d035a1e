//! Configuration read from environment variables (and a `.env` file when one is present).

use std::time::Duration;

use base64::Engine;
use cookie::Key;
use secrecy::{ExposeSecret, SecretString};

use crate::session::SessionKeys;
use crate::users::UserDirectory;

pub const SESSION_KEY: &str = "SWITCHBOARD_SESSION_KEY";
pub const SESSION_KEY_PREVIOUS: &str = "SWITCHBOARD_SESSION_KEY_PREVIOUS";
pub const SESSION_HOURS: &str = "SWITCHBOARD_SESSION_HOURS";
pub const USERS: &str = "SWITCHBOARD_USERS";

const DEFAULT_SESSION_HOURS: u64 = 12;
const MAX_SESSION_HOURS: u64 = 24 * 30;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("{name} is not set; {hint}")]
    Missing {
        name: &'static str,
        hint: &'static str,
    },
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl ConfigError {
    pub fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            name,
            reason: reason.into(),
        }
    }
}

pub struct Config {
    pub session_keys: SessionKeys,
    pub session_lifetime: Duration,
    pub users: UserDirectory,
}

impl Config {
    /// Reads the process environment, after loading `.env` from the working directory (or a
    /// parent) if there is one; variables already set win over the file.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let read = |name: &str| get(name).filter(|value| !value.trim().is_empty());

        let current = read(SESSION_KEY)
            .map(SecretString::from)
            .ok_or(ConfigError::Missing {
                name: SESSION_KEY,
                hint: "generate one with `openssl rand -base64 64`",
            })?;
        let current = parse_key(SESSION_KEY, &current)?;
        let previous = read(SESSION_KEY_PREVIOUS)
            .map(|value| parse_key(SESSION_KEY_PREVIOUS, &SecretString::from(value)))
            .transpose()?;

        let hours = match read(SESSION_HOURS) {
            None => DEFAULT_SESSION_HOURS,
            Some(value) => value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|h| (1..=MAX_SESSION_HOURS).contains(h))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        SESSION_HOURS,
                        format!("expected a whole number of hours from 1 to {MAX_SESSION_HOURS}"),
                    )
                })?,
        };

        let users = read(USERS).ok_or(ConfigError::Missing {
            name: USERS,
            hint: "list at least one `name=argon2id-hash` pair",
        })?;
        let users =
            UserDirectory::parse(&users).map_err(|reason| ConfigError::invalid(USERS, reason))?;

        Ok(Self {
            session_keys: SessionKeys::new(current, previous),
            session_lifetime: Duration::from_secs(hours * 3600),
            users,
        })
    }
}

fn parse_key(name: &'static str, value: &SecretString) -> Result<Key, ConfigError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.expose_secret().trim())
        .map_err(|_| {
            ConfigError::invalid(name, "expected base64 (e.g. `openssl rand -base64 64`)")
        })?;
    Key::try_from(bytes.as_slice()).map_err(|_| {
        ConfigError::invalid(name, "expected at least 64 random bytes, base64-encoded")
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::testing;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn reads_a_complete_configuration() {
        let users = testing::users_variable();
        let config = config(&[
            (SESSION_KEY, testing::SESSION_KEY_B64),
            (USERS, &users),
            (SESSION_HOURS, "2"),
        ])
        .unwrap();
        assert_eq!(config.session_lifetime, Duration::from_secs(7200));
        assert!(config.users.find("alice").is_some());
    }

    #[test]
    fn a_missing_variable_is_named() {
        let err = config(&[(USERS, &testing::users_variable())])
            .err()
            .unwrap();
        assert!(err.to_string().contains(SESSION_KEY), "{err}");
        let err = config(&[(SESSION_KEY, testing::SESSION_KEY_B64)])
            .err()
            .unwrap();
        assert!(err.to_string().contains(USERS), "{err}");
    }

    #[test]
    fn invalid_values_are_named() {
        let users = testing::users_variable();
        let short_key = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        for (vars, name) in [
            (
                vec![(SESSION_KEY, "not base64!"), (USERS, &users)],
                SESSION_KEY,
            ),
            (
                vec![(SESSION_KEY, short_key.as_str()), (USERS, &users)],
                SESSION_KEY,
            ),
            (
                vec![
                    (SESSION_KEY, testing::SESSION_KEY_B64),
                    (USERS, &users),
                    (SESSION_HOURS, "0"),
                ],
                SESSION_HOURS,
            ),
            (
                vec![
                    (SESSION_KEY, testing::SESSION_KEY_B64),
                    (USERS, "alice=plaintext"),
                ],
                USERS,
            ),
            (
                vec![
                    (SESSION_KEY, testing::SESSION_KEY_B64),
                    (USERS, &users),
                    (SESSION_KEY_PREVIOUS, "short"),
                ],
                SESSION_KEY_PREVIOUS,
            ),
        ] {
            let err = config(&vars)
                .err()
                .expect("configuration should be refused");
            assert!(
                matches!(&err, ConfigError::Invalid { name: n, .. } if *n == name),
                "{err}"
            );
        }
    }
}
