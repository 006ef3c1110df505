//! The start handler's raw-media mode with mocked clients (aws-smithy-mocks): every error path
//! of Textract `AnalyzeDocument` and Rekognition `DetectModerationLabels`, reused loop names,
//! redelivery, and failed writes of the registration and the model answer. Each failure is
//! checked for its kind, its retryable flag, a reason naming the object, and no content.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use a2i_review::builtin::{model_answer_key, ModelAnswer, TaskType};
use a2i_review::config::StartConfig;
use a2i_review::error::FunctionError;
use a2i_review::loop_name::loop_name;
use a2i_review::registry::{input_sha256, LoopRegistration};
use a2i_review::source::ObjectRef;
use a2i_review::start::{BuiltinClients, FailureKind, StartError, StartHandler, Summary};
use aws_sdk_rekognition::operation::detect_moderation_labels::{
    DetectModerationLabelsInput, DetectModerationLabelsOutput,
};
use aws_sdk_rekognition::types::ModerationLabel;
use aws_sdk_s3::operation::head_object::{HeadObjectError, HeadObjectOutput};
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::types::error::NotFound;
use aws_sdk_sagemakera2iruntime::operation::describe_human_loop::DescribeHumanLoopOutput;
use aws_sdk_sagemakera2iruntime::types::HumanLoopStatus;
use aws_sdk_textract::operation::analyze_document::{AnalyzeDocumentInput, AnalyzeDocumentOutput};
use aws_sdk_textract::types::{Block, BlockType, DocumentMetadata, EntityType};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use lambda_runtime::tracing::subscriber;
use serde_json::{json, Value};
use tracing::instrument::WithSubscriber;

const FLOW: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/media-review";
const OTHER_FLOW: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/other";
const BUCKET: &str = "raw-media";
const RESULTS: &str = "review-results";
const ETAG: &str = "9b2cf535f27731c974343645a3985328";
/// What the model "read": must never reach a log line, a reason or the summary.
const MARKER: &str = "ZQXSECRETQXZ";
const RESULTS_JSON: &str =
    r#"{"Conditions":[{"ConditionType":"Sampling","EvaluationResult":true}]}"#;

fn config(task_type: TaskType) -> StartConfig {
    let env = [
        ("TASK_TYPE", task_type.as_str()),
        ("FLOW_DEFINITION_ARN", FLOW),
        ("RESULTS_BUCKET", RESULTS),
        ("LOOP_NAME_PREFIX", "media"),
        (
            "CONTENT_CLASSIFIERS",
            "FreeOfPersonallyIdentifiableInformation,FreeOfAdultContent",
        ),
    ];
    StartConfig::from_lookup(move |k| {
        env.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("test config is valid")
}

fn object(key: &str) -> ObjectRef {
    ObjectRef {
        bucket: BUCKET.into(),
        key: key.into(),
        version_id: None,
        e_tag: Some(ETAG.into()),
    }
}

fn name_of(key: &str) -> String {
    loop_name(Some("media"), &object(key), 0)
}

fn event(key: &str) -> Value {
    common::s3_put_event(BUCKET, key, ETAG, 2048)
}

/// An error answer as the awsJson services send it.
fn wire_error(status: u16, shape: &str, message: &str) -> HttpResponse {
    let mut r = HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(json!({"__type": shape, "Message": message}).to_string()),
    );
    r.headers_mut().insert("x-amzn-errortype", shape.to_owned());
    r.headers_mut()
        .insert("content-type", "application/x-amz-json-1.1");
    r
}

fn fast_retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
}

/// One S3 write: (key, body).
type Write = (String, Vec<u8>);

/// S3 writes, in order.
#[derive(Clone, Default)]
struct Writes(Arc<Mutex<Vec<Write>>>);

impl Writes {
    fn keys(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().map(|w| w.0.clone()).collect()
    }
    fn body(&self, key: &str) -> Option<Vec<u8>> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|w| w.0 == key)
            .map(|w| w.1.clone())
    }
}

/// What the mocked services answer.
struct Services {
    a2i: Vec<Rule>,
    s3: Vec<Rule>,
    textract: Vec<Rule>,
    rekognition: Vec<Rule>,
    writes: Writes,
}

impl Services {
    /// No loop exists, no model answer exists, every S3 write succeeds (and is recorded).
    fn new() -> Self {
        Self {
            a2i: Vec::new(),
            s3: Vec::new(),
            textract: Vec::new(),
            rekognition: Vec::new(),
            writes: Writes::default(),
        }
    }

    fn handler_parts(
        &self,
    ) -> (
        aws_sdk_s3::Client,
        aws_sdk_sagemakera2iruntime::Client,
        BuiltinClients,
    ) {
        let absent = mock!(aws_sdk_sagemakera2iruntime::Client::describe_human_loop)
            .then_http_response(|| wire_error(404, "ResourceNotFoundException", "not found"));
        let mut a2i: Vec<&Rule> = self.a2i.iter().collect();
        a2i.push(&absent);
        let writes = self.writes.clone();
        let put_ok = mock!(aws_sdk_s3::Client::put_object)
            .match_requests(move |r| {
                let body = r.body().bytes().unwrap_or_default().to_vec();
                writes
                    .0
                    .lock()
                    .unwrap()
                    .push((r.key().unwrap_or_default().to_owned(), body));
                true
            })
            .then_output(|| PutObjectOutput::builder().build());
        let no_answer = mock!(aws_sdk_s3::Client::head_object)
            .then_error(|| HeadObjectError::NotFound(NotFound::builder().build()));
        let mut s3: Vec<&Rule> = self.s3.iter().collect();
        s3.push(&put_ok);
        s3.push(&no_answer);
        let textract: Vec<&Rule> = self.textract.iter().collect();
        let rekognition: Vec<&Rule> = self.rekognition.iter().collect();
        (
            mock_client!(aws_sdk_s3, RuleMode::MatchAny, &s3, |b| b
                .retry_config(fast_retries())),
            mock_client!(aws_sdk_sagemakera2iruntime, RuleMode::MatchAny, &a2i, |b| b
                .retry_config(fast_retries())),
            BuiltinClients {
                textract: mock_client!(aws_sdk_textract, RuleMode::MatchAny, &textract, |b| b
                    .retry_config(fast_retries())),
                rekognition: mock_client!(
                    aws_sdk_rekognition,
                    RuleMode::MatchAny,
                    &rekognition,
                    |b| b.retry_config(fast_retries())
                ),
            },
        )
    }

    /// Runs one invocation on `key`, capturing every log line of the app.
    async fn run(&self, task_type: TaskType, key: &str) -> Run {
        let (s3, a2i, clients) = self.handler_parts();
        let handler = StartHandler::with_builtin_clients(config(task_type), s3, a2i, clients)
            .await
            .expect("handler");
        assert_eq!(handler.task_type(), task_type);
        let logs = Logs::default();
        let collector = subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(logs.clone())
            .finish();
        let result = handler.handle(&event(key)).with_subscriber(collector).await;
        Run {
            result,
            logs: logs.text(),
        }
    }
}

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

struct Run {
    result: Result<Summary, StartError>,
    logs: String,
}

impl Run {
    fn summary(&self) -> &Summary {
        match &self.result {
            Ok(s) | Err(StartError::ItemsFailed { summary: s }) => s,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    /// The app's own log lines (the SDK's are not this test's subject).
    fn app_logs(&self) -> Vec<&str> {
        self.logs
            .lines()
            .filter(|l| l.contains("a2i_review"))
            .collect()
    }

    /// Nothing the model read appears in a log line, the summary or the error message.
    fn assert_no_content(&self) {
        for line in self.app_logs() {
            assert!(!line.contains(MARKER), "content in a log line: {line}");
        }
        let summary = serde_json::to_string(self.summary()).unwrap();
        assert!(!summary.contains(MARKER), "{summary}");
        if let Err(e) = &self.result {
            assert!(!e.to_string().contains(MARKER), "{e}");
        }
    }

    /// The one failure of the invocation, checked for kind, retryability and a reason that
    /// names the object.
    fn the_failure(&self, key: &str, kind: FailureKind, retryable: bool) -> String {
        self.assert_no_content();
        let summary = self.summary();
        assert_eq!(summary.failures.len(), 1, "{summary:?}");
        let f = &summary.failures[0];
        assert_eq!(f.kind, kind, "{f:?}");
        assert_eq!(f.retryable, retryable, "{f:?}");
        assert_eq!(
            (f.bucket.as_deref(), f.key.as_deref(), f.item_index),
            (Some(BUCKET), Some(key), Some(0))
        );
        assert_eq!(f.loop_name.as_deref(), Some(name_of(key).as_str()));
        assert!(
            f.reason.contains(&format!("s3://{BUCKET}/{key}")),
            "the reason names the object: {}",
            f.reason
        );
        let error = self
            .result
            .as_ref()
            .expect_err("a failed object fails the invocation");
        assert_eq!(error.is_retryable(), retryable);
        assert_eq!(
            error.error_type(),
            if retryable {
                "Retryable.ItemsFailed"
            } else {
                "NonRetryable.ItemsFailed"
            }
        );
        assert_eq!((summary.objects, summary.items, summary.failed), (1, 1, 1));
        f.reason.clone()
    }
}

/// With a `HumanLoopConfig` the answer carries A2I's activation output (a loop when `loop_arn`
/// is given); without one it carries none.
fn textract_activation(
    config: bool,
    loop_arn: Option<&str>,
) -> Option<aws_sdk_textract::types::HumanLoopActivationOutput> {
    config.then(|| {
        aws_sdk_textract::types::HumanLoopActivationOutput::builder()
            .set_human_loop_arn(loop_arn.map(str::to_owned))
            .set_human_loop_activation_reasons(
                loop_arn.map(|_| vec!["ConditionsEvaluation".to_owned()]),
            )
            .human_loop_activation_conditions_evaluation_results(RESULTS_JSON)
            .build()
    })
}

fn rekognition_activation(
    config: bool,
    loop_arn: Option<&str>,
) -> Option<aws_sdk_rekognition::types::HumanLoopActivationOutput> {
    config.then(|| {
        aws_sdk_rekognition::types::HumanLoopActivationOutput::builder()
            .set_human_loop_arn(loop_arn.map(str::to_owned))
            .set_human_loop_activation_reasons(
                loop_arn.map(|_| vec!["ConditionsEvaluation".to_owned()]),
            )
            .human_loop_activation_conditions_evaluation_results(RESULTS_JSON)
            .build()
    })
}

/// A one-page form whose words carry the marker.
fn form_output(config: bool, loop_arn: Option<&str>) -> AnalyzeDocumentOutput {
    AnalyzeDocumentOutput::builder()
        .document_metadata(DocumentMetadata::builder().pages(1).build())
        .blocks(
            Block::builder()
                .block_type(BlockType::KeyValueSet)
                .id("k1")
                .confidence(41.3)
                .entity_types(EntityType::Key)
                .page(1)
                .build(),
        )
        .blocks(
            Block::builder()
                .block_type(BlockType::Word)
                .id("w1")
                .text(format!("Total {MARKER}"))
                .confidence(99.5)
                .page(1)
                .build(),
        )
        .analyze_document_model_version("1.0")
        .set_human_loop_activation_output(textract_activation(config, loop_arn))
        .build()
}

/// An image's labels; the label name carries the marker.
fn labels_output(config: bool, loop_arn: Option<&str>) -> DetectModerationLabelsOutput {
    DetectModerationLabelsOutput::builder()
        .moderation_labels(
            ModerationLabel::builder()
                .confidence(88.5)
                .name(format!("Label {MARKER}"))
                .parent_name("Suggestive")
                .taxonomy_level(2)
                .build(),
        )
        .moderation_model_version("7.0")
        .set_human_loop_activation_output(rekognition_activation(config, loop_arn))
        .build()
}

fn loop_arn(key: &str) -> String {
    format!(
        "arn:aws:sagemaker:us-east-1:111122223333:human-loop/{}",
        name_of(key)
    )
}

/// DescribeHumanLoop: a loop of ours with this name exists.
fn ours(key: &str) -> Rule {
    let arn = loop_arn(key);
    mock!(aws_sdk_sagemakera2iruntime::Client::describe_human_loop).then_output(move || {
        DescribeHumanLoopOutput::builder()
            .human_loop_name("x")
            .human_loop_arn(&arn)
            .flow_definition_arn(FLOW)
            .human_loop_status(HumanLoopStatus::InProgress)
            .creation_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .build()
    })
}

#[derive(Clone)]
struct Calls<I>(Arc<Mutex<Vec<I>>>);

impl<I> Default for Calls<I> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<I: Clone> Calls<I> {
    fn all(&self) -> Vec<I> {
        self.0.lock().unwrap().clone()
    }
}

fn textract_answers(calls: &Calls<AnalyzeDocumentInput>, loop_arn: Option<String>) -> Rule {
    let calls = calls.clone();
    mock!(aws_sdk_textract::Client::analyze_document)
        .match_requests(move |r| {
            calls.0.lock().unwrap().push(r.clone());
            true
        })
        .then_compute_output(move |r| {
            // With HumanLoopConfig A2I decides; without it no loop can start.
            form_output(r.human_loop_config().is_some(), loop_arn.as_deref())
        })
}

fn rekognition_answers(
    calls: &Calls<DetectModerationLabelsInput>,
    loop_arn: Option<String>,
) -> Rule {
    let calls = calls.clone();
    mock!(aws_sdk_rekognition::Client::detect_moderation_labels)
        .match_requests(move |r| {
            calls.0.lock().unwrap().push(r.clone());
            true
        })
        .then_compute_output(move |r| {
            labels_output(r.human_loop_config().is_some(), loop_arn.as_deref())
        })
}

#[tokio::test]
async fn a_flagged_form_is_registered_analysed_with_its_loop_config_and_its_answer_stored() {
    let key = "forms/claim 7.png";
    let calls = Calls::default();
    let mut s = Services::new();
    s.textract
        .push(textract_answers(&calls, Some(loop_arn(key))));
    let run = s.run(TaskType::TextractForms, key).await;
    let summary = run.summary();
    assert_eq!(
        (
            summary.objects,
            summary.items,
            summary.analysed,
            summary.flagged,
            summary.started,
            summary.skipped,
            summary.failed
        ),
        (1, 1, 1, 1, 1, 0, 0),
        "{summary:?}"
    );
    run.assert_no_content();
    assert!(
        run.app_logs()
            .iter()
            .any(|l| l.contains("ConditionsEvaluation") && l.contains("started")),
        "A2I's reasons are logged:\n{}",
        run.logs
    );

    // The request: the object, FORMS, and the loop config with the classifiers.
    let requests = calls.all();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    let s3_object = r.document().unwrap().s3_object().unwrap();
    assert_eq!(
        (s3_object.bucket(), s3_object.name(), s3_object.version()),
        (Some(BUCKET), Some(key), None)
    );
    assert_eq!(
        r.feature_types()
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>(),
        ["FORMS"]
    );
    let config = r.human_loop_config().unwrap();
    assert_eq!(config.human_loop_name(), name_of(key));
    assert_eq!(config.flow_definition_arn(), FLOW);
    assert_eq!(
        config
            .data_attributes()
            .unwrap()
            .content_classifiers()
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>(),
        [
            "FreeOfPersonallyIdentifiableInformation",
            "FreeOfAdultContent"
        ]
    );

    // The registration first, then the model answer.
    let registration_key = format!("loops/{}.json", name_of(key));
    let answer_key = model_answer_key("reviewed/", &object(key), &name_of(key));
    assert_eq!(
        s.writes.keys(),
        [registration_key.clone(), answer_key.clone()]
    );
    let registration = LoopRegistration::parse(&s.writes.body(&registration_key).unwrap()).unwrap();
    assert_eq!(registration.task_type, Some(TaskType::TextractForms));
    assert_eq!((registration.item_index, registration.line), (0, None));
    let canonical = json!({
        "Document": {"S3Object": {"Bucket": BUCKET, "Name": key}},
        "FeatureTypes": ["FORMS"],
        "HumanLoopConfig": {"HumanLoopName": name_of(key), "FlowDefinitionArn": FLOW,
            "DataAttributes": {"ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent"]}}
    });
    assert_eq!(
        registration.input_sha256,
        input_sha256(&canonical.to_string())
    );

    let answer = ModelAnswer::parse(&s.writes.body(&answer_key).unwrap()).unwrap();
    assert_eq!(answer.task_type, TaskType::TextractForms);
    assert_eq!(
        answer.request_source,
        "AWS/Textract/AnalyzeDocument/Forms/V1"
    );
    assert_eq!(answer.human_loop_arn, Some(loop_arn(key)));
    assert_eq!(answer.human_loop_name, name_of(key));
    assert_eq!(answer.source.key, key);
    assert_eq!(
        answer.created_at.to_rfc3339(),
        "2026-11-21T10:15:42.187+00:00"
    );
    assert_eq!(
        answer.response,
        json!({"DocumentMetadata": {"Pages": 1}, "Blocks": [
            {"BlockType": "KEY_VALUE_SET", "Confidence": 41.3, "Id": "k1", "EntityTypes": ["KEY"], "Page": 1},
            {"BlockType": "WORD", "Confidence": 99.5, "Text": format!("Total {MARKER}"), "Id": "w1", "Page": 1}],
            "AnalyzeDocumentModelVersion": "1.0",
            "HumanLoopActivationOutput": {"HumanLoopArn": loop_arn(key),
                "HumanLoopActivationReasons": ["ConditionsEvaluation"],
                "HumanLoopActivationConditionsEvaluationResults": RESULTS_JSON}})
    );
}

#[tokio::test]
async fn an_image_no_condition_flags_is_skipped_and_its_answer_kept_without_a_loop() {
    let key = "photos/park.jpg";
    let calls = Calls::default();
    let mut s = Services::new();
    s.rekognition.push(rekognition_answers(&calls, None));
    let run = s.run(TaskType::RekognitionModeration, key).await;
    let summary = run.summary();
    assert_eq!(
        (
            summary.analysed,
            summary.flagged,
            summary.started,
            summary.skipped,
            summary.failed
        ),
        (1, 0, 0, 1, 0),
        "{summary:?}"
    );
    assert!(run.result.is_ok());
    run.assert_no_content();
    let r = &calls.all()[0];
    assert_eq!(r.image().unwrap().s3_object().unwrap().name(), Some(key));
    assert!(r.human_loop_config().is_some());
    let answer_key = model_answer_key("reviewed/", &object(key), &name_of(key));
    let answer = ModelAnswer::parse(&s.writes.body(&answer_key).unwrap()).unwrap();
    assert_eq!(answer.human_loop_arn, None);
    assert_eq!(
        answer.response["HumanLoopActivationOutput"],
        json!({"HumanLoopActivationConditionsEvaluationResults": RESULTS_JSON})
    );
    assert_eq!(answer.response["ModerationLabels"][0]["TaxonomyLevel"], 2);
    assert_eq!(answer.response["ModerationLabels"][0]["Confidence"], 88.5);
}

#[tokio::test]
async fn a_redelivered_event_whose_answer_is_stored_sends_nothing() {
    let key = "photos/beach.png";
    let calls = Calls::default();
    let mut s = Services::new();
    s.a2i.push(ours(key));
    s.s3.push(
        mock!(aws_sdk_s3::Client::head_object)
            .then_output(|| HeadObjectOutput::builder().content_length(10).build()),
    );
    s.rekognition
        .push(rekognition_answers(&calls, Some(loop_arn(key))));
    let run = s.run(TaskType::RekognitionModeration, key).await;
    let summary = run.summary();
    assert_eq!(
        (
            summary.flagged,
            summary.started,
            summary.already_started,
            summary.analysed
        ),
        (1, 0, 1, 0),
        "{summary:?}"
    );
    assert!(calls.all().is_empty(), "the service is not called again");
    assert!(s.writes.keys().is_empty(), "nothing is written again");
}

#[tokio::test]
async fn an_existing_loop_without_its_answer_is_analysed_again_without_a_loop_config() {
    let key = "photos/lost-answer.png";
    let calls = Calls::default();
    let mut s = Services::new();
    s.a2i.push(ours(key));
    s.rekognition
        .push(rekognition_answers(&calls, Some(loop_arn(key))));
    let run = s.run(TaskType::RekognitionModeration, key).await;
    let summary = run.summary();
    assert_eq!(
        (
            summary.flagged,
            summary.started,
            summary.already_started,
            summary.analysed,
            summary.failed
        ),
        (1, 0, 1, 1, 0),
        "{summary:?}"
    );
    let requests = calls.all();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].human_loop_config().is_none(),
        "no second loop can start"
    );
    let answer_key = model_answer_key("reviewed/", &object(key), &name_of(key));
    assert_eq!(
        s.writes.keys(),
        std::slice::from_ref(&answer_key),
        "no new registration"
    );
    let answer = ModelAnswer::parse(&s.writes.body(&answer_key).unwrap()).unwrap();
    assert_eq!(
        answer.human_loop_arn,
        Some(loop_arn(key)),
        "the ARN from DescribeHumanLoop"
    );
    run.assert_no_content();
}

#[tokio::test]
async fn a_reused_name_answer_is_looked_up_and_ours_counts_as_already_started() {
    for task_type in [TaskType::TextractForms, TaskType::RekognitionModeration] {
        let key = "forms/finished.png";
        let mut s = Services::new();
        // First lookup: nothing (a race, or a lookup that failed); after the answer: ours.
        let arn = loop_arn(key);
        s.a2i.push(
            mock!(aws_sdk_sagemakera2iruntime::Client::describe_human_loop)
                .sequence()
                .http_response(|| wire_error(404, "ResourceNotFoundException", "none"))
                .times(1)
                .output(move || {
                    DescribeHumanLoopOutput::builder()
                        .human_loop_name("x")
                        .human_loop_arn(&arn)
                        .flow_definition_arn(FLOW)
                        .human_loop_status(HumanLoopStatus::Completed)
                        .creation_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                        .build()
                })
                .repeatedly()
                .build(),
        );
        let message = "HumanLoop 'x' already exists and is finished; use another HumanLoopName";
        let textract_calls: Calls<AnalyzeDocumentInput> = Calls::default();
        let rekognition_calls: Calls<DetectModerationLabelsInput> = Calls::default();
        let tc = textract_calls.clone();
        s.textract.push(
            mock!(aws_sdk_textract::Client::analyze_document)
                .match_requests(move |r| {
                    tc.0.lock().unwrap().push(r.clone());
                    true
                })
                .then_compute_response(move |r| {
                    if r.human_loop_config().is_some() {
                        aws_smithy_mocks::MockResponse::Http(wire_error(
                            400,
                            "InvalidParameterException",
                            message,
                        ))
                    } else {
                        aws_smithy_mocks::MockResponse::Output(form_output(false, None))
                    }
                }),
        );
        let rc = rekognition_calls.clone();
        s.rekognition.push(
            mock!(aws_sdk_rekognition::Client::detect_moderation_labels)
                .match_requests(move |r| {
                    rc.0.lock().unwrap().push(r.clone());
                    true
                })
                .then_compute_response(move |r| {
                    if r.human_loop_config().is_some() {
                        aws_smithy_mocks::MockResponse::Http(wire_error(
                            400,
                            "InvalidParameterException",
                            message,
                        ))
                    } else {
                        aws_smithy_mocks::MockResponse::Output(labels_output(false, None))
                    }
                }),
        );
        let run = s.run(task_type, key).await;
        let summary = run.summary();
        assert_eq!(
            (summary.started, summary.already_started, summary.failed),
            (0, 1, 0),
            "{task_type}: {summary:?}"
        );
        // Its answer was missing: analysed again without a loop config, stored with the ARN.
        let calls = match task_type {
            TaskType::TextractForms => textract_calls
                .all()
                .iter()
                .map(|r| r.human_loop_config().is_some())
                .collect::<Vec<_>>(),
            _ => rekognition_calls
                .all()
                .iter()
                .map(|r| r.human_loop_config().is_some())
                .collect(),
        };
        assert_eq!(calls, [true, false], "{task_type}");
        let answer_key = model_answer_key("reviewed/", &object(key), &name_of(key));
        let answer = ModelAnswer::parse(&s.writes.body(&answer_key).unwrap()).unwrap();
        assert_eq!(answer.human_loop_arn, Some(loop_arn(key)));
        run.assert_no_content();
    }
}

#[tokio::test]
async fn a_name_used_by_another_flow_definition_is_a_non_retryable_failure() {
    let key = "photos/taken.png";
    let mut s = Services::new();
    s.a2i.push(
        mock!(aws_sdk_sagemakera2iruntime::Client::describe_human_loop).then_output(|| {
            DescribeHumanLoopOutput::builder()
                .human_loop_name("x")
                .human_loop_arn("arn:x")
                .flow_definition_arn(OTHER_FLOW)
                .human_loop_status(HumanLoopStatus::InProgress)
                .creation_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                .build()
        }),
    );
    let run = s.run(TaskType::RekognitionModeration, key).await;
    let summary = run.summary();
    assert_eq!(summary.failures[0].kind, FailureKind::LoopNameTaken);
    assert!(!summary.failures[0].retryable);
    assert!(summary.failures[0].reason.contains(OTHER_FLOW));
    assert!(s.writes.keys().is_empty());
}

/// One error answer of a service, and what the handler must make of it.
struct ErrorCase {
    status: u16,
    code: &'static str,
    message: &'static str,
    kind: FailureKind,
    retryable: bool,
    /// Whether the SDK retries it (so the service sees 3 attempts).
    sdk_retries: bool,
    /// Words the reason must hold.
    says: &'static str,
}

const fn case(
    status: u16,
    code: &'static str,
    kind: FailureKind,
    retryable: bool,
    sdk_retries: bool,
    says: &'static str,
) -> ErrorCase {
    ErrorCase {
        status,
        code,
        message: "the service refused the request",
        kind,
        retryable,
        sdk_retries,
        says,
    }
}

fn shared_cases() -> Vec<ErrorCase> {
    use FailureKind::*;
    vec![
        case(
            500,
            "ThrottlingException",
            ServiceRetryable,
            true,
            true,
            "a retry",
        ),
        case(
            400,
            "ProvisionedThroughputExceededException",
            ServiceRetryable,
            true,
            true,
            "a retry",
        ),
        case(
            500,
            "InternalServerError",
            ServiceRetryable,
            true,
            true,
            "a retry",
        ),
        case(
            400,
            "HumanLoopQuotaExceededException",
            ServiceRetryable,
            true,
            false,
            "quota of active human loops",
        ),
        case(
            402,
            "ServiceQuotaExceededException",
            ServiceRetryable,
            true,
            false,
            "quota of active human loops",
        ),
        case(
            400,
            "InvalidS3ObjectException",
            ServiceRejected,
            false,
            false,
            "could not read the object",
        ),
        case(
            400,
            "AccessDeniedException",
            ServiceRejected,
            false,
            false,
            "IAM",
        ),
        case(
            400,
            "InvalidParameterException",
            ServiceRejected,
            false,
            false,
            "HumanLoopRequestSource",
        ),
        case(
            400,
            "ResourceNotFoundException",
            ServiceRejected,
            false,
            false,
            "flow definition does not exist",
        ),
    ]
}

#[tokio::test]
async fn every_textract_error_is_a_typed_failure_naming_the_object() {
    use FailureKind::*;
    let mut cases = shared_cases();
    cases.extend([
        ErrorCase {
            message: "The PDF document has 3 pages",
            ..case(
                400,
                "UnsupportedDocumentException",
                UnsupportedMedia,
                false,
                false,
                "single-page documents only",
            )
        },
        case(
            400,
            "BadDocumentException",
            UnsupportedMedia,
            false,
            false,
            "cannot read the document",
        ),
        case(
            400,
            "DocumentTooLargeException",
            UnsupportedMedia,
            false,
            false,
            "size limit",
        ),
    ]);
    for c in cases {
        let key = format!("forms/{}.pdf", c.code);
        let mut s = Services::new();
        let (status, code, message) = (c.status, c.code, c.message);
        let rule = mock!(aws_sdk_textract::Client::analyze_document)
            .then_http_response(move || wire_error(status, code, message));
        s.textract.push(rule.clone());
        let run = s.run(TaskType::TextractForms, &key).await;
        let reason = run.the_failure(&key, c.kind, c.retryable);
        assert!(reason.contains(c.code), "{reason}");
        assert!(reason.contains("AnalyzeDocument"), "{reason}");
        assert!(reason.contains(c.says), "{}: {reason}", c.code);
        assert_eq!(
            rule.num_calls(),
            if c.sdk_retries { 3 } else { 1 },
            "{}",
            c.code
        );
        if c.code == "UnsupportedDocumentException" {
            assert!(
                reason.contains("TASK_TYPE=custom") && reason.contains("StartDocumentAnalysis"),
                "{reason}"
            );
        }
        // The registration was written before the call; no model answer after it.
        assert_eq!(s.writes.keys().len(), 1, "{}", c.code);
        assert_eq!(run.summary().analysed, 0);
    }
}

#[tokio::test]
async fn every_rekognition_error_is_a_typed_failure_naming_the_object() {
    use FailureKind::*;
    let mut cases = shared_cases();
    cases.extend([
        case(
            400,
            "InvalidImageFormatException",
            UnsupportedMedia,
            false,
            false,
            "PNG and JPEG images only",
        ),
        case(
            400,
            "ImageTooLargeException",
            UnsupportedMedia,
            false,
            false,
            "size or dimension limits",
        ),
    ]);
    for c in cases {
        let key = format!("photos/{}.png", c.code);
        let mut s = Services::new();
        let (status, code, message) = (c.status, c.code, c.message);
        let rule = mock!(aws_sdk_rekognition::Client::detect_moderation_labels)
            .then_http_response(move || wire_error(status, code, message));
        s.rekognition.push(rule.clone());
        let run = s.run(TaskType::RekognitionModeration, &key).await;
        let reason = run.the_failure(&key, c.kind, c.retryable);
        assert!(reason.contains(c.code), "{reason}");
        assert!(reason.contains("DetectModerationLabels"), "{reason}");
        assert!(reason.contains(c.says), "{}: {reason}", c.code);
        assert_eq!(
            rule.num_calls(),
            if c.sdk_retries { 3 } else { 1 },
            "{}",
            c.code
        );
    }
}

#[tokio::test]
async fn a_failed_model_answer_write_is_retryable_and_the_retry_starts_nothing_new() {
    let key = "photos/flagged.png";
    let calls = Calls::default();
    let mut s = Services::new();
    s.s3.push(
        mock!(aws_sdk_s3::Client::put_object)
            .match_requests(|r| r.key().is_some_and(|k| k.ends_with(".model.json")))
            .then_http_response(|| {
                HttpResponse::new(
                    StatusCode::try_from(503).unwrap(),
                    SdkBody::from(
                        "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>",
                    ),
                )
            }),
    );
    s.rekognition
        .push(rekognition_answers(&calls, Some(loop_arn(key))));
    let run = s.run(TaskType::RekognitionModeration, key).await;
    let reason = run.the_failure(key, FailureKind::ModelAnswerWrite, true);
    assert!(reason.contains("SlowDown"), "{reason}");
    assert!(reason.contains("without starting another"), "{reason}");
    let summary = run.summary();
    assert_eq!((summary.analysed, summary.flagged), (1, 1));
}

#[tokio::test]
async fn a_failed_registration_write_sends_nothing_to_the_service() {
    let key = "forms/unregistered.png";
    let calls = Calls::default();
    let mut s = Services::new();
    s.s3.push(
        mock!(aws_sdk_s3::Client::put_object)
            .match_requests(|r| r.key().is_some_and(|k| k.starts_with("loops/")))
            .then_http_response(|| {
                HttpResponse::new(
                    StatusCode::try_from(500).unwrap(),
                    SdkBody::from("<Error><Code>InternalError</Code><Message>m</Message></Error>"),
                )
            }),
    );
    s.textract
        .push(textract_answers(&calls, Some(loop_arn(key))));
    let run = s.run(TaskType::TextractForms, key).await;
    let reason = run.the_failure(key, FailureKind::RegistryWrite, true);
    assert!(
        reason.contains("not analysed without its loop's registration"),
        "{reason}"
    );
    assert!(calls.all().is_empty());
}

#[tokio::test]
async fn an_answer_that_cannot_be_checked_is_a_failure_not_a_second_analysis() {
    let key = "photos/unchecked.png";
    let calls = Calls::default();
    let mut s = Services::new();
    s.a2i.push(ours(key));
    s.s3.push(
        mock!(aws_sdk_s3::Client::head_object).then_http_response(|| {
            HttpResponse::new(StatusCode::try_from(403).unwrap(), SdkBody::empty())
        }),
    );
    s.rekognition
        .push(rekognition_answers(&calls, Some(loop_arn(key))));
    let run = s.run(TaskType::RekognitionModeration, key).await;
    let summary = run.summary();
    let f = &summary.failures[0];
    assert_eq!(
        (f.kind, f.retryable),
        (FailureKind::ModelAnswerWrite, false)
    );
    assert!(f.reason.contains("s3:ListBucket"), "{}", f.reason);
    assert!(calls.all().is_empty());
    assert_eq!(summary.flagged, 1);
}

#[tokio::test]
async fn a_built_in_config_needs_the_built_in_clients() {
    let s = Services::new();
    let (s3, a2i, _) = s.handler_parts();
    let err = StartHandler::new(config(TaskType::TextractForms), s3, a2i)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("with_builtin_clients"), "{err}");
}

#[tokio::test]
async fn a_built_in_loop_is_not_restarted_with_start_human_loop() {
    let registration = LoopRegistration::new(
        &name_of("photos/a.png"),
        FLOW,
        &a2i_review::loop_input::ItemSource {
            object: object("photos/a.png"),
            item_index: 0,
            line: None,
        },
        "{}",
        chrono::Utc::now(),
    )
    .with_task_type(TaskType::RekognitionModeration);
    // No S3 rule: the refusal comes before any read.
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[] as &[&Rule]);
    let conditions = a2i_review::conditions::ActivationConditions::parse(
        r#"{"Conditions":[{"ConditionType":"Sampling","ConditionParameters":{"RandomSamplingPercentage":10}}]}"#,
    )
    .unwrap();
    let err = a2i_review::restart::rebuild_input(
        &s3,
        &registration,
        &conditions,
        a2i_review::config::DocumentFormat::Auto,
        None,
        None,
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("built-in task type rekognition-moderation"),
        "{text}"
    );
    assert!(text.contains("s3://raw-media/photos/a.png"), "{text}");
    assert!(text.contains("new object version"), "{text}");
}
