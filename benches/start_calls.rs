//! What knowing "started" from "already started" costs: A2I calls and wall time per flagged
//! item of the start handler against a2i-local (real HTTP on loopback), next to bare
//! `StartHumanLoop` calls, the floor the old one-call-per-item handler stood on.
//!
//! The handler looks every flagged item up with `DescribeHumanLoop` before it starts a loop
//! (see `src/start/a2i.rs` for why). Four runs on the same machine, one after the other:
//!
//! - bare: one `StartHumanLoop` per item, new names, `MAX_CONCURRENCY` in flight;
//! - describe + start: the two calls the handler makes for a new loop, without the handler;
//! - first delivery: the handler on an object of new items (describe, then start);
//! - redelivery: the same event again (describe only).
//!
//! `cargo bench --bench start_calls` measures 400 items; under `cargo test` the same code runs
//! on 8 items, so the benchmark cannot rot. Numbers are printed, never asserted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use a2i_local::LocalA2i;
use a2i_review::config::StartConfig;
use a2i_review::start::StartHandler;
use aws_sdk_sagemakera2iruntime::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_sagemakera2iruntime::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sagemakera2iruntime::types::HumanLoopInput;
use futures::StreamExt;
use serde_json::json;

const BUCKET: &str = "bench-input";
const CONCURRENCY: usize = 8;

/// Counts the A2I requests put on the wire, by operation (retries included).
#[derive(Debug, Default)]
struct Calls {
    start: AtomicUsize,
    describe: AtomicUsize,
}

#[derive(Debug, Clone)]
struct CountCalls(Arc<Calls>);

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_sagemakera2iruntime::error::BoxError> {
        let counter = if context.request().method() == "POST" {
            &self.0.start
        } else {
            &self.0.describe
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl Calls {
    fn take(&self) -> (usize, usize) {
        (
            self.start.swap(0, Ordering::Relaxed),
            self.describe.swap(0, Ordering::Relaxed),
        )
    }
}

fn report(what: &str, items: usize, secs: f64, (start, describe): (usize, usize), floor: f64) {
    let per_item = secs * 1e3 / items as f64;
    println!(
        "{what:<16} {items:>5} items  {:>5.2} StartHumanLoop + {:>5.2} DescribeHumanLoop per item  {per_item:>7.3} ms/item  {:>5.2}x bare",
        start as f64 / items as f64,
        describe as f64 / items as f64,
        per_item / floor,
    );
}

async fn run(items: usize) {
    let local = LocalA2i::builder().start().await.expect("a2i-local starts");
    let calls = Arc::new(Calls::default());
    let a2i = aws_sdk_sagemakera2iruntime::Client::from_conf(
        local
            .a2i_config()
            .interceptor(CountCalls(calls.clone()))
            .build(),
    );
    let flow = local.flow_definition_arn("bench");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let s3 = a2i_local::EmbeddedS3::new(dir.path(), a2i_local::Credentials::default(), "us-east-1")
        .expect("an embedded S3")
        .in_process_client();
    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("bucket");
    let body: String = (0..items)
        .map(|i| format!("{}\n", json!({"id": i, "score": 0.1})))
        .collect();
    let put = s3
        .put_object()
        .bucket(BUCKET)
        .key("items.jsonl")
        .body(body.clone().into_bytes().into())
        .send()
        .await
        .expect("put");
    let etag = put.e_tag().unwrap_or_default().trim_matches('"').to_owned();

    // Bare: the cost floor, one StartHumanLoop per item with an input of the same size class.
    let t = Instant::now();
    futures::stream::iter(0..items)
        .map(|i| {
            let (a2i, flow) = (a2i.clone(), flow.clone());
            async move {
                a2i.start_human_loop()
                    .human_loop_name(format!("bare-{i}"))
                    .flow_definition_arn(flow)
                    .human_loop_input(
                        HumanLoopInput::builder()
                            .input_content(
                                json!({"taskObject": {"id": i, "score": 0.1}}).to_string(),
                            )
                            .build(),
                    )
                    .send()
                    .await
                    .expect("bare start")
            }
        })
        .buffer_unordered(CONCURRENCY)
        .for_each(|_| async {})
        .await;
    let bare = t.elapsed().as_secs_f64() * 1e3 / items as f64;
    report(
        "bare start",
        items,
        bare * items as f64 / 1e3,
        calls.take(),
        bare,
    );

    // The same calls the handler makes for a new loop, without the handler: the describe's
    // own cost.
    let t = Instant::now();
    futures::stream::iter(0..items)
        .map(|i| {
            let (a2i, flow) = (a2i.clone(), flow.clone());
            async move {
                let name = format!("pair-{i}");
                let absent = a2i
                    .describe_human_loop()
                    .human_loop_name(&name)
                    .send()
                    .await;
                assert!(absent.is_err(), "a new name has no loop");
                a2i.start_human_loop()
                    .human_loop_name(name)
                    .flow_definition_arn(flow)
                    .human_loop_input(
                        HumanLoopInput::builder()
                            .input_content(
                                json!({"taskObject": {"id": i, "score": 0.1}}).to_string(),
                            )
                            .build(),
                    )
                    .send()
                    .await
                    .expect("bare start")
            }
        })
        .buffer_unordered(CONCURRENCY)
        .for_each(|_| async {})
        .await;
    report(
        "describe + start",
        items,
        t.elapsed().as_secs_f64(),
        calls.take(),
        bare,
    );

    let conditions = json!({"Conditions": [{"ConditionType": "JsonPathCheck",
        "ConditionParameters": {"Path": "$.score", "LessThan": 0.5}}]})
    .to_string();
    let config = StartConfig::from_lookup(|name| match name {
        "FLOW_DEFINITION_ARN" => Some(flow.clone()),
        "ACTIVATION_CONDITIONS" => Some(conditions.clone()),
        "MAX_CONCURRENCY" => Some(CONCURRENCY.to_string()),
        _ => None,
    })
    .expect("bench settings are valid");
    let handler = StartHandler::new(config, s3, a2i).await.expect("handler");
    let event = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-21T12:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "bench"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "bench",
               "bucket": {"name": BUCKET, "ownerIdentity": {"principalId": "bench"}, "arn": format!("arn:aws:s3:::{BUCKET}")},
               "object": {"key": "items.jsonl", "size": body.len(), "eTag": etag, "sequencer": "0001"}}
    }]});
    for what in ["first delivery", "redelivery"] {
        let t = Instant::now();
        let summary = handler.handle(&event).await.expect("the handler succeeds");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(summary.started + summary.already_started, items);
        report(what, items, secs, calls.take(), bare);
    }
    local.shutdown().await;
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime can be built");
    runtime.block_on(run(if measuring { 400 } else { 8 }));
}
