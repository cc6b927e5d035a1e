//! Time to first token: how much later the first words of a reply reach the Runtime API
//! through the chat function than they leave the provider.
//!
//! The provider is the fake one the tests use (its `echo` model answers at once), started in
//! this process on loopback. Its own time to first token is measured by asking it directly,
//! over a fresh connection as the function makes; the function's, from the moment `/next`
//! hands it a streamed send to the moment its first `event: text` reaches the emulator. The
//! difference is what Switchboard adds: reading the session, storing the turn (the message is
//! saved before any model is asked) and relaying the provider's event.

use std::path::Path;
use std::time::{Duration, Instant};

use fake_provider::FakeProvider;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::events::Setup;
use crate::measure::{Subject, ms, percentile, start};

/// What the chat function writes before each piece of a reply's text.
const FIRST_TEXT: &[u8] = b"event: text";

#[derive(Debug, Serialize)]
pub struct Ttft {
    pub turns: usize,
    pub provider_p50_ms: f64,
    pub provider_p99_ms: f64,
    pub through_chat_p50_ms: f64,
    pub through_chat_p99_ms: f64,
    /// Through the chat function minus the provider's own, at the median.
    pub added_p50_ms: f64,
}

pub async fn measure_ttft(chat: &Path, setup: &Setup, turns: usize) -> Result<Ttft, String> {
    let provider = FakeProvider::start().await;
    let subject = chat_subject(chat, setup, &provider);
    let (mut child, emulator, _) = start(&subject).await?;

    let mut provider_times = Vec::with_capacity(turns);
    let mut chat_times = Vec::with_capacity(turns);
    // The first turn of each pays for lazy set-up (connections, clients): not counted.
    for turn in 0..=turns {
        let direct = provider_first_token(provider.port).await?;
        let outcome = emulator
            .invoke("chat", setup.streamed_turn("fake-echo"), Some(FIRST_TEXT))
            .await?;
        let first_text = outcome.awaited_at.ok_or_else(|| {
            format!(
                "chat: the reply carried no text: {}",
                String::from_utf8_lossy(&outcome.body)
            )
        })?;
        if turn > 0 {
            provider_times.push(direct);
            chat_times.push(first_text - outcome.handed_out);
        }
    }
    let _ = child.kill().await;

    provider_times.sort();
    chat_times.sort();
    let (provider_p50, provider_p99) = (
        percentile(&provider_times, 0.5),
        percentile(&provider_times, 0.99),
    );
    let (chat_p50, chat_p99) = (percentile(&chat_times, 0.5), percentile(&chat_times, 0.99));
    Ok(Ttft {
        turns,
        provider_p50_ms: ms(provider_p50),
        provider_p99_ms: ms(provider_p99),
        through_chat_p50_ms: ms(chat_p50),
        through_chat_p99_ms: ms(chat_p99),
        added_p50_ms: ms(chat_p50.saturating_sub(provider_p50)),
    })
}

/// The chat function, with the fake provider's models as its catalogue.
pub fn chat_subject(chat: &Path, setup: &Setup, provider: &FakeProvider) -> Subject {
    let mut env = setup.env();
    env.push((
        shared::config::MODELS.into(),
        fake_provider::catalogue(&provider.openai_url()),
    ));
    // The bench sends faster than any person; the send rate would refuse it.
    env.push((shared::config::SENDS_PER_MINUTE.into(), "0".into()));
    Subject {
        name: "chat".into(),
        command: vec![chat.display().to_string()],
        env,
        events: Vec::new(),
        binary: None,
        proxy: None,
    }
}

/// Connect, ask for a streamed completion, and wait for its first content.
async fn provider_first_token(port: u16) -> Result<Duration, String> {
    let body = r#"{"model":"echo","stream":true,"messages":[{"role":"user","content":"Hello"}]}"#;
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n\
         content-type: application/json\r\naccept: text/event-stream\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("the fake provider: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("the fake provider: {e}"))?;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = stream
            .read(&mut buffer)
            .await
            .map_err(|e| format!("the fake provider: {e}"))?;
        if n == 0 {
            return Err("the fake provider closed before any content".into());
        }
        received.extend_from_slice(&buffer[..n]);
        if received.windows(10).any(|w| w == br#""content":"#) {
            return Ok(started.elapsed());
        }
    }
}
