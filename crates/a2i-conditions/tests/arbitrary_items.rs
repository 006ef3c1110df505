//! Properties over arbitrary items, built to reach the readers' error paths: mostly
//! well-formed Textract, Rekognition and prediction outputs with fields swapped for wrong
//! types at random, both field spellings, and junk.
//!
//! 1. Item content never reaches an error message: every string of the generated items
//!    (texts, ids, labels, keys of objects, wrong-typed values) carries a marker, every number
//!    that is not a plausible confidence carries a marker number, and no error of any
//!    condition type may show either, on the `Value` path or the raw-bytes path.
//! 2. The raw-bytes path (lean for Textract documents) decides exactly as the `Value` path:
//!    same flag, reasons, results and errors.

use a2i_conditions::{ActivationConditions, SliceError};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const MARKER: &str = "ZQXMARK";
/// A number no message has reason to print (no index, count or bound is this large).
const MARKER_NUMBER: f64 = 97_531.25;
const MARKER_DIGITS: &str = "97531";

/// Documents covering every condition type that reads the item.
fn documents() -> Vec<ActivationConditions> {
    [
        json!({"Conditions": [{"ConditionType": "ImportantFormKeyConfidenceCheck", "ConditionParameters": {
            "ImportantFormKey": "*", "KeyValueBlockConfidenceLessThanEquals": 100}}]}),
        json!({"Conditions": [{"ConditionType": "ImportantFormKeyConfidenceCheck", "ConditionParameters": {
            "ImportantFormKey": "*", "WordBlockConfidenceLessThanEquals": 100}}]}),
        json!({"Conditions": [{"ConditionType": "MissingImportantFormKey", "ConditionParameters": {
            "ImportantFormKey": "Name", "ImportantFormKeyAliases": ["Full name"]}}]}),
        json!({"Conditions": [{"ConditionType": "ModerationLabelConfidenceCheck", "ConditionParameters": {
            "ModerationLabelName": "*", "ConfidenceGreaterThan": 0}}]}),
        json!({"Conditions": [{"ConditionType": "PredictionConfidenceCheck", "ConditionParameters": {
            "LabelName": "*", "TopPredictionOnly": true, "ConfidenceLessThan": 2}}]}),
        json!({"Conditions": [{"ConditionType": "PredictionConfidenceCheck", "ConditionParameters": {
            "PredictionsPath": "$..Classes", "LabelField": "Name", "ConfidenceField": "Score",
            "LabelName": "*", "ConfidenceLessThan": 2}}]}),
        json!({"Conditions": [{"Or": [
            {"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 50}},
            {"ConditionType": "JsonPathCheck", "ConditionParameters": {"Path": "$..Text", "Equals": "x"}},
            {"And": [
                {"ConditionType": "JsonPathCheck", "ConditionParameters": {"Path": "$..*", "Exists": true}},
                {"ConditionType": "MissingImportantFormKey", "ConditionParameters": {"ImportantFormKey": "*"}}
            ]}
        ]}]}),
    ]
    .into_iter()
    .map(|doc| ActivationConditions::from_value(&doc).expect("the test documents are valid"))
    .collect()
}

fn marked() -> impl Strategy<Value = String> {
    "[a-z :]{0,6}".prop_map(|s| format!("{s}{MARKER}{s}"))
}

/// Any JSON value whose strings, keys and non-trivial numbers all carry a marker.
fn marked_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        Just(json!(MARKER_NUMBER)),
        marked().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((marked(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A field value: usually of the right kind, sometimes anything at all.
fn or_garbage(good: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    or_junk(9, good)
}

/// A field value: `odds` to 1 of the right kind.
fn or_junk(odds: u32, good: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    prop_oneof![odds => good, 1 => marked_value()].boxed()
}

fn confidence() -> BoxedStrategy<Value> {
    confidence_with(9)
}

fn confidence_with(odds: u32) -> BoxedStrategy<Value> {
    or_junk(
        odds,
        prop_oneof![8 => (0.0..100.0f64).prop_map(|c| json!(c)), 1 => Just(Value::Null)],
    )
}

fn id(n: usize) -> String {
    format!("{MARKER}-{n}")
}

fn block(odds: u32) -> impl Strategy<Value = Value> {
    let or_garbage = move |good: BoxedStrategy<Value>| or_junk(odds, good);
    let ids = || {
        prop::collection::vec(0..6usize, 0..4)
            .prop_map(|v| json!(v.into_iter().map(id).collect::<Vec<_>>()))
    };
    let relationship = (
        or_garbage(
            prop_oneof![
                Just(json!("CHILD")),
                Just(json!("VALUE")),
                marked().prop_map(Value::String)
            ]
            .boxed(),
        ),
        or_garbage(ids().boxed()),
    )
        .prop_map(|(t, ids)| json!({"Type": t, "Ids": ids}));
    (
        0..6usize,
        or_garbage(
            prop_oneof![
                Just(json!("KEY_VALUE_SET")),
                Just(json!("WORD")),
                Just(json!("SELECTION_ELEMENT")),
                Just(json!("LINE"))
            ]
            .boxed(),
        ),
        or_garbage(prop_oneof![Just(json!(["KEY"])), Just(json!(["VALUE"]))].boxed()),
        confidence_with(odds),
        or_garbage(marked().prop_map(Value::String).boxed()),
        or_garbage(prop_oneof![Just(json!(1)), Just(json!(2))].boxed()),
        or_garbage(
            prop::collection::vec(relationship, 0..3)
                .prop_map(Value::Array)
                .boxed(),
        ),
        0..3u8,
    )
        .prop_map(|(n, block_type, entity, conf, text, page, rel, spelling)| {
            let camel = spelling == 1;
            let names: [&str; 8] = if camel {
                [
                    "id",
                    "blockType",
                    "entityTypes",
                    "confidence",
                    "text",
                    "page",
                    "relationships",
                    "selectionStatus",
                ]
            } else {
                [
                    "Id",
                    "BlockType",
                    "EntityTypes",
                    "Confidence",
                    "Text",
                    "Page",
                    "Relationships",
                    "SelectionStatus",
                ]
            };
            let mut b = Map::new();
            b.insert(names[0].into(), json!(id(n)));
            b.insert(names[1].into(), block_type);
            b.insert(names[2].into(), entity);
            b.insert(names[3].into(), conf);
            b.insert(names[4].into(), text.clone());
            b.insert(names[5].into(), page);
            b.insert(names[6].into(), rel);
            b.insert(names[7].into(), text);
            b.insert(
                "Geometry".into(),
                json!({"BoundingBox": {"Width": MARKER_NUMBER}, MARKER: MARKER}),
            );
            if spelling == 2 {
                // Both spellings: the API's must win, even when it is null.
                b.insert("blockType".into(), json!("WORD"));
                b.insert("entityTypes".into(), json!(["KEY"]));
                b.insert("confidence".into(), Value::Null);
                b.insert("text".into(), json!(format!("other {MARKER}")));
                b.insert("relationships".into(), json!([]));
            }
            Value::Object(b)
        })
}

fn textract_item() -> impl Strategy<Value = Value> {
    textract_item_with(9)
}

/// Textract responses whose fields are of the right kind `odds` to 1.
fn textract_item_with(odds: u32) -> impl Strategy<Value = Value> {
    let response = or_junk(
        odds,
        prop::collection::vec(block(odds), 0..8)
            .prop_map(|blocks| json!({"Blocks": blocks, "NextToken": MARKER})),
    );
    prop_oneof![
        response.clone(),
        prop::collection::vec(response, 0..3).prop_map(Value::Array),
    ]
}

fn rekognition_item() -> impl Strategy<Value = Value> {
    let label = or_garbage(
        (or_garbage(marked().prop_map(Value::String)), confidence())
            .prop_map(|(name, c)| json!({"Name": name, "Confidence": c, "ParentName": MARKER})),
    );
    or_garbage(prop::collection::vec(label, 0..4).prop_map(Value::Array))
        .prop_map(|labels| json!({"ModerationLabels": labels, "ModerationModelVersion": MARKER}))
}

fn prediction_item() -> impl Strategy<Value = Value> {
    let prediction = or_garbage(
        (
            or_garbage(prop_oneof![
                marked().prop_map(Value::String),
                Just(json!(3))
            ]),
            or_garbage((0.0..1.0f64).prop_map(|c| json!(c))),
            any::<bool>(),
        )
            .prop_map(|(label, c, comprehend)| {
                if comprehend {
                    json!({"Name": label, "Score": c})
                } else {
                    json!({"label": label, "confidence": c})
                }
            }),
    );
    or_garbage(prop::collection::vec(prediction, 0..4).prop_map(Value::Array))
        .prop_map(|list| json!({"predictions": list.clone(), "Classes": list, "text": MARKER}))
}

fn any_item() -> impl Strategy<Value = Value> {
    prop_oneof![
        textract_item(),
        rekognition_item(),
        prediction_item(),
        marked_value()
    ]
}

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(MARKER) && !text.contains(MARKER_DIGITS),
        "{what} carries item content: {text}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_evaluation_error_shows_a_value_of_the_item(item in any_item()) {
        let bytes = serde_json::to_vec(&item).expect("a Value always serializes");
        for conditions in documents() {
            if let Err(e) = conditions.evaluate(&item) {
                assert_clean("an EvaluationError", &e.to_string());
            }
            if let Err(e) = conditions.evaluate_slice(&bytes) {
                assert_clean("an error of the bytes path", &e.to_string());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_bytes_path_decides_as_the_value_path(
        item in prop_oneof![textract_item_with(200), textract_item_with(30), textract_item()]
    ) {
        let bytes = serde_json::to_vec(&item).expect("a Value always serializes");
        // The item as the bytes read back: printing and re-reading a float may move it by
        // one unit in the last place (serde_json without `float_roundtrip`), on both paths.
        let item: Value = serde_json::from_slice(&bytes).expect("printed JSON reads back");
        for conditions in &documents()[..3] {
            assert!(conditions.reads_only_form_pairs());
            let by_value = conditions.evaluate(&item).map_err(SliceError::Evaluation);
            prop_assert_eq!(conditions.evaluate_slice(&bytes), by_value);
        }
    }
}

#[test]
fn bytes_that_are_not_json_are_named_by_position() {
    for conditions in documents() {
        let err = conditions
            .evaluate_slice(format!("{{\"Blocks\": [{MARKER}").as_bytes())
            .unwrap_err();
        assert!(matches!(err, SliceError::NotJson(_)), "{err}");
        assert_clean("a NotJson error", &err.to_string());
        assert!(err.to_string().contains("line 1 column"), "{err}");
    }
}

#[test]
fn the_generators_reach_the_error_paths() {
    // Without this, a generator that never produced a readable item would make the property
    // above hold vacuously: count distinct error messages (digits blanked out).
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut messages = std::collections::BTreeSet::new();
    let mut oks = 0;
    for _ in 0..2000 {
        let item = any_item().new_tree(&mut runner).expect("a tree").current();
        for conditions in documents() {
            match conditions.evaluate(&item) {
                Ok(_) => oks += 1,
                Err(e) => {
                    let shape: String = e
                        .message
                        .chars()
                        .map(|c| if c.is_ascii_digit() { '#' } else { c })
                        .collect();
                    messages.insert(shape);
                }
            }
        }
    }
    assert!(oks > 500, "only {oks} successful evaluations");
    assert!(
        messages.len() >= 60,
        "only {} distinct errors: {messages:#?}",
        messages.len()
    );
}

#[test]
fn a_wrong_typed_confidence_is_named_by_type_and_size() {
    // The case that reached the logs before: a confidence that is a string.
    let c = &documents()[3];
    let item =
        json!({"ModerationLabels": [{"Name": "Swimwear", "Confidence": format!("abc{MARKER}")}]});
    let e = c.evaluate(&item).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Conditions[0]: item ModerationLabels[0].Confidence is a string of 10 characters, not a number"
    );
}
