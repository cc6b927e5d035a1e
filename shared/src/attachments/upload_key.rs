//! Where the browser uploads a file: `uploads/<owner>/<issued at>-<nonce>/<file name>`. The
//! page signs a form (`post_policy`) for one such folder; the send that names the upload then
//! checks it is the sender's, recent, and there.

use crate::users::Username;

use super::FileName;

/// How long a page's upload form may be used, and its uploads then sent.
pub const UPLOAD_SECONDS: u64 = 60 * 60;

/// An upload a send names, checked to be the sender's and young enough.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadKey {
    key: String,
    pub issued_at: u64,
    pub name: FileName,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UploadKeyError {
    /// Not an upload of this user (or not an upload at all): treated like a missing one.
    #[error("that upload was not found")]
    NotYours,
    #[error("that upload's form has expired")]
    Expired,
}

/// The folder a page's form uploads into, and the key field's value for it (S3 puts the
/// file's own name in place of `${filename}`).
pub fn folder(owner: &Username, now: u64) -> String {
    format!(
        "uploads/{}/{now}-{}/",
        owner.as_str(),
        crate::random::token::<12>()
    )
}

impl UploadKey {
    pub fn parse(raw: &str, owner: &Username, now: u64) -> Result<Self, UploadKeyError> {
        let rest = raw
            .strip_prefix("uploads/")
            .and_then(|r| r.strip_prefix(owner.as_str()))
            .and_then(|r| r.strip_prefix('/'))
            .ok_or(UploadKeyError::NotYours)?;
        let (folder, name) = rest.split_once('/').ok_or(UploadKeyError::NotYours)?;
        let (issued, nonce) = folder.split_once('-').ok_or(UploadKeyError::NotYours)?;
        let issued_at: u64 = issued.parse().map_err(|_| UploadKeyError::NotYours)?;
        if nonce.len() != 16 || name.contains('/') {
            return Err(UploadKeyError::NotYours);
        }
        let name = FileName::parse(name).map_err(|_| UploadKeyError::NotYours)?;
        if name.as_str() != name_as_given(raw) {
            return Err(UploadKeyError::NotYours);
        }
        if now > issued_at.saturating_add(UPLOAD_SECONDS) || issued_at > now + 300 {
            return Err(UploadKeyError::Expired);
        }
        Ok(Self {
            key: raw.to_string(),
            issued_at,
            name,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }
}

fn name_as_given(raw: &str) -> &str {
    raw.rsplit('/').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> Username {
        Username::parse(name).unwrap()
    }

    #[test]
    fn a_fresh_upload_of_ones_own_parses() {
        let folder = folder(&user("ann"), 1_000);
        let key = UploadKey::parse(&format!("{folder}shot.png"), &user("ann"), 1_010).unwrap();
        assert_eq!(key.name.as_str(), "shot.png");
        assert_eq!(key.issued_at, 1_000);
    }

    #[test]
    fn anothers_or_a_malformed_or_an_old_upload_is_refused() {
        let folder = folder(&user("ann"), 1_000);
        let key = format!("{folder}shot.png");
        assert_eq!(
            UploadKey::parse(&key, &user("bob"), 1_010),
            Err(UploadKeyError::NotYours)
        );
        // "ann" is a prefix of "anna": the separator counts.
        assert_eq!(
            UploadKey::parse(&key.replace("/ann/", "/anna/"), &user("ann"), 1_010),
            Err(UploadKeyError::NotYours)
        );
        for bad in [
            "files/ann/x".to_string(),
            folder.to_string(),
            format!("{folder}a/b.png"),
            format!("{folder}.."),
            "uploads/ann/nonsense/a.png".to_string(),
        ] {
            assert_eq!(
                UploadKey::parse(&bad, &user("ann"), 1_010),
                Err(UploadKeyError::NotYours),
                "{bad}"
            );
        }
        assert_eq!(
            UploadKey::parse(&key, &user("ann"), 1_000 + UPLOAD_SECONDS + 1),
            Err(UploadKeyError::Expired)
        );
    }
}
