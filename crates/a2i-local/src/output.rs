//! The loop output file: its S3 location (A2I's path layout), its JSON shape and writing it
//! to the embedded S3.
//!
//! Two shapes, chosen by the loop's flow definition:
//! - **Custom task types** ([`OutputDocument`]): `flowDefinitionArn`, `humanAnswers`,
//!   `humanLoopName`, `inputContent` (the loop's InputContent as an object), per the
//!   developer guide.
//! - **Built-in task types** ([`BuiltinOutputDocument`]: the flow definition has a
//!   `HumanLoopRequestSource` and the loop's input is the built-in input the Textract /
//!   Rekognition integration starts it with): the input's `aiServiceRequest`,
//!   `aiServiceResponse`, `humanTaskActivationConditionResults` and
//!   `selectedAiServiceResponse` at the **top level**, next to
//!   `awsManagedHumanLoopRequestSource`, `flowDefinitionArn`, `humanLoopName` and
//!   `humanAnswers`, with no `inputContent`. That is the layout of the one real built-in
//!   output.json known (a Textract forms loop, published in
//!   aws-samples/amazon-textract-response-parser); the developer guide's prose puts those
//!   members under `inputContent` instead, and an older real file under
//!   `humanLoopInputContent`. The real file wins here; readers (the status function) accept
//!   all three. Members are in alphabetical order, as in the real file. Answers keep
//!   `acceptanceTime`, `timeSpentInSeconds` and `workerMetadata` (the 2020 file lacks them,
//!   later custom files have them; readers treat them as optional).

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::loops::{format_timestamp, LoopRecord};

/// An `s3://bucket/prefix` location (the flow definition's `S3OutputPath`, or the input
/// location watched in pipeline mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix without leading or trailing `/` (may be empty).
    pub prefix: String,
}

/// Why a string is not an `s3://bucket/prefix` location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not an s3://bucket[/prefix] location: {reason}")]
pub struct LocationError {
    /// The string given.
    pub value: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl S3Location {
    /// Parses `s3://bucket[/prefix]`.
    pub fn parse(value: &str) -> Result<Self, LocationError> {
        let err = |reason| LocationError {
            value: value.to_owned(),
            reason,
        };
        let rest = value
            .strip_prefix("s3://")
            .ok_or_else(|| err("it must start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(err("the bucket is empty"));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    /// `s3://bucket/prefix` (or `s3://bucket`).
    pub fn uri(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// Whether `key` lies under the prefix (as a path: `in` does not contain `input/x`).
    pub fn contains_key(&self, key: &str) -> bool {
        self.prefix.is_empty()
            || key
                .strip_prefix(&self.prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.uri())
    }
}

/// The key of a loop's output.json:
/// `<prefix>/<flow-definition-name>/YYYY/MM/DD/hh/mm/ss/<loop>/output.json`, with the loop's
/// UTC creation time.
pub fn output_key(
    location: &S3Location,
    flow_definition_name: &str,
    creation_time: DateTime<Utc>,
    loop_name: &str,
) -> String {
    let tail = format!(
        "{flow_definition_name}/{}/{loop_name}/output.json",
        creation_time.format("%Y/%m/%d/%H/%M/%S")
    );
    if location.prefix.is_empty() {
        tail
    } else {
        format!("{}/{tail}", location.prefix)
    }
}

/// One worker's answer, as given to the control surface. Only `answerContent` is required;
/// the rest is filled in the way A2I would.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkerAnswer {
    /// What the worker's task template produced (a JSON object).
    pub answer_content: serde_json::Value,
    /// The worker id; a 16-character id is generated when absent.
    #[serde(default)]
    pub worker_id: Option<String>,
    /// Active working time; defaults to the time since `acceptanceTime`, or else since the
    /// loop was created.
    #[serde(default)]
    pub time_spent_in_seconds: Option<f64>,
    /// When the worker accepted the task (a worker portal knows it); defaults to the
    /// submission time minus the time spent. Must not precede the loop's creation nor
    /// follow the submission.
    #[serde(default)]
    pub acceptance_time: Option<DateTime<Utc>>,
    /// `workerMetadata`; defaults to a private-workforce (Cognito) identity.
    #[serde(default)]
    pub worker_metadata: Option<serde_json::Value>,
}

impl WorkerAnswer {
    /// An answer with only its content.
    pub fn new(answer_content: serde_json::Value) -> Self {
        Self {
            answer_content,
            worker_id: None,
            time_spent_in_seconds: None,
            acceptance_time: None,
            worker_metadata: None,
        }
    }

    /// The same answer given by a named worker.
    pub fn by(mut self, worker_id: impl Into<String>) -> Self {
        self.worker_id = Some(worker_id.into());
        self
    }
}

/// One `humanAnswers[]` entry of output.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HumanAnswer {
    /// When the worker accepted the task.
    pub acceptance_time: String,
    /// The answer.
    pub answer_content: serde_json::Value,
    /// When the worker submitted it.
    pub submission_time: String,
    /// Active working time.
    pub time_spent_in_seconds: f64,
    /// The worker id.
    pub worker_id: String,
    /// The worker's identity (private workforces).
    pub worker_metadata: serde_json::Value,
}

/// output.json of a custom task type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputDocument {
    /// The flow definition.
    pub flow_definition_arn: String,
    /// One entry per worker.
    pub human_answers: Vec<HumanAnswer>,
    /// The loop name.
    pub human_loop_name: String,
    /// The loop's InputContent, parsed back into JSON.
    pub input_content: serde_json::Value,
}

/// output.json of a built-in task type, in the real file's layout (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuiltinOutputDocument {
    /// The service request, camel-cased (`document`/`image`, `featureTypes`,
    /// `humanLoopConfig`).
    pub ai_service_request: serde_json::Value,
    /// The model's whole answer, camel-cased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_service_response: Option<serde_json::Value>,
    /// The flow definition's request source, e.g. `AWS/Textract/AnalyzeDocument/Forms/V1`.
    pub aws_managed_human_loop_request_source: String,
    /// The flow definition.
    pub flow_definition_arn: String,
    /// One entry per worker; `answerContent` is keyed by the request source.
    pub human_answers: Vec<HumanAnswer>,
    /// The loop name.
    pub human_loop_name: String,
    /// The evaluated condition tree (`EvaluationResult` on every node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_task_activation_condition_results: Option<serde_json::Value>,
    /// What the reviewers were asked about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_ai_service_response: Option<serde_json::Value>,
}

/// The output.json of one loop, in the shape its task type has.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum LoopOutput {
    /// A custom task type (`inputContent`).
    Custom(OutputDocument),
    /// A built-in task type (the built-in members at the top level; boxed: it is the larger).
    Builtin(Box<BuiltinOutputDocument>),
}

impl LoopOutput {
    /// The `humanAnswers[]` entries.
    pub fn human_answers(&self) -> &[HumanAnswer] {
        match self {
            LoopOutput::Custom(d) => &d.human_answers,
            LoopOutput::Builtin(d) => &d.human_answers,
        }
    }
}

/// Why answers cannot be turned into output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// No answer was given.
    #[error("at least one answer is required")]
    Empty,
    /// An `answerContent` is not a JSON object.
    #[error("answers[{index}].answerContent must be a JSON object")]
    NotAnObject {
        /// Position of the answer.
        index: usize,
    },
    /// A time is negative or not finite.
    #[error("answers[{index}].timeSpentInSeconds must be a finite number >= 0")]
    BadTime {
        /// Position of the answer.
        index: usize,
    },
    /// A worker id is empty.
    #[error("answers[{index}].workerId must not be empty")]
    EmptyWorkerId {
        /// Position of the answer.
        index: usize,
    },
    /// A worker id is longer than [`MAX_WORKER_ID_LEN`] characters.
    #[error("answers[{index}].workerId must have at most {MAX_WORKER_ID_LEN} characters")]
    LongWorkerId {
        /// Position of the answer.
        index: usize,
    },
    /// An acceptance time precedes the loop's creation or follows the submission.
    #[error(
        "answers[{index}].acceptanceTime must lie between the loop's creation and the submission"
    )]
    BadAcceptanceTime {
        /// Position of the answer.
        index: usize,
    },
}

/// The longest worker id accepted (worker ids appear in messages and logs, so they are
/// bounded).
pub const MAX_WORKER_ID_LEN: usize = 256;

/// Builds output.json for `record` answered by `answers` at `now`.
#[cfg(test)]
pub fn output_document(
    record: &LoopRecord,
    answers: &[WorkerAnswer],
    now: DateTime<Utc>,
    region: &str,
) -> Result<LoopOutput, AnswerError> {
    Ok(document_with(
        record,
        human_answers(record, answers, now, region)?,
    ))
}

/// Turns answers submitted at `now` into `humanAnswers[]` entries, filling in what the
/// submitter left out the way A2I would; refused when `answers` is empty or one of them is
/// not usable.
pub fn human_answers(
    record: &LoopRecord,
    answers: &[WorkerAnswer],
    now: DateTime<Utc>,
    region: &str,
) -> Result<Vec<HumanAnswer>, AnswerError> {
    if answers.is_empty() {
        return Err(AnswerError::Empty);
    }
    let seconds = |ms: i64| ms.max(0) as f64 / 1000.0;
    let mut human_answers = Vec::with_capacity(answers.len());
    for (index, answer) in answers.iter().enumerate() {
        if !answer.answer_content.is_object() {
            return Err(AnswerError::NotAnObject { index });
        }
        if let Some(accepted) = answer.acceptance_time {
            if accepted < record.creation_time || accepted > now {
                return Err(AnswerError::BadAcceptanceTime { index });
            }
        }
        let since = answer.acceptance_time.unwrap_or(record.creation_time);
        let spent = answer
            .time_spent_in_seconds
            .unwrap_or_else(|| seconds((now - since).num_milliseconds()));
        // Bounded so that the acceptance time computed from it stays representable.
        if !spent.is_finite() || !(0.0..=1e9).contains(&spent) {
            return Err(AnswerError::BadTime { index });
        }
        let worker_id = match &answer.worker_id {
            Some(id) if id.is_empty() => return Err(AnswerError::EmptyWorkerId { index }),
            Some(id) if id.chars().count() > MAX_WORKER_ID_LEN => {
                return Err(AnswerError::LongWorkerId { index })
            }
            Some(id) => id.clone(),
            None => uuid::Uuid::new_v4().simple().to_string()[..16].to_owned(),
        };
        let accepted = answer.acceptance_time.unwrap_or_else(|| {
            now - chrono::Duration::milliseconds((spent * 1000.0).round() as i64)
        });
        let worker_metadata = answer.worker_metadata.clone().unwrap_or_else(|| {
            serde_json::json!({
                "identityData": {
                    "identityProviderType": "Cognito",
                    "issuer": format!("https://cognito-idp.{region}.amazonaws.com/{region}_a2ilocal"),
                    "sub": uuid::Uuid::new_v4().to_string(),
                }
            })
        });
        human_answers.push(HumanAnswer {
            acceptance_time: format_timestamp(accepted),
            answer_content: answer.answer_content.clone(),
            submission_time: format_timestamp(now),
            time_spent_in_seconds: spent,
            worker_id,
            worker_metadata,
        });
    }
    Ok(human_answers)
}

/// output.json for `record` with the given `humanAnswers[]`: the built-in layout when the
/// loop's flow definition has a request source and its input is the built-in input (an
/// object with `aiServiceRequest`), else the custom one (also for a loop someone started
/// with StartHumanLoop on a built-in flow definition: its input is kept as `inputContent`).
pub fn document_with(record: &LoopRecord, human_answers: Vec<HumanAnswer>) -> LoopOutput {
    // InputContent was checked to be JSON at start; a state file edited by hand may break
    // that, and the output then carries the raw string rather than failing the loop.
    let input_content = serde_json::from_str(&record.input_content)
        .unwrap_or_else(|_| serde_json::Value::String(record.input_content.clone()));
    if let Some(source) = &record.policy.request_source {
        if let serde_json::Value::Object(mut input) = input_content.clone() {
            if let Some(request) = input.remove("aiServiceRequest") {
                return LoopOutput::Builtin(Box::new(BuiltinOutputDocument {
                    ai_service_request: request,
                    ai_service_response: input.remove("aiServiceResponse"),
                    aws_managed_human_loop_request_source: source.clone(),
                    flow_definition_arn: record.flow_definition_arn.clone(),
                    human_answers,
                    human_loop_name: record.name.clone(),
                    human_task_activation_condition_results: input
                        .remove("humanTaskActivationConditionResults"),
                    selected_ai_service_response: input.remove("selectedAiServiceResponse"),
                }));
            }
        }
    }
    LoopOutput::Custom(OutputDocument {
        flow_definition_arn: record.flow_definition_arn.clone(),
        human_answers,
        human_loop_name: record.name.clone(),
        input_content,
    })
}

/// Why output.json could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("writing s3://{bucket}/{key} failed: {reason}")]
pub struct WriteError {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// The S3 error.
    pub reason: String,
}

/// Writes output files to the embedded S3 (in-process, no port), under each loop's own
/// output location.
#[derive(Debug, Clone)]
pub struct OutputWriter {
    client: aws_sdk_s3::Client,
    location: S3Location,
}

impl OutputWriter {
    /// A writer through `client`; `location` is the default output location (the output of
    /// implicitly registered flow definitions).
    pub fn new(client: aws_sdk_s3::Client, location: S3Location) -> Self {
        Self { client, location }
    }

    /// The default output location.
    pub fn location(&self) -> &S3Location {
        &self.location
    }

    /// Puts `document` at `key` in `location`'s bucket and returns its `s3://` URI. A
    /// missing bucket is created first (a local convenience: a flow definition's output
    /// bucket need not be created by hand).
    pub async fn write(
        &self,
        location: &S3Location,
        key: &str,
        document: &LoopOutput,
    ) -> Result<String, WriteError> {
        let bucket = location.bucket.as_str();
        let err = |reason: String| WriteError {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            reason,
        };
        let body = serde_json::to_vec(document).map_err(|e| err(e.to_string()))?;
        let put = || {
            self.client
                .put_object()
                .bucket(bucket)
                .key(key)
                .content_type("application/json")
                .body(ByteStream::from(body.clone()))
                .send()
        };
        match put().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.code() == Some("NoSuchBucket")) =>
            {
                tracing::info!(bucket, "creating the missing output bucket");
                if let Err(create) = self.client.create_bucket().bucket(bucket).send().await {
                    let exists = create.as_service_error().is_some_and(|e| {
                        e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
                    });
                    if !exists {
                        return Err(err(
                            aws_sdk_s3::error::DisplayErrorContext(&create).to_string()
                        ));
                    }
                }
                put()
                    .await
                    .map_err(|e| err(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()))?;
            }
            Err(e) => return Err(err(aws_sdk_s3::error::DisplayErrorContext(&e).to_string())),
        }
        Ok(format!("s3://{bucket}/{key}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loops::LoopStatus;
    use chrono::TimeZone;

    #[test]
    fn locations_parse_with_and_without_prefix() {
        let l = S3Location::parse("s3://out/a/b/").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("out", "a/b"));
        assert_eq!(l.uri(), "s3://out/a/b");
        let l = S3Location::parse("s3://out").unwrap();
        assert_eq!(l.prefix, "");
        assert!(S3Location::parse("https://out/x").is_err());
        assert!(S3Location::parse("s3:///x").is_err());
    }

    #[test]
    fn prefix_containment_is_by_path_segment() {
        let l = S3Location::parse("s3://in/incoming").unwrap();
        assert!(l.contains_key("incoming/a.json"));
        assert!(!l.contains_key("incoming-old/a.json"));
        assert!(!l.contains_key("incoming"));
        assert!(S3Location::parse("s3://in").unwrap().contains_key("x"));
    }

    #[test]
    fn output_key_follows_the_a2i_layout_in_utc() {
        let t = Utc.with_ymd_and_hms(2019, 11, 14, 17, 37, 36).unwrap();
        let l = S3Location::parse("s3://out/a2i-results").unwrap();
        assert_eq!(
            output_key(&l, "fd", t, "loop-1"),
            "a2i-results/fd/2019/11/14/17/37/36/loop-1/output.json"
        );
        let l = S3Location::parse("s3://out").unwrap();
        assert_eq!(
            output_key(&l, "fd", t, "loop-1"),
            "fd/2019/11/14/17/37/36/loop-1/output.json"
        );
    }

    fn record() -> LoopRecord {
        let t = Utc.with_ymd_and_hms(2020, 12, 28, 18, 59, 0).unwrap();
        LoopRecord {
            seq: 0,
            name: "l".into(),
            arn: "arn".into(),
            flow_definition_arn: "fd-arn".into(),
            input_content: r#"{"taskObject":"x"}"#.into(),
            content_classifiers: None,
            creation_time: t,
            status: LoopStatus::InProgress,
            status_time: t,
            failure_code: None,
            failure_reason: None,
            output_s3_uri: None,
            deleted: false,
            event_pending: false,
            policy: Default::default(),
            answers: Vec::new(),
        }
    }

    #[test]
    fn output_document_has_parsed_input_and_timed_answers() {
        let now = Utc.with_ymd_and_hms(2020, 12, 28, 19, 0, 0).unwrap();
        let answers = [WorkerAnswer {
            time_spent_in_seconds: Some(40.543),
            ..WorkerAnswer::new(serde_json::json!({"sentiment": {"label": "Negative"}})).by("w1")
        }];
        let doc = output_document(&record(), &answers, now, "us-east-1").unwrap();
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["inputContent"], serde_json::json!({"taskObject": "x"}));
        let a = &json["humanAnswers"][0];
        assert_eq!(a["workerId"], "w1");
        assert_eq!(a["submissionTime"], "2020-12-28T19:00:00.000Z");
        assert_eq!(a["acceptanceTime"], "2020-12-28T18:59:19.457Z");
        assert_eq!(a["timeSpentInSeconds"], 40.543);
        assert_eq!(
            a["workerMetadata"]["identityData"]["identityProviderType"],
            "Cognito"
        );
    }

    #[test]
    fn answers_are_checked() {
        let now = Utc::now();
        assert_eq!(
            output_document(&record(), &[], now, "r"),
            Err(AnswerError::Empty)
        );
        assert_eq!(
            output_document(
                &record(),
                &[WorkerAnswer::new(serde_json::json!(1))],
                now,
                "r"
            ),
            Err(AnswerError::NotAnObject { index: 0 })
        );
        let default_worker = output_document(
            &record(),
            &[WorkerAnswer::new(serde_json::json!({}))],
            now,
            "r",
        )
        .unwrap();
        assert_eq!(default_worker.human_answers()[0].worker_id.len(), 16);
    }

    #[test]
    fn a_built_in_loop_writes_the_real_files_layout_and_a_custom_one_input_content() {
        let mut r = record();
        r.policy.request_source = Some("AWS/Textract/AnalyzeDocument/Forms/V1".into());
        r.input_content = serde_json::json!({
            "aiServiceRequest": {"document": {"s3Object": {"bucket": "b", "name": "f.png"}}},
            "aiServiceResponse": {"blocks": []},
            "humanTaskActivationConditionResults": {"Conditions": []},
            "selectedAiServiceResponse": {"blocks": []}
        })
        .to_string();
        let now = Utc.with_ymd_and_hms(2020, 12, 28, 19, 0, 0).unwrap();
        let answer = serde_json::json!({"AWS/Textract/AnalyzeDocument/Forms/V1": {"blocks": []}});
        let doc = output_document(&r, &[WorkerAnswer::new(answer.clone())], now, "r").unwrap();
        let text = serde_json::to_string(&doc).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        // The real file's members, in its (alphabetical) order; no inputContent.
        let order: Vec<usize> = [
            "aiServiceRequest",
            "aiServiceResponse",
            "awsManagedHumanLoopRequestSource",
            "flowDefinitionArn",
            "humanAnswers",
            "humanLoopName",
            "humanTaskActivationConditionResults",
            "selectedAiServiceResponse",
        ]
        .iter()
        .map(|k| text.find(&format!("\"{k}\":")).expect(k))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(keys.len(), 8, "{keys:?}");
        assert_eq!(
            json["aiServiceRequest"]["document"]["s3Object"]["name"],
            "f.png"
        );
        assert_eq!(json["humanAnswers"][0]["answerContent"], answer);

        // Input of a built-in flow definition that is not the built-in input, and a custom
        // flow definition's input that happens to look built-in: both keep inputContent.
        r.input_content = r#"{"taskObject":"x"}"#.into();
        let doc = output_document(&r, &[WorkerAnswer::new(answer.clone())], now, "r").unwrap();
        assert!(matches!(doc, LoopOutput::Custom(_)));
        let mut custom = record();
        custom.input_content = r#"{"aiServiceRequest":{}}"#.into();
        let doc = output_document(&custom, &[WorkerAnswer::new(answer)], now, "r").unwrap();
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(
            json["inputContent"]["aiServiceRequest"],
            serde_json::json!({})
        );
    }
}
