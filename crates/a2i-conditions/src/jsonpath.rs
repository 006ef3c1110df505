//! `JsonPathCheck` (ours): a test on the nodes an RFC 9535 JSONPath selects, for item shapes
//! no other condition type knows.
//!
//! Selecting no node is not an error: the check is simply false (`Exists: false` is then
//! true). With `Match: "All"`, zero selected nodes is false too, so an absent field never
//! passes a test vacuously.

use serde_json::Value;
use serde_json_path::JsonPath;

use super::compare::Op;
use super::error::ConditionError;
use super::json::{describe, quote_config};
use super::params::Params;

/// The condition type's name.
pub(crate) const TYPE: &str = "JsonPathCheck";
/// Its parameters.
pub(crate) const PARAMS: &[&str] = &[
    "Path",
    "Exists",
    "Equals",
    "NotEquals",
    "LessThan",
    "LessThanEquals",
    "GreaterThan",
    "GreaterThanEquals",
    "In",
    "Match",
];
/// The parameters that are tests; exactly one must be given.
const TESTS: &[&str] = &[
    "Exists",
    "Equals",
    "NotEquals",
    "LessThan",
    "LessThanEquals",
    "GreaterThan",
    "GreaterThanEquals",
    "In",
];

/// A parsed `JsonPathCheck`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonPathCheck {
    path: JsonPath,
    path_text: String,
    test: Test,
    all: bool,
}

/// What is asked of the selected nodes.
#[derive(Debug, Clone, PartialEq)]
enum Test {
    Exists(bool),
    Equals(Value),
    NotEquals(Value),
    Compare(Op, f64),
    In(Vec<Value>),
}

impl Test {
    fn holds(&self, node: &Value) -> bool {
        match self {
            Test::Exists(_) => true,
            Test::Equals(wanted) => json_equal(node, wanted),
            Test::NotEquals(unwanted) => !json_equal(node, unwanted),
            Test::Compare(op, bound) => node.as_f64().is_some_and(|x| op.holds(x, *bound)),
            Test::In(values) => values.iter().any(|v| json_equal(node, v)),
        }
    }

    /// The test in words, completing "a node at $.x …" (singular) or "all nodes …" (plural).
    fn describe(&self, plural: bool) -> String {
        let (equal, is) = if plural {
            ("equal", "are")
        } else {
            ("equals", "is")
        };
        match self {
            Test::Exists(_) => String::new(),
            Test::Equals(v) => format!("{equal} {}", quote_config(v)),
            Test::NotEquals(v) => format!("{is} not {}", quote_config(v)),
            Test::Compare(op, bound) => format!("{is} {} {bound}", op.symbol()),
            Test::In(values) => format!("{is} in {}", quote_config(&Value::Array(values.clone()))),
        }
    }
}

impl JsonPathCheck {
    /// Reads `Path`, exactly one test, and `Match` (`Any` by default).
    pub(crate) fn parse(params: &Params) -> Result<Self, ConditionError> {
        let (path, path_text) = params.json_path("Path")?.ok_or_else(|| {
            params.error(
                "Path",
                format!("missing: {TYPE} requires Path (an RFC 9535 JSONPath)"),
            )
        })?;
        let mut given = read_tests(params)?;
        let test = match given.len() {
            0 => {
                return Err(params.error_here(format!(
                    "no test given: {TYPE} needs exactly one of {}",
                    TESTS.join(", ")
                )))
            }
            1 => given.remove(0).1,
            _ => {
                return Err(params.error_here(format!(
                    "{} and {} both given: {TYPE} takes exactly one test",
                    given[0].0, given[1].0
                )))
            }
        };
        let all = match params.string("Match")? {
            None | Some("Any") => false,
            Some("All") => true,
            Some(other) => {
                return Err(params.error(
                    "Match",
                    format!(
                        r#"{} is not a match mode: Match must be "Any" or "All""#,
                        quote_config(&Value::from(other))
                    ),
                ))
            }
        };
        if all && matches!(test, Test::Exists(_)) {
            return Err(params.error(
                "Match",
                "Match has no meaning with Exists, which already speaks of all selected nodes"
                    .to_string(),
            ));
        }
        Ok(Self {
            path,
            path_text: path_text.to_string(),
            test,
            all,
        })
    }

    /// The reason when the test holds for any (or, with `Match: "All"`, every) selected node.
    pub(crate) fn check(&self, item: &Value) -> Option<String> {
        let nodes = self.path.query(item).all();
        let path = &self.path_text;
        let reason = match &self.test {
            Test::Exists(true) if !nodes.is_empty() => {
                format!("{path} selects {}", count(nodes.len()))
            }
            Test::Exists(false) if nodes.is_empty() => format!("{path} selects nothing"),
            Test::Exists(_) => return None,
            test if self.all => {
                if nodes.is_empty() || !nodes.iter().all(|n| test.holds(n)) {
                    return None;
                }
                format!(
                    "all {} at {path} {}",
                    count(nodes.len()),
                    test.describe(true)
                )
            }
            test => {
                let held = nodes.iter().filter(|n| test.holds(n)).count();
                if held == 0 {
                    return None;
                }
                format!(
                    "{held} of {} at {path} {}",
                    count(nodes.len()),
                    test.describe(held > 1)
                )
            }
        };
        Some(format!("{TYPE}: {reason}"))
    }
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 node".to_string()
    } else {
        format!("{n} nodes")
    }
}

/// Every test given, in the order of [`TESTS`], each checked for its type.
fn read_tests(params: &Params) -> Result<Vec<(&'static str, Test)>, ConditionError> {
    let mut tests = Vec::new();
    if let Some(wanted) = params.bool("Exists")? {
        tests.push(("Exists", Test::Exists(wanted)));
    }
    if let Some(v) = params.get("Equals") {
        tests.push(("Equals", Test::Equals(v.clone())));
    }
    if let Some(v) = params.get("NotEquals") {
        tests.push(("NotEquals", Test::NotEquals(v.clone())));
    }
    for op in [
        Op::LessThan,
        Op::LessThanEquals,
        Op::GreaterThan,
        Op::GreaterThanEquals,
    ] {
        if let Some(bound) = params.number(op.suffix(), None)? {
            tests.push((op.suffix(), Test::Compare(op, bound)));
        }
    }
    match params.get("In") {
        None => {}
        Some(Value::Array(values)) if !values.is_empty() => {
            tests.push(("In", Test::In(values.clone())))
        }
        Some(other) => {
            return Err(params.error(
                "In",
                format!(
                    "In is {}: it must be a non-empty list of values",
                    describe(other)
                ),
            ));
        }
    }
    Ok(tests)
}

/// JSON equality with numbers compared by value (`1` equals `1.0`), at every depth.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            x.as_f64() == y.as_f64()
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ActivationConditions;
    use serde_json::json;

    fn check(params: Value) -> ActivationConditions {
        ActivationConditions::from_value(&json!({"Conditions": [{"ConditionType": "JsonPathCheck", "ConditionParameters": params}]}))
            .unwrap()
    }

    fn reject(params: Value) -> ConditionError {
        ActivationConditions::from_value(&json!({"Conditions": [{"ConditionType": "JsonPathCheck", "ConditionParameters": params}]}))
            .unwrap_err()
    }

    fn flagged(c: &ActivationConditions, item: Value) -> bool {
        c.evaluate(&item).unwrap().flagged
    }

    #[test]
    fn exists_true_needs_a_node_and_false_needs_none() {
        let exists = check(json!({"Path": "$.review.reason", "Exists": true}));
        assert!(flagged(&exists, json!({"review": {"reason": null}})));
        assert!(!flagged(&exists, json!({"review": {}})));
        let absent = check(json!({"Path": "$.label", "Exists": false}));
        assert!(flagged(&absent, json!({"score": 1})));
        assert!(!flagged(&absent, json!({"label": "x"})));
        assert_eq!(
            absent.evaluate(&json!({})).unwrap().reasons,
            vec!["JsonPathCheck: $.label selects nothing"]
        );
    }

    #[test]
    fn equals_matches_any_node_by_default_and_all_with_match_all() {
        let any = check(json!({"Path": "$.items[*].status", "Equals": "REJECTED"}));
        let all = check(json!({"Path": "$.items[*].status", "Equals": "REJECTED", "Match": "All"}));
        let mixed = json!({"items": [{"status": "OK"}, {"status": "REJECTED"}]});
        let rejected = json!({"items": [{"status": "REJECTED"}, {"status": "REJECTED"}]});
        assert!(flagged(&any, mixed.clone()));
        assert!(!flagged(&all, mixed.clone()));
        assert!(flagged(&all, rejected.clone()));
        assert_eq!(
            any.evaluate(&mixed).unwrap().reasons,
            vec![r#"JsonPathCheck: 1 of 2 nodes at $.items[*].status equals "REJECTED""#]
        );
        assert_eq!(
            all.evaluate(&rejected).unwrap().reasons,
            vec![r#"JsonPathCheck: all 2 nodes at $.items[*].status equal "REJECTED""#]
        );
    }

    #[test]
    fn no_selected_node_is_false_for_any_and_all() {
        for mode in ["Any", "All"] {
            let c = check(json!({"Path": "$.missing", "NotEquals": 1, "Match": mode}));
            assert!(!flagged(&c, json!({"present": 1})), "{mode}");
        }
    }

    #[test]
    fn numbers_compare_by_value_and_non_numbers_never_satisfy_an_order() {
        assert!(flagged(
            &check(json!({"Path": "$.n", "Equals": 1})),
            json!({"n": 1.0})
        ));
        assert!(flagged(
            &check(json!({"Path": "$.n", "Equals": {"a": [1.5, 2]}})),
            json!({"n": {"a": [1.5, 2.0]}})
        ));
        let low = check(json!({"Path": "$.scores[*]", "LessThan": 0.5}));
        assert!(flagged(&low, json!({"scores": [0.9, 0.4]})));
        assert!(!flagged(&low, json!({"scores": ["0.1", null, true]})));
        let all_high =
            check(json!({"Path": "$.scores[*]", "GreaterThanEquals": 0.5, "Match": "All"}));
        assert!(!flagged(&all_high, json!({"scores": [0.9, "0.8"]})));
        assert!(flagged(&all_high, json!({"scores": [0.9, 0.5]})));
    }

    #[test]
    fn not_equals_and_in_test_each_node() {
        let not_ok = check(json!({"Path": "$.status", "NotEquals": "OK"}));
        assert!(flagged(&not_ok, json!({"status": "PENDING"})));
        assert!(!flagged(&not_ok, json!({"status": "OK"})));
        let one_of = check(json!({"Path": "$.label", "In": ["fraud", "abuse", 7]}));
        assert!(flagged(&one_of, json!({"label": "abuse"})));
        assert!(flagged(&one_of, json!({"label": 7.0})));
        assert!(!flagged(&one_of, json!({"label": "ok"})));
        assert_eq!(
            one_of.evaluate(&json!({"label": "fraud"})).unwrap().reasons,
            vec![r#"JsonPathCheck: 1 of 1 node at $.label is in ["fraud","abuse",7]"#]
        );
    }

    #[test]
    fn filter_expressions_of_rfc_9535_work() {
        let c = check(json!({"Path": "$.predictions[?@.confidence < 0.5].label", "In": ["fraud"]}));
        assert!(flagged(
            &c,
            json!({"predictions": [{"label": "fraud", "confidence": 0.4}, {"label": "ok", "confidence": 0.6}]})
        ));
        assert!(!flagged(
            &c,
            json!({"predictions": [{"label": "fraud", "confidence": 0.9}]})
        ));
    }

    #[test]
    fn rejects_zero_or_two_tests() {
        let err = reject(json!({"Path": "$.a"}));
        assert_eq!(err.path, "Conditions[0].ConditionParameters");
        assert_eq!(
            err.message,
            "no test given: JsonPathCheck needs exactly one of Exists, Equals, NotEquals, LessThan, LessThanEquals, GreaterThan, GreaterThanEquals, In"
        );
        let err = reject(json!({"Path": "$.a", "Equals": 1, "In": [1]}));
        assert_eq!(
            err.message,
            "Equals and In both given: JsonPathCheck takes exactly one test"
        );
    }

    #[test]
    fn rejects_bad_path_match_and_test_values() {
        let err = reject(json!({"Path": "$.a[?", "Exists": true}));
        assert_eq!(err.path, "Conditions[0].ConditionParameters.Path");
        assert!(
            err.message
                .starts_with("not a valid RFC 9535 JSONPath (at position 5"),
            "{}",
            err.message
        );
        let err = reject(json!({"Exists": true}));
        assert_eq!(err.path, "Conditions[0].ConditionParameters.Path");
        assert_eq!(
            err.message,
            "missing: JsonPathCheck requires Path (an RFC 9535 JSONPath)"
        );
        let err = reject(json!({"Path": "$.a", "Equals": 1, "Match": "all"}));
        assert_eq!(err.path, "Conditions[0].ConditionParameters.Match");
        assert_eq!(
            err.message,
            r#""all" is not a match mode: Match must be "Any" or "All""#
        );
        let err = reject(json!({"Path": "$.a", "Exists": true, "Match": "All"}));
        assert_eq!(err.path, "Conditions[0].ConditionParameters.Match");
        let err = reject(json!({"Path": "$.a", "LessThan": "5"}));
        assert_eq!(
            err.message,
            "LessThan is a string of 1 character: it must be a number"
        );
        let err = reject(json!({"Path": "$.a", "In": []}));
        assert_eq!(
            err.message,
            "In is an empty array: it must be a non-empty list of values"
        );
        let err = reject(json!({"Path": "$.a", "In": "x"}));
        assert_eq!(
            err.message,
            "In is a string of 1 character: it must be a non-empty list of values"
        );
        let err = reject(json!({"Path": "$.a", "Exists": "yes"}));
        assert_eq!(
            err.message,
            "Exists is a string of 3 characters: it must be true or false"
        );
    }
}
