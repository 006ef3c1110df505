//! The loop state machine as clients see it: start conflicts and retries, stop, delete
//! rules, and what a deleted loop looks like.

mod common;

use std::time::Duration;

use a2i_local::{FailureCode, WorkerAnswer};
use aws_sdk_sagemakera2iruntime::error::ProvideErrorMetadata;
use aws_sdk_sagemakera2iruntime::types::{HumanLoopInput, HumanLoopStatus};
use common::{start, start_loop, start_with, FLOW};

async fn status(a2i: &aws_sdk_sagemakera2iruntime::Client, name: &str) -> HumanLoopStatus {
    a2i.describe_human_loop()
        .human_loop_name(name)
        .send()
        .await
        .unwrap()
        .human_loop_status()
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn same_name_with_different_input_while_active_is_a_conflict() {
    let local = start().await;
    let a2i = local.a2i();
    start_loop(&a2i, "dup", serde_json::json!({"v": 1})).await;
    let err = a2i
        .start_human_loop()
        .human_loop_name("dup")
        .flow_definition_arn(FLOW)
        .human_loop_input(
            HumanLoopInput::builder()
                .input_content(r#"{"v":2}"#)
                .build(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("dup"));
}

#[tokio::test]
async fn same_name_with_same_input_while_active_returns_the_same_loop() {
    let local = start().await;
    let a2i = local.a2i();
    let first = start_loop(&a2i, "retry", serde_json::json!({"v": 1})).await;
    let before = a2i
        .describe_human_loop()
        .human_loop_name("retry")
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = start_loop(&a2i, "retry", serde_json::json!({"v": 1})).await;
    assert_eq!(first, second);
    let after = a2i
        .describe_human_loop()
        .human_loop_name("retry")
        .send()
        .await
        .unwrap();
    assert_eq!(before.creation_time(), after.creation_time(), "no new loop");
    let listed = a2i
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.human_loop_summaries().len(), 1);
}

#[tokio::test]
async fn the_name_of_a_finished_loop_cannot_be_reused() {
    let local = start().await;
    let a2i = local.a2i();
    start_loop(&a2i, "done", serde_json::json!({})).await;
    local
        .handle
        .answer(
            "done",
            &[WorkerAnswer::new(serde_json::json!({"ok": true}))],
        )
        .await
        .unwrap();
    for input in [serde_json::json!({}), serde_json::json!({"other": 1})] {
        let err = a2i
            .start_human_loop()
            .human_loop_name("done")
            .flow_definition_arn(FLOW)
            .human_loop_input(
                HumanLoopInput::builder()
                    .input_content(input.to_string())
                    .build(),
            )
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_validation_exception(), "{err:?}");
        assert!(
            err.message()
                .unwrap()
                .contains("HumanLoop 'done' already exists and is finished"),
            "{:?}",
            err.message()
        );
    }
}

#[tokio::test]
async fn the_name_of_a_deleted_loop_stays_taken() {
    let local = start().await;
    let a2i = local.a2i();
    start_loop(&a2i, "gone", serde_json::json!({})).await;
    a2i.stop_human_loop()
        .human_loop_name("gone")
        .send()
        .await
        .unwrap();
    a2i.delete_human_loop()
        .human_loop_name("gone")
        .send()
        .await
        .unwrap();
    let err = a2i
        .start_human_loop()
        .human_loop_name("gone")
        .flow_definition_arn(FLOW)
        .human_loop_input(HumanLoopInput::builder().input_content("{}").build())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    assert!(err
        .message()
        .unwrap()
        .contains("already exists and is finished"));
}

#[tokio::test]
async fn an_in_progress_loop_cannot_be_deleted() {
    let local = start().await;
    let a2i = local.a2i();
    start_loop(&a2i, "busy", serde_json::json!({})).await;
    let err = a2i
        .delete_human_loop()
        .human_loop_name("busy")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("InProgress"));
    assert_eq!(status(&a2i, "busy").await, HumanLoopStatus::InProgress);
}

#[tokio::test]
async fn completed_failed_and_stopped_loops_can_be_deleted_and_then_are_gone() {
    let local = start().await;
    let a2i = local.a2i();
    for name in ["completed", "failed", "stopped", "kept"] {
        start_loop(&a2i, name, serde_json::json!({})).await;
    }
    local
        .handle
        .answer("completed", &[WorkerAnswer::new(serde_json::json!({}))])
        .await
        .unwrap();
    local
        .handle
        .fail("failed", FailureCode::InternalError, "worker tool crashed")
        .await
        .unwrap();
    a2i.stop_human_loop()
        .human_loop_name("stopped")
        .send()
        .await
        .unwrap();
    for name in ["completed", "failed", "stopped"] {
        a2i.delete_human_loop()
            .human_loop_name(name)
            .send()
            .await
            .unwrap();
        let describe = a2i
            .describe_human_loop()
            .human_loop_name(name)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(describe.is_resource_not_found_exception(), "{name}");
        let delete = a2i
            .delete_human_loop()
            .human_loop_name(name)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(delete.is_resource_not_found_exception(), "{name}");
        let stop = a2i
            .stop_human_loop()
            .human_loop_name(name)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(stop.is_resource_not_found_exception(), "{name}");
    }
    let listed = a2i
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = listed
        .human_loop_summaries()
        .iter()
        .filter_map(|s| s.human_loop_name())
        .collect();
    assert_eq!(names, ["kept"]);
}

#[tokio::test]
async fn stopping_a_finished_loop_is_refused() {
    let local = start().await;
    let a2i = local.a2i();
    start_loop(&a2i, "s", serde_json::json!({})).await;
    a2i.stop_human_loop()
        .human_loop_name("s")
        .send()
        .await
        .unwrap();
    let err = a2i
        .stop_human_loop()
        .human_loop_name("s")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    assert!(err.message().unwrap().contains("already Stopped"));

    start_loop(&a2i, "c", serde_json::json!({})).await;
    local
        .handle
        .answer("c", &[WorkerAnswer::new(serde_json::json!({}))])
        .await
        .unwrap();
    let err = a2i
        .stop_human_loop()
        .human_loop_name("c")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    assert!(err.message().unwrap().contains("already Completed"));
}

#[tokio::test]
async fn with_a_stopping_delay_a_loop_is_stopping_then_stopped() {
    let local = start_with(|b| b.stopping_delay(Duration::from_millis(300))).await;
    let a2i = local.a2i();
    start_loop(&a2i, "slow", serde_json::json!({})).await;
    a2i.stop_human_loop()
        .human_loop_name("slow")
        .send()
        .await
        .unwrap();
    assert_eq!(status(&a2i, "slow").await, HumanLoopStatus::Stopping);
    // Stopping again is accepted; deleting is not, yet.
    a2i.stop_human_loop()
        .human_loop_name("slow")
        .send()
        .await
        .unwrap();
    let err = a2i
        .delete_human_loop()
        .human_loop_name("slow")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    assert!(err.message().unwrap().contains("Stopping"));
    // Answering is no longer possible either.
    assert!(local
        .handle
        .answer("slow", &[WorkerAnswer::new(serde_json::json!({}))])
        .await
        .is_err());
    local.handle.settled().await;
    assert_eq!(status(&a2i, "slow").await, HumanLoopStatus::Stopped);
    let events = local.events();
    assert_eq!(events.len(), 1, "one Stopped event, not two");
    assert_eq!(events[0]["detail"]["humanLoopStatus"], "Stopped");
}

#[tokio::test]
async fn answered_loops_cannot_be_answered_or_failed_again() {
    let local = start().await;
    start_loop(&local.a2i(), "once", serde_json::json!({})).await;
    local
        .handle
        .answer("once", &[WorkerAnswer::new(serde_json::json!({}))])
        .await
        .unwrap();
    let again = local
        .handle
        .answer("once", &[WorkerAnswer::new(serde_json::json!({}))])
        .await
        .unwrap_err();
    assert!(again.to_string().contains("not InProgress"), "{again}");
    assert!(local.handle.expire("once").await.is_err());
}

#[tokio::test]
async fn concurrent_answers_complete_a_loop_exactly_once() {
    let local = start().await;
    start_loop(&local.a2i(), "race", serde_json::json!({})).await;
    let answers = [WorkerAnswer::new(serde_json::json!({}))];
    let results =
        futures::future::join_all((0..8).map(|_| local.handle.answer("race", &answers))).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert_eq!(local.events().len(), 1);
}
