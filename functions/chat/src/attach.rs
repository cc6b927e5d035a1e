//! Attachments in the chat function: the uploads a send claims (checked, then copied under
//! the conversation), `GET /chat/{id}/attachments/{ref}`
//! (a file, to its owner only) and `POST /attachments` (the directory store's stand-in for
//! S3's form upload, checked against the same signed policy).

use std::collections::HashMap;

use bytes::Bytes;
use lambda_http::Request;
use shared::ai::Model;
use shared::attachments::post_policy::{self, PolicyError};
use shared::attachments::upload_key::UploadKeyError;
use shared::attachments::{
    Attachment, AttachmentId, Bucket, BucketError, FileName, Kind, MAX_PER_MESSAGE,
    MAX_UPLOAD_BYTES, UploadKey, sniff,
};
use shared::conversations::{Conversation, ConversationId};
use shared::users::Username;
use shared::{App, AppError, Reply, Visit, session};

use crate::turn::TurnError;

/// Takes the uploads `keys` into the conversation for a message to `model`: each must be the
/// sender's, fresh, there, of a type the model reads and within its size; then each is copied
/// under the conversation (the uploads go once the message is stored: `used`). All or
/// nothing: a refusal copies none (and says why, for the message field); a failure part way
/// removes what was copied.
pub async fn claim(
    app: &App,
    owner: &Username,
    conversation: &Conversation,
    keys: &[String],
    model: &Model,
) -> Result<Vec<(Attachment, Bytes)>, TurnError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let refuse = |message: String| Err(TurnError::Message(message));
    let Some(bucket) = app.bucket().await? else {
        return refuse("Attaching files is turned off on this portal.".into());
    };
    if keys.len() > MAX_PER_MESSAGE {
        return refuse(format!("A message takes at most {MAX_PER_MESSAGE} files."));
    }
    let now = session::now();
    let mut checked = Vec::new();
    for raw in keys {
        let key = match UploadKey::parse(raw, owner, now) {
            Ok(key) => key,
            Err(UploadKeyError::Expired) => {
                return refuse(
                    "An attached file's upload has expired (uploads are kept for an hour): \
                     attach it again."
                        .into(),
                );
            }
            Err(UploadKeyError::NotYours) => return refuse(gone()),
        };
        let bytes = match bucket.read(key.as_str(), MAX_UPLOAD_BYTES).await {
            Ok(bytes) => bytes,
            Err(BucketError::NotFound) => return refuse(gone()),
            Err(BucketError::TooLarge(_)) => {
                return refuse(format!(
                    "{} is larger than any attachment may be ({}).",
                    key.name.as_str(),
                    shared::attachments::size_label(MAX_UPLOAD_BYTES)
                ));
            }
            Err(err) => return Err(AppError::internal(err).into()),
        };
        let sniffed = match sniff::check(&key.name, &bytes) {
            Ok(sniffed) => sniffed,
            Err(err) => return refuse(err.to_string()),
        };
        let readable = match sniffed.media_type.kind() {
            Kind::Text => true,
            Kind::Image => model.images,
            Kind::Document => model.documents,
        };
        if !readable {
            return refuse(format!(
                "{} cannot read {}s: {} was not sent. Pick a model that can, or remove it.",
                model.name,
                sniffed.media_type.label(),
                key.name.as_str()
            ));
        }
        checked.push((key, bytes, sniffed));
    }
    let mut moved: Vec<(Attachment, Bytes)> = Vec::new();
    for (key, bytes, sniffed) in checked {
        let id = AttachmentId::generate();
        let attachment = Attachment {
            key: shared::attachments::file_key(owner, conversation, &id),
            id,
            name: key.name.clone(),
            media_type: sniffed.media_type,
            size: bytes.len() as u64,
            width: sniffed.width,
            height: sniffed.height,
            tokens: sniffed.tokens,
        };
        let written = bucket
            .write(&attachment.key, bytes.clone(), sniffed.media_type.mime())
            .await;
        if let Err(err) = written {
            forget(bucket, &moved).await;
            return Err(AppError::internal(err).into());
        }
        moved.push((attachment, bytes));
    }
    Ok(moved)
}

fn gone() -> String {
    "An attached file was not found: it was already sent, or its upload did not finish. \
     Attach it again."
        .to_string()
}

/// Removes the uploads a stored message took in: used once, the same upload cannot be sent
/// again.
pub async fn used(app: &App, uploads: &[String]) {
    let Ok(Some(bucket)) = app.bucket().await else {
        return;
    };
    for key in uploads {
        if let Err(err) = bucket.delete(key).await {
            tracing::warn!(%err, "an upload could not be removed after it was attached");
        }
    }
}

/// Removes the files of attachments whose message was never written.
pub async fn forget(bucket: &Bucket, attachments: &[(Attachment, Bytes)]) {
    for (a, _) in attachments {
        if let Err(err) = bucket.delete(&a.key).await {
            tracing::warn!(%err, key = a.key, "an unsent attachment's file was left behind");
        }
    }
}

/// Removes a deleted conversation's files.
pub async fn delete_files(app: &App, owner: &Username, id: &ConversationId) {
    let Ok(Some(bucket)) = app.bucket().await else {
        return;
    };
    for prefix in shared::attachments::conversation_prefixes(owner, id) {
        if let Err(err) = bucket.delete_prefix(&prefix).await {
            tracing::error!(%err, prefix, "a deleted conversation's files were left behind");
        }
    }
}

/// `GET /chat/{id}/attachments/{ref}`: the file, to the conversation's owner; anyone else
/// (or a reference that names nothing) is answered 404.
pub async fn serve(
    visit: &mut Visit<'static>,
    id: &ConversationId,
    raw: &str,
) -> Result<Reply, AppError> {
    let owner = visit.require_user()?.username.clone();
    let app = visit.app();
    let attachment = shared::attachments::serve::find(app, &owner, id, raw).await?;
    shared::attachments::serve::reply(app, &attachment).await
}

/// Why an upload to the directory store was refused, answered as S3 answers (a status and a
/// short message); the page's script shows it beside the file field.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("{0}")]
    Policy(#[from] PolicyError),
    #[error("The upload is not a form with one file.")]
    Malformed,
    #[error("{0}")]
    Name(&'static str),
}

/// `POST /attachments`: an upload to the directory store, as S3 takes a presigned POST: the
/// signed fields, then the file; checked against the policy, written, and the browser sent
/// back to the page the form names with the upload's `key`. Only the directory store has it.
pub async fn receive(app: &App, req: &Request) -> Result<Reply, AppError> {
    let bucket = app.bucket().await?.ok_or(AppError::NotFound)?;
    let uploads = app.uploads().await?.ok_or(AppError::NotFound)?;
    let Some(signer) = uploads.directory_signer() else {
        return Err(AppError::NotFound);
    };
    match receive_checked(bucket, signer, req).await {
        Ok(back) => Ok(Reply::Elsewhere(back)),
        Err(err) => {
            tracing::info!(%err, "an upload was refused");
            use lambda_http::http::StatusCode;
            Err(match err {
                UploadError::Policy(PolicyError::TooLarge) => AppError::UploadRefused(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The file is larger than an attachment may be (4.5 MB). Nothing was stored.",
                ),
                UploadError::Policy(PolicyError::BadSignature | PolicyError::Expired) => {
                    AppError::UploadRefused(
                        StatusCode::FORBIDDEN,
                        "This upload form has expired or did not come from this portal. Go \
                         back, reload the page and attach the file again; nothing was stored.",
                    )
                }
                UploadError::Policy(PolicyError::Breaks(_)) | UploadError::Malformed => {
                    AppError::UploadRefused(
                        StatusCode::BAD_REQUEST,
                        "The upload did not match its form. Go back, reload the page and \
                         attach the file again; nothing was stored.",
                    )
                }
                UploadError::Name(message) => {
                    AppError::UploadRefused(StatusCode::BAD_REQUEST, message)
                }
            })
        }
    }
}

async fn receive_checked(
    bucket: &Bucket,
    signer: &post_policy::Signer,
    req: &Request,
) -> Result<String, UploadError> {
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(MAX_UPLOAD_BYTES + 64 * 1024)
            .per_field(MAX_UPLOAD_BYTES + 1),
    );
    let mut multipart = shared::form::multipart(req, constraints).ok_or(UploadError::Malformed)?;
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut file: Option<(String, Bytes)> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(too_large_or_malformed)?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_string();
            let bytes = field.bytes().await.map_err(too_large_or_malformed)?;
            file = Some((file_name, bytes));
            // As S3: fields after the file are ignored.
            break;
        }
        if fields.len() < 16 {
            let value = field.text().await.map_err(too_large_or_malformed)?;
            fields.insert(name, value);
        }
    }
    let (file_name, bytes) = file.ok_or(UploadError::Malformed)?;
    let file_name = FileName::parse(&file_name).map_err(UploadError::Name)?;
    let key = fields
        .get("key")
        .ok_or(UploadError::Malformed)?
        .replace("${filename}", file_name.as_str());
    fields.insert("key".into(), key.clone());
    post_policy::verify(&fields, bytes.len() as u64, signer, session::now())?;
    bucket
        .write(&key, bytes, "application/octet-stream")
        .await
        .map_err(|err| {
            tracing::error!(%err, "an upload could not be written");
            UploadError::Malformed
        })?;
    let back = fields
        .get("success_action_redirect")
        .cloned()
        .unwrap_or_default();
    let join = if back.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{back}{join}{}",
        serde_urlencoded::to_string([("key", key.as_str()), ("bucket", "directory")])
            .unwrap_or_default()
    ))
}

fn too_large_or_malformed(err: multer::Error) -> UploadError {
    match err {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            UploadError::Policy(PolicyError::TooLarge)
        }
        _ => UploadError::Malformed,
    }
}
