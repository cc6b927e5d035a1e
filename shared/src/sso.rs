//! Single sign-on's settings: which OpenID Connect provider, as which client, and which of its
//! claims say who someone is. The protocol itself lives in the login function.

use secrecy::SecretString;

use crate::config::{ConfigError, Vars};

pub const ISSUER: &str = "SWITCHBOARD_OIDC_ISSUER";
pub const CLIENT_ID: &str = "SWITCHBOARD_OIDC_CLIENT_ID";
pub const CLIENT_SECRET: &str = "SWITCHBOARD_OIDC_CLIENT_SECRET";
pub const CLIENT_SECRET_ID: &str = "SWITCHBOARD_OIDC_CLIENT_SECRET_ID";
pub const CLIENT_SECRET_FIELD: &str = "SWITCHBOARD_OIDC_CLIENT_SECRET_FIELD";
pub const SCOPES: &str = "SWITCHBOARD_OIDC_SCOPES";
pub const USERNAME_CLAIM: &str = "SWITCHBOARD_OIDC_USERNAME_CLAIM";
pub const EMAIL_CLAIM: &str = "SWITCHBOARD_OIDC_EMAIL_CLAIM";
pub const GROUPS_CLAIM: &str = "SWITCHBOARD_OIDC_GROUPS_CLAIM";
pub const DISPLAY_NAME: &str = "SWITCHBOARD_OIDC_NAME";
pub const LINK_ACCOUNTS: &str = "SWITCHBOARD_OIDC_LINK_ACCOUNTS";
pub const END_SESSION: &str = "SWITCHBOARD_OIDC_END_SESSION";

/// Where the client secret comes from.
pub enum ClientSecret {
    /// From the environment (local runs).
    Fixed(SecretString),
    /// A Secrets Manager secret, fetched on first need and cached like the others: its
    /// string value, or that value's JSON `field` (the deployed stack keeps it in the
    /// provider-key secret, field `oidc`).
    Managed {
        secret_id: String,
        field: Option<String>,
    },
    /// A public client (PKCE alone), for providers that issue no secret.
    None,
}

pub struct SsoConfig {
    /// The issuer's URL exactly as the provider's discovery document and tokens give it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// Asked for besides `openid`.
    pub scopes: Vec<String>,
    pub username_claim: String,
    pub email_claim: String,
    pub groups_claim: Option<String>,
    /// For the "Sign in with …" button.
    pub display_name: String,
    /// Whether an existing password account may be linked to a provider's subject on its
    /// first single sign-on, when the provider says the account's email address is verified.
    pub link_accounts: bool,
    /// Whether signing out also ends the provider's session (when it has an end-session
    /// endpoint).
    pub end_session: bool,
}

impl SsoConfig {
    /// The issuer's origin (scheme, host and port), where its sign-out page is.
    pub fn origin(&self) -> &str {
        let after_scheme = self.issuer.find("://").map_or(0, |at| at + 3);
        match self.issuer[after_scheme..].find('/') {
            Some(at) => &self.issuer[..after_scheme + at],
            None => &self.issuer,
        }
    }

    /// `None` unless an issuer is set.
    pub(crate) fn from_vars<F: Fn(&str) -> Option<String>>(
        vars: &Vars<F>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(issuer) = vars.get(ISSUER) else {
            for name in [
                CLIENT_ID,
                CLIENT_SECRET,
                CLIENT_SECRET_ID,
                CLIENT_SECRET_FIELD,
            ] {
                if vars.get(name).is_some() {
                    return Err(ConfigError::invalid(
                        name,
                        format!("applies only with {ISSUER} set"),
                    ));
                }
            }
            return Ok(None);
        };
        let issuer = issuer.trim().to_string();
        let local = ["http://127.0.0.1", "http://localhost"]
            .iter()
            .any(|prefix| issuer.starts_with(prefix));
        if !(issuer.starts_with("https://") || local) || issuer.len() > 512 {
            return Err(ConfigError::invalid(
                ISSUER,
                "expected an https:// URL (http:// only for 127.0.0.1 or localhost)",
            ));
        }
        let client_id = vars.get(CLIENT_ID).ok_or(ConfigError::Missing {
            name: CLIENT_ID,
            hint: "the client (application) id the provider gave the portal",
        })?;
        let client_secret = match (vars.get(CLIENT_SECRET_ID), vars.get(CLIENT_SECRET)) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::invalid(
                    CLIENT_SECRET,
                    format!("set either it or {CLIENT_SECRET_ID}, not both"),
                ));
            }
            (Some(id), None) => ClientSecret::Managed {
                secret_id: id.trim().to_string(),
                field: vars.get(CLIENT_SECRET_FIELD).map(|f| f.trim().to_string()),
            },
            (None, Some(secret)) => ClientSecret::Fixed(SecretString::from(secret.trim())),
            (None, None) => ClientSecret::None,
        };
        let scopes: Vec<String> = vars
            .get(SCOPES)
            .unwrap_or_else(|| "email profile".into())
            .split([' ', ','])
            .filter(|s| !s.is_empty() && *s != "openid")
            .map(str::to_string)
            .collect();
        let claim =
            |name: &'static str, default: Option<&str>| -> Result<Option<String>, ConfigError> {
                let value = vars.get(name).or(default.map(str::to_string));
                match value.map(|v| v.trim().to_string()) {
                    Some(v) if v.len() > 64 || !v.chars().all(|c| c.is_ascii_graphic()) => {
                        Err(ConfigError::invalid(name, "expected a claim name"))
                    }
                    other => Ok(other),
                }
            };
        let display_name = vars
            .get(DISPLAY_NAME)
            .unwrap_or_else(|| "single sign-on".into())
            .trim()
            .to_string();
        if display_name.chars().count() > 40 {
            return Err(ConfigError::invalid(DISPLAY_NAME, "at most 40 characters"));
        }
        Ok(Some(Self {
            issuer,
            client_id: client_id.trim().to_string(),
            client_secret,
            scopes,
            username_claim: claim(USERNAME_CLAIM, Some("preferred_username"))?.unwrap_or_default(),
            email_claim: claim(EMAIL_CLAIM, Some("email"))?.unwrap_or_default(),
            groups_claim: claim(GROUPS_CLAIM, None)?,
            display_name,
            link_accounts: vars.flag(LINK_ACCOUNTS)?,
            end_session: vars.flag(END_SESSION)?,
        }))
    }
}
