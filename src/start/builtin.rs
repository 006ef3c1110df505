//! The start handler's raw-media mode (`TASK_TYPE=textract-forms|rekognition-moderation`):
//! each created object is sent to Textract `AnalyzeDocument` or Rekognition
//! `DetectModerationLabels` with a `HumanLoopConfig`, A2I decides whether a loop starts, and
//! the service's whole answer is stored as the object's [`ModelAnswer`].
//!
//! One object is one item (index 0) with the loop name `loop_name(LOOP_NAME_PREFIX, object,
//! 0)`. Per object, in this order:
//!
//! 1. `DescribeHumanLoop` (one attempt, as in `a2i`): a loop of ours means the object was
//!    analysed before (a redelivered event): `alreadyStarted`, nothing is sent to the service.
//!    If its model answer is missing (an earlier write failed) the object is analysed again
//!    *without* `HumanLoopConfig` (no loop can start) and stored with the loop's ARN from
//!    `DescribeHumanLoop` (the stored `response` then has no `HumanLoopActivationOutput`).
//! 2. The loop registration (`taskType`, `inputSha256` of the request's canonical JSON) is
//!    written; a failed write is a failure of the object, and nothing is sent.
//! 3. The call, with `HumanLoopConfig {HumanLoopName, FlowDefinitionArn,
//!    DataAttributes.ContentClassifiers}` on `S3Object {Bucket, Name, Version}`.
//!    `HumanLoopActivationOutput.HumanLoopArn` present: `started` (the reasons are logged:
//!    they are A2I's words, not content); absent: `skipped`. A reused-name answer
//!    (`InvalidParameterException` "… already exists …") is looked up again: ours is
//!    `alreadyStarted`.
//! 4. The [`ModelAnswer`] is written at [`model_answer_key`]; a failed write is a failure of
//!    the object (a retry finds the loop in step 1 and stores the answer then).
//!
//! Errors name the object and the reason, never the answer's content (block text, labels):
//! only codes, statuses, counts and A2I's reasons are logged.
//!
//! Permissions this mode needs beyond the custom path's: `textract:AnalyzeDocument` or
//! `rekognition:DetectModerationLabels`; `s3:GetObject` on the uploads (the service reads the
//! object with the caller's credentials); `sagemaker:StartHumanLoop` and
//! `sagemaker:DescribeHumanLoop` on the flow definition; `s3:PutObject` on the results bucket,
//! and `s3:GetObject` plus `s3:ListBucket` there for the `HeadObject` of step 1 (without
//! `ListBucket` S3 answers a missing key with 403, which is reported, not guessed).

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::{Map, Value};

use crate::builtin::{model_answer_key, ModelAnswer, TaskType, MODEL_ANSWER_SCHEMA};
use crate::config::{ContentClassifier, TextractFeature};
use crate::error::CallError;
use crate::loop_input::ItemSource;
use crate::registry::{LoopRegistration, RegisteredSource, Registry};
use crate::s3_event::CreatedObject;
use crate::source::ObjectRef;

use super::a2i::{name_taken, Attempts, Existing, LoopStarter};
use super::summary::{Failure, FailureKind};
use super::ItemOutcome;

/// The Textract and Rekognition clients of the raw-media mode.
#[derive(Debug, Clone)]
pub struct BuiltinClients {
    /// Amazon Textract (`AnalyzeDocument`).
    pub textract: aws_sdk_textract::Client,
    /// Amazon Rekognition (`DetectModerationLabels`).
    pub rekognition: aws_sdk_rekognition::Client,
}

impl BuiltinClients {
    /// Both clients from the functions' SDK configuration, with the A2I calls' adaptive retry
    /// policy ([`crate::aws::a2i_retry_config`]): these calls start loops too, and are
    /// throttled the same way. `AWS_ENDPOINT_URL_TEXTRACT` / `_REKOGNITION` point them at
    /// a2i-local.
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Self {
        let textract = aws_sdk_textract::config::Builder::from(sdk)
            .retry_config(crate::aws::a2i_retry_config())
            .build();
        let rekognition = aws_sdk_rekognition::config::Builder::from(sdk)
            .retry_config(crate::aws::a2i_retry_config())
            .build();
        Self {
            textract: aws_sdk_textract::Client::from_conf(textract),
            rekognition: aws_sdk_rekognition::Client::from_conf(rekognition),
        }
    }
}

/// What the raw-media mode needs besides the A2I client.
#[derive(Debug, Clone)]
pub(super) struct RawMedia {
    pub(super) task_type: TaskType,
    features: Vec<TextractFeature>,
    clients: BuiltinClients,
    s3: aws_sdk_s3::Client,
    results_bucket: String,
    results_prefix: String,
    registry: Registry,
}

/// What became of one object.
pub(super) struct RawResult {
    pub(super) outcome: ItemOutcome,
    /// Whether the service answered in this invocation (and the answer was kept or tried).
    pub(super) analysed: bool,
    /// A2I's evaluation results (the condition tree with `EvaluationResult`s), for metrics.
    pub(super) results: Option<Value>,
}

/// A service's answer, converted to the API's JSON.
struct Answer {
    /// The whole answer, `HumanLoopActivationOutput` included.
    response: Value,
    /// `HumanLoopActivationOutput.HumanLoopArn`.
    loop_arn: Option<String>,
    /// `HumanLoopActivationOutput.HumanLoopActivationReasons`.
    reasons: Vec<String>,
    /// `HumanLoopActivationConditionsEvaluationResults`, parsed.
    results: Option<Value>,
}

/// A failed service call.
struct ServiceFailure {
    call: CallError,
    /// A2I's answer to a loop name in use (Textract's observed `InvalidParameterException`
    /// "HumanLoop '…' already exists …").
    reused_name: bool,
}

/// `HumanLoopConfig` as sent.
struct LoopConfig<'a> {
    name: &'a str,
    flow_definition_arn: &'a str,
    classifiers: &'a [ContentClassifier],
}

/// The `HumanLoopConfig` of `$c` (a [`LoopConfig`]), built with whichever service's
/// `HumanLoopConfig`, `HumanLoopDataAttributes` and `ContentClassifier` types are in scope:
/// Textract and Rekognition model the same shapes as distinct types.
macro_rules! human_loop_config {
    ($c:expr) => {{
        let c = $c;
        let attributes = (!c.classifiers.is_empty()).then(|| {
            HumanLoopDataAttributes::builder()
                .set_content_classifiers(Some(
                    c.classifiers
                        .iter()
                        .map(|c| ContentClassifier::from(c.as_str()))
                        .collect(),
                ))
                .build()
        });
        HumanLoopConfig::builder()
            .human_loop_name(c.name)
            .flow_definition_arn(c.flow_definition_arn)
            .set_data_attributes(attributes)
            .build()
            .map_err(construction)?
    }};
}

/// The [`Activation`] of either service's output (`HumanLoopActivationOutput`, again the
/// same shape as two types).
macro_rules! activation {
    ($out:expr) => {
        $out.human_loop_activation_output
            .as_ref()
            .map(|a| Activation {
                arn: a.human_loop_arn.clone(),
                reasons: a.human_loop_activation_reasons.clone(),
                results: a
                    .human_loop_activation_conditions_evaluation_results
                    .clone(),
            })
    };
}

impl RawMedia {
    pub(super) fn new(
        task_type: TaskType,
        features: Vec<TextractFeature>,
        clients: BuiltinClients,
        s3: aws_sdk_s3::Client,
        results_bucket: String,
        results_prefix: String,
        registry: Registry,
    ) -> Self {
        Self {
            task_type,
            features,
            clients,
            s3,
            results_bucket,
            results_prefix,
            registry,
        }
    }

    fn operation(&self) -> &'static str {
        match self.task_type {
            TaskType::RekognitionModeration => "DetectModerationLabels",
            _ => "AnalyzeDocument",
        }
    }

    /// Analyses one created object under the loop name `name` and makes sure its answer is
    /// stored (module docs).
    pub(super) async fn process(
        &self,
        loops: &LoopStarter,
        created: &CreatedObject,
        name: &str,
    ) -> RawResult {
        let object = &created.object;
        match loops.existing_loop(name, Attempts::One).await {
            Existing::Ours { status, arn } => {
                return self
                    .already_started(loops, created, name, status, arn)
                    .await
            }
            Existing::Foreign {
                flow_definition_arn,
            } => {
                let reason = name_taken(name, &flow_definition_arn).reason;
                return self.fail(object, name, FailureKind::LoopNameTaken, reason, false);
            }
            Existing::Absent => {}
            Existing::Unknown(e) => {
                tracing::warn!(loop_name = name, error = %e, "DescribeHumanLoop failed; analysing without knowing whether the loop exists");
            }
        }
        let config = LoopConfig {
            name,
            flow_definition_arn: loops.flow_definition_arn(),
            classifiers: loops.content_classifiers(),
        };
        let request = self.request_json(object, &config);
        let registration = LoopRegistration::new(
            name,
            loops.flow_definition_arn(),
            &ItemSource {
                object: object.clone(),
                item_index: 0,
                line: None,
            },
            &request,
            created.event_time,
        )
        .with_task_type(self.task_type);
        if let Err(e) = self.registry.write(&registration).await {
            let reason = format!(
                "{e}; s3://{}/{} was not analysed without its loop's registration",
                object.bucket, object.key
            );
            return self.fail(
                object,
                name,
                FailureKind::RegistryWrite,
                reason,
                e.is_retryable(),
            );
        }
        match self.analyse(object, Some(&config)).await {
            Ok(answer) => self.analysed(loops, created, name, answer).await,
            Err(failure) if failure.reused_name => {
                match loops.existing_loop(name, Attempts::Retried).await {
                    Existing::Ours { status, arn } => {
                        self.already_started(loops, created, name, status, arn)
                            .await
                    }
                    Existing::Foreign {
                        flow_definition_arn,
                    } => {
                        let reason = name_taken(name, &flow_definition_arn).reason;
                        self.fail(object, name, FailureKind::LoopNameTaken, reason, false)
                    }
                    Existing::Absent | Existing::Unknown(_) => {
                        let reason = format!(
                            "{} of s3://{}/{}: {}; the loop name is in use, but DescribeHumanLoop does not find the loop",
                            self.operation(),
                            object.bucket,
                            object.key,
                            failure.call
                        );
                        self.fail(
                            object,
                            name,
                            FailureKind::ServiceRejected,
                            reason,
                            failure.call.retryable,
                        )
                    }
                }
            }
            Err(failure) => self.call_failed(object, name, &failure.call, false),
        }
    }

    /// A fresh answer with `HumanLoopConfig`: log what A2I decided, store the answer.
    async fn analysed(
        &self,
        loops: &LoopStarter,
        created: &CreatedObject,
        name: &str,
        answer: Answer,
    ) -> RawResult {
        let object = &created.object;
        let started = answer.loop_arn.is_some();
        if let Err(failure) = self
            .store(
                loops,
                created,
                name,
                answer.loop_arn.clone(),
                answer.response,
            )
            .await
        {
            return RawResult {
                analysed: true,
                results: answer.results,
                ..self.model_answer_failed(object, name, failure, started)
            };
        }
        let held = answer
            .results
            .as_ref()
            .and_then(|r| r.get("Conditions"))
            .and_then(Value::as_array)
            .map_or(0, |c| {
                c.iter()
                    .filter(|n| n.get("EvaluationResult") == Some(&Value::Bool(true)))
                    .count()
            });
        let outcome = if started {
            // The reasons are A2I's (`ConditionsEvaluation`, `RandomSampling`), not content.
            tracing::info!(loop_name = name, bucket = %object.bucket, key = %object.key, activation_reasons = ?answer.reasons, conditions_held = held, outcome = "started", "analysed; A2I started a human loop");
            ItemOutcome::Started
        } else {
            tracing::info!(loop_name = name, bucket = %object.bucket, key = %object.key, conditions_held = held, outcome = "skipped", "analysed; no activation condition holds, no loop");
            ItemOutcome::Skipped
        };
        RawResult {
            outcome,
            analysed: true,
            results: answer.results,
        }
    }

    /// The object's loop exists: count it `alreadyStarted`, and store its answer if an
    /// earlier invocation could not (analysing it again without `HumanLoopConfig`).
    async fn already_started(
        &self,
        loops: &LoopStarter,
        created: &CreatedObject,
        name: &str,
        status: String,
        arn: Option<String>,
    ) -> RawResult {
        let object = &created.object;
        let key = self.answer_key(object, name);
        match self
            .s3
            .head_object()
            .bucket(&self.results_bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(_) => {
                tracing::info!(loop_name = name, bucket = %object.bucket, key = %object.key, loop_status = status, outcome = "already_started", "human loop already exists");
                return RawResult {
                    outcome: ItemOutcome::AlreadyStarted,
                    analysed: false,
                    results: None,
                };
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => {}
            Err(e) => {
                let call = CallError::classify("HeadObject", &e);
                let hint = if call.status == Some(403) {
                    " (without s3:ListBucket on the results bucket S3 answers 403 for a missing object)"
                } else {
                    ""
                };
                let reason = format!(
                    "the model answer s3://{}/{key} could not be checked: {call}{hint}",
                    self.results_bucket
                );
                return self.fail_flagged(
                    object,
                    name,
                    FailureKind::ModelAnswerWrite,
                    reason,
                    call.retryable,
                    true,
                );
            }
        }
        // No HumanLoopConfig: nothing can start; the loop's ARN comes from DescribeHumanLoop.
        let answer = match self.analyse(object, None).await {
            Ok(answer) => answer,
            Err(failure) => return self.call_failed(object, name, &failure.call, true),
        };
        if let Err(failure) = self.store(loops, created, name, arn, answer.response).await {
            return RawResult {
                analysed: true,
                ..self.model_answer_failed(object, name, failure, true)
            };
        }
        tracing::info!(loop_name = name, bucket = %object.bucket, key = %object.key, loop_status = status, outcome = "already_started", "human loop already exists; its missing model answer was stored");
        RawResult {
            outcome: ItemOutcome::AlreadyStarted,
            analysed: true,
            results: None,
        }
    }

    fn answer_key(&self, object: &ObjectRef, name: &str) -> String {
        model_answer_key(&self.results_prefix, object, name)
    }

    /// Writes the object's [`ModelAnswer`].
    async fn store(
        &self,
        loops: &LoopStarter,
        created: &CreatedObject,
        name: &str,
        loop_arn: Option<String>,
        response: Value,
    ) -> Result<(), (String, CallError)> {
        let object = &created.object;
        let answer = ModelAnswer {
            schema: MODEL_ANSWER_SCHEMA.to_owned(),
            task_type: self.task_type,
            request_source: self.task_type.request_source().unwrap_or("").to_owned(),
            source: RegisteredSource::from(object),
            human_loop_name: name.to_owned(),
            flow_definition_arn: loops.flow_definition_arn().to_owned(),
            human_loop_arn: loop_arn,
            created_at: created.event_time,
            response,
        };
        let key = self.answer_key(object, name);
        self.s3
            .put_object()
            .bucket(&self.results_bucket)
            .key(&key)
            .content_type("application/json")
            .body(ByteStream::from(answer.to_json_bytes()))
            .send()
            .await
            .map_err(|e| (key, CallError::classify("PutObject", &e)))?;
        Ok(())
    }

    fn model_answer_failed(
        &self,
        object: &ObjectRef,
        name: &str,
        (key, call): (String, CallError),
        flagged: bool,
    ) -> RawResult {
        let reason = format!(
            "the model answer of s3://{}/{} could not be written to s3://{}/{key}: {call}; {}",
            object.bucket,
            object.key,
            self.results_bucket,
            if flagged {
                "the loop exists, and a retry stores the answer without starting another"
            } else {
                "a retry analyses the object again"
            }
        );
        self.fail_flagged(
            object,
            name,
            FailureKind::ModelAnswerWrite,
            reason,
            call.retryable,
            flagged,
        )
    }

    fn fail(
        &self,
        object: &ObjectRef,
        name: &str,
        kind: FailureKind,
        reason: String,
        retryable: bool,
    ) -> RawResult {
        self.fail_flagged(object, name, kind, reason, retryable, false)
    }

    fn fail_flagged(
        &self,
        object: &ObjectRef,
        name: &str,
        kind: FailureKind,
        reason: String,
        retryable: bool,
        flagged: bool,
    ) -> RawResult {
        tracing::error!(loop_name = name, bucket = %object.bucket, key = %object.key, reason, retryable, error_kind = kind.as_str(), outcome = "failed", "object not analysed or not stored");
        RawResult {
            outcome: ItemOutcome::Failed {
                failure: Failure {
                    item_index: Some(0),
                    loop_name: Some(name.to_owned()),
                    ..Failure::of(object, kind, reason, retryable)
                },
                flagged,
            },
            analysed: false,
            results: None,
        }
    }

    /// A failed service call as a failure of the object: its kind, and a reason naming the
    /// object, the service's code and what to do.
    fn call_failed(
        &self,
        object: &ObjectRef,
        name: &str,
        call: &CallError,
        flagged: bool,
    ) -> RawResult {
        let kind = failure_kind(call);
        let reason = format!(
            "{} of s3://{}/{}: {call}{}",
            self.operation(),
            object.bucket,
            object.key,
            hint(call, self.task_type)
        );
        self.fail_flagged(object, name, kind, reason, call.retryable, flagged)
    }

    /// The request's canonical JSON, whose SHA-256 the registration records: the API's
    /// members in the API's order, compact, `Version` only when the event has one,
    /// `DataAttributes` only with classifiers.
    fn request_json(&self, object: &ObjectRef, c: &LoopConfig<'_>) -> String {
        let mut s3 = Map::new();
        s3.insert("Bucket".into(), object.bucket.clone().into());
        s3.insert("Name".into(), object.key.clone().into());
        if let Some(v) = &object.version_id {
            s3.insert("Version".into(), v.clone().into());
        }
        let mut request = Map::new();
        let mut media = Map::new();
        media.insert("S3Object".into(), Value::Object(s3));
        match self.task_type {
            TaskType::RekognitionModeration => {
                request.insert("Image".into(), Value::Object(media));
            }
            _ => {
                request.insert("Document".into(), Value::Object(media));
                let features: Vec<Value> = self
                    .features
                    .iter()
                    .map(|f| Value::from(f.as_str()))
                    .collect();
                request.insert("FeatureTypes".into(), Value::Array(features));
            }
        }
        let mut loop_config = Map::new();
        loop_config.insert("HumanLoopName".into(), c.name.into());
        loop_config.insert("FlowDefinitionArn".into(), c.flow_definition_arn.into());
        if !c.classifiers.is_empty() {
            let list: Vec<Value> = c.classifiers.iter().map(|c| c.as_str().into()).collect();
            let mut attrs = Map::new();
            attrs.insert("ContentClassifiers".into(), Value::Array(list));
            loop_config.insert("DataAttributes".into(), Value::Object(attrs));
        }
        request.insert("HumanLoopConfig".into(), Value::Object(loop_config));
        Value::Object(request).to_string()
    }

    /// Calls the service on `object`, with `HumanLoopConfig` when `config` is given.
    async fn analyse(
        &self,
        object: &ObjectRef,
        config: Option<&LoopConfig<'_>>,
    ) -> Result<Answer, ServiceFailure> {
        match self.task_type {
            TaskType::RekognitionModeration => self.moderate(object, config).await,
            _ => self.analyse_document(object, config).await,
        }
    }

    async fn analyse_document(
        &self,
        object: &ObjectRef,
        config: Option<&LoopConfig<'_>>,
    ) -> Result<Answer, ServiceFailure> {
        use aws_sdk_textract::types::{
            ContentClassifier, Document, FeatureType, HumanLoopConfig, HumanLoopDataAttributes,
            S3Object,
        };
        let s3_object = S3Object::builder()
            .bucket(&object.bucket)
            .name(&object.key)
            .set_version(object.version_id.clone())
            .build();
        let mut request = self
            .clients
            .textract
            .analyze_document()
            .document(Document::builder().s3_object(s3_object).build())
            .set_feature_types(Some(
                self.features
                    .iter()
                    .map(|f| FeatureType::from(f.as_str()))
                    .collect(),
            ));
        if let Some(c) = config {
            request = request.human_loop_config(human_loop_config!(c));
        }
        let out = request
            .send()
            .await
            .map_err(|e| service_failure("AnalyzeDocument", &e))?;
        let activation = activation!(out);
        Ok(Answer::new(textract_json(&out), activation))
    }

    async fn moderate(
        &self,
        object: &ObjectRef,
        config: Option<&LoopConfig<'_>>,
    ) -> Result<Answer, ServiceFailure> {
        use aws_sdk_rekognition::types::{
            ContentClassifier, HumanLoopConfig, HumanLoopDataAttributes, Image, S3Object,
        };
        let s3_object = S3Object::builder()
            .bucket(&object.bucket)
            .name(&object.key)
            .set_version(object.version_id.clone())
            .build();
        let mut request = self
            .clients
            .rekognition
            .detect_moderation_labels()
            .image(Image::builder().s3_object(s3_object).build());
        if let Some(c) = config {
            request = request.human_loop_config(human_loop_config!(c));
        }
        let out = request
            .send()
            .await
            .map_err(|e| service_failure("DetectModerationLabels", &e))?;
        let activation = activation!(out);
        Ok(Answer::new(rekognition_json(&out), activation))
    }
}

/// `HumanLoopActivationOutput`, as both services model it.
struct Activation {
    arn: Option<String>,
    reasons: Option<Vec<String>>,
    results: Option<String>,
}

impl Answer {
    /// The answer with `HumanLoopActivationOutput` added as the API has it (the evaluation
    /// results stay the JSON string).
    fn new(mut response: Value, activation: Option<Activation>) -> Self {
        let Some(activation) = activation else {
            return Self {
                response,
                loop_arn: None,
                reasons: Vec::new(),
                results: None,
            };
        };
        let mut out = Map::new();
        if let Some(arn) = &activation.arn {
            out.insert("HumanLoopArn".into(), arn.clone().into());
        }
        if let Some(reasons) = &activation.reasons {
            out.insert("HumanLoopActivationReasons".into(), reasons.clone().into());
        }
        if let Some(results) = &activation.results {
            out.insert(
                "HumanLoopActivationConditionsEvaluationResults".into(),
                results.clone().into(),
            );
        }
        if let Some(map) = response.as_object_mut() {
            map.insert("HumanLoopActivationOutput".into(), Value::Object(out));
        }
        let results = activation.results.as_deref().and_then(|text| {
            serde_json::from_str::<Value>(text)
                .inspect_err(|e| {
                    tracing::warn!(error = %e, "HumanLoopActivationConditionsEvaluationResults is not JSON; not measured");
                })
                .ok()
        });
        Self {
            response,
            loop_arn: activation.arn,
            reasons: activation.reasons.unwrap_or_default(),
            results,
        }
    }
}

fn construction(e: aws_smithy_types::error::operation::BuildError) -> ServiceFailure {
    ServiceFailure {
        call: CallError {
            operation: "HumanLoopConfig",
            failure: crate::error::CallFailure::Construction,
            code: None,
            status: None,
            detail: Some(e.to_string()),
            retryable: false,
        },
        reused_name: false,
    }
}

fn service_failure<E>(operation: &'static str, err: &SdkError<E, HttpResponse>) -> ServiceFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let reused_name = err.as_service_error().is_some_and(|e| {
        e.code() == Some("InvalidParameterException")
            && e.message().is_some_and(|m| m.contains("already exists"))
    });
    ServiceFailure {
        call: CallError::classify(operation, err),
        reused_name,
    }
}

/// Codes of a document or image the service does not take.
const UNSUPPORTED_MEDIA: &[&str] = &[
    "UnsupportedDocumentException",
    "BadDocumentException",
    "DocumentTooLargeException",
    "InvalidImageFormatException",
    "ImageTooLargeException",
];

/// The kind of a failed service call: retryable ones first (throttling, quota, 5xx,
/// timeouts, as [`CallError::classify`] decides), then the media's fault, then the rest.
pub(crate) fn failure_kind(call: &CallError) -> FailureKind {
    if call.retryable {
        FailureKind::ServiceRetryable
    } else if UNSUPPORTED_MEDIA.iter().any(|c| call.has_code(c)) {
        FailureKind::UnsupportedMedia
    } else {
        FailureKind::ServiceRejected
    }
}

/// What a code means for the object, and what to do.
fn hint(call: &CallError, task_type: TaskType) -> String {
    let source = task_type.request_source().unwrap_or("");
    match call.code.as_deref() {
        Some("UnsupportedDocumentException") => "; synchronous AnalyzeDocument with a HumanLoopConfig takes single-page documents only (PNG, JPEG, TIFF, or a one-page PDF): for a multi-page PDF use TASK_TYPE=custom, with the output of the asynchronous StartDocumentAnalysis uploaded as inference results".to_owned(),
        Some("BadDocumentException") => "; Textract cannot read the document (damaged, encrypted, or not the format its bytes claim)".to_owned(),
        Some("DocumentTooLargeException") => "; the document is over synchronous AnalyzeDocument's size limit".to_owned(),
        Some("InvalidImageFormatException") => "; DetectModerationLabels takes PNG and JPEG images only".to_owned(),
        Some("ImageTooLargeException") => "; the image is over DetectModerationLabels' size or dimension limits".to_owned(),
        Some("InvalidS3ObjectException") => "; the service could not read the object: deleted or overwritten after the event, in another Region, or not readable by the function's role".to_owned(),
        Some("AccessDeniedException") => "; the function's role may not call the service (IAM)".to_owned(),
        Some("ResourceNotFoundException") => "; the flow definition does not exist in this Region".to_owned(),
        Some("InvalidParameterException") => format!("; check FLOW_DEFINITION_ARN (its HumanLoopRequestSource must be {source}) and the settings"),
        Some("HumanLoopQuotaExceededException" | "ServiceQuotaExceededException") => "; the account's quota of active human loops is reached; it frees up as reviewers finish, and a retry starts nothing twice".to_owned(),
        _ if call.retryable => "; a retry may succeed, and starts nothing twice".to_owned(),
        _ => String::new(),
    }
}

/// An `f32` of the SDK as the JSON number the API sent: its shortest decimal form (`41.3`,
/// not `41.29999923706055`).
fn number(f: f32) -> Value {
    f.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// Inserts `value` under `name` when present.
fn put(map: &mut Map<String, Value>, name: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(name.to_owned(), v);
    }
}

fn strings<S: AsRef<str>>(list: &[S]) -> Value {
    Value::Array(list.iter().map(|s| Value::from(s.as_ref())).collect())
}

/// `AnalyzeDocument`'s answer in the API's JSON (absent members omitted), without
/// `HumanLoopActivationOutput`.
pub(crate) fn textract_json(
    out: &aws_sdk_textract::operation::analyze_document::AnalyzeDocumentOutput,
) -> Value {
    let mut root = Map::new();
    if let Some(meta) = &out.document_metadata {
        let mut m = Map::new();
        put(&mut m, "Pages", meta.pages.map(Value::from));
        root.insert("DocumentMetadata".into(), Value::Object(m));
    }
    if let Some(blocks) = &out.blocks {
        root.insert(
            "Blocks".into(),
            Value::Array(blocks.iter().map(block_json).collect()),
        );
    }
    put(
        &mut root,
        "AnalyzeDocumentModelVersion",
        out.analyze_document_model_version.clone().map(Value::from),
    );
    Value::Object(root)
}

fn block_json(b: &aws_sdk_textract::types::Block) -> Value {
    let mut m = Map::new();
    put(
        &mut m,
        "BlockType",
        b.block_type.as_ref().map(|t| t.as_str().into()),
    );
    put(&mut m, "Confidence", b.confidence.map(number));
    put(&mut m, "Text", b.text.clone().map(Value::from));
    put(
        &mut m,
        "TextType",
        b.text_type.as_ref().map(|t| t.as_str().into()),
    );
    put(&mut m, "RowIndex", b.row_index.map(Value::from));
    put(&mut m, "ColumnIndex", b.column_index.map(Value::from));
    put(&mut m, "RowSpan", b.row_span.map(Value::from));
    put(&mut m, "ColumnSpan", b.column_span.map(Value::from));
    if let Some(g) = &b.geometry {
        let mut geometry = Map::new();
        if let Some(bb) = &g.bounding_box {
            let mut boxed = Map::new();
            boxed.insert("Width".into(), number(bb.width));
            boxed.insert("Height".into(), number(bb.height));
            boxed.insert("Left".into(), number(bb.left));
            boxed.insert("Top".into(), number(bb.top));
            geometry.insert("BoundingBox".into(), Value::Object(boxed));
        }
        if let Some(polygon) = &g.polygon {
            let points = polygon
                .iter()
                .map(|p| {
                    let mut point = Map::new();
                    point.insert("X".into(), number(p.x));
                    point.insert("Y".into(), number(p.y));
                    Value::Object(point)
                })
                .collect();
            geometry.insert("Polygon".into(), Value::Array(points));
        }
        put(&mut geometry, "RotationAngle", g.rotation_angle.map(number));
        m.insert("Geometry".into(), Value::Object(geometry));
    }
    put(&mut m, "Id", b.id.clone().map(Value::from));
    if let Some(relationships) = &b.relationships {
        let list = relationships
            .iter()
            .map(|r| {
                let mut rel = Map::new();
                put(
                    &mut rel,
                    "Type",
                    r.r#type.as_ref().map(|t| t.as_str().into()),
                );
                put(&mut rel, "Ids", r.ids.as_deref().map(strings));
                Value::Object(rel)
            })
            .collect();
        m.insert("Relationships".into(), Value::Array(list));
    }
    if let Some(types) = &b.entity_types {
        m.insert(
            "EntityTypes".into(),
            Value::Array(types.iter().map(|t| t.as_str().into()).collect()),
        );
    }
    put(
        &mut m,
        "SelectionStatus",
        b.selection_status.as_ref().map(|s| s.as_str().into()),
    );
    put(&mut m, "Page", b.page.map(Value::from));
    Value::Object(m)
}

/// `DetectModerationLabels`' answer in the API's JSON (absent members omitted), without
/// `HumanLoopActivationOutput`.
pub(crate) fn rekognition_json(
    out: &aws_sdk_rekognition::operation::detect_moderation_labels::DetectModerationLabelsOutput,
) -> Value {
    let mut root = Map::new();
    if let Some(labels) = &out.moderation_labels {
        let list = labels
            .iter()
            .map(|l| {
                let mut m = Map::new();
                put(&mut m, "Confidence", l.confidence.map(number));
                put(&mut m, "Name", l.name.clone().map(Value::from));
                put(&mut m, "ParentName", l.parent_name.clone().map(Value::from));
                put(&mut m, "TaxonomyLevel", l.taxonomy_level.map(Value::from));
                Value::Object(m)
            })
            .collect();
        root.insert("ModerationLabels".into(), Value::Array(list));
    }
    put(
        &mut root,
        "ModerationModelVersion",
        out.moderation_model_version.clone().map(Value::from),
    );
    put(
        &mut root,
        "ProjectVersion",
        out.project_version.clone().map(Value::from),
    );
    if let Some(types) = &out.content_types {
        let list = types
            .iter()
            .map(|t| {
                let mut m = Map::new();
                put(&mut m, "Confidence", t.confidence.map(number));
                put(&mut m, "Name", t.name.clone().map(Value::from));
                Value::Object(m)
            })
            .collect();
        root.insert("ContentTypes".into(), Value::Array(list));
    }
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_keep_the_decimal_the_api_sent() {
        assert_eq!(number(41.3), json!(41.3));
        assert_eq!(number(88.5), json!(88.5));
        assert_eq!(number(0.123_456_7), json!(0.1234567));
        assert_eq!(number(f32::NAN), Value::Null);
    }

    #[test]
    fn a_textract_answer_is_the_apis_json_with_absent_members_omitted() {
        use aws_sdk_textract::types::{
            Block, BlockType, BoundingBox, DocumentMetadata, EntityType, Geometry, Point,
            Relationship, RelationshipType, SelectionStatus, TextType,
        };
        let block = Block::builder()
            .block_type(BlockType::KeyValueSet)
            .confidence(41.3)
            .id("k1")
            .entity_types(EntityType::Key)
            .relationships(
                Relationship::builder()
                    .r#type(RelationshipType::Value)
                    .ids("v1")
                    .build(),
            )
            .geometry(
                Geometry::builder()
                    .bounding_box(
                        BoundingBox::builder()
                            .width(0.5)
                            .height(0.25)
                            .left(0.1)
                            .top(0.2)
                            .build(),
                    )
                    .polygon(Point::builder().x(0.1).y(0.2).build())
                    .build(),
            )
            .page(1)
            .build();
        let cell = Block::builder()
            .block_type(BlockType::Cell)
            .row_index(2)
            .column_index(3)
            .row_span(1)
            .column_span(1)
            .selection_status(SelectionStatus::Selected)
            .text_type(TextType::Printed)
            .build();
        let out = aws_sdk_textract::operation::analyze_document::AnalyzeDocumentOutput::builder()
            .document_metadata(DocumentMetadata::builder().pages(1).build())
            .blocks(block)
            .blocks(cell)
            .analyze_document_model_version("1.0")
            .build();
        assert_eq!(
            textract_json(&out),
            json!({"DocumentMetadata": {"Pages": 1}, "Blocks": [
                {"BlockType": "KEY_VALUE_SET", "Confidence": 41.3,
                 "Geometry": {"BoundingBox": {"Width": 0.5, "Height": 0.25, "Left": 0.1, "Top": 0.2}, "Polygon": [{"X": 0.1, "Y": 0.2}]},
                 "Id": "k1", "Relationships": [{"Type": "VALUE", "Ids": ["v1"]}], "EntityTypes": ["KEY"], "Page": 1},
                {"BlockType": "CELL", "TextType": "PRINTED", "RowIndex": 2, "ColumnIndex": 3, "RowSpan": 1, "ColumnSpan": 1, "SelectionStatus": "SELECTED"}
            ], "AnalyzeDocumentModelVersion": "1.0"})
        );
    }

    #[test]
    fn the_activation_output_keeps_the_evaluation_results_as_a_string() {
        let results = r#"{"Conditions":[{"EvaluationResult":true}]}"#;
        let answer = Answer::new(
            json!({"ModerationLabels": []}),
            Some(Activation {
                arn: Some("arn:l".into()),
                reasons: Some(vec!["ConditionsEvaluation".into()]),
                results: Some(results.into()),
            }),
        );
        assert_eq!(
            answer.response["HumanLoopActivationOutput"],
            json!({"HumanLoopArn": "arn:l", "HumanLoopActivationReasons": ["ConditionsEvaluation"],
                   "HumanLoopActivationConditionsEvaluationResults": results})
        );
        assert_eq!(
            answer.results,
            Some(json!({"Conditions":[{"EvaluationResult":true}]}))
        );
        assert_eq!(answer.loop_arn.as_deref(), Some("arn:l"));
        let none = Answer::new(json!({}), None);
        assert_eq!(none.response, json!({}));
    }

    #[test]
    fn failure_kinds_follow_the_code() {
        let call = |code: &str, retryable: bool| CallError {
            operation: "AnalyzeDocument",
            failure: crate::error::CallFailure::Service,
            code: Some(code.into()),
            status: Some(400),
            detail: None,
            retryable,
        };
        assert_eq!(
            failure_kind(&call("ThrottlingException", true)),
            FailureKind::ServiceRetryable
        );
        for code in UNSUPPORTED_MEDIA {
            assert_eq!(
                failure_kind(&call(code, false)),
                FailureKind::UnsupportedMedia
            );
        }
        assert_eq!(
            failure_kind(&call("AccessDeniedException", false)),
            FailureKind::ServiceRejected
        );
    }
}
