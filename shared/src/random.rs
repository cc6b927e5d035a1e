//! Random identifiers and tokens from the operating system's source, URL-safe base64.

use base64::Engine;

/// `N` random bytes as unpadded URL-safe base64 (16 bytes: 22 characters; 32: 43).
pub fn token<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A newtype for an unguessable id of 96 random bits (16 URL-safe characters): `generate`,
/// `parse` (`None` for anything that cannot be one: callers answer as for a missing one) and
/// `as_str`.
#[macro_export]
macro_rules! random_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn generate() -> Self {
                Self($crate::random::token::<12>())
            }

            pub fn parse(raw: &str) -> Option<Self> {
                $crate::random::is_token(raw, 16).then(|| Self(raw.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

/// Whether `raw` could be a `token` of `chars` characters (URL-safe base64): how ids from
/// outside are checked before anything is looked up.
pub fn is_token(raw: &str, chars: usize) -> bool {
    raw.len() == chars
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_random_and_url_safe() {
        let (a, b) = (super::token::<16>(), super::token::<16>());
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert_eq!(super::token::<32>().len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}
