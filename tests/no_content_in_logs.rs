//! Item content and reviewer answers never reach a log line or an error payload.
//!
//! Both bootstraps run as Lambda runs them (under `lambda-harness`, a local Runtime API) with
//! `RUST_LOG=trace` and `AWS_LAMBDA_LOG_FORMAT=JSON`, against an in-process a2i-local, over
//! inputs that carry a marker in every field a user controls: item values and keys, a string
//! where a number is expected, a malformed JSON line, a malformed document, items selected by
//! `ITEMS_PATH` that are not a list, reviewer answer keys and values, and `output.json` files
//! with wrongly typed and malformed content. Every stdout and stderr line and every response
//! and error payload is searched for the marker. Bucket names, object keys and loop names may
//! appear (so none of them carries the marker).
//!
//! The test also checks that the content did flow through the functions (a loop's input and
//! a reviewed result hold the marker, trace logging is on), so it cannot pass by not looking.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use a2i_local::{LocalA2i, LocalA2iHandle, WorkerAnswer};
use lambda_harness::{Function, HarnessError, Outcome, Report, Running};
use serde_json::{json, Value};
use tokio::sync::mpsc;

const MARKER: &str = "ZQXMARKERQXZ";
const INPUT_BUCKET: &str = "marker-input";
const RESULTS_BUCKET: &str = "marker-results";

/// Flags low-confidence predictions, and reads a text field by JSONPath (so both condition
/// families see the marker).
const PREDICTIONS: &str = r#"{"Conditions":[{"Or":[
  {"ConditionType":"PredictionConfidenceCheck","ConditionParameters":{"LabelName":"*","TopPredictionOnly":true,"ConfidenceLessThan":0.5}},
  {"ConditionType":"JsonPathCheck","ConditionParameters":{"Path":"$.text","Equals":"never this"}}]}]}"#;
const JSONPATH: &str = r#"{"Conditions":[{"ConditionType":"JsonPathCheck","ConditionParameters":{"Path":"$.score","LessThan":5}}]}"#;
const MODERATION: &str = r#"{"Conditions":[{"ConditionType":"ModerationLabelConfidenceCheck","ConditionParameters":{"ModerationLabelName":"*","ConfidenceLessThan":50}}]}"#;
const FORMS: &str = r#"{"Conditions":[{"Or":[
  {"ConditionType":"ImportantFormKeyConfidenceCheck","ConditionParameters":{"ImportantFormKey":"*","KeyValueBlockConfidenceLessThan":60,"WordBlockConfidenceLessThan":80}},
  {"ConditionType":"MissingImportantFormKey","ConditionParameters":{"ImportantFormKey":"Policy number"}}]}]}"#;

/// Everything a case left behind that must not hold the marker.
#[derive(Default)]
struct Evidence {
    /// (where, text)
    texts: Vec<(String, String)>,
    trace_lines: usize,
    /// Invocations, and the EMF metrics records (one per invocation, each its own line).
    invocations: usize,
    emf_lines: usize,
}

impl Evidence {
    fn payload(&mut self, case: &str, outcome: &Outcome) {
        self.invocations += 1;
        let kind = if outcome.error().is_some() {
            "error payload"
        } else {
            "response"
        };
        self.texts.push((
            format!("{case}: {kind}"),
            String::from_utf8_lossy(outcome.payload()).into_owned(),
        ));
    }

    fn report(&mut self, process: &str, report: &Report) {
        for line in &report.logs {
            if line.text.contains("\"TRACE\"") {
                self.trace_lines += 1;
            }
            if line.text.contains("\"_aws\"") {
                let record: Value = serde_json::from_str(&line.text).unwrap_or_else(|e| {
                    panic!("an EMF record is a line of its own: {e}: {}", line.text)
                });
                assert!(
                    record["_aws"]["CloudWatchMetrics"].is_array(),
                    "{}",
                    line.text
                );
                self.emf_lines += 1;
            }
            self.texts.push((
                format!("{process}: {:?} line", line.stream),
                line.text.clone(),
            ));
        }
    }

    fn leaks(&self) -> Vec<String> {
        self.texts
            .iter()
            .filter(|(_, text)| text.contains(MARKER))
            .map(|(place, text)| {
                let shown: String = text.chars().take(400).collect();
                format!("{place}: {shown}")
            })
            .collect()
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

async fn recv(events: &mut mpsc::UnboundedReceiver<Value>, what: &str) -> Value {
    tokio::time::timeout(Duration::from_secs(20), events.recv())
        .await
        .unwrap_or_else(|_| panic!("no {what} within 20 s"))
        .expect("collector alive")
}

fn env_of(local: &LocalA2iHandle) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = local
        .env_vars()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    env.push(("RUST_LOG".into(), "trace".into()));
    env.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
    env
}

async fn start(bootstrap: &str, name: &str, env: Vec<(String, String)>) -> Running {
    Function::new(bootstrap)
        .name(name)
        .envs(env)
        .start()
        .await
        .unwrap_or_else(|e: HarnessError| panic!("{name} starts: {e}; logs: {:#?}", e.logs()))
}

async fn put(local: &LocalA2iHandle, bucket: &str, key: &str, body: &str) {
    local
        .s3_client()
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap_or_else(|e| panic!("put s3://{bucket}/{key}: {e}"));
}

async fn get(local: &LocalA2iHandle, bucket: &str, key: &str) -> String {
    let object = local
        .s3_client()
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get s3://{bucket}/{key}: {e}"));
    let bytes = object.body.collect().await.expect("body").into_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// One start-handler configuration and the objects it is given.
struct StartCase {
    conditions: &'static str,
    env: Vec<(&'static str, &'static str)>,
    /// (key, body); no key holds the marker.
    objects: Vec<(&'static str, String)>,
}

/// A Textract `AnalyzeDocument` output with one key/value pair, changed by `f`.
fn textract(f: impl Fn(&mut Value)) -> String {
    let mut doc = json!({"DocumentMetadata": {"Pages": 1}, "Blocks": [
        {"BlockType": "PAGE", "Id": "p", "Page": 1, "Confidence": 99.0},
        {"BlockType": "WORD", "Id": "kw", "Text": format!("{MARKER}:"), "Confidence": 98.0},
        {"BlockType": "WORD", "Id": "vw", "Text": MARKER, "Confidence": 40.0},
        {"BlockType": "KEY_VALUE_SET", "Id": "k", "EntityTypes": ["KEY"], "Confidence": 30.0,
         "Relationships": [{"Type": "VALUE", "Ids": ["v"]}, {"Type": "CHILD", "Ids": ["kw"]}]},
        {"BlockType": "KEY_VALUE_SET", "Id": "v", "EntityTypes": ["VALUE"], "Confidence": 30.0,
         "Relationships": [{"Type": "CHILD", "Ids": ["vw"]}]}]});
    f(&mut doc);
    doc.to_string()
}

/// Every start-handler case: one process per condition family, so that an error in one
/// condition cannot hide another's.
fn start_cases() -> Vec<StartCase> {
    let m = MARKER;
    let lines = [
        // Flagged: item values, keys and a label carry the marker into the loop's input.
        json!({"documentId": m, "text": m, m: m, "predictions": [{"label": m, "confidence": 0.2}]})
            .to_string(),
        // A string where the condition needs a number.
        json!({"documentId": "d2", "predictions": [{"label": "billing", "confidence": m}]})
            .to_string(),
        // Not a list where the condition needs one.
        json!({"documentId": "d3", "predictions": m}).to_string(),
        // A label that is not a string, and a nested key.
        json!({"documentId": "d4", "predictions": [{"label": {m: m}, "confidence": 0.1}]})
            .to_string(),
        // A prediction that is not an object.
        json!({"documentId": "d5", "predictions": [m]}).to_string(),
        // An item that is not an object.
        json!(m).to_string(),
        // Malformed JSON around the marker.
        format!(r#"{{"documentId": "{m}", "predictions": [{m}]"#),
        format!("{m} {m}"),
        // Not flagged, the marker only in keys.
        json!({m: {m: 1}, "predictions": [{"label": "billing", "confidence": 0.9}]}).to_string(),
    ];
    vec![
        StartCase {
            conditions: PREDICTIONS,
            env: vec![],
            objects: vec![
                ("incoming/predictions/items.jsonl", lines.join("\n") + "\n"),
                (
                    "incoming/predictions/document.json",
                    json!({m: [m], "text": m, "predictions": [{"label": m, "confidence": "0.1"}]})
                        .to_string(),
                ),
                (
                    "incoming/predictions/malformed.json",
                    format!(r#"{{"text": "{m}", "predictions": [{{"label": {m}}}]"#),
                ),
                (
                    "incoming/predictions/bom.json",
                    format!("\u{feff}{}", json!({"text": m, "predictions": []})),
                ),
            ],
        },
        StartCase {
            conditions: PREDICTIONS,
            env: vec![("ITEMS_PATH", "$.items")],
            objects: vec![
                ("incoming/paged/not-a-list.json", json!({"items": m}).to_string()),
                (
                    "incoming/paged/list.json",
                    json!({"items": [{"predictions": [{"label": m, "confidence": m}]}, m, {m: m}]})
                        .to_string(),
                ),
                ("incoming/paged/missing.json", json!({m: {"items": m}}).to_string()),
            ],
        },
        StartCase {
            conditions: JSONPATH,
            env: vec![],
            objects: vec![(
                "incoming/jsonpath/items.jsonl",
                [
                    json!({"score": m}),
                    json!({"score": {m: m}}),
                    json!({"score": [m, 1]}),
                    json!({"score": 1, "text": m}),
                ]
                .map(|v| v.to_string())
                .join("\n"),
            )],
        },
        StartCase {
            conditions: MODERATION,
            env: vec![],
            objects: vec![(
                "incoming/moderation/items.jsonl",
                [
                    json!({"ModerationLabels": [{"Name": m, "ParentName": m, "Confidence": 10.0}]}),
                    json!({"ModerationLabels": [{"Name": m, "ParentName": "", "Confidence": m}]}),
                    json!({"ModerationLabels": [{"Name": {m: m}, "ParentName": "", "Confidence": 10.0}]}),
                    json!({"ModerationLabels": m}),
                    json!({"ModerationLabels": [m]}),
                ]
                .map(|v| v.to_string())
                .join("\n"),
            )],
        },
        StartCase {
            conditions: FORMS,
            env: vec![],
            objects: vec![
                ("incoming/forms/flagged.json", textract(|_| {})),
                (
                    "incoming/forms/confidence.json",
                    textract(|d| d["Blocks"][3]["Confidence"] = json!(m)),
                ),
                (
                    "incoming/forms/block-type.json",
                    textract(|d| d["Blocks"][3]["BlockType"] = json!({m: m})),
                ),
                (
                    "incoming/forms/ids.json",
                    textract(|d| d["Blocks"][3]["Relationships"][0]["Ids"] = json!([{m: m}])),
                ),
                (
                    "incoming/forms/entity-types.json",
                    textract(|d| d["Blocks"][3]["EntityTypes"] = json!([m])),
                ),
                (
                    "incoming/forms/text.json",
                    textract(|d| d["Blocks"][1]["Text"] = json!([m])),
                ),
                (
                    "incoming/forms/blocks.json",
                    textract(|d| d["Blocks"] = json!(m)),
                ),
            ],
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_item_content_or_answer_reaches_a_log_line_or_an_error_payload() {
    let (s3_tx, mut s3_events) = mpsc::unbounded_channel();
    let (status_tx, mut status_events) = mpsc::unbounded_channel();
    let local = LocalA2i::builder()
        .input_path(format!("s3://{INPUT_BUCKET}/incoming"))
        .bucket(RESULTS_BUCKET)
        .s3_event_callback("marker-test", collector(s3_tx))
        .event_callback("marker-test", collector(status_tx))
        .start()
        .await
        .expect("a2i-local starts");
    let mut evidence = Evidence::default();
    let base_env = env_of(&local);
    let start_env = |case: &StartCase| {
        let mut env = base_env.clone();
        env.push((
            "FLOW_DEFINITION_ARN".into(),
            local.flow_definition_arn("marker-flow"),
        ));
        env.push(("ACTIVATION_CONDITIONS".into(), case.conditions.into()));
        env.push(("LOOP_NAME_PREFIX".into(), "marker".into()));
        env.extend(
            case.env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        env
    };

    // 1. The start handler over every object, each delivered as its real S3 notification.
    for case in start_cases() {
        let mut events = Vec::new();
        for (key, body) in &case.objects {
            put(&local, INPUT_BUCKET, key, body).await;
            events.push((*key, recv(&mut s3_events, "S3 notification").await));
        }
        let mut start = start(
            env!("CARGO_BIN_EXE_start-handler"),
            "start-handler",
            start_env(&case),
        )
        .await;
        for (key, event) in &events {
            let invocation = start
                .invoke_json(event)
                .await
                .unwrap_or_else(|e| panic!("start handler on {key}: {e}; {:#?}", e.logs()));
            evidence.payload(&format!("start-handler on {key}"), &invocation.outcome);
        }
        let report = start.finish().await;
        evidence.report("start-handler", &report);
    }

    // The content did reach A2I: the flagged item's loop holds the marker.
    let pending = local.pending();
    let flagged = pending
        .iter()
        .find(|p| p.input_content.to_string().contains(MARKER))
        .expect("the flagged item's loop was started with its content");
    let name = flagged.human_loop_name.clone();
    assert!(!name.contains(MARKER), "loop names are derived from keys");

    // 2. Reviewers answer with the marker in keys and values, and disagree.
    let answers = [
        WorkerAnswer::new(json!({MARKER: MARKER, "label": {"label": MARKER}})),
        WorkerAnswer::new(json!({MARKER: format!("other {MARKER}"), "label": {"label": "b"}})),
    ];
    local.answer(&name, &answers).await.expect("answered");
    let event = recv(&mut status_events, "status event").await;
    let output_uri = event["detail"]["humanLoopOutput"]["outputS3Uri"]
        .as_str()
        .expect("a completed loop's event names its output")
        .to_owned();
    let (output_bucket, output_key) = output_uri
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .expect("an s3:// URI");
    let original = get(&local, output_bucket, output_key).await;
    assert!(original.contains(MARKER));

    // 3. The status handler on the real output.json, then on broken copies of it.
    let output: Value = serde_json::from_str(&original).expect("a2i-local writes JSON");
    let mut broken = Vec::new();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut doc = output.clone();
        f(&mut doc);
        doc.to_string()
    };
    broken.push((
        "answers not a list",
        with(&|d| d["humanAnswers"] = json!(MARKER)),
    ));
    broken.push((
        "answer content not an object",
        with(&|d| d["humanAnswers"][0]["answerContent"] = json!(MARKER)),
    ));
    broken.push((
        "submission time not a time",
        with(&|d| d["humanAnswers"][0]["submissionTime"] = json!(MARKER)),
    ));
    broken.push((
        "worker id not a string",
        with(&|d| d["humanAnswers"][0]["workerId"] = json!({MARKER: MARKER})),
    ));
    broken.push((
        "malformed",
        format!(r#"{{"humanAnswers": [{{"answerContent": {{"{MARKER}": {MARKER}"#),
    ));

    let mut status = start(env!("CARGO_BIN_EXE_status-handler"), "status-handler", {
        let mut env = base_env.clone();
        env.push(("RESULTS_BUCKET".into(), RESULTS_BUCKET.into()));
        env
    })
    .await;
    let invocation = status
        .invoke_json(&event)
        .await
        .expect("status handler answers");
    evidence.payload("status-handler on the real output", &invocation.outcome);
    // A string where the loop's input was (the handler may keep it as it is, or refuse it).
    let mut doc = output.clone();
    doc["inputContent"] = json!(MARKER);
    put(&local, output_bucket, output_key, &doc.to_string()).await;
    let other = status
        .invoke_json(&event)
        .await
        .expect("status handler answers");
    evidence.payload(
        "status-handler on input content not an object",
        &other.outcome,
    );
    let written: Value = serde_json::from_slice(
        invocation
            .outcome
            .response()
            .unwrap_or_else(|| panic!("the result is written: {:?}", invocation.outcome)),
    )
    .expect("JSON outcome");
    let result_key = written["resultKey"].as_str().expect("a result key");
    assert!(
        get(&local, RESULTS_BUCKET, result_key)
            .await
            .contains(MARKER),
        "the answers went through the status handler"
    );
    for (case, body) in &broken {
        put(&local, output_bucket, output_key, body).await;
        let invocation = status
            .invoke_json(&event)
            .await
            .unwrap_or_else(|e| panic!("status handler on {case}: {e}"));
        assert!(
            invocation.outcome.error().is_some(),
            "{case}: the broken output is refused"
        );
        evidence.payload(&format!("status-handler on {case}"), &invocation.outcome);
    }
    let report = status.finish().await;
    evidence.report("status-handler", &report);
    local.shutdown().await;

    assert_eq!(
        evidence.emf_lines, evidence.invocations,
        "every invocation printed one EMF record (which the marker search covers)"
    );
    assert!(
        evidence.trace_lines > 0,
        "RUST_LOG=trace with JSON logs produced no TRACE line: the test would see nothing"
    );
    // For a look at everything the functions wrote: NO_CONTENT_DUMP=/tmp/logs.txt.
    if let Some(path) = std::env::var_os("NO_CONTENT_DUMP") {
        let all: Vec<String> = evidence
            .texts
            .iter()
            .map(|(place, text)| format!("{place}: {text}"))
            .collect();
        std::fs::write(path, all.join("\n")).expect("dump written");
    }
    let leaks = evidence.leaks();
    assert!(
        leaks.is_empty(),
        "the marker appears in {} of {} log lines and payloads:\n{}",
        leaks.len(),
        evidence.texts.len(),
        leaks.join("\n")
    );
}
