//! `ModerationLabelConfidenceCheck`: A2I's condition over Rekognition `DetectModerationLabels`
//! output (`ModerationLabels: [{Name, Confidence, ParentName?, …}]`).
//!
//! A label matches by its own `Name` only (exactly, case-sensitively; `*` matches any label):
//! Rekognition lists a parent category as a label of its own, so matching `ParentName` too
//! would count one detection twice.

use serde_json::Value;

use super::compare::Comparisons;
use super::error::ConditionError;
use super::json::{describe, field, opt_f64, opt_str};
use super::params::{NamePattern, Params};
use super::reason::list_hits;

/// The condition type's name.
pub(crate) const TYPE: &str = "ModerationLabelConfidenceCheck";
/// Its parameters.
pub(crate) const PARAMS: &[&str] = &[
    "ModerationLabelName",
    "ConfidenceEquals",
    "ConfidenceLessThan",
    "ConfidenceLessThanEquals",
    "ConfidenceGreaterThan",
    "ConfidenceGreaterThanEquals",
];

/// A parsed `ModerationLabelConfidenceCheck`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ModerationLabelCheck {
    label: NamePattern,
    confidence: Comparisons,
}

impl ModerationLabelCheck {
    /// Reads the label name and at least one `Confidence*` comparison (0 to 100).
    pub(crate) fn parse(params: &Params) -> Result<Self, ConditionError> {
        let label = NamePattern::new(params.required_string(
            "ModerationLabelName",
            r#"the exact, case-sensitive label name, or "*" for any label"#,
        )?);
        let confidence = Comparisons::parse(params, "Confidence", Some((0.0, 100.0)))?;
        if confidence.is_empty() {
            return Err(params.error_here(format!(
                "no comparison given: {TYPE} needs at least one of {}",
                PARAMS[1..].join(", ")
            )));
        }
        Ok(Self { label, confidence })
    }

    /// The reason when some matching label satisfies every comparison, else `None`; an error
    /// message when the item is not `DetectModerationLabels` output.
    pub(crate) fn check(&self, item: &Value) -> Result<Option<String>, String> {
        const EXPECTED: &str = "expected DetectModerationLabels output";
        let labels = match item
            .as_object()
            .and_then(|o| field(o, "ModerationLabels", "moderationLabels"))
        {
            Some(Value::Array(labels)) => labels,
            Some(other) => {
                return Err(format!(
                    "item ModerationLabels is {}, not a list ({EXPECTED})",
                    describe(other)
                ))
            }
            None => return Err(format!("item has no ModerationLabels ({EXPECTED})")),
        };
        let mut hits = Vec::new();
        for (i, label) in labels.iter().enumerate() {
            let at = format!("item ModerationLabels[{i}]");
            let Some(label) = label.as_object() else {
                return Err(format!("{at} is {}, not an object", describe(label)));
            };
            let name = opt_str(label, "Name", "name")
                .map_err(|e| format!("{at}.{e}"))?
                .ok_or_else(|| format!("{at} has no Name"))?;
            let confidence = opt_f64(label, "Confidence", "confidence")
                .map_err(|e| format!("{at}.{e}"))?
                .ok_or_else(|| format!("{at} has no Confidence"))?;
            if self.label.matches(name) && self.confidence.holds(confidence) {
                hits.push(format!(
                    "label {} confidence {confidence} {}",
                    Value::from(name),
                    self.confidence.bounds()
                ));
            }
        }
        Ok((!hits.is_empty()).then(|| format!("{TYPE}: {}", list_hits(hits))))
    }
}

#[cfg(test)]
mod tests {
    use crate::{ActivationConditions, EvaluationError};
    use serde_json::{json, Value};

    fn labels(list: &[(&str, f64)]) -> Value {
        let labels: Vec<Value> = list
            .iter()
            .map(|(name, confidence)| json!({"Name": name, "Confidence": confidence, "ParentName": ""}))
            .collect();
        json!({"ModerationLabels": labels, "ModerationModelVersion": "7.0"})
    }

    /// AWS Rekognition Example 1, with the parameter names of the documented list
    /// (`…LessThanEquals`, `…GreaterThanEquals`).
    fn example_1() -> ActivationConditions {
        ActivationConditions::parse(
            r#"{"Conditions": [{"Or": [
                {"And": [
                    {"ConditionType": "ModerationLabelConfidenceCheck",
                     "ConditionParameters": {"ModerationLabelName": "Graphic Male Nudity", "ConfidenceLessThanEquals": 99}},
                    {"ConditionType": "ModerationLabelConfidenceCheck",
                     "ConditionParameters": {"ModerationLabelName": "Graphic Male Nudity", "ConfidenceGreaterThanEquals": 90}}
                ]},
                {"And": [
                    {"ConditionType": "ModerationLabelConfidenceCheck",
                     "ConditionParameters": {"ModerationLabelName": "Graphic Female Nudity", "ConfidenceLessThanEquals": 99}},
                    {"ConditionType": "ModerationLabelConfidenceCheck",
                     "ConditionParameters": {"ModerationLabelName": "Graphic Female Nudity", "ConfidenceGreaterThanEquals": 80}}
                ]}
            ]}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn aws_example_1_flags_a_label_inside_its_range() {
        let e = example_1()
            .evaluate(&labels(&[("Graphic Male Nudity", 95.5)]))
            .unwrap();
        assert!(e.flagged);
        assert_eq!(
            e.reasons,
            vec![
                r#"ModerationLabelConfidenceCheck: label "Graphic Male Nudity" confidence 95.5 <= 99"#,
                r#"ModerationLabelConfidenceCheck: label "Graphic Male Nudity" confidence 95.5 >= 90"#,
            ]
        );
        assert!(
            example_1()
                .evaluate(&labels(&[("Graphic Female Nudity", 80.0)]))
                .unwrap()
                .flagged
        );
    }

    #[test]
    fn aws_example_1_ignores_labels_outside_the_range_or_not_named() {
        let c = example_1();
        assert!(
            !c.evaluate(&labels(&[("Graphic Male Nudity", 99.5)]))
                .unwrap()
                .flagged
        );
        assert!(
            !c.evaluate(&labels(&[("Graphic Male Nudity", 85.0)]))
                .unwrap()
                .flagged
        );
        assert!(
            !c.evaluate(&labels(&[("Suggestive", 95.0)]))
                .unwrap()
                .flagged
        );
        let e = c
            .evaluate(&labels(&[("Graphic Female Nudity", 79.9)]))
            .unwrap();
        assert!(!e.flagged);
        assert!(
            e.reasons.is_empty(),
            "a true leaf under a false And gives no reason"
        );
    }

    #[test]
    fn aws_example_1_as_published_is_rejected_for_its_or_equal_spelling() {
        let err = ActivationConditions::from_value(&json!({"Conditions": [{
            "ConditionType": "ModerationLabelConfidenceCheck",
            "ConditionParameters": {"ModerationLabelName": "Graphic Male Nudity", "ConfidenceLessThanOrEqual": 99}
        }]}))
        .unwrap_err();
        assert_eq!(
            err.path,
            "Conditions[0].ConditionParameters.ConfidenceLessThanOrEqual"
        );
        assert_eq!(
            err.message,
            "unknown parameter ConfidenceLessThanOrEqual for ModerationLabelConfidenceCheck; \
             did you mean ConfidenceLessThanEquals? Known parameters: ModerationLabelName, ConfidenceEquals, \
             ConfidenceLessThan, ConfidenceLessThanEquals, ConfidenceGreaterThan, ConfidenceGreaterThanEquals"
        );
    }

    #[test]
    fn aws_example_2_star_matches_any_label_at_or_above_75() {
        let c = ActivationConditions::parse(
            r#"{"Conditions": [{"ConditionType": "ModerationLabelConfidenceCheck",
                "ConditionParameters": {"ModerationLabelName": "*", "ConfidenceGreaterThanEquals": 75}}]}"#,
        )
        .unwrap();
        let e = c
            .evaluate(&labels(&[
                ("Suggestive", 60.0),
                ("Revealing Clothes", 75.0),
                ("Swimwear", 88.0),
            ]))
            .unwrap();
        assert!(e.flagged);
        assert_eq!(
            e.reasons,
            vec![
                r#"ModerationLabelConfidenceCheck: label "Revealing Clothes" confidence 75 >= 75; label "Swimwear" confidence 88 >= 75"#
            ]
        );
        assert!(
            !c.evaluate(&labels(&[("Suggestive", 74.9)]))
                .unwrap()
                .flagged
        );
    }

    #[test]
    fn aws_example_4_samples_only_items_with_the_label() {
        let c = ActivationConditions::parse(
            r#"{"Conditions": [{"And": [
                {"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 100}},
                {"ConditionType": "ModerationLabelConfidenceCheck",
                 "ConditionParameters": {"ModerationLabelName": "Graphic Male Nudity", "ConfidenceGreaterThan": 50}}
            ]}]}"#,
        )
        .unwrap();
        assert!(
            c.evaluate(&labels(&[("Graphic Male Nudity", 51.0)]))
                .unwrap()
                .flagged
        );
        assert!(
            !c.evaluate(&labels(&[("Graphic Male Nudity", 50.0)]))
                .unwrap()
                .flagged
        );
    }

    #[test]
    fn label_names_match_case_sensitively() {
        let c = ActivationConditions::from_value(&json!({"Conditions": [{"ConditionType": "ModerationLabelConfidenceCheck",
            "ConditionParameters": {"ModerationLabelName": "Suggestive", "ConfidenceLessThan": 98}}]}))
        .unwrap();
        assert!(
            c.evaluate(&labels(&[("Suggestive", 90.0)]))
                .unwrap()
                .flagged
        );
        assert!(
            !c.evaluate(&labels(&[("suggestive", 90.0)]))
                .unwrap()
                .flagged
        );
    }

    #[test]
    fn integer_confidences_and_camel_case_output_are_read() {
        let c = ActivationConditions::from_value(&json!({"Conditions": [{"ConditionType": "ModerationLabelConfidenceCheck",
            "ConditionParameters": {"ModerationLabelName": "Suggestive", "ConfidenceEquals": 90}}]}))
        .unwrap();
        let a2i_shape = json!({"moderationLabels": [{"name": "Suggestive", "confidence": 90, "parentName": ""}]});
        assert!(c.evaluate(&a2i_shape).unwrap().flagged);
    }

    #[test]
    fn empty_label_list_is_not_flagged() {
        let c = example_1();
        let e = c.evaluate(&json!({"ModerationLabels": []})).unwrap();
        assert!(!e.flagged);
    }

    #[test]
    fn missing_or_malformed_labels_are_evaluation_errors() {
        let c = ActivationConditions::from_value(
            &json!({"Conditions": [{"ConditionType": "ModerationLabelConfidenceCheck",
            "ConditionParameters": {"ModerationLabelName": "*", "ConfidenceLessThan": 50}}]}),
        )
        .unwrap();
        let cases = [
            (json!({"Labels": []}), "item has no ModerationLabels (expected DetectModerationLabels output)"),
            (
                json!({"ModerationLabels": {"Name": "x"}}),
                "item ModerationLabels is an object with 1 key, not a list (expected DetectModerationLabels output)",
            ),
            (json!([1, 2]), "item has no ModerationLabels (expected DetectModerationLabels output)"),
            (json!({"ModerationLabels": [{"Name": "x"}]}), "item ModerationLabels[0] has no Confidence"),
            (
                json!({"ModerationLabels": [{"Name": "x", "Confidence": 10}, {"Name": "y", "Confidence": "low"}]}),
                "item ModerationLabels[1].Confidence is a string of 3 characters, not a number",
            ),
            (json!({"ModerationLabels": [{"Confidence": 10}]}), "item ModerationLabels[0] has no Name"),
        ];
        for (item, message) in cases {
            assert_eq!(
                c.evaluate(&item),
                Err(EvaluationError {
                    path: "Conditions[0]".into(),
                    message: message.into()
                })
            );
        }
    }

    #[test]
    fn rejects_a_check_without_any_comparison() {
        let err = ActivationConditions::from_value(
            &json!({"Conditions": [{"ConditionType": "ModerationLabelConfidenceCheck",
            "ConditionParameters": {"ModerationLabelName": "Suggestive"}}]}),
        )
        .unwrap_err();
        assert_eq!(err.path, "Conditions[0].ConditionParameters");
        assert_eq!(
            err.message,
            "no comparison given: ModerationLabelConfidenceCheck needs at least one of ConfidenceEquals, \
             ConfidenceLessThan, ConfidenceLessThanEquals, ConfidenceGreaterThan, ConfidenceGreaterThanEquals"
        );
    }

    #[test]
    fn rejects_a_missing_label_name_and_a_confidence_over_100() {
        let err = ActivationConditions::from_value(
            &json!({"Conditions": [{"ConditionType": "ModerationLabelConfidenceCheck",
            "ConditionParameters": {"ConfidenceLessThan": 50}}]}),
        )
        .unwrap_err();
        assert_eq!(
            err.path,
            "Conditions[0].ConditionParameters.ModerationLabelName"
        );
        let err = ActivationConditions::from_value(
            &json!({"Conditions": [{"ConditionType": "ModerationLabelConfidenceCheck",
            "ConditionParameters": {"ModerationLabelName": "*", "ConfidenceGreaterThan": 150}}]}),
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "150 is out of range: ConfidenceGreaterThan must be from 0 to 100"
        );
    }

    #[test]
    fn parameter_list_names_every_comparison() {
        for op in crate::compare::Op::ALL {
            assert!(super::PARAMS.contains(&format!("Confidence{}", op.suffix()).as_str()));
        }
    }
}
