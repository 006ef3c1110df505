//! Every setting of the two functions, read from the environment and validated once at cold start.
//!
//! A bad value stops the function with a [`ConfigError`] naming the variable, the value and the
//! rule it breaks. Reading goes through a lookup function so tests never touch the process
//! environment.

use crate::builtin::TaskType;
use crate::conditions::{ActivationConditions, ConditionError};
use crate::source::parse_s3_uri;

/// A variable that is missing or holds a value that breaks a rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("configuration variable {variable}={value:?} is invalid: {rule}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What it held (empty when unset).
    pub value: String,
    /// The rule it broke.
    pub rule: String,
}

/// Content classifiers accepted by `StartHumanLoop` (`DataAttributes.ContentClassifiers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentClassifier {
    /// The content has no personally identifiable information (required for Mechanical Turk).
    FreeOfPersonallyIdentifiableInformation,
    /// The content has no adult content.
    FreeOfAdultContent,
}

impl ContentClassifier {
    /// The enum value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FreeOfPersonallyIdentifiableInformation => {
                "FreeOfPersonallyIdentifiableInformation"
            }
            Self::FreeOfAdultContent => "FreeOfAdultContent",
        }
    }
}

/// How the start handler splits an object into items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    /// `.jsonl` / `.ndjson` keys are JSON Lines; anything else is sniffed from its first byte.
    Auto,
    /// One JSON document per object.
    Json,
    /// One JSON value per line.
    JsonLines,
}

/// A Textract `AnalyzeDocument` feature the raw-media mode asks for (`TEXTRACT_FEATURE_TYPES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextractFeature {
    /// `FORMS`: key-value pairs, what the built-in task type reviews (always asked for).
    Forms,
    /// `TABLES`: tables and cells, returned with the answer and stored with it.
    Tables,
}

impl TextractFeature {
    /// The `FeatureTypes` value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forms => "FORMS",
            Self::Tables => "TABLES",
        }
    }
}

/// Where the condition document comes from.
#[derive(Debug, Clone)]
pub enum ConditionsSource {
    /// A built-in task type (`TASK_TYPE` other than `custom`): the flow definition's
    /// `HumanLoopActivationConditions` decide, A2I evaluates them; the function holds none.
    FlowDefinition,
    /// Given inline in `ACTIVATION_CONDITIONS`, already validated.
    Inline(ActivationConditions),
    /// An `s3://bucket/key` URI, read (and validated) at cold start.
    S3 {
        /// Bucket of the document.
        bucket: String,
        /// Key of the document.
        key: String,
    },
}

/// Settings of the start handler.
#[derive(Debug, Clone)]
pub struct StartConfig {
    /// `TASK_TYPE`: what an upload is: a document of inference results (`custom`, the
    /// default) or a raw document or image for a built-in task type.
    pub task_type: TaskType,
    /// `TEXTRACT_FEATURE_TYPES` (`textract-forms` only): the `FeatureTypes` sent to
    /// `AnalyzeDocument`; always holds `FORMS`. Empty in the other modes.
    pub textract_feature_types: Vec<TextractFeature>,
    /// `RESULTS_PREFIX`: key prefix of reviewed results, where the raw-media mode stores each
    /// object's model answer (default `reviewed/`, as the status function's).
    pub results_prefix: String,
    /// `FLOW_DEFINITION_ARN`: the flow definition every loop is started on.
    pub flow_definition_arn: String,
    /// `CONTENT_CLASSIFIERS`: sent with every loop; empty unless configured.
    pub content_classifiers: Vec<ContentClassifier>,
    /// `ACTIVATION_CONDITIONS`: which items need a review ([`ConditionsSource::FlowDefinition`]
    /// in a built-in mode).
    pub conditions: ConditionsSource,
    /// `LOOP_NAME_PREFIX`: readable start of every loop name.
    pub loop_name_prefix: Option<String>,
    /// `MAX_CONCURRENCY`: `StartHumanLoop` calls in flight per invocation.
    pub max_concurrency: usize,
    /// `ITEMS_PATH`: JSONPath to the list of items inside a JSON document.
    pub items_path: Option<serde_json_path::JsonPath>,
    /// `DOCUMENT_FORMAT`: `auto`, `json` or `jsonl`.
    pub document_format: DocumentFormat,
    /// `MEDIA_PATH`: JSONPath to the `s3://` URI of an item's media (`task.input.media`).
    pub media_path: Option<serde_json_path::JsonPath>,
    /// `RESULTS_BUCKET`: the loop registry's bucket (the status function's results bucket).
    /// Optional for `custom`: without it no loop is registered, and the results of `Failed`
    /// and `Stopped` loops go to `_no-source` instead of next to their item. Required in a
    /// built-in mode (model answers and registrations go there).
    pub results_bucket: Option<String>,
    /// `REGISTRY_PREFIX`: key prefix of loop registrations (default `loops/`).
    pub registry_prefix: String,
}

/// Settings of the status handler.
#[derive(Debug, Clone)]
pub struct StatusConfig {
    /// `RESULTS_BUCKET`: where reviewed results are written.
    pub results_bucket: String,
    /// `RESULTS_PREFIX`: key prefix of reviewed results (default `reviewed/`).
    pub results_prefix: String,
    /// `FLOW_DEFINITION_ARN`: when set, loops of other flow definitions are ignored.
    pub flow_definition_arn: Option<String>,
    /// `REGISTRY_PREFIX`: key prefix of loop registrations in `RESULTS_BUCKET` (default
    /// `loops/`), read to place `Failed` and `Stopped` results next to their item.
    pub registry_prefix: String,
}

/// Longest loop-name prefix: leaves room for the 40-character hash part of a name.
pub const MAX_PREFIX_LEN: usize = 22;
/// Default of `MAX_CONCURRENCY`.
pub const DEFAULT_MAX_CONCURRENCY: usize = 8;
/// Default of `RESULTS_PREFIX`.
pub const DEFAULT_RESULTS_PREFIX: &str = "reviewed/";
/// Default of `REGISTRY_PREFIX`.
pub const DEFAULT_REGISTRY_PREFIX: &str = crate::registry::DEFAULT_REGISTRY_PREFIX;

fn invalid(variable: &'static str, value: &str, rule: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        value: value.to_owned(),
        rule: rule.into(),
    }
}

/// Reads a variable; an unset or blank variable is `None`.
fn read(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name).filter(|v| !v.trim().is_empty())
}

fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, ConfigError> {
    read(lookup, name).ok_or_else(|| invalid(name, "", "it is required"))
}

/// Longest flow-definition name SageMaker accepts (`CreateFlowDefinition`).
pub const MAX_FLOW_DEFINITION_NAME_CHARS: usize = 63;

/// Checks a flow-definition ARN against SageMaker's rules; the error names the rule broken.
///
/// `arn:<partition>:sagemaker:<region>:<account>:flow-definition/<name>`, where the partition
/// is `aws` or `aws-…` (the model's `aws[a-z\-]*`), the region a Region code such as
/// `us-east-1`, the account 12 digits, and the name what `CreateFlowDefinition` accepts:
/// 1 to 63 characters matching `^[a-z0-9](-*[a-z0-9])*$`. The whole ARN is at most 1024
/// characters and has no surrounding whitespace. A value that breaks one of these can never
/// name a flow definition, so every loop would fail at A2I: it is refused at cold start.
pub fn check_flow_definition_arn(arn: &str) -> Result<(), String> {
    const SHAPE: &str = "it must look like arn:<partition>:sagemaker:<region>:<12-digit account>:flow-definition/<name>";
    if arn.trim() != arn {
        return Err("it must not have leading or trailing whitespace".into());
    }
    if arn.chars().count() > 1024 {
        return Err("it must be at most 1024 characters".into());
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_lit, partition, service, region, account, resource] = parts[..] else {
        return Err(SHAPE.into());
    };
    if arn_lit != "arn" {
        return Err(format!("{SHAPE}; it does not start with arn:"));
    }
    let partition_ok = partition
        .strip_prefix("aws")
        .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
    if !partition_ok {
        return Err("the partition must be aws or aws-<suffix> (lower-case letters and '-'), such as aws-cn".into());
    }
    if service != "sagemaker" {
        return Err("the service must be sagemaker".into());
    }
    if !is_region_code(region) {
        return Err("the region must be a Region code such as us-east-1 (lower-case letters, '-', and a final number)".into());
    }
    if !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())) {
        return Err("the account must be 12 digits".into());
    }
    let Some(name) = resource.strip_prefix("flow-definition/") else {
        return Err("the resource must be flow-definition/<name>".into());
    };
    let chars = name.chars().count();
    if !(1..=MAX_FLOW_DEFINITION_NAME_CHARS).contains(&chars) {
        return Err(format!(
            "the flow definition name must be 1 to {MAX_FLOW_DEFINITION_NAME_CHARS} characters, not {chars}"
        ));
    }
    if !crate::loop_name::is_valid(name) {
        return Err("the flow definition name must match ^[a-z0-9](-*[a-z0-9])*$: lower-case letters, digits and hyphens, starting and ending with a letter or digit".into());
    }
    Ok(())
}

/// `us-east-1`, `us-gov-west-1`, `cn-northwest-1`: two letters, one or more `-word`s, and a
/// `-number`.
fn is_region_code(region: &str) -> bool {
    let mut parts = region.split('-');
    let Some(area) = parts.next() else {
        return false;
    };
    let rest: Vec<&str> = parts.collect();
    let Some((number, words)) = rest.split_last() else {
        return false;
    };
    area.len() == 2
        && area.bytes().all(|b| b.is_ascii_lowercase())
        && !words.is_empty()
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

impl StartConfig {
    /// Reads the start handler's settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the start handler's settings through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let task_type = match read(&lookup, "TASK_TYPE") {
            None => TaskType::Custom,
            Some(raw) => raw.trim().parse::<TaskType>().map_err(|_| {
                invalid(
                    "TASK_TYPE",
                    &raw,
                    "it must be one of custom, textract-forms, rekognition-moderation",
                )
            })?,
        };
        let flow_definition_arn = required(&lookup, "FLOW_DEFINITION_ARN")?;
        check_flow_definition_arn(&flow_definition_arn)
            .map_err(|rule| invalid("FLOW_DEFINITION_ARN", &flow_definition_arn, rule))?;

        let content_classifiers = match read(&lookup, "CONTENT_CLASSIFIERS") {
            None => Vec::new(),
            Some(raw) => parse_classifiers(&raw)?,
        };

        if task_type.is_builtin() {
            // The flow definition holds the conditions, and an upload is one raw object: a
            // setting of the custom path would be silently ignored, so it is refused.
            for (variable, why) in [
                ("ACTIVATION_CONDITIONS", "the flow definition's HumanLoopActivationConditions decide which objects get a loop, and A2I evaluates them"),
                ("ITEMS_PATH", "an upload is one raw document or image, not a document of items"),
                ("DOCUMENT_FORMAT", "an upload is one raw document or image, not a document of items"),
                ("MEDIA_PATH", "the uploaded object itself is what reviewers see"),
            ] {
                if let Some(raw) = read(&lookup, variable) {
                    return Err(invalid(
                        variable,
                        &raw,
                        format!("it must be unset with TASK_TYPE={task_type}: {why}"),
                    ));
                }
            }
        }
        let conditions = if task_type.is_builtin() {
            ConditionsSource::FlowDefinition
        } else {
            let raw_conditions = required(&lookup, "ACTIVATION_CONDITIONS")?;
            parse_conditions_source(&raw_conditions)?
        };
        let textract_feature_types = match (task_type, read(&lookup, "TEXTRACT_FEATURE_TYPES")) {
            (TaskType::TextractForms, None) => vec![TextractFeature::Forms],
            (TaskType::TextractForms, Some(raw)) => parse_feature_types(&raw)?,
            (_, None) => Vec::new(),
            (other, Some(raw)) => {
                return Err(invalid(
                    "TEXTRACT_FEATURE_TYPES",
                    &raw,
                    format!("it applies to TASK_TYPE=textract-forms only, not {other}"),
                ))
            }
        };

        let loop_name_prefix = match read(&lookup, "LOOP_NAME_PREFIX") {
            None => None,
            Some(p) => {
                check_prefix(&p).map_err(|rule| invalid("LOOP_NAME_PREFIX", &p, rule))?;
                Some(p)
            }
        };

        let max_concurrency = match read(&lookup, "MAX_CONCURRENCY") {
            None => DEFAULT_MAX_CONCURRENCY,
            Some(raw) => match raw.trim().parse::<usize>() {
                Ok(n) if (1..=256).contains(&n) => n,
                _ => {
                    return Err(invalid(
                        "MAX_CONCURRENCY",
                        &raw,
                        "it must be a whole number from 1 to 256",
                    ))
                }
            },
        };

        let items_path = read(&lookup, "ITEMS_PATH")
            .map(|raw| parse_items_path(&raw))
            .transpose()?;

        let document_format = match read(&lookup, "DOCUMENT_FORMAT") {
            None => DocumentFormat::Auto,
            Some(raw) => raw.parse()?,
        };

        let media_path = read(&lookup, "MEDIA_PATH")
            .map(|raw| parse_path("MEDIA_PATH", &raw, "$.image"))
            .transpose()?;
        let results_bucket = if task_type.is_builtin() {
            let bucket = required(&lookup, "RESULTS_BUCKET").map_err(|e| ConfigError {
                rule: format!(
                    "it is required with TASK_TYPE={task_type}: model answers and loop registrations are written there"
                ),
                ..e
            })?;
            bucket_name(&bucket)?;
            Some(bucket)
        } else {
            read(&lookup, "RESULTS_BUCKET")
                .map(|b| bucket_name(&b).map(|()| b))
                .transpose()?
        };
        let results_prefix = key_prefix(&lookup, "RESULTS_PREFIX", DEFAULT_RESULTS_PREFIX)?;
        let registry_prefix = key_prefix(&lookup, "REGISTRY_PREFIX", DEFAULT_REGISTRY_PREFIX)?;

        Ok(Self {
            task_type,
            textract_feature_types,
            results_prefix,
            flow_definition_arn,
            content_classifiers,
            conditions,
            loop_name_prefix,
            max_concurrency,
            items_path,
            document_format,
            media_path,
            results_bucket,
            registry_prefix,
        })
    }
}

/// Parses `TEXTRACT_FEATURE_TYPES`: a comma list of `FORMS` and `TABLES` holding `FORMS`
/// (the built-in task type reviews form key-value pairs), duplicates dropped.
fn parse_feature_types(raw: &str) -> Result<Vec<TextractFeature>, ConfigError> {
    let mut out = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let feature = match part {
            "FORMS" => TextractFeature::Forms,
            "TABLES" => TextractFeature::Tables,
            _ => {
                return Err(invalid(
                    "TEXTRACT_FEATURE_TYPES",
                    raw,
                    format!("{part:?} is not a feature type; use a comma list of FORMS, TABLES"),
                ))
            }
        };
        if !out.contains(&feature) {
            out.push(feature);
        }
    }
    if !out.contains(&TextractFeature::Forms) {
        return Err(invalid(
            "TEXTRACT_FEATURE_TYPES",
            raw,
            "it must contain FORMS: the built-in task type AWS/Textract/AnalyzeDocument/Forms/V1 reviews form key-value pairs",
        ));
    }
    Ok(out)
}

/// Parses an `ITEMS_PATH` value: an RFC 9535 JSONPath such as `$.items` (surrounding blanks
/// ignored).
pub fn parse_items_path(raw: &str) -> Result<serde_json_path::JsonPath, ConfigError> {
    parse_path("ITEMS_PATH", raw, "$.items")
}

fn parse_path(
    variable: &'static str,
    raw: &str,
    example: &str,
) -> Result<serde_json_path::JsonPath, ConfigError> {
    crate::conditions::parse_json_path(raw.trim()).map_err(|e| {
        invalid(
            variable,
            raw,
            format!("it must be an RFC 9535 JSONPath such as {example}: {e}"),
        )
    })
}

/// Parses a `DOCUMENT_FORMAT` value: `auto`, `json` or `jsonl` (surrounding blanks ignored).
impl std::str::FromStr for DocumentFormat {
    type Err = ConfigError;

    fn from_str(raw: &str) -> Result<Self, ConfigError> {
        match raw.trim() {
            "auto" => Ok(Self::Auto),
            "json" => Ok(Self::Json),
            "jsonl" => Ok(Self::JsonLines),
            other => Err(invalid(
                "DOCUMENT_FORMAT",
                other,
                "it must be one of auto, json, jsonl",
            )),
        }
    }
}

fn parse_classifiers(raw: &str) -> Result<Vec<ContentClassifier>, ConfigError> {
    let mut out = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let c = match part {
            "FreeOfPersonallyIdentifiableInformation" => {
                ContentClassifier::FreeOfPersonallyIdentifiableInformation
            }
            "FreeOfAdultContent" => ContentClassifier::FreeOfAdultContent,
            _ => {
                return Err(invalid(
                    "CONTENT_CLASSIFIERS",
                    raw,
                    format!(
                        "{part:?} is not a content classifier; use a comma list of FreeOfPersonallyIdentifiableInformation, FreeOfAdultContent"
                    ),
                ))
            }
        };
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// Turns `ACTIVATION_CONDITIONS` into a source: `s3://…` is read later, anything else must be
/// a valid condition document now.
pub fn parse_conditions_source(raw: &str) -> Result<ConditionsSource, ConfigError> {
    let trimmed = raw.trim();
    if trimmed.starts_with("s3://") {
        let (bucket, key) =
            parse_s3_uri(trimmed).map_err(|e| invalid("ACTIVATION_CONDITIONS", raw, e.rule))?;
        return Ok(ConditionsSource::S3 { bucket, key });
    }
    let conditions = parse_conditions_document(trimmed).map_err(|e| {
        invalid(
            "ACTIVATION_CONDITIONS",
            raw,
            format!("invalid condition document at {e}"),
        )
    })?;
    Ok(ConditionsSource::Inline(conditions))
}

/// Parses a condition document (inline or read from S3).
pub fn parse_conditions_document(json: &str) -> Result<ActivationConditions, ConditionError> {
    ActivationConditions::parse(json)
}

/// A loop-name prefix must itself be a valid start of a name: lowercase letters, digits and
/// inner hyphens, starting with a letter or digit, at most [`MAX_PREFIX_LEN`] characters.
fn check_prefix(p: &str) -> Result<(), String> {
    if p.len() > MAX_PREFIX_LEN {
        return Err(format!("it must be at most {MAX_PREFIX_LEN} characters"));
    }
    let ok_chars = p
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let starts_ok = p
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok_chars && starts_ok {
        Ok(())
    } else {
        Err("it must hold only a-z, 0-9 and '-', and start with a letter or digit".into())
    }
}

impl StatusConfig {
    /// Reads the status handler's settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the status handler's settings through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let results_bucket = required(&lookup, "RESULTS_BUCKET")?;
        bucket_name(&results_bucket)?;
        let results_prefix = key_prefix(&lookup, "RESULTS_PREFIX", DEFAULT_RESULTS_PREFIX)?;
        let registry_prefix = key_prefix(&lookup, "REGISTRY_PREFIX", DEFAULT_REGISTRY_PREFIX)?;
        let flow_definition_arn = match read(&lookup, "FLOW_DEFINITION_ARN") {
            None => None,
            Some(arn) => {
                check_flow_definition_arn(&arn)
                    .map_err(|rule| invalid("FLOW_DEFINITION_ARN", &arn, rule))?;
                Some(arn)
            }
        };
        Ok(Self {
            results_bucket,
            results_prefix,
            flow_definition_arn,
            registry_prefix,
        })
    }
}

/// `RESULTS_BUCKET` must be a bucket name.
fn bucket_name(bucket: &str) -> Result<(), ConfigError> {
    if valid_bucket_name(bucket) {
        return Ok(());
    }
    Err(invalid(
        "RESULTS_BUCKET",
        bucket,
        "it must be a bucket name: 3-63 characters of a-z, 0-9, '.', '-', starting and ending with a letter or digit",
    ))
}

/// A key prefix (`RESULTS_PREFIX`, `REGISTRY_PREFIX`): `default` when unset, an explicit
/// empty value meaning the bucket root; at most 512 bytes, no leading `/`.
fn key_prefix(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: &str,
) -> Result<String, ConfigError> {
    match lookup(variable) {
        None => Ok(default.to_owned()),
        Some(p) if p.len() > 512 => Err(invalid(variable, &p, "it must be at most 512 bytes")),
        Some(p) if p.starts_with('/') => Err(invalid(
            variable,
            &p,
            "it must not start with '/' (S3 keys have no leading slash)",
        )),
        Some(p) => Ok(p),
    }
}

fn valid_bucket_name(b: &str) -> bool {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&b.len())
        && b.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge_ok(b.chars().next())
        && edge_ok(b.chars().last())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const ARN: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/my-flow";
    const CONDS: &str = r#"{"Conditions":[{"ConditionType":"Sampling","ConditionParameters":{"RandomSamplingPercentage":10}}]}"#;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn start(extra: &[(&str, &str)]) -> Result<StartConfig, ConfigError> {
        let mut pairs = vec![
            ("FLOW_DEFINITION_ARN", ARN),
            ("ACTIVATION_CONDITIONS", CONDS),
        ];
        pairs.extend_from_slice(extra);
        // Later pairs win, so a test can override a default.
        let map: HashMap<_, _> = pairs.into_iter().collect();
        let pairs: Vec<_> = map.into_iter().collect();
        StartConfig::from_lookup(env(&pairs))
    }

    #[test]
    fn minimal_start_config_has_safe_defaults() {
        let c = start(&[]).unwrap();
        assert_eq!(c.flow_definition_arn, ARN);
        assert!(
            c.content_classifiers.is_empty(),
            "classifiers are never assumed"
        );
        assert_eq!(c.max_concurrency, DEFAULT_MAX_CONCURRENCY);
        assert!(c.loop_name_prefix.is_none());
        assert_eq!(c.document_format, DocumentFormat::Auto);
        assert!(matches!(c.conditions, ConditionsSource::Inline(_)));
        assert_eq!(c.results_bucket, None, "no registry unless configured");
        assert_eq!(c.registry_prefix, DEFAULT_REGISTRY_PREFIX);
    }

    #[test]
    fn the_registry_settings_are_checked_like_the_results_ones() {
        let c = start(&[("RESULTS_BUCKET", "results"), ("REGISTRY_PREFIX", "reg/")]).unwrap();
        assert_eq!(c.results_bucket.as_deref(), Some("results"));
        assert_eq!(c.registry_prefix, "reg/");
        assert_eq!(
            start(&[("RESULTS_BUCKET", "Results")])
                .unwrap_err()
                .variable,
            "RESULTS_BUCKET"
        );
        assert_eq!(
            start(&[("REGISTRY_PREFIX", "/x")]).unwrap_err().variable,
            "REGISTRY_PREFIX"
        );
        let c = StatusConfig::from_lookup(env(&[("RESULTS_BUCKET", "results")])).unwrap();
        assert_eq!(c.registry_prefix, "loops/");
    }

    #[test]
    fn missing_required_variable_is_named() {
        let e = StartConfig::from_lookup(env(&[("ACTIVATION_CONDITIONS", CONDS)])).unwrap_err();
        assert_eq!(e.variable, "FLOW_DEFINITION_ARN");
        assert!(e.to_string().contains("required"), "{e}");
        let e = StartConfig::from_lookup(env(&[("FLOW_DEFINITION_ARN", ARN)])).unwrap_err();
        assert_eq!(e.variable, "ACTIVATION_CONDITIONS");
    }

    #[test]
    fn flow_definition_arn_is_checked_against_sagemakers_rules() {
        let name63 = "f".repeat(63);
        let arn63 = format!("arn:aws:sagemaker:us-east-1:111122223333:flow-definition/{name63}");
        for good in [
            ARN,
            "arn:aws-cn:sagemaker:cn-north-1:111122223333:flow-definition/f",
            "arn:aws-us-gov:sagemaker:us-gov-west-1:111122223333:flow-definition/f",
            "arn:aws:sagemaker:eu-central-2:111122223333:flow-definition/a--b-9",
            arn63.as_str(),
        ] {
            assert_eq!(check_flow_definition_arn(good), Ok(()), "{good}");
        }
        let arn64 = format!("{arn63}f");
        let cases = [
            (format!("{ARN} "), "whitespace"),
            (format!(" {ARN}"), "whitespace"),
            (
                "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/My-Flow".to_owned(),
                "^[a-z0-9](-*[a-z0-9])*$",
            ),
            (arn64, "1 to 63 characters, not 64"),
            (
                "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/".to_owned(),
                "1 to 63 characters, not 0",
            ),
            (
                "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/-f".to_owned(),
                "^[a-z0-9](-*[a-z0-9])*$",
            ),
            (
                "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/f_1".to_owned(),
                "^[a-z0-9](-*[a-z0-9])*$",
            ),
            (
                "arn:aws:sagemaker:us-east-1:11112222333:flow-definition/f".to_owned(),
                "12 digits",
            ),
            (
                "arn:aws:s3:us-east-1:111122223333:flow-definition/f".to_owned(),
                "service must be sagemaker",
            ),
            (
                "arn:aws:sagemaker:us-east-1:111122223333:human-loop/f".to_owned(),
                "flow-definition/<name>",
            ),
            (
                "arn:AWS:sagemaker:us-east-1:111122223333:flow-definition/f".to_owned(),
                "partition",
            ),
            (
                "arn:aws:sagemaker::111122223333:flow-definition/f".to_owned(),
                "Region code",
            ),
            (
                "arn:aws:sagemaker:US-EAST-1:111122223333:flow-definition/f".to_owned(),
                "Region code",
            ),
            (
                "arn:aws:sagemaker:useast1:111122223333:flow-definition/f".to_owned(),
                "Region code",
            ),
            ("my-flow".to_owned(), "it must look like"),
            (
                "urn:aws:sagemaker:us-east-1:111122223333:flow-definition/f".to_owned(),
                "does not start with arn:",
            ),
        ];
        for (bad, rule) in cases {
            let e = start(&[("FLOW_DEFINITION_ARN", &bad)]).unwrap_err();
            assert_eq!(e.variable, "FLOW_DEFINITION_ARN", "{bad}");
            assert_eq!(e.value, bad);
            assert!(e.rule.contains(rule), "{bad:?}: {}", e.rule);
        }
        let e = StatusConfig::from_lookup(env(&[
            ("RESULTS_BUCKET", "results"),
            ("FLOW_DEFINITION_ARN", &format!("{ARN}\n")),
        ]))
        .unwrap_err();
        assert!(e.rule.contains("whitespace"), "{e}");
    }

    #[test]
    fn classifiers_are_parsed_deduplicated_and_checked() {
        let c = start(&[(
            "CONTENT_CLASSIFIERS",
            " FreeOfAdultContent,FreeOfPersonallyIdentifiableInformation , FreeOfAdultContent",
        )])
        .unwrap();
        assert_eq!(
            c.content_classifiers,
            vec![
                ContentClassifier::FreeOfAdultContent,
                ContentClassifier::FreeOfPersonallyIdentifiableInformation
            ]
        );
        let e = start(&[("CONTENT_CLASSIFIERS", "FreeOfPII")]).unwrap_err();
        assert_eq!(e.variable, "CONTENT_CLASSIFIERS");
        assert!(e.rule.contains("\"FreeOfPII\""), "{e}");
    }

    #[test]
    fn concurrency_prefix_items_path_and_format_are_validated() {
        assert_eq!(
            start(&[("MAX_CONCURRENCY", "16")]).unwrap().max_concurrency,
            16
        );
        for bad in ["0", "-1", "many", "257"] {
            assert_eq!(
                start(&[("MAX_CONCURRENCY", bad)]).unwrap_err().variable,
                "MAX_CONCURRENCY"
            );
        }
        assert_eq!(
            start(&[("LOOP_NAME_PREFIX", "invoices-2026")])
                .unwrap()
                .loop_name_prefix
                .as_deref(),
            Some("invoices-2026")
        );
        for bad in ["Invoices", "-x", "a_b", "abcdefghijklmnopqrstuvw"] {
            assert_eq!(
                start(&[("LOOP_NAME_PREFIX", bad)]).unwrap_err().variable,
                "LOOP_NAME_PREFIX",
                "{bad}"
            );
        }
        assert!(start(&[("ITEMS_PATH", "$.predictions")])
            .unwrap()
            .items_path
            .is_some());
        assert_eq!(
            start(&[("ITEMS_PATH", "predictions[")])
                .unwrap_err()
                .variable,
            "ITEMS_PATH"
        );
        assert_eq!(
            start(&[("DOCUMENT_FORMAT", "jsonl")])
                .unwrap()
                .document_format,
            DocumentFormat::JsonLines
        );
        assert_eq!(
            start(&[("DOCUMENT_FORMAT", "csv")]).unwrap_err().variable,
            "DOCUMENT_FORMAT"
        );
    }

    #[test]
    fn media_path_is_an_optional_jsonpath_checked_at_cold_start() {
        assert!(start(&[]).unwrap().media_path.is_none());
        let c = start(&[("MEDIA_PATH", " $.source.image ")]).unwrap();
        assert_eq!(c.media_path.unwrap().to_string(), "$.source.image");
        let e = start(&[("MEDIA_PATH", "$.image[")]).unwrap_err();
        assert_eq!(e.variable, "MEDIA_PATH");
        assert!(e.rule.contains("RFC 9535 JSONPath such as $.image"), "{e}");
    }

    #[test]
    fn conditions_may_be_an_s3_uri_read_later() {
        let c = start(&[(
            "ACTIVATION_CONDITIONS",
            "s3://config-bucket/conditions/review.json",
        )])
        .unwrap();
        match c.conditions {
            ConditionsSource::S3 { bucket, key } => {
                assert_eq!(bucket, "config-bucket");
                assert_eq!(key, "conditions/review.json");
            }
            other => panic!("expected S3 source, got {other:?}"),
        }
        let e = start(&[("ACTIVATION_CONDITIONS", "s3://only-bucket")]).unwrap_err();
        assert_eq!(e.variable, "ACTIVATION_CONDITIONS");
    }

    #[test]
    fn invalid_condition_json_is_rejected_at_cold_start() {
        let e = start(&[("ACTIVATION_CONDITIONS", "{not json")]).unwrap_err();
        assert_eq!(e.variable, "ACTIVATION_CONDITIONS");
        assert!(e.rule.contains("invalid condition document"), "{e}");
    }

    fn builtin(extra: &[(&str, &str)]) -> Result<StartConfig, ConfigError> {
        let mut map: HashMap<&str, &str> = HashMap::from([
            ("FLOW_DEFINITION_ARN", ARN),
            ("TASK_TYPE", "textract-forms"),
            ("RESULTS_BUCKET", "results"),
        ]);
        map.extend(extra.iter().copied());
        let pairs: Vec<_> = map.into_iter().collect();
        StartConfig::from_lookup(env(&pairs))
    }

    #[test]
    fn the_task_type_defaults_to_custom_and_unknown_ones_are_refused() {
        let c = start(&[]).unwrap();
        assert_eq!(c.task_type, TaskType::Custom);
        assert!(c.textract_feature_types.is_empty());
        assert_eq!(c.results_prefix, DEFAULT_RESULTS_PREFIX);
        assert_eq!(
            start(&[("TASK_TYPE", " custom ")]).unwrap().task_type,
            TaskType::Custom
        );
        let e = start(&[("TASK_TYPE", "textract")]).unwrap_err();
        assert_eq!(e.variable, "TASK_TYPE");
        assert!(
            e.rule
                .contains("custom, textract-forms, rekognition-moderation"),
            "{e}"
        );
    }

    #[test]
    fn a_built_in_mode_needs_a_results_bucket_and_no_condition_settings() {
        let c = builtin(&[]).unwrap();
        assert_eq!(c.task_type, TaskType::TextractForms);
        assert!(matches!(c.conditions, ConditionsSource::FlowDefinition));
        assert_eq!(c.textract_feature_types, [TextractFeature::Forms]);
        assert_eq!(c.results_bucket.as_deref(), Some("results"));
        let c = builtin(&[
            ("TASK_TYPE", "rekognition-moderation"),
            ("RESULTS_PREFIX", "answers/"),
        ])
        .unwrap();
        assert_eq!(c.task_type, TaskType::RekognitionModeration);
        assert!(c.textract_feature_types.is_empty());
        assert_eq!(c.results_prefix, "answers/");

        let e = builtin(&[("RESULTS_BUCKET", "")]).unwrap_err();
        assert_eq!(e.variable, "RESULTS_BUCKET");
        assert!(
            e.rule.contains("required with TASK_TYPE=textract-forms"),
            "{e}"
        );
        for variable in [
            "ACTIVATION_CONDITIONS",
            "ITEMS_PATH",
            "DOCUMENT_FORMAT",
            "MEDIA_PATH",
        ] {
            let e = builtin(&[(variable, "x")]).unwrap_err();
            assert_eq!(e.variable, variable);
            assert!(
                e.rule
                    .starts_with("it must be unset with TASK_TYPE=textract-forms"),
                "{e}"
            );
        }
        let e = builtin(&[("ACTIVATION_CONDITIONS", CONDS)]).unwrap_err();
        assert!(e.rule.contains("flow definition"), "{e}");
    }

    #[test]
    fn textract_feature_types_hold_forms_and_apply_to_textract_only() {
        let c = builtin(&[("TEXTRACT_FEATURE_TYPES", " TABLES, FORMS ,TABLES")]).unwrap();
        assert_eq!(
            c.textract_feature_types,
            [TextractFeature::Tables, TextractFeature::Forms]
        );
        for (bad, rule) in [
            ("TABLES", "must contain FORMS"),
            ("FORMS,QUERIES", "\"QUERIES\" is not a feature type"),
            ("forms", "\"forms\" is not a feature type"),
        ] {
            let e = builtin(&[("TEXTRACT_FEATURE_TYPES", bad)]).unwrap_err();
            assert_eq!(e.variable, "TEXTRACT_FEATURE_TYPES");
            assert!(e.rule.contains(rule), "{bad}: {e}");
        }
        let e = builtin(&[
            ("TASK_TYPE", "rekognition-moderation"),
            ("TEXTRACT_FEATURE_TYPES", "FORMS"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "TEXTRACT_FEATURE_TYPES");
        assert!(e.rule.contains("textract-forms only"), "{e}");
        let e = start(&[("TEXTRACT_FEATURE_TYPES", "FORMS")]).unwrap_err();
        assert_eq!(e.variable, "TEXTRACT_FEATURE_TYPES");
    }

    #[test]
    fn status_config_defaults_and_rules() {
        let c = StatusConfig::from_lookup(env(&[("RESULTS_BUCKET", "reviewed-results")])).unwrap();
        assert_eq!(c.results_prefix, DEFAULT_RESULTS_PREFIX);
        assert!(c.flow_definition_arn.is_none());
        let c = StatusConfig::from_lookup(env(&[
            ("RESULTS_BUCKET", "reviewed-results"),
            ("RESULTS_PREFIX", ""),
            ("FLOW_DEFINITION_ARN", ARN),
        ]))
        .unwrap();
        assert_eq!(
            c.results_prefix, "",
            "an explicit empty prefix means the bucket root"
        );
        assert_eq!(c.flow_definition_arn.as_deref(), Some(ARN));
        for bad in ["Results", "ab", "-bucket", "bucket_1"] {
            let e = StatusConfig::from_lookup(env(&[("RESULTS_BUCKET", bad)])).unwrap_err();
            assert_eq!(e.variable, "RESULTS_BUCKET", "{bad}");
        }
        let e = StatusConfig::from_lookup(env(&[])).unwrap_err();
        assert_eq!(e.variable, "RESULTS_BUCKET");
        let e = StatusConfig::from_lookup(env(&[
            ("RESULTS_BUCKET", "results"),
            ("RESULTS_PREFIX", "/abs"),
        ]))
        .unwrap_err();
        assert_eq!(e.variable, "RESULTS_PREFIX");
    }
}
