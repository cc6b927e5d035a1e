//! Runs one function under the emulator and measures it.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::process::Command;

use crate::emulator::{Emulator, wait_for_init};
use crate::proxy::CountingProxy;

/// How to start a function and what to send it.
pub struct Subject {
    pub name: String,
    /// The program and its arguments.
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    /// API Gateway events, sent in turn.
    pub events: Vec<String>,
    /// The binary, for its size (None for an arbitrary command).
    pub binary: Option<std::path::PathBuf>,
    /// Counts the DynamoDB requests, when the store is DynamoDB.
    pub proxy: Option<CountingProxy>,
}

#[derive(Debug, Serialize)]
pub struct Measurement {
    pub name: String,
    /// Process start to first `/next`: the median of the cold starts.
    pub init_ms: f64,
    pub cold_starts: usize,
    /// The first invocation, which pays for anything built lazily.
    pub first_invoke_ms: f64,
    pub warm_p50_ms: f64,
    pub warm_p99_ms: f64,
    pub invokes: usize,
    pub peak_rss_mb: f64,
    pub binary_mb: Option<f64>,
    pub zip_mb: Option<f64>,
    /// Status codes seen, to catch a function that "answers fast" with errors.
    pub statuses: Vec<u16>,
    /// The most DynamoDB requests a warm invocation made, and which they were.
    pub dynamodb_requests: Option<usize>,
    pub dynamodb_operations: Vec<String>,
}

/// Starts the function `cold_starts` times (init is their median), and invokes the last one
/// `invokes` times after a first, cold invocation.
pub async fn measure(
    subject: &Subject,
    cold_starts: usize,
    invokes: usize,
) -> Result<Measurement, String> {
    let mut inits = Vec::new();
    let mut running: Option<(tokio::process::Child, Emulator)> = None;
    for _ in 0..cold_starts.max(1) {
        if let Some((mut old, _)) = running.take() {
            let _ = tokio::process::Child::kill(&mut old).await;
        }
        let (child, emulator, init) = start(subject).await?;
        inits.push(init);
        running = Some((child, emulator));
    }
    let (mut child, emulator) = running.expect("started at least once");
    inits.sort();
    let init = inits[inits.len() / 2];
    let pid = child.id().ok_or("no pid")?;
    let mut latencies = Vec::with_capacity(invokes);
    let mut statuses = Vec::new();
    let mut first = Duration::ZERO;
    let mut most_requests: Option<usize> = None;
    let mut operations = Vec::new();
    for i in 0..=invokes {
        let event = subject.events[i % subject.events.len()].clone();
        let before = subject.proxy.as_ref().map(CountingProxy::count);
        let sent = Instant::now();
        let outcome = emulator.invoke(&subject.name, event, None).await?;
        if outcome.error {
            return Err(format!(
                "{}: the function reported an error: {}",
                subject.name,
                String::from_utf8_lossy(&outcome.body)
            ));
        }
        let took = outcome.finished - sent;
        let status = status_of(&outcome.body);
        if !statuses.contains(&status) {
            statuses.push(status);
        }
        if i == 0 {
            first = took;
        } else {
            latencies.push(took);
            if let (Some(proxy), Some(before)) = (&subject.proxy, before) {
                let made = proxy.since(before);
                if most_requests.is_none_or(|most| made.len() > most) {
                    most_requests = Some(made.len());
                    operations = made;
                }
            }
        }
    }
    let peak_rss_mb = peak_rss_kb(pid).map_or(0.0, |kb| kb as f64 / 1024.0);
    let _ = child.kill().await;

    latencies.sort();
    let (binary_mb, zip_mb) = match &subject.binary {
        Some(path) => {
            let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
            (Some(mb(size)), Some(mb(zipped_size(path)?)))
        }
        None => (None, None),
    };
    Ok(Measurement {
        name: subject.name.clone(),
        init_ms: ms(init),
        cold_starts: inits.len(),
        first_invoke_ms: ms(first),
        warm_p50_ms: ms(percentile(&latencies, 0.50)),
        warm_p99_ms: ms(percentile(&latencies, 0.99)),
        invokes,
        peak_rss_mb,
        binary_mb,
        zip_mb,
        statuses,
        dynamodb_requests: most_requests,
        dynamodb_operations: operations,
    })
}

/// Spawns the function under a fresh emulator and waits for its first `/next`; returns the
/// process, its emulator and its init time.
pub async fn start(
    subject: &Subject,
) -> Result<(tokio::process::Child, Emulator, Duration), String> {
    let emulator = Emulator::start().await.map_err(|e| e.to_string())?;
    let (program, args) = subject.command.split_first().ok_or("no command")?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .envs(subject.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", emulator.address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &subject.name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_LEVEL", "ERROR")
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    let ready = wait_for_init(&emulator, &mut child).await?;
    Ok((child, emulator, ready - started))
}

/// The `p` quantile (0 to 1) of sorted, non-empty times, by the nearest-rank method.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

pub(crate) fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

fn mb(bytes: u64) -> f64 {
    (bytes as f64 / 1024.0 / 1024.0 * 100.0).round() / 100.0
}

/// VmHWM: the most resident memory the process ever had.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The size of the deployment package: the binary as `bootstrap`, deflated, in a zip.
fn zipped_size(binary: &Path) -> Result<u64, String> {
    use std::io::Write;
    let data = std::fs::read(binary).map_err(|e| e.to_string())?;
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o755);
        zip.start_file("bootstrap", options)
            .map_err(|e| e.to_string())?;
        zip.write_all(&data).map_err(|e| e.to_string())?;
        zip.finish().map_err(|e| e.to_string())?;
    }
    Ok(buffer.into_inner().len() as u64)
}

/// The status of a response: from the JSON of an ordinary one, or from the metadata prelude
/// (JSON, then eight NUL bytes, then the body) of a streamed one.
fn status_of(body: &[u8]) -> u16 {
    let head = match body.windows(8).position(|w| w == [0u8; 8]) {
        Some(at) => &body[..at],
        None => body,
    };
    serde_json::from_slice::<serde_json::Value>(head)
        .ok()
        .and_then(|v| v["statusCode"].as_u64())
        .unwrap_or(0) as u16
}

#[cfg(test)]
mod tests {
    use super::status_of;

    #[test]
    fn statuses_come_from_whole_and_streamed_responses() {
        assert_eq!(status_of(br#"{"statusCode":200,"body":"x"}"#), 200);
        let mut streamed = br#"{"statusCode":303,"headers":{}}"#.to_vec();
        streamed.extend_from_slice(&[0; 8]);
        streamed.extend_from_slice(b"event: text\n");
        assert_eq!(status_of(&streamed), 303);
        assert_eq!(status_of(b"garbage"), 0);
    }
}
