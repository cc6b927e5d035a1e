//! A streamed reply through the real chat binary under the Runtime API emulator: its first
//! words reach the Runtime API while the model is still writing, not when the reply is done.

use std::path::PathBuf;

use bench::events::Setup;
use bench::measure::start;
use bench::ttft::chat_subject;
use fake_provider::FakeProvider;

#[tokio::test]
async fn a_reply_reaches_the_runtime_api_while_the_model_writes() {
    let chat = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/debug/chat"
    ));
    assert!(
        chat.exists(),
        "{} is missing: `cargo build --bins` first (scripts/test does)",
        chat.display()
    );
    let provider = FakeProvider::start().await;
    let setup = Setup::new(None).await.expect("the bench account");
    let subject = chat_subject(&chat, &setup, &provider);
    let (_child, emulator, _) = start(&subject).await.expect("the chat function starts");

    // The slow model writes a word every 250 ms, for seconds.
    let outcome = emulator
        .invoke(
            "chat",
            setup.streamed_turn("fake-slow"),
            Some(b"event: text"),
        )
        .await
        .expect("an answer");
    let body = String::from_utf8_lossy(&outcome.body);
    assert!(!outcome.error, "{body}");
    let first_text = outcome.awaited_at.expect("the reply carried text");
    assert!(
        first_text < outcome.finished,
        "the first words arrived only with the end of the reply"
    );
    // Everything that follows the first words came after them: more text, then the end.
    let first_at = body.find("event: text").expect("text");
    assert!(
        body[first_at..].matches("event: text").count() > 3,
        "{body}"
    );
    assert!(body[first_at..].contains("event: done"), "{body}");
}
