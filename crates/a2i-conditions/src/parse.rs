//! The grammar of a condition document: untrusted JSON turned into a typed tree once, at cold
//! start, with errors that name the offending node by its path.
//!
//! ```text
//! document  = {"Conditions": [node, …]}            one key, at least one node (OR'ed)
//! node      = {"And": [node, node, …]}             exactly that key, at least two members
//!           | {"Or":  [node, node, …]}
//!           | {"ConditionType": "…", "ConditionParameters": {…}}
//! ```
//! `And`/`Or` may nest two levels deep, as A2I allows: a top-level member may be a group whose
//! members may be groups whose members are conditions (`Conditions → Or → And → condition`).

use serde_json::{Map, Value};

use super::error::ConditionError;
use super::json::{describe, quote_config};
use super::jsonpath::{self, JsonPathCheck};
use super::params::Params;
use super::prediction::{self, PredictionCheck};
use super::rekognition::{self, ModerationLabelCheck};
use super::sampling::{self, Sampling};
use super::suggest::closest;
use super::textract::{self, FormKeyConfidenceCheck, MissingFormKeyCheck};

/// How deep groups may sit: a group at depth 0 (a top-level member) or 1 (inside a group).
const MAX_GROUP_DEPTH: usize = 1;

/// The keys a node may have.
const NODE_KEYS: &[&str] = &["And", "Or", "ConditionType", "ConditionParameters"];

/// One node of the condition tree.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// `And` / `Or` over at least two members.
    Group(Junction, Vec<Node>),
    /// A condition of one of the known types.
    Leaf(Box<Leaf>),
}

/// How a group combines its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Junction {
    And,
    Or,
}

impl Junction {
    /// The key that introduces the group in the document.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Junction::And => "And",
            Junction::Or => "Or",
        }
    }
}

/// A condition: its parsed check, plus what evaluation needs to report on it.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    /// Where the leaf sits in the document, e.g. `Conditions[0].Or[1]`.
    pub(crate) path: String,
    /// The leaf object as written, returned annotated with its `EvaluationResult`.
    pub(crate) written: Map<String, Value>,
    /// The typed condition.
    pub(crate) check: Check,
}

/// A typed condition of one of the known types.
#[derive(Debug, Clone)]
pub(crate) enum Check {
    Sampling(Sampling),
    ModerationLabel(ModerationLabelCheck),
    FormKeyConfidence(FormKeyConfidenceCheck),
    MissingFormKey(MissingFormKeyCheck),
    Prediction(PredictionCheck),
    JsonPath(JsonPathCheck),
}

type ParseCheck = fn(&Params) -> Result<Check, ConditionError>;

/// Every condition type: its name, its parameter names, and how to read its parameters.
pub(crate) const CONDITION_TYPES: &[(&str, &[&str], ParseCheck)] = &[
    (sampling::TYPE, sampling::PARAMS, |p| {
        Sampling::parse(p).map(Check::Sampling)
    }),
    (rekognition::TYPE, rekognition::PARAMS, |p| {
        ModerationLabelCheck::parse(p).map(Check::ModerationLabel)
    }),
    (
        textract::CONFIDENCE_TYPE,
        textract::CONFIDENCE_PARAMS,
        |p| FormKeyConfidenceCheck::parse(p).map(Check::FormKeyConfidence),
    ),
    (textract::MISSING_TYPE, textract::MISSING_PARAMS, |p| {
        MissingFormKeyCheck::parse(p).map(Check::MissingFormKey)
    }),
    (prediction::TYPE, prediction::PARAMS, |p| {
        PredictionCheck::parse(p).map(Check::Prediction)
    }),
    (jsonpath::TYPE, jsonpath::PARAMS, |p| {
        JsonPathCheck::parse(p).map(Check::JsonPath)
    }),
];

fn error(path: impl Into<String>, message: String) -> ConditionError {
    ConditionError {
        path: path.into(),
        message,
    }
}

/// Parses a whole document into its top-level nodes.
pub(crate) fn parse_document(doc: &Value) -> Result<Vec<Node>, ConditionError> {
    const SHAPE: &str = r#"a condition document is {"Conditions": [ ... ]}"#;
    let Some(top) = doc.as_object() else {
        return Err(error(
            "$",
            format!("the document is {}: {SHAPE}", describe(doc)),
        ));
    };
    if !top.contains_key("Conditions") && top.keys().any(|k| NODE_KEYS.contains(&k.as_str())) {
        return Err(error(
            "$",
            r#"missing the top-level Conditions list: wrap the condition as {"Conditions": [ { ... } ]}"#.to_string(),
        ));
    }
    if let Some(extra) = top.keys().find(|k| *k != "Conditions") {
        let hint = closest(extra, &["Conditions"])
            .map(|k| format!("; did you mean {k}?"))
            .unwrap_or_default();
        return Err(error(
            extra.as_str(),
            format!("unknown key {extra}{hint} {SHAPE}"),
        ));
    }
    let conditions = match top.get("Conditions") {
        None => return Err(error("$", format!("missing Conditions: {SHAPE}"))),
        Some(Value::Array(list)) if list.is_empty() => {
            return Err(error(
                "Conditions",
                "the list is empty: it must hold at least one condition".into(),
            ))
        }
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(error(
                "Conditions",
                format!(
                    "Conditions is {}: it must be a list of conditions",
                    describe(other)
                ),
            ))
        }
    };
    conditions
        .iter()
        .enumerate()
        .map(|(i, node)| parse_node(node, format!("Conditions[{i}]"), 0))
        .collect()
}

fn parse_node(value: &Value, path: String, depth: usize) -> Result<Node, ConditionError> {
    let Some(obj) = value.as_object() else {
        return Err(error(
            path,
            format!(
                "the node is {}: a node must be an object, either a condition (ConditionType with ConditionParameters) or And/Or",
                describe(value)
            ),
        ));
    };
    if let Some(unknown) = obj.keys().find(|k| !NODE_KEYS.contains(&k.as_str())) {
        let hint = if unknown == "EvaluationResult" {
            " (evaluation writes it; it has no place in a configuration)".to_string()
        } else {
            closest(unknown, NODE_KEYS)
                .map(|k| format!("; did you mean {k}?"))
                .unwrap_or_default()
        };
        return Err(error(
            format!("{path}.{unknown}"),
            format!("unknown key {unknown}{hint}: a node has And, Or, or ConditionType with ConditionParameters"),
        ));
    }
    let groups: Vec<Junction> = [Junction::And, Junction::Or]
        .into_iter()
        .filter(|j| obj.contains_key(j.key()))
        .collect();
    let is_condition = obj.contains_key("ConditionType") || obj.contains_key("ConditionParameters");
    match (groups.as_slice(), is_condition) {
        ([], true) => parse_leaf(obj, path).map(|leaf| Node::Leaf(Box::new(leaf))),
        ([junction], false) => parse_group(obj, *junction, path, depth),
        ([], false) => Err(error(
            path,
            "empty node: expected ConditionType with ConditionParameters, or And/Or".into(),
        )),
        _ => {
            let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            Err(error(
                path,
                format!(
                    "a node is one of And, Or, or a condition (ConditionType with ConditionParameters), found {}",
                    keys.join(" with ")
                ),
            ))
        }
    }
}

fn parse_group(
    obj: &Map<String, Value>,
    junction: Junction,
    path: String,
    depth: usize,
) -> Result<Node, ConditionError> {
    let key = junction.key();
    if depth > MAX_GROUP_DEPTH {
        return Err(error(
            path,
            format!(
                "{key} nested too deeply: A2I allows two levels of nesting (Conditions → Or → And → condition), \
                 so this node must be a condition with ConditionType"
            ),
        ));
    }
    let members_path = format!("{path}.{key}");
    let members = match obj.get(key) {
        Some(Value::Array(members)) if members.len() >= 2 => members,
        Some(Value::Array(members)) => {
            return Err(error(
                members_path,
                format!(
                    "{key} has {} member{}: it needs at least 2 (a single condition goes without {key})",
                    members.len(),
                    if members.len() == 1 { "" } else { "s" }
                ),
            ))
        }
        other => {
            let other = other.unwrap_or(&Value::Null);
            return Err(error(
                members_path,
                format!("{key} is {}: it must be a list of at least 2 conditions", describe(other)),
            ));
        }
    };
    let members = members
        .iter()
        .enumerate()
        .map(|(i, member)| parse_node(member, format!("{members_path}[{i}]"), depth + 1))
        .collect::<Result<_, _>>()?;
    Ok(Node::Group(junction, members))
}

fn parse_leaf(obj: &Map<String, Value>, path: String) -> Result<Leaf, ConditionError> {
    let names: Vec<&str> = CONDITION_TYPES.iter().map(|(name, _, _)| *name).collect();
    let type_path = format!("{path}.ConditionType");
    let type_name = match obj.get("ConditionType") {
        None => {
            return Err(error(
                type_path,
                format!(
                    "missing: every condition needs a ConditionType, one of {}",
                    names.join(", ")
                ),
            ))
        }
        Some(Value::String(name)) => name,
        Some(other) => {
            return Err(error(
                type_path,
                format!("ConditionType is {}: it must be a string", describe(other)),
            ))
        }
    };
    let Some((name, known, parse)) = CONDITION_TYPES
        .iter()
        .find(|(name, _, _)| name == type_name)
    else {
        let hint = closest(type_name, &names)
            .map(|k| format!("; did you mean {k}?"))
            .unwrap_or_default();
        return Err(error(
            type_path,
            format!(
                "unknown condition type {}{hint} Known types: {}",
                quote_config(&Value::from(type_name.as_str())),
                names.join(", ")
            ),
        ));
    };
    let params_path = format!("{path}.ConditionParameters");
    let Some(params) = obj.get("ConditionParameters") else {
        return Err(error(
            params_path,
            format!("missing: {name} requires ConditionParameters (an object)"),
        ));
    };
    let check = parse(&Params::new(params, params_path, name, known)?)?;
    Ok(Leaf {
        path,
        written: obj.clone(),
        check,
    })
}

#[cfg(test)]
mod tests {
    use crate::ActivationConditions;
    use serde_json::{json, Value};

    const SAMPLING: &str =
        r#"{"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 5}}"#;

    fn reject(doc: &str) -> (String, String) {
        let err = ActivationConditions::parse(doc).unwrap_err();
        (err.path, err.message)
    }

    fn reject_value(doc: Value) -> (String, String) {
        reject(&doc.to_string())
    }

    fn leaf() -> Value {
        serde_json::from_str(SAMPLING).unwrap()
    }

    #[test]
    fn rejects_invalid_json_like_aws_textract_examples_6_and_7() {
        // Example 6: a missing comma; Example 7: an extra closing brace.
        let (path, message) = reject(
            r#"{"Conditions": [{"ConditionType": "ImportantFormKeyConfidenceCheck", "ConditionParameters": {
                "ImportantFormKey": "Pay Date", "KeyValueBlockConfidenceLessThan": 90
                "WordBlockConfidenceGreaterThan": 90}}]}"#,
        );
        assert_eq!(path, "$");
        assert!(
            message.starts_with("not valid JSON: expected `,` or `}` at line 3"),
            "{message}"
        );
        let (path, message) = reject(&format!(r#"{{"Conditions": [{SAMPLING}}}]}}"#));
        assert_eq!(path, "$");
        assert!(
            message.starts_with("not valid JSON: expected `,` or `]`"),
            "{message}"
        );
    }

    #[test]
    fn rejects_a_condition_without_the_conditions_wrapper_like_aws_textract_example_4() {
        let (path, message) = reject(
            r#"{"ConditionType": "MissingImportantFormKey",
                "ConditionParameters": {"ImportantFormKey": "Mailing Address", "ImportantFormKeyAliases": ["Mailing Address:"]}}"#,
        );
        assert_eq!(path, "$");
        assert_eq!(
            message,
            r#"missing the top-level Conditions list: wrap the condition as {"Conditions": [ { ... } ]}"#
        );
        let (path, _) = reject_value(json!({"Or": [leaf(), leaf()]}));
        assert_eq!(path, "$");
    }

    #[test]
    fn rejects_a_document_that_is_not_an_object_or_lacks_conditions() {
        assert_eq!(
            reject_value(json!([leaf()])),
            (
                "$".into(),
                r#"the document is an array of 1 element: a condition document is {"Conditions": [ ... ]}"#.into()
            )
        );
        assert_eq!(
            reject_value(json!({})),
            (
                "$".into(),
                r#"missing Conditions: a condition document is {"Conditions": [ ... ]}"#.into()
            )
        );
        assert_eq!(
            reject_value(json!({"conditions": [leaf()]})),
            (
                "conditions".into(),
                r#"unknown key conditions; did you mean Conditions? a condition document is {"Conditions": [ ... ]}"#.into()
            )
        );
        let (path, _) = reject_value(json!({"Conditions": [leaf()], "Version": 1}));
        assert_eq!(path, "Version");
    }

    #[test]
    fn rejects_an_empty_or_non_list_conditions() {
        assert_eq!(
            reject_value(json!({"Conditions": []})),
            (
                "Conditions".into(),
                "the list is empty: it must hold at least one condition".into()
            )
        );
        assert_eq!(reject_value(json!({"Conditions": leaf()})).0, "Conditions",);
    }

    #[test]
    fn rejects_and_or_with_fewer_than_two_members() {
        assert_eq!(
            reject_value(json!({"Conditions": [{"And": [leaf()]}]})),
            (
                "Conditions[0].And".into(),
                "And has 1 member: it needs at least 2 (a single condition goes without And)"
                    .into()
            )
        );
        assert_eq!(
            reject_value(json!({"Conditions": [{"Or": [leaf(), {"Or": []}]}]})),
            (
                "Conditions[0].Or[1].Or".into(),
                "Or has 0 members: it needs at least 2 (a single condition goes without Or)".into()
            )
        );
        assert_eq!(
            reject_value(json!({"Conditions": [{"Or": leaf()}]})).1,
            "Or is an object with 2 keys: it must be a list of at least 2 conditions"
        );
    }

    #[test]
    fn accepts_two_levels_of_nesting_as_in_aws_examples() {
        let doc = json!({"Conditions": [{"Or": [{"And": [leaf(), leaf()]}, {"And": [leaf(), leaf()]}, leaf()]}]});
        assert!(ActivationConditions::from_value(&doc).is_ok());
    }

    #[test]
    fn rejects_three_levels_of_nesting() {
        let doc =
            json!({"Conditions": [{"Or": [leaf(), {"And": [leaf(), {"Or": [leaf(), leaf()]}]}]}]});
        assert_eq!(
            reject_value(doc),
            (
                "Conditions[0].Or[1].And[1]".into(),
                "Or nested too deeply: A2I allows two levels of nesting (Conditions → Or → And → condition), \
                 so this node must be a condition with ConditionType"
                    .into()
            )
        );
    }

    #[test]
    fn rejects_an_unknown_condition_type_listing_the_known_ones() {
        let (path, message) = reject_value(json!({"Conditions": [{"Or": [leaf(),
            {"ConditionType": "ModerationLabelConfidence", "ConditionParameters": {}}]}]}));
        assert_eq!(path, "Conditions[0].Or[1].ConditionType");
        assert_eq!(
            message,
            "unknown condition type \"ModerationLabelConfidence\"; did you mean ModerationLabelConfidenceCheck? \
             Known types: Sampling, ModerationLabelConfidenceCheck, ImportantFormKeyConfidenceCheck, \
             MissingImportantFormKey, PredictionConfidenceCheck, JsonPathCheck"
        );
    }

    #[test]
    fn rejects_an_unknown_parameter_naming_it() {
        let (path, message) = reject_value(json!({"Conditions": [{"ConditionType": "Sampling",
            "ConditionParameters": {"RandomSamplingPercentage": 5, "Seed": 7}}]}));
        assert_eq!(path, "Conditions[0].ConditionParameters.Seed");
        assert_eq!(
            message,
            "unknown parameter Seed for Sampling Known parameters: RandomSamplingPercentage"
        );
    }

    #[test]
    fn rejects_a_parameter_of_the_wrong_type() {
        let (path, message) = reject_value(json!({"Conditions": [{"ConditionType": "Sampling",
            "ConditionParameters": {"RandomSamplingPercentage": "5"}}]}));
        assert_eq!(
            path,
            "Conditions[0].ConditionParameters.RandomSamplingPercentage"
        );
        assert_eq!(
            message,
            "RandomSamplingPercentage is a string of 1 character: it must be a number"
        );
    }

    #[test]
    fn rejects_malformed_leaves() {
        assert_eq!(
            reject_value(
                json!({"Conditions": [{"ConditionParameters": {"RandomSamplingPercentage": 5}}]})
            )
            .0,
            "Conditions[0].ConditionType"
        );
        assert_eq!(
            reject_value(json!({"Conditions": [{"ConditionType": "Sampling"}]})),
            (
                "Conditions[0].ConditionParameters".into(),
                "missing: Sampling requires ConditionParameters (an object)".into()
            )
        );
        assert_eq!(
            reject_value(
                json!({"Conditions": [{"ConditionType": "Sampling", "ConditionParameters": 5}]})
            ),
            (
                "Conditions[0].ConditionParameters".into(),
                "ConditionParameters is a number: it must be an object".into()
            )
        );
        assert_eq!(
            reject_value(
                json!({"Conditions": [{"ConditionType": ["Sampling"], "ConditionParameters": {}}]})
            )
            .1,
            "ConditionType is an array of 1 element: it must be a string"
        );
        assert_eq!(
            reject_value(json!({"Conditions": ["Sampling"]})).0,
            "Conditions[0]"
        );
        assert_eq!(
            reject_value(json!({"Conditions": [{}]})),
            (
                "Conditions[0]".into(),
                "empty node: expected ConditionType with ConditionParameters, or And/Or".into()
            )
        );
    }

    #[test]
    fn rejects_unknown_node_keys_and_mixed_nodes() {
        assert_eq!(
            reject_value(json!({"Conditions": [{"and": [leaf(), leaf()]}]})),
            (
                "Conditions[0].and".into(),
                "unknown key and; did you mean And?: a node has And, Or, or ConditionType with ConditionParameters".into()
            )
        );
        let mut annotated = leaf();
        annotated["EvaluationResult"] = json!(true);
        assert_eq!(
            reject_value(json!({"Conditions": [annotated]})).1,
            "unknown key EvaluationResult (evaluation writes it; it has no place in a configuration): \
             a node has And, Or, or ConditionType with ConditionParameters"
        );
        let (path, message) = reject_value(
            json!({"Conditions": [{"And": [leaf(), leaf()], "Or": [leaf(), leaf()]}]}),
        );
        assert_eq!(path, "Conditions[0]");
        assert!(
            message.starts_with("a node is one of And, Or, or a condition"),
            "{message}"
        );
        let (path, _) = reject_value(
            json!({"Conditions": [{"And": [leaf(), leaf()], "ConditionType": "Sampling"}]}),
        );
        assert_eq!(path, "Conditions[0]");
    }

    #[test]
    fn error_displays_as_path_then_message() {
        let err = ActivationConditions::parse(r#"{"Conditions": []}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Conditions: the list is empty: it must hold at least one condition"
        );
    }
}
