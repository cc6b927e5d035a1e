//! `fake-provider PORT` serves the fake provider on 127.0.0.1:PORT, for the end-to-end and
//! browser tests' portals; `fake-provider catalogue PORT` prints the model catalogue that
//! points a portal at it.

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = |arg: Option<&String>| arg.and_then(|p| p.parse::<u16>().ok()).unwrap_or(8302);
    if args.first().map(String::as_str) == Some("catalogue") {
        let url = format!("http://127.0.0.1:{}/v1", port(args.get(1)));
        print!("{}", fake_provider::catalogue(&url));
        return;
    }
    let fake = fake_provider::FakeProvider::start_on(port(args.first())).await;
    println!("fake provider listening on 127.0.0.1:{}", fake.port);
    std::future::pending::<()>().await;
}
