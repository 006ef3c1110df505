//! The local control surface, under `/_local/` on the A2I port (a prefix no A2I path can
//! have): play the reviewer (answer), fail or expire a loop, see what waits for review,
//! redeliver an event, and read the delivery report. Fault knobs never apply here.
//!
//! | method | path | body | does |
//! |---|---|---|---|
//! | GET | `/_local/health` | | `{"status":"ok", …}` with loop and fault counters |
//! | GET | `/_local/pending` | | InProgress loops with their parsed input, answers so far (`answered`, `required`, `workerIds`), `expiresAt` and captured `policy`, oldest first |
//! | POST | `/_local/loops/{name}/answer` | `{"answers":[{"answerContent":{…},"workerId":"…"}]}` or one answer object | records the answers; once TaskCount distinct workers answered: Completed + output.json + event. Answers `{"humanLoopStatus","answered","required","outputS3Uri","deliveries"}`; a worker who already answered: 409 |
//! | POST | `/_local/loops/{name}/fail` | `{"failureCode":"ValidationError\|Expired\|InternalError","failureReason":"…"}` | Failed + event |
//! | POST | `/_local/loops/{name}/expire` | optional `{"failureReason":"…"}` | Failed with `Expired` + event |
//! | POST | `/_local/loops/{name}/redeliver` | | the status-change event again |
//! | GET | `/_local/deliveries` | | every delivery outcome so far |
//! | GET, HEAD | `/_local/assets/crowd-html-elements.js` | | the local Crowd HTML Elements (`assets`) |
//!
//! `/_local/portal/…` is the worker portal (`portal`), routed before this surface.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, EngineError};
use crate::http::{json_response, read_body, ResponseBody};
use crate::loops::{
    format_timestamp, ContentClassifier, FailureCode, LoopError, LoopPolicy, LoopRecord,
};
use crate::output::WorkerAnswer;
use crate::runtime::ApiError;

/// A loop that waits for review, as the control surface lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingLoop {
    /// The loop name.
    pub human_loop_name: String,
    /// The loop ARN.
    pub human_loop_arn: String,
    /// The flow definition.
    pub flow_definition_arn: String,
    /// Creation time (`2019-11-14T17:37:36.740Z`).
    pub creation_time: String,
    /// The InputContent, parsed (what a task template sees as `task.input`).
    pub input_content: serde_json::Value,
    /// The ContentClassifiers given at start.
    pub content_classifiers: Vec<ContentClassifier>,
    /// The flow definition's name.
    pub flow_definition_name: String,
    /// Distinct workers who have answered so far.
    pub answered: usize,
    /// Distinct workers the loop needs (TaskCount).
    pub required: usize,
    /// The workers who have answered (a worker never gets the same loop twice).
    pub worker_ids: Vec<String>,
    /// When the loop expires if not completed (`2019-11-14T17:37:36.740Z`).
    pub expires_at: String,
    /// The policy the loop captured from its flow definition at start (task UI, title,
    /// description, keywords, time limit).
    pub policy: LoopPolicy,
}

impl From<&LoopRecord> for PendingLoop {
    fn from(r: &LoopRecord) -> Self {
        Self {
            human_loop_name: r.name.clone(),
            human_loop_arn: r.arn.clone(),
            flow_definition_arn: r.flow_definition_arn.clone(),
            creation_time: format_timestamp(r.creation_time),
            input_content: serde_json::from_str(&r.input_content)
                .unwrap_or_else(|_| serde_json::Value::String(r.input_content.clone())),
            content_classifiers: r.content_classifiers.clone().unwrap_or_default(),
            flow_definition_name: r.policy.flow_definition_name.clone(),
            answered: r.answers.len(),
            required: r.policy.required_answers(),
            worker_ids: r.answers.iter().map(|a| a.worker_id.clone()).collect(),
            expires_at: format_timestamp(r.expires_at()),
            policy: r.policy.clone(),
        }
    }
}

/// The body of `answer`: `{"answers": [...]}`, or a single answer object.
fn parse_answers(body: &[u8]) -> Result<Vec<WorkerAnswer>, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Many {
        answers: Vec<WorkerAnswer>,
    }
    let value: serde_json::Value = parse_body(body, "answer")?;
    if value.get("answers").is_some() {
        Ok(parse_value::<Many>(value, "answer")?.answers)
    } else {
        Ok(vec![parse_value::<WorkerAnswer>(value, "answer")?])
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FailBody {
    failure_code: String,
    failure_reason: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExpireBody {
    #[serde(default)]
    failure_reason: Option<String>,
}

fn control_error(err: EngineError) -> ApiError {
    match err {
        EngineError::Loop(LoopError::NotInProgress { .. })
        | EngineError::Loop(LoopError::AlreadyAnswered { .. }) => {
            ApiError::Conflict(err.to_string())
        }
        EngineError::Loop(loop_err) => ApiError::from(loop_err),
        EngineError::Answer(_) | EngineError::Invalid(_) => ApiError::Validation(err.to_string()),
        EngineError::Output(_) => ApiError::InternalServer(err.to_string()),
    }
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|err| ApiError::Validation(format!("the {what} body is not valid: {err}")))
}

fn parse_value<T: for<'de> Deserialize<'de>>(
    value: serde_json::Value,
    what: &str,
) -> Result<T, ApiError> {
    serde_json::from_value(value)
        .map_err(|err| ApiError::Validation(format!("the {what} body is not valid: {err}")))
}

/// Serves one control-surface request.
pub async fn handle(engine: &Arc<Engine>, request: Request<Incoming>) -> Response<ResponseBody> {
    match route(engine, request).await {
        Ok(response) => response,
        Err(err) => {
            tracing::info!(error_type = err.shape(), "control request refused");
            err.into_response()
        }
    }
}

async fn route(
    engine: &Arc<Engine>,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, ApiError> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    if let Some(asset) = crate::assets::serve(&method, &path) {
        return Ok(asset);
    }
    let segments: Vec<&str> = path
        .trim_start_matches("/_local")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match (&method, segments.as_slice()) {
        (&Method::GET, ["health"]) => {
            let stats = engine.faults().stats();
            Ok(json_response(
                StatusCode::OK,
                &serde_json::json!({
                    "status": "ok",
                    "loops": engine.store().all().len(),
                    "waitingForReview": engine.store().waiting_for_review().len(),
                    "backgroundTasks": engine.background().running(),
                    "throttled": stats.throttled,
                    "injectedErrors": stats.injected_errors,
                }),
            ))
        }
        (&Method::GET, ["pending"]) => {
            let loops: Vec<PendingLoop> = engine
                .store()
                .waiting_for_review()
                .iter()
                .map(PendingLoop::from)
                .collect();
            Ok(json_response(
                StatusCode::OK,
                &serde_json::json!({ "loops": loops }),
            ))
        }
        (&Method::GET, ["deliveries"]) => Ok(json_response(
            StatusCode::OK,
            &serde_json::json!({ "deliveries": engine.status_events().report() }),
        )),
        (&Method::POST, ["loops", raw_name, action]) => {
            let name = percent_decode_str(raw_name)
                .decode_utf8()
                .map_err(|_| ApiError::Validation("the loop name is not UTF-8".to_owned()))?
                .into_owned();
            let action = (*action).to_owned();
            let body = read_body(request.into_body()).await?;
            let ended = match action.as_str() {
                "answer" => {
                    let answers = parse_answers(&body)?;
                    let progress = engine
                        .submit_answers(&name, &answers)
                        .await
                        .map_err(control_error)?;
                    return Ok(json_response(StatusCode::OK, &progress));
                }
                "fail" => {
                    let fail: FailBody = parse_body(&body, "fail")?;
                    let code = FailureCode::parse(&fail.failure_code).ok_or_else(|| {
                        ApiError::Validation(format!(
                            "failureCode {:?} is not one of ValidationError, Expired, InternalError",
                            fail.failure_code
                        ))
                    })?;
                    engine.fail(&name, code, &fail.failure_reason).await
                }
                "expire" => {
                    let expire: ExpireBody = if body.iter().all(u8::is_ascii_whitespace) {
                        ExpireBody::default()
                    } else {
                        parse_body(&body, "expire")?
                    };
                    engine.expire(&name, expire.failure_reason.as_deref()).await
                }
                "redeliver" => {
                    let deliveries = engine.redeliver(&name).await.map_err(control_error)?;
                    return Ok(json_response(
                        StatusCode::OK,
                        &serde_json::json!({ "deliveries": deliveries }),
                    ));
                }
                _ => return Err(unknown(&method, &path)),
            };
            let ended = ended.map_err(control_error)?;
            Ok(json_response(StatusCode::OK, &ended))
        }
        _ => Err(unknown(&method, &path)),
    }
}

fn unknown(method: &Method, path: &str) -> ApiError {
    ApiError::UnknownOperation(format!(
        "No control operation matches {method} {path}. See GET /_local/health, GET \
         /_local/pending, GET /_local/deliveries and POST /_local/loops/{{name}}/answer|fail|\
         expire|redeliver."
    ))
}
