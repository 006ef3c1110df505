//! The A2I side of the start handler: make sure an item's loop exists, and say whether this
//! call created it.
//!
//! ## How the handler knows a loop was already there
//!
//! `StartHumanLoop` cannot say it: A2I (and a2i-local) answer a byte-identical request for an
//! active loop with 200 and the existing loop's ARN, exactly as for a new loop. So every
//! flagged item is first looked up with `DescribeHumanLoop`:
//!
//! - found, on our flow definition: `alreadyStarted` (active or finished; nothing is sent);
//! - found, on another flow definition: a non-retryable failure (the name is taken);
//! - `ResourceNotFoundException`: `StartHumanLoop`; a 200 is `started`;
//! - the lookup fails otherwise: the loop is started anyway, since starting it is the point,
//!   and a 200 is counted `started` (logged at warn).
//!
//! The lookup is a single attempt, never retried: when A2I throttles, the retries (and the
//! SDK's retry budget) go to `StartHumanLoop`, which must succeed, not to a lookup that only
//! makes a counter exact. Measured with a2i-local's 5 requests/s quota (its pipeline test
//! `throttled_start_calls_are_retried_by_the_sdk_until_every_loop_starts`, 12 items, 12
//! attempts): with retried lookups 2 runs of 5 left an item unstarted; with single-attempt
//! lookups 0 of 8 did (and 0 of 6 with no lookup at all). The price: while throttled, a loop
//! that existed can be counted `started`; the warn line says so.
//!
//! If `StartHumanLoop` then answers `ConflictException` (another invocation created the loop
//! with other input in between) or `ValidationException` (A2I's answer for the name of a
//! finished loop), the loop is described again: ours means `alreadyStarted`.
//!
//! Cost, measured by `cargo bench --bench start_calls` against a2i-local: a new loop takes
//! two A2I calls (describe, start) instead of one; a loop that exists takes one describe
//! instead of a start carrying the whole `InputContent`. The alternatives cost the same or
//! more: describing after every 200 is also two calls for a new loop, and two for an existing
//! one; comparing the loop's `CreationTime` with the call's start also needs that describe,
//! and depends on the Lambda's clock agreeing with A2I's. The one case left: two invocations
//! that look up the same missing loop within the same few milliseconds both count it
//! `started`; A2I still holds one loop.

use aws_sdk_sagemakera2iruntime::config::retry::RetryConfig;
use aws_sdk_sagemakera2iruntime::operation::start_human_loop::StartHumanLoopError;
use aws_sdk_sagemakera2iruntime::types::{
    ContentClassifier as SdkClassifier, HumanLoopDataAttributes, HumanLoopInput,
};

use crate::config::ContentClassifier;
use crate::error::CallError;

use super::summary::FailureKind;

/// Starts the loops of one flow definition, and tells new loops from existing ones.
#[derive(Debug, Clone)]
pub(super) struct LoopStarter {
    a2i: aws_sdk_sagemakera2iruntime::Client,
    flow_definition_arn: String,
    content_classifiers: Vec<ContentClassifier>,
}

/// What became of a flagged item's loop.
pub(super) enum LoopStart {
    /// This call created it.
    Started,
    /// It existed before; `status` is the loop's status then.
    AlreadyStarted {
        /// `InProgress`, `Completed`, … (`Unknown` when it could not be described).
        status: String,
    },
}

/// Why a flagged item got no loop.
pub(super) struct LoopFailure {
    /// What went wrong (codes and statuses, never content).
    pub reason: String,
    /// Whether invoking again may succeed.
    pub retryable: bool,
    /// The kind, for metrics.
    pub kind: FailureKind,
}

/// How hard a lookup tries.
#[derive(Clone, Copy)]
pub(super) enum Attempts {
    /// One attempt: the lookup before a start (see the module docs).
    One,
    /// The client's retry policy: confirming a conflict, where the answer decides the outcome.
    Retried,
}

/// What `DescribeHumanLoop` says about a name.
pub(super) enum Existing {
    /// A loop of this name exists on our flow definition.
    Ours {
        /// `InProgress`, `Completed`, … (`Unknown` when the answer had none).
        status: String,
        /// The loop's ARN, when the answer had one.
        arn: Option<String>,
    },
    /// The name belongs to a loop of another flow definition.
    Foreign { flow_definition_arn: String },
    /// No loop has this name.
    Absent,
    /// The lookup failed.
    Unknown(CallError),
}

impl LoopStarter {
    /// A starter on `flow_definition_arn`, sending `content_classifiers` with every loop.
    pub(super) fn new(
        a2i: aws_sdk_sagemakera2iruntime::Client,
        flow_definition_arn: String,
        content_classifiers: Vec<ContentClassifier>,
    ) -> Self {
        Self {
            a2i,
            flow_definition_arn,
            content_classifiers,
        }
    }

    /// The flow definition loops are started on.
    pub(super) fn flow_definition_arn(&self) -> &str {
        &self.flow_definition_arn
    }

    /// The content classifiers sent with every loop.
    pub(super) fn content_classifiers(&self) -> &[ContentClassifier] {
        &self.content_classifiers
    }

    /// Makes sure the loop `name` exists, starting it with `content` when it does not.
    /// `before_start` runs (once) right before `StartHumanLoop` is sent, never for a loop that
    /// is known to exist: the loop registry is written there, and when it fails no loop is
    /// started.
    pub(super) async fn ensure_loop(
        &self,
        name: &str,
        content: String,
        before_start: impl std::future::Future<Output = Result<(), LoopFailure>>,
    ) -> Result<LoopStart, LoopFailure> {
        match self.existing_loop(name, Attempts::One).await {
            Existing::Ours { status, .. } => return Ok(LoopStart::AlreadyStarted { status }),
            Existing::Foreign {
                flow_definition_arn,
            } => return Err(name_taken(name, &flow_definition_arn)),
            Existing::Absent => {}
            Existing::Unknown(e) => {
                tracing::warn!(loop_name = name, error = %e, "DescribeHumanLoop failed; starting the loop without knowing whether it exists");
            }
        }
        before_start.await?;
        let err = match self.start_request(name, content).send().await {
            Ok(_) => return Ok(LoopStart::Started),
            Err(e) => e,
        };
        let call = CallError::classify("StartHumanLoop", &err);
        let conflict = matches!(
            err.as_service_error(),
            Some(StartHumanLoopError::ConflictException(_))
        );
        let validation = matches!(
            err.as_service_error(),
            Some(StartHumanLoopError::ValidationException(_))
        );
        if conflict || validation {
            match self.existing_loop(name, Attempts::Retried).await {
                Existing::Ours { status, .. } => return Ok(LoopStart::AlreadyStarted { status }),
                Existing::Foreign {
                    flow_definition_arn,
                } => return Err(name_taken(name, &flow_definition_arn)),
                // Our names are deterministic: a conflict means this item's loop exists.
                Existing::Unknown(e) if conflict => {
                    tracing::warn!(loop_name = name, error = %e, "ConflictException, and the loop could not be described; counted as already started");
                    return Ok(LoopStart::AlreadyStarted {
                        status: "Unknown".into(),
                    });
                }
                Existing::Absent | Existing::Unknown(_) => {}
            }
        }
        Err(LoopFailure {
            reason: call.to_string(),
            retryable: call.retryable,
            kind: if call.retryable {
                FailureKind::A2iRetryable
            } else {
                FailureKind::A2iRejected
            },
        })
    }

    fn start_request(
        &self,
        name: &str,
        content: String,
    ) -> aws_sdk_sagemakera2iruntime::operation::start_human_loop::builders::StartHumanLoopFluentBuilder
    {
        let mut request = self
            .a2i
            .start_human_loop()
            .human_loop_name(name)
            .flow_definition_arn(&self.flow_definition_arn)
            .human_loop_input(HumanLoopInput::builder().input_content(content).build());
        if !self.content_classifiers.is_empty() {
            let classifiers = self
                .content_classifiers
                .iter()
                .map(|c| SdkClassifier::from(c.as_str()))
                .collect();
            request = request.data_attributes(
                HumanLoopDataAttributes::builder()
                    .set_content_classifiers(Some(classifiers))
                    .build(),
            );
        }
        request
    }

    /// What A2I knows of the loop `name` (the raw-media mode's lookups go through here too).
    pub(super) async fn existing_loop(&self, name: &str, attempts: Attempts) -> Existing {
        let request = self.a2i.describe_human_loop().human_loop_name(name);
        let answer = match attempts {
            Attempts::Retried => request.send().await,
            Attempts::One => {
                let once = aws_sdk_sagemakera2iruntime::config::Builder::default()
                    .retry_config(RetryConfig::standard().with_max_attempts(1));
                request.customize().config_override(once).send().await
            }
        };
        match answer {
            Ok(out) if out.flow_definition_arn() == Some(self.flow_definition_arn.as_str()) => {
                Existing::Ours {
                    status: out
                        .human_loop_status()
                        .map_or("Unknown", |s| s.as_str())
                        .to_owned(),
                    arn: out.human_loop_arn().map(str::to_owned),
                }
            }
            Ok(out) => Existing::Foreign {
                flow_definition_arn: out.flow_definition_arn().unwrap_or("unknown").to_owned(),
            },
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Existing::Absent
            }
            Err(e) => Existing::Unknown(CallError::classify("DescribeHumanLoop", &e)),
        }
    }
}

pub(super) fn name_taken(name: &str, flow_definition_arn: &str) -> LoopFailure {
    LoopFailure {
        reason: format!("loop name {name} is in use by flow definition {flow_definition_arn}"),
        retryable: false,
        kind: FailureKind::LoopNameTaken,
    }
}
