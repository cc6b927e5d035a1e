//! Server-sent events: read from a provider's response (parsed by `eventsource-stream`) and
//! written to the browser.

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};

use super::ProviderError;

/// One event: its type (`message` when unnamed) and its data.
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

pub type SseStream = std::pin::Pin<Box<dyn Stream<Item = Result<SseEvent, ProviderError>> + Send>>;

/// The events of a response body.
pub fn events<S, E>(body: S) -> SseStream
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::error::Error + Send + 'static,
{
    Box::pin(body.eventsource().map(|item| match item {
        Ok(event) => Ok(SseEvent {
            event: event.event,
            data: event.data,
        }),
        // A body cut off mid-stream surfaces as a transport error.
        Err(eventsource_stream::EventStreamError::Transport(_)) => Err(ProviderError::Dropped),
        Err(err) => Err(ProviderError::Malformed(err.to_string())),
    }))
}

/// One event for the browser, its data as JSON (so that newlines in text cannot end it).
pub fn encode(name: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}
