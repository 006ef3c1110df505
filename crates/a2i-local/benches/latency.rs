//! Warm request latency with and without TCP_NODELAY on accepted connections: sequential
//! GetObject calls of a small object and DescribeHumanLoop calls (real SDK, over HTTP, one
//! connection kept alive), against two servers that differ only in that knob, interleaved
//! request by request so both see the same machine. Without NODELAY, a response written in
//! two parts waits for the client's delayed ACK (up to 40 ms on Linux).
//!
//! `cargo bench -p a2i-local --bench latency` measures 2,000 requests per server and
//! operation; under `cargo test` (no `--bench` argument) it runs a few so it cannot rot.
//! Nothing is asserted about speed: machines are shared.

use std::time::{Duration, Instant};

use a2i_local::{LocalA2i, LocalA2iHandle};
use aws_sdk_sagemakera2iruntime::types::HumanLoopInput;

const FLOW: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/bench";
const BUCKET: &str = "bench-latency";
const KEY: &str = "small/object.json";

/// The `p` quantile (0..=1) of `samples`, nearest rank.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    match sorted.len() {
        0 => Duration::ZERO,
        n => sorted[((n as f64 * p).ceil() as usize).clamp(1, n) - 1],
    }
}

fn report(label: &str, samples: &mut [Duration]) {
    samples.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let stalled = samples
        .iter()
        .filter(|d| **d >= Duration::from_millis(30))
        .count();
    println!(
        "{label:<31} n {:>5}; p50 {:>7.3} ms, p99 {:>7.3} ms, max {:>7.3} ms; {stalled} at 30 ms or more",
        samples.len(),
        ms(percentile(samples, 0.50)),
        ms(percentile(samples, 0.99)),
        ms(samples.last().copied().unwrap_or_default()),
    );
}

/// A server with a small object and one loop, and clients to read both.
struct Server {
    local: LocalA2iHandle,
    s3: aws_sdk_s3::Client,
    a2i: aws_sdk_sagemakera2iruntime::Client,
}

async fn server(nodelay: bool) -> Server {
    let local = LocalA2i::builder()
        .bucket(BUCKET)
        .tcp_nodelay(nodelay)
        .start()
        .await
        .expect("a2i-local starts on loopback");
    let s3 = local.s3_client();
    let a2i = local.a2i_client();
    let body = serde_json::json!({"id": 1, "score": 0.87, "labels": ["a", "b"]}).to_string();
    s3.put_object()
        .bucket(BUCKET)
        .key(KEY)
        .body(body.into_bytes().into())
        .send()
        .await
        .expect("PutObject succeeds");
    a2i.start_human_loop()
        .human_loop_name("latency")
        .flow_definition_arn(FLOW)
        .human_loop_input(
            HumanLoopInput::builder()
                .input_content(r#"{"id":1}"#)
                .build(),
        )
        .send()
        .await
        .expect("StartHumanLoop succeeds");
    Server { local, s3, a2i }
}

async fn get(server: &Server) -> Duration {
    let t = Instant::now();
    let object = server
        .s3
        .get_object()
        .bucket(BUCKET)
        .key(KEY)
        .send()
        .await
        .expect("GetObject succeeds");
    object.body.collect().await.expect("the body arrives");
    t.elapsed()
}

async fn describe(server: &Server) -> Duration {
    let t = Instant::now();
    server
        .a2i
        .describe_human_loop()
        .human_loop_name("latency")
        .send()
        .await
        .expect("DescribeHumanLoop succeeds");
    t.elapsed()
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let (requests, warmup) = if measuring { (2_000, 50) } else { (20, 2) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime can be built");
    runtime.block_on(async {
        let on = server(true).await;
        let off = server(false).await;
        for _ in 0..warmup {
            for s in [&on, &off] {
                get(s).await;
                describe(s).await;
            }
        }
        let (mut get_on, mut get_off) = (Vec::new(), Vec::new());
        let (mut describe_on, mut describe_off) = (Vec::new(), Vec::new());
        for i in 0..requests {
            // Which server goes first alternates: a request that follows a stalled one
            // starts on a colder machine, and that must not count against one side only.
            let order = if i % 2 == 0 { [true, false] } else { [false, true] };
            for nodelay in order {
                let (server, samples) = if nodelay {
                    (&on, &mut get_on)
                } else {
                    (&off, &mut get_off)
                };
                samples.push(get(server).await);
            }
            for nodelay in order {
                let (server, samples) = if nodelay {
                    (&on, &mut describe_on)
                } else {
                    (&off, &mut describe_off)
                };
                samples.push(describe(server).await);
            }
        }
        println!("{requests} sequential warm requests per server and operation, interleaved, alternating which goes first");
        report("GetObject, NODELAY on", &mut get_on);
        report("GetObject, NODELAY off", &mut get_off);
        report("DescribeHumanLoop, NODELAY on", &mut describe_on);
        report("DescribeHumanLoop, NODELAY off", &mut describe_off);
        on.local.shutdown().await;
        off.local.shutdown().await;
    });
}
