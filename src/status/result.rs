//! The reviewed-result document and the key it is written under.
//!
//! Both are pure functions of the event and `output.json`, so a redelivered event rewrites the
//! same key with the same bytes: no wall clock, no random ids, struct fields in a fixed order,
//! and answer objects serialized in the order of `output.json`, which A2I writes once
//! (serde_json's `preserve_order` is on for the functions and their tests alike, see
//! Cargo.toml).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::agreement::FieldAgreement;
use super::builtin::BuiltinReview;
use super::event::LoopName;
use super::output::HumanAnswer;
use super::time::{rfc3339, rfc3339_opt};
use crate::loop_input::{ItemSource, LoopInput};
use crate::source::ObjectRef;

/// Version of the result document's layout; bumped on incompatible changes.
pub const RESULT_SCHEMA_VERSION: u32 = 1;
/// Key segment (after `RESULTS_PREFIX`) of results whose source object is unknown. Bucket names
/// cannot start with `_`, so it never looks like a source bucket.
pub const NO_SOURCE_SEGMENT: &str = "_no-source";
/// Longest S3 key, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;
/// Hex digits of SHA-256 kept in a shortened key (128 bits).
const HASH_HEX: usize = 32;

/// The final statuses a result is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FinalStatus {
    /// Workers answered.
    Completed,
    /// A2I gave up on the loop.
    Failed,
    /// The loop was stopped.
    Stopped,
}

impl FinalStatus {
    /// The status as A2I names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "Completed",
            Self::Failed => "Failed",
            Self::Stopped => "Stopped",
        }
    }
}

/// The key of a loop's result.
///
/// - Source known: `{prefix}{source bucket}/{source key}/{loop name}.json`, so results sit
///   under their input object's name and one listing finds every reviewed item of an object.
/// - Source unknown (the loop input is not ours, or the status is `Failed`/`Stopped`, whose
///   events carry no input): `{prefix}_no-source/{loop name}.json`.
/// - Over [`MAX_KEY_BYTES`]: the `{bucket}/{key}` part is cut at a character boundary and
///   followed by `~` and 32 hex digits of its SHA-256, which always fits (`RESULTS_PREFIX` is at
///   most 512 bytes and loop names at most 63 characters).
///
/// Every key ends in the loop's name, which A2I keeps unique per account and Region, so two
/// loops never share a key, whatever their sources look like.
pub fn result_key(prefix: &str, source: Option<&ItemSource>, loop_name: &LoopName) -> String {
    object_scoped_key(
        prefix,
        source.map(|s| &s.object),
        &format!("{loop_name}.json"),
    )
}

/// `{prefix}{bucket}/{key}/{leaf}` (or `{prefix}_no-source/{leaf}`), shortened as
/// [`result_key`] describes; `leaf` must be at most 100 bytes (a loop name and a suffix).
/// Reviewed results and stored model answers ([`crate::builtin::model_answer_key`]) share it,
/// so an object's results, model answers and reviews sit under one listing.
pub fn object_scoped_key(prefix: &str, object: Option<&ObjectRef>, leaf: &str) -> String {
    let tail = format!("/{leaf}");
    let Some(object) = object else {
        return format!("{prefix}{NO_SOURCE_SEGMENT}{tail}");
    };
    let path = format!("{}/{}", object.bucket, object.key);
    if prefix.len() + path.len() + tail.len() <= MAX_KEY_BYTES {
        return format!("{prefix}{path}{tail}");
    }
    let digest = hex::encode(Sha256::digest(path.as_bytes()));
    let marker = format!("~{}", &digest[..HASH_HEX]);
    let room = MAX_KEY_BYTES.saturating_sub(prefix.len() + marker.len() + tail.len());
    let mut cut = room.min(path.len());
    while !path.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{prefix}{}{marker}{tail}", &path[..cut])
}

/// What the status handler takes from the loop's input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoopInputParts {
    /// Where the reviewed item came from.
    pub source: Option<ItemSource>,
    /// Why the item was flagged.
    pub activation_reasons: Option<Vec<String>>,
    /// The condition tree annotated with `EvaluationResult`.
    pub condition_results: Option<Value>,
}

impl LoopInputParts {
    /// Reads `inputContent`; input the start handler did not write yields no parts (a loop
    /// started by someone else is still recorded, under [`NO_SOURCE_SEGMENT`]).
    pub fn from_input_content(input: Option<&Value>) -> Self {
        match input.map(|v| serde_json::from_value::<LoopInput>(v.clone())) {
            Some(Ok(li)) => Self {
                source: Some(li.source),
                activation_reasons: Some(li.activation_reasons),
                condition_results: Some(li.human_task_activation_condition_results),
            },
            _ => Self::default(),
        }
    }
}

/// The reviewed result of one loop: what was asked, why, and what the workers answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewedResult {
    /// [`RESULT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The loop.
    pub human_loop_name: LoopName,
    /// The loop's ARN, when the event names it.
    pub human_loop_arn: Option<String>,
    /// The loop's flow definition (from the event, else from `output.json`).
    pub flow_definition_arn: Option<String>,
    /// The final status.
    pub status: FinalStatus,
    /// When A2I created the loop.
    #[serde(serialize_with = "rfc3339")]
    pub creation_time: DateTime<Utc>,
    /// The status-change event's `time`: when A2I reported the final status. Taken from the
    /// event, not the clock, so redelivery writes the same bytes.
    #[serde(serialize_with = "rfc3339_opt")]
    pub completion_time: Option<DateTime<Utc>>,
    /// Kind of failure (Failed loops).
    pub failure_code: Option<String>,
    /// A2I's explanation (Failed loops).
    pub failure_reason: Option<String>,
    /// Where A2I put `output.json`, when the event names it.
    pub output_s3_uri: Option<String>,
    /// The reviewed item's object and position, from the loop input.
    pub source: Option<ItemSource>,
    /// Why the item was flagged, from the loop input.
    pub activation_reasons: Option<Vec<String>>,
    /// The evaluated condition tree, from the loop input.
    pub human_task_activation_condition_results: Option<Value>,
    /// Number of answers (Completed; may be 0); `null` when `output.json` was not read.
    pub answer_count: Option<usize>,
    /// Every worker's answer in A2I's order; `null` when `output.json` was not read.
    pub human_answers: Option<Vec<HumanAnswer>>,
    /// Per-field agreement, when two or more workers answered.
    pub agreement: Option<BTreeMap<String, FieldAgreement>>,
    /// A built-in loop's members (`taskType`, `requestSource`, `modelAnswerKey`,
    /// `modelAnswer`, `selectedAiServiceResponse`, `reviewerAnswers`, `summary`), after the
    /// others; absent for custom loops, whose bytes this leaves unchanged.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<BuiltinReview>,
}

impl ReviewedResult {
    /// The bytes written to S3: pretty JSON (people read these) with a final newline.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect(
            "a ReviewedResult holds only strings, numbers, JSON values and string-keyed maps",
        );
        bytes.push(b'\n');
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ObjectRef;
    use serde_json::json;

    fn name(s: &str) -> LoopName {
        LoopName::parse(s).unwrap()
    }

    fn source(bucket: &str, key: &str) -> ItemSource {
        ItemSource {
            object: ObjectRef {
                bucket: bucket.into(),
                key: key.into(),
                version_id: None,
                e_tag: Some("e".into()),
            },
            item_index: 0,
            line: None,
        }
    }

    #[test]
    fn keys_follow_the_source_object_and_end_in_the_loop_name() {
        let k = result_key(
            "reviewed/",
            Some(&source("in", "batch/a b/ü+1.jsonl")),
            &name("loop-1"),
        );
        assert_eq!(k, "reviewed/in/batch/a b/ü+1.jsonl/loop-1.json");
        let k = result_key("", Some(&source("in", "x.json")), &name("l"));
        assert_eq!(k, "in/x.json/l.json");
    }

    #[test]
    fn an_unknown_source_goes_under_the_no_source_segment() {
        assert_eq!(
            result_key("reviewed/", None, &name("Loop-A")),
            "reviewed/_no-source/Loop-A.json"
        );
    }

    #[test]
    fn a_key_at_the_limit_is_kept_and_one_over_is_shortened_with_a_hash() {
        let loop_name = name("l");
        // "p/" + "b/" + key + "/l.json" == 1024 bytes
        let key = "k".repeat(MAX_KEY_BYTES - "p/".len() - "b/".len() - "/l.json".len());
        let k = result_key("p/", Some(&source("b", &key)), &loop_name);
        assert_eq!(k.len(), MAX_KEY_BYTES);
        assert!(!k.contains('~'));
        let longer = format!("{key}k");
        let k = result_key("p/", Some(&source("b", &longer)), &loop_name);
        assert!(k.len() <= MAX_KEY_BYTES, "{}", k.len());
        assert!(k.starts_with("p/b/kkk"));
        assert!(k.ends_with("/l.json"));
        let digest = hex::encode(Sha256::digest(format!("b/{longer}").as_bytes()));
        assert!(k.contains(&format!("~{}", &digest[..32])));
        // A different long key gets a different shortened key.
        let other = result_key("p/", Some(&source("b", &format!("{key}j"))), &loop_name);
        assert_ne!(k, other);
    }

    #[test]
    fn shortening_never_splits_a_character_and_always_fits() {
        let prefix = "p".repeat(512);
        let loop_name = name(&"ü".repeat(63));
        let key = "€".repeat(1024);
        let k = result_key(&prefix, Some(&source("bucket", &key)), &loop_name);
        assert!(k.len() <= MAX_KEY_BYTES, "{}", k.len());
        assert!(
            k.len() > MAX_KEY_BYTES - 3,
            "uses the room it has: {}",
            k.len()
        );
        assert!(k.ends_with(&format!("/{loop_name}.json")));
    }

    #[test]
    fn loop_input_of_the_start_handler_yields_source_and_evaluation() {
        let input = json!({
            "taskObject": {"text": "hi"},
            "source": {"bucket": "in", "key": "a b.jsonl", "eTag": "e", "itemIndex": 2, "line": 3},
            "activationReasons": ["low confidence"],
            "humanTaskActivationConditionResults": {"Conditions": [{"EvaluationResult": true}]}
        });
        let p = LoopInputParts::from_input_content(Some(&input));
        let s = p.source.unwrap();
        assert_eq!(
            (s.object.key.as_str(), s.item_index, s.line),
            ("a b.jsonl", 2, Some(3))
        );
        assert_eq!(p.activation_reasons.unwrap(), ["low confidence"]);
        assert!(p.condition_results.is_some());
    }

    #[test]
    fn foreign_or_missing_loop_input_yields_nothing() {
        let foreign = json!({"initialValue": "Positive", "taskObject": "I loved it"});
        assert_eq!(
            LoopInputParts::from_input_content(Some(&foreign)),
            LoopInputParts::default()
        );
        assert_eq!(
            LoopInputParts::from_input_content(None),
            LoopInputParts::default()
        );
        let half = json!({"taskObject": 1, "source": "web"});
        assert_eq!(LoopInputParts::from_input_content(Some(&half)).source, None);
    }
}
