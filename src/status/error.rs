//! Why an event could not be turned into a reviewed result, and whether trying again can help.
//!
//! Every error fails the invocation (nothing is swallowed), so Lambda's async retries and the
//! on-failure destination see it. [`StatusError::is_retryable`] tells operators and the
//! `Diagnostic` mapping whether a retry can succeed (S3 lag, throttling, 5xx) or the event
//! needs a human (a foreign event, a malformed `output.json`, missing permissions).

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::error::{CallError, FunctionError};

/// The only `source` this handler accepts.
pub const SOURCE: &str = "aws.sagemaker";
/// The only `detail-type` this handler accepts.
pub const DETAIL_TYPE: &str = "SageMaker A2I HumanLoop Status Change";

/// Why an event was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The event is not an object, or a field is missing or of the wrong type.
    #[error("invalid A2I status event: {field}: {problem}")]
    InvalidEvent {
        /// Path of the field, e.g. `detail.humanLoopName`.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The event came from another service (the EventBridge rule is wider than it should be).
    #[error("event source {event_source:?} is not {expected:?}; this function only handles A2I loop-status events", expected = SOURCE)]
    ForeignSource {
        /// The `source` that arrived (not named `source`: thiserror reserves that name).
        event_source: String,
    },
    /// The event is from SageMaker but not a human-loop status change.
    #[error("event detail-type {detail_type:?} is not {expected:?}", expected = DETAIL_TYPE)]
    ForeignDetailType {
        /// The `detail-type` that arrived.
        detail_type: String,
    },
    /// A status other than `Completed`, `Failed` or `Stopped`: not a final state, so
    /// recording it would be wrong, and dropping it silently would hide a broken rule.
    #[error(
        "loop {loop_name}: status {status:?} is not a final status (Completed, Failed, Stopped)"
    )]
    UnexpectedStatus {
        /// The loop.
        loop_name: String,
        /// The status that arrived.
        status: String,
    },
    /// A `Completed` event without `detail.humanLoopOutput.outputS3Uri`.
    #[error("loop {loop_name}: Completed event has no detail.humanLoopOutput.outputS3Uri")]
    MissingOutputUri {
        /// The loop.
        loop_name: String,
    },
    /// `outputS3Uri` is not an `s3://bucket/key` URI.
    #[error("loop {loop_name}: detail.humanLoopOutput.outputS3Uri {uri:?} is invalid: {rule}")]
    InvalidOutputUri {
        /// The loop.
        loop_name: String,
        /// The URI that arrived.
        uri: String,
        /// The rule it broke.
        rule: &'static str,
    },
    /// `output.json` is not there (yet): A2I can write it after sending the event. Retrying
    /// later finds it. (Without `s3:ListBucket` S3 answers 403 instead, which is not retried.)
    #[error("output.json not found at s3://{bucket}/{key} (it can lag the event; retry)")]
    OutputNotFound {
        /// Bucket of the output.
        bucket: String,
        /// Key of the output.
        key: String,
    },
    /// `output.json` exists but is not what A2I documents.
    #[error("output.json at s3://{bucket}/{key} is invalid: {problem}")]
    InvalidOutput {
        /// Bucket of the output.
        bucket: String,
        /// Key of the output.
        key: String,
        /// What is wrong (field path and kind; never the content).
        problem: String,
    },
    /// A built-in loop's stored model answer exists but is not a valid one for this loop.
    #[error("model answer at s3://{bucket}/{key} is invalid: {problem}")]
    InvalidModelAnswer {
        /// Bucket of the model answer.
        bucket: String,
        /// Key of the model answer.
        key: String,
        /// What is wrong (member path and rule; never the content).
        problem: String,
    },
    /// An S3 call failed; [`CallError::classify`] says whether the failure was transient.
    #[error("S3 {operation} s3://{bucket}/{key} failed ({class}): {call}", operation = call.operation, class = if call.retryable { "retryable" } else { "not retryable" })]
    S3 {
        /// Bucket of the call.
        bucket: String,
        /// Key of the call.
        key: String,
        /// The classified failure (operation, code, HTTP status, whether it is transient).
        call: CallError,
    },
    /// The loop's registration could not be read, or is not a valid registration: the
    /// result is not written under `_no-source` when the item may be known.
    #[error("loop {loop_name}: {error}")]
    Registry {
        /// The loop.
        loop_name: String,
        /// What failed (boxed: it is much larger than the other variants).
        error: Box<crate::registry::RegistryError>,
    },
}

impl StatusError {
    /// Whether the same event can succeed later without anyone changing anything (also
    /// [`FunctionError::is_retryable`]; inherent so callers need no trait import).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::OutputNotFound { .. } => true,
            Self::S3 { call, .. } => call.retryable,
            Self::Registry { error, .. } => error.is_retryable(),
            Self::InvalidEvent { .. }
            | Self::ForeignSource { .. }
            | Self::ForeignDetailType { .. }
            | Self::UnexpectedStatus { .. }
            | Self::MissingOutputUri { .. }
            | Self::InvalidOutputUri { .. }
            | Self::InvalidOutput { .. }
            | Self::InvalidModelAnswer { .. } => false,
        }
    }

    /// Classifies a failed S3 call on `s3://{bucket}/{key}`.
    pub(crate) fn s3<E>(
        operation: &'static str,
        bucket: &str,
        key: &str,
        err: &SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        Self::S3 {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            call: CallError::classify(operation, err),
        }
    }
}

impl FunctionError for StatusError {
    fn kind(&self) -> &'static str {
        match self {
            Self::InvalidEvent { .. } => "InvalidEvent",
            Self::ForeignSource { .. } => "ForeignSource",
            Self::ForeignDetailType { .. } => "ForeignDetailType",
            Self::UnexpectedStatus { .. } => "UnexpectedStatus",
            Self::MissingOutputUri { .. } => "MissingOutputUri",
            Self::InvalidOutputUri { .. } => "InvalidOutputUri",
            Self::OutputNotFound { .. } => "OutputNotFound",
            Self::InvalidOutput { .. } => "InvalidOutput",
            Self::InvalidModelAnswer { .. } => "InvalidModelAnswer",
            Self::S3 { .. } => "S3",
            Self::Registry { .. } => "Registry",
        }
    }

    fn is_retryable(&self) -> bool {
        StatusError::is_retryable(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_say_whether_to_retry() {
        let e = StatusError::OutputNotFound {
            bucket: "b".into(),
            key: "k/output.json".into(),
        };
        assert!(e.is_retryable());
        assert_eq!(e.error_type(), "Retryable.OutputNotFound");
        assert!(e.to_string().contains("s3://b/k/output.json"));
        let e = StatusError::UnexpectedStatus {
            loop_name: "l".into(),
            status: "InProgress".into(),
        };
        assert!(!e.is_retryable());
        assert_eq!(e.error_type(), "NonRetryable.UnexpectedStatus");
        let e = StatusError::S3 {
            bucket: "r".into(),
            key: "x.json".into(),
            call: CallError {
                operation: "PutObject",
                failure: crate::error::CallFailure::Service,
                code: Some("SlowDown".into()),
                status: Some(503),
                detail: None,
                retryable: true,
            },
        };
        assert!(e.is_retryable());
        assert_eq!(
            e.to_string(),
            "S3 PutObject s3://r/x.json failed (retryable): PutObject failed with SlowDown (HTTP 503)"
        );
    }

    #[test]
    fn foreign_events_name_the_value_that_arrived() {
        let e = StatusError::ForeignSource {
            event_source: "aws.s3".into(),
        };
        assert_eq!(
            e.to_string(),
            "event source \"aws.s3\" is not \"aws.sagemaker\"; this function only handles A2I loop-status events"
        );
    }
}
