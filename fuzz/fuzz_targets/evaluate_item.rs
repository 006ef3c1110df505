//! Evaluation of arbitrary items (as JSON bytes) against a fixed set of documents covering
//! every condition type: no panic, no hang, and the bytes path (lean for Textract-only
//! documents) decides exactly as the `Value` path.
#![no_main]

use std::sync::OnceLock;

use a2i_conditions::{ActivationConditions, SliceError};
use libfuzzer_sys::fuzz_target;

fn documents() -> &'static [ActivationConditions] {
    static DOCUMENTS: OnceLock<Vec<ActivationConditions>> = OnceLock::new();
    DOCUMENTS.get_or_init(|| {
        [
            r#"{"Conditions": [{"ConditionType": "ImportantFormKeyConfidenceCheck", "ConditionParameters": {
                "ImportantFormKey": "*", "KeyValueBlockConfidenceLessThan": 60, "WordBlockConfidenceLessThan": 80}}]}"#,
            r#"{"Conditions": [{"Or": [
                {"ConditionType": "MissingImportantFormKey", "ConditionParameters": {"ImportantFormKey": "Name", "ImportantFormKeyAliases": ["Full name"]}},
                {"ConditionType": "ImportantFormKeyConfidenceCheck", "ConditionParameters": {"ImportantFormKey": "Name", "KeyValueBlockConfidenceLessThan": 99}}]}]}"#,
            r#"{"Conditions": [{"ConditionType": "ModerationLabelConfidenceCheck", "ConditionParameters": {
                "ModerationLabelName": "*", "ConfidenceGreaterThanEquals": 50}}]}"#,
            r#"{"Conditions": [{"ConditionType": "PredictionConfidenceCheck", "ConditionParameters": {
                "PredictionsPath": "$..Classes", "LabelField": "Name", "ConfidenceField": "Score", "LabelName": "*",
                "TopPredictionOnly": true, "ConfidenceLessThan": 0.5}}]}"#,
            r#"{"Conditions": [{"And": [
                {"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 50}},
                {"ConditionType": "JsonPathCheck", "ConditionParameters": {"Path": "$..[?@.confidence < 0.5].label", "In": ["a", 1]}}]}]}"#,
        ]
        .iter()
        .map(|doc| ActivationConditions::parse(doc).expect("the fuzz documents are valid"))
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let value = serde_json::from_slice::<serde_json::Value>(data);
    for conditions in documents() {
        let by_bytes = conditions.evaluate_slice(data);
        match &value {
            Ok(item) => {
                let by_value = conditions.evaluate(item).map_err(SliceError::Evaluation);
                assert_eq!(by_bytes, by_value);
            }
            Err(_) => assert!(matches!(by_bytes, Err(SliceError::NotJson(_)))),
        }
    }
});
