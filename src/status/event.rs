//! The EventBridge event A2I sends when a human loop's status changes, parsed once at the edge.
//!
//! The envelope is `aws_lambda_events`' [`EventBridgeEvent`]; the `detail` is
//! [`A2iStatusDetail`], read field by field so that a bad event is rejected with the field's
//! path. Fields that AWS documents but a real capture lacks (`humanLoopArn`,
//! `flowDefinitionArn`, `account`, `resources`) are optional; the status is kept even when it
//! is not one this handler accepts, so the handler can name it in its error.

use std::fmt;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::json::{FieldError, Fields};

pub use super::error::{DETAIL_TYPE, SOURCE};

/// Longest `HumanLoopName` the A2I API accepts (characters).
pub const MAX_LOOP_NAME_CHARS: usize = 63;

/// A parsed A2I status-change event.
pub type StatusEvent = EventBridgeEvent<A2iStatusDetail>;

/// A loop's status as the event names it. The A2I API has exactly five; anything else is kept
/// verbatim in [`HumanLoopStatus::Other`] so the error can say what arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HumanLoopStatus {
    /// Still waiting for workers (not sent as an event per the docs, but in the API's enum).
    InProgress,
    /// Being stopped.
    Stopping,
    /// Workers answered (possibly zero answers).
    Completed,
    /// A2I gave up on the loop (`failureCode` says why, e.g. `Expired`).
    Failed,
    /// Someone called `StopHumanLoop`.
    Stopped,
    /// A value outside the API's enum.
    Other(String),
}

impl HumanLoopStatus {
    /// The status as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InProgress => "InProgress",
            Self::Stopping => "Stopping",
            Self::Completed => "Completed",
            Self::Failed => "Failed",
            Self::Stopped => "Stopped",
            Self::Other(s) => s,
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "InProgress" => Self::InProgress,
            "Stopping" => Self::Stopping,
            "Completed" => Self::Completed,
            "Failed" => Self::Failed,
            "Stopped" => Self::Stopped,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for HumanLoopStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for HumanLoopStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A loop name that is safe to use as one segment of a result key.
///
/// The API's documented pattern (`^[a-z0-9](-*[a-z0-9])*$`) is deliberately not enforced: a
/// real captured event carries `Translate-HumanLoop-Text1653596060257`, so A2I accepted names
/// outside it. What is enforced is what the key needs: 1 to 63 characters, no `/`, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct LoopName(String);

impl LoopName {
    /// Checks `name` against the rules above; the error is the broken rule.
    pub fn parse(name: &str) -> Result<Self, &'static str> {
        let chars = name.chars().count();
        if chars == 0 {
            Err("it must not be empty")
        } else if chars > MAX_LOOP_NAME_CHARS {
            Err("it must be at most 63 characters")
        } else if name.chars().any(|c| c == '/' || c.is_control()) {
            Err("it must not contain '/' or control characters")
        } else {
            Ok(Self(name.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LoopName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `detail.humanLoopOutput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HumanLoopOutputRef {
    /// Where A2I writes (or wrote) `output.json`.
    pub output_s3_uri: Option<String>,
}

/// The `detail` of a `SageMaker A2I HumanLoop Status Change` event (camelCase on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct A2iStatusDetail {
    /// When A2I created the loop.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub creation_time: DateTime<Utc>,
    /// Kind of failure (`ValidationError`, `Expired`, `InternalError` per the API docs).
    pub failure_code: Option<String>,
    /// A2I's explanation, set for failed loops.
    pub failure_reason: Option<String>,
    /// The loop's flow definition (absent in some real captures).
    pub flow_definition_arn: Option<String>,
    /// The loop's ARN (absent in some real captures; `resources` then may hold it).
    pub human_loop_arn: Option<String>,
    /// The loop's name.
    pub human_loop_name: LoopName,
    /// Where the output is, when A2I names it.
    pub human_loop_output: Option<HumanLoopOutputRef>,
    /// The new status.
    pub human_loop_status: HumanLoopStatus,
}

impl A2iStatusDetail {
    /// Reads the detail object; errors name the field under `detail.`.
    pub fn from_json(value: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(value, "detail")?;
        let name = f.req_str("humanLoopName")?;
        let human_loop_name = LoopName::parse(name)
            .map_err(|rule| FieldError::new(f.path_of("humanLoopName"), rule))?;
        let output_path = f.path_of("humanLoopOutput");
        let human_loop_output = match f.opt_object_value("humanLoopOutput")? {
            None => None,
            Some(v) => {
                let o = Fields::of(v, &output_path)?;
                Some(HumanLoopOutputRef {
                    output_s3_uri: o.opt_str("outputS3Uri")?.map(str::to_owned),
                })
            }
        };
        Ok(Self {
            creation_time: f.req_time("creationTime")?,
            failure_code: f.opt_str("failureCode")?.map(str::to_owned),
            failure_reason: f.opt_str("failureReason")?.map(str::to_owned),
            flow_definition_arn: f.opt_str("flowDefinitionArn")?.map(str::to_owned),
            human_loop_arn: f.opt_str("humanLoopArn")?.map(str::to_owned),
            human_loop_name,
            human_loop_output,
            human_loop_status: HumanLoopStatus::parse(f.req_str("humanLoopStatus")?),
        })
    }

    /// The output URI, when A2I gave one.
    pub fn output_s3_uri(&self) -> Option<&str> {
        self.human_loop_output
            .as_ref()
            .and_then(|o| o.output_s3_uri.as_deref())
    }
}

impl<'de> Deserialize<'de> for A2iStatusDetail {
    /// Goes through [`A2iStatusDetail::from_json`] so serde and the handler share one set of
    /// rules and one kind of message.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Self::from_json(&v).map_err(serde::de::Error::custom)
    }
}

/// The loop's ARN: `detail.humanLoopArn`, or else the one `resources` entry that is a
/// human-loop ARN (AWS documents `resources` as holding it).
pub fn human_loop_arn(event: &StatusEvent) -> Option<&str> {
    event.detail.human_loop_arn.as_deref().or_else(|| {
        let mut loops = event
            .resources
            .iter()
            .flatten()
            .filter(|r| r.contains(":human-loop/"));
        match (loops.next(), loops.next()) {
            (Some(one), None) => Some(one.as_str()),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::error::StatusError;
    use crate::status::parse::parse_event;
    use serde_json::json;

    /// AWS's documented example (developer guide, "Use Amazon CloudWatch Events"), with the
    /// 13-digit account typo fixed.
    pub(crate) fn documented_example() -> Value {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/a2i-documented-example.json"
        ))
        .expect("the fixture is valid JSON")
    }

    #[test]
    fn the_documented_example_parses_into_typed_fields() {
        let e = parse_event(documented_example()).unwrap();
        assert_eq!(
            e.id.as_deref(),
            Some("12345678-1111-2222-3333-12345EXAMPLE")
        );
        assert_eq!(e.time.unwrap().to_rfc3339(), "2019-11-14T17:49:25+00:00");
        let d = &e.detail;
        assert_eq!(d.human_loop_name.as_str(), "humanloop-nov-14-1");
        assert_eq!(d.human_loop_status, HumanLoopStatus::Completed);
        assert_eq!(d.failure_code, None);
        assert_eq!(d.failure_reason, None);
        assert_eq!(d.creation_time.timestamp_subsec_millis(), 740);
        assert!(d
            .output_s3_uri()
            .unwrap()
            .ends_with("/humanloop-nov-14-1/output.json"));
        assert_eq!(
            human_loop_arn(&e),
            Some("arn:aws:sagemaker:us-east-1:111111111111:human-loop/humanloop-nov-14-1")
        );
    }

    #[test]
    fn a_capture_without_arns_parses_and_the_arn_falls_back_to_resources() {
        let mut v = documented_example();
        let d = v["detail"].as_object_mut().unwrap();
        d.remove("humanLoopArn");
        d.remove("flowDefinitionArn");
        let e = parse_event(v.clone()).unwrap();
        assert_eq!(e.detail.flow_definition_arn, None);
        assert!(human_loop_arn(&e)
            .unwrap()
            .ends_with(":human-loop/humanloop-nov-14-1"));
        v.as_object_mut().unwrap().remove("resources");
        v.as_object_mut().unwrap().remove("account");
        let e = parse_event(v).unwrap();
        assert_eq!(human_loop_arn(&e), None);
    }

    #[test]
    fn failed_and_stopped_may_have_no_output() {
        let mut v = documented_example();
        v["detail"]["humanLoopStatus"] = json!("Failed");
        v["detail"]["failureCode"] = json!("Expired");
        v["detail"]["failureReason"] = json!("The human loop expired.");
        v["detail"]["humanLoopOutput"] = Value::Null;
        let e = parse_event(v.clone()).unwrap();
        assert_eq!(e.detail.human_loop_status, HumanLoopStatus::Failed);
        assert_eq!(e.detail.failure_code.as_deref(), Some("Expired"));
        assert_eq!(e.detail.output_s3_uri(), None);
        v["detail"]
            .as_object_mut()
            .unwrap()
            .remove("humanLoopOutput");
        v["detail"]["humanLoopStatus"] = json!("Stopped");
        let e = parse_event(v).unwrap();
        assert_eq!(e.detail.human_loop_status, HumanLoopStatus::Stopped);
        assert_eq!(e.detail.human_loop_output, None);
    }

    #[test]
    fn unknown_statuses_are_kept_verbatim() {
        let mut v = documented_example();
        v["detail"]["humanLoopStatus"] = json!("Deleting");
        let e = parse_event(v).unwrap();
        assert_eq!(
            e.detail.human_loop_status,
            HumanLoopStatus::Other("Deleting".into())
        );
        assert_eq!(e.detail.human_loop_status.to_string(), "Deleting");
    }

    #[test]
    fn foreign_source_and_detail_type_are_named() {
        let mut v = documented_example();
        v["source"] = json!("aws.s3");
        v["detail"] = json!({"bucket": {"name": "x"}});
        match parse_event(v).unwrap_err() {
            StatusError::ForeignSource { event_source } => assert_eq!(event_source, "aws.s3"),
            other => panic!("{other:?}"),
        }
        let mut v = documented_example();
        v["detail-type"] = json!("SageMaker Training Job State Change");
        let e = parse_event(v).unwrap_err();
        assert!(!e.is_retryable());
        assert!(
            e.to_string()
                .contains("SageMaker Training Job State Change"),
            "{e}"
        );
    }

    #[test]
    fn bad_detail_fields_are_named_by_path() {
        let cases = [
            (
                "humanLoopName",
                json!(7),
                "detail.humanLoopName",
                "found a number",
            ),
            ("humanLoopName", json!(""), "detail.humanLoopName", "empty"),
            ("humanLoopName", json!("a/b"), "detail.humanLoopName", "'/'"),
            (
                "humanLoopName",
                json!("x".repeat(64)),
                "detail.humanLoopName",
                "63",
            ),
            (
                "creationTime",
                json!("yesterday"),
                "detail.creationTime",
                "RFC 3339",
            ),
            (
                "humanLoopStatus",
                Value::Null,
                "detail.humanLoopStatus",
                "found null",
            ),
            (
                "failureReason",
                json!(["x"]),
                "detail.failureReason",
                "found an array",
            ),
            (
                "humanLoopOutput",
                json!("s3://b/k"),
                "detail.humanLoopOutput",
                "found a string",
            ),
        ];
        for (field, value, path, problem) in cases {
            let mut v = documented_example();
            v["detail"][field] = value;
            match parse_event(v).unwrap_err() {
                StatusError::InvalidEvent {
                    field: f,
                    problem: p,
                } => {
                    assert_eq!(f, path);
                    assert!(p.contains(problem), "{field}: {p}");
                }
                other => panic!("{field}: {other:?}"),
            }
        }
        let mut v = documented_example();
        v["detail"]["humanLoopOutput"] = json!({"outputS3Uri": 1});
        let e = parse_event(v).unwrap_err();
        assert!(
            e.to_string().contains("detail.humanLoopOutput.outputS3Uri"),
            "{e}"
        );
    }

    #[test]
    fn a_non_object_or_detail_less_event_is_invalid() {
        assert!(matches!(
            parse_event(json!("hello")).unwrap_err(),
            StatusError::InvalidEvent { .. }
        ));
        let mut v = documented_example();
        v.as_object_mut().unwrap().remove("detail");
        let e = parse_event(v).unwrap_err();
        assert!(e.to_string().contains("detail"), "{e}");
        let mut v = documented_example();
        v.as_object_mut().unwrap().remove("source");
        let e = parse_event(v).unwrap_err();
        assert!(e.to_string().contains("source"), "{e}");
    }

    #[test]
    fn bad_envelope_fields_are_named_by_path_without_their_value() {
        let cases = [
            (
                "time",
                json!("secret o'clock"),
                "time",
                "expected an RFC 3339 timestamp",
            ),
            ("time", json!(5), "time", "found a number"),
            ("resources", json!("secret"), "resources", "found a string"),
            (
                "resources",
                json!(["ok", 7]),
                "resources[1]",
                "expected a string, found a number",
            ),
            (
                "version",
                json!(0),
                "version",
                "expected a string, found a number",
            ),
            ("id", json!({"secret": 1}), "id", "found an object"),
        ];
        for (field, value, path, problem) in cases {
            let mut v = documented_example();
            v[field] = value;
            match parse_event(v).unwrap_err() {
                StatusError::InvalidEvent {
                    field: f,
                    problem: p,
                } => {
                    assert_eq!(f, path, "{field}");
                    assert!(p.contains(problem), "{field}: {p}");
                    assert!(!p.contains("secret"), "{field}: {p}");
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_typed_event_serializes_back_to_the_wire_shape() {
        let e = parse_event(documented_example()).unwrap();
        let back = serde_json::to_value(&e).unwrap();
        assert_eq!(back["detail"], documented_example()["detail"]);
        assert_eq!(back["detail-type"], json!(DETAIL_TYPE));
    }
}
