//! Serves the fake provider on 127.0.0.1 at the port given as the first argument, for the
//! end-to-end and browser tests' portals.

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8302);
    let fake = fake_provider::FakeProvider::start_on(port).await;
    println!("fake provider listening on 127.0.0.1:{}", fake.port);
    std::future::pending::<()>().await;
}
