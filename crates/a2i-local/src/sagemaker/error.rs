//! The control plane's error shapes and how they travel on the wire (awsJson1_1): the shape
//! name in the body's `__type` (the only place botocore looks) and in the `X-Amzn-ErrorType`
//! header (where the Rust SDK looks first), the message in `Message`, HTTP 400 for every
//! client error.

use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde::Serialize;

use crate::http::{json_response, ResponseBody};

/// The awsJson 1.1 content type of every control-plane response.
pub const AWS_JSON_1_1: &str = "application/x-amz-json-1.1";

/// An error answered by the SageMaker control plane; one variant per error shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SageMakerError {
    /// `ValidationException`: the request breaks a model constraint (not modeled by SageMaker,
    /// but what its front end answers).
    #[error("{0}")]
    Validation(String),
    /// `SerializationException`: the body is not JSON, or a member has the wrong JSON type.
    #[error("{0}")]
    Serialization(String),
    /// `ResourceInUse`: the name is taken.
    #[error("{0}")]
    ResourceInUse(String),
    /// `ResourceNotFound`: no such task UI or flow definition.
    #[error("{0}")]
    ResourceNotFound(String),
    /// `ResourceLimitExceeded`: the configured number of resources exists already.
    #[error("{0}")]
    ResourceLimitExceeded(String),
    /// `UnknownOperationException`: the `X-Amz-Target` names no operation served here.
    #[error("{0}")]
    UnknownOperation(String),
    /// `InternalFailure` (500): the state file could not be written.
    #[error("{0}")]
    Internal(String),
}

impl SageMakerError {
    /// The error shape name (SageMaker's own shapes have no `Exception` suffix).
    pub fn shape(&self) -> &'static str {
        match self {
            SageMakerError::Validation(_) => "ValidationException",
            SageMakerError::Serialization(_) => "SerializationException",
            SageMakerError::ResourceInUse(_) => "ResourceInUse",
            SageMakerError::ResourceNotFound(_) => "ResourceNotFound",
            SageMakerError::ResourceLimitExceeded(_) => "ResourceLimitExceeded",
            SageMakerError::UnknownOperation(_) => "UnknownOperationException",
            SageMakerError::Internal(_) => "InternalFailure",
        }
    }

    /// 400 for client errors (the API reference gives 400 for ResourceInUse and
    /// ResourceNotFound), 500 for a local failure.
    pub fn status(&self) -> StatusCode {
        match self {
            SageMakerError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        match self {
            SageMakerError::Validation(m)
            | SageMakerError::Serialization(m)
            | SageMakerError::ResourceInUse(m)
            | SageMakerError::ResourceNotFound(m)
            | SageMakerError::ResourceLimitExceeded(m)
            | SageMakerError::UnknownOperation(m)
            | SageMakerError::Internal(m) => m,
        }
    }

    /// The awsJson 1.1 error response (the request id is added by the caller).
    pub fn into_response(self) -> Response<ResponseBody> {
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(rename = "__type")]
            shape: &'a str,
            #[serde(rename = "Message")]
            message: &'a str,
        }
        let response = json_response(
            self.status(),
            &Body {
                shape: self.shape(),
                message: self.message(),
            },
        );
        let mut response = with_aws_json(response);
        response
            .headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(self.shape()));
        response
    }
}

/// Sets the awsJson 1.1 content type on a JSON response.
pub fn with_aws_json(mut response: Response<ResponseBody>) -> Response<ResponseBody> {
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(AWS_JSON_1_1));
    response
}

/// Values longer than this are never echoed back in messages.
const MAX_ECHOED_VALUE: usize = 128;

/// Collects model-constraint violations so that one response names all of them, in the
/// wording of AWS front ends: `N validation error(s) detected: Value '…' at 'member.path'
/// failed to satisfy constraint: Member must …`.
#[derive(Debug, Default)]
pub struct Violations {
    items: Vec<String>,
}

impl Violations {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// `value` at `field` breaks `rule`; the value is echoed when short (use only for names,
    /// ARNs, numbers and enums, never for content).
    pub fn value(&mut self, field: &str, value: &str, rule: &str) {
        if value.chars().count() > MAX_ECHOED_VALUE {
            self.hidden(field, rule);
        } else {
            self.items.push(format!(
                "Value '{value}' at '{field}' failed to satisfy constraint: Member must {rule}"
            ));
        }
    }

    /// The value at `field` breaks `rule`; the value is not echoed (templates, task input,
    /// titles, conditions).
    pub fn hidden(&mut self, field: &str, rule: &str) {
        self.items.push(format!(
            "Value at '{field}' failed to satisfy constraint: Member must {rule}"
        ));
    }

    /// A required member is missing.
    pub fn missing(&mut self, field: &str) {
        self.items.push(format!(
            "Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ));
    }

    /// A violation whose text is complete.
    pub fn other(&mut self, text: String) {
        self.items.push(text);
    }

    /// `Ok(())` when nothing was recorded, otherwise the ValidationException naming every
    /// violation.
    pub fn into_result(self) -> Result<(), SageMakerError> {
        match self.items.len() {
            0 => Ok(()),
            1 => Err(SageMakerError::Validation(format!(
                "1 validation error detected: {}",
                self.items[0]
            ))),
            n => Err(SageMakerError::Validation(format!(
                "{n} validation errors detected: {}",
                self.items.join("; ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn errors_carry_the_shape_in_the_body_and_the_header() {
        let response = SageMakerError::ResourceNotFound("gone".into()).into_response();
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()["x-amzn-errortype"], "ResourceNotFound");
        assert_eq!(response.headers()[CONTENT_TYPE], AWS_JSON_1_1);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"__type": "ResourceNotFound", "Message": "gone"})
        );
    }

    #[test]
    fn only_local_failures_are_server_errors() {
        assert_eq!(SageMakerError::Internal(String::new()).status(), 500);
        for err in [
            SageMakerError::Validation(String::new()),
            SageMakerError::Serialization(String::new()),
            SageMakerError::ResourceInUse(String::new()),
            SageMakerError::ResourceNotFound(String::new()),
            SageMakerError::ResourceLimitExceeded(String::new()),
            SageMakerError::UnknownOperation(String::new()),
        ] {
            assert_eq!(err.status(), 400, "{}", err.shape());
        }
    }

    #[test]
    fn hidden_and_long_values_are_not_echoed() {
        let mut v = Violations::new();
        v.hidden("task.input", "have length greater than or equal to 2");
        v.value("humanTaskUiName", &"x".repeat(200), "be short");
        let err = v.into_result().unwrap_err();
        assert_eq!(
            err.message(),
            "2 validation errors detected: Value at 'task.input' failed to satisfy \
             constraint: Member must have length greater than or equal to 2; Value at \
             'humanTaskUiName' failed to satisfy constraint: Member must be short"
        );
    }
}
