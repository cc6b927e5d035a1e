//! A Lambda Runtime API emulator on 127.0.0.1, just enough for one function process: it hands
//! out queued events on `/next`, records responses, and timestamps both, so that init time
//! (process start to first `/next`) and per-invoke latency can be measured from outside.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

/// What came back for one invocation.
#[derive(Debug)]
pub struct Outcome {
    pub body: Bytes,
    pub error: bool,
    /// When `/next` handed the event to the function.
    pub handed_out: Instant,
    /// When the response's body first held the awaited bytes, if they came.
    pub awaited_at: Option<Instant>,
    pub finished: Instant,
}

struct Pending {
    event: String,
    awaited: Option<&'static [u8]>,
    reply: oneshot::Sender<Outcome>,
}

struct InFlight {
    awaited: Option<&'static [u8]>,
    handed_out: Instant,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Pending>,
    in_flight: Option<InFlight>,
    first_next: Option<Instant>,
    next_id: u64,
}

#[derive(Clone)]
pub struct Emulator {
    state: Arc<Mutex<State>>,
    wake: Arc<Notify>,
    pub address: SocketAddr,
}

impl Emulator {
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let emulator = Self {
            state: Arc::default(),
            wake: Arc::new(Notify::new()),
            address: listener.local_addr()?,
        };
        let server = emulator.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let emulator = server.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let emulator = emulator.clone();
                        async move { Ok::<_, Infallible>(emulator.handle(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(emulator)
    }

    /// When the function first asked for work: the end of its init.
    pub fn first_next(&self) -> Option<Instant> {
        self.state.lock().unwrap().first_next
    }

    /// Sends an event to the function `name` and waits for its answer (at most 30 s), noting
    /// when the response's body first holds `awaited` (a streamed response arrives piece by
    /// piece: this is when that piece reached the Runtime API).
    pub async fn invoke(
        &self,
        name: &str,
        event: String,
        awaited: Option<&'static [u8]>,
    ) -> Result<Outcome, String> {
        let (reply, outcome) = oneshot::channel();
        self.state.lock().unwrap().queue.push_back(Pending {
            event,
            awaited,
            reply,
        });
        self.wake.notify_one();
        tokio::time::timeout(std::time::Duration::from_secs(30), outcome)
            .await
            .map_err(|_| format!("{name}: no answer within 30 s"))?
            .map_err(|_| format!("{name}: the emulator dropped the invocation"))
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        if method == Method::GET && path.ends_with("/runtime/invocation/next") {
            return self.next().await;
        }
        let awaited = self
            .state
            .lock()
            .unwrap()
            .in_flight
            .as_ref()
            .and_then(|f| f.awaited);
        let (body, awaited_at) = read_body(req.into_body(), awaited).await;
        let error = path.ends_with("/error");
        if method == Method::POST && path.contains("/runtime/invocation/") {
            let finished = Instant::now();
            if let Some(in_flight) = self.state.lock().unwrap().in_flight.take() {
                let _ = in_flight.reply.send(Outcome {
                    body,
                    error,
                    handed_out: in_flight.handed_out,
                    awaited_at,
                    finished,
                });
            }
            return respond(StatusCode::ACCEPTED, "{}");
        }
        if path.ends_with("/runtime/init/error") {
            eprintln!(
                "the function reported an init error: {}",
                String::from_utf8_lossy(&body)
            );
            return respond(StatusCode::ACCEPTED, "{}");
        }
        respond(StatusCode::NOT_FOUND, "{}")
    }

    async fn next(&self) -> Response<Full<Bytes>> {
        {
            let mut state = self.state.lock().unwrap();
            state.first_next.get_or_insert_with(Instant::now);
        }
        loop {
            let notified = self.wake.notified();
            {
                let mut state = self.state.lock().unwrap();
                if let Some(pending) = state.queue.pop_front() {
                    state.next_id += 1;
                    let id = format!("bench-{:08}", state.next_id);
                    state.in_flight = Some(InFlight {
                        awaited: pending.awaited,
                        handed_out: Instant::now(),
                        reply: pending.reply,
                    });
                    let deadline = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as u64 + 30_000);
                    return Response::builder()
                        .status(StatusCode::OK)
                        .header("content-type", "application/json")
                        .header("lambda-runtime-aws-request-id", id)
                        .header("lambda-runtime-deadline-ms", deadline.to_string())
                        .header(
                            "lambda-runtime-invoked-function-arn",
                            "arn:aws:lambda:us-east-1:000000000000:function:bench",
                        )
                        .header(
                            "lambda-runtime-trace-id",
                            "Root=1-00000000-000000000000000000000000",
                        )
                        .body(Full::new(Bytes::from(pending.event)))
                        .expect("a valid response");
                }
            }
            notified.await;
        }
    }
}

/// The whole body, read frame by frame so that the arrival of `awaited` can be timed.
async fn read_body(mut body: Incoming, awaited: Option<&[u8]>) -> (Bytes, Option<Instant>) {
    let mut collected = Vec::new();
    let mut awaited_at = None;
    while let Some(Ok(frame)) = body.frame().await {
        let Ok(data) = frame.into_data() else {
            continue;
        };
        // Only the new bytes, and the few before them that a match could straddle.
        let from = collected
            .len()
            .saturating_sub(awaited.map_or(0, <[u8]>::len));
        collected.extend_from_slice(&data);
        if let (Some(needle), None) = (awaited, awaited_at)
            && collected[from..].windows(needle.len()).any(|w| w == needle)
        {
            awaited_at = Some(Instant::now());
        }
    }
    (Bytes::from(collected), awaited_at)
}

fn respond(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a valid response")
}

/// Waits for the function's first `/next`, or its exit. The time returned is the one the
/// emulator recorded when the request arrived, so how often this looks does not matter.
pub async fn wait_for_init(
    emulator: &Emulator,
    child: &mut tokio::process::Child,
) -> Result<Instant, String> {
    let give_up = Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(at) = emulator.first_next() {
            return Ok(at);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the function exited during init ({status})"));
        }
        if Instant::now() > give_up {
            return Err("the function did not ask for work within 10 s".into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}
