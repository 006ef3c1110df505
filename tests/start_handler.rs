//! Start handler end to end: against a2i-local over the real wire (counters, redelivery,
//! finished loops) and the SDK's mocks (A2I error paths), with the embedded S3 in-process.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use a2i_local::{LocalA2i, LocalA2iHandle, WorkerAnswer};
use a2i_review::conditions::ActivationConditions;
use a2i_review::config::StartConfig;
use a2i_review::error::FunctionError;
use a2i_review::loop_input::{ItemSource, LoopInput, MAX_INPUT_CONTENT_CHARS};
use a2i_review::loop_name;
use a2i_review::source::ObjectRef;
use a2i_review::start::{StartError, StartHandler, Summary};
use aws_sdk_sagemakera2iruntime::operation::describe_human_loop::DescribeHumanLoopOutput;
use aws_sdk_sagemakera2iruntime::operation::start_human_loop::{
    StartHumanLoopError, StartHumanLoopInput, StartHumanLoopOutput,
};
use aws_sdk_sagemakera2iruntime::types::error::ConflictException;
use aws_sdk_sagemakera2iruntime::types::HumanLoopStatus;
use aws_sdk_sagemakera2iruntime::Client as A2i;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use common::{local_s3, put, s3_put_event};
use serde_json::{json, Value};

const FLOW: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/doc-review";
const BUCKET: &str = "inference-results";
/// Flags an item whose top prediction has a confidence under 0.6 (scores in 0-1 units).
const LOW_CONFIDENCE: &str = r#"{"Conditions":[{"ConditionType":"PredictionConfidenceCheck","ConditionParameters":{"LabelName":"*","TopPredictionOnly":true,"ConfidenceLessThan":0.6}}]}"#;

fn prediction(id: &str, confidence: f64) -> String {
    json!({"id": id, "predictions": [{"label": "invoice", "confidence": confidence}, {"label": "receipt", "confidence": 0.01}]}).to_string()
}

fn config(extra: &[(&str, &str)]) -> StartConfig {
    let mut env: HashMap<String, String> = HashMap::from([
        ("FLOW_DEFINITION_ARN".into(), FLOW.into()),
        ("ACTIVATION_CONDITIONS".into(), LOW_CONFIDENCE.into()),
        (
            "CONTENT_CLASSIFIERS".into(),
            "FreeOfPersonallyIdentifiableInformation".into(),
        ),
    ]);
    for (k, v) in extra {
        env.insert((*k).into(), (*v).into());
    }
    StartConfig::from_lookup(move |k| env.get(k).cloned()).expect("test config is valid")
}

/// Records every StartHumanLoop request that reaches a rule.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<StartHumanLoopInput>>>);

impl Recorder {
    fn requests(&self) -> Vec<StartHumanLoopInput> {
        self.0.lock().unwrap().clone()
    }
    fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = self
            .requests()
            .iter()
            .map(|r| r.human_loop_name().unwrap().to_owned())
            .collect();
        n.sort();
        n
    }
}

fn started_ok(rec: &Recorder) -> Rule {
    let rec = rec.clone();
    mock!(A2i::start_human_loop)
        .match_requests(move |r| {
            rec.0.lock().unwrap().push(r.clone());
            true
        })
        .then_output(|| {
            StartHumanLoopOutput::builder()
                .human_loop_arn("arn:aws:sagemaker:us-east-1:111122223333:human-loop/x")
                .build()
        })
}

/// DescribeHumanLoop as A2I answers it for a name no loop has.
fn no_such_loop() -> Rule {
    mock!(A2i::describe_human_loop)
        .then_http_response(|| wire_error(404, "ResourceNotFoundException"))
}

/// A mocked A2I with `rules`, where every loop not described by a rule does not exist yet.
fn a2i_with(rules: &[&Rule]) -> A2i {
    let absent = no_such_loop();
    let mut rules = rules.to_vec();
    rules.push(&absent);
    mock_client!(
        aws_sdk_sagemakera2iruntime,
        RuleMode::MatchAny,
        &rules,
        |b| b.retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
        )
    )
}

/// An error answer as A2I sends it on the wire (status, X-Amzn-ErrorType, JSON message).
fn wire_error(status: u16, shape: &str) -> HttpResponse {
    let mut r = HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(r#"{{"message":"{shape} from the test"}}"#)),
    );
    r.headers_mut().insert("x-amzn-errortype", shape.to_owned());
    r.headers_mut().insert("content-type", "application/json");
    r
}

async fn upload(dir: &std::path::Path, key: &str, body: &str) -> (aws_sdk_s3::Client, Value) {
    let s3 = local_s3(dir);
    let etag = put(&s3, BUCKET, key, body.as_bytes()).await;
    let event = s3_put_event(BUCKET, key, &etag, body.len());
    (s3, event)
}

fn summary_of(r: Result<Summary, StartError>) -> Summary {
    match r {
        Ok(s) => s,
        Err(StartError::ItemsFailed { summary }) => summary,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

#[tokio::test]
async fn flagged_items_get_a_loop_with_deterministic_input_and_classifiers() {
    let dir = tempfile::tempdir().unwrap();
    let key = "batch 7/results+final.jsonl"; // arrives as batch+7/results%2Bfinal.jsonl
    let body = [
        prediction("a", 0.95),
        prediction("b", 0.41),
        prediction("c", 0.59),
    ]
    .join("\n");
    let (s3, event) = upload(dir.path(), key, &body).await;
    let rec = Recorder::default();
    let a2i = a2i_with(&[&started_ok(&rec)]);
    let handler = StartHandler::new(config(&[("LOOP_NAME_PREFIX", "docs")]), s3, a2i)
        .await
        .unwrap();

    let summary = handler.handle(&event).await.unwrap();
    assert_eq!(
        (
            summary.objects,
            summary.items,
            summary.flagged,
            summary.started,
            summary.skipped,
            summary.failed
        ),
        (1, 3, 2, 2, 1, 0)
    );

    let mut requests = rec.requests();
    requests.sort_by_key(|r| r.human_loop_name().unwrap().to_owned());
    for r in &requests {
        let name = r.human_loop_name().unwrap();
        assert!(
            name.starts_with("docs-") && loop_name::is_valid(name),
            "{name}"
        );
        assert_eq!(r.flow_definition_arn(), Some(FLOW));
        let classifiers: Vec<&str> = r
            .data_attributes()
            .unwrap()
            .content_classifiers()
            .iter()
            .map(|c| c.as_str())
            .collect();
        assert_eq!(classifiers, ["FreeOfPersonallyIdentifiableInformation"]);
        let input: LoopInput =
            serde_json::from_str(r.human_loop_input().unwrap().input_content().unwrap()).unwrap();
        assert_eq!(input.source.object.key, key, "the key is decoded once");
        assert_eq!(input.source.object.bucket, BUCKET);
        assert!(input.source.line.is_some());
        assert!(!input.activation_reasons.is_empty());
        assert_eq!(
            input.human_task_activation_condition_results["Conditions"][0]["EvaluationResult"],
            json!(true)
        );
    }
    let ids: Vec<Value> = requests
        .iter()
        .map(|r| {
            let input: LoopInput =
                serde_json::from_str(r.human_loop_input().unwrap().input_content().unwrap())
                    .unwrap();
            input.task_object["id"].clone()
        })
        .collect();
    let mut ids: Vec<String> = ids.iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    ids.sort();
    assert_eq!(ids, ["b", "c"]);
}

/// a2i-local on loopback ports: the real wire, A2I's answers to repeated names.
async fn local_a2i() -> LocalA2iHandle {
    LocalA2i::builder().start().await.expect("a2i-local starts")
}

/// A handler over the embedded S3 and a2i-local, and the event of an object of `body`.
async fn over_a2i_local(
    dir: &std::path::Path,
    local: &LocalA2iHandle,
    key: &str,
    body: &str,
) -> (StartHandler, Value) {
    let (s3, event) = upload(dir, key, body).await;
    let flow = local.flow_definition_arn("doc-review");
    let handler = StartHandler::new(
        config(&[("FLOW_DEFINITION_ARN", &flow)]),
        s3,
        local.a2i_client(),
    )
    .await
    .unwrap();
    (handler, event)
}

fn counts(s: &Summary) -> (usize, usize, usize, usize) {
    (s.flagged, s.started, s.already_started, s.failed)
}

#[tokio::test]
async fn an_event_delivered_five_times_starts_its_loops_once_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let local = local_a2i().await;
    let body = [
        prediction("a", 0.2),
        prediction("b", 0.3),
        prediction("c", 0.9),
        prediction("d", 0.1),
    ]
    .join("\n");
    let (handler, event) = over_a2i_local(dir.path(), &local, "in/four.jsonl", &body).await;

    let first = handler.handle(&event).await.unwrap();
    assert_eq!(counts(&first), (3, 3, 0, 0), "{first:?}");
    let loops = local.pending();
    assert_eq!(loops.len(), 3);
    for delivery in 2..=5 {
        let again = handler.handle(&event).await.unwrap();
        assert_eq!(
            counts(&again),
            (3, 0, 3, 0),
            "delivery {delivery}: {again:?}"
        );
        assert_eq!((again.items, again.skipped), (4, 1));
    }
    let mut after = local.pending();
    let mut before = loops;
    after.sort_by(|a, b| a.human_loop_name.cmp(&b.human_loop_name));
    before.sort_by(|a, b| a.human_loop_name.cmp(&b.human_loop_name));
    assert_eq!(
        after
            .iter()
            .map(|l| (&l.human_loop_arn, &l.creation_time))
            .collect::<Vec<_>>(),
        before
            .iter()
            .map(|l| (&l.human_loop_arn, &l.creation_time))
            .collect::<Vec<_>>(),
        "no loop was created again"
    );
    local.shutdown().await;
}

#[tokio::test]
async fn a_record_repeated_in_one_event_is_processed_once() {
    let dir = tempfile::tempdir().unwrap();
    let local = local_a2i().await;
    let body = [prediction("a", 0.2), prediction("b", 0.3)].join("\n");
    let (handler, mut event) = over_a2i_local(dir.path(), &local, "in/twice.jsonl", &body).await;
    let record = event["Records"][0].clone();
    let records = event["Records"].as_array_mut().unwrap();
    records.push(record.clone());
    records.push(record);

    let summary = handler.handle(&event).await.unwrap();
    assert_eq!(counts(&summary), (2, 2, 0, 0), "{summary:?}");
    assert_eq!(
        (summary.objects, summary.items, summary.duplicate_records),
        (1, 2, 2)
    );
    assert_eq!(local.pending().len(), 2);
    local.shutdown().await;
}

#[tokio::test]
async fn an_identical_start_of_an_active_loop_counts_as_already_started() {
    let dir = tempfile::tempdir().unwrap();
    let local = local_a2i().await;
    let body = [prediction("a", 0.2), prediction("b", 0.3)].join("\n");
    let (handler, event) = over_a2i_local(dir.path(), &local, "in/retry.jsonl", &body).await;

    // An earlier invocation started item 0 and died before it could report: its loop exists
    // with exactly the input this invocation sends.
    let record = &event["Records"][0]["s3"];
    let object = ObjectRef {
        bucket: BUCKET.into(),
        key: "in/retry.jsonl".into(),
        version_id: None,
        e_tag: record["object"]["eTag"].as_str().map(str::to_owned),
    };
    let item: Value = serde_json::from_str(&prediction("a", 0.2)).unwrap();
    let evaluation = ActivationConditions::parse(LOW_CONFIDENCE)
        .unwrap()
        .evaluate(&item)
        .unwrap();
    let source = ItemSource {
        object: object.clone(),
        item_index: 0,
        line: Some(1),
    };
    let content = LoopInput::new(item, source, &evaluation, None)
        .render()
        .unwrap()
        .content;
    let name = loop_name::loop_name(None, &object, 0);
    let a2i = local.a2i_client();
    let start = || {
        a2i.start_human_loop()
            .human_loop_name(&name)
            .flow_definition_arn(local.flow_definition_arn("doc-review"))
            .human_loop_input(
                aws_sdk_sagemakera2iruntime::types::HumanLoopInput::builder()
                    .input_content(&content)
                    .build(),
            )
            .data_attributes(
                aws_sdk_sagemakera2iruntime::types::HumanLoopDataAttributes::builder()
                    .content_classifiers(
                        aws_sdk_sagemakera2iruntime::types::ContentClassifier::FreeOfPersonallyIdentifiableInformation,
                    )
                    .build(),
            )
    };
    let created = start().send().await.unwrap();
    // The ambiguity the handler must resolve: an identical start answers 200 and the same ARN,
    // whether or not it created anything.
    let repeated = start().send().await.unwrap();
    assert_eq!(created.human_loop_arn(), repeated.human_loop_arn());

    let summary = handler.handle(&event).await.unwrap();
    assert_eq!(counts(&summary), (2, 1, 1, 0), "{summary:?}");
    assert_eq!(local.pending().len(), 2);
    local.shutdown().await;
}

#[tokio::test]
async fn a_finished_loop_counts_as_already_started_and_is_not_started_again() {
    let dir = tempfile::tempdir().unwrap();
    let local = local_a2i().await;
    let body = [prediction("a", 0.2), prediction("b", 0.3)].join("\n");
    let (handler, event) = over_a2i_local(dir.path(), &local, "in/done.jsonl", &body).await;
    assert_eq!(counts(&handler.handle(&event).await.unwrap()), (2, 2, 0, 0));
    let loops = local.pending();
    local
        .answer(
            &loops[0].human_loop_name,
            &[WorkerAnswer::new(json!({"label": "invoice"}))],
        )
        .await
        .unwrap();
    local.stop(&loops[1].human_loop_name).await.unwrap();

    let late = handler.handle(&event).await.unwrap();
    assert_eq!(counts(&late), (2, 0, 2, 0), "{late:?}");
    assert!(local.pending().is_empty(), "no loop was started again");
    local.shutdown().await;
}

#[tokio::test]
async fn a_conflict_after_the_lookup_is_confirmed_and_counts_as_already_started() {
    let dir = tempfile::tempdir().unwrap();
    let (s3, event) = upload(dir.path(), "race.json", &prediction("a", 0.2)).await;
    // Another invocation creates the loop between this one's lookup and its start.
    let describe = mock!(A2i::describe_human_loop)
        .sequence()
        .http_response(|| wire_error(404, "ResourceNotFoundException"))
        .output(|| {
            DescribeHumanLoopOutput::builder()
                .human_loop_name("x")
                .human_loop_arn("arn:aws:sagemaker:us-east-1:111122223333:human-loop/x")
                .flow_definition_arn(FLOW)
                .human_loop_status(HumanLoopStatus::InProgress)
                .creation_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                .build()
        })
        .build();
    let conflict = mock!(A2i::start_human_loop).then_error(|| {
        StartHumanLoopError::ConflictException(
            ConflictException::builder()
                .message("active with different input")
                .build(),
        )
    });
    let handler = StartHandler::new(config(&[]), s3, a2i_with(&[&describe, &conflict]))
        .await
        .unwrap();
    let summary = handler.handle(&event).await.unwrap();
    assert_eq!(counts(&summary), (1, 0, 1, 0), "{summary:?}");
    assert_eq!((describe.num_calls(), conflict.num_calls()), (2, 1));
}

#[tokio::test]
async fn a_name_taken_by_another_flow_definition_is_a_non_retryable_failure() {
    let dir = tempfile::tempdir().unwrap();
    let (s3, event) = upload(dir.path(), "taken.json", &prediction("a", 0.2)).await;
    let other = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/other";
    let describe = mock!(A2i::describe_human_loop).then_output(move || {
        DescribeHumanLoopOutput::builder()
            .human_loop_name("x")
            .human_loop_arn("arn:aws:sagemaker:us-east-1:111122223333:human-loop/x")
            .flow_definition_arn(other)
            .human_loop_status(HumanLoopStatus::InProgress)
            .creation_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .build()
    });
    let rec = Recorder::default();
    let handler = StartHandler::new(config(&[]), s3, a2i_with(&[&describe, &started_ok(&rec)]))
        .await
        .unwrap();
    let err = handler.handle(&event).await.unwrap_err();
    assert!(!err.is_retryable());
    let summary = summary_of(Err(err));
    assert_eq!(counts(&summary), (1, 0, 0, 1));
    assert!(summary.failures[0].reason.contains(other), "{summary:?}");
    assert!(
        rec.requests().is_empty(),
        "nothing is started under a taken name"
    );
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let (s3, event) = upload(dir.path(), "one.json", &prediction("a", 0.1)).await;
    let rule = mock!(A2i::start_human_loop)
        .sequence()
        .http_response(|| wire_error(429, "ThrottlingException"))
        .times(2)
        .output(|| {
            StartHumanLoopOutput::builder()
                .human_loop_arn("arn:aws:sagemaker:us-east-1:111122223333:human-loop/x")
                .build()
        })
        .build();
    let handler = StartHandler::new(config(&[]), s3, a2i_with(&[&rule]))
        .await
        .unwrap();
    let summary = handler.handle(&event).await.unwrap();
    assert_eq!((summary.started, summary.failed), (1, 0));
    assert_eq!(rule.num_calls(), 3, "two throttled attempts, then success");
}

#[tokio::test]
async fn quota_exceeded_fails_retryably_after_the_other_items_are_started() {
    let dir = tempfile::tempdir().unwrap();
    let body = [
        prediction("a", 0.1),
        prediction("quota", 0.2),
        prediction("c", 0.3),
    ]
    .join("\n");
    let (s3, event) = upload(dir.path(), "three.jsonl", &body).await;
    let rec = Recorder::default();
    let quota = mock!(A2i::start_human_loop)
        .match_requests(|r| {
            r.human_loop_input()
                .unwrap()
                .input_content()
                .unwrap()
                .contains("\"quota\"")
        })
        .then_http_response(|| wire_error(402, "ServiceQuotaExceededException"));
    let handler = StartHandler::new(config(&[]), s3, a2i_with(&[&quota, &started_ok(&rec)]))
        .await
        .unwrap();

    let err = handler.handle(&event).await.unwrap_err();
    assert!(err.is_retryable());
    let message = err.to_string();
    assert!(message.contains("1 of 3 items failed"), "{message}");
    let summary = summary_of(Err(err));
    assert_eq!(
        (summary.flagged, summary.started, summary.failed),
        (3, 2, 1)
    );
    assert_eq!(rec.names().len(), 2);
    let f = &summary.failures[0];
    assert_eq!(
        (f.item_index, f.line, f.retryable),
        (Some(1), Some(2), true)
    );
    assert!(
        f.reason.contains("ServiceQuotaExceededException"),
        "{}",
        f.reason
    );
    assert!(f.loop_name.is_some());
}

#[tokio::test]
async fn a_bad_json_line_is_reported_and_the_good_lines_still_get_loops() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "{}\n{{\"id\": \"broken\", \n{}\n",
        prediction("a", 0.1),
        prediction("c", 0.2)
    );
    let (s3, event) = upload(dir.path(), "mixed.jsonl", &body).await;
    let rec = Recorder::default();
    let handler = StartHandler::new(config(&[]), s3, a2i_with(&[&started_ok(&rec)]))
        .await
        .unwrap();

    let err = handler.handle(&event).await.unwrap_err();
    assert!(
        !err.is_retryable(),
        "bad content cannot be fixed by a retry"
    );
    let summary = summary_of(Err(err));
    assert_eq!((summary.items, summary.started, summary.failed), (3, 2, 1));
    let f = &summary.failures[0];
    assert_eq!(f.line, Some(2));
    assert_eq!(f.key.as_deref(), Some("mixed.jsonl"));
    assert_eq!(f.bucket.as_deref(), Some(BUCKET));
    assert!(
        f.reason.contains("line 2 is not valid JSON"),
        "{}",
        f.reason
    );
}

#[tokio::test]
async fn an_item_too_large_for_input_content_is_sent_as_its_s3_reference() {
    let dir = tempfile::tempdir().unwrap();
    let big = json!({"id": "big", "text": "x".repeat(MAX_INPUT_CONTENT_CHARS), "predictions": [{"label": "l", "confidence": 0.1}]}).to_string();
    let (s3, event) = upload(dir.path(), "big.json", &big).await;
    let rec = Recorder::default();
    let handler = StartHandler::new(config(&[]), s3, a2i_with(&[&started_ok(&rec)]))
        .await
        .unwrap();
    assert_eq!(handler.handle(&event).await.unwrap().started, 1);
    let content = rec.requests()[0]
        .human_loop_input()
        .unwrap()
        .input_content()
        .unwrap()
        .to_owned();
    assert!(content.chars().count() <= MAX_INPUT_CONTENT_CHARS);
    let input: LoopInput = serde_json::from_str(&content).unwrap();
    assert_eq!(input.task_object, json!(format!("s3://{BUCKET}/big.json")));
    assert!(input.task_object_is_reference);
}

#[tokio::test]
async fn a_deleted_object_is_a_reported_failure_not_a_silent_success() {
    let dir = tempfile::tempdir().unwrap();
    let (s3, event) = upload(dir.path(), "gone.json", &prediction("a", 0.1)).await;
    s3.delete_object()
        .bucket(BUCKET)
        .key("gone.json")
        .send()
        .await
        .unwrap();
    let handler = StartHandler::new(config(&[]), s3, a2i_with(&[]))
        .await
        .unwrap();
    let err = handler.handle(&event).await.unwrap_err();
    let summary = summary_of(Err(err));
    assert_eq!((summary.objects, summary.items, summary.failed), (1, 0, 1));
    assert!(
        summary.failures[0].reason.contains("NoSuchKey"),
        "{:?}",
        summary.failures
    );
    assert!(!summary.failures[0].retryable);
}

#[tokio::test]
async fn the_s3_test_event_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let handler = StartHandler::new(config(&[]), local_s3(dir.path()), a2i_with(&[]))
        .await
        .unwrap();
    let summary = handler
        .handle(&json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-21T10:00:00.000Z", "Bucket": BUCKET, "RequestId": "R", "HostId": "H"}))
        .await
        .unwrap();
    assert!(summary.test_event);
    assert_eq!(summary.items, 0);
}

#[tokio::test]
async fn conditions_can_be_read_from_s3_at_cold_start() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = local_s3(dir.path());
    put(
        &s3,
        "config",
        "review/conditions.json",
        LOW_CONFIDENCE.as_bytes(),
    )
    .await;
    put(
        &s3,
        "config",
        "review/broken.json",
        br#"{"Conditions": []}"#,
    )
    .await;
    let ok = StartHandler::new(
        config(&[(
            "ACTIVATION_CONDITIONS",
            "s3://config/review/conditions.json",
        )]),
        s3.clone(),
        a2i_with(&[]),
    )
    .await;
    assert!(ok.is_ok());
    let broken = StartHandler::new(
        config(&[("ACTIVATION_CONDITIONS", "s3://config/review/broken.json")]),
        s3.clone(),
        a2i_with(&[]),
    )
    .await
    .unwrap_err();
    assert!(
        broken
            .to_string()
            .contains("s3://config/review/broken.json"),
        "{broken}"
    );
    let missing = StartHandler::new(
        config(&[("ACTIVATION_CONDITIONS", "s3://config/review/absent.json")]),
        s3,
        a2i_with(&[]),
    )
    .await
    .unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("reading s3://config/review/absent.json failed"),
        "{missing}"
    );
}

#[tokio::test]
async fn a_payload_that_is_not_an_s3_event_is_a_non_retryable_error() {
    let dir = tempfile::tempdir().unwrap();
    let handler = StartHandler::new(config(&[]), local_s3(dir.path()), a2i_with(&[]))
        .await
        .unwrap();
    let err = handler
        .handle(&json!({"detail-type": "Scheduled Event"}))
        .await
        .unwrap_err();
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("not an S3 event"), "{err}");
}

#[tokio::test]
async fn validation_errors_are_reported_per_item_and_a_finished_loop_counts_as_already_started() {
    let dir = tempfile::tempdir().unwrap();
    let body = [
        prediction("rejected", 0.1),
        prediction("finished", 0.2),
        prediction("ok", 0.3),
    ]
    .join("\n");
    let (s3, event) = upload(dir.path(), "v.jsonl", &body).await;
    let rec = Recorder::default();
    let finished_name: Arc<Mutex<Option<String>>> = Arc::default();
    let rejected = mock!(A2i::start_human_loop)
        .match_requests(|r| {
            r.human_loop_input()
                .unwrap()
                .input_content()
                .unwrap()
                .contains("\"rejected\"")
        })
        .then_http_response(|| wire_error(400, "ValidationException"));
    let finished = {
        let finished_name = finished_name.clone();
        mock!(A2i::start_human_loop)
            .match_requests(move |r| {
                let hit = r
                    .human_loop_input()
                    .unwrap()
                    .input_content()
                    .unwrap()
                    .contains("\"finished\"");
                if hit {
                    *finished_name.lock().unwrap() = r.human_loop_name().map(str::to_owned);
                }
                hit
            })
            .then_http_response(|| wire_error(400, "ValidationException"))
    };
    // DescribeHumanLoop knows only the finished loop.
    let describe = {
        let finished_name = finished_name.clone();
        mock!(A2i::describe_human_loop)
            .match_requests(move |r| {
                r.human_loop_name() == finished_name.lock().unwrap().as_deref()
            })
            .then_output(|| {
                DescribeHumanLoopOutput::builder()
                    .human_loop_name("done")
                    .human_loop_arn("arn:aws:sagemaker:us-east-1:111122223333:human-loop/done")
                    .flow_definition_arn(FLOW)
                    .human_loop_status(HumanLoopStatus::Completed)
                    .creation_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                    .build()
            })
    };
    let not_found = mock!(A2i::describe_human_loop)
        .then_http_response(|| wire_error(404, "ResourceNotFoundException"));
    let handler = StartHandler::new(
        config(&[]),
        s3,
        a2i_with(&[
            &rejected,
            &finished,
            &describe,
            &not_found,
            &started_ok(&rec),
        ]),
    )
    .await
    .unwrap();
    let err = handler.handle(&event).await.unwrap_err();
    assert!(!err.is_retryable());
    let summary = summary_of(Err(err));
    assert_eq!(
        (
            summary.flagged,
            summary.started,
            summary.already_started,
            summary.failed
        ),
        (3, 1, 1, 1)
    );
    let f = &summary.failures[0];
    assert_eq!(f.item_index, Some(0));
    assert!(f.reason.contains("ValidationException"), "{}", f.reason);
    assert!(!f.retryable);
}

#[tokio::test]
async fn server_errors_that_outlast_the_sdk_retries_are_retryable_failures() {
    let dir = tempfile::tempdir().unwrap();
    let (s3, event) = upload(dir.path(), "one.json", &prediction("a", 0.1)).await;
    let rule = mock!(A2i::start_human_loop)
        .sequence()
        .http_response(|| wire_error(500, "InternalServerException"))
        .times(3)
        .build();
    let handler = StartHandler::new(config(&[]), s3, a2i_with(&[&rule]))
        .await
        .unwrap();
    let err = handler.handle(&event).await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(rule.num_calls(), 3, "the SDK tried three times");
    let summary = summary_of(Err(err));
    assert!(
        summary.failures[0]
            .reason
            .contains("InternalServerException"),
        "{:?}",
        summary.failures
    );
}

#[tokio::test]
async fn an_item_the_conditions_cannot_read_is_a_reported_failure() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "{}\n{{\"id\": \"no predictions here\"}}\n",
        prediction("a", 0.9)
    );
    let (s3, event) = upload(dir.path(), "shape.jsonl", &body).await;
    let handler = StartHandler::new(config(&[]), s3, a2i_with(&[]))
        .await
        .unwrap();
    let summary = summary_of(handler.handle(&event).await);
    assert_eq!((summary.items, summary.skipped, summary.failed), (2, 1, 1));
    assert_eq!(summary.failures[0].line, Some(2));
    assert!(
        summary.failures[0].reason.contains("cannot be evaluated"),
        "{:?}",
        summary.failures
    );
}

#[tokio::test]
async fn every_record_of_an_event_is_processed() {
    let dir = tempfile::tempdir().unwrap();
    let (s3, mut event) = upload(dir.path(), "first.json", &prediction("a", 0.1)).await;
    let etag = put(
        &s3,
        BUCKET,
        "second file.json",
        prediction("b", 0.2).as_bytes(),
    )
    .await;
    let second = s3_put_event(BUCKET, "second file.json", &etag, 10)["Records"][0].clone();
    event["Records"].as_array_mut().unwrap().push(second);
    let mut delete = event["Records"][0].clone();
    delete["eventName"] = json!("ObjectRemoved:Delete");
    event["Records"].as_array_mut().unwrap().push(delete);
    let rec = Recorder::default();
    let handler = StartHandler::new(config(&[]), s3, a2i_with(&[&started_ok(&rec)]))
        .await
        .unwrap();
    let summary = handler.handle(&event).await.unwrap();
    assert_eq!((summary.objects, summary.started), (2, 2));
    assert_eq!(summary.skipped_records.len(), 1);
    assert_eq!(
        summary.skipped_records[0].event_name,
        "ObjectRemoved:Delete"
    );
}

#[tokio::test]
async fn the_lambda_error_type_says_whether_a_retry_helps() {
    let dir = tempfile::tempdir().unwrap();
    {
        // Its own scope: the embedded S3 locks its directory until its client is dropped.
        let handler = StartHandler::new(config(&[]), local_s3(dir.path()), a2i_with(&[]))
            .await
            .unwrap();
        let err = handler.handle(&json!({"nope": 1})).await.unwrap_err();
        assert_eq!(err.error_type(), "NonRetryable.NotAnS3Event");
    }
    let (s3, event) = upload(dir.path(), "q.json", &prediction("a", 0.1)).await;
    let quota = mock!(A2i::start_human_loop)
        .then_http_response(|| wire_error(402, "ServiceQuotaExceededException"));
    let handler = StartHandler::new(config(&[]), s3, a2i_with(&[&quota]))
        .await
        .unwrap();
    assert_eq!(
        handler.handle(&event).await.unwrap_err().error_type(),
        "Retryable.ItemsFailed"
    );
}

#[tokio::test]
async fn the_error_message_stays_short_when_many_items_fail() {
    let dir = tempfile::tempdir().unwrap();
    let body: Vec<String> = (0..40).map(|i| format!("{{\"broken\": {i},")).collect();
    let (s3, event) = upload(dir.path(), "all-bad.jsonl", &body.join("\n")).await;
    let handler = StartHandler::new(config(&[]), s3, a2i_with(&[]))
        .await
        .unwrap();
    let err = handler.handle(&event).await.unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("40 of 40 items failed"), "{message}");
    assert!(message.contains("30 more not shown"), "{message}");
    assert_eq!(message.matches("is not valid JSON").count(), 10);
    assert_eq!(
        summary_of(Err(err)).failures.len(),
        40,
        "the summary itself keeps every failure"
    );
}

#[tokio::test]
async fn an_empty_or_invalid_object_is_one_named_failure_and_no_item() {
    let dir = tempfile::tempdir().unwrap();
    for (key, body, expected) in [
        ("empty.json", "", "the object is empty"),
        ("broken.json", "{\"predictions\": [", "not valid JSON"),
    ] {
        let (s3, event) = upload(dir.path(), key, body).await;
        let handler = StartHandler::new(config(&[]), s3, a2i_with(&[]))
            .await
            .unwrap();
        let err = handler.handle(&event).await.unwrap_err();
        assert!(!err.is_retryable(), "{key}");
        let message = err.to_string();
        assert!(
            message.starts_with("1 object could not be processed (not retryable"),
            "{message}"
        );
        let summary = summary_of(Err(err));
        assert_eq!(
            (summary.objects, summary.items, summary.failed),
            (1, 0, 1),
            "{key}"
        );
        let f = &summary.failures[0];
        assert_eq!(
            (f.bucket.as_deref(), f.key.as_deref()),
            (Some(BUCKET), Some(key))
        );
        assert_eq!((f.item_index, f.line), (None, None));
        assert!(f.reason.contains(expected), "{key}: {}", f.reason);
    }
}

#[tokio::test]
async fn a_wrongly_typed_record_is_named_by_path_and_the_other_records_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let (s3, mut event) = upload(dir.path(), "fine.json", &prediction("a", 0.1)).await;
    let mut bad = event["Records"][0].clone();
    bad["s3"]["object"]["key"] = json!(42);
    let mut empty = event["Records"][0].clone();
    empty["s3"]["object"]["key"] = json!("");
    let records = event["Records"].as_array_mut().unwrap();
    records.insert(0, bad);
    records.push(empty);
    let rec = Recorder::default();
    let handler = StartHandler::new(config(&[]), s3, a2i_with(&[&started_ok(&rec)]))
        .await
        .unwrap();
    let err = handler.handle(&event).await.unwrap_err();
    assert!(!err.is_retryable());
    let message = err.to_string();
    assert!(
        message.starts_with("2 records were invalid (not retryable"),
        "{message}"
    );
    let summary = summary_of(Err(err));
    assert_eq!((summary.objects, summary.started), (1, 1));
    let reasons: Vec<&str> = summary.failures.iter().map(|f| f.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "not an S3 event record: Records[0].s3.object.key: expected a string, found a number",
            "Records[2].s3.object.key is an empty string",
        ]
    );
}

#[tokio::test]
async fn an_s3_request_timeout_is_retryable_here_as_in_the_status_handler() {
    // S3 answers RequestTimeout with HTTP 400; both functions classify it with one rule.
    let get = mock!(aws_sdk_s3::Client::get_object).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(400).unwrap(),
            SdkBody::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>RequestTimeout</Code><Message>Your socket connection to the server was not read from or written to within the timeout period.</Message><RequestId>r</RequestId></Error>",
            ),
        )
    });
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&get], |b| b
        .retry_config(RetryConfig::disabled()));
    let handler = StartHandler::new(config(&[]), s3, a2i_with(&[]))
        .await
        .unwrap();
    let err = handler
        .handle(&s3_put_event(BUCKET, "slow.json", "etag", 10))
        .await
        .unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(err.error_type(), "Retryable.ItemsFailed");
    let summary = summary_of(Err(err));
    let f = &summary.failures[0];
    assert!(f.retryable);
    assert!(
        f.reason
            .starts_with("GetObject failed with RequestTimeout (HTTP 400)"),
        "{}",
        f.reason
    );
}

#[tokio::test]
async fn a_throttled_lookup_is_not_retried_and_the_loop_is_started() {
    let dir = tempfile::tempdir().unwrap();
    let (s3, event) = upload(dir.path(), "busy.json", &prediction("a", 0.2)).await;
    let throttled = mock!(A2i::describe_human_loop)
        .then_http_response(|| wire_error(429, "ThrottlingException"));
    let rec = Recorder::default();
    let handler = StartHandler::new(config(&[]), s3, a2i_with(&[&throttled, &started_ok(&rec)]))
        .await
        .unwrap();
    let summary = handler.handle(&event).await.unwrap();
    assert_eq!(counts(&summary), (1, 1, 0, 0), "{summary:?}");
    assert_eq!(
        throttled.num_calls(),
        1,
        "the lookup is one attempt, though the client retries up to 3 times"
    );
    assert_eq!(rec.requests().len(), 1);
}

/// A two-page Textract response written as AWS SDKs and `json.dumps` write one: indented,
/// keys in the API's order, geometry on every block, Textract's many-digit confidences.
fn textract_response() -> String {
    let geometry = json!({"BoundingBox": {"Width": 0.1234567890123, "Height": 0.01, "Left": 0.5, "Top": 0.25},
        "Polygon": [{"X": 0.5, "Y": 0.25}, {"X": 0.6234567890123, "Y": 0.2500001}]});
    let mut blocks = Vec::new();
    for (page, (name_conf, word_conf)) in [(1, (96.51234567891234, 99.0)), (2, (41.5, 55.25))] {
        let p = |id: &str| format!("{id}-{page}");
        blocks.push(
            json!({"BlockType": "PAGE", "Geometry": geometry, "Id": p("page"), "Page": page,
            "Relationships": [{"Type": "CHILD", "Ids": [p("line")]}]}),
        );
        blocks.push(json!({"BlockType": "KEY_VALUE_SET", "Confidence": name_conf, "Geometry": geometry,
            "Id": p("key"), "Relationships": [{"Type": "VALUE", "Ids": [p("value")]}, {"Type": "CHILD", "Ids": [p("kw")]}],
            "EntityTypes": ["KEY"], "Page": page}));
        blocks.push(json!({"BlockType": "KEY_VALUE_SET", "Confidence": name_conf, "Geometry": geometry,
            "Id": p("value"), "Relationships": [{"Type": "CHILD", "Ids": [p("vw")]}], "EntityTypes": ["VALUE"], "Page": page}));
        blocks.push(json!({"BlockType": "WORD", "Confidence": word_conf, "Text": if page == 1 { "Name:" } else { "Policy\u{a0}number:" },
            "TextType": "PRINTED", "Geometry": geometry, "Id": p("kw"), "Page": page}));
        blocks.push(
            json!({"BlockType": "WORD", "Confidence": word_conf, "Text": "Jane \"J\" Doe é",
            "TextType": "HANDWRITING", "Geometry": geometry, "Id": p("vw"), "Page": page}),
        );
    }
    let doc = json!({"DocumentMetadata": {"Pages": 2}, "JobStatus": "SUCCEEDED", "Blocks": blocks,
        "AnalyzeDocumentModelVersion": "1.0"});
    // A byte order mark and indentation: neither may change what the loop input holds.
    format!("\u{feff}{}\n", serde_json::to_string_pretty(&doc).unwrap())
}

#[tokio::test]
async fn a_textract_document_read_lean_gets_the_summary_and_loop_input_of_the_value_path() {
    let cases = [
        // Flags page 2's pair: its key-value confidence is under 50.
        (
            r#"{"Conditions":[{"ConditionType":"ImportantFormKeyConfidenceCheck","ConditionParameters":{"ImportantFormKey":"*","KeyValueBlockConfidenceLessThan":50}}]}"#,
            true,
        ),
        (
            r#"{"Conditions":[{"And":[
            {"ConditionType":"ImportantFormKeyConfidenceCheck","ConditionParameters":{"ImportantFormKey":"Policy number:","WordBlockConfidenceLessThan":60}},
            {"ConditionType":"MissingImportantFormKey","ConditionParameters":{"ImportantFormKey":"Date of birth:"}}]}]}"#,
            true,
        ),
        // Flags nothing: every key is there and no confidence is that low.
        (
            r#"{"Conditions":[{"ConditionType":"ImportantFormKeyConfidenceCheck","ConditionParameters":{"ImportantFormKey":"*","KeyValueBlockConfidenceLessThan":10}},
            {"ConditionType":"MissingImportantFormKey","ConditionParameters":{"ImportantFormKey":"Name:"}}]}"#,
            false,
        ),
    ];
    let body = textract_response();
    let value: Value = serde_json::from_str(body.trim_start_matches('\u{feff}')).unwrap();
    for (conditions, flags) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (s3, event) = upload(dir.path(), "forms/claim.json", &body).await;
        let rec = Recorder::default();
        let handler = StartHandler::new(
            config(&[("ACTIVATION_CONDITIONS", conditions)]),
            s3,
            a2i_with(&[&started_ok(&rec)]),
        )
        .await
        .unwrap();
        assert!(
            handler.conditions().unwrap().reads_only_form_pairs(),
            "{conditions}"
        );
        // The Value path, as the handler took it for every item before.
        let expected = handler.conditions().unwrap().evaluate(&value).unwrap();
        assert_eq!(expected.flagged, flags, "{conditions}");

        let summary = handler.handle(&event).await.unwrap();
        assert_eq!(
            (
                summary.objects,
                summary.items,
                summary.flagged,
                summary.started,
                summary.skipped,
                summary.failed
            ),
            (
                1,
                1,
                usize::from(flags),
                usize::from(flags),
                usize::from(!flags),
                0
            ),
            "{conditions}"
        );
        let requests = rec.requests();
        assert_eq!(requests.len(), usize::from(flags));
        if let Some(request) = requests.first() {
            let content = request.human_loop_input().unwrap().input_content().unwrap();
            let sent: LoopInput = serde_json::from_str(content).unwrap();
            assert_eq!(sent.source.object.key, "forms/claim.json");
            assert_eq!((sent.source.item_index, sent.source.line), (0, None));
            let rendered = LoopInput::new(value.clone(), sent.source.clone(), &expected, None)
                .render()
                .unwrap();
            assert!(!rendered.item_replaced);
            // Byte for byte: a redelivery through either path is the same loop input.
            assert_eq!(content, rendered.content, "{conditions}");
        }
    }
}

#[tokio::test]
async fn a_textract_document_form_conditions_cannot_read_fails_as_on_the_value_path() {
    let dir = tempfile::tempdir().unwrap();
    let conditions = r#"{"Conditions":[{"ConditionType":"MissingImportantFormKey","ConditionParameters":{"ImportantFormKey":"Name:"}}]}"#;
    let body = r#"{"DocumentMetadata": {"Pages": 1}, "Labels": []}"#;
    let (s3, event) = upload(dir.path(), "not-textract.json", body).await;
    let handler = StartHandler::new(
        config(&[("ACTIVATION_CONDITIONS", conditions)]),
        s3,
        a2i_with(&[]),
    )
    .await
    .unwrap();
    assert!(handler.conditions().unwrap().reads_only_form_pairs());
    let expected = handler
        .conditions()
        .unwrap()
        .evaluate(&serde_json::from_str(body).unwrap())
        .unwrap_err();
    let summary = summary_of(handler.handle(&event).await);
    assert_eq!((summary.items, summary.failed), (1, 1));
    let f = &summary.failures[0];
    assert_eq!((f.item_index, f.line), (Some(0), None));
    assert_eq!(
        f.reason,
        format!("the activation conditions cannot be evaluated on this item: {expected}")
    );
}

#[tokio::test]
async fn a_document_that_is_not_json_is_one_object_failure_under_form_key_conditions_too() {
    // The first holds for no pair of these documents, the second for all of them (no key).
    let skips = r#"{"Conditions":[{"ConditionType":"ImportantFormKeyConfidenceCheck","ConditionParameters":{"ImportantFormKey":"*","KeyValueBlockConfidenceLessThan":50}}]}"#;
    let flags = r#"{"Conditions":[{"ConditionType":"MissingImportantFormKey","ConditionParameters":{"ImportantFormKey":"Name:"}}]}"#;
    let cases = [
        ("broken.json", r#"{"Blocks": ["#),
        // Syntactically fine where a lean reader skips it, but a number no Value can hold.
        (
            "range.json",
            r#"{"Blocks": [], "Geometry": {"Width": 1e999999}}"#,
        ),
        ("trailing.json", r#"{"Blocks": []} {"Blocks": []}"#),
    ];
    for ((key, body), conditions) in cases
        .iter()
        .flat_map(|case| [(*case, skips), (*case, flags)])
    {
        let dir = tempfile::tempdir().unwrap();
        let (s3, event) = upload(dir.path(), key, body).await;
        let handler = StartHandler::new(
            config(&[("ACTIVATION_CONDITIONS", conditions)]),
            s3,
            a2i_with(&[]),
        )
        .await
        .unwrap();
        let expected = serde_json::from_str::<Value>(body).unwrap_err();
        let summary = summary_of(handler.handle(&event).await);
        assert_eq!(
            (
                summary.objects,
                summary.items,
                summary.flagged,
                summary.failed
            ),
            (1, 0, 0, 1),
            "{key}"
        );
        let f = &summary.failures[0];
        assert_eq!(
            (f.item_index, f.line, f.retryable),
            (None, None, false),
            "{key}"
        );
        assert_eq!(
            f.reason,
            format!("the object is not valid JSON: {expected}"),
            "{key}"
        );
    }
}

#[tokio::test]
async fn media_path_puts_the_items_s3_uri_into_the_input_and_fails_an_item_without_a_valid_one() {
    let dir = tempfile::tempdir().unwrap();
    let with_media = |id: &str, image: Value| {
        json!({"id": id, "image": image, "predictions": [{"label": "invoice", "confidence": 0.2}]})
            .to_string()
    };
    let body = [
        with_media("ok", json!("s3://media-bucket/scans/page 1.png")),
        json!({"id": "none", "predictions": [{"label": "invoice", "confidence": 0.2}]}).to_string(),
        with_media("url", json!("https://private.example/secret-name.png")),
        with_media("num", json!(7)),
    ]
    .join("\n");
    let (s3, event) = upload(dir.path(), "media.jsonl", &body).await;
    let rec = Recorder::default();
    let handler = StartHandler::new(
        config(&[("MEDIA_PATH", "$.image")]),
        s3,
        a2i_with(&[&started_ok(&rec)]),
    )
    .await
    .unwrap();

    let err = handler.handle(&event).await.unwrap_err();
    assert!(!err.is_retryable(), "a retry cannot fix the item");
    let summary = summary_of(Err(err));
    assert_eq!(
        (
            summary.items,
            summary.flagged,
            summary.started,
            summary.failed
        ),
        (4, 4, 2, 2)
    );
    let mut media: Vec<(String, Value)> = rec
        .requests()
        .iter()
        .map(|r| {
            let input: Value =
                serde_json::from_str(r.human_loop_input().unwrap().input_content().unwrap())
                    .unwrap();
            (
                input["taskObject"]["id"].as_str().unwrap().to_owned(),
                input["media"].clone(),
            )
        })
        .collect();
    media.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        media,
        [
            ("none".to_owned(), Value::Null),
            (
                "ok".to_owned(),
                json!({"s3Uri": "s3://media-bucket/scans/page 1.png", "type": "image"})
            ),
        ]
    );
    let reasons: Vec<(Option<u64>, &str)> = summary
        .failures
        .iter()
        .map(|f| (f.line, f.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (Some(3), "MEDIA_PATH $.image selects a string of 39 characters that is not an S3 URI (it must start with s3://) in the item, where an s3://bucket/key URI was expected; the item was not sent for review"),
            (Some(4), "MEDIA_PATH $.image selects a number in the item, where an s3://bucket/key URI was expected; the item was not sent for review"),
        ]
    );
    assert!(summary
        .failures
        .iter()
        .all(|f| !f.retryable && f.loop_name.is_some()));
}
