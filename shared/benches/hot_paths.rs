//! The hot paths, timed in-process: what every signed-in request does (open the session
//! cookie), what every page does (render a template), what every reply does (Markdown to
//! safe HTML) and what every streamed token does (parse the provider's event, write the
//! browser's).

use std::time::Duration;

use bytes::Bytes;
use divan::counter::ItemsCount;
use futures_util::StreamExt;
use minijinja::context;
use secrecy::SecretString;
use shared::accounts::{Account, Role};
use shared::ai::{self, Event};
use shared::pages::Pages;
use shared::password::PasswordDigest;
use shared::session::{Session, SessionKeys};
use shared::users::Username;

fn main() {
    divan::main();
}

const KEY: &str = "c3dpdGNoYm9hcmQtdGVzdC1rZXktc3dpdGNoYm9hcmQtdGVzdC1rZXktc3dpdGNoYm9hcmQtdGVzdC1rZXktMDEyMzQ1Njc=";

/// A well-formed argon2id digest (never checked here).
const DIGEST: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn keys() -> SessionKeys {
    SessionKeys::new(
        SessionKeys::parse_key(&SecretString::from(KEY)).expect("a valid key"),
        None,
    )
}

/// Decrypting and checking the session cookie of a signed-in request.
#[divan::bench]
fn session_open(bencher: divan::Bencher) {
    let keys = keys();
    let now = shared::session::now();
    let ann = Account::new(
        Username::parse("ann").expect("a valid name"),
        None,
        PasswordDigest::parse(DIGEST).expect("a valid digest"),
        Role::User,
        now,
    );
    let session = Session::new(Some(&ann), Duration::from_secs(3600), now);
    let sealed = keys.seal(&session, true, now);
    let header = format!("theme=dark; {}", sealed.split(';').next().unwrap());
    bencher.bench_local(|| keys.open(divan::black_box(&header), true).expect("opens"));
}

/// The home page with a full page of conversations.
#[divan::bench]
fn page_render(bencher: divan::Bencher) {
    let pages = Pages::new();
    let conversations: Vec<_> = (0..20)
        .map(|i| {
            context! {
                id => "AAAAAAAAAAAAAAAA", title => format!("Conversation number {i} about <things>"),
                model_name => "GPT-4o mini", updated_at => 1_795_599_420 + i,
            }
        })
        .collect();
    let page = context! {
        user => "ann", csrf_token => "token", base => "", request_id => "r",
        conversations, next => "1795599420.AAAAAAAAAAAAAAAA",
        models => [context! { id => "offline", name => "Offline demo (no AI)" }],
        default_model => "offline",
    };
    bencher.bench_local(|| {
        pages
            .render("home.html", divan::black_box(page.clone()))
            .expect("renders")
    });
}

/// A long reply: about 8 KB of prose, a list, a table and two highlighted code blocks.
fn long_reply() -> String {
    let prose = "Streaming replies keep the reader busy while the model thinks, and *saving* them as they grow means a reload loses nothing. ";
    let code = "```rust\nfn fib(n: u64) -> u64 {\n    match n {\n        0 | 1 => n,\n        _ => fib(n - 1) + fib(n - 2),\n    }\n}\n```\n\n";
    let mut text = String::new();
    for section in 0..6 {
        text.push_str(&format!("## Part {section}\n\n"));
        text.push_str(&prose.repeat(6));
        text.push_str(
            "\n\n- one\n- two with `code`\n- three\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n",
        );
        if section % 3 == 0 {
            text.push_str(code);
        }
    }
    text
}

#[divan::bench]
fn markdown_long_reply(bencher: divan::Bencher) {
    let reply = long_reply();
    shared::markdown::render(&reply); // loads the syntax definitions once, as a warm function has
    bencher
        .counter(divan::counter::BytesCount::new(reply.len()))
        .bench_local(|| shared::markdown::render(divan::black_box(&reply)));
}

const TOKENS: usize = 1000;

/// An OpenAI-style event stream of `TOKENS` tokens, as the network delivers it.
fn provider_stream() -> Vec<Bytes> {
    (0..TOKENS)
        .map(|i| {
            Bytes::from(format!(
                "data: {{\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"word{i} \"}},\"finish_reason\":null}}]}}\n\n"
            ))
        })
        .chain(std::iter::once(Bytes::from("data: [DONE]\n\n")))
        .collect()
}

/// Per token: the provider's event parsed and the browser's written.
#[divan::bench]
fn sse_parse_and_forward(bencher: divan::Bencher) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let chunks = provider_stream();
    bencher
        .counter(ItemsCount::new(TOKENS))
        .with_inputs(|| chunks.clone())
        .bench_local_values(|chunks| {
            runtime.block_on(async move {
                let body =
                    futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
                let mut events = ai::openai::parse(ai::sse::events(body));
                let mut written = 0;
                while let Some(Ok(Event::Text(text))) = events.next().await {
                    written += ai::sse::encode("text", &serde_json::json!(text)).len();
                }
                written
            })
        });
}

/// What a cold start does before it first asks for work, beside the runtime's own set-up:
/// read the configuration (with the embedded model catalogue)...
#[divan::bench]
fn start_up_configuration() -> shared::config::Config {
    let lookup = |name: &str| (name == shared::config::SESSION_KEY).then(|| KEY.to_string());
    shared::config::Config::from_lookup(lookup).expect("the defaults are valid")
}

/// ...and compile the templates.
#[divan::bench]
fn start_up_templates() -> Pages {
    Pages::new()
}
