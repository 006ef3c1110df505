//! The A2I runtime's error shapes and how they travel on the wire (restJson1).
//!
//! Every error carries the `X-Amzn-ErrorType` header with the bare shape name, a JSON body
//! with both `message` (read by botocore and the Rust SDK's generic parser) and `Message`
//! (the modeled member the Rust SDK's typed deserializers read), and the status code the
//! AWS model assigns to the shape.

use hyper::header::HeaderValue;
use hyper::{Response, StatusCode};
use serde::Serialize;

use crate::http::{json_response, ResponseBody};

/// An error answered by the A2I port; one variant per error shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: the request breaks a model constraint or the loop state machine.
    #[error("{0}")]
    Validation(String),
    /// 404: the loop does not exist (or was deleted).
    #[error("{0}")]
    ResourceNotFound(String),
    /// 409: a loop with this name is active with different input.
    #[error("{0}")]
    Conflict(String),
    /// 402: a service quota was exceeded.
    #[error("{0}")]
    // Modelled with the other shapes; no local condition answers it yet.
    #[allow(dead_code)]
    ServiceQuotaExceeded(String),
    /// 429: the requests-per-second quota fault knob refused the request.
    #[error("{0}")]
    Throttling(String),
    /// 500: an injected fault or a local failure (for example, the state file cannot be written).
    #[error("{0}")]
    InternalServer(String),
    /// 404: no operation matches the method and path (what AWS front ends answer).
    #[error("{0}")]
    UnknownOperation(String),
}

impl ApiError {
    /// The error shape name sent in `X-Amzn-ErrorType`.
    pub fn shape(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "ValidationException",
            ApiError::ResourceNotFound(_) => "ResourceNotFoundException",
            ApiError::Conflict(_) => "ConflictException",
            ApiError::ServiceQuotaExceeded(_) => "ServiceQuotaExceededException",
            ApiError::Throttling(_) => "ThrottlingException",
            ApiError::InternalServer(_) => "InternalServerException",
            ApiError::UnknownOperation(_) => "UnknownOperationException",
        }
    }

    /// The HTTP status the AWS model assigns to the shape (a2i-facts §1.4).
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::ResourceNotFound(_) | ApiError::UnknownOperation(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::ServiceQuotaExceeded(_) => StatusCode::PAYMENT_REQUIRED,
            ApiError::Throttling(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::InternalServer(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        match self {
            ApiError::Validation(m)
            | ApiError::ResourceNotFound(m)
            | ApiError::Conflict(m)
            | ApiError::ServiceQuotaExceeded(m)
            | ApiError::Throttling(m)
            | ApiError::InternalServer(m)
            | ApiError::UnknownOperation(m) => m,
        }
    }

    /// Renders the error as a restJson1 error response (the request id is added by the
    /// caller, which adds it to every response).
    pub fn into_response(self) -> Response<ResponseBody> {
        #[derive(Serialize)]
        struct Body<'a> {
            message: &'a str,
            #[serde(rename = "Message")]
            message_modeled: &'a str,
        }
        let mut response = json_response(
            self.status(),
            &Body {
                message: self.message(),
                message_modeled: self.message(),
            },
        );
        response
            .headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(self.shape()));
        response
    }
}

/// Collects model-constraint violations so one response can name all of them, in the
/// format AWS front ends use: `N validation error(s) detected: Value '…' at 'field' failed
/// to satisfy constraint: Member must …`.
#[derive(Debug, Default)]
pub struct Violations {
    items: Vec<String>,
}

/// Values longer than this are not echoed back in messages (an InputContent can be 3 MB).
const MAX_ECHOED_VALUE: usize = 128;

impl Violations {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `value` at `field` (the camelCase member path AWS messages use) breaks `rule`.
    pub fn value(&mut self, field: &str, value: &str, rule: &str) {
        if value.chars().count() > MAX_ECHOED_VALUE {
            self.items.push(format!(
                "Value at '{field}' failed to satisfy constraint: Member must {rule}"
            ));
        } else {
            self.items.push(format!(
                "Value '{value}' at '{field}' failed to satisfy constraint: Member must {rule}"
            ));
        }
    }

    /// Records that a required member is missing.
    pub fn missing(&mut self, field: &str) {
        self.items.push(format!(
            "Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ));
    }

    /// Records a violation whose text is already complete.
    pub fn other(&mut self, text: String) {
        self.items.push(text);
    }

    /// `Ok(())` when nothing was recorded, otherwise the ValidationException naming every violation.
    pub fn into_result(self) -> Result<(), ApiError> {
        match self.items.len() {
            0 => Ok(()),
            1 => Err(ApiError::Validation(format!(
                "1 validation error detected: {}",
                self.items[0]
            ))),
            n => Err(ApiError::Validation(format!(
                "{n} validation errors detected: {}",
                self.items.join("; ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_has_the_modeled_status() {
        let cases = [
            (ApiError::Validation(String::new()), 400),
            (ApiError::ServiceQuotaExceeded(String::new()), 402),
            (ApiError::ResourceNotFound(String::new()), 404),
            (ApiError::Conflict(String::new()), 409),
            (ApiError::Throttling(String::new()), 429),
            (ApiError::InternalServer(String::new()), 500),
            (ApiError::UnknownOperation(String::new()), 404),
        ];
        for (err, status) in cases {
            assert_eq!(err.status().as_u16(), status, "{}", err.shape());
        }
    }

    #[test]
    fn violations_are_counted_and_joined() {
        let mut v = Violations::new();
        v.missing("humanLoopName");
        v.value("maxResults", "0", "have value greater than or equal to 1");
        let err = v.into_result().unwrap_err();
        assert_eq!(
            err.message(),
            "2 validation errors detected: Value null at 'humanLoopName' failed to satisfy \
             constraint: Member must not be null; Value '0' at 'maxResults' failed to satisfy \
             constraint: Member must have value greater than or equal to 1"
        );
    }

    #[test]
    fn long_values_are_not_echoed() {
        let mut v = Violations::new();
        v.value("f", &"x".repeat(500), "be short");
        let err = v.into_result().unwrap_err();
        assert!(!err.message().contains("xxxx"));
    }
}
