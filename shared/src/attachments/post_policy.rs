//! Browser uploads with a presigned POST: a policy document (what the upload may be) that the
//! portal signs with SigV4, sent as a form's hidden fields; the browser posts the file with
//! them straight to the bucket, so no function carries its bytes. S3 checks the signature and
//! the policy; the directory store's upload route checks the same (`verify`), signed with a
//! key derived from the session key instead of AWS credentials.
//!
//! The SDK has no presigned POST (aws-sdk-rust#863); the signature is the SDK's own SigV4
//! (`aws_sigv4`) over the base64 policy, as S3's documentation describes.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::MAX_UPLOAD_BYTES;
use super::upload_key::UPLOAD_SECONDS;

/// Who signs: AWS credentials for S3, or the directory store's own key.
pub struct Signer {
    pub access_key: String,
    pub secret: SecretString,
    pub session_token: Option<String>,
    pub region: String,
}

/// The hidden fields of an upload form, in order; the file field comes after them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct UploadForm {
    /// Where the form posts.
    pub url: String,
    pub fields: Vec<(String, String)>,
    pub max_bytes: u64,
}

/// What an upload into `folder` may be: any file name in it, up to `MAX_UPLOAD_BYTES`, then
/// back to a page of the portal (`redirect_prefix`), within the hour.
pub fn sign(
    url: String,
    bucket: &str,
    folder: &str,
    redirect_prefix: &str,
    signer: &Signer,
    now: u64,
) -> UploadForm {
    let (date, stamp) = amz_date(now);
    let credential = format!(
        "{}/{date}/{}/s3/aws4_request",
        signer.access_key, signer.region
    );
    let mut conditions = vec![
        json!({ "bucket": bucket }),
        json!(["starts-with", "$key", folder]),
        json!(["starts-with", "$success_action_redirect", redirect_prefix]),
        json!(["content-length-range", 1, MAX_UPLOAD_BYTES]),
        json!({ "x-amz-algorithm": "AWS4-HMAC-SHA256" }),
        json!({ "x-amz-credential": credential }),
        json!({ "x-amz-date": stamp }),
    ];
    if let Some(token) = &signer.session_token {
        conditions.push(json!({ "x-amz-security-token": token }));
    }
    let policy = json!({ "expiration": iso(now + UPLOAD_SECONDS), "conditions": conditions });
    let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
    let signature = signature(signer, now, &policy);
    let mut fields = vec![
        ("key".to_string(), format!("{folder}${{filename}}")),
        (
            "x-amz-algorithm".to_string(),
            "AWS4-HMAC-SHA256".to_string(),
        ),
        ("x-amz-credential".to_string(), credential),
        ("x-amz-date".to_string(), stamp),
    ];
    if let Some(token) = &signer.session_token {
        fields.push(("x-amz-security-token".to_string(), token.clone()));
    }
    fields.push(("policy".to_string(), policy));
    fields.push(("x-amz-signature".to_string(), signature));
    UploadForm {
        url,
        fields,
        max_bytes: MAX_UPLOAD_BYTES,
    }
}

fn signature(signer: &Signer, at: u64, policy: &str) -> String {
    let key = aws_sigv4::sign::v4::generate_signing_key(
        signer.secret.expose_secret(),
        UNIX_EPOCH + Duration::from_secs(at),
        &signer.region,
        "s3",
    );
    aws_sigv4::sign::v4::calculate_signature(key, policy.as_bytes())
}

/// `20261130` and `20261130T133000Z`.
fn amz_date(at: u64) -> (String, String) {
    let (y, m, d) = crate::calendar::civil_date(at);
    let secs = at % 86_400;
    let date = format!("{y:04}{m:02}{d:02}");
    let stamp = format!(
        "{date}T{:02}{:02}{:02}Z",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    );
    (date, stamp)
}

fn iso(at: u64) -> String {
    let (y, m, d) = crate::calendar::civil_date(at);
    let secs = at % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("the upload form is not signed by this portal")]
    BadSignature,
    #[error("the upload form has expired")]
    Expired,
    #[error("the upload breaks its form's policy: {0}")]
    Breaks(&'static str),
    #[error("the file is larger than an upload may be")]
    TooLarge,
}

/// Checks a posted upload against its signed policy, as S3 does: the signature, the expiry,
/// and each condition against the posted `fields` (`key` with the file's name already put in
/// place of `${filename}`) and the file's `size`.
pub fn verify(
    fields: &HashMap<String, String>,
    size: u64,
    signer: &Signer,
    now: u64,
) -> Result<(), PolicyError> {
    let get = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let policy = get("policy");
    let stamp = get("x-amz-date");
    let at = parse_stamp(stamp).ok_or(PolicyError::BadSignature)?;
    let expected = signature(signer, at, policy);
    let given = get("x-amz-signature");
    let same: bool = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), given.as_bytes()).into();
    if !same {
        return Err(PolicyError::BadSignature);
    }
    let document = base64::engine::general_purpose::STANDARD
        .decode(policy)
        .ok()
        .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok())
        .ok_or(PolicyError::BadSignature)?;
    let expiration = document["expiration"].as_str().unwrap_or_default();
    if iso(now).as_str() >= expiration {
        return Err(PolicyError::Expired);
    }
    for condition in document["conditions"].as_array().into_iter().flatten() {
        match condition {
            Value::Object(map) => {
                for (name, value) in map {
                    // The bucket is the directory itself; there is only one.
                    if name != "bucket" && Some(get(name)) != value.as_str() {
                        return Err(PolicyError::Breaks("a field differs from its form's"));
                    }
                }
            }
            Value::Array(items) => match items.as_slice() {
                [op, field, prefix] if op == "starts-with" => {
                    let field = field.as_str().unwrap_or_default().trim_start_matches('$');
                    if !get(field).starts_with(prefix.as_str().unwrap_or("\u{0}")) {
                        return Err(PolicyError::Breaks("a field is outside its form's range"));
                    }
                }
                [op, low, high] if op == "content-length-range" => {
                    if size < low.as_u64().unwrap_or(0) {
                        return Err(PolicyError::Breaks("the file is empty"));
                    }
                    if size > high.as_u64().unwrap_or(0) {
                        return Err(PolicyError::TooLarge);
                    }
                }
                _ => return Err(PolicyError::Breaks("an unknown condition")),
            },
            _ => return Err(PolicyError::Breaks("an unknown condition")),
        }
    }
    Ok(())
}

fn parse_stamp(stamp: &str) -> Option<u64> {
    let b = stamp.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| stamp.get(r)?.parse::<u64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    // Days from the civil date (the inverse of `civil_date`).
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + hh * 3_600 + mm * 60 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer {
            access_key: "local".into(),
            secret: SecretString::from("secret"),
            session_token: None,
            region: "local".into(),
        }
    }

    fn posted(form: &UploadForm, name: &str) -> HashMap<String, String> {
        let mut fields: HashMap<String, String> = form.fields.iter().cloned().collect();
        let key = fields["key"].replace("${filename}", name);
        fields.insert("key".into(), key);
        fields.insert(
            "success_action_redirect".into(),
            "http://portal/chat/x".into(),
        );
        fields
    }

    const NOW: u64 = 1_796_046_600; // 2026-11-30T13:50:00Z

    #[test]
    fn dates_are_written_and_read_back() {
        assert_eq!(amz_date(NOW).1, "20261130T135000Z");
        assert_eq!(iso(NOW), "2026-11-30T13:50:00Z");
        assert_eq!(parse_stamp("20261130T135000Z"), Some(NOW));
        assert_eq!(parse_stamp("2026-11-30"), None);
    }

    #[test]
    fn a_signed_upload_passes_and_every_change_is_caught() {
        let form = sign(
            "/attachments".into(),
            "b",
            "uploads/ann/1-x/",
            "http://portal/",
            &signer(),
            NOW,
        );
        let fields = posted(&form, "a.png");
        assert_eq!(verify(&fields, 10, &signer(), NOW + 60), Ok(()));
        assert_eq!(
            verify(&fields, 10, &signer(), NOW + UPLOAD_SECONDS + 1),
            Err(PolicyError::Expired)
        );
        assert_eq!(
            verify(&fields, MAX_UPLOAD_BYTES + 1, &signer(), NOW),
            Err(PolicyError::TooLarge)
        );
        assert!(matches!(
            verify(&fields, 0, &signer(), NOW),
            Err(PolicyError::Breaks(_))
        ));
        let mut elsewhere = fields.clone();
        elsewhere.insert("key".into(), "uploads/bob/1-x/a.png".into());
        assert!(matches!(
            verify(&elsewhere, 10, &signer(), NOW),
            Err(PolicyError::Breaks(_))
        ));
        let mut away = fields.clone();
        away.insert("success_action_redirect".into(), "http://evil/".into());
        assert!(matches!(
            verify(&away, 10, &signer(), NOW),
            Err(PolicyError::Breaks(_))
        ));
        let other = Signer {
            secret: SecretString::from("other"),
            ..signer()
        };
        assert_eq!(
            verify(&fields, 10, &other, NOW),
            Err(PolicyError::BadSignature)
        );
        let mut forged = fields.clone();
        forged.insert(
            "policy".into(),
            base64::engine::general_purpose::STANDARD.encode("{}"),
        );
        assert_eq!(
            verify(&forged, 10, &signer(), NOW),
            Err(PolicyError::BadSignature)
        );
    }
}
