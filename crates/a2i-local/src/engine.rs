//! The engine ties the loop table to its side effects: a terminal status writes output.json
//! (Completed) and delivers the status-change event. Both the HTTP surfaces and the library
//! handle drive loops through it, so the rules hold however a loop is finished.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::arn::FlowDefinitionArn;
use crate::background::Background;
use crate::events::{status_change_event, Deliverer, DeliveryOutcome, EventKind};
use crate::faults::Faults;
use crate::loops::record::now_ms;
use crate::loops::{
    Ending, FailureCode, LoopError, LoopRecord, LoopStatus, NewLoop, Started, Store,
};
use crate::output::{output_document, AnswerError, OutputWriter, WriteError};

/// The FailureReason used when a loop is expired without a reason.
pub const DEFAULT_EXPIRED_REASON: &str =
    "The human loop expired before a worker completed the task.";

/// The FailureReason maximum length (the model's `FailureReason` shape).
pub const MAX_FAILURE_REASON_LEN: usize = 1024;

/// Why an engine action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The loop state machine refused it.
    #[error(transparent)]
    Loop(#[from] LoopError),
    /// The answers are not usable.
    #[error(transparent)]
    Answer(#[from] AnswerError),
    /// Another argument is not usable.
    #[error("{0}")]
    Invalid(String),
    /// output.json could not be written; the loop stays InProgress.
    #[error(transparent)]
    Output(#[from] WriteError),
}

/// A loop that a control action finished, and what its event delivery did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ended {
    /// The loop after the change.
    #[serde(skip)]
    pub record: LoopRecord,
    /// The loop name.
    pub human_loop_name: String,
    /// Its new status.
    pub human_loop_status: LoopStatus,
    /// Where output.json was written (Completed only).
    pub output_s3_uri: Option<String>,
    /// One outcome per configured sink.
    pub deliveries: Vec<DeliveryOutcome>,
}

/// Settings of the engine.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Used where a flow-definition ARN has no region.
    pub default_region: String,
    /// How long a stopped loop stays `Stopping` before it becomes `Stopped`; zero (the
    /// default) stops at once, as A2I does when no worker has started.
    pub stopping_delay: Duration,
}

/// Everything a running a2i-local shares between requests.
#[derive(Debug)]
pub struct Engine {
    store: Store,
    output: OutputWriter,
    status_events: Deliverer,
    background: Background,
    faults: Faults,
    settings: EngineSettings,
    // Serializes the check-write-transition sequence of terminal changes, so two answers
    // for one loop cannot both write output.
    finish_lock: tokio::sync::Mutex<()>,
}

impl Engine {
    /// Assembles an engine.
    pub fn new(
        store: Store,
        output: OutputWriter,
        status_events: Deliverer,
        background: Background,
        faults: Faults,
        settings: EngineSettings,
    ) -> Self {
        Self {
            store,
            output,
            status_events,
            background,
            faults,
            settings,
            finish_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The loop table.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The fault knobs.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The background tasks.
    pub fn background(&self) -> &Background {
        &self.background
    }

    /// The status-change event deliverer (for its report).
    pub fn status_events(&self) -> &Deliverer {
        &self.status_events
    }

    /// The output writer.
    pub fn output(&self) -> &OutputWriter {
        &self.output
    }

    /// StartHumanLoop.
    pub async fn start(&self, new: NewLoop) -> Result<Started, LoopError> {
        let started = self.store.start(new).await?;
        match &started {
            Started::Created(r) => {
                tracing::info!(loop_name = %r.name, flow_definition_arn = %r.flow_definition_arn, "human loop started")
            }
            Started::AlreadyRunning(r) => {
                tracing::info!(loop_name = %r.name, "same request for an active loop; nothing new started")
            }
        }
        Ok(started)
    }

    /// StopHumanLoop: the loop becomes Stopped (at once, or after the stopping delay) and
    /// its event is delivered in the background, as A2I delivers events asynchronously.
    pub async fn stop(self: &Arc<Self>, name: &str) -> Result<LoopRecord, LoopError> {
        let immediate = self.settings.stopping_delay.is_zero();
        let (record, changed) = {
            let _guard = self.finish_lock.lock().await;
            self.store.stop(name, immediate).await?
        };
        if !changed {
            return Ok(record);
        }
        tracing::info!(loop_name = %name, status = %record.status, "human loop stop requested");
        let engine = Arc::clone(self);
        if record.status == LoopStatus::Stopped {
            let stopped = record.clone();
            self.background.spawn(async move {
                engine.deliver_status(&stopped).await;
            });
        } else {
            let delay = self.settings.stopping_delay;
            let name = name.to_owned();
            self.background.spawn(async move {
                tokio::time::sleep(delay).await;
                let stopped = {
                    let _guard = engine.finish_lock.lock().await;
                    engine.store.finish_stopping(&name).await
                };
                match stopped {
                    Ok(Some(stopped)) => {
                        engine.deliver_status(&stopped).await;
                    }
                    Ok(None) => {}
                    Err(err) => {
                        tracing::error!(loop_name = %name, error = %err, "finishing a stop failed")
                    }
                }
            });
        }
        Ok(record)
    }

    /// Answers an InProgress loop: writes output.json, makes the loop Completed, then
    /// delivers the event and reports how each sink took it.
    pub async fn answer(
        &self,
        name: &str,
        answers: &[crate::output::WorkerAnswer],
    ) -> Result<Ended, EngineError> {
        let record = {
            let _guard = self.finish_lock.lock().await;
            let record = self.store.in_progress(name)?;
            let flow = FlowDefinitionArn::parse(&record.flow_definition_arn).ok();
            let region = flow
                .as_ref()
                .map(|f| f.region())
                .filter(|r| !r.is_empty())
                .unwrap_or(&self.settings.default_region)
                .to_owned();
            let flow_name = flow.as_ref().map_or("flow-definition", |f| f.name());
            let document = output_document(&record, answers, now_ms(), &region)?;
            let (key, _) = self.output.uri_for(&record, flow_name);
            let uri = self.output.write(&key, &document).await?;
            tracing::info!(loop_name = %name, output_s3_uri = %uri, answers = answers.len(), "output.json written");
            self.store
                .end(name, Ending::Completed { output_s3_uri: uri })
                .await?
        };
        Ok(self.ended(record).await)
    }

    /// Fails an InProgress loop with a documented code and a reason (1 to 1024 characters).
    /// No output.json is written: locally, no worker did any work.
    pub async fn fail(
        &self,
        name: &str,
        code: FailureCode,
        reason: &str,
    ) -> Result<Ended, EngineError> {
        let len = reason.chars().count();
        if len == 0 || len > MAX_FAILURE_REASON_LEN {
            return Err(EngineError::Invalid(format!(
                "failureReason must have 1 to {MAX_FAILURE_REASON_LEN} characters, got {len}"
            )));
        }
        let record = {
            let _guard = self.finish_lock.lock().await;
            self.store
                .end(
                    name,
                    Ending::Failed {
                        code,
                        reason: reason.to_owned(),
                    },
                )
                .await?
        };
        tracing::info!(loop_name = %name, failure_code = code.as_str(), "human loop failed");
        Ok(self.ended(record).await)
    }

    /// Expires an InProgress loop: Failed with FailureCode `Expired`.
    pub async fn expire(&self, name: &str, reason: Option<&str>) -> Result<Ended, EngineError> {
        self.fail(
            name,
            FailureCode::Expired,
            reason.unwrap_or(DEFAULT_EXPIRED_REASON),
        )
        .await
    }

    /// Delivers the status-change event of a finished loop again (EventBridge delivers at
    /// least once; this lets a consumer's idempotency be tested).
    pub async fn redeliver(&self, name: &str) -> Result<Vec<DeliveryOutcome>, EngineError> {
        let record = self.store.get(name)?;
        if !record.status.is_terminal() {
            return Err(EngineError::Invalid(format!(
                "HumanLoop '{name}' is {}; only Completed, Failed or Stopped loops have a \
                 status-change event",
                record.status
            )));
        }
        Ok(self.deliver_status(&record).await)
    }

    /// Redelivers, in the background, events a previous run could not deliver.
    pub fn deliver_pending(self: &Arc<Self>) {
        for record in self.store.with_pending_events() {
            tracing::info!(loop_name = %record.name, status = %record.status, "delivering an event left pending by a previous run");
            let engine = Arc::clone(self);
            self.background.spawn(async move {
                engine.deliver_status(&record).await;
            });
        }
    }

    async fn ended(&self, record: LoopRecord) -> Ended {
        let deliveries = self.deliver_status(&record).await;
        Ended {
            human_loop_name: record.name.clone(),
            human_loop_status: record.status,
            output_s3_uri: record.output_s3_uri.clone(),
            deliveries,
            record,
        }
    }

    /// Delivers the loop's status-change event to every sink; when there is at least one
    /// sink and all accept it, the loop's event stops being pending (with no sink at all it
    /// stays pending, and a later start with sinks delivers it).
    async fn deliver_status(&self, record: &LoopRecord) -> Vec<DeliveryOutcome> {
        let event = status_change_event(record, &self.settings.default_region);
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        let subject = format!("{} {}", record.name, record.status);
        let outcomes = self
            .status_events
            .deliver(EventKind::StatusChange, &subject, &id, &event)
            .await;
        if !outcomes.is_empty() && outcomes.iter().all(DeliveryOutcome::delivered) {
            if let Err(err) = self.store.mark_event_delivered(&record.name).await {
                tracing::error!(loop_name = %record.name, error = %err, "recording the delivery failed");
            }
        }
        outcomes
    }
}
