//! The loop registry end to end on a2i-local, with the real SDK clients over its wire: the
//! start handler registers every loop before starting it (same bytes on redelivery, no loop
//! without its registration), and the status handler puts the results of expired and
//! stopped loops next to their source item; `_no-source` is left for loops the app did not
//! start.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use a2i_local::{LocalA2i, LocalA2iHandle};
use a2i_review::config::{StartConfig, StatusConfig};
use a2i_review::registry::{input_sha256, LoopRegistration, SCHEMA};
use a2i_review::start::{FailureKind, StartError, StartHandler, Summary};
use a2i_review::status::{StatusHandler, StatusOutcome};
use aws_sdk_sagemakera2iruntime::types::HumanLoopInput;
use common::{ensure_bucket, put, s3_put_event};
use serde_json::{json, Value};
use tokio::sync::mpsc;

const INPUT: &str = "registry-input";
const RESULTS: &str = "registry-results";
const KEY: &str = "batch 3/predictions+1.jsonl";
/// Flags an item whose top prediction has a confidence under 0.6.
const LOW_CONFIDENCE: &str = r#"{"Conditions":[{"ConditionType":"PredictionConfidenceCheck","ConditionParameters":{"LabelName":"*","TopPredictionOnly":true,"ConfidenceLessThan":0.6}}]}"#;

fn body() -> String {
    [0.2, 0.9, 0.3, 0.4]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"id": i, "predictions": [{"label": "invoice", "confidence": c}]}).to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn lookup(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
}

fn collector(tx: mpsc::UnboundedSender<Value>) -> a2i_local::EventCallback {
    let tx = Arc::new(Mutex::new(tx));
    Arc::new(move |event| {
        let sent = tx.lock().map(|tx| tx.send(event).is_ok()).unwrap_or(false);
        Box::pin(async move {
            if sent {
                Ok(())
            } else {
                Err("the test stopped listening".to_owned())
            }
        })
    })
}

async fn next_event(events: &mut mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(20), events.recv())
        .await
        .expect("a status event within 20 s")
        .expect("collector alive")
}

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let out = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(out.body.collect().await.ok()?.into_bytes().to_vec())
}

struct World {
    local: LocalA2iHandle,
    events: mpsc::UnboundedReceiver<Value>,
    s3: aws_sdk_s3::Client,
    flow: String,
    event: Value,
}

async fn world() -> World {
    let (tx, events) = mpsc::unbounded_channel();
    let local = LocalA2i::builder()
        .event_callback("registry-test", collector(tx))
        .start()
        .await
        .expect("a2i-local starts");
    let s3 = local.s3_client();
    let body = body();
    let etag = put(&s3, INPUT, KEY, body.as_bytes()).await;
    ensure_bucket(&s3, RESULTS).await;
    let flow = local.flow_definition_arn("doc-review");
    let event = s3_put_event(INPUT, KEY, &etag, body.len());
    World {
        local,
        events,
        s3,
        flow,
        event,
    }
}

impl World {
    async fn start_handler(&self, results_bucket: &str) -> StartHandler {
        let config = StartConfig::from_lookup(lookup(vec![
            ("FLOW_DEFINITION_ARN", self.flow.clone()),
            ("ACTIVATION_CONDITIONS", LOW_CONFIDENCE.into()),
            ("RESULTS_BUCKET", results_bucket.into()),
        ]))
        .unwrap();
        StartHandler::new(config, self.s3.clone(), self.local.a2i_client())
            .await
            .unwrap()
    }

    fn status_handler(&self) -> StatusHandler {
        let config = StatusConfig::from_lookup(lookup(vec![
            ("RESULTS_BUCKET", RESULTS.into()),
            ("FLOW_DEFINITION_ARN", self.flow.clone()),
        ]))
        .unwrap();
        StatusHandler::new(config, self.s3.clone())
    }

    /// The names of the loops a2i-local holds, by the item index their input names.
    fn loops_by_item(&self) -> Vec<(u64, String, Value)> {
        let mut loops: Vec<(u64, String, Value)> = self
            .local
            .pending()
            .into_iter()
            .map(|p| {
                let index = p.input_content["source"]["itemIndex"].as_u64().unwrap();
                (index, p.human_loop_name, p.input_content)
            })
            .collect();
        loops.sort_by_key(|l| l.0);
        loops
    }
}

fn summary_of(r: Result<Summary, StartError>) -> Summary {
    match r {
        Ok(s) => s,
        Err(StartError::ItemsFailed { summary }) => summary,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_started_loop_is_registered_and_redelivery_rewrites_the_same_bytes() {
    let w = world().await;
    let handler = w.start_handler(RESULTS).await;
    let s = handler.handle(&w.event).await.unwrap();
    assert_eq!((s.flagged, s.started), (3, 3));
    let loops = w.loops_by_item();
    assert_eq!(loops.iter().map(|l| l.0).collect::<Vec<_>>(), [0, 2, 3]);
    let mut first = Vec::new();
    for (index, name, input) in &loops {
        let bytes = get(&w.s3, RESULTS, &format!("loops/{name}.json"))
            .await
            .unwrap_or_else(|| panic!("loop {name} is registered"));
        let r = LoopRegistration::parse(&bytes).unwrap();
        assert_eq!(r.schema, SCHEMA);
        assert_eq!(&r.human_loop_name, name);
        assert_eq!(r.flow_definition_arn, w.flow);
        assert_eq!(
            (r.source.bucket.as_str(), r.source.key.as_str()),
            (INPUT, KEY)
        );
        assert!(r.source.e_tag.is_some() && r.source.version_id.is_none());
        assert_eq!((r.item_index, r.line), (*index, Some(index + 1)));
        // The digest is of the exact InputContent: rendering is compact and ordered, so the
        // loop's input serialized again is those bytes.
        assert_eq!(r.input_sha256, input_sha256(&input.to_string()));
        assert_eq!(
            r.created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "2026-11-21T10:15:42.187Z",
            "the S3 event's eventTime, not the clock"
        );
        assert_eq!((r.restart_of, r.generation), (None, 0));
        first.push(bytes);
    }
    // Redelivery: nothing new is started, and the registrations hold the same bytes.
    let again = handler.handle(&w.event).await.unwrap();
    assert_eq!((again.started, again.already_started), (0, 3));
    for ((_, name, _), bytes) in loops.iter().zip(&first) {
        let now = get(&w.s3, RESULTS, &format!("loops/{name}.json"))
            .await
            .unwrap();
        assert_eq!(&now, bytes);
    }
    w.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_loop_is_started_when_its_registration_cannot_be_written() {
    let w = world().await;
    let handler = w.start_handler("no-such-registry-bucket").await;
    let s = summary_of(handler.handle(&w.event).await);
    assert_eq!((s.flagged, s.started, s.failed), (3, 0, 3));
    for f in &s.failures {
        assert_eq!(f.kind, FailureKind::RegistryWrite, "{f:?}");
        assert!(f.reason.contains("NoSuchBucket"), "{}", f.reason);
        assert!(f.reason.contains("not started"), "{}", f.reason);
        assert!(f.loop_name.is_some());
    }
    assert!(
        w.local.pending().is_empty(),
        "no loop without its registration"
    );
    w.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_stopped_loops_get_results_next_to_their_source_item() {
    let mut w = world().await;
    let handler = w.start_handler(RESULTS).await;
    handler.handle(&w.event).await.unwrap();
    let loops = w.loops_by_item();
    let (expired, stopped) = (&loops[0], &loops[1]);

    // A loop the app did not start: no registration.
    let foreign = "someone-elses-loop";
    w.local
        .a2i_client()
        .start_human_loop()
        .human_loop_name(foreign)
        .flow_definition_arn(&w.flow)
        .human_loop_input(
            HumanLoopInput::builder()
                .input_content(r#"{"taskObject":"x"}"#)
                .build(),
        )
        .send()
        .await
        .unwrap();

    let status = w.status_handler();
    w.local.expire(&expired.1).await.unwrap();
    w.local.stop(&stopped.1).await.unwrap();
    w.local.expire(foreign).await.unwrap();
    let mut written = Vec::new();
    for _ in 0..3 {
        let event = next_event(&mut w.events).await;
        match status.handle(event).await.unwrap() {
            StatusOutcome::Written {
                human_loop_name,
                status,
                result_key,
                ..
            } => written.push((human_loop_name, status.as_str(), result_key)),
            other => panic!("{other:?}"),
        }
    }
    written.sort();
    let next_to_source = |name: &str| format!("reviewed/{INPUT}/{KEY}/{name}.json");
    let mut expected = vec![
        (expired.1.clone(), "Failed", next_to_source(&expired.1)),
        (stopped.1.clone(), "Stopped", next_to_source(&stopped.1)),
        (
            foreign.to_owned(),
            "Failed",
            format!("reviewed/_no-source/{foreign}.json"),
        ),
    ];
    expected.sort();
    assert_eq!(written, expected);
    for (index, name) in [(expired.0, &expired.1), (stopped.0, &stopped.1)] {
        let doc: Value =
            serde_json::from_slice(&get(&w.s3, RESULTS, &next_to_source(name)).await.unwrap())
                .unwrap();
        assert_eq!(doc["source"]["bucket"], json!(INPUT));
        assert_eq!(doc["source"]["key"], json!(KEY));
        assert_eq!(doc["source"]["itemIndex"], json!(index));
        assert_eq!(doc["source"]["line"], json!(index + 1));
    }
    w.local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_registration_fails_the_event_instead_of_losing_the_item() {
    let mut w = world().await;
    let handler = w.start_handler(RESULTS).await;
    handler.handle(&w.event).await.unwrap();
    let name = w.loops_by_item()[0].1.clone();
    put(
        &w.s3,
        RESULTS,
        &format!("loops/{name}.json"),
        b"{\"schema\":\"other\"}",
    )
    .await;
    w.local.expire(&name).await.unwrap();
    let event = next_event(&mut w.events).await;
    let e = w.status_handler().handle(event).await.unwrap_err();
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("schema"), "{e}");
    assert!(
        w.s3.list_objects_v2()
            .bucket(RESULTS)
            .prefix("reviewed/")
            .send()
            .await
            .unwrap()
            .contents()
            .is_empty(),
        "nothing is written under _no-source"
    );
    w.local.shutdown().await;
}
