//! Attachments on the conversation page: the upload form the page carries, the uploads a send
//! claims (checked, then moved under the conversation), `GET /chat/{id}/attachments/{ref}`
//! (a file, to its owner only) and `POST /attachments` (the directory store's stand-in for
//! S3's form upload, checked against the same signed policy).

use std::collections::HashMap;

use bytes::Bytes;
use lambda_http::Request;
use lambda_http::http::header::CONTENT_TYPE;
use minijinja::{Value, context};
use shared::ai::Model;
use shared::attachments::post_policy::{self, PolicyError};
use shared::attachments::upload_key::{self, UploadKeyError};
use shared::attachments::{
    Attachment, AttachmentId, AttachmentRef, Bucket, BucketError, FileName, Kind, MAX_PER_MESSAGE,
    MAX_UPLOAD_BYTES, UploadKey, sniff,
};
use shared::conversations::ConversationId;
use shared::store::ConversationStore;
use shared::users::Username;
use shared::{App, AppError, Reply, Visit, session};

use crate::turn::TurnError;

/// The uploads named by the fields `names` of a form (its `attachment` fields) or of a
/// page's address (`attached`, and the `key` S3 adds after an upload without the script).
pub fn named(pairs: &[(String, String)], names: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for (name, value) in pairs {
        if names.contains(&name.as_str()) && !value.is_empty() && !keys.contains(value) {
            keys.push(value.clone());
        }
    }
    keys
}

/// The form's fields as pairs (repeated names kept).
pub fn pairs_of_body(req: &Request) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(req.body().as_ref()).unwrap_or_default()
}

/// The page's query as pairs (repeated names kept).
pub fn pairs_of_query(req: &Request) -> Vec<(String, String)> {
    serde_urlencoded::from_str(req.uri().query().unwrap_or_default()).unwrap_or_default()
}

/// What the page needs to attach files: the signed upload form (whose upload comes back to
/// `page_path` with what is already attached), and those already attached, by name. `None`
/// when attaching is off.
pub async fn page_context(
    visit: &Visit<'_>,
    owner: &Username,
    page_path: &str,
    attached: &[String],
) -> Result<Value, AppError> {
    let Some(bucket) = visit.app().bucket().await? else {
        return Ok(context! {});
    };
    let now = session::now();
    let attached: Vec<UploadKey> = attached
        .iter()
        .filter_map(|k| UploadKey::parse(k, owner, now).ok())
        .take(MAX_PER_MESSAGE)
        .collect();
    let mut back = visit.absolute_url(page_path);
    for (i, key) in attached.iter().enumerate() {
        back.push(if i == 0 { '?' } else { '&' });
        back.push_str(
            &serde_urlencoded::to_string([("attached", key.as_str())]).unwrap_or_default(),
        );
    }
    let folder = upload_key::folder(owner, now);
    let form = bucket
        .upload_form(&folder, &visit.absolute_url("/"), now)
        .await
        .map_err(AppError::internal)?;
    let url = if form.url.starts_with('/') {
        format!("{}{}", visit.base_path(), form.url)
    } else {
        form.url.clone()
    };
    Ok(context! {
        upload => context! {
            url,
            fields => form.fields.iter().map(|(n, v)| context! { name => n, value => v }).collect::<Vec<_>>(),
            back,
            max_bytes => MAX_UPLOAD_BYTES,
            max_files => MAX_PER_MESSAGE,
        },
        attached => attached.iter().map(|k| context! { key => k.as_str(), name => k.name.as_str() }).collect::<Vec<_>>(),
    })
}

/// Takes the uploads `keys` into the conversation for a message to `model`: each must be the
/// sender's, fresh, there, of a type the model reads and within its size; then each is copied
/// under the conversation (the uploads go once the message is stored: `used`). All or
/// nothing: a refusal copies none (and says why, for the message field); a failure part way
/// removes what was copied.
pub async fn claim(
    app: &App,
    owner: &Username,
    conversation: &ConversationId,
    keys: &[String],
    model: &Model,
) -> Result<Vec<Attachment>, TurnError> {
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
    let mut moved: Vec<Attachment> = Vec::new();
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
            .write(&attachment.key, bytes, sniffed.media_type.mime())
            .await;
        if let Err(err) = written {
            forget(bucket, &moved).await;
            return Err(AppError::internal(err).into());
        }
        moved.push(attachment);
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
pub async fn forget(bucket: &Bucket, attachments: &[Attachment]) {
    for a in attachments {
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
    let prefix = shared::attachments::conversation_prefix(owner, id);
    if let Err(err) = bucket.delete_prefix(&prefix).await {
        tracing::error!(%err, prefix, "a deleted conversation's files were left behind");
    }
}

/// `GET /chat/{id}/attachments/{ref}`: the file, to the conversation's owner; anyone else
/// (or a reference that names nothing) is answered 404. From S3 by a short-lived link; from a
/// directory by the function itself. Images show in the page; anything else downloads.
pub async fn serve(
    visit: &mut Visit<'static>,
    id: &ConversationId,
    raw: &str,
) -> Result<Reply, AppError> {
    let owner = visit.require_user()?.username.clone();
    let reference = AttachmentRef::parse(raw).ok_or(AppError::NotFound)?;
    let app = visit.app();
    let bucket = app.bucket().await?.ok_or(AppError::NotFound)?;
    let messages = app
        .store()
        .await?
        .messages_before(&owner, id, reference.seq.saturating_add(1), 1)
        .await?;
    let attachment = messages
        .into_iter()
        .filter(|m| m.seq == reference.seq)
        .flat_map(|m| m.attachments)
        .find(|a| a.id == reference.id)
        .ok_or(AppError::NotFound)?;
    let download = !attachment.is_image();
    let mime = attachment.media_type.mime();
    match bucket
        .link(&attachment.key, attachment.name.as_str(), mime, download)
        .await
        .map_err(AppError::internal)?
    {
        Some(url) => Ok(Reply::Elsewhere(url)),
        None => {
            let body = match bucket.read(&attachment.key, attachment.size.max(1)).await {
                Ok(body) => body,
                Err(BucketError::NotFound) => return Err(AppError::NotFound),
                Err(err) => return Err(AppError::internal(err)),
            };
            Ok(Reply::File {
                content_type: mime,
                disposition: shared::attachments::bucket::content_disposition(
                    attachment.name.as_str(),
                    download,
                ),
                body,
            })
        }
    }
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
    let Some((_, signer)) = bucket.directory_signer() else {
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
    let body: &[u8] = req.body().as_ref();
    let boundary = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or(UploadError::Malformed)?;
    let body = Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(MAX_UPLOAD_BYTES + 64 * 1024)
            .per_field(MAX_UPLOAD_BYTES + 1),
    );
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
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
