//! Password hashing with argon2id (the argon2 crate's defaults: m = 19 MiB, t = 2, p = 1,
//! the OWASP-recommended minimum).
//!
//! Every hash and check of a process works in one block buffer, kept for the process's life.
//! Left to allocate its 19 MiB anew each time, argon2 made a warm function's resident memory
//! grow by about that much per sign-in (the allocator kept the freed blocks), until Lambda
//! killed the function mid-request.

use std::sync::{Mutex, PoisonError};

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// A hash of a password nobody knows, with the same parameters as real ones, so that checking
/// a password for an unknown user costs as much as for a known one.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c3dpdGNoYm9hcmQtZHVtbXk$cBLBQ0+XYCixNqffbnHEl2DafKv+GN6E1BbfpTcxQxQ";

/// The most memory a stored hash may ask for (64 MiB): the process keeps the largest it has
/// needed, so a hash from elsewhere must not be able to ask for gigabytes.
const MAX_MEMORY_KIB: u32 = 64 * 1024;

/// The blocks every hash and check works in.
static BLOCKS: Mutex<Vec<Block>> = Mutex::new(Vec::new());

/// Argon2 of `password` and `salt` into `out`, in the process's block buffer.
fn compute(argon: &Argon2, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    let needed = argon.params().block_count();
    let mut blocks = BLOCKS.lock().unwrap_or_else(PoisonError::into_inner);
    if blocks.len() < needed {
        blocks.resize(needed, Block::new());
    }
    argon.hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
}

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
        let params = Params::try_from(&parsed).map_err(|e| format!("bad parameters: {e}"))?;
        if params.m_cost() > MAX_MEMORY_KIB {
            return Err(format!("hash asks for more than {MAX_MEMORY_KIB} KiB"));
        }
        if parsed.hash.is_none() || parsed.salt.is_none() {
            return Err("hash without a salt or output".to_string());
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
    let mut salt_bytes = [0u8; 16];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .expect("the salt was just encoded");
    let argon = Argon2::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(
        &argon,
        password.expose_secret().as_bytes(),
        salt_bytes,
        &mut out,
    )
    .expect("argon2 accepts any password with default parameters");
    phc(&argon, &salt, &out)
}

/// A digest no password matches, for accounts that sign in through an identity provider:
/// random bytes where the hash would be, so there is no password to find (and no hashing to
/// pay for).
pub fn unusable() -> PasswordDigest {
    let mut salt = [0u8; 16];
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    getrandom::fill(&mut salt).expect("the operating system's random source failed");
    getrandom::fill(&mut out).expect("the operating system's random source failed");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt length");
    phc(&Argon2::default(), &salt, &out)
}

fn phc(argon: &Argon2, salt: &SaltString, out: &[u8]) -> PasswordDigest {
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon
            .params()
            .try_into()
            .expect("the default parameters format"),
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(out).expect("32 bytes is a valid output length")),
    }
    .to_string();
    PasswordDigest(phc)
}

/// Checks `password` against `digest`, or against a dummy hash when there is no digest, so that
/// both paths take the same time.
pub fn verify(password: &SecretString, digest: Option<&PasswordDigest>) -> bool {
    let phc = digest.map_or(DUMMY_HASH, PasswordDigest::as_str);
    matches(password.expose_secret().as_bytes(), phc).unwrap_or(false) && digest.is_some()
}

/// Whether `password` hashes to the PHC string's output with its salt and parameters.
fn matches(password: &[u8], phc: &str) -> Option<bool> {
    let parsed = PasswordHash::new(phc).ok()?;
    let params = Params::try_from(&parsed).ok()?;
    if params.m_cost() > MAX_MEMORY_KIB {
        return None;
    }
    let version = parsed
        .version
        .map_or(Ok(Version::V0x13), Version::try_from)
        .ok()?;
    let expected = parsed.hash?;
    let mut salt = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
    let argon = Argon2::new(Algorithm::Argon2id, version, params);
    let mut out = vec![0u8; expected.len()];
    compute(&argon, password, salt, &mut out).ok()?;
    Some(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
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
    fn hashes_agree_with_the_argon2_crates_own() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::encode_b64(b"a fixed salt 16b").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        let theirs = PasswordDigest::parse(&theirs).unwrap();
        assert!(verify(&secret("correct horse"), Some(&theirs)));
        assert!(!verify(&secret("correct horsf"), Some(&theirs)));

        let ours = hash(&secret("correct horse"));
        let check = |password: &str| {
            Argon2::default()
                .verify_password(
                    password.as_bytes(),
                    &PasswordHash::new(ours.as_str()).unwrap(),
                )
                .is_ok()
        };
        assert!(check("correct horse"));
        assert!(!check("correct horsf"));
    }

    #[test]
    fn hashes_asking_for_too_much_memory_are_refused() {
        let greedy = "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$xuWl9bGExHDoHpdJ5EeANy6HCB0rQwbeqMCHGVpRAbM";
        assert!(PasswordDigest::parse(greedy).is_err());
    }

    #[test]
    fn only_argon2id_hashes_are_accepted() {
        assert!(PasswordDigest::parse("plaintext").is_err());
        let argon2i = "$argon2i$v=19$m=19456,t=2,p=1$c3dpdGNoYm9hcmQtZHVtbXk$cBLBQ0+XYCixNqffbnHEl2DafKv+GN6E1BbfpTcxQxQ";
        assert!(PasswordDigest::parse(argon2i).is_err());
    }
}
