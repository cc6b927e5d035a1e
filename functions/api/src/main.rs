mod caller;
mod completion;
mod error;
mod formats;
mod handler;
mod keep;
mod request;

use lambda_http::Error;
use shared::App;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // A streamed completion is finished (charged, kept) by a task that may outlive the
    // response, so the state lives as long as the process.
    let app: &'static App = Box::leak(Box::new(App::start()));
    shared::web::run_streaming(move |req| handler::handle(app, req)).await
}
