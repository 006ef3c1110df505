//! Whether several workers gave the same answer, field by field.
//!
//! A flow definition can ask up to three workers per item (`TaskCount`). Consumers mostly want
//! "what did the reviewers say about `sentiment.label`?", so each answer's `answerContent` is
//! flattened and compared per field:
//!
//! - **Fields** are the leaves of `answerContent`, named by their object keys joined with `.`:
//!   `{"sentiment": {"label": "x"}}` is the field `sentiment.label`, which is how
//!   `crowd-classifier`, `crowd-checkbox` and radio groups nest their values. Arrays, scalars
//!   and empty objects are leaves and are compared whole (bounding boxes, multi-label lists).
//!   A `.` or `\` inside a key is escaped with `\`, so `{"a.b": 1}` is `a\.b` and never
//!   collides with `{"a": {"b": 1}}`.
//! - **Values** are equal when they are equal JSON values (`"1"`, `1` and `1.0` differ), after
//!   three normalizations for the shapes Crowd HTML Elements give (the shipped templates'
//!   answers are in `docs/task-input.md`):
//!   - *text* (`crowd-input`, `crowd-text-area`, a classifier's `label`): surrounding
//!     whitespace is trimmed and `\r\n` read as `\n`, so `"approve "` agrees with `"approve"`;
//!     votes show the trimmed text;
//!   - *multi-select* (`crowd-classifier-multi-select`, `{"labels": [...]}`): an array of
//!     strings under a key named `labels` is a set, compared sorted and without repeats, so
//!     `["a", "b"]` agrees with `["b", "a"]`;
//!   - *checkbox / radio / toggle maps* (`{"<name>": {"<value>": bool}}`): an object whose
//!     values are all booleans is a map of options; an option one answer has and another
//!     answer's map lacks counts as `false` there (an unticked box), so both answered it. An
//!     answer without the map at all did not answer it.
//! - **`agree`**: every answer has the field and all values are equal.
//! - **`majority`**: the value given by more than half of *all* answers (an answer without the
//!   field counts against every value). A tie (1-1, 1-1-1) or a plurality below half is no
//!   majority (`null`); 2 of 3 is a majority.
//! - **`votes`**: each distinct value with its count, most votes first, ties in the order the
//!   values first appear in `humanAnswers`.
//!
//! With fewer than two answers there is nothing to compare and no agreement is computed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};

/// One distinct value of a field and how many answers gave it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vote {
    /// The value.
    pub value: Value,
    /// How many answers gave it.
    pub count: usize,
}

/// How the answers compare on one field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldAgreement {
    /// How many answers have the field.
    pub answered: usize,
    /// Every answer has the field, with the same value.
    pub agree: bool,
    /// The value more than half of all answers gave, if any.
    pub majority: Option<Vote>,
    /// Every distinct value, most votes first.
    pub votes: Vec<Vote>,
}

/// Per-field agreement of the answers, keyed by field name; `None` for fewer than two answers.
pub fn agreement(answer_contents: &[&Value]) -> Option<BTreeMap<String, FieldAgreement>> {
    let total = answer_contents.len();
    if total < 2 {
        return None;
    }
    let mut normalized: Vec<Value> = answer_contents.iter().map(|a| normalize(a, None)).collect();
    fill_option_maps(&mut normalized);
    let flat: Vec<BTreeMap<String, &Value>> = normalized.iter().map(flatten).collect();
    let names: BTreeSet<&String> = flat.iter().flat_map(BTreeMap::keys).collect();
    let fields = names
        .into_iter()
        .map(|name| {
            let mut votes: Vec<Vote> = Vec::new();
            for value in flat.iter().filter_map(|f| f.get(name)) {
                match votes.iter_mut().find(|v| v.value == **value) {
                    Some(v) => v.count += 1,
                    None => votes.push(Vote {
                        value: (*value).clone(),
                        count: 1,
                    }),
                }
            }
            // Stable: equal counts keep first-appearance order.
            votes.sort_by_key(|v| std::cmp::Reverse(v.count));
            let answered = votes.iter().map(|v| v.count).sum();
            let agree = answered == total && votes.len() == 1;
            let majority = votes.first().filter(|v| v.count * 2 > total).cloned();
            (
                name.clone(),
                FieldAgreement {
                    answered,
                    agree,
                    majority,
                    votes,
                },
            )
        })
        .collect();
    Some(fields)
}

/// The leaves of an answer, by dotted field name. A non-object answer is one leaf named `""`
/// (A2I documents objects; the parser enforces it, this keeps the function total).
pub fn flatten(answer: &Value) -> BTreeMap<String, &Value> {
    let mut out = BTreeMap::new();
    match answer {
        Value::Object(map) => flatten_into("", map, &mut out),
        other => {
            out.insert(String::new(), other);
        }
    }
    out
}

fn flatten_into<'a>(
    prefix: &str,
    map: &'a Map<String, Value>,
    out: &mut BTreeMap<String, &'a Value>,
) {
    for (key, child) in map {
        let name = if prefix.is_empty() {
            escape(key)
        } else {
            format!("{prefix}.{}", escape(key))
        };
        match child {
            Value::Object(inner) if !inner.is_empty() => flatten_into(&name, inner, out),
            leaf => {
                out.insert(name, leaf);
            }
        }
    }
}

/// Text trimmed, multi-select label lists as sorted sets, everything else as is.
fn normalize(value: &Value, key: Option<&str>) -> Value {
    match value {
        Value::String(text) => Value::String(normalize_text(text)),
        Value::Array(items) if key == Some("labels") && items.iter().all(Value::is_string) => {
            let set: BTreeSet<String> = items
                .iter()
                .filter_map(Value::as_str)
                .map(normalize_text)
                .collect();
            Value::Array(set.into_iter().map(Value::String).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| normalize(v, None)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalize(v, Some(k))))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn normalize_text(text: &str) -> String {
    text.trim().replace("\r\n", "\n")
}

/// A non-empty object whose values are all booleans: a checkbox, radio or toggle map.
fn is_option_map(value: &Value) -> bool {
    matches!(value, Value::Object(map) if !map.is_empty() && map.values().all(Value::is_boolean))
}

/// Gives every answer's option map every option any answer's map at the same place has,
/// `false` where it lacked it.
fn fill_option_maps(answers: &mut [Value]) {
    let mut options: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    for answer in answers.iter() {
        collect_option_maps(answer, &mut Vec::new(), &mut options);
    }
    for answer in answers.iter_mut() {
        for (path, keys) in &options {
            let mut at = Some(&mut *answer);
            for segment in path {
                at = at.and_then(|v| v.get_mut(segment.as_str()));
            }
            if let Some(Value::Object(map)) = at {
                if map.values().all(Value::is_boolean) {
                    for key in keys {
                        map.entry(key.clone()).or_insert(Value::Bool(false));
                    }
                }
            }
        }
    }
}

fn collect_option_maps(
    value: &Value,
    path: &mut Vec<String>,
    out: &mut BTreeMap<Vec<String>, BTreeSet<String>>,
) {
    let Value::Object(map) = value else {
        return;
    };
    if is_option_map(value) {
        out.entry(path.clone())
            .or_default()
            .extend(map.keys().cloned());
        return;
    }
    for (key, child) in map {
        path.push(key.clone());
        collect_option_maps(child, path, out);
        path.pop();
    }
}

fn escape(key: &str) -> String {
    let mut s = String::with_capacity(key.len());
    for c in key.chars() {
        if c == '.' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(answers: &[Value]) -> BTreeMap<String, FieldAgreement> {
        let refs: Vec<&Value> = answers.iter().collect();
        agreement(&refs).expect("two or more answers")
    }

    #[test]
    fn nested_objects_flatten_to_dotted_names_and_keys_with_dots_are_escaped() {
        let a = json!({"sentiment": {"label": "x", "extra": {}}, "a.b": 1, "a": {"b": 2}, "tags": ["p", "q"], "w\\x": true});
        let f = flatten(&a);
        let names: Vec<&str> = f.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "a.b",
                "a\\.b",
                "sentiment.extra",
                "sentiment.label",
                "tags",
                "w\\\\x"
            ]
        );
        assert_eq!(f["a.b"], &json!(2));
        assert_eq!(f["a\\.b"], &json!(1));
        assert_eq!(f["tags"], &json!(["p", "q"]));
        assert_eq!(f["sentiment.extra"], &json!({}));
    }

    #[test]
    fn fewer_than_two_answers_compute_nothing() {
        assert_eq!(agreement(&[]), None);
        assert_eq!(agreement(&[&json!({"a": 1})]), None);
    }

    #[test]
    fn two_workers_agreeing() {
        let r = run(&[
            json!({"sentiment": {"label": "Positive"}}),
            json!({"sentiment": {"label": "Positive"}}),
        ]);
        let f = &r["sentiment.label"];
        assert!(f.agree);
        assert_eq!(f.answered, 2);
        assert_eq!(
            f.majority,
            Some(Vote {
                value: json!("Positive"),
                count: 2
            })
        );
        assert_eq!(f.votes.len(), 1);
    }

    #[test]
    fn two_workers_disagreeing_is_a_tie_without_majority() {
        let r = run(&[json!({"label": "a"}), json!({"label": "b"})]);
        let f = &r["label"];
        assert!(!f.agree);
        assert_eq!(f.majority, None);
        assert_eq!(
            f.votes,
            vec![
                Vote {
                    value: json!("a"),
                    count: 1
                },
                Vote {
                    value: json!("b"),
                    count: 1
                }
            ]
        );
    }

    #[test]
    fn three_workers_two_against_one_has_a_majority() {
        let r = run(&[
            json!({"label": "b", "ok": true}),
            json!({"label": "a", "ok": true}),
            json!({"label": "a", "ok": true}),
        ]);
        let f = &r["label"];
        assert!(!f.agree);
        assert_eq!(
            f.majority,
            Some(Vote {
                value: json!("a"),
                count: 2
            })
        );
        assert_eq!(f.votes[0].value, json!("a"), "most votes first");
        assert_eq!(
            f.votes[1],
            Vote {
                value: json!("b"),
                count: 1
            }
        );
        assert!(r["ok"].agree);
    }

    #[test]
    fn three_different_values_have_no_majority() {
        let r = run(&[json!({"l": 1}), json!({"l": 2}), json!({"l": 3})]);
        assert_eq!(r["l"].majority, None);
        assert_eq!(
            r["l"]
                .votes
                .iter()
                .map(|v| v.value.clone())
                .collect::<Vec<_>>(),
            [json!(1), json!(2), json!(3)]
        );
    }

    #[test]
    fn a_missing_field_breaks_agreement_and_counts_against_the_majority() {
        let r = run(&[json!({"note": "x"}), json!({})]);
        let f = &r["note"];
        assert_eq!(f.answered, 1);
        assert!(!f.agree, "one worker left the field out");
        assert_eq!(f.majority, None, "1 of 2 is not more than half");
        let r = run(&[json!({"note": "x"}), json!({"note": "x"}), json!({})]);
        assert!(!r["note"].agree);
        assert_eq!(r["note"].majority.as_ref().map(|v| v.count), Some(2));
    }

    #[test]
    fn values_compare_as_json_not_as_text() {
        let r = run(&[json!({"n": 1}), json!({"n": "1"})]);
        assert!(!r["n"].agree);
        let r = run(&[json!({"box": [{"left": 1}]}), json!({"box": [{"left": 1}]})]);
        assert!(r["box"].agree, "arrays compare whole");
    }

    /// The answers of the shipped templates, as Crowd HTML Elements shape them
    /// (docs/task-input.md).
    #[test]
    fn classifier_labels_agree_after_trimming_and_votes_show_the_trimmed_text() {
        let r = run(&[
            json!({"decision": {"label": "remove"}, "comment": "nudity\r\nclear"}),
            json!({"decision": {"label": " remove\n"}, "comment": "nudity\nclear "}),
        ]);
        assert!(r["decision.label"].agree);
        assert_eq!(r["decision.label"].votes[0].value, json!("remove"));
        assert!(
            r["comment"].agree,
            "line endings and surrounding blanks do not count"
        );
        let r = run(&[
            json!({"decision": {"label": "allow"}}),
            json!({"decision": {"label": "remove"}}),
            json!({"decision": {"label": "remove"}}),
        ]);
        assert_eq!(
            r["decision.label"].majority.as_ref().map(|v| &v.value),
            Some(&json!("remove"))
        );
    }

    #[test]
    fn multi_select_labels_compare_as_sets() {
        let r = run(&[
            json!({"category": {"labels": ["World", "Sports"]}}),
            json!({"category": {"labels": ["Sports", "World", "World"]}}),
        ]);
        let f = &r["category.labels"];
        assert!(f.agree);
        assert_eq!(f.votes[0].value, json!(["Sports", "World"]));
        let r = run(&[
            json!({"category": {"labels": ["World"]}}),
            json!({"category": {"labels": ["World", "Sports"]}}),
        ]);
        assert!(!r["category.labels"].agree);
        // Any other array keeps its order: bounding boxes, keypoints.
        let r = run(&[json!({"boxes": [1, 2]}), json!({"boxes": [2, 1]})]);
        assert!(!r["boxes"].agree);
    }

    #[test]
    fn an_option_missing_from_a_checkbox_map_counts_as_unticked() {
        let r = run(&[
            json!({"labelsConfirmed": {"Swimwear": true, "Suggestive": false}}),
            json!({"labelsConfirmed": {"Swimwear": true}}),
        ]);
        let f = &r["labelsConfirmed.Suggestive"];
        assert_eq!(f.answered, 2);
        assert!(f.agree);
        assert_eq!(f.votes[0].value, json!(false));
        assert!(r["labelsConfirmed.Swimwear"].agree);
        // Radio buttons and toggles have the same shape.
        let r = run(&[
            json!({"btn": {"yes": true}, "theToggler": {"on": true}}),
            json!({"btn": {"no": true}, "theToggler": {"on": false}}),
        ]);
        assert!(!r["btn.yes"].agree && !r["btn.no"].agree);
        assert_eq!(r["btn.yes"].answered, 2);
        assert!(!r["theToggler.on"].agree);
        // A worker who never saw the map (no key at all) did not answer it.
        let r = run(&[
            json!({"labelsConfirmed": {"Swimwear": true}}),
            json!({"decision": {"label": "allow"}}),
        ]);
        assert_eq!(r["labelsConfirmed.Swimwear"].answered, 1);
        assert!(!r["labelsConfirmed.Swimwear"].agree);
    }

    #[test]
    fn an_object_mixing_booleans_and_text_is_not_an_option_map() {
        let r = run(&[
            json!({"x": {"on": true, "note": "a"}}),
            json!({"x": {"note": "a"}}),
        ]);
        assert_eq!(r["x.on"].answered, 1, "not filled");
        assert!(r["x.note"].agree);
    }
}
