//! Evaluation of a parsed condition tree on one item: every node is evaluated (no
//! short-circuit, as A2I does), the tree comes back annotated with `EvaluationResult`, and the
//! leaves that made the decision give the reasons.

use std::cell::OnceCell;

use serde_json::{Map, Value};

use super::error::EvaluationError;
use super::parse::{Check, Junction, Leaf, Node};
use super::sampling;
use super::textract::{self, FormPair};

/// The decision for one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Whether the item needs a human review.
    pub flagged: bool,
    /// Human-readable reasons, one per leaf condition that held and made the decision.
    pub reasons: Vec<String>,
    /// The condition document as written, with `EvaluationResult` on every node, in the
    /// shape of A2I's `humanTaskActivationConditionResults`.
    pub results: Value,
}

/// Evaluates every top-level node on `item`; the item is flagged when any of them holds.
pub(crate) fn evaluate(conditions: &[Node], item: &Value) -> Result<Evaluation, EvaluationError> {
    evaluate_item(conditions, &Item::new(Some(item)))
}

/// Whether every leaf reads only a Textract document's form pairs, so the item can be
/// judged from [`FormPair`]s read lean (see `lean.rs`) without building it as a [`Value`].
pub(crate) fn reads_only_form_pairs(conditions: &[Node]) -> bool {
    conditions.iter().all(|node| match node {
        Node::Group(_, members) => reads_only_form_pairs(members),
        Node::Leaf(leaf) => matches!(
            leaf.check,
            Check::FormKeyConfidence(_) | Check::MissingFormKey(_)
        ),
    })
}

/// Evaluates a document whose conditions all [read only form pairs](reads_only_form_pairs)
/// on the pairs of one item.
pub(crate) fn evaluate_form_pairs(
    conditions: &[Node],
    pairs: Vec<FormPair>,
) -> Result<Evaluation, EvaluationError> {
    let item = Item::new(None);
    let _ = item.form_pairs.set(Ok(pairs));
    evaluate_item(conditions, &item)
}

fn evaluate_item(conditions: &[Node], item: &Item) -> Result<Evaluation, EvaluationError> {
    let mut flagged = false;
    let mut reasons = Vec::new();
    let mut annotated = Vec::with_capacity(conditions.len());
    for node in conditions {
        let outcome = evaluate_node(node, item)?;
        flagged |= outcome.held;
        reasons.extend(outcome.reasons);
        annotated.push(outcome.annotated);
    }
    let mut results = Map::new();
    results.insert("Conditions".into(), Value::Array(annotated));
    Ok(Evaluation {
        flagged,
        reasons,
        results: Value::Object(results),
    })
}

/// One item and what several leaves may need from it, computed at most once per item.
struct Item<'a> {
    /// The item; `None` when only its form pairs were read (they are then set up front).
    value: Option<&'a Value>,
    sample_point: OnceCell<f64>,
    form_pairs: OnceCell<Result<Vec<FormPair>, String>>,
}

impl<'a> Item<'a> {
    fn new(value: Option<&'a Value>) -> Self {
        Self {
            value,
            sample_point: OnceCell::new(),
            form_pairs: OnceCell::new(),
        }
    }

    /// The whole item. Only an item read as form pairs lacks it, and only documents whose
    /// every leaf reads form pairs are evaluated that way, so this error cannot surface.
    fn value(&self) -> Result<&'a Value, String> {
        self.value
            .ok_or_else(|| "this condition needs the whole item, which was not read".to_string())
    }

    fn sample_point(&self) -> Result<f64, String> {
        let value = self.value()?;
        Ok(*self
            .sample_point
            .get_or_init(|| sampling::sample_point(value)))
    }

    fn form_pairs(&self) -> Result<&[FormPair], String> {
        if self.form_pairs.get().is_none() {
            let pairs = textract::form_pairs(self.value()?);
            let _ = self.form_pairs.set(pairs);
        }
        match self.form_pairs.get() {
            Some(Ok(pairs)) => Ok(pairs),
            Some(Err(e)) => Err(e.clone()),
            None => Err("the form pairs could not be read".to_string()),
        }
    }
}

/// What one node came to.
struct Outcome {
    held: bool,
    /// The node as written, with `EvaluationResult` added to it and to everything below.
    annotated: Value,
    /// Reasons of the leaves below that held and made this node hold; empty when it did not.
    reasons: Vec<String>,
}

fn evaluate_node(node: &Node, item: &Item) -> Result<Outcome, EvaluationError> {
    match node {
        Node::Leaf(leaf) => {
            let reason = evaluate_leaf(leaf, item).map_err(|message| EvaluationError {
                path: leaf.path.clone(),
                message,
            })?;
            let mut annotated = leaf.written.clone();
            annotated.insert("EvaluationResult".into(), Value::Bool(reason.is_some()));
            Ok(Outcome {
                held: reason.is_some(),
                annotated: Value::Object(annotated),
                reasons: reason.into_iter().collect(),
            })
        }
        Node::Group(junction, members) => {
            let outcomes = members
                .iter()
                .map(|member| evaluate_node(member, item))
                .collect::<Result<Vec<_>, _>>()?;
            let held = match junction {
                Junction::And => outcomes.iter().all(|o| o.held),
                Junction::Or => outcomes.iter().any(|o| o.held),
            };
            let mut reasons = Vec::new();
            let mut annotated_members = Vec::with_capacity(outcomes.len());
            for outcome in outcomes {
                if held {
                    reasons.extend(outcome.reasons);
                }
                annotated_members.push(outcome.annotated);
            }
            let mut annotated = Map::new();
            annotated.insert("EvaluationResult".into(), Value::Bool(held));
            annotated.insert(junction.key().into(), Value::Array(annotated_members));
            Ok(Outcome {
                held,
                annotated: Value::Object(annotated),
                reasons,
            })
        }
    }
}

/// The reason when the leaf holds, `None` when it does not, or what the item lacks.
fn evaluate_leaf(leaf: &Leaf, item: &Item) -> Result<Option<String>, String> {
    match &leaf.check {
        Check::Sampling(check) => Ok(check.check(item.sample_point()?)),
        Check::ModerationLabel(check) => check.check(item.value()?),
        Check::FormKeyConfidence(check) => check.check(item.form_pairs()?),
        Check::MissingFormKey(check) => Ok(check.check(item.form_pairs()?)),
        Check::Prediction(check) => check.check(item.value()?),
        Check::JsonPath(check) => Ok(check.check(item.value()?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{kv_blocks, response, Word};
    use crate::ActivationConditions;
    use serde_json::json;

    fn labels(list: &[(&str, f64)]) -> Value {
        let labels: Vec<Value> = list
            .iter()
            .map(|(n, c)| json!({"Name": n, "Confidence": c}))
            .collect();
        json!({"ModerationLabels": labels})
    }

    fn label_check(name: &str, op: &str, bound: f64) -> Value {
        json!({"ConditionType": "ModerationLabelConfidenceCheck",
               "ConditionParameters": {"ModerationLabelName": name, format!("Confidence{op}"): bound}})
    }

    #[test]
    fn results_have_the_documented_a2i_shape() {
        // The evaluation result AWS documents for Textract (Mail address, aliases, < 100).
        let params = json!({"ImportantFormKey": "Mail address",
            "ImportantFormKeyAliases": ["Mail Address:", "Mail address:", "Mailing Add:", "Mailing Addresses"]});
        let mut check_params = params.clone();
        check_params["KeyValueBlockConfidenceLessThan"] = json!(100);
        check_params["WordBlockConfidenceLessThan"] = json!(100);
        let doc = json!({"Conditions": [{"Or": [
            {"ConditionType": "ImportantFormKeyConfidenceCheck", "ConditionParameters": check_params},
            {"ConditionType": "MissingImportantFormKey", "ConditionParameters": params}
        ]}]});
        let item = response(kv_blocks(
            "a",
            &[
                Word::new("Mail", json!(99.5)),
                Word::new("Address:", json!(98)),
            ],
            &[Word::new("123 Any Street", json!(91.25))],
            json!(88.5),
            None,
        ));
        let e = ActivationConditions::from_value(&doc)
            .unwrap()
            .evaluate(&item)
            .unwrap();
        let expected = json!({"Conditions": [{"EvaluationResult": true, "Or": [
            {"ConditionType": "ImportantFormKeyConfidenceCheck", "EvaluationResult": true,
             "ConditionParameters": {"ImportantFormKey": "Mail address",
                "ImportantFormKeyAliases": ["Mail Address:", "Mail address:", "Mailing Add:", "Mailing Addresses"],
                "KeyValueBlockConfidenceLessThan": 100, "WordBlockConfidenceLessThan": 100}},
            {"ConditionType": "MissingImportantFormKey", "EvaluationResult": false,
             "ConditionParameters": {"ImportantFormKey": "Mail address",
                "ImportantFormKeyAliases": ["Mail Address:", "Mail address:", "Mailing Add:", "Mailing Addresses"]}}
        ]}]});
        assert_eq!(e.results, expected);
        assert!(e.flagged);
        assert_eq!(
            e.reasons,
            vec![
                r#"ImportantFormKeyConfidenceCheck: key "Mail Address:" on page 1 has key-value confidence 88.5 < 100 and 3 word confidences 91.25 to 99.5, each < 100"#
            ]
        );
    }

    #[test]
    fn parameters_come_back_exactly_as_written() {
        let doc = r#"{"Conditions": [{"ConditionType": "ModerationLabelConfidenceCheck",
            "ConditionParameters": {"ModerationLabelName": "Suggestive", "ConfidenceLessThan": 98.0, "ConfidenceGreaterThan": 5}}]}"#;
        let e = ActivationConditions::parse(doc)
            .unwrap()
            .evaluate(&labels(&[]))
            .unwrap();
        // Compared as JSON values (key order is serde_json's `preserve_order` choice, not
        // ours); numbers compare by their written kind, so `98.0` must stay a float.
        assert_eq!(
            e.results,
            json!({"Conditions":[{"ConditionType":"ModerationLabelConfidenceCheck",
                "ConditionParameters":{"ModerationLabelName":"Suggestive","ConfidenceLessThan":98.0,"ConfidenceGreaterThan":5},
                "EvaluationResult":false}]})
        );
        let text = e.results.to_string();
        assert!(
            text.contains(r#""ConfidenceLessThan":98.0"#)
                && text.contains(r#""ConfidenceGreaterThan":5"#),
            "{text}"
        );
    }

    #[test]
    fn every_node_is_evaluated_and_annotated_without_short_circuit() {
        let doc = json!({"Conditions": [
            {"Or": [label_check("A", "GreaterThan", 50.0), label_check("B", "GreaterThan", 50.0), label_check("C", "GreaterThan", 50.0)]},
            {"And": [label_check("A", "LessThan", 10.0), label_check("B", "GreaterThan", 50.0)]}
        ]});
        let e = ActivationConditions::from_value(&doc)
            .unwrap()
            .evaluate(&labels(&[("A", 90.0), ("C", 60.0)]))
            .unwrap();
        let result_of = |pointer: &str| e.results.pointer(pointer).cloned();
        assert_eq!(
            result_of("/Conditions/0/EvaluationResult"),
            Some(json!(true))
        );
        assert_eq!(
            result_of("/Conditions/0/Or/0/EvaluationResult"),
            Some(json!(true))
        );
        assert_eq!(
            result_of("/Conditions/0/Or/1/EvaluationResult"),
            Some(json!(false))
        );
        assert_eq!(
            result_of("/Conditions/0/Or/2/EvaluationResult"),
            Some(json!(true)),
            "evaluated after a true member"
        );
        assert_eq!(
            result_of("/Conditions/1/EvaluationResult"),
            Some(json!(false))
        );
        assert_eq!(
            result_of("/Conditions/1/And/0/EvaluationResult"),
            Some(json!(false))
        );
        assert_eq!(
            result_of("/Conditions/1/And/1/EvaluationResult"),
            Some(json!(false))
        );
        assert_eq!(
            e.reasons.len(),
            2,
            "both true members of the Or give a reason: {:?}",
            e.reasons
        );
    }

    #[test]
    fn a_leaf_after_a_true_one_still_reports_its_error() {
        let doc = json!({"Conditions": [
            {"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 100}},
            {"Or": [label_check("A", "GreaterThan", 50.0),
                    {"ConditionType": "MissingImportantFormKey", "ConditionParameters": {"ImportantFormKey": "Name"}}]}
        ]});
        let err = ActivationConditions::from_value(&doc)
            .unwrap()
            .evaluate(&labels(&[("A", 90.0)]))
            .unwrap_err();
        assert_eq!(err.path, "Conditions[1].Or[1]");
        assert!(
            err.message.starts_with("item has no Blocks"),
            "{}",
            err.message
        );
    }

    #[test]
    fn leaves_under_a_false_and_give_no_reason() {
        let doc = json!({"Conditions": [{"Or": [
            {"And": [label_check("A", "GreaterThan", 50.0), label_check("B", "GreaterThan", 50.0)]},
            label_check("C", "LessThan", 50.0)
        ]}]});
        let conditions = ActivationConditions::from_value(&doc).unwrap();
        let e = conditions
            .evaluate(&labels(&[("A", 90.0), ("C", 10.0)]))
            .unwrap();
        assert!(e.flagged);
        assert_eq!(
            e.reasons,
            vec![r#"ModerationLabelConfidenceCheck: label "C" confidence 10 < 50"#]
        );
        let e = conditions.evaluate(&labels(&[("A", 90.0)])).unwrap();
        assert!(!e.flagged);
        assert!(e.reasons.is_empty());
        assert_eq!(
            e.results
                .pointer("/Conditions/0/Or/0/And/0/EvaluationResult"),
            Some(&json!(true))
        );
    }

    #[test]
    fn flagged_is_the_or_of_the_top_level_conditions() {
        let doc = json!({"Conditions": [label_check("A", "GreaterThan", 50.0), label_check("B", "GreaterThan", 50.0)]});
        let conditions = ActivationConditions::from_value(&doc).unwrap();
        assert!(
            conditions
                .evaluate(&labels(&[("B", 60.0)]))
                .unwrap()
                .flagged
        );
        assert!(
            conditions
                .evaluate(&labels(&[("A", 60.0)]))
                .unwrap()
                .flagged
        );
        assert!(
            !conditions
                .evaluate(&labels(&[("A", 40.0), ("B", 40.0)]))
                .unwrap()
                .flagged
        );
    }
}
