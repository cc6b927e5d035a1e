//! End-to-end tests live in `tests/`; they drive a running portal over HTTP.
