//! What `--data-dir` costs: the same burst of StartHumanLoop calls (real SDK, over HTTP, a
//! fixed number in flight) against a2i-local in memory and with a data directory, run
//! alternately in one process so both see the same machine, and the ratio of their times.
//!
//! `cargo bench -p a2i-local --bench persistence` measures 10,000 loops per run; under
//! `cargo test` (no `--bench` argument) it runs once on a few loops so it cannot rot.
//! `A2I_LOCAL_BENCH_LOOPS=N` changes the number of loops per run. Nothing is asserted about
//! speed: machines are shared.

use std::time::{Duration, Instant};

use a2i_local::LocalA2i;
use aws_sdk_sagemakera2iruntime::types::HumanLoopInput;
use futures::StreamExt;

const FLOW: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/bench";

/// What one run measured.
struct Run {
    wall: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }
}

/// The `p` quantile (0..=1) of `samples`, nearest rank.
fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => Duration::ZERO,
        n => sorted[((n as f64 * p).ceil() as usize).clamp(1, n) - 1],
    }
}

/// An InputContent of the size a typical flagged item has (a few hundred bytes).
fn input(i: usize) -> String {
    serde_json::json!({
        "id": i,
        "source": format!("s3://bench-input/batches/2026/11/29/batch-{:05}.jsonl", i / 100),
        "score": (i % 100) as f64 / 100.0,
        "labels": [{"Name": "Suggestive", "Confidence": 71.5}, {"Name": "Swimwear", "Confidence": 88.25}],
        "text": "The quick brown fox jumps over the lazy dog; a sentence to give the item some body.",
    })
    .to_string()
}

async fn run(loops: usize, in_flight: usize, persistent: bool, round: usize) -> Run {
    let data = tempfile::tempdir().expect("a temp dir for the data directory");
    let mut builder = LocalA2i::builder();
    if persistent {
        builder = builder.data_dir(data.path());
    }
    let local = builder.start().await.expect("a2i-local starts on loopback");
    let a2i = local.a2i_client();
    let started = Instant::now();
    let latencies: Vec<Duration> = futures::stream::iter(0..loops)
        .map(|i| {
            let a2i = a2i.clone();
            async move {
                let t = Instant::now();
                a2i.start_human_loop()
                    .human_loop_name(format!("bench-{round}-{i}"))
                    .flow_definition_arn(FLOW)
                    .human_loop_input(HumanLoopInput::builder().input_content(input(i)).build())
                    .send()
                    .await
                    .expect("StartHumanLoop succeeds");
                t.elapsed()
            }
        })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    let wall = started.elapsed();
    local.shutdown().await;
    Run { wall, latencies }
}

fn report(label: &str, runs: &[Run]) {
    for run in runs {
        println!(
            "{label:<10} {:>6} loops in {:>7.2} s = {:>7.0} req/s; latency p50 {:>6.2} ms, p99 {:>7.2} ms",
            run.latencies.len(),
            run.wall.as_secs_f64(),
            run.per_second(),
            run.percentile(0.50).as_secs_f64() * 1e3,
            run.percentile(0.99).as_secs_f64() * 1e3,
        );
    }
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let (mut loops, in_flight, rounds) = if measuring {
        (10_000, 32, 2)
    } else {
        (50, 8, 1)
    };
    // A smaller burst where a full one would take too long (the quadratic state file of
    // earlier versions, for comparison).
    if let Some(n) = std::env::var("A2I_LOCAL_BENCH_LOOPS")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        loops = n;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime can be built");
    println!("StartHumanLoop: {loops} loops per run, {in_flight} in flight, {rounds} round(s) of each, alternating");
    let (mut memory, mut disk) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        memory.push(runtime.block_on(run(loops, in_flight, false, round)));
        disk.push(runtime.block_on(run(loops, in_flight, true, round)));
    }
    report("in memory", &memory);
    report("data dir", &disk);
    let total = |runs: &[Run]| runs.iter().map(|r| r.wall.as_secs_f64()).sum::<f64>();
    println!(
        "data dir / in memory wall time: {:.2}x",
        total(&disk) / total(&memory)
    );
}
