//! The SageMaker control plane over real HTTP with the real SDK (aws-sdk-sagemaker): every
//! operation, every modeled error, validation messages, pagination, persistence across a
//! restart, resources files, the wire format botocore depends on, and the FlowLookup seam.

mod common;

use std::time::Duration;

use a2i_local::{ControlPlaneLimits, LocalA2i, LocalA2iBuilder, LocalA2iHandle, Resources};
use aws_sdk_sagemaker::config::retry::RetryConfig;
use aws_sdk_sagemaker::config::{BehaviorVersion, Region};
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::primitives::DateTime;
use aws_sdk_sagemaker::types::{
    FlowDefinitionOutputConfig, FlowDefinitionStatus, HumanLoopConfig, HumanTaskUiStatus,
    SortOrder, UiTemplate,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

const TEMPLATE: &str = "<crowd-form><p>{{ task.input.text }}</p></crowd-form>";
const ROLE: &str = "arn:aws:iam::111122223333:role/a2i-local";
const WORKTEAM: &str = "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/local";

fn sagemaker(handle: &LocalA2iHandle) -> aws_sdk_sagemaker::Client {
    let creds = handle.credentials();
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(handle.region().to_owned()))
        .credentials_provider(aws_sdk_sagemaker::config::Credentials::new(
            creds.access_key_id.clone(),
            creds.secret_access_key.clone(),
            None,
            None,
            "a2i-local-test",
        ))
        .endpoint_url(handle.sagemaker_endpoint())
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_sagemaker::Client::from_conf(config)
}

async fn start_with(configure: impl FnOnce(LocalA2iBuilder) -> LocalA2iBuilder) -> LocalA2iHandle {
    configure(LocalA2i::builder())
        .start()
        .await
        .expect("a2i-local starts")
}

async fn create_ui(sm: &aws_sdk_sagemaker::Client, name: &str, content: &str) -> String {
    sm.create_human_task_ui()
        .human_task_ui_name(name)
        .ui_template(UiTemplate::builder().content(content).build())
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "create {name}: {}",
                aws_sdk_sagemaker::error::DisplayErrorContext(&e)
            )
        })
        .human_task_ui_arn
        .unwrap_or_default()
}

fn loop_config(ui_arn: &str, count: i32) -> HumanLoopConfig {
    HumanLoopConfig::builder()
        .workteam_arn(WORKTEAM)
        .human_task_ui_arn(ui_arn)
        .task_title("Review the item")
        .task_description("Decide whether the item is fine")
        .task_count(count)
        .task_availability_lifetime_in_seconds(120)
        .task_time_limit_in_seconds(300)
        .task_keywords("moderation")
        .task_keywords("images")
        .build()
}

async fn create_flow(
    sm: &aws_sdk_sagemaker::Client,
    name: &str,
    ui_arn: &str,
    output: &str,
) -> Result<String, String> {
    sm.create_flow_definition()
        .flow_definition_name(name)
        .human_loop_config(loop_config(ui_arn, 2))
        .output_config(
            FlowDefinitionOutputConfig::builder()
                .s3_output_path(output)
                .kms_key_id("alias/reviews")
                .build(),
        )
        .role_arn(ROLE)
        .send()
        .await
        .map(|out| out.flow_definition_arn().unwrap_or_default().to_owned())
        .map_err(|e| format!("{}: {}", e.code().unwrap_or("?"), e.message().unwrap_or("")))
}

/// A raw awsJson call: the status, the headers and the body.
async fn raw(handle: &LocalA2iHandle, target: &str, body: &str) -> (u16, hyper::HeaderMap, Value) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let request = Request::post(format!("{}/", handle.sagemaker_endpoint()))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", target)
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("request");
    let response = client.request(request).await.expect("round trip");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

async fn http_get(url: &str) -> (u16, String) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let response = client
        .request(
            Request::get(url)
                .body(Full::new(Bytes::new()))
                .expect("request"),
        )
        .await
        .expect("round trip");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Everything a flow definition's description says, without the request id.
fn flow_parts(
    d: &aws_sdk_sagemaker::operation::describe_flow_definition::DescribeFlowDefinitionOutput,
) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        d.flow_definition_arn(),
        d.flow_definition_status(),
        d.creation_time(),
        d.human_loop_config(),
        d.output_config(),
        d.role_arn(),
        d.human_loop_request_source()
    )
}

#[tokio::test]
async fn a_task_ui_is_created_described_listed_served_and_deleted() {
    let handle = start_with(|b| b).await;
    let sm = sagemaker(&handle);
    let before = DateTime::from_secs(chrono::Utc::now().timestamp() - 1);
    let arn = create_ui(&sm, "review-ui", TEMPLATE).await;
    assert_eq!(
        arn,
        "arn:aws:sagemaker:us-east-1:111122223333:human-task-ui/review-ui"
    );

    let described = sm
        .describe_human_task_ui()
        .human_task_ui_name("review-ui")
        .send()
        .await
        .unwrap();
    assert_eq!(described.human_task_ui_arn(), Some(arn.as_str()));
    assert_eq!(described.human_task_ui_name(), Some("review-ui"));
    assert_eq!(
        described.human_task_ui_status(),
        Some(&HumanTaskUiStatus::Active)
    );
    assert!(described.creation_time().unwrap() >= &before);
    let template = described.ui_template().unwrap();
    assert_eq!(
        template.content_sha256(),
        Some(sha256_hex(TEMPLATE).as_str())
    );
    let (status, served) = http_get(template.url().unwrap()).await;
    assert_eq!((status, served.as_str()), (200, TEMPLATE));

    let listed = sm.list_human_task_uis().send().await.unwrap();
    let names: Vec<_> = listed
        .human_task_ui_summaries()
        .iter()
        .map(|s| s.human_task_ui_name())
        .collect();
    assert_eq!(names, [Some("review-ui")]);
    assert_eq!(
        listed.human_task_ui_summaries()[0].creation_time(),
        described.creation_time()
    );

    sm.delete_human_task_ui()
        .human_task_ui_name("review-ui")
        .send()
        .await
        .unwrap();
    let err = sm
        .describe_human_task_ui()
        .human_task_ui_name("review-ui")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_resource_not_found()),
        "{err:?}"
    );
    assert_eq!(
        err.message(),
        Some("Human task UI 'review-ui' does not exist.")
    );
    let err = sm
        .delete_human_task_ui()
        .human_task_ui_name("review-ui")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .is_some_and(|e| e.is_resource_not_found()));
    assert_eq!(http_get(template.url().unwrap()).await.0, 404);
    assert!(sm
        .list_human_task_uis()
        .send()
        .await
        .unwrap()
        .human_task_ui_summaries()
        .is_empty());
    // The name is free again.
    create_ui(&sm, "review-ui", "<p>second</p>").await;
    handle.shutdown().await;
}

#[tokio::test]
async fn a_flow_definition_is_created_described_listed_and_deleted() {
    let handle = start_with(|b| b).await;
    let sm = sagemaker(&handle);
    let ui_arn = create_ui(&sm, "ui", TEMPLATE).await;
    let arn = create_flow(&sm, "review-flow", &ui_arn, "s3://review-output/reviews")
        .await
        .unwrap();
    assert_eq!(arn, handle.flow_definition_arn("review-flow"));

    let d = sm
        .describe_flow_definition()
        .flow_definition_name("review-flow")
        .send()
        .await
        .unwrap();
    assert_eq!(d.flow_definition_arn(), Some(arn.as_str()));
    assert_eq!(
        d.flow_definition_status(),
        Some(&FlowDefinitionStatus::Active)
    );
    assert_eq!(d.role_arn(), Some(ROLE));
    let config = d.human_loop_config().unwrap();
    assert_eq!(config.task_count(), Some(2));
    assert_eq!(config.human_task_ui_arn(), Some(ui_arn.as_str()));
    assert_eq!(config.workteam_arn(), Some(WORKTEAM));
    assert_eq!(config.task_keywords(), ["moderation", "images"]);
    assert_eq!(config.task_availability_lifetime_in_seconds(), Some(120));
    assert_eq!(config.task_time_limit_in_seconds(), Some(300));
    let output = d.output_config().unwrap();
    assert_eq!(output.s3_output_path(), Some("s3://review-output/reviews"));
    assert_eq!(output.kms_key_id(), Some("alias/reviews"));

    // The output bucket exists in the embedded S3, so the flow's loops can write there.
    handle
        .s3_client()
        .head_bucket()
        .bucket("review-output")
        .send()
        .await
        .unwrap();

    let listed = sm.list_flow_definitions().send().await.unwrap();
    let summary = &listed.flow_definition_summaries()[0];
    assert_eq!(summary.flow_definition_name(), Some("review-flow"));
    assert_eq!(
        summary.flow_definition_status(),
        Some(&FlowDefinitionStatus::Active)
    );

    // Loops see the flow through the FlowLookup seam.
    let policy = handle.flow_lookup().flow("review-flow").expect("policy");
    assert_eq!(policy.task_count, 2);
    assert_eq!(policy.output.bucket, "review-output");
    assert_eq!(policy.output.prefix, "reviews");
    assert_eq!(policy.availability_lifetime, Duration::from_secs(120));
    assert_eq!(policy.task_time_limit, Duration::from_secs(300));

    sm.delete_flow_definition()
        .flow_definition_name("review-flow")
        .send()
        .await
        .unwrap();
    let err = sm
        .describe_flow_definition()
        .flow_definition_name("review-flow")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_resource_not_found()),
        "{err:?}"
    );
    let err = sm
        .delete_flow_definition()
        .flow_definition_name("review-flow")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .is_some_and(|e| e.is_resource_not_found()));
    assert!(handle.flow_lookup().flow("review-flow").is_none());
    // The name can be reused.
    create_flow(&sm, "review-flow", &ui_arn, "s3://review-output")
        .await
        .unwrap();
    handle.shutdown().await;
}

#[tokio::test]
async fn names_in_use_and_limits_are_the_modeled_errors() {
    let handle = start_with(|b| {
        b.control_plane_limits(ControlPlaneLimits {
            human_task_uis: 2,
            flow_definitions: 1,
        })
    })
    .await;
    let sm = sagemaker(&handle);
    let ui_arn = create_ui(&sm, "ui", TEMPLATE).await;
    let err = sm
        .create_human_task_ui()
        .human_task_ui_name("ui")
        .ui_template(UiTemplate::builder().content("x").build())
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_resource_in_use()),
        "{err:?}"
    );
    create_ui(&sm, "ui-2", TEMPLATE).await;
    let err = sm
        .create_human_task_ui()
        .human_task_ui_name("ui-3")
        .ui_template(UiTemplate::builder().content("x").build())
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_resource_limit_exceeded()),
        "{err:?}"
    );

    create_flow(&sm, "flow", &ui_arn, "s3://out").await.unwrap();
    assert!(create_flow(&sm, "flow", &ui_arn, "s3://out")
        .await
        .unwrap_err()
        .starts_with("ResourceInUse: "));
    assert!(create_flow(&sm, "flow-2", &ui_arn, "s3://out")
        .await
        .unwrap_err()
        .starts_with("ResourceLimitExceeded: "));
    handle.shutdown().await;
}

#[tokio::test]
async fn a_flow_definition_needs_a_task_ui_that_exists() {
    let handle = start_with(|b| b).await;
    let sm = sagemaker(&handle);
    let missing = handle.human_task_ui_arn("missing-ui");
    let err = create_flow(&sm, "flow", &missing, "s3://out")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        format!(
            "ValidationException: Could not find human task UI '{missing}'. Create it with \
             CreateHumanTaskUi before the flow definition that uses it."
        )
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn activation_conditions_are_refused_without_a_request_source_and_kept_with_one() {
    use aws_sdk_sagemaker::types::{
        AwsManagedHumanLoopRequestSource, HumanLoopActivationConditionsConfig,
        HumanLoopActivationConfig, HumanLoopRequestSource,
    };
    let handle = start_with(|b| b).await;
    let sm = sagemaker(&handle);
    let ui = create_ui(&sm, "ui", TEMPLATE).await;
    let conditions = r#"{"Conditions":[{"ConditionType":"Sampling","ConditionParameters":{"RandomSamplingPercentage":5}}]}"#;
    let activation = HumanLoopActivationConfig::builder()
        .human_loop_activation_conditions_config(
            HumanLoopActivationConditionsConfig::builder()
                .human_loop_activation_conditions(conditions)
                .build(),
        )
        .build();
    let request = |name: &str| {
        sm.create_flow_definition()
            .flow_definition_name(name)
            .human_loop_config(loop_config(&ui, 1))
            .human_loop_activation_config(activation.clone())
            .output_config(
                FlowDefinitionOutputConfig::builder()
                    .s3_output_path("s3://out/a2i")
                    .build(),
            )
            .role_arn(ROLE)
    };

    // A custom task type (no request source): conditions are refused, nothing is made.
    let err = request("custom").send().await.unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let message = err.message().unwrap_or_default();
    assert!(
        message.starts_with("HumanLoopActivationConfig is disabled for a flow definition without a HumanLoopRequestSource"),
        "{message}"
    );
    assert!(!message.contains("RandomSamplingPercentage"), "{message}");
    let flows = sm.list_flow_definitions().send().await.unwrap();
    assert!(flows.flow_definition_summaries().is_empty());

    // A built-in task type: the source and the conditions are kept and described as given.
    request("textract")
        .human_loop_request_source(
            HumanLoopRequestSource::builder()
                .aws_managed_human_loop_request_source(
                    AwsManagedHumanLoopRequestSource::TextractAnalyzeDocumentFormsV1,
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let described = sm
        .describe_flow_definition()
        .flow_definition_name("textract")
        .send()
        .await
        .unwrap();
    assert_eq!(
        described
            .human_loop_request_source()
            .and_then(|s| s.aws_managed_human_loop_request_source())
            .map(|s| s.as_str()),
        Some("AWS/Textract/AnalyzeDocument/Forms/V1")
    );
    assert_eq!(
        described
            .human_loop_activation_config()
            .and_then(|a| a.human_loop_activation_conditions_config())
            .and_then(|c| c.human_loop_activation_conditions()),
        Some(conditions)
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn validation_errors_name_the_member_and_the_rule_in_aws_wording() {
    let handle = start_with(|b| b).await;
    let sm = sagemaker(&handle);
    let err = sm
        .create_human_task_ui()
        .human_task_ui_name("IDP-BDA-3")
        .ui_template(UiTemplate::builder().content(TEMPLATE).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(
        err.message(),
        Some(
            "1 validation error detected: Value 'IDP-BDA-3' at 'humanTaskUiName' failed to \
             satisfy constraint: Member must satisfy regular expression pattern: \
             [a-z0-9](-*[a-z0-9])*"
        )
    );

    let ui_arn = create_ui(&sm, "ui", TEMPLATE).await;
    let err = sm
        .create_flow_definition()
        .flow_definition_name("flow")
        .human_loop_config(
            HumanLoopConfig::builder()
                .workteam_arn(WORKTEAM)
                .human_task_ui_arn(&ui_arn)
                .task_title("secret title")
                .task_description("d")
                .task_count(4)
                .task_time_limit_in_seconds(28_801)
                .task_availability_lifetime_in_seconds(0)
                .build(),
        )
        .output_config(
            FlowDefinitionOutputConfig::builder()
                .s3_output_path("gs://bucket")
                .build(),
        )
        .role_arn("arn:aws:iam::123:role/r")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let message = err.message().unwrap();
    assert!(
        message.starts_with("5 validation errors detected: "),
        "{message}"
    );
    for part in [
        "Value '4' at 'humanLoopConfig.taskCount' failed to satisfy constraint: Member must have value less than or equal to 3",
        "Value '28801' at 'humanLoopConfig.taskTimeLimitInSeconds' failed to satisfy constraint: Member must have value less than or equal to 28800",
        "Value '0' at 'humanLoopConfig.taskAvailabilityLifetimeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1",
        "Value 'gs://bucket' at 'outputConfig.s3OutputPath' failed to satisfy constraint: Member must satisfy regular expression pattern: (https|s3)://([^/]+)/?(.*)",
        "Value 'arn:aws:iam::123:role/r' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern",
    ] {
        assert!(message.contains(part), "missing {part:?} in {message}");
    }
    assert!(!message.contains("secret title"));
    handle.shutdown().await;
}

#[tokio::test]
async fn lists_page_with_tokens_filters_and_both_orders() {
    let handle = start_with(|b| b).await;
    let sm = sagemaker(&handle);
    for i in 0..5 {
        create_ui(&sm, &format!("ui-{i}"), TEMPLATE).await;
        // Distinct creation times, so the time filters have something to separate.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = sm
            .list_human_task_uis()
            .sort_order(SortOrder::Ascending)
            .max_results(2)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        assert!(page.human_task_ui_summaries().len() <= 2);
        names.extend(
            page.human_task_ui_summaries()
                .iter()
                .filter_map(|s| s.human_task_ui_name())
                .map(str::to_owned),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, ["ui-0", "ui-1", "ui-2", "ui-3", "ui-4"]);

    // The paginator of the SDK walks the same pages; default order is newest first.
    let all: Vec<String> = sm
        .list_human_task_uis()
        .max_results(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(|s| {
            s.unwrap()
                .human_task_ui_name()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(all, ["ui-4", "ui-3", "ui-2", "ui-1", "ui-0"]);

    let third = sm
        .describe_human_task_ui()
        .human_task_ui_name("ui-2")
        .send()
        .await
        .unwrap();
    let at = *third.creation_time().unwrap();
    let after: Vec<_> = sm
        .list_human_task_uis()
        .creation_time_after(at)
        .send()
        .await
        .unwrap()
        .human_task_ui_summaries()
        .iter()
        .filter_map(|s| s.human_task_ui_name().map(str::to_owned))
        .collect();
    assert_eq!(
        after,
        ["ui-4", "ui-3", "ui-2"],
        "CreationTimeAfter is inclusive"
    );
    let before: Vec<_> = sm
        .list_human_task_uis()
        .creation_time_before(at)
        .send()
        .await
        .unwrap()
        .human_task_ui_summaries()
        .iter()
        .filter_map(|s| s.human_task_ui_name().map(str::to_owned))
        .collect();
    assert_eq!(before, ["ui-1", "ui-0"], "CreationTimeBefore is exclusive");

    // A token is bound to its query.
    let first = sm
        .list_human_task_uis()
        .max_results(1)
        .send()
        .await
        .unwrap();
    let err = sm
        .list_human_task_uis()
        .sort_order(SortOrder::Ascending)
        .set_next_token(first.next_token().map(str::to_owned))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let err = sm
        .list_flow_definitions()
        .next_token("garbage")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let err = sm
        .list_flow_definitions()
        .max_results(101)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        Some("1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100")
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn resources_survive_a_restart_with_the_same_arns_and_times() {
    let dir = tempfile::tempdir().unwrap();
    let handle = start_with(|b| b.data_dir(dir.path())).await;
    let sm = sagemaker(&handle);
    let ui_arn = create_ui(&sm, "ui", TEMPLATE).await;
    create_flow(&sm, "flow", &ui_arn, "s3://out/p")
        .await
        .unwrap();
    create_ui(&sm, "gone", TEMPLATE).await;
    sm.delete_human_task_ui()
        .human_task_ui_name("gone")
        .send()
        .await
        .unwrap();
    let ui = sm
        .describe_human_task_ui()
        .human_task_ui_name("ui")
        .send()
        .await
        .unwrap();
    let flow = sm
        .describe_flow_definition()
        .flow_definition_name("flow")
        .send()
        .await
        .unwrap();
    handle.shutdown().await;

    let handle = start_with(|b| b.data_dir(dir.path())).await;
    let sm = sagemaker(&handle);
    let ui2 = sm
        .describe_human_task_ui()
        .human_task_ui_name("ui")
        .send()
        .await
        .unwrap();
    let flow2 = sm
        .describe_flow_definition()
        .flow_definition_name("flow")
        .send()
        .await
        .unwrap();
    assert_eq!(ui2.creation_time(), ui.creation_time());
    assert_eq!(
        ui2.ui_template().unwrap().content_sha256(),
        ui.ui_template().unwrap().content_sha256()
    );
    assert_eq!(flow_parts(&flow2), flow_parts(&flow));
    let err = sm
        .describe_human_task_ui()
        .human_task_ui_name("gone")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .is_some_and(|e| e.is_resource_not_found()));
    assert_eq!(
        handle.flow_lookup().flow("flow").unwrap().output.prefix,
        "p"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn a_resources_file_creates_everything_at_start_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(dir.path().join("review.html"), TEMPLATE).unwrap();
    let file = dir.path().join("resources.json");
    let write = |template_file: &str| {
        std::fs::write(
            &file,
            json!({
                "HumanTaskUis": [
                    {"HumanTaskUiName": "review-ui", "TemplateFile": template_file},
                    {"HumanTaskUiName": "inline-ui", "UiTemplate": {"Content": "<p>inline</p>"}}
                ],
                "FlowDefinitions": [{
                    "FlowDefinitionName": "review-flow",
                    "HumanLoopConfig": {
                        "HumanTaskUiName": "review-ui",
                        "WorkteamArn": WORKTEAM,
                        "TaskTitle": "Review", "TaskDescription": "Check", "TaskCount": 3,
                        "TaskAvailabilityLifetimeInSeconds": 5
                    },
                    "OutputConfig": {"S3OutputPath": "s3://file-output/reviews"},
                    "RoleArn": ROLE
                }]
            })
            .to_string(),
        )
        .unwrap()
    };
    write("review.html");
    let handle = start_with(|b| b.data_dir(&data).resources_file(&file)).await;
    let sm = sagemaker(&handle);
    let ui = sm
        .describe_human_task_ui()
        .human_task_ui_name("review-ui")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ui.ui_template().unwrap().content_sha256(),
        Some(sha256_hex(TEMPLATE).as_str())
    );
    let flow = sm
        .describe_flow_definition()
        .flow_definition_name("review-flow")
        .send()
        .await
        .unwrap();
    assert_eq!(
        flow.human_loop_config().unwrap().human_task_ui_arn(),
        Some(handle.human_task_ui_arn("review-ui").as_str())
    );
    let policy = handle.flow_lookup().flow("review-flow").unwrap();
    assert_eq!(
        (policy.task_count, policy.availability_lifetime),
        (3, Duration::from_secs(5))
    );
    handle
        .s3_client()
        .head_bucket()
        .bucket("file-output")
        .send()
        .await
        .unwrap();
    handle.shutdown().await;

    // The same file again: nothing is re-created.
    let handle = start_with(|b| b.data_dir(&data).resources_file(&file)).await;
    let sm = sagemaker(&handle);
    let again = sm
        .describe_human_task_ui()
        .human_task_ui_name("review-ui")
        .send()
        .await
        .unwrap();
    assert_eq!(again.creation_time(), ui.creation_time());
    let flow_again = sm
        .describe_flow_definition()
        .flow_definition_name("review-flow")
        .send()
        .await
        .unwrap();
    assert_eq!(flow_parts(&flow_again), flow_parts(&flow));
    handle.shutdown().await;

    // An edited template replaces the task UI.
    std::fs::write(dir.path().join("review-2.html"), "<p>edited</p>").unwrap();
    write("review-2.html");
    let handle = start_with(|b| b.data_dir(&data).resources_file(&file)).await;
    let sm = sagemaker(&handle);
    let edited = sm
        .describe_human_task_ui()
        .human_task_ui_name("review-ui")
        .send()
        .await
        .unwrap();
    assert_eq!(
        edited.ui_template().unwrap().content_sha256(),
        Some(sha256_hex("<p>edited</p>").as_str())
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn resources_from_code_and_bad_resources_refuse_to_start() {
    let handle = start_with(|b| {
        b.resources(
            Resources::new()
                .human_task_ui("code-ui", TEMPLATE)
                .flow_definition(json!({
                    "FlowDefinitionName": "code-flow",
                    "HumanLoopConfig": {"HumanTaskUiName": "code-ui", "WorkteamArn": WORKTEAM,
                        "TaskTitle": "t", "TaskDescription": "d", "TaskCount": 1},
                    "OutputConfig": {"S3OutputPath": "s3://a2i-local-output"},
                    "RoleArn": ROLE
                })),
        )
    })
    .await;
    assert!(handle.flow_lookup().flow("code-flow").is_some());
    handle.shutdown().await;

    let err = LocalA2i::builder()
        .resources(Resources::new().human_task_ui("Bad_Name", TEMPLATE))
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("HumanTaskUis[0] (Bad_Name)"), "{err}");
    assert!(err.contains("ValidationException"), "{err}");
    let err = LocalA2i::builder()
        .resources_file("/nonexistent/resources.json")
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/resources.json"), "{err}");
}

#[tokio::test]
async fn errors_on_the_wire_carry_type_in_body_and_header() {
    let handle = start_with(|b| b).await;
    let (status, headers, body) = raw(
        &handle,
        "SageMaker.DescribeFlowDefinition",
        r#"{"FlowDefinitionName": "nope"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(headers["x-amzn-errortype"], "ResourceNotFound");
    assert_eq!(headers["content-type"], "application/x-amz-json-1.1");
    assert!(headers.contains_key("x-amzn-requestid"));
    assert_eq!(
        body,
        json!({"__type": "ResourceNotFound", "Message": "Flow definition 'nope' does not exist."})
    );

    let (status, _, body) = raw(&handle, "SageMaker.CreateHumanTaskUi", "{not json").await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("SerializationException"))
    );
    let (status, _, body) = raw(
        &handle,
        "SageMaker.CreateHumanTaskUi",
        r#"{"HumanTaskUiName": 7, "UiTemplate": {"Content": "x"}}"#,
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("SerializationException"))
    );
    assert_eq!(
        body["Message"],
        "Cannot read member 'humanTaskUiName': expected a string, got a number."
    );
    let (status, _, body) = raw(&handle, "SageMaker.CreateEndpoint", "{}").await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    let (status, _, body) = raw(&handle, "Comprehend_20171127.DetectEntities", "{}").await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    // Textract is served (the built-in task types): an empty request is its own validation error.
    let (status, _, body) = raw(&handle, "Textract.AnalyzeDocument", "{}").await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("InvalidParameterException"))
    );
    // A list with an empty body is a list with no filters.
    let (status, headers, body) = raw(&handle, "SageMaker.ListFlowDefinitions", "").await;
    assert_eq!(
        (status, body),
        (200, json!({"FlowDefinitionSummaries": []}))
    );
    assert_eq!(headers["content-type"], "application/x-amz-json-1.1");
    // The runtime keeps working on the same port.
    let listed = common::fast_a2i_client(&handle)
        .list_human_loops()
        .flow_definition_arn(common::FLOW)
        .send()
        .await
        .unwrap();
    assert!(listed.human_loop_summaries().is_empty());
    assert!(handle
        .env_vars()
        .contains(&("AWS_ENDPOINT_URL_SAGEMAKER", handle.sagemaker_endpoint())));
    handle.shutdown().await;
}

#[tokio::test]
async fn render_ui_template_renders_content_or_a_task_ui_and_reports_errors() {
    use aws_sdk_sagemaker::types::RenderableTask;
    let handle = start_with(|b| b).await;
    let sm = sagemaker(&handle);
    let task = |input: &str| RenderableTask::builder().input(input).build();

    let out = sm
        .render_ui_template()
        .ui_template(UiTemplate::builder().content(TEMPLATE).build())
        .task(task(r#"{"text": "<script>alert(1)</script>"}"#))
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.rendered_content(),
        Some("<crowd-form><p>&lt;script&gt;alert(1)&lt;/script&gt;</p></crowd-form>")
    );
    assert!(out.errors().is_empty());

    // From a task UI, with grant_read_access presigning a URL of the embedded S3.
    handle
        .s3_client()
        .create_bucket()
        .bucket("media")
        .send()
        .await
        .unwrap();
    handle
        .s3_client()
        .put_object()
        .bucket("media")
        .key("cat.jpg")
        .body(b"jpeg bytes".to_vec().into())
        .send()
        .await
        .unwrap();
    let ui_arn = create_ui(
        &sm,
        "media-ui",
        r#"<img src="{{ task.input.image | grant_read_access }}">"#,
    )
    .await;
    let out = sm
        .render_ui_template()
        .human_task_ui_arn(&ui_arn)
        .task(task(r#"{"image": "s3://media/cat.jpg"}"#))
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let html = out.rendered_content().unwrap();
    let url = html
        .strip_prefix(r#"<img src=""#)
        .and_then(|rest| rest.strip_suffix(r#"">"#))
        .expect("one image")
        .replace("&amp;", "&");
    assert!(url.starts_with(&handle.s3_endpoint()), "{url}");
    assert_eq!(http_get(&url).await, (200, "jpeg bytes".to_owned()));

    // Render errors: HTTP 200, empty content, the error in Errors[].
    let out = sm
        .render_ui_template()
        .ui_template(
            UiTemplate::builder()
                .content("<p>{{ task.input.missing }}</p>")
                .build(),
        )
        .task(task("{}"))
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    assert_eq!(out.rendered_content(), Some(""));
    assert_eq!(out.errors().len(), 1);
    assert_eq!(out.errors()[0].code(), Some("UndefinedVariable"));
    assert!(out.errors()[0]
        .message()
        .unwrap_or_default()
        .contains("task.input.missing"));

    // A task UI that does not exist: the modeled ResourceNotFound.
    let err = sm
        .render_ui_template()
        .human_task_ui_arn(handle.human_task_ui_arn("nope"))
        .task(task("{}"))
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_resource_not_found()),
        "{err:?}"
    );
    // Both sources, or neither, are validation errors.
    let err = sm
        .render_ui_template()
        .human_task_ui_arn(&ui_arn)
        .ui_template(UiTemplate::builder().content(TEMPLATE).build())
        .task(task("{}"))
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let err = sm
        .render_ui_template()
        .task(task("{}"))
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    handle.shutdown().await;
}

#[tokio::test]
async fn a_template_that_does_not_parse_is_refused_at_creation() {
    let handle = start_with(|b| b).await;
    let sm = sagemaker(&handle);
    let err = sm
        .create_human_task_ui()
        .human_task_ui_name("broken")
        .ui_template(
            UiTemplate::builder()
                .content("{% if task.input.x %}never closed")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let message = err.message().unwrap_or_default();
    assert!(message.contains("'uiTemplate.content'"), "{message}");
    assert!(message.contains("TemplateSyntaxError"), "{message}");
    let err = sm
        .describe_human_task_ui()
        .human_task_ui_name("broken")
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .is_some_and(|e| e.is_resource_not_found()));
    handle.shutdown().await;
}
