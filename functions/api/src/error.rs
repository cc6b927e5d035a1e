//! Every way an API call fails, and the one place each becomes OpenAI's error shape:
//! `{"error": {"message", "type", "param", "code"}}` with its status. Causes are logged with
//! the request id; callers see plain words, never internals.

use lambda_http::http::StatusCode;
use serde_json::json;
use shared::ai::ProviderError;
use shared::limits::{Refusal, RefusalKind};
use shared::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request cannot be read or asks for something invalid; `param` names the field.
    #[error("{message}")]
    BadRequest {
        message: String,
        param: Option<String>,
        code: Option<&'static str>,
    },
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("no API key")]
    MissingKey,
    #[error("an API key that is not one of ours, or was revoked")]
    InvalidKey,
    #[error("an expired API key")]
    ExpiredKey,
    #[error("the key's account is disabled or gone")]
    AccountUnusable,
    #[error("the API is off (portal or groups)")]
    ApiOff,
    #[error("no model {0}")]
    ModelNotFound(String),
    #[error("model {0} is not allowed for this key")]
    ModelNotAllowed(String),
    #[error("{}", .0.message)]
    Limited(Refusal),
    #[error("no such route")]
    NoRoute,
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    #[error("the provider failed: {0}")]
    Upstream(ProviderError),
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad(message: impl Into<String>, param: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            param: Some(param.into()),
            code: None,
        }
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(err.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MissingKey | Self::InvalidKey | Self::ExpiredKey | Self::AccountUnusable => {
                StatusCode::UNAUTHORIZED
            }
            Self::ApiOff | Self::ModelNotAllowed(_) => StatusCode::FORBIDDEN,
            Self::ModelNotFound(_) | Self::NoRoute => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Limited(refusal) => refusal.status(),
            Self::Upstream(ProviderError::RateLimited) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// OpenAI's `type`.
    fn kind(&self) -> &'static str {
        match self {
            Self::BadRequest { .. }
            | Self::TooLarge(_)
            | Self::ModelNotFound(_)
            | Self::NoRoute
            | Self::MethodNotAllowed(_) => "invalid_request_error",
            Self::MissingKey | Self::InvalidKey | Self::ExpiredKey | Self::AccountUnusable => {
                "authentication_error"
            }
            Self::ApiOff | Self::ModelNotAllowed(_) => "permission_error",
            Self::Limited(refusal) => match refusal.kind {
                RefusalKind::Rate { .. } => "rate_limit_error",
                _ => "insufficient_quota",
            },
            Self::Upstream(_) | Self::Internal(_) => "server_error",
        }
    }

    /// OpenAI's `code`: what a program tells apart.
    fn code(&self) -> Option<&'static str> {
        Some(match self {
            Self::BadRequest { code, .. } => return *code,
            Self::TooLarge(_) => "request_too_large",
            Self::MissingKey | Self::InvalidKey | Self::AccountUnusable => "invalid_api_key",
            Self::ExpiredKey => "expired_api_key",
            Self::ApiOff => "api_disabled",
            Self::ModelNotFound(_) => "model_not_found",
            Self::ModelNotAllowed(_) => "model_not_allowed",
            Self::Limited(refusal) => match refusal.kind {
                RefusalKind::SpendCap => "spend_cap_reached",
                RefusalKind::GroupCap => "group_spend_cap_reached",
                RefusalKind::Rate { .. } => "rate_limit_exceeded",
            },
            Self::NoRoute => "unknown_url",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Upstream(ProviderError::RateLimited) => "upstream_rate_limited",
            Self::Upstream(_) => "upstream_error",
            Self::Internal(_) => return None,
        })
    }

    /// What the caller is told.
    pub fn message(&self) -> String {
        match self {
            Self::BadRequest { message, .. } => message.clone(),
            Self::TooLarge(limit) => format!(
                "The request body is too large: the limit is {limit} bytes. Nothing was sent."
            ),
            Self::MissingKey => "You didn't provide an API key. Send your personal key (from \
                                 Settings, API keys) as 'Authorization: Bearer sk-sb-…'."
                .into(),
            Self::InvalidKey => "Incorrect API key provided. It may have been revoked; make a \
                                 new one in Settings, API keys."
                .into(),
            Self::ExpiredKey => {
                "This API key has expired. Make a new one in Settings, API keys.".into()
            }
            Self::AccountUnusable => {
                "The account this API key belongs to is disabled or no longer exists.".into()
            }
            Self::ApiOff => {
                "The API is turned off for your account. Ask your administrator.".into()
            }
            Self::ModelNotFound(id) => {
                format!("The model '{id}' does not exist. GET /v1/models lists yours.")
            }
            Self::ModelNotAllowed(id) => format!(
                "This key may not use the model '{id}'. GET /v1/models lists the ones it may."
            ),
            Self::Limited(refusal) => refusal.message.clone(),
            Self::NoRoute => "Unknown request URL. This API serves GET /v1/models and \
                              POST /v1/chat/completions."
                .into(),
            Self::MethodNotAllowed(allow) => format!("Use {allow} on this URL."),
            Self::Upstream(err) => err.user_message().to_string(),
            Self::Internal(_) => {
                "The server had an error while processing your request. Nothing was charged.".into()
            }
        }
    }

    fn param(&self) -> Option<&str> {
        match self {
            Self::BadRequest { param, .. } => param.as_deref(),
            Self::ModelNotFound(_) | Self::ModelNotAllowed(_) => Some("model"),
            _ => None,
        }
    }

    /// The body OpenAI's clients read.
    pub fn body(&self) -> serde_json::Value {
        json!({
            "error": {
                "message": self.message(),
                "type": self.kind(),
                "param": self.param(),
                "code": self.code(),
            }
        })
    }

    /// Seconds to wait before trying again, for a refusal that ends by itself.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Limited(Refusal {
                kind: RefusalKind::Rate { retry_after },
                ..
            }) => Some((*retry_after).max(1)),
            _ => None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        Self::internal(err)
    }
}

impl From<shared::AppError> for ApiError {
    fn from(err: shared::AppError) -> Self {
        Self::internal(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_openais_shape_and_status() {
        let body = ApiError::InvalidKey.body();
        let error = body["error"].as_object().unwrap();
        let mut keys: Vec<_> = error.keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["code", "message", "param", "type"]);
        assert_eq!(body["error"]["code"], "invalid_api_key");
        assert_eq!(ApiError::InvalidKey.status(), StatusCode::UNAUTHORIZED);
        let bad = ApiError::bad("'temperature' must be a number.", "temperature");
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert_eq!(bad.body()["error"]["param"], "temperature");
        assert_eq!(bad.body()["error"]["type"], "invalid_request_error");
        assert_eq!(
            ApiError::TooLarge(10).status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            ApiError::ModelNotAllowed("x".into()).status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            ApiError::ModelNotFound("x".into()).body()["error"]["code"],
            "model_not_found"
        );
        // Internals never reach the caller.
        let internal = ApiError::internal("table users: connection refused");
        assert!(!internal.body().to_string().contains("connection"));
        assert_eq!(internal.body()["error"]["code"], serde_json::Value::Null);
    }

    #[test]
    fn a_rate_refusal_says_when_to_retry() {
        let refusal = Refusal {
            kind: RefusalKind::Rate { retry_after: 12 },
            message: "too quick".into(),
        };
        let err = ApiError::Limited(refusal);
        assert_eq!(err.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(err.retry_after(), Some(12));
        assert_eq!(err.body()["error"]["code"], "rate_limit_exceeded");
        let cap = ApiError::Limited(Refusal {
            kind: RefusalKind::SpendCap,
            message: "capped".into(),
        });
        assert_eq!(cap.status(), StatusCode::FORBIDDEN);
        assert_eq!(cap.body()["error"]["type"], "insufficient_quota");
        assert_eq!(cap.retry_after(), None);
    }
}
