//! One human loop as the runtime keeps it: its identity, input, status and the state
//! machine's transition rules.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

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
}

impl LoopRecord {
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
