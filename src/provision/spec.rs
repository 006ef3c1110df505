//! The custom resource's properties: parsed and checked into a [`FlowSpec`], and the
//! content-hash name of the task UI and flow definition they describe.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::builtin::TaskType;
use crate::conditions::json::json_type;
use crate::conditions::ActivationConditions;

/// The worker task templates shipped in `worker-templates/`, compiled into the binary so that
/// the deployed function and the repository can never disagree about their content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerTemplate {
    /// Content moderation: an image with its labels and confidences.
    Moderation,
    /// Form key-values (Textract): flagged keys with their values and confidences.
    Forms,
    /// Custom-model predictions: the item, its top predictions, a classifier.
    Predictions,
    /// Any item, rendered readably.
    Generic,
    /// A2I's built-in Textract task type: the form's key-value pairs the conditions selected
    /// (`crowd-textract-analyze-document`).
    BuiltinTextractForms,
    /// A2I's built-in Rekognition task type: the image and the moderation labels the
    /// conditions selected (`crowd-rekognition-detect-moderation-labels`).
    BuiltinRekognitionModeration,
}

impl WorkerTemplate {
    /// Every shipped template, in the order the template's `AllowedValues` list them.
    pub const ALL: [WorkerTemplate; 6] = [
        WorkerTemplate::Moderation,
        WorkerTemplate::Forms,
        WorkerTemplate::Predictions,
        WorkerTemplate::Generic,
        WorkerTemplate::BuiltinTextractForms,
        WorkerTemplate::BuiltinRekognitionModeration,
    ];

    /// The name used in the `WorkerTemplate` property (the file is `<name>.liquid.html`).
    pub fn name(self) -> &'static str {
        match self {
            WorkerTemplate::Moderation => "moderation",
            WorkerTemplate::Forms => "forms",
            WorkerTemplate::Predictions => "predictions",
            WorkerTemplate::Generic => "generic",
            WorkerTemplate::BuiltinTextractForms => "builtin-textract-forms",
            WorkerTemplate::BuiltinRekognitionModeration => "builtin-rekognition-moderation",
        }
    }

    /// The task type whose loop input the template reads: the built-in templates read A2I's
    /// built-in input, the others the start function's custom input.
    pub fn task_type(self) -> TaskType {
        match self {
            WorkerTemplate::BuiltinTextractForms => TaskType::TextractForms,
            WorkerTemplate::BuiltinRekognitionModeration => TaskType::RekognitionModeration,
            _ => TaskType::Custom,
        }
    }

    /// The template by its name, if it is one of the shipped ones.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The Liquid + Crowd HTML content, as shipped.
    pub fn content(self) -> &'static str {
        match self {
            WorkerTemplate::Moderation => {
                include_str!("../../worker-templates/moderation.liquid.html")
            }
            WorkerTemplate::Forms => include_str!("../../worker-templates/forms.liquid.html"),
            WorkerTemplate::Predictions => {
                include_str!("../../worker-templates/predictions.liquid.html")
            }
            WorkerTemplate::Generic => include_str!("../../worker-templates/generic.liquid.html"),
            WorkerTemplate::BuiltinTextractForms => {
                include_str!("../../worker-templates/builtin-textract-forms.liquid.html")
            }
            WorkerTemplate::BuiltinRekognitionModeration => {
                include_str!("../../worker-templates/builtin-rekognition-moderation.liquid.html")
            }
        }
    }
}

/// Longest `NamePrefix`: the names are `<prefix>-<16 hex digits>`, at most 63 characters.
pub const MAX_NAME_PREFIX_CHARS: usize = 63 - 1 - HASH_HEX_CHARS;

/// Hex digits of the content hash in a resource name (64 bits).
const HASH_HEX_CHARS: usize = 16;

/// Largest `UiTemplateContent` SageMaker takes (`UiTemplate.Content`, characters).
pub const MAX_UI_TEMPLATE_CHARS: usize = 128_000;

/// Largest `HumanLoopActivationConditions` SageMaker takes (characters).
pub const MAX_ACTIVATION_CONDITIONS_CHARS: usize = 10_240;

/// Properties CloudFormation itself adds or consumes; they are not ours to check.
const CLOUDFORMATION_PROPERTIES: [&str; 2] = ["ServiceToken", "ServiceTimeout"];

/// Every property the resource understands.
const KNOWN_PROPERTIES: [&str; 16] = [
    "NamePrefix",
    "TaskType",
    "ActivationConditions",
    "WorkerTemplate",
    "UiTemplateContent",
    "WorkteamArn",
    "RoleArn",
    "OutputPath",
    "KmsKeyId",
    "TaskTitle",
    "TaskDescription",
    "TaskKeywords",
    "TaskCount",
    "TaskTimeLimitInSeconds",
    "TaskAvailabilityLifetimeInSeconds",
    // Reserved for a later pinned price; refused today so it is not silently ignored.
    "PublicWorkforceTaskPrice",
];

/// Where the task UI's content came from (for logs and reasons: never the content itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    /// One of the shipped templates.
    Shipped(WorkerTemplate),
    /// `UiTemplateContent`, inline in the stack.
    Inline,
}

/// Everything the task UI and the flow definition are created from, checked.
///
/// Value constraints SageMaker documents for the work team ARN, role ARN, output path,
/// title, description and keywords are left to SageMaker: its `ValidationException` names
/// the field, and one set of rules cannot drift from the other. What is checked here is what
/// this resource needs to build its requests and names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSpec {
    /// Start of both resource names (the stack's `NamePrefix`).
    pub name_prefix: String,
    /// Where [`FlowSpec::ui_template`] came from.
    pub template_source: TemplateSource,
    /// The task UI's Liquid + Crowd HTML content.
    pub ui_template: String,
    /// `HumanLoopConfig.WorkteamArn`.
    pub workteam_arn: String,
    /// The flow definition's `RoleArn`.
    pub role_arn: String,
    /// `OutputConfig.S3OutputPath`.
    pub output_path: String,
    /// `OutputConfig.KmsKeyId`, when output is encrypted with a customer key.
    pub kms_key_id: Option<String>,
    /// `HumanLoopConfig.TaskTitle`.
    pub task_title: String,
    /// `HumanLoopConfig.TaskDescription`.
    pub task_description: String,
    /// `HumanLoopConfig.TaskKeywords` (may be empty).
    pub task_keywords: Vec<String>,
    /// `HumanLoopConfig.TaskCount`: distinct workers per item, 1-3.
    pub task_count: i32,
    /// `HumanLoopConfig.TaskTimeLimitInSeconds`: 30-28,800.
    pub task_time_limit_seconds: i32,
    /// `HumanLoopConfig.TaskAvailabilityLifetimeInSeconds` (positive; SageMaker checks the
    /// workforce's maximum).
    pub task_availability_lifetime_seconds: i32,
    /// The task type the flow serves: a built-in one becomes the flow's
    /// `HumanLoopRequestSource.AwsManagedHumanLoopRequestSource`; `Custom` sends none.
    pub task_type: TaskType,
    /// `HumanLoopActivationConfig.HumanLoopActivationConditionsConfig.HumanLoopActivationConditions`
    /// as given (built-in task types only; `None`: every request goes to review).
    pub activation_conditions: Option<String>,
}

/// A property that is missing, of the wrong JSON type, or invalid. Messages name the
/// property and what was expected, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertyError {
    /// `ResourceProperties` is not a JSON object.
    #[error("ResourceProperties must be an object, not {found}")]
    NotAnObject {
        /// JSON type found.
        found: &'static str,
    },
    /// A required property is absent or empty.
    #[error("property {name} is required")]
    Missing {
        /// The property.
        name: &'static str,
    },
    /// A property has a JSON type this resource cannot use.
    #[error("property {name} must be {expected}, not {found}")]
    WrongType {
        /// The property.
        name: &'static str,
        /// What it may be.
        expected: &'static str,
        /// JSON type found.
        found: &'static str,
    },
    /// A property's value is out of its range or shape.
    #[error("property {name} {problem}")]
    Invalid {
        /// The property.
        name: &'static str,
        /// What is wrong, without the value.
        problem: String,
    },
    /// A property this resource does not know (a typo would otherwise be ignored).
    #[error("unknown property {name} ({} characters); known: {}", name.chars().count(), KNOWN_PROPERTIES.join(", "))]
    Unknown {
        /// The property's name, cut to 64 characters.
        name: String,
    },
    /// Both `WorkerTemplate` and `UiTemplateContent`, or neither.
    #[error("set exactly one of WorkerTemplate and UiTemplateContent")]
    TemplateChoice,
    /// A shipped template that reads another task type's loop input.
    #[error(
        "WorkerTemplate {template} is for TaskType {template_type}, not {task_type}; \
         TaskType {task_type} takes {expected}"
    )]
    TemplateForAnotherTaskType {
        /// The template chosen.
        template: &'static str,
        /// The task type it is for.
        template_type: TaskType,
        /// The task type of the resource.
        task_type: TaskType,
        /// The shipped templates (or inline content) that fit the task type.
        expected: String,
    },
}

impl FlowSpec {
    /// Parses `ResourceProperties`. CloudFormation passes template numbers as strings, so
    /// numbers are taken as JSON numbers or decimal strings alike, and `TaskKeywords` as a
    /// list or a comma-separated string.
    pub fn from_properties(properties: &Value) -> Result<Self, PropertyError> {
        let props = properties.as_object().ok_or(PropertyError::NotAnObject {
            found: json_type(properties),
        })?;
        for key in props.keys() {
            let key = key.as_str();
            if !KNOWN_PROPERTIES.contains(&key) && !CLOUDFORMATION_PROPERTIES.contains(&key) {
                return Err(PropertyError::Unknown {
                    name: key.chars().take(64).collect(),
                });
            }
        }
        if props.contains_key("PublicWorkforceTaskPrice") {
            return Err(PropertyError::Invalid {
                name: "PublicWorkforceTaskPrice",
                problem: "is not supported by this resource (private and vendor work teams only)"
                    .into(),
            });
        }

        let name_prefix = required_string(props, "NamePrefix")?;
        check_name_prefix(&name_prefix)?;

        let task_type = match optional_string(props, "TaskType")? {
            None => TaskType::Custom,
            Some(text) => text.parse().map_err(|_| PropertyError::Invalid {
                name: "TaskType",
                problem: format!(
                    "must be one of {}",
                    TaskType::ALL.map(TaskType::as_str).join(", ")
                ),
            })?,
        };
        let activation_conditions = optional_string(props, "ActivationConditions")?;
        if let Some(conditions) = &activation_conditions {
            check_activation_conditions(task_type, conditions)?;
        }

        let shipped = optional_string(props, "WorkerTemplate")?;
        let inline = optional_string(props, "UiTemplateContent")?;
        let (template_source, ui_template) = match (shipped, inline) {
            (Some(name), None) => {
                let template =
                    WorkerTemplate::from_name(&name).ok_or_else(|| PropertyError::Invalid {
                        name: "WorkerTemplate",
                        problem: format!(
                            "must be one of {}",
                            WorkerTemplate::ALL.map(WorkerTemplate::name).join(", ")
                        ),
                    })?;
                if template.task_type() != task_type {
                    return Err(PropertyError::TemplateForAnotherTaskType {
                        template: template.name(),
                        template_type: template.task_type(),
                        task_type,
                        expected: templates_for(task_type),
                    });
                }
                (
                    TemplateSource::Shipped(template),
                    template.content().to_owned(),
                )
            }
            (None, Some(content)) => {
                let chars = content.chars().count();
                if chars > MAX_UI_TEMPLATE_CHARS {
                    return Err(PropertyError::Invalid {
                        name: "UiTemplateContent",
                        problem: format!(
                            "has {chars} characters; SageMaker takes at most {MAX_UI_TEMPLATE_CHARS}"
                        ),
                    });
                }
                (TemplateSource::Inline, content)
            }
            _ => return Err(PropertyError::TemplateChoice),
        };

        let task_count = required_int(props, "TaskCount")?;
        if !(1..=3).contains(&task_count) {
            return Err(PropertyError::Invalid {
                name: "TaskCount",
                problem: format!("must be 1, 2 or 3, not {task_count}"),
            });
        }
        let task_time_limit_seconds = required_int(props, "TaskTimeLimitInSeconds")?;
        if !(30..=28_800).contains(&task_time_limit_seconds) {
            return Err(PropertyError::Invalid {
                name: "TaskTimeLimitInSeconds",
                problem: format!("must be 30-28800, not {task_time_limit_seconds}"),
            });
        }
        let task_availability_lifetime_seconds =
            required_int(props, "TaskAvailabilityLifetimeInSeconds")?;
        if task_availability_lifetime_seconds < 1 {
            return Err(PropertyError::Invalid {
                name: "TaskAvailabilityLifetimeInSeconds",
                problem: format!("must be positive, not {task_availability_lifetime_seconds}"),
            });
        }

        Ok(Self {
            name_prefix,
            template_source,
            ui_template,
            workteam_arn: required_string(props, "WorkteamArn")?,
            role_arn: required_string(props, "RoleArn")?,
            output_path: required_string(props, "OutputPath")?,
            kms_key_id: optional_string(props, "KmsKeyId")?,
            task_title: required_string(props, "TaskTitle")?,
            task_description: required_string(props, "TaskDescription")?,
            task_keywords: keywords(props)?,
            task_count,
            task_time_limit_seconds,
            task_availability_lifetime_seconds,
            task_type,
            activation_conditions,
        })
    }

    /// The name of both the task UI and the flow definition for this spec in this resource:
    /// `<NamePrefix>-<16 hex digits>`, the digits from a SHA-256 of every property (the
    /// template's name and content) and of the stack and logical id.
    ///
    /// Both resources are immutable, so a change of anything they are made of needs new
    /// ones, under a new name, while the old ones still serve the stack until CloudFormation
    /// deletes them. The same properties give the same name, which makes a retried Create
    /// find what an earlier attempt made. The stack id and logical id keep two stacks (or two
    /// resources) with the same properties from sharing, and so deleting, each other's.
    pub fn resource_name(&self, stack_id: &str, logical_id: &str) -> String {
        let mut hash = Sha256::new();
        // Length-prefixed fields: no two different specs serialize alike.
        let mut field = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_be_bytes());
            hash.update(bytes);
        };
        field(b"a2i-review flow resource v1");
        field(stack_id.as_bytes());
        field(logical_id.as_bytes());
        field(self.name_prefix.as_bytes());
        // The choice itself counts, not only the content it resolves to: picking another
        // shipped template is a change even while two of them happen to read alike.
        field(match &self.template_source {
            TemplateSource::Shipped(t) => t.name().as_bytes(),
            TemplateSource::Inline => b"",
        });
        field(self.ui_template.as_bytes());
        field(self.workteam_arn.as_bytes());
        field(self.role_arn.as_bytes());
        field(self.output_path.as_bytes());
        field(self.kms_key_id.as_deref().unwrap_or("").as_bytes());
        field(self.task_title.as_bytes());
        field(self.task_description.as_bytes());
        field(&(self.task_keywords.len() as u64).to_be_bytes());
        for k in &self.task_keywords {
            field(k.as_bytes());
        }
        field(&self.task_count.to_be_bytes());
        field(&self.task_time_limit_seconds.to_be_bytes());
        field(&self.task_availability_lifetime_seconds.to_be_bytes());
        // Built-in task types only, so that a custom flow keeps the name (and the resources)
        // it had before task types existed. The request source and the conditions are part
        // of the immutable flow definition: a change needs a new one.
        if let Some(source) = self.task_type.request_source() {
            field(source.as_bytes());
            match &self.activation_conditions {
                None => field(b"no activation conditions"),
                Some(conditions) => {
                    field(b"activation conditions");
                    field(conditions.as_bytes());
                }
            }
        }
        let digest = hex::encode(hash.finalize());
        format!("{}-{}", self.name_prefix, &digest[..HASH_HEX_CHARS])
    }

    /// Where the template came from, for messages: `shipped template "forms"` or
    /// `inline template (N characters)`.
    pub fn template_label(&self) -> String {
        match &self.template_source {
            TemplateSource::Shipped(t) => format!("shipped template \"{}\"", t.name()),
            TemplateSource::Inline => {
                format!(
                    "inline template ({} characters)",
                    self.ui_template.chars().count()
                )
            }
        }
    }
}

/// The shipped templates for `task_type`, for messages.
fn templates_for(task_type: TaskType) -> String {
    let names: Vec<&str> = WorkerTemplate::ALL
        .into_iter()
        .filter(|t| t.task_type() == task_type)
        .map(WorkerTemplate::name)
        .collect();
    format!("{} (or UiTemplateContent)", names.join(", "))
}

/// The condition types A2I evaluates for a built-in task type (SageMaker Developer Guide,
/// the activation-condition pages of Textract and Rekognition; a2i-facts §4).
fn condition_types_of(task_type: TaskType) -> &'static [&'static str] {
    match task_type {
        TaskType::TextractForms => &[
            "ImportantFormKeyConfidenceCheck",
            "MissingImportantFormKey",
            "Sampling",
        ],
        TaskType::RekognitionModeration => &["ModerationLabelConfidenceCheck", "Sampling"],
        TaskType::Custom => &[],
    }
}

/// `ActivationConditions`: only with a built-in task type (A2I refuses conditions on a flow
/// without a request source); at most [`MAX_ACTIVATION_CONDITIONS_CHARS`]; a condition
/// document (checked by the conditions crate, whose messages name nodes) that uses only
/// the condition types of that task type. Checked here, so that a bad document fails the
/// stack operation with a reason before anything is created.
fn check_activation_conditions(task_type: TaskType, text: &str) -> Result<(), PropertyError> {
    const NAME: &str = "ActivationConditions";
    let invalid = |problem: String| PropertyError::Invalid {
        name: NAME,
        problem,
    };
    if !task_type.is_builtin() {
        return Err(invalid(
            "is for the built-in task types only (TaskType textract-forms or \
             rekognition-moderation): A2I refuses activation conditions on a flow definition \
             without a request source; with TaskType custom the start function evaluates them"
                .into(),
        ));
    }
    let chars = text.chars().count();
    if chars > MAX_ACTIVATION_CONDITIONS_CHARS {
        return Err(invalid(format!(
            "has {chars} characters; A2I takes at most {MAX_ACTIVATION_CONDITIONS_CHARS}"
        )));
    }
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        invalid(format!(
            "is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    ActivationConditions::from_value(&doc)
        .map_err(|e| invalid(format!("is not a valid condition document: {e}")))?;
    let allowed = condition_types_of(task_type);
    let mut found = Vec::new();
    condition_types(&doc, &mut found);
    if let Some(other) = found.into_iter().find(|t| !allowed.contains(t)) {
        return Err(invalid(format!(
            "uses ConditionType {other}, which A2I does not evaluate for TaskType {task_type}; \
             it takes {}",
            allowed.join(", ")
        )));
    }
    Ok(())
}

/// Every `ConditionType` in a condition document the conditions crate accepted (so its depth
/// is bounded), outside `ConditionParameters`.
fn condition_types<'a>(node: &'a Value, out: &mut Vec<&'a str>) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(t)) = map.get("ConditionType") {
                out.push(t);
            }
            for (key, child) in map {
                if key != "ConditionParameters" {
                    condition_types(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| condition_types(i, out)),
        _ => {}
    }
}

/// Whether `name` is a valid SageMaker resource name: 1-63 of `[a-z0-9](-*[a-z0-9])*`.
pub fn is_resource_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn check_name_prefix(prefix: &str) -> Result<(), PropertyError> {
    let chars = prefix.chars().count();
    if chars > MAX_NAME_PREFIX_CHARS {
        return Err(PropertyError::Invalid {
            name: "NamePrefix",
            problem: format!("has {chars} characters; at most {MAX_NAME_PREFIX_CHARS}"),
        });
    }
    if !is_resource_name(prefix) {
        return Err(PropertyError::Invalid {
            name: "NamePrefix",
            problem: "must be lowercase letters, digits and inner hyphens".into(),
        });
    }
    Ok(())
}

/// A string property; an empty string counts as absent (CloudFormation's `AWS::NoValue`
/// stand-in for an optional parameter left empty).
fn optional_string(
    props: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, PropertyError> {
    match props.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(PropertyError::WrongType {
            name,
            expected: "a string",
            found: json_type(other),
        }),
    }
}

fn required_string(
    props: &Map<String, Value>,
    name: &'static str,
) -> Result<String, PropertyError> {
    optional_string(props, name)?.ok_or(PropertyError::Missing { name })
}

/// An integer property: a JSON integer or a decimal string (CloudFormation sends strings).
fn required_int(props: &Map<String, Value>, name: &'static str) -> Result<i32, PropertyError> {
    let not_integer = || PropertyError::Invalid {
        name,
        problem: "must be a whole number".into(),
    };
    match props.get(name) {
        None | Some(Value::Null) => Err(PropertyError::Missing { name }),
        Some(Value::String(s)) if s.trim().is_empty() => Err(PropertyError::Missing { name }),
        Some(Value::String(s)) => s.trim().parse::<i32>().map_err(|_| not_integer()),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(not_integer),
        Some(other) => Err(PropertyError::WrongType {
            name,
            expected: "a number or a string of digits",
            found: json_type(other),
        }),
    }
}

/// `TaskKeywords`: a list of strings (a `CommaDelimitedList` parameter) or one
/// comma-separated string; blanks dropped, whitespace around each keyword trimmed.
fn keywords(props: &Map<String, Value>) -> Result<Vec<String>, PropertyError> {
    const NAME: &str = "TaskKeywords";
    let raw: Vec<String> = match props.get(NAME) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.split(',').map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(PropertyError::Invalid {
                    name: NAME,
                    problem: format!("item {i} must be a string, not {}", json_type(other)),
                }),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(PropertyError::WrongType {
                name: NAME,
                expected: "a list of strings or a comma-separated string",
                found: json_type(other),
            })
        }
    };
    Ok(raw
        .iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props() -> Value {
        json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:111122223333:function:f",
            "NamePrefix": "a2i-review",
            "WorkerTemplate": "generic",
            "WorkteamArn": "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/team",
            "RoleArn": "arn:aws:iam::111122223333:role/flow",
            "OutputPath": "s3://results/a2i-output/",
            "TaskTitle": "Review an item",
            "TaskDescription": "Decide whether the model is right",
            "TaskKeywords": ["review", "ml"],
            "TaskCount": "2",
            "TaskTimeLimitInSeconds": "3600",
            "TaskAvailabilityLifetimeInSeconds": 86400
        })
    }

    fn with(key: &str, value: Value) -> Value {
        let mut p = props();
        p[key] = value;
        p
    }

    fn without(key: &str) -> Value {
        let mut p = props();
        p.as_object_mut().unwrap().remove(key);
        p
    }

    #[test]
    fn cloudformation_strings_and_json_numbers_are_both_numbers() {
        let spec = FlowSpec::from_properties(&props()).unwrap();
        assert_eq!(spec.task_count, 2);
        assert_eq!(spec.task_time_limit_seconds, 3600);
        assert_eq!(spec.task_availability_lifetime_seconds, 86400);
        assert_eq!(spec.task_keywords, ["review", "ml"]);
        assert_eq!(spec.kms_key_id, None);
        assert_eq!(
            spec.template_source,
            TemplateSource::Shipped(WorkerTemplate::Generic)
        );
        assert_eq!(spec.ui_template, WorkerTemplate::Generic.content());
    }

    #[test]
    fn every_shipped_template_is_embedded_and_named_by_its_file() {
        for t in WorkerTemplate::ALL {
            assert_eq!(WorkerTemplate::from_name(t.name()), Some(t));
            assert!(t.content().contains("crowd-form"), "{}", t.name());
        }
        assert_eq!(WorkerTemplate::from_name("Generic"), None);
    }

    #[test]
    fn keywords_may_be_one_comma_separated_string() {
        let spec = FlowSpec::from_properties(&with("TaskKeywords", json!(" a, b ,,c"))).unwrap();
        assert_eq!(spec.task_keywords, ["a", "b", "c"]);
        let spec = FlowSpec::from_properties(&without("TaskKeywords")).unwrap();
        assert!(spec.task_keywords.is_empty());
    }

    #[test]
    fn an_empty_kms_key_is_no_key() {
        let spec = FlowSpec::from_properties(&with("KmsKeyId", json!(""))).unwrap();
        assert_eq!(spec.kms_key_id, None);
        let key = "arn:aws:kms:us-east-1:111122223333:key/k";
        let spec = FlowSpec::from_properties(&with("KmsKeyId", json!(key))).unwrap();
        assert_eq!(spec.kms_key_id.as_deref(), Some(key));
    }

    #[test]
    fn errors_name_the_property_and_never_echo_its_value() {
        let cases = [
            (without("WorkteamArn"), "property WorkteamArn is required"),
            (with("RoleArn", json!("")), "property RoleArn is required"),
            (
                with("TaskCount", json!("4")),
                "property TaskCount must be 1, 2 or 3, not 4",
            ),
            (
                with("TaskCount", json!("two")),
                "property TaskCount must be a whole number",
            ),
            (
                with("TaskTimeLimitInSeconds", json!(true)),
                "property TaskTimeLimitInSeconds must be a number or a string of digits, not a boolean",
            ),
            (
                with("TaskTimeLimitInSeconds", json!(29)),
                "property TaskTimeLimitInSeconds must be 30-28800, not 29",
            ),
            (
                with("WorkerTemplate", json!("secret-ish")),
                "property WorkerTemplate must be one of moderation, forms, predictions, generic, \
                 builtin-textract-forms, builtin-rekognition-moderation",
            ),
            (
                with("UiTemplateContent", json!("<p>x</p>")),
                "set exactly one of WorkerTemplate and UiTemplateContent",
            ),
            (
                without("WorkerTemplate"),
                "set exactly one of WorkerTemplate and UiTemplateContent",
            ),
            (
                with("TaskKeywords", json!(["a", 3])),
                "property TaskKeywords item 1 must be a string, not a number",
            ),
            (
                with("NamePrefix", json!("Upper")),
                "property NamePrefix must be lowercase letters, digits and inner hyphens",
            ),
            (json!([1]), "ResourceProperties must be an object, not an array"),
        ];
        for (props, expected) in cases {
            let err = FlowSpec::from_properties(&props).unwrap_err().to_string();
            assert_eq!(err, expected);
            assert!(!err.contains("secret-ish"));
        }
        let err = FlowSpec::from_properties(&with("Workteam", json!("x")))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("unknown property Workteam (8 characters); known: NamePrefix"),
            "{err}"
        );
    }

    #[test]
    fn a_prefix_too_long_for_a_63_character_name_is_refused() {
        let ok = "a".repeat(MAX_NAME_PREFIX_CHARS);
        let spec = FlowSpec::from_properties(&with("NamePrefix", json!(ok))).unwrap();
        let name = spec.resource_name("stack", "Flow");
        assert_eq!(name.len(), 63);
        assert!(is_resource_name(&name));
        let long = "a".repeat(MAX_NAME_PREFIX_CHARS + 1);
        let err = FlowSpec::from_properties(&with("NamePrefix", json!(long))).unwrap_err();
        assert!(err.to_string().contains("at most 46"), "{err}");
    }

    #[test]
    fn an_oversized_inline_template_is_refused_before_any_call() {
        let mut p = without("WorkerTemplate");
        p["UiTemplateContent"] = json!("x".repeat(MAX_UI_TEMPLATE_CHARS + 1));
        let err = FlowSpec::from_properties(&p).unwrap_err().to_string();
        assert_eq!(
            err,
            "property UiTemplateContent has 128001 characters; SageMaker takes at most 128000"
        );
    }

    #[test]
    fn the_name_changes_with_every_property_and_with_the_stack() {
        let base = FlowSpec::from_properties(&props()).unwrap();
        let name = base.resource_name("stack-1", "Flow");
        assert!(name.starts_with("a2i-review-"), "{name}");
        assert_eq!(name.len(), "a2i-review-".len() + 16);
        assert_eq!(name, base.resource_name("stack-1", "Flow"), "deterministic");
        assert_ne!(name, base.resource_name("stack-2", "Flow"));
        assert_ne!(name, base.resource_name("stack-1", "Other"));
        let changes = [
            ("WorkerTemplate", json!("forms")),
            (
                "WorkteamArn",
                json!("arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/other"),
            ),
            ("RoleArn", json!("arn:aws:iam::111122223333:role/other")),
            ("OutputPath", json!("s3://results/other/")),
            ("KmsKeyId", json!("k")),
            ("TaskTitle", json!("t")),
            ("TaskDescription", json!("d")),
            ("TaskKeywords", json!(["review"])),
            ("TaskCount", json!(1)),
            ("TaskTimeLimitInSeconds", json!(60)),
            ("TaskAvailabilityLifetimeInSeconds", json!(60)),
            ("NamePrefix", json!("other")),
        ];
        for (key, value) in changes {
            let changed = FlowSpec::from_properties(&with(key, value)).unwrap();
            assert_ne!(
                changed.resource_name("stack-1", "Flow")[changed.name_prefix.len()..],
                name[base.name_prefix.len()..],
                "{key}"
            );
        }
        // Only CloudFormation's own properties may change without a new name.
        let same = FlowSpec::from_properties(&with("ServiceToken", json!("other"))).unwrap();
        assert_eq!(same.resource_name("stack-1", "Flow"), name);
    }

    const TEXTRACT_CONDITIONS: &str = r#"{"Conditions":[{"Or":[
        {"ConditionType":"ImportantFormKeyConfidenceCheck","ConditionParameters":{"ImportantFormKey":"Policy number","KeyValueBlockConfidenceLessThan":80}},
        {"ConditionType":"MissingImportantFormKey","ConditionParameters":{"ImportantFormKey":"Policy number"}}]}]}"#;
    const REKOGNITION_CONDITIONS: &str = r#"{"Conditions":[{"ConditionType":"ModerationLabelConfidenceCheck","ConditionParameters":{"ModerationLabelName":"*","ConfidenceGreaterThanEquals":60}}]}"#;

    fn builtin(task_type: &str, template: &str, conditions: Option<&str>) -> Value {
        let mut p = with("TaskType", json!(task_type));
        p["WorkerTemplate"] = json!(template);
        if let Some(c) = conditions {
            p["ActivationConditions"] = json!(c);
        }
        p
    }

    #[test]
    fn a_custom_flow_keeps_the_name_it_had_before_task_types() {
        // Computed from the properties alone with the pre-task-type code (commit 5606700):
        // a stack upgraded in custom mode must not replace its flow definition.
        let mut p = without("WorkerTemplate");
        p["UiTemplateContent"] = json!("<crowd-form><p>{{ task.input.text }}</p></crowd-form>");
        let before = "a2i-review-ce5c083b0cbb8193";
        let spec = FlowSpec::from_properties(&p).unwrap();
        assert_eq!(spec.task_type, TaskType::Custom);
        assert_eq!(spec.resource_name("stack-1", "Flow"), before);
        p["TaskType"] = json!("custom");
        let spec = FlowSpec::from_properties(&p).unwrap();
        assert_eq!(spec.resource_name("stack-1", "Flow"), before);
        p["TaskType"] = json!("");
        p["ActivationConditions"] = json!("");
        let spec = FlowSpec::from_properties(&p).unwrap();
        assert_eq!(spec.resource_name("stack-1", "Flow"), before);
    }

    #[test]
    fn a_built_in_task_type_takes_its_template_and_conditions() {
        let spec = FlowSpec::from_properties(&builtin(
            "textract-forms",
            "builtin-textract-forms",
            Some(TEXTRACT_CONDITIONS),
        ))
        .unwrap();
        assert_eq!(spec.task_type, TaskType::TextractForms);
        assert_eq!(
            spec.activation_conditions.as_deref(),
            Some(TEXTRACT_CONDITIONS)
        );
        assert_eq!(
            spec.ui_template,
            WorkerTemplate::BuiltinTextractForms.content()
        );
        let spec = FlowSpec::from_properties(&builtin(
            "rekognition-moderation",
            "builtin-rekognition-moderation",
            None,
        ))
        .unwrap();
        assert_eq!(spec.task_type, TaskType::RekognitionModeration);
        assert_eq!(spec.activation_conditions, None, "every image reviewed");
        // Your own template content fits any task type.
        let mut p = builtin("rekognition-moderation", "", Some(REKOGNITION_CONDITIONS));
        p["UiTemplateContent"] = json!("<crowd-form>mine</crowd-form>");
        let spec = FlowSpec::from_properties(&p).unwrap();
        assert_eq!(spec.template_source, TemplateSource::Inline);
    }

    #[test]
    fn each_shipped_template_belongs_to_one_task_type() {
        for t in WorkerTemplate::ALL {
            let builtin = t.name().starts_with("builtin-");
            assert_eq!(t.task_type().is_builtin(), builtin, "{}", t.name());
            if builtin {
                assert_eq!(
                    t.name(),
                    format!("builtin-{}", t.task_type().as_str()),
                    "named after its task type"
                );
            }
        }
    }

    #[test]
    fn task_types_conditions_and_templates_that_do_not_fit_are_refused() {
        let long = format!(
            r#"{{"Conditions":[{{"ConditionType":"Sampling","ConditionParameters":{{"RandomSamplingPercentage":5}}}}],"x":"{}"}}"#,
            "a".repeat(MAX_ACTIVATION_CONDITIONS_CHARS)
        );
        let cases = [
            (
                with("TaskType", json!("textract")),
                "property TaskType must be one of custom, textract-forms, rekognition-moderation",
            ),
            (
                with("ActivationConditions", json!(REKOGNITION_CONDITIONS)),
                "property ActivationConditions is for the built-in task types only (TaskType \
                 textract-forms or rekognition-moderation): A2I refuses activation conditions on a \
                 flow definition without a request source; with TaskType custom the start function \
                 evaluates them",
            ),
            (
                builtin("rekognition-moderation", "builtin-rekognition-moderation", Some(&long)),
                "property ActivationConditions has 10345 characters; A2I takes at most 10240",
            ),
            (
                builtin("rekognition-moderation", "builtin-rekognition-moderation", Some("{\"Conditions\": [secret")),
                "property ActivationConditions is not JSON (line 1, column 17)",
            ),
            (
                builtin(
                    "rekognition-moderation",
                    "builtin-rekognition-moderation",
                    Some(TEXTRACT_CONDITIONS),
                ),
                "property ActivationConditions uses ConditionType ImportantFormKeyConfidenceCheck, \
                 which A2I does not evaluate for TaskType rekognition-moderation; it takes \
                 ModerationLabelConfidenceCheck, Sampling",
            ),
            (
                builtin(
                    "textract-forms",
                    "builtin-textract-forms",
                    Some(REKOGNITION_CONDITIONS),
                ),
                "property ActivationConditions uses ConditionType ModerationLabelConfidenceCheck, \
                 which A2I does not evaluate for TaskType textract-forms; it takes \
                 ImportantFormKeyConfidenceCheck, MissingImportantFormKey, Sampling",
            ),
            (
                builtin("textract-forms", "forms", None),
                "WorkerTemplate forms is for TaskType custom, not textract-forms; TaskType \
                 textract-forms takes builtin-textract-forms (or UiTemplateContent)",
            ),
            (
                builtin("textract-forms", "builtin-rekognition-moderation", None),
                "WorkerTemplate builtin-rekognition-moderation is for TaskType \
                 rekognition-moderation, not textract-forms; TaskType textract-forms takes \
                 builtin-textract-forms (or UiTemplateContent)",
            ),
            (
                with("WorkerTemplate", json!("builtin-textract-forms")),
                "WorkerTemplate builtin-textract-forms is for TaskType textract-forms, not custom; \
                 TaskType custom takes moderation, forms, predictions, generic (or \
                 UiTemplateContent)",
            ),
        ];
        for (props, expected) in cases {
            let err = FlowSpec::from_properties(&props).unwrap_err().to_string();
            assert_eq!(err, expected);
            assert!(!err.contains("secret"));
        }
        // A document the conditions crate refuses: the node is named.
        let err = FlowSpec::from_properties(&builtin(
            "textract-forms",
            "builtin-textract-forms",
            Some(r#"{"Conditions":[{"ConditionType":"Sampling","ConditionParameters":{"RandomSamplingPercentage":0}}]}"#),
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(
                "property ActivationConditions is not a valid condition document: Conditions[0]"
            ),
            "{err}"
        );
    }

    #[test]
    fn the_name_of_a_built_in_flow_changes_with_its_task_type_and_conditions() {
        let name = |p: &Value| {
            FlowSpec::from_properties(p)
                .unwrap()
                .resource_name("stack-1", "Flow")
        };
        let inline = |mut p: Value| {
            p.as_object_mut().unwrap().remove("WorkerTemplate");
            p["UiTemplateContent"] = json!("<crowd-form>same</crowd-form>");
            p
        };
        let custom = name(&inline(props()));
        let textract = name(&inline(builtin("textract-forms", "", None)));
        let rekognition = name(&inline(builtin("rekognition-moderation", "", None)));
        let sampled = name(&inline(builtin(
            "rekognition-moderation",
            "",
            Some(REKOGNITION_CONDITIONS),
        )));
        let respaced = name(&inline(builtin(
            "rekognition-moderation",
            "",
            Some(&REKOGNITION_CONDITIONS.replace(':', ": ")),
        )));
        let all = [&custom, &textract, &rekognition, &sampled, &respaced];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            sampled,
            name(&inline(builtin(
                "rekognition-moderation",
                "",
                Some(REKOGNITION_CONDITIONS)
            ))),
            "deterministic"
        );
    }

    #[test]
    fn resource_names_follow_sagemakers_pattern() {
        assert!(is_resource_name("a"));
        assert!(is_resource_name("a--b-9"));
        for bad in ["", "-a", "a-", "A", "a_b", &"a".repeat(64)] {
            assert!(!is_resource_name(bad), "{bad}");
        }
    }
}
