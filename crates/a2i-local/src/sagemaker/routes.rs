//! The control plane over HTTP (awsJson1_1): `POST /` with `X-Amz-Target: SageMaker.<Operation>`
//! runs one of the nine operations; `GET /_local/human-task-uis/<name>/template` serves a task
//! UI's template, the `UiTemplate.Url` DescribeHumanTaskUi answers.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Map, Value};

use super::error::{with_aws_json, SageMakerError};
use super::model::{FlowDefinition, HumanTaskUi};
use super::render::Renderer;
use super::store::{output_location, ControlPlane};
use super::validate;
use crate::http::{json_response, read_body, BodyError, ResponseBody};
use crate::s3::EmbeddedS3;

/// The `X-Amz-Target` prefix of the SageMaker API.
pub const TARGET_PREFIX: &str = "SageMaker";

/// Where task UI templates are served, followed by `<name>/template`.
pub const TEMPLATE_PATH_PREFIX: &str = "/_local/human-task-uis/";

/// The nine operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// CreateHumanTaskUi.
    CreateHumanTaskUi,
    /// DescribeHumanTaskUi.
    DescribeHumanTaskUi,
    /// ListHumanTaskUis.
    ListHumanTaskUis,
    /// DeleteHumanTaskUi.
    DeleteHumanTaskUi,
    /// CreateFlowDefinition.
    CreateFlowDefinition,
    /// DescribeFlowDefinition.
    DescribeFlowDefinition,
    /// ListFlowDefinitions.
    ListFlowDefinitions,
    /// DeleteFlowDefinition.
    DeleteFlowDefinition,
    /// RenderUiTemplate.
    RenderUiTemplate,
}

impl Operation {
    /// Every operation, in the order the docs list them.
    pub const ALL: [Operation; 9] = [
        Operation::CreateHumanTaskUi,
        Operation::DescribeHumanTaskUi,
        Operation::ListHumanTaskUis,
        Operation::DeleteHumanTaskUi,
        Operation::CreateFlowDefinition,
        Operation::DescribeFlowDefinition,
        Operation::ListFlowDefinitions,
        Operation::DeleteFlowDefinition,
        Operation::RenderUiTemplate,
    ];

    /// The operation's name, as in `X-Amz-Target`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateHumanTaskUi => "CreateHumanTaskUi",
            Operation::DescribeHumanTaskUi => "DescribeHumanTaskUi",
            Operation::ListHumanTaskUis => "ListHumanTaskUis",
            Operation::DeleteHumanTaskUi => "DeleteHumanTaskUi",
            Operation::CreateFlowDefinition => "CreateFlowDefinition",
            Operation::DescribeFlowDefinition => "DescribeFlowDefinition",
            Operation::ListFlowDefinitions => "ListFlowDefinitions",
            Operation::DeleteFlowDefinition => "DeleteFlowDefinition",
            Operation::RenderUiTemplate => "RenderUiTemplate",
        }
    }

    /// The operation named `name` (the part of the target after `SageMaker.`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// The control plane's HTTP face: the table, the embedded S3 (output buckets are created
/// with their flow definitions) and the renderer.
#[derive(Debug, Clone)]
pub struct SageMakerApi {
    plane: Arc<ControlPlane>,
    s3: Option<EmbeddedS3>,
    renderer: Renderer,
    /// `http://ip:port` of the A2I port, for template URLs when a request has no usable Host.
    endpoint: String,
}

impl SageMakerApi {
    /// Serves `plane`; output buckets are created in `s3` when given.
    pub fn new(
        plane: Arc<ControlPlane>,
        s3: Option<EmbeddedS3>,
        renderer: Renderer,
        endpoint: String,
    ) -> Self {
        Self {
            plane,
            s3,
            renderer,
            endpoint,
        }
    }

    /// The table.
    pub fn plane(&self) -> &Arc<ControlPlane> {
        &self.plane
    }

    /// The renderer.
    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// Runs the operation `name` (the target after `SageMaker.`); every answer is awsJson.
    pub async fn handle(&self, name: &str, request: Request<Incoming>) -> Response<ResponseBody> {
        let result = match Operation::parse(name) {
            None => Err(SageMakerError::UnknownOperation(format!(
                "Operation {TARGET_PREFIX}.{name} is not served by a2i-local; it serves {}.",
                Operation::ALL
                    .iter()
                    .map(|op| op.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
            Some(op) => {
                tracing::debug!(operation = op.name(), "control plane operation");
                let base = template_base(&request, &self.endpoint);
                match read_body(request.into_body()).await {
                    Ok(body) => self.run(op, &body, &base).await,
                    Err(err @ (BodyError::TooLarge | BodyError::Read(_))) => {
                        Err(SageMakerError::Serialization(format!(
                            "The request body is not usable: {err}."
                        )))
                    }
                }
            }
        };
        match result {
            Ok(body) => with_aws_json(json_response(StatusCode::OK, &body)),
            Err(err) => {
                // Validation and serialization messages name members, never content, but
                // stay out of logs like the runtime's; the others name resources only.
                let detail = match err {
                    SageMakerError::Validation(_) | SageMakerError::Serialization(_) => "",
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
    }

    async fn run(&self, op: Operation, body: &[u8], base: &str) -> Result<Value, SageMakerError> {
        let body = validate::body_object(body)?;
        match op {
            Operation::CreateHumanTaskUi => {
                let request = validate::create_human_task_ui(&body)?;
                self.renderer.check_template(&request.content)?;
                let ui = self.plane.create_human_task_ui(request)?;
                Ok(json!({ "HumanTaskUiArn": ui.arn }))
            }
            Operation::DescribeHumanTaskUi => {
                let name = validate::name_request(&body, "HumanTaskUiName")?;
                let ui = self.plane.human_task_ui(&name)?;
                Ok(describe_ui(&ui, base))
            }
            Operation::ListHumanTaskUis => {
                let request = validate::list_request(&body)?;
                let page = self.plane.list_human_task_uis(&request)?;
                let mut out = Map::new();
                out.insert(
                    "HumanTaskUiSummaries".into(),
                    page.items
                        .iter()
                        .map(|ui| {
                            json!({
                                "HumanTaskUiName": ui.name,
                                "HumanTaskUiArn": ui.arn,
                                "CreationTime": epoch_seconds(ui.creation_ms),
                            })
                        })
                        .collect(),
                );
                if let Some(token) = page.next_token {
                    out.insert("NextToken".into(), token.into());
                }
                Ok(Value::Object(out))
            }
            Operation::DeleteHumanTaskUi => {
                let name = validate::name_request(&body, "HumanTaskUiName")?;
                self.plane.delete_human_task_ui(&name)?;
                Ok(json!({}))
            }
            Operation::CreateFlowDefinition => {
                let request = validate::create_flow_definition(&body)?;
                self.ensure_output_bucket(&request.output_config.s3_output_path)
                    .await?;
                let flow = self.plane.create_flow_definition(request)?;
                Ok(json!({ "FlowDefinitionArn": flow.arn }))
            }
            Operation::DescribeFlowDefinition => {
                let name = validate::name_request(&body, "FlowDefinitionName")?;
                let flow = self.plane.flow_definition(&name)?;
                Ok(describe_flow(&flow))
            }
            Operation::ListFlowDefinitions => {
                let request = validate::list_request(&body)?;
                let page = self.plane.list_flow_definitions(&request)?;
                let mut out = Map::new();
                out.insert(
                    "FlowDefinitionSummaries".into(),
                    page.items
                        .iter()
                        .map(|flow| {
                            json!({
                                "FlowDefinitionName": flow.request.flow_definition_name,
                                "FlowDefinitionArn": flow.arn,
                                "FlowDefinitionStatus": "Active",
                                "CreationTime": epoch_seconds(flow.creation_ms),
                            })
                        })
                        .collect(),
                );
                if let Some(token) = page.next_token {
                    out.insert("NextToken".into(), token.into());
                }
                Ok(Value::Object(out))
            }
            Operation::DeleteFlowDefinition => {
                let name = validate::name_request(&body, "FlowDefinitionName")?;
                self.plane.delete_flow_definition(&name)?;
                Ok(json!({}))
            }
            Operation::RenderUiTemplate => {
                let request = validate::render_request(&body)?;
                let content = match request.source {
                    validate::TemplateSource::Content(content) => content,
                    validate::TemplateSource::Arn(arn) => {
                        self.plane
                            .human_task_ui_by_arn(&arn)
                            .ok_or_else(|| {
                                SageMakerError::ResourceNotFound(format!(
                                    "Human task UI '{arn}' does not exist."
                                ))
                            })?
                            .content
                    }
                };
                let rendered = self.renderer.render(content, request.input).await;
                Ok(json!({
                    "RenderedContent": rendered.content,
                    "Errors": rendered
                        .errors
                        .iter()
                        .map(|e| json!({"Code": e.code, "Message": e.message}))
                        .collect::<Vec<_>>(),
                }))
            }
        }
    }

    /// Creates the output bucket in the embedded S3, so loops of the new flow definition can
    /// write there (a local convenience: AWS expects the bucket to exist).
    pub async fn ensure_output_bucket(&self, s3_output_path: &str) -> Result<(), SageMakerError> {
        let (Some(s3), Ok(location)) = (&self.s3, output_location(s3_output_path)) else {
            // A path that names no location is refused by the table with its reason.
            return Ok(());
        };
        s3.ensure_bucket(&location.bucket).await.map_err(|err| {
            SageMakerError::Internal(format!(
                "The output bucket '{}' could not be created in the embedded S3: {err}",
                location.bucket
            ))
        })
    }

    /// Serves `GET /_local/human-task-uis/<name>/template`.
    pub fn template(&self, path: &str) -> Response<ResponseBody> {
        let name = path
            .strip_prefix(TEMPLATE_PATH_PREFIX)
            .and_then(|rest| rest.strip_suffix("/template"));
        match name.and_then(|name| self.plane.human_task_ui(name).ok()) {
            Some(ui) => {
                let mut response = Response::new(Full::new(Bytes::from(ui.content)));
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", ui.content_sha256)) {
                    response.headers_mut().insert("etag", value);
                }
                response
            }
            None => {
                let mut response = json_response(
                    StatusCode::NOT_FOUND,
                    &json!({"message": "No such human task UI template."}),
                );
                *response.status_mut() = StatusCode::NOT_FOUND;
                response
            }
        }
    }
}

/// Epoch seconds with milliseconds, as awsJson timestamps are.
fn epoch_seconds(ms: i64) -> Value {
    serde_json::Number::from_f64(ms as f64 / 1000.0).map_or(Value::Null, Value::Number)
}

fn describe_ui(ui: &HumanTaskUi, base: &str) -> Value {
    json!({
        "HumanTaskUiArn": ui.arn,
        "HumanTaskUiName": ui.name,
        "HumanTaskUiStatus": "Active",
        "CreationTime": epoch_seconds(ui.creation_ms),
        "UiTemplate": {
            "Url": format!("{base}{TEMPLATE_PATH_PREFIX}{}/template", ui.name),
            "ContentSha256": ui.content_sha256,
        },
    })
}

fn describe_flow(flow: &FlowDefinition) -> Value {
    // The stored request in its own shape, minus what Describe does not return (Tags).
    let mut out = match serde_json::to_value(&flow.request) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    out.remove("Tags");
    out.insert("FlowDefinitionArn".into(), flow.arn.clone().into());
    out.insert("FlowDefinitionStatus".into(), "Active".into());
    out.insert("CreationTime".into(), epoch_seconds(flow.creation_ms));
    Value::Object(out)
}

/// `http://<Host>` of the request when its Host header is a plain host[:port], else the
/// port's own endpoint: the template URL then works through whatever address the client used.
fn template_base(request: &Request<Incoming>, endpoint: &str) -> String {
    let host = request
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        });
    match host {
        Some(host) => format!("http://{host}"),
        None => endpoint.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_round_trip_their_names() {
        for op in Operation::ALL {
            assert_eq!(Operation::parse(op.name()), Some(op));
        }
        assert_eq!(Operation::parse("CreateEndpoint"), None);
    }
}
