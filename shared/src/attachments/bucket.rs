//! Where attachments' bytes are kept: a private S3 bucket in AWS, a directory beside the
//! SQLite file locally. Browsers upload to either with a signed form (`uploads`); S3 serves
//! files through short-lived presigned links, the directory through the portal's own route.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

/// How long a presigned link to a file works.
pub const LINK_SECONDS: u64 = 300;

pub enum Bucket {
    S3 {
        client: aws_sdk_s3::Client,
        name: String,
    },
    Directory {
        root: PathBuf,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    #[error("no such file")]
    NotFound,
    #[error("the file is larger than {0} bytes")]
    TooLarge(u64),
    #[error("file storage failed: {0}")]
    Backend(String),
}

fn backend(err: impl std::fmt::Display) -> BucketError {
    BucketError::Backend(err.to_string())
}

impl Bucket {
    /// The S3 bucket `name`, through the SDK configuration `sdk`. With an endpoint override
    /// (`AWS_ENDPOINT_URL_S3`, a local S3 server) keys go in the path, as such servers expect.
    pub fn s3(sdk: &aws_types::SdkConfig, name: &str, endpoint: Option<&str>) -> Self {
        let mut config = aws_sdk_s3::config::Builder::from(sdk);
        if endpoint.is_some() {
            config = config.force_path_style(true);
        }
        Bucket::S3 {
            client: aws_sdk_s3::Client::from_conf(config.build()),
            name: name.to_string(),
        }
    }

    /// The whole file at `key`, if it is at most `max` bytes.
    pub async fn read(&self, key: &str, max: u64) -> Result<Bytes, BucketError> {
        match self {
            Bucket::S3 { client, name, .. } => {
                let got = client.get_object().bucket(name).key(key).send().await;
                let object = match got {
                    Ok(object) => object,
                    Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                        return Err(BucketError::NotFound);
                    }
                    Err(err) => return Err(backend(aws_sdk_s3::error::DisplayErrorContext(err))),
                };
                let size = object.content_length().unwrap_or(0).max(0) as u64;
                if size > max {
                    return Err(BucketError::TooLarge(max));
                }
                let bytes = object.body.collect().await.map_err(backend)?.into_bytes();
                if bytes.len() as u64 > max {
                    return Err(BucketError::TooLarge(max));
                }
                Ok(bytes)
            }
            Bucket::Directory { root, .. } => {
                let path = path_of(root, key)?;
                let size = match tokio::fs::metadata(&path).await {
                    Ok(meta) => meta.len(),
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                        return Err(BucketError::NotFound);
                    }
                    Err(err) => return Err(backend(err)),
                };
                if size > max {
                    return Err(BucketError::TooLarge(max));
                }
                tokio::fs::read(&path)
                    .await
                    .map(Bytes::from)
                    .map_err(backend)
            }
        }
    }

    pub async fn write(&self, key: &str, bytes: Bytes, mime: &str) -> Result<(), BucketError> {
        match self {
            Bucket::S3 { client, name, .. } => client
                .put_object()
                .bucket(name)
                .key(key)
                .content_type(mime)
                .body(ByteStream::from(bytes))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e))),
            Bucket::Directory { root, .. } => {
                let path = path_of(root, key)?;
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent).await.map_err(backend)?;
                }
                // Written aside and renamed, so a reader never sees half a file.
                let partial =
                    path.with_extension(format!("partial-{}", crate::random::token::<6>()));
                tokio::fs::write(&partial, &bytes).await.map_err(backend)?;
                tokio::fs::rename(&partial, &path).await.map_err(backend)
            }
        }
    }

    /// Removes the file at `key`; a missing one is no error.
    pub async fn delete(&self, key: &str) -> Result<(), BucketError> {
        match self {
            Bucket::S3 { client, name, .. } => client
                .delete_object()
                .bucket(name)
                .key(key)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e))),
            Bucket::Directory { root, .. } => {
                match tokio::fs::remove_file(path_of(root, key)?).await {
                    Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(backend(err)),
                    _ => Ok(()),
                }
            }
        }
    }

    /// Removes every file whose key starts with `prefix` (a folder: it ends with `/`).
    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), BucketError> {
        debug_assert!(prefix.ends_with('/'));
        match self {
            Bucket::S3 { client, name, .. } => {
                let mut pages = client
                    .list_objects_v2()
                    .bucket(name)
                    .prefix(prefix)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page =
                        page.map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
                    let ids = page
                        .contents()
                        .iter()
                        .filter_map(|o| o.key())
                        .map(|k| {
                            aws_sdk_s3::types::ObjectIdentifier::builder()
                                .key(k)
                                .build()
                                .map_err(backend)
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    if ids.is_empty() {
                        continue;
                    }
                    let delete = aws_sdk_s3::types::Delete::builder()
                        .set_objects(Some(ids))
                        .quiet(true)
                        .build()
                        .map_err(backend)?;
                    client
                        .delete_objects()
                        .bucket(name)
                        .delete(delete)
                        .send()
                        .await
                        .map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
                }
                Ok(())
            }
            Bucket::Directory { root, .. } => {
                let path = path_of(root, prefix.trim_end_matches('/'))?;
                match tokio::fs::remove_dir_all(path).await {
                    Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(backend(err)),
                    _ => Ok(()),
                }
            }
        }
    }

    /// A short-lived link to the file for a browser (S3), or `None` when the portal serves
    /// it itself (a directory). `download` asks the browser to save it rather than show it.
    pub async fn link(
        &self,
        key: &str,
        file_name: &str,
        mime: &str,
        download: bool,
    ) -> Result<Option<String>, BucketError> {
        let Bucket::S3 { client, name, .. } = self else {
            return Ok(None);
        };
        let config =
            PresigningConfig::expires_in(Duration::from_secs(LINK_SECONDS)).map_err(backend)?;
        let request = client
            .get_object()
            .bucket(name)
            .key(key)
            .response_content_type(mime)
            .response_content_disposition(content_disposition(file_name, download))
            .presigned(config)
            .await
            .map_err(backend)?;
        Ok(Some(request.uri().to_string()))
    }
}

/// The S3 endpoint override, as the SDK reads it.
pub fn endpoint(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    env("AWS_ENDPOINT_URL_S3")
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .filter(|v| !v.trim().is_empty())
}

/// Where a browser posts uploads to bucket `name` and fetches its presigned links.
pub fn bucket_url(name: &str, endpoint: Option<&str>, region: &str) -> String {
    match endpoint {
        Some(endpoint) => format!("{}/{name}", endpoint.trim_end_matches('/')),
        None => format!("https://{name}.s3.{region}.amazonaws.com"),
    }
}

/// `bucket_url` from the environment.
pub fn url_of(name: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into());
    bucket_url(name, endpoint(env).as_deref(), &region)
}

/// The origin of a URL (for the pages' Content-Security-Policy).
pub fn origin_of(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| i + after_scheme);
    url[..end].to_string()
}

/// `inline` or `attachment`, with the name in both the plain and the RFC 5987 form.
pub fn content_disposition(file_name: &str, download: bool) -> String {
    let plain: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let how = if download { "attachment" } else { "inline" };
    format!("{how}; filename=\"{plain}\"; filename*=UTF-8''{encoded}")
}

/// The file a key names under `root`; a key that would leave it is refused.
fn path_of(root: &Path, key: &str) -> Result<PathBuf, BucketError> {
    let relative = Path::new(key);
    let plain = !key.is_empty()
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        return Err(BucketError::NotFound);
    }
    Ok(root.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> (Bucket, PathBuf) {
        let root = std::env::temp_dir().join(format!(
            "switchboard-bucket-{}",
            crate::random::token::<8>()
        ));
        let bucket = Bucket::Directory { root: root.clone() };
        (bucket, root)
    }

    #[tokio::test]
    async fn a_directory_keeps_reads_and_deletes_files() {
        let (bucket, root) = directory();
        crate::attachments::bucket::contract::files_round_trip(&bucket).await;
        std::fs::remove_dir_all(root).ok();
    }

    #[tokio::test]
    async fn a_key_cannot_leave_the_directory() {
        let (bucket, _root) = directory();
        for key in ["../x", "/etc/passwd", "a/../../x", ""] {
            assert!(matches!(
                bucket.read(key, 10).await,
                Err(BucketError::NotFound)
            ));
        }
    }

    #[test]
    fn dispositions_quote_and_encode_the_name() {
        assert_eq!(
            content_disposition("a \"b\".png", false),
            "inline; filename=\"a _b_.png\"; filename*=UTF-8''a%20%22b%22.png"
        );
        assert!(content_disposition("é.pdf", true).starts_with("attachment; filename=\"_.pdf\""));
    }
}

/// What both kinds of bucket must do (run on a directory here, on S3 in the end-to-end tests).
#[cfg(any(test, feature = "test-support"))]
pub mod contract {
    use super::*;

    pub async fn files_round_trip(bucket: &Bucket) {
        let folder = format!("files/contract-{}/", crate::random::token::<6>());
        let key = format!("{folder}c/a");
        bucket
            .write(&key, Bytes::from_static(b"hello"), "text/plain")
            .await
            .unwrap();
        bucket
            .write(
                &format!("{folder}d/b"),
                Bytes::from_static(b"x"),
                "text/plain",
            )
            .await
            .unwrap();
        assert_eq!(
            bucket.read(&key, 5).await.unwrap(),
            Bytes::from_static(b"hello")
        );
        assert!(matches!(
            bucket.read(&key, 4).await,
            Err(BucketError::TooLarge(4))
        ));
        assert!(matches!(
            bucket.read(&format!("{folder}missing"), 5).await,
            Err(BucketError::NotFound)
        ));
        bucket.delete(&key).await.unwrap();
        bucket.delete(&key).await.unwrap();
        assert!(matches!(
            bucket.read(&key, 5).await,
            Err(BucketError::NotFound)
        ));
        bucket.delete_prefix(&folder).await.unwrap();
        assert!(matches!(
            bucket.read(&format!("{folder}d/b"), 5).await,
            Err(BucketError::NotFound)
        ));
        // Nothing there is no error either.
        bucket.delete_prefix(&folder).await.unwrap();
    }
}
