//! `a2i-local serve --data-dir` killed with SIGKILL in the middle of a burst of concurrent
//! StartHumanLoop calls: after a restart on the same directory, every loop whose start was
//! answered 200 is there, and so are a tombstone and an undelivered event made before the
//! burst.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sagemakera2iruntime::config::retry::RetryConfig;
use aws_sdk_sagemakera2iruntime::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sagemakera2iruntime::error::ProvideErrorMetadata;
use aws_sdk_sagemakera2iruntime::types::{HumanLoopInput, HumanLoopStatus};
use aws_sdk_sagemakera2iruntime::Client;
use futures::StreamExt;

const FLOW: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/crash";
/// Starts fired in the burst; far more than can be answered before the kill.
const BURST: usize = 1_500;
/// In flight at once.
const IN_FLIGHT: usize = 32;
/// The kill comes once this many starts were answered 200.
const KILL_AFTER: usize = 300;

/// A running `a2i-local serve`, killed when dropped.
struct Server {
    child: Child,
    endpoint: String,
    // Held so the server never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Starts the binary on free ports with `dir` as data directory and reads the A2I
    /// endpoint from its banner.
    fn start(dir: &Path, log: &Path, extra: &[&std::ffi::OsStr]) -> Self {
        let log_file = std::fs::File::create(log).expect("the log file can be created");
        let mut child = Command::new(env!("CARGO_BIN_EXE_a2i-local"))
            .args(["serve", "--a2i-port", "0", "--s3-port", "0", "--data-dir"])
            .arg(dir)
            .args(extra)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("the binary starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut line = String::new();
        let endpoint = loop {
            line.clear();
            let read = stdout.read_line(&mut line).expect("stdout is readable");
            if read == 0 {
                let _ = child.wait();
                panic!(
                    "a2i-local exited before printing its endpoints:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            if let Some(url) = line.trim().strip_prefix("A2I runtime:") {
                break url.trim().to_owned();
            }
        };
        Self {
            child,
            endpoint,
            _stdout: stdout,
        }
    }

    /// An SDK client without retries: a request either was answered or it failed.
    fn client(&self) -> Client {
        Client::from_conf(
            aws_sdk_sagemakera2iruntime::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("test", "test", None, None, "test"))
                .endpoint_url(&self.endpoint)
                .retry_config(RetryConfig::disabled())
                .build(),
        )
    }

    /// SIGKILL, and reap the process.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn start_loop(a2i: &Client, name: &str) -> Result<(), String> {
    a2i.start_human_loop()
        .human_loop_name(name)
        .flow_definition_arn(FLOW)
        .human_loop_input(
            HumanLoopInput::builder()
                .input_content(format!(
                    r#"{{"name":"{name}","padding":"{}"}}"#,
                    "x".repeat(200)
                ))
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_sdk_sagemakera2iruntime::error::DisplayErrorContext(e).to_string())
}

async fn stop_loop(a2i: &Client, name: &str) {
    a2i.stop_human_loop()
        .human_loop_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("stop {name}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_loop_answered_before_a_sigkill_survives_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let events = dir.path().join("events.jsonl");
    let mut first = Server::start(&data, &dir.path().join("first.log"), &[]);
    let a2i = first.client();

    // Before the burst: a tombstone, and a stopped loop whose event no sink took yet.
    start_loop(&a2i, "deleted-before").await.unwrap();
    stop_loop(&a2i, "deleted-before").await;
    a2i.delete_human_loop()
        .human_loop_name("deleted-before")
        .send()
        .await
        .unwrap();
    start_loop(&a2i, "stopped-before").await.unwrap();
    stop_loop(&a2i, "stopped-before").await;

    let (results, mut answers) = tokio::sync::mpsc::unbounded_channel();
    let burst_client = a2i.clone();
    let burst = tokio::spawn(async move {
        futures::stream::iter(0..BURST)
            .for_each_concurrent(IN_FLIGHT, |i| {
                let (a2i, results) = (burst_client.clone(), results.clone());
                async move {
                    let name = format!("burst-{i}");
                    let outcome = start_loop(&a2i, &name).await.map(|()| name);
                    let _ = results.send(outcome);
                }
            })
            .await;
    });
    let mut answered = Vec::new();
    let mut failed = 0;
    while let Some(outcome) = answers.recv().await {
        match outcome {
            Ok(name) => {
                answered.push(name);
                if answered.len() == KILL_AFTER {
                    first.kill();
                }
            }
            Err(_) => failed += 1,
        }
    }
    burst.await.unwrap();
    assert!(answered.len() >= KILL_AFTER, "{} answered", answered.len());
    assert!(failed > 0, "the kill came in the middle of the burst");
    drop(first);

    let events_arg = std::ffi::OsString::from(format!("--event-file={}", events.display()));
    let second = Server::start(&data, &dir.path().join("second.log"), &[&events_arg]);
    let a2i = second.client();
    let answered = Arc::new(answered);
    let missing: Vec<String> = futures::stream::iter(answered.iter().cloned())
        .map(|name| {
            let a2i = a2i.clone();
            async move {
                match a2i
                    .describe_human_loop()
                    .human_loop_name(&name)
                    .send()
                    .await
                {
                    Ok(d) if d.human_loop_status() == Some(&HumanLoopStatus::InProgress) => None,
                    _ => Some(name),
                }
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .filter_map(|m| async move { m })
        .collect()
        .await;
    assert!(
        missing.is_empty(),
        "{} of {} loops answered 200 before the kill are gone: {:?}",
        missing.len(),
        answered.len(),
        &missing[..missing.len().min(10)]
    );

    // The tombstone: not found, and its name still taken.
    let deleted = a2i
        .describe_human_loop()
        .human_loop_name("deleted-before")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(deleted.is_resource_not_found_exception());
    let reuse = start_loop(&a2i, "deleted-before").await.unwrap_err();
    assert!(reuse.contains("already exists and is finished"), "{reuse}");
    let stopped = a2i
        .describe_human_loop()
        .human_loop_name("stopped-before")
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.human_loop_status(), Some(&HumanLoopStatus::Stopped));

    // The pending event goes out once the restarted server has a sink. Delivery runs in the
    // background after start, so wait for it (generously; only its arrival is asserted).
    let delivered = wait_for_event(&events, "stopped-before").await;
    assert_eq!(delivered["detail"]["humanLoopStatus"], "Stopped");
    // The runtime still answers: new loops start after the restart.
    start_loop(&a2i, "after-restart").await.unwrap();
    let error = a2i
        .start_human_loop()
        .human_loop_name(&answered[0])
        .flow_definition_arn(FLOW)
        .human_loop_input(HumanLoopInput::builder().input_content("[]").build())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(error.code(), Some("ConflictException"));
}

/// The first status-change event for `name` in the JSON Lines file, waiting up to a minute.
async fn wait_for_event(path: &Path, name: &str) -> serde_json::Value {
    for _ in 0..600 {
        if let Ok(text) = std::fs::read_to_string(path) {
            let found = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|e| e["detail"]["humanLoopName"] == name);
            if let Some(event) = found {
                return event;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "no event for {name} reached {} after a restart",
        path.display()
    );
}
