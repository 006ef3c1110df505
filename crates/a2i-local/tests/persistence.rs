//! With a data directory, loops, tombstones, S3 objects and undelivered events survive a
//! restart.

mod common;

use a2i_local::{LocalA2i, RetryPolicy, WorkerAnswer};
use aws_sdk_sagemakera2iruntime::error::ProvideErrorMetadata;
use aws_sdk_sagemakera2iruntime::types::{HumanLoopInput, HumanLoopStatus, SortOrder};
use common::{fast_a2i_client, read_jsonl, start_loop, FLOW};

#[tokio::test]
async fn state_survives_a_restart_with_a_data_dir() {
    let data = tempfile::tempdir().unwrap();
    let first = LocalA2i::builder()
        .data_dir(data.path())
        .start()
        .await
        .unwrap();
    let a2i = fast_a2i_client(&first);
    start_loop(&a2i, "waiting", serde_json::json!({"n": 1})).await;
    start_loop(&a2i, "answered", serde_json::json!({"n": 2})).await;
    start_loop(&a2i, "deleted", serde_json::json!({"n": 3})).await;
    let ended = first
        .answer(
            "answered",
            &[WorkerAnswer::new(serde_json::json!({"ok": true}))],
        )
        .await
        .unwrap();
    let output_uri = ended.output_s3_uri.unwrap();
    a2i.stop_human_loop()
        .human_loop_name("deleted")
        .send()
        .await
        .unwrap();
    a2i.delete_human_loop()
        .human_loop_name("deleted")
        .send()
        .await
        .unwrap();
    let waiting_before = a2i
        .describe_human_loop()
        .human_loop_name("waiting")
        .send()
        .await
        .unwrap();
    first.shutdown().await;

    let second = LocalA2i::builder()
        .data_dir(data.path())
        .start()
        .await
        .unwrap();
    let a2i = fast_a2i_client(&second);
    let waiting = a2i
        .describe_human_loop()
        .human_loop_name("waiting")
        .send()
        .await
        .unwrap();
    assert_eq!(
        waiting.human_loop_status(),
        Some(&HumanLoopStatus::InProgress)
    );
    assert_eq!(waiting.creation_time(), waiting_before.creation_time());
    assert_eq!(waiting.human_loop_arn(), waiting_before.human_loop_arn());

    let answered = a2i
        .describe_human_loop()
        .human_loop_name("answered")
        .send()
        .await
        .unwrap();
    assert_eq!(
        answered.human_loop_status(),
        Some(&HumanLoopStatus::Completed)
    );
    assert_eq!(
        answered.human_loop_output().unwrap().output_s3_uri(),
        Some(output_uri.as_str())
    );
    let key = output_uri
        .strip_prefix("s3://a2i-local-output/")
        .unwrap()
        .to_owned();
    let object = second
        .s3_client()
        .get_object()
        .bucket("a2i-local-output")
        .key(key)
        .send()
        .await
        .unwrap();
    let output: serde_json::Value =
        serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(output["inputContent"], serde_json::json!({"n": 2}));

    let deleted = a2i
        .describe_human_loop()
        .human_loop_name("deleted")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(deleted.is_resource_not_found_exception());
    let reuse = a2i
        .start_human_loop()
        .human_loop_name("deleted")
        .flow_definition_arn(FLOW)
        .human_loop_input(HumanLoopInput::builder().input_content("{}").build())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(reuse
        .message()
        .unwrap()
        .contains("already exists and is finished"));

    // New loops sort after the old ones.
    start_loop(&a2i, "after-restart", serde_json::json!({})).await;
    let names: Vec<String> = a2i
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .sort_order(SortOrder::Ascending)
        .send()
        .await
        .unwrap()
        .human_loop_summaries()
        .iter()
        .filter_map(|s| s.human_loop_name().map(str::to_owned))
        .collect();
    assert_eq!(names, ["waiting", "answered", "after-restart"]);
    // There was no sink to take the Completed event, so it is still pending.
    assert!(second.human_loop("answered").unwrap().event_pending);
    second.shutdown().await;
}

#[tokio::test]
async fn without_a_data_dir_nothing_survives() {
    let first = LocalA2i::builder().start().await.unwrap();
    let dir = first.data_dir().to_owned();
    start_loop(&fast_a2i_client(&first), "ephemeral", serde_json::json!({})).await;
    assert!(!dir.join(a2i_local::STATE_FILE).exists());
    first.shutdown().await;
    assert!(!dir.exists(), "the temp directory is removed");
    let second = LocalA2i::builder().start().await.unwrap();
    assert!(second.human_loop("ephemeral").is_err());
}

#[tokio::test]
async fn undelivered_events_are_delivered_after_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let events = data.path().join("events.jsonl");
    let first = LocalA2i::builder()
        .data_dir(data.path())
        .event_url("http://127.0.0.1:9/down")
        .delivery_retry(RetryPolicy {
            attempts: 1,
            backoff: std::time::Duration::from_millis(1),
        })
        .start()
        .await
        .unwrap();
    start_loop(&fast_a2i_client(&first), "pending", serde_json::json!({})).await;
    let ended = first.expire("pending").await.unwrap();
    assert!(!ended.deliveries[0].delivered());
    first.shutdown().await;

    let second = LocalA2i::builder()
        .data_dir(data.path())
        .event_file(&events)
        .start()
        .await
        .unwrap();
    second.settled().await;
    let delivered = read_jsonl(&events);
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["detail"]["humanLoopName"], "pending");
    assert_eq!(delivered[0]["detail"]["failureCode"], "Expired");
    assert!(!second.human_loop("pending").unwrap().event_pending);
    second.shutdown().await;

    // Once delivered, a third start sends nothing again.
    let third = LocalA2i::builder()
        .data_dir(data.path())
        .event_file(&events)
        .start()
        .await
        .unwrap();
    third.settled().await;
    assert_eq!(read_jsonl(&events).len(), 1);
    third.shutdown().await;
}
