//! Reading HTML form posts: size limit, content type and decoding, each with its own error.

use lambda_http::Request;
use lambda_http::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::AppError;

// Room for the longest message (32,000 bytes) even when every character is percent-encoded.
pub const MAX_BODY_BYTES: usize = 192 * 1024;

/// Messages for the fields of a form that were not accepted, shown beside each field.
#[derive(Debug, Default, serde::Serialize)]
#[serde(transparent)]
pub struct FieldErrors(std::collections::BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    /// Records the error of `result` against `field`, and gives back its value if it was fine.
    pub fn check<T, E: Into<String>>(
        &mut self,
        field: &'static str,
        result: Result<T, E>,
    ) -> Option<T> {
        result.map_err(|e| self.add(field, e)).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
}

impl From<FieldErrors> for minijinja::Value {
    fn from(errors: FieldErrors) -> Self {
        minijinja::Value::from_pairs(errors.0)
    }
}

/// Decodes an `application/x-www-form-urlencoded` body into `T`.
pub fn parse<T: DeserializeOwned>(req: &Request) -> Result<T, AppError> {
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(AppError::PayloadTooLarge);
    }
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(AppError::BadRequest(
            "This address expects a submitted form (application/x-www-form-urlencoded).",
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| AppError::BadRequest("The submitted form is not valid UTF-8 text."))?;
    serde_urlencoded::from_str(text).map_err(|err| {
        tracing::info!(%err, "malformed form body");
        AppError::BadRequest("The submitted form is incomplete or malformed.")
    })
}

/// A `multipart/form-data` body's reader (a form with a file), within `constraints`; `None`
/// when the request is not one.
pub fn multipart(
    req: &Request,
    constraints: multer::Constraints,
) -> Option<multer::Multipart<'static>> {
    let boundary = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())?;
    let body = bytes::Bytes::copy_from_slice(req.body().as_ref());
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    Some(multer::Multipart::with_constraints(
        stream,
        boundary,
        constraints,
    ))
}

#[cfg(test)]
mod tests {
    use lambda_http::Body;
    use lambda_http::http::{Method, StatusCode};
    use serde::Deserialize;

    use super::*;
    use crate::testing::request;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Form {
        name: String,
    }

    fn post(content_type: Option<&str>, body: impl Into<Body>) -> Request {
        let mut req = request(Method::POST, "/login");
        if let Some(ct) = content_type {
            req.headers_mut().insert(CONTENT_TYPE, ct.parse().unwrap());
        }
        *req.body_mut() = body.into();
        req
    }

    const FORM: &str = "application/x-www-form-urlencoded";

    #[test]
    fn decodes_a_form() {
        let req = post(
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            "name=a%20b+c",
        );
        assert_eq!(
            parse::<Form>(&req).unwrap(),
            Form {
                name: "a b c".into()
            }
        );
    }

    #[test]
    fn refuses_each_kind_of_bad_body_with_its_status() {
        let status = |req: Request| parse::<Form>(&req).unwrap_err().status();
        assert_eq!(status(post(Some(FORM), "other=1")), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(post(Some(FORM), "name=1&name=2")),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(post(Some(FORM), vec![b'n', b'=', 0xff])),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(post(Some("application/json"), "{}")),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(status(post(None, "name=x")), StatusCode::BAD_REQUEST);
        let big = format!("name={}", "x".repeat(MAX_BODY_BYTES));
        assert_eq!(status(post(Some(FORM), big)), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn accepts_a_body_at_the_limit() {
        let exact = format!("name={}", "x".repeat(MAX_BODY_BYTES - 5));
        assert_eq!(
            parse::<Form>(&post(Some(FORM), exact)).unwrap().name.len(),
            MAX_BODY_BYTES - 5
        );
    }
}
