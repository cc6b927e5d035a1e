//! `bench`: cold-start and latency of each function's release binary under a Lambda Runtime
//! API emulator, on the embedded store or DynamoDB Local. `scripts/bench` builds and runs it.
//!
//!   bench [--invokes N] [--cold-starts N] [--json FILE] [--dynamodb URL] [--only NAME,...] [-- COMMAND ARGS...]
//!
//! With `-- COMMAND`, measures that command instead (any Lambda runtime client works), fed
//! the home page's event. When the chat function is measured, so is the time to first token
//! of a streamed reply, through it and from the provider directly (`bench::ttft`).

use std::path::PathBuf;

use bench::measure::{Subject, measure};
use bench::report::{API_COMPLETION, CHAT_TURN, IMPORT, SIGN_IN, SIGN_UP};
use bench::{events, report, ttft};

const FUNCTIONS: &[&str] = &[
    "home", "login", "logout", "signup", "settings", "admin", "usage", "transfer", "share", "chat",
    "api", "notfound",
];

struct Options {
    invokes: usize,
    cold_starts: usize,
    json: Option<PathBuf>,
    dynamodb: Option<String>,
    only: Option<Vec<String>>,
    command: Vec<String>,
}

impl Options {
    /// Whether the function `name` is among those to measure (`--only`, else all).
    fn measures(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == name))
    }
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        invokes: 1000,
        cold_starts: 11,
        json: None,
        dynamodb: None,
        only: None,
        command: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--invokes" => {
                options.invokes = value()?.parse().map_err(|_| "--invokes takes a number")?
            }
            "--cold-starts" => {
                options.cold_starts = value()?
                    .parse()
                    .map_err(|_| "--cold-starts takes a number")?
            }
            "--json" => options.json = Some(value()?.into()),
            "--dynamodb" => options.dynamodb = Some(value()?),
            "--only" => options.only = Some(value()?.split(',').map(str::to_string).collect()),
            "--" => {
                options.command = args.by_ref().collect();
                break;
            }
            "-h" | "--help" => {
                println!(
                    "{}",
                    include_str!("main.rs")
                        .lines()
                        .skip(2)
                        .take(5)
                        .map(|l| l.trim_start_matches("//!"))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if options.invokes == 0 {
        return Err("--invokes must be at least 1".into());
    }
    Ok(options)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(err) = run().await {
        eprintln!("bench: {err}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let options = parse_args()?;
    let release = release_dir()?;
    let setup = events::Setup::new(options.dynamodb.as_deref()).await?;
    let store = if options.dynamodb.is_some() {
        "DynamoDB Local"
    } else {
        "embedded SQLite"
    };

    let mut subjects = Vec::new();
    // Measured after the pages and the time to first token: they write thousands of items,
    // which would slow DynamoDB Local's answers to what is measured after them.
    let mut heavy_subjects = Vec::new();
    let empty = release.join("bench-empty");
    subjects.push(Subject {
        name: "(empty lambda_http)".into(),
        command: vec![empty.display().to_string()],
        env: Vec::new(),
        events: vec![setup.event("GET", "/", false)],
        binary: Some(empty),
        proxy: None,
    });
    if options.command.is_empty() {
        for name in FUNCTIONS {
            if !options.measures(name) {
                continue;
            }
            let binary = release.join(name);
            if !binary.exists() {
                return Err(format!(
                    "{} is missing: build with `cargo build --release --bins`",
                    binary.display()
                ));
            }
            subjects.push(Subject {
                name: name.to_string(),
                command: vec![binary.display().to_string()],
                env: setup.env(),
                events: vec![setup.event_for(name)],
                binary: Some(binary.clone()),
                proxy: setup.proxy.clone(),
            });
            // The heavy paths, each over every invoke: a password checked or hashed (argon2,
            // 19 MiB), a chat turn written and answered, an export file imported.
            let heavy: Vec<(&str, Vec<String>)> = match *name {
                "login" => vec![(SIGN_IN, vec![setup.sign_in()])],
                "signup" => vec![(
                    SIGN_UP,
                    (0..=options.invokes).map(|n| setup.sign_up(n)).collect(),
                )],
                "chat" => vec![(CHAT_TURN, vec![setup.chat_turn()])],
                "api" => vec![(API_COMPLETION, vec![setup.api_completion()])],
                "transfer" => vec![(
                    IMPORT,
                    (0..=options.invokes).map(|n| setup.import(n)).collect(),
                )],
                _ => Vec::new(),
            };
            for (heavy, events) in heavy {
                heavy_subjects.push(Subject {
                    name: heavy.to_string(),
                    command: vec![binary.display().to_string()],
                    env: setup.env(),
                    events,
                    binary: Some(binary.clone()),
                    proxy: setup.proxy.clone(),
                });
            }
        }
    } else {
        subjects.push(Subject {
            name: options.command.join(" "),
            command: options.command.clone(),
            env: setup.env(),
            events: vec![setup.event_for("home")],
            binary: None,
            proxy: setup.proxy.clone(),
        });
    }

    let mut results = measure_each(&subjects, &options).await?;
    let ttft = if options.command.is_empty() && options.measures("chat") {
        // Each turn adds two messages to the bench conversation: enough turns for a steady
        // median, not so many that the history grows past what a real conversation holds.
        let turns = options.invokes.min(200);
        eprintln!("measuring time to first token through chat ({turns} streamed sends)...");
        Some(ttft::measure_ttft(&release.join("chat"), &setup, turns).await?)
    } else {
        None
    };
    results.extend(measure_each(&heavy_subjects, &options).await?);
    let report = report::Report::new(store, options.invokes, results, ttft);
    println!("{}", report.table());
    if let Some(path) = options.json {
        std::fs::write(&path, report.json()).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

async fn measure_each(
    subjects: &[Subject],
    options: &Options,
) -> Result<Vec<bench::measure::Measurement>, String> {
    let mut results = Vec::new();
    for subject in subjects {
        eprintln!(
            "measuring {} ({} cold starts, {} invokes)...",
            subject.name, options.cold_starts, options.invokes
        );
        results.push(measure(subject, options.cold_starts, options.invokes).await?);
    }
    Ok(results)
}

/// target/release, next to this binary when it was built there.
fn release_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    exe.parent()
        .map(PathBuf::from)
        .ok_or_else(|| "no directory for this binary".into())
}
