//! The `InputContent` of a human loop (the `task.input` of worker templates): the item, where
//! it came from, why it was flagged, the evaluated conditions flattened for display, its media
//! and, for Textract items, its form pairs. `docs/task-input.md` is the contract.
//!
//! Rendering is deterministic (no timestamps, stable key order), so a redelivered S3 event
//! sends byte-identical input and A2I answers `ConflictException` only when the input really
//! changed. Every top-level key is always present (`null` when it does not apply), because
//! templates render strictly: `{{ task.input.missing }}` fails. The same type is parsed back
//! by the status handler from `output.json`'s `inputContent`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::conditions::json::describe;
use crate::conditions::{textract, Evaluation};
use crate::source::{parse_s3_uri, ObjectRef};

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
    #[serde(default)]
    pub task_object_is_reference: bool,
    /// Where the item came from.
    pub source: ItemSource,
    /// Why the item was flagged, one sentence per condition that held.
    pub activation_reasons: Vec<String>,
    /// The condition document annotated with `EvaluationResult` on every node (the key A2I's
    /// built-in task types use for the same thing).
    pub human_task_activation_condition_results: Value,
    /// The evaluated condition tree as a flat, pre-ordered list, for templates (Liquid cannot
    /// recurse): each node with its depth, a readable sentence and its result.
    #[serde(default)]
    pub condition_explanation: Vec<ExplainedNode>,
    /// The media `MEDIA_PATH` found in the item; `None` (`null`) without one.
    #[serde(default)]
    pub media: Option<Media>,
    /// The key-value pairs of a Textract item, in document order; `None` (`null`) for any
    /// other item.
    #[serde(default)]
    pub form_pairs: Option<Vec<FormPairView>>,
}

/// One node of the evaluated condition tree, in reading order (a group comes before its
/// members, which have one more `depth`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExplainedNode {
    /// 0 for a top-level node, 1 for a member of a top-level group, and so on.
    pub depth: u32,
    /// `And`, `Or`, or the condition's `ConditionType`.
    pub kind: String,
    /// What the node checks, in a sentence; it quotes the condition document, not the item.
    pub text: String,
    /// The node's `EvaluationResult`; `None` (`null`) when the tree has none for it.
    pub result: Option<bool>,
}

/// The media of an item: an object in S3 for the worker to see through `grant_read_access`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Media {
    /// `s3://bucket/key`, exactly as found in the item.
    pub s3_uri: String,
    /// What the key's extension says it is: `image`, `pdf`, `video`, `audio` or `other`.
    #[serde(rename = "type")]
    pub media_type: String,
}

/// Why `MEDIA_PATH` found something in the item that is not an `s3://` URI. The message
/// names the path and the JSON type and size of what it found, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("MEDIA_PATH {path} selects {found} in the item, where an s3://bucket/key URI was expected; the item was not sent for review")]
pub struct MediaError {
    /// The configured path.
    pub path: String,
    /// What it selected, described by type and size (or "N values").
    pub found: String,
}

/// A Textract key-value pair as templates show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormPairView {
    /// The key's text.
    pub key: String,
    /// The value's text (`SELECTED` / `NOT_SELECTED` for a checkbox).
    pub value: String,
    /// The page the key is on (1-based).
    pub page: u64,
    /// The key-value block's confidence, 0 to 100; `None` when Textract gave none.
    pub confidence: Option<f64>,
    /// The lowest confidence of the key's words; `None` without words.
    pub key_word_confidence_min: Option<f64>,
    /// The lowest confidence of the value's words; `None` without words (an empty value).
    pub value_word_confidence_min: Option<f64>,
    /// The key is an important form key (or an alias) of an `ImportantFormKeyConfidenceCheck`
    /// that held; with the key `*`, every pair is.
    pub flagged: bool,
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
    /// Builds the input of one flagged item, with the media found by
    /// [`find_media`] (or `None`). The form pairs are read here when the item is a Textract
    /// response.
    pub fn new(
        item: Value,
        source: ItemSource,
        evaluation: &Evaluation,
        media: Option<Media>,
    ) -> Self {
        let form_pairs = form_pair_views(&item, &evaluation.results);
        Self {
            task_object: item,
            task_object_is_reference: false,
            source,
            activation_reasons: evaluation.reasons.clone(),
            condition_explanation: explain(&evaluation.results),
            human_task_activation_condition_results: evaluation.results.clone(),
            media,
            form_pairs,
        }
    }

    /// Renders the input, replacing the item by its object's S3 URI when the whole would be
    /// over [`MAX_INPUT_CONTENT_CHARS`]. Everything else (reasons, conditions, media, form
    /// pairs) is kept: it is what the reviewer needs when the item itself cannot travel.
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

/// Finds the item's media with `MEDIA_PATH`.
///
/// Nothing selected is no media (`Ok(None)`): items may legitimately lack one. One string
/// that is an `s3://bucket/key` URI is the media. Anything else (another type, a string that
/// is not an S3 URI, several values) is a [`MediaError`]: the operator said the item carries
/// its media there, and a reviewer asked to judge an image they cannot see would answer
/// blind, so the item fails (not retryable) instead of being sent without it.
pub fn find_media(
    path: &serde_json_path::JsonPath,
    item: &Value,
) -> Result<Option<Media>, MediaError> {
    let nodes = path.query(item).all();
    let error = |found: String| MediaError {
        path: path.to_string(),
        found,
    };
    match nodes.as_slice() {
        [] => Ok(None),
        [Value::String(uri)] => match parse_s3_uri(uri) {
            Ok((_, key)) => Ok(Some(Media {
                s3_uri: uri.clone(),
                media_type: media_type(&key).to_owned(),
            })),
            Err(e) => Err(error(format!(
                "{} that is not an S3 URI ({})",
                describe_string(uri),
                e.rule
            ))),
        },
        [other] => Err(error(describe(other))),
        many => Err(error(format!("{} values", many.len()))),
    }
}

fn describe_string(s: &str) -> String {
    describe(&Value::String(s.to_owned()))
}

/// What a key's extension says the object is; templates pick `<img>`, `<video>`, `<audio>`
/// or a link from it.
fn media_type(key: &str) -> &'static str {
    let ext = key
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" | "jpg" | "jpeg" | "gif" | "bmp" | "webp" | "svg" | "ico" | "apng" | "avif" => {
            "image"
        }
        "pdf" => "pdf",
        "mp4" | "webm" | "mov" | "m4v" | "ogv" => "video",
        "mp3" | "wav" | "ogg" | "oga" | "m4a" | "flac" | "aac" => "audio",
        _ => "other",
    }
}

/// Deepest node [`explain`] descends to. The conditions crate allows two levels of groups;
/// a tree from elsewhere (parsed back from `output.json`) is cut here rather than recursed
/// without bound.
const MAX_EXPLAIN_DEPTH: u32 = 16;

/// The evaluated condition tree (`{"Conditions": [...]}` with `EvaluationResult` on every
/// node) as a flat list in reading order, one readable sentence per node.
pub fn explain(results: &Value) -> Vec<ExplainedNode> {
    let mut out = Vec::new();
    if let Some(nodes) = results.get("Conditions").and_then(Value::as_array) {
        for node in nodes {
            explain_node(node, 0, &mut out);
        }
    }
    out
}

fn explain_node(node: &Value, depth: u32, out: &mut Vec<ExplainedNode>) {
    if depth > MAX_EXPLAIN_DEPTH {
        return;
    }
    let result = node.get("EvaluationResult").and_then(Value::as_bool);
    for (junction, text) in [
        ("And", "All of these hold (And):"),
        ("Or", "At least one of these holds (Or):"),
    ] {
        if let Some(members) = node.get(junction).and_then(Value::as_array) {
            out.push(ExplainedNode {
                depth,
                kind: junction.to_owned(),
                text: text.to_owned(),
                result,
            });
            for member in members {
                explain_node(member, depth + 1, out);
            }
            return;
        }
    }
    let kind = node
        .get("ConditionType")
        .and_then(Value::as_str)
        .unwrap_or("Condition");
    let empty = Map::new();
    let params = node
        .get("ConditionParameters")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    out.push(ExplainedNode {
        depth,
        kind: kind.to_owned(),
        text: describe_condition(kind, params),
        result,
    });
}

const COMPARISONS: [(&str, &str); 5] = [
    ("Equals", "="),
    ("LessThan", "<"),
    ("LessThanEquals", "<="),
    ("GreaterThan", ">"),
    ("GreaterThanEquals", ">="),
];

/// `confidence < 80 and confidence > 5` for the parameters `<prefix><Comparison>` present.
fn comparisons(params: &Map<String, Value>, prefix: &str, subject: &str) -> Option<String> {
    let parts: Vec<String> = COMPARISONS
        .iter()
        .filter_map(|(name, symbol)| {
            params
                .get(&format!("{prefix}{name}"))
                .map(|bound| format!("{subject} {symbol} {}", plain(bound)))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// A parameter as text: strings without quotes, anything else as compact JSON.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn quoted(value: Option<&Value>) -> String {
    format!("\"{}\"", value.map(plain).unwrap_or_default())
}

/// `form key "Date of birth:" (or "DOB:", "Date of Birth:")`.
fn form_key(params: &Map<String, Value>) -> String {
    let mut text = format!("form key {}", quoted(params.get("ImportantFormKey")));
    if let Some(aliases) = params
        .get("ImportantFormKeyAliases")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    {
        let aliases: Vec<String> = aliases.iter().map(|a| quoted(Some(a))).collect();
        text.push_str(&format!(" (or {})", aliases.join(", ")));
    }
    text
}

fn describe_condition(kind: &str, params: &Map<String, Value>) -> String {
    match kind {
        "Sampling" => format!(
            "Random sample: {}% of items are reviewed",
            params
                .get("RandomSamplingPercentage")
                .map(plain)
                .unwrap_or_default()
        ),
        "ModerationLabelConfidenceCheck" => {
            let label = match params.get("ModerationLabelName").and_then(Value::as_str) {
                Some("*") | None => "Any moderation label".to_owned(),
                Some(name) => format!("Moderation label \"{name}\""),
            };
            match comparisons(params, "Confidence", "confidence") {
                Some(c) => format!("{label} with {c}"),
                None => label,
            }
        }
        "ImportantFormKeyConfidenceCheck" => {
            let families: Vec<String> = [
                comparisons(params, "KeyValueBlockConfidence", "key-value confidence"),
                comparisons(params, "WordBlockConfidence", "every word's confidence"),
            ]
            .into_iter()
            .flatten()
            .collect();
            let key = form_key(params);
            let mut key = key[..1].to_uppercase() + &key[1..];
            if params.get("ImportantFormKey").and_then(Value::as_str) == Some("*") {
                key = "Any form key".to_owned();
            }
            format!("{key} with {}", families.join(", or "))
        }
        "MissingImportantFormKey" => {
            if params.get("ImportantFormKey").and_then(Value::as_str) == Some("*") {
                "The document has no form key at all".to_owned()
            } else {
                let key = form_key(params);
                format!("{}{} is missing", key[..1].to_uppercase(), &key[1..])
            }
        }
        "PredictionConfidenceCheck" => {
            let top = params.get("TopPredictionOnly").and_then(Value::as_bool) == Some(true);
            let mut text = if top {
                "The top prediction".to_owned()
            } else {
                "A prediction".to_owned()
            };
            match params.get("LabelName").and_then(Value::as_str) {
                Some("*") | None => {}
                Some(label) => text.push_str(&format!(" labelled \"{label}\"")),
            }
            if let Some(c) = comparisons(params, "Confidence", "confidence") {
                text.push_str(&format!(" has {c}"));
            }
            if let Some(path) = params
                .get("PredictionsPath")
                .and_then(Value::as_str)
                .filter(|p| *p != "$.predictions")
            {
                text.push_str(&format!(" (predictions at {path})"));
            }
            text
        }
        "JsonPathCheck" => {
            let path = params.get("Path").map(plain).unwrap_or_default();
            let all = params.get("Match").and_then(Value::as_str) == Some("All");
            let subject = if all {
                format!("Every value at {path}")
            } else {
                format!("A value at {path}")
            };
            if let Some(exists) = params.get("Exists").and_then(Value::as_bool) {
                return if exists {
                    format!("{path} exists")
                } else {
                    format!("{path} does not exist")
                };
            }
            if let Some(list) = params.get("In") {
                return format!("{subject} is one of {list}");
            }
            if let Some(v) = params.get("NotEquals") {
                return format!("{subject} is not {v}");
            }
            let tests: Vec<String> = COMPARISONS
                .iter()
                .filter_map(|(name, symbol)| params.get(*name).map(|v| format!("{symbol} {v}")))
                .collect();
            format!("{subject} {}", tests.join(" and "))
        }
        other => format!("{other}: {}", Value::Object(params.clone())),
    }
}

/// Whitespace trimmed and collapsed, as the form-key conditions compare keys.
fn normalize_key(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The important form keys (with aliases) of the `ImportantFormKeyConfidenceCheck`s that
/// held; `None` when one of them names every key (`*`).
fn flagged_form_keys(results: &Value, keys: &mut Vec<String>, depth: u32) -> Option<()> {
    if depth > MAX_EXPLAIN_DEPTH {
        return Some(());
    }
    let children = ["Conditions", "And", "Or"]
        .iter()
        .filter_map(|k| results.get(*k).and_then(Value::as_array))
        .flatten();
    for child in children {
        flagged_form_keys(child, keys, depth + 1)?;
    }
    let held = results.get("EvaluationResult").and_then(Value::as_bool) == Some(true);
    if held
        && results.get("ConditionType").and_then(Value::as_str)
            == Some("ImportantFormKeyConfidenceCheck")
    {
        let params = results.get("ConditionParameters");
        let key = params.and_then(|p| p.get("ImportantFormKey"));
        if key.and_then(Value::as_str) == Some("*") {
            return None;
        }
        let aliases = params
            .and_then(|p| p.get("ImportantFormKeyAliases"))
            .and_then(Value::as_array);
        for k in key.into_iter().chain(aliases.into_iter().flatten()) {
            if let Some(k) = k.as_str() {
                keys.push(normalize_key(k));
            }
        }
    }
    Some(())
}

/// The form pairs of a Textract item, `None` for any other item.
fn form_pair_views(item: &Value, results: &Value) -> Option<Vec<FormPairView>> {
    let pairs = textract::form_pairs(item).ok()?;
    let mut keys = Vec::new();
    let every_key = flagged_form_keys(results, &mut keys, 0).is_none();
    let min = |confidences: &[Option<f64>]| confidences.iter().flatten().copied().reduce(f64::min);
    Some(
        pairs
            .into_iter()
            .map(|p| FormPairView {
                flagged: every_key || keys.contains(&normalize_key(&p.key)),
                key_word_confidence_min: min(&p.key_word_confidences),
                value_word_confidence_min: min(&p.value_word_confidences),
                key: p.key,
                value: p.value,
                page: p.page,
                confidence: p.confidence,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The documented keys of `task.input` (docs/task-input.md), in the order they are sent.
    const TOP_LEVEL_KEYS: [&str; 8] = [
        "taskObject",
        "taskObjectIsReference",
        "source",
        "activationReasons",
        "humanTaskActivationConditionResults",
        "conditionExplanation",
        "media",
        "formPairs",
    ];

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
        let a = LoopInput::new(item.clone(), source(), &evaluation(), None)
            .render()
            .unwrap();
        let b = LoopInput::new(item.clone(), source(), &evaluation(), None)
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
        // Every top-level key is there, even when it does not apply: templates render
        // strictly.
        let top: Value = serde_json::from_str(&a.content).unwrap();
        let keys: Vec<&str> = top
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, TOP_LEVEL_KEYS);
        assert_eq!(top["taskObjectIsReference"], json!(false));
        assert_eq!(top["media"], Value::Null);
        assert_eq!(top["formPairs"], Value::Null);
    }

    #[test]
    fn an_items_keys_keep_the_order_they_were_uploaded_in() {
        // serde_json's preserve_order is a normal feature of the app (Cargo.toml), so the
        // deployed function renders what this test sees.
        let item: Value =
            serde_json::from_str(r#"{"zeta": 1, "alpha": {"y": 2, "b": 3}}"#).unwrap();
        let r = LoopInput::new(item, source(), &evaluation(), None)
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
        let r = LoopInput::new(json!({ "text": big }), source(), &evaluation(), None)
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
        let skeleton = LoopInput::new(json!(""), source(), &evaluation(), None).to_json();
        let room = MAX_INPUT_CONTENT_CHARS - skeleton.chars().count();
        let r = LoopInput::new(json!("x".repeat(room)), source(), &evaluation(), None)
            .render()
            .unwrap();
        assert!(!r.item_replaced);
        assert_eq!(r.content.chars().count(), MAX_INPUT_CONTENT_CHARS);
        let r = LoopInput::new(json!("x".repeat(room + 1)), source(), &evaluation(), None)
            .render()
            .unwrap();
        assert!(r.item_replaced);
    }

    #[test]
    fn oversized_evaluation_is_an_error_not_a_truncation() {
        let mut e = evaluation();
        e.reasons = vec!["r".repeat(MAX_INPUT_CONTENT_CHARS)];
        let err = LoopInput::new(json!(1), source(), &e, None)
            .render()
            .unwrap_err();
        assert!(err.chars > MAX_INPUT_CONTENT_CHARS);
    }

    fn eval_of(doc: Value, item: &Value) -> Evaluation {
        crate::conditions::ActivationConditions::from_value(&doc)
            .unwrap()
            .evaluate(item)
            .unwrap()
    }

    #[test]
    fn the_condition_tree_is_explained_flat_in_reading_order() {
        let doc = json!({"Conditions": [
            {"And": [
                {"ConditionType": "ModerationLabelConfidenceCheck",
                 "ConditionParameters": {"ModerationLabelName": "*", "ConfidenceGreaterThanEquals": 60}},
                {"ConditionType": "ModerationLabelConfidenceCheck",
                 "ConditionParameters": {"ModerationLabelName": "Suggestive", "ConfidenceLessThan": 98, "ConfidenceGreaterThan": 5}}
            ]},
            {"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 2.5}}
        ]});
        let item = json!({"ModerationLabels": [{"Name": "Suggestive", "Confidence": 88.73}]});
        let e = eval_of(doc, &item);
        let nodes = explain(&e.results);
        let view: Vec<(u32, &str, &str, Option<bool>)> = nodes
            .iter()
            .map(|n| (n.depth, n.kind.as_str(), n.text.as_str(), n.result))
            .collect();
        let sampled = e.results["Conditions"][1]["EvaluationResult"].as_bool();
        assert_eq!(
            view,
            [
                (0, "And", "All of these hold (And):", Some(true)),
                (
                    1,
                    "ModerationLabelConfidenceCheck",
                    "Any moderation label with confidence >= 60",
                    Some(true)
                ),
                (
                    1,
                    "ModerationLabelConfidenceCheck",
                    "Moderation label \"Suggestive\" with confidence < 98 and confidence > 5",
                    Some(true)
                ),
                (
                    0,
                    "Sampling",
                    "Random sample: 2.5% of items are reviewed",
                    sampled
                ),
            ]
        );
        // The same list travels in the input.
        let input = LoopInput::new(item, source(), &e, None);
        assert_eq!(input.condition_explanation, nodes);
    }

    #[test]
    fn every_condition_type_reads_as_a_sentence() {
        let cases = [
            (json!({"ConditionType": "ImportantFormKeyConfidenceCheck", "ConditionParameters": {
                "ImportantFormKey": "Date of birth:", "ImportantFormKeyAliases": ["DOB:"],
                "KeyValueBlockConfidenceLessThan": 80, "WordBlockConfidenceLessThan": 99}}),
             "Form key \"Date of birth:\" (or \"DOB:\") with key-value confidence < 80, or every word's confidence < 99"),
            (json!({"ConditionType": "MissingImportantFormKey", "ConditionParameters": {"ImportantFormKey": "Policy number:"}}),
             "Form key \"Policy number:\" is missing"),
            (json!({"ConditionType": "MissingImportantFormKey", "ConditionParameters": {"ImportantFormKey": "*"}}),
             "The document has no form key at all"),
            (json!({"ConditionType": "PredictionConfidenceCheck", "ConditionParameters": {
                "TopPredictionOnly": true, "LabelName": "*", "ConfidenceLessThan": 0.7}}),
             "The top prediction has confidence < 0.7"),
            (json!({"ConditionType": "PredictionConfidenceCheck", "ConditionParameters": {
                "PredictionsPath": "$.scores", "LabelName": "fraud", "ConfidenceGreaterThanEquals": 0.2}}),
             "A prediction labelled \"fraud\" has confidence >= 0.2 (predictions at $.scores)"),
            (json!({"ConditionType": "JsonPathCheck", "ConditionParameters": {"Path": "$.status", "In": ["A", "B"]}}),
             "A value at $.status is one of [\"A\",\"B\"]"),
            (json!({"ConditionType": "JsonPathCheck", "ConditionParameters": {"Path": "$.n[*]", "Match": "All", "LessThan": 3}}),
             "Every value at $.n[*] < 3"),
            (json!({"ConditionType": "JsonPathCheck", "ConditionParameters": {"Path": "$.x", "Exists": false}}),
             "$.x does not exist"),
        ];
        for (node, text) in cases {
            let nodes = explain(&json!({"Conditions": [node]}));
            assert_eq!(nodes.len(), 1);
            assert_eq!(nodes[0].text, text);
            assert_eq!(nodes[0].result, None, "no EvaluationResult in the tree");
        }
    }

    #[test]
    fn a_tree_deeper_than_the_bound_is_cut_not_recursed() {
        let mut node = json!({"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 1}});
        for _ in 0..100 {
            node = json!({"Or": [node]});
        }
        let nodes = explain(&json!({"Conditions": [node]}));
        assert_eq!(nodes.len(), MAX_EXPLAIN_DEPTH as usize + 1);
    }

    fn media_path(p: &str) -> serde_json_path::JsonPath {
        crate::conditions::parse_json_path(p).unwrap()
    }

    #[test]
    fn media_is_an_s3_uri_found_by_its_path_or_nothing() {
        let item =
            json!({"image": "s3://media/photos/Beach 1.JPG", "doc": {"pdf": "s3://m/a.pdf"}});
        let m = find_media(&media_path("$.image"), &item).unwrap().unwrap();
        assert_eq!(m.s3_uri, "s3://media/photos/Beach 1.JPG");
        assert_eq!(m.media_type, "image");
        let m = find_media(&media_path("$.doc.pdf"), &item)
            .unwrap()
            .unwrap();
        assert_eq!(m.media_type, "pdf");
        assert_eq!(find_media(&media_path("$.video"), &item).unwrap(), None);
        let e = LoopInput::new(item, source(), &evaluation(), Some(m))
            .render()
            .unwrap();
        let back: Value = serde_json::from_str(&e.content).unwrap();
        assert_eq!(
            back["media"],
            json!({"s3Uri": "s3://m/a.pdf", "type": "pdf"})
        );
    }

    #[test]
    fn media_that_is_not_an_s3_uri_is_an_error_naming_path_and_type_not_value() {
        let item = json!({"image": "https://secret.example/x.png", "n": 7, "many": ["s3://a/b", "s3://a/c"], "k": "s3://bucket-only"});
        for (path, found) in [
            (
                "$.image",
                "a string of 28 characters that is not an S3 URI (it must start with s3://)",
            ),
            ("$.n", "a number"),
            ("$.many[*]", "2 values"),
            (
                "$.k",
                "a string of 16 characters that is not an S3 URI (it must be s3://bucket/key)",
            ),
        ] {
            let e = find_media(&media_path(path), &item).unwrap_err();
            assert_eq!(e.path, path);
            assert_eq!(e.found, found);
            let text = e.to_string();
            assert!(
                !text.contains("secret") && !text.contains("bucket-only") && !text.contains('7'),
                "{text}"
            );
        }
    }

    #[test]
    fn media_types_come_from_the_extension() {
        for (key, t) in [
            ("a.png", "image"),
            ("b/c.JPEG", "image"),
            ("d.mp4", "video"),
            ("e.wav", "audio"),
            ("f.pdf", "pdf"),
            ("noext", "other"),
            ("x.tiff", "other"),
        ] {
            assert_eq!(media_type(key), t, "{key}");
        }
    }

    #[test]
    fn a_textract_item_carries_its_form_pairs_with_the_flagged_keys_marked() {
        let item: Value = serde_json::from_str(include_str!(
            "../sample-data/incoming/forms/intake-form.json"
        ))
        .unwrap();
        let doc: Value =
            serde_json::from_str(include_str!("../sample-data/conditions/forms.json")).unwrap();
        let e = eval_of(doc, &item);
        assert!(e.flagged);
        let input = LoopInput::new(item.clone(), source(), &e, None);
        let pairs = input
            .form_pairs
            .as_ref()
            .expect("a Textract item has pairs");
        let expected = textract::form_pairs(&item).unwrap();
        assert_eq!(pairs.len(), expected.len());
        let flagged: Vec<&str> = pairs
            .iter()
            .filter(|p| p.flagged)
            .map(|p| p.key.as_str())
            .collect();
        assert_eq!(flagged, ["Date of birth:"]);
        let dob = pairs.iter().find(|p| p.flagged).unwrap();
        assert_eq!(dob.page, 1);
        assert!(dob.confidence.is_some() && dob.value_word_confidence_min.is_some());
        // Any other item has none.
        let other = LoopInput::new(json!({"text": "x"}), source(), &evaluation(), None);
        assert_eq!(other.form_pairs, None);
    }

    #[test]
    fn input_written_before_the_new_keys_still_parses() {
        let old = json!({
            "taskObject": {"text": "hi"},
            "source": {"bucket": "in", "key": "k", "itemIndex": 0},
            "activationReasons": [],
            "humanTaskActivationConditionResults": {"Conditions": []}
        });
        let back: LoopInput = serde_json::from_value(old).unwrap();
        assert!(
            back.condition_explanation.is_empty()
                && back.media.is_none()
                && back.form_pairs.is_none()
        );
    }
}
