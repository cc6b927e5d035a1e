//! Responses written as they are produced (server-sent events), for the function that
//! streams.

use super::*;

/// The body of a streaming function's responses: whole pages are one piece.
pub type Streamed =
    StreamBody<Pin<Box<dyn Stream<Item = Result<Frame<Bytes>, Infallible>> + Send>>>;

pub(super) fn streamed(stream: ByteStream) -> Streamed {
    StreamBody::new(Box::pin(stream.map(|bytes| Ok(Frame::data(bytes)))))
}

pub(super) fn whole(body: Body) -> Streamed {
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(data) => Bytes::from(data),
        _ => Bytes::new(),
    };
    streamed(Box::pin(futures_util::stream::iter(
        (!bytes.is_empty()).then_some(bytes),
    )))
}

impl<'a> Visit<'a> {
    /// As `finish`, for a function that streams (`run_with_streaming_response`):
    /// `Reply::Events` is written as it is produced, anything else as one piece.
    pub fn finish_streaming(mut self, outcome: Result<Reply, AppError>) -> Response<Streamed> {
        match outcome {
            Ok(Reply::Events(events)) => {
                let mut response = Response::new(Body::Empty);
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream; charset=utf-8"),
                );
                // Proxies must pass each event on at once.
                response
                    .headers_mut()
                    .insert("x-accel-buffering", HeaderValue::from_static("no"));
                self.decorate(&mut response);
                response.map(|_| streamed(events))
            }
            outcome => self.finish(outcome).map(whole),
        }
    }
}
