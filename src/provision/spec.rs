//! The custom resource's properties: parsed and checked into a [`FlowSpec`], and the
//! content-hash name of the task UI and flow definition they describe.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::conditions::json::json_type;

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
}

impl WorkerTemplate {
    /// Every shipped template, in the order the template's `AllowedValues` list them.
    pub const ALL: [WorkerTemplate; 4] = [
        WorkerTemplate::Moderation,
        WorkerTemplate::Forms,
        WorkerTemplate::Predictions,
        WorkerTemplate::Generic,
    ];

    /// The name used in the `WorkerTemplate` property (the file is `<name>.liquid.html`).
    pub fn name(self) -> &'static str {
        match self {
            WorkerTemplate::Moderation => "moderation",
            WorkerTemplate::Forms => "forms",
            WorkerTemplate::Predictions => "predictions",
            WorkerTemplate::Generic => "generic",
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
        }
    }
}

/// Longest `NamePrefix`: the names are `<prefix>-<16 hex digits>`, at most 63 characters.
pub const MAX_NAME_PREFIX_CHARS: usize = 63 - 1 - HASH_HEX_CHARS;

/// Hex digits of the content hash in a resource name (64 bits).
const HASH_HEX_CHARS: usize = 16;

/// Largest `UiTemplateContent` SageMaker takes (`UiTemplate.Content`, characters).
pub const MAX_UI_TEMPLATE_CHARS: usize = 128_000;

/// Properties CloudFormation itself adds or consumes; they are not ours to check.
const CLOUDFORMATION_PROPERTIES: [&str; 2] = ["ServiceToken", "ServiceTimeout"];

/// Every property the resource understands.
const KNOWN_PROPERTIES: [&str; 14] = [
    "NamePrefix",
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
                "property WorkerTemplate must be one of moderation, forms, predictions, generic",
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

    #[test]
    fn resource_names_follow_sagemakers_pattern() {
        assert!(is_resource_name("a"));
        assert!(is_resource_name("a--b-9"));
        for bad in ["", "-a", "a-", "A", "a_b", &"a".repeat(64)] {
            assert!(!is_resource_name(bad), "{bad}");
        }
    }
}
