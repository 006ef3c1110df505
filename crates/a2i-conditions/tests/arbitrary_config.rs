//! Properties over arbitrary configuration, the proptest counterparts of the fuzz targets
//! `json_path` and `condition_document` (bounded case counts, so CI runs them):
//!
//! 1. The bounded JSONPath parser answers for any text built from JSONPath's own tokens,
//!    nested or not: no panic, no stack overflow (the test thread has a small stack), and it
//!    accepts exactly what serde_json_path accepts, unless a limit refused it first.
//! 2. The condition-document parser answers for any document near the real shape, and the
//!    text and `Value` entry points agree.

use a2i_conditions::{
    parse_json_path, ActivationConditions, JsonPathError, MAX_JSON_PATH_FILTER_NESTING,
    MAX_JSON_PATH_NESTING,
};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Text made of JSONPath tokens, so the parser's deeper rules are reached.
fn json_path_text() -> impl Strategy<Value = String> {
    const TOKENS: &[&str] = &[
        "$", "@", "[", "]", "(", ")", "[?", "$[?", "@[?", ".", "..", "*", "'a'", "\"b[\"", "1",
        "-1", ",", ":", " == ", " < ", " && ", " || ", "!", "length(", "count(", "match(",
        "value(", "a", "label", "true", "null",
    ];
    // `select` rather than a 31-arm union: far cheaper to generate.
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|tokens| tokens.concat())
}

/// Deeply nested but well-formed queries: filters and parentheses around a test.
fn nested_json_path() -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(2u8)], 0..24).prop_map(|layers| {
        let mut inner = "@.a < 1".to_string();
        for layer in layers {
            inner = match layer {
                0 => format!("({inner})"),
                1 => format!("@.b[?{inner}]"),
                _ => format!("!({inner}) || @.c"),
            };
        }
        format!("$[?{inner}]")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn the_json_path_parser_answers_any_token_soup(text in json_path_text()) {
        check_json_path(&text)?;
    }

    #[test]
    fn the_json_path_parser_answers_any_nesting(text in nested_json_path()) {
        check_json_path(&text)?;
    }
}

fn check_json_path(text: &str) -> Result<(), TestCaseError> {
    match parse_json_path(text) {
        Ok(_) => prop_assert!(serde_json_path::JsonPath::parse(text).is_ok()),
        Err(JsonPathError::Invalid(_)) => {
            prop_assert!(serde_json_path::JsonPath::parse(text).is_err())
        }
        Err(JsonPathError::TooDeep { depth, .. }) => {
            prop_assert_eq!(depth, MAX_JSON_PATH_NESTING + 1)
        }
        Err(JsonPathError::TooManyNestedFilters { depth, .. }) => {
            prop_assert_eq!(depth, MAX_JSON_PATH_FILTER_NESTING + 1)
        }
        Err(JsonPathError::TooLong { .. }) => prop_assert!(false, "token soup stays short"),
    }
    Ok(())
}

/// A condition near the real shape: a known or misspelt type, parameters of several kinds.
fn condition() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        Just(json!("Sampling")),
        Just(json!("ModerationLabelConfidenceCheck")),
        Just(json!("ImportantFormKeyConfidenceCheck")),
        Just(json!("MissingImportantFormKey")),
        Just(json!("PredictionConfidenceCheck")),
        Just(json!("JsonPathCheck")),
        Just(json!("Samplng")),
        Just(json!(7)),
    ];
    let param_name = prop_oneof![
        Just("RandomSamplingPercentage"),
        Just("ModerationLabelName"),
        Just("ConfidenceLessThan"),
        Just("ConfidenceGreaterThanEquals"),
        Just("ImportantFormKey"),
        Just("ImportantFormKeyAliases"),
        Just("KeyValueBlockConfidenceLessThan"),
        Just("WordBlockConfidenceLessThan"),
        Just("PredictionsPath"),
        Just("LabelName"),
        Just("TopPredictionOnly"),
        Just("Path"),
        Just("Exists"),
        Just("Equals"),
        Just("In"),
        Just("Match"),
        Just("ConfidenceLessThanOrEqual"),
    ];
    let param_value = prop_oneof![
        (-10.0..120.0f64).prop_map(|x| json!(x)),
        Just(json!(50)),
        Just(json!("*")),
        Just(json!("Name")),
        Just(json!("")),
        Just(json!("$.predictions")),
        Just(json!("$[?@.a[?@.b[?@.c[?@.d[?@.e]]]]]")),
        Just(json!("All")),
        Just(json!(true)),
        Just(json!(["a", "b"])),
        Just(json!([1, [2, [3]]])),
        Just(json!(null)),
        Just(json!({"x": 1})),
    ];
    (
        name,
        prop::collection::btree_map(param_name, param_value, 0..5),
        any::<bool>(),
    )
        .prop_map(|(name, params, with_params)| {
            let mut node = json!({"ConditionType": name});
            if with_params {
                node["ConditionParameters"] = json!(params);
            }
            node
        })
}

/// A valid condition of each type.
fn valid_condition() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(
            json!({"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 5}})
        ),
        Just(
            json!({"ConditionType": "MissingImportantFormKey", "ConditionParameters": {"ImportantFormKey": "Name"}})
        ),
        Just(json!({"ConditionType": "ModerationLabelConfidenceCheck",
            "ConditionParameters": {"ModerationLabelName": "*", "ConfidenceGreaterThan": 50}})),
        Just(json!({"ConditionType": "PredictionConfidenceCheck",
            "ConditionParameters": {"LabelName": "*", "ConfidenceLessThan": 0.5}})),
        Just(
            json!({"ConditionType": "JsonPathCheck", "ConditionParameters": {"Path": "$.a", "Exists": true}})
        ),
    ]
}

fn node() -> impl Strategy<Value = Value> {
    prop_oneof![3 => valid_condition(), 1 => condition()].prop_recursive(3, 12, 3, |inner| {
        (
            prop_oneof![Just("And"), Just("Or"), Just("and")],
            prop::collection::vec(inner, 0..4),
        )
            .prop_map(|(junction, members)| json!({ junction: members }))
    })
}

fn document() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => prop::collection::vec(node(), 0..4).prop_map(|nodes| json!({"Conditions": nodes})),
        1 => node(),
        1 => Just(json!([])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn the_document_parser_answers_and_both_entry_points_agree(doc in document()) {
        let text = doc.to_string();
        let from_text = ActivationConditions::parse(&text);
        let from_value = ActivationConditions::from_value(&doc);
        prop_assert_eq!(
            from_text.as_ref().map(|_| ()).map_err(|e| e.path.clone()),
            from_value.as_ref().map(|_| ()).map_err(|e| e.path.clone())
        );
        if let Err(e) = from_text {
            prop_assert!(!e.message.is_empty());
        }
    }
}

#[test]
fn the_document_generator_reaches_valid_and_invalid_documents() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut valid, mut paths) = (0, std::collections::BTreeSet::new());
    for _ in 0..3000 {
        let doc = document().new_tree(&mut runner).expect("a tree").current();
        match ActivationConditions::from_value(&doc) {
            Ok(_) => valid += 1,
            Err(e) => {
                paths.insert(e.path);
            }
        }
    }
    assert!(valid >= 10, "only {valid} valid documents");
    assert!(
        paths.len() >= 30,
        "only {} distinct error paths",
        paths.len()
    );
}
