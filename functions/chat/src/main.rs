mod handler;
mod turn;
mod view;

use lambda_http::{Error, service_fn};
use shared::App;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // A reply is written by a task that may outlive the response (a reader who leaves does
    // not stop the saving), so the state lives as long as the process.
    let app: &'static App = Box::leak(Box::new(App::start()));
    lambda_http::run_with_streaming_response(service_fn(move |req| async move {
        Ok::<_, Error>(handler::handle(app, req).await)
    }))
    .await
}
