//! `PredictionConfidenceCheck` (ours): A2I's confidence check carried over to custom models,
//! whose output is a list of `{label, confidence}`-like predictions somewhere in the item
//! (e.g. Comprehend custom classification: `Classes: [{Name, Score}]`).
//!
//! Confidences are compared in the document's own units (0–1 scores stay 0–1): a model's
//! scale is not ours to guess.

use serde_json::Value;
use serde_json_path::JsonPath;

use super::compare::Comparisons;
use super::error::ConditionError;
use super::json::describe;
use super::params::{NamePattern, Params};
use super::reason::list_hits;

/// The condition type's name.
pub(crate) const TYPE: &str = "PredictionConfidenceCheck";
/// Its parameters.
pub(crate) const PARAMS: &[&str] = &[
    "PredictionsPath",
    "LabelField",
    "ConfidenceField",
    "LabelName",
    "TopPredictionOnly",
    "ConfidenceEquals",
    "ConfidenceLessThan",
    "ConfidenceLessThanEquals",
    "ConfidenceGreaterThan",
    "ConfidenceGreaterThanEquals",
];

const DEFAULT_PATH: &str = "$.predictions";
const DEFAULT_LABEL_FIELD: &str = "label";
const DEFAULT_CONFIDENCE_FIELD: &str = "confidence";

/// A parsed `PredictionConfidenceCheck`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PredictionCheck {
    path: JsonPath,
    path_text: String,
    label_field: String,
    confidence_field: String,
    label: NamePattern,
    top_only: bool,
    confidence: Comparisons,
}

/// One prediction read from the item.
struct Prediction {
    label: String,
    confidence: f64,
}

impl PredictionCheck {
    /// Reads the parameters; `PredictionsPath`, `LabelField` and `ConfidenceField` have
    /// defaults, `LabelName` and at least one `Confidence*` comparison are required.
    pub(crate) fn parse(params: &Params) -> Result<Self, ConditionError> {
        let (path, path_text) = match params.json_path("PredictionsPath")? {
            Some((path, text)) => (path, text.to_string()),
            None => (
                JsonPath::parse(DEFAULT_PATH)
                    .expect("the default PredictionsPath is a valid JSONPath"),
                DEFAULT_PATH.to_string(),
            ),
        };
        let label_field = params
            .string("LabelField")?
            .unwrap_or(DEFAULT_LABEL_FIELD)
            .to_string();
        let confidence_field = params
            .string("ConfidenceField")?
            .unwrap_or(DEFAULT_CONFIDENCE_FIELD)
            .to_string();
        let label = NamePattern::new(params.required_string(
            "LabelName",
            r#"the exact, case-sensitive label, or "*" for any label"#,
        )?);
        let top_only = params.bool("TopPredictionOnly")?.unwrap_or(false);
        let confidence = Comparisons::parse(params, "Confidence", None)?;
        if confidence.is_empty() {
            return Err(params.error_here(format!(
                "no comparison given: {TYPE} needs at least one of {}",
                PARAMS[5..].join(", ")
            )));
        }
        Ok(Self {
            path,
            path_text,
            label_field,
            confidence_field,
            label,
            top_only,
            confidence,
        })
    }

    /// The reason when a matching prediction (only the top one with `TopPredictionOnly`)
    /// satisfies every comparison; an error message when the predictions cannot be read.
    pub(crate) fn check(&self, item: &Value) -> Result<Option<String>, String> {
        let predictions = self.read(item)?;
        let candidates: Vec<&Prediction> = if self.top_only {
            // The first of equally confident predictions is the top one, as a sorted list has it.
            let top = predictions.iter().reduce(|best, p| {
                if p.confidence > best.confidence {
                    p
                } else {
                    best
                }
            });
            top.into_iter().collect()
        } else {
            predictions.iter().collect()
        };
        let which = if self.top_only {
            "top prediction"
        } else {
            "prediction"
        };
        let hits: Vec<String> = candidates
            .into_iter()
            .filter(|p| self.label.matches(&p.label) && self.confidence.holds(p.confidence))
            .map(|p| {
                format!(
                    "{which} {} confidence {} {}",
                    Value::from(p.label.as_str()),
                    p.confidence,
                    self.confidence.bounds()
                )
            })
            .collect();
        Ok((!hits.is_empty()).then(|| format!("{TYPE}: {}", list_hits(hits))))
    }

    fn read(&self, item: &Value) -> Result<Vec<Prediction>, String> {
        let path = &self.path_text;
        let nodes = self.path.query(item).all();
        let list = match nodes.as_slice() {
            [Value::Array(list)] => list,
            [] => {
                return Err(format!(
                    "PredictionsPath {path} selects nothing in the item"
                ))
            }
            [other] => {
                return Err(format!(
                    "PredictionsPath {path} selects {}, not a list of predictions",
                    describe(other)
                ))
            }
            many => {
                return Err(format!(
                "PredictionsPath {path} selects {} nodes; it must select one list of predictions",
                many.len()
            ))
            }
        };
        list.iter()
            .enumerate()
            .map(|(i, raw)| {
                let at = format!("prediction {i} at {path}");
                let obj = raw
                    .as_object()
                    .ok_or_else(|| format!("{at} is {}, not an object", describe(raw)))?;
                let label = match obj.get(&self.label_field) {
                    Some(Value::String(s)) => s.clone(),
                    // Class ids are often numbers; they match a LabelName written as their text.
                    Some(Value::Number(n)) => n.to_string(),
                    Some(other) => {
                        return Err(format!(
                            "{at} has {} that is {}, not a string or a number",
                            self.label_field,
                            describe(other)
                        ))
                    }
                    None => return Err(format!("{at} has no {} field", self.label_field)),
                };
                let confidence = match obj.get(&self.confidence_field) {
                    Some(v) => v.as_f64().ok_or_else(|| {
                        format!(
                            "{at} has {} that is {}, not a number",
                            self.confidence_field,
                            describe(v)
                        )
                    })?,
                    None => {
                        return Err(format!(
                            "{at} has no numeric {} field",
                            self.confidence_field
                        ))
                    }
                };
                Ok(Prediction { label, confidence })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::ActivationConditions;
    use serde_json::{json, Value};

    fn comprehend_top_below(threshold: f64) -> ActivationConditions {
        ActivationConditions::from_value(&json!({"Conditions": [{"ConditionType": "PredictionConfidenceCheck",
            "ConditionParameters": {"PredictionsPath": "$.Classes", "LabelField": "Name", "ConfidenceField": "Score",
                "LabelName": "*", "TopPredictionOnly": true, "ConfidenceLessThan": threshold}}]}))
        .unwrap()
    }

    fn comprehend_line(classes: &[(&str, f64)]) -> Value {
        let classes: Vec<Value> = classes
            .iter()
            .map(|(n, s)| json!({"Name": n, "Score": s}))
            .collect();
        json!({"File": "input.csv", "Line": "4", "Classes": classes})
    }

    #[test]
    fn flags_a_comprehend_line_whose_top_class_is_unsure() {
        let e = comprehend_top_below(0.6)
            .evaluate(&comprehend_line(&[
                ("HISTORY", 0.3576),
                ("WORDS", 0.3239),
                ("ACTORS", 0.3185),
            ]))
            .unwrap();
        assert!(e.flagged);
        assert_eq!(
            e.reasons,
            vec![r#"PredictionConfidenceCheck: top prediction "HISTORY" confidence 0.3576 < 0.6"#]
        );
    }

    #[test]
    fn does_not_flag_a_confident_top_class_whatever_the_others_score() {
        let e = comprehend_top_below(0.6)
            .evaluate(&comprehend_line(&[
                ("WORDS", 0.0011),
                ("HISTORY", 0.9979),
                ("ACTORS", 0.001),
            ]))
            .unwrap();
        assert!(
            !e.flagged,
            "only the top prediction is checked, wherever it is in the list"
        );
    }

    #[test]
    fn without_top_only_any_matching_prediction_counts() {
        let c = ActivationConditions::from_value(
            &json!({"Conditions": [{"ConditionType": "PredictionConfidenceCheck",
            "ConditionParameters": {"LabelName": "fraud", "ConfidenceGreaterThanEquals": 0.3}}]}),
        )
        .unwrap();
        let item = json!({"predictions": [{"label": "ok", "confidence": 0.65}, {"label": "fraud", "confidence": 0.35}]});
        let e = c.evaluate(&item).unwrap();
        assert_eq!(
            e.reasons,
            vec![r#"PredictionConfidenceCheck: prediction "fraud" confidence 0.35 >= 0.3"#]
        );
        let item = json!({"predictions": [{"label": "Fraud", "confidence": 0.9}]});
        assert!(
            !c.evaluate(&item).unwrap().flagged,
            "labels match case-sensitively"
        );
    }

    #[test]
    fn top_only_with_a_named_label_needs_that_label_on_top() {
        let c = ActivationConditions::from_value(&json!({"Conditions": [{"ConditionType": "PredictionConfidenceCheck",
            "ConditionParameters": {"LabelName": "cat", "TopPredictionOnly": true, "ConfidenceLessThan": 0.9}}]}))
        .unwrap();
        let cat_on_top = json!({"predictions": [{"label": "dog", "confidence": 0.2}, {"label": "cat", "confidence": 0.8}]});
        assert!(c.evaluate(&cat_on_top).unwrap().flagged);
        let dog_on_top = json!({"predictions": [{"label": "dog", "confidence": 0.6}, {"label": "cat", "confidence": 0.4}]});
        assert!(!c.evaluate(&dog_on_top).unwrap().flagged);
        let tie = json!({"predictions": [{"label": "dog", "confidence": 0.5}, {"label": "cat", "confidence": 0.5}]});
        assert!(
            !c.evaluate(&tie).unwrap().flagged,
            "the first of a tie is the top one"
        );
    }

    #[test]
    fn scores_are_compared_in_their_own_units() {
        let c = ActivationConditions::from_value(
            &json!({"Conditions": [{"ConditionType": "PredictionConfidenceCheck",
            "ConditionParameters": {"LabelName": "*", "ConfidenceLessThan": 60}}]}),
        )
        .unwrap();
        let item = json!({"predictions": [{"label": "a", "confidence": 0.99}]});
        assert!(
            c.evaluate(&item).unwrap().flagged,
            "0.99 < 60: no rescaling to percent"
        );
    }

    #[test]
    fn numeric_class_ids_match_their_text() {
        let c = ActivationConditions::from_value(
            &json!({"Conditions": [{"ConditionType": "PredictionConfidenceCheck",
            "ConditionParameters": {"LabelName": "3", "ConfidenceLessThan": 0.5}}]}),
        )
        .unwrap();
        assert!(
            c.evaluate(&json!({"predictions": [{"label": 3, "confidence": 0.4}]}))
                .unwrap()
                .flagged
        );
    }

    #[test]
    fn an_empty_prediction_list_is_not_flagged() {
        assert!(
            !comprehend_top_below(0.6)
                .evaluate(&json!({"Classes": []}))
                .unwrap()
                .flagged
        );
    }

    #[test]
    fn unreadable_predictions_are_evaluation_errors_naming_path_and_field() {
        let c = comprehend_top_below(0.6);
        let cases = [
            (
                json!({"classes": []}),
                "PredictionsPath $.Classes selects nothing in the item",
            ),
            (
                json!({"Classes": {"Name": "A"}}),
                "PredictionsPath $.Classes selects an object with 1 key, not a list of predictions",
            ),
            (
                json!({"Classes": [{"Name": "A"}]}),
                "prediction 0 at $.Classes has no numeric Score field",
            ),
            (
                json!({"Classes": [{"Name": "A", "Score": 0.5}, {"Name": "B", "Score": "0.4"}]}),
                "prediction 1 at $.Classes has Score that is a string of 3 characters, not a number",
            ),
            (
                json!({"Classes": [{"Score": 0.5}]}),
                "prediction 0 at $.Classes has no Name field",
            ),
            (
                json!({"Classes": [0.5]}),
                "prediction 0 at $.Classes is a number, not an object",
            ),
        ];
        for (item, message) in cases {
            let err = c.evaluate(&item).unwrap_err();
            assert_eq!(
                (err.path.as_str(), err.message.as_str()),
                ("Conditions[0]", message)
            );
        }
        let many = ActivationConditions::from_value(&json!({"Conditions": [{"ConditionType": "PredictionConfidenceCheck",
            "ConditionParameters": {"PredictionsPath": "$..p", "LabelName": "*", "ConfidenceLessThan": 1}}]}))
        .unwrap();
        let err = many
            .evaluate(&json!({"a": {"p": []}, "b": {"p": []}}))
            .unwrap_err();
        assert_eq!(
            err.message,
            "PredictionsPath $..p selects 2 nodes; it must select one list of predictions"
        );
    }

    #[test]
    fn rejects_bad_parameters_at_parse_time() {
        let parse = |params: Value| {
            ActivationConditions::from_value(
                &json!({"Conditions": [{"ConditionType": "PredictionConfidenceCheck",
                "ConditionParameters": params}]}),
            )
            .unwrap_err()
        };
        let err = parse(json!({"LabelName": "*"}));
        assert_eq!(err.path, "Conditions[0].ConditionParameters");
        assert!(err.message.starts_with(
            "no comparison given: PredictionConfidenceCheck needs at least one of ConfidenceEquals"
        ));
        let err = parse(
            json!({"LabelName": "*", "ConfidenceLessThan": 0.5, "PredictionsPath": "Classes"}),
        );
        assert_eq!(
            err.path,
            "Conditions[0].ConditionParameters.PredictionsPath"
        );
        assert!(
            err.message.starts_with("not a valid RFC 9535 JSONPath"),
            "{}",
            err.message
        );
        let err =
            parse(json!({"LabelName": "*", "ConfidenceLessThan": 0.5, "TopPredictionOnly": "yes"}));
        assert_eq!(
            err.message,
            "TopPredictionOnly is a string of 3 characters: it must be true or false"
        );
        let err = parse(json!({"ConfidenceLessThan": 0.5}));
        assert_eq!(err.path, "Conditions[0].ConditionParameters.LabelName");
        let err = parse(json!({"LabelName": "*", "ScoreLessThan": 0.5}));
        assert_eq!(err.path, "Conditions[0].ConditionParameters.ScoreLessThan");
    }

    #[test]
    fn parameter_list_names_every_comparison() {
        for op in crate::compare::Op::ALL {
            assert!(super::PARAMS.contains(&format!("Confidence{}", op.suffix()).as_str()));
        }
    }
}
