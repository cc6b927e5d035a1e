//! Taking browser uploads: the signed form a page carries (a presigned POST to S3, or to the
//! portal's own `POST /attachments` for the directory store, checked the same way). Apart from
//! `Bucket` so that a page that only offers the form (the home page) signs it without linking
//! an S3 client.

use aws_credential_types::provider::ProvideCredentials;
use secrecy::ExposeSecret;

use super::bucket::BucketError;
use super::post_policy::{self, Signer, UploadForm};

pub enum Uploads {
    S3 {
        bucket: String,
        /// Where forms post: the bucket's own URL.
        url: String,
        /// Boxed: the configuration is large, the directory's variant small.
        sdk: Box<aws_types::SdkConfig>,
    },
    Directory {
        /// Signs and checks upload forms (a key derived from the session key).
        signer: Signer,
    },
}

/// The portal's upload route (the directory store's stand-in for S3's form upload).
pub const UPLOAD_PATH: &str = "/attachments";

impl Uploads {
    /// A signed form that uploads one file into `folder`, then returns the browser to a page
    /// under `redirect_prefix`. Its `url` is absolute for S3, a path of the portal otherwise.
    pub async fn form(
        &self,
        folder: &str,
        redirect_prefix: &str,
        now: u64,
    ) -> Result<UploadForm, BucketError> {
        match self {
            Uploads::S3 { bucket, url, sdk } => {
                let backend = |e: &dyn std::fmt::Display| BucketError::Backend(e.to_string());
                let provider = sdk
                    .credentials_provider()
                    .ok_or_else(|| backend(&"no AWS credentials"))?;
                let credentials = provider
                    .provide_credentials()
                    .await
                    .map_err(|e| backend(&e))?;
                let signer = Signer {
                    access_key: credentials.access_key_id().to_string(),
                    secret: credentials.secret_access_key().to_string().into(),
                    session_token: credentials.session_token().map(str::to_string),
                    region: sdk
                        .region()
                        .map_or("us-east-1".to_string(), |r| r.to_string()),
                };
                Ok(post_policy::sign(
                    url.clone(),
                    bucket,
                    folder,
                    redirect_prefix,
                    &signer,
                    now,
                ))
            }
            Uploads::Directory { signer } => Ok(post_policy::sign(
                UPLOAD_PATH.to_string(),
                "directory",
                folder,
                redirect_prefix,
                signer,
                now,
            )),
        }
    }

    /// The directory store's signer, which its upload route checks forms with.
    pub fn directory_signer(&self) -> Option<&Signer> {
        match self {
            Uploads::Directory { signer } => Some(signer),
            Uploads::S3 { .. } => None,
        }
    }
}

/// The directory store's signing key, from the session key (so it needs no secret of its
/// own, and changes when that key is rotated).
pub fn directory_signer(secret: [u8; 32]) -> Signer {
    use base64::Engine;
    Signer {
        access_key: "switchboard".into(),
        secret: base64::engine::general_purpose::STANDARD
            .encode(secret)
            .into(),
        session_token: None,
        region: "local".into(),
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("access_key", &self.access_key)
            .field("secret", &self.secret.expose_secret().len())
            .finish()
    }
}
