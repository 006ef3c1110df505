//! The activation evaluation of the built-in path agrees node by node with A2I's own.
//!
//! A built-in loop's output.json carries A2I's evaluation of the flow definition's conditions
//! (`humanTaskActivationConditionResults`: the condition tree with an `EvaluationResult` on
//! every node) next to the model answer it judged (`aiServiceResponse`, camelCase). Removing
//! the `EvaluationResult` members gives back the flow definition's conditions; a2i-local's
//! built-in activation ([`a2i_local::evaluate_builtin_activation`]) evaluates them on the
//! answer — as A2I stored it (camelCase) and as the API returns it (PascalCase) — and every
//! node must get A2I's result. What reviewers are asked about (`selectedAiServiceResponse`)
//! must be the same blocks too.
//!
//! Two documents: the project's own fixture with the traits of the real file
//! (tests/fixtures/builtin-textract-output.json at the repository root), and the real
//! Textract built-in output.json among the shared reference samples, read by path when it is
//! there (never copied into the repository; set `A2I_REVIEW_SAMPLES` to its folder, or keep
//! the shared folder next to, or one above, the checkout).

use std::path::PathBuf;

use a2i_local::{builtin_selected_response, evaluate_builtin_activation, BuiltinService};
use serde_json::{Map, Value};

const REAL_SAMPLE: &str =
    "a2i-output--aws-samples--amazon-textract-response-parser--a2i-response.json";

/// The repository root (two levels above this crate).
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The value without its `EvaluationResult` members: the flow definition's conditions.
fn strip_results(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != "EvaluationResult")
                .map(|(k, v)| (k.clone(), strip_results(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_results).collect()),
        other => other.clone(),
    }
}

/// The value with every key's first letter upper-cased: the API's shape of a stored answer.
fn pascal_case(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key: String = match chars.next() {
                        Some(first) => first.to_uppercase().chain(chars).collect(),
                        None => String::new(),
                    };
                    (key, pascal_case(v))
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(pascal_case).collect()),
        other => other.clone(),
    }
}

/// Asserts that `got` has A2I's `EvaluationResult` on every node of `expected`, with the same
/// tree; returns how many nodes were compared.
fn agree(expected: &Value, got: &Value, path: &str) -> usize {
    match (expected, got) {
        (Value::Object(e), Value::Object(g)) => {
            let mut nodes = 0;
            if let Some(result) = e.get("EvaluationResult") {
                assert!(result.is_boolean(), "{path}: A2I's result is a boolean");
                assert_eq!(
                    g.get("EvaluationResult"),
                    Some(result),
                    "{path}: a2i-local disagrees with A2I ({})",
                    e.get("ConditionType")
                        .and_then(Value::as_str)
                        .unwrap_or("group")
                );
                nodes += 1;
            }
            assert_eq!(
                e.get("ConditionParameters"),
                g.get("ConditionParameters"),
                "{path}"
            );
            for member in ["Conditions", "Or", "And"] {
                match (e.get(member), g.get(member)) {
                    (None, None) => {}
                    (Some(Value::Array(e)), Some(Value::Array(g))) => {
                        assert_eq!(e.len(), g.len(), "{path}.{member}");
                        for (i, (e, g)) in e.iter().zip(g).enumerate() {
                            nodes += agree(e, g, &format!("{path}.{member}[{i}]"));
                        }
                    }
                    other => panic!("{path}.{member}: different trees: {other:?}"),
                }
            }
            nodes
        }
        _ => panic!("{path}: expected objects"),
    }
}

/// The block ids of a `{blocks: […]}` / `{Blocks: […]}` answer, sorted.
fn block_ids(answer: &Value) -> Vec<String> {
    let blocks = answer
        .get("blocks")
        .or_else(|| answer.get("Blocks"))
        .and_then(Value::as_array)
        .expect("blocks");
    let mut ids: Vec<String> = blocks
        .iter()
        .map(|b| {
            b.get("id")
                .or_else(|| b.get("Id"))
                .and_then(Value::as_str)
                .expect("an id")
                .to_owned()
        })
        .collect();
    ids.sort();
    ids
}

/// Checks one built-in Textract output.json; returns the number of nodes compared.
fn check(doc: &Value, label: &str) -> usize {
    let expected = &doc["humanTaskActivationConditionResults"];
    let conditions = strip_results(expected).to_string();
    let camel = &doc["aiServiceResponse"];
    let mut nodes = 0;
    for (shape, response) in [
        ("camelCase", camel.clone()),
        ("PascalCase", pascal_case(camel)),
    ] {
        let activation =
            evaluate_builtin_activation(BuiltinService::Textract, Some(&conditions), &response)
                .unwrap_or_else(|e| panic!("{label} ({shape}): {e}"));
        let got = activation.results.as_ref().expect("an evaluated tree");
        nodes = agree(expected, got, &format!("{label} ({shape})"));
        let any_held = expected["Conditions"]
            .as_array()
            .expect("Conditions")
            .iter()
            .any(|c| c["EvaluationResult"] == Value::Bool(true));
        assert_eq!(activation.activated, any_held, "{label} ({shape})");
        if shape == "PascalCase" {
            // What the reviewers are shown: the same blocks A2I selected.
            let selected =
                builtin_selected_response(BuiltinService::Textract, &response, &activation);
            assert_eq!(
                block_ids(&selected),
                block_ids(&doc["selectedAiServiceResponse"]),
                "{label}: selectedAiServiceResponse"
            );
        }
    }
    nodes
}

#[test]
fn the_fixture_with_the_real_files_traits_agrees_node_by_node() {
    let path = repo_root().join("tests/fixtures/builtin-textract-output.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).expect("the fixture")).unwrap();
    // The traits this fixture exists for, checked so that an edit cannot lose them: an Or of
    // six leaves, both condition types, both outcomes, a missing key.
    let or = doc["humanTaskActivationConditionResults"]["Conditions"][0]["Or"]
        .as_array()
        .unwrap();
    assert_eq!(or.len(), 6);
    let outcomes: Vec<(&str, bool)> = or
        .iter()
        .map(|l| {
            (
                l["ConditionType"].as_str().unwrap(),
                l["EvaluationResult"].as_bool().unwrap(),
            )
        })
        .collect();
    for wanted in [
        ("ImportantFormKeyConfidenceCheck", true),
        ("ImportantFormKeyConfidenceCheck", false),
        ("MissingImportantFormKey", true),
        ("MissingImportantFormKey", false),
    ] {
        assert!(outcomes.contains(&wanted), "{wanted:?} in {outcomes:?}");
    }
    assert_eq!(check(&doc, "fixture"), 7);
}

#[test]
fn the_real_textract_built_in_output_agrees_node_by_node() {
    let candidates: Vec<PathBuf> = std::env::var_os("A2I_REVIEW_SAMPLES")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            repo_root().join("../shared/samples"),
            repo_root().join("../../shared/samples"),
        ])
        .map(|dir| dir.join(REAL_SAMPLE))
        .collect();
    let Some(path) = candidates.iter().find(|p| p.is_file()) else {
        println!(
            "note: the real sample {REAL_SAMPLE} is not here (looked at {candidates:?}); \
             only the fixture was checked"
        );
        return;
    };
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(
        doc["awsManagedHumanLoopRequestSource"],
        "AWS/Textract/AnalyzeDocument/Forms/V1"
    );
    // Conditions[0] and its Or of six leaves.
    assert_eq!(check(&doc, "real sample"), 7);
}
