//! Amazon Textract `AnalyzeDocument` and Amazon Rekognition `DetectModerationLabels`, with
//! `HumanLoopConfig`: the built-in task types of A2I, on the A2I port (awsJson 1.1,
//! `X-Amz-Target: Textract.AnalyzeDocument` / `RekognitionService.DetectModerationLabels`).
//!
//! The model's answer is replayed from a recording ([`recorded`]); with a `HumanLoopConfig`
//! the flow definition is read through the [`FlowLookup`], its `HumanLoopRequestSource` must
//! be the service's, its activation conditions are evaluated on the answer
//! ([`activation`]), a loop starts with A2I's built-in input, and the response carries
//! `HumanLoopActivationOutput`.
//!
//! Choices where AWS documents nothing (also in the crate docs):
//! - A document without a recording: `InvalidParameterException` whose message says how to
//!   record one (Textract and Rekognition have no "unknown document" error).
//! - An unknown flow definition: Textract `InvalidParameterException`, Rekognition
//!   `ResourceNotFoundException` (the only one of the two that models it). A built-in flow
//!   definition is never registered implicitly: its conditions and request source matter.
//! - A reused loop name: an active loop with the same input answers with its ARN (so a
//!   redelivered upload starts nothing new); a finished one is Textract's observed
//!   `InvalidParameterException` "HumanLoop '…' already exists and is finished …"; an
//!   active one with a different input is `InvalidParameterException` too.
//! - A document given as `Bytes` is analysed, but the loop's input records its SHA-256 and
//!   length under `aiServiceRequest.document.bytes` instead of the bytes.

pub mod activation;
pub mod media;
pub mod recorded;

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::arn::FlowDefinitionArn;
use crate::engine::Engine;
use crate::flows::SharedFlowLookup;
use crate::http::ResponseBody;
use crate::loops::{ContentClassifier, LoopError, NewLoop};
use crate::runtime::ApiError;
use activation::Activation;
use media::Format;
use recorded::{RecordedAnalyses, Service};

/// Largest document synchronous AnalyzeDocument takes (bytes or S3), 10 MB.
pub const MAX_TEXTRACT_DOCUMENT: usize = 10 * 1024 * 1024;
/// Largest image DetectModerationLabels takes as `Bytes`, 5 MB.
pub const MAX_REKOGNITION_BYTES: usize = 5 * 1024 * 1024;
/// Largest image DetectModerationLabels takes from S3, 15 MB.
pub const MAX_REKOGNITION_S3: usize = 15 * 1024 * 1024;

/// What the built-in operations need besides the engine.
#[derive(Debug, Clone)]
pub struct BuiltinContext {
    /// The recorded model answers.
    pub recorded: Arc<RecordedAnalyses>,
    /// Flow definitions; `None`: none exist, so a `HumanLoopConfig` names an unknown one.
    pub flows: Option<SharedFlowLookup>,
    /// The embedded S3, in process, to read `S3Object` documents.
    pub s3: aws_sdk_s3::Client,
    /// The server's region (a flow definition of another region is refused).
    pub region: String,
}

/// An error of the built-in operations, one variant per modeled shape used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuiltinError {
    /// 400 `InvalidParameterException`.
    InvalidParameter(String),
    /// 400 `InvalidS3ObjectException`.
    InvalidS3Object(String),
    /// 400 `UnsupportedDocumentException` (Textract).
    UnsupportedDocument(String),
    /// 400 `DocumentTooLargeException` (Textract).
    DocumentTooLarge(String),
    /// 400 `BadDocumentException` (Textract).
    BadDocument(String),
    /// 400 `InvalidImageFormatException` (Rekognition).
    InvalidImageFormat(String),
    /// 400 `ImageTooLargeException` (Rekognition).
    ImageTooLarge(String),
    /// 400 `ResourceNotFoundException` (Rekognition).
    ResourceNotFound(String),
    /// 500 `ThrottlingException` (both model it as a server fault).
    Throttling(String),
    /// 500 `InternalServerError`.
    InternalServerError(String),
    /// 400 `UnknownOperationException`.
    UnknownOperation(String),
}

impl BuiltinError {
    fn shape(&self) -> &'static str {
        match self {
            BuiltinError::InvalidParameter(_) => "InvalidParameterException",
            BuiltinError::InvalidS3Object(_) => "InvalidS3ObjectException",
            BuiltinError::UnsupportedDocument(_) => "UnsupportedDocumentException",
            BuiltinError::DocumentTooLarge(_) => "DocumentTooLargeException",
            BuiltinError::BadDocument(_) => "BadDocumentException",
            BuiltinError::InvalidImageFormat(_) => "InvalidImageFormatException",
            BuiltinError::ImageTooLarge(_) => "ImageTooLargeException",
            BuiltinError::ResourceNotFound(_) => "ResourceNotFoundException",
            BuiltinError::Throttling(_) => "ThrottlingException",
            BuiltinError::InternalServerError(_) => "InternalServerError",
            BuiltinError::UnknownOperation(_) => "UnknownOperationException",
        }
    }

    fn message(&self) -> &str {
        match self {
            BuiltinError::InvalidParameter(m)
            | BuiltinError::InvalidS3Object(m)
            | BuiltinError::UnsupportedDocument(m)
            | BuiltinError::DocumentTooLarge(m)
            | BuiltinError::BadDocument(m)
            | BuiltinError::InvalidImageFormat(m)
            | BuiltinError::ImageTooLarge(m)
            | BuiltinError::ResourceNotFound(m)
            | BuiltinError::Throttling(m)
            | BuiltinError::InternalServerError(m)
            | BuiltinError::UnknownOperation(m) => m,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            BuiltinError::Throttling(_) | BuiltinError::InternalServerError(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The awsJson error response: body `__type` (what botocore reads) and `Message`, plus
    /// the `X-Amzn-ErrorType` header (what the Rust SDK reads first).
    pub fn into_response(self) -> Response<ResponseBody> {
        let body =
            json!({"__type": self.shape(), "Message": self.message(), "message": self.message()});
        let mut response = amz_json(self.status(), &body);
        response
            .headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(self.shape()));
        response
    }
}

fn amz_json(status: StatusCode, body: &Value) -> Response<ResponseBody> {
    let mut response = Response::new(http_body_util::Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}

/// The built-in operation an `X-Amz-Target` names: `Some` for the Textract and Rekognition
/// target prefixes (an unknown operation of theirs is an error of theirs), `None` otherwise.
pub fn service_of_target(target: &str) -> Option<Result<Service, String>> {
    let (prefix, operation) = target.split_once('.')?;
    match (prefix, operation) {
        ("Textract", "AnalyzeDocument") => Some(Ok(Service::Textract)),
        ("RekognitionService", "DetectModerationLabels") => Some(Ok(Service::Rekognition)),
        ("Textract", other) | ("RekognitionService", other) => Some(Err(other.to_owned())),
        _ => None,
    }
}

/// Serves one built-in request.
pub async fn handle(
    engine: &Arc<Engine>,
    ctx: &BuiltinContext,
    service: Result<Service, String>,
    body: &[u8],
) -> Response<ResponseBody> {
    let service = match service {
        Ok(service) => service,
        Err(operation) => {
            return BuiltinError::UnknownOperation(format!(
                "a2i-local serves Textract.AnalyzeDocument and \
                 RekognitionService.DetectModerationLabels only, not {operation}"
            ))
            .into_response()
        }
    };
    if let Err(fault) = engine.faults().apply().await {
        return match fault {
            ApiError::Throttling(m) => BuiltinError::Throttling(m),
            other => BuiltinError::InternalServerError(other.message().to_owned()),
        }
        .into_response();
    }
    match analyse(engine, ctx, service, body).await {
        Ok(body) => amz_json(StatusCode::OK, &body),
        Err(err) => {
            // Messages name objects, digests and rules, never document content.
            tracing::info!(
                service = service.id(),
                error_type = err.shape(),
                detail = err.message(),
                "built-in request refused"
            );
            err.into_response()
        }
    }
}

/// A parsed `HumanLoopConfig`.
struct LoopConfig {
    name: String,
    flow: FlowDefinitionArn,
    classifiers: Option<Vec<ContentClassifier>>,
    raw: Value,
}

/// Where the document came from.
enum Source {
    Bytes(Vec<u8>),
    S3 {
        bucket: String,
        key: String,
        version: Option<String>,
    },
}

async fn analyse(
    engine: &Arc<Engine>,
    ctx: &BuiltinContext,
    service: Service,
    body: &[u8],
) -> Result<Value, BuiltinError> {
    let request: Value = serde_json::from_slice(body).map_err(|e| {
        BuiltinError::InvalidParameter(format!("The request body is not JSON ({e})"))
    })?;
    let request = request
        .as_object()
        .ok_or_else(|| invalid("the request body must be a JSON object"))?;
    let (document_member, max_bytes, max_s3) = match service {
        Service::Textract => ("Document", MAX_TEXTRACT_DOCUMENT, MAX_TEXTRACT_DOCUMENT),
        Service::Rekognition => ("Image", MAX_REKOGNITION_BYTES, MAX_REKOGNITION_S3),
    };
    let source = parse_source(service, request.get(document_member), document_member)?;
    let features = match service {
        Service::Textract => Some(parse_features(request.get("FeatureTypes"))?),
        Service::Rekognition => None,
    };
    let min_confidence = match (service, request.get("MinConfidence")) {
        (Service::Rekognition, Some(v)) => v
            .as_f64()
            .filter(|c| (0.0..=100.0).contains(c))
            .ok_or_else(|| invalid("MinConfidence must be a number from 0 to 100"))?,
        _ => 50.0,
    };
    let config = match request.get("HumanLoopConfig") {
        Some(raw) => Some(parse_loop_config(raw)?),
        None => None,
    };

    let bytes = read_document(ctx, service, &source, max_bytes, max_s3).await?;
    check_format(service, &bytes)?;
    let digest = hex(&Sha256::digest(&bytes));
    let object = match &source {
        Source::S3 { bucket, key, .. } => Some((bucket.as_str(), key.as_str())),
        Source::Bytes(_) => None,
    };
    let recorded = ctx
        .recorded
        .find(service, &digest, object)
        .ok_or_else(|| invalid_owned(ctx.recorded.missing_message(service, &digest, object)))?;
    let mut response = (*recorded).clone();
    if service == Service::Rekognition {
        if let Some(Value::Array(labels)) = response.get_mut("ModerationLabels") {
            labels.retain(|l| {
                l.get("Confidence")
                    .and_then(Value::as_f64)
                    .is_some_and(|c| c >= min_confidence)
            });
        }
    }

    let Some(config) = config else {
        return Ok(response);
    };
    let policy = ctx
        .flows
        .as_ref()
        .and_then(|flows| flows.flow(config.flow.name()))
        .ok_or_else(|| {
            let message = format!(
                "FlowDefinition {} does not exist (create it with CreateFlowDefinition, or \
                 with `a2i-local serve --resources FILE`)",
                config.flow.as_str()
            );
            match service {
                Service::Textract => BuiltinError::InvalidParameter(message),
                Service::Rekognition => BuiltinError::ResourceNotFound(message),
            }
        })?;
    if !config.flow.region().is_empty() && config.flow.region() != ctx.region {
        return Err(invalid_owned(format!(
            "The flow definition is in region {}, but this endpoint and the document are in {}",
            config.flow.region(),
            ctx.region
        )));
    }
    if policy.request_source.as_deref() != Some(service.request_source()) {
        return Err(invalid_owned(format!(
            "FlowDefinition {} has HumanLoopRequestSource {}, not {}",
            policy.name,
            policy
                .request_source
                .as_deref()
                .unwrap_or("(none: a custom task type)"),
            service.request_source()
        )));
    }
    let activation =
        activation::evaluate(service, policy.activation_conditions.as_deref(), &response)
            .map_err(invalid_owned)?;
    let loop_arn = if activation.activated {
        let input = loop_input(
            service,
            &config,
            &source,
            &bytes,
            features.as_deref(),
            &response,
            &activation,
        );
        Some(start_loop(engine, &config, input).await?)
    } else {
        None
    };
    if let Some(map) = response.as_object_mut() {
        map.insert(
            "HumanLoopActivationOutput".into(),
            activation::activation_output(&activation, loop_arn.as_deref()),
        );
    }
    Ok(response)
}

fn invalid(message: &str) -> BuiltinError {
    BuiltinError::InvalidParameter(message.to_owned())
}

fn invalid_owned(message: String) -> BuiltinError {
    BuiltinError::InvalidParameter(message)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_source(
    service: Service,
    member: Option<&Value>,
    name: &str,
) -> Result<Source, BuiltinError> {
    let member = member
        .and_then(Value::as_object)
        .ok_or_else(|| invalid_owned(format!("{name} is required and must be an object")))?;
    match (member.get("Bytes"), member.get("S3Object")) {
        (Some(bytes), None) => {
            let text = bytes
                .as_str()
                .ok_or_else(|| invalid_owned(format!("{name}.Bytes must be a base64 string")))?;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| invalid_owned(format!("{name}.Bytes is not valid base64")))?;
            if decoded.is_empty() {
                return Err(invalid_owned(format!("{name}.Bytes must not be empty")));
            }
            Ok(Source::Bytes(decoded))
        }
        (None, Some(s3)) => {
            let field = |f: &str| s3.get(f).and_then(Value::as_str).map(str::to_owned);
            let bucket = field("Bucket")
                .filter(|b| (3..=255).contains(&b.len()))
                .ok_or_else(|| {
                    invalid_owned(format!(
                        "{name}.S3Object.Bucket is required (3 to 255 characters)"
                    ))
                })?;
            let key = field("Name")
                .filter(|k| (1..=1024).contains(&k.chars().count()))
                .ok_or_else(|| {
                    invalid_owned(format!(
                        "{name}.S3Object.Name is required (1 to 1024 characters)"
                    ))
                })?;
            Ok(Source::S3 {
                bucket,
                key,
                version: field("Version"),
            })
        }
        _ => {
            let _ = service;
            Err(invalid_owned(format!(
                "{name} must have exactly one of Bytes and S3Object"
            )))
        }
    }
}

const FEATURE_TYPES: &[&str] = &["TABLES", "FORMS", "QUERIES", "SIGNATURES", "LAYOUT"];

fn parse_features(value: Option<&Value>) -> Result<Vec<String>, BuiltinError> {
    let list = value
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| invalid("FeatureTypes is required: a non-empty list"))?;
    list.iter()
        .map(|f| match f.as_str() {
            Some(name) if FEATURE_TYPES.contains(&name) => Ok(name.to_owned()),
            _ => Err(invalid_owned(format!(
                "FeatureTypes members must be one of {}",
                FEATURE_TYPES.join(", ")
            ))),
        })
        .collect()
}

fn parse_loop_config(raw: &Value) -> Result<LoopConfig, BuiltinError> {
    let map = raw
        .as_object()
        .ok_or_else(|| invalid("HumanLoopConfig must be an object"))?;
    let name = map
        .get("HumanLoopName")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("HumanLoopConfig.HumanLoopName is required"))?;
    crate::runtime::validate::loop_name_label(name)
        .map_err(|e| invalid_owned(e.message().to_owned()))?;
    let arn = map
        .get("FlowDefinitionArn")
        .and_then(Value::as_str)
        .filter(|a| a.chars().count() <= 256)
        .ok_or_else(|| {
            invalid("HumanLoopConfig.FlowDefinitionArn is required (at most 256 characters)")
        })?;
    let flow = FlowDefinitionArn::parse(arn)
        .map_err(|e| invalid_owned(format!("HumanLoopConfig.FlowDefinitionArn must {e}")))?;
    let classifiers = match map.get("DataAttributes") {
        None => None,
        Some(attrs) => {
            let list = attrs
                .get("ContentClassifiers")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    invalid("HumanLoopConfig.DataAttributes.ContentClassifiers must be a list")
                })?;
            Some(
                list.iter()
                    .map(|c| {
                        c.as_str().and_then(ContentClassifier::parse).ok_or_else(|| {
                            invalid("ContentClassifiers members must be FreeOfPersonallyIdentifiableInformation or FreeOfAdultContent")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            )
        }
    };
    Ok(LoopConfig {
        name: name.to_owned(),
        flow,
        classifiers,
        raw: raw.clone(),
    })
}

async fn read_document(
    ctx: &BuiltinContext,
    service: Service,
    source: &Source,
    max_bytes: usize,
    max_s3: usize,
) -> Result<Vec<u8>, BuiltinError> {
    let too_large = |size: usize, max: usize| match service {
        Service::Textract => BuiltinError::DocumentTooLarge(format!(
            "The document is {size} bytes; synchronous AnalyzeDocument takes at most {max}"
        )),
        Service::Rekognition => {
            BuiltinError::ImageTooLarge(format!("The image is {size} bytes; the limit is {max}"))
        }
    };
    match source {
        Source::Bytes(bytes) => {
            if bytes.len() > max_bytes {
                return Err(too_large(bytes.len(), max_bytes));
            }
            Ok(bytes.clone())
        }
        Source::S3 {
            bucket,
            key,
            version,
        } => {
            let unreadable = || {
                BuiltinError::InvalidS3Object(
                    "Unable to get object metadata from S3. Check object key, region and/or access permissions."
                        .to_owned(),
                )
            };
            let object = ctx
                .s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .set_version_id(version.clone())
                .send()
                .await
                .map_err(|_| unreadable())?;
            let size = object.content_length().unwrap_or(0).max(0) as usize;
            if size > max_s3 {
                return Err(too_large(size, max_s3));
            }
            let bytes = object
                .body
                .collect()
                .await
                .map_err(|_| unreadable())?
                .into_bytes();
            if bytes.len() > max_s3 {
                return Err(too_large(bytes.len(), max_s3));
            }
            Ok(bytes.to_vec())
        }
    }
}

fn check_format(service: Service, bytes: &[u8]) -> Result<(), BuiltinError> {
    let format = Format::sniff(bytes);
    match service {
        Service::Rekognition => match format {
            Some(Format::Png | Format::Jpeg) => Ok(()),
            _ => Err(BuiltinError::InvalidImageFormat(
                "Request has invalid image format: DetectModerationLabels takes PNG and JPEG images"
                    .to_owned(),
            )),
        },
        Service::Textract => {
            let format = format.ok_or_else(|| {
                BuiltinError::UnsupportedDocument(
                    "Request has unsupported document format: AnalyzeDocument takes PNG, JPEG, TIFF and PDF"
                        .to_owned(),
                )
            })?;
            match media::page_count(format, bytes) {
                None => Err(BuiltinError::BadDocument(format!(
                    "The {} document cannot be read (no page found)",
                    format.name()
                ))),
                Some(1) => Ok(()),
                Some(pages) => Err(BuiltinError::UnsupportedDocument(format!(
                    "The {} document has {pages} pages; synchronous AnalyzeDocument (and so its \
                     HumanLoopConfig) takes single-page documents only. Use the asynchronous \
                     StartDocumentAnalysis and a2i-review's custom task type for multi-page documents",
                    format.name()
                ))),
            }
        }
    }
}

/// The loop's input as A2I stores it for a built-in task type (a2i-facts / the review
/// workflow facts §4): the request and the answer camel-cased, the evaluation results and
/// what reviewers are asked about.
fn loop_input(
    service: Service,
    config: &LoopConfig,
    source: &Source,
    bytes: &[u8],
    features: Option<&[String]>,
    response: &Value,
    activation: &Activation,
) -> Value {
    let document = match source {
        Source::S3 {
            bucket,
            key,
            version,
        } => {
            let mut s3 = Map::new();
            s3.insert("bucket".into(), Value::from(bucket.as_str()));
            s3.insert("name".into(), Value::from(key.as_str()));
            if let Some(v) = version {
                s3.insert("version".into(), Value::from(v.as_str()));
            }
            json!({ "s3Object": s3 })
        }
        Source::Bytes(_) => json!({
            "bytes": {"sha256": hex(&Sha256::digest(bytes)), "length": bytes.len()}
        }),
    };
    let mut request = Map::new();
    match service {
        Service::Textract => {
            request.insert("document".into(), document);
            request.insert("featureTypes".into(), json!(features.unwrap_or_default()));
        }
        Service::Rekognition => {
            request.insert("image".into(), document);
        }
    }
    request.insert(
        "humanLoopConfig".into(),
        activation::camel_case(&config.raw),
    );
    let mut answer = response.clone();
    if let Some(map) = answer.as_object_mut() {
        map.remove("HumanLoopActivationOutput");
    }
    let mut input = Map::new();
    input.insert("aiServiceRequest".into(), Value::Object(request));
    input.insert("aiServiceResponse".into(), activation::camel_case(&answer));
    input.insert(
        "humanTaskActivationConditionResults".into(),
        activation.results.clone().unwrap_or_else(|| json!({})),
    );
    input.insert(
        "selectedAiServiceResponse".into(),
        activation::selected_response(service, response, activation),
    );
    Value::Object(input)
}

async fn start_loop(
    engine: &Arc<Engine>,
    config: &LoopConfig,
    input: Value,
) -> Result<String, BuiltinError> {
    let new = NewLoop {
        name: config.name.clone(),
        flow_definition: config.flow.clone(),
        input_content: input.to_string(),
        content_classifiers: config.classifiers.clone(),
    };
    match engine.start(new).await {
        Ok(started) => Ok(started.record().arn.clone()),
        Err(err @ LoopError::Persist(_)) => Err(BuiltinError::InternalServerError(err.to_string())),
        Err(err) => Err(BuiltinError::InvalidParameter(err.to_string())),
    }
}
