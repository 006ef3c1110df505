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
//! Files: this one holds the flow (event → objects → items); `object` reads objects,
//! `a2i` makes sure a loop exists, `summary` is what an invocation reports.

mod a2i;
mod object;
mod summary;

use futures::StreamExt;
use serde_json::Value;
use tracing::Instrument;

use crate::conditions::{ActivationConditions, EvaluationError, SliceError};
use crate::config::{ConditionsSource, DocumentFormat, StartConfig};
use crate::document::{Item, ItemFault};
use crate::loop_input::{find_media, ItemSource, LoopInput};
use crate::loop_name::loop_name;
use crate::s3_event::{self, CreatedObject, Notification, RecordOutcome};
use crate::source::ObjectRef;

use a2i::{LoopFailure, LoopStart, LoopStarter};
pub use object::InitError;
pub use summary::{Failure, SkippedRecord, StartError, Summary, FAILURES_IN_MESSAGE};

/// The start handler, built once at cold start.
#[derive(Debug, Clone)]
pub struct StartHandler {
    loops: LoopStarter,
    conditions: ActivationConditions,
    loop_name_prefix: Option<String>,
    max_concurrency: usize,
    items_path: Option<serde_json_path::JsonPath>,
    document_format: DocumentFormat,
    media_path: Option<serde_json_path::JsonPath>,
    s3: aws_sdk_s3::Client,
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
    /// when `ACTIVATION_CONDITIONS` is an `s3://` URI.
    pub async fn new(
        config: StartConfig,
        s3: aws_sdk_s3::Client,
        a2i: aws_sdk_sagemakera2iruntime::Client,
    ) -> Result<Self, InitError> {
        let conditions = match config.conditions {
            ConditionsSource::Inline(c) => c,
            ConditionsSource::S3 { bucket, key } => {
                object::load_conditions(&s3, bucket, key).await?
            }
        };
        Ok(Self {
            loops: LoopStarter::new(a2i, config.flow_definition_arn, config.content_classifiers),
            conditions,
            loop_name_prefix: config.loop_name_prefix,
            max_concurrency: config.max_concurrency,
            items_path: config.items_path,
            document_format: config.document_format,
            media_path: config.media_path,
            s3,
        })
    }

    /// The activation conditions in force.
    pub fn conditions(&self) -> &ActivationConditions {
        &self.conditions
    }

    /// Handles one invocation payload (an S3 event notification).
    pub async fn handle(&self, payload: &Value) -> Result<Summary, StartError> {
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
                RecordOutcome::Created(object) => self.process_object(&object, &mut summary).await,
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
    async fn process_object(&self, created: &CreatedObject, summary: &mut Summary) {
        let object = &created.object;
        let span = tracing::info_span!("object", bucket = %object.bucket, key = %object.key);
        self.process_object_in_span(object, summary)
            .instrument(span)
            .await
    }

    async fn process_object_in_span(&self, object: &ObjectRef, summary: &mut Summary) {
        summary.objects += 1;
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
                    Ok(item) => self.process_item(object, item).await,
                    Err(fault) => ItemOutcome::Failed {
                        failure: fault_failure(object, fault),
                        flagged: false,
                    },
                }
            })
            .buffer_unordered(self.max_concurrency);
        while let Some(outcome) = outcomes.next().await {
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
    async fn process_item(&self, object: &ObjectRef, item: Item) -> ItemOutcome {
        let Item { index, line, body } = item;
        let fail = |reason: String, loop_name: Option<String>, retryable: bool, flagged: bool| {
            ItemOutcome::Failed {
                failure: Failure {
                    item_index: Some(index),
                    line,
                    loop_name,
                    ..Failure::of(object, reason, retryable)
                },
                flagged,
            }
        };
        let not_evaluable = |e: EvaluationError| {
            tracing::error!(item_index = index, line, error = %e, "item could not be evaluated");
            fail(
                format!("the activation conditions cannot be evaluated on this item: {e}"),
                None,
                false,
                false,
            )
        };
        let (evaluation, body) = match body.evaluate(&self.conditions) {
            Ok(judged) => judged,
            Err(SliceError::Evaluation(e)) => return not_evaluable(e),
            // A whole document found not to be JSON: the object's fault, not an item's.
            Err(SliceError::NotJson(e)) => return not_json(object, e),
        };
        if !evaluation.flagged {
            tracing::debug!(item_index = index, "no condition holds; skipped");
            return ItemOutcome::Skipped;
        }
        // A flagged item comes back parsed, so this parses nothing.
        let value = match body.into_value() {
            Ok(v) => v,
            Err(e) => return not_json(object, e.to_string()),
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
                return fail(e.to_string(), Some(name), false, true);
            }
        };
        let rendered = match LoopInput::new(value, source, &evaluation, media).render() {
            Ok(r) => r,
            Err(e) => return fail(e.to_string(), Some(name), false, true),
        };
        match self.loops.ensure_loop(&name, rendered.content).await {
            Ok(LoopStart::Started) => {
                tracing::info!(loop_name = %name, bucket = %object.bucket, key = %object.key, item_index = index, line, input_replaced_by_reference = rendered.item_replaced, outcome = "started", "human loop started");
                ItemOutcome::Started
            }
            Ok(LoopStart::AlreadyStarted { status }) => {
                tracing::info!(loop_name = %name, bucket = %object.bucket, key = %object.key, item_index = index, line, loop_status = status, outcome = "already_started", "human loop already exists");
                ItemOutcome::AlreadyStarted
            }
            Err(LoopFailure { reason, retryable }) => {
                tracing::error!(loop_name = %name, bucket = %object.bucket, key = %object.key, item_index = index, line, reason, retryable, outcome = "failed", "human loop not started");
                fail(reason, Some(name), retryable, true)
            }
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
    Failure {
        item_index: fault.index,
        line: fault.line,
        ..Failure::of(object, fault.reason, fault.retryable)
    }
}
