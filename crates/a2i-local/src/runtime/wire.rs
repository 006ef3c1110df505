//! Response bodies of the five operations, in the model's PascalCase JSON with ISO-8601
//! string timestamps (the Rust SDK refuses epoch numbers).

use serde::Serialize;

use crate::loops::{format_timestamp, LoopRecord};

/// StartHumanLoop's response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartHumanLoopResponse<'a> {
    /// The loop ARN.
    pub human_loop_arn: &'a str,
}

/// `HumanLoopOutput`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HumanLoopOutput<'a> {
    /// Where output.json is.
    pub output_s3_uri: &'a str,
}

/// DescribeHumanLoop's response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeHumanLoopResponse<'a> {
    /// Creation time.
    pub creation_time: String,
    /// Present when the loop failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<&'a str>,
    /// Present when the loop failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<&'static str>,
    /// Status.
    pub human_loop_status: &'static str,
    /// Name.
    pub human_loop_name: &'a str,
    /// ARN.
    pub human_loop_arn: &'a str,
    /// Flow definition.
    pub flow_definition_arn: &'a str,
    /// Present once output.json is written (Completed loops).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub human_loop_output: Option<HumanLoopOutput<'a>>,
}

impl<'a> From<&'a LoopRecord> for DescribeHumanLoopResponse<'a> {
    fn from(r: &'a LoopRecord) -> Self {
        Self {
            creation_time: format_timestamp(r.creation_time),
            failure_reason: r.failure_reason.as_deref(),
            failure_code: r.failure_code.map(|c| c.as_str()),
            human_loop_status: r.status.as_str(),
            human_loop_name: &r.name,
            human_loop_arn: &r.arn,
            flow_definition_arn: &r.flow_definition_arn,
            human_loop_output: r
                .output_s3_uri
                .as_deref()
                .map(|output_s3_uri| HumanLoopOutput { output_s3_uri }),
        }
    }
}

/// One `HumanLoopSummaries` entry (the model's summary has no ARN, code or output).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HumanLoopSummary<'a> {
    /// Name.
    pub human_loop_name: &'a str,
    /// Status.
    pub human_loop_status: &'static str,
    /// Creation time.
    pub creation_time: String,
    /// Present when the loop failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<&'a str>,
    /// Flow definition.
    pub flow_definition_arn: &'a str,
}

impl<'a> From<&'a LoopRecord> for HumanLoopSummary<'a> {
    fn from(r: &'a LoopRecord) -> Self {
        Self {
            human_loop_name: &r.name,
            human_loop_status: r.status.as_str(),
            creation_time: format_timestamp(r.creation_time),
            failure_reason: r.failure_reason.as_deref(),
            flow_definition_arn: &r.flow_definition_arn,
        }
    }
}

/// ListHumanLoops' response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListHumanLoopsResponse<'a> {
    /// The page.
    pub human_loop_summaries: Vec<HumanLoopSummary<'a>>,
    /// Present when more loops match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// The `{}` StopHumanLoop and DeleteHumanLoop answer.
#[derive(Debug, Serialize)]
pub struct Empty {}
