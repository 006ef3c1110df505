//! Batch throughput of the real start handler against a2i-local over HTTP, with an A2I
//! requests-per-second quota (answered with `ThrottlingException`) and added latency: how many
//! loops per second a JSON Lines object gets at each `MAX_CONCURRENCY`, and how many requests
//! the quota throttled on the way (the SDK retries them; none should end as a failure).
//!
//! `cargo bench -p a2i-review-cli --bench throughput` measures; under `cargo test` it runs once on
//! a few items so it cannot rot. Nothing is asserted about speed: machines are shared.

use std::time::{Duration, Instant};

use a2i_local::{FaultConfig, LocalA2i};
use a2i_review::config::StartConfig;
use a2i_review::start::StartHandler;
use serde_json::json;

const FLOW: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/bench";
const BUCKET: &str = "bench-input";

fn config(max_concurrency: usize) -> StartConfig {
    StartConfig::from_lookup(move |name| match name {
        "FLOW_DEFINITION_ARN" => Some(FLOW.to_owned()),
        "ACTIVATION_CONDITIONS" => Some(
            r#"{"Conditions":[{"ConditionType":"Sampling","ConditionParameters":{"RandomSamplingPercentage":100}}]}"#
                .to_owned(),
        ),
        "MAX_CONCURRENCY" => Some(max_concurrency.to_string()),
        _ => None,
    })
    .expect("the benchmark's settings are valid")
}

async fn run(items: usize, max_concurrency: usize, faults: FaultConfig) {
    let local = LocalA2i::builder()
        .bucket(BUCKET)
        .faults(faults.clone())
        .start()
        .await
        .expect("a2i-local starts on loopback");
    let s3 = local.s3_client();
    let key = format!("batch-c{max_concurrency}.jsonl");
    let body: String = (0..items)
        .map(|i| json!({"id": i, "score": (i % 100) as f64 / 100.0}).to_string() + "\n")
        .collect();
    let put = s3
        .put_object()
        .bucket(BUCKET)
        .key(&key)
        .body(body.clone().into_bytes().into())
        .send()
        .await
        .expect("upload to the embedded S3");
    let etag = put.e_tag().unwrap_or_default().trim_matches('"').to_owned();
    // The deployed function's own retry policy, so the numbers say what Lambda would do.
    let a2i = aws_sdk_sagemakera2iruntime::Client::from_conf(
        local
            .a2i_config()
            .retry_config(a2i_review::aws::a2i_retry_config())
            .build(),
    );
    let handler = StartHandler::new(config(max_concurrency), s3, a2i)
        .await
        .expect("handler builds");
    let event = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-21T12:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "bench"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "bench",
               "bucket": {"name": BUCKET, "ownerIdentity": {"principalId": "bench"}, "arn": format!("arn:aws:s3:::{BUCKET}")},
               "object": {"key": key, "size": body.len(), "eTag": etag, "sequencer": "0001"}}
    }]});
    let t = Instant::now();
    let outcome = handler.handle(&event).await;
    let secs = t.elapsed().as_secs_f64();
    let stats = local.fault_stats();
    match outcome {
        Ok(s) => println!(
            "MAX_CONCURRENCY {max_concurrency:>3}: {:>5} loops in {secs:>6.2} s = {:>7.1} loops/s; {} requests throttled and retried",
            s.started,
            s.started as f64 / secs,
            stats.throttled
        ),
        Err(e) => println!(
            "MAX_CONCURRENCY {max_concurrency:>3}: failed after {secs:.2} s ({} throttled): {}",
            stats.throttled, e.to_string().chars().take(200).collect::<String>()
        ),
    }
    local.shutdown().await;
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime can be built");
    let (items, rps, latency) = if measuring {
        (600, 50.0, Duration::from_millis(20))
    } else {
        (20, 200.0, Duration::from_millis(1))
    };
    println!(
        "{items} flagged items per run; A2I quota {rps} requests/s, {} ms added latency",
        latency.as_millis()
    );
    for max_concurrency in [1, 8, 32] {
        let faults = FaultConfig {
            latency,
            requests_per_second: Some(rps),
            error_rate: 0.0,
            seed: Some(7),
        };
        runtime.block_on(run(items, max_concurrency, faults));
    }
}
