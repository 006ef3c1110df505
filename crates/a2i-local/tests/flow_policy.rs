//! Loops governed by their flow definition: output under its S3OutputPath, completion after
//! TaskCount distinct workers, expiry after TaskAvailabilityLifetimeInSeconds (also across a
//! restart), strict and implicit handling of unknown flow definitions, and policies captured
//! at start. Real SDK clients over HTTP against a2i-local with an in-memory flow lookup.

mod common;

use std::sync::Arc;
use std::time::Duration;

use a2i_local::{
    EngineError, FlowPolicy, LocalA2i, LoopError, LoopStatus, S3Location, StaticFlows, WorkerAnswer,
};
use aws_sdk_sagemakera2iruntime::error::ProvideErrorMetadata;
use aws_sdk_sagemakera2iruntime::types::{HumanLoopInput, HumanLoopStatus};
use common::{fast_a2i_client, raw, read_jsonl, start_with};
use hyper::Method;
use serde_json::json;

const ACCOUNT_ARN: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition";

fn flow(name: &str, output: &str, task_count: u8, lifetime: Duration) -> FlowPolicy {
    FlowPolicy {
        name: name.to_owned(),
        arn: format!("{ACCOUNT_ARN}/{name}"),
        output: S3Location::parse(output).unwrap(),
        task_count,
        task_time_limit: Duration::from_secs(300),
        availability_lifetime: lifetime,
        human_task_ui_arn: Some(format!(
            "arn:aws:sagemaker:us-east-1:111122223333:human-task-ui/{name}-ui"
        )),
        title: Some("Check the label".to_owned()),
        description: Some("Is the predicted label right?".to_owned()),
        keywords: vec!["image".to_owned()],
        request_source: None,
        activation_conditions: None,
    }
}

fn flows(policies: Vec<FlowPolicy>) -> Arc<StaticFlows> {
    let flows = StaticFlows::new().shared();
    for p in policies {
        flows.insert(p);
    }
    flows
}

async fn start_loop_on(
    a2i: &aws_sdk_sagemakera2iruntime::Client,
    name: &str,
    flow_name: &str,
) -> Result<String, String> {
    a2i.start_human_loop()
        .human_loop_name(name)
        .flow_definition_arn(format!("{ACCOUNT_ARN}/{flow_name}"))
        .human_loop_input(
            HumanLoopInput::builder()
                .input_content(json!({"taskObject": name}).to_string())
                .build(),
        )
        .send()
        .await
        .map(|out| out.human_loop_arn.unwrap_or_default())
        .map_err(|e| {
            format!(
                "{}|{}",
                e.code().unwrap_or_default(),
                e.message().unwrap_or_default()
            )
        })
}

async fn describe(
    a2i: &aws_sdk_sagemakera2iruntime::Client,
    name: &str,
) -> aws_sdk_sagemakera2iruntime::operation::describe_human_loop::DescribeHumanLoopOutput {
    a2i.describe_human_loop()
        .human_loop_name(name)
        .send()
        .await
        .unwrap()
}

/// Polls DescribeHumanLoop until the loop leaves InProgress (generous timeout: the
/// transition is what is tested, not its timing).
async fn wait_until_finished(
    a2i: &aws_sdk_sagemakera2iruntime::Client,
    name: &str,
) -> aws_sdk_sagemakera2iruntime::operation::describe_human_loop::DescribeHumanLoopOutput {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let d = describe(a2i, name).await;
        if d.human_loop_status() != Some(&HumanLoopStatus::InProgress) {
            return d;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} still InProgress after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn read_output(local: &common::Local, uri: &str) -> serde_json::Value {
    let (bucket, key) = uri
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .unwrap();
    let object = local
        .s3()
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap()
}

fn answer(worker: &str, decision: &str) -> WorkerAnswer {
    WorkerAnswer::new(json!({"decision": {"label": decision}})).by(worker)
}

#[tokio::test]
async fn output_json_goes_under_the_flows_s3_output_path() {
    let lookup = flows(vec![flow(
        "reviews",
        "s3://flow-results/a2i/out",
        1,
        Duration::from_secs(3600),
    )]);
    let local = start_with(|b| b.flow_lookup(lookup).output_path("s3://builder-default")).await;
    let a2i = local.a2i();
    start_loop_on(&a2i, "item-1", "reviews").await.unwrap();

    let progress = local
        .handle
        .submit_answer("item-1", answer("w1", "ok"))
        .await
        .unwrap();
    assert_eq!((progress.answered, progress.required), (1, 1));
    let ended = progress
        .completed
        .expect("TaskCount 1: one answer completes");
    let d = describe(&a2i, "item-1").await;
    let created =
        chrono::DateTime::from_timestamp_millis(d.creation_time().unwrap().to_millis().unwrap())
            .unwrap();
    let expected = format!(
        "s3://flow-results/a2i/out/reviews/{}/item-1/output.json",
        created.format("%Y/%m/%d/%H/%M/%S")
    );
    assert_eq!(ended.output_s3_uri.as_deref(), Some(expected.as_str()));
    assert_eq!(
        d.human_loop_output().unwrap().output_s3_uri(),
        Some(expected.as_str())
    );
    // The flow's output bucket did not exist before: it was created for the output.
    let output = read_output(&local, &expected).await;
    assert_eq!(output["humanLoopName"], "item-1");
    assert_eq!(output["humanAnswers"][0]["workerId"], "w1");
    // Nothing went to the builder's default output path.
    let listed = local
        .s3()
        .list_objects_v2()
        .bucket("builder-default")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(0));
}

#[tokio::test]
async fn task_count_two_needs_two_distinct_workers_and_refuses_the_same_worker_twice() {
    let lookup = flows(vec![flow(
        "pairs",
        "s3://pairs-out",
        2,
        Duration::from_secs(3600),
    )]);
    let local = start_with(|b| b.flow_lookup(lookup)).await;
    let a2i = local.a2i();
    start_loop_on(&a2i, "pair-1", "pairs").await.unwrap();

    let first = local
        .handle
        .submit_answer(
            "pair-1",
            WorkerAnswer {
                time_spent_in_seconds: Some(12.5),
                ..answer("alice", "allow")
            },
        )
        .await
        .unwrap();
    assert_eq!((first.answered, first.required), (1, 2));
    assert!(first.completed.is_none());
    assert_eq!(first.record.status, LoopStatus::InProgress);
    let d = describe(&a2i, "pair-1").await;
    assert_eq!(d.human_loop_status(), Some(&HumanLoopStatus::InProgress));
    assert!(d.human_loop_output().is_none());
    assert!(local.events().is_empty(), "no event before completion");

    // The same worker again: refused through the handle and through the control route.
    let again = local
        .handle
        .submit_answer("pair-1", answer("alice", "remove"))
        .await
        .unwrap_err();
    assert!(
        matches!(&again, EngineError::Loop(LoopError::AlreadyAnswered { worker_id, .. }) if worker_id == "alice"),
        "{again:?}"
    );
    let r = raw(
        Method::POST,
        &local.url("/_local/loops/pair-1/answer"),
        Some(&json!({"answerContent": {"x": 1}, "workerId": "alice"}).to_string()),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body.contains("Worker 'alice' has already answered"),
        "{}",
        r.body
    );
    assert_eq!(local.handle.human_loop("pair-1").unwrap().answers.len(), 1);

    let second = local
        .handle
        .submit_answer("pair-1", answer("bob", "remove"))
        .await
        .unwrap();
    assert_eq!((second.answered, second.required), (2, 2));
    let ended = second
        .completed
        .expect("the second distinct worker completes it");
    assert_eq!(ended.human_loop_status, LoopStatus::Completed);
    let output = read_output(&local, ended.output_s3_uri.as_deref().unwrap()).await;
    let answers = output["humanAnswers"].as_array().unwrap();
    let workers: Vec<&str> = answers
        .iter()
        .map(|a| a["workerId"].as_str().unwrap())
        .collect();
    assert_eq!(workers, ["alice", "bob"]);
    assert_eq!(answers[0]["timeSpentInSeconds"], 12.5);
    assert_eq!(
        answers[1]["answerContent"],
        json!({"decision": {"label": "remove"}})
    );
    for a in answers {
        for field in [
            "acceptanceTime",
            "submissionTime",
            "timeSpentInSeconds",
            "workerMetadata",
        ] {
            assert!(a.get(field).is_some(), "{field} in {a}");
        }
    }
    local.handle.settled().await;
    let events = local.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail"]["humanLoopStatus"], "Completed");
    // A late worker finds the loop finished.
    assert!(local
        .handle
        .submit_answer("pair-1", answer("carol", "allow"))
        .await
        .is_err());
}

#[tokio::test]
async fn task_count_three_completes_on_the_third_worker_through_the_control_route() {
    let lookup = flows(vec![flow(
        "triples",
        "s3://triples-out/x",
        3,
        Duration::from_secs(3600),
    )]);
    let local = start_with(|b| b.flow_lookup(lookup)).await;
    let a2i = local.a2i();
    start_loop_on(&a2i, "t-1", "triples").await.unwrap();

    for (i, worker) in ["w1", "w2", "w3"].iter().enumerate() {
        let pending = raw(Method::GET, &local.url("/_local/pending"), None)
            .await
            .json();
        let entry = &pending["loops"][0];
        assert_eq!(entry["answered"], i);
        assert_eq!(entry["required"], 3);
        assert_eq!(entry["workerIds"].as_array().unwrap().len(), i);
        assert_eq!(entry["policy"]["taskTitle"], "Check the label");
        assert_eq!(entry["policy"]["taskTimeLimitInSeconds"], 300);
        let r = raw(
            Method::POST,
            &local.url("/_local/loops/t-1/answer"),
            Some(&json!({"answerContent": {"n": i}, "workerId": worker}).to_string()),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let body = r.json();
        assert_eq!(body["answered"], i + 1);
        assert_eq!(body["required"], 3);
        let expected = if i < 2 { "InProgress" } else { "Completed" };
        assert_eq!(body["humanLoopStatus"], expected, "{body}");
    }
    let d = describe(&a2i, "t-1").await;
    assert_eq!(d.human_loop_status(), Some(&HumanLoopStatus::Completed));
    let uri = d
        .human_loop_output()
        .unwrap()
        .output_s3_uri()
        .unwrap()
        .to_owned();
    assert!(uri.starts_with("s3://triples-out/x/triples/"), "{uri}");
    let output = read_output(&local, &uri).await;
    assert_eq!(output["humanAnswers"].as_array().unwrap().len(), 3);
    let pending = raw(Method::GET, &local.url("/_local/pending"), None)
        .await
        .json();
    assert_eq!(pending["loops"], json!([]));
}

#[tokio::test]
async fn a_loop_not_completed_within_its_lifetime_fails_as_expired() {
    let lookup = flows(vec![
        flow("brief", "s3://brief-out", 2, Duration::from_secs(1)),
        flow("long", "s3://long-out", 1, Duration::from_secs(3600)),
    ]);
    let local = start_with(|b| b.flow_lookup(lookup)).await;
    let a2i = local.a2i();
    start_loop_on(&a2i, "short-lived", "brief").await.unwrap();
    start_loop_on(&a2i, "long-lived", "long").await.unwrap();
    // One of the two workers answers in time; the loop still expires.
    local
        .handle
        .submit_answer("short-lived", answer("w1", "ok"))
        .await
        .unwrap();

    let d = wait_until_finished(&a2i, "short-lived").await;
    assert_eq!(d.human_loop_status(), Some(&HumanLoopStatus::Failed));
    assert_eq!(d.failure_code(), Some("Expired"));
    assert!(d.failure_reason().is_some_and(|r| !r.is_empty()));
    // A2I writes output once every worker answered; an expired loop has none.
    assert!(d.human_loop_output().is_none());
    let record = local.handle.human_loop("short-lived").unwrap();
    assert_eq!(
        record.answers.len(),
        1,
        "the partial answer stays in the record"
    );

    local.handle.settled().await;
    let events = local.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail"]["humanLoopName"], "short-lived");
    assert_eq!(events[0]["detail"]["humanLoopStatus"], "Failed");
    assert_eq!(events[0]["detail"]["failureCode"], "Expired");
    assert_eq!(
        events[0]["detail"]["humanLoopOutput"],
        serde_json::Value::Null
    );

    // The other flow's loop is untouched.
    let other = describe(&a2i, "long-lived").await;
    assert_eq!(
        other.human_loop_status(),
        Some(&HumanLoopStatus::InProgress)
    );
}

#[tokio::test]
async fn expiry_deadlines_and_partial_answers_survive_a_restart() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let events_file = work.path().join("events.jsonl");
    let lookup = flows(vec![flow(
        "restartable",
        "s3://restart-out",
        2,
        Duration::from_secs(2),
    )]);
    {
        let first = LocalA2i::builder()
            .data_dir(&data)
            .flow_lookup(lookup)
            .event_file(&events_file)
            .start()
            .await
            .unwrap();
        let a2i = fast_a2i_client(&first);
        start_loop_on(&a2i, "survivor", "restartable")
            .await
            .unwrap();
        first
            .submit_answer("survivor", answer("w1", "keep"))
            .await
            .unwrap();
        first.shutdown().await;
    }
    // The flow definition is gone after the restart: the loop keeps the policy it started
    // with (TaskCount 2, lifetime 2 s), and its deadline was not reset by the restart.
    let second = LocalA2i::builder()
        .data_dir(&data)
        .flow_lookup(StaticFlows::new().shared())
        .event_file(&events_file)
        .start()
        .await
        .unwrap();
    let record = second.human_loop("survivor").unwrap();
    assert_eq!(record.policy.task_count, 2);
    assert_eq!(record.policy.flow_definition_name, "restartable");
    assert_eq!(record.answers.len(), 1);
    assert_eq!(record.answers[0].worker_id, "w1");
    assert_eq!(
        record.expires_at(),
        record.creation_time + chrono::Duration::seconds(2)
    );
    let a2i = fast_a2i_client(&second);
    let d = wait_until_finished(&a2i, "survivor").await;
    assert_eq!(d.human_loop_status(), Some(&HumanLoopStatus::Failed));
    assert_eq!(d.failure_code(), Some("Expired"));
    second.settled().await;
    let events = read_jsonl(&events_file);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail"]["failureCode"], "Expired");
    second.shutdown().await;

    // A third start finds the loop expired, with its answer, and nothing left to do.
    let third = LocalA2i::builder().data_dir(&data).start().await.unwrap();
    let record = third.human_loop("survivor").unwrap();
    assert_eq!(record.status, LoopStatus::Failed);
    assert_eq!(record.answers.len(), 1);
    third.shutdown().await;
}

#[tokio::test]
async fn an_overdue_loop_expires_at_once_after_a_restart() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let lookup = flows(vec![flow(
        "quick",
        "s3://quick-out",
        1,
        Duration::from_secs(1),
    )]);
    let created = {
        let first = LocalA2i::builder()
            .data_dir(&data)
            .flow_lookup(lookup)
            .start()
            .await
            .unwrap();
        start_loop_on(&fast_a2i_client(&first), "overdue", "quick")
            .await
            .unwrap();
        let created = first.human_loop("overdue").unwrap().creation_time;
        // Shut down before the timer can fire (it is dropped with the server).
        first.shutdown().await;
        created
    };
    let until_overdue = (created + chrono::Duration::milliseconds(1500)) - chrono::Utc::now();
    if let Ok(wait) = until_overdue.to_std() {
        tokio::time::sleep(wait).await;
    }
    let second = LocalA2i::builder().data_dir(&data).start().await.unwrap();
    let d = wait_until_finished(&fast_a2i_client(&second), "overdue").await;
    assert_eq!(d.failure_code(), Some("Expired"));
    second.shutdown().await;
}

#[tokio::test]
async fn strict_mode_refuses_an_unknown_flow_definition_with_resource_not_found() {
    let lookup = flows(vec![flow(
        "known",
        "s3://known-out",
        1,
        Duration::from_secs(60),
    )]);
    let local = start_with(|b| b.flow_lookup(lookup).strict_flow_definitions(true)).await;
    let a2i = local.a2i();
    let err = start_loop_on(&a2i, "orphan", "unknown-flow")
        .await
        .unwrap_err();
    let (code, message) = err.split_once('|').unwrap();
    assert_eq!(code, "ResourceNotFoundException");
    assert!(message.contains("'unknown-flow'"), "{message}");
    assert!(message.contains("does not exist"), "{message}");
    assert!(describe_missing(&a2i, "orphan").await);

    // On the wire: 404 with the restJson error header.
    let body = json!({
        "HumanLoopName": "orphan",
        "FlowDefinitionArn": format!("{ACCOUNT_ARN}/unknown-flow"),
        "HumanLoopInput": {"InputContent": "{}"},
    });
    let r = raw(
        Method::POST,
        &local.url("/human-loops"),
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );

    // ListHumanLoops on it too; a known flow definition works.
    let list = a2i
        .list_human_loops()
        .flow_definition_arn(format!("{ACCOUNT_ARN}/unknown-flow"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(list.code(), Some("ResourceNotFoundException"));
    start_loop_on(&a2i, "adopted", "known").await.unwrap();
    let listed = a2i
        .list_human_loops()
        .flow_definition_arn(format!("{ACCOUNT_ARN}/known"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.human_loop_summaries().len(), 1);
    // A flow definition of that name but another account is another flow definition.
    let other_account = a2i
        .start_human_loop()
        .human_loop_name("elsewhere")
        .flow_definition_arn("arn:aws:sagemaker:us-east-1:999999999999:flow-definition/known")
        .human_loop_input(HumanLoopInput::builder().input_content("{}").build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(other_account.code(), Some("ResourceNotFoundException"));
}

async fn describe_missing(a2i: &aws_sdk_sagemakera2iruntime::Client, name: &str) -> bool {
    a2i.describe_human_loop()
        .human_loop_name(name)
        .send()
        .await
        .is_err_and(|e| e.code() == Some("ResourceNotFoundException"))
}

#[tokio::test]
async fn an_unknown_flow_definition_is_registered_implicitly_by_default() {
    let local = start_with(|b| b.output_path("s3://implicit-out/base")).await;
    let a2i = local.a2i();
    start_loop_on(&a2i, "implicit-1", "nobody-defined-me")
        .await
        .unwrap();
    let record = local.handle.human_loop("implicit-1").unwrap();
    assert!(record.policy.implicit);
    assert_eq!(record.policy.task_count, a2i_local::IMPLICIT_TASK_COUNT);
    assert_eq!(
        record.policy.availability_lifetime(),
        a2i_local::IMPLICIT_AVAILABILITY_LIFETIME
    );
    assert_eq!(
        record.policy.task_time_limit(),
        a2i_local::IMPLICIT_TASK_TIME_LIMIT
    );
    assert_eq!(record.policy.s3_output_path, "s3://implicit-out/base");
    let ended = local
        .handle
        .answer("implicit-1", &[answer("w1", "ok")])
        .await
        .unwrap();
    assert_eq!(ended.human_loop_status, LoopStatus::Completed);
    assert!(ended
        .output_s3_uri
        .unwrap()
        .starts_with("s3://implicit-out/base/nobody-defined-me/"));
}

#[tokio::test]
async fn a_running_loop_keeps_its_policy_when_the_flow_definition_changes() {
    let lookup = flows(vec![flow(
        "evolving",
        "s3://before-out",
        2,
        Duration::from_secs(3600),
    )]);
    let local = start_with(|b| b.flow_lookup(lookup.clone())).await;
    let a2i = local.a2i();
    start_loop_on(&a2i, "old-rules", "evolving").await.unwrap();

    // The flow definition is replaced (TaskCount 1, another output path), then a loop starts
    // under the new rules, then the flow definition is deleted.
    lookup.insert(flow(
        "evolving",
        "s3://after-out",
        1,
        Duration::from_secs(3600),
    ));
    start_loop_on(&a2i, "new-rules", "evolving").await.unwrap();
    lookup.remove("evolving");

    let old_first = local
        .handle
        .submit_answer("old-rules", answer("w1", "a"))
        .await
        .unwrap();
    assert!(old_first.completed.is_none(), "still needs its 2 workers");
    let old_done = local
        .handle
        .submit_answer("old-rules", answer("w2", "b"))
        .await
        .unwrap()
        .completed
        .unwrap();
    assert!(old_done
        .output_s3_uri
        .unwrap()
        .starts_with("s3://before-out/evolving/"));

    let new_done = local
        .handle
        .submit_answer("new-rules", answer("w1", "a"))
        .await
        .unwrap()
        .completed
        .expect("TaskCount 1 under the new rules");
    assert!(new_done
        .output_s3_uri
        .unwrap()
        .starts_with("s3://after-out/evolving/"));
}

#[tokio::test]
async fn a_batch_of_answers_is_recorded_whole_or_not_at_all() {
    let lookup = flows(vec![flow(
        "batch",
        "s3://batch-out",
        3,
        Duration::from_secs(3600),
    )]);
    let local = start_with(|b| b.flow_lookup(lookup)).await;
    let a2i = local.a2i();
    start_loop_on(&a2i, "b-1", "batch").await.unwrap();
    // Two answers at once: recorded, the loop waits for the third worker.
    let ended = local
        .handle
        .answer("b-1", &[answer("w1", "x"), answer("w2", "y")])
        .await
        .unwrap();
    assert_eq!(ended.human_loop_status, LoopStatus::InProgress);
    assert!(ended.output_s3_uri.is_none() && ended.deliveries.is_empty());
    // A batch with a worker who already answered is refused whole.
    let refused = local
        .handle
        .answer("b-1", &[answer("w3", "z"), answer("w1", "again")])
        .await;
    assert!(refused.is_err());
    assert_eq!(local.handle.human_loop("b-1").unwrap().answers.len(), 2);
    let done = local
        .handle
        .answer("b-1", &[answer("w3", "z")])
        .await
        .unwrap();
    assert_eq!(done.human_loop_status, LoopStatus::Completed);
}
