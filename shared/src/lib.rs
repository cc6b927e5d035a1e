//! Everything the Switchboard functions share: configuration, sessions, users, pages and the
//! request/response plumbing that turns a handler's outcome into an HTTP response.

pub mod accounts;
pub mod ai;
pub mod api_keys;
pub mod app;
pub mod attachments;
pub mod audit;
pub mod aws;
pub mod branches;
pub mod calendar;
pub mod chart;
pub mod config;
pub mod conversations;
pub mod error;
pub mod estimate;
pub mod folders;
pub mod form;
pub mod groups;
pub mod https;
pub mod limits;
pub mod link_tokens;
pub mod listing;
pub mod markdown;
pub mod pages;
pub mod parameters;
pub mod password;
pub mod random;
pub mod secrets;
pub mod session;
pub mod signup;
pub mod sso;
pub mod store;
pub mod throttle;
pub mod transcript;
pub mod usage;
pub mod users;
pub mod web;

#[cfg(any(test, feature = "test-support"))]
pub mod testing;

pub use app::App;
pub use error::AppError;
pub use web::{AlsoRead, Methods, Reply, Streamed, Verb, Visit, serve, serve_reading};
