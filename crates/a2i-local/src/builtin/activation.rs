//! What A2I does with a built-in request that carries a `HumanLoopConfig`: evaluate the flow
//! definition's activation conditions on the model's answer, pick what reviewers see
//! (`selectedAiServiceResponse`), build the loop's input in A2I's camelCase shape, and
//! answer `HumanLoopActivationOutput`.

use a2i_conditions::ActivationConditions;
use serde_json::{json, Map, Value};

use super::recorded::Service;

/// The request source of Textract's built-in task type.
pub const TEXTRACT_SOURCE: &str = "AWS/Textract/AnalyzeDocument/Forms/V1";
/// The request source of Rekognition's built-in task type.
pub const REKOGNITION_SOURCE: &str = "AWS/Rekognition/DetectModerationLabels/Image/V3";

/// The value of `HumanLoopActivationReasons` when the conditions started a loop. The literal
/// is unverified (a2i-facts §4); it is the one AWS material mentions.
pub const REASON_CONDITIONS: &str = "ConditionsEvaluation";
/// The value of `HumanLoopActivationReasons` when the flow definition has no activation
/// conditions, so every request goes to humans (a local choice; AWS documents no literal).
pub const REASON_NO_CONDITIONS: &str = "NoActivationConditions";

impl Service {
    /// The `AwsManagedHumanLoopRequestSource` a flow definition needs for this service.
    pub fn request_source(self) -> &'static str {
        match self {
            Service::Textract => TEXTRACT_SOURCE,
            Service::Rekognition => REKOGNITION_SOURCE,
        }
    }

    /// The condition types A2I accepts for this service (a2i-facts §4).
    pub fn condition_types(self) -> &'static [&'static str] {
        match self {
            Service::Textract => &[
                "ImportantFormKeyConfidenceCheck",
                "MissingImportantFormKey",
                "Sampling",
            ],
            Service::Rekognition => &["ModerationLabelConfidenceCheck", "Sampling"],
        }
    }
}

/// The outcome of evaluating a flow definition on one model answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Activation {
    /// Whether a loop must start.
    pub activated: bool,
    /// `HumanLoopActivationReasons` (empty when not activated).
    pub reasons: Vec<String>,
    /// The annotated condition tree (`EvaluationResult` on every node); `None` when the
    /// flow definition has no conditions.
    pub results: Option<Value>,
}

/// Evaluates the flow definition's conditions (`None`: no activation config, so every
/// request is reviewed) on the service's answer. The error is a message naming the node or
/// the rule, never content.
pub fn evaluate(
    service: Service,
    conditions: Option<&str>,
    response: &Value,
) -> Result<Activation, String> {
    let Some(text) = conditions else {
        return Ok(Activation {
            activated: true,
            reasons: vec![REASON_NO_CONDITIONS.to_owned()],
            results: None,
        });
    };
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| format!("the flow definition's activation conditions are not JSON ({e})"))?;
    check_condition_types(service, &doc)?;
    let parsed = ActivationConditions::from_value(&doc)
        .map_err(|e| format!("the flow definition's activation conditions are invalid: {e}"))?;
    let evaluation = parsed.evaluate(response).map_err(|e| {
        format!("the activation conditions cannot be evaluated on the recorded response: {e}")
    })?;
    Ok(Activation {
        activated: evaluation.flagged,
        reasons: if evaluation.flagged {
            vec![REASON_CONDITIONS.to_owned()]
        } else {
            Vec::new()
        },
        results: Some(evaluation.results),
    })
}

/// Refuses condition types the service's built-in task type does not know (the project's
/// own `PredictionConfidenceCheck` and `JsonPathCheck` are for custom task types only).
pub fn check_condition_types(service: Service, doc: &Value) -> Result<(), String> {
    let mut found = Vec::new();
    collect_types(doc, &mut found, 0);
    match found
        .into_iter()
        .find(|t| !service.condition_types().contains(&t.as_str()))
    {
        Some(other) => Err(format!(
            "ConditionType {other:?} is not available for {}; it takes {}",
            service.request_source(),
            service.condition_types().join(", ")
        )),
        None => Ok(()),
    }
}

fn collect_types(node: &Value, out: &mut Vec<String>, depth: usize) {
    // The conditions crate bounds a document's depth; this walk only needs not to recurse
    // without end on what it has not validated yet.
    if depth > 64 {
        return;
    }
    match node {
        Value::Object(map) => {
            if let Some(Value::String(t)) = map.get("ConditionType") {
                out.push(t.clone());
            }
            for (key, child) in map {
                if key != "ConditionParameters" {
                    collect_types(child, out, depth + 1);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_types(i, out, depth + 1)),
        _ => {}
    }
}

/// The leaves that decided: those with `EvaluationResult: true` under groups that held.
fn deciding_leaves(results: &Value) -> Vec<&Map<String, Value>> {
    fn walk<'a>(node: &'a Value, out: &mut Vec<&'a Map<String, Value>>, depth: usize) {
        let Some(map) = node.as_object() else { return };
        if depth > 64 || map.get("EvaluationResult") != Some(&Value::Bool(true)) {
            return;
        }
        if map.contains_key("ConditionType") {
            out.push(map);
        }
        for group in ["And", "Or"] {
            if let Some(Value::Array(members)) = map.get(group) {
                members.iter().for_each(|m| walk(m, out, depth + 1));
            }
        }
    }
    let mut out = Vec::new();
    if let Some(Value::Array(top)) = results.get("Conditions") {
        top.iter().for_each(|n| walk(n, &mut out, 0));
    }
    out
}

fn leaf_type(leaf: &Map<String, Value>) -> &str {
    leaf.get("ConditionType")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn param<'a>(leaf: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    leaf.get("ConditionParameters")?.get(name)
}

/// `selectedAiServiceResponse`: what the reviewers are asked about. Rekognition: the labels
/// that satisfy a deciding `ModerationLabelConfidenceCheck` (all labels when sampling or no
/// conditions decided). Textract: the key-value pairs named by a deciding
/// `ImportantFormKeyConfidenceCheck` (key or alias; `*` any), with their words (all pairs
/// when sampling or no conditions decided; a `MissingImportantFormKey` adds none, since the
/// form then goes to review without predicted pairs). Camel-cased, as A2I stores it.
pub fn selected_response(service: Service, response: &Value, activation: &Activation) -> Value {
    let leaves = activation
        .results
        .as_ref()
        .map(deciding_leaves)
        .unwrap_or_default();
    let everything =
        activation.results.is_none() || leaves.iter().any(|l| leaf_type(l) == "Sampling");
    match service {
        Service::Rekognition => {
            let labels = response
                .get("ModerationLabels")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let chosen: Vec<Value> = labels
                .iter()
                .filter(|label| {
                    everything
                        || leaves
                            .iter()
                            .filter(|l| leaf_type(l) == "ModerationLabelConfidenceCheck")
                            .any(|l| label_matches(l, label))
                })
                .map(camel_case)
                .collect();
            let mut out = json!({ "moderationLabels": chosen });
            if let Some(version) = response.get("ModerationModelVersion") {
                out["moderationModelVersion"] = version.clone();
            }
            out
        }
        Service::Textract => {
            let keys: Vec<&Map<String, Value>> = leaves
                .iter()
                .copied()
                .filter(|l| leaf_type(l) == "ImportantFormKeyConfidenceCheck")
                .collect();
            let blocks = response
                .get("Blocks")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let chosen = select_form_blocks(blocks, |key_text| {
                everything || keys.iter().any(|leaf| key_matches(leaf, key_text))
            });
            json!({ "blocks": chosen.into_iter().map(camel_case).collect::<Vec<_>>() })
        }
    }
}

fn label_matches(leaf: &Map<String, Value>, label: &Value) -> bool {
    let name = param(leaf, "ModerationLabelName").and_then(Value::as_str);
    let label_name = label.get("Name").and_then(Value::as_str);
    if name != Some("*") && name != label_name {
        return false;
    }
    let Some(confidence) = label.get("Confidence").and_then(Value::as_f64) else {
        return false;
    };
    compare_all(leaf, "Confidence", confidence)
}

/// Every `<prefix>{Equals,LessThan,...}` parameter of the leaf holds for `value`.
fn compare_all(leaf: &Map<String, Value>, prefix: &str, value: f64) -> bool {
    type Holds = fn(f64, f64) -> bool;
    let checks: [(&str, Holds); 5] = [
        ("Equals", |v, t| v == t),
        ("LessThan", |v, t| v < t),
        ("LessThanEquals", |v, t| v <= t),
        ("GreaterThan", |v, t| v > t),
        ("GreaterThanEquals", |v, t| v >= t),
    ];
    checks.iter().all(|(suffix, holds)| {
        match param(leaf, &format!("{prefix}{suffix}")).and_then(Value::as_f64) {
            Some(threshold) => holds(value, threshold),
            None => true,
        }
    })
}

fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn key_matches(leaf: &Map<String, Value>, key_text: &str) -> bool {
    let key = normalize(key_text);
    let wanted = param(leaf, "ImportantFormKey").and_then(Value::as_str);
    if wanted == Some("*") || wanted.map(normalize).as_deref() == Some(key.as_str()) {
        return true;
    }
    param(leaf, "ImportantFormKeyAliases")
        .and_then(Value::as_array)
        .is_some_and(|aliases| {
            aliases
                .iter()
                .filter_map(Value::as_str)
                .any(|a| normalize(a) == key)
        })
}

/// The KEY blocks whose text `wanted` accepts, their VALUE blocks, and the children of both,
/// in the response's block order.
fn select_form_blocks(blocks: &[Value], wanted: impl Fn(&str) -> bool) -> Vec<&Value> {
    let by_id: std::collections::HashMap<&str, &Value> = blocks
        .iter()
        .filter_map(|b| Some((b.get("Id")?.as_str()?, b)))
        .collect();
    let related = |block: &Value, kind: &str| -> Vec<String> {
        block
            .get("Relationships")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|r| r.get("Type").and_then(Value::as_str) == Some(kind))
            .flat_map(|r| {
                r.get("Ids")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect()
    };
    let text_of = |block: &Value| -> String {
        related(block, "CHILD")
            .iter()
            .filter_map(|id| by_id.get(id.as_str()))
            .filter_map(|w| w.get("Text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut ids = std::collections::HashSet::new();
    for block in blocks {
        let is_key = block.get("BlockType").and_then(Value::as_str) == Some("KEY_VALUE_SET")
            && block
                .get("EntityTypes")
                .and_then(Value::as_array)
                .is_some_and(|t| t.iter().any(|e| e == "KEY"));
        if !is_key || !wanted(&text_of(block)) {
            continue;
        }
        let mut pair = vec![block];
        pair.extend(
            related(block, "VALUE")
                .iter()
                .filter_map(|id| by_id.get(id.as_str()).copied()),
        );
        for member in pair {
            if let Some(id) = member.get("Id").and_then(Value::as_str) {
                ids.insert(id.to_owned());
            }
            ids.extend(related(member, "CHILD"));
        }
    }
    blocks
        .iter()
        .filter(|b| {
            b.get("Id")
                .and_then(Value::as_str)
                .is_some_and(|id| ids.contains(id))
        })
        .collect()
}

/// The value with every object key's first letter lower-cased, as A2I stores service
/// answers in a loop's input (`BlockType` → `blockType`).
pub fn camel_case(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key = match chars.next() {
                        Some(first) => first.to_lowercase().chain(chars).collect(),
                        None => String::new(),
                    };
                    (key, camel_case(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(camel_case).collect()),
        other => other.clone(),
    }
}

/// `HumanLoopActivationOutput` in the API's PascalCase.
pub fn activation_output(activation: &Activation, loop_arn: Option<&str>) -> Value {
    let mut out = Map::new();
    if let Some(arn) = loop_arn {
        out.insert("HumanLoopArn".into(), Value::from(arn));
    }
    if !activation.reasons.is_empty() {
        out.insert(
            "HumanLoopActivationReasons".into(),
            Value::from(activation.reasons.clone()),
        );
    }
    if let Some(results) = &activation.results {
        out.insert(
            "HumanLoopActivationConditionsEvaluationResults".into(),
            Value::from(results.to_string()),
        );
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Value {
        json!({"ModerationLabels": [
            {"Confidence": 92.5, "Name": "Swimwear", "ParentName": "Suggestive"},
            {"Confidence": 40.0, "Name": "Suggestive", "ParentName": ""},
        ], "ModerationModelVersion": "7.0"})
    }

    #[test]
    fn rekognition_conditions_select_only_the_matching_labels() {
        let conditions = r#"{"Conditions":[{"ConditionType":"ModerationLabelConfidenceCheck","ConditionParameters":{"ModerationLabelName":"Swimwear","ConfidenceGreaterThanEquals":90}}]}"#;
        let a = evaluate(Service::Rekognition, Some(conditions), &labels()).unwrap();
        assert!(a.activated);
        assert_eq!(a.reasons, [REASON_CONDITIONS]);
        let selected = selected_response(Service::Rekognition, &labels(), &a);
        assert_eq!(
            selected,
            json!({"moderationLabels": [{"confidence": 92.5, "name": "Swimwear", "parentName": "Suggestive"}], "moderationModelVersion": "7.0"})
        );
        let out = activation_output(&a, Some("arn:x"));
        let results: Value = serde_json::from_str(
            out["HumanLoopActivationConditionsEvaluationResults"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(results["Conditions"][0]["EvaluationResult"], true);
        assert_eq!(out["HumanLoopArn"], "arn:x");
    }

    #[test]
    fn an_answer_no_condition_flags_starts_nothing() {
        let conditions = r#"{"Conditions":[{"ConditionType":"ModerationLabelConfidenceCheck","ConditionParameters":{"ModerationLabelName":"Violence","ConfidenceGreaterThan":50}}]}"#;
        let a = evaluate(Service::Rekognition, Some(conditions), &labels()).unwrap();
        assert!(!a.activated);
        let out = activation_output(&a, None);
        assert!(
            out.get("HumanLoopArn").is_none() && out.get("HumanLoopActivationReasons").is_none()
        );
        assert!(out
            .get("HumanLoopActivationConditionsEvaluationResults")
            .is_some());
    }

    #[test]
    fn no_activation_config_reviews_everything() {
        let a = evaluate(Service::Rekognition, None, &labels()).unwrap();
        assert!(a.activated && a.results.is_none());
        let selected = selected_response(Service::Rekognition, &labels(), &a);
        assert_eq!(selected["moderationLabels"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn custom_condition_types_are_refused_for_built_ins() {
        let conditions = r#"{"Conditions":[{"ConditionType":"PredictionConfidenceCheck","ConditionParameters":{"ConfidenceLessThan":0.5}}]}"#;
        let err = evaluate(Service::Rekognition, Some(conditions), &labels()).unwrap_err();
        assert!(
            err.contains("PredictionConfidenceCheck") && err.contains(REKOGNITION_SOURCE),
            "{err}"
        );
        let err = evaluate(Service::Textract, Some("{"), &labels()).unwrap_err();
        assert!(err.contains("not JSON"), "{err}");
    }

    fn form() -> Value {
        json!({"DocumentMetadata": {"Pages": 1}, "Blocks": [
            {"BlockType": "PAGE", "Id": "p"},
            {"BlockType": "KEY_VALUE_SET", "Id": "k1", "EntityTypes": ["KEY"], "Confidence": 41.0,
             "Relationships": [{"Type": "VALUE", "Ids": ["v1"]}, {"Type": "CHILD", "Ids": ["w1"]}]},
            {"BlockType": "KEY_VALUE_SET", "Id": "v1", "EntityTypes": ["VALUE"], "Confidence": 41.0,
             "Relationships": [{"Type": "CHILD", "Ids": ["w2"]}]},
            {"BlockType": "WORD", "Id": "w1", "Text": "Total", "Confidence": 99.0},
            {"BlockType": "WORD", "Id": "w2", "Text": "$148.99", "Confidence": 98.0},
            {"BlockType": "KEY_VALUE_SET", "Id": "k2", "EntityTypes": ["KEY"], "Confidence": 95.0,
             "Relationships": [{"Type": "VALUE", "Ids": ["v2"]}, {"Type": "CHILD", "Ids": ["w3"]}]},
            {"BlockType": "KEY_VALUE_SET", "Id": "v2", "EntityTypes": ["VALUE"], "Confidence": 95.0,
             "Relationships": [{"Type": "CHILD", "Ids": ["w4"]}]},
            {"BlockType": "WORD", "Id": "w3", "Text": "Name:", "Confidence": 99.0},
            {"BlockType": "WORD", "Id": "w4", "Text": "Ada", "Confidence": 99.0},
        ]})
    }

    #[test]
    fn textract_selects_the_flagged_pair_with_its_words_like_the_real_output() {
        let conditions = r#"{"Conditions":[{"Or":[
            {"ConditionType":"ImportantFormKeyConfidenceCheck","ConditionParameters":{"ImportantFormKey":"Total:","ImportantFormKeyAliases":["Total"],"KeyValueBlockConfidenceLessThan":45,"WordBlockConfidenceLessThan":85}},
            {"ConditionType":"MissingImportantFormKey","ConditionParameters":{"ImportantFormKey":"Policy Number:"}}]}]}"#;
        let a = evaluate(Service::Textract, Some(conditions), &form()).unwrap();
        assert!(a.activated);
        let selected = selected_response(Service::Textract, &form(), &a);
        let ids: Vec<&str> = selected["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap())
            .collect();
        // The same four blocks the real output.json in shared/samples selects for its
        // flagged "Total" pair: KEY, VALUE and the two words, camel-cased.
        assert_eq!(ids, ["k1", "v1", "w1", "w2"]);
        assert_eq!(selected["blocks"][0]["blockType"], "KEY_VALUE_SET");
    }

    #[test]
    fn camel_case_lowers_only_the_first_letter_of_keys() {
        assert_eq!(
            camel_case(
                &json!({"BlockType": "WORD", "Geometry": {"BoundingBox": {"Width": 1}}, "ids": ["A"]})
            ),
            json!({"blockType": "WORD", "geometry": {"boundingBox": {"width": 1}}, "ids": ["A"]})
        );
    }
}
