//! The start handler: an S3 upload of inference results becomes one human loop per item that
//! the activation conditions flag.
//!
//! Safety rules (DESIGN §5): keys are decoded once ([`crate::s3_event`]); loop names and inputs
//! are deterministic ([`crate::loop_name`], [`crate::loop_input`]), so a redelivered event
//! starts nothing new; `ConflictException` on one of our names means "already started"
//! (confirmed with `DescribeHumanLoop`); throttling is retried by the SDK; quota (402), 5xx and
//! timeouts make the invocation fail with a retryable error, but only after every other item was
//! tried. Every item ends up started, already started, skipped by the conditions, or in the
//! summary's `failures` — nothing is dropped.

use aws_sdk_sagemakera2iruntime::error::SdkError;
use aws_sdk_sagemakera2iruntime::operation::start_human_loop::StartHumanLoopError;
use aws_sdk_sagemakera2iruntime::types::{
    ContentClassifier as SdkClassifier, HumanLoopDataAttributes, HumanLoopInput,
};
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;

use crate::conditions::{ActivationConditions, ConditionError};
use crate::config::{ConditionsSource, ContentClassifier, DocumentFormat, StartConfig};
use crate::document::{self, Item, ItemFault};
use crate::loop_input::{ItemSource, LoopInput};
use crate::loop_name::loop_name;
use crate::s3_event::{self, CreatedObject, NotAnS3Event, Notification, RecordOutcome};
use crate::source::ObjectRef;

/// The start handler, built once at cold start.
#[derive(Debug, Clone)]
pub struct StartHandler {
    flow_definition_arn: String,
    content_classifiers: Vec<ContentClassifier>,
    conditions: ActivationConditions,
    loop_name_prefix: Option<String>,
    max_concurrency: usize,
    items_path: Option<serde_json_path::JsonPath>,
    document_format: DocumentFormat,
    s3: aws_sdk_s3::Client,
    a2i: aws_sdk_sagemakera2iruntime::Client,
}

/// The handler could not be built: the function must not take events.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// `ACTIVATION_CONDITIONS` names an S3 object that could not be read.
    #[error("ACTIVATION_CONDITIONS: reading s3://{bucket}/{key} failed: {reason}")]
    ConditionsUnreadable {
        /// Bucket of the condition document.
        bucket: String,
        /// Key of the condition document.
        key: String,
        /// The S3 error.
        reason: String,
    },
    /// The condition document read from S3 is invalid.
    #[error(
        "ACTIVATION_CONDITIONS: s3://{bucket}/{key} is not a valid condition document: {source}"
    )]
    ConditionsInvalid {
        /// Bucket of the condition document.
        bucket: String,
        /// Key of the condition document.
        key: String,
        /// The offending node.
        source: ConditionError,
    },
}

/// What one invocation did. Returned as the function's result, and carried by the error when
/// some items failed, so the on-failure destination holds the whole story.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The event was S3's `s3:TestEvent`: acknowledged, nothing done.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub test_event: bool,
    /// Objects read.
    pub objects: usize,
    /// Items seen (including ones that could not be read).
    pub items: usize,
    /// Items the conditions flagged for review.
    pub flagged: usize,
    /// Loops started by this invocation.
    pub started: usize,
    /// Flagged items whose loop already existed (a redelivered event).
    pub already_started: usize,
    /// Items no condition flagged.
    pub skipped: usize,
    /// Items (or objects) that failed; see `failures`.
    pub failed: usize,
    /// Records that were not object creations, skipped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_records: Vec<SkippedRecord>,
    /// Every failure with its cause.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
}

/// A record of an event that was not an object creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedRecord {
    /// Its `eventName`.
    pub event_name: String,
    /// Its key, as sent (encoded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// One item, object or record that did not get its loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// Bucket of the object, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Decoded key of the object, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The item, when the failure is an item's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_index: Option<u64>,
    /// The JSON Lines line, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The loop name, when the item got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loop_name: Option<String>,
    /// What went wrong.
    pub reason: String,
    /// Whether invoking again may succeed.
    pub retryable: bool,
}

impl Failure {
    /// A failure of `object` (or of one of its items, once `item_index`/`line` are set).
    fn of(object: &ObjectRef, reason: String, retryable: bool) -> Self {
        Self {
            bucket: Some(object.bucket.clone()),
            key: Some(object.key.clone()),
            item_index: None,
            line: None,
            loop_name: None,
            reason,
            retryable,
        }
    }
}

/// An invocation that did not fully succeed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The payload is not an S3 event: retrying cannot help.
    #[error(transparent)]
    NotAnS3Event(#[from] NotAnS3Event),
    /// Some items failed. Every other item was processed first.
    #[error("{}", items_failed_message(.summary))]
    ItemsFailed {
        /// What the invocation did, failures included.
        summary: Summary,
    },
}

/// Failures listed in the error message; the rest are counted. Lambda keeps error
/// messages short, and the first failures say what went wrong.
pub const FAILURES_IN_MESSAGE: usize = 10;

/// The invocation's error message: counts, whether a retry helps, and the summary with at most
/// [`FAILURES_IN_MESSAGE`] failures.
fn items_failed_message(summary: &Summary) -> String {
    let retryable = summary.failures.iter().any(|f| f.retryable);
    let mut shown = summary.clone();
    shown.failures.truncate(FAILURES_IN_MESSAGE);
    let more = summary.failures.len() - shown.failures.len();
    format!(
        "{} of {} items failed ({}); summary{}: {}",
        summary.failed,
        summary.items,
        if retryable {
            "retryable: the event can be retried safely, started loops are not started again"
        } else {
            "not retryable: the input must be fixed"
        },
        if more > 0 {
            format!(" with the first {FAILURES_IN_MESSAGE} failures, {more} more not shown")
        } else {
            String::new()
        },
        serde_json::to_string(&shown).unwrap_or_default()
    )
}

impl StartError {
    /// The Lambda error type: `Retryable.<kind>` or `NonRetryable.<kind>`, so on-failure
    /// destinations and alarms can tell them apart (the status handler uses the same scheme).
    pub fn error_type(&self) -> String {
        let kind = match self {
            Self::NotAnS3Event(_) => "NotAnS3Event",
            Self::ItemsFailed { .. } => "ItemsFailed",
        };
        let class = if self.is_retryable() {
            "Retryable"
        } else {
            "NonRetryable"
        };
        format!("{class}.{kind}")
    }

    /// Whether a retry of the same event may succeed (quota, throttling, 5xx, timeouts,
    /// S3 read errors). Content errors are not retryable.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::NotAnS3Event(_) => false,
            Self::ItemsFailed { summary } => summary.failures.iter().any(|f| f.retryable),
        }
    }
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
            ConditionsSource::S3 { bucket, key } => load_conditions(&s3, bucket, key).await?,
        };
        Ok(Self {
            flow_definition_arn: config.flow_definition_arn,
            content_classifiers: config.content_classifiers,
            conditions,
            loop_name_prefix: config.loop_name_prefix,
            max_concurrency: config.max_concurrency,
            items_path: config.items_path,
            document_format: config.document_format,
            s3,
            a2i,
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
                RecordOutcome::Invalid {
                    record_index,
                    reason,
                } => {
                    tracing::error!(record_index, reason, "invalid S3 event record");
                    summary.failed += 1;
                    summary.failures.push(Failure {
                        bucket: None,
                        key: None,
                        item_index: None,
                        line: None,
                        loop_name: None,
                        reason: format!("record {record_index}: {reason}"),
                        retryable: false,
                    });
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
        let mut request = self.s3.get_object().bucket(&object.bucket).key(&object.key);
        // Read exactly the version the event names: loop names are derived from it.
        if let Some(v) = &object.version_id {
            request = request.version_id(v);
        } else if let Some(etag) = &object.e_tag {
            request = request.if_match(format!("\"{etag}\""));
        }
        let body = match request.send().await {
            Ok(out) => out.body.into_async_read(),
            Err(e) => {
                let (reason, retryable) = describe_get_error(&e);
                tracing::error!(reason, retryable, "object could not be read");
                summary.failed += 1;
                summary
                    .failures
                    .push(Failure::of(object, reason, retryable));
                return;
            }
        };
        let items = document::items(
            tokio::io::BufReader::new(body),
            &object.key,
            self.document_format,
            self.items_path.as_ref(),
        )
        .await;
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
    async fn process_item(&self, object: &ObjectRef, item: Item) -> ItemOutcome {
        let Item { index, line, value } = item;
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
        let evaluation = match self.conditions.evaluate(&value) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(item_index = index, line, error = %e, "item could not be evaluated");
                return fail(
                    format!("the activation conditions cannot be evaluated on this item: {e}"),
                    None,
                    false,
                    false,
                );
            }
        };
        if !evaluation.flagged {
            tracing::debug!(item_index = index, "no condition holds; skipped");
            return ItemOutcome::Skipped;
        }
        let name = loop_name(self.loop_name_prefix.as_deref(), object, index);
        let source = ItemSource {
            object: object.clone(),
            item_index: index,
            line,
        };
        let rendered = match LoopInput::new(value, source, &evaluation).render() {
            Ok(r) => r,
            Err(e) => return fail(e.to_string(), Some(name), false, true),
        };
        match self.start_loop(&name, rendered.content).await {
            Ok(LoopStart::Started) => {
                tracing::info!(loop_name = %name, bucket = %object.bucket, key = %object.key, item_index = index, line, input_replaced_by_reference = rendered.item_replaced, outcome = "started", "human loop started");
                ItemOutcome::Started
            }
            Ok(LoopStart::AlreadyStarted { status }) => {
                tracing::info!(loop_name = %name, bucket = %object.bucket, key = %object.key, item_index = index, line, loop_status = status, outcome = "already_started", "human loop already exists");
                ItemOutcome::AlreadyStarted
            }
            Err((reason, retryable)) => {
                tracing::error!(loop_name = %name, bucket = %object.bucket, key = %object.key, item_index = index, line, reason, retryable, outcome = "failed", "human loop not started");
                fail(reason, Some(name), retryable, true)
            }
        }
    }

    /// Calls `StartHumanLoop`; `Err((reason, retryable))` when the loop was not started.
    async fn start_loop(&self, name: &str, content: String) -> Result<LoopStart, (String, bool)> {
        let mut request = self
            .a2i
            .start_human_loop()
            .human_loop_name(name)
            .flow_definition_arn(&self.flow_definition_arn)
            .human_loop_input(HumanLoopInput::builder().input_content(content).build());
        if !self.content_classifiers.is_empty() {
            let classifiers = self
                .content_classifiers
                .iter()
                .map(|c| SdkClassifier::from(c.as_str()))
                .collect();
            request = request.data_attributes(
                HumanLoopDataAttributes::builder()
                    .set_content_classifiers(Some(classifiers))
                    .build(),
            );
        }
        let err = match request.send().await {
            Ok(_) => return Ok(LoopStart::Started),
            Err(e) => e,
        };
        match &err {
            SdkError::ServiceError(se) => match se.err() {
                StartHumanLoopError::ConflictException(_) => {
                    // Our names are deterministic: a conflict means this item's loop exists.
                    // Describe it to be sure it is ours (same flow definition).
                    match self.existing_loop(name).await {
                        Some(Ok(status)) => Ok(LoopStart::AlreadyStarted { status }),
                        Some(Err(other_flow)) => Err((
                            format!("loop name {name} is in use by flow definition {other_flow}"),
                            false,
                        )),
                        None => {
                            tracing::warn!(loop_name = name, "ConflictException, and the loop could not be described; counted as already started");
                            Ok(LoopStart::AlreadyStarted {
                                status: "Unknown".into(),
                            })
                        }
                    }
                }
                StartHumanLoopError::ValidationException(e) => {
                    // A2I refuses the name of a finished loop with a validation error: the item
                    // was reviewed already. Anything else is a real validation failure.
                    match self.existing_loop(name).await {
                        Some(Ok(status)) => Ok(LoopStart::AlreadyStarted { status }),
                        _ => Err((
                            format!(
                                "StartHumanLoop refused the request (ValidationException): {}",
                                e.message().unwrap_or("no message")
                            ),
                            false,
                        )),
                    }
                }
                StartHumanLoopError::ServiceQuotaExceededException(e) => Err((
                    format!(
                        "A2I quota exceeded (ServiceQuotaExceededException): {}",
                        e.message().unwrap_or("no message")
                    ),
                    true,
                )),
                StartHumanLoopError::ThrottlingException(e) => Err((
                    format!(
                        "throttled by A2I after the SDK's retries (ThrottlingException): {}",
                        e.message().unwrap_or("no message")
                    ),
                    true,
                )),
                StartHumanLoopError::InternalServerException(e) => Err((
                    format!(
                        "A2I internal error (InternalServerException): {}",
                        e.message().unwrap_or("no message")
                    ),
                    true,
                )),
                other => Err((
                    format!(
                        "StartHumanLoop failed (HTTP {}): {other}",
                        se.raw().status().as_u16()
                    ),
                    true,
                )),
            },
            SdkError::TimeoutError(_) => Err(("StartHumanLoop timed out".into(), true)),
            SdkError::DispatchFailure(e) => {
                Err((format!("StartHumanLoop could not be sent: {:?}", e), true))
            }
            SdkError::ResponseError(_) => Err((
                "StartHumanLoop returned an unreadable response".into(),
                true,
            )),
            SdkError::ConstructionFailure(_) => Err((
                format!("StartHumanLoop request could not be built: {err}"),
                false,
            )),
            _ => Err((format!("StartHumanLoop failed: {err}"), true)),
        }
    }

    /// `Some(Ok(status))` when a loop of this name exists on our flow definition,
    /// `Some(Err(flow))` when it belongs to another one, `None` when it cannot be described.
    async fn existing_loop(&self, name: &str) -> Option<Result<String, String>> {
        match self
            .a2i
            .describe_human_loop()
            .human_loop_name(name)
            .send()
            .await
        {
            Ok(out) if out.flow_definition_arn() == Some(self.flow_definition_arn.as_str()) => {
                Some(Ok(out
                    .human_loop_status()
                    .map_or("Unknown", |s| s.as_str())
                    .to_owned()))
            }
            Ok(out) => Some(Err(out
                .flow_definition_arn()
                .unwrap_or("unknown")
                .to_owned())),
            Err(e) => {
                tracing::debug!(loop_name = name, error = %e, "DescribeHumanLoop failed");
                None
            }
        }
    }
}

enum LoopStart {
    Started,
    AlreadyStarted { status: String },
}

fn fault_failure(object: &ObjectRef, fault: ItemFault) -> Failure {
    tracing::error!(item_index = fault.index, line = fault.line, reason = %fault.reason, retryable = fault.retryable, "item could not be read");
    Failure {
        item_index: fault.index,
        line: fault.line,
        ..Failure::of(object, fault.reason, fault.retryable)
    }
}

/// Names an S3 read failure and says whether a retry may help.
fn describe_get_error(
    e: &SdkError<
        aws_sdk_s3::operation::get_object::GetObjectError,
        aws_sdk_s3::config::http::HttpResponse,
    >,
) -> (String, bool) {
    use aws_sdk_s3::operation::get_object::GetObjectError;
    match e {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            match se.err() {
                GetObjectError::NoSuchKey(_) => (
                    "the object no longer exists (NoSuchKey): it was deleted after the event"
                        .into(),
                    false,
                ),
                other => {
                    let code =
                        aws_sdk_s3::error::ProvideErrorMetadata::code(other).unwrap_or("unknown");
                    let retryable = status >= 500 || status == 429 || code == "SlowDown";
                    let hint = if status == 412 {
                        ": the object was overwritten after the event; its new version has its own event"
                    } else {
                        ""
                    };
                    (
                        format!("GetObject failed with HTTP {status} ({code}){hint}"),
                        retryable,
                    )
                }
            }
        }
        SdkError::TimeoutError(_) => ("GetObject timed out".into(), true),
        SdkError::DispatchFailure(_) => ("GetObject could not be sent".into(), true),
        other => (format!("GetObject failed: {other}"), true),
    }
}

async fn load_conditions(
    s3: &aws_sdk_s3::Client,
    bucket: String,
    key: String,
) -> Result<ActivationConditions, InitError> {
    let unreadable = |reason: String| InitError::ConditionsUnreadable {
        bucket: bucket.clone(),
        key: key.clone(),
        reason,
    };
    let out = s3
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .map_err(|e| unreadable(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()))?;
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| unreadable(e.to_string()))?
        .into_bytes();
    let text = std::str::from_utf8(&bytes).map_err(|e| unreadable(format!("not UTF-8: {e}")))?;
    crate::config::parse_conditions_document(text).map_err(|source| InitError::ConditionsInvalid {
        bucket,
        key,
        source,
    })
}
