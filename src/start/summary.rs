//! What one start invocation did: the [`Summary`] it returns, and the [`StartError`] that
//! carries the summary when something failed.

use serde::Serialize;

use crate::error::FunctionError;
use crate::s3_event::NotAnS3Event;
use crate::source::ObjectRef;

/// What one invocation did. Returned as the function's result, and carried by the error when
/// some items failed, so the on-failure destination holds the whole story.
///
/// Every flagged item is counted exactly once, as `started`, `alreadyStarted` or `failed`:
/// `started` counts only loops this invocation created; a loop that was there before (a
/// redelivered event, a retry, a finished loop of the same item) is `alreadyStarted`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The event was S3's `s3:TestEvent`: acknowledged, nothing done.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub test_event: bool,
    /// Objects read (each object version once, however many records name it).
    pub objects: usize,
    /// Items seen (including ones that could not be read).
    pub items: usize,
    /// Items the conditions flagged for review.
    pub flagged: usize,
    /// Loops this invocation created.
    pub started: usize,
    /// Flagged items whose loop existed before this invocation asked for it.
    pub already_started: usize,
    /// Items no condition flagged.
    pub skipped: usize,
    /// Raw-media mode: objects Textract or Rekognition answered in this invocation (their
    /// model answers are stored); absent for custom uploads.
    #[serde(skip_serializing_if = "is_zero")]
    pub analysed: usize,
    /// Items, objects and records that failed; see `failures`.
    pub failed: usize,
    /// Records naming an object version an earlier record of the same event named: not
    /// processed again.
    #[serde(skip_serializing_if = "is_zero")]
    pub duplicate_records: usize,
    /// Records that were not object creations, skipped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_records: Vec<SkippedRecord>,
    /// Every failure with its cause.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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
    /// What went wrong (paths, types, codes; never item content).
    pub reason: String,
    /// Whether invoking again may succeed.
    pub retryable: bool,
    /// Which kind of failure: a closed set, for metrics and alarms.
    pub kind: FailureKind,
}

/// The kinds of failure, a closed set: each is a metric `Failed.<Kind>` of the start
/// function (see [`crate::metrics`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FailureKind {
    /// A record of the event named no usable object.
    InvalidRecord,
    /// S3 `GetObject` of the uploaded object failed.
    ObjectUnreadable,
    /// The whole object is not a document of items (empty, not JSON, no list at `ITEMS_PATH`).
    InvalidDocument,
    /// One item is not JSON or the conditions cannot be evaluated on it.
    InvalidItem,
    /// The loop input is over A2I's limit even with the item replaced by its reference.
    InputTooLarge,
    /// The loop's registration could not be written (no loop is started without it).
    RegistryWrite,
    /// The loop name belongs to a loop of another flow definition.
    LoopNameTaken,
    /// A2I refused `StartHumanLoop` for a reason a retry may clear (throttling, quota, 5xx,
    /// timeouts).
    A2iRetryable,
    /// A2I refused `StartHumanLoop` for good (validation, access).
    A2iRejected,
    /// Raw-media mode: Textract or Rekognition failed for a reason a retry may clear
    /// (throttling, `ProvisionedThroughputExceededException`, the loop quota, 5xx, timeouts).
    ServiceRetryable,
    /// Raw-media mode: Textract or Rekognition refused the call for good (access, an
    /// unreadable S3 object, an invalid parameter, an unknown flow definition).
    ServiceRejected,
    /// Raw-media mode: the object is not a document or image the service takes (format,
    /// size, a multi-page document for synchronous `AnalyzeDocument`).
    UnsupportedMedia,
    /// Raw-media mode: the model answer could not be checked or written (the loop, if any,
    /// exists; a retry stores the answer without starting anything).
    ModelAnswerWrite,
}

impl FailureKind {
    /// Every kind, in a fixed order.
    pub const ALL: [FailureKind; 13] = [
        Self::InvalidRecord,
        Self::ObjectUnreadable,
        Self::InvalidDocument,
        Self::InvalidItem,
        Self::InputTooLarge,
        Self::RegistryWrite,
        Self::LoopNameTaken,
        Self::A2iRetryable,
        Self::A2iRejected,
        Self::ServiceRetryable,
        Self::ServiceRejected,
        Self::UnsupportedMedia,
        Self::ModelAnswerWrite,
    ];

    /// The kind's name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRecord => "InvalidRecord",
            Self::ObjectUnreadable => "ObjectUnreadable",
            Self::InvalidDocument => "InvalidDocument",
            Self::InvalidItem => "InvalidItem",
            Self::InputTooLarge => "InputTooLarge",
            Self::RegistryWrite => "RegistryWrite",
            Self::LoopNameTaken => "LoopNameTaken",
            Self::A2iRetryable => "A2iRetryable",
            Self::A2iRejected => "A2iRejected",
            Self::ServiceRetryable => "ServiceRetryable",
            Self::ServiceRejected => "ServiceRejected",
            Self::UnsupportedMedia => "UnsupportedMedia",
            Self::ModelAnswerWrite => "ModelAnswerWrite",
        }
    }
}

impl Failure {
    /// A failure of `object` (or of one of its items, once `item_index`/`line` are set).
    pub(crate) fn of(
        object: &ObjectRef,
        kind: FailureKind,
        reason: String,
        retryable: bool,
    ) -> Self {
        Self {
            bucket: Some(object.bucket.clone()),
            key: Some(object.key.clone()),
            item_index: None,
            line: None,
            loop_name: None,
            reason,
            retryable,
            kind,
        }
    }

    /// A failure of a record that named no usable object.
    pub(crate) fn of_record(reason: String) -> Self {
        Self {
            bucket: None,
            key: None,
            item_index: None,
            line: None,
            loop_name: None,
            reason,
            retryable: false,
            kind: FailureKind::InvalidRecord,
        }
    }

    /// What failed: one item, a whole object, or a record.
    fn scope(&self) -> Scope {
        match (self.item_index, &self.key) {
            (Some(_), _) => Scope::Item,
            (None, Some(_)) => Scope::Object,
            (None, None) => Scope::Record,
        }
    }
}

#[derive(PartialEq, Eq)]
enum Scope {
    Item,
    Object,
    Record,
}

/// An invocation that did not fully succeed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The payload is not an S3 event: retrying cannot help.
    #[error(transparent)]
    NotAnS3Event(#[from] NotAnS3Event),
    /// Some items, objects or records failed. Every other item was processed first.
    #[error("{}", items_failed_message(.summary))]
    ItemsFailed {
        /// What the invocation did, failures included.
        summary: Summary,
    },
}

/// Failures listed in the error message; the rest are counted. Lambda keeps error
/// messages short, and the first failures say what went wrong.
pub const FAILURES_IN_MESSAGE: usize = 10;

/// `1 object`, `2 objects`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The invocation's error message: what failed (items out of items seen, whole objects,
/// records), whether a retry helps, and the summary with at most [`FAILURES_IN_MESSAGE`]
/// failures.
fn items_failed_message(summary: &Summary) -> String {
    let failed = |scope: Scope| {
        summary
            .failures
            .iter()
            .filter(|f| f.scope() == scope)
            .count()
    };
    let mut what = Vec::new();
    let items = failed(Scope::Item);
    if items > 0 {
        what.push(format!(
            "{items} of {} failed",
            count(summary.items, "item", "items")
        ));
    }
    let objects = failed(Scope::Object);
    if objects > 0 {
        what.push(format!(
            "{} could not be processed",
            count(objects, "object", "objects")
        ));
    }
    let records = failed(Scope::Record);
    if records > 0 {
        what.push(format!(
            "{} invalid",
            count(records, "record was", "records were")
        ));
    }
    let retryable = summary.failures.iter().any(|f| f.retryable);
    let mut shown = summary.clone();
    shown.failures.truncate(FAILURES_IN_MESSAGE);
    let more = summary.failures.len() - shown.failures.len();
    format!(
        "{} ({}); summary{}: {}",
        what.join(", "),
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
    /// Whether a retry of the same event may succeed: some failure is retryable (quota,
    /// throttling, 5xx, timeouts, S3 read errors). Content errors are not retryable.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::NotAnS3Event(_) => false,
            Self::ItemsFailed { summary } => summary.failures.iter().any(|f| f.retryable),
        }
    }
}

impl FunctionError for StartError {
    fn kind(&self) -> &'static str {
        match self {
            Self::NotAnS3Event(_) => "NotAnS3Event",
            Self::ItemsFailed { .. } => "ItemsFailed",
        }
    }

    fn is_retryable(&self) -> bool {
        StartError::is_retryable(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object() -> ObjectRef {
        ObjectRef {
            bucket: "b".into(),
            key: "k.jsonl".into(),
            version_id: None,
            e_tag: None,
        }
    }

    fn message(failures: Vec<Failure>, items: usize, objects: usize) -> String {
        StartError::ItemsFailed {
            summary: Summary {
                objects,
                items,
                failed: failures.len(),
                failures,
                ..Summary::default()
            },
        }
        .to_string()
    }

    #[test]
    fn object_and_record_failures_are_not_counted_as_items() {
        let m = message(
            vec![Failure::of(
                &object(),
                FailureKind::InvalidDocument,
                "empty".into(),
                false,
            )],
            0,
            1,
        );
        assert!(
            m.starts_with("1 object could not be processed (not retryable"),
            "{m}"
        );
        assert!(!m.contains("of 0 items"), "{m}");
        let item = Failure {
            item_index: Some(2),
            ..Failure::of(&object(), FailureKind::InvalidItem, "bad".into(), true)
        };
        let m = message(
            vec![
                item,
                Failure::of(
                    &object(),
                    FailureKind::ObjectUnreadable,
                    "gone".into(),
                    false,
                ),
                Failure::of_record("Records[1].s3.object.key is missing".into()),
                Failure::of_record("Records[2].s3.object.key is missing".into()),
            ],
            3,
            2,
        );
        assert!(
            m.starts_with(
                "1 of 3 items failed, 1 object could not be processed, 2 records were invalid (retryable"
            ),
            "{m}"
        );
    }

    #[test]
    fn the_error_type_says_whether_a_retry_helps() {
        let e = StartError::ItemsFailed {
            summary: Summary {
                failures: vec![Failure::of(
                    &object(),
                    FailureKind::A2iRetryable,
                    "throttled".into(),
                    true,
                )],
                ..Summary::default()
            },
        };
        assert_eq!(e.error_type(), "Retryable.ItemsFailed");
        let e = StartError::NotAnS3Event(NotAnS3Event("x".into()));
        assert_eq!(e.diagnostic().error_type, "NonRetryable.NotAnS3Event");
    }

    #[test]
    fn duplicate_records_appear_in_the_summary_only_when_there_are_some() {
        let none = serde_json::to_value(Summary::default()).unwrap();
        assert!(none.get("duplicateRecords").is_none());
        let some = serde_json::to_value(Summary {
            duplicate_records: 2,
            ..Summary::default()
        })
        .unwrap();
        assert_eq!(some["duplicateRecords"], serde_json::json!(2));
    }
}
