//! The reviewed result of a built-in loop: the workers' answers joined with the stored model
//! answer, and a summary of what the model said next to what the reviewers submitted.
//!
//! A built-in loop (Textract `AnalyzeDocument` / Rekognition `DetectModerationLabels` with a
//! `HumanLoopConfig`) carries the service's own shapes: each worker's `answerContent` is keyed
//! by the request source (`{"AWS/Textract/AnalyzeDocument/Forms/V1": {"blocks": […]}}`), and
//! the model's answer is stored by the start function as a [`ModelAnswer`] next to the
//! reviewed result ([`crate::builtin::model_answer_key`]). [`BuiltinReview`] is what the
//! reviewed result adds for such a loop (members absent for custom loops, so their bytes do
//! not change):
//!
//! - `taskType`, `requestSource`;
//! - `modelAnswerKey` (in `RESULTS_BUCKET`; `null` when the analysed object is unknown) and
//!   `modelAnswer`: the stored service response (PascalCase, with
//!   `HumanLoopActivationOutput`), `null` when none is stored;
//! - `selectedAiServiceResponse`: what the reviewers were asked about;
//! - `reviewerAnswers`: per worker, the `answerContent` under the request source;
//! - `summary`: for Rekognition `modelLabels` / `reviewerLabels` (label names only: what the
//!   model gave and what each reviewer confirmed); for Textract `modelPairs` /
//!   `reviewerPairs` (`{key, value}` text of each `KEY_VALUE_SET` pair, read from the blocks
//!   through their `VALUE` and `CHILD` relationships).
//!
//! The model's side of the summary is read from the loop's own copy of the model answer
//! (`aiServiceResponse`), or from the stored model answer when the output has none. Label
//! lists accept `moderationLabels` and `ModerationLabels` (the element page and the output
//! page disagree), with entries that are strings or objects with `name` / `Name`.
//! Everything is a pure function of its inputs, in their order: the same bytes on redelivery.

use a2i_conditions::textract::form_pairs;
use serde::Serialize;
use serde_json::Value;

use super::json::FieldError;
use super::output::{BuiltinLoopInput, HumanAnswer};
use crate::builtin::{ModelAnswer, TaskType};

/// What the reviewed result of a built-in loop adds (flattened into it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuiltinReview {
    /// The built-in task type.
    pub task_type: TaskType,
    /// Its request source.
    pub request_source: String,
    /// Where the model answer is stored in `RESULTS_BUCKET` (`None`: the object is unknown).
    pub model_answer_key: Option<String>,
    /// The stored service response (`None`: no model answer is stored).
    pub model_answer: Option<Value>,
    /// What the reviewers were asked about, as the loop's output holds it.
    pub selected_ai_service_response: Option<Value>,
    /// Per worker, the answer under the request source.
    pub reviewer_answers: Vec<ReviewerAnswer>,
    /// What the model said next to what the reviewers submitted.
    pub summary: BuiltinSummary,
}

/// One worker's answer under the request source.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewerAnswer {
    /// The worker.
    pub worker_id: String,
    /// `answerContent[requestSource]` (`None` when the worker's answer has no such member).
    pub answer: Option<Value>,
}

/// The model's answer next to the reviewers', per task type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum BuiltinSummary {
    /// Rekognition moderation: label names.
    Moderation {
        /// The labels the model gave (`None`: no model answer to read).
        model_labels: Option<Vec<String>>,
        /// The labels each reviewer confirmed.
        reviewer_labels: Vec<WorkerLabels>,
    },
    /// Textract forms: key-value pairs.
    Forms {
        /// The model's pairs (`None`: no model answer to read).
        model_pairs: Option<Vec<KeyValue>>,
        /// The pairs each reviewer submitted.
        reviewer_pairs: Vec<WorkerPairs>,
    },
}

/// The labels one reviewer confirmed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerLabels {
    /// The worker.
    pub worker_id: String,
    /// Label names (`None`: the answer has no label list).
    pub labels: Option<Vec<String>>,
}

/// The pairs one reviewer submitted.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerPairs {
    /// The worker.
    pub worker_id: String,
    /// The pairs (`None`: the answer has no blocks).
    pub pairs: Option<Vec<KeyValue>>,
}

/// A form key and its value, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyValue {
    /// The key's words, joined by single spaces.
    pub key: String,
    /// The value's words (a selection element as its status).
    pub value: String,
}

/// The review of a built-in loop from its `output.json` alone; errors name the member of
/// `output.json` that is wrong. The model side is filled from `aiServiceResponse`.
pub fn review(
    input: &BuiltinLoopInput,
    answers: &[HumanAnswer],
    model_answer_key: Option<String>,
) -> Result<BuiltinReview, FieldError> {
    let source = input.request_source;
    let reviewer_answers: Vec<ReviewerAnswer> = answers
        .iter()
        .map(|a| ReviewerAnswer {
            worker_id: a.worker_id.clone(),
            answer: a.answer_content.get(source).cloned(),
        })
        .collect();
    let answer_path = |i: usize| format!("humanAnswers[{i}].answerContent[{source:?}]");
    let model_path = format!("{}aiServiceResponse", layout_prefix(input));
    let summary = match input.task_type {
        TaskType::RekognitionModeration => BuiltinSummary::Moderation {
            model_labels: input
                .ai_service_response
                .as_ref()
                .map(|r| labels(r, &model_path))
                .transpose()?
                .map(Option::unwrap_or_default),
            reviewer_labels: reviewer_answers
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    Ok(WorkerLabels {
                        worker_id: a.worker_id.clone(),
                        labels: match &a.answer {
                            Some(v) => labels(v, &answer_path(i))?,
                            None => None,
                        },
                    })
                })
                .collect::<Result<_, FieldError>>()?,
        },
        _ => BuiltinSummary::Forms {
            model_pairs: input
                .ai_service_response
                .as_ref()
                .map(|r| pairs(r, &model_path))
                .transpose()?
                .map(Option::unwrap_or_default),
            reviewer_pairs: reviewer_answers
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    Ok(WorkerPairs {
                        worker_id: a.worker_id.clone(),
                        pairs: match &a.answer {
                            Some(v) => pairs(v, &answer_path(i))?,
                            None => None,
                        },
                    })
                })
                .collect::<Result<_, FieldError>>()?,
        },
    };
    Ok(BuiltinReview {
        task_type: input.task_type,
        request_source: source.to_owned(),
        model_answer_key,
        model_answer: None,
        selected_ai_service_response: input.selected_ai_service_response.clone(),
        reviewer_answers,
        summary,
    })
}

impl BuiltinReview {
    /// Joins the stored model answer: `modelAnswer` is its response, and the model's side
    /// of the summary is read from it when the output had no `aiServiceResponse`. Errors
    /// name the member of the model answer that is wrong.
    pub fn join(&mut self, model: &ModelAnswer) -> Result<(), FieldError> {
        let path = "response";
        match &mut self.summary {
            BuiltinSummary::Moderation { model_labels, .. } if model_labels.is_none() => {
                *model_labels = Some(labels(&model.response, path)?.unwrap_or_default());
            }
            BuiltinSummary::Forms { model_pairs, .. } if model_pairs.is_none() => {
                *model_pairs = Some(pairs(&model.response, path)?.unwrap_or_default());
            }
            _ => {}
        }
        self.model_answer = Some(model.response.clone());
        Ok(())
    }
}

/// `HumanLoopActivationOutput.HumanLoopActivationReasons` of a stored model answer.
pub fn activation_reasons(model: &ModelAnswer) -> Option<Vec<String>> {
    let reasons = model
        .response
        .get("HumanLoopActivationOutput")?
        .get("HumanLoopActivationReasons")?
        .as_array()?;
    Some(
        reasons
            .iter()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect(),
    )
}

/// `HumanLoopActivationOutput.HumanLoopActivationConditionsEvaluationResults` of a stored
/// model answer, parsed (the API gives it as a JSON string).
pub fn condition_results(model: &ModelAnswer) -> Option<Value> {
    let text = model
        .response
        .get("HumanLoopActivationOutput")?
        .get("HumanLoopActivationConditionsEvaluationResults")?
        .as_str()?;
    serde_json::from_str(text).ok()
}

fn layout_prefix(input: &BuiltinLoopInput) -> String {
    match input.layout.member() {
        "" => String::new(),
        m => format!("{m}."),
    }
}

/// The label names of a moderation answer (the model's, or a reviewer's); `None` when it
/// has no label list.
fn labels(answer: &Value, path: &str) -> Result<Option<Vec<String>>, FieldError> {
    let (member, list) = match (
        answer.get("moderationLabels"),
        answer.get("ModerationLabels"),
    ) {
        (Some(l), _) if !l.is_null() => ("moderationLabels", l),
        (_, Some(l)) if !l.is_null() => ("ModerationLabels", l),
        _ => return Ok(None),
    };
    let list_path = format!("{path}.{member}");
    let items = list.as_array().ok_or_else(|| {
        FieldError::new(
            &list_path,
            format!(
                "expected an array, found {}",
                crate::conditions::json::json_type(list)
            ),
        )
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let name = match item {
                Value::String(s) => Some(s.as_str()),
                Value::Object(o) => o
                    .get("name")
                    .or_else(|| o.get("Name"))
                    .and_then(Value::as_str),
                _ => None,
            };
            name.map(str::to_owned).ok_or_else(|| {
                FieldError::new(
                    format!("{list_path}[{i}]"),
                    "expected a label name, or an object with a string name or Name",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The key-value pairs of a forms answer (the model's, or a reviewer's); `None` when it has
/// no block list.
fn pairs(answer: &Value, path: &str) -> Result<Option<Vec<KeyValue>>, FieldError> {
    let has_blocks = ["blocks", "Blocks"]
        .iter()
        .any(|m| answer.get(m).is_some_and(|v| !v.is_null()));
    if !answer.is_object() || !has_blocks {
        return Ok(None);
    }
    // The conditions crate reads pairs the way the activation conditions judge them (both
    // key casings, WORD children, selection elements); its errors name block positions.
    let pairs = form_pairs(answer).map_err(|e| FieldError::new(path, e))?;
    Ok(Some(
        pairs
            .into_iter()
            .map(|p| KeyValue {
                key: p.key,
                value: p.value,
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::{MODEL_ANSWER_SCHEMA, REKOGNITION_MODERATION_SOURCE};
    use crate::registry::RegisteredSource;
    use crate::status::output::HumanLoopOutput;
    use serde_json::json;

    const FORMS: &str = "AWS/Textract/AnalyzeDocument/Forms/V1";

    fn kv_blocks(key: &str, value: &str, camel: bool) -> Value {
        let b = |pascal: &str| {
            if camel {
                let mut c = pascal.chars();
                let first = c.next().unwrap().to_lowercase().to_string();
                first + c.as_str()
            } else {
                pascal.to_owned()
            }
        };
        json!({ b("Blocks"): [
            {b("BlockType"): "KEY_VALUE_SET", b("Id"): "k", b("EntityTypes"): ["KEY"], b("Confidence"): 41.3,
             b("Relationships"): [{b("Type"): "VALUE", b("Ids"): ["v"]}, {b("Type"): "CHILD", b("Ids"): ["w1"]}]},
            {b("BlockType"): "KEY_VALUE_SET", b("Id"): "v", b("EntityTypes"): ["VALUE"],
             b("Relationships"): [{b("Type"): "CHILD", b("Ids"): ["w2"]}]},
            {b("BlockType"): "WORD", b("Id"): "w1", b("Text"): key},
            {b("BlockType"): "WORD", b("Id"): "w2", b("Text"): value}
        ]})
    }

    fn forms_output(answer: Value) -> HumanLoopOutput {
        HumanLoopOutput::from_json(&json!({
            "aiServiceRequest": {"document": {"s3Object": {"bucket": "b", "name": "f.png"}}},
            "aiServiceResponse": kv_blocks("Total:", "$1.00", true),
            "awsManagedHumanLoopRequestSource": FORMS,
            "flowDefinitionArn": "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/f",
            "humanAnswers": [{"answerContent": {FORMS: answer}, "submissionTime": "2026-11-21T10:04:00Z", "workerId": "w1"}],
            "humanLoopName": "l"
        }))
        .unwrap()
    }

    #[test]
    fn textract_pairs_of_the_model_and_the_reviewer_are_read_from_their_blocks() {
        let o = forms_output(kv_blocks("Total:", "$2.00", true));
        let r = review(o.builtin.as_ref().unwrap(), &o.human_answers, None).unwrap();
        let text = serde_json::to_value(&r.summary).unwrap();
        assert_eq!(
            text,
            json!({"modelPairs": [{"key": "Total:", "value": "$1.00"}],
                   "reviewerPairs": [{"workerId": "w1", "pairs": [{"key": "Total:", "value": "$2.00"}]}]})
        );
        assert_eq!(
            r.reviewer_answers[0].answer,
            Some(kv_blocks("Total:", "$2.00", true))
        );
    }

    #[test]
    fn the_stored_model_answer_fills_the_model_side_when_the_output_has_none() {
        let mut o = forms_output(json!({"blocks": []}));
        o.builtin.as_mut().unwrap().ai_service_response = None;
        let mut r = review(
            o.builtin.as_ref().unwrap(),
            &o.human_answers,
            Some("k".into()),
        )
        .unwrap();
        assert!(matches!(
            &r.summary,
            BuiltinSummary::Forms {
                model_pairs: None,
                ..
            }
        ));
        let mut response = kv_blocks("Policy:", "AG1", false);
        response["HumanLoopActivationOutput"] = json!({
            "HumanLoopArn": "arn:aws:sagemaker:us-east-1:111122223333:human-loop/l",
            "HumanLoopActivationReasons": ["ConditionsEvaluation"],
            "HumanLoopActivationConditionsEvaluationResults": "{\"Conditions\":[{\"EvaluationResult\":true}]}"
        });
        let model = ModelAnswer {
            schema: MODEL_ANSWER_SCHEMA.into(),
            task_type: TaskType::TextractForms,
            request_source: FORMS.into(),
            source: RegisteredSource {
                bucket: "b".into(),
                key: "f.png".into(),
                version_id: None,
                e_tag: None,
            },
            human_loop_name: "l".into(),
            flow_definition_arn: "f".into(),
            human_loop_arn: None,
            created_at: "2026-11-21T10:00:00Z".parse().unwrap(),
            response,
        };
        r.join(&model).unwrap();
        assert_eq!(
            serde_json::to_value(&r.summary).unwrap()["modelPairs"],
            json!([{"key": "Policy:", "value": "AG1"}])
        );
        assert_eq!(
            activation_reasons(&model).unwrap(),
            ["ConditionsEvaluation"]
        );
        assert_eq!(
            condition_results(&model).unwrap()["Conditions"][0]["EvaluationResult"],
            true
        );
        assert_eq!(r.model_answer.as_ref(), Some(&model.response));
    }

    #[test]
    fn moderation_labels_are_read_in_both_casings_as_names_or_objects() {
        let doc = json!({
            "aiServiceRequest": {"image": {"s3Object": {"bucket": "b", "name": "p.jpg"}}},
            "aiServiceResponse": {"moderationLabels": [{"name": "Swimwear", "confidence": 88.5}, {"name": "Suggestive"}]},
            "awsManagedHumanLoopRequestSource": REKOGNITION_MODERATION_SOURCE,
            "flowDefinitionArn": "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/f",
            "humanAnswers": [
                {"answerContent": {REKOGNITION_MODERATION_SOURCE: {"moderationLabels": [{"name": "Swimwear", "parentName": "Suggestive"}]}}, "submissionTime": "2026-11-21T10:04:00Z", "workerId": "w1"},
                {"answerContent": {REKOGNITION_MODERATION_SOURCE: {"ModerationLabels": ["Swimwear", "Suggestive"]}}, "submissionTime": "2026-11-21T10:04:00Z", "workerId": "w2"},
                {"answerContent": {"other": 1}, "submissionTime": "2026-11-21T10:04:00Z", "workerId": "w3"}
            ],
            "humanLoopName": "l"
        });
        let o = HumanLoopOutput::from_json(&doc).unwrap();
        let r = review(o.builtin.as_ref().unwrap(), &o.human_answers, None).unwrap();
        assert_eq!(
            serde_json::to_value(&r.summary).unwrap(),
            json!({"modelLabels": ["Swimwear", "Suggestive"], "reviewerLabels": [
                {"workerId": "w1", "labels": ["Swimwear"]},
                {"workerId": "w2", "labels": ["Swimwear", "Suggestive"]},
                {"workerId": "w3", "labels": null}]})
        );
    }

    #[test]
    fn bad_answer_shapes_name_the_path_not_the_content() {
        let o = forms_output(json!({"blocks": "secret text"}));
        let e = review(o.builtin.as_ref().unwrap(), &o.human_answers, None).unwrap_err();
        assert!(e.path.starts_with("humanAnswers[0].answerContent"), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
        let o = forms_output(json!({"blocks": [
            {"BlockType": "KEY_VALUE_SET", "Id": "k", "EntityTypes": ["KEY"], "Relationships": [{"Type": "CHILD", "Ids": ["w"]}]},
            {"BlockType": "WORD", "Id": "w", "Text": "secret", "Confidence": "high"}]}));
        let e = review(o.builtin.as_ref().unwrap(), &o.human_answers, None).unwrap_err();
        assert!(
            !e.to_string().contains("secret") && !e.to_string().contains("high"),
            "{e}"
        );
        let mut doc = json!({
            "aiServiceRequest": {"image": {"s3Object": {"bucket": "b", "name": "p.jpg"}}},
            "awsManagedHumanLoopRequestSource": REKOGNITION_MODERATION_SOURCE,
            "flowDefinitionArn": "f", "humanLoopName": "l",
            "humanAnswers": [{"answerContent": {REKOGNITION_MODERATION_SOURCE: {"moderationLabels": [7]}}, "submissionTime": "2026-11-21T10:04:00Z", "workerId": "w1"}]
        });
        let o = HumanLoopOutput::from_json(&doc).unwrap();
        let e = review(o.builtin.as_ref().unwrap(), &o.human_answers, None).unwrap_err();
        assert_eq!(
            e.path,
            format!("humanAnswers[0].answerContent[{REKOGNITION_MODERATION_SOURCE:?}].moderationLabels[0]")
        );
        doc["humanAnswers"][0]["answerContent"][REKOGNITION_MODERATION_SOURCE] =
            json!({"ModerationLabels": "secret"});
        let o = HumanLoopOutput::from_json(&doc).unwrap();
        let e = review(o.builtin.as_ref().unwrap(), &o.human_answers, None).unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(
            e.problem.contains("expected an array, found a string"),
            "{e}"
        );
    }
}
