//! Rebuilding the `InputContent` of a registered loop's item, exactly as the start handler
//! rendered it, so a Failed or Stopped loop can be restarted for the same item
//! (`a2i-review loops restart`).
//!
//! The registration names the object version, the item's index and the SHA-256 of the input
//! that was sent. The object is read at that version (or, without one, only while its ETag is
//! the registered one), split into items by the handler's own rules ([`crate::document`]),
//! the item is judged by the activation conditions and rendered by [`LoopInput`]; the result
//! is accepted only when its digest is the registered one. A different digest means the
//! conditions or the settings differ from those the loop was started with, and the input would
//! not be the one the reviewer was meant to see: that is an error, not a silent change.
//!
//! A loop of a built-in task type (its registration has a `taskType`) is refused: A2I
//! started it from a Textract or Rekognition answer, not from an input this app rendered.

use futures::StreamExt;

use crate::builtin::TaskType;
use crate::conditions::{ActivationConditions, SliceError};
use crate::config::DocumentFormat;
use crate::document;
use crate::error::CallError;
use crate::loop_input::{LoopInput, RenderedInput};
use crate::registry::{input_sha256, LoopRegistration};

/// Why an item's input could not be rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RebuildError {
    /// The loop is of a built-in task type: A2I started it from a Textract or Rekognition
    /// answer, which `StartHumanLoop` cannot reproduce.
    #[error("the loop is of the built-in task type {task_type}: A2I started it from the service's answer, and StartHumanLoop cannot start such a loop again. Upload s3://{bucket}/{key} again as a new object version instead (the start function analyses it and A2I decides again; in a bucket without versioning identical bytes keep their ETag and so their loop name: copy the object under another key)")]
    BuiltIn {
        /// The registration's task type.
        task_type: TaskType,
        /// The object's bucket.
        bucket: String,
        /// The object's key.
        key: String,
    },
    /// The source object could not be read (gone, overwritten, no access).
    #[error("reading the source object s3://{bucket}/{key} failed: {call}")]
    Source {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// The S3 error.
        call: CallError,
    },
    /// The object or the item cannot be read as the start handler reads it.
    #[error("item {item_index} of s3://{bucket}/{key} cannot be read: {reason}")]
    Unreadable {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// The item's index.
        item_index: u64,
        /// The rule broken (positions and kinds, never content).
        reason: String,
    },
    /// The object has no item at the registered index.
    #[error("s3://{bucket}/{key} has no item {item_index}")]
    NoSuchItem {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// The item's index.
        item_index: u64,
    },
    /// The activation conditions do not flag the item (they are not the ones it was started
    /// with).
    #[error("the activation conditions do not flag item {item_index}: they are not the ones the loop was started with")]
    NotFlagged {
        /// The item's index.
        item_index: u64,
    },
    /// The rebuilt input is not the one that was sent.
    #[error("the rebuilt input has SHA-256 {rebuilt}, the registered one {registered}: the conditions, ITEMS_PATH or DOCUMENT_FORMAT differ from the start handler's")]
    InputChanged {
        /// The digest of the rebuilt input.
        rebuilt: String,
        /// The registered digest.
        registered: String,
    },
}

/// Reads the registered item and renders its loop input as the start handler did, checked
/// against the registered digest.
pub async fn rebuild_input(
    s3: &aws_sdk_s3::Client,
    registration: &LoopRegistration,
    conditions: &ActivationConditions,
    format: DocumentFormat,
    items_path: Option<&serde_json_path::JsonPath>,
    media_path: Option<&serde_json_path::JsonPath>,
) -> Result<RenderedInput, RebuildError> {
    if let Some(task_type) = registration.task_type.filter(|t| t.is_builtin()) {
        return Err(RebuildError::BuiltIn {
            task_type,
            bucket: registration.source.bucket.clone(),
            key: registration.source.key.clone(),
        });
    }
    let source = registration.item_source();
    let object = &source.object.clone();
    let index = source.item_index;
    let unreadable = |reason: String| RebuildError::Unreadable {
        bucket: object.bucket.clone(),
        key: object.key.clone(),
        item_index: index,
        reason,
    };
    let mut request = s3.get_object().bucket(&object.bucket).key(&object.key);
    // Exactly the version the loop was started from, as the start handler reads it.
    if let Some(v) = &object.version_id {
        request = request.version_id(v);
    } else if let Some(etag) = &object.e_tag {
        request = request.if_match(format!("\"{etag}\""));
    }
    let body = request
        .send()
        .await
        .map_err(|e| RebuildError::Source {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            call: CallError::classify("GetObject", &e),
        })?
        .body
        .into_async_read();
    let mut items = document::items(
        tokio::io::BufReader::new(body),
        &object.key,
        format,
        items_path,
    )
    .await;
    let item = loop {
        match items.next().await {
            None => {
                return Err(RebuildError::NoSuchItem {
                    bucket: object.bucket.clone(),
                    key: object.key.clone(),
                    item_index: index,
                })
            }
            Some(Ok(item)) if item.index == index => break item,
            Some(Ok(_)) => {}
            // A fault of the whole object, or of this item, ends the search; other items' do not.
            Some(Err(fault)) if fault.index.is_none_or(|i| i == index) => {
                return Err(unreadable(fault.reason))
            }
            Some(Err(_)) => {}
        }
    };
    let (evaluation, body) = item.body.evaluate(conditions).map_err(|e| match e {
        SliceError::Evaluation(e) => unreadable(format!(
            "the activation conditions cannot be evaluated: {e}"
        )),
        SliceError::NotJson(e) => unreadable(format!("the object is not valid JSON: {e}")),
    })?;
    if !evaluation.flagged {
        return Err(RebuildError::NotFlagged { item_index: index });
    }
    let value = body
        .into_value()
        .map_err(|e| unreadable(format!("the object is not valid JSON: {e}")))?;
    let media = match media_path {
        Some(path) => {
            crate::loop_input::find_media(path, &value).map_err(|e| unreadable(e.to_string()))?
        }
        None => None,
    };
    let rendered = LoopInput::new(value, source, &evaluation, media)
        .render()
        .map_err(|e| unreadable(e.to_string()))?;
    let rebuilt = input_sha256(&rendered.content);
    if rebuilt != registration.input_sha256 {
        return Err(RebuildError::InputChanged {
            rebuilt,
            registered: registration.input_sha256.clone(),
        });
    }
    Ok(rendered)
}
