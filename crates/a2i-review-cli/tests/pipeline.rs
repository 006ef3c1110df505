//! The whole pipeline over real SDK clients on random loopback ports: an upload to the
//! embedded S3 produces an S3 event, the real start handler starts loops, the reviewer ends
//! them, the real status handler writes reviewed results, which are read back and checked.

use std::collections::BTreeMap;
use std::time::Duration;

use a2i_local::{FailureCode, FaultConfig, WorkerAnswer};
use a2i_review::config::{DocumentFormat, StartConfig, StatusConfig};
use a2i_review_cli::demo::{self, DemoOptions};
use a2i_review_cli::evaluate::{self, OutputMode};
use a2i_review_cli::pipeline::{Pipeline, PipelineBuilder, Route};
use aws_sdk_sagemakera2iruntime::config::retry::RetryConfig;
use serde_json::{json, Value};

const FLOW: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/pipeline-test";
const INPUT_BUCKET: &str = "pipeline-input";
const RESULTS_BUCKET: &str = "pipeline-results";
const PREFIX: &str = "incoming/scores/";

/// Flags items whose `score` is below 0.5.
fn low_score_conditions() -> String {
    json!({"Conditions": [{
        "ConditionType": "JsonPathCheck",
        "ConditionParameters": {"Path": "$.score", "LessThan": 0.5}
    }]})
    .to_string()
}

/// Flags every item.
fn every_item_conditions() -> String {
    json!({"Conditions": [{
        "ConditionType": "Sampling",
        "ConditionParameters": {"RandomSamplingPercentage": 100}
    }]})
    .to_string()
}

fn start_config(conditions: &str, max_concurrency: &str) -> StartConfig {
    let conditions = conditions.to_owned();
    let max_concurrency = max_concurrency.to_owned();
    StartConfig::from_lookup(move |name| match name {
        "FLOW_DEFINITION_ARN" => Some(FLOW.to_owned()),
        "ACTIVATION_CONDITIONS" => Some(conditions.clone()),
        "LOOP_NAME_PREFIX" => Some("scores".to_owned()),
        "MAX_CONCURRENCY" => Some(max_concurrency.clone()),
        _ => None,
    })
    .expect("test settings are valid")
}

fn status_config() -> StatusConfig {
    StatusConfig::from_lookup(|name| match name {
        "RESULTS_BUCKET" => Some(RESULTS_BUCKET.to_owned()),
        "FLOW_DEFINITION_ARN" => Some(FLOW.to_owned()),
        _ => None,
    })
    .expect("test settings are valid")
}

fn builder(conditions: &str, max_concurrency: &str) -> PipelineBuilder {
    Pipeline::builder(format!("s3://{INPUT_BUCKET}/incoming"), status_config())
        .output_path("s3://pipeline-output/a2i")
        .route(Route {
            name: "scores".into(),
            key_prefix: PREFIX.into(),
            config: start_config(conditions, max_concurrency),
        })
}

async fn pipeline(conditions: &str) -> Pipeline {
    builder(conditions, "8")
        .start()
        .await
        .expect("the pipeline starts")
}

/// JSON Lines of `{"id": …, "score": …}`.
fn scores(values: &[f64]) -> String {
    values
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}\n", json!({"id": format!("doc-{i}"), "score": s})))
        .collect()
}

/// Loops waiting for review, by one-based line of their item.
fn waiting_by_line(p: &Pipeline) -> BTreeMap<u64, String> {
    p.local()
        .pending()
        .into_iter()
        .map(|l| {
            let line = l.input_content["source"]["line"]
                .as_u64()
                .expect("the start handler records the line");
            (line, l.human_loop_name)
        })
        .collect()
}

/// The reviewed result the status handler wrote for `loop_name`, with its S3 key.
async fn result_of(p: &Pipeline, loop_name: &str) -> (String, Value) {
    let key = p
        .status_invocations()
        .into_iter()
        .find_map(|i| match i.outcome {
            Ok(a2i_review::status::StatusOutcome::Written {
                human_loop_name,
                result_bucket,
                result_key,
                ..
            }) if human_loop_name == loop_name => {
                assert_eq!(result_bucket, RESULTS_BUCKET);
                Some(result_key)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no result written for {loop_name}: {:?}", p.problems()));
    let result = p.read_json(RESULTS_BUCKET, &key).await.unwrap();
    (key, result)
}

#[tokio::test]
async fn an_upload_becomes_reviewed_results_with_source_reasons_answers_and_agreement() {
    let p = pipeline(&low_score_conditions()).await;
    let key = "incoming/scores/batch 7+b.jsonl";
    p.upload(key, scores(&[0.9, 0.2, 0.35])).await.unwrap();

    let starts = p.start_invocations();
    assert_eq!(starts.len(), 1, "one S3 event, one invocation");
    assert_eq!(starts[0].keys, [key], "the encoded key is decoded once");
    let s = &starts[0].summary;
    assert_eq!(
        (s.items, s.flagged, s.started, s.skipped, s.failed),
        (3, 2, 2, 1, 0)
    );
    let waiting = waiting_by_line(&p);
    assert_eq!(waiting.keys().copied().collect::<Vec<_>>(), [2, 3]);

    let local = p.local();
    local
        .answer(
            &waiting[&2],
            &[
                WorkerAnswer::new(json!({"verdict": {"label": "wrong"}, "confident": true}))
                    .by("worker-a"),
                WorkerAnswer::new(json!({"verdict": {"label": "right"}, "confident": true}))
                    .by("worker-b"),
            ],
        )
        .await
        .unwrap();
    local
        .answer(
            &waiting[&3],
            &[WorkerAnswer::new(json!({"verdict": {"label": "right"}}))],
        )
        .await
        .unwrap();
    p.local().settled().await;
    assert!(p.problems().is_empty(), "{:?}", p.problems());

    let (result_key, two) = result_of(&p, &waiting[&2]).await;
    assert_eq!(
        result_key,
        format!("reviewed/{INPUT_BUCKET}/{key}/{}.json", waiting[&2])
    );
    assert_eq!(two["status"], "Completed");
    assert_eq!(two["flowDefinitionArn"], FLOW);
    assert_eq!(two["source"]["bucket"], INPUT_BUCKET);
    assert_eq!(two["source"]["key"], key);
    assert_eq!(two["source"]["itemIndex"], 1);
    assert_eq!(two["source"]["line"], 2);
    assert!(two["source"]["eTag"]
        .as_str()
        .is_some_and(|e| !e.is_empty()));
    let reasons = two["activationReasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1);
    assert!(
        reasons[0].as_str().unwrap().starts_with("JsonPathCheck"),
        "{reasons:?}"
    );
    assert_eq!(
        two["humanTaskActivationConditionResults"]["Conditions"][0]["EvaluationResult"],
        true
    );
    assert_eq!(two["answerCount"], 2);
    let answers = two["humanAnswers"].as_array().unwrap();
    assert_eq!(answers[0]["workerId"], "worker-a");
    assert_eq!(answers[0]["answerContent"]["verdict"]["label"], "wrong");
    assert_eq!(answers[1]["answerContent"]["verdict"]["label"], "right");
    let agreement = &two["agreement"];
    assert_eq!(agreement["verdict.label"]["agree"], false);
    assert_eq!(agreement["verdict.label"]["majority"], Value::Null);
    assert_eq!(agreement["confident"]["agree"], true);
    assert_eq!(agreement["confident"]["majority"]["value"], true);

    // The output.json the result points to is where A2I would put it.
    let output_uri = two["outputS3Uri"].as_str().unwrap();
    let output_key = output_uri
        .strip_prefix("s3://pipeline-output/")
        .expect("the output bucket");
    assert!(output_key.starts_with("a2i/pipeline-test/"), "{output_key}");
    let output = p.read_json("pipeline-output", output_key).await.unwrap();
    assert_eq!(output["humanLoopName"], waiting[&2].as_str());
    assert_eq!(output["inputContent"]["taskObject"]["id"], "doc-1");

    let (_, three) = result_of(&p, &waiting[&3]).await;
    assert_eq!(three["source"]["line"], 3);
    assert_eq!(three["answerCount"], 1);
    assert_eq!(
        three["agreement"],
        Value::Null,
        "one answer has nothing to agree with"
    );
    p.shutdown().await;
}

#[tokio::test]
async fn a_failed_and_a_stopped_loop_get_results_with_their_status_and_failure() {
    let p = pipeline(&low_score_conditions()).await;
    p.upload("incoming/scores/b.jsonl", scores(&[0.1, 0.2, 0.3]))
        .await
        .unwrap();
    let waiting = waiting_by_line(&p);
    assert_eq!(waiting.len(), 3);
    let local = p.local();

    local
        .answer(&waiting[&1], &[WorkerAnswer::new(json!({"ok": true}))])
        .await
        .unwrap();
    local
        .fail(
            &waiting[&2],
            FailureCode::ValidationError,
            "The task template rejected the input.",
        )
        .await
        .unwrap();
    local
        .a2i_client()
        .stop_human_loop()
        .human_loop_name(&waiting[&3])
        .send()
        .await
        .unwrap();
    local.settled().await;
    assert!(p.problems().is_empty(), "{:?}", p.problems());
    assert!(local.pending().is_empty());

    let (_, completed) = result_of(&p, &waiting[&1]).await;
    assert_eq!(completed["status"], "Completed");

    let (failed_key, failed) = result_of(&p, &waiting[&2]).await;
    assert_eq!(failed["status"], "Failed");
    assert_eq!(failed["failureCode"], "ValidationError");
    assert_eq!(
        failed["failureReason"],
        "The task template rejected the input."
    );
    assert_eq!(failed["humanAnswers"], Value::Null);
    assert_eq!(failed["outputS3Uri"], Value::Null);
    assert_eq!(
        failed_key,
        format!("reviewed/_no-source/{}.json", waiting[&2]),
        "a Failed event carries no loop input, so no source"
    );

    let (_, stopped) = result_of(&p, &waiting[&3]).await;
    assert_eq!(stopped["status"], "Stopped");
    assert_eq!(stopped["failureCode"], Value::Null);
    assert_eq!(stopped["humanAnswers"], Value::Null);
    assert_eq!(
        stopped["humanLoopArn"],
        local.human_loop(&waiting[&3]).unwrap().arn.as_str()
    );

    let statuses: Vec<Option<String>> = p
        .status_invocations()
        .into_iter()
        .map(|i| i.loop_status)
        .collect();
    assert_eq!(statuses.len(), 3, "one event per final status");
    for s in ["Completed", "Failed", "Stopped"] {
        assert!(statuses.contains(&Some(s.to_owned())), "{statuses:?}");
    }
    p.shutdown().await;
}

#[tokio::test]
async fn a_redelivered_or_reuploaded_object_starts_nothing_new() {
    let p = pipeline(&low_score_conditions()).await;
    let body = scores(&[0.1, 0.9, 0.3]);
    p.upload("incoming/scores/again.jsonl", body.clone())
        .await
        .unwrap();
    let first = p.start_invocations().remove(0);
    let waiting = waiting_by_line(&p);
    let loops_before: Vec<_> = waiting
        .values()
        .map(|n| p.local().human_loop(n).unwrap())
        .collect();

    // Redelivered while the loops wait: the same names and inputs, so A2I answers the same
    // loops (a2i-local: 200 with the existing ARN) and creates nothing.
    let again = p.redeliver_s3_event(&first.event).await;
    assert_eq!(again.len(), 1);
    let s = &again[0].summary;
    assert_eq!((s.items, s.flagged, s.failed), (3, 2, 0), "{s:?}");
    assert_eq!(s.started + s.already_started, 2);
    assert_eq!(waiting_by_line(&p), waiting, "no new loop");
    for before in &loops_before {
        let now = p.local().human_loop(&before.name).unwrap();
        assert_eq!(
            (now.arn, now.creation_time, now.status),
            (before.arn.clone(), before.creation_time, before.status)
        );
    }

    // Once reviewed, a redelivery is answered "already started" for every flagged item.
    for name in waiting.values() {
        p.local()
            .answer(name, &[WorkerAnswer::new(json!({"ok": true}))])
            .await
            .unwrap();
    }
    let results_before = p.status_invocations().len();
    let late = p.redeliver_s3_event(&first.event).await;
    let s = &late[0].summary;
    assert_eq!(
        (s.flagged, s.started, s.already_started, s.failed),
        (2, 0, 2, 0),
        "{s:?}"
    );
    assert!(late[0].error.is_none());

    // Uploading the same bytes again is a new S3 event for the same object version (same
    // ETag): the same loop names, nothing new either.
    p.upload("incoming/scores/again.jsonl", body).await.unwrap();
    let reupload = p.start_invocations().pop().unwrap();
    assert_eq!(reupload.summary.already_started, 2);
    assert_eq!(reupload.summary.started, 0);
    assert!(p.local().pending().is_empty());
    assert_eq!(
        p.status_invocations().len(),
        results_before,
        "no loop ended again"
    );
    assert!(p.problems().is_empty(), "{:?}", p.problems());
    p.shutdown().await;
}

#[tokio::test]
async fn max_concurrency_bounds_start_human_loop_calls_in_flight() {
    const LATENCY: Duration = Duration::from_millis(200);
    const MAX_CONCURRENCY: usize = 3;
    let p = builder(&every_item_conditions(), &MAX_CONCURRENCY.to_string())
        .local(|l| {
            l.faults(FaultConfig {
                latency: LATENCY,
                ..FaultConfig::default()
            })
        })
        .start()
        .await
        .unwrap();
    p.upload("incoming/scores/many.jsonl", scores(&[0.5; 9]))
        .await
        .unwrap();
    assert_eq!(p.start_invocations()[0].summary.started, 9);

    // The server creates a loop only after the latency, so loops created less than LATENCY
    // apart were requested while each other's requests were still in flight: the largest
    // number created within any such window is a lower bound of the peak in flight, and can
    // only exceed MAX_CONCURRENCY if the handler sent more calls at once.
    let mut created: Vec<i64> = p
        .local()
        .pending()
        .iter()
        .map(|l| {
            p.local()
                .human_loop(&l.human_loop_name)
                .unwrap()
                .creation_time
                .timestamp_millis()
        })
        .collect();
    created.sort_unstable();
    let window = i64::try_from(LATENCY.as_millis()).unwrap() - 20;
    let peak = created
        .iter()
        .map(|&t| {
            created
                .iter()
                .filter(|&&u| u >= t && u < t + window)
                .count()
        })
        .max()
        .unwrap();
    assert_eq!(
        peak, MAX_CONCURRENCY,
        "creation times (ms): {created:?}; at most {MAX_CONCURRENCY} and, with 9 items, exactly that many at once"
    );
    p.shutdown().await;
}

#[tokio::test]
async fn throttled_start_calls_are_retried_by_the_sdk_until_every_loop_starts() {
    let p = builder(&every_item_conditions(), "8")
        .local(|l| {
            l.faults(FaultConfig {
                requests_per_second: Some(5.0),
                ..FaultConfig::default()
            })
        })
        // 20 attempts, not the functions' default: this test proves that throttled calls are
        // retried until every loop starts, and 8 concurrent items racing for 5 requests/s on
        // a loaded 2-core machine exhausted 12 attempts in about 1 run of 6.
        .a2i_retry(
            RetryConfig::standard()
                .with_max_attempts(20)
                .with_initial_backoff(Duration::from_millis(50))
                .with_max_backoff(Duration::from_secs(1)),
        )
        .start()
        .await
        .unwrap();
    p.upload("incoming/scores/burst.jsonl", scores(&[0.5; 12]))
        .await
        .unwrap();
    let summary = &p.start_invocations()[0].summary;
    assert_eq!(
        (summary.flagged, summary.started, summary.failed),
        (12, 12, 0),
        "{summary:?}"
    );
    assert_eq!(p.local().pending().len(), 12);
    assert!(
        p.local().fault_stats().throttled > 0,
        "the quota must actually have throttled some calls"
    );
    assert!(p.problems().is_empty(), "{:?}", p.problems());
    p.shutdown().await;
}

#[tokio::test]
async fn an_object_under_no_route_is_reported_not_dropped() {
    let p = pipeline(&low_score_conditions()).await;
    p.upload("incoming/unknown/x.jsonl", scores(&[0.1]))
        .await
        .unwrap();
    assert!(p.start_invocations().is_empty());
    assert_eq!(p.unrouted().len(), 1);
    assert_eq!(p.unrouted()[0].key, "incoming/unknown/x.jsonl");
    let problems = p.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("incoming/unknown/x.jsonl"),
        "{problems:?}"
    );
    p.shutdown().await;
}

#[tokio::test]
async fn evaluate_decides_exactly_as_the_start_handler_did() {
    let sample = demo::SAMPLES
        .iter()
        .find(|s| s.kind == "predictions")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let conditions = dir.path().join("conditions.json");
    std::fs::write(&conditions, sample.conditions).unwrap();
    let input = dir.path().join(sample.file);
    std::fs::write(&input, sample.body).unwrap();
    let mut out = Vec::new();
    evaluate::run(
        &evaluate::Options {
            conditions,
            inputs: vec![input],
            items_path: None,
            format: DocumentFormat::Auto,
            output: OutputMode::JsonLines,
            render: None,
        },
        &mut out,
        &mut std::io::sink(),
    )
    .await
    .unwrap();
    let dry_run: BTreeMap<u64, Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["flagged"] == true)
        .map(|r| (r["line"].as_u64().unwrap(), r))
        .collect();

    let config = StartConfig::from_lookup(|name| match name {
        "FLOW_DEFINITION_ARN" => Some(FLOW.to_owned()),
        "ACTIVATION_CONDITIONS" => Some(sample.conditions.to_owned()),
        _ => None,
    })
    .unwrap();
    let p = Pipeline::builder(format!("s3://{INPUT_BUCKET}/incoming"), status_config())
        .route(Route {
            name: "predictions".into(),
            key_prefix: "incoming/".into(),
            config,
        })
        .start()
        .await
        .unwrap();
    p.upload(&format!("incoming/{}", sample.file), sample.body)
        .await
        .unwrap();
    let started: BTreeMap<u64, Value> = p
        .local()
        .pending()
        .into_iter()
        .map(|l| {
            (
                l.input_content["source"]["line"].as_u64().unwrap(),
                l.input_content,
            )
        })
        .collect();
    assert_eq!(
        dry_run.keys().collect::<Vec<_>>(),
        started.keys().collect::<Vec<_>>()
    );
    assert!(!started.is_empty());
    for (line, input) in &started {
        assert_eq!(input["activationReasons"], dry_run[line]["reasons"]);
        assert_eq!(
            input["humanTaskActivationConditionResults"],
            dry_run[line]["results"]
        );
    }
    p.shutdown().await;
}

#[tokio::test]
async fn the_demo_runs_clean_on_the_sample_data() {
    let mut out = Vec::new();
    let report = demo::run(&DemoOptions::default(), &mut out)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&out)));
    let text = String::from_utf8(out).unwrap();
    let totals = report.objects.iter().fold((0, 0, 0, 0), |t, o| {
        (
            t.0 + o.items,
            t.1 + o.flagged,
            t.2 + o.skipped,
            t.3 + o.failed,
        )
    });
    assert_eq!(totals, (7, 5, 2, 0), "{text}");
    let statuses: Vec<&str> = report.rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(
        statuses,
        ["Completed", "Completed", "Completed", "Stopped", "Failed"],
        "{text}"
    );
    assert!(report.rows.iter().all(|r| r
        .result_uri
        .starts_with("s3://a2i-review-results/reviewed/")));
    assert!(
        report.rows[0].note.contains("decision split"),
        "{}",
        report.rows[0].note
    );
    assert!(text.contains("Done in"), "{text}");
}

#[tokio::test]
async fn the_demo_refuses_a_data_dir_from_an_earlier_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("leftover"), "x").unwrap();
    let err = demo::run(
        &DemoOptions {
            data_dir: Some(dir.path().to_owned()),
            ..DemoOptions::default()
        },
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("is not empty"), "{err}");
}

#[tokio::test]
async fn a_demo_kept_in_a_data_dir_is_served_again_with_its_results_and_loops() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("kept");
    let mut out = Vec::new();
    let report = demo::run(
        &DemoOptions {
            data_dir: Some(dir.clone()),
            ..DemoOptions::default()
        },
        &mut out,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&out)));
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(&format!("a2i-local serve --data-dir {}", dir.display())),
        "{text}"
    );

    // What the message promises, through the emulator's public API only.
    let local = a2i_local::LocalA2i::builder()
        .data_dir(&dir)
        .start()
        .await
        .expect("a2i-local starts on the kept directory");
    let s3 = local.s3_client();
    let a2i = local.a2i_client();
    assert_eq!(report.raw_rows.len(), 2, "{text}");
    for row in report.rows.iter().chain(&report.raw_rows) {
        let (bucket, key) = row
            .result_uri
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .unwrap_or_else(|| panic!("not an s3:// URI: {}", row.result_uri));
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", row.result_uri))
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        let result: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(result["humanLoopName"], row.loop_name.as_str());
        assert_eq!(result["status"], row.status.as_str());
        let described = a2i
            .describe_human_loop()
            .human_loop_name(&row.loop_name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", row.loop_name));
        assert_eq!(
            described.human_loop_status().map(|s| s.as_str()),
            Some(row.status.as_str())
        );
    }
    local.shutdown().await;
}
