//! The one error model of both functions: which failed AWS calls a retry can fix, and how a
//! handler error is reported to Lambda.
//!
//! - [`CallError::classify`] is the only place that decides whether an SDK error is transient.
//!   Every AWS call of both functions goes through it: S3 `GetObject` and A2I
//!   `DescribeHumanLoop`/`StartHumanLoop` in the start handler, S3 `GetObject`/`PutObject` in
//!   the status handler. A handler that knows more decides *before* it: the status handler
//!   reads a missing `output.json` as lag (retryable), the start handler reads
//!   `ConflictException` on its own loop names as "already started".
//! - [`FunctionError`] gives every handler error its Lambda `errorType`
//!   (`Retryable.<Kind>` / `NonRetryable.<Kind>`, so on-failure destinations and alarms tell
//!   the two apart without parsing messages) and its [`lambda_runtime::Diagnostic`]; both
//!   `main`s map errors with [`FunctionError::diagnostic`] and nothing else.
//!
//! Messages never carry item content: a service's message is kept (it says what the service
//! refused), but values AWS quotes in validation messages (`Value '…' at 'field'`) are
//! withheld, and the message is cut at [`MAX_SERVICE_MESSAGE_CHARS`].

use std::fmt;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Longest service message kept in an error, in characters.
pub const MAX_SERVICE_MESSAGE_CHARS: usize = 300;

/// Error codes that mean "try again later", whatever HTTP status they come with.
///
/// Throttling (the SDK's own throttling list, plus S3's `SlowDown`), transient server
/// conditions (S3 answers `RequestTimeout` with HTTP 400), and A2I's quota of active loops
/// (`ServiceQuotaExceededException`, HTTP 402; Textract and Rekognition say
/// `HumanLoopQuotaExceededException` for the same quota), which frees up as reviewers finish.
pub const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    "RequestTimeTooSkewed",
    "InternalError",
    "InternalFailure",
    "InternalServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceQuotaExceededException",
    "HumanLoopQuotaExceededException",
];

/// Where an AWS call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallFailure {
    /// An SDK timeout (connect, attempt or operation) fired.
    Timeout,
    /// The request was not delivered or the connection broke (DNS, TCP, TLS, I/O), after the
    /// SDK's retries.
    Dispatch,
    /// The SDK refused to send the request as misconfigured (a "user" dispatch failure, such
    /// as an invalid endpoint): the same configuration fails the same way.
    Misconfigured,
    /// A response arrived but could not be read (truncated, not parseable).
    Response,
    /// The request could not be built (a required field missing, an invalid value).
    Construction,
    /// The service answered with an error.
    Service,
    /// A kind of SDK failure newer than this code (the SDK's error type is non-exhaustive).
    Unknown,
}

/// One failed AWS call, classified once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    /// The operation, e.g. `GetObject` or `StartHumanLoop`.
    pub operation: &'static str,
    /// Where it failed.
    pub failure: CallFailure,
    /// The service's error code (`NoSuchKey`, `ThrottlingException`), when it answered.
    pub code: Option<String>,
    /// The HTTP status of the answer, when there was one.
    pub status: Option<u16>,
    /// What went wrong: the service's message (values withheld) or the SDK's description.
    pub detail: Option<String>,
    /// Whether the same call may succeed later without anyone changing anything.
    pub retryable: bool,
}

impl CallError {
    /// Classifies an SDK error of `operation` (any service: S3 and A2I share the rules).
    ///
    /// | failure | retryable |
    /// |---|---|
    /// | timeout | yes |
    /// | dispatch failure (connect, I/O, timeout, other) | yes |
    /// | dispatch failure the SDK calls a user error | no |
    /// | unreadable response | yes |
    /// | request construction | no |
    /// | service error with a code in [`RETRYABLE_CODES`] | yes |
    /// | service error with HTTP 5xx or 429 | yes |
    /// | any other service error (`AccessDenied`, `NoSuchKey`, 412, `ValidationException`, …) | no |
    /// | unknown kind | yes (so an event is retried rather than lost) |
    pub fn classify<E>(operation: &'static str, err: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let base = |failure, retryable, detail: Option<String>| Self {
            operation,
            failure,
            code: None,
            status: None,
            detail,
            retryable,
        };
        match err {
            SdkError::TimeoutError(_) => base(CallFailure::Timeout, true, None),
            SdkError::DispatchFailure(d) => {
                let cause = if d.is_timeout() {
                    "the connection timed out"
                } else if d.is_io() {
                    "the connection failed"
                } else if d.is_user() {
                    "the SDK refused the request"
                } else {
                    "the request could not be sent"
                };
                let detail = format!("{cause}: {}", DisplayErrorContext(err));
                if d.is_user() {
                    base(CallFailure::Misconfigured, false, Some(detail))
                } else {
                    base(CallFailure::Dispatch, true, Some(detail))
                }
            }
            SdkError::ResponseError(r) => Self {
                status: Some(r.raw().status().as_u16()),
                ..base(CallFailure::Response, true, None)
            },
            SdkError::ConstructionFailure(_) => base(
                CallFailure::Construction,
                false,
                Some(DisplayErrorContext(err).to_string()),
            ),
            SdkError::ServiceError(ctx) => {
                let status = ctx.raw().status().as_u16();
                let code = ctx.err().code().map(str::to_owned);
                let retryable = status >= 500
                    || status == 429
                    || code
                        .as_deref()
                        .is_some_and(|c| RETRYABLE_CODES.contains(&c));
                Self {
                    code,
                    status: Some(status),
                    detail: ctx.err().message().map(withhold_values),
                    ..base(CallFailure::Service, retryable, None)
                }
            }
            _ => base(
                CallFailure::Unknown,
                true,
                Some(DisplayErrorContext(err).to_string()),
            ),
        }
    }

    /// A response body that broke off while being read: transient.
    pub fn body_read(operation: &'static str, err: &dyn std::error::Error) -> Self {
        Self {
            operation,
            failure: CallFailure::Response,
            code: None,
            status: None,
            detail: Some(format!("reading the body failed: {err}")),
            retryable: true,
        }
    }

    /// Whether the service answered with `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.operation;
        match self.failure {
            CallFailure::Timeout => write!(f, "{op} timed out")?,
            CallFailure::Dispatch | CallFailure::Misconfigured => {
                write!(f, "{op} could not be sent")?
            }
            CallFailure::Response => write!(f, "{op} returned a response that could not be read")?,
            CallFailure::Construction => write!(f, "{op} request could not be built")?,
            CallFailure::Service => write!(
                f,
                "{op} failed with {}",
                self.code.as_deref().unwrap_or("an error without a code")
            )?,
            CallFailure::Unknown => write!(f, "{op} failed")?,
        }
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CallError {}

/// A service message with quoted values withheld and its length bounded.
///
/// AWS validation messages quote the offending value (`1 validation error detected: Value
/// '…' at 'humanLoopInput.inputContent' failed to satisfy constraint`), and that value can be
/// an item. The field path after it is kept.
fn withhold_values(message: &str) -> String {
    const OPEN: &str = "Value '";
    const CLOSE: &str = "' at '";
    let mut out = String::with_capacity(message.len().min(MAX_SERVICE_MESSAGE_CHARS));
    let mut rest = message;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start + OPEN.len() - 1]);
        let after = &rest[start + OPEN.len()..];
        match after.find(CLOSE) {
            Some(end) => {
                out.push_str("(withheld)");
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("(withheld)");
                rest = "";
            }
        }
    }
    out.push_str(rest);
    match out.char_indices().nth(MAX_SERVICE_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &out[..cut]),
        None => out,
    }
}

/// An error a function reports to Lambda.
pub trait FunctionError: std::error::Error {
    /// A stable name of the error's kind (`ItemsFailed`, `OutputNotFound`, …).
    fn kind(&self) -> &'static str;

    /// Whether invoking again with the same event may succeed.
    fn is_retryable(&self) -> bool;

    /// `Retryable.<Kind>` or `NonRetryable.<Kind>`.
    fn error_type(&self) -> String {
        let class = if self.is_retryable() {
            "Retryable"
        } else {
            "NonRetryable"
        };
        format!("{class}.{}", self.kind())
    }

    /// What the Lambda runtime reports: [`FunctionError::error_type`] and the message.
    fn diagnostic(&self) -> lambda_runtime::Diagnostic {
        lambda_runtime::Diagnostic {
            error_type: self.error_type(),
            error_message: self.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_sdk_s3::primitives::SdkBody;
    use aws_sdk_sagemakera2iruntime::operation::start_human_loop::StartHumanLoopError;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(
            status.try_into().expect("a valid HTTP status in the table"),
            SdkBody::empty(),
        )
    }

    fn s3_service(status: u16, code: &str) -> SdkError<GetObjectError, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message("m").build();
        SdkError::service_error(GetObjectError::generic(meta), response(status))
    }

    fn a2i_service(status: u16, code: &str) -> SdkError<StartHumanLoopError, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message("m").build();
        SdkError::service_error(StartHumanLoopError::generic(meta), response(status))
    }

    fn io_error() -> Box<dyn std::error::Error + Send + Sync> {
        Box::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        ))
    }

    #[test]
    fn sdk_failure_kinds_are_classified_the_same_for_every_service() {
        let s3 = |e: SdkError<GetObjectError, HttpResponse>| CallError::classify("GetObject", &e);
        let a2i = |e: SdkError<StartHumanLoopError, HttpResponse>| {
            CallError::classify("StartHumanLoop", &e)
        };
        let cases: Vec<(&str, CallError, CallError, CallFailure, bool)> = vec![
            (
                "timeout",
                s3(SdkError::timeout_error(io_error())),
                a2i(SdkError::timeout_error(io_error())),
                CallFailure::Timeout,
                true,
            ),
            (
                "dispatch: connection reset",
                s3(SdkError::dispatch_failure(ConnectorError::io(io_error()))),
                a2i(SdkError::dispatch_failure(ConnectorError::io(io_error()))),
                CallFailure::Dispatch,
                true,
            ),
            (
                "dispatch: connect timeout",
                s3(SdkError::dispatch_failure(ConnectorError::timeout(
                    io_error(),
                ))),
                a2i(SdkError::dispatch_failure(ConnectorError::timeout(
                    io_error(),
                ))),
                CallFailure::Dispatch,
                true,
            ),
            (
                "dispatch: other",
                s3(SdkError::dispatch_failure(ConnectorError::other(
                    io_error(),
                    None,
                ))),
                a2i(SdkError::dispatch_failure(ConnectorError::other(
                    io_error(),
                    None,
                ))),
                CallFailure::Dispatch,
                true,
            ),
            (
                "dispatch: user error",
                s3(SdkError::dispatch_failure(ConnectorError::user(io_error()))),
                a2i(SdkError::dispatch_failure(ConnectorError::user(io_error()))),
                CallFailure::Misconfigured,
                false,
            ),
            (
                "unreadable response",
                s3(SdkError::response_error(io_error(), response(200))),
                a2i(SdkError::response_error(io_error(), response(200))),
                CallFailure::Response,
                true,
            ),
            (
                "construction failure",
                s3(SdkError::construction_failure(io_error())),
                a2i(SdkError::construction_failure(io_error())),
                CallFailure::Construction,
                false,
            ),
        ];
        for (name, from_s3, from_a2i, failure, retryable) in cases {
            for e in [from_s3, from_a2i] {
                assert_eq!(e.failure, failure, "{name}: {e}");
                assert_eq!(e.retryable, retryable, "{name}: {e}");
            }
        }
    }

    #[test]
    fn service_errors_are_classified_by_code_then_status() {
        let cases = [
            (400, "ThrottlingException", true),
            (429, "TooManyRequestsException", true),
            (503, "SlowDown", true),
            (400, "RequestTimeout", true),
            (500, "InternalError", true),
            (500, "InternalServerException", true),
            (503, "ServiceUnavailable", true),
            (500, "SomethingNew", true),
            (502, "BadGateway", true),
            (503, "", true),
            (504, "GatewayTimeout", true),
            (402, "ServiceQuotaExceededException", true),
            (400, "HumanLoopQuotaExceededException", true),
            (403, "AccessDenied", false),
            (404, "NoSuchKey", false),
            (404, "NoSuchBucket", false),
            (412, "PreconditionFailed", false),
            (400, "ValidationException", false),
            (409, "ConflictException", false),
            (404, "ResourceNotFoundException", false),
        ];
        for (status, code, retryable) in cases {
            for e in [
                CallError::classify("GetObject", &s3_service(status, code)),
                CallError::classify("StartHumanLoop", &a2i_service(status, code)),
            ] {
                assert_eq!(e.failure, CallFailure::Service);
                assert_eq!(e.retryable, retryable, "{status} {code}: {e}");
                assert_eq!(e.status, Some(status));
                if !code.is_empty() {
                    assert!(e.has_code(code), "{e:?}");
                    assert!(e.to_string().contains(code), "{e}");
                }
            }
        }
    }

    #[test]
    fn messages_name_operation_code_and_status() {
        let e = CallError::classify("GetObject", &s3_service(403, "AccessDenied"));
        assert_eq!(
            e.to_string(),
            "GetObject failed with AccessDenied (HTTP 403): m"
        );
        let e = CallError::classify(
            "StartHumanLoop",
            &SdkError::<StartHumanLoopError, HttpResponse>::timeout_error(io_error()),
        );
        assert_eq!(e.to_string(), "StartHumanLoop timed out");
    }

    #[test]
    fn values_quoted_in_service_messages_are_withheld() {
        let meta = ErrorMetadata::builder()
            .code("ValidationException")
            .message("1 validation error detected: Value '{\"secret\": \"item text\"}' at 'humanLoopInput.inputContent' failed to satisfy constraint; Value 'x' at 'humanLoopName' too")
            .build();
        let err = SdkError::service_error(StartHumanLoopError::generic(meta), response(400));
        let e = CallError::classify("StartHumanLoop", &err);
        let text = e.to_string();
        assert!(!text.contains("secret") && !text.contains("'x'"), "{text}");
        assert!(text.contains("at 'humanLoopInput.inputContent'"), "{text}");
        assert!(text.contains("Value (withheld)"), "{text}");
        let long = "y".repeat(5 * MAX_SERVICE_MESSAGE_CHARS);
        assert_eq!(
            withhold_values(&long).chars().count(),
            MAX_SERVICE_MESSAGE_CHARS + 1
        );
        assert_eq!(withhold_values("Value 'open"), "Value (withheld)");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("it broke")]
    struct Broke(bool);

    impl FunctionError for Broke {
        fn kind(&self) -> &'static str {
            "Broke"
        }
        fn is_retryable(&self) -> bool {
            self.0
        }
    }

    #[test]
    fn the_error_type_says_whether_a_retry_helps() {
        assert_eq!(Broke(true).error_type(), "Retryable.Broke");
        let d = Broke(false).diagnostic();
        assert_eq!(d.error_type, "NonRetryable.Broke");
        assert_eq!(d.error_message, "it broke");
    }
}
