//! Answering CloudFormation: the response body, and the HTTP PUT of it to the request's
//! pre-signed `ResponseURL`.

use std::time::Duration;

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse, CloudFormationCustomResourceResponseStatus,
};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use tokio::time::Instant;

/// CloudFormation refuses a response body larger than this (bytes).
pub const MAX_RESPONSE_BYTES: usize = 4096;

/// Longest `Reason` sent, in bytes of UTF-8 (cut at a character boundary, then `…`): the
/// rest of the body (ids, ARNs, data) must still fit in [`MAX_RESPONSE_BYTES`].
pub const MAX_REASON_BYTES: usize = 1500;

/// Attempts of the PUT before the invocation fails (and Lambda's async retry runs the
/// request again, idempotently).
const PUT_ATTEMPTS: u32 = 3;

/// Longest wait for one PUT attempt.
const PUT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a response could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    /// The `ResponseURL` is not an absolute http(s) URL.
    #[error("ResponseURL is not an http(s) URL")]
    BadUrl,
    /// The body would exceed CloudFormation's limit even with the reason cut.
    #[error("response body of {0} bytes exceeds CloudFormation's {MAX_RESPONSE_BYTES}")]
    TooLarge(usize),
    /// Every attempt failed; the last failure.
    #[error("PUT to the ResponseURL failed after {attempts} attempts: {last}")]
    Failed {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's failure (status or transport error).
        last: String,
    },
}

/// A response with `status`, `reason` (cut to [`MAX_REASON_BYTES`]) and the request's ids.
pub fn response(
    status: CloudFormationCustomResourceResponseStatus,
    reason: &str,
    physical_resource_id: &str,
    ids: &RequestIds,
) -> CloudFormationCustomResourceResponse {
    let mut r = CloudFormationCustomResourceResponse::default();
    r.status = status;
    r.reason = Some(cut(reason, MAX_REASON_BYTES));
    r.physical_resource_id = physical_resource_id.to_owned();
    r.stack_id = ids.stack_id.clone();
    r.request_id = ids.request_id.clone();
    r.logical_resource_id = ids.logical_resource_id.clone();
    r
}

/// The ids a response copies from its request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestIds {
    /// `StackId`.
    pub stack_id: String,
    /// `RequestId`.
    pub request_id: String,
    /// `LogicalResourceId`.
    pub logical_resource_id: String,
}

fn cut(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let mut at = max_bytes;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    format!("{}…", &text[..at])
}

/// Sends responses: an HTTP/1.1 client (hyper and rustls, as the AWS SDK uses) trusting the
/// same roots as the SDK clients ([`crate::aws::https_client`]).
#[derive(Debug)]
pub struct Responder {
    connector: Connector,
}

impl Default for Responder {
    fn default() -> Self {
        Self::new()
    }
}

impl Responder {
    /// A responder; builds its TLS configuration now (once per cold start).
    pub fn new() -> Self {
        let connector = Connector::builder()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(crate::aws::tls_context())
            .build();
        Self { connector }
    }

    /// PUTs `response` to `url` with an empty `Content-Type`, as CloudFormation's pre-signed
    /// S3 URL requires (a content type that was not signed fails with
    /// `SignatureDoesNotMatch`). Retries a failed attempt (transport error, 5xx) until
    /// `PUT_ATTEMPTS` or `deadline`.
    pub async fn send(
        &self,
        url: &str,
        response: &CloudFormationCustomResourceResponse,
        deadline: Instant,
    ) -> Result<(), ResponseError> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ResponseError::BadUrl);
        }
        let body = serde_json::to_vec(response).map_err(|e| ResponseError::Failed {
            attempts: 0,
            last: format!("serializing the response: {e}"),
        })?;
        if body.len() > MAX_RESPONSE_BYTES {
            return Err(ResponseError::TooLarge(body.len()));
        }
        let mut last = String::new();
        for attempt in 1..=PUT_ATTEMPTS {
            let mut request = HttpRequest::new(SdkBody::from(body.clone()));
            request
                .set_method("PUT")
                .map_err(|_| ResponseError::BadUrl)?;
            request.set_uri(url).map_err(|_| ResponseError::BadUrl)?;
            request.headers_mut().insert("content-type", "");
            request
                .headers_mut()
                .insert("content-length", body.len().to_string());
            let attempt_deadline = (Instant::now() + PUT_ATTEMPT_TIMEOUT).min(deadline);
            match tokio::time::timeout_at(attempt_deadline, self.connector.call(request)).await {
                Ok(Ok(answer)) if answer.status().is_success() => return Ok(()),
                Ok(Ok(answer)) => {
                    last = format!("HTTP {}", answer.status().as_u16());
                    // A 4xx (expired or mismatched signature) will not change on a retry.
                    if answer.status().is_client_error() {
                        return Err(ResponseError::Failed {
                            attempts: attempt,
                            last,
                        });
                    }
                }
                Ok(Err(e)) => {
                    last = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string()
                }
                Err(_) => last = "timed out".into(),
            }
            if Instant::now() + Duration::from_millis(200) >= deadline {
                return Err(ResponseError::Failed {
                    attempts: attempt,
                    last,
                });
            }
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
        Err(ResponseError::Failed {
            attempts: PUT_ATTEMPTS,
            last,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_reason_is_cut_and_the_body_stays_under_cloudformations_limit() {
        let ids = RequestIds {
            stack_id: format!(
                "arn:aws:cloudformation:us-east-1:111122223333:stack/{}/guid",
                "s".repeat(128)
            ),
            request_id: "r".repeat(36),
            logical_resource_id: "L".repeat(255),
        };
        let mut r = response(
            CloudFormationCustomResourceResponseStatus::Failed,
            &"é".repeat(5000),
            &format!(
                "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/{}",
                "a".repeat(63)
            ),
            &ids,
        );
        let reason = r.reason.as_ref().unwrap();
        assert_eq!(reason.len(), MAX_REASON_BYTES + "…".len());
        assert!(reason.ends_with("é…"));
        for (k, v) in [
            ("FlowDefinitionArn", "a".repeat(140)),
            ("HumanTaskUiArn", "a".repeat(140)),
            ("FlowDefinitionName", "a".repeat(63)),
            ("HumanTaskUiName", "a".repeat(63)),
        ] {
            r.data.insert(k.into(), v);
        }
        let body = serde_json::to_vec(&r).unwrap();
        assert!(body.len() <= MAX_RESPONSE_BYTES, "{}", body.len());
    }
}
