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

use lambda_http::Error;
use shared::App;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // A reply is written by a task that may outlive the response (a reader who leaves does
    // not stop the saving), so the state lives as long as the process.
    let app: &'static App = Box::leak(Box::new(App::start()));
    shared::web::run_streaming(move |req| handler::handle(app, req)).await
}
