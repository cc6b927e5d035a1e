//! Configuration read from environment variables (and a `.env` file when one is present).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::ai::Catalogue;
use crate::session::SessionKeys;
use crate::signup::SignupPolicy;
use crate::sso::SsoConfig;
use crate::throttle::ThrottlePolicy;
use crate::users::BootstrapAdmins;

pub const SESSION_KEY: &str = "SWITCHBOARD_SESSION_KEY";
pub const SESSION_KEY_PREVIOUS: &str = "SWITCHBOARD_SESSION_KEY_PREVIOUS";
pub const SESSION_KEYS_SECRET: &str = "SWITCHBOARD_SESSION_KEYS_SECRET";
pub const SESSION_HOURS: &str = "SWITCHBOARD_SESSION_HOURS";
pub const SECRETS_TTL: &str = "SWITCHBOARD_SECRETS_TTL_SECONDS";
pub const BOOTSTRAP_ADMINS: &str = "SWITCHBOARD_BOOTSTRAP_ADMINS";
pub const STORE: &str = "SWITCHBOARD_STORE";
pub const SQLITE_PATH: &str = "SWITCHBOARD_SQLITE_PATH";
pub const TABLE: &str = "SWITCHBOARD_TABLE";
pub const CREATE_TABLE: &str = "SWITCHBOARD_DYNAMODB_CREATE_TABLE";
pub const SIGNUP: &str = "SWITCHBOARD_SIGNUP";
pub const SIGNUP_DOMAINS: &str = "SWITCHBOARD_SIGNUP_DOMAINS";
pub const INVITE_DAYS: &str = "SWITCHBOARD_INVITE_DAYS";
pub const LOGIN_FAILURES_PER_ACCOUNT: &str = "SWITCHBOARD_LOGIN_FAILURES_PER_ACCOUNT";
pub const LOGIN_FAILURES_PER_ADDRESS: &str = "SWITCHBOARD_LOGIN_FAILURES_PER_ADDRESS";
pub const LOGIN_WINDOW_MINUTES: &str = "SWITCHBOARD_LOGIN_WINDOW_MINUTES";
pub const MODELS: &str = "SWITCHBOARD_MODELS";
pub const PROVIDER_TIMEOUT: &str = "SWITCHBOARD_PROVIDER_TIMEOUT_SECONDS";
pub const REPLY_DEADLINE: &str = "SWITCHBOARD_REPLY_DEADLINE_SECONDS";
pub const OFFLINE_PACE: &str = "SWITCHBOARD_OFFLINE_PACE_MS";
pub const SENDS_PER_MINUTE: &str = "SWITCHBOARD_SENDS_PER_MINUTE";
pub const PASSWORD_SIGNIN: &str = "SWITCHBOARD_PASSWORD_SIGNIN";
pub const AUDIT_DAYS: &str = "SWITCHBOARD_AUDIT_DAYS";
pub const DEFAULT_MODELS: &str = "SWITCHBOARD_DEFAULT_MODELS";
pub const RETENTION_DAYS: &str = "SWITCHBOARD_RETENTION_DAYS";
pub const ATTACHMENTS: &str = "SWITCHBOARD_ATTACHMENTS";
pub const ATTACHMENTS_BUCKET: &str = "SWITCHBOARD_ATTACHMENTS_BUCKET";
pub const ATTACHMENTS_DIR: &str = "SWITCHBOARD_ATTACHMENTS_DIR";

const DEFAULT_SQLITE_PATH: &str = ".switchboard/switchboard.sqlite3";

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

/// Where the session cookie keys come from.
pub enum SessionKeySource {
    /// From the environment (local runs).
    Fixed(SessionKeys),
    /// A Secrets Manager secret holding `{"current": "...", "previous": "..."}`, fetched on first
    /// need and cached for the secrets TTL.
    Managed { secret_id: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreConfig {
    Embedded { path: PathBuf },
    Dynamo { table: String, create_table: bool },
}

/// Where attachments' bytes are kept, if anywhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttachmentsConfig {
    /// Attaching is off: the message form has no file field.
    Off,
    /// A directory (beside the SQLite file by default), uploaded to through the portal.
    Directory(PathBuf),
    /// An S3 bucket, uploaded to by the browser directly.
    Bucket(String),
}

pub struct Config {
    pub attachments: AttachmentsConfig,
    pub session_keys: SessionKeySource,
    pub session_lifetime: Duration,
    pub secrets_ttl: Duration,
    pub bootstrap_admins: BootstrapAdmins,
    pub store: StoreConfig,
    pub signup: SignupPolicy,
    pub invite_lifetime: Duration,
    pub throttle: ThrottlePolicy,
    pub models: Catalogue,
    /// How long a provider may stay silent (before answering, or between two pieces of a
    /// reply) before the reply is given up as failed.
    pub provider_timeout: Duration,
    /// The longest a reply may take in all, however busy the provider keeps the stream:
    /// under the chat function's 15-minute limit, so a stopped reply is still saved.
    pub reply_deadline: Duration,
    /// The offline model's pause between words, so that its replies visibly stream.
    pub offline_pace: Duration,
    /// How many sends (messages, regenerates, edits) one user may make per minute; `None`
    /// for no limit.
    pub sends_per_minute: Option<u32>,
    /// Single sign-on, when an OpenID Connect provider is configured.
    pub sso: Option<SsoConfig>,
    /// Whether people may sign in (and sign up) with a password. When not, only the bootstrap
    /// admins may, for recovery; everyone else signs in with the provider.
    pub password_signin: bool,
    /// How many days audit entries are kept.
    pub audit_days: u32,
    /// The models of accounts in no group.
    pub default_models: crate::groups::ModelAccess,
    /// How many days conversations are kept after their last activity (none: for ever).
    pub retention_days: Option<u32>,
}

/// Reads one variable at a time, treating blank as unset.
pub(crate) struct Vars<F: Fn(&str) -> Option<String>>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|value| !value.trim().is_empty())
    }

    fn number(
        &self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        name,
                        format!(
                            "expected a whole number from {} to {}",
                            range.start(),
                            range.end()
                        ),
                    )
                }),
        }
    }

    pub(crate) fn flag(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.get(name).as_deref().map(str::trim) {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(_) => Err(ConfigError::invalid(name, "expected true or false")),
        }
    }
}

impl Config {
    /// Reads the process environment, after loading `.env` from the working directory (or a
    /// parent) if there is one; variables already set win over the file.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(get);

        let session_keys = match (vars.get(SESSION_KEYS_SECRET), vars.get(SESSION_KEY)) {
            (Some(secret_id), _) => SessionKeySource::Managed {
                secret_id: secret_id.trim().to_string(),
            },
            (None, Some(current)) => {
                let current = SessionKeys::parse_key(&SecretString::from(current))
                    .map_err(|reason| ConfigError::invalid(SESSION_KEY, reason))?;
                let previous = vars
                    .get(SESSION_KEY_PREVIOUS)
                    .map(|value| SessionKeys::parse_key(&SecretString::from(value)))
                    .transpose()
                    .map_err(|reason| ConfigError::invalid(SESSION_KEY_PREVIOUS, reason))?;
                SessionKeySource::Fixed(SessionKeys::new(current, previous))
            }
            (None, None) => {
                return Err(ConfigError::Missing {
                    name: SESSION_KEY,
                    hint: "generate one with `openssl rand -base64 64`, or name a Secrets Manager \
                           secret in SWITCHBOARD_SESSION_KEYS_SECRET",
                });
            }
        };

        let hours = vars.number(SESSION_HOURS, 12, 1..=24 * 30)?;
        let secrets_ttl = vars.number(SECRETS_TTL, 300, 0..=86_400)?;

        let bootstrap_admins = match vars.get(BOOTSTRAP_ADMINS) {
            None => BootstrapAdmins::default(),
            Some(spec) => BootstrapAdmins::parse(&spec)
                .map_err(|reason| ConfigError::invalid(BOOTSTRAP_ADMINS, reason))?,
        };

        let store = match vars.get(STORE).as_deref().map(str::trim) {
            None | Some("embedded") if !cfg!(feature = "embedded") => {
                return Err(ConfigError::invalid(
                    STORE,
                    "this build has no embedded store: use dynamodb, or build with \
                     `--features embedded` (scripts/local does)",
                ));
            }
            None | Some("embedded") => StoreConfig::Embedded {
                path: vars
                    .get(SQLITE_PATH)
                    .unwrap_or_else(|| DEFAULT_SQLITE_PATH.into())
                    .into(),
            },
            Some("dynamodb") => StoreConfig::Dynamo {
                table: vars.get(TABLE).ok_or(ConfigError::Missing {
                    name: TABLE,
                    hint: "name the DynamoDB table (SWITCHBOARD_STORE is dynamodb)",
                })?,
                create_table: vars.flag(CREATE_TABLE)?,
            },
            Some(_) => return Err(ConfigError::invalid(STORE, "expected embedded or dynamodb")),
        };

        let attachments = match (
            vars.get(ATTACHMENTS).as_deref().map(str::trim),
            vars.get(ATTACHMENTS_BUCKET),
            vars.get(ATTACHMENTS_DIR),
        ) {
            (Some("off"), _, _) => AttachmentsConfig::Off,
            (Some(other), _, _) if other != "on" => {
                return Err(ConfigError::invalid(ATTACHMENTS, "expected on or off"));
            }
            (_, Some(bucket), _) => AttachmentsConfig::Bucket(bucket.trim().to_string()),
            (_, None, Some(dir)) => AttachmentsConfig::Directory(dir.trim().into()),
            // Beside the SQLite file; with DynamoDB (in AWS) only a bucket will do.
            (_, None, None) => match &store {
                StoreConfig::Embedded { path } => AttachmentsConfig::Directory(
                    path.parent()
                        .unwrap_or(std::path::Path::new("."))
                        .join("attachments"),
                ),
                StoreConfig::Dynamo { .. } => AttachmentsConfig::Off,
            },
        };

        let signup = SignupPolicy::parse(
            vars.get(SIGNUP).as_deref(),
            vars.get(SIGNUP_DOMAINS).as_deref(),
        )
        .map_err(|(name, reason)| ConfigError::invalid(name, reason))?;

        let invite_days = vars.number(INVITE_DAYS, 7, 1..=90)?;
        let throttle = ThrottlePolicy {
            per_account: vars.number(LOGIN_FAILURES_PER_ACCOUNT, 5, 1..=1000)? as u32,
            per_address: vars.number(LOGIN_FAILURES_PER_ADDRESS, 20, 1..=100_000)? as u32,
            window: Duration::from_secs(vars.number(LOGIN_WINDOW_MINUTES, 15, 1..=1440)? * 60),
        };

        // Inline TOML (what a Lambda environment variable can hold) or the path of a file.
        let models = match vars.get(MODELS) {
            None => Catalogue::embedded(),
            Some(value) => {
                let text = if value.contains("[[model]]") {
                    value
                } else {
                    std::fs::read_to_string(value.trim()).map_err(|err| {
                        ConfigError::invalid(MODELS, format!("cannot read {}: {err}", value.trim()))
                    })?
                };
                Catalogue::parse(&text).map_err(|reason| ConfigError::invalid(MODELS, reason))?
            }
        };
        let provider_timeout = vars.number(PROVIDER_TIMEOUT, 60, 1..=840)?;
        let reply_deadline = vars.number(REPLY_DEADLINE, 600, 1..=840)?;
        let offline_pace = vars.number(OFFLINE_PACE, 40, 0..=5000)?;
        let sends_per_minute = vars.number(SENDS_PER_MINUTE, 20, 0..=10_000)? as u32;
        let sso = SsoConfig::from_vars(&vars)?;
        let audit_days = vars.number(AUDIT_DAYS, 365, 1..=3650)? as u32;
        let retention_days = match vars.get(RETENTION_DAYS) {
            None => None,
            Some(_) => Some(vars.number(
                RETENTION_DAYS,
                0,
                1..=u64::from(crate::groups::MAX_RETENTION_DAYS),
            )? as u32),
        };
        let default_models = match vars.get(DEFAULT_MODELS) {
            None => crate::groups::ModelAccess::Every,
            Some(list) => {
                let ids: Vec<String> = list
                    .split([',', ' '])
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_string)
                    .collect();
                if let Some(unknown) = ids.iter().find(|id| models.get(id).is_none()) {
                    return Err(ConfigError::invalid(
                        DEFAULT_MODELS,
                        format!("`{unknown}` is not a model of the catalogue"),
                    ));
                }
                crate::groups::ModelAccess::Only(ids)
            }
        };
        let password_signin = match vars.get(PASSWORD_SIGNIN) {
            None => true,
            Some(_) => vars.flag(PASSWORD_SIGNIN)?,
        };
        if !password_signin && sso.is_none() {
            return Err(ConfigError::invalid(
                PASSWORD_SIGNIN,
                format!(
                    "false needs single sign-on ({}), or only bootstrap admins could sign in",
                    crate::sso::ISSUER
                ),
            ));
        }

        Ok(Self {
            attachments,
            retention_days,
            audit_days,
            default_models,
            sso,
            password_signin,
            models,
            provider_timeout: Duration::from_secs(provider_timeout),
            reply_deadline: Duration::from_secs(reply_deadline),
            offline_pace: Duration::from_millis(offline_pace),
            sends_per_minute: (sends_per_minute > 0).then_some(sends_per_minute),
            session_keys,
            session_lifetime: Duration::from_secs(hours * 3600),
            secrets_ttl: Duration::from_secs(secrets_ttl),
            bootstrap_admins,
            store,
            signup,
            invite_lifetime: Duration::from_secs(invite_days * 86_400),
            throttle,
        })
    }
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
        let admins = testing::bootstrap_variable();
        let config = config(&[
            (SESSION_KEY, testing::SESSION_KEY_B64),
            (BOOTSTRAP_ADMINS, &admins),
            (SESSION_HOURS, "2"),
            (STORE, "dynamodb"),
            (TABLE, "switchboard"),
            (SIGNUP, "open"),
            (SIGNUP_DOMAINS, "example.com, Example.org"),
        ])
        .unwrap();
        assert_eq!(config.session_lifetime, Duration::from_secs(7200));
        assert!(config.bootstrap_admins.find("alice").is_some());
        assert_eq!(
            config.store,
            StoreConfig::Dynamo {
                table: "switchboard".into(),
                create_table: false
            }
        );
        assert!(
            matches!(config.signup, SignupPolicy::Open { ref domains } if domains == &["example.com", "example.org"])
        );
    }

    #[test]
    fn defaults_suit_a_local_run() {
        let config = config(&[(SESSION_KEY, testing::SESSION_KEY_B64)]).unwrap();
        assert!(matches!(config.store, StoreConfig::Embedded { .. }));
        assert_eq!(config.signup, SignupPolicy::Closed);
        assert_eq!(config.throttle.per_account, 5);
        assert!(matches!(config.session_keys, SessionKeySource::Fixed(_)));
        assert_eq!(config.sends_per_minute, Some(20));
        let unlimited = super::tests::config(&[
            (SESSION_KEY, testing::SESSION_KEY_B64),
            (SENDS_PER_MINUTE, "0"),
        ])
        .unwrap();
        assert_eq!(unlimited.sends_per_minute, None);
    }

    #[test]
    fn single_sign_on_is_configured_by_its_issuer() {
        use crate::sso::{self, ClientSecret};
        let key = (SESSION_KEY, testing::SESSION_KEY_B64);
        let none = config(&[key]).unwrap();
        assert!(none.sso.is_none() && none.password_signin);
        let on = config(&[
            key,
            (sso::ISSUER, "https://idp.example.com/realms/x"),
            (sso::CLIENT_ID, "portal"),
            (sso::CLIENT_SECRET_ID, "switchboard/oidc"),
            (sso::GROUPS_CLAIM, "groups"),
            (PASSWORD_SIGNIN, "false"),
        ])
        .unwrap();
        let sso = on.sso.unwrap();
        assert_eq!(sso.scopes, ["email", "profile"]);
        assert_eq!(sso.username_claim, "preferred_username");
        assert_eq!(sso.groups_claim.as_deref(), Some("groups"));
        assert!(
            matches!(sso.client_secret, ClientSecret::Managed { ref secret_id, field: None } if secret_id == "switchboard/oidc")
        );
        assert!(!on.password_signin && !sso.link_accounts);
        assert_eq!(sso.origin(), "https://idp.example.com");
        for (vars, name) in [
            (vec![key, (PASSWORD_SIGNIN, "false")], PASSWORD_SIGNIN),
            (
                vec![key, (sso::ISSUER, "http://idp.example.com")],
                sso::ISSUER,
            ),
            (vec![key, (sso::CLIENT_ID, "portal")], sso::CLIENT_ID),
            (
                vec![
                    key,
                    (sso::ISSUER, "https://idp.example.com"),
                    (sso::CLIENT_ID, "portal"),
                    (sso::CLIENT_SECRET, "s"),
                    (sso::CLIENT_SECRET_ID, "id"),
                ],
                sso::CLIENT_SECRET,
            ),
        ] {
            let err = config(&vars)
                .err()
                .expect("configuration should be refused");
            assert!(
                matches!(&err, ConfigError::Invalid { name: n, .. } if *n == name),
                "{name}: {err}"
            );
        }
        let missing = config(&[key, (sso::ISSUER, "https://idp.example.com")]);
        assert!(
            matches!(missing, Err(ConfigError::Missing { name, .. }) if name == sso::CLIENT_ID)
        );
    }

    #[test]
    fn a_secret_id_replaces_the_key_variables() {
        let config = config(&[(SESSION_KEYS_SECRET, "switchboard/session-keys")]).unwrap();
        assert!(
            matches!(config.session_keys, SessionKeySource::Managed { ref secret_id } if secret_id == "switchboard/session-keys")
        );
    }

    #[test]
    fn a_missing_variable_is_named() {
        let err = config(&[]).err().unwrap();
        assert!(err.to_string().contains(SESSION_KEY), "{err}");
        let err = config(&[(SESSION_KEY, testing::SESSION_KEY_B64), (STORE, "dynamodb")])
            .err()
            .unwrap();
        assert!(err.to_string().contains(TABLE), "{err}");
    }

    #[test]
    fn invalid_values_are_named() {
        use base64::Engine;
        let short_key = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        let key = (SESSION_KEY, testing::SESSION_KEY_B64);
        for (vars, name) in [
            (vec![(SESSION_KEY, "not base64!")], SESSION_KEY),
            (vec![(SESSION_KEY, short_key.as_str())], SESSION_KEY),
            (
                vec![key, (SESSION_KEY_PREVIOUS, "short")],
                SESSION_KEY_PREVIOUS,
            ),
            (vec![key, (SESSION_HOURS, "0")], SESSION_HOURS),
            (vec![key, (SENDS_PER_MINUTE, "-1")], SENDS_PER_MINUTE),
            (vec![key, (AUDIT_DAYS, "0")], AUDIT_DAYS),
            (vec![key, (RETENTION_DAYS, "0")], RETENTION_DAYS),
            (vec![key, (DEFAULT_MODELS, "no-such-model")], DEFAULT_MODELS),
            (
                vec![key, (BOOTSTRAP_ADMINS, "alice=plaintext")],
                BOOTSTRAP_ADMINS,
            ),
            (vec![key, (STORE, "postgres")], STORE),
            (vec![key, (SIGNUP, "sometimes")], SIGNUP),
            (
                vec![key, (SIGNUP, "closed"), (SIGNUP_DOMAINS, "example.com")],
                SIGNUP_DOMAINS,
            ),
            (
                vec![key, (SIGNUP, "open"), (SIGNUP_DOMAINS, "not a domain")],
                SIGNUP_DOMAINS,
            ),
            (
                vec![key, (LOGIN_FAILURES_PER_ACCOUNT, "0")],
                LOGIN_FAILURES_PER_ACCOUNT,
            ),
            (
                vec![
                    key,
                    (STORE, "dynamodb"),
                    (TABLE, "t"),
                    (CREATE_TABLE, "yes"),
                ],
                CREATE_TABLE,
            ),
        ] {
            let err = config(&vars)
                .err()
                .expect("configuration should be refused");
            assert!(
                matches!(&err, ConfigError::Invalid { name: n, .. } if *n == name),
                "{name}: {err}"
            );
        }
    }
}
