//! The reference function: a lambda_http "hello world" that does nothing else. Its numbers
//! are the emulator's overhead and the floor every Switchboard function is compared with.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_: Request| async {
        Ok::<_, Error>(Response::new(Body::from("hello")))
    }))
    .await
}
