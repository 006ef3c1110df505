//! A2I's built-in task types: what an upload is (`TASK_TYPE`), and the model answer the start
//! function stores for every raw document or image it analyses.
//!
//! With `TASK_TYPE=textract-forms` or `rekognition-moderation` an upload is not a document of
//! inference results but a raw document or image. The start function sends it to Amazon
//! Textract `AnalyzeDocument` or Amazon Rekognition `DetectModerationLabels` with a
//! `HumanLoopConfig`; A2I evaluates the flow definition's activation conditions and starts
//! the loop itself. The service's whole answer (with `HumanLoopActivationOutput`) is stored
//! as a [`ModelAnswer`] under [`model_answer_key`], next to where the reviewed result of the
//! same loop goes, so an object's model answer and its review are one listing apart, and an
//! object that no condition flagged still has its answer kept.
//!
//! ## Format (`a2i-review/model-answer/v1`)
//!
//! Key: `{RESULTS_PREFIX}{bucket}/{key}/{humanLoopName}.model.json` in `RESULTS_BUCKET`
//! (shortened like reviewed-result keys when over 1024 bytes). Body, members in this order:
//!
//! ```json
//! {"schema":"a2i-review/model-answer/v1","taskType":"textract-forms",
//!  "requestSource":"AWS/Textract/AnalyzeDocument/Forms/V1",
//!  "source":{"bucket":"raw","key":"forms/a.png","versionId":null,"eTag":"9b2c…"},
//!  "humanLoopName":"docs-…","flowDefinitionArn":"arn:…","humanLoopArn":"arn:…",
//!  "createdAt":"2026-11-21T10:15:42.187Z",
//!  "response":{"DocumentMetadata":{"Pages":1},"Blocks":[…],"HumanLoopActivationOutput":{…}}}
//! ```
//!
//! - `humanLoopArn` is `null` when no condition flagged the object (no loop).
//! - `createdAt` is the S3 event's `eventTime`.
//! - `response` is the service's answer in the API's own (PascalCase) shape;
//!   `HumanLoopActivationOutput.HumanLoopActivationConditionsEvaluationResults` stays the
//!   JSON *string* the API returns.
//!
//! Readers accept unknown members and refuse another `schema`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::registry::RegisteredSource;
use crate::source::ObjectRef;

/// The `schema` of every model answer this version writes and reads.
pub const MODEL_ANSWER_SCHEMA: &str = "a2i-review/model-answer/v1";
/// What follows the loop name in a model answer's key.
pub const MODEL_ANSWER_SUFFIX: &str = ".model.json";
/// Largest model answer read back, in bytes (a dense Textract page is a few MB).
pub const MAX_MODEL_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// The request source of Textract's built-in task type.
pub const TEXTRACT_FORMS_SOURCE: &str = "AWS/Textract/AnalyzeDocument/Forms/V1";
/// The request source of Rekognition's built-in task type.
pub const REKOGNITION_MODERATION_SOURCE: &str = "AWS/Rekognition/DetectModerationLabels/Image/V3";

/// What an upload is: `TASK_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TaskType {
    /// A document of inference results; the function evaluates the conditions and calls
    /// `StartHumanLoop` (the default).
    #[default]
    Custom,
    /// A raw document (PNG, JPEG, TIFF, single-page PDF) for Textract `AnalyzeDocument`.
    TextractForms,
    /// A raw image (PNG, JPEG) for Rekognition `DetectModerationLabels`.
    RekognitionModeration,
}

impl TaskType {
    /// Every task type, in a fixed order.
    pub const ALL: [TaskType; 3] = [
        Self::Custom,
        Self::TextractForms,
        Self::RekognitionModeration,
    ];

    /// The `TASK_TYPE` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Custom => "custom",
            Self::TextractForms => "textract-forms",
            Self::RekognitionModeration => "rekognition-moderation",
        }
    }

    /// The flow definition's `AwsManagedHumanLoopRequestSource` (`None` for custom).
    pub fn request_source(self) -> Option<&'static str> {
        match self {
            Self::Custom => None,
            Self::TextractForms => Some(TEXTRACT_FORMS_SOURCE),
            Self::RekognitionModeration => Some(REKOGNITION_MODERATION_SOURCE),
        }
    }

    /// The built-in task type of a request source.
    pub fn from_request_source(source: &str) -> Option<Self> {
        match source {
            TEXTRACT_FORMS_SOURCE => Some(Self::TextractForms),
            REKOGNITION_MODERATION_SOURCE => Some(Self::RekognitionModeration),
            _ => None,
        }
    }

    /// Whether uploads are raw media for a built-in task type.
    pub fn is_builtin(self) -> bool {
        self != Self::Custom
    }
}

impl fmt::Display for TaskType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `TASK_TYPE` that is none of [`TaskType::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown task type; expected custom, textract-forms or rekognition-moderation")]
pub struct UnknownTaskType;

impl FromStr for TaskType {
    type Err = UnknownTaskType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(UnknownTaskType)
    }
}

impl Serialize for TaskType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TaskType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The key of the model answer of `object` analysed under `loop_name`:
/// `{prefix}{bucket}/{key}/{loop_name}.model.json`, next to the loop's reviewed result.
pub fn model_answer_key(prefix: &str, object: &ObjectRef, loop_name: &str) -> String {
    crate::status::result::object_scoped_key(
        prefix,
        Some(object),
        &format!("{loop_name}{MODEL_ANSWER_SUFFIX}"),
    )
}

/// A built-in service's answer for one uploaded object, as the start function stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelAnswer {
    /// Always [`MODEL_ANSWER_SCHEMA`].
    pub schema: String,
    /// Which service answered.
    pub task_type: TaskType,
    /// The task type's request source.
    pub request_source: String,
    /// The analysed object.
    pub source: RegisteredSource,
    /// The `HumanLoopName` sent (the loop's name when one started).
    pub human_loop_name: String,
    /// The flow definition sent.
    pub flow_definition_arn: String,
    /// The loop A2I started, `None` when no condition flagged the object.
    pub human_loop_arn: Option<String>,
    /// The S3 event's `eventTime`.
    #[serde(serialize_with = "rfc3339", deserialize_with = "parse_rfc3339")]
    pub created_at: DateTime<Utc>,
    /// The service's answer in the API's shape, `HumanLoopActivationOutput` included.
    pub response: Value,
}

fn rfc3339<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn parse_rfc3339<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| serde::de::Error::custom("expected an RFC 3339 timestamp"))
}

/// Why stored bytes are not a model answer; names the member and the rule, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelAnswerError {
    /// Over [`MAX_MODEL_ANSWER_BYTES`].
    #[error("the model answer is {bytes} bytes, over the {MAX_MODEL_ANSWER_BYTES}-byte limit")]
    TooLarge {
        /// Its size.
        bytes: u64,
    },
    /// Not a v1 model answer.
    #[error("the model answer is not an {MODEL_ANSWER_SCHEMA} document: {0}")]
    Invalid(String),
}

impl ModelAnswer {
    /// The bytes written: compact JSON, members in declaration order.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a ModelAnswer holds only JSON values")
    }

    /// Parses stored bytes (at most [`MAX_MODEL_ANSWER_BYTES`], this schema).
    pub fn parse(bytes: &[u8]) -> Result<Self, ModelAnswerError> {
        if bytes.len() > MAX_MODEL_ANSWER_BYTES {
            return Err(ModelAnswerError::TooLarge {
                bytes: bytes.len() as u64,
            });
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            ModelAnswerError::Invalid(format!(
                "not JSON (line {} column {})",
                e.line(),
                e.column()
            ))
        })?;
        match value.get("schema").and_then(Value::as_str) {
            Some(MODEL_ANSWER_SCHEMA) => {}
            Some(_) => return Err(ModelAnswerError::Invalid("another schema".into())),
            None => return Err(ModelAnswerError::Invalid("no schema member".into())),
        }
        let answer: Self = serde_path_to_error::deserialize(value).map_err(|e| {
            // The path names the member; serde's message names the expected type.
            let message = e.inner().to_string();
            let rule = message.split(" at line").next().unwrap_or("invalid");
            let rule = if rule.contains('"') {
                "invalid value"
            } else {
                rule
            };
            ModelAnswerError::Invalid(format!("member {}: {rule}", e.path()))
        })?;
        Ok(answer)
    }

    /// The analysed object.
    pub fn object(&self) -> ObjectRef {
        ObjectRef::from(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer() -> ModelAnswer {
        ModelAnswer {
            schema: MODEL_ANSWER_SCHEMA.into(),
            task_type: TaskType::RekognitionModeration,
            request_source: REKOGNITION_MODERATION_SOURCE.into(),
            source: RegisteredSource {
                bucket: "raw".into(),
                key: "photos/beach day.jpg".into(),
                version_id: None,
                e_tag: Some("abc".into()),
            },
            human_loop_name: "photos-1".into(),
            flow_definition_arn: "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/f"
                .into(),
            human_loop_arn: None,
            created_at: "2026-11-21T10:15:42.187Z".parse().unwrap(),
            response: json!({"ModerationLabels": [], "HumanLoopActivationOutput": {}}),
        }
    }

    #[test]
    fn task_types_round_trip_and_unknown_ones_are_refused() {
        for t in TaskType::ALL {
            assert_eq!(t.as_str().parse::<TaskType>(), Ok(t));
            if let Some(source) = t.request_source() {
                assert_eq!(TaskType::from_request_source(source), Some(t));
            }
        }
        assert_eq!("Textract-Forms".parse::<TaskType>(), Err(UnknownTaskType));
        assert_eq!(TaskType::default(), TaskType::Custom);
        assert!(!TaskType::Custom.is_builtin());
    }

    #[test]
    fn a_model_answer_round_trips_in_a_fixed_member_order() {
        let a = answer();
        let bytes = a.to_json_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with(
            r#"{"schema":"a2i-review/model-answer/v1","taskType":"rekognition-moderation","#
        ));
        assert!(text.contains(r#""humanLoopArn":null"#));
        assert_eq!(ModelAnswer::parse(&bytes).unwrap(), a);
    }

    #[test]
    fn bad_model_answers_name_the_member_not_the_value() {
        let mut v = serde_json::to_value(answer()).unwrap();
        v["taskType"] = json!("secret-task");
        let e = ModelAnswer::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(e.to_string().contains("taskType"), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
        v["schema"] = json!("other");
        assert!(ModelAnswer::parse(&serde_json::to_vec(&v).unwrap())
            .unwrap_err()
            .to_string()
            .contains("another schema"));
        assert!(matches!(
            ModelAnswer::parse(b"{not json"),
            Err(ModelAnswerError::Invalid(_))
        ));
    }

    #[test]
    fn the_model_answer_sits_next_to_the_reviewed_result() {
        let object = answer().object();
        assert_eq!(
            model_answer_key("reviewed/", &object, "photos-1"),
            "reviewed/raw/photos/beach day.jpg/photos-1.model.json"
        );
        let long = ObjectRef {
            key: "k".repeat(1100),
            ..object
        };
        let key = model_answer_key("reviewed/", &long, "photos-1");
        assert!(key.len() <= 1024, "{}", key.len());
        assert!(key.ends_with("/photos-1.model.json"));
    }
}
