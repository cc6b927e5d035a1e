//! What a page with a message form needs to attach files: the signed upload form (whose upload
//! comes back to the page with what is already attached), and the files waiting to be sent.

use lambda_http::Request;
use minijinja::{Value, context};

use super::{Bucket, MAX_PER_MESSAGE, MAX_UPLOAD_BYTES, UploadKey, sniff, upload_key};
use crate::users::Username;
use crate::{AppError, Visit, session};

/// The uploads named by the fields `names` of a form (its `attachment` fields) or of a page's
/// address (`attached`, and the `key` S3 adds after an upload without the script).
pub fn named(pairs: &[(String, String)], names: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for (name, value) in pairs {
        if names.contains(&name.as_str()) && !value.is_empty() && !keys.contains(value) {
            keys.push(value.clone());
        }
    }
    keys
}

/// The uploads a posted form attaches (its repeated `attachment` fields).
pub fn posted(req: &Request) -> Vec<String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(req.body().as_ref()).unwrap_or_default();
    named(&pairs, &["attachment"])
}

/// The uploads a page's address names: after an upload without the script.
pub fn in_address(req: &Request) -> Vec<String> {
    use lambda_http::RequestExt;
    // As API Gateway hands them over: already parsed, repeated names kept.
    let Some(params) = req.query_string_parameters_ref() else {
        return Vec::new();
    };
    let pairs: Vec<(String, String)> = ["attached", "key"]
        .iter()
        .flat_map(|name| {
            params
                .all(name)
                .unwrap_or_default()
                .into_iter()
                .map(move |value| (name.to_string(), value.to_string()))
        })
        .collect();
    named(&pairs, &["attached", "key"])
}

/// A file waiting in the form, as the page lists it.
struct Waiting {
    key: UploadKey,
    /// Its token estimate, when it was read (`bucket` given).
    tokens: Option<u32>,
}

/// The template context for attaching on the page at `page_path`: `upload` (the signed form)
/// and `attached` (the files waiting, each with its name and, when `bucket` is given to read
/// them, its token estimate); `attached_tokens` their sum; `errors.file` for a waiting file
/// that will not be accepted (it is left out). Empty when attaching is off.
pub async fn form_context(
    visit: &Visit<'_>,
    owner: &Username,
    page_path: &str,
    attached: &[String],
    bucket: Option<&Bucket>,
) -> Result<Value, AppError> {
    let Some(uploads) = visit.app().uploads().await? else {
        return Ok(context! {});
    };
    let now = session::now();
    let mut waiting: Vec<Waiting> = Vec::new();
    let mut problem = None;
    for raw in attached.iter().take(MAX_PER_MESSAGE) {
        let Ok(key) = UploadKey::parse(raw, owner, now) else {
            continue;
        };
        let tokens = match bucket {
            None => None,
            Some(bucket) => match bucket.read(key.as_str(), MAX_UPLOAD_BYTES).await {
                Ok(bytes) => match sniff::check(&key.name, &bytes) {
                    Ok(checked) => Some(checked.tokens),
                    Err(err) => {
                        problem.get_or_insert(err.to_string());
                        continue;
                    }
                },
                // Not there (yet, or any more): the send will say so.
                Err(_) => None,
            },
        };
        waiting.push(Waiting { key, tokens });
    }
    let mut back = visit.absolute_url(page_path);
    for (i, w) in waiting.iter().enumerate() {
        back.push(if i == 0 { '?' } else { '&' });
        back.push_str(
            &serde_urlencoded::to_string([("attached", w.key.as_str())]).unwrap_or_default(),
        );
    }
    let folder = upload_key::folder(owner, now);
    let form = uploads
        .form(&folder, &visit.absolute_url("/"), now)
        .await
        .map_err(AppError::internal)?;
    let url = if form.url.starts_with('/') {
        format!("{}{}", visit.base_path(), form.url)
    } else {
        form.url.clone()
    };
    let mut context = context! {
        upload => context! {
            url,
            fields => form.fields.iter().map(|(n, v)| context! { name => n, value => v }).collect::<Vec<_>>(),
            back,
            max_bytes => MAX_UPLOAD_BYTES,
            max_files => MAX_PER_MESSAGE,
        },
        attached => waiting.iter().map(|w| context! {
            key => w.key.as_str(),
            name => w.key.name.as_str(),
            tokens => w.tokens,
        }).collect::<Vec<_>>(),
        attached_tokens => waiting.iter().filter_map(|w| w.tokens).sum::<u32>(),
    };
    if let Some(problem) = problem {
        context = minijinja::value::merge_maps([
            context,
            context! { errors => context! { file => problem } },
        ]);
    }
    Ok(context)
}
