//! A completed loop's `output.json`, parsed once into typed answers.
//!
//! Layout per the A2I developer guide: `flowDefinitionArn`, `humanLoopName`, `humanAnswers[]`
//! (one per worker who submitted) and `inputContent` (the loop's `InputContent`, parsed back
//! into JSON). Built-in task types write no `inputContent` (their input sits under
//! `aiServiceRequest`), and a real Textract output has answers without `acceptanceTime` and
//! `timeSpentInSeconds`, so those are optional. `answerContent` is the worker template's
//! output and is passed through untouched; errors name fields, never their contents.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Number, Value};

use super::json::{FieldError, Fields};

/// One worker's submission.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HumanAnswer {
    /// Who answered (unique per worker).
    pub worker_id: String,
    /// When the worker accepted the task (missing from some real outputs).
    #[serde(serialize_with = "super::time::rfc3339_opt")]
    pub acceptance_time: Option<DateTime<Utc>>,
    /// When the worker submitted.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub submission_time: DateTime<Utc>,
    /// Active working time, as A2I wrote it (missing from some real outputs).
    pub time_spent_in_seconds: Option<Number>,
    /// Identity of a private-workforce worker (`identityData`), when A2I gives it.
    pub worker_metadata: Option<Value>,
    /// The answer, shaped by the worker template (an object).
    pub answer_content: Value,
}

/// The parts of `output.json` the status handler uses.
#[derive(Debug, Clone, PartialEq)]
pub struct HumanLoopOutput {
    /// The loop's flow definition.
    pub flow_definition_arn: String,
    /// The loop's name (checked against the event's).
    pub human_loop_name: String,
    /// Every submitted answer, in A2I's order; may be empty.
    pub human_answers: Vec<HumanAnswer>,
    /// The loop's input, when the task type has one.
    pub input_content: Option<Value>,
}

impl HumanLoopOutput {
    /// Parses the bytes of `output.json`.
    pub fn parse(bytes: &[u8]) -> Result<Self, FieldError> {
        // serde_json's syntax errors carry a position, never the text around it.
        let doc: Value = serde_json::from_slice(bytes)
            .map_err(|e| FieldError::new("(document)", format!("not valid JSON: {e}")))?;
        Self::from_json(&doc)
    }

    /// Reads an already parsed document.
    pub fn from_json(doc: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(doc, "")?;
        let answers = f.req_array("humanAnswers")?;
        let human_answers = answers
            .iter()
            .enumerate()
            .map(|(i, a)| HumanAnswer::from_json(a, &format!("humanAnswers[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            flow_definition_arn: f.req_str("flowDefinitionArn")?.to_owned(),
            human_loop_name: f.req_str("humanLoopName")?.to_owned(),
            human_answers,
            input_content: f.get("inputContent").cloned(),
        })
    }
}

impl HumanAnswer {
    fn from_json(v: &Value, path: &str) -> Result<Self, FieldError> {
        let f = Fields::of(v, path)?;
        Ok(Self {
            worker_id: f.req_str("workerId")?.to_owned(),
            acceptance_time: f.opt_time("acceptanceTime")?,
            submission_time: f.req_time("submissionTime")?,
            time_spent_in_seconds: f.opt_number("timeSpentInSeconds")?,
            worker_metadata: f.opt_object_value("workerMetadata")?.cloned(),
            answer_content: f.req_object_value("answerContent")?.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn documented() -> Value {
        json!({
          "flowDefinitionArn": "arn:aws:sagemaker:us-west-2:111122223333:flow-definition/my-flow",
          "humanAnswers": [{
              "acceptanceTime": "2020-12-28T18:59:15.191Z",
              "answerContent": {"sentiment": {"label": "Negative"}},
              "submissionTime": "2020-12-28T18:59:58.321Z",
              "timeSpentInSeconds": 40.543,
              "workerId": "a12b3cdefg4h5i67",
              "workerMetadata": {"identityData": {
                  "identityProviderType": "Cognito",
                  "issuer": "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_123456789",
                  "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}}
          }],
          "humanLoopName": "0fe076a4-b6eb-49ea-83bf-78f953a71c89",
          "inputContent": {"initialValue": "Positive", "taskObject": "I loved it, said no one"}
        })
    }

    #[test]
    fn the_documented_custom_output_parses() {
        let o = HumanLoopOutput::from_json(&documented()).unwrap();
        assert_eq!(o.human_loop_name, "0fe076a4-b6eb-49ea-83bf-78f953a71c89");
        assert_eq!(o.human_answers.len(), 1);
        let a = &o.human_answers[0];
        assert_eq!(a.worker_id, "a12b3cdefg4h5i67");
        assert_eq!(
            a.answer_content,
            json!({"sentiment": {"label": "Negative"}})
        );
        assert_eq!(
            a.time_spent_in_seconds.as_ref().and_then(Number::as_f64),
            Some(40.543)
        );
        assert_eq!(a.acceptance_time.unwrap().timestamp_subsec_millis(), 191);
        assert!(a.worker_metadata.is_some());
        assert_eq!(o.input_content.unwrap()["initialValue"], json!("Positive"));
    }

    #[test]
    fn optional_answer_fields_and_input_may_be_missing() {
        // The shape of a real built-in (Textract) output: no inputContent, answers without
        // acceptanceTime, timeSpentInSeconds or workerMetadata.
        let doc = json!({
            "flowDefinitionArn": "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/f",
            "humanLoopName": "l",
            "awsManagedHumanLoopRequestSource": "AWS/Textract/AnalyzeDocument/Forms/V1",
            "humanAnswers": [{"answerContent": {"AWS/Textract/AnalyzeDocument/Forms/V1": {"blocks": []}},
                              "submissionTime": "2020-04-03T11:59:51.470Z", "workerId": "w"}]
        });
        let o = HumanLoopOutput::from_json(&doc).unwrap();
        assert_eq!(o.input_content, None);
        let a = &o.human_answers[0];
        assert_eq!(
            (
                a.acceptance_time,
                &a.time_spent_in_seconds,
                &a.worker_metadata
            ),
            (None, &None, &None)
        );
    }

    #[test]
    fn zero_answers_is_valid() {
        let mut doc = documented();
        doc["humanAnswers"] = json!([]);
        assert!(HumanLoopOutput::from_json(&doc)
            .unwrap()
            .human_answers
            .is_empty());
    }

    #[test]
    fn wrong_types_are_named_by_path_without_content() {
        let cases: [(&str, Value, &str); 6] = [
            ("/humanAnswers", json!({}), "humanAnswers: expected an array, found an object"),
            ("/humanAnswers/0/answerContent", json!("secret words"), "humanAnswers[0].answerContent: expected an object, found a string"),
            ("/humanAnswers/0/workerId", json!(5), "humanAnswers[0].workerId: expected a string, found a number"),
            ("/humanAnswers/0/submissionTime", json!("secret"), "humanAnswers[0].submissionTime: expected an RFC 3339 timestamp string, found a string that is not one"),
            ("/humanAnswers/0/timeSpentInSeconds", json!("40"), "humanAnswers[0].timeSpentInSeconds: expected a number or null, found a string"),
            ("/humanLoopName", Value::Null, "humanLoopName: expected a string, found null"),
        ];
        for (pointer, value, message) in cases {
            let mut doc = documented();
            *doc.pointer_mut(pointer).unwrap() = value;
            let e = HumanLoopOutput::from_json(&doc).unwrap_err();
            assert_eq!(e.to_string(), message);
            assert!(!e.to_string().contains("secret"));
        }
        let mut doc = documented();
        doc["humanAnswers"][0]
            .as_object_mut()
            .unwrap()
            .remove("answerContent");
        let e = HumanLoopOutput::from_json(&doc).unwrap_err();
        assert_eq!(e.path, "humanAnswers[0].answerContent");
    }

    #[test]
    fn malformed_json_is_reported_with_a_position_only() {
        let e =
            HumanLoopOutput::parse(br#"{"humanAnswers": [{"answerContent": "secret"#).unwrap_err();
        assert_eq!(e.path, "(document)");
        assert!(e.problem.starts_with("not valid JSON"), "{e}");
        assert!(e.problem.contains("line 1"), "{e}");
        assert!(!e.problem.contains("secret"), "{e}");
        let e = HumanLoopOutput::parse(b"[]").unwrap_err();
        assert_eq!(
            e.to_string(),
            "(document): expected an object, found an array"
        );
    }
}
