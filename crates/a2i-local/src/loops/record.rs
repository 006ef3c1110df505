//! One human loop as the runtime keeps it: its identity, input, status and the state
//! machine's transition rules.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::flows::FlowPolicy;
use crate::output::{HumanAnswer, S3Location};

/// The five statuses of the model's `HumanLoopStatus` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LoopStatus {
    /// Waiting for workers; the only status a loop starts in.
    InProgress,
    /// A stop was requested and workers may still be busy.
    Stopping,
    /// Stopped before every worker finished.
    Stopped,
    /// Every worker answered; output.json is written.
    Completed,
    /// Failed (expired, or a failure injected through the control surface).
    Failed,
}

impl LoopStatus {
    /// The wire name of the status.
    pub fn as_str(self) -> &'static str {
        match self {
            LoopStatus::InProgress => "InProgress",
            LoopStatus::Stopping => "Stopping",
            LoopStatus::Stopped => "Stopped",
            LoopStatus::Completed => "Completed",
            LoopStatus::Failed => "Failed",
        }
    }

    /// Completed, Failed and Stopped: the statuses that emit an event, can be deleted and
    /// never change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            LoopStatus::Stopped | LoopStatus::Completed | LoopStatus::Failed
        )
    }

    /// InProgress and Stopping: a loop that still holds its name "actively" (a start with the
    /// same name and different input is a conflict).
    pub fn is_active(self) -> bool {
        !self.is_terminal()
    }

    /// Whether the state machine allows `self -> next`.
    pub fn can_become(self, next: LoopStatus) -> bool {
        use LoopStatus::*;
        matches!(
            (self, next),
            (InProgress, Completed)
                | (InProgress, Failed)
                | (InProgress, Stopping)
                | (InProgress, Stopped)
                | (Stopping, Stopped)
        )
    }
}

impl std::fmt::Display for LoopStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The failure codes the model documents for `FailureCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailureCode {
    /// The task or its input was rejected.
    ValidationError,
    /// No worker finished the task in time.
    Expired,
    /// A service-side failure.
    InternalError,
}

impl FailureCode {
    /// The wire name of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::ValidationError => "ValidationError",
            FailureCode::Expired => "Expired",
            FailureCode::InternalError => "InternalError",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "ValidationError" => Some(FailureCode::ValidationError),
            "Expired" => Some(FailureCode::Expired),
            "InternalError" => Some(FailureCode::InternalError),
            _ => None,
        }
    }
}

/// The two values of the model's `ContentClassifier` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ContentClassifier {
    /// Lets the task go to Mechanical Turk.
    FreeOfPersonallyIdentifiableInformation,
    /// Widens the set of Mechanical Turk workers.
    FreeOfAdultContent,
}

impl ContentClassifier {
    /// Parses a wire name; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "FreeOfPersonallyIdentifiableInformation" => {
                Some(ContentClassifier::FreeOfPersonallyIdentifiableInformation)
            }
            "FreeOfAdultContent" => Some(ContentClassifier::FreeOfAdultContent),
            _ => None,
        }
    }
}

/// One human loop. Serialized as-is into the snapshot and into the journal's `created`
/// records (see the `loops::persist` module).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoopRecord {
    /// Creation order; breaks ties between loops created in the same millisecond, so list
    /// order and pagination are total and stable.
    pub seq: u64,
    /// The HumanLoopName.
    pub name: String,
    /// The HumanLoopArn.
    pub arn: String,
    /// The FlowDefinitionArn given at start.
    pub flow_definition_arn: String,
    /// The InputContent exactly as given (a JSON document in a string).
    pub input_content: String,
    /// The ContentClassifiers given at start (`None` when DataAttributes was absent).
    pub content_classifiers: Option<Vec<ContentClassifier>>,
    /// Creation time, truncated to the millisecond the wire carries.
    pub creation_time: DateTime<Utc>,
    /// Current status.
    pub status: LoopStatus,
    /// When the status last changed (the event's `time`).
    pub status_time: DateTime<Utc>,
    /// Set when the loop failed.
    pub failure_code: Option<FailureCode>,
    /// Set when the loop failed.
    pub failure_reason: Option<String>,
    /// Where output.json was written (Completed loops only).
    pub output_s3_uri: Option<String>,
    /// Deleted loops stay as tombstones so that their name stays taken and every operation
    /// answers as for a deleted loop.
    pub deleted: bool,
    /// A terminal status whose event has not yet reached every sink; redelivered after a
    /// restart so that no status change is lost.
    pub event_pending: bool,
    /// What the loop took from its flow definition when it started; later changes to (or
    /// the deletion of) the flow definition do not change it. Loops saved before policies
    /// existed load with the implicit policy (see [`LoopPolicy::implicit`]).
    #[serde(default)]
    pub policy: LoopPolicy,
    /// Every answer submitted so far, one per distinct worker, in submission order. The loop
    /// completes when it has `policy.task_count` of them; a loop that fails or is stopped
    /// before keeps its partial answers here (they are never written to S3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<HumanAnswer>,
}

impl LoopRecord {
    /// When the loop expires if it is still InProgress: creation time plus the policy's
    /// availability lifetime (saturating far in the future).
    pub fn expires_at(&self) -> DateTime<Utc> {
        chrono::Duration::from_std(self.policy.availability_lifetime())
            .ok()
            .and_then(|lifetime| self.creation_time.checked_add_signed(lifetime))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Whether the worker `worker_id` has already answered this loop.
    pub fn answered_by(&self, worker_id: &str) -> bool {
        self.answers.iter().any(|a| a.worker_id == worker_id)
    }

    /// Whether a repeated StartHumanLoop carries the same request (what makes it a retry
    /// rather than a conflict).
    pub fn same_request(
        &self,
        flow_definition_arn: &str,
        input_content: &str,
        content_classifiers: &Option<Vec<ContentClassifier>>,
    ) -> bool {
        let normalize = |c: &Option<Vec<ContentClassifier>>| {
            let mut v = c.clone().unwrap_or_default();
            v.sort();
            v.dedup();
            v
        };
        self.flow_definition_arn == flow_definition_arn
            && self.input_content == input_content
            && normalize(&self.content_classifiers) == normalize(content_classifiers)
    }
}

/// The task count of a flow definition registered implicitly (a local convenience).
pub const IMPLICIT_TASK_COUNT: u8 = 1;
/// The task time limit of an implicitly registered flow definition: 3600 s, the model's
/// documented default of `TaskTimeLimitInSeconds`.
pub const IMPLICIT_TASK_TIME_LIMIT: Duration = Duration::from_secs(3600);
/// The availability lifetime of an implicitly registered flow definition: 864,000 s
/// (10 days), the largest `TaskAvailabilityLifetimeInSeconds` a flow definition accepts, so
/// that loops of flows nobody defined never expire during a local session by surprise.
pub const IMPLICIT_AVAILABILITY_LIFETIME: Duration = Duration::from_secs(864_000);

/// What a loop captured from its flow definition at StartHumanLoop (a serializable copy of
/// the [`FlowPolicy`] parts that govern a loop or that a worker portal shows). Durations
/// are whole seconds, as the control plane takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoopPolicy {
    /// The flow definition's name (the first path segment of output keys).
    pub flow_definition_name: String,
    /// `OutputConfig.S3OutputPath` as `s3://bucket[/prefix]`.
    pub s3_output_path: String,
    /// Distinct workers that must answer before the loop completes (1–3).
    pub task_count: u8,
    /// How long one worker may hold the task.
    pub task_time_limit_in_seconds: u64,
    /// How long after its creation an unfinished loop expires.
    pub task_availability_lifetime_in_seconds: u64,
    /// `HumanLoopConfig.HumanTaskUiArn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_task_ui_arn: Option<String>,
    /// `HumanLoopConfig.TaskTitle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_title: Option<String>,
    /// `HumanLoopConfig.TaskDescription`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_description: Option<String>,
    /// `HumanLoopConfig.TaskKeywords`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_keywords: Vec<String>,
    /// `HumanLoopRequestSource.AwsManagedHumanLoopRequestSource` (built-in task types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_source: Option<String>,
    /// True when no flow definition of this name existed at start and the loop got the
    /// implicit defaults (non-strict mode only).
    #[serde(default)]
    pub implicit: bool,
}

impl Default for LoopPolicy {
    /// The implicit policy with an empty flow name and output path: what loops saved
    /// before policies existed deserialize to; the store fills both in when it loads them.
    fn default() -> Self {
        Self::implicit(
            "",
            &S3Location {
                bucket: String::new(),
                prefix: String::new(),
            },
        )
    }
}

impl LoopPolicy {
    /// The policy a loop gets from its flow definition.
    pub fn from_flow(flow: &FlowPolicy) -> Self {
        Self {
            flow_definition_name: flow.name.clone(),
            s3_output_path: flow.output.uri(),
            task_count: flow.task_count.max(1),
            task_time_limit_in_seconds: flow.task_time_limit.as_secs(),
            task_availability_lifetime_in_seconds: flow.availability_lifetime.as_secs().max(1),
            human_task_ui_arn: flow.human_task_ui_arn.clone(),
            task_title: flow.title.clone(),
            task_description: flow.description.clone(),
            task_keywords: flow.keywords.clone(),
            request_source: flow.request_source.clone(),
            implicit: false,
        }
    }

    /// The policy of a flow definition registered implicitly (non-strict mode): output
    /// under `output`, [`IMPLICIT_TASK_COUNT`], [`IMPLICIT_TASK_TIME_LIMIT`],
    /// [`IMPLICIT_AVAILABILITY_LIFETIME`].
    pub fn implicit(flow_definition_name: &str, output: &S3Location) -> Self {
        Self {
            flow_definition_name: flow_definition_name.to_owned(),
            s3_output_path: output.uri(),
            task_count: IMPLICIT_TASK_COUNT,
            task_time_limit_in_seconds: IMPLICIT_TASK_TIME_LIMIT.as_secs(),
            task_availability_lifetime_in_seconds: IMPLICIT_AVAILABILITY_LIFETIME.as_secs(),
            human_task_ui_arn: None,
            task_title: None,
            task_description: None,
            task_keywords: Vec::new(),
            request_source: None,
            implicit: true,
        }
    }

    /// The output location; `None` when the stored path is not an `s3://` location.
    pub fn output(&self) -> Option<S3Location> {
        S3Location::parse(&self.s3_output_path).ok()
    }

    /// The task time limit.
    pub fn task_time_limit(&self) -> Duration {
        Duration::from_secs(self.task_time_limit_in_seconds)
    }

    /// The availability lifetime.
    pub fn availability_lifetime(&self) -> Duration {
        Duration::from_secs(self.task_availability_lifetime_in_seconds)
    }

    /// Distinct workers required, at least 1.
    pub fn required_answers(&self) -> usize {
        usize::from(self.task_count.max(1))
    }
}

/// The current time truncated to milliseconds, the precision the wire carries; stored
/// timestamps then compare equal to what clients see.
pub fn now_ms() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// Formats a timestamp as the API and events do: `2019-11-14T17:37:36.740Z`.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn only_documented_transitions_are_allowed() {
        use LoopStatus::*;
        let all = [InProgress, Stopping, Stopped, Completed, Failed];
        let allowed = [
            (InProgress, Completed),
            (InProgress, Failed),
            (InProgress, Stopping),
            (InProgress, Stopped),
            (Stopping, Stopped),
        ];
        for from in all {
            for to in all {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from}->{to}"
                );
            }
        }
    }

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let t = Utc
            .with_ymd_and_hms(2019, 11, 14, 17, 37, 36)
            .unwrap()
            .checked_add_signed(chrono::Duration::milliseconds(740))
            .unwrap();
        assert_eq!(format_timestamp(t), "2019-11-14T17:37:36.740Z");
        assert_eq!(
            format_timestamp(Utc.with_ymd_and_hms(2020, 1, 2, 3, 4, 5).unwrap()),
            "2020-01-02T03:04:05.000Z"
        );
    }
}
