//! A completed loop's `output.json`, parsed once into typed answers.
//!
//! Layout per the A2I developer guide: `flowDefinitionArn`, `humanLoopName`, `humanAnswers[]`
//! (one per worker who submitted) and `inputContent` (the loop's `InputContent`, parsed back
//! into JSON). A real Textract output has answers without `acceptanceTime` and
//! `timeSpentInSeconds`, so those are optional. `answerContent` is the worker template's
//! output and is passed through untouched; errors name fields, never their contents.
//!
//! ## Built-in task types ([`BuiltinLoopInput`])
//!
//! A loop A2I started from Textract `AnalyzeDocument` or Rekognition `DetectModerationLabels`
//! is recognised by `awsManagedHumanLoopRequestSource`, or by an `aiServiceRequest` member.
//! Its four built-in members (`aiServiceRequest`, `aiServiceResponse`,
//! `humanTaskActivationConditionResults`, `selectedAiServiceResponse`) are read from the
//! first of three places that has `aiServiceRequest`:
//! 1. the top level (the real Textract output.json in the project's reference samples, and
//!    what a2i-local writes),
//! 2. `inputContent` (the developer guide's prose),
//! 3. `humanLoopInputContent` (an older real output file).
//!
//! The task type is the request source's, or, without one, the request's `document`
//! (Textract) or `image` (Rekognition) member; the analysed object is that member's
//! `s3Object {bucket, name, version}` (none when the request sent bytes).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Number, Value};

use super::json::{FieldError, Fields};
use crate::builtin::TaskType;
use crate::source::ObjectRef;

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
    /// The built-in members, when the loop is of a built-in task type.
    pub builtin: Option<BuiltinLoopInput>,
}

/// Where a built-in loop's four built-in members sit in `output.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinLayout {
    /// At the top level (the real Textract file; a2i-local).
    TopLevel,
    /// Under `inputContent` (the developer guide).
    InputContent,
    /// Under `humanLoopInputContent` (an older real file).
    HumanLoopInputContent,
    /// Nowhere: a `Stopped` or `Failed` loop has no `output.json`; its task type and object
    /// come from the loop's registration.
    NoOutput,
}

impl BuiltinLayout {
    /// The member that holds them (empty for the top level).
    pub fn member(self) -> &'static str {
        match self {
            Self::TopLevel | Self::NoOutput => "",
            Self::InputContent => "inputContent",
            Self::HumanLoopInputContent => "humanLoopInputContent",
        }
    }
}

/// What a built-in loop's `output.json` says about its input.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltinLoopInput {
    /// Which service's built-in task type.
    pub task_type: TaskType,
    /// The request source (`awsManagedHumanLoopRequestSource`, or the task type's).
    pub request_source: &'static str,
    /// Where the built-in members were found.
    pub layout: BuiltinLayout,
    /// The analysed object, from `aiServiceRequest.{document|image}.s3Object`; `None` when
    /// the request sent the bytes.
    pub object: Option<ObjectRef>,
    /// The model's answer as A2I stored it (camelCase).
    pub ai_service_response: Option<Value>,
    /// The evaluated condition tree.
    pub condition_results: Option<Value>,
    /// What the reviewers were asked about.
    pub selected_ai_service_response: Option<Value>,
}

fn unknown_source() -> FieldError {
    FieldError::new(
        "awsManagedHumanLoopRequestSource",
        format!(
            "expected {} or {}, found another string",
            crate::builtin::TEXTRACT_FORMS_SOURCE,
            crate::builtin::REKOGNITION_MODERATION_SOURCE
        ),
    )
}

impl BuiltinLoopInput {
    /// A built-in loop known only from its registration (`Stopped`, `Failed`): the task type
    /// and the object, no model answer or evaluation from A2I.
    pub fn registered(task_type: TaskType, object: ObjectRef) -> Option<Self> {
        Some(Self {
            task_type,
            request_source: task_type.request_source()?,
            layout: BuiltinLayout::NoOutput,
            object: Some(object),
            ai_service_response: None,
            condition_results: None,
            selected_ai_service_response: None,
        })
    }

    /// Reads the built-in members of `doc` (an `output.json` root), if it is built-in.
    fn from_root(doc: &Value, root: &Fields<'_>) -> Result<Option<Self>, FieldError> {
        let declared = root.opt_str("awsManagedHumanLoopRequestSource")?;
        let mut found = None;
        for layout in [
            BuiltinLayout::TopLevel,
            BuiltinLayout::InputContent,
            BuiltinLayout::HumanLoopInputContent,
        ] {
            let holder = match layout {
                BuiltinLayout::TopLevel => Some(doc),
                other => root.get(other.member()),
            };
            if let Some(holder) = holder {
                if holder.get("aiServiceRequest").is_some_and(|v| !v.is_null()) {
                    found = Some((layout, holder));
                    break;
                }
            }
        }
        let Some((layout, holder)) = found else {
            // Declared built-in, but the request is nowhere: still a built-in loop (its
            // answers are kept); its object then comes from the loop registry, if any.
            let Some(declared) = declared else {
                return Ok(None);
            };
            let task_type = TaskType::from_request_source(declared).ok_or_else(unknown_source)?;
            return Ok(Some(Self {
                task_type,
                request_source: task_type.request_source().ok_or_else(unknown_source)?,
                layout: BuiltinLayout::TopLevel,
                object: None,
                ai_service_response: root.opt_object_value("aiServiceResponse")?.cloned(),
                condition_results: root
                    .opt_object_value("humanTaskActivationConditionResults")?
                    .cloned(),
                selected_ai_service_response: root
                    .opt_object_value("selectedAiServiceResponse")?
                    .cloned(),
            }));
        };
        let f = Fields::of(holder, layout.member())?;
        let request_path = f.path_of("aiServiceRequest");
        let request = Fields::of(f.req_object_value("aiServiceRequest")?, &request_path)?;
        let task_type = match declared {
            Some(source) => TaskType::from_request_source(source).ok_or_else(unknown_source)?,
            None if request.get("document").is_some() => TaskType::TextractForms,
            None if request.get("image").is_some() => TaskType::RekognitionModeration,
            None => {
                return Err(FieldError::new(
                    request_path,
                    "expected a document (Textract) or an image (Rekognition) member",
                ))
            }
        };
        let request_source = task_type.request_source().ok_or_else(|| {
            FieldError::new(
                "awsManagedHumanLoopRequestSource",
                "not a built-in task type",
            )
        })?;
        let media = match task_type {
            TaskType::RekognitionModeration => "image",
            _ => "document",
        };
        let media_path = request.path_of(media);
        let media = Fields::of(request.req_object_value(media)?, &media_path)?;
        let object_path = media.path_of("s3Object");
        let object = match media.opt_object_value("s3Object")? {
            None => None,
            Some(o) => {
                let o = Fields::of(o, &object_path)?;
                let non_empty = |name: &str| -> Result<String, FieldError> {
                    let v = o.req_str(name)?;
                    if v.is_empty() {
                        return Err(FieldError::new(
                            o.path_of(name),
                            "expected a non-empty string, found an empty one",
                        ));
                    }
                    Ok(v.to_owned())
                };
                Some(ObjectRef {
                    bucket: non_empty("bucket")?,
                    key: non_empty("name")?,
                    version_id: o.opt_str("version")?.map(str::to_owned),
                    e_tag: None,
                })
            }
        };
        Ok(Some(Self {
            task_type,
            request_source,
            layout,
            object,
            ai_service_response: f.opt_object_value("aiServiceResponse")?.cloned(),
            condition_results: f
                .opt_object_value("humanTaskActivationConditionResults")?
                .cloned(),
            selected_ai_service_response: f.opt_object_value("selectedAiServiceResponse")?.cloned(),
        }))
    }
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
            builtin: BuiltinLoopInput::from_root(doc, &f)?,
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
        // Declared built-in without a request: still built-in, with no object.
        let b = o.builtin.as_ref().unwrap();
        assert_eq!((b.task_type, &b.object), (TaskType::TextractForms, &None));
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

    fn builtin_doc() -> Value {
        json!({
            "aiServiceRequest": {"image": {"s3Object": {"bucket": "raw", "name": "p/a b.jpg", "version": "v7"}},
                                 "humanLoopConfig": {"humanLoopName": "l"}},
            "aiServiceResponse": {"moderationLabels": []},
            "humanTaskActivationConditionResults": {"Conditions": [{"EvaluationResult": true}]},
            "selectedAiServiceResponse": {"moderationLabels": []}
        })
    }

    #[test]
    fn built_in_members_are_read_in_each_of_the_three_layouts() {
        let base = json!({
            "flowDefinitionArn": "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/f",
            "humanLoopName": "l", "humanAnswers": []
        });
        for (layout, declared) in [
            (BuiltinLayout::TopLevel, true),
            (BuiltinLayout::InputContent, true),
            (BuiltinLayout::HumanLoopInputContent, false),
        ] {
            let mut doc = base.clone();
            let members = builtin_doc();
            match layout.member() {
                "" => doc
                    .as_object_mut()
                    .unwrap()
                    .extend(members.as_object().unwrap().clone()),
                m => doc[m] = members,
            }
            if declared {
                doc["awsManagedHumanLoopRequestSource"] =
                    json!("AWS/Rekognition/DetectModerationLabels/Image/V3");
            }
            let b = HumanLoopOutput::from_json(&doc).unwrap().builtin.unwrap();
            assert_eq!(b.layout, layout);
            assert_eq!(b.task_type, TaskType::RekognitionModeration);
            let o = b.object.unwrap();
            assert_eq!(
                (o.bucket.as_str(), o.key.as_str(), o.version_id.as_deref()),
                ("raw", "p/a b.jpg", Some("v7"))
            );
            assert!(b.condition_results.is_some() && b.selected_ai_service_response.is_some());
        }
        // A custom output is not built-in, even with an inputContent.
        assert!(HumanLoopOutput::from_json(&documented())
            .unwrap()
            .builtin
            .is_none());
    }

    #[test]
    fn bad_built_in_shapes_are_named_by_path() {
        let base = json!({"flowDefinitionArn": "f", "humanLoopName": "l", "humanAnswers": []});
        let cases: [(&str, Value, &str); 6] = [
            ("/inputContent/aiServiceRequest", json!("secret"), "inputContent.aiServiceRequest: expected an object, found a string"),
            ("/inputContent/aiServiceRequest/image/s3Object/bucket", json!(3), "inputContent.aiServiceRequest.image.s3Object.bucket: expected a string, found a number"),
            ("/inputContent/aiServiceRequest/image/s3Object/name", json!(""), "inputContent.aiServiceRequest.image.s3Object.name: expected a non-empty string, found an empty one"),
            ("/inputContent/aiServiceRequest/image", json!(null), "inputContent.aiServiceRequest: expected a document (Textract) or an image (Rekognition) member"),
            ("/inputContent/selectedAiServiceResponse", json!([1]), "inputContent.selectedAiServiceResponse: expected an object or null, found an array"),
            ("/awsManagedHumanLoopRequestSource", json!("AWS/Other/secret"), "awsManagedHumanLoopRequestSource: expected AWS/Textract/AnalyzeDocument/Forms/V1 or AWS/Rekognition/DetectModerationLabels/Image/V3, found another string"),
        ];
        for (pointer, value, message) in cases {
            let mut doc = base.clone();
            doc["inputContent"] = builtin_doc();
            doc["awsManagedHumanLoopRequestSource"] = Value::Null;
            if pointer == "/awsManagedHumanLoopRequestSource" {
                doc["awsManagedHumanLoopRequestSource"] = value;
            } else {
                *doc.pointer_mut(pointer).unwrap() = value;
            }
            let e = HumanLoopOutput::from_json(&doc).unwrap_err();
            assert_eq!(e.to_string(), message);
        }
        // Declared Textract, but the request has an image only.
        let mut doc = base.clone();
        doc["inputContent"] = builtin_doc();
        doc["awsManagedHumanLoopRequestSource"] = json!("AWS/Textract/AnalyzeDocument/Forms/V1");
        assert_eq!(
            HumanLoopOutput::from_json(&doc).unwrap_err().to_string(),
            "inputContent.aiServiceRequest.document: expected an object, but the field is missing"
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
