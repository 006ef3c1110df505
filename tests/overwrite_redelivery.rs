//! A redelivered S3 event after an overwrite, end to end against a2i-local (strict S3 and the
//! A2I emulator): the start handler reads the object with `If-Match` on the event's ETag, so
//! the overwritten object is a reported 412 and no loop is started for content the event did
//! not describe; with a versioned bucket the event's `versionId` reads exactly that version.

mod common;

use std::collections::HashMap;

use a2i_local::{LocalA2i, LocalA2iHandle};
use a2i_review::config::StartConfig;
use a2i_review::error::FunctionError;
use a2i_review::start::{StartError, StartHandler, Summary};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use common::s3_put_event;
use serde_json::json;

const BUCKET: &str = "inference-results";
const KEY: &str = "batch/results 1.jsonl";
/// Flags an item whose top prediction has a confidence under 0.6.
const LOW_CONFIDENCE: &str = r#"{"Conditions":[{"ConditionType":"PredictionConfidenceCheck","ConditionParameters":{"LabelName":"*","TopPredictionOnly":true,"ConfidenceLessThan":0.6}}]}"#;

/// A JSON Lines document of `ids`, every item flagged (confidence 0.3).
fn document(ids: &[&str]) -> String {
    ids.iter()
        .map(|id| {
            json!({"id": id, "predictions": [{"label": "invoice", "confidence": 0.3}]}).to_string()
                + "\n"
        })
        .collect()
}

fn config(flow: &str) -> StartConfig {
    let env: HashMap<String, String> = HashMap::from([
        ("FLOW_DEFINITION_ARN".into(), flow.into()),
        ("ACTIVATION_CONDITIONS".into(), LOW_CONFIDENCE.into()),
    ]);
    StartConfig::from_lookup(move |k| env.get(k).cloned()).expect("test config is valid")
}

async fn start() -> (LocalA2iHandle, String) {
    let handle = LocalA2i::builder()
        .bucket(BUCKET)
        .start()
        .await
        .expect("a2i-local starts");
    let flow = handle.flow_definition_arn("overwrite-review");
    (handle, flow)
}

async fn put(s3: &aws_sdk_s3::Client, body: &str) -> (String, Option<String>) {
    let out = s3
        .put_object()
        .bucket(BUCKET)
        .key(KEY)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .expect("put to a2i-local");
    (
        out.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
        out.version_id().map(str::to_owned),
    )
}

async fn loops(handle: &LocalA2iHandle, flow: &str) -> Vec<String> {
    let page = handle
        .a2i_client()
        .list_human_loops()
        .flow_definition_arn(flow)
        .send()
        .await
        .expect("ListHumanLoops");
    page.human_loop_summaries()
        .iter()
        .filter_map(|s| s.human_loop_name().map(str::to_owned))
        .collect()
}

fn summary_of(result: Result<Summary, StartError>) -> (Summary, Option<StartError>) {
    match result {
        Ok(summary) => (summary, None),
        Err(StartError::ItemsFailed { summary }) => {
            let err = StartError::ItemsFailed {
                summary: summary.clone(),
            };
            (summary, Some(err))
        }
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[tokio::test]
async fn a_redelivered_event_for_an_overwritten_object_is_a_reported_412_and_starts_no_loop() {
    let (handle, flow) = start().await;
    let s3 = handle.s3_client();
    let v1 = document(&["a", "b"]);
    let (etag1, _) = put(&s3, &v1).await;
    let event = s3_put_event(BUCKET, KEY, &etag1, v1.len());
    // The object is overwritten before the (re)delivered event for v1 is handled.
    put(&s3, &document(&["x", "y", "z"])).await;

    let handler = StartHandler::new(config(&flow), s3.clone(), handle.a2i_client())
        .await
        .expect("handler");
    let (summary, err) = summary_of(handler.handle(&event).await);
    let err = err.expect("the invocation reports the failure");
    assert_eq!(summary.objects, 1);
    assert_eq!(summary.started, 0);
    assert_eq!(summary.failed, 1);
    let failure = &summary.failures[0];
    assert!(
        failure.reason.contains("412") && failure.reason.contains("PreconditionFailed"),
        "{}",
        failure.reason
    );
    assert_eq!(failure.key.as_deref(), Some(KEY));
    assert!(!failure.retryable, "an overwritten object is not retried");
    assert_eq!(err.error_type(), "NonRetryable.ItemsFailed");
    assert_eq!(
        loops(&handle, &flow).await,
        Vec::<String>::new(),
        "no loop for the new content"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn with_a_versioned_bucket_the_event_reads_exactly_its_version_after_an_overwrite() {
    let (handle, flow) = start().await;
    let s3 = handle.s3_client();
    s3.put_bucket_versioning()
        .bucket(BUCKET)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning enabled");
    let v1 = document(&["a", "b"]);
    let (etag1, version1) = put(&s3, &v1).await;
    let version1 = version1.expect("a versioned PUT answers a version id");
    let mut event = s3_put_event(BUCKET, KEY, &etag1, v1.len());
    event["Records"][0]["s3"]["object"]["versionId"] = json!(version1);
    let (_, version2) = put(&s3, &document(&["x", "y", "z"])).await;
    assert_ne!(version2.as_deref(), Some(version1.as_str()));

    let handler = StartHandler::new(config(&flow), s3.clone(), handle.a2i_client())
        .await
        .expect("handler");
    let (summary, err) = summary_of(handler.handle(&event).await);
    assert!(err.is_none(), "{:?}", summary.failures);
    assert_eq!(
        (summary.items, summary.started),
        (2, 2),
        "v1's two items, not v2's three"
    );
    assert_eq!(loops(&handle, &flow).await.len(), 2);
    // Handled again (a redelivery): the same two loops, none for v2's content.
    let (again, err) = summary_of(handler.handle(&event).await);
    assert!(err.is_none(), "{:?}", again.failures);
    assert_eq!(again.items, 2);
    assert_eq!(loops(&handle, &flow).await.len(), 2);
    handle.shutdown().await;
}
