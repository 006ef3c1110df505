//! Reading S3 objects for the start handler: the uploaded object (exactly the version the
//! event names) and, at cold start, a condition document named by an `s3://` URI.

use crate::conditions::{ActivationConditions, ConditionError};
use crate::config::DocumentFormat;
use crate::document::{self, Items};
use crate::error::CallError;
use crate::source::ObjectRef;

use super::summary::{Failure, FailureKind};

/// The handler could not be built: the function must not take events.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A built-in `TASK_TYPE` without the Textract and Rekognition clients.
    #[error("TASK_TYPE={task_type} needs the Textract and Rekognition clients: build the handler with StartHandler::with_builtin_clients")]
    BuiltinClientsMissing {
        /// The task type.
        task_type: crate::builtin::TaskType,
    },
    /// A built-in `TASK_TYPE` without `RESULTS_BUCKET` (a config built by hand).
    #[error("TASK_TYPE={task_type} needs RESULTS_BUCKET: model answers and loop registrations are written there")]
    ResultsBucketMissing {
        /// The task type.
        task_type: crate::builtin::TaskType,
    },
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

/// Opens `object` and splits it into items; an object that cannot be read is one failure.
pub(super) async fn read_items(
    s3: &aws_sdk_s3::Client,
    object: &ObjectRef,
    format: DocumentFormat,
    items_path: Option<&serde_json_path::JsonPath>,
) -> Result<Items, Failure> {
    let mut request = s3.get_object().bucket(&object.bucket).key(&object.key);
    // Read exactly the version the event names: loop names are derived from it.
    if let Some(v) = &object.version_id {
        request = request.version_id(v);
    } else if let Some(etag) = &object.e_tag {
        request = request.if_match(format!("\"{etag}\""));
    }
    let body = match request.send().await {
        Ok(out) => out.body.into_async_read(),
        Err(e) => {
            let call = CallError::classify("GetObject", &e);
            let hint = if call.has_code("NoSuchKey") {
                "; the object was deleted after the event"
            } else if call.status == Some(412) {
                "; the object was overwritten after the event, and its new version has its own event"
            } else {
                ""
            };
            return Err(Failure::of(
                object,
                FailureKind::ObjectUnreadable,
                format!("{call}{hint}"),
                call.retryable,
            ));
        }
    };
    Ok(document::items(
        tokio::io::BufReader::new(body),
        &object.key,
        format,
        items_path,
    )
    .await)
}

/// Reads and validates the condition document at `s3://{bucket}/{key}`.
pub(super) async fn load_conditions(
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
        .map_err(|e| unreadable(CallError::classify("GetObject", &e).to_string()))?;
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| unreadable(CallError::body_read("GetObject", &e).to_string()))?
        .into_bytes();
    let text = std::str::from_utf8(&bytes).map_err(|e| unreadable(format!("not UTF-8: {e}")))?;
    crate::config::parse_conditions_document(text).map_err(|source| InitError::ConditionsInvalid {
        bucket,
        key,
        source,
    })
}
