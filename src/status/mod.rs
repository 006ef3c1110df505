//! The status handler: A2I loop-status events to reviewed results in S3.
//!
//! EventBridge delivers `SageMaker A2I HumanLoop Status Change` events at least once, and
//! SageMaker may send several events for one change. For each event [`StatusHandler::handle`]:
//!
//! 1. **Parses** the event ([`parse_event`] into an [`event`] type): another `source` or `detail-type` is a non-retryable
//!    error naming the value (the rule is wider than it should be); a loop of another flow
//!    definition (when `FLOW_DEFINITION_ARN` is set) is **ignored** with a log line.
//! 2. **Completed**: reads `output.json` from `detail.humanLoopOutput.outputS3Uri`
//!    ([`output`]). Missing (`NoSuchKey`; A2I can write it after the event) is *retryable*;
//!    a malformed file is not. The function's role needs `s3:ListBucket` on the output bucket:
//!    without it S3 answers a missing object with 403 `AccessDenied`, which is not retried.
//!    When the event carries no `flowDefinitionArn`, the file's one is used for the filter.
//! 3. **Failed / Stopped**: recorded from the event (status, `failureCode`, `failureReason`,
//!    the output URI if any) and the loop's registration ([`crate::registry`]), which names
//!    the item. `output.json` is not read: A2I documents none for these statuses, and reading
//!    one only when it happens to exist would make the result's key depend on timing. Failed
//!    logs at error level. A `Completed` loop whose `output.json` does not name its source is
//!    looked up in the registry too.
//!    A **built-in loop** (Textract / Rekognition with a `HumanLoopConfig`; its output.json
//!    has `awsManagedHumanLoopRequestSource` or `aiServiceRequest`, at the top level or under
//!    `inputContent` / `humanLoopInputContent`) names its object in `aiServiceRequest`; its
//!    stored model answer is read from `RESULTS_BUCKET` and joined in ([`builtin`]). No model
//!    answer (`NoSuchKey`) is a warning and `modelAnswer: null`; other S3 errors fail the event
//!    as the other reads do. A `Stopped` or `Failed` built-in loop is known as one from its
//!    registration's `taskType`; its model answer is joined the same way (no reviewer
//!    answers), so an expired form still has the model's pairs next to its result.
//! 4. Any other status (`InProgress`, `Stopping`, unknown values) is a non-retryable error.
//! 5. **Writes** one [`ReviewedResult`] to `RESULTS_BUCKET` under [`result_key`] with
//!    `content-type: application/json`.
//!
//! ## Decisions
//!
//! - **Key**: `{RESULTS_PREFIX}{source bucket}/{source key}/{loop name}.json` when the loop
//!   input or its registration names its source (loops of the start handler), else
//!   `{RESULTS_PREFIX}_no-source/{loop name}.json` (loops this app did not start: no
//!   registration); keys over 1024 bytes are shortened with a hash. See [`result_key`]. A
//!   registration that cannot be read fails the event (retryable when S3 is), rather than
//!   putting a known item's result under `_no-source`.
//! - **Metrics**: one EMF record per event ([`crate::metrics`]): `Completed`, `Failed`,
//!   `Stopped`, `ResultsWithoutSource`, `Ignored`, `Errors` and `Errors.<kind>`, and for
//!   Completed loops `ReviewTimeSeconds`, `AnswersPerLoop` and `AgreementRate`.
//! - **Idempotency**: the document depends only on the event and `output.json`: the
//!   completion time is the event's `time` (when A2I reported the status), never the clock;
//!   serialization is deterministic. A duplicate event rewrites the same bytes. Two distinct
//!   events for the same change (SageMaker may send both) write the same key; they differ at
//!   most in `completionTime`.
//! - **Agreement**: per dotted answer field, with majority defined as more than half of all
//!   answers; see [`agreement`].
//! - **Logs**: one line per event with the event id, loop name, status, outcome and result key
//!   (and error kind); never answer or item content, nor the failure reason.

pub mod agreement;
pub mod builtin;
pub mod error;
pub mod event;
mod json;
pub mod output;
mod parse;
pub mod result;
mod time;

use aws_sdk_s3::primitives::ByteStream;
use serde::Serialize;
use serde_json::Value;

use crate::builtin::{model_answer_key, ModelAnswer, MAX_MODEL_ANSWER_BYTES};
use crate::config::StatusConfig;
use crate::error::{CallError, FunctionError};
use crate::metrics::{EmfRecord, MetricsSink, Unit};
use crate::registry::{ParseError, Registry, RegistryError};
use crate::source::parse_s3_uri;

pub use builtin::{BuiltinReview, BuiltinSummary};
pub use error::StatusError;
pub use event::{A2iStatusDetail, HumanLoopStatus, LoopName, StatusEvent};
pub use json::FieldError;
pub use output::{BuiltinLayout, BuiltinLoopInput, HumanAnswer, HumanLoopOutput};
pub use parse::parse_event;
pub use result::{result_key, FinalStatus, LoopInputParts, ReviewedResult};

/// What happened to an event; the Lambda's JSON result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "outcome",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum StatusOutcome {
    /// A reviewed result was written (or rewritten with the same bytes).
    Written {
        /// The loop.
        human_loop_name: String,
        /// Its final status.
        status: FinalStatus,
        /// Bucket of the result.
        result_bucket: String,
        /// Key of the result.
        result_key: String,
    },
    /// The loop belongs to another flow definition; nothing was written.
    Ignored {
        /// The loop.
        human_loop_name: String,
        /// The loop's flow definition.
        flow_definition_arn: String,
        /// Why it was ignored.
        reason: String,
    },
}

/// The status handler: settings plus the S3 client, built once per cold start.
#[derive(Debug, Clone)]
pub struct StatusHandler {
    config: StatusConfig,
    s3: aws_sdk_s3::Client,
    registry: Registry,
    metrics: MetricsSink,
}

/// An outcome with what the log line and the metrics need besides it.
struct Processed {
    outcome: StatusOutcome,
    /// `failureCode` of a Failed or Stopped loop.
    failure_code: Option<String>,
    /// What the written result measures (`None` when nothing was written).
    measured: Option<Measured>,
}

/// The numbers of one written result.
struct Measured {
    flow_definition_arn: Option<String>,
    no_source: bool,
    review_time_seconds: Option<f64>,
    answers: Option<usize>,
    agreement_percent: Option<f64>,
}

impl StatusHandler {
    /// Takes the settings and a client (a real one, or one over an in-process S3 in tests).
    pub fn new(config: StatusConfig, s3: aws_sdk_s3::Client) -> Self {
        let registry = Registry::new(
            s3.clone(),
            config.results_bucket.clone(),
            config.registry_prefix.clone(),
        );
        Self {
            config,
            s3,
            registry,
            metrics: MetricsSink::Off,
        }
    }

    /// Where each event's EMF record goes (the library default is nowhere; the Lambda
    /// bootstrap prints it to stdout).
    pub fn with_metrics(mut self, sink: MetricsSink) -> Self {
        self.metrics = sink;
        self
    }

    /// Handles one EventBridge event, given as raw JSON so a malformed event gets a typed error
    /// rather than a deserialization failure outside the handler.
    pub async fn handle(&self, event: Value) -> Result<StatusOutcome, StatusError> {
        let event_id = event
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let result = self.process(event).await;
        log_result(&event_id, &result);
        self.metrics.emit(&self.record(&result));
        result.map(|p| p.outcome)
    }

    /// The event's EMF record.
    fn record(&self, result: &Result<Processed, StatusError>) -> EmfRecord {
        let configured = self.config.flow_definition_arn.as_deref();
        match result {
            Ok(Processed {
                outcome: StatusOutcome::Written { status, .. },
                measured: Some(m),
                ..
            }) => {
                let mut r =
                    EmfRecord::new("status", m.flow_definition_arn.as_deref().or(configured));
                for s in [
                    FinalStatus::Completed,
                    FinalStatus::Failed,
                    FinalStatus::Stopped,
                ] {
                    r.count(s.as_str(), usize::from(*status == s));
                }
                r.count("ResultsWithoutSource", usize::from(m.no_source));
                if let Some(t) = m.review_time_seconds {
                    r.put("ReviewTimeSeconds", Unit::Seconds, t);
                }
                if let Some(n) = m.answers {
                    r.count("AnswersPerLoop", n);
                }
                if let Some(p) = m.agreement_percent {
                    r.put("AgreementRate", Unit::Percent, p);
                }
                r
            }
            Ok(_) => {
                let mut r = EmfRecord::new("status", configured);
                r.count("Ignored", 1);
                r
            }
            Err(e) => {
                let mut r = EmfRecord::new("status", configured);
                r.count("Errors", 1);
                r.count(format!("Errors.{}", e.kind()), 1);
                r
            }
        }
    }

    async fn process(&self, raw: Value) -> Result<Processed, StatusError> {
        let event = parse_event(raw)?;
        let name = &event.detail.human_loop_name;
        let status = match &event.detail.human_loop_status {
            HumanLoopStatus::Completed => FinalStatus::Completed,
            HumanLoopStatus::Failed => FinalStatus::Failed,
            HumanLoopStatus::Stopped => FinalStatus::Stopped,
            other => {
                return Err(StatusError::UnexpectedStatus {
                    loop_name: name.to_string(),
                    status: other.to_string(),
                })
            }
        };
        if let Some(ignored) = self.foreign_flow(name, event.detail.flow_definition_arn.as_deref())
        {
            return Ok(Processed {
                outcome: ignored,
                failure_code: None,
                measured: None,
            });
        }
        let parts = match status {
            FinalStatus::Completed => {
                let output = self.read_output(&event.detail).await?;
                if event.detail.flow_definition_arn.is_none() {
                    if let Some(ignored) =
                        self.foreign_flow(name, Some(&output.flow_definition_arn))
                    {
                        return Ok(Processed {
                            outcome: ignored,
                            failure_code: None,
                            measured: None,
                        });
                    }
                }
                Some(output)
            }
            FinalStatus::Failed | FinalStatus::Stopped => None,
        };
        let mut builtin_input = parts.as_ref().and_then(|o| o.builtin.clone());
        let mut result = build_result(&event, status, parts);
        if result.source.is_none() {
            if let Some((source, task_type)) = self
                .registered_source(name, result.flow_definition_arn.as_deref())
                .await?
            {
                // A Stopped or Failed built-in loop: no output.json says it is built-in, its
                // registration does, and its model answer is joined like a Completed one's.
                if builtin_input.is_none() {
                    builtin_input = task_type.and_then(|t| {
                        output::BuiltinLoopInput::registered(t, source.object.clone())
                    });
                }
                result.source = Some(source);
            }
        }
        if let Some(input) = &builtin_input {
            self.join_builtin(&event.detail, input, &mut result).await?;
        }
        let key = result_key(&self.config.results_prefix, result.source.as_ref(), name);
        self.write(&key, result.to_json_bytes()).await?;
        let outcome = StatusOutcome::Written {
            human_loop_name: name.to_string(),
            status,
            result_bucket: self.config.results_bucket.clone(),
            result_key: key,
        };
        Ok(Processed {
            outcome,
            failure_code: event.detail.failure_code,
            measured: Some(measure(&result)),
        })
    }

    /// The item of loop `name` and its built-in task type (`None` for a custom loop), from
    /// its registration; `None` when the app did not start
    /// it (no registration) or the registration is of another flow definition than `flow`
    /// (a name reused after the registered loop was deleted).
    async fn registered_source(
        &self,
        name: &LoopName,
        flow: Option<&str>,
    ) -> Result<
        Option<(
            crate::loop_input::ItemSource,
            Option<crate::builtin::TaskType>,
        )>,
        StatusError,
    > {
        let registry_error = |error| StatusError::Registry {
            loop_name: name.to_string(),
            error: Box::new(error),
        };
        let Some(registration) = self
            .registry
            .read(name.as_str())
            .await
            .map_err(registry_error)?
        else {
            return Ok(None);
        };
        if registration.human_loop_name != name.as_str() {
            return Err(registry_error(RegistryError::Parse {
                bucket: self.registry.bucket().to_owned(),
                key: self.registry.key(name.as_str()),
                source: ParseError::Invalid(crate::field_path::PathError {
                    path: "humanLoopName".into(),
                    problem: "names another loop than its key".into(),
                }),
            }));
        }
        if flow.is_some_and(|f| f != registration.flow_definition_arn) {
            tracing::warn!(
                human_loop_name = name.as_str(),
                registered_flow_definition_arn = registration.flow_definition_arn,
                "the loop's registration is of another flow definition; not used"
            );
            return Ok(None);
        }
        Ok(Some((registration.item_source(), registration.task_type)))
    }

    /// Adds a built-in loop's members to its result: the answers under the request source,
    /// the summary, and the stored model answer (with the activation reasons it records).
    async fn join_builtin(
        &self,
        detail: &A2iStatusDetail,
        input: &output::BuiltinLoopInput,
        result: &mut ReviewedResult,
    ) -> Result<(), StatusError> {
        let name = detail.human_loop_name.as_str();
        let object = result.source.as_ref().map(|s| s.object.clone());
        let key = object
            .as_ref()
            .map(|o| model_answer_key(&self.config.results_prefix, o, name));
        let answers = result.human_answers.as_deref().unwrap_or_default();
        let mut review = builtin::review(input, answers, key.clone()).map_err(|e| {
            let (bucket, key) = detail
                .output_s3_uri()
                .and_then(|uri| parse_s3_uri(uri).ok())
                .unwrap_or_default();
            StatusError::InvalidOutput {
                bucket,
                key,
                problem: e.to_string(),
            }
        })?;
        let model = match (&object, &key) {
            (Some(object), Some(key)) => self.read_model_answer(name, object, key).await?,
            _ => None,
        };
        if let (Some(model), Some(key)) = (&model, &key) {
            let invalid = |problem: String| StatusError::InvalidModelAnswer {
                bucket: self.config.results_bucket.clone(),
                key: key.clone(),
                problem,
            };
            if model.task_type != input.task_type {
                return Err(invalid(format!(
                    "taskType is {}, but the loop's output is of {}",
                    model.task_type, input.task_type
                )));
            }
            review.join(model).map_err(|e| invalid(e.to_string()))?;
            if let Some(source) = result.source.as_mut() {
                // The model answer knows the object's ETag (from the S3 event); the loop's
                // request names only bucket, key and version.
                source.object.e_tag = model.source.e_tag.clone();
                if source.object.version_id.is_none() {
                    source.object.version_id = model.source.version_id.clone();
                }
            }
            result.activation_reasons = builtin::activation_reasons(model);
            if result.human_task_activation_condition_results.is_none() {
                result.human_task_activation_condition_results = builtin::condition_results(model);
            }
        }
        result.builtin = Some(review);
        Ok(())
    }

    /// Reads the model answer of loop `name` at `key` in the results bucket (at most
    /// [`MAX_MODEL_ANSWER_BYTES`]); `None`, with a warning, when none is stored (the result
    /// is still written, with `modelAnswer: null`).
    async fn read_model_answer(
        &self,
        name: &str,
        object: &crate::source::ObjectRef,
        key: &str,
    ) -> Result<Option<ModelAnswer>, StatusError> {
        use tokio::io::AsyncReadExt;
        let bucket = &self.config.results_bucket;
        let out = match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                tracing::warn!(
                    human_loop_name = name,
                    model_answer_key = key,
                    "no model answer is stored for this built-in loop; the result has none"
                );
                return Ok(None);
            }
            Err(e) => return Err(StatusError::s3("GetObject", bucket, key, &e)),
        };
        let invalid = |problem: String| StatusError::InvalidModelAnswer {
            bucket: bucket.clone(),
            key: key.to_owned(),
            problem,
        };
        if let Some(len) = out
            .content_length()
            .filter(|&l| l > MAX_MODEL_ANSWER_BYTES as i64)
        {
            return Err(invalid(format!(
                "it is {len} bytes, over the {MAX_MODEL_ANSWER_BYTES}-byte limit"
            )));
        }
        let mut bytes = Vec::new();
        out.body
            .into_async_read()
            .take(MAX_MODEL_ANSWER_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| StatusError::S3 {
                bucket: bucket.clone(),
                key: key.to_owned(),
                call: CallError::body_read("GetObject", &e),
            })?;
        let model = ModelAnswer::parse(&bytes).map_err(|e| invalid(e.to_string()))?;
        if model.human_loop_name != name {
            return Err(invalid("humanLoopName names another loop".into()));
        }
        if model.source.bucket != object.bucket || model.source.key != object.key {
            return Err(invalid(
                "source names another object than the loop's request".into(),
            ));
        }
        Ok(Some(model))
    }

    /// `Some(Ignored)` when a flow definition is configured and `arn` is another one.
    fn foreign_flow(&self, name: &LoopName, arn: Option<&str>) -> Option<StatusOutcome> {
        let (wanted, arn) = (self.config.flow_definition_arn.as_deref()?, arn?);
        (wanted != arn).then(|| StatusOutcome::Ignored {
            human_loop_name: name.to_string(),
            flow_definition_arn: arn.to_owned(),
            reason: format!("the loop belongs to another flow definition than {wanted}"),
        })
    }

    /// Reads and parses `output.json`, checking it belongs to the event's loop.
    async fn read_output(&self, detail: &A2iStatusDetail) -> Result<HumanLoopOutput, StatusError> {
        let loop_name = detail.human_loop_name.to_string();
        let uri = detail
            .output_s3_uri()
            .ok_or_else(|| StatusError::MissingOutputUri {
                loop_name: loop_name.clone(),
            })?;
        let (bucket, key) = parse_s3_uri(uri).map_err(|e| StatusError::InvalidOutputUri {
            loop_name: loop_name.clone(),
            uri: e.uri,
            rule: e.rule,
        })?;
        let response = self
            .s3
            .get_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .map_err(|err| {
                if err.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                    StatusError::OutputNotFound {
                        bucket: bucket.clone(),
                        key: key.clone(),
                    }
                } else {
                    StatusError::s3("GetObject", &bucket, &key, &err)
                }
            })?;
        let bytes = response
            .body
            .collect()
            .await
            .map_err(|e| StatusError::S3 {
                bucket: bucket.clone(),
                key: key.clone(),
                call: CallError::body_read("GetObject", &e),
            })?
            .into_bytes();
        let invalid = |problem: String| StatusError::InvalidOutput {
            bucket: bucket.clone(),
            key: key.clone(),
            problem,
        };
        let output = HumanLoopOutput::parse(&bytes).map_err(|e| invalid(e.to_string()))?;
        if output.human_loop_name != detail.human_loop_name.as_str() {
            return Err(invalid(format!(
                "humanLoopName is {:?}, but the event is for loop {:?}",
                output.human_loop_name,
                detail.human_loop_name.as_str()
            )));
        }
        if let Some(arn) = detail.flow_definition_arn.as_deref() {
            if output.flow_definition_arn != arn {
                return Err(invalid(format!(
                    "flowDefinitionArn is {:?}, but the event says {arn:?}",
                    output.flow_definition_arn
                )));
            }
        }
        Ok(output)
    }

    async fn write(&self, key: &str, body: Vec<u8>) -> Result<(), StatusError> {
        let bucket = &self.config.results_bucket;
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|err| StatusError::s3("PutObject", bucket, key, &err))?;
        Ok(())
    }
}

/// What a written result measures.
fn measure(result: &ReviewedResult) -> Measured {
    let completed = result.status == FinalStatus::Completed;
    let review_time_seconds = result
        .completion_time
        .filter(|_| completed)
        .map(|done| (done - result.creation_time).num_milliseconds() as f64 / 1000.0)
        // EventBridge's `time` has whole seconds, so a loop finished within its first second
        // can seem to end before it began.
        .map(|s| s.max(0.0));
    let agreement_percent = result
        .agreement
        .as_ref()
        .filter(|a| !a.is_empty())
        .map(|a| {
            let agreed = a.values().filter(|f| f.agree).count();
            100.0 * agreed as f64 / a.len() as f64
        });
    Measured {
        flow_definition_arn: result.flow_definition_arn.clone(),
        no_source: result.source.is_none(),
        review_time_seconds,
        answers: result.answer_count.filter(|_| completed),
        agreement_percent,
    }
}

/// Joins the event, the loop input and the answers into the result document.
fn build_result(
    event: &StatusEvent,
    status: FinalStatus,
    output: Option<HumanLoopOutput>,
) -> ReviewedResult {
    let d = &event.detail;
    let (parts, flow_from_output, answers) = match output {
        Some(o) => (
            match &o.builtin {
                // A built-in loop names its object in the service request, and A2I's
                // evaluation of the flow definition's conditions is in the output.
                Some(b) => LoopInputParts {
                    source: b
                        .object
                        .clone()
                        .map(|object| crate::loop_input::ItemSource {
                            object,
                            item_index: 0,
                            line: None,
                        }),
                    activation_reasons: None,
                    condition_results: b.condition_results.clone(),
                },
                None => LoopInputParts::from_input_content(o.input_content.as_ref()),
            },
            Some(o.flow_definition_arn),
            Some(o.human_answers),
        ),
        None => (LoopInputParts::default(), None, None),
    };
    let agreement = answers.as_ref().and_then(|a| {
        let contents: Vec<&Value> = a.iter().map(|h| &h.answer_content).collect();
        agreement::agreement(&contents)
    });
    ReviewedResult {
        schema_version: result::RESULT_SCHEMA_VERSION,
        human_loop_name: d.human_loop_name.clone(),
        human_loop_arn: event::human_loop_arn(event).map(str::to_owned),
        flow_definition_arn: d.flow_definition_arn.clone().or(flow_from_output),
        status,
        creation_time: d.creation_time,
        completion_time: event.time,
        failure_code: d.failure_code.clone(),
        failure_reason: d.failure_reason.clone(),
        output_s3_uri: d.output_s3_uri().map(str::to_owned),
        source: parts.source,
        activation_reasons: parts.activation_reasons,
        human_task_activation_condition_results: parts.condition_results,
        answer_count: answers.as_ref().map(Vec::len),
        human_answers: answers,
        agreement,
        builtin: None,
    }
}

/// The one log line per event. Failed loops and errors are logged at error level (retryable
/// errors at warn: they are expected to clear); nothing from answers or items is logged.
fn log_result(event_id: &str, result: &Result<Processed, StatusError>) {
    match result {
        Ok(Processed {
            outcome:
                StatusOutcome::Written {
                    human_loop_name,
                    status,
                    result_key,
                    ..
                },
            failure_code,
            ..
        }) => {
            let failure_code = failure_code.as_deref().unwrap_or_default();
            if *status == FinalStatus::Failed {
                tracing::error!(
                    event_id,
                    human_loop_name,
                    status = status.as_str(),
                    failure_code,
                    result_key,
                    outcome = "written",
                    "human loop failed; result recorded"
                );
            } else {
                tracing::info!(
                    event_id,
                    human_loop_name,
                    status = status.as_str(),
                    failure_code,
                    result_key,
                    outcome = "written",
                    "human loop result recorded"
                );
            }
        }
        Ok(Processed {
            outcome:
                StatusOutcome::Ignored {
                    human_loop_name,
                    flow_definition_arn,
                    ..
                },
            ..
        }) => {
            tracing::info!(
                event_id,
                human_loop_name,
                flow_definition_arn,
                outcome = "ignored",
                "human loop of another flow definition ignored"
            );
        }
        Err(e) => {
            let retryable = e.is_retryable();
            let kind = e.kind();
            if retryable {
                tracing::warn!(event_id, error_kind = kind, retryable, error = %e, "status event failed; will be retried");
            } else {
                tracing::error!(event_id, error_kind = kind, retryable, error = %e, "status event rejected");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    use aws_sdk_s3::types::error::NoSuchKey;
    use aws_sdk_s3::Client;
    use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
    use serde_json::json;

    const FLOW: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/a2i-review-demo";

    fn config(flow: Option<&str>) -> StatusConfig {
        StatusConfig {
            results_bucket: "results".into(),
            results_prefix: "reviewed/".into(),
            flow_definition_arn: flow.map(str::to_owned),
            registry_prefix: "loops/".into(),
        }
    }

    fn event(status: &str) -> Value {
        json!({
            "version": "0", "id": "ev-1", "detail-type": "SageMaker A2I HumanLoop Status Change",
            "source": "aws.sagemaker", "account": "111122223333", "time": "2026-11-21T10:05:00Z",
            "region": "us-east-1", "resources": [],
            "detail": {
                "creationTime": "2026-11-21T10:00:00.123Z", "failureCode": null, "failureReason": null,
                "flowDefinitionArn": FLOW,
                "humanLoopArn": "arn:aws:sagemaker:us-east-1:111122223333:human-loop/loop-1",
                "humanLoopName": "loop-1",
                "humanLoopOutput": {"outputS3Uri": "s3://out/a2i-review-demo/2026/11/21/10/00/00/loop-1/output.json"},
                "humanLoopStatus": status
            }
        })
    }

    fn output_json() -> Vec<u8> {
        serde_json::to_vec(&json!({
            "flowDefinitionArn": FLOW, "humanLoopName": "loop-1",
            "humanAnswers": [{"answerContent": {"ok": {"on": true}}, "submissionTime": "2026-11-21T10:04:00Z", "workerId": "w1"}],
            "inputContent": {"taskObject": 1}
        }))
        .unwrap()
    }

    /// A handler over mocked S3 with `rules`, where no loop is registered.
    fn handler(rules: &[&Rule]) -> StatusHandler {
        let unregistered = mock!(Client::get_object)
            .match_requests(|r| r.key().is_some_and(|k| k.starts_with("loops/")))
            .then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
        let mut rules = rules.to_vec();
        rules.insert(0, &unregistered);
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules, |b| b
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled()));
        StatusHandler::new(config(Some(FLOW)), s3)
    }

    fn get_ok() -> Rule {
        mock!(Client::get_object).then_output(|| {
            GetObjectOutput::builder()
                .body(ByteStream::from(output_json()))
                .build()
        })
    }

    /// A raw S3 error response, as S3 sends it (XML body with the error code).
    fn s3_error(status: u16, code: &str) -> aws_sdk_s3::config::http::HttpResponse {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>m</Message><RequestId>r</RequestId></Error>"
        );
        aws_sdk_s3::config::http::HttpResponse::new(
            status.try_into().expect("a valid HTTP status in the test"),
            aws_sdk_s3::primitives::SdkBody::from(body),
        )
    }

    #[tokio::test]
    async fn a_503_from_get_object_is_retryable_and_names_the_object() {
        let get = mock!(Client::get_object).then_http_response(|| s3_error(503, "SlowDown"));
        let e = handler(&[&get])
            .handle(event("Completed"))
            .await
            .unwrap_err();
        assert!(e.is_retryable(), "{e}");
        assert_eq!(e.error_type(), "Retryable.S3");
        assert!(
            e.to_string().contains(
                "GetObject s3://out/a2i-review-demo/2026/11/21/10/00/00/loop-1/output.json"
            ),
            "{e}"
        );
    }

    #[tokio::test]
    async fn access_denied_is_not_retryable_but_a_timeout_code_is() {
        let get = mock!(Client::get_object).then_http_response(|| s3_error(403, "AccessDenied"));
        let e = handler(&[&get])
            .handle(event("Completed"))
            .await
            .unwrap_err();
        assert!(!e.is_retryable(), "{e}");
        assert!(e.to_string().contains("AccessDenied"), "{e}");
        let get = mock!(Client::get_object).then_http_response(|| s3_error(400, "RequestTimeout"));
        let e = handler(&[&get])
            .handle(event("Completed"))
            .await
            .unwrap_err();
        assert!(e.is_retryable(), "{e}");
    }

    #[tokio::test]
    async fn no_such_key_is_a_retryable_missing_output() {
        let get = mock!(Client::get_object)
            .then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
        let e = handler(&[&get])
            .handle(event("Completed"))
            .await
            .unwrap_err();
        match &e {
            StatusError::OutputNotFound { bucket, key } => {
                assert_eq!(bucket, "out");
                assert_eq!(
                    key,
                    "a2i-review-demo/2026/11/21/10/00/00/loop-1/output.json"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.error_type(), "Retryable.OutputNotFound");
    }

    #[tokio::test]
    async fn a_failing_put_is_reported_with_the_result_key() {
        let put = mock!(Client::put_object).then_http_response(|| s3_error(500, "InternalError"));
        let e = handler(&[&get_ok(), &put])
            .handle(event("Completed"))
            .await
            .unwrap_err();
        assert!(e.is_retryable());
        assert!(
            e.to_string()
                .contains("PutObject s3://results/reviewed/_no-source/loop-1.json"),
            "{e}"
        );
        let put = mock!(Client::put_object).then_http_response(|| s3_error(403, "AccessDenied"));
        let e = handler(&[&put]).handle(event("Stopped")).await.unwrap_err();
        assert!(!e.is_retryable());
    }

    #[tokio::test]
    async fn failed_and_stopped_never_read_output_json() {
        let get = get_ok();
        let put = mock!(Client::put_object).then_output(|| PutObjectOutput::builder().build());
        let h = handler(&[&get, &put]);
        for status in ["Failed", "Stopped"] {
            let out = h.handle(event(status)).await.unwrap();
            assert!(
                matches!(out, StatusOutcome::Written { ref result_key, .. } if result_key == "reviewed/_no-source/loop-1.json")
            );
        }
        assert_eq!(get.num_calls(), 0);
        assert_eq!(put.num_calls(), 2);
    }

    #[tokio::test]
    async fn a_foreign_flow_definition_makes_no_s3_call() {
        let get = get_ok();
        let put = mock!(Client::put_object).then_output(|| PutObjectOutput::builder().build());
        let mut e = event("Completed");
        e["detail"]["flowDefinitionArn"] =
            json!("arn:aws:sagemaker:us-east-1:111122223333:flow-definition/other");
        let out = handler(&[&get, &put]).handle(e).await.unwrap();
        assert!(matches!(out, StatusOutcome::Ignored { .. }), "{out:?}");
        assert_eq!(get.num_calls() + put.num_calls(), 0);
    }

    #[tokio::test]
    async fn a_result_is_written_as_json_with_its_content_type() {
        let dir = tempfile::tempdir().unwrap();
        let s3 = crate::testing::local_s3(dir.path());
        let key = "a2i-review-demo/2026/11/21/10/00/00/loop-1/output.json";
        crate::testing::put(&s3, "out", key, &output_json()).await;
        s3.create_bucket().bucket("results").send().await.unwrap();
        let h = StatusHandler::new(config(None), s3.clone());
        let out = h.handle(event("Completed")).await.unwrap();
        let StatusOutcome::Written {
            result_key,
            result_bucket,
            ..
        } = out
        else {
            panic!("{out:?}")
        };
        let got = s3
            .get_object()
            .bucket(&result_bucket)
            .key(&result_key)
            .send()
            .await
            .unwrap();
        assert_eq!(got.content_type(), Some("application/json"));
        let bytes = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(bytes.last(), Some(&b'\n'));
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(doc["answerCount"], json!(1));
        assert_eq!(
            doc["humanAnswers"][0]["answerContent"],
            json!({"ok": {"on": true}})
        );
    }

    #[tokio::test]
    async fn a_failing_model_answer_read_is_classified_like_the_other_reads() {
        let builtin_output = serde_json::to_vec(&json!({
            "aiServiceRequest": {"image": {"s3Object": {"bucket": "raw", "name": "p.png"}}},
            "awsManagedHumanLoopRequestSource": crate::builtin::REKOGNITION_MODERATION_SOURCE,
            "flowDefinitionArn": FLOW, "humanLoopName": "loop-1",
            "humanAnswers": [{"answerContent": {}, "submissionTime": "2026-11-21T10:04:00Z", "workerId": "w1"}]
        }))
        .unwrap();
        for (status, code, retryable) in [(503, "SlowDown", true), (403, "AccessDenied", false)] {
            let output = builtin_output.clone();
            let get_output = mock!(Client::get_object)
                .match_requests(|r| r.key().is_some_and(|k| k.ends_with("output.json")))
                .then_output(move || {
                    GetObjectOutput::builder()
                        .body(ByteStream::from(output.clone()))
                        .build()
                });
            let get_model = mock!(Client::get_object)
                .match_requests(|r| r.key().is_some_and(|k| k.ends_with(".model.json")))
                .then_http_response(move || s3_error(status, code));
            let e = handler(&[&get_output, &get_model])
                .handle(event("Completed"))
                .await
                .unwrap_err();
            assert_eq!(e.is_retryable(), retryable, "{e}");
            assert!(
                e.to_string()
                    .contains("GetObject s3://results/reviewed/raw/p.png/loop-1.model.json"),
                "{e}"
            );
        }
    }

    #[test]
    fn outcomes_serialize_as_tagged_camel_case_json() {
        let w = StatusOutcome::Written {
            human_loop_name: "l".into(),
            status: FinalStatus::Completed,
            result_bucket: "b".into(),
            result_key: "k".into(),
        };
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            json!({"outcome": "written", "humanLoopName": "l", "status": "Completed", "resultBucket": "b", "resultKey": "k"})
        );
        let i = StatusOutcome::Ignored {
            human_loop_name: "l".into(),
            flow_definition_arn: "arn".into(),
            reason: "r".into(),
        };
        assert_eq!(
            serde_json::to_value(&i).unwrap()["outcome"],
            json!("ignored")
        );
    }
}
