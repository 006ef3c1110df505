//! The status handler end to end: real events in, real SDK client against a2i-local's
//! embedded S3 in-process (the shared test kit), reviewed results read back.

mod common;

use a2i_review::config::StatusConfig;
use a2i_review::error::FunctionError;
use a2i_review::loop_input::{ItemSource, LoopInput};
use a2i_review::source::ObjectRef;
use a2i_review::status::{StatusError, StatusHandler, StatusOutcome};
use common::local_s3;
use serde_json::{json, Value};

const FLOW: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/a2i-review-demo";
const OUTPUT_BUCKET: &str = "a2i-review-output";
const RESULTS: &str = "a2i-review-results";

const COMPLETED: &str = include_str!("../events/a2i-completed.json");
const FAILED: &str = include_str!("../events/a2i-failed.json");
const STOPPED: &str = include_str!("../events/a2i-stopped.json");
/// AWS's documented example event (developer guide), with the 13-digit account typo fixed.
const DOCUMENTED_EXAMPLE: &str = include_str!("fixtures/a2i-documented-example.json");

/// A local S3 with the output and results buckets, and a handler over it.
struct World {
    _dir: tempfile::TempDir,
    s3: aws_sdk_s3::Client,
    handler: StatusHandler,
}

impl World {
    async fn new() -> Self {
        Self::with_env(&[("FLOW_DEFINITION_ARN", FLOW)]).await
    }

    async fn with_env(extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let s3 = local_s3(dir.path());
        for b in [OUTPUT_BUCKET, RESULTS] {
            common::ensure_bucket(&s3, b).await;
        }
        let mut env: Vec<(String, String)> = vec![
            ("RESULTS_BUCKET".into(), RESULTS.into()),
            ("RESULTS_PREFIX".into(), "reviewed/".into()),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config = StatusConfig::from_lookup(|name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .unwrap();
        let handler = StatusHandler::new(config, s3.clone());
        Self {
            _dir: dir,
            s3,
            handler,
        }
    }

    async fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        common::ensure_bucket(&self.s3, bucket).await;
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body.to_vec().into())
            .send()
            .await
            .unwrap();
    }

    async fn put_output(&self, event: &Value, output: &Value) {
        let uri = event["detail"]["humanLoopOutput"]["outputS3Uri"]
            .as_str()
            .unwrap();
        let (bucket, key) = a2i_review::source::parse_s3_uri(uri).unwrap();
        self.put(&bucket, &key, &serde_json::to_vec(output).unwrap())
            .await;
    }

    async fn get_bytes(&self, bucket: &str, key: &str) -> Vec<u8> {
        let out = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        out.body.collect().await.unwrap().into_bytes().to_vec()
    }

    async fn result(&self, key: &str) -> Value {
        serde_json::from_slice(&self.get_bytes(RESULTS, key).await).unwrap()
    }

    async fn result_keys(&self) -> Vec<String> {
        let out = self
            .s3
            .list_objects_v2()
            .bucket(RESULTS)
            .send()
            .await
            .unwrap();
        let mut keys: Vec<String> = out
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect();
        keys.sort();
        keys
    }

    /// Handles `event` and returns the written key, failing the test on any other outcome.
    async fn written(&self, event: Value) -> String {
        match self.handler.handle(event).await {
            Ok(StatusOutcome::Written {
                result_key,
                result_bucket,
                ..
            }) => {
                assert_eq!(result_bucket, RESULTS);
                result_key
            }
            other => panic!("expected a written result, got {other:?}"),
        }
    }
}

fn event(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn loop_input(bucket: &str, key: &str) -> Value {
    serde_json::to_value(LoopInput {
        task_object: json!({"text": "The delivery was late again.", "prediction": {"label": "Positive", "confidence": 0.41}}),
        task_object_is_reference: false,
        source: ItemSource {
            object: ObjectRef {
                bucket: bucket.into(),
                key: key.into(),
                version_id: Some("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY".into()),
                e_tag: Some("9b2cf535f27731c974343645a3985328".into()),
            },
            item_index: 41,
            line: Some(42),
        },
        activation_reasons: vec!["prediction confidence 0.41 is below 0.6".into()],
        human_task_activation_condition_results: json!({"Conditions": [{"ConditionType": "LabelConfidenceCheck", "EvaluationResult": true}]}),
        condition_explanation: Vec::new(),
        media: None,
        form_pairs: None,
    })
    .unwrap()
}

fn answer(worker: &str, submitted: &str, content: Value) -> Value {
    json!({
        "acceptanceTime": "2026-11-21T10:30:00.000Z",
        "answerContent": content,
        "submissionTime": submitted,
        "timeSpentInSeconds": 37.25,
        "workerId": worker,
        "workerMetadata": {"identityData": {"identityProviderType": "Cognito", "issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example", "sub": format!("sub-{worker}")}}
    })
}

fn output_for(event: &Value, answers: Vec<Value>, input: Option<Value>) -> Value {
    let mut o = json!({
        "flowDefinitionArn": event["detail"]["flowDefinitionArn"].as_str().unwrap_or(FLOW),
        "humanAnswers": answers,
        "humanLoopName": event["detail"]["humanLoopName"],
    });
    if let Some(input) = input {
        o["inputContent"] = input;
    }
    o
}

fn labels(labels: &[&str]) -> Vec<Value> {
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            answer(
                &format!("worker-{i}"),
                &format!("2026-11-21T10:3{i}:00.000Z"),
                json!({"sentiment": {"label": l}, "sarcasm": {"on": true}}),
            )
        })
        .collect()
}

const SOURCE_KEY: &str = "inference/2026-11-21/sentiment-batch-0007.jsonl";

#[tokio::test]
async fn the_sample_completed_event_writes_a_reviewed_result_next_to_its_source() {
    let w = World::new().await;
    let e = event(COMPLETED);
    w.put_output(
        &e,
        &output_for(
            &e,
            labels(&["Negative", "Negative", "Neutral"]),
            Some(loop_input("a2i-review-input", SOURCE_KEY)),
        ),
    )
    .await;

    let key = w.written(e).await;
    assert_eq!(key, format!("reviewed/a2i-review-input/{SOURCE_KEY}/a2i-review-4b1f0c7e9d2a86f35e0b7c4d1a9f2e68.json"));
    let bytes = w.get_bytes(RESULTS, &key).await;
    println!("{}", String::from_utf8_lossy(&bytes));
    let r: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(r["schemaVersion"], json!(1));
    assert_eq!(r["status"], json!("Completed"));
    assert_eq!(r["humanLoopArn"], json!("arn:aws:sagemaker:us-east-1:111122223333:human-loop/a2i-review-4b1f0c7e9d2a86f35e0b7c4d1a9f2e68"));
    assert_eq!(r["flowDefinitionArn"], json!(FLOW));
    assert_eq!(r["creationTime"], json!("2026-11-21T10:00:00.412Z"));
    assert_eq!(r["completionTime"], json!("2026-11-21T10:41:07Z"));
    assert_eq!(r["source"]["key"], json!(SOURCE_KEY));
    assert_eq!(r["source"]["itemIndex"], json!(41));
    assert_eq!(
        r["activationReasons"],
        json!(["prediction confidence 0.41 is below 0.6"])
    );
    assert_eq!(
        r["humanTaskActivationConditionResults"]["Conditions"][0]["EvaluationResult"],
        json!(true)
    );
    assert_eq!(r["answerCount"], json!(3));
    assert_eq!(
        r["humanAnswers"][2]["answerContent"]["sentiment"]["label"],
        json!("Neutral")
    );
    assert_eq!(r["humanAnswers"][0]["timeSpentInSeconds"], json!(37.25));
    assert_eq!(r["agreement"]["sentiment.label"]["agree"], json!(false));
    assert_eq!(
        r["agreement"]["sentiment.label"]["majority"],
        json!({"value": "Negative", "count": 2})
    );
    assert_eq!(r["agreement"]["sarcasm.on"]["agree"], json!(true));
    assert!(
        r.get("taskObject").is_none()
            && !String::from_utf8_lossy(&bytes).contains("delivery was late"),
        "the item itself is not copied into the result"
    );
}

#[tokio::test]
async fn awss_documented_example_event_is_handled() {
    let w = World::with_env(&[]).await;
    let e: Value = serde_json::from_str(DOCUMENTED_EXAMPLE).unwrap();
    let answers = vec![answer(
        "a12b3cdefg4h5i67",
        "2019-11-14T17:48:58.321Z",
        json!({"sentiment": {"label": "Negative"}}),
    )];
    w.put_output(
        &e,
        &output_for(&e, answers, Some(loop_input("in", "docs/review.json"))),
    )
    .await;
    let key = w.written(e).await;
    assert_eq!(key, "reviewed/in/docs/review.json/humanloop-nov-14-1.json");
    let r = w.result(&key).await;
    assert_eq!(r["creationTime"], json!("2019-11-14T17:37:36.740Z"));
    assert_eq!(r["completionTime"], json!("2019-11-14T17:49:25Z"));
    assert_eq!(r["answerCount"], json!(1));
    assert_eq!(
        r["agreement"],
        Value::Null,
        "one worker: nothing to compare"
    );
    assert_eq!(r["humanAnswers"][0]["workerId"], json!("a12b3cdefg4h5i67"));
    assert_eq!(
        r["humanAnswers"][0]["acceptanceTime"],
        json!("2026-11-21T10:30:00Z")
    );
}

#[tokio::test]
async fn failed_is_recorded_without_output_json() {
    let w = World::new().await;
    // No output.json exists anywhere: a Failed event must not need one.
    let key = w.written(event(FAILED)).await;
    assert_eq!(
        key,
        "reviewed/_no-source/a2i-review-9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b.json"
    );
    let r = w.result(&key).await;
    assert_eq!(r["status"], json!("Failed"));
    assert_eq!(r["failureCode"], json!("Expired"));
    assert_eq!(
        r["failureReason"],
        json!("The human loop expired before workers completed the task.")
    );
    assert_eq!(r["humanAnswers"], Value::Null);
    assert_eq!(r["answerCount"], Value::Null);
    assert_eq!(r["outputS3Uri"], Value::Null);
    assert_eq!(r["completionTime"], json!("2026-11-24T10:00:03Z"));
}

#[tokio::test]
async fn stopped_is_recorded_with_its_output_uri_and_no_failure() {
    let w = World::new().await;
    let key = w.written(event(STOPPED)).await;
    assert_eq!(
        key,
        "reviewed/_no-source/a2i-review-1a2b3c4d5e6f708192a3b4c5d6e7f809.json"
    );
    let r = w.result(&key).await;
    assert_eq!(r["status"], json!("Stopped"));
    assert_eq!(r["failureCode"], Value::Null);
    assert!(r["outputS3Uri"].as_str().unwrap().ends_with("/output.json"));
    assert_eq!(r["humanAnswers"], Value::Null);
}

#[tokio::test]
async fn non_final_and_unknown_statuses_are_errors_and_write_nothing() {
    let w = World::new().await;
    for status in ["InProgress", "Stopping", "Deleted", "completed"] {
        let mut e = event(COMPLETED);
        e["detail"]["humanLoopStatus"] = json!(status);
        let err = w.handler.handle(e).await.unwrap_err();
        assert!(
            matches!(&err, StatusError::UnexpectedStatus { status: s, .. } if s == status),
            "{err:?}"
        );
        assert!(!err.is_retryable());
        assert_eq!(err.error_type(), "NonRetryable.UnexpectedStatus");
    }
    assert!(w.result_keys().await.is_empty());
}

#[tokio::test]
async fn foreign_source_and_detail_type_are_rejected_by_name() {
    let w = World::new().await;
    let mut e = event(COMPLETED);
    e["source"] = json!("aws.s3");
    let err = w.handler.handle(e).await.unwrap_err();
    assert!(err.to_string().contains("\"aws.s3\""), "{err}");
    assert_eq!(err.error_type(), "NonRetryable.ForeignSource");
    let mut e = event(COMPLETED);
    e["detail-type"] = json!("SageMaker HyperParameter Tuning Job State Change");
    let err = w.handler.handle(e).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("SageMaker HyperParameter Tuning Job State Change"),
        "{err}"
    );
    assert!(!err.is_retryable());
    let err = w.handler.handle(json!({"Records": []})).await.unwrap_err();
    assert!(
        matches!(&err, StatusError::InvalidEvent { field, .. } if field == "source"),
        "{err:?}"
    );
    assert!(w.result_keys().await.is_empty());
}

#[tokio::test]
async fn a_loop_of_another_flow_definition_is_ignored() {
    let w = World::new().await;
    let mut e = event(COMPLETED);
    let other = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/someone-elses-flow";
    e["detail"]["flowDefinitionArn"] = json!(other);
    match w.handler.handle(e).await.unwrap() {
        StatusOutcome::Ignored {
            flow_definition_arn,
            human_loop_name,
            ..
        } => {
            assert_eq!(flow_definition_arn, other);
            assert_eq!(
                human_loop_name,
                "a2i-review-4b1f0c7e9d2a86f35e0b7c4d1a9f2e68"
            );
        }
        other => panic!("{other:?}"),
    }
    // Without the filter the same event is processed.
    let unfiltered = World::with_env(&[]).await;
    let mut e = event(FAILED);
    e["detail"]["flowDefinitionArn"] = json!(other);
    unfiltered.written(e).await;
    assert!(w.result_keys().await.is_empty());
}

#[tokio::test]
async fn a_capture_without_arns_uses_the_flow_definition_in_output_json() {
    // The traits of a real captured event: no account, resources, humanLoopArn or
    // flowDefinitionArn, and a mixed-case loop name.
    let w = World::new().await;
    let e = json!({
        "version": "0", "id": "5d1e2f3a-0000-4b4b-8c8c-0123456789ab",
        "detail-type": "SageMaker A2I HumanLoop Status Change", "source": "aws.sagemaker",
        "time": "2026-11-21T11:00:00Z", "region": "us-east-1",
        "detail": {
            "creationTime": "2026-11-21T10:59:00.001Z", "failureCode": null, "failureReason": null,
            "humanLoopName": "Review-Loop-Text1763722740001",
            "humanLoopOutput": {"outputS3Uri": "s3://a2i-review-output/out/review-flow/2026/11/21/10/59/00/Review-Loop-Text1763722740001/output.json"},
            "humanLoopStatus": "Completed"
        }
    });
    w.put_output(&e, &output_for(&e, labels(&["Positive"]), None))
        .await;
    let key = w.written(e.clone()).await;
    let r = w.result(&key).await;
    assert_eq!(r["flowDefinitionArn"], json!(FLOW));
    assert_eq!(r["humanLoopArn"], Value::Null);
    assert_eq!(
        key,
        "reviewed/_no-source/Review-Loop-Text1763722740001.json"
    );

    // The same capture, when output.json names another flow definition, is ignored.
    let w = World::new().await;
    let mut o = output_for(&e, labels(&["Positive"]), None);
    o["flowDefinitionArn"] =
        json!("arn:aws:sagemaker:us-east-1:111122223333:flow-definition/other");
    w.put_output(&e, &o).await;
    assert!(matches!(
        w.handler.handle(e).await.unwrap(),
        StatusOutcome::Ignored { .. }
    ));
    assert!(w.result_keys().await.is_empty());
}

#[tokio::test]
async fn two_workers_agreeing_and_disagreeing() {
    let w = World::new().await;
    let e = event(COMPLETED);
    w.put_output(
        &e,
        &output_for(
            &e,
            labels(&["Positive", "Positive"]),
            Some(loop_input("in", "a.jsonl")),
        ),
    )
    .await;
    let r = w.result(&w.written(e.clone()).await).await;
    let f = &r["agreement"]["sentiment.label"];
    assert_eq!(
        (f["agree"].clone(), f["answered"].clone()),
        (json!(true), json!(2))
    );
    assert_eq!(f["majority"], json!({"value": "Positive", "count": 2}));

    w.put_output(
        &e,
        &output_for(
            &e,
            labels(&["Positive", "Negative"]),
            Some(loop_input("in", "a.jsonl")),
        ),
    )
    .await;
    let r = w.result(&w.written(e).await).await;
    let f = &r["agreement"]["sentiment.label"];
    assert_eq!(f["agree"], json!(false));
    assert_eq!(f["majority"], Value::Null, "1-1 is a tie");
    assert_eq!(
        f["votes"],
        json!([{"value": "Positive", "count": 1}, {"value": "Negative", "count": 1}])
    );
    assert_eq!(r["agreement"]["sarcasm.on"]["agree"], json!(true));
}

#[tokio::test]
async fn three_workers_two_against_one_and_a_three_way_tie() {
    let w = World::new().await;
    let e = event(COMPLETED);
    w.put_output(
        &e,
        &output_for(
            &e,
            labels(&["Neutral", "Negative", "Negative"]),
            Some(loop_input("in", "a.jsonl")),
        ),
    )
    .await;
    let r = w.result(&w.written(e.clone()).await).await;
    let f = &r["agreement"]["sentiment.label"];
    assert_eq!(f["majority"], json!({"value": "Negative", "count": 2}));
    assert_eq!(f["votes"][0]["value"], json!("Negative"));
    assert_eq!(f["agree"], json!(false));

    w.put_output(
        &e,
        &output_for(
            &e,
            labels(&["Neutral", "Negative", "Positive"]),
            Some(loop_input("in", "a.jsonl")),
        ),
    )
    .await;
    let r = w.result(&w.written(e).await).await;
    let f = &r["agreement"]["sentiment.label"];
    assert_eq!(f["majority"], Value::Null);
    assert_eq!(f["votes"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn zero_answers_are_recorded_as_such() {
    let w = World::new().await;
    let e = event(COMPLETED);
    w.put_output(
        &e,
        &output_for(&e, vec![], Some(loop_input("in", "a.jsonl"))),
    )
    .await;
    let r = w.result(&w.written(e).await).await;
    assert_eq!(r["answerCount"], json!(0));
    assert_eq!(r["humanAnswers"], json!([]));
    assert_eq!(r["agreement"], Value::Null);
    assert_eq!(r["status"], json!("Completed"));
}

#[tokio::test]
async fn a_malformed_output_json_is_a_non_retryable_error_naming_the_object() {
    let w = World::new().await;
    let e = event(COMPLETED);
    let uri = e["detail"]["humanLoopOutput"]["outputS3Uri"]
        .as_str()
        .unwrap();
    let (bucket, key) = a2i_review::source::parse_s3_uri(uri).unwrap();

    w.put(&bucket, &key, br#"{"humanAnswers": [{"answerContent": "#)
        .await;
    let err = w.handler.handle(e.clone()).await.unwrap_err();
    assert!(
        matches!(&err, StatusError::InvalidOutput { bucket: b, key: k, .. } if *b == bucket && *k == key),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("not valid JSON"), "{err}");

    let mut o = output_for(&e, labels(&["Positive"]), None);
    o["humanAnswers"][0]["answerContent"] = json!("a reviewer's private words");
    w.put_output(&e, &o).await;
    let err = w.handler.handle(e.clone()).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("humanAnswers[0].answerContent: expected an object, found a string"),
        "{err}"
    );
    assert!(!err.to_string().contains("private words"));

    let mut o = output_for(&e, labels(&["Positive"]), None);
    o["humanLoopName"] = json!("a-different-loop");
    w.put_output(&e, &o).await;
    let err = w.handler.handle(e).await.unwrap_err();
    assert!(err.to_string().contains("a-different-loop"), "{err}");
    assert!(w.result_keys().await.is_empty());
}

#[tokio::test]
async fn a_missing_output_json_is_retryable_and_a_retry_after_it_lands_succeeds() {
    let w = World::new().await;
    let e = event(COMPLETED);
    let err = w.handler.handle(e.clone()).await.unwrap_err();
    assert!(matches!(err, StatusError::OutputNotFound { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.error_type(), "Retryable.OutputNotFound");
    assert!(w.result_keys().await.is_empty());

    w.put_output(
        &e,
        &output_for(&e, labels(&["Positive"]), Some(loop_input("in", "a.jsonl"))),
    )
    .await;
    w.written(e).await;
    assert_eq!(w.result_keys().await.len(), 1);
}

#[tokio::test]
async fn keys_with_spaces_and_unicode_are_used_verbatim() {
    let w = World::new().await;
    let mut e = event(COMPLETED);
    e["detail"]["humanLoopOutput"]["outputS3Uri"] =
        json!("s3://a2i-review-output/a b/ü+1/output.json");
    let source_key = "uploads/März 2026/ergebnis+1 (ü).jsonl";
    w.put(
        OUTPUT_BUCKET,
        "a b/ü+1/output.json",
        &serde_json::to_vec(&output_for(
            &e,
            labels(&["Positive"]),
            Some(loop_input("in-bucket", source_key)),
        ))
        .unwrap(),
    )
    .await;
    let key = w.written(e).await;
    assert_eq!(
        key,
        format!("reviewed/in-bucket/{source_key}/a2i-review-4b1f0c7e9d2a86f35e0b7c4d1a9f2e68.json")
    );
    let r = w.result(&key).await;
    assert_eq!(r["source"]["key"], json!(source_key));
    assert_eq!(
        r["outputS3Uri"],
        json!("s3://a2i-review-output/a b/ü+1/output.json")
    );
}

#[tokio::test]
async fn loop_input_without_a_source_goes_under_no_source() {
    let w = World::new().await;
    let e = event(COMPLETED);
    let foreign = json!({"initialValue": "Positive", "taskObject": "I loved it, said no one"});
    w.put_output(&e, &output_for(&e, labels(&["Positive"]), Some(foreign)))
        .await;
    let key = w.written(e).await;
    assert_eq!(
        key,
        "reviewed/_no-source/a2i-review-4b1f0c7e9d2a86f35e0b7c4d1a9f2e68.json"
    );
    let r = w.result(&key).await;
    assert_eq!(
        (r["source"].clone(), r["activationReasons"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(r["answerCount"], json!(1));
}

#[tokio::test]
async fn a_source_key_too_long_for_s3_is_shortened_under_the_limit() {
    // s3s-fs stores an object's metadata in a file named after the whole key, so it cannot hold
    // keys near S3's 1024-byte limit; this test captures the PutObject with the SDK's mocks.
    use aws_sdk_s3::operation::get_object::GetObjectOutput;
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    use std::sync::{Arc, Mutex};

    let e = event(COMPLETED);
    let long_key: String = (0..10)
        .map(|i| format!("{i}{}", "d".repeat(99)))
        .collect::<Vec<_>>()
        .join("/");
    let output = serde_json::to_vec(&output_for(
        &e,
        labels(&["Positive"]),
        Some(loop_input("in", &long_key)),
    ))
    .unwrap();
    let get = mock!(aws_sdk_s3::Client::get_object).then_output(move || {
        GetObjectOutput::builder()
            .body(output.clone().into())
            .build()
    });
    /// (key, body) of every PutObject.
    type Puts = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let written: Puts = Arc::default();
    let sink = written.clone();
    let put = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(move |r| {
            let body = r.body().bytes().unwrap_or_default().to_vec();
            sink.lock()
                .unwrap()
                .push((r.key().unwrap_or_default().to_owned(), body));
            true
        })
        .then_output(|| PutObjectOutput::builder().build());
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&get, &put]);
    let config = StatusConfig {
        results_bucket: RESULTS.into(),
        results_prefix: "reviewed/".into(),
        flow_definition_arn: None,
    };
    let key = match StatusHandler::new(config, s3).handle(e).await.unwrap() {
        StatusOutcome::Written { result_key, .. } => result_key,
        other => panic!("{other:?}"),
    };
    assert!(key.len() <= 1024, "{}", key.len());
    assert!(
        key.len() > 1000,
        "keeps as much of the source key as fits: {}",
        key.len()
    );
    assert!(key.starts_with("reviewed/in/0ddd"), "{key}");
    assert!(
        key.contains('~') && key.ends_with("/a2i-review-4b1f0c7e9d2a86f35e0b7c4d1a9f2e68.json"),
        "{key}"
    );
    let written = written.lock().unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].0, key);
    let doc: Value = serde_json::from_slice(&written[0].1).unwrap();
    assert_eq!(
        doc["source"]["key"],
        json!(long_key),
        "the result keeps the full key"
    );
}

#[tokio::test]
async fn redelivery_rewrites_identical_bytes() {
    let w = World::new().await;
    let e = event(COMPLETED);
    w.put_output(
        &e,
        &output_for(
            &e,
            labels(&["Negative", "Neutral", "Negative"]),
            Some(loop_input("in", SOURCE_KEY)),
        ),
    )
    .await;
    let key = w.written(e.clone()).await;
    let first = w.get_bytes(RESULTS, &key).await;
    // Tamper with the stored result, so the second delivery has to write it again.
    w.put(RESULTS, &key, b"tampered").await;
    let key_again = w.written(e.clone()).await;
    assert_eq!(key_again, key);
    let second = w.get_bytes(RESULTS, &key).await;
    assert_eq!(first, second);
    assert_eq!(w.result_keys().await, vec![key]);

    for text in [FAILED, STOPPED] {
        let k = w.written(event(text)).await;
        let a = w.get_bytes(RESULTS, &k).await;
        w.put(RESULTS, &k, b"tampered").await;
        w.written(event(text)).await;
        assert_eq!(a, w.get_bytes(RESULTS, &k).await);
    }
}

#[tokio::test]
async fn the_result_never_depends_on_the_clock() {
    // Two handlers, far apart in wall-clock terms only by construction; same event and output
    // must give the same bytes.
    let e = event(COMPLETED);
    let mut results = Vec::new();
    for _ in 0..2 {
        let w = World::new().await;
        w.put_output(
            &e,
            &output_for(
                &e,
                labels(&["Positive", "Negative"]),
                Some(loop_input("in", "x.jsonl")),
            ),
        )
        .await;
        let key = w.written(e.clone()).await;
        results.push(w.get_bytes(RESULTS, &key).await);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    assert_eq!(results[0], results[1]);
}

#[tokio::test]
async fn answer_fields_keep_the_order_output_json_has_them_in() {
    // serde_json's preserve_order is a normal feature of the app (Cargo.toml): the deployed
    // function writes what this test reads.
    let w = World::new().await;
    let e = event(COMPLETED);
    let uri = e["detail"]["humanLoopOutput"]["outputS3Uri"]
        .as_str()
        .unwrap();
    let (bucket, key) = a2i_review::source::parse_s3_uri(uri).unwrap();
    let output = format!(
        r#"{{"flowDefinitionArn": "{FLOW}", "humanLoopName": {}, "humanAnswers": [{{"answerContent": {{"zeta": {{"on": true}}, "alpha": {{"label": "x"}}, "mid": 1}}, "submissionTime": "2026-11-21T10:30:00.000Z", "workerId": "w"}}]}}"#,
        e["detail"]["humanLoopName"]
    );
    w.put(&bucket, &key, output.as_bytes()).await;
    let key = w.written(e).await;
    let text = String::from_utf8(w.get_bytes(RESULTS, &key).await).unwrap();
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {text}"))
    };
    assert!(
        at("\"zeta\"") < at("\"alpha\"") && at("\"alpha\"") < at("\"mid\""),
        "{text}"
    );
}
