//! Activation conditions: A2I's `HumanLoopActivationConditions` language, parsed once into a
//! typed tree and evaluated on each item, with the reasons and the annotated tree.
//!
//! A2I evaluates no conditions for custom task types, so this crate decides which items
//! need a human. It is a crate of its own so that both the functions (`a2i-review`) and the
//! emulator (`a2i-local`) evaluate with one implementation, without depending on each
//! other. Users bring condition documents written for A2I's built-in task types unchanged;
//! two condition types of ours cover custom models.
//!
//! # Entry points
//! - [`ActivationConditions::parse`] / [`ActivationConditions::from_value`]: a document,
//!   checked against the [limits](#limits), then validated.
//! - [`ActivationConditions::evaluate`]: one item already parsed (JSON Lines items).
//! - [`ActivationConditions::evaluate_slice`]: one item as JSON bytes; a document whose every
//!   condition is a Textract form-key check is read lean, without building a `Value`.
//! - [`parse_json_path`]: the bounded JSONPath parser, for any JSONPath from configuration.
//! - [`json::describe`]: a JSON value described by type and size, never content.
//!
//! # The document
//! `{"Conditions": [node, …]}`; the top-level nodes are OR'ed. A node is `{"And": [...]}` or
//! `{"Or": [...]}` with at least two members, or a condition
//! `{"ConditionType": "...", "ConditionParameters": {...}}`. Groups nest two levels deep
//! (`Conditions → Or → And → condition`). Anything else (an unknown key, type or
//! parameter, a wrong JSON type, a value out of range, a missing comparison, a bad JSONPath)
//! is a [`ConditionError`] naming the node, e.g.
//! `Conditions[0].Or[1].ConditionParameters.RandomSamplingPercentage: 0 is out of range: …`.
//! AWS's own examples have slips (no `Conditions` wrapper, a missing comma,
//! `ConfidenceLessThanOrEqual` for `ConfidenceLessThanEquals`): they are rejected, with the
//! intended spelling suggested where there is one.
//!
//! # Limits
//! Checked by a linear scan before anything is parsed, so no configuration can overflow a
//! stack or hold up a cold start (see `bounded.rs` for the measurements behind them):
//! - a condition document: at most [`MAX_DOCUMENT_LEN`] bytes (64 KiB; A2I itself takes
//!   10,240 characters) and [`MAX_DOCUMENT_DEPTH`] (32) levels of arrays and objects;
//! - a JSONPath (`JsonPathCheck.Path`, `PredictionsPath`, and the functions' `ITEMS_PATH`
//!   through [`parse_json_path`]): at most [`MAX_JSON_PATH_LEN`] bytes (1,024),
//!   [`MAX_JSON_PATH_NESTING`] (16) brackets and parentheses inside one another, and
//!   [`MAX_JSON_PATH_FILTER_NESTING`] (4) filters inside one another;
//! - an item: what serde_json's parser accepts (nesting up to 128); evaluation recurses no
//!   deeper than the item, and [`ActivationConditions::evaluate_slice`] parses with that
//!   limit. A [`Value`] built by other means should respect it too.
//!
//! # Condition types
//! - `Sampling` (`RandomSamplingPercentage`, 0.01 to 100): deterministic per item; see
//!   `sampling.rs` for the scheme.
//! - `ModerationLabelConfidenceCheck` over Rekognition `DetectModerationLabels` output:
//!   `ModerationLabelName` (`*` = any; exact, case-sensitive) and at least one of
//!   `Confidence{Equals,LessThan,LessThanEquals,GreaterThan,GreaterThanEquals}` (0 to 100).
//!   Holds when one label satisfies all the comparisons given.
//! - `ImportantFormKeyConfidenceCheck` and `MissingImportantFormKey` over Textract
//!   `AnalyzeDocument` / `GetDocumentAnalysis` output, also multi-page and paginated (a list
//!   of responses); see [`textract`] for how a response reads as key-value pairs.
//! - `PredictionConfidenceCheck` (ours): `PredictionsPath` (JSONPath, default
//!   `$.predictions`), `LabelField` (`label`), `ConfidenceField` (`confidence`), `LabelName`
//!   (`*` = any), `TopPredictionOnly` (false) and at least one `Confidence*` comparison, in
//!   the document's own units.
//! - `JsonPathCheck` (ours): `Path` and exactly one of `Exists`, `Equals`, `NotEquals`,
//!   `LessThan`, `LessThanEquals`, `GreaterThan`, `GreaterThanEquals`, `In`, with `Match`
//!   `Any` (default) or `All`.
//!
//! # Choices where AWS's documentation is silent
//! - Form keys match after trimming and collapsing whitespace on both sides, case-sensitively;
//!   `ImportantFormKeyConfidenceCheck` holds for a pair when the KEY block's confidence meets
//!   every `KeyValueBlock*` comparison, *or* each WORD of its key and value meets every
//!   `WordBlock*` comparison (a pair without words never meets the word family). AWS's prose
//!   says "and", but A2I's own evaluation results only agree with "or" (see `textract.rs`).
//! - A selection element in a value is read as its status in the value text and is not a
//!   word; ids that name no block in the item are skipped.
//! - `MissingImportantFormKey` with `*` holds only for a document without any form key.
//! - A moderation label matches by its own `Name`, never by `ParentName`.
//! - Every node is evaluated, as A2I does; a leaf that cannot read the item makes the whole
//!   evaluation an [`EvaluationError`] naming that leaf, rather than a silent `false`.
//! - Reasons come only from leaves that held under nodes that held (a true leaf under a false
//!   `And` decided nothing), and carry label names, key texts and confidences.
//!
//! # What messages may carry
//! Reasons quote the item by nature (`label "Swimwear" confidence 88.73 >= 60`): they are
//! for the reviewer and travel with the loop's input, never into a log line or an error.
//! An [`EvaluationError`] names paths, JSON types, sizes and positions, never a value of the
//! item (see [`json::describe`]): `item ModerationLabels[1].Confidence is a string of 3
//! characters, not a number`. A [`ConditionError`] is about the operator's own
//! configuration; it may name an out-of-range number or a misspelt type name found there,
//! and describes wrong-typed values by type and size like evaluation errors do.

#![warn(missing_docs)]

mod bounded;
mod compare;
mod error;
mod eval;
pub mod json;
mod jsonpath;
mod lean;
mod params;
mod parse;
mod prediction;
mod reason;
mod rekognition;
mod sampling;
mod suggest;
#[cfg(feature = "testgen")]
#[doc(hidden)]
pub mod testgen;
#[cfg(test)]
mod testkit;
pub mod textract;

use serde_json::Value;

pub use bounded::{
    parse_json_path, JsonPathError, MAX_DOCUMENT_DEPTH, MAX_DOCUMENT_LEN,
    MAX_JSON_PATH_FILTER_NESTING, MAX_JSON_PATH_LEN, MAX_JSON_PATH_NESTING,
};
pub use error::{ConditionError, EvaluationError, SliceError};
pub use eval::Evaluation;

/// A validated activation-condition document, ready to evaluate items.
///
/// Parsing happens once, at cold start, so an invalid document stops the function before any
/// item is judged by it.
#[derive(Debug, Clone)]
pub struct ActivationConditions {
    conditions: Vec<parse::Node>,
}

impl ActivationConditions {
    /// Parses and validates a condition document given as JSON text.
    pub fn parse(json: &str) -> Result<Self, ConditionError> {
        bounded::check_document_text(json).map_err(|message| ConditionError {
            path: "$".into(),
            message,
        })?;
        let doc: Value = serde_json::from_str(json).map_err(|e| ConditionError {
            path: "$".into(),
            message: format!("not valid JSON: {e}"),
        })?;
        Self::from_value(&doc)
    }

    /// Parses and validates a condition document already read as JSON, e.g. embedded in a
    /// larger configuration.
    pub fn from_value(doc: &Value) -> Result<Self, ConditionError> {
        bounded::check_document_value(doc).map_err(|message| ConditionError {
            path: "$".into(),
            message,
        })?;
        Ok(Self {
            conditions: parse::parse_document(doc)?,
        })
    }

    /// Evaluates every condition on one item.
    pub fn evaluate(&self, item: &Value) -> Result<Evaluation, EvaluationError> {
        eval::evaluate(&self.conditions, item)
    }

    /// Evaluates every condition on one item given as JSON text, deciding exactly as
    /// [`evaluate`](Self::evaluate) does on the parsed item, with the same errors.
    ///
    /// When every condition is a Textract form-key check (`ImportantFormKeyConfidenceCheck`,
    /// `MissingImportantFormKey`), the document is read lean: only the fields those checks
    /// read are deserialized, borrowed from `json`, and no [`Value`] is built. A large
    /// multi-page response then costs little more memory than its bytes and evaluates
    /// several times faster. Any other document, or a response the lean reader refuses
    /// (a malformed one, which then gets the exact error), is parsed into a [`Value`].
    ///
    /// The `Value` is what a started loop's input needs, so a caller that must render the
    /// item for a flagged document parses it then, once.
    pub fn evaluate_slice(&self, json: &[u8]) -> Result<Evaluation, SliceError> {
        if self.reads_only_form_pairs() {
            if let Some(pairs) = lean::form_pairs(json) {
                return Ok(eval::evaluate_form_pairs(&self.conditions, pairs)?);
            }
        }
        let item: Value =
            serde_json::from_slice(json).map_err(|e| SliceError::NotJson(e.to_string()))?;
        Ok(self.evaluate(&item)?)
    }

    /// Whether [`evaluate_slice`](Self::evaluate_slice) reads items lean: every condition
    /// is a Textract form-key check.
    pub fn reads_only_form_pairs(&self) -> bool {
        eval::reads_only_form_pairs(&self.conditions)
    }
}

/// The condition types a document may use, so help texts and tools need not repeat the list.
pub fn condition_types() -> impl Iterator<Item = &'static str> {
    parse::CONDITION_TYPES.iter().map(|(name, _, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_the_a2i_types_and_ours() {
        assert_eq!(
            condition_types().collect::<Vec<_>>(),
            vec![
                "Sampling",
                "ModerationLabelConfidenceCheck",
                "ImportantFormKeyConfidenceCheck",
                "MissingImportantFormKey",
                "PredictionConfidenceCheck",
                "JsonPathCheck"
            ]
        );
    }

    #[test]
    fn text_and_value_parse_the_same_document() {
        let text = r#"{"Conditions":[{"ConditionType":"Sampling","ConditionParameters":{"RandomSamplingPercentage":100}}]}"#;
        let item = json!({"id": 1});
        let from_text = ActivationConditions::parse(text)
            .unwrap()
            .evaluate(&item)
            .unwrap();
        let from_value = ActivationConditions::from_value(&serde_json::from_str(text).unwrap())
            .unwrap()
            .evaluate(&item)
            .unwrap();
        assert_eq!(from_text, from_value);
        assert!(from_text.flagged);
    }

    #[test]
    fn invalid_json_is_reported_at_the_root() {
        let err = ActivationConditions::parse("{not json").unwrap_err();
        assert_eq!(err.path, "$");
        assert!(
            err.message
                .starts_with("not valid JSON: key must be a string"),
            "{}",
            err.message
        );
    }

    #[test]
    fn oversized_and_overdeep_documents_are_refused_before_parsing() {
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let err = ActivationConditions::parse(&deep).unwrap_err();
        assert_eq!(err.path, "$");
        assert!(
            err.message
                .starts_with("arrays and objects nested more than 32 deep"),
            "{err}"
        );
        let big = format!(
            r#"{{"Conditions": [{{"ConditionType": "MissingImportantFormKey", "ConditionParameters": {{
            "ImportantFormKey": "Name", "ImportantFormKeyAliases": [{}"x"]}}}}]}}"#,
            r#""alias", "#.repeat(9000)
        );
        let err = ActivationConditions::parse(&big).unwrap_err();
        assert_eq!(err.path, "$");
        assert!(err.message.ends_with("at most 65536 are allowed"), "{err}");
        let value: Value = serde_json::from_str(&big).unwrap();
        // Compact, it is 72,000 bytes: still too large.
        let err = ActivationConditions::from_value(&value)
            .err()
            .map(|e| e.path);
        assert_eq!(err.as_deref(), Some("$"));
    }

    #[test]
    fn json_paths_in_conditions_are_bounded() {
        let nested_filters = format!("{}@{}", "$[?".repeat(26), "]".repeat(26));
        let err = ActivationConditions::from_value(
            &json!({"Conditions": [{"ConditionType": "JsonPathCheck",
            "ConditionParameters": {"Path": nested_filters, "Exists": true}}]}),
        )
        .unwrap_err();
        assert_eq!(err.path, "Conditions[0].ConditionParameters.Path");
        assert_eq!(
            err.message,
            "filters nested 5 deep at byte 14; at most 4 may sit inside one another: Path must be a query such as $.predictions"
        );
        let parens = format!("$[?{}@.a{}]", "(".repeat(2000), ")".repeat(2000));
        let err = ActivationConditions::from_value(&json!({"Conditions": [{"ConditionType": "PredictionConfidenceCheck",
            "ConditionParameters": {"PredictionsPath": parens, "LabelName": "*", "ConfidenceLessThan": 1}}]}))
        .unwrap_err();
        assert_eq!(
            err.path,
            "Conditions[0].ConditionParameters.PredictionsPath"
        );
        assert!(err.message.starts_with("4007 bytes long"), "{err}");
    }

    #[test]
    fn evaluation_error_displays_as_path_then_message() {
        let c = ActivationConditions::from_value(
            &json!({"Conditions": [{"ConditionType": "MissingImportantFormKey",
            "ConditionParameters": {"ImportantFormKey": "Name"}}]}),
        )
        .unwrap();
        let err = c.evaluate(&json!({"Labels": []})).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Conditions[0]: item has no Blocks"),
            "{err}"
        );
    }
}
