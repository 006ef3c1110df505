//! The `InputContent` of a human loop: the item, where it came from, and why it was flagged.
//!
//! Rendering is deterministic (no timestamps, stable key order), so a redelivered S3 event
//! sends byte-identical input and A2I answers `ConflictException` only when the input really
//! changed. The same type is parsed back by the status handler from `output.json`'s
//! `inputContent`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::conditions::Evaluation;
use crate::source::ObjectRef;

/// Largest `InputContent` A2I accepts, in characters (botocore model: max 3145728).
pub const MAX_INPUT_CONTENT_CHARS: usize = 3_145_728;

/// Where one item came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemSource {
    /// The object the item was read from.
    #[serde(flatten)]
    pub object: ObjectRef,
    /// Zero-based position of the item in the object (the line's index for JSON Lines).
    pub item_index: u64,
    /// One-based line number, for JSON Lines objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

/// The JSON document sent as `HumanLoopInput.InputContent`. Worker templates read it as
/// `task.input`: `task.input.taskObject` is the item (the convention of AWS's custom
/// templates) and `task.input.activationReasons` says why it is there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoopInput {
    /// The item itself, or the `s3://` URI of its object when the item is too large.
    pub task_object: Value,
    /// True when `task_object` is the S3 URI standing in for an item too large to send.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub task_object_is_reference: bool,
    /// Where the item came from.
    pub source: ItemSource,
    /// Why the item was flagged, one sentence per condition that held.
    pub activation_reasons: Vec<String>,
    /// The condition document annotated with `EvaluationResult` on every node (the key A2I's
    /// built-in task types use for the same thing).
    pub human_task_activation_condition_results: Value,
}

/// The input could not be brought under A2I's size limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("InputContent is {chars} characters even with the item replaced by its S3 reference; the limit is {MAX_INPUT_CONTENT_CHARS}")]
pub struct InputTooLarge {
    /// Size of the smallest rendering, in characters.
    pub chars: usize,
}

/// A rendered `InputContent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedInput {
    /// The JSON text to send.
    pub content: String,
    /// Whether the item was replaced by its S3 reference.
    pub item_replaced: bool,
}

impl LoopInput {
    /// Builds the input of one flagged item.
    pub fn new(item: Value, source: ItemSource, evaluation: &Evaluation) -> Self {
        Self {
            task_object: item,
            task_object_is_reference: false,
            source,
            activation_reasons: evaluation.reasons.clone(),
            human_task_activation_condition_results: evaluation.results.clone(),
        }
    }

    /// Renders the input, replacing the item by its object's S3 URI when the whole would be
    /// over [`MAX_INPUT_CONTENT_CHARS`].
    pub fn render(mut self) -> Result<RenderedInput, InputTooLarge> {
        let content = self.to_json();
        if content.chars().count() <= MAX_INPUT_CONTENT_CHARS {
            return Ok(RenderedInput {
                content,
                item_replaced: false,
            });
        }
        self.task_object = Value::String(self.source.object.s3_uri());
        self.task_object_is_reference = true;
        let content = self.to_json();
        let chars = content.chars().count();
        if chars <= MAX_INPUT_CONTENT_CHARS {
            Ok(RenderedInput {
                content,
                item_replaced: true,
            })
        } else {
            Err(InputTooLarge { chars })
        }
    }

    fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a LoopInput holds only JSON values and strings")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn source() -> ItemSource {
        ItemSource {
            object: ObjectRef {
                bucket: "in".into(),
                key: "batch/a b.jsonl".into(),
                version_id: None,
                e_tag: Some("abc".into()),
            },
            item_index: 4,
            line: Some(5),
        }
    }

    fn evaluation() -> Evaluation {
        Evaluation {
            flagged: true,
            reasons: vec!["low confidence".into()],
            results: json!({"Conditions": [{"EvaluationResult": true}]}),
        }
    }

    #[test]
    fn rendering_is_deterministic_and_round_trips() {
        let item = json!({"z": 1, "a": [1, 2], "m": {"y": true, "b": null}});
        let a = LoopInput::new(item.clone(), source(), &evaluation())
            .render()
            .unwrap();
        let b = LoopInput::new(item.clone(), source(), &evaluation())
            .render()
            .unwrap();
        assert_eq!(a, b);
        assert!(!a.item_replaced);
        let back: LoopInput = serde_json::from_str(&a.content).unwrap();
        assert_eq!(back.task_object, item);
        assert_eq!(back.source, source());
        assert!(a.content.contains("\"taskObject\""));
        assert!(a
            .content
            .contains("\"humanTaskActivationConditionResults\""));
        assert!(!a.content.contains("taskObjectIsReference"));
    }

    #[test]
    fn an_items_keys_keep_the_order_they_were_uploaded_in() {
        // serde_json's preserve_order is a normal feature of the app (Cargo.toml), so the
        // deployed function renders what this test sees.
        let item: Value =
            serde_json::from_str(r#"{"zeta": 1, "alpha": {"y": 2, "b": 3}}"#).unwrap();
        let r = LoopInput::new(item, source(), &evaluation())
            .render()
            .unwrap();
        assert!(
            r.content
                .contains(r#""taskObject":{"zeta":1,"alpha":{"y":2,"b":3}}"#),
            "{}",
            r.content
        );
    }

    #[test]
    fn an_item_over_the_limit_is_replaced_by_its_s3_reference() {
        let big = "é".repeat(MAX_INPUT_CONTENT_CHARS); // characters, not bytes, are counted
        let r = LoopInput::new(json!({ "text": big }), source(), &evaluation())
            .render()
            .unwrap();
        assert!(r.item_replaced);
        let back: LoopInput = serde_json::from_str(&r.content).unwrap();
        assert_eq!(back.task_object, json!("s3://in/batch/a b.jsonl"));
        assert!(back.task_object_is_reference);
        assert_eq!(back.source.line, Some(5));
    }

    #[test]
    fn an_item_just_under_the_limit_is_kept() {
        let skeleton = LoopInput::new(json!(""), source(), &evaluation()).to_json();
        let room = MAX_INPUT_CONTENT_CHARS - skeleton.chars().count();
        let r = LoopInput::new(json!("x".repeat(room)), source(), &evaluation())
            .render()
            .unwrap();
        assert!(!r.item_replaced);
        assert_eq!(r.content.chars().count(), MAX_INPUT_CONTENT_CHARS);
        let r = LoopInput::new(json!("x".repeat(room + 1)), source(), &evaluation())
            .render()
            .unwrap();
        assert!(r.item_replaced);
    }

    #[test]
    fn oversized_evaluation_is_an_error_not_a_truncation() {
        let mut e = evaluation();
        e.reasons = vec!["r".repeat(MAX_INPUT_CONTENT_CHARS)];
        let err = LoopInput::new(json!(1), source(), &e).render().unwrap_err();
        assert!(err.chars > MAX_INPUT_CONTENT_CHARS);
    }
}
