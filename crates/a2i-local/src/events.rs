//! Status-change events (the EventBridge envelope A2I sends when a loop becomes Completed,
//! Failed or Stopped) and their delivery to sinks, with retries and a report of every outcome.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::arn::FlowDefinitionArn;
use crate::loops::{format_timestamp, LoopRecord};
use crate::sinks::EventSink;

/// The `detail-type` of A2I status-change events.
pub const DETAIL_TYPE: &str = "SageMaker A2I HumanLoop Status Change";

/// The `source` of A2I status-change events.
pub const SOURCE: &str = "aws.sagemaker";

#[derive(Serialize)]
struct Envelope<'a> {
    version: &'static str,
    id: String,
    #[serde(rename = "detail-type")]
    detail_type: &'static str,
    source: &'static str,
    account: &'a str,
    time: String,
    region: &'a str,
    resources: [&'a str; 1],
    detail: Detail<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Detail<'a> {
    creation_time: String,
    failure_code: Option<&'static str>,
    failure_reason: Option<&'a str>,
    flow_definition_arn: &'a str,
    human_loop_arn: &'a str,
    human_loop_name: &'a str,
    human_loop_output: Option<Output<'a>>,
    human_loop_status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Output<'a> {
    output_s3_uri: &'a str,
}

/// Builds the status-change event for the loop's current status, exactly in the documented
/// shape: `version` "0", a fresh uuid `id`, account and region of the loop ARN, `time` of the
/// status change (whole seconds, as EventBridge writes it), the loop ARN in `resources`, and
/// a camelCase `detail` with `failureCode`/`failureReason` null unless the loop failed and
/// `humanLoopOutput` null unless output.json was written.
pub fn status_change_event(record: &LoopRecord, default_region: &str) -> serde_json::Value {
    let (account, region) = match FlowDefinitionArn::parse(&record.flow_definition_arn) {
        Ok(arn) => (arn.account().to_owned(), arn.region().to_owned()),
        Err(_) => (String::new(), String::new()),
    };
    let region = if region.is_empty() {
        default_region.to_owned()
    } else {
        region
    };
    let envelope = Envelope {
        version: "0",
        id: uuid::Uuid::new_v4().to_string(),
        detail_type: DETAIL_TYPE,
        source: SOURCE,
        account: &account,
        time: event_time(record.status_time),
        region: &region,
        resources: [&record.arn],
        detail: Detail {
            creation_time: format_timestamp(record.creation_time),
            failure_code: record.failure_code.map(|c| c.as_str()),
            failure_reason: record.failure_reason.as_deref(),
            flow_definition_arn: &record.flow_definition_arn,
            human_loop_arn: &record.arn,
            human_loop_name: &record.name,
            human_loop_output: record
                .output_s3_uri
                .as_deref()
                .map(|uri| Output { output_s3_uri: uri }),
            human_loop_status: record.status.as_str(),
        },
    };
    serde_json::to_value(envelope).unwrap_or(serde_json::Value::Null)
}

/// EventBridge's `time` format: `2019-11-14T17:49:25Z`.
pub fn event_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// What kind of event a delivery carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventKind {
    /// An A2I `SageMaker A2I HumanLoop Status Change` event.
    StatusChange,
    /// An S3 `ObjectCreated` notification.
    ObjectCreated,
}

/// The outcome of delivering one event to one sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryOutcome {
    /// When the last attempt ended.
    pub time: String,
    /// The kind of event.
    pub kind: EventKind,
    /// What the event is about (`<loop name> <status>`, or `s3://bucket/key`).
    pub subject: String,
    /// The event id (status changes) or sequencer (S3 notifications).
    pub event_id: String,
    /// The sink (see [`EventSink::describe`]).
    pub sink: String,
    /// How many attempts were made.
    pub attempts: u32,
    /// `None` when delivered; the last error otherwise.
    pub error: Option<String>,
}

impl DeliveryOutcome {
    /// Whether the sink accepted the event.
    pub fn delivered(&self) -> bool {
        self.error.is_none()
    }
}

/// How often and how patiently a delivery is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per sink (at least 1).
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts, 100 ms then 200 ms apart: enough to ride over a sink that is still
    /// starting, short enough for tests. (EventBridge itself retries for up to 24 hours.)
    fn default() -> Self {
        Self {
            attempts: 3,
            backoff: Duration::from_millis(100),
        }
    }
}

/// How many outcomes the report keeps.
const MAX_REPORTED: usize = 10_000;

/// Delivers events to a list of sinks (which can grow while running, so that handlers built
/// from a started server's endpoints can be attached) and keeps a bounded report of every
/// outcome, so that a failed delivery is logged, returned to the caller and visible afterwards.
#[derive(Debug)]
pub struct Deliverer {
    sinks: RwLock<Vec<Arc<dyn EventSink>>>,
    retry: RetryPolicy,
    report: Mutex<VecDeque<DeliveryOutcome>>,
}

impl Deliverer {
    /// A deliverer for `sinks`.
    pub fn new(sinks: Vec<Arc<dyn EventSink>>, retry: RetryPolicy) -> Self {
        Self {
            sinks: RwLock::new(sinks),
            retry,
            report: Mutex::new(VecDeque::new()),
        }
    }

    /// Adds a sink; events delivered from now on reach it too.
    pub fn add_sink(&self, sink: Arc<dyn EventSink>) {
        self.sinks
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(sink);
    }

    fn sinks(&self) -> Vec<Arc<dyn EventSink>> {
        self.sinks.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Delivers `event` to every sink (one after the other, retrying each per the policy)
    /// and returns one outcome per sink.
    pub async fn deliver(
        &self,
        kind: EventKind,
        subject: &str,
        event_id: &str,
        event: &serde_json::Value,
    ) -> Vec<DeliveryOutcome> {
        let sinks = self.sinks();
        let mut outcomes = Vec::with_capacity(sinks.len());
        for sink in &sinks {
            let sink_name = sink.describe();
            let mut attempts = 0;
            let mut backoff = self.retry.backoff;
            let error = loop {
                attempts += 1;
                match sink.deliver(event).await {
                    Ok(()) => break None,
                    Err(err) if attempts >= self.retry.attempts.max(1) => break Some(err),
                    Err(err) => {
                        tracing::warn!(sink = %sink_name, subject, attempt = attempts, error = %err, "event delivery failed; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = backoff.saturating_mul(2);
                    }
                }
            };
            match &error {
                None => {
                    tracing::info!(sink = %sink_name, subject, event_id, attempts, "event delivered")
                }
                Some(err) => {
                    tracing::error!(sink = %sink_name, subject, event_id, attempts, error = %err, "event delivery failed; giving up")
                }
            }
            outcomes.push(DeliveryOutcome {
                time: format_timestamp(crate::loops::record::now_ms()),
                kind,
                subject: subject.to_owned(),
                event_id: event_id.to_owned(),
                sink: sink_name,
                attempts,
                error: error.map(|e| e.to_string()),
            });
        }
        let mut report = self.report.lock().unwrap_or_else(|p| p.into_inner());
        for outcome in &outcomes {
            if report.len() == MAX_REPORTED {
                report.pop_front();
            }
            report.push_back(outcome.clone());
        }
        outcomes
    }

    /// Every outcome so far (the most recent 10,000), oldest first.
    pub fn report(&self) -> Vec<DeliveryOutcome> {
        let report = self.report.lock().unwrap_or_else(|p| p.into_inner());
        report.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loops::{FailureCode, LoopStatus};
    use crate::sinks::CallbackSink;
    use chrono::TimeZone;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn record(status: LoopStatus) -> LoopRecord {
        let created = Utc.with_ymd_and_hms(2019, 11, 14, 17, 37, 36).unwrap()
            + chrono::Duration::milliseconds(740);
        LoopRecord {
            seq: 0,
            name: "humanloop-nov-14-1".into(),
            arn: "arn:aws:sagemaker:us-east-1:111111111111:human-loop/humanloop-nov-14-1".into(),
            flow_definition_arn:
                "arn:aws:sagemaker:us-east-1:111111111111:flow-definition/flowdef-nov-12".into(),
            input_content: "{}".into(),
            content_classifiers: None,
            creation_time: created,
            status,
            status_time: Utc.with_ymd_and_hms(2019, 11, 14, 17, 49, 25).unwrap(),
            failure_code: None,
            failure_reason: None,
            output_s3_uri: None,
            deleted: false,
            event_pending: true,
            policy: Default::default(),
            answers: Vec::new(),
        }
    }

    #[test]
    fn completed_event_has_the_documented_shape() {
        let mut r = record(LoopStatus::Completed);
        r.output_s3_uri =
            Some("s3://b/flowdef-nov-12/2019/11/14/17/37/36/humanloop-nov-14-1/output.json".into());
        let mut event = status_change_event(&r, "eu-west-1");
        assert!(uuid::Uuid::parse_str(event["id"].as_str().unwrap()).is_ok());
        event["id"] = "X".into();
        assert_eq!(
            event,
            serde_json::json!({
                "version": "0",
                "id": "X",
                "detail-type": "SageMaker A2I HumanLoop Status Change",
                "source": "aws.sagemaker",
                "account": "111111111111",
                "time": "2019-11-14T17:49:25Z",
                "region": "us-east-1",
                "resources": ["arn:aws:sagemaker:us-east-1:111111111111:human-loop/humanloop-nov-14-1"],
                "detail": {
                    "creationTime": "2019-11-14T17:37:36.740Z",
                    "failureCode": null,
                    "failureReason": null,
                    "flowDefinitionArn": "arn:aws:sagemaker:us-east-1:111111111111:flow-definition/flowdef-nov-12",
                    "humanLoopArn": "arn:aws:sagemaker:us-east-1:111111111111:human-loop/humanloop-nov-14-1",
                    "humanLoopName": "humanloop-nov-14-1",
                    "humanLoopOutput": {"outputS3Uri": "s3://b/flowdef-nov-12/2019/11/14/17/37/36/humanloop-nov-14-1/output.json"},
                    "humanLoopStatus": "Completed"
                }
            })
        );
    }

    #[test]
    fn failed_event_carries_code_and_reason_and_no_output() {
        let mut r = record(LoopStatus::Failed);
        r.failure_code = Some(FailureCode::Expired);
        r.failure_reason = Some("expired".into());
        let event = status_change_event(&r, "eu-west-1");
        assert_eq!(event["detail"]["failureCode"], "Expired");
        assert_eq!(event["detail"]["failureReason"], "expired");
        assert_eq!(event["detail"]["humanLoopOutput"], serde_json::Value::Null);
        assert_eq!(event["detail"]["humanLoopStatus"], "Failed");
    }

    #[tokio::test]
    async fn failing_sinks_are_retried_and_reported() {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let sink = CallbackSink::new(
            "flaky",
            Arc::new(move |_| {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                Box::pin(async move {
                    if n == 0 {
                        Err("first call fails".to_owned())
                    } else {
                        Ok(())
                    }
                })
            }),
        );
        let always_failing = CallbackSink::new(
            "broken",
            Arc::new(|_| Box::pin(async { Err("down".to_owned()) })),
        );
        let deliverer = Deliverer::new(
            vec![Arc::new(sink), Arc::new(always_failing)],
            RetryPolicy {
                attempts: 2,
                backoff: Duration::from_millis(1),
            },
        );
        let outcomes = deliverer
            .deliver(
                EventKind::StatusChange,
                "l Completed",
                "id",
                &serde_json::json!({}),
            )
            .await;
        assert!(outcomes[0].delivered());
        assert_eq!(outcomes[0].attempts, 2);
        assert_eq!(outcomes[1].error.as_deref(), Some("rejected: down"));
        assert_eq!(outcomes[1].attempts, 2);
        assert_eq!(deliverer.report().len(), 2);
    }
}
