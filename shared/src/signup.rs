//! Who may create an account: nobody but admins, holders of an invite, or anyone (optionally
//! only with an email address at one of a list of domains).

use crate::config::{SIGNUP, SIGNUP_DOMAINS};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignupPolicy {
    /// Only administrators create accounts.
    Closed,
    /// Anyone with a valid, unused invite link.
    Invite,
    /// Anyone; when `domains` is not empty, only with an email address at one of them.
    Open { domains: Vec<String> },
}

impl SignupPolicy {
    pub fn parse(
        policy: Option<&str>,
        domains: Option<&str>,
    ) -> Result<Self, (&'static str, String)> {
        let domains: Vec<String> = domains
            .unwrap_or("")
            .split([',', ' '])
            .map(|d| d.trim().trim_start_matches('@').to_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        for domain in &domains {
            let valid = domain.contains('.')
                && domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            if !valid {
                return Err((SIGNUP_DOMAINS, format!("`{domain}` is not a domain name")));
            }
        }
        let policy = match policy.map(str::trim) {
            None | Some("closed") => Self::Closed,
            Some("invite") => Self::Invite,
            Some("open") => return Ok(Self::Open { domains }),
            Some(_) => return Err((SIGNUP, "expected closed, invite or open".into())),
        };
        if !domains.is_empty() {
            return Err((
                SIGNUP_DOMAINS,
                "applies only when SWITCHBOARD_SIGNUP is open".into(),
            ));
        }
        Ok(policy)
    }

    /// Whether an email address with this domain may sign up.
    pub fn allows_domain(&self, domain: &str) -> bool {
        match self {
            Self::Open { domains } => {
                domains.is_empty() || domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
            }
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_sign_up_can_be_limited_to_domains() {
        let open = SignupPolicy::parse(Some("open"), Some("@Example.com, corp.org")).unwrap();
        assert!(open.allows_domain("example.com"));
        assert!(open.allows_domain("CORP.org"));
        assert!(!open.allows_domain("evil.com"));
        let anyone = SignupPolicy::parse(Some("open"), None).unwrap();
        assert!(anyone.allows_domain("evil.com"));
        assert_eq!(
            SignupPolicy::parse(None, None).unwrap(),
            SignupPolicy::Closed
        );
        assert_eq!(
            SignupPolicy::parse(Some("invite"), None).unwrap(),
            SignupPolicy::Invite
        );
    }
}
