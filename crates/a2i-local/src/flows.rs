//! What a human loop takes from its flow definition: where its output goes, how many workers
//! must answer, and how long it may wait. The control plane (`sagemaker`) owns flow
//! definitions; the loop engine only sees them through [`FlowLookup`], so neither depends on
//! the other's internals.

use std::sync::Arc;
use std::time::Duration;

use crate::output::S3Location;

/// The parts of a flow definition that govern its loops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowPolicy {
    /// The flow definition's name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// `OutputConfig.S3OutputPath`: output.json goes under it.
    pub output: S3Location,
    /// `HumanLoopConfig.TaskCount` (1–3): distinct workers that must answer before the loop
    /// completes.
    pub task_count: u8,
    /// `HumanLoopConfig.TaskTimeLimitInSeconds`: how long one worker may hold the task.
    pub task_time_limit: Duration,
    /// `HumanLoopConfig.TaskAvailabilityLifetimeInSeconds`: a loop not completed within this
    /// time after its creation fails as expired.
    pub availability_lifetime: Duration,
    /// `HumanLoopConfig.HumanTaskUiArn`, when the flow definition has a `HumanLoopConfig`.
    pub human_task_ui_arn: Option<String>,
    /// `HumanLoopConfig.TaskTitle`.
    pub title: Option<String>,
    /// `HumanLoopConfig.TaskDescription`.
    pub description: Option<String>,
    /// `HumanLoopConfig.TaskKeywords`.
    pub keywords: Vec<String>,
    /// `HumanLoopRequestSource.AwsManagedHumanLoopRequestSource`, for built-in task types.
    pub request_source: Option<String>,
    /// `HumanLoopActivationConfig.HumanLoopActivationConditionsConfig.HumanLoopActivationConditions`
    /// (the JSON text as given), for built-in task types.
    pub activation_conditions: Option<String>,
}

/// Finds the policy of a flow definition by name. `None`: no such (active) flow definition.
pub trait FlowLookup: Send + Sync + std::fmt::Debug {
    /// The policy of the flow definition called `name`, if it exists and is active.
    fn flow(&self, name: &str) -> Option<FlowPolicy>;
}

/// A shared lookup.
pub type SharedFlowLookup = Arc<dyn FlowLookup>;
