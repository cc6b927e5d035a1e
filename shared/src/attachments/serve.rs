//! Answering for one attachment: found under its message in its owner's partition (so another
//! user's reference finds nothing: a 404), then a short-lived S3 link, or the bytes from the
//! directory with a `Content-Disposition` (inline for images, a download otherwise).

use super::{Attachment, AttachmentRef, BucketError};
use crate::conversations::ConversationId;
use crate::store::ConversationStore;
use crate::users::Username;
use crate::{App, AppError, Reply};

/// The attachment `raw` (`<seq>-<id>`) of `owner`'s conversation `id`; `NotFound` for a
/// malformed reference or one that names nothing of theirs.
pub async fn find(
    app: &App,
    owner: &Username,
    id: &ConversationId,
    raw: &str,
) -> Result<Attachment, AppError> {
    let reference = AttachmentRef::parse(raw).ok_or(AppError::NotFound)?;
    let message = app.store().await?.message(owner, id, reference.seq).await?;
    message
        .into_iter()
        .flat_map(|m| m.attachments)
        .find(|a| a.id == reference.id)
        .ok_or(AppError::NotFound)
}

/// The file itself: a redirect to a presigned link (S3), or its bytes (a directory).
pub async fn reply(app: &App, attachment: &Attachment) -> Result<Reply, AppError> {
    let bucket = app.bucket().await?.ok_or(AppError::NotFound)?;
    let download = !attachment.is_image();
    let mime = attachment.media_type.mime();
    let link = bucket
        .link(&attachment.key, attachment.name.as_str(), mime, download)
        .await
        .map_err(AppError::internal)?;
    if let Some(url) = link {
        return Ok(Reply::Elsewhere(url));
    }
    let body = match bucket.read(&attachment.key, attachment.size.max(1)).await {
        Ok(body) => body,
        Err(BucketError::NotFound) => return Err(AppError::NotFound),
        Err(err) => return Err(AppError::internal(err)),
    };
    Ok(Reply::File {
        content_type: mime,
        disposition: super::bucket::content_disposition(attachment.name.as_str(), download),
        body,
    })
}

/// `<first>` in `.../<first>/attachments/<ref>`, after `prefix` (`/chat/`, `/share/`): for a
/// router that gave no path parameters.
pub fn owner_segment(path: &str, prefix: &str) -> Option<String> {
    let (_, rest) = path.rsplit_once(prefix)?;
    let (first, _) = rest.split_once("/attachments/")?;
    (!first.is_empty() && !first.contains('/')).then(|| first.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_segment_is_read_from_the_path() {
        assert_eq!(
            super::owner_segment("/stage/chat/abc/attachments/1-x", "/chat/").as_deref(),
            Some("abc")
        );
        assert_eq!(super::owner_segment("/chat/abc", "/chat/"), None);
        assert_eq!(super::owner_segment("/chat//attachments/1", "/chat/"), None);
    }
}
