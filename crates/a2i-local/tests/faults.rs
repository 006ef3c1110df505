//! Fault knobs as clients experience them: typed throttling the SDK retries through,
//! injected 500s, latency, and a control surface the knobs never touch.

mod common;

use std::time::{Duration, Instant};

use a2i_local::{FaultConfig, WorkerAnswer};
use aws_sdk_sagemakera2iruntime::config::retry::RetryConfig;
use aws_sdk_sagemakera2iruntime::types::HumanLoopInput;
use common::{raw, start_with, FLOW};
use hyper::Method;

fn client_with(local: &common::Local, retry: RetryConfig) -> aws_sdk_sagemakera2iruntime::Client {
    aws_sdk_sagemakera2iruntime::Client::from_conf(
        local.handle.a2i_config().retry_config(retry).build(),
    )
}

#[tokio::test]
async fn throttling_is_typed_and_the_sdk_retries_until_it_succeeds() {
    let local = start_with(|b| {
        b.faults(FaultConfig {
            requests_per_second: Some(5.0),
            ..FaultConfig::default()
        })
    })
    .await;
    // Few enough retries that the SDK's own retry quota (500 tokens, 5 per retry) holds.
    let patient = client_with(
        &local,
        RetryConfig::standard()
            .with_max_attempts(20)
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_millis(400)),
    );
    let starts = (0..10).map(|i| {
        patient
            .start_human_loop()
            .human_loop_name(format!("burst-{i}"))
            .flow_definition_arn(FLOW)
            .human_loop_input(HumanLoopInput::builder().input_content("{}").build())
            .send()
    });
    for result in futures::future::join_all(starts).await {
        result.expect("every start eventually succeeds");
    }
    assert!(
        local.handle.fault_stats().throttled >= 5,
        "{:?}",
        local.handle.fault_stats()
    );
    assert_eq!(local.handle.pending().len(), 10);
}

#[tokio::test]
async fn throttled_requests_get_429_throttling_exception() {
    let local = start_with(|b| {
        b.faults(FaultConfig {
            requests_per_second: Some(1.0),
            ..FaultConfig::default()
        })
    })
    .await;
    let url = local.url(&format!("/human-loops?FlowDefinitionArn={FLOW}"));
    assert_eq!(raw(Method::GET, &url, None).await.status, 200);
    let r = raw(Method::GET, &url, None).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("x-amzn-errortype"), Some("ThrottlingException"));
    assert!(r.header("x-amzn-requestid").is_some());

    let impatient = client_with(&local, RetryConfig::disabled());
    let err = impatient
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_throttling_exception(), "{err:?}");
}

#[tokio::test]
async fn injected_errors_are_500_internal_server_exception_and_retried() {
    let local = start_with(|b| {
        b.faults(FaultConfig {
            error_rate: 1.0,
            ..FaultConfig::default()
        })
    })
    .await;
    let r = raw(Method::GET, &local.url("/human-loops/x"), None).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("InternalServerException")
    );
    let err = local
        .a2i()
        .describe_human_loop()
        .human_loop_name("x")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_internal_server_exception(), "{err:?}");
    // 1 raw request + the SDK's 3 attempts.
    assert_eq!(local.handle.fault_stats().injected_errors, 4);
}

#[tokio::test]
async fn with_a_seed_some_requests_fail_and_retries_get_through() {
    let local = start_with(|b| {
        b.faults(FaultConfig {
            error_rate: 0.3,
            seed: Some(42),
            ..FaultConfig::default()
        })
    })
    .await;
    let a2i = client_with(
        &local,
        RetryConfig::standard()
            .with_max_attempts(10)
            .with_initial_backoff(Duration::from_millis(1)),
    );
    for i in 0..20 {
        a2i.start_human_loop()
            .human_loop_name(format!("seeded-{i}"))
            .flow_definition_arn(FLOW)
            .human_loop_input(HumanLoopInput::builder().input_content("{}").build())
            .send()
            .await
            .unwrap();
    }
    assert!(local.handle.fault_stats().injected_errors > 0);
    assert_eq!(local.handle.pending().len(), 20);
}

#[tokio::test]
async fn latency_delays_a2i_operations_but_not_the_control_surface() {
    let local = start_with(|b| {
        b.faults(FaultConfig {
            latency: Duration::from_millis(250),
            error_rate: 1.0,
            ..FaultConfig::default()
        })
    })
    .await;
    let t = Instant::now();
    let r = raw(Method::GET, &local.url("/human-loops/x"), None).await;
    assert!(t.elapsed() >= Duration::from_millis(250));
    assert_eq!(r.status, 500);

    let t = Instant::now();
    let health = raw(Method::GET, &local.url("/_local/health"), None).await;
    assert_eq!(health.status, 200);
    assert!(t.elapsed() < Duration::from_millis(250));
    assert_eq!(health.json()["injectedErrors"], 1);
}

#[tokio::test]
async fn the_control_surface_works_while_every_a2i_call_fails() {
    let local = start_with(|b| {
        b.faults(FaultConfig {
            error_rate: 1.0,
            ..FaultConfig::default()
        })
    })
    .await;
    // Start the loop in-process (the A2I port is failing every call).
    local
        .handle
        .start_loop(a2i_local::NewLoop {
            name: "under-fire".into(),
            flow_definition: a2i_local::FlowDefinitionArn::parse(FLOW).unwrap(),
            input_content: "{}".into(),
            content_classifiers: None,
        })
        .await
        .unwrap();
    let r = raw(
        Method::POST,
        &local.url("/_local/loops/under-fire/answer"),
        Some(r#"{"answerContent":{"ok":true}}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(local
        .handle
        .answer("under-fire", &[WorkerAnswer::new(serde_json::json!({}))])
        .await
        .is_err());
}
