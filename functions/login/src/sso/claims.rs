//! What a verified ID token says about someone, read through the configured claim names.

use std::collections::HashMap;

use openidconnect::core::{
    CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{AdditionalClaims, IdToken, IdTokenClaims};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::accounts::{Email, Identity, ProviderGroups};
use shared::sso::SsoConfig;
use shared::users::Username;

use super::SignOnError;

/// The claims beyond the standard ones (a groups claim, a custom username claim).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    claims: HashMap<String, Value>,
}

impl AdditionalClaims for OtherClaims {}

pub type Token = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
pub type Claims = IdTokenClaims<OtherClaims, CoreGenderClaim>;

/// Who signed on, as the portal keeps it.
#[derive(Debug)]
pub struct SignOn {
    pub identity: Identity,
    pub username: Username,
    pub email: Option<Email>,
    pub email_verified: bool,
    /// `None` when no groups claim is configured (the stored groups are then left alone).
    pub groups: Option<ProviderGroups>,
}

impl SignOn {
    pub fn read(claims: &Claims, config: &SsoConfig) -> Result<Self, SignOnError> {
        let identity = Identity::new(claims.issuer().as_str(), claims.subject().as_str())
            .map_err(|why| SignOnError::BadClaim("sub", why.to_string()))?;
        let name = text(claims, &config.username_claim)
            .ok_or_else(|| SignOnError::MissingClaim(config.username_claim.clone()))?;
        let username = username_from(&name)
            .map_err(|why| SignOnError::BadClaim("username", format!("`{name}`: {why}")))?;
        let email = text(claims, &config.email_claim)
            .map(|value| Email::parse(&value))
            .transpose()
            .map_err(|why| SignOnError::BadClaim("email", why.to_string()))?;
        let groups = config.groups_claim.as_ref().map(|name| {
            let values = match claims.additional_claims().claims.get(name) {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                Some(Value::String(one)) => vec![one.clone()],
                _ => Vec::new(),
            };
            let (groups, dropped) = ProviderGroups::bounded(values);
            if dropped > 0 {
                tracing::warn!(dropped, "left out groups over the limits");
            }
            groups
        });
        Ok(Self {
            identity,
            username,
            email,
            email_verified: claims.email_verified().unwrap_or(false),
            groups,
        })
    }
}

/// A claim's value as text: the standard ones through their accessors (the protocol crate
/// keeps them apart from the others), any other by name.
fn text(claims: &Claims, name: &str) -> Option<String> {
    let value = match name {
        "sub" => Some(claims.subject().to_string()),
        "preferred_username" => claims.preferred_username().map(|u| u.to_string()),
        "email" => claims.email().map(|e| e.to_string()),
        "name" => claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
        "nickname" => claims
            .nickname()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
        other => claims
            .additional_claims()
            .claims
            .get(other)
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    value.filter(|v| !v.trim().is_empty())
}

/// The portal's username for a provider's: lowercased, and the part before the `@` of one
/// that is an address (Entra ID's and Okta's usernames are).
pub fn username_from(value: &str) -> Result<Username, &'static str> {
    let value = value.trim();
    let local = value.split_once('@').map_or(value, |(local, _)| local);
    Username::parse(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_usernames_become_portal_usernames() {
        assert_eq!(username_from("Ann.Lee").unwrap().as_str(), "ann.lee");
        assert_eq!(username_from("ann@corp.example").unwrap().as_str(), "ann");
        assert!(username_from("Ann Lee").is_err());
        assert!(username_from("@corp.example").is_err());
    }
}
