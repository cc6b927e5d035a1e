//! Responses written as they are produced (server-sent events), for the function that
//! streams.

use super::*;

/// The body of a streaming function's responses: whole pages are one piece.
pub type Streamed =
    StreamBody<Pin<Box<dyn Stream<Item = Result<Frame<Bytes>, Infallible>> + Send>>>;

/// A body written piece by piece as `stream` produces them.
pub fn streamed(stream: ByteStream) -> Streamed {
    StreamBody::new(Box::pin(stream.map(|bytes| Ok(Frame::data(bytes)))))
}

/// A body sent as one piece.
pub fn whole(body: Body) -> Streamed {
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

/// Where a streamed response's pieces go as they are produced, from the task writing them; a
/// reader who left is not an error (the task goes on, and its pieces go nowhere).
pub struct Listener(Option<tokio::sync::mpsc::UnboundedSender<Bytes>>);

impl Listener {
    pub fn new(tx: Option<tokio::sync::mpsc::UnboundedSender<Bytes>>) -> Self {
        Self(tx)
    }

    pub fn send(&mut self, bytes: Bytes) {
        if let Some(tx) = &self.0
            && tx.send(bytes).is_err()
        {
            self.0 = None;
        }
    }
}

/// Runtime API failures in quick succession after which the process gives up.
const MAX_RUNTIME_FAILURES: u32 = 5;
/// A runtime that ran at least this long before failing starts the count afresh.
const HEALTHY_RUN: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs a streaming function: `handler` answers each request, its body written as it is
/// produced. A streamed response can lose its connection to the Runtime API (cargo lambda
/// watch closes idle ones), which stops the runtime: it polls for the next event again
/// rather than let the process, and any reply still being written, die with it.
pub async fn run_streaming<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Request) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = Response<Streamed>> + Send + 'static,
{
    let mut failures = 0;
    loop {
        let started = std::time::Instant::now();
        let run = lambda_http::run_with_streaming_response(lambda_http::service_fn(
            move |req| async move { Ok::<_, lambda_http::Error>(handler(req).await) },
        ));
        let outcome = run.await;
        if started.elapsed() >= HEALTHY_RUN {
            failures = 0;
        }
        match outcome {
            Ok(()) => return Ok(()),
            Err(err) if failures < MAX_RUNTIME_FAILURES => {
                failures += 1;
                tracing::error!(%err, failures, "the Lambda runtime stopped; starting it again");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(err) => return Err(err),
        }
    }
}
