//! The A2I port: every request gets a request id; `POST /` with an `X-Amz-Target` goes to the
//! awsJson service its prefix names (`SageMaker.*`: the control plane), task UI templates are
//! served under `/_local/human-task-uis/`, `/_local/…` goes to the control surface, and
//! everything else is matched against the five runtime operations and run through the fault
//! knobs.

use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;
use tracing::Instrument;

use super::error::ApiError;
use super::token::{self, TokenScope};
use super::validate;
use super::wire::{
    DescribeHumanLoopResponse, Empty, HumanLoopSummary, ListHumanLoopsResponse,
    StartHumanLoopResponse,
};
use crate::builtin::{self, BuiltinContext};
use crate::engine::Engine;
use crate::http::{json_response, parse_query, read_body, BodyError, ResponseBody};
use crate::loops::{ListQuery, LoopError};
use crate::sagemaker::SageMakerApi;

/// The prefix of the control surface; A2I paths all start with `/human-loops`.
pub const CONTROL_PREFIX: &str = "/_local";

/// Everything the A2I port serves: the runtime (through the engine) and the awsJson services
/// chosen by the `X-Amz-Target` prefix.
#[derive(Debug, Clone)]
pub struct PortServices {
    /// The loop engine (runtime operations and control surface).
    pub engine: Arc<Engine>,
    /// The SageMaker control plane (`SageMaker.*`).
    pub sagemaker: Arc<SageMakerApi>,
    /// The built-in task types (`Textract.*`, `RekognitionService.*`).
    pub builtin: Arc<BuiltinContext>,
    /// The worker portal (`/_local/portal/`).
    pub portal: Arc<crate::portal::Portal>,
}

/// The awsJson service a request is for: `POST /` with `X-Amz-Target: <Prefix>.<Operation>`.
/// Returns the prefix and the operation.
pub fn aws_json_target<B>(request: &Request<B>) -> Option<(String, String)> {
    if request.method() != Method::POST || request.uri().path() != "/" {
        return None;
    }
    let target = request.headers().get("x-amz-target")?.to_str().ok()?;
    let (prefix, operation) = target.split_once('.').unwrap_or((target, ""));
    Some((prefix.to_owned(), operation.to_owned()))
}

/// Serves an awsJson request by its target prefix; unknown prefixes get an awsJson
/// `UnknownOperationException`.
async fn aws_json(
    services: &PortServices,
    prefix: &str,
    operation: &str,
    request: Request<Incoming>,
) -> Response<ResponseBody> {
    if let Some(service) = builtin::service_of_target(&format!("{prefix}.{operation}")) {
        return match read_body(request.into_body()).await {
            Ok(body) => builtin::handle(&services.engine, &services.builtin, service, &body).await,
            Err(err) => builtin::BuiltinError::InvalidParameter(err.to_string()).into_response(),
        };
    }
    match prefix {
        crate::sagemaker::TARGET_PREFIX => services.sagemaker.handle(operation, request).await,
        _ => crate::sagemaker::SageMakerError::UnknownOperation(format!(
            "No service with target prefix '{prefix}' is served by a2i-local; it serves \
             {}.*, Textract.AnalyzeDocument and RekognitionService.DetectModerationLabels \
             on this port.",
            crate::sagemaker::TARGET_PREFIX
        ))
        .into_response(),
    }
}

/// The five operations, with the raw (still percent-encoded) path label where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// `POST /human-loops`.
    Start,
    /// `GET /human-loops/{HumanLoopName}`.
    Describe(String),
    /// `GET /human-loops`.
    List,
    /// `POST /human-loops/stop`.
    Stop,
    /// `DELETE /human-loops/{HumanLoopName}`.
    Delete(String),
}

impl Operation {
    /// Matches a method and path; `None` when no operation has that binding.
    pub fn route(method: &Method, path: &str) -> Option<Self> {
        let rest = path.strip_prefix("/human-loops")?;
        match (method, rest) {
            (&Method::POST, "") => Some(Operation::Start),
            (&Method::GET, "") => Some(Operation::List),
            (&Method::POST, "/stop") => Some(Operation::Stop),
            (m, label) if m == Method::GET || m == Method::DELETE => {
                let label = label.strip_prefix('/')?;
                if label.contains('/') {
                    return None;
                }
                if m == Method::GET {
                    Some(Operation::Describe(label.to_owned()))
                } else {
                    Some(Operation::Delete(label.to_owned()))
                }
            }
            _ => None,
        }
    }

    /// The operation's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Start => "StartHumanLoop",
            Operation::Describe(_) => "DescribeHumanLoop",
            Operation::List => "ListHumanLoops",
            Operation::Stop => "StopHumanLoop",
            Operation::Delete(_) => "DeleteHumanLoop",
        }
    }
}

impl From<LoopError> for ApiError {
    fn from(err: LoopError) -> Self {
        match err {
            LoopError::NotFound { .. } | LoopError::FlowDefinitionNotFound { .. } => {
                ApiError::ResourceNotFound(err.to_string())
            }
            LoopError::ConflictingInput { .. } => ApiError::Conflict(err.to_string()),
            LoopError::AlreadyFinished { .. }
            | LoopError::NotDeletable { .. }
            | LoopError::NotStoppable { .. }
            | LoopError::NotInProgress { .. }
            | LoopError::AlreadyAnswered { .. } => ApiError::Validation(err.to_string()),
            LoopError::Persist(_) => ApiError::InternalServer(err.to_string()),
        }
    }
}

impl From<BodyError> for ApiError {
    fn from(err: BodyError) -> Self {
        match err {
            BodyError::TooLarge => ApiError::Validation(format!("Malformed request body: {err}.")),
            BodyError::Read(_) => ApiError::Validation(format!("Malformed request body: {err}.")),
        }
    }
}

/// Serves one request on the A2I port.
pub async fn handle(
    services: Arc<PortServices>,
    request: Request<Incoming>,
) -> Response<ResponseBody> {
    let engine = &services.engine;
    let request_id = uuid::Uuid::new_v4().to_string();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let span = tracing::info_span!("a2i_request", request_id = %request_id, %method, %path);
    let mut response = async {
        let started = Instant::now();
        let response = if let Some((prefix, operation)) = aws_json_target(&request) {
            aws_json(&services, &prefix, &operation, request).await
        } else if method == Method::GET && path.starts_with(crate::sagemaker::TEMPLATE_PATH_PREFIX)
        {
            services.sagemaker.template(&path)
        } else if path == crate::portal::PORTAL_PREFIX
            || path.starts_with(&format!("{}/", crate::portal::PORTAL_PREFIX))
        {
            crate::portal::handle(&services.portal, request).await
        } else if path == CONTROL_PREFIX || path.starts_with("/_local/") {
            crate::control::handle(engine, request).await
        } else {
            match operation(engine, request).await {
                Ok(response) => response,
                Err(err) => {
                    // Validation messages may echo request values (item content), which
                    // logs must not carry; the other messages hold only loop names.
                    let detail = match err {
                        ApiError::Validation(_) => "",
                        _ => err.message(),
                    };
                    if err.status().is_server_error() {
                        tracing::warn!(error_type = err.shape(), detail, "operation failed");
                    } else {
                        tracing::info!(error_type = err.shape(), detail, "operation refused");
                    }
                    err.into_response()
                }
            }
        };
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request handled"
        );
        response
    }
    .instrument(span)
    .await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

fn unknown_operation(method: &Method, path: &str) -> ApiError {
    ApiError::UnknownOperation(format!(
        "No operation matches {method} {path}. The A2I runtime serves POST /human-loops, \
         GET /human-loops, GET /human-loops/{{HumanLoopName}}, POST /human-loops/stop and \
         DELETE /human-loops/{{HumanLoopName}}; the local control surface is under /_local/."
    ))
}

/// Decodes a path label (percent-encoded UTF-8).
fn decode_label(raw: &str) -> Result<String, ApiError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| {
            ApiError::Validation(format!(
                "1 validation error detected: Value '{raw}' at 'humanLoopName' failed to \
                 satisfy constraint: Member must be percent-encoded UTF-8"
            ))
        })
}

async fn operation(
    engine: &Arc<Engine>,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, ApiError> {
    let Some(op) = Operation::route(request.method(), request.uri().path()) else {
        return Err(unknown_operation(request.method(), request.uri().path()));
    };
    tracing::debug!(operation = op.name(), "routing");
    engine.faults().apply().await?;
    match op {
        Operation::Start => {
            let body = read_body(request.into_body()).await?;
            let new = validate::start_request(&body)?;
            let started = engine.start(new).await?;
            Ok(json_response(
                StatusCode::OK,
                &StartHumanLoopResponse {
                    human_loop_arn: &started.record().arn,
                },
            ))
        }
        Operation::Describe(raw) => {
            let name = validate::loop_name_label(&decode_label(&raw)?)?;
            let record = engine.store().get(&name)?;
            Ok(json_response(
                StatusCode::OK,
                &DescribeHumanLoopResponse::from(&record),
            ))
        }
        Operation::List => {
            let params = parse_query(request.uri().query()).map_err(|err| {
                ApiError::Validation(format!("1 validation error detected: {err}"))
            })?;
            let list = validate::list_request(&params)?;
            engine.check_listed_flow(&list.flow_definition_arn)?;
            let scope = TokenScope {
                flow_definition_arn: list.flow_definition_arn.clone(),
                sort_order: list.sort_order,
                created_after_ms: list.created_after.map(|t| t.timestamp_millis()),
                created_before_ms: list.created_before.map(|t| t.timestamp_millis()),
            };
            let after = match &list.next_token {
                Some(raw) => Some(token::decode(raw, &scope)?),
                None => None,
            };
            let page = engine.store().list(&ListQuery {
                flow_definition_arn: list.flow_definition_arn,
                created_after: list.created_after,
                created_before: list.created_before,
                sort_order: list.sort_order,
                after,
                limit: list.max_results,
            });
            Ok(json_response(
                StatusCode::OK,
                &ListHumanLoopsResponse {
                    human_loop_summaries: page.loops.iter().map(HumanLoopSummary::from).collect(),
                    next_token: page.next.map(|cursor| token::encode(&scope, cursor)),
                },
            ))
        }
        Operation::Stop => {
            let body = read_body(request.into_body()).await?;
            let name = validate::stop_request(&body)?;
            engine.stop(&name).await?;
            Ok(json_response(StatusCode::OK, &Empty {}))
        }
        Operation::Delete(raw) => {
            let name = validate::loop_name_label(&decode_label(&raw)?)?;
            engine.store().delete(&name).await?;
            tracing::info!(loop_name = %name, "human loop deleted");
            Ok(json_response(StatusCode::OK, &Empty {}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_the_model_bindings() {
        let r = |m: Method, p: &str| Operation::route(&m, p);
        assert_eq!(r(Method::POST, "/human-loops"), Some(Operation::Start));
        assert_eq!(r(Method::GET, "/human-loops"), Some(Operation::List));
        assert_eq!(r(Method::POST, "/human-loops/stop"), Some(Operation::Stop));
        assert_eq!(
            r(Method::GET, "/human-loops/a%2Db"),
            Some(Operation::Describe("a%2Db".into()))
        );
        assert_eq!(
            r(Method::GET, "/human-loops/stop"),
            Some(Operation::Describe("stop".into()))
        );
        assert_eq!(
            r(Method::DELETE, "/human-loops/x"),
            Some(Operation::Delete("x".into()))
        );
        assert_eq!(r(Method::GET, "/human-loops/a/b"), None);
        assert_eq!(r(Method::PUT, "/human-loops"), None);
        assert_eq!(r(Method::POST, "/human-loops/x"), None);
        assert_eq!(r(Method::GET, "/human-loopsx"), None);
        assert_eq!(r(Method::GET, "/"), None);
    }

    #[test]
    fn aws_json_targets_are_split_by_prefix_only_on_post_slash() {
        let request = |method: Method, path: &str, target: Option<&str>| {
            let mut builder = Request::builder().method(method).uri(path);
            if let Some(target) = target {
                builder = builder.header("x-amz-target", target);
            }
            builder.body(()).unwrap()
        };
        assert_eq!(
            aws_json_target(&request(
                Method::POST,
                "/",
                Some("SageMaker.ListFlowDefinitions")
            )),
            Some(("SageMaker".into(), "ListFlowDefinitions".into()))
        );
        assert_eq!(
            aws_json_target(&request(
                Method::POST,
                "/",
                Some("Textract.AnalyzeDocument")
            )),
            Some(("Textract".into(), "AnalyzeDocument".into()))
        );
        assert_eq!(aws_json_target(&request(Method::POST, "/", None)), None);
        assert_eq!(
            aws_json_target(&request(Method::POST, "/human-loops", Some("SageMaker.X"))),
            None
        );
        assert_eq!(
            aws_json_target(&request(Method::GET, "/", Some("SageMaker.X"))),
            None
        );
    }

    #[test]
    fn labels_are_percent_decoded() {
        assert_eq!(decode_label("a%2Db").unwrap(), "a-b");
        assert!(decode_label("%FF").is_err());
    }
}
