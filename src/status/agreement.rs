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
//! - **Values** are equal when they are equal JSON values (`"1"`, `1` and `1.0` differ).
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
    let flat: Vec<BTreeMap<String, &Value>> = answer_contents.iter().map(|a| flatten(a)).collect();
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
}
