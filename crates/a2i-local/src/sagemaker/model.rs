//! The control plane's resources as the SageMaker model shapes them: the validated
//! CreateFlowDefinition request (kept as given, so Describe answers it back and the state
//! file and the resources file share one format), task UIs, tags, and the derived ARNs.

use serde::{Deserialize, Serialize};

/// A resource tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// 1–128 characters.
    pub key: String,
    /// 0–256 characters.
    pub value: String,
}

/// `HumanLoopRequestSource`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HumanLoopRequestSource {
    /// `AWS/Rekognition/DetectModerationLabels/Image/V3` or `AWS/Textract/AnalyzeDocument/Forms/V1`.
    pub aws_managed_human_loop_request_source: String,
}

/// `HumanLoopActivationConditionsConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HumanLoopActivationConditionsConfig {
    /// The conditions, a JSON document as text (0–10240 characters).
    pub human_loop_activation_conditions: String,
}

/// `HumanLoopActivationConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HumanLoopActivationConfig {
    /// The conditions.
    pub human_loop_activation_conditions_config: HumanLoopActivationConditionsConfig,
}

/// `USD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Usd {
    /// 0–2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dollars: Option<i64>,
    /// 0–99.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cents: Option<i64>,
    /// 0–9.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenth_fractions_of_a_cent: Option<i64>,
}

/// `PublicWorkforceTaskPrice`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicWorkforceTaskPrice {
    /// The amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_in_usd: Option<Usd>,
}

/// `HumanLoopConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HumanLoopConfig {
    /// The work team (any ARN of the right pattern: a2i-local has no work teams).
    pub workteam_arn: String,
    /// The task UI; must exist when the flow definition is created.
    pub human_task_ui_arn: String,
    /// 1–128 characters.
    pub task_title: String,
    /// 1–255 characters.
    pub task_description: String,
    /// 1–3 distinct workers per loop.
    pub task_count: i64,
    /// How long a loop may wait for its workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_availability_lifetime_in_seconds: Option<i64>,
    /// How long one worker may hold the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_time_limit_in_seconds: Option<i64>,
    /// 1–5 keywords.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_keywords: Option<Vec<String>>,
    /// Mechanical Turk price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_workforce_task_price: Option<PublicWorkforceTaskPrice>,
}

/// `FlowDefinitionOutputConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutputConfig {
    /// Where output.json files go.
    pub s3_output_path: String,
    /// The KMS key of the output (recorded, not applied: the embedded S3 does not encrypt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

/// A validated CreateFlowDefinition request, in the request's own JSON shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FlowDefinitionRequest {
    /// The name (1–63, `[a-z0-9](-*[a-z0-9]){0,62}`).
    pub flow_definition_name: String,
    /// Built-in task types only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_loop_request_source: Option<HumanLoopRequestSource>,
    /// Built-in task types only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_loop_activation_config: Option<HumanLoopActivationConfig>,
    /// Who reviews, with which UI, how many and how long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_loop_config: Option<HumanLoopConfig>,
    /// Where output goes.
    pub output_config: OutputConfig,
    /// The role A2I would assume.
    pub role_arn: String,
    /// Tags (not returned by Describe, as in the model).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// A stored flow definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowDefinition {
    /// Its ARN.
    pub arn: String,
    /// Creation time in epoch milliseconds.
    pub creation_ms: i64,
    /// Creation sequence number (breaks ties in creation time).
    pub seq: u64,
    /// The request it was created from.
    pub request: FlowDefinitionRequest,
}

/// A stored human task UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HumanTaskUi {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Creation time in epoch milliseconds.
    pub creation_ms: i64,
    /// Creation sequence number.
    pub seq: u64,
    /// The worker task template (Liquid + HTML). Not in the state file: templates are kept
    /// in files of their own, named by their digest (see `store`).
    #[serde(skip)]
    pub content: String,
    /// Lowercase hex SHA-256 of the template's UTF-8 bytes.
    pub content_sha256: String,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// The partition of a region (`aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*`).
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// `arn:<partition>:sagemaker:<region>:<account>:<kind>/<name>`.
pub fn arn(region: &str, account: &str, kind: &str, name: &str) -> String {
    format!(
        "arn:{}:sagemaker:{region}:{account}:{kind}/{name}",
        partition_of(region)
    )
}

/// Lowercase hex SHA-256 of `content`.
pub fn sha256_hex(content: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(content.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_follow_the_region_partition() {
        assert_eq!(
            arn("us-east-1", "111122223333", "human-task-ui", "ui"),
            "arn:aws:sagemaker:us-east-1:111122223333:human-task-ui/ui"
        );
        assert_eq!(
            arn("cn-north-1", "111122223333", "flow-definition", "f"),
            "arn:aws-cn:sagemaker:cn-north-1:111122223333:flow-definition/f"
        );
    }

    #[test]
    fn sha256_is_lowercase_hex_of_the_utf8_bytes() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
