//! Password hashing with argon2id (the argon2 crate's defaults: m = 19 MiB, t = 2, p = 1,
//! the OWASP-recommended minimum).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2};
use secrecy::{ExposeSecret, SecretString};

/// A hash of a password nobody knows, with the same parameters as real ones, so that checking
/// a password for an unknown user costs as much as for a known one.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c3dpdGNoYm9hcmQtZHVtbXk$cBLBQ0+XYCixNqffbnHEl2DafKv+GN6E1BbfpTcxQxQ";

pub const MIN_CHARS: usize = 10;
pub const MAX_CHARS: usize = 1024;

/// Checks a password someone is choosing: long enough, not absurdly long, and not one of the
/// common or easily guessed ones (zxcvbn's estimate: at least a million guesses).
pub fn check_new(password: &str, username: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_CHARS {
        return Err(format!("Use at least {MIN_CHARS} characters."));
    }
    if length > MAX_CHARS {
        return Err(format!("Use at most {MAX_CHARS} characters."));
    }
    if username.chars().count() >= 3 && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err("Do not use your username in your password.".into());
    }
    let estimate = zxcvbn::zxcvbn(password, &[username, "switchboard"]);
    if estimate.score() < zxcvbn::Score::Two {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        return Err(format!(
            "This password is too common or easy to guess{hint}. Try a few unrelated words."
        ));
    }
    Ok(())
}

/// An argon2id hash in PHC string format, checked when parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordDigest(String);

impl PasswordDigest {
    pub fn parse(phc: &str) -> Result<Self, String> {
        let parsed =
            PasswordHash::new(phc).map_err(|_| "not a PHC-format password hash".to_string())?;
        if parsed.algorithm != Algorithm::Argon2id.ident() {
            return Err(format!("hash uses {}, expected argon2id", parsed.algorithm));
        }
        Ok(Self(phc.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub fn hash(password: &SecretString) -> PasswordDigest {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the operating system's random source failed");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt length");
    let phc = Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .expect("argon2 accepts any password with default parameters")
        .to_string();
    PasswordDigest(phc)
}

/// Checks `password` against `digest`, or against a dummy hash when there is no digest, so that
/// both paths take the same time.
pub fn verify(password: &SecretString, digest: Option<&PasswordDigest>) -> bool {
    let phc = digest.map_or(DUMMY_HASH, PasswordDigest::as_str);
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.expose_secret().as_bytes(), &parsed)
        .is_ok();
    matches && digest.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let digest = hash(&secret("correct horse battery staple"));
        assert!(
            digest
                .as_str()
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
        );
        assert!(verify(
            &secret("correct horse battery staple"),
            Some(&digest)
        ));
        assert!(!verify(
            &secret("correct horse battery stapl"),
            Some(&digest)
        ));
    }

    #[test]
    fn no_digest_never_verifies() {
        assert!(!verify(&secret(""), None));
        assert!(!verify(&secret("anything"), None));
    }

    #[test]
    fn the_dummy_hash_uses_the_default_parameters() {
        let dummy = PasswordDigest::parse(DUMMY_HASH).unwrap();
        let real = hash(&secret("x"));
        let params = |d: &PasswordDigest| d.as_str().split('$').nth(3).unwrap().to_string();
        assert_eq!(params(&dummy), params(&real));
    }

    #[test]
    fn new_passwords_must_be_long_and_uncommon() {
        assert!(
            check_new("short", "ann")
                .unwrap_err()
                .contains("at least 10")
        );
        assert!(
            check_new(&"x".repeat(1025), "ann")
                .unwrap_err()
                .contains("at most")
        );
        for common in ["password123", "qwertyuiop", "1234567890", "iloveyou123"] {
            let err = check_new(common, "ann").unwrap_err();
            assert!(err.contains("too common"), "{common}: {err}");
        }
        assert!(
            check_new("annabelle-secret", "annabelle")
                .unwrap_err()
                .contains("username")
        );
        assert_eq!(check_new("violet kettle marching owl", "ann"), Ok(()));
    }

    #[test]
    fn only_argon2id_hashes_are_accepted() {
        assert!(PasswordDigest::parse("plaintext").is_err());
        let argon2i = "$argon2i$v=19$m=19456,t=2,p=1$c3dpdGNoYm9hcmQtZHVtbXk$cBLBQ0+XYCixNqffbnHEl2DafKv+GN6E1BbfpTcxQxQ";
        assert!(PasswordDigest::parse(argon2i).is_err());
    }
}
