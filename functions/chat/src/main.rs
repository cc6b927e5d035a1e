mod attach;
mod handler;
mod manage;
mod saving;
mod send;
mod show;
mod start;
mod titling;
mod turn;
mod view;

use std::time::{Duration, Instant};

use lambda_http::{Error, service_fn};
use shared::App;

/// Runtime API failures in quick succession after which the process gives up.
const MAX_RUNTIME_FAILURES: u32 = 5;
/// A runtime that ran at least this long before failing starts the count afresh.
const HEALTHY_RUN: Duration = Duration::from_secs(1);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // A reply is written by a task that may outlive the response (a reader who leaves does
    // not stop the saving), so the state lives as long as the process.
    let app: &'static App = Box::leak(Box::new(App::start()));
    let mut failures = 0;
    loop {
        let started = Instant::now();
        let run = lambda_http::run_with_streaming_response(service_fn(move |req| async move {
            Ok::<_, Error>(handler::handle(app, req).await)
        }));
        // A streamed response can lose its connection to the Runtime API (cargo lambda watch
        // closes idle ones); the runtime then stops. Poll for the next event again rather than
        // let the process, and any reply still being written, die with it.
        let outcome = run.await;
        if started.elapsed() >= HEALTHY_RUN {
            failures = 0;
        }
        match outcome {
            Ok(()) => return Ok(()),
            Err(err) if failures < MAX_RUNTIME_FAILURES => {
                failures += 1;
                tracing::error!(%err, failures, "the Lambda runtime stopped; starting it again");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => return Err(err),
        }
    }
}
