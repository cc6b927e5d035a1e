//! The bench's table and JSON, with the targets checked beside the numbers.

use serde::Serialize;

use crate::measure::Measurement;
use crate::ttft::Ttft;

#[derive(Serialize)]
pub struct Report {
    store: String,
    invokes: usize,
    machine: String,
    results: Vec<Measurement>,
    time_to_first_token: Option<Ttft>,
}

/// The targets the functions are held to (release build, this machine).
const MAX_INIT_RATIO: f64 = 2.0;
const MAX_WARM_PAGE_P50_MS: f64 = 1.0;
const MAX_PEAK_RSS_MB: f64 = 24.0;
/// Sign-ins check a password in argon2's 19 MiB: the process holds that once, and no more
/// however many it checks.
const MAX_SIGN_IN_PEAK_RSS_MB: f64 = 48.0;

/// The subject that signs in (a POST with the right password) on every invoke.
pub const SIGN_IN: &str = "login (sign-in)";
/// The subject that creates an account (a new name, its password hashed) on every invoke.
pub const SIGN_UP: &str = "signup (sign-up)";
/// The subject that sends a message (without a script: the reply comes back whole).
pub const CHAT_TURN: &str = "chat (turn)";
/// The subject that asks for a completion through the API (the offline model, answered whole).
pub const API_COMPLETION: &str = "api (completion)";
/// The subject that imports a 25 KB export file of five new conversations.
pub const IMPORT: &str = "transfer (import)";
const MAX_ADDED_TTFT_MS: f64 = 2.0;

impl Report {
    pub fn new(
        store: &str,
        invokes: usize,
        results: Vec<Measurement>,
        time_to_first_token: Option<Ttft>,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        Self {
            store: store.to_string(),
            invokes,
            machine: format!("{} cores, {}", cores, std::env::consts::ARCH),
            results,
            time_to_first_token,
        }
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serialises")
    }

    pub fn table(&self) -> String {
        let mut out = format!(
            "Store: {}; init is the median of {} cold starts; {} warm invokes each; {}.\n\n\
             | function | init ms | 1st invoke ms | warm p50 ms | warm p99 ms | peak RSS MB | binary MB | zip MB | status | DynamoDB requests |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n",
            self.store,
            self.results.first().map_or(0, |m| m.cold_starts),
            self.invokes,
            self.machine
        );
        let opt = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.2}"));
        for m in &self.results {
            out += &format!(
                "| {} | {:.2} | {:.2} | {:.3} | {:.3} | {:.1} | {} | {} | {} | {} |\n",
                m.name,
                m.init_ms,
                m.first_invoke_ms,
                m.warm_p50_ms,
                m.warm_p99_ms,
                m.peak_rss_mb,
                opt(m.binary_mb),
                opt(m.zip_mb),
                m.statuses
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
                match m.dynamodb_requests {
                    None => "—".to_string(),
                    Some(n) => format!("{n} ({})", m.dynamodb_operations.join(", ")),
                },
            );
        }
        out += "\n";
        out += &self.targets();
        if let Some(t) = &self.time_to_first_token {
            out += &format!(
                "\nTime to first token of a streamed reply ({} sends, fake provider on loopback):\n\n\
                 | | p50 ms | p99 ms |\n| --- | ---: | ---: |\n\
                 | the provider, asked directly | {:.3} | {:.3} |\n\
                 | through the chat function | {:.3} | {:.3} |\n\n\
                 - streaming adds {:.3} ms at the median: {}\n",
                t.turns,
                t.provider_p50_ms,
                t.provider_p99_ms,
                t.through_chat_p50_ms,
                t.through_chat_p99_ms,
                t.added_p50_ms,
                if t.added_p50_ms <= MAX_ADDED_TTFT_MS {
                    "met".to_string()
                } else {
                    format!("MISSED (> {MAX_ADDED_TTFT_MS} ms)")
                }
            );
        }
        out
    }

    fn targets(&self) -> String {
        let Some((reference, functions)) = self.results.split_first() else {
            return String::new();
        };
        let mut lines = vec![format!(
            "Emulator overhead and floor: the empty lambda_http function inits in {:.2} ms and answers in {:.3} ms (p50).",
            reference.init_ms, reference.warm_p50_ms
        )];
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        for m in functions {
            let mut misses = Vec::new();
            if m.init_ms > reference.init_ms * MAX_INIT_RATIO {
                misses.push(format!(
                    "init {:.2} ms > {MAX_INIT_RATIO}× empty",
                    m.init_ms
                ));
            }
            let max_rss = if m.name == SIGN_IN || m.name == SIGN_UP {
                MAX_SIGN_IN_PEAK_RSS_MB
            } else {
                MAX_PEAK_RSS_MB
            };
            if m.peak_rss_mb > max_rss {
                misses.push(format!("peak RSS {:.1} MB > {max_rss} MB", m.peak_rss_mb));
            }
            // No zip target here: this host build carries the embedded store (SQLite) in
            // every binary; the deployed zips are the arm64 ones `sam build` makes
            // (`scripts/zip-sizes`).
            if m.name == "home" && m.warm_p50_ms > MAX_WARM_PAGE_P50_MS {
                misses.push(format!(
                    "warm page p50 {:.3} ms > {MAX_WARM_PAGE_P50_MS} ms",
                    m.warm_p50_ms
                ));
            }
            lines.push(format!(
                "- {}: {}{}",
                m.name,
                verdict(misses.is_empty()),
                if misses.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", misses.join("; "))
                }
            ));
        }
        lines.join("\n") + "\n"
    }
}
