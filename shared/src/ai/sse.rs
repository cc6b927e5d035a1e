//! Server-sent events from a provider's response, parsed by `eventsource-stream`.

use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};

use super::ProviderError;

/// One event: its type (`message` when unnamed) and its data.
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

pub type SseStream = std::pin::Pin<Box<dyn Stream<Item = Result<SseEvent, ProviderError>> + Send>>;

pub fn events(response: reqwest::Response) -> SseStream {
    Box::pin(
        response
            .bytes_stream()
            .eventsource()
            .map(|item| match item {
                Ok(event) => Ok(SseEvent {
                    event: event.event,
                    data: event.data,
                }),
                // A body cut off mid-stream surfaces as a transport error.
                Err(eventsource_stream::EventStreamError::Transport(_)) => {
                    Err(ProviderError::Dropped)
                }
                Err(err) => Err(ProviderError::Malformed(err.to_string())),
            }),
    )
}
