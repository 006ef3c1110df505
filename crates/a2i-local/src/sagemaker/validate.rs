//! The SageMaker model's constraints for the nine operations: untrusted awsJson bodies become
//! typed requests here, once. A member of the wrong JSON type is a `SerializationException`
//! naming the member; every broken constraint becomes part of one `ValidationException` in
//! AWS's wording (`Value '…' at 'humanLoopConfig.taskCount' failed to satisfy constraint:
//! Member must …`). Content (templates, task input, titles, conditions) is never echoed.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::error::{SageMakerError, Violations};
use super::model::{
    FlowDefinitionRequest, HumanLoopActivationConditionsConfig, HumanLoopActivationConfig,
    HumanLoopConfig, HumanLoopRequestSource, OutputConfig, PublicWorkforceTaskPrice, Tag, Usd,
};
use crate::loops::SortOrder;

/// Name pattern of task UIs.
pub const HUMAN_TASK_UI_NAME_PATTERN: &str = "[a-z0-9](-*[a-z0-9])*";
/// Name pattern of flow definitions.
pub const FLOW_DEFINITION_NAME_PATTERN: &str = "[a-z0-9](-*[a-z0-9]){0,62}";
/// The model's pattern of `HumanTaskUiArn`.
pub const HUMAN_TASK_UI_ARN_PATTERN: &str =
    r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:[0-9]{12}:human-task-ui/.*";
/// The model's pattern of `WorkteamArn`.
pub const WORKTEAM_ARN_PATTERN: &str =
    r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:workteam/.*";
/// The model's pattern of `RoleArn`.
pub const ROLE_ARN_PATTERN: &str = r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+";
/// The model's pattern of `S3Uri`.
pub const S3_URI_PATTERN: &str = "(https|s3)://([^/]+)/?(.*)";
/// The model's pattern of `KmsKeyId`.
pub const KMS_KEY_ID_PATTERN: &str = "[a-zA-Z0-9:/_-]*";
/// The model's pattern of a task keyword.
pub const TASK_KEYWORD_PATTERN: &str = "[A-Za-z0-9]+( [A-Za-z0-9]+)*";
/// The model's pattern of a task title (as the model writes it, in UTF-16 terms).
pub const TASK_TITLE_PATTERN: &str = r"[\t\n\r -\uD7FF\uE000-\uFFFD]*";
/// The model's pattern of tag keys and values.
pub const TAG_PATTERN: &str = r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)";
/// The request sources the model's enum lists.
pub const REQUEST_SOURCES: [&str; 2] = [
    "AWS/Rekognition/DetectModerationLabels/Image/V3",
    "AWS/Textract/AnalyzeDocument/Forms/V1",
];
/// The largest template (`TemplateContent`), in characters.
pub const MAX_TEMPLATE_LEN: usize = 128_000;
/// Bounds of `Task.Input`, in characters.
pub const TASK_INPUT_LEN: (usize, usize) = (2, 128_000);
/// The largest activation-conditions document, in characters.
pub const MAX_CONDITIONS_LEN: usize = 10_240;
/// The refusal of activation conditions on a flow definition without a request source.
/// A2I evaluates activation conditions only for the built-in task types (Textract,
/// Rekognition), whose flow definitions name a `HumanLoopRequestSource`; for a custom task
/// type the caller decides when to call `StartHumanLoop`, and the API refuses the
/// conditions (a2i-facts §4: "`HumanLoopActivationConfig` is disabled"; AWS's exact message
/// is not documented).
pub const CONDITIONS_WITHOUT_REQUEST_SOURCE: &str =
    "HumanLoopActivationConfig is disabled for a flow definition without a HumanLoopRequestSource: \
     activation conditions are evaluated only for the built-in task types \
     (AWS/Textract/AnalyzeDocument/Forms/V1, AWS/Rekognition/DetectModerationLabels/Image/V3). \
     For a custom task type, your application decides when to call StartHumanLoop.";
/// Bounds of `TaskTimeLimitInSeconds`: the model's minimum, and the 8-hour maximum AWS
/// documents for custom tasks.
pub const TASK_TIME_LIMIT_RANGE: (i64, i64) = (30, 28_800);
/// Bounds of `TaskAvailabilityLifetimeInSeconds`: the model's minimum, and the 10-day
/// maximum AWS documents for private work teams.
pub const AVAILABILITY_LIFETIME_RANGE: (i64, i64) = (1, 864_000);
/// MaxResults bounds of the two List operations.
pub const MAX_RESULTS_RANGE: (i64, i64) = (1, 100);
/// The page size when MaxResults is absent (the model gives none).
pub const DEFAULT_MAX_RESULTS: usize = 100;
/// The NextToken maximum length.
pub const MAX_NEXT_TOKEN_LEN: usize = 8192;

fn full(pattern: &str) -> Regex {
    // Model patterns are unanchored, but SageMaker matches whole values (a real error
    // refuses 'IDP-BDA-3' for the task UI name pattern, which matches part of it).
    Regex::new(&format!("^(?:{pattern})$")).expect("invariant: model patterns are valid regexes")
}

static UI_NAME: LazyLock<Regex> = LazyLock::new(|| full(HUMAN_TASK_UI_NAME_PATTERN));
static FLOW_NAME: LazyLock<Regex> = LazyLock::new(|| full(FLOW_DEFINITION_NAME_PATTERN));
static UI_ARN: LazyLock<Regex> = LazyLock::new(|| full(HUMAN_TASK_UI_ARN_PATTERN));
static WORKTEAM_ARN: LazyLock<Regex> = LazyLock::new(|| full(WORKTEAM_ARN_PATTERN));
static ROLE_ARN: LazyLock<Regex> = LazyLock::new(|| full(ROLE_ARN_PATTERN));
static S3_URI: LazyLock<Regex> = LazyLock::new(|| full(S3_URI_PATTERN));
static KMS_KEY_ID: LazyLock<Regex> = LazyLock::new(|| full(KMS_KEY_ID_PATTERN));
static KEYWORD: LazyLock<Regex> = LazyLock::new(|| full(TASK_KEYWORD_PATTERN));
// The title pattern in Rust syntax: code points U+0020–U+D7FF and U+E000–U+FFFD (Java
// matches code points, so characters beyond U+FFFF are outside the class there too).
static TITLE: LazyLock<Regex> =
    LazyLock::new(|| full(r"[\t\n\r\x{20}-\x{D7FF}\x{E000}-\x{FFFD}]*"));
static TAG: LazyLock<Regex> = LazyLock::new(|| full(TAG_PATTERN));

/// Whether a value may be echoed in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Echo {
    Yes,
    No,
}

/// One string member's constraints.
struct Rule {
    min: usize,
    max: usize,
    pattern: Option<(&'static LazyLock<Regex>, &'static str)>,
    echo: Echo,
}

fn check(v: &mut Violations, field: &str, value: &str, rule: &Rule) {
    let len = value.chars().count();
    let mut report = |text: String| match rule.echo {
        Echo::Yes => v.value(field, value, &text),
        Echo::No => v.hidden(field, &text),
    };
    if len < rule.min {
        report(format!("have length greater than or equal to {}", rule.min));
    } else if len > rule.max {
        report(format!("have length less than or equal to {}", rule.max));
    }
    if let Some((regex, text)) = rule.pattern {
        if len >= rule.min && !regex.is_match(value) {
            report(format!("satisfy regular expression pattern: {text}"));
        }
    }
}

fn check_int(v: &mut Violations, field: &str, value: i64, min: i64, max: Option<i64>) {
    if value < min {
        v.value(
            field,
            &value.to_string(),
            &format!("have value greater than or equal to {min}"),
        );
    }
    if let Some(max) = max {
        if value > max {
            v.value(
                field,
                &value.to_string(),
                &format!("have value less than or equal to {max}"),
            );
        }
    }
}

const UI_NAME_RULE: Rule = Rule {
    min: 1,
    max: 63,
    pattern: Some((&UI_NAME, HUMAN_TASK_UI_NAME_PATTERN)),
    echo: Echo::Yes,
};
const FLOW_NAME_RULE: Rule = Rule {
    min: 1,
    max: 63,
    pattern: Some((&FLOW_NAME, FLOW_DEFINITION_NAME_PATTERN)),
    echo: Echo::Yes,
};
const UI_ARN_RULE: Rule = Rule {
    min: 0,
    max: 1024,
    pattern: Some((&UI_ARN, HUMAN_TASK_UI_ARN_PATTERN)),
    echo: Echo::Yes,
};
const ROLE_ARN_RULE: Rule = Rule {
    min: 20,
    max: 2048,
    pattern: Some((&ROLE_ARN, ROLE_ARN_PATTERN)),
    echo: Echo::Yes,
};
const TEMPLATE_RULE: Rule = Rule {
    min: 1,
    max: MAX_TEMPLATE_LEN,
    pattern: None, // `[\S\s]+` holds for every non-empty string
    echo: Echo::No,
};

/// A JSON view that turns type mismatches into `SerializationException`s naming the member.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

fn camel(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn type_error(field: &str, expected: &str, got: &Value) -> SageMakerError {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) if expected == "an integer" => "a number that is not a 64-bit integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    SageMakerError::Serialization(format!(
        "Cannot read member '{field}': expected {expected}, got {got}."
    ))
}

impl<'a> Obj<'a> {
    fn root(map: &'a Map<String, Value>) -> Self {
        Self {
            map,
            path: String::new(),
        }
    }

    fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            camel(key)
        } else {
            format!("{}.{}", self.path, camel(key))
        }
    }

    /// A member; JSON null counts as absent, as in Smithy.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn string(&self, key: &str) -> Result<Option<&'a str>, SageMakerError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(type_error(&self.field(key), "a string", other)),
        }
    }

    fn int(&self, key: &str) -> Result<Option<i64>, SageMakerError> {
        match self.get(key) {
            None => Ok(None),
            Some(number @ Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| type_error(&self.field(key), "an integer", number)),
            Some(other) => Err(type_error(&self.field(key), "an integer", other)),
        }
    }

    fn number(&self, key: &str) -> Result<Option<f64>, SageMakerError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(other) => Err(type_error(
                &self.field(key),
                "a timestamp in epoch seconds",
                other,
            )),
        }
    }

    fn object(&self, key: &str) -> Result<Option<Obj<'a>>, SageMakerError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Obj {
                map,
                path: self.field(key),
            })),
            Some(other) => Err(type_error(&self.field(key), "an object", other)),
        }
    }

    fn list(&self, key: &str) -> Result<Option<&'a Vec<Value>>, SageMakerError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(type_error(&self.field(key), "a list", other)),
        }
    }

    /// A required string member: records a violation when absent.
    fn required_string(
        &self,
        key: &str,
        v: &mut Violations,
    ) -> Result<Option<&'a str>, SageMakerError> {
        let value = self.string(key)?;
        if value.is_none() {
            v.missing(&self.field(key));
        }
        Ok(value)
    }

    fn required_object(
        &self,
        key: &str,
        v: &mut Violations,
    ) -> Result<Option<Obj<'a>>, SageMakerError> {
        let value = self.object(key)?;
        if value.is_none() {
            v.missing(&self.field(key));
        }
        Ok(value)
    }
}

/// Parses an awsJson body: a JSON object (an empty body counts as `{}`).
pub fn body_object(body: &[u8]) -> Result<Map<String, Value>, SageMakerError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(SageMakerError::Serialization(
            "The request body must be a JSON object.".to_owned(),
        )),
        Err(err) => Err(SageMakerError::Serialization(format!(
            "The request body is not valid JSON (line {}, column {}).",
            err.line(),
            err.column()
        ))),
    }
}

fn incomplete() -> SageMakerError {
    // Unreachable in practice: every absent required member recorded a violation first.
    SageMakerError::Validation("1 validation error detected: the request is incomplete".into())
}

fn tags(obj: &Obj<'_>, v: &mut Violations) -> Result<Vec<Tag>, SageMakerError> {
    let Some(items) = obj.list("Tags")? else {
        return Ok(Vec::new());
    };
    let field = obj.field("Tags");
    if items.len() > 50 {
        v.hidden(&field, "have length less than or equal to 50");
    }
    let mut tags = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("{field}.{}.member", i + 1);
        let Value::Object(map) = item else {
            return Err(type_error(&path, "an object", item));
        };
        let tag = Obj { map, path };
        let key = tag.required_string("Key", v)?;
        let value = tag.required_string("Value", v)?;
        if let Some(key) = key {
            check(
                v,
                &tag.field("Key"),
                key,
                &Rule {
                    min: 1,
                    max: 128,
                    pattern: Some((&TAG, TAG_PATTERN)),
                    echo: Echo::Yes,
                },
            );
        }
        if let Some(value) = value {
            check(
                v,
                &tag.field("Value"),
                value,
                &Rule {
                    min: 0,
                    max: 256,
                    pattern: Some((&TAG, TAG_PATTERN)),
                    echo: Echo::Yes,
                },
            );
        }
        if let (Some(key), Some(value)) = (key, value) {
            tags.push(Tag {
                key: key.to_owned(),
                value: value.to_owned(),
            });
        }
    }
    Ok(tags)
}

/// A validated CreateHumanTaskUi request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateHumanTaskUi {
    /// The name.
    pub name: String,
    /// The template.
    pub content: String,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// Parses and checks a CreateHumanTaskUi request.
pub fn create_human_task_ui(
    body: &Map<String, Value>,
) -> Result<CreateHumanTaskUi, SageMakerError> {
    let obj = Obj::root(body);
    let mut v = Violations::new();
    let name = obj.required_string("HumanTaskUiName", &mut v)?;
    if let Some(name) = name {
        check(&mut v, "humanTaskUiName", name, &UI_NAME_RULE);
    }
    let content = match obj.required_object("UiTemplate", &mut v)? {
        Some(template) => template.required_string("Content", &mut v)?,
        None => None,
    };
    if let Some(content) = content {
        check(&mut v, "uiTemplate.content", content, &TEMPLATE_RULE);
    }
    let tags = tags(&obj, &mut v)?;
    v.into_result()?;
    match (name, content) {
        (Some(name), Some(content)) => Ok(CreateHumanTaskUi {
            name: name.to_owned(),
            content: content.to_owned(),
            tags,
        }),
        _ => Err(incomplete()),
    }
}

/// Parses and checks a request whose only member is a name (Describe and Delete of both
/// resources): `key` is `HumanTaskUiName` or `FlowDefinitionName`.
pub fn name_request(body: &Map<String, Value>, key: &str) -> Result<String, SageMakerError> {
    let obj = Obj::root(body);
    let mut v = Violations::new();
    let name = obj.required_string(key, &mut v)?;
    if let Some(name) = name {
        let rule = if key == "HumanTaskUiName" {
            &UI_NAME_RULE
        } else {
            &FLOW_NAME_RULE
        };
        check(&mut v, &obj.field(key), name, rule);
    }
    v.into_result()?;
    name.map(str::to_owned).ok_or_else(incomplete)
}

/// Parses and checks a CreateFlowDefinition request (also the flow-definition entries of a
/// resources file).
pub fn create_flow_definition(
    body: &Map<String, Value>,
) -> Result<FlowDefinitionRequest, SageMakerError> {
    let obj = Obj::root(body);
    let mut v = Violations::new();

    let name = obj.required_string("FlowDefinitionName", &mut v)?;
    if let Some(name) = name {
        check(&mut v, "flowDefinitionName", name, &FLOW_NAME_RULE);
    }

    let request_source = match obj.object("HumanLoopRequestSource")? {
        None => None,
        Some(src) => match src.required_string("AwsManagedHumanLoopRequestSource", &mut v)? {
            Some(value) if REQUEST_SOURCES.contains(&value) => Some(HumanLoopRequestSource {
                aws_managed_human_loop_request_source: value.to_owned(),
            }),
            Some(value) => {
                v.value(
                    &src.field("AwsManagedHumanLoopRequestSource"),
                    value,
                    &format!("satisfy enum value set: [{}]", REQUEST_SOURCES.join(", ")),
                );
                None
            }
            None => None,
        },
    };

    let activation = match obj.object("HumanLoopActivationConfig")? {
        None => None,
        Some(config) => match config
            .required_object("HumanLoopActivationConditionsConfig", &mut v)?
        {
            None => None,
            Some(conditions) => {
                match conditions.required_string("HumanLoopActivationConditions", &mut v)? {
                    None => None,
                    Some(text) => {
                        let field = conditions.field("HumanLoopActivationConditions");
                        if text.chars().count() > MAX_CONDITIONS_LEN {
                            v.hidden(
                                &field,
                                &format!("have length less than or equal to {MAX_CONDITIONS_LEN}"),
                            );
                        } else if serde_json::from_str::<Value>(text).is_err() {
                            v.hidden(&field, "be a valid JSON document");
                        }
                        Some(HumanLoopActivationConfig {
                            human_loop_activation_conditions_config:
                                HumanLoopActivationConditionsConfig {
                                    human_loop_activation_conditions: text.to_owned(),
                                },
                        })
                    }
                }
            }
        },
    };

    let human_loop_config = match obj.object("HumanLoopConfig")? {
        None => None,
        Some(config) => human_loop_config(&config, &mut v)?,
    };

    let output_config = match obj.required_object("OutputConfig", &mut v)? {
        None => None,
        Some(output) => {
            let path = output.required_string("S3OutputPath", &mut v)?;
            if let Some(path) = path {
                check(
                    &mut v,
                    &output.field("S3OutputPath"),
                    path,
                    &Rule {
                        min: 0,
                        max: 1024,
                        pattern: Some((&S3_URI, S3_URI_PATTERN)),
                        echo: Echo::Yes,
                    },
                );
            }
            let kms = output.string("KmsKeyId")?;
            if let Some(kms) = kms {
                check(
                    &mut v,
                    &output.field("KmsKeyId"),
                    kms,
                    &Rule {
                        min: 0,
                        max: 2048,
                        pattern: Some((&KMS_KEY_ID, KMS_KEY_ID_PATTERN)),
                        echo: Echo::Yes,
                    },
                );
            }
            path.map(|path| OutputConfig {
                s3_output_path: path.to_owned(),
                kms_key_id: kms.map(str::to_owned),
            })
        }
    };

    let role = obj.required_string("RoleArn", &mut v)?;
    if let Some(role) = role {
        check(&mut v, "roleArn", role, &ROLE_ARN_RULE);
    }
    let tags = tags(&obj, &mut v)?;

    v.into_result()?;
    if activation.is_some() && request_source.is_none() {
        return Err(SageMakerError::Validation(
            CONDITIONS_WITHOUT_REQUEST_SOURCE.to_owned(),
        ));
    }
    match (name, output_config, role) {
        (Some(name), Some(output_config), Some(role)) => Ok(FlowDefinitionRequest {
            flow_definition_name: name.to_owned(),
            human_loop_request_source: request_source,
            human_loop_activation_config: activation,
            human_loop_config,
            output_config,
            role_arn: role.to_owned(),
            tags,
        }),
        _ => Err(incomplete()),
    }
}

fn human_loop_config(
    config: &Obj<'_>,
    v: &mut Violations,
) -> Result<Option<HumanLoopConfig>, SageMakerError> {
    let workteam = config.required_string("WorkteamArn", v)?;
    if let Some(workteam) = workteam {
        check(
            v,
            &config.field("WorkteamArn"),
            workteam,
            &Rule {
                min: 0,
                max: 256,
                pattern: Some((&WORKTEAM_ARN, WORKTEAM_ARN_PATTERN)),
                echo: Echo::Yes,
            },
        );
    }
    let ui = config.required_string("HumanTaskUiArn", v)?;
    if let Some(ui) = ui {
        check(v, &config.field("HumanTaskUiArn"), ui, &UI_ARN_RULE);
    }
    let title = config.required_string("TaskTitle", v)?;
    if let Some(title) = title {
        check(
            v,
            &config.field("TaskTitle"),
            title,
            &Rule {
                min: 1,
                max: 128,
                pattern: Some((&TITLE, TASK_TITLE_PATTERN)),
                echo: Echo::No,
            },
        );
    }
    let description = config.required_string("TaskDescription", v)?;
    if let Some(description) = description {
        // `.+`: at least one character other than a line terminator.
        let len = description.chars().count();
        let field = config.field("TaskDescription");
        if len < 1 {
            v.hidden(&field, "have length greater than or equal to 1");
        } else if len > 255 {
            v.hidden(&field, "have length less than or equal to 255");
        } else if description
            .chars()
            .all(|c| matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'))
        {
            v.hidden(&field, "satisfy regular expression pattern: .+");
        }
    }
    let count = config.int("TaskCount")?;
    match count {
        Some(count) => check_int(v, &config.field("TaskCount"), count, 1, Some(3)),
        None => v.missing(&config.field("TaskCount")),
    }
    let lifetime = config.int("TaskAvailabilityLifetimeInSeconds")?;
    if let Some(lifetime) = lifetime {
        check_int(
            v,
            &config.field("TaskAvailabilityLifetimeInSeconds"),
            lifetime,
            AVAILABILITY_LIFETIME_RANGE.0,
            Some(AVAILABILITY_LIFETIME_RANGE.1),
        );
    }
    let time_limit = config.int("TaskTimeLimitInSeconds")?;
    if let Some(limit) = time_limit {
        check_int(
            v,
            &config.field("TaskTimeLimitInSeconds"),
            limit,
            TASK_TIME_LIMIT_RANGE.0,
            Some(TASK_TIME_LIMIT_RANGE.1),
        );
    }
    let keywords = match config.list("TaskKeywords")? {
        None => None,
        Some(items) => {
            let field = config.field("TaskKeywords");
            if items.is_empty() {
                v.hidden(&field, "have length greater than or equal to 1");
            } else if items.len() > 5 {
                v.hidden(&field, "have length less than or equal to 5");
            }
            let mut keywords = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let path = format!("{field}.{}.member", i + 1);
                let Value::String(keyword) = item else {
                    return Err(type_error(&path, "a string", item));
                };
                check(
                    v,
                    &path,
                    keyword,
                    &Rule {
                        min: 1,
                        max: 30,
                        pattern: Some((&KEYWORD, TASK_KEYWORD_PATTERN)),
                        echo: Echo::Yes,
                    },
                );
                keywords.push(keyword.clone());
            }
            Some(keywords)
        }
    };
    let price = match config.object("PublicWorkforceTaskPrice")? {
        None => None,
        Some(price) => {
            let amount = match price.object("AmountInUsd")? {
                None => None,
                Some(usd) => {
                    let mut part = |key: &str, max: i64| -> Result<Option<i64>, SageMakerError> {
                        let value = usd.int(key)?;
                        if let Some(value) = value {
                            check_int(v, &usd.field(key), value, 0, Some(max));
                        }
                        Ok(value)
                    };
                    Some(Usd {
                        dollars: part("Dollars", 2)?,
                        cents: part("Cents", 99)?,
                        tenth_fractions_of_a_cent: part("TenthFractionsOfACent", 9)?,
                    })
                }
            };
            Some(PublicWorkforceTaskPrice {
                amount_in_usd: amount,
            })
        }
    };
    Ok(match (workteam, ui, title, description, count) {
        (Some(workteam), Some(ui), Some(title), Some(description), Some(count)) => {
            Some(HumanLoopConfig {
                workteam_arn: workteam.to_owned(),
                human_task_ui_arn: ui.to_owned(),
                task_title: title.to_owned(),
                task_description: description.to_owned(),
                task_count: count,
                task_availability_lifetime_in_seconds: lifetime,
                task_time_limit_in_seconds: time_limit,
                task_keywords: keywords,
                public_workforce_task_price: price,
            })
        }
        // A violation was recorded for each missing member.
        _ => None,
    })
}

/// A validated ListHumanTaskUis / ListFlowDefinitions request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListRequest {
    /// CreationTimeAfter, epoch seconds (inclusive).
    pub created_after: Option<f64>,
    /// CreationTimeBefore, epoch seconds (exclusive).
    pub created_before: Option<f64>,
    /// SortOrder (default Descending).
    pub sort_order: SortOrder,
    /// NextToken, still encoded.
    pub next_token: Option<String>,
    /// MaxResults (default [`DEFAULT_MAX_RESULTS`]).
    pub max_results: usize,
}

/// Parses and checks a List request.
pub fn list_request(body: &Map<String, Value>) -> Result<ListRequest, SageMakerError> {
    let obj = Obj::root(body);
    let mut v = Violations::new();
    let created_after = obj.number("CreationTimeAfter")?;
    let created_before = obj.number("CreationTimeBefore")?;
    let sort_order = match obj.string("SortOrder")? {
        None | Some("Descending") => SortOrder::Descending,
        Some("Ascending") => SortOrder::Ascending,
        Some(other) => {
            v.value(
                "sortOrder",
                other,
                "satisfy enum value set: [Ascending, Descending]",
            );
            SortOrder::Descending
        }
    };
    let next_token = obj.string("NextToken")?;
    if let Some(token) = next_token {
        if token.chars().count() > MAX_NEXT_TOKEN_LEN {
            v.hidden(
                "nextToken",
                &format!("have length less than or equal to {MAX_NEXT_TOKEN_LEN}"),
            );
        }
    }
    let max_results = match obj.int("MaxResults")? {
        None => DEFAULT_MAX_RESULTS,
        Some(n) => {
            check_int(
                &mut v,
                "maxResults",
                n,
                MAX_RESULTS_RANGE.0,
                Some(MAX_RESULTS_RANGE.1),
            );
            usize::try_from(n).unwrap_or(DEFAULT_MAX_RESULTS)
        }
    };
    v.into_result()?;
    Ok(ListRequest {
        created_after,
        created_before,
        sort_order,
        next_token: next_token.map(str::to_owned),
        max_results,
    })
}

/// Where RenderUiTemplate takes its template from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    /// `UiTemplate.Content`.
    Content(String),
    /// `HumanTaskUiArn`.
    Arn(String),
}

/// A validated RenderUiTemplate request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderRequest {
    /// The template.
    pub source: TemplateSource,
    /// `Task.Input`, JSON text.
    pub input: String,
}

/// Parses and checks a RenderUiTemplate request.
pub fn render_request(body: &Map<String, Value>) -> Result<RenderRequest, SageMakerError> {
    let obj = Obj::root(body);
    let mut v = Violations::new();
    let input = match obj.required_object("Task", &mut v)? {
        Some(task) => task.required_string("Input", &mut v)?,
        None => None,
    };
    if let Some(input) = input {
        check(
            &mut v,
            "task.input",
            input,
            &Rule {
                min: TASK_INPUT_LEN.0,
                max: TASK_INPUT_LEN.1,
                pattern: None,
                echo: Echo::No,
            },
        );
    }
    let role = obj.required_string("RoleArn", &mut v)?;
    if let Some(role) = role {
        check(&mut v, "roleArn", role, &ROLE_ARN_RULE);
    }
    let content = match obj.object("UiTemplate")? {
        Some(template) => template.required_string("Content", &mut v)?,
        None => None,
    };
    if let Some(content) = content {
        check(&mut v, "uiTemplate.content", content, &TEMPLATE_RULE);
    }
    let arn = obj.string("HumanTaskUiArn")?;
    if let Some(arn) = arn {
        check(&mut v, "humanTaskUiArn", arn, &UI_ARN_RULE);
    }
    let source = match (content, arn) {
        (Some(content), None) => Some(TemplateSource::Content(content.to_owned())),
        (None, Some(arn)) => Some(TemplateSource::Arn(arn.to_owned())),
        (Some(_), Some(_)) => {
            v.other(
                "UiTemplate and HumanTaskUiArn failed to satisfy constraint: exactly one of \
                 them must be given, not both"
                    .to_owned(),
            );
            None
        }
        (None, None) => {
            if obj.get("UiTemplate").is_none() {
                v.other(
                    "UiTemplate and HumanTaskUiArn failed to satisfy constraint: exactly one \
                     of them must be given"
                        .to_owned(),
                );
            }
            None
        }
    };
    v.into_result()?;
    match (source, input) {
        (Some(source), Some(input)) => Ok(RenderRequest {
            source,
            input: input.to_owned(),
        }),
        _ => Err(incomplete()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    fn message(err: SageMakerError) -> String {
        match err {
            SageMakerError::Validation(m) => m,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn flow() -> Value {
        json!({
            "FlowDefinitionName": "fd-1",
            "HumanLoopConfig": {
                "WorkteamArn": "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/t",
                "HumanTaskUiArn": "arn:aws:sagemaker:us-east-1:111122223333:human-task-ui/ui",
                "TaskTitle": "Review",
                "TaskDescription": "Check it",
                "TaskCount": 2,
                "TaskKeywords": ["images", "moderation"]
            },
            "OutputConfig": {"S3OutputPath": "s3://bucket/out"},
            "RoleArn": "arn:aws:iam::111122223333:role/a2i"
        })
    }

    #[test]
    fn a_complete_flow_definition_is_accepted_as_given() {
        let request = create_flow_definition(&obj(flow())).unwrap();
        assert_eq!(request.flow_definition_name, "fd-1");
        let config = request.human_loop_config.unwrap();
        assert_eq!(config.task_count, 2);
        assert_eq!(config.task_time_limit_in_seconds, None);
        assert_eq!(
            serde_json::to_value(create_flow_definition(&obj(flow())).unwrap()).unwrap(),
            flow()
        );
    }

    #[test]
    fn names_are_matched_whole() {
        let err = name_request(
            &obj(json!({"HumanTaskUiName": "IDP-BDA-3"})),
            "HumanTaskUiName",
        )
        .unwrap_err();
        assert_eq!(
            message(err),
            "1 validation error detected: Value 'IDP-BDA-3' at 'humanTaskUiName' failed to \
             satisfy constraint: Member must satisfy regular expression pattern: \
             [a-z0-9](-*[a-z0-9])*"
        );
        assert!(name_request(
            &obj(json!({"FlowDefinitionName": "a--b"})),
            "FlowDefinitionName"
        )
        .is_ok());
        assert!(name_request(
            &obj(json!({"FlowDefinitionName": "a-"})),
            "FlowDefinitionName"
        )
        .is_err());
        assert!(name_request(
            &obj(json!({"FlowDefinitionName": "a".repeat(64)})),
            "FlowDefinitionName"
        )
        .is_err());
    }

    #[test]
    fn every_human_loop_config_bound_is_checked() {
        let mut body = flow();
        let config = &mut body["HumanLoopConfig"];
        config["TaskCount"] = json!(4);
        config["TaskTimeLimitInSeconds"] = json!(29);
        config["TaskAvailabilityLifetimeInSeconds"] = json!(0);
        config["TaskKeywords"] = json!(["a", "b", "c", "d", "e", "f"]);
        config["TaskTitle"] = json!("");
        config["PublicWorkforceTaskPrice"] =
            json!({"AmountInUsd": {"Dollars": 3, "Cents": 100, "TenthFractionsOfACent": 10}});
        let m = message(create_flow_definition(&obj(body)).unwrap_err());
        assert!(m.starts_with("8 validation errors detected: "), "{m}");
        for part in [
            "Value '4' at 'humanLoopConfig.taskCount' failed to satisfy constraint: Member must have value less than or equal to 3",
            "Value '29' at 'humanLoopConfig.taskTimeLimitInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 30",
            "Value '0' at 'humanLoopConfig.taskAvailabilityLifetimeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1",
            "Value at 'humanLoopConfig.taskKeywords' failed to satisfy constraint: Member must have length less than or equal to 5",
            "Value at 'humanLoopConfig.taskTitle' failed to satisfy constraint: Member must have length greater than or equal to 1",
            "Value '3' at 'humanLoopConfig.publicWorkforceTaskPrice.amountInUsd.dollars'",
            "Value '100' at 'humanLoopConfig.publicWorkforceTaskPrice.amountInUsd.cents'",
            "Value '10' at 'humanLoopConfig.publicWorkforceTaskPrice.amountInUsd.tenthFractionsOfACent'",
        ] {
            assert!(m.contains(part), "missing {part:?} in {m}");
        }
        let mut body = flow();
        body["HumanLoopConfig"]["TaskTimeLimitInSeconds"] = json!(28_801);
        body["HumanLoopConfig"]["TaskAvailabilityLifetimeInSeconds"] = json!(864_001);
        let m = message(create_flow_definition(&obj(body)).unwrap_err());
        assert!(m.contains("less than or equal to 28800"), "{m}");
        assert!(m.contains("less than or equal to 864000"), "{m}");
    }

    #[test]
    fn arns_paths_and_enums_follow_the_model_patterns() {
        let mut body = flow();
        body["RoleArn"] = json!("arn:aws:iam::1111:role/x");
        body["OutputConfig"] = json!({"S3OutputPath": "ftp://bucket", "KmsKeyId": "bad key"});
        body["HumanLoopConfig"]["WorkteamArn"] =
            json!("arn:aws:sagemaker:us-east-1:111122223333:team/x");
        body["HumanLoopConfig"]["HumanTaskUiArn"] =
            json!("arn:aws:sagemaker::111122223333:human-task-ui/x");
        body["HumanLoopConfig"]["TaskKeywords"] = json!(["two  spaces"]);
        body["HumanLoopRequestSource"] = json!({"AwsManagedHumanLoopRequestSource": "AWS/Other"});
        let m = message(create_flow_definition(&obj(body)).unwrap_err());
        for field in [
            "'roleArn'",
            "'outputConfig.s3OutputPath'",
            "'outputConfig.kmsKeyId'",
            "'humanLoopConfig.workteamArn'",
            "'humanLoopConfig.humanTaskUiArn'",
            "'humanLoopConfig.taskKeywords.1.member'",
            "'humanLoopRequestSource.awsManagedHumanLoopRequestSource'",
        ] {
            assert!(m.contains(field), "missing {field} in {m}");
        }
        assert!(m.starts_with("7 validation errors"), "{m}");
    }

    #[test]
    fn missing_members_are_named_and_wrong_types_are_serialization_errors() {
        let m = message(create_flow_definition(&obj(json!({"HumanLoopConfig": {}}))).unwrap_err());
        for field in [
            "'flowDefinitionName'",
            "'outputConfig'",
            "'roleArn'",
            "'humanLoopConfig.workteamArn'",
            "'humanLoopConfig.taskCount'",
        ] {
            assert!(
                m.contains(&format!("Value null at {field}")),
                "{field}: {m}"
            );
        }
        let mut body = flow();
        body["HumanLoopConfig"]["TaskCount"] = json!("2");
        match create_flow_definition(&obj(body)) {
            Err(SageMakerError::Serialization(m)) => assert_eq!(
                m,
                "Cannot read member 'humanLoopConfig.taskCount': expected an integer, got a string."
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn conditions_must_be_json_and_are_never_echoed() {
        let mut body = flow();
        body["HumanLoopActivationConfig"] = json!({"HumanLoopActivationConditionsConfig": {"HumanLoopActivationConditions": "{secret"}});
        let m = message(create_flow_definition(&obj(body)).unwrap_err());
        assert!(m.contains("humanLoopActivationConfig.humanLoopActivationConditionsConfig.humanLoopActivationConditions"));
        assert!(!m.contains("secret"));
    }

    #[test]
    fn activation_conditions_need_a_request_source_as_in_aws() {
        let conditions = json!({"HumanLoopActivationConditionsConfig": {
            "HumanLoopActivationConditions": "{\"Conditions\":[{\"ConditionType\":\"Sampling\",\"ConditionParameters\":{\"RandomSamplingPercentage\":5}}]}"
        }});
        let mut custom = flow();
        custom["HumanLoopActivationConfig"] = conditions.clone();
        match create_flow_definition(&obj(custom)) {
            Err(SageMakerError::Validation(m)) => {
                assert_eq!(m, CONDITIONS_WITHOUT_REQUEST_SOURCE);
                assert!(!m.contains("RandomSamplingPercentage"), "never echoed");
            }
            other => panic!("{other:?}"),
        }
        let mut builtin = flow();
        builtin["HumanLoopActivationConfig"] = conditions;
        builtin["HumanLoopRequestSource"] =
            json!({"AwsManagedHumanLoopRequestSource": "AWS/Textract/AnalyzeDocument/Forms/V1"});
        let request = create_flow_definition(&obj(builtin)).unwrap();
        assert!(request.human_loop_activation_config.is_some());
        // A request source without conditions: every request goes to humans, as in AWS.
        let mut sourced = flow();
        sourced["HumanLoopRequestSource"] = json!({
            "AwsManagedHumanLoopRequestSource": "AWS/Rekognition/DetectModerationLabels/Image/V3"
        });
        let request = create_flow_definition(&obj(sourced)).unwrap();
        assert!(request.human_loop_activation_config.is_none());
    }

    #[test]
    fn render_needs_exactly_one_template_source_and_hides_the_input() {
        let role = "arn:aws:iam::111122223333:role/a2i";
        let ok = render_request(&obj(
            json!({"Task": {"Input": "{}"}, "RoleArn": role, "UiTemplate": {"Content": "x"}}),
        ))
        .unwrap();
        assert_eq!(ok.source, TemplateSource::Content("x".into()));
        let both = render_request(&obj(
            json!({"Task": {"Input": "{}"}, "RoleArn": role, "UiTemplate": {"Content": "x"},
            "HumanTaskUiArn": "arn:aws:sagemaker:us-east-1:111122223333:human-task-ui/u"}),
        ));
        assert!(message(both.unwrap_err()).contains("not both"));
        let none = render_request(&obj(json!({"Task": {"Input": "{}"}, "RoleArn": role})));
        assert!(message(none.unwrap_err()).contains("exactly one"));
        let short = render_request(&obj(
            json!({"Task": {"Input": "X"}, "RoleArn": role, "UiTemplate": {"Content": "x"}}),
        ));
        let m = message(short.unwrap_err());
        assert_eq!(m, "1 validation error detected: Value at 'task.input' failed to satisfy constraint: Member must have length greater than or equal to 2");
    }

    #[test]
    fn list_bounds_and_types() {
        let m =
            message(list_request(&obj(json!({"MaxResults": 0, "SortOrder": "Up"}))).unwrap_err());
        assert!(m.starts_with("2 validation errors"), "{m}");
        assert!(matches!(
            list_request(&obj(json!({"CreationTimeAfter": "2020-01-01"}))),
            Err(SageMakerError::Serialization(_))
        ));
        let ok = list_request(&obj(json!({"CreationTimeAfter": 1.5, "MaxResults": 100}))).unwrap();
        assert_eq!(ok.created_after, Some(1.5));
        assert_eq!(ok.max_results, 100);
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(body_object(b"").unwrap().is_empty());
        assert!(matches!(
            body_object(b"[1]"),
            Err(SageMakerError::Serialization(_))
        ));
        assert!(matches!(
            body_object(b"{"),
            Err(SageMakerError::Serialization(_))
        ));
    }
}
