//! The stack's `Custom::A2IFlow` resource: creates an A2I task UI and the flow definition that
//! uses it, together, from a shipped worker template; replaces both when anything they are
//! made of changes; deletes them; and always answers CloudFormation.
//!
//! For a built-in task type (`TaskType` `textract-forms` or `rekognition-moderation`) the
//! flow definition also names its `HumanLoopRequestSource` and carries the
//! `ActivationConditions` A2I evaluates on Textract's or Rekognition's answers; with the
//! default `custom` it has neither (A2I refuses conditions there), exactly as before task
//! types existed, under the same name.
//!
//! CloudFormation has `AWS::SageMaker::HumanTaskUi` but no flow-definition resource, and a
//! flow definition names its task UI's ARN, so one resource owns both and keeps them
//! consistent. Both are immutable in SageMaker:
//!
//! - **Names** are `<NamePrefix>-<content hash>` ([`FlowSpec::resource_name`]); the task UI
//!   and the flow definition share the name. The physical id is the flow definition's ARN,
//!   from which Delete derives both names.
//! - **Create** makes the task UI, then the flow definition, and waits until the flow is
//!   `Active`. A retry finds what an earlier attempt made (`ResourceInUse`), confirms with
//!   Describe that it matches, and succeeds. A create that fails removes what it made.
//! - **Update** is Create under the new properties' name. Changed properties give a new name,
//!   so new resources and a new physical id: CloudFormation then sends Delete for the old id.
//!   Unchanged ones give the same name and id (no replacement).
//! - **Delete** deletes the flow definition, waits until SageMaker no longer knows it
//!   (deletion is asynchronous), then deletes the task UI. Something already gone is
//!   success; so is the placeholder id of a Create that failed (nothing to delete).
//! - **Answers**: every request is answered on its `ResponseURL` ([`response`](mod@response)), `FAILED` with
//!   a reason naming the property or the call and the service's error (quoted values
//!   withheld, never the template), including when the work would overrun the function's
//!   time: [`Provisioner::answer`] stops in time to answer.

pub mod response;
pub mod spec;

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest, CloudFormationCustomResourceResponse,
    CloudFormationCustomResourceResponseStatus as Status,
};
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::operation::describe_flow_definition::DescribeFlowDefinitionOutput;
use aws_sdk_sagemaker::types::{
    AwsManagedHumanLoopRequestSource, FlowDefinitionOutputConfig, FlowDefinitionStatus,
    HumanLoopActivationConditionsConfig, HumanLoopActivationConfig, HumanLoopConfig,
    HumanLoopRequestSource, UiTemplate,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::error::CallError;
use response::{response, RequestIds};
pub use response::{Responder, ResponseError};
pub use spec::{FlowSpec, PropertyError, TemplateSource, WorkerTemplate};

/// The physical id answered for a Create that failed: not an ARN, so its Delete has nothing
/// to delete.
pub const FAILED_CREATE_ID_PREFIX: &str = "a2i-flow-create-failed-";

/// Timing of the resource's waits.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Pause between DescribeFlowDefinition polls.
    pub poll_interval: Duration,
    /// Longest wait for a deleted flow definition to disappear (AWS's own custom resource
    /// waits 180 s), or for a new one to become `Active`.
    pub max_wait: Duration,
    /// Time kept back from the invocation's deadline to undo a failed create and answer.
    pub reserve: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(2),
            max_wait: Duration::from_secs(180),
            reserve: Duration::from_secs(20),
        }
    }
}

/// The custom resource: SageMaker calls, waits, and the answer to CloudFormation.
#[derive(Debug)]
pub struct Provisioner {
    sagemaker: aws_sdk_sagemaker::Client,
    responder: Responder,
    timing: Timing,
}

/// What a request came to, before it is answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `SUCCESS` or `FAILED`.
    pub status: Status,
    /// The physical id to answer.
    pub physical_id: String,
    /// Why (always set: CloudFormation shows it in the stack events).
    pub reason: String,
    /// `Fn::GetAtt` attributes.
    pub data: HashMap<String, String>,
}

/// Why a request could not even be answered.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The event has no usable `ResponseURL`: nothing can be told to CloudFormation.
    #[error("the event is not a CloudFormation custom-resource request (no ResponseURL)")]
    NotARequest,
    /// The answer could not be delivered.
    #[error(transparent)]
    Response(#[from] ResponseError),
}

/// A failure of one step, with a reason fit for CloudFormation's stack events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct StepError {
    reason: String,
    /// The name exists with other content (not made by this resource for these properties):
    /// nothing may be undone.
    foreign: bool,
}

impl StepError {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            foreign: false,
        }
    }

    fn call(err: CallError) -> Self {
        Self::new(err.to_string())
    }
}

impl Provisioner {
    /// A provisioner using `sagemaker` for the control-plane calls.
    pub fn new(sagemaker: aws_sdk_sagemaker::Client, timing: Timing) -> Self {
        Self {
            sagemaker,
            responder: Responder::new(),
            timing,
        }
    }

    /// Handles one Lambda event and answers it on its `ResponseURL`; returns what was sent.
    ///
    /// `deadline` is the invocation's (the Lambda context's); the work stops
    /// [`Timing::reserve`] before it, so that a failed create can be undone and the answer
    /// still goes out. An `Err` means no answer reached CloudFormation: the function should
    /// fail, so that Lambda's asynchronous retry runs the (idempotent) request again.
    pub async fn answer(
        &self,
        event: Value,
        deadline: Instant,
    ) -> Result<CloudFormationCustomResourceResponse, AnswerError> {
        let (url, ids, request) = match parse(event) {
            Ok(parsed) => parsed,
            Err(None) => return Err(AnswerError::NotARequest),
            Err(Some(unparsed)) => {
                let (url, ids, physical, problem) = *unparsed;
                tracing::error!(%problem, "malformed custom-resource request");
                let physical = physical.unwrap_or_else(|| failed_create_id(&ids));
                let answer = response(Status::Failed, &problem, &physical, &ids);
                self.responder.send(&url, &answer, deadline).await?;
                return Ok(answer);
            }
        };
        // Boxed: SDK futures nest deeply; boxed, callers' futures stay small.
        let outcome = Box::pin(self.decide(&request, &ids, deadline)).await;
        tracing::info!(
            status = ?outcome.status,
            physical_id = %outcome.physical_id,
            reason = %outcome.reason,
            "answering CloudFormation"
        );
        let mut answer = response(outcome.status, &outcome.reason, &outcome.physical_id, &ids);
        answer.data = outcome.data;
        self.responder.send(&url, &answer, deadline).await?;
        Ok(answer)
    }

    /// Carries out a parsed request: the outcome to answer.
    pub async fn decide(
        &self,
        request: &CloudFormationCustomResourceRequest,
        ids: &RequestIds,
        deadline: Instant,
    ) -> Outcome {
        let work_deadline = deadline
            .checked_sub(self.timing.reserve)
            .unwrap_or(deadline)
            .max(Instant::now());
        match request {
            CloudFormationCustomResourceRequest::Create(r) => {
                tracing::info!(logical_id = %ids.logical_resource_id, "Create");
                self.ensure_or_undo(&r.resource_properties, ids, None, work_deadline, deadline)
                    .await
            }
            CloudFormationCustomResourceRequest::Update(r) => {
                tracing::info!(logical_id = %ids.logical_resource_id, physical_id = %r.physical_resource_id, "Update");
                self.ensure_or_undo(
                    &r.resource_properties,
                    ids,
                    Some(&r.physical_resource_id),
                    work_deadline,
                    deadline,
                )
                .await
            }
            CloudFormationCustomResourceRequest::Delete(r) => {
                tracing::info!(logical_id = %ids.logical_resource_id, physical_id = %r.physical_resource_id, "Delete");
                let physical = r.physical_resource_id.clone();
                let Some(name) = flow_name_of(&physical) else {
                    return Outcome {
                        status: Status::Success,
                        reason: "nothing to delete: the resource was never created".into(),
                        physical_id: physical,
                        data: HashMap::new(),
                    };
                };
                let result =
                    tokio::time::timeout_at(work_deadline, self.remove(&name, work_deadline))
                        .await
                        .unwrap_or_else(|_| Err(self.out_of_time("deleting", &name)));
                match result {
                    Ok(()) => Outcome {
                        status: Status::Success,
                        reason: format!("deleted flow definition and task UI {name} (or they were already gone)"),
                        physical_id: physical,
                        data: HashMap::new(),
                    },
                    Err(e) => Outcome {
                        status: Status::Failed,
                        reason: e.reason,
                        physical_id: physical,
                        data: HashMap::new(),
                    },
                }
            }
            // The request enum is non-exhaustive: a new request type gets a clear refusal.
            #[allow(unreachable_patterns)]
            _ => Outcome {
                status: Status::Failed,
                reason: "unsupported RequestType".into(),
                physical_id: failed_create_id(ids),
                data: HashMap::new(),
            },
        }
    }

    /// Create or Update: makes sure the resources for `properties` exist; on failure undoes
    /// what this request made (never the resources named by `current`, the physical id an
    /// Update replaces, nor resources with other content).
    async fn ensure_or_undo(
        &self,
        properties: &Value,
        ids: &RequestIds,
        current: Option<&str>,
        work_deadline: Instant,
        deadline: Instant,
    ) -> Outcome {
        let failed = |reason: String| Outcome {
            status: Status::Failed,
            reason,
            physical_id: current.map_or_else(|| failed_create_id(ids), str::to_owned),
            data: HashMap::new(),
        };
        let spec = match FlowSpec::from_properties(properties) {
            Ok(spec) => spec,
            Err(e) => return failed(e.to_string()),
        };
        let name = spec.resource_name(&ids.stack_id, &ids.logical_resource_id);
        tracing::info!(%name, template = %spec.template_label(), "ensuring task UI and flow definition");
        let result =
            tokio::time::timeout_at(work_deadline, self.ensure(&spec, &name, work_deadline))
                .await
                .unwrap_or_else(|_| Err(self.out_of_time("creating", &name)));
        match result {
            Ok(made) => {
                let data = HashMap::from([
                    ("FlowDefinitionArn".to_owned(), made.flow_arn.clone()),
                    ("HumanTaskUiArn".to_owned(), made.ui_arn),
                    ("FlowDefinitionName".to_owned(), name.clone()),
                    ("HumanTaskUiName".to_owned(), name.clone()),
                ]);
                let reason = if current == Some(made.flow_arn.as_str()) {
                    format!("flow definition and task UI {name} unchanged")
                } else {
                    format!(
                        "flow definition and task UI {name} ready ({})",
                        spec.template_label()
                    )
                };
                Outcome {
                    status: Status::Success,
                    physical_id: made.flow_arn,
                    reason,
                    data,
                }
            }
            Err(e) => {
                let keeps_current = current.and_then(flow_name_of).as_deref() == Some(&name);
                if !e.foreign && !keeps_current {
                    // Whatever this request made under the new name is removed, so a failed
                    // create or update leaves nothing behind; with what is left of the time.
                    let undo_deadline = deadline
                        .checked_sub(self.timing.reserve / 4)
                        .unwrap_or(deadline);
                    let undo =
                        tokio::time::timeout_at(undo_deadline, self.remove(&name, undo_deadline))
                            .await;
                    if !matches!(undo, Ok(Ok(()))) {
                        tracing::warn!(%name, "could not undo a failed create; Delete or a retry removes it");
                    }
                }
                failed(e.reason)
            }
        }
    }

    fn out_of_time(&self, what: &str, name: &str) -> StepError {
        StepError::new(format!(
            "ran out of time {what} {name}: the function's timeout leaves too little room; \
             SageMaker may still be working, retry the stack operation"
        ))
    }

    /// Creates (or finds, identical) the task UI and the flow definition named `name`, and
    /// waits until the flow is `Active`.
    async fn ensure(
        &self,
        spec: &FlowSpec,
        name: &str,
        deadline: Instant,
    ) -> Result<Made, StepError> {
        let ui_arn = self.ensure_ui(spec, name).await?;
        let flow_arn = self.ensure_flow(spec, name, &ui_arn).await?;
        self.wait_active(name, deadline).await?;
        Ok(Made { flow_arn, ui_arn })
    }

    async fn ensure_ui(&self, spec: &FlowSpec, name: &str) -> Result<String, StepError> {
        let created = self
            .sagemaker
            .create_human_task_ui()
            .human_task_ui_name(name)
            .ui_template(UiTemplate::builder().content(&spec.ui_template).build())
            .send()
            .await;
        match created {
            Ok(out) => arn_in(out.human_task_ui_arn(), "CreateHumanTaskUi"),
            Err(e) if e.code() == Some("ResourceInUse") => {
                // An earlier attempt of this request made it: confirm it has our content.
                let found = self
                    .sagemaker
                    .describe_human_task_ui()
                    .human_task_ui_name(name)
                    .send()
                    .await
                    .map_err(|e| StepError::call(CallError::classify("DescribeHumanTaskUi", &e)))?;
                let digest = found
                    .ui_template()
                    .and_then(|t| t.content_sha256())
                    .unwrap_or("");
                if !same_sha256(digest, &spec.ui_template) {
                    return Err(StepError {
                        reason: format!(
                            "task UI {name} already exists with other content; it was not made \
                             by this resource for these properties, so it is left alone"
                        ),
                        foreign: true,
                    });
                }
                arn_in(found.human_task_ui_arn(), "DescribeHumanTaskUi")
            }
            Err(e) => Err(StepError::call(without_template(
                CallError::classify("CreateHumanTaskUi", &e),
                &spec.ui_template,
            ))),
        }
    }

    async fn ensure_flow(
        &self,
        spec: &FlowSpec,
        name: &str,
        ui_arn: &str,
    ) -> Result<String, StepError> {
        let loop_config = HumanLoopConfig::builder()
            .workteam_arn(&spec.workteam_arn)
            .human_task_ui_arn(ui_arn)
            .task_title(&spec.task_title)
            .task_description(&spec.task_description)
            .task_count(spec.task_count)
            .task_time_limit_in_seconds(spec.task_time_limit_seconds)
            .task_availability_lifetime_in_seconds(spec.task_availability_lifetime_seconds)
            .set_task_keywords((!spec.task_keywords.is_empty()).then(|| spec.task_keywords.clone()))
            .build();
        let output = FlowDefinitionOutputConfig::builder()
            .s3_output_path(&spec.output_path)
            .set_kms_key_id(spec.kms_key_id.clone())
            .build();
        // A built-in task type: the request source A2I matches Textract's or Rekognition's
        // calls against, and the conditions it evaluates on their answers.
        let request_source = spec.task_type.request_source().map(|source| {
            HumanLoopRequestSource::builder()
                .aws_managed_human_loop_request_source(AwsManagedHumanLoopRequestSource::from(
                    source,
                ))
                .build()
        });
        let activation = spec.activation_conditions.as_ref().map(|conditions| {
            HumanLoopActivationConfig::builder()
                .human_loop_activation_conditions_config(
                    HumanLoopActivationConditionsConfig::builder()
                        .human_loop_activation_conditions(conditions)
                        .build(),
                )
                .build()
        });
        let created = self
            .sagemaker
            .create_flow_definition()
            .flow_definition_name(name)
            .role_arn(&spec.role_arn)
            .output_config(output)
            .human_loop_config(loop_config)
            .set_human_loop_request_source(request_source)
            .set_human_loop_activation_config(activation)
            .send()
            .await;
        match created {
            Ok(out) => arn_in(out.flow_definition_arn(), "CreateFlowDefinition"),
            Err(e) if e.code() == Some("ResourceInUse") => {
                let found = self.describe_flow(name).await?.ok_or_else(|| {
                    StepError::new(format!(
                        "CreateFlowDefinition said {name} exists, DescribeFlowDefinition does not find it; retry"
                    ))
                })?;
                if let Some(field) = flow_mismatch(&found, spec, ui_arn) {
                    return Err(StepError {
                        reason: format!(
                            "flow definition {name} already exists with another {field}; it was \
                             not made by this resource for these properties, so it is left alone"
                        ),
                        foreign: true,
                    });
                }
                arn_in(found.flow_definition_arn(), "DescribeFlowDefinition")
            }
            Err(e) => Err(StepError::call(CallError::classify(
                "CreateFlowDefinition",
                &e,
            ))),
        }
    }

    /// DescribeFlowDefinition; `None` when SageMaker does not know the name.
    async fn describe_flow(
        &self,
        name: &str,
    ) -> Result<Option<DescribeFlowDefinitionOutput>, StepError> {
        match self
            .sagemaker
            .describe_flow_definition()
            .flow_definition_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out)),
            Err(e) if e.code() == Some("ResourceNotFound") => Ok(None),
            Err(e) => Err(StepError::call(CallError::classify(
                "DescribeFlowDefinition",
                &e,
            ))),
        }
    }

    /// Polls the new flow definition until it is `Active` (loops can start on it).
    async fn wait_active(&self, name: &str, deadline: Instant) -> Result<(), StepError> {
        let until = (Instant::now() + self.timing.max_wait).min(deadline);
        loop {
            let Some(flow) = self.describe_flow(name).await? else {
                return Err(StepError::new(format!(
                    "flow definition {name} disappeared right after it was created"
                )));
            };
            let status = flow.flow_definition_status();
            match status {
                Some(FlowDefinitionStatus::Active) => return Ok(()),
                Some(FlowDefinitionStatus::Failed) => {
                    return Err(StepError::new(format!(
                        "flow definition {name} failed: {}",
                        flow.failure_reason().unwrap_or("SageMaker gave no reason")
                    )))
                }
                Some(FlowDefinitionStatus::Deleting) => {
                    return Err(StepError::new(format!(
                        "flow definition {name} is being deleted; retry once it is gone"
                    )))
                }
                _ => {}
            }
            if Instant::now() + self.timing.poll_interval > until {
                if until >= deadline {
                    return Err(self.out_of_time("creating", name));
                }
                return Err(StepError::new(format!(
                    "flow definition {name} is still {} after {}",
                    status.map_or("without a status", FlowDefinitionStatus::as_str),
                    spoken(self.timing.max_wait)
                )));
            }
            tokio::time::sleep(self.timing.poll_interval).await;
        }
    }

    /// Deletes the flow definition `name`, waits until it is gone, then deletes the task UI
    /// `name`. Missing resources are fine.
    async fn remove(&self, name: &str, deadline: Instant) -> Result<(), StepError> {
        let deleted = self
            .sagemaker
            .delete_flow_definition()
            .flow_definition_name(name)
            .send()
            .await;
        let mut wait = true;
        match deleted {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceNotFound") => wait = false,
            // Not deletable right now: already Deleting is fine, anything else is reported.
            Err(e) if e.code() == Some("ResourceInUse") => match self.describe_flow(name).await? {
                None => wait = false,
                Some(f) if f.flow_definition_status() == Some(&FlowDefinitionStatus::Deleting) => {}
                Some(_) => {
                    return Err(StepError::call(CallError::classify(
                        "DeleteFlowDefinition",
                        &e,
                    )))
                }
            },
            Err(e) => {
                return Err(StepError::call(CallError::classify(
                    "DeleteFlowDefinition",
                    &e,
                )))
            }
        }
        if wait {
            let until = (Instant::now() + self.timing.max_wait).min(deadline);
            loop {
                match self.describe_flow(name).await? {
                    None => break,
                    Some(_)
                        if Instant::now() + self.timing.poll_interval > until
                            && until >= deadline =>
                    {
                        return Err(self.out_of_time("deleting", name));
                    }
                    Some(f) if Instant::now() + self.timing.poll_interval > until => {
                        return Err(StepError::new(format!(
                            "flow definition {name} is still {} {} after DeleteFlowDefinition; \
                             its task UI is kept until it is gone (workers may still hold tasks); retry the delete later",
                            f.flow_definition_status()
                                .map_or("without a status", FlowDefinitionStatus::as_str),
                            spoken(self.timing.max_wait)
                        )));
                    }
                    Some(_) => tokio::time::sleep(self.timing.poll_interval).await,
                }
            }
        }
        match self
            .sagemaker
            .delete_human_task_ui()
            .human_task_ui_name(name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceNotFound") => Ok(()),
            Err(e) => Err(StepError::call(CallError::classify(
                "DeleteHumanTaskUi",
                &e,
            ))),
        }
    }
}

/// The ARN in a SageMaker answer; an answer without one is an error (the model marks it
/// required, the SDK cannot).
fn arn_in(arn: Option<&str>, operation: &str) -> Result<String, StepError> {
    arn.filter(|a| !a.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| StepError::new(format!("{operation} answered without an ARN")))
}

/// What [`Provisioner::ensure`] made or found.
struct Made {
    flow_arn: String,
    ui_arn: String,
}

/// `(url, ids, physical id if any, problem)` of an event that has a `ResponseURL` but is not a
/// valid request.
type Unparsed = (String, RequestIds, Option<String>, String);

/// The request with its `ResponseURL` and ids; `Err(Some(..))` when it can only be answered
/// `FAILED`, `Err(None)` when it cannot be answered at all.
fn parse(
    event: Value,
) -> Result<(String, RequestIds, CloudFormationCustomResourceRequest), Option<Box<Unparsed>>> {
    let field = |name: &str| event.get(name).and_then(Value::as_str).map(str::to_owned);
    let url = field("ResponseURL").ok_or(None)?;
    let ids = RequestIds {
        stack_id: field("StackId").unwrap_or_default(),
        request_id: field("RequestId").unwrap_or_default(),
        logical_resource_id: field("LogicalResourceId").unwrap_or_default(),
    };
    let physical = field("PhysicalResourceId").filter(|p| !p.is_empty());
    match serde_json::from_value::<CloudFormationCustomResourceRequest>(event) {
        Ok(request) => Ok((url, ids, request)),
        Err(e) => Err(Some(Box::new((
            url,
            ids,
            physical,
            // serde's messages about the envelope name fields and types; the envelope holds
            // no template content (ResourceProperties is parsed later, on its own).
            format!("malformed custom-resource request: {e}"),
        )))),
    }
}

/// Where to send a `FAILED` answer for an event if handling it breaks down (a panic):
/// taken from the raw event before any work starts.
#[derive(Debug, Clone)]
pub struct PendingAnswer {
    url: String,
    ids: RequestIds,
    physical_id: String,
}

impl PendingAnswer {
    /// The answer target of `event`; `None` without a `ResponseURL`.
    pub fn of(event: &Value) -> Option<Self> {
        let field = |name: &str| event.get(name).and_then(Value::as_str).map(str::to_owned);
        let ids = RequestIds {
            stack_id: field("StackId").unwrap_or_default(),
            request_id: field("RequestId").unwrap_or_default(),
            logical_resource_id: field("LogicalResourceId").unwrap_or_default(),
        };
        let physical_id = field("PhysicalResourceId")
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| failed_create_id(&ids));
        Some(Self {
            url: field("ResponseURL")?,
            ids,
            physical_id,
        })
    }

    /// Sends `FAILED` with `reason`, on a runtime of its own (for a panic hook, where the
    /// function's runtime cannot be relied on): blocks the calling thread until it is sent
    /// or `timeout` passes.
    pub fn fail_blocking(&self, reason: &str, timeout: Duration) -> Result<(), String> {
        let answer = response(Status::Failed, reason, &self.physical_id, &self.ids);
        let url = self.url.clone();
        let sender = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                Responder::new()
                    .send(&url, &answer, Instant::now() + timeout)
                    .await
                    .map_err(|e| e.to_string())
            })
        });
        sender
            .join()
            .unwrap_or_else(|_| Err("the sender thread panicked".into()))
    }
}

/// A wait for messages: `180 s`, or `200 ms` under a second.
fn spoken(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} s", d.as_secs())
    }
}

/// The placeholder physical id of a Create that failed.
fn failed_create_id(ids: &RequestIds) -> String {
    let id: String = ids
        .request_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect();
    format!("{FAILED_CREATE_ID_PREFIX}{id}")
}

/// The flow-definition name in a physical id this resource answered
/// (`arn:<partition>:sagemaker:<region>:<account>:flow-definition/<name>`); `None` for a
/// placeholder or anything else.
pub fn flow_name_of(physical_id: &str) -> Option<String> {
    let mut parts = physical_id.splitn(6, ':');
    let (arn, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = resource.strip_prefix("flow-definition/")?;
    let ok = arn == "arn"
        && partition.starts_with("aws")
        && service == "sagemaker"
        && !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && spec::is_resource_name(name);
    ok.then(|| name.to_owned())
}

/// Whether SageMaker's `ContentSha256` is the SHA-256 of `content`. The format of that field
/// is not documented: hex (either case) and base64 are both accepted.
fn same_sha256(reported: &str, content: &str) -> bool {
    use base64::Engine as _;
    let digest = Sha256::digest(content.as_bytes());
    reported.eq_ignore_ascii_case(&hex::encode(digest))
        || reported == base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The first field in which an existing flow definition differs from what `spec` asks for.
/// Comparisons tolerate what SageMaker may normalize (a trailing `/` on the output path,
/// keyword order, the layout of the conditions' JSON).
fn flow_mismatch(
    found: &DescribeFlowDefinitionOutput,
    spec: &FlowSpec,
    ui_arn: &str,
) -> Option<&'static str> {
    let source = found
        .human_loop_request_source()
        .and_then(|s| s.aws_managed_human_loop_request_source())
        .map(AwsManagedHumanLoopRequestSource::as_str);
    if source != spec.task_type.request_source() {
        return Some("HumanLoopRequestSource");
    }
    let conditions = found
        .human_loop_activation_config()
        .and_then(|a| a.human_loop_activation_conditions_config())
        .and_then(|c| c.human_loop_activation_conditions());
    if !same_conditions(conditions, spec.activation_conditions.as_deref()) {
        return Some("HumanLoopActivationConditions");
    }
    let output = found.output_config();
    let path = output
        .and_then(|o| o.s3_output_path())
        .map(|p| p.trim_end_matches('/'));
    if path != Some(spec.output_path.trim_end_matches('/')) {
        return Some("OutputPath");
    }
    let kms = output
        .and_then(|o| o.kms_key_id())
        .filter(|k| !k.is_empty());
    if kms != spec.kms_key_id.as_deref() {
        return Some("KmsKeyId");
    }
    if found.role_arn() != Some(spec.role_arn.as_str()) {
        return Some("RoleArn");
    }
    let Some(c) = found.human_loop_config() else {
        return Some("human loop configuration");
    };
    let mut keywords: Vec<&str> = c.task_keywords().iter().map(String::as_str).collect();
    let mut wanted: Vec<&str> = spec.task_keywords.iter().map(String::as_str).collect();
    keywords.sort_unstable();
    wanted.sort_unstable();
    let checks = [
        (
            c.workteam_arn() == Some(spec.workteam_arn.as_str()),
            "WorkteamArn",
        ),
        (c.human_task_ui_arn() == Some(ui_arn), "HumanTaskUiArn"),
        (
            c.task_title() == Some(spec.task_title.as_str()),
            "TaskTitle",
        ),
        (
            c.task_description() == Some(spec.task_description.as_str()),
            "TaskDescription",
        ),
        (c.task_count() == Some(spec.task_count), "TaskCount"),
        (
            c.task_time_limit_in_seconds() == Some(spec.task_time_limit_seconds),
            "TaskTimeLimitInSeconds",
        ),
        (
            c.task_availability_lifetime_in_seconds()
                == Some(spec.task_availability_lifetime_seconds),
            "TaskAvailabilityLifetimeInSeconds",
        ),
        (keywords == wanted, "TaskKeywords"),
    ];
    checks
        .into_iter()
        .find(|(same, _)| !same)
        .map(|(_, field)| field)
}

/// Whether two activation-condition documents are the same: equal as JSON (SageMaker keeps a
/// `jsonvalue` member, but need not keep its spacing), or equal as text.
fn same_conditions(found: Option<&str>, wanted: Option<&str>) -> bool {
    match (found, wanted) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a == b
                || matches!(
                    (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)),
                    (Ok(x), Ok(y)) if x == y
                )
        }
        _ => false,
    }
}

/// A CreateHumanTaskUi error with its service message dropped when it quotes the template
/// (validation messages quote values, and the template may be long enough to escape
/// [`CallError`]'s `Value '…'` rule, e.g. when the message is cut inside the quote).
fn without_template(mut err: CallError, template: &str) -> CallError {
    if let Some(detail) = &err.detail {
        if quotes(detail, template) {
            err.detail = Some("(message withheld: it quotes the template)".into());
        }
    }
    err
}

/// Whether `message` contains a run of 24 or more bytes that also occurs in `template`.
fn quotes(message: &str, template: &str) -> bool {
    const RUN: usize = 24;
    let m = message.as_bytes();
    if m.len() < RUN || template.len() < RUN {
        return false;
    }
    let runs: std::collections::HashSet<&[u8]> = template.as_bytes().windows(RUN).collect();
    m.windows(RUN).any(|w| runs.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_ids_name_the_flow_definition_or_nothing() {
        assert_eq!(
            flow_name_of("arn:aws:sagemaker:us-east-1:111122223333:flow-definition/a2i-review-0123456789abcdef"),
            Some("a2i-review-0123456789abcdef".into())
        );
        assert_eq!(
            flow_name_of("arn:aws-cn:sagemaker:cn-north-1:111122223333:flow-definition/x"),
            Some("x".into())
        );
        for other in [
            "a2i-flow-create-failed-123",
            "",
            "arn:aws:sagemaker:us-east-1:111122223333:human-task-ui/x",
            "arn:aws:sagemaker:us-east-1:1111:flow-definition/x",
            "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/Bad_Name",
            "arn:aws:s3:us-east-1:111122223333:flow-definition/x",
        ] {
            assert_eq!(flow_name_of(other), None, "{other}");
        }
    }

    #[test]
    fn the_content_digest_is_accepted_as_hex_or_base64_and_nothing_else() {
        let hex_digest = hex::encode(Sha256::digest(b"<p>t</p>"));
        assert!(same_sha256(&hex_digest, "<p>t</p>"));
        assert!(same_sha256(&hex_digest.to_uppercase(), "<p>t</p>"));
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"<p>t</p>"));
        assert!(same_sha256(&b64, "<p>t</p>"));
        assert!(!same_sha256(&hex_digest, "<p>u</p>"));
        assert!(!same_sha256("", "<p>t</p>"));
    }

    #[test]
    fn a_message_quoting_the_template_is_withheld() {
        let template = "<crowd-form><p>{{ task.input.secretField }}</p></crowd-form>";
        let quoting = "1 validation error detected: Value '<crowd-form><p>{{ task.input.secretField }}' at 'uiTemplate.content'";
        assert!(quotes(quoting, template));
        assert!(!quotes(
            "Member must have length less than or equal to 128000",
            template
        ));
        let err = CallError {
            operation: "CreateHumanTaskUi",
            failure: crate::error::CallFailure::Service,
            code: Some("ValidationException".into()),
            status: Some(400),
            detail: Some(quoting.into()),
            retryable: false,
        };
        let text = without_template(err, template).to_string();
        assert_eq!(
            text,
            "CreateHumanTaskUi failed with ValidationException (HTTP 400): (message withheld: it quotes the template)"
        );
    }

    #[test]
    fn the_placeholder_of_a_failed_create_is_not_a_flow_arn() {
        let ids = RequestIds {
            request_id: "5f1c/..:x-9".into(),
            ..Default::default()
        };
        let id = failed_create_id(&ids);
        assert_eq!(id, "a2i-flow-create-failed-5f1cx-9");
        assert_eq!(flow_name_of(&id), None);
    }
}
