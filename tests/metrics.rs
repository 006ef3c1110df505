//! The EMF records of both functions, end to end on a2i-local with the real SDK clients:
//! each record is valid EMF (checked against the rules of the EMF specification), its numbers
//! equal the invocation's summary and result, and no record carries item content or answers.
//! Also: a long start invocation logs its progress at the configured interval.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use a2i_local::{LocalA2i, WorkerAnswer};
use a2i_review::config::{StartConfig, StatusConfig};
use a2i_review::metrics::MetricsSink;
use a2i_review::start::{FailureKind, StartError, StartHandler, Summary};
use a2i_review::status::{StatusHandler, StatusOutcome};
use common::{ensure_bucket, put, s3_put_event};
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

const MARKER: &str = "ZQXMARKERQXZ";
const INPUT: &str = "metrics-input";
const RESULTS: &str = "metrics-results";
/// Two top-level conditions, one with nested members, so activations have several paths.
const CONDITIONS: &str = r#"{"Conditions":[
  {"ConditionType":"PredictionConfidenceCheck","ConditionParameters":{"LabelName":"*","TopPredictionOnly":true,"ConfidenceLessThan":0.6}},
  {"Or":[{"ConditionType":"JsonPathCheck","ConditionParameters":{"Path":"$.score","LessThan":5}},
         {"ConditionType":"JsonPathCheck","ConditionParameters":{"Path":"$.score","GreaterThan":100}}]}]}"#;

/// Checks one line against the EMF specification's rules and returns the parsed object.
fn check_emf(line: &str) -> Map<String, Value> {
    assert!(!line.contains('\n'), "one line: {line}");
    let v: Value = serde_json::from_str(line).expect("an EMF record is one JSON object");
    let root = v.as_object().expect("a JSON object").clone();
    let aws = root["_aws"].as_object().expect("_aws is an object");
    assert!(
        aws["Timestamp"]
            .as_i64()
            .is_some_and(|t| t > 1_600_000_000_000),
        "epoch ms"
    );
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .expect("CloudWatchMetrics list");
    assert!(!directives.is_empty());
    for d in directives {
        let ns = d["Namespace"].as_str().expect("Namespace");
        assert!(
            !ns.is_empty()
                && ns.len() <= 256
                && ns
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._#:/-".contains(c)),
            "{ns}"
        );
        let sets = d["Dimensions"].as_array().expect("Dimensions list");
        assert!(!sets.is_empty(), "at least one dimension set");
        for set in sets {
            let set = set.as_array().expect("a dimension set is a list");
            assert!(set.len() <= 30);
            for name in set {
                let name = name.as_str().expect("dimension names are strings");
                let value = root[name]
                    .as_str()
                    .unwrap_or_else(|| panic!("dimension {name} is a root string"));
                assert!(value.is_ascii() && !value.is_empty() && value.len() <= 1024);
                assert!(!name.starts_with(':'));
            }
        }
        let metrics = d["Metrics"].as_array().expect("Metrics list");
        assert!(
            metrics.len() <= 100,
            "at most 100 metrics, got {}",
            metrics.len()
        );
        for m in metrics {
            let name = m["Name"].as_str().expect("metric Name");
            assert!(
                !name.is_empty() && name.len() <= 255 && name.is_ascii(),
                "{name}"
            );
            let unit = m["Unit"].as_str().expect("metric Unit");
            assert!(["Count", "Seconds", "Percent"].contains(&unit), "{unit}");
            assert!(
                root[name].as_f64().is_some_and(f64::is_finite),
                "metric {name} is a root number"
            );
        }
    }
    root
}

fn metric(record: &Map<String, Value>, name: &str) -> usize {
    record
        .get(name)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("metric {name} in {record:?}")) as usize
}

fn lookup(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
}

fn summary_of(r: Result<Summary, StartError>) -> Summary {
    match r {
        Ok(s) => s,
        Err(StartError::ItemsFailed { summary }) => summary,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn lines_of(lines: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    lines.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_invocation_prints_one_emf_record_equal_to_its_summary_without_content() {
    let (tx, mut events) = mpsc::unbounded_channel::<Value>();
    let tx = Arc::new(Mutex::new(tx));
    let local = LocalA2i::builder()
        .event_callback(
            "metrics-test",
            Arc::new(move |event| {
                let _ = tx.lock().map(|tx| tx.send(event));
                Box::pin(async { Ok(()) })
            }),
        )
        .start()
        .await
        .unwrap();
    let s3 = local.s3_client();
    ensure_bucket(&s3, RESULTS).await;
    let m = MARKER;
    let body = [
        json!({"text": m, "predictions": [{"label": m, "confidence": 0.2}]}), // flagged (0)
        json!({"text": m, "predictions": [{"label": "a", "confidence": 0.9}], "score": 50}), // skipped
        json!({"text": m, "predictions": [{"label": "a", "confidence": 0.9}], "score": 1}), // flagged (1.Or[0])
        json!({"predictions": m, "score": 50}), // not evaluable
    ]
    .map(|v| v.to_string())
    .join("\n")
        + &format!("\n{{\"text\": \"{m}\"\n"); // not JSON
    let key = "batch/metrics.jsonl";
    let etag = put(&s3, INPUT, key, body.as_bytes()).await;
    let event = s3_put_event(INPUT, key, &etag, body.len());
    let flow = local.flow_definition_arn("metrics-flow");
    let config = StartConfig::from_lookup(lookup(vec![
        ("FLOW_DEFINITION_ARN", flow.clone()),
        ("ACTIVATION_CONDITIONS", CONDITIONS.into()),
        ("RESULTS_BUCKET", RESULTS.into()),
    ]))
    .unwrap();
    let (sink, lines) = MetricsSink::memory();
    let start = StartHandler::new(config, s3.clone(), local.a2i_client())
        .await
        .unwrap()
        .with_metrics(sink);

    let summary = summary_of(start.handle(&event).await);
    assert_eq!(
        (
            summary.items,
            summary.flagged,
            summary.skipped,
            summary.started,
            summary.failed
        ),
        (5, 2, 1, 2, 2)
    );
    let again = summary_of(start.handle(&event).await);
    let all = lines_of(&lines);
    assert_eq!(all.len(), 2, "one record per invocation");
    for (line, summary) in all.iter().zip([&summary, &again]) {
        let r = check_emf(line);
        assert_eq!(
            r["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            json!("a2i-review")
        );
        assert_eq!(
            r["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function", "FlowDefinition"]])
        );
        assert_eq!(
            (r["Function"].as_str(), r["FlowDefinition"].as_str()),
            (Some("start"), Some("metrics-flow"))
        );
        for (name, n) in [
            ("Objects", summary.objects),
            ("Items", summary.items),
            ("Flagged", summary.flagged),
            ("Skipped", summary.skipped),
            ("Started", summary.started),
            ("AlreadyStarted", summary.already_started),
            ("Failed", summary.failed),
        ] {
            assert_eq!(metric(&r, name), n, "{name}");
        }
        let mut by_kind = 0;
        for kind in FailureKind::ALL {
            let n = summary.failures.iter().filter(|f| f.kind == kind).count();
            assert_eq!(
                metric(&r, &format!("Failed.{}", kind.as_str())),
                n,
                "{kind:?}"
            );
            by_kind += n;
        }
        assert_eq!(by_kind, summary.failed);
        // Activations: of the three evaluated items, one held Conditions[0] and one
        // Conditions[1] through its first member.
        for (path, n) in [
            ("Conditions[0]", 1),
            ("Conditions[1]", 1),
            ("Conditions[1].Or[0]", 1),
            ("Conditions[1].Or[1]", 0),
        ] {
            assert_eq!(metric(&r, &format!("Activated.{path}")), n, "{path}");
        }
    }
    assert_eq!((again.started, again.already_started), (0, 2));
    let r = check_emf(&all[0]);
    assert_eq!(metric(&r, "Failed.InvalidItem"), 2);

    // The status function on a loop two workers answered, disagreeing on one field of two.
    let name = local
        .pending()
        .into_iter()
        .find(|p| p.input_content.to_string().contains(MARKER))
        .expect("a flagged item's loop")
        .human_loop_name;
    local
        .answer(
            &name,
            &[
                WorkerAnswer::new(json!({"label": {"label": m}, "ok": {"on": true}})),
                WorkerAnswer::new(json!({"label": {"label": "b"}, "ok": {"on": true}})),
            ],
        )
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(20), events.recv())
        .await
        .unwrap()
        .unwrap();
    let (status_sink, status_lines) = MetricsSink::memory();
    let status = StatusHandler::new(
        StatusConfig::from_lookup(lookup(vec![("RESULTS_BUCKET", RESULTS.into())])).unwrap(),
        s3.clone(),
    )
    .with_metrics(status_sink);
    let StatusOutcome::Written { result_key, .. } = status.handle(event.clone()).await.unwrap()
    else {
        panic!("written")
    };
    let doc: Value = serde_json::from_slice(
        &s3.get_object()
            .bucket(RESULTS)
            .key(&result_key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes(),
    )
    .unwrap();
    assert!(doc.to_string().contains(MARKER), "the answers went through");
    let mut bad = event.clone();
    bad["detail"]["humanLoopStatus"] = json!("InProgress");
    status.handle(bad).await.unwrap_err();
    let status_all = lines_of(&status_lines);
    assert_eq!(status_all.len(), 2);
    let r = check_emf(&status_all[0]);
    assert_eq!(
        (r["Function"].as_str(), r["FlowDefinition"].as_str()),
        (Some("status"), Some("metrics-flow"))
    );
    assert_eq!(
        ["Completed", "Failed", "Stopped", "ResultsWithoutSource"].map(|n| metric(&r, n)),
        [1, 0, 0, 0]
    );
    assert_eq!(metric(&r, "AnswersPerLoop"), 2);
    assert_eq!(
        r["AgreementRate"].as_f64(),
        Some(50.0),
        "ok agreed, label did not"
    );
    let created =
        chrono::DateTime::parse_from_rfc3339(doc["creationTime"].as_str().unwrap()).unwrap();
    let done =
        chrono::DateTime::parse_from_rfc3339(doc["completionTime"].as_str().unwrap()).unwrap();
    // The event's time has whole seconds: a quick review may seem to end before it began.
    let seconds = ((done - created).num_milliseconds() as f64 / 1000.0).max(0.0);
    assert_eq!(
        r.get("ReviewTimeSeconds").and_then(Value::as_f64),
        Some(seconds)
    );
    let r = check_emf(&status_all[1]);
    assert_eq!(
        (metric(&r, "Errors"), metric(&r, "Errors.UnexpectedStatus")),
        (1, 1)
    );

    for line in all.iter().chain(&status_all) {
        assert!(
            !line.contains(MARKER),
            "a metrics record carries content: {line}"
        );
    }
    local.shutdown().await;
}

/// A `MakeWriter` that keeps every log line.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_long_invocation_logs_its_progress_at_the_interval() {
    use lambda_runtime::tracing::subscriber;
    let logs = Captured::default();
    let writer = logs.clone();
    let collector = subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .with_max_level(lambda_runtime::tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(collector);

    let local = LocalA2i::builder().start().await.unwrap();
    let s3 = local.s3_client();
    let body: Vec<String> = (0..60)
        .map(|i| json!({"id": i, "predictions": [{"label": "a", "confidence": 0.1}]}).to_string())
        .collect();
    let body = body.join("\n");
    let etag = put(&s3, INPUT, "long.jsonl", body.as_bytes()).await;
    let event = s3_put_event(INPUT, "long.jsonl", &etag, body.len());
    let config = StartConfig::from_lookup(lookup(vec![
        ("FLOW_DEFINITION_ARN", local.flow_definition_arn("long")),
        ("ACTIVATION_CONDITIONS", CONDITIONS.into()),
        ("MAX_CONCURRENCY", "1".into()),
    ]))
    .unwrap();
    let handler = StartHandler::new(config, s3, local.a2i_client())
        .await
        .unwrap()
        .with_progress_interval(Duration::from_millis(5));
    let started = std::time::Instant::now();
    let summary = handler.handle(&event).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(summary.started, 60);
    local.shutdown().await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let progress: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == json!("progress"))
        .collect();
    assert!(
        !progress.is_empty() && elapsed > Duration::from_millis(10),
        "no progress line in {elapsed:?}"
    );
    // At most one line per interval (missed ticks are not made up in a burst).
    assert!(
        progress.len() as u128 <= elapsed.as_millis() / 5 + 1,
        "{}",
        progress.len()
    );
    let mut last = 0;
    for p in &progress {
        let items = p["fields"]["items"].as_u64().unwrap();
        assert!(items >= last && items <= 60);
        last = items;
        assert!(p["fields"]["items_per_second"].as_f64().is_some());
        assert!(p["fields"]["loops_started_per_second"].as_f64().is_some());
        assert!(p["fields"]["started"].as_u64().is_some());
    }
}
