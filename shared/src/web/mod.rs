//! One visit: the session read from the request, what the handler did with it, and the
//! response that results, including the mapping of every `AppError` to its page.

use crate::accounts::Account;
use crate::audit::{AuditAction, AuditEntry};
use crate::groups::{Group, Groups, ModelAccess};
use crate::session::{self, ANONYMOUS_LIFETIME, Flash, PendingSignOn, Session, SessionKeys};
use crate::store::{AuditStore, Extras, GroupStore, SessionStore, UsageStore};
use crate::usage::Cost;
use crate::users::Username;
use crate::{App, AppError};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body::Frame;
use http_body_util::StreamBody;
use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, HOST, LOCATION, SET_COOKIE};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use minijinja::value::merge_maps;
use minijinja::{Value, context};
use std::borrow::Cow;
use std::convert::Infallible;
use std::pin::Pin;

mod reply;
mod request;
mod respond;
mod streaming;
#[cfg(test)]
mod tests;
mod visit;

pub use reply::{ByteStream, Reply};
use request::*;
pub use request::{Methods, Verb, path_parameter, query, request_id};
pub use respond::content_security_policy;
pub use streaming::{Listener, Streamed, run_streaming, streamed, whole};
pub use visit::{AlsoRead, Visit, claimed_user, serve, serve_reading};
