//! Tokens for links that grant something without signing in (invites, shared
//! conversations): 256 random bits in the link, and only their SHA-256 as the store's key, so
//! a copy of the table's keys gives nobody a usable link.

use sha2::{Digest, Sha256};

/// A new token for a link, and the hash to store.
pub fn generate() -> (String, String) {
    let token = crate::random::token::<32>();
    let hash = hash(&token);
    (token, hash)
}

pub fn hash(token: &str) -> String {
    sha256_hex(token.trim().as_bytes())
}

/// SHA-256 in lowercase hex: a fixed-length storage key for any bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let (a, hash_a) = generate();
        let (b, _) = generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash(&a), hash_a);
        assert_eq!(hash_a.len(), 64);
        assert_ne!(hash(&format!("{a}x")), hash_a);
    }
}
