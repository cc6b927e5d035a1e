//! The errors a request can end in. `web::Visit::finish` turns each into its page, in one place.

use lambda_http::http::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("no such page")]
    NotFound,
    #[error("method not allowed (allowed: {allow})")]
    MethodNotAllowed { allow: &'static str },
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("missing or wrong CSRF token")]
    Csrf,
    /// The page needs a signed-in user; answered with a redirect to the sign-in page.
    #[error("not signed in")]
    SignInRequired,
    #[error("not allowed for this account")]
    Forbidden,
    /// A model the account's groups do not include.
    #[error("model not allowed for this account")]
    ModelNotAllowed,
    /// A sign-up route taken with an invite that does not exist, expired or was used.
    #[error("invite link not usable")]
    InviteUnusable,

    #[error("request body over the size limit")]
    PayloadTooLarge,
    /// An upload (of an attachment) not accepted: the status, and what the person is told.
    #[error("upload refused: {1}")]
    UploadRefused(StatusCode, &'static str),
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A store failure a handler did not turn into something more specific is an internal error
/// (logged with its cause, shown as "Something went wrong").
impl From<crate::store::StoreError> for AppError {
    fn from(err: crate::store::StoreError) -> Self {
        Self::internal(err)
    }
}

impl AppError {
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(cause.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::SignInRequired => StatusCode::SEE_OTHER,
            Self::Forbidden | Self::ModelNotAllowed => StatusCode::FORBIDDEN,
            Self::InviteUnusable => StatusCode::GONE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UploadRefused(status, _) => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The heading of the error page.
    pub fn title(&self) -> &'static str {
        match self {
            Self::NotFound => "Page not found",
            Self::MethodNotAllowed { .. } => "Method not allowed",
            Self::BadRequest(_) => "Bad request",
            Self::Csrf => "Form expired",
            Self::SignInRequired => "Sign in required",
            Self::Forbidden => "Not allowed",
            Self::ModelNotAllowed => "Model not available",
            Self::InviteUnusable => "Invite link not valid",
            Self::PayloadTooLarge => "Request too large",
            Self::UploadRefused(..) => "Upload not accepted",
            Self::Internal(_) => "Something went wrong",
        }
    }

    /// What the person is told. Never carries internals.
    pub fn message(&self) -> &'static str {
        match self {
            Self::NotFound => "There is nothing at this address.",
            Self::MethodNotAllowed { .. } => "This page does not accept that kind of request.",
            Self::BadRequest(message) => message,
            Self::Csrf => {
                "This form was not accepted because it is stale or did not come from this site. \
                 Nothing was changed: go back, reload the page and try again."
            }
            Self::SignInRequired => "Sign in to see this page.",
            Self::Forbidden => "Your account is not allowed to do this.",
            Self::ModelNotAllowed => {
                "Your groups do not include that model. Go back and choose one from the list; \
                 nothing was sent."
            }
            Self::InviteUnusable => {
                "This invite link has expired, has already been used, or is not a link we \
                 issued. Ask whoever invited you for a new one."
            }
            Self::PayloadTooLarge => "What you sent is larger than the 192 KiB limit.",
            Self::UploadRefused(_, message) => message,
            Self::Internal(_) => {
                "The server hit an unexpected problem. Please try again; if it keeps happening, \
                 give the request id below to your administrator."
            }
        }
    }
}
