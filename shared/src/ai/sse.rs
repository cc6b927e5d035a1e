//! Server-sent events: read from a provider's response (parsed by `eventsource-stream`) and
//! written to the browser.
//!
//! A provider's body is outside input: the parser keeps an unfinished line in memory, so the
//! body is bounded before it reaches the parser, by line and in total.

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};

use super::ProviderError;

/// The longest line an event may have. Real events (a token or two of JSON, a usage block)
/// are well under a kilobyte; a line this long is a broken or hostile provider.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The most a reply's event stream may carry in all: a reply is cut at 200,000 bytes of text,
/// and its events' JSON around each token is a few times the token itself.
pub const MAX_STREAM_BYTES: usize = 16 * 1024 * 1024;

/// One event: its type (`message` when unnamed) and its data.
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

pub type SseStream = std::pin::Pin<Box<dyn Stream<Item = Result<SseEvent, ProviderError>> + Send>>;

/// Why a body stopped being read.
#[derive(Debug, thiserror::Error)]
enum BodyError {
    #[error("transport: {0}")]
    Transport(String),
    #[error("a line longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
    #[error("more than {MAX_STREAM_BYTES} bytes of events")]
    TooLarge,
}

/// Counts what passes, failing the stream (once) when a line or the whole grows too long.
#[derive(Default)]
struct Bounds {
    line: usize,
    total: usize,
    failed: bool,
}

impl Bounds {
    fn admit(&mut self, chunk: &[u8]) -> Result<(), BodyError> {
        self.total += chunk.len();
        if self.total > MAX_STREAM_BYTES {
            return Err(BodyError::TooLarge);
        }
        for (i, segment) in chunk.split(|b| *b == b'\n' || *b == b'\r').enumerate() {
            // The first segment continues the line before; every later one starts a new line.
            self.line = if i == 0 {
                self.line + segment.len()
            } else {
                segment.len()
            };
            if self.line > MAX_LINE_BYTES {
                return Err(BodyError::LineTooLong);
            }
        }
        Ok(())
    }
}

/// The body, ended with an error as soon as it breaks a bound.
fn bounded<S, E>(body: S) -> impl Stream<Item = Result<Bytes, BodyError>> + Send + 'static
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::error::Error + Send + 'static,
{
    body.scan(Bounds::default(), |bounds, item| {
        let item = if bounds.failed {
            None
        } else {
            let checked = item
                .map_err(|e| BodyError::Transport(e.to_string()))
                .and_then(|chunk| bounds.admit(&chunk).map(|()| chunk));
            bounds.failed = checked.is_err();
            Some(checked)
        };
        std::future::ready(item)
    })
}

/// The events of a response body.
pub fn events<S, E>(body: S) -> SseStream
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::error::Error + Send + 'static,
{
    Box::pin(bounded(body).eventsource().map(|item| match item {
        Ok(event) => Ok(SseEvent {
            event: event.event,
            data: event.data,
        }),
        Err(eventsource_stream::EventStreamError::Transport(BodyError::Transport(_))) => {
            // A body cut off mid-stream surfaces as a transport error.
            Err(ProviderError::Dropped)
        }
        Err(eventsource_stream::EventStreamError::Transport(bound)) => {
            Err(ProviderError::Malformed(bound.to_string()))
        }
        Err(err) => Err(ProviderError::Malformed(err.to_string())),
    }))
}

/// One event for the browser, its data as JSON (so that newlines in text cannot end it).
pub fn encode(name: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_across_chunks() {
        let mut bounds = Bounds::default();
        let half = vec![b'x'; MAX_LINE_BYTES / 2];
        assert!(bounds.admit(&half).is_ok());
        assert!(bounds.admit(&half).is_ok(), "exactly the limit");
        assert!(matches!(bounds.admit(b"x"), Err(BodyError::LineTooLong)));

        let mut bounds = Bounds::default();
        let mut chunk = half.clone();
        chunk.push(b'\n');
        chunk.extend_from_slice(&half);
        assert!(bounds.admit(&chunk).is_ok());
        assert!(bounds.admit(b"\r\n").is_ok(), "a newline starts afresh");
        assert!(bounds.admit(&half).is_ok());
    }

    #[test]
    fn the_whole_body_is_bounded() {
        let mut bounds = Bounds::default();
        let mut line = vec![b'x'; 1023];
        line.push(b'\n');
        for _ in 0..MAX_STREAM_BYTES / 1024 {
            assert!(bounds.admit(&line).is_ok());
        }
        assert!(matches!(bounds.admit(b"\n"), Err(BodyError::TooLarge)));
    }
}
