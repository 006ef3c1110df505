//! The five A2I operations through the real Rust SDK over HTTP, and the wire details real
//! clients depend on (headers, percent-decoded labels, error shapes, unknown routes).

mod common;

use aws_sdk_sagemakera2iruntime::error::ProvideErrorMetadata;
use aws_sdk_sagemakera2iruntime::types::{
    ContentClassifier, HumanLoopDataAttributes, HumanLoopInput, HumanLoopStatus, SortOrder,
};
use common::{raw, start, start_loop, FLOW};
use hyper::Method;

#[tokio::test]
async fn every_operation_works_through_the_sdk() {
    let local = start().await;
    let a2i = local.a2i();

    let arn = a2i
        .start_human_loop()
        .human_loop_name("loop-1")
        .flow_definition_arn(FLOW)
        .human_loop_input(
            HumanLoopInput::builder()
                .input_content(r#"{"taskObject":"s3://b/k"}"#)
                .build(),
        )
        .data_attributes(
            HumanLoopDataAttributes::builder()
                .content_classifiers(ContentClassifier::FreeOfPersonallyIdentifiableInformation)
                .content_classifiers(ContentClassifier::FreeOfAdultContent)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .human_loop_arn
        .unwrap();
    assert_eq!(
        arn,
        "arn:aws:sagemaker:us-east-1:111122223333:human-loop/loop-1"
    );

    let described = a2i
        .describe_human_loop()
        .human_loop_name("loop-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.human_loop_status(),
        Some(&HumanLoopStatus::InProgress)
    );
    assert_eq!(described.human_loop_name(), Some("loop-1"));
    assert_eq!(described.human_loop_arn(), Some(arn.as_str()));
    assert_eq!(described.flow_definition_arn(), Some(FLOW));
    assert!(described.failure_code().is_none());
    assert!(described.human_loop_output().is_none());
    let age = aws_sdk_sagemakera2iruntime::primitives::DateTime::from(std::time::SystemTime::now())
        .as_secs_f64()
        - described.creation_time().unwrap().as_secs_f64();
    assert!((0.0..60.0).contains(&age), "creation time is now: {age}");

    let listed = a2i
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .sort_order(SortOrder::Ascending)
        .max_results(10)
        .send()
        .await
        .unwrap();
    let summaries = listed.human_loop_summaries();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].human_loop_name(), Some("loop-1"));
    assert_eq!(
        summaries[0].human_loop_status(),
        Some(&HumanLoopStatus::InProgress)
    );
    assert_eq!(summaries[0].flow_definition_arn(), Some(FLOW));
    assert_eq!(summaries[0].creation_time(), described.creation_time());
    assert!(listed.next_token().is_none());

    a2i.stop_human_loop()
        .human_loop_name("loop-1")
        .send()
        .await
        .unwrap();
    let stopped = a2i
        .describe_human_loop()
        .human_loop_name("loop-1")
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.human_loop_status(), Some(&HumanLoopStatus::Stopped));

    a2i.delete_human_loop()
        .human_loop_name("loop-1")
        .send()
        .await
        .unwrap();
    let gone = a2i
        .describe_human_loop()
        .human_loop_name("loop-1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(gone.is_resource_not_found_exception(), "{gone:?}");
    local.handle.shutdown().await;
}

#[tokio::test]
async fn loop_arns_take_region_and_account_from_the_flow_definition() {
    let local = start().await;
    let arn = local
        .a2i()
        .start_human_loop()
        .human_loop_name("elsewhere")
        .flow_definition_arn("arn:aws:sagemaker:eu-central-1:444455556666:flow-definition/fd")
        .human_loop_input(HumanLoopInput::builder().input_content("{}").build())
        .send()
        .await
        .unwrap()
        .human_loop_arn
        .unwrap();
    assert_eq!(
        arn,
        "arn:aws:sagemaker:eu-central-1:444455556666:human-loop/elsewhere"
    );
}

#[tokio::test]
async fn wire_format_is_pascal_case_with_millisecond_timestamps() {
    let local = start().await;
    start_loop(&local.a2i(), "wire", serde_json::json!({"a": 1})).await;
    let r = raw(Method::GET, &local.url("/human-loops/wire"), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "CreationTime",
            "FlowDefinitionArn",
            "HumanLoopArn",
            "HumanLoopName",
            "HumanLoopStatus"
        ]
    );
    let created = body["CreationTime"].as_str().unwrap();
    assert!(
        regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            .unwrap()
            .is_match(created),
        "{created}"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let local = start().await;
    let is_uuid = |r: &common::Raw| {
        uuid::Uuid::parse_str(r.header("x-amzn-requestid").unwrap_or_default()).is_ok()
    };
    let ok = raw(
        Method::GET,
        &local.url(&format!("/human-loops?FlowDefinitionArn={FLOW}")),
        None,
    )
    .await;
    assert_eq!(ok.status, 200);
    assert!(is_uuid(&ok), "{:?}", ok.headers);
    let err = raw(Method::GET, &local.url("/human-loops/missing"), None).await;
    assert_eq!(err.status, 404);
    assert!(is_uuid(&err));
    let control = raw(Method::GET, &local.url("/_local/health"), None).await;
    assert_eq!(control.status, 200);
    assert!(is_uuid(&control));
    assert_ne!(
        ok.header("x-amzn-requestid"),
        err.header("x-amzn-requestid")
    );
}

#[tokio::test]
async fn errors_carry_the_error_type_header_and_both_message_keys() {
    let local = start().await;
    let r = raw(Method::GET, &local.url("/human-loops/missing"), None).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(body["message"], body["Message"]);
    assert!(body["message"].as_str().unwrap().contains("missing"));

    let bad = raw(Method::GET, &local.url("/human-loops/Bad_Name"), None).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.header("x-amzn-errortype"), Some("ValidationException"));
    assert!(bad.json()["Message"]
        .as_str()
        .unwrap()
        .contains("'humanLoopName'"));
}

#[tokio::test]
async fn unknown_routes_answer_unknown_operation() {
    let local = start().await;
    for (method, path) in [
        (Method::GET, "/"),
        (Method::PUT, "/human-loops"),
        (Method::POST, "/human-loops/some-loop"),
        (Method::GET, "/human-loops/a/b"),
        (Method::PATCH, "/human-loops/stop"),
    ] {
        let r = raw(method.clone(), &local.url(path), None).await;
        assert_eq!(r.status, 404, "{method} {path}");
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("UnknownOperationException"),
            "{method} {path}"
        );
        assert!(r.json()["message"].as_str().unwrap().contains(path));
    }
}

#[tokio::test]
async fn path_labels_are_percent_decoded() {
    let local = start().await;
    start_loop(&local.a2i(), "loop-1", serde_json::json!({})).await;
    let r = raw(Method::GET, &local.url("/human-loops/loop%2D1"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["HumanLoopName"], "loop-1");
    // A decoded slash is part of the name, which the pattern then refuses.
    let r = raw(Method::GET, &local.url("/human-loops/a%2Fb"), None).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("a/b"));
}

#[tokio::test]
async fn sdk_sees_typed_not_found_for_every_name_operation() {
    let local = start().await;
    let a2i = local.a2i();
    let e = a2i
        .describe_human_loop()
        .human_loop_name("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
    assert!(e.message().unwrap().contains("nope"));
    let e = a2i
        .stop_human_loop()
        .human_loop_name("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
    let e = a2i
        .delete_human_loop()
        .human_loop_name("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception());
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
}
