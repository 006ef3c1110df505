//! What the loop registry costs per flagged item: the start handler on objects of new items,
//! side by side without and with `RESULTS_BUCKET` (one `PutObject` of the registration before
//! each `StartHumanLoop`), against a2i-local: its A2I runtime and its embedded S3, both over
//! real HTTP on loopback, as a deployed function reaches A2I and S3.
//!
//! Runs alternate (without, with, without, with, …) on fresh objects, so both see the same
//! machine state; the median per-item time of each side is reported with the difference.
//! Redelivery (every loop exists: no registration is written) is measured once per side.
//!
//! `cargo bench --bench registry` measures 5 rounds of 200 items per side; under `cargo test`
//! the same code runs one round of 8 items, so the benchmark cannot rot. Numbers are printed,
//! never asserted.

use std::time::Instant;

use a2i_local::{LocalA2i, LocalA2iHandle};
use a2i_review::config::StartConfig;
use a2i_review::start::StartHandler;
use futures::StreamExt;
use serde_json::{json, Value};

const BUCKET: &str = "bench-input";
const RESULTS: &str = "bench-results";
const CONCURRENCY: usize = 8;

async fn upload(local: &LocalA2iHandle, key: &str, items: usize) -> Value {
    let s3 = local.s3_client();
    let body: String = (0..items)
        .map(|i| format!("{}\n", json!({"id": i, "score": 0.1})))
        .collect();
    let put = s3
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(body.clone().into_bytes().into())
        .send()
        .await
        .expect("put");
    let etag = put.e_tag().unwrap_or_default().trim_matches('"').to_owned();
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-21T12:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "bench"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "bench",
               "bucket": {"name": BUCKET, "ownerIdentity": {"principalId": "bench"}, "arn": format!("arn:aws:s3:::{BUCKET}")},
               "object": {"key": key, "size": body.len(), "eTag": etag, "sequencer": "0001"}}
    }]})
}

async fn handler(local: &LocalA2iHandle, registry: bool) -> StartHandler {
    let flow = local.flow_definition_arn("bench");
    let conditions = json!({"Conditions": [{"ConditionType": "JsonPathCheck",
        "ConditionParameters": {"Path": "$.score", "LessThan": 0.5}}]})
    .to_string();
    let config = StartConfig::from_lookup(|name| match name {
        "FLOW_DEFINITION_ARN" => Some(flow.clone()),
        "ACTIVATION_CONDITIONS" => Some(conditions.clone()),
        "MAX_CONCURRENCY" => Some(CONCURRENCY.to_string()),
        "RESULTS_BUCKET" if registry => Some(RESULTS.to_owned()),
        _ => None,
    })
    .expect("bench settings are valid");
    StartHandler::new(config, local.s3_client(), local.a2i_client())
        .await
        .expect("handler")
}

/// ms per item of one invocation.
async fn timed(handler: &StartHandler, event: &Value, items: usize) -> f64 {
    let t = Instant::now();
    let summary = handler.handle(event).await.expect("the handler succeeds");
    assert_eq!(summary.started + summary.already_started, items);
    t.elapsed().as_secs_f64() * 1e3 / items as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn run(rounds: usize, items: usize) {
    let local = LocalA2i::builder().start().await.expect("a2i-local starts");
    let s3 = local.s3_client();
    for b in [BUCKET, RESULTS] {
        s3.create_bucket().bucket(b).send().await.expect("bucket");
    }
    let without = handler(&local, false).await;
    let with = handler(&local, true).await;
    let (mut plain, mut registered) = (Vec::new(), Vec::new());
    let mut last = (Value::Null, Value::Null);
    for round in 0..rounds {
        let event = upload(&local, &format!("plain-{round}.jsonl"), items).await;
        plain.push(timed(&without, &event, items).await);
        last.0 = event;
        let event = upload(&local, &format!("registered-{round}.jsonl"), items).await;
        registered.push(timed(&with, &event, items).await);
        last.1 = event;
    }
    let registrations = s3
        .list_objects_v2()
        .bucket(RESULTS)
        .prefix("loops/")
        .send()
        .await
        .expect("list")
        .key_count()
        .unwrap_or_default();
    let (p, r) = (median(plain), median(registered));
    println!("{rounds} rounds x {items} new flagged items per side, MAX_CONCURRENCY {CONCURRENCY}, a2i-local over loopback HTTP");
    println!("without registry  {p:>7.3} ms/item (median)");
    println!(
        "with registry     {r:>7.3} ms/item (median)  {:+.3} ms/item  {:.2}x  ({registrations} registrations written, listing capped at 1000)",
        r - p,
        r / p
    );
    // The registration's own price: bare PutObjects of a registration's size, as many and as
    // concurrent as the handler's.
    let body = vec![b'x'; 700];
    let t = Instant::now();
    futures::stream::iter(0..items * rounds)
        .map(|i| {
            let (s3, body) = (s3.clone(), body.clone());
            async move {
                s3.put_object()
                    .bucket(RESULTS)
                    .key(format!("bare/{i}.json"))
                    .body(body.into())
                    .send()
                    .await
                    .expect("bare put")
            }
        })
        .buffer_unordered(CONCURRENCY)
        .for_each(|_| async {})
        .await;
    println!(
        "bare PutObject    {:>7.3} ms/item ({CONCURRENCY} in flight, 700 bytes)",
        t.elapsed().as_secs_f64() * 1e3 / (items * rounds) as f64
    );
    let redelivered_plain = timed(&without, &last.0, items).await;
    let redelivered_registered = timed(&with, &last.1, items).await;
    println!(
        "redelivery        {redelivered_plain:>7.3} ms/item without, {redelivered_registered:>7.3} ms/item with (no registration is written for a loop that exists)"
    );
    local.shutdown().await;
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime can be built");
    if measuring {
        runtime.block_on(run(5, 200));
    } else {
        runtime.block_on(run(1, 8));
    }
}
