//! Every model constraint is enforced with a 400 ValidationException that the SDK sees as
//! typed and whose message names the field and the rule.

mod common;

use aws_sdk_sagemakera2iruntime::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sagemakera2iruntime::operation::start_human_loop::StartHumanLoopError;
use aws_sdk_sagemakera2iruntime::types::{
    ContentClassifier, HumanLoopDataAttributes, HumanLoopInput, SortOrder,
};
use common::{raw, start, Local, FLOW};
use hyper::Method;

/// Sends a StartHumanLoop built by `build` and returns the service error.
async fn start_error(
    local: &Local,
    build: impl FnOnce(
        aws_sdk_sagemakera2iruntime::operation::start_human_loop::builders::StartHumanLoopFluentBuilder,
    ) -> aws_sdk_sagemakera2iruntime::operation::start_human_loop::builders::StartHumanLoopFluentBuilder,
) -> StartHumanLoopError {
    let request = build(local.a2i().start_human_loop());
    match request.send().await {
        Ok(ok) => panic!("expected an error, got {ok:?}"),
        Err(err) => err.into_service_error(),
    }
}

fn valid_input() -> HumanLoopInput {
    HumanLoopInput::builder().input_content("{}").build()
}

fn assert_validation(err: &StartHumanLoopError, needles: &[&str]) {
    assert!(
        err.is_validation_exception(),
        "{}",
        DisplayErrorContext(err)
    );
    let message = err.message().unwrap_or_default();
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
}

#[tokio::test]
async fn human_loop_name_longer_than_63_is_refused() {
    let local = start().await;
    let err = start_error(&local, |r| {
        r.human_loop_name("a".repeat(64))
            .flow_definition_arn(FLOW)
            .human_loop_input(valid_input())
    })
    .await;
    assert_validation(&err, &["'humanLoopName'", "less than or equal to 63"]);
}

#[tokio::test]
async fn human_loop_name_outside_the_pattern_is_refused() {
    let local = start().await;
    for bad in ["Upper", "under_score", "-lead", "trail-", "sp ace", "é"] {
        let err = start_error(&local, |r| {
            r.human_loop_name(bad)
                .flow_definition_arn(FLOW)
                .human_loop_input(valid_input())
        })
        .await;
        assert_validation(
            &err,
            &[
                "'humanLoopName'",
                "regular expression pattern: ^[a-z0-9](-*[a-z0-9])*$",
            ],
        );
    }
}

#[tokio::test]
async fn empty_human_loop_name_is_refused() {
    let local = start().await;
    let err = start_error(&local, |r| {
        r.human_loop_name("")
            .flow_definition_arn(FLOW)
            .human_loop_input(valid_input())
    })
    .await;
    assert_validation(&err, &["'humanLoopName'", "greater than or equal to 1"]);
}

#[tokio::test]
async fn flow_definition_arn_outside_the_pattern_is_refused() {
    let local = start().await;
    for bad in [
        "arn:aws:sagemaker:us-east-1:1234:flow-definition/fd",
        "arn:aws:sagemaker:us-east-1:111122223333:human-task-ui/fd",
        "not-an-arn",
    ] {
        let err = start_error(&local, |r| {
            r.human_loop_name("a")
                .flow_definition_arn(bad)
                .human_loop_input(valid_input())
        })
        .await;
        assert_validation(&err, &["'flowDefinitionArn'", "regular expression pattern"]);
    }
}

#[tokio::test]
async fn flow_definition_arn_longer_than_1024_is_refused() {
    let local = start().await;
    let long = format!("{FLOW}{}", "x".repeat(1024));
    let err = start_error(&local, |r| {
        r.human_loop_name("a")
            .flow_definition_arn(long)
            .human_loop_input(valid_input())
    })
    .await;
    assert_validation(&err, &["'flowDefinitionArn'", "less than or equal to 1024"]);
}

#[tokio::test]
async fn input_content_that_is_not_json_is_refused() {
    let local = start().await;
    let err = start_error(&local, |r| {
        r.human_loop_name("a")
            .flow_definition_arn(FLOW)
            .human_loop_input(HumanLoopInput::builder().input_content("{not json").build())
    })
    .await;
    assert_validation(&err, &["'humanLoopInput.inputContent'", "valid JSON"]);
}

#[tokio::test]
async fn input_content_longer_than_3145728_characters_is_refused() {
    let local = start().await;
    let too_long = format!("\"{}\"", "x".repeat(3_145_727));
    let err = start_error(&local, |r| {
        r.human_loop_name("a")
            .flow_definition_arn(FLOW)
            .human_loop_input(HumanLoopInput::builder().input_content(too_long).build())
    })
    .await;
    assert_validation(
        &err,
        &[
            "'humanLoopInput.inputContent'",
            "less than or equal to 3145728",
        ],
    );
    // Exactly at the limit is fine.
    let at_limit = format!("\"{}\"", "x".repeat(3_145_726));
    local
        .a2i()
        .start_human_loop()
        .human_loop_name("a")
        .flow_definition_arn(FLOW)
        .human_loop_input(HumanLoopInput::builder().input_content(at_limit).build())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn unknown_content_classifier_is_refused() {
    let local = start().await;
    let err = start_error(&local, |r| {
        r.human_loop_name("a")
            .flow_definition_arn(FLOW)
            .human_loop_input(valid_input())
            .data_attributes(
                HumanLoopDataAttributes::builder()
                    .content_classifiers(ContentClassifier::FreeOfAdultContent)
                    .content_classifiers(ContentClassifier::from("FreeOfCats"))
                    .build(),
            )
    })
    .await;
    assert_validation(
        &err,
        &[
            "'dataAttributes.contentClassifiers.2'",
            "FreeOfCats",
            "enum value set",
        ],
    );
}

#[tokio::test]
async fn more_than_256_content_classifiers_are_refused() {
    let local = start().await;
    let err = start_error(&local, |r| {
        r.human_loop_name("a")
            .flow_definition_arn(FLOW)
            .human_loop_input(valid_input())
            .data_attributes(
                HumanLoopDataAttributes::builder()
                    .set_content_classifiers(Some(vec![ContentClassifier::FreeOfAdultContent; 257]))
                    .build(),
            )
    })
    .await;
    assert_validation(
        &err,
        &[
            "'dataAttributes.contentClassifiers'",
            "less than or equal to 256",
        ],
    );
}

#[tokio::test]
async fn missing_required_members_are_all_named() {
    let local = start().await;
    let err = start_error(&local, |r| r).await;
    assert_validation(
        &err,
        &[
            "3 validation errors",
            "'humanLoopName'",
            "'flowDefinitionArn'",
            "'humanLoopInput'",
            "must not be null",
        ],
    );
    let err = start_error(&local, |r| {
        r.human_loop_name("a")
            .flow_definition_arn(FLOW)
            .human_loop_input(HumanLoopInput::builder().build())
    })
    .await;
    assert_validation(&err, &["'humanLoopInput.inputContent'", "must not be null"]);
    let err = start_error(&local, |r| {
        r.human_loop_name("a")
            .flow_definition_arn(FLOW)
            .human_loop_input(valid_input())
            .data_attributes(HumanLoopDataAttributes::builder().build())
    })
    .await;
    assert_validation(
        &err,
        &["'dataAttributes.contentClassifiers'", "must not be null"],
    );
}

#[tokio::test]
async fn stop_without_a_name_is_refused() {
    let local = start().await;
    let err = local
        .a2i()
        .stop_human_loop()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    assert!(err.message().unwrap().contains("'humanLoopName'"));
    let err = local
        .a2i()
        .stop_human_loop()
        .human_loop_name("Bad")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    assert!(err.message().unwrap().contains("pattern"));
}

#[tokio::test]
async fn describe_and_delete_check_the_name_label() {
    let local = start().await;
    let a2i = local.a2i();
    let err = a2i
        .describe_human_loop()
        .human_loop_name("x".repeat(64))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    assert!(err.message().unwrap().contains("'humanLoopName'"));
    let err = a2i
        .delete_human_loop()
        .human_loop_name("NOPE")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    assert!(err.message().unwrap().contains("'humanLoopName'"));
}

#[tokio::test]
async fn malformed_json_bodies_are_validation_errors() {
    let local = start().await;
    for body in ["", "{", "[1]", "\"text\"", r#"{"HumanLoopName": 42}"#] {
        for path in ["/human-loops", "/human-loops/stop"] {
            let r = raw(Method::POST, &local.url(path), Some(body)).await;
            assert_eq!(r.status, 400, "{path} {body:?}: {}", r.body);
            assert_eq!(r.header("x-amzn-errortype"), Some("ValidationException"));
        }
    }
    let r = raw(Method::POST, &local.url("/human-loops"), Some("{")).await;
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("Malformed request body"));
}

#[tokio::test]
async fn list_max_results_outside_1_to_100_is_refused() {
    let local = start().await;
    for (max, rule) in [
        (0, "greater than or equal to 1"),
        (101, "less than or equal to 100"),
    ] {
        let err = local
            .a2i()
            .list_human_loops()
            .flow_definition_arn(FLOW)
            .max_results(max)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_validation_exception());
        let m = err.message().unwrap();
        assert!(m.contains("'maxResults'") && m.contains(rule), "{m}");
    }
    let r = raw(
        Method::GET,
        &local.url(&format!(
            "/human-loops?FlowDefinitionArn={FLOW}&MaxResults=ten"
        )),
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("'maxResults'"));
}

#[tokio::test]
async fn list_sort_order_outside_the_enum_is_refused() {
    let local = start().await;
    let err = local
        .a2i()
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .sort_order(SortOrder::from("Sideways"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    let m = err.message().unwrap();
    assert!(
        m.contains("'sortOrder'") && m.contains("[Ascending, Descending]"),
        "{m}"
    );
}

#[tokio::test]
async fn list_requires_a_valid_flow_definition_arn() {
    let local = start().await;
    let r = raw(Method::GET, &local.url("/human-loops"), None).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.header("x-amzn-errortype"), Some("ValidationException"));
    assert!(r.body.contains("'flowDefinitionArn'") && r.body.contains("must not be null"));
    let err = local
        .a2i()
        .list_human_loops()
        .flow_definition_arn("arn:aws:sagemaker:us-east-1:1:flow-definition/x")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    assert!(err.message().unwrap().contains("'flowDefinitionArn'"));
}

#[tokio::test]
async fn list_timestamps_that_are_not_iso8601_are_refused() {
    let local = start().await;
    for (param, field) in [
        ("CreationTimeAfter", "'creationTimeAfter'"),
        ("CreationTimeBefore", "'creationTimeBefore'"),
    ] {
        let r = raw(
            Method::GET,
            &local.url(&format!(
                "/human-loops?FlowDefinitionArn={FLOW}&{param}=yesterday"
            )),
            None,
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains(field), "{}", r.body);
    }
}

#[tokio::test]
async fn list_next_token_that_was_not_issued_is_refused() {
    let local = start().await;
    let err = local
        .a2i()
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .next_token("made-up")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    assert!(err.message().unwrap().contains("'nextToken'"));
    let err = local
        .a2i()
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .next_token("x".repeat(8193))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err
        .message()
        .unwrap()
        .contains("less than or equal to 8192"));
}
