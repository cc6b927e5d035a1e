mod folders;
mod handler;

use lambda_http::{Error, service_fn};
use shared::App;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let app = App::start();
    lambda_http::run(service_fn(|req| async {
        Ok::<_, Error>(handler::handle(&app, req).await)
    }))
    .await
}
