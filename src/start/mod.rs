//! The start handler: an S3 upload of inference results becomes one human loop per item that
//! the activation conditions flag.
//!
//! Safety rules (DESIGN §5): keys are decoded once ([`crate::s3_event`]); loop names and inputs
//! are deterministic ([`crate::loop_name`], [`crate::loop_input`]), so a redelivered event
//! starts nothing new; a record repeated inside one event is processed once; a loop that
//! already exists is looked up, not started, and counted `alreadyStarted` (how, and what it
//! costs: `a2i`); throttling is retried by the SDK; quota (402), 5xx and timeouts make the
//! invocation fail with a retryable error ([`crate::error`]), but only after every other item
//! was tried. Every item ends up started, already started, skipped by the conditions, or in
//! the summary's `failures` — nothing is dropped.
//!
//! Before `StartHumanLoop`, the loop's [`LoopRegistration`] is written to the loop registry
//! (when `RESULTS_BUCKET` is set): the same bytes on redelivery, and a failed write is a
//! retryable failure of the item, so no loop is started without its registration. Each
//! invocation prints one EMF record ([`crate::metrics`]) and, while it runs, logs its progress
//! every [`DEFAULT_PROGRESS_INTERVAL`].
//!
//! With `TASK_TYPE=textract-forms|rekognition-moderation` (the raw-media mode) an object is
//! not read: it is one item, sent to Textract or Rekognition with a `HumanLoopConfig`, and A2I
//! decides whether its loop starts (`builtin`).
//!
//! Files: this one holds the flow (event → objects → items); `object` reads objects,
//! `a2i` makes sure a loop exists, `builtin` is the raw-media mode, `summary` is what an
//! invocation reports.

mod a2i;
mod builtin;
mod object;
mod summary;

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;
use tracing::Instrument;

use crate::builtin::TaskType;
use crate::conditions::{ActivationConditions, EvaluationError, SliceError};
use crate::config::{ConditionsSource, DocumentFormat, StartConfig};
use crate::document::{Item, ItemFault};
use crate::loop_input::{find_media, ItemSource, LoopInput};
use crate::loop_name::loop_name;
use crate::metrics::{ConditionCounts, EmfRecord, MetricsSink};
use crate::registry::{LoopRegistration, Registry};
use crate::s3_event::{self, CreatedObject, Notification, RecordOutcome};
use crate::source::ObjectRef;

use a2i::{LoopFailure, LoopStart, LoopStarter};
pub use builtin::BuiltinClients;
pub use object::InitError;
pub use summary::{Failure, FailureKind, SkippedRecord, StartError, Summary, FAILURES_IN_MESSAGE};

/// How often a running invocation logs its progress, by default.
pub const DEFAULT_PROGRESS_INTERVAL: Duration = Duration::from_secs(10);

/// The start handler, built once at cold start.
#[derive(Debug, Clone)]
pub struct StartHandler {
    loops: LoopStarter,
    /// The custom path's conditions; `None` in the raw-media mode.
    conditions: Option<ActivationConditions>,
    /// The raw-media mode; `None` for custom uploads.
    raw_media: Option<builtin::RawMedia>,
    loop_name_prefix: Option<String>,
    max_concurrency: usize,
    items_path: Option<serde_json_path::JsonPath>,
    document_format: DocumentFormat,
    media_path: Option<serde_json_path::JsonPath>,
    s3: aws_sdk_s3::Client,
    registry: Option<Registry>,
    metrics: MetricsSink,
    progress_interval: Duration,
}

/// What one invocation measures besides its summary.
struct Progress {
    started_at: Instant,
    ticker: tokio::time::Interval,
    conditions: ConditionCounts,
}

/// What became of one item.
enum ItemOutcome {
    Skipped,
    Started,
    AlreadyStarted,
    /// A failure; `flagged` tells whether the conditions had flagged the item.
    Failed {
        failure: Failure,
        flagged: bool,
    },
}

impl StartHandler {
    /// Builds the handler from validated settings, reading the condition document from S3
    /// when `ACTIVATION_CONDITIONS` is an `s3://` URI. A built-in `TASK_TYPE` needs the
    /// Textract and Rekognition clients: [`StartHandler::with_builtin_clients`].
    pub async fn new(
        config: StartConfig,
        s3: aws_sdk_s3::Client,
        a2i: aws_sdk_sagemakera2iruntime::Client,
    ) -> Result<Self, InitError> {
        Self::build(config, s3, a2i, None).await
    }

    /// [`StartHandler::new`] with the clients of the raw-media mode (used only when
    /// `TASK_TYPE` is a built-in task type).
    pub async fn with_builtin_clients(
        config: StartConfig,
        s3: aws_sdk_s3::Client,
        a2i: aws_sdk_sagemakera2iruntime::Client,
        clients: BuiltinClients,
    ) -> Result<Self, InitError> {
        Self::build(config, s3, a2i, Some(clients)).await
    }

    async fn build(
        config: StartConfig,
        s3: aws_sdk_s3::Client,
        a2i: aws_sdk_sagemakera2iruntime::Client,
        clients: Option<BuiltinClients>,
    ) -> Result<Self, InitError> {
        let conditions = match config.conditions {
            ConditionsSource::Inline(c) => Some(c),
            ConditionsSource::S3 { bucket, key } => {
                Some(object::load_conditions(&s3, bucket, key).await?)
            }
            ConditionsSource::FlowDefinition => None,
        };
        let registry = config
            .results_bucket
            .clone()
            .map(|bucket| Registry::new(s3.clone(), bucket, config.registry_prefix.clone()));
        let raw_media = if config.task_type.is_builtin() {
            let task_type = config.task_type;
            let clients = clients.ok_or(InitError::BuiltinClientsMissing { task_type })?;
            let (Some(bucket), Some(registry)) = (config.results_bucket.clone(), registry.clone())
            else {
                return Err(InitError::ResultsBucketMissing { task_type });
            };
            Some(builtin::RawMedia::new(
                task_type,
                config.textract_feature_types.clone(),
                clients,
                s3.clone(),
                bucket,
                config.results_prefix.clone(),
                registry,
            ))
        } else {
            None
        };
        Ok(Self {
            loops: LoopStarter::new(a2i, config.flow_definition_arn, config.content_classifiers),
            conditions,
            raw_media,
            loop_name_prefix: config.loop_name_prefix,
            max_concurrency: config.max_concurrency,
            items_path: config.items_path,
            document_format: config.document_format,
            media_path: config.media_path,
            registry,
            s3,
            metrics: MetricsSink::Off,
            progress_interval: DEFAULT_PROGRESS_INTERVAL,
        })
    }

    /// Where each invocation's EMF record goes (the library default is nowhere; the Lambda
    /// bootstrap prints it to stdout).
    pub fn with_metrics(mut self, sink: MetricsSink) -> Self {
        self.metrics = sink;
        self
    }

    /// How often a running invocation logs its progress (default
    /// [`DEFAULT_PROGRESS_INTERVAL`]).
    pub fn with_progress_interval(mut self, interval: Duration) -> Self {
        self.progress_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// The activation conditions in force (`None` in the raw-media mode, where the flow
    /// definition holds them).
    pub fn conditions(&self) -> Option<&ActivationConditions> {
        self.conditions.as_ref()
    }

    /// What an upload is (`TASK_TYPE`).
    pub fn task_type(&self) -> TaskType {
        self.raw_media
            .as_ref()
            .map_or(TaskType::Custom, |r| r.task_type)
    }

    /// Handles one invocation payload (an S3 event notification).
    pub async fn handle(&self, payload: &Value) -> Result<Summary, StartError> {
        let started_at = Instant::now();
        let mut ticker = tokio::time::interval_at(
            (started_at + self.progress_interval).into(),
            self.progress_interval,
        );
        // A busy invocation logs once late, not a burst of missed lines.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut progress = Progress {
            started_at,
            ticker,
            conditions: ConditionCounts::default(),
        };
        let result = self.handle_records(payload, &mut progress).await;
        self.metrics
            .emit(&self.record(&result, &progress.conditions));
        result
    }

    /// The invocation's EMF record: the summary's counts, failures by kind and
    /// per-condition activations.
    fn record(
        &self,
        result: &Result<Summary, StartError>,
        conditions: &ConditionCounts,
    ) -> EmfRecord {
        let mut r = EmfRecord::new("start", Some(self.loops.flow_definition_arn()));
        let summary = match result {
            Ok(s) | Err(StartError::ItemsFailed { summary: s }) => s,
            Err(StartError::NotAnS3Event(_)) => {
                r.count("InvalidEvents", 1);
                return r;
            }
        };
        r.count("Objects", summary.objects);
        r.count("Items", summary.items);
        r.count("Flagged", summary.flagged);
        r.count("Skipped", summary.skipped);
        if self.raw_media.is_some() {
            r.count("Analysed", summary.analysed);
        }
        r.count("Started", summary.started);
        r.count("AlreadyStarted", summary.already_started);
        r.count("Failed", summary.failed);
        for kind in FailureKind::ALL {
            let n = summary.failures.iter().filter(|f| f.kind == kind).count();
            r.count(format!("Failed.{}", kind.as_str()), n);
        }
        for (path, n) in conditions.iter() {
            r.count(format!("Activated.{path}"), n);
        }
        r
    }

    async fn handle_records(
        &self,
        payload: &Value,
        progress: &mut Progress,
    ) -> Result<Summary, StartError> {
        let mut summary = Summary::default();
        let records = match s3_event::parse(payload)? {
            Notification::TestEvent => {
                tracing::info!("s3:TestEvent acknowledged");
                summary.test_event = true;
                return Ok(summary);
            }
            Notification::Records(r) => r,
        };
        for record in records {
            match record {
                RecordOutcome::Created(object) => {
                    self.process_object(&object, &mut summary, progress).await
                }
                RecordOutcome::Skipped { event_name, key } => {
                    tracing::info!(event_name, key, "record is not an object creation; skipped");
                    summary
                        .skipped_records
                        .push(SkippedRecord { event_name, key });
                }
                RecordOutcome::Duplicate {
                    record_index,
                    first_index,
                } => {
                    tracing::info!(
                        record_index,
                        first_index,
                        "record names the same object version as an earlier one; processed once"
                    );
                    summary.duplicate_records += 1;
                }
                RecordOutcome::Invalid {
                    record_index,
                    reason,
                } => {
                    tracing::error!(record_index, reason, "invalid S3 event record");
                    summary.failed += 1;
                    summary.failures.push(Failure::of_record(reason));
                }
            }
        }
        tracing::info!(
            objects = summary.objects,
            items = summary.items,
            flagged = summary.flagged,
            started = summary.started,
            already_started = summary.already_started,
            skipped = summary.skipped,
            failed = summary.failed,
            duplicate_records = summary.duplicate_records,
            "invocation done"
        );
        if summary.failures.is_empty() {
            Ok(summary)
        } else {
            Err(StartError::ItemsFailed { summary })
        }
    }

    /// Reads one object and processes its items, at most `max_concurrency` at a time, inside
    /// a span naming the object so that every log line carries bucket and key.
    async fn process_object(
        &self,
        created: &CreatedObject,
        summary: &mut Summary,
        progress: &mut Progress,
    ) {
        let object = &created.object;
        let span = tracing::info_span!("object", bucket = %object.bucket, key = %object.key);
        self.process_object_in_span(created, summary, progress)
            .instrument(span)
            .await
    }

    async fn process_object_in_span(
        &self,
        created: &CreatedObject,
        summary: &mut Summary,
        progress: &mut Progress,
    ) {
        let object = &created.object;
        summary.objects += 1;
        let (Some(conditions), None) = (&self.conditions, &self.raw_media) else {
            if let Some(raw) = &self.raw_media {
                let name = loop_name(self.loop_name_prefix.as_deref(), object, 0);
                let result = raw.process(&self.loops, created, &name).await;
                summary.analysed += usize::from(result.analysed);
                if let Some(results) = &result.results {
                    progress.conditions.add(results);
                }
                tally(summary, result.outcome);
            }
            return;
        };
        let items = match object::read_items(
            &self.s3,
            object,
            self.document_format,
            self.items_path.as_ref(),
        )
        .await
        {
            Ok(items) => items,
            Err(failure) => {
                tracing::error!(
                    reason = failure.reason,
                    retryable = failure.retryable,
                    "object could not be read"
                );
                summary.failed += 1;
                summary.failures.push(failure);
                return;
            }
        };
        let mut outcomes = items
            .map(|item| async move {
                match item {
                    Ok(item) => self.process_item(created, conditions, item).await,
                    Err(fault) => (
                        ItemOutcome::Failed {
                            failure: fault_failure(object, fault),
                            flagged: false,
                        },
                        None,
                    ),
                }
            })
            .buffer_unordered(self.max_concurrency);
        loop {
            // The ticker fires while items are in flight too, so a slow A2I still shows.
            let (outcome, results) = tokio::select! {
                next = outcomes.next() => match next {
                    Some(next) => next,
                    None => break,
                },
                _ = progress.ticker.tick() => {
                    log_progress(summary, progress.started_at);
                    continue;
                }
            };
            if let Some(results) = results {
                progress.conditions.add(&results);
            }
            tally(summary, outcome);
        }
        // Completion order depends on the network; report failures in item order.
        summary
            .failures
            .sort_by_key(|f| (f.bucket.clone(), f.key.clone(), f.item_index));
    }

    /// Evaluates one item and starts its loop when it is flagged.
    ///
    /// A whole JSON document is evaluated from its bytes when the conditions only read
    /// Textract form pairs ([`crate::document::ItemBody::evaluate`]), so a large response
    /// is parsed into a [`Value`] only when it is flagged and its loop input needs it.
    ///
    /// Returns the evaluated condition tree with the outcome, for the activation metrics.
    async fn process_item(
        &self,
        created: &CreatedObject,
        conditions: &ActivationConditions,
        item: Item,
    ) -> (ItemOutcome, Option<Value>) {
        let object = &created.object;
        let Item { index, line, body } = item;
        let fail = |kind: FailureKind,
                    reason: String,
                    loop_name: Option<String>,
                    retryable: bool,
                    flagged: bool| {
            ItemOutcome::Failed {
                failure: Failure {
                    item_index: Some(index),
                    line,
                    loop_name,
                    ..Failure::of(object, kind, reason, retryable)
                },
                flagged,
            }
        };
        let not_evaluable = |e: EvaluationError| {
            tracing::error!(item_index = index, line, error = %e, "item could not be evaluated");
            fail(
                FailureKind::InvalidItem,
                format!("the activation conditions cannot be evaluated on this item: {e}"),
                None,
                false,
                false,
            )
        };
        let (evaluation, body) = match body.evaluate(conditions) {
            Ok(judged) => judged,
            Err(SliceError::Evaluation(e)) => return (not_evaluable(e), None),
            // A whole document found not to be JSON: the object's fault, not an item's.
            Err(SliceError::NotJson(e)) => return (not_json(object, e), None),
        };
        if !evaluation.flagged {
            tracing::debug!(item_index = index, "no condition holds; skipped");
            return (ItemOutcome::Skipped, Some(evaluation.results));
        }
        // A flagged item comes back parsed, so this parses nothing.
        let value = match body.into_value() {
            Ok(v) => v,
            Err(e) => return (not_json(object, e.to_string()), None),
        };
        let outcome = self
            .start_loop(created, index, line, value, &evaluation)
            .await;
        (outcome, Some(evaluation.results))
    }

    /// Renders a flagged item's input, registers its loop and makes sure the loop exists.
    async fn start_loop(
        &self,
        created: &CreatedObject,
        index: u64,
        line: Option<u64>,
        value: Value,
        evaluation: &crate::conditions::Evaluation,
    ) -> ItemOutcome {
        let object = &created.object;
        let fail = |kind: FailureKind,
                    reason: String,
                    loop_name: Option<String>,
                    retryable: bool| ItemOutcome::Failed {
            failure: Failure {
                item_index: Some(index),
                line,
                loop_name,
                ..Failure::of(object, kind, reason, retryable)
            },
            flagged: true,
        };
        let name = loop_name(self.loop_name_prefix.as_deref(), object, index);
        let source = ItemSource {
            object: object.clone(),
            item_index: index,
            line,
        };
        let media = match self.media_path.as_ref().map(|p| find_media(p, &value)) {
            None => None,
            Some(Ok(media)) => media,
            Some(Err(e)) => {
                tracing::error!(item_index = index, line, error = %e, "item media not found");
                return fail(FailureKind::InvalidItem, e.to_string(), Some(name), false);
            }
        };
        let rendered = match LoopInput::new(value, source.clone(), evaluation, media).render() {
            Ok(r) => r,
            Err(e) => return fail(FailureKind::InputTooLarge, e.to_string(), Some(name), false),
        };
        let registration = self.registry.as_ref().map(|_| {
            LoopRegistration::new(
                &name,
                self.loops.flow_definition_arn(),
                &source,
                &rendered.content,
                created.event_time,
            )
        });
        let register = async {
            let (Some(registry), Some(registration)) = (&self.registry, &registration) else {
                return Ok(());
            };
            registry.write(registration).await.map_err(|e| LoopFailure {
                reason: format!("{e}; the loop was not started without its registration"),
                retryable: e.is_retryable(),
                kind: FailureKind::RegistryWrite,
            })
        };
        match self
            .loops
            .ensure_loop(&name, rendered.content, register)
            .await
        {
            Ok(LoopStart::Started) => {
                tracing::info!(loop_name = %name, bucket = %object.bucket, key = %object.key, item_index = index, line, input_replaced_by_reference = rendered.item_replaced, outcome = "started", "human loop started");
                ItemOutcome::Started
            }
            Ok(LoopStart::AlreadyStarted { status }) => {
                tracing::info!(loop_name = %name, bucket = %object.bucket, key = %object.key, item_index = index, line, loop_status = status, outcome = "already_started", "human loop already exists");
                ItemOutcome::AlreadyStarted
            }
            Err(LoopFailure {
                reason,
                retryable,
                kind,
            }) => {
                tracing::error!(loop_name = %name, bucket = %object.bucket, key = %object.key, item_index = index, line, reason, retryable, error_kind = kind.as_str(), outcome = "failed", "human loop not started");
                fail(kind, reason, Some(name), retryable)
            }
        }
    }
}

/// Counts one item's outcome in the summary.
fn tally(summary: &mut Summary, outcome: ItemOutcome) {
    match outcome {
        ItemOutcome::Skipped => {
            summary.items += 1;
            summary.skipped += 1;
        }
        ItemOutcome::Started => {
            summary.items += 1;
            summary.flagged += 1;
            summary.started += 1;
        }
        ItemOutcome::AlreadyStarted => {
            summary.items += 1;
            summary.flagged += 1;
            summary.already_started += 1;
        }
        ItemOutcome::Failed { failure, flagged } => {
            // A fault of the whole object (empty, not JSON, unreadable) has no item index
            // and is not an item.
            summary.items += usize::from(failure.item_index.is_some());
            summary.flagged += usize::from(flagged);
            summary.failed += 1;
            summary.failures.push(failure);
        }
    }
}

/// A whole document found not to be JSON when its item was evaluated: the fault of the
/// object, worded and counted as when a document was parsed on reading.
fn not_json(object: &ObjectRef, error: String) -> ItemOutcome {
    ItemOutcome::Failed {
        failure: fault_failure(object, crate::document::not_json(error)),
        flagged: false,
    }
}

fn fault_failure(object: &ObjectRef, fault: ItemFault) -> Failure {
    tracing::error!(item_index = fault.index, line = fault.line, reason = %fault.reason, retryable = fault.retryable, "item could not be read");
    let kind = if fault.index.is_some() {
        FailureKind::InvalidItem
    } else {
        FailureKind::InvalidDocument
    };
    Failure {
        item_index: fault.index,
        line: fault.line,
        ..Failure::of(object, kind, fault.reason, fault.retryable)
    }
}

/// The progress line of a long invocation: counts so far and rates since it began.
fn log_progress(summary: &Summary, started_at: Instant) {
    let seconds = started_at.elapsed().as_secs_f64();
    let per_second = |n: usize| {
        if seconds > 0.0 {
            (n as f64 / seconds * 10.0).round() / 10.0
        } else {
            0.0
        }
    };
    tracing::info!(
        objects = summary.objects,
        items = summary.items,
        flagged = summary.flagged,
        started = summary.started,
        already_started = summary.already_started,
        failed = summary.failed,
        elapsed_seconds = seconds.round() as u64,
        items_per_second = per_second(summary.items),
        loops_started_per_second = per_second(summary.started),
        "progress"
    );
}
