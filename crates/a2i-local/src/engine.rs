//! The engine ties the loop table to its flow definitions and side effects: a loop captures
//! its flow's policy at start (output location, TaskCount, lifetime), collects one answer
//! per worker until TaskCount distinct workers answered, then writes output.json and
//! delivers the status-change event; a loop not completed within its availability lifetime
//! expires (a timer that survives restarts). Both the HTTP surfaces and the library handle
//! drive loops through it, so the rules hold however a loop is finished.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::arn::FlowDefinitionArn;
use crate::background::Background;
use crate::events::{status_change_event, Deliverer, DeliveryOutcome, EventKind};
use crate::faults::Faults;
use crate::flows::SharedFlowLookup;
use crate::loops::record::now_ms;
use crate::loops::{
    Ending, FailureCode, LoopError, LoopPolicy, LoopRecord, LoopStatus, NewLoop, Started, Store,
};
use crate::output::{
    document_with, human_answers, output_key, AnswerError, OutputWriter, WorkerAnswer, WriteError,
};

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

/// A loop after a control action, and what its event delivery did: finished by it, or
/// (after answers that leave it short of its TaskCount) still InProgress, with no output
/// and no deliveries.
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

/// How far an answer brought its loop.
#[derive(Debug, Clone)]
pub struct AnswerProgress {
    /// The loop after the answer.
    pub record: LoopRecord,
    /// The loop name.
    pub human_loop_name: String,
    /// Distinct workers who have answered so far.
    pub answered: usize,
    /// Distinct workers the loop needs (its flow definition's TaskCount).
    pub required: usize,
    /// Set when this answer completed the loop: output.json is written and the event
    /// delivered.
    pub completed: Option<Ended>,
}

impl Serialize for AnswerProgress {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            human_loop_name: &'a str,
            human_loop_status: LoopStatus,
            answered: usize,
            required: usize,
            output_s3_uri: Option<&'a str>,
            deliveries: &'a [DeliveryOutcome],
        }
        Wire {
            human_loop_name: &self.human_loop_name,
            human_loop_status: self.record.status,
            answered: self.answered,
            required: self.required,
            output_s3_uri: self.record.output_s3_uri.as_deref(),
            deliveries: self
                .completed
                .as_ref()
                .map_or(&[][..], |e| e.deliveries.as_slice()),
        }
        .serialize(serializer)
    }
}

impl AnswerProgress {
    /// The loop's state as an [`Ended`]: the completion when there was one, otherwise the
    /// loop still InProgress, without output or deliveries.
    pub fn into_ended(self) -> Ended {
        match self.completed {
            Some(ended) => ended,
            None => Ended {
                human_loop_name: self.human_loop_name,
                human_loop_status: self.record.status,
                output_s3_uri: None,
                deliveries: Vec::new(),
                record: self.record,
            },
        }
    }
}

/// Settings of the engine.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Used where a flow-definition ARN has no region.
    pub default_region: String,
    /// How long a stopped loop stays `Stopping` before it becomes `Stopped`; zero (the
    /// default) stops at once, as A2I does when no worker has started.
    pub stopping_delay: Duration,
    /// Where flow definitions are looked up; `None`: no flow definition exists.
    pub flows: Option<SharedFlowLookup>,
    /// StartHumanLoop on an unknown flow definition answers `ResourceNotFoundException`
    /// (otherwise the loop gets the implicit policy).
    pub strict_flow_definitions: bool,
}

/// The longest single wait of the expiry timer; longer deadlines are reached in steps (a
/// tokio instant cannot be arbitrarily far in the future).
const MAX_TIMER_WAIT: Duration = Duration::from_secs(3600);

/// Everything a running a2i-local shares between requests.
#[derive(Debug)]
pub struct Engine {
    store: Store,
    output: OutputWriter,
    status_events: Deliverer,
    background: Background,
    faults: Faults,
    settings: EngineSettings,
    // Serializes the check-write-transition sequence of answers and terminal changes, so
    // two answers for one loop cannot both write output, and an answer and an expiry
    // cannot interleave.
    finish_lock: tokio::sync::Mutex<()>,
    // Deadlines for the expiry timer; set once the timer runs.
    expiries: OnceLock<mpsc::UnboundedSender<(DateTime<Utc>, String)>>,
    // The timer task, aborted at shutdown: a server restarted on the same data directory
    // must be the only one changing its loops.
    timer: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
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
            expiries: OnceLock::new(),
            timer: std::sync::Mutex::new(None),
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

    /// The policy a loop of `flow` gets: its flow definition's, when the lookup knows a
    /// flow definition of that name with exactly that ARN; otherwise the implicit policy,
    /// or `FlowDefinitionNotFound` in strict mode.
    pub fn policy_for(&self, flow: &FlowDefinitionArn) -> Result<LoopPolicy, LoopError> {
        let defined = self
            .settings
            .flows
            .as_ref()
            .and_then(|lookup| lookup.flow(flow.name()))
            .filter(|policy| policy.arn == flow.as_str());
        match defined {
            Some(policy) => Ok(LoopPolicy::from_flow(&policy)),
            None if self.settings.strict_flow_definitions => {
                Err(LoopError::FlowDefinitionNotFound {
                    name: flow.name().to_owned(),
                    arn: flow.as_str().to_owned(),
                })
            }
            None => Ok(LoopPolicy::implicit(flow.name(), self.output.location())),
        }
    }

    /// Whether a flow definition must exist for ListHumanLoops: in strict mode an unknown
    /// one is `FlowDefinitionNotFound`, as for StartHumanLoop.
    pub fn check_listed_flow(&self, flow_definition_arn: &str) -> Result<(), LoopError> {
        if !self.settings.strict_flow_definitions {
            return Ok(());
        }
        match FlowDefinitionArn::parse(flow_definition_arn) {
            Ok(flow) => self.policy_for(&flow).map(|_| ()),
            Err(_) => Err(LoopError::FlowDefinitionNotFound {
                name: String::new(),
                arn: flow_definition_arn.to_owned(),
            }),
        }
    }

    /// StartHumanLoop: the loop captures its flow definition's policy and its expiry is
    /// scheduled.
    pub async fn start(&self, new: NewLoop) -> Result<Started, LoopError> {
        let policy = self.policy_for(&new.flow_definition)?;
        let started = self.store.start(new, policy).await?;
        match &started {
            Started::Created(r) => {
                tracing::info!(
                    loop_name = %r.name,
                    flow_definition_arn = %r.flow_definition_arn,
                    task_count = r.policy.task_count,
                    lifetime_s = r.policy.task_availability_lifetime_in_seconds,
                    implicit_flow = r.policy.implicit,
                    "human loop started"
                );
                self.schedule_expiry(r);
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

    /// Answers an InProgress loop as one or more workers, each answer becoming one
    /// `humanAnswers[]` entry. The answers are taken together: all are recorded or none
    /// (a worker who already answered, or who appears twice, refuses the whole batch). When
    /// the loop then has its TaskCount answers (or more: a batch is never split), output.json
    /// is written under the loop's output location, the loop becomes Completed and its
    /// event is delivered; otherwise the answers are journaled and the loop stays
    /// InProgress.
    pub async fn submit_answers(
        &self,
        name: &str,
        answers: &[WorkerAnswer],
    ) -> Result<AnswerProgress, EngineError> {
        let (record, answered, required, completed) = {
            let _guard = self.finish_lock.lock().await;
            let record = self.store.in_progress(name)?;
            let flow = FlowDefinitionArn::parse(&record.flow_definition_arn).ok();
            let region = flow
                .as_ref()
                .map(|f| f.region())
                .filter(|r| !r.is_empty())
                .unwrap_or(&self.settings.default_region)
                .to_owned();
            let new = human_answers(&record, answers, now_ms(), &region)?;
            for (index, answer) in new.iter().enumerate() {
                if record.answered_by(&answer.worker_id)
                    || new[..index].iter().any(|a| a.worker_id == answer.worker_id)
                {
                    return Err(LoopError::AlreadyAnswered {
                        name: name.to_owned(),
                        worker_id: answer.worker_id.clone(),
                    }
                    .into());
                }
            }
            let required = record.policy.required_answers();
            let answered = record.answers.len() + new.len();
            if answered < required {
                let record = self.store.record_answers(name, new).await?;
                tracing::info!(loop_name = %name, answered, required, "answers recorded; the loop waits for more workers");
                (record, answered, required, false)
            } else {
                let location = record
                    .policy
                    .output()
                    .unwrap_or_else(|| self.output.location().clone());
                let key = output_key(
                    &location,
                    &record.policy.flow_definition_name,
                    record.creation_time,
                    &record.name,
                );
                let mut all = record.answers.clone();
                all.extend(new.iter().cloned());
                let document = document_with(&record, all);
                let uri = self.output.write(&location, &key, &document).await?;
                tracing::info!(loop_name = %name, output_s3_uri = %uri, answers = answered, "output.json written");
                let record = self
                    .store
                    .end(
                        name,
                        Ending::Completed {
                            output_s3_uri: uri,
                            answers: new,
                        },
                    )
                    .await?;
                (record, answered, required, true)
            }
        };
        let completed = if completed {
            Some(self.ended(record.clone()).await)
        } else {
            None
        };
        Ok(AnswerProgress {
            human_loop_name: record.name.clone(),
            record,
            answered,
            required,
            completed,
        })
    }

    /// [`Engine::submit_answers`], reported as an [`Ended`] (still InProgress when the loop
    /// needs more workers).
    pub async fn answer(&self, name: &str, answers: &[WorkerAnswer]) -> Result<Ended, EngineError> {
        Ok(self.submit_answers(name, answers).await?.into_ended())
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

    /// Starts the expiry timer (once): every InProgress loop, those recovered from a data
    /// directory included, fails as expired at creation time plus its availability
    /// lifetime; overdue ones at once. The timer holds the engine weakly and ends with it.
    pub fn start_expiry_timer(self: &Arc<Self>) {
        let (tx, rx) = mpsc::unbounded_channel();
        if self.expiries.set(tx).is_err() {
            return;
        }
        for record in self.store.waiting_for_review() {
            self.schedule_expiry(&record);
        }
        let task = tokio::spawn(expiry_timer(Arc::downgrade(self), rx));
        *self.timer.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
    }

    /// Stops the expiry timer (at shutdown); no loop expires afterwards.
    pub fn stop_expiry_timer(&self) {
        if let Some(task) = self.timer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }

    fn schedule_expiry(&self, record: &LoopRecord) {
        if let Some(tx) = self.expiries.get() {
            // The receiver lives as long as the timer task, which lives as long as the engine.
            let _ = tx.send((record.expires_at(), record.name.clone()));
        }
    }

    /// Expires the loop if it is still InProgress (the timer found its deadline passed) and
    /// delivers its event (the timer runs this as background work). Its partial answers stay in the record and
    /// are not written (A2I writes output only once every worker has answered).
    async fn expire_due(self: &Arc<Self>, name: &str) {
        let ended = {
            let _guard = self.finish_lock.lock().await;
            match self.store.get(name) {
                Ok(record) if record.status == LoopStatus::InProgress => {
                    self.store
                        .end(
                            name,
                            Ending::Failed {
                                code: FailureCode::Expired,
                                reason: DEFAULT_EXPIRED_REASON.to_owned(),
                            },
                        )
                        .await
                }
                _ => return,
            }
        };
        match ended {
            Ok(record) => {
                tracing::info!(loop_name = %name, answers = record.answers.len(), required = record.policy.task_count, "human loop expired: not completed within its availability lifetime");
                self.deliver_status(&record).await;
            }
            Err(err) => {
                tracing::error!(loop_name = %name, error = %err, "expiring a loop failed")
            }
        }
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

/// Waits for the earliest deadline and expires its loop; new deadlines arrive on `rx`.
async fn expiry_timer(
    engine: Weak<Engine>,
    mut rx: mpsc::UnboundedReceiver<(DateTime<Utc>, String)>,
) {
    let mut due: BTreeSet<(DateTime<Utc>, String)> = BTreeSet::new();
    loop {
        let wait = due.first().map(|(deadline, _)| {
            (*deadline - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(MAX_TIMER_WAIT)
        });
        tokio::select! {
            next = rx.recv() => match next {
                Some(deadline) => {
                    due.insert(deadline);
                }
                // The engine is gone.
                None => return,
            },
            () = tokio::time::sleep(wait.unwrap_or(MAX_TIMER_WAIT)), if wait.is_some() => {
                let now = Utc::now();
                while due.first().is_some_and(|(deadline, _)| *deadline <= now) {
                    let Some((_, name)) = due.pop_first() else { break };
                    let Some(engine) = engine.upgrade() else { return };
                    // Counted as background work before the loop visibly fails, so that
                    // `settled()` after seeing Failed also waits for its event.
                    let background = engine.background.clone();
                    background.spawn(async move { engine.expire_due(&name).await });
                }
            }
        }
    }
}
