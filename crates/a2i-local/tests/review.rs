//! Playing the reviewer: the control surface, output.json (path and exact shape, read back
//! through the S3 client), and the status-change events the sinks receive.

mod common;

use std::sync::{Arc, Mutex};

use a2i_local::EventCallback;
use a2i_local::{FailureCode, RetryPolicy, WorkerAnswer};
use aws_sdk_sagemakera2iruntime::types::HumanLoopStatus;
use common::{raw, start, start_loop, start_with, FLOW};
use hyper::Method;

fn sorted_keys(v: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn answering_writes_output_json_at_the_a2i_path_with_the_documented_shape() {
    let local = start_with(|b| b.output_path("s3://review-output/a2i-results")).await;
    let a2i = local.a2i();
    let input = serde_json::json!({"taskObject": "s3://in/cat.jpg", "initialValue": "cat"});
    start_loop(&a2i, "cat-1", input.clone()).await;

    let r = raw(
        Method::POST,
        &local.url("/_local/loops/cat-1/answer"),
        Some(
            &serde_json::json!({"answers": [
                {"answerContent": {"label": {"label": "cat"}}, "workerId": "w-one", "timeSpentInSeconds": 12.5},
                {"answerContent": {"label": {"label": "dog"}}}
            ]})
            .to_string(),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let answered = r.json();
    assert_eq!(answered["humanLoopStatus"], "Completed");
    let uri = answered["outputS3Uri"].as_str().unwrap().to_owned();

    let described = a2i
        .describe_human_loop()
        .human_loop_name("cat-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.human_loop_status(),
        Some(&HumanLoopStatus::Completed)
    );
    assert_eq!(
        described.human_loop_output().unwrap().output_s3_uri(),
        Some(uri.as_str())
    );
    let created = chrono::DateTime::from_timestamp_millis(
        described.creation_time().unwrap().to_millis().unwrap(),
    )
    .unwrap();
    let expected_key = format!(
        "a2i-results/test-flow/{}/cat-1/output.json",
        created.format("%Y/%m/%d/%H/%M/%S")
    );
    assert_eq!(uri, format!("s3://review-output/{expected_key}"));

    let object = local
        .s3()
        .get_object()
        .bucket("review-output")
        .key(&expected_key)
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("application/json"));
    let bytes = object.body.collect().await.unwrap().into_bytes();
    let output: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        sorted_keys(&output),
        [
            "flowDefinitionArn",
            "humanAnswers",
            "humanLoopName",
            "inputContent"
        ]
    );
    assert_eq!(output["flowDefinitionArn"], FLOW);
    assert_eq!(output["humanLoopName"], "cat-1");
    assert_eq!(
        output["inputContent"], input,
        "input parsed back into an object"
    );
    let answers = output["humanAnswers"].as_array().unwrap();
    assert_eq!(answers.len(), 2);
    let ts = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").unwrap();
    for a in answers {
        assert_eq!(
            sorted_keys(a),
            [
                "acceptanceTime",
                "answerContent",
                "submissionTime",
                "timeSpentInSeconds",
                "workerId",
                "workerMetadata"
            ]
        );
        assert!(ts.is_match(a["acceptanceTime"].as_str().unwrap()));
        assert!(ts.is_match(a["submissionTime"].as_str().unwrap()));
        assert!(a["acceptanceTime"].as_str() <= a["submissionTime"].as_str());
        assert_eq!(
            a["workerMetadata"]["identityData"]["identityProviderType"],
            "Cognito"
        );
    }
    assert_eq!(answers[0]["workerId"], "w-one");
    assert_eq!(answers[0]["timeSpentInSeconds"], 12.5);
    assert_eq!(
        answers[0]["answerContent"],
        serde_json::json!({"label": {"label": "cat"}})
    );
    assert_eq!(answers[1]["workerId"].as_str().unwrap().len(), 16);
}

#[tokio::test]
async fn completed_event_has_the_exact_eventbridge_shape() {
    let local = start().await;
    let arn = start_loop(&local.a2i(), "evt", serde_json::json!({})).await;
    let ended = local
        .handle
        .answer("evt", &[WorkerAnswer::new(serde_json::json!({"x": 1}))])
        .await
        .unwrap();
    assert_eq!(ended.deliveries.len(), 1, "one sink: the events file");
    assert!(ended.deliveries[0].delivered());

    let events = local.events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        sorted_keys(e),
        [
            "account",
            "detail",
            "detail-type",
            "id",
            "region",
            "resources",
            "source",
            "time",
            "version"
        ]
    );
    assert_eq!(e["version"], "0");
    assert!(uuid::Uuid::parse_str(e["id"].as_str().unwrap()).is_ok());
    assert_eq!(e["detail-type"], "SageMaker A2I HumanLoop Status Change");
    assert_eq!(e["source"], "aws.sagemaker");
    assert_eq!(e["account"], "111122223333");
    assert_eq!(e["region"], "us-east-1");
    assert_eq!(e["resources"], serde_json::json!([arn]));
    assert!(regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        .unwrap()
        .is_match(e["time"].as_str().unwrap()));
    let d = &e["detail"];
    assert_eq!(
        sorted_keys(d),
        [
            "creationTime",
            "failureCode",
            "failureReason",
            "flowDefinitionArn",
            "humanLoopArn",
            "humanLoopName",
            "humanLoopOutput",
            "humanLoopStatus"
        ]
    );
    assert_eq!(d["failureCode"], serde_json::Value::Null);
    assert_eq!(d["failureReason"], serde_json::Value::Null);
    assert_eq!(d["flowDefinitionArn"], FLOW);
    assert_eq!(d["humanLoopArn"], arn);
    assert_eq!(d["humanLoopName"], "evt");
    assert_eq!(d["humanLoopStatus"], "Completed");
    assert_eq!(
        d["humanLoopOutput"]["outputS3Uri"].as_str(),
        ended.output_s3_uri.as_deref()
    );
    let created = local.handle.human_loop("evt").unwrap().creation_time;
    assert_eq!(
        d["creationTime"],
        created.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    );
}

#[tokio::test]
async fn failed_expired_and_stopped_loops_emit_events_without_output() {
    let local = start().await;
    let a2i = local.a2i();
    for name in ["f", "e", "s"] {
        start_loop(&a2i, name, serde_json::json!({})).await;
    }
    let r = raw(
        Method::POST,
        &local.url("/_local/loops/f/fail"),
        Some(r#"{"failureCode":"ValidationError","failureReason":"bad image"}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = raw(Method::POST, &local.url("/_local/loops/e/expire"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    a2i.stop_human_loop()
        .human_loop_name("s")
        .send()
        .await
        .unwrap();
    local.handle.settled().await;

    let f = a2i
        .describe_human_loop()
        .human_loop_name("f")
        .send()
        .await
        .unwrap();
    assert_eq!(f.human_loop_status(), Some(&HumanLoopStatus::Failed));
    assert_eq!(f.failure_code(), Some("ValidationError"));
    assert_eq!(f.failure_reason(), Some("bad image"));
    assert!(f.human_loop_output().is_none());
    let e = a2i
        .describe_human_loop()
        .human_loop_name("e")
        .send()
        .await
        .unwrap();
    assert_eq!(e.failure_code(), Some("Expired"));
    let summaries = a2i
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .send()
        .await
        .unwrap();
    let f_summary = summaries
        .human_loop_summaries()
        .iter()
        .find(|s| s.human_loop_name() == Some("f"))
        .unwrap();
    assert_eq!(f_summary.failure_reason(), Some("bad image"));

    let events = local.events();
    let by_name = |n: &str| {
        events
            .iter()
            .find(|e| e["detail"]["humanLoopName"] == n)
            .unwrap_or_else(|| panic!("no event for {n}"))
            .clone()
    };
    let f = by_name("f");
    assert_eq!(f["detail"]["humanLoopStatus"], "Failed");
    assert_eq!(f["detail"]["failureCode"], "ValidationError");
    assert_eq!(f["detail"]["failureReason"], "bad image");
    assert_eq!(f["detail"]["humanLoopOutput"], serde_json::Value::Null);
    let e = by_name("e");
    assert_eq!(e["detail"]["failureCode"], "Expired");
    let s = by_name("s");
    assert_eq!(s["detail"]["humanLoopStatus"], "Stopped");
    assert_eq!(s["detail"]["failureCode"], serde_json::Value::Null);
    assert_eq!(events.len(), 3);

    // Nothing was written to the output bucket.
    let listed = local
        .s3()
        .list_objects_v2()
        .bucket("a2i-local-output")
        .send()
        .await
        .unwrap();
    assert!(listed.contents().is_empty(), "{:?}", listed.contents());
}

#[tokio::test]
async fn the_review_queue_lists_in_progress_loops_with_their_input() {
    let local = start().await;
    let a2i = local.a2i();
    start_loop(&a2i, "q1", serde_json::json!({"n": 1})).await;
    start_loop(&a2i, "q2", serde_json::json!({"n": 2})).await;
    start_loop(&a2i, "q3", serde_json::json!({"n": 3})).await;
    a2i.stop_human_loop()
        .human_loop_name("q2")
        .send()
        .await
        .unwrap();
    let r = raw(Method::GET, &local.url("/_local/pending"), None).await;
    assert_eq!(r.status, 200);
    let loops = r.json()["loops"].as_array().unwrap().clone();
    let names: Vec<&str> = loops
        .iter()
        .map(|l| l["humanLoopName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["q1", "q3"]);
    assert_eq!(loops[0]["inputContent"], serde_json::json!({"n": 1}));
    assert_eq!(loops[1]["flowDefinitionArn"], FLOW);
    assert_eq!(local.handle.pending().len(), 2);
}

#[tokio::test]
async fn control_errors_name_the_problem() {
    let local = start().await;
    start_loop(&local.a2i(), "c", serde_json::json!({})).await;
    let missing = raw(
        Method::POST,
        &local.url("/_local/loops/nope/answer"),
        Some(r#"{"answerContent":{}}"#),
    )
    .await;
    assert_eq!(missing.status, 404);
    let bad_code = raw(
        Method::POST,
        &local.url("/_local/loops/c/fail"),
        Some(r#"{"failureCode":"Boom","failureReason":"x"}"#),
    )
    .await;
    assert_eq!(bad_code.status, 400);
    assert!(bad_code.body.contains("failureCode"));
    let not_object = raw(
        Method::POST,
        &local.url("/_local/loops/c/answer"),
        Some(r#"{"answers":[{"answerContent":"yes"}]}"#),
    )
    .await;
    assert_eq!(not_object.status, 400);
    assert!(not_object.body.contains("answerContent"));
    let no_answers = raw(
        Method::POST,
        &local.url("/_local/loops/c/answer"),
        Some(r#"{"answers":[]}"#),
    )
    .await;
    assert_eq!(no_answers.status, 400);
    let single = raw(
        Method::POST,
        &local.url("/_local/loops/c/answer"),
        Some(r#"{"answerContent":{"ok":true}}"#),
    )
    .await;
    assert_eq!(single.status, 200, "{}", single.body);
    let twice = raw(
        Method::POST,
        &local.url("/_local/loops/c/answer"),
        Some(r#"{"answerContent":{"ok":true}}"#),
    )
    .await;
    assert_eq!(twice.status, 409);
    assert!(twice.body.contains("Completed"));
    let unknown = raw(Method::POST, &local.url("/_local/loops/c/dance"), None).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn the_in_process_callback_receives_each_event() {
    let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink = received.clone();
    let callback: EventCallback = Arc::new(move |event| {
        let sink = sink.clone();
        Box::pin(async move {
            sink.lock().unwrap().push(event);
            Ok(())
        })
    });
    let local = start_with(|b| b.event_callback("status-handler", callback)).await;
    start_loop(&local.a2i(), "cb", serde_json::json!({})).await;
    let ended = local
        .handle
        .fail("cb", FailureCode::InternalError, "oops")
        .await
        .unwrap();
    assert!(ended.deliveries.iter().all(|d| d.delivered()));
    assert!(ended
        .deliveries
        .iter()
        .any(|d| d.sink == "callback:status-handler"));
    let events = received.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0],
        local.events()[0],
        "every sink gets the same event"
    );
}

#[tokio::test]
async fn sink_failures_are_retried_reported_and_kept_pending() {
    let callback: EventCallback =
        Arc::new(|_| Box::pin(async { Err("status handler is down".to_owned()) }));
    let local = start_with(|b| {
        b.event_callback("broken", callback)
            .event_url("http://127.0.0.1:9/unreachable")
            .delivery_retry(RetryPolicy {
                attempts: 2,
                backoff: std::time::Duration::from_millis(1),
            })
    })
    .await;
    start_loop(&local.a2i(), "lost", serde_json::json!({})).await;
    let ended = local.handle.expire("lost").await.unwrap();
    let failed: Vec<_> = ended.deliveries.iter().filter(|d| !d.delivered()).collect();
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|d| d.attempts == 2));
    assert!(failed
        .iter()
        .any(|d| d.error.as_deref() == Some("rejected: status handler is down")));
    // The file sink still got it.
    assert_eq!(local.events().len(), 1);
    assert!(local.handle.human_loop("lost").unwrap().event_pending);
    let report = raw(Method::GET, &local.url("/_local/deliveries"), None).await;
    assert_eq!(report.json()["deliveries"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_finished_loop_event_can_be_redelivered() {
    let local = start().await;
    start_loop(&local.a2i(), "again", serde_json::json!({})).await;
    local.handle.expire("again").await.unwrap();
    let r = raw(
        Method::POST,
        &local.url("/_local/loops/again/redeliver"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let events = local.events();
    assert_eq!(events.len(), 2);
    assert_ne!(events[0]["id"], events[1]["id"]);
    assert_eq!(events[0]["detail"], events[1]["detail"]);
}
