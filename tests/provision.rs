//! The flow custom resource end to end, with SageMaker mocked at the SDK (every call checked,
//! in order) and a local HTTP server standing in for CloudFormation's `ResponseURL`: the
//! exact answer CloudFormation receives for Create, retries, Update (replacement), Delete,
//! failures and malformed requests; and, with the real SDK over HTTP, against a2i-local's
//! SageMaker control plane.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use a2i_review::provision::{Provisioner, Timing, WorkerTemplate};
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::operation::create_flow_definition::CreateFlowDefinitionOutput;
use aws_sdk_sagemaker::operation::create_human_task_ui::CreateHumanTaskUiOutput;
use aws_sdk_sagemaker::operation::delete_flow_definition::DeleteFlowDefinitionOutput;
use aws_sdk_sagemaker::operation::delete_human_task_ui::DeleteHumanTaskUiOutput;
use aws_sdk_sagemaker::operation::describe_flow_definition::DescribeFlowDefinitionOutput;
use aws_sdk_sagemaker::operation::describe_human_task_ui::DescribeHumanTaskUiOutput;
use aws_sdk_sagemaker::types::{
    AwsManagedHumanLoopRequestSource, FlowDefinitionOutputConfig, FlowDefinitionStatus,
    HumanLoopActivationConditionsConfig, HumanLoopActivationConfig, HumanLoopConfig,
    HumanLoopRequestSource, UiTemplateInfo,
};
use aws_sdk_sagemaker::Client as SageMaker;
use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

const STACK: &str =
    "arn:aws:cloudformation:us-east-1:111122223333:stack/a2i-review/0f0e0d0c-1111-2222-3333-444455556666";
const LOGICAL: &str = "FlowResources";
const REGION_ACCOUNT: &str = "arn:aws:sagemaker:us-east-1:111122223333";
const WORKTEAM: &str = "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/reviewers";
const ROLE: &str = "arn:aws:iam::111122223333:role/a2i-review-FlowRole-ABC";
const OUTPUT: &str = "s3://a2i-review-results-111122223333-us-east-1/a2i-output/";

// ------------------------------------------------------------------------------------------
// The ResponseURL: a local HTTP server recording every PUT.
// ------------------------------------------------------------------------------------------

/// One request the stand-in for the ResponseURL received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path_and_query: String,
    content_type: Option<String>,
    content_length: Option<String>,
    body: Value,
}

#[derive(Clone)]
struct ResponseUrl {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl ResponseUrl {
    /// A server on 127.0.0.1 that answers every request with `status`.
    async fn start(status: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = received.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let log = log.clone();
                        async move {
                            let header = |name: &str| {
                                req.headers()
                                    .get(name)
                                    .map(|v| v.to_str().unwrap().to_owned())
                            };
                            let mut r = Received {
                                method: req.method().to_string(),
                                path_and_query: req.uri().path_and_query().unwrap().to_string(),
                                content_type: header("content-type"),
                                content_length: header("content-length"),
                                body: Value::Null,
                            };
                            let bytes = req.into_body().collect().await.unwrap().to_bytes();
                            r.body = serde_json::from_slice(&bytes).unwrap();
                            log.lock().unwrap().push(r);
                            Ok::<_, Infallible>(
                                Response::builder()
                                    .status(status)
                                    .body(Full::new(Bytes::new()))
                                    .unwrap(),
                            )
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(tcp);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Self {
            // Shaped like CloudFormation's pre-signed S3 URL: the query must arrive verbatim.
            url: format!(
                "http://127.0.0.1:{port}/cloudformation-custom-resource-response-useast1/arn%3Aaws%3Acloudformation%3Aus-east-1%3A111122223333%3Astack/a2i-review/x%7CFlowResources%7Creq?AWSAccessKeyId=AKIDEXAMPLE&Expires=1700000000&Signature=abc%2Bdef%3D"
            ),
            received,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The one answer received, checked for how CloudFormation's S3 URL needs it sent.
    fn only_answer(&self) -> Value {
        let got = self.received();
        assert_eq!(got.len(), 1, "exactly one answer: {got:?}");
        let r = &got[0];
        assert_eq!(r.method, "PUT");
        assert!(
            r.path_and_query
                .ends_with("?AWSAccessKeyId=AKIDEXAMPLE&Expires=1700000000&Signature=abc%2Bdef%3D"),
            "{}",
            r.path_and_query
        );
        assert_eq!(r.content_type.as_deref(), Some(""), "empty Content-Type");
        let len: usize = r.content_length.as_deref().unwrap().parse().unwrap();
        assert_eq!(len, serde_json::to_vec(&r.body).unwrap().len());
        assert!(len <= 4096);
        r.body.clone()
    }
}

// ------------------------------------------------------------------------------------------
// Requests, as CloudFormation sends them to the function.
// ------------------------------------------------------------------------------------------

fn properties(template: &str) -> Value {
    json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:111122223333:function:a2i-review-FlowResourceFunction",
        "ServiceTimeout": "900",
        "NamePrefix": "a2i-review",
        "WorkerTemplate": template,
        "WorkteamArn": WORKTEAM,
        "RoleArn": ROLE,
        "OutputPath": OUTPUT,
        "KmsKeyId": "",
        "TaskTitle": "Review an item the model is unsure about",
        "TaskDescription": "Check why the item was flagged and give your decision.",
        "TaskKeywords": ["review", "ml"],
        "TaskCount": "2",
        "TaskTimeLimitInSeconds": "3600",
        "TaskAvailabilityLifetimeInSeconds": "864000"
    })
}

fn envelope(kind: &str, url: &str, request_id: &str, props: Value) -> Value {
    json!({
        "RequestType": kind,
        "ServiceToken": "arn:aws:lambda:us-east-1:111122223333:function:a2i-review-FlowResourceFunction",
        "ResponseURL": url,
        "StackId": STACK,
        "RequestId": request_id,
        "LogicalResourceId": LOGICAL,
        "ResourceType": "Custom::A2IFlow",
        "ResourceProperties": props
    })
}

fn create(url: &str, props: Value) -> Value {
    envelope("Create", url, "11111111-aaaa-4bbb-8ccc-000000000001", props)
}

fn update(url: &str, physical: &str, props: Value, old: Value) -> Value {
    let mut e = envelope("Update", url, "11111111-aaaa-4bbb-8ccc-000000000002", props);
    e["PhysicalResourceId"] = json!(physical);
    e["OldResourceProperties"] = old;
    e
}

fn delete(url: &str, physical: &str, props: Value) -> Value {
    let mut e = envelope("Delete", url, "11111111-aaaa-4bbb-8ccc-000000000003", props);
    e["PhysicalResourceId"] = json!(physical);
    e
}

/// The name the resource gives the task UI and flow definition for `template`'s properties.
fn name_for(template: &str) -> String {
    let spec = a2i_review::provision::FlowSpec::from_properties(&properties(template)).unwrap();
    spec.resource_name(STACK, LOGICAL)
}

fn flow_arn(name: &str) -> String {
    format!("{REGION_ACCOUNT}:flow-definition/{name}")
}

fn ui_arn(name: &str) -> String {
    format!("{REGION_ACCOUNT}:human-task-ui/{name}")
}

// ------------------------------------------------------------------------------------------
// SageMaker, mocked: every call must come in the order a test lists.
// ------------------------------------------------------------------------------------------

/// An error as SageMaker's awsJson1_1 protocol sends it.
fn wire_error(shape: &str, message: &str) -> HttpResponse {
    let mut r = HttpResponse::new(
        StatusCode::try_from(400).unwrap(),
        SdkBody::from(json!({"__type": shape, "Message": message}).to_string()),
    );
    r.headers_mut().insert("x-amzn-errortype", shape.to_owned());
    r.headers_mut()
        .insert("content-type", "application/x-amz-json-1.1");
    r
}

/// A SageMaker client answered by `rules` (what `mock_client!` builds, without the SDK's
/// `test-util` feature: the SageMaker SDK is large, and one build of it is enough).
fn mocked(mode: RuleMode, rules: &[&Rule]) -> SageMaker {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(mode);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(aws_sdk_sagemaker::config::BehaviorVersion::latest())
        .region(aws_sdk_sagemaker::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sagemaker::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .retry_config(RetryConfig::disabled())
        .build();
    SageMaker::from_conf(config)
}

fn sagemaker(rules: &[&Rule]) -> SageMaker {
    mocked(RuleMode::Sequential, rules)
}

fn provisioner(rules: &[&Rule]) -> Provisioner {
    Provisioner::new(
        sagemaker(rules),
        Timing {
            poll_interval: Duration::from_millis(5),
            max_wait: Duration::from_millis(200),
            reserve: Duration::from_millis(500),
        },
    )
}

fn in_a_minute() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

fn create_ui(name: &str, template: WorkerTemplate) -> Rule {
    let (expected, arn) = (name.to_owned(), ui_arn(name));
    mock!(SageMaker::create_human_task_ui)
        .match_requests(move |r| {
            assert_eq!(r.human_task_ui_name(), Some(expected.as_str()));
            assert_eq!(
                r.ui_template().and_then(|t| t.content()),
                Some(template.content()),
                "the shipped template, verbatim"
            );
            true
        })
        .then_output(move || {
            CreateHumanTaskUiOutput::builder()
                .human_task_ui_arn(arn.clone())
                .build()
        })
}

fn create_ui_in_use() -> Rule {
    mock!(SageMaker::create_human_task_ui)
        .then_http_response(|| wire_error("ResourceInUse", "Human task UI already exists"))
}

fn describe_ui(name: &str, content: &str) -> Rule {
    let (expected, arn) = (name.to_owned(), ui_arn(name));
    let digest = hex::encode(Sha256::digest(content.as_bytes()));
    mock!(SageMaker::describe_human_task_ui)
        .match_requests(move |r| r.human_task_ui_name() == Some(expected.as_str()))
        .then_output(move || {
            DescribeHumanTaskUiOutput::builder()
                .human_task_ui_arn(arn.clone())
                .human_task_ui_name("x")
                .creation_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                .ui_template(
                    UiTemplateInfo::builder()
                        .url("https://example.invalid/t")
                        .content_sha256(digest.clone())
                        .build(),
                )
                .build()
        })
}

fn create_flow(name: &str) -> Rule {
    let (expected, ui, arn) = (name.to_owned(), ui_arn(name), flow_arn(name));
    mock!(SageMaker::create_flow_definition)
        .match_requests(move |r| {
            assert_eq!(r.flow_definition_name(), Some(expected.as_str()));
            assert_eq!(r.role_arn(), Some(ROLE));
            let out = r.output_config().unwrap();
            assert_eq!(out.s3_output_path(), Some(OUTPUT));
            assert_eq!(out.kms_key_id(), None, "an empty KmsKeyId sends none");
            let c = r.human_loop_config().unwrap();
            assert_eq!(c.workteam_arn(), Some(WORKTEAM));
            assert_eq!(c.human_task_ui_arn(), Some(ui.as_str()));
            assert_eq!(
                c.task_title(),
                Some("Review an item the model is unsure about")
            );
            assert_eq!(
                c.task_description(),
                Some("Check why the item was flagged and give your decision.")
            );
            assert_eq!(c.task_count(), Some(2));
            assert_eq!(c.task_time_limit_in_seconds(), Some(3600));
            assert_eq!(c.task_availability_lifetime_in_seconds(), Some(864000));
            assert_eq!(c.task_keywords(), ["review", "ml"]);
            assert!(r.human_loop_activation_config().is_none());
            assert!(r.human_loop_request_source().is_none());
            true
        })
        .then_output(move || {
            CreateFlowDefinitionOutput::builder()
                .flow_definition_arn(arn.clone())
                .build()
        })
}

fn create_flow_in_use() -> Rule {
    mock!(SageMaker::create_flow_definition)
        .then_http_response(|| wire_error("ResourceInUse", "Flow definition already exists"))
}

/// DescribeFlowDefinition of `name` as SageMaker answers for what [`create_flow`] asked for,
/// with `status` and the work team `workteam`.
fn describe_flow(name: &str, status: FlowDefinitionStatus, workteam: &str) -> Rule {
    describe_flow_with(name, status, workteam, None, None)
}

/// [`describe_flow`] of a flow with a request source and activation conditions.
fn describe_flow_with(
    name: &str,
    status: FlowDefinitionStatus,
    workteam: &str,
    source: Option<&str>,
    conditions: Option<&str>,
) -> Rule {
    let (expected, ui, arn, workteam) = (
        name.to_owned(),
        ui_arn(name),
        flow_arn(name),
        workteam.to_owned(),
    );
    let source = source.map(|s| {
        HumanLoopRequestSource::builder()
            .aws_managed_human_loop_request_source(AwsManagedHumanLoopRequestSource::from(s))
            .build()
    });
    let activation = conditions.map(|c| {
        HumanLoopActivationConfig::builder()
            .human_loop_activation_conditions_config(
                HumanLoopActivationConditionsConfig::builder()
                    .human_loop_activation_conditions(c)
                    .build(),
            )
            .build()
    });
    mock!(SageMaker::describe_flow_definition)
        .match_requests(move |r| r.flow_definition_name() == Some(expected.as_str()))
        .then_output(move || {
            DescribeFlowDefinitionOutput::builder()
                .set_human_loop_request_source(source.clone())
                .set_human_loop_activation_config(activation.clone())
                .flow_definition_arn(arn.clone())
                .flow_definition_name("x")
                .flow_definition_status(status.clone())
                .creation_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                .role_arn(ROLE)
                .output_config(
                    FlowDefinitionOutputConfig::builder()
                        // SageMaker may drop the trailing slash: still the same flow.
                        .s3_output_path(OUTPUT.trim_end_matches('/'))
                        .build(),
                )
                .human_loop_config(
                    HumanLoopConfig::builder()
                        .workteam_arn(workteam.clone())
                        .human_task_ui_arn(ui.clone())
                        .task_title("Review an item the model is unsure about")
                        .task_description("Check why the item was flagged and give your decision.")
                        .task_count(2)
                        .task_time_limit_in_seconds(3600)
                        .task_availability_lifetime_in_seconds(864000)
                        .task_keywords("ml")
                        .task_keywords("review")
                        .build(),
                )
                .build()
        })
}

fn flow_not_found(name: &str) -> Rule {
    let expected = name.to_owned();
    mock!(SageMaker::describe_flow_definition)
        .match_requests(move |r| r.flow_definition_name() == Some(expected.as_str()))
        .then_http_response(|| wire_error("ResourceNotFound", "Flow definition not found"))
}

fn delete_flow(name: &str) -> Rule {
    let expected = name.to_owned();
    mock!(SageMaker::delete_flow_definition)
        .match_requests(move |r| r.flow_definition_name() == Some(expected.as_str()))
        .then_output(|| DeleteFlowDefinitionOutput::builder().build())
}

fn delete_flow_missing(name: &str) -> Rule {
    let expected = name.to_owned();
    mock!(SageMaker::delete_flow_definition)
        .match_requests(move |r| r.flow_definition_name() == Some(expected.as_str()))
        .then_http_response(|| wire_error("ResourceNotFound", "Flow definition not found"))
}

fn delete_ui(name: &str) -> Rule {
    let expected = name.to_owned();
    mock!(SageMaker::delete_human_task_ui)
        .match_requests(move |r| r.human_task_ui_name() == Some(expected.as_str()))
        .then_output(|| DeleteHumanTaskUiOutput::builder().build())
}

fn delete_ui_missing(name: &str) -> Rule {
    let expected = name.to_owned();
    mock!(SageMaker::delete_human_task_ui)
        .match_requests(move |r| r.human_task_ui_name() == Some(expected.as_str()))
        .then_http_response(|| wire_error("ResourceNotFound", "Human task UI not found"))
}

fn used(rules: &[&Rule]) {
    for (i, r) in rules.iter().enumerate() {
        assert_eq!(
            r.num_calls(),
            1,
            "rule {i} was called {} times",
            r.num_calls()
        );
    }
}

/// The exact answer for a successful Create or Update of `name`.
fn success(request_id: &str, name: &str, reason: &str) -> Value {
    json!({
        "Status": "SUCCESS",
        "Reason": reason,
        "PhysicalResourceId": flow_arn(name),
        "StackId": STACK,
        "RequestId": request_id,
        "LogicalResourceId": LOGICAL,
        "NoEcho": false,
        "Data": {
            "FlowDefinitionArn": flow_arn(name),
            "HumanTaskUiArn": ui_arn(name),
            "FlowDefinitionName": name,
            "HumanTaskUiName": name
        }
    })
}

// ------------------------------------------------------------------------------------------
// Create
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_makes_the_task_ui_then_the_flow_and_answers_both_arns() {
    let url = ResponseUrl::start(200).await;
    let name = name_for("generic");
    assert!(
        name.starts_with("a2i-review-") && name.len() == 27,
        "{name}"
    );
    let rules = [
        create_ui(&name, WorkerTemplate::Generic),
        create_flow(&name),
        describe_flow(&name, FlowDefinitionStatus::Active, WORKTEAM),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    let sent = provisioner(&refs)
        .answer(create(&url.url, properties("generic")), in_a_minute())
        .await
        .unwrap();
    used(&refs);
    let expected = success(
        "11111111-aaaa-4bbb-8ccc-000000000001",
        &name,
        &format!("flow definition and task UI {name} ready (shipped template \"generic\")"),
    );
    assert_eq!(url.only_answer(), expected);
    assert_eq!(serde_json::to_value(&sent).unwrap(), expected);
}

#[tokio::test]
async fn a_new_flow_is_awaited_until_active() {
    let url = ResponseUrl::start(200).await;
    let name = name_for("forms");
    let rules = [
        create_ui(&name, WorkerTemplate::Forms),
        create_flow(&name),
        describe_flow(&name, FlowDefinitionStatus::Initializing, WORKTEAM),
        describe_flow(&name, FlowDefinitionStatus::Initializing, WORKTEAM),
        describe_flow(&name, FlowDefinitionStatus::Active, WORKTEAM),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    provisioner(&refs)
        .answer(create(&url.url, properties("forms")), in_a_minute())
        .await
        .unwrap();
    used(&refs);
    assert_eq!(url.only_answer()["Status"], "SUCCESS");
}

#[tokio::test]
async fn a_retried_create_finds_its_own_resources_and_answers_the_same() {
    let url = ResponseUrl::start(200).await;
    let name = name_for("generic");
    let rules = [
        create_ui_in_use(),
        describe_ui(&name, WorkerTemplate::Generic.content()),
        create_flow_in_use(),
        describe_flow(&name, FlowDefinitionStatus::Active, WORKTEAM),
        describe_flow(&name, FlowDefinitionStatus::Active, WORKTEAM),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    provisioner(&refs)
        .answer(create(&url.url, properties("generic")), in_a_minute())
        .await
        .unwrap();
    used(&refs);
    assert_eq!(
        url.only_answer(),
        success(
            "11111111-aaaa-4bbb-8ccc-000000000001",
            &name,
            &format!("flow definition and task UI {name} ready (shipped template \"generic\")"),
        )
    );
}

#[tokio::test]
async fn a_name_held_by_a_task_ui_with_other_content_fails_and_is_left_alone() {
    let url = ResponseUrl::start(200).await;
    let name = name_for("generic");
    // Sequential mocks: any call after the Describe (such as a delete) would panic the test.
    let rules = [
        create_ui_in_use(),
        describe_ui(&name, "<p>someone else's</p>"),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    provisioner(&refs)
        .answer(create(&url.url, properties("generic")), in_a_minute())
        .await
        .unwrap();
    used(&refs);
    assert_eq!(
        url.only_answer(),
        json!({
            "Status": "FAILED",
            "Reason": format!("task UI {name} already exists with other content; it was not made by this resource for these properties, so it is left alone"),
            "PhysicalResourceId": "a2i-flow-create-failed-11111111-aaaa-4bbb-8ccc-000000000001",
            "StackId": STACK,
            "RequestId": "11111111-aaaa-4bbb-8ccc-000000000001",
            "LogicalResourceId": LOGICAL,
            "NoEcho": false,
            "Data": {}
        })
    );
}

#[tokio::test]
async fn a_flow_with_another_work_team_under_the_name_fails_naming_the_field() {
    let url = ResponseUrl::start(200).await;
    let name = name_for("generic");
    let other = "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/other";
    let rules = [
        create_ui(&name, WorkerTemplate::Generic),
        create_flow_in_use(),
        describe_flow(&name, FlowDefinitionStatus::Active, other),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    provisioner(&refs)
        .answer(create(&url.url, properties("generic")), in_a_minute())
        .await
        .unwrap();
    used(&refs);
    let answer = url.only_answer();
    assert_eq!(answer["Status"], "FAILED");
    assert_eq!(
        answer["Reason"],
        format!("flow definition {name} already exists with another WorkteamArn; it was not made by this resource for these properties, so it is left alone")
    );
}

#[tokio::test]
async fn a_malformed_work_team_arn_fails_with_sagemakers_reason_and_undoes_the_task_ui() {
    let url = ResponseUrl::start(200).await;
    let mut props = properties("moderation");
    props["WorkteamArn"] =
        json!("arn:aws:sagemaker:us-east-1:111122223333:flow-definition/not-a-team");
    let spec = a2i_review::provision::FlowSpec::from_properties(&props).unwrap();
    let name = spec.resource_name(STACK, LOGICAL);
    let refused = mock!(SageMaker::create_flow_definition).then_http_response(|| {
        wire_error(
            "ValidationException",
            "1 validation error detected: Value 'arn:aws:sagemaker:us-east-1:111122223333:flow-definition/not-a-team' at 'humanLoopConfig.workteamArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:workteam/.*",
        )
    });
    let rules = [
        create_ui(&name, WorkerTemplate::Moderation),
        refused,
        // The undo: no flow was made, the task UI goes.
        delete_flow_missing(&name),
        delete_ui(&name),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    provisioner(&refs)
        .answer(create(&url.url, props), in_a_minute())
        .await
        .unwrap();
    used(&refs);
    assert_eq!(
        url.only_answer(),
        json!({
            "Status": "FAILED",
            "Reason": "CreateFlowDefinition failed with ValidationException (HTTP 400): 1 validation error detected: Value (withheld) at 'humanLoopConfig.workteamArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:workteam/.*",
            "PhysicalResourceId": "a2i-flow-create-failed-11111111-aaaa-4bbb-8ccc-000000000001",
            "StackId": STACK,
            "RequestId": "11111111-aaaa-4bbb-8ccc-000000000001",
            "LogicalResourceId": LOGICAL,
            "NoEcho": false,
            "Data": {}
        })
    );
}

#[tokio::test]
async fn bad_properties_fail_before_any_call_naming_the_property() {
    let url = ResponseUrl::start(200).await;
    let mut props = properties("generic");
    props["TaskCount"] = json!("5");
    provisioner(&[])
        .answer(create(&url.url, props), in_a_minute())
        .await
        .unwrap();
    let answer = url.only_answer();
    assert_eq!(answer["Status"], "FAILED");
    assert_eq!(
        answer["Reason"],
        "property TaskCount must be 1, 2 or 3, not 5"
    );
}

#[tokio::test]
async fn a_failed_task_ui_create_never_quotes_the_template() {
    let url = ResponseUrl::start(200).await;
    let secret =
        "<crowd-form><p>{{ task.input.patientName }} has a secret diagnosis</p></crowd-form>";
    let mut props = properties("generic");
    props.as_object_mut().unwrap().remove("WorkerTemplate");
    props["UiTemplateContent"] = json!(secret);
    let spec = a2i_review::provision::FlowSpec::from_properties(&props).unwrap();
    let name = spec.resource_name(STACK, LOGICAL);
    // A message cut inside the quoted value: CallError's `Value '…' at` rule cannot see it.
    let refused = mock!(SageMaker::create_human_task_ui).then_http_response(move || {
        wire_error(
            "ValidationException",
            &format!("Template rejected near '{}", &secret[..60]),
        )
    });
    let rules = [
        refused,
        delete_flow_missing(&name),
        delete_ui_missing(&name),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    provisioner(&refs)
        .answer(create(&url.url, props), in_a_minute())
        .await
        .unwrap();
    used(&refs);
    let answer = url.only_answer();
    assert_eq!(
        answer["Reason"],
        "CreateHumanTaskUi failed with ValidationException (HTTP 400): (message withheld: it quotes the template)"
    );
    assert!(!answer.to_string().contains("patientName"));
}

// ------------------------------------------------------------------------------------------
// Update: replacement
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_update_with_another_template_makes_new_resources_and_the_old_go_on_delete() {
    let url = ResponseUrl::start(200).await;
    let old = name_for("generic");
    let new = name_for("predictions");
    assert_ne!(old, new);
    let rules = [
        create_ui(&new, WorkerTemplate::Predictions),
        create_flow(&new),
        describe_flow(&new, FlowDefinitionStatus::Active, WORKTEAM),
        // CloudFormation's Delete of the old physical id, after the update.
        delete_flow(&old),
        describe_flow(&old, FlowDefinitionStatus::Deleting, WORKTEAM),
        flow_not_found(&old),
        delete_ui(&old),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    let p = provisioner(&refs);
    p.answer(
        update(
            &url.url,
            &flow_arn(&old),
            properties("predictions"),
            properties("generic"),
        ),
        in_a_minute(),
    )
    .await
    .unwrap();
    let answer = url.only_answer();
    assert_eq!(
        answer,
        success(
            "11111111-aaaa-4bbb-8ccc-000000000002",
            &new,
            &format!("flow definition and task UI {new} ready (shipped template \"predictions\")"),
        )
    );
    assert_ne!(
        answer["PhysicalResourceId"],
        json!(flow_arn(&old)),
        "a replacement"
    );

    let url = ResponseUrl::start(200).await;
    p.answer(
        delete(&url.url, &flow_arn(&old), properties("generic")),
        in_a_minute(),
    )
    .await
    .unwrap();
    used(&refs);
    assert_eq!(
        url.only_answer(),
        json!({
            "Status": "SUCCESS",
            "Reason": format!("deleted flow definition and task UI {old} (or they were already gone)"),
            "PhysicalResourceId": flow_arn(&old),
            "StackId": STACK,
            "RequestId": "11111111-aaaa-4bbb-8ccc-000000000003",
            "LogicalResourceId": LOGICAL,
            "NoEcho": false,
            "Data": {}
        })
    );
}

#[tokio::test]
async fn an_update_that_changes_nothing_keeps_the_physical_id() {
    let url = ResponseUrl::start(200).await;
    let name = name_for("generic");
    let mut props = properties("generic");
    // CloudFormation's own properties do not make new resources.
    props["ServiceTimeout"] = json!("600");
    let rules = [
        create_ui_in_use(),
        describe_ui(&name, WorkerTemplate::Generic.content()),
        create_flow_in_use(),
        describe_flow(&name, FlowDefinitionStatus::Active, WORKTEAM),
        describe_flow(&name, FlowDefinitionStatus::Active, WORKTEAM),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    provisioner(&refs)
        .answer(
            update(&url.url, &flow_arn(&name), props, properties("generic")),
            in_a_minute(),
        )
        .await
        .unwrap();
    used(&refs);
    assert_eq!(
        url.only_answer(),
        success(
            "11111111-aaaa-4bbb-8ccc-000000000002",
            &name,
            &format!("flow definition and task UI {name} unchanged"),
        )
    );
}

#[tokio::test]
async fn a_failed_update_keeps_the_old_physical_id_and_removes_only_the_new_name() {
    let url = ResponseUrl::start(200).await;
    let old = name_for("generic");
    let new = name_for("forms");
    let refused = mock!(SageMaker::create_flow_definition)
        .then_http_response(|| wire_error("ResourceLimitExceeded", "Too many flow definitions"));
    let rules = [
        create_ui(&new, WorkerTemplate::Forms),
        refused,
        delete_flow_missing(&new),
        delete_ui(&new),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    provisioner(&refs)
        .answer(
            update(
                &url.url,
                &flow_arn(&old),
                properties("forms"),
                properties("generic"),
            ),
            in_a_minute(),
        )
        .await
        .unwrap();
    used(&refs);
    let answer = url.only_answer();
    assert_eq!(answer["Status"], "FAILED");
    assert_eq!(answer["PhysicalResourceId"], json!(flow_arn(&old)));
    assert_eq!(
        answer["Reason"],
        "CreateFlowDefinition failed with ResourceLimitExceeded (HTTP 400): Too many flow definitions"
    );
}

// ------------------------------------------------------------------------------------------
// Delete
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_removes_the_flow_waits_until_it_is_gone_then_removes_the_task_ui() {
    let url = ResponseUrl::start(200).await;
    let name = name_for("generic");
    let rules = [
        delete_flow(&name),
        describe_flow(&name, FlowDefinitionStatus::Deleting, WORKTEAM),
        describe_flow(&name, FlowDefinitionStatus::Deleting, WORKTEAM),
        flow_not_found(&name),
        delete_ui(&name),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    provisioner(&refs)
        .answer(
            delete(&url.url, &flow_arn(&name), properties("generic")),
            in_a_minute(),
        )
        .await
        .unwrap();
    used(&refs);
    assert_eq!(url.only_answer()["Status"], "SUCCESS");
}

#[tokio::test]
async fn deleting_what_is_already_gone_succeeds() {
    let url = ResponseUrl::start(200).await;
    let name = name_for("generic");
    let rules = [delete_flow_missing(&name), delete_ui_missing(&name)];
    let refs: Vec<&Rule> = rules.iter().collect();
    provisioner(&refs)
        .answer(
            delete(&url.url, &flow_arn(&name), properties("generic")),
            in_a_minute(),
        )
        .await
        .unwrap();
    used(&refs);
    assert_eq!(
        url.only_answer(),
        json!({
            "Status": "SUCCESS",
            "Reason": format!("deleted flow definition and task UI {name} (or they were already gone)"),
            "PhysicalResourceId": flow_arn(&name),
            "StackId": STACK,
            "RequestId": "11111111-aaaa-4bbb-8ccc-000000000003",
            "LogicalResourceId": LOGICAL,
            "NoEcho": false,
            "Data": {}
        })
    );
}

#[tokio::test]
async fn deleting_a_create_that_failed_succeeds_without_a_call() {
    let url = ResponseUrl::start(200).await;
    // No rules: any SageMaker call would panic.
    provisioner(&[])
        .answer(
            delete(
                &url.url,
                "a2i-flow-create-failed-11111111-aaaa-4bbb-8ccc-000000000001",
                properties("generic"),
            ),
            in_a_minute(),
        )
        .await
        .unwrap();
    assert_eq!(
        url.only_answer(),
        json!({
            "Status": "SUCCESS",
            "Reason": "nothing to delete: the resource was never created",
            "PhysicalResourceId": "a2i-flow-create-failed-11111111-aaaa-4bbb-8ccc-000000000001",
            "StackId": STACK,
            "RequestId": "11111111-aaaa-4bbb-8ccc-000000000003",
            "LogicalResourceId": LOGICAL,
            "NoEcho": false,
            "Data": {}
        })
    );
}

#[tokio::test]
async fn a_flow_that_stays_deleting_fails_the_delete_and_keeps_its_task_ui() {
    let url = ResponseUrl::start(200).await;
    let name = name_for("generic");
    // Deleting for longer than max_wait (200 ms at 5 ms polls); no DeleteHumanTaskUi.
    let deleting = mock!(SageMaker::describe_flow_definition)
        .sequence()
        .output({
            let (arn, ui) = (flow_arn(&name), ui_arn(&name));
            move || {
                DescribeFlowDefinitionOutput::builder()
                    .flow_definition_arn(arn.clone())
                    .flow_definition_name("x")
                    .flow_definition_status(FlowDefinitionStatus::Deleting)
                    .creation_time(aws_smithy_types::DateTime::from_secs(0))
                    .role_arn(ROLE)
                    .output_config(
                        FlowDefinitionOutputConfig::builder()
                            .s3_output_path(OUTPUT)
                            .build(),
                    )
                    .human_loop_config(
                        HumanLoopConfig::builder()
                            .human_task_ui_arn(ui.clone())
                            .build(),
                    )
                    .build()
            }
        })
        .repeatedly()
        .build();
    let rules = [delete_flow(&name), deleting];
    let refs: Vec<&Rule> = rules.iter().collect();
    let started = Instant::now();
    provisioner(&refs)
        .answer(
            delete(&url.url, &flow_arn(&name), properties("generic")),
            in_a_minute(),
        )
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "bounded wait");
    assert!(rules[1].num_calls() >= 2);
    let answer = url.only_answer();
    assert_eq!(answer["Status"], "FAILED");
    assert_eq!(
        answer["Reason"],
        format!("flow definition {name} is still Deleting 200 ms after DeleteFlowDefinition; its task UI is kept until it is gone (workers may still hold tasks); retry the delete later")
    );
}

// ------------------------------------------------------------------------------------------
// Always an answer
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn work_that_would_overrun_the_deadline_is_answered_failed_in_time() {
    let url = ResponseUrl::start(200).await;
    let name = name_for("generic");
    // SageMaker never finishes initializing the flow.
    let initializing = mock!(SageMaker::describe_flow_definition)
        .sequence()
        .output({
            let (arn, ui) = (flow_arn(&name), ui_arn(&name));
            move || {
                DescribeFlowDefinitionOutput::builder()
                    .flow_definition_arn(arn.clone())
                    .flow_definition_name("x")
                    .flow_definition_status(FlowDefinitionStatus::Initializing)
                    .creation_time(aws_smithy_types::DateTime::from_secs(0))
                    .role_arn(ROLE)
                    .output_config(
                        FlowDefinitionOutputConfig::builder()
                            .s3_output_path(OUTPUT)
                            .build(),
                    )
                    .human_loop_config(
                        HumanLoopConfig::builder()
                            .human_task_ui_arn(ui.clone())
                            .build(),
                    )
                    .build()
            }
        })
        .repeatedly()
        .build();
    let undo_flow = mock!(SageMaker::delete_flow_definition)
        .then_output(|| DeleteFlowDefinitionOutput::builder().build());
    let rules = [
        create_ui(&name, WorkerTemplate::Generic),
        create_flow(&name),
        initializing,
    ];
    let refs: Vec<&Rule> = rules.iter().chain([&undo_flow]).collect();
    // Any order: the undo's polls see the same never-ending Initializing.
    let client = mocked(RuleMode::MatchAny, &refs);
    let p = Provisioner::new(
        client,
        Timing {
            poll_interval: Duration::from_millis(20),
            max_wait: Duration::from_secs(60),
            reserve: Duration::from_millis(800),
        },
    );
    let started = Instant::now();
    // The invocation has 2 s left: the work must stop at 1.2 s, the undo by 1.8 s, and the
    // answer go out before the deadline.
    p.answer(
        create(&url.url, properties("generic")),
        Instant::now() + Duration::from_secs(2),
    )
    .await
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() >= Duration::from_millis(1200),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(undo_flow.num_calls(), 1, "the undo started");
    let answer = url.only_answer();
    assert_eq!(answer["Status"], "FAILED");
    assert_eq!(
        answer["Reason"],
        format!("ran out of time creating {name}: the function's timeout leaves too little room; SageMaker may still be working, retry the stack operation")
    );
}

#[tokio::test]
async fn a_malformed_request_is_answered_failed_and_one_without_a_url_is_an_error() {
    let url = ResponseUrl::start(200).await;
    let mut event = create(&url.url, properties("generic"));
    event["RequestType"] = json!("Replace");
    provisioner(&[]).answer(event, in_a_minute()).await.unwrap();
    let answer = url.only_answer();
    assert_eq!(answer["Status"], "FAILED");
    assert_eq!(
        answer["PhysicalResourceId"],
        "a2i-flow-create-failed-11111111-aaaa-4bbb-8ccc-000000000001"
    );
    assert!(
        answer["Reason"]
            .as_str()
            .unwrap()
            .starts_with("malformed custom-resource request: unknown variant `Replace`"),
        "{answer}"
    );

    let err = provisioner(&[])
        .answer(json!({"RequestType": "Create"}), in_a_minute())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the event is not a CloudFormation custom-resource request (no ResponseURL)"
    );
}

#[tokio::test]
async fn an_answer_the_url_refuses_is_an_error_so_lambda_retries() {
    let url = ResponseUrl::start(403).await;
    let err = provisioner(&[])
        .answer(
            delete(&url.url, "a2i-flow-create-failed-x", properties("generic")),
            in_a_minute(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "PUT to the ResponseURL failed after 1 attempts: HTTP 403"
    );
    assert_eq!(url.received().len(), 1, "a 4xx is not retried");
}

#[tokio::test]
async fn a_server_error_at_the_url_is_retried() {
    let url = ResponseUrl::start(503).await;
    let err = provisioner(&[])
        .answer(
            delete(&url.url, "a2i-flow-create-failed-x", properties("generic")),
            in_a_minute(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "PUT to the ResponseURL failed after 3 attempts: HTTP 503"
    );
    assert_eq!(url.received().len(), 3);
}

#[test]
fn the_sample_events_parse_and_name_a_shipped_template() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/events");
    let mut seen = HashMap::new();
    for kind in ["create", "update", "delete"] {
        let text = std::fs::read_to_string(format!("{dir}/cfn-{kind}.json")).unwrap();
        let event: Value = serde_json::from_str(&text).unwrap();
        let spec = a2i_review::provision::FlowSpec::from_properties(&event["ResourceProperties"])
            .unwrap_or_else(|e| panic!("cfn-{kind}.json: {e}"));
        seen.insert(kind, spec);
    }
    assert_ne!(
        seen["create"], seen["update"],
        "the update changes the template"
    );
}

// ------------------------------------------------------------------------------------------
// Built-in task types: the request source and the activation conditions
// ------------------------------------------------------------------------------------------

const TEXTRACT_SOURCE: &str = "AWS/Textract/AnalyzeDocument/Forms/V1";
const REKOGNITION_SOURCE: &str = "AWS/Rekognition/DetectModerationLabels/Image/V3";
const FORM_CONDITIONS: &str = r#"{"Conditions":[{"ConditionType":"ImportantFormKeyConfidenceCheck","ConditionParameters":{"ImportantFormKey":"Policy number","KeyValueBlockConfidenceLessThan":80}}]}"#;
const LABEL_CONDITIONS: &str = r#"{"Conditions":[{"ConditionType":"ModerationLabelConfidenceCheck","ConditionParameters":{"ModerationLabelName":"*","ConfidenceGreaterThanEquals":60}}]}"#;

/// The properties the template sends for a built-in `task_type`.
fn builtin_properties(task_type: &str, conditions: Option<&str>) -> Value {
    let mut p = properties(&format!("builtin-{task_type}"));
    p["TaskType"] = json!(task_type);
    p["ActivationConditions"] = json!(conditions.unwrap_or(""));
    p
}

fn name_of(props: &Value) -> String {
    a2i_review::provision::FlowSpec::from_properties(props)
        .unwrap()
        .resource_name(STACK, LOGICAL)
}

/// CreateFlowDefinition of a built-in flow: [`create_flow`]'s checks of the common members,
/// plus exactly this request source and these conditions.
fn create_builtin_flow(name: &str, source: &'static str, conditions: Option<&'static str>) -> Rule {
    let (expected, ui, arn) = (name.to_owned(), ui_arn(name), flow_arn(name));
    mock!(SageMaker::create_flow_definition)
        .match_requests(move |r| {
            assert_eq!(r.flow_definition_name(), Some(expected.as_str()));
            assert_eq!(r.role_arn(), Some(ROLE));
            let c = r.human_loop_config().unwrap();
            assert_eq!(c.workteam_arn(), Some(WORKTEAM));
            assert_eq!(c.human_task_ui_arn(), Some(ui.as_str()));
            assert_eq!(c.task_count(), Some(2));
            assert_eq!(
                r.human_loop_request_source()
                    .and_then(|s| s.aws_managed_human_loop_request_source())
                    .map(|s| s.as_str()),
                Some(source)
            );
            assert_eq!(
                r.human_loop_activation_config()
                    .and_then(|a| a.human_loop_activation_conditions_config())
                    .and_then(|c| c.human_loop_activation_conditions()),
                conditions,
                "the conditions verbatim, or no activation config at all"
            );
            if conditions.is_none() {
                assert!(r.human_loop_activation_config().is_none());
            }
            true
        })
        .then_output(move || {
            CreateFlowDefinitionOutput::builder()
                .flow_definition_arn(arn.clone())
                .build()
        })
}

#[tokio::test]
async fn a_textract_flow_is_created_with_its_request_source_conditions_and_built_in_template() {
    let url = ResponseUrl::start(200).await;
    let props = builtin_properties("textract-forms", Some(FORM_CONDITIONS));
    let name = name_of(&props);
    let rules = [
        create_ui(&name, WorkerTemplate::BuiltinTextractForms),
        create_builtin_flow(&name, TEXTRACT_SOURCE, Some(FORM_CONDITIONS)),
        describe_flow_with(
            &name,
            FlowDefinitionStatus::Active,
            WORKTEAM,
            Some(TEXTRACT_SOURCE),
            Some(FORM_CONDITIONS),
        ),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    provisioner(&refs)
        .answer(create(&url.url, props), in_a_minute())
        .await
        .unwrap();
    used(&refs);
    assert_eq!(
        url.only_answer(),
        success(
            "11111111-aaaa-4bbb-8ccc-000000000001",
            &name,
            &format!(
                "flow definition and task UI {name} ready (shipped template \"builtin-textract-forms\")"
            ),
        )
    );
}

#[tokio::test]
async fn a_rekognition_flow_without_conditions_sends_no_activation_config() {
    let url = ResponseUrl::start(200).await;
    let props = builtin_properties("rekognition-moderation", None);
    let name = name_of(&props);
    let rules = [
        create_ui(&name, WorkerTemplate::BuiltinRekognitionModeration),
        create_builtin_flow(&name, REKOGNITION_SOURCE, None),
        describe_flow_with(
            &name,
            FlowDefinitionStatus::Active,
            WORKTEAM,
            Some(REKOGNITION_SOURCE),
            None,
        ),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    provisioner(&refs)
        .answer(create(&url.url, props), in_a_minute())
        .await
        .unwrap();
    used(&refs);
    assert_eq!(url.only_answer()["Status"], "SUCCESS");
}

#[tokio::test]
async fn a_retried_built_in_create_accepts_respaced_conditions_and_refuses_another_source() {
    let props = builtin_properties("rekognition-moderation", Some(LABEL_CONDITIONS));
    let name = name_of(&props);
    let content = WorkerTemplate::BuiltinRekognitionModeration.content();

    // SageMaker may keep the conditions' JSON with other spacing: still ours.
    let respaced = LABEL_CONDITIONS.replace(',', ", ");
    let url = ResponseUrl::start(200).await;
    let rules = [
        create_ui_in_use(),
        describe_ui(&name, content),
        create_flow_in_use(),
        describe_flow_with(
            &name,
            FlowDefinitionStatus::Active,
            WORKTEAM,
            Some(REKOGNITION_SOURCE),
            Some(&respaced),
        ),
        describe_flow_with(
            &name,
            FlowDefinitionStatus::Active,
            WORKTEAM,
            Some(REKOGNITION_SOURCE),
            Some(&respaced),
        ),
    ];
    let refs: Vec<&Rule> = rules.iter().collect();
    provisioner(&refs)
        .answer(create(&url.url, props.clone()), in_a_minute())
        .await
        .unwrap();
    used(&refs);
    assert_eq!(url.only_answer()["Status"], "SUCCESS");

    // The same name with another request source, or other conditions: not ours, left alone.
    for (source, conditions, field) in [
        (
            Some(TEXTRACT_SOURCE),
            Some(LABEL_CONDITIONS),
            "HumanLoopRequestSource",
        ),
        (None, Some(LABEL_CONDITIONS), "HumanLoopRequestSource"),
        (
            Some(REKOGNITION_SOURCE),
            Some(r#"{"Conditions":[]}"#),
            "HumanLoopActivationConditions",
        ),
        (
            Some(REKOGNITION_SOURCE),
            None,
            "HumanLoopActivationConditions",
        ),
    ] {
        let url = ResponseUrl::start(200).await;
        let rules = [
            create_ui_in_use(),
            describe_ui(&name, content),
            create_flow_in_use(),
            describe_flow_with(
                &name,
                FlowDefinitionStatus::Active,
                WORKTEAM,
                source,
                conditions,
            ),
        ];
        let refs: Vec<&Rule> = rules.iter().collect();
        provisioner(&refs)
            .answer(create(&url.url, props.clone()), in_a_minute())
            .await
            .unwrap();
        used(&refs);
        let answer = url.only_answer();
        assert_eq!(answer["Status"], "FAILED");
        assert_eq!(
            answer["Reason"],
            format!("flow definition {name} already exists with another {field}; it was not made by this resource for these properties, so it is left alone")
        );
    }
}

#[tokio::test]
async fn an_update_of_the_conditions_or_the_task_type_replaces_the_flow_definition() {
    let before = builtin_properties("rekognition-moderation", Some(LABEL_CONDITIONS));
    let old = name_of(&before);
    let other_conditions = r#"{"Conditions":[{"ConditionType":"Sampling","ConditionParameters":{"RandomSamplingPercentage":10}}]}"#;
    let changes: [(Value, &'static str, Option<&'static str>, WorkerTemplate); 2] = [
        (
            builtin_properties("rekognition-moderation", Some(other_conditions)),
            REKOGNITION_SOURCE,
            Some(other_conditions),
            WorkerTemplate::BuiltinRekognitionModeration,
        ),
        (
            builtin_properties("textract-forms", Some(other_conditions)),
            TEXTRACT_SOURCE,
            Some(other_conditions),
            WorkerTemplate::BuiltinTextractForms,
        ),
    ];
    for (after, source, conditions, template) in changes {
        let new = name_of(&after);
        assert_ne!(old, new);
        let url = ResponseUrl::start(200).await;
        let rules = [
            create_ui(&new, template),
            create_builtin_flow(&new, source, conditions),
            describe_flow_with(
                &new,
                FlowDefinitionStatus::Active,
                WORKTEAM,
                Some(source),
                conditions,
            ),
        ];
        let refs: Vec<&Rule> = rules.iter().collect();
        provisioner(&refs)
            .answer(
                update(&url.url, &flow_arn(&old), after, before.clone()),
                in_a_minute(),
            )
            .await
            .unwrap();
        used(&refs);
        let answer = url.only_answer();
        assert_eq!(answer["Status"], "SUCCESS", "{answer}");
        assert_eq!(
            answer["PhysicalResourceId"],
            json!(flow_arn(&new)),
            "a new physical id: CloudFormation deletes the old flow definition"
        );
    }
}

#[tokio::test]
async fn conditions_or_templates_that_do_not_fit_the_task_type_fail_before_any_call() {
    let mut custom_with_conditions = properties("generic");
    custom_with_conditions["ActivationConditions"] = json!(LABEL_CONDITIONS);
    let mut wrong_template = builtin_properties("textract-forms", None);
    wrong_template["WorkerTemplate"] = json!("forms");
    let cases = [
        (
            custom_with_conditions,
            "property ActivationConditions is for the built-in task types only (TaskType textract-forms or rekognition-moderation): A2I refuses activation conditions on a flow definition without a request source; with TaskType custom the start function evaluates them",
        ),
        (
            builtin_properties("textract-forms", Some(LABEL_CONDITIONS)),
            "property ActivationConditions uses ConditionType ModerationLabelConfidenceCheck, which A2I does not evaluate for TaskType textract-forms; it takes ImportantFormKeyConfidenceCheck, MissingImportantFormKey, Sampling",
        ),
        (
            wrong_template,
            "WorkerTemplate forms is for TaskType custom, not textract-forms; TaskType textract-forms takes builtin-textract-forms (or UiTemplateContent)",
        ),
    ];
    for (props, reason) in cases {
        let url = ResponseUrl::start(200).await;
        // No mocked calls: any SageMaker call fails the request differently.
        provisioner(&[])
            .answer(create(&url.url, props), in_a_minute())
            .await
            .unwrap();
        let answer = url.only_answer();
        assert_eq!(answer["Status"], "FAILED");
        assert_eq!(answer["Reason"], reason);
        assert_eq!(
            answer["PhysicalResourceId"],
            "a2i-flow-create-failed-11111111-aaaa-4bbb-8ccc-000000000001"
        );
    }
}

/// The `AllowedValues` of a parameter in template.yaml, read line by line: the parameter's
/// block either lists them inline (`[a, b]`) or one `- value` per line.
fn allowed_values(template: &str, parameter: &str) -> Vec<String> {
    let header = format!("  {parameter}:");
    let mut lines = template
        .lines()
        .skip_while(|l| *l != header)
        .skip(1)
        .take_while(|l| l.starts_with("    "));
    let Some(line) = lines.find(|l| l.trim_start().starts_with("AllowedValues:")) else {
        panic!("{parameter} has no AllowedValues");
    };
    let rest = line
        .trim_start()
        .trim_start_matches("AllowedValues:")
        .trim();
    let unquote = |v: &str| v.trim().trim_matches('"').to_owned();
    if let Some(inline) = rest.strip_prefix('[') {
        return inline
            .trim_end_matches(']')
            .split(", ")
            .map(unquote)
            .collect();
    }
    lines
        .take_while(|l| l.trim_start().starts_with("- "))
        .map(|l| unquote(l.trim_start().trim_start_matches("- ")))
        .collect()
}

#[test]
fn the_templates_parameters_offer_exactly_what_the_resource_takes() {
    let template = include_str!("../template.yaml");
    assert_eq!(
        allowed_values(template, "WorkerTemplate"),
        WorkerTemplate::ALL.map(|t| t.name().to_owned())
    );
    assert_eq!(
        allowed_values(template, "TaskType"),
        a2i_review::builtin::TaskType::ALL.map(|t| t.as_str().to_owned())
    );
    // Every task type the template offers is one the resource accepts, with its template.
    for task_type in allowed_values(template, "TaskType") {
        let mut props = properties(
            if task_type == "custom" {
                "generic".to_owned()
            } else {
                format!("builtin-{task_type}")
            }
            .as_str(),
        );
        props["TaskType"] = json!(task_type);
        a2i_review::provision::FlowSpec::from_properties(&props)
            .unwrap_or_else(|e| panic!("{task_type}: {e}"));
    }
}

// ------------------------------------------------------------------------------------------
// End to end: the real SageMaker SDK over HTTP against a2i-local's control plane.
// ------------------------------------------------------------------------------------------

async fn local() -> (a2i_local::LocalA2iHandle, SageMaker) {
    let handle = a2i_local::LocalA2i::builder()
        .start()
        .await
        .expect("a2i-local starts");
    let creds = handle.credentials();
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(aws_sdk_sagemaker::config::BehaviorVersion::latest())
        .region(aws_sdk_sagemaker::config::Region::new(
            handle.region().to_owned(),
        ))
        .credentials_provider(aws_sdk_sagemaker::config::Credentials::new(
            creds.access_key_id.clone(),
            creds.secret_access_key.clone(),
            None,
            None,
            "provision-test",
        ))
        .endpoint_url(handle.sagemaker_endpoint())
        .retry_config(RetryConfig::disabled())
        .build();
    (handle, SageMaker::from_conf(config))
}

fn against(sm: &SageMaker) -> Provisioner {
    Provisioner::new(
        sm.clone(),
        Timing {
            poll_interval: Duration::from_millis(10),
            max_wait: Duration::from_secs(5),
            reserve: Duration::from_secs(1),
        },
    )
}

/// Whether a2i-local knows the flow definition and the task UI `name`.
async fn exists(sm: &SageMaker, name: &str) -> (bool, bool) {
    let flow = match sm
        .describe_flow_definition()
        .flow_definition_name(name)
        .send()
        .await
    {
        Ok(_) => true,
        Err(e) if e.code() == Some("ResourceNotFound") => false,
        Err(e) => panic!("{}", aws_sdk_sagemaker::error::DisplayErrorContext(&e)),
    };
    let ui = match sm
        .describe_human_task_ui()
        .human_task_ui_name(name)
        .send()
        .await
    {
        Ok(_) => true,
        Err(e) if e.code() == Some("ResourceNotFound") => false,
        Err(e) => panic!("{}", aws_sdk_sagemaker::error::DisplayErrorContext(&e)),
    };
    (flow, ui)
}

#[tokio::test]
async fn local_create_retry_update_and_deletes_through_the_real_sdk() {
    let (handle, sm) = local().await;
    let p = against(&sm);
    let old = name_for("generic");
    let new = name_for("moderation");

    // Create: both resources exist, the flow as asked for.
    let url = ResponseUrl::start(200).await;
    p.answer(create(&url.url, properties("generic")), in_a_minute())
        .await
        .unwrap();
    let answer = url.only_answer();
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["Data"]["FlowDefinitionName"], json!(old));
    let physical = answer["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert!(
        physical.ends_with(&format!(":flow-definition/{old}")),
        "{physical}"
    );
    let flow = sm
        .describe_flow_definition()
        .flow_definition_name(&old)
        .send()
        .await
        .unwrap();
    assert_eq!(flow.flow_definition_arn(), Some(physical.as_str()));
    assert_eq!(
        flow.flow_definition_status(),
        Some(&FlowDefinitionStatus::Active)
    );
    let c = flow.human_loop_config().unwrap();
    assert_eq!(
        c.human_task_ui_arn(),
        answer["Data"]["HumanTaskUiArn"].as_str()
    );
    assert_eq!(
        (c.task_count(), c.workteam_arn()),
        (Some(2), Some(WORKTEAM))
    );
    assert_eq!(exists(&sm, &old).await, (true, true));

    // The same Create again (a retry): the same answer, nothing new.
    let again = ResponseUrl::start(200).await;
    p.answer(create(&again.url, properties("generic")), in_a_minute())
        .await
        .unwrap();
    assert_eq!(again.only_answer(), answer);
    let uis = sm.list_human_task_uis().send().await.unwrap();
    assert_eq!(uis.human_task_ui_summaries().len(), 1);

    // Update to another template: new resources, a new physical id; the old still serve.
    let url = ResponseUrl::start(200).await;
    p.answer(
        update(
            &url.url,
            &physical,
            properties("moderation"),
            properties("generic"),
        ),
        in_a_minute(),
    )
    .await
    .unwrap();
    let updated = url.only_answer();
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    let new_physical = updated["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert!(
        new_physical.ends_with(&format!(":flow-definition/{new}")),
        "{new_physical}"
    );
    assert_eq!(exists(&sm, &new).await, (true, true));
    assert_eq!(exists(&sm, &old).await, (true, true));

    // CloudFormation's Delete of the old physical id: only the old ones go.
    let url = ResponseUrl::start(200).await;
    p.answer(
        delete(&url.url, &physical, properties("generic")),
        in_a_minute(),
    )
    .await
    .unwrap();
    assert_eq!(url.only_answer()["Status"], "SUCCESS");
    assert_eq!(exists(&sm, &old).await, (false, false));
    assert_eq!(exists(&sm, &new).await, (true, true));

    // Deleting the stack, twice (the second finds nothing): both succeed.
    for _ in 0..2 {
        let url = ResponseUrl::start(200).await;
        p.answer(
            delete(&url.url, &new_physical, properties("moderation")),
            in_a_minute(),
        )
        .await
        .unwrap();
        assert_eq!(url.only_answer()["Status"], "SUCCESS");
        assert_eq!(exists(&sm, &new).await, (false, false));
    }
    handle.shutdown().await;
}

#[tokio::test]
async fn local_a_malformed_work_team_arn_is_failed_with_the_reason_and_leaves_nothing() {
    let (handle, sm) = local().await;
    let mut props = properties("forms");
    props["WorkteamArn"] =
        json!("arn:aws:sagemaker:us-east-1:111122223333:flow-definition/not-a-team");
    let url = ResponseUrl::start(200).await;
    against(&sm)
        .answer(create(&url.url, props), in_a_minute())
        .await
        .unwrap();
    let answer = url.only_answer();
    assert_eq!(answer["Status"], "FAILED");
    assert_eq!(
        answer["PhysicalResourceId"],
        "a2i-flow-create-failed-11111111-aaaa-4bbb-8ccc-000000000001"
    );
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        reason.starts_with("CreateFlowDefinition failed with ValidationException (HTTP 400): ")
            && reason.contains("workteamArn"),
        "{reason}"
    );
    assert!(
        !reason.contains("not-a-team"),
        "values are withheld: {reason}"
    );
    // The task UI made before the refusal was undone.
    let uis = sm.list_human_task_uis().send().await.unwrap();
    assert!(uis.human_task_ui_summaries().is_empty());
    let flows = sm.list_flow_definitions().send().await.unwrap();
    assert!(flows.flow_definition_summaries().is_empty());
    handle.shutdown().await;
}

#[tokio::test]
async fn local_a_built_in_flow_carries_its_request_source_and_conditions_and_is_deleted() {
    let (handle, sm) = local().await;
    let p = against(&sm);
    let props = builtin_properties("textract-forms", Some(FORM_CONDITIONS));
    let name = name_of(&props);

    let url = ResponseUrl::start(200).await;
    p.answer(create(&url.url, props.clone()), in_a_minute())
        .await
        .unwrap();
    let answer = url.only_answer();
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let flow = sm
        .describe_flow_definition()
        .flow_definition_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        flow.human_loop_request_source()
            .and_then(|s| s.aws_managed_human_loop_request_source()),
        Some(&AwsManagedHumanLoopRequestSource::TextractAnalyzeDocumentFormsV1)
    );
    assert_eq!(
        flow.human_loop_activation_config()
            .and_then(|a| a.human_loop_activation_conditions_config())
            .and_then(|c| c.human_loop_activation_conditions()),
        Some(FORM_CONDITIONS)
    );
    let ui = sm
        .describe_human_task_ui()
        .human_task_ui_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ui.ui_template().and_then(|t| t.content_sha256()),
        Some(
            hex::encode(Sha256::digest(
                WorkerTemplate::BuiltinTextractForms.content().as_bytes()
            ))
            .as_str()
        ),
        "the shipped built-in template"
    );

    // A retry finds the same flow (a2i-local keeps the conditions as given).
    let again = ResponseUrl::start(200).await;
    p.answer(create(&again.url, props.clone()), in_a_minute())
        .await
        .unwrap();
    assert_eq!(again.only_answer(), answer);

    let url = ResponseUrl::start(200).await;
    p.answer(
        delete(
            &url.url,
            answer["PhysicalResourceId"].as_str().unwrap(),
            props,
        ),
        in_a_minute(),
    )
    .await
    .unwrap();
    assert_eq!(url.only_answer()["Status"], "SUCCESS");
    assert_eq!(exists(&sm, &name).await, (false, false));
    handle.shutdown().await;
}
