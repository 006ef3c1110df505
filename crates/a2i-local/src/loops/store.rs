//! The loop table and its state machine: every operation that reads or changes loops goes
//! through [`Store`], which is thread-safe and, when given a file, durable.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use super::persist::OpenError;
use super::persist::{Change, Journal, JournalOptions, Paths, Table};
use super::record::{now_ms, ContentClassifier, FailureCode, LoopPolicy, LoopRecord, LoopStatus};
use crate::arn::FlowDefinitionArn;
use crate::output::{HumanAnswer, S3Location};

/// Why a loop operation was refused. Each variant maps to one API error shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoopError {
    /// No loop has this name, or it was deleted.
    #[error("HumanLoop '{name}' does not exist.")]
    NotFound {
        /// The loop name.
        name: String,
    },
    /// Start with the name of an active loop but a different request.
    #[error(
        "A human loop with the name '{name}' is already active with different input data. \
         Use a different HumanLoopName, or wait until the loop is finished and delete it."
    )]
    ConflictingInput {
        /// The loop name.
        name: String,
    },
    /// Start with the name of a finished or deleted loop (the text mirrors what Textract
    /// answers in the same situation).
    #[error(
        "HumanLoop '{name}' already exists and is finished. To start a new HumanLoop, you can \
         try your request again with a different HumanLoopName."
    )]
    AlreadyFinished {
        /// The loop name.
        name: String,
    },
    /// Delete of a loop that is not Completed, Failed or Stopped.
    #[error(
        "HumanLoop '{name}' is {status}; only Completed, Failed or Stopped human loops can be \
         deleted. Stop it first."
    )]
    NotDeletable {
        /// The loop name.
        name: String,
        /// Its status.
        status: LoopStatus,
    },
    /// Stop of a loop that is already finished.
    #[error("HumanLoop '{name}' is already {status} and cannot be stopped.")]
    NotStoppable {
        /// The loop name.
        name: String,
        /// Its status.
        status: LoopStatus,
    },
    /// A control-surface action (answer, fail, expire) on a loop that no longer waits for review.
    #[error("HumanLoop '{name}' is {status}, not InProgress; it no longer waits for review.")]
    NotInProgress {
        /// The loop name.
        name: String,
        /// Its status.
        status: LoopStatus,
    },
    /// StartHumanLoop named a flow definition that does not exist (strict mode).
    #[error(
        "The flow definition '{name}' ({arn}) does not exist. Create it with \
         CreateFlowDefinition before starting human loops with it."
    )]
    FlowDefinitionNotFound {
        /// The flow definition's name.
        name: String,
        /// The FlowDefinitionArn given.
        arn: String,
    },
    /// A worker who already answered the loop answered it again.
    #[error(
        "Worker '{worker_id}' has already answered HumanLoop '{name}'; each worker answers a \
         loop once, and it completes when its TaskCount distinct workers have answered."
    )]
    AlreadyAnswered {
        /// The loop name.
        name: String,
        /// The worker.
        worker_id: String,
    },
    /// The change could not be made durable (the journal or snapshot could not be written).
    #[error("the loop change could not be made durable: {0}")]
    Persist(String),
}

/// The sort orders of ListHumanLoops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortOrder {
    /// Oldest first.
    Ascending,
    /// Newest first (the default, see the crate docs).
    Descending,
}

/// A position in the list order: the (creation time, creation sequence) of the last loop
/// returned. Pagination is by position, not by offset, so loops deleted or created between
/// two pages never make a page skip or repeat a loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cursor {
    /// Creation time in epoch milliseconds.
    pub creation_ms: i64,
    /// Creation sequence number.
    pub seq: u64,
}

impl Cursor {
    fn of(record: &LoopRecord) -> Self {
        Self {
            creation_ms: record.creation_time.timestamp_millis(),
            seq: record.seq,
        }
    }
}

/// One ListHumanLoops page request, already validated.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Only loops of this flow definition.
    pub flow_definition_arn: String,
    /// Only loops created at or after this time (inclusive).
    pub created_after: Option<DateTime<Utc>>,
    /// Only loops created before this time (exclusive).
    pub created_before: Option<DateTime<Utc>>,
    /// The order.
    pub sort_order: SortOrder,
    /// Continue after this position.
    pub after: Option<Cursor>,
    /// Page size.
    pub limit: usize,
}

/// One page of loops and where the next one starts.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// The loops, in the requested order.
    pub loops: Vec<LoopRecord>,
    /// Present when more loops match.
    pub next: Option<Cursor>,
}

/// A validated StartHumanLoop request.
#[derive(Debug, Clone)]
pub struct NewLoop {
    /// The HumanLoopName.
    pub name: String,
    /// The flow definition.
    pub flow_definition: FlowDefinitionArn,
    /// The InputContent, as given.
    pub input_content: String,
    /// The ContentClassifiers, when DataAttributes was given.
    pub content_classifiers: Option<Vec<ContentClassifier>>,
}

/// What a StartHumanLoop did.
#[derive(Debug, Clone)]
pub enum Started {
    /// A new loop was created.
    Created(LoopRecord),
    /// The same request was already running under this name: nothing new was created.
    AlreadyRunning(LoopRecord),
}

impl Started {
    /// The loop, new or existing.
    pub fn record(&self) -> &LoopRecord {
        match self {
            Started::Created(r) | Started::AlreadyRunning(r) => r,
        }
    }
}

/// How a loop ends through the control surface or a stop.
#[derive(Debug, Clone)]
pub enum Ending {
    /// The last workers answered; output.json (with these and the earlier answers) is at
    /// this URI.
    Completed {
        /// `s3://…/output.json`.
        output_s3_uri: String,
        /// The answers that completed the loop.
        answers: Vec<HumanAnswer>,
    },
    /// Failed with a documented code and a reason.
    Failed {
        /// The FailureCode.
        code: FailureCode,
        /// The FailureReason.
        reason: String,
    },
}

/// The loop table. All methods are safe to call from many tasks at once; each change is
/// applied under one lock and, when the store is durable, is in the journal (see
/// [`super::persist`]) when the method returns.
#[derive(Debug)]
pub struct Store {
    state: Arc<Mutex<Table>>,
    journal: Option<Journal>,
    default_region: String,
}

/// A loop change and the journal record that makes it durable (`None` when nothing changed).
type Changed<T> = (T, Option<Change>);

impl Store {
    /// An in-memory store.
    pub fn in_memory(default_region: impl Into<String>) -> Self {
        Self {
            state: Arc::new(Mutex::new(Table::default())),
            journal: None,
            default_region: default_region.into(),
        }
    }

    /// A store persisted to the snapshot `path` and its journal next to it, loading what is
    /// there. Loops left `Stopping` by a previous run become `Stopped` (with their event
    /// pending), since no worker can still be busy on them. Loops saved before loops captured
    /// their flow's policy get the implicit policy with output under `implicit_output`.
    pub fn open(
        path: PathBuf,
        default_region: impl Into<String>,
        implicit_output: &S3Location,
    ) -> Result<Self, OpenError> {
        Self::open_with(
            path,
            default_region,
            implicit_output,
            JournalOptions::default(),
        )
    }

    /// [`Store::open`] with journal options (compaction threshold).
    pub fn open_with(
        path: PathBuf,
        default_region: impl Into<String>,
        implicit_output: &S3Location,
        options: JournalOptions,
    ) -> Result<Self, OpenError> {
        let paths = Paths::new(path);
        let loaded = super::persist::load(&paths)?;
        let mut table = loaded.table;
        let now = now_ms();
        for record in table.loops.values_mut() {
            if record.status == LoopStatus::Stopping {
                record.status = LoopStatus::Stopped;
                record.status_time = now;
                record.event_pending = true;
            }
            if record.policy.flow_definition_name.is_empty() {
                let flow_name = FlowDefinitionArn::parse(&record.flow_definition_arn)
                    .map(|arn| arn.name().to_owned())
                    .unwrap_or_default();
                record.policy = LoopPolicy::implicit(&flow_name, implicit_output);
            }
        }
        tracing::info!(
            path = %paths.snapshot.display(),
            loops = table.loops.len(),
            replayed = loaded.replayed,
            "loop table loaded"
        );
        let state = Arc::new(Mutex::new(table));
        // Starting compacts: the fix-ups above become durable and the journal starts empty.
        let journal = Journal::start(paths, loaded.epoch, Arc::clone(&state), options)?;
        Ok(Self {
            state,
            journal: Some(journal),
            default_region: default_region.into(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic while holding the lock cannot leave a half-applied change (every change
        // checks first and then assigns), so a poisoned lock is still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies `change` under the lock and queues its journal record under the same lock
    /// (so the journal has changes in the order they were made); then, outside the lock,
    /// waits until the record is durable. A change that changes nothing still waits until
    /// everything queued before it is durable, so no answer depends on state that a crash
    /// could lose.
    async fn mutate<T>(
        &self,
        change: impl FnOnce(&mut Table) -> Result<Changed<T>, LoopError>,
    ) -> Result<T, LoopError> {
        let (result, durable) = {
            let mut state = self.lock();
            let (result, record) = change(&mut state)?;
            let durable = self.journal.as_ref().map(|journal| match &record {
                Some(record) => journal.append(record),
                None => journal.barrier(),
            });
            (result, durable)
        };
        if let Some(durable) = durable {
            durable.wait().await.map_err(|err| {
                tracing::error!(error = %err, "a loop change could not be made durable");
                LoopError::Persist(err)
            })?;
        }
        Ok(result)
    }

    /// StartHumanLoop: creates the loop governed by `policy`, or recognizes a retry of the
    /// same request (which keeps the policy it started with).
    pub async fn start(&self, new: NewLoop, policy: LoopPolicy) -> Result<Started, LoopError> {
        let default_region = self.default_region.clone();
        self.mutate(move |state| {
            if let Some(existing) = state.loops.get(&new.name) {
                if existing.deleted || existing.status.is_terminal() {
                    return Err(LoopError::AlreadyFinished { name: new.name });
                }
                if existing.same_request(
                    new.flow_definition.as_str(),
                    &new.input_content,
                    &new.content_classifiers,
                ) {
                    return Ok((Started::AlreadyRunning(existing.clone()), None));
                }
                return Err(LoopError::ConflictingInput { name: new.name });
            }
            let now = now_ms();
            let seq = state.next_seq;
            state.next_seq += 1;
            let record = LoopRecord {
                seq,
                arn: new
                    .flow_definition
                    .human_loop_arn(&new.name, &default_region),
                name: new.name.clone(),
                flow_definition_arn: new.flow_definition.as_str().to_owned(),
                input_content: new.input_content,
                content_classifiers: new.content_classifiers,
                creation_time: now,
                status: LoopStatus::InProgress,
                status_time: now,
                failure_code: None,
                failure_reason: None,
                output_s3_uri: None,
                deleted: false,
                event_pending: false,
                policy,
                answers: Vec::new(),
            };
            state.loops.insert(new.name, record.clone());
            let change = Change::Created {
                record: Box::new(record.clone()),
            };
            Ok((Started::Created(record), Some(change)))
        })
        .await
    }

    /// DescribeHumanLoop: the loop, unless it does not exist or was deleted.
    pub fn get(&self, name: &str) -> Result<LoopRecord, LoopError> {
        let state = self.lock();
        match state.loops.get(name) {
            Some(record) if !record.deleted => Ok(record.clone()),
            _ => Err(LoopError::NotFound {
                name: name.to_owned(),
            }),
        }
    }

    /// ListHumanLoops: one page of the flow definition's loops, deleted ones left out.
    pub fn list(&self, query: &ListQuery) -> ListPage {
        let state = self.lock();
        let mut matching: Vec<&LoopRecord> = state
            .loops
            .values()
            .filter(|r| !r.deleted && r.flow_definition_arn == query.flow_definition_arn)
            .filter(|r| query.created_after.is_none_or(|t| r.creation_time >= t))
            .filter(|r| query.created_before.is_none_or(|t| r.creation_time < t))
            .filter(|r| match (query.after, query.sort_order) {
                (None, _) => true,
                (Some(c), SortOrder::Ascending) => Cursor::of(r) > c,
                (Some(c), SortOrder::Descending) => Cursor::of(r) < c,
            })
            .collect();
        matching.sort_by_key(|r| Cursor::of(r));
        if query.sort_order == SortOrder::Descending {
            matching.reverse();
        }
        let more = matching.len() > query.limit;
        let loops: Vec<LoopRecord> = matching.into_iter().take(query.limit).cloned().collect();
        let next = if more {
            loops.last().map(Cursor::of)
        } else {
            None
        };
        ListPage { loops, next }
    }

    /// StopHumanLoop: InProgress becomes Stopping, or Stopped at once when `immediate`
    /// (no worker has started; always the case locally unless a stopping delay is set).
    /// Stopping again is accepted and changes nothing. Returns the loop and whether this
    /// call changed it.
    pub async fn stop(&self, name: &str, immediate: bool) -> Result<(LoopRecord, bool), LoopError> {
        self.mutate(|state| {
            let record = live_mut(state, name)?;
            match record.status {
                LoopStatus::InProgress => {
                    let next = if immediate {
                        LoopStatus::Stopped
                    } else {
                        LoopStatus::Stopping
                    };
                    record.status = next;
                    record.status_time = now_ms();
                    record.event_pending = next.is_terminal();
                    let change = Change::status_of(record);
                    Ok(((record.clone(), true), Some(change)))
                }
                LoopStatus::Stopping => Ok(((record.clone(), false), None)),
                status => Err(LoopError::NotStoppable {
                    name: name.to_owned(),
                    status,
                }),
            }
        })
        .await
    }

    /// Ends a Stopping loop: it becomes Stopped. `None` when it is no longer Stopping (for
    /// example, it was already finished by an earlier call).
    pub async fn finish_stopping(&self, name: &str) -> Result<Option<LoopRecord>, LoopError> {
        self.mutate(|state| {
            let record = live_mut(state, name)?;
            if record.status != LoopStatus::Stopping {
                return Ok((None, None));
            }
            record.status = LoopStatus::Stopped;
            record.status_time = now_ms();
            record.event_pending = true;
            Ok((Some(record.clone()), Some(Change::status_of(record))))
        })
        .await
    }

    /// DeleteHumanLoop: only Completed, Failed or Stopped loops; afterwards the loop
    /// answers as not found and is left out of lists, but its name stays taken.
    pub async fn delete(&self, name: &str) -> Result<(), LoopError> {
        self.mutate(|state| {
            let record = live_mut(state, name)?;
            if !record.status.is_terminal() {
                return Err(LoopError::NotDeletable {
                    name: name.to_owned(),
                    status: record.status,
                });
            }
            record.deleted = true;
            // A deleted loop's input is no longer needed; keep the tombstone small.
            record.input_content = String::new();
            Ok((
                (),
                Some(Change::Deleted {
                    name: name.to_owned(),
                }),
            ))
        })
        .await
    }

    /// The loop, if it waits for review (the check made before writing output.json).
    pub fn in_progress(&self, name: &str) -> Result<LoopRecord, LoopError> {
        let record = self.get(name)?;
        if record.status != LoopStatus::InProgress {
            return Err(LoopError::NotInProgress {
                name: name.to_owned(),
                status: record.status,
            });
        }
        Ok(record)
    }

    /// Ends an InProgress loop as Completed or Failed.
    pub async fn end(&self, name: &str, ending: Ending) -> Result<LoopRecord, LoopError> {
        self.mutate(|state| {
            let record = live_mut(state, name)?;
            if record.status != LoopStatus::InProgress {
                return Err(LoopError::NotInProgress {
                    name: name.to_owned(),
                    status: record.status,
                });
            }
            let change = match ending {
                Ending::Completed {
                    output_s3_uri,
                    answers,
                } => {
                    check_new_workers(record, &answers)?;
                    let change = Change::Completed {
                        name: name.to_owned(),
                        answers,
                        status_time: now_ms(),
                        output_s3_uri,
                        event_pending: true,
                    };
                    state.apply(change.clone()).map_err(LoopError::Persist)?;
                    change
                }
                Ending::Failed { code, reason } => {
                    record.status = LoopStatus::Failed;
                    record.failure_code = Some(code);
                    record.failure_reason = Some(reason);
                    record.status_time = now_ms();
                    record.event_pending = true;
                    Change::status_of(record)
                }
            };
            let record = live_mut(state, name)?;
            Ok((record.clone(), Some(change)))
        })
        .await
    }

    /// Records answers of workers to an InProgress loop that needs more answers; refused when
    /// one of the workers already answered it (or appears twice in `answers`).
    pub async fn record_answers(
        &self,
        name: &str,
        answers: Vec<HumanAnswer>,
    ) -> Result<LoopRecord, LoopError> {
        self.mutate(|state| {
            let record = live_mut(state, name)?;
            if record.status != LoopStatus::InProgress {
                return Err(LoopError::NotInProgress {
                    name: name.to_owned(),
                    status: record.status,
                });
            }
            check_new_workers(record, &answers)?;
            let change = Change::AnswersRecorded {
                name: name.to_owned(),
                answers,
            };
            state.apply(change.clone()).map_err(LoopError::Persist)?;
            let record = live_mut(state, name)?;
            Ok((record.clone(), Some(change)))
        })
        .await
    }

    /// Records that the status-change event of the loop's current status reached every sink.
    pub async fn mark_event_delivered(&self, name: &str) -> Result<(), LoopError> {
        self.mutate(|state| match state.loops.get_mut(name) {
            Some(record) if record.event_pending => {
                record.event_pending = false;
                let change = Change::EventDelivered {
                    name: name.to_owned(),
                };
                Ok(((), Some(change)))
            }
            _ => Ok(((), None)),
        })
        .await
    }

    /// Loops waiting for review, oldest first.
    pub fn waiting_for_review(&self) -> Vec<LoopRecord> {
        let state = self.lock();
        let mut loops: Vec<LoopRecord> = state
            .loops
            .values()
            .filter(|r| !r.deleted && r.status == LoopStatus::InProgress)
            .cloned()
            .collect();
        loops.sort_by_key(Cursor::of);
        loops
    }

    /// Loops whose terminal event has not reached every sink yet (after a restart).
    pub fn with_pending_events(&self) -> Vec<LoopRecord> {
        let state = self.lock();
        let mut loops: Vec<LoopRecord> = state
            .loops
            .values()
            .filter(|r| r.event_pending && r.status.is_terminal())
            .cloned()
            .collect();
        loops.sort_by_key(Cursor::of);
        loops
    }

    /// Every loop that is not deleted (for tests and the control surface).
    pub fn all(&self) -> Vec<LoopRecord> {
        let state = self.lock();
        let mut loops: Vec<LoopRecord> = state
            .loops
            .values()
            .filter(|r| !r.deleted)
            .cloned()
            .collect();
        loops.sort_by_key(Cursor::of);
        loops
    }
}

/// Refuses answers of a worker who already answered `record`, or who appears twice.
fn check_new_workers(record: &LoopRecord, answers: &[HumanAnswer]) -> Result<(), LoopError> {
    for (index, answer) in answers.iter().enumerate() {
        let repeated = answers[..index]
            .iter()
            .any(|a| a.worker_id == answer.worker_id);
        if repeated || record.answered_by(&answer.worker_id) {
            return Err(LoopError::AlreadyAnswered {
                name: record.name.clone(),
                worker_id: answer.worker_id.clone(),
            });
        }
    }
    Ok(())
}

fn live_mut<'a>(state: &'a mut Table, name: &str) -> Result<&'a mut LoopRecord, LoopError> {
    match state.loops.get_mut(name) {
        Some(record) if !record.deleted => Ok(record),
        _ => Err(LoopError::NotFound {
            name: name.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_loop(name: &str, input: &str) -> NewLoop {
        NewLoop {
            name: name.to_owned(),
            flow_definition: FlowDefinitionArn::parse(
                "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/fd",
            )
            .unwrap(),
            input_content: input.to_owned(),
            content_classifiers: None,
        }
    }

    fn output() -> S3Location {
        S3Location::parse("s3://out/prefix").unwrap()
    }

    impl Store {
        async fn start_for_test(&self, new: NewLoop) -> Result<Started, LoopError> {
            self.start(new, LoopPolicy::implicit("fd", &output())).await
        }
    }

    fn answer(worker: &str) -> HumanAnswer {
        HumanAnswer {
            acceptance_time: "2020-12-28T18:59:15.191Z".to_owned(),
            answer_content: serde_json::json!({"label": worker}),
            submission_time: "2020-12-28T18:59:58.321Z".to_owned(),
            time_spent_in_seconds: 40.5,
            worker_id: worker.to_owned(),
            worker_metadata: serde_json::json!({}),
        }
    }

    #[tokio::test]
    async fn partial_answers_and_completion_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut policy = LoopPolicy::implicit("fd", &output());
        policy.task_count = 3;
        {
            let store = Store::open(path.clone(), "us-east-1", &output()).unwrap();
            store
                .start(new_loop("a", "{}"), policy.clone())
                .await
                .unwrap();
            store
                .start(new_loop("b", "{}"), policy.clone())
                .await
                .unwrap();
            store.record_answers("a", vec![answer("w1")]).await.unwrap();
            store.record_answers("a", vec![answer("w2")]).await.unwrap();
            store.record_answers("b", vec![answer("w1")]).await.unwrap();
            store
                .end(
                    "b",
                    Ending::Completed {
                        output_s3_uri: "s3://out/b/output.json".to_owned(),
                        answers: vec![answer("w2"), answer("w3")],
                    },
                )
                .await
                .unwrap();
        }
        let store = Store::open(path, "us-east-1", &output()).unwrap();
        let a = store.get("a").unwrap();
        assert_eq!(a.status, LoopStatus::InProgress);
        assert_eq!(a.policy, policy, "the captured policy is restored");
        let workers: Vec<&str> = a.answers.iter().map(|x| x.worker_id.as_str()).collect();
        assert_eq!(workers, ["w1", "w2"]);
        assert_eq!(a.answers[0], answer("w1"));
        let b = store.get("b").unwrap();
        assert_eq!(b.status, LoopStatus::Completed);
        assert_eq!(b.answers.len(), 3);
        assert_eq!(b.output_s3_uri.as_deref(), Some("s3://out/b/output.json"));
        assert!(b.event_pending);
    }

    #[tokio::test]
    async fn a_worker_answers_a_loop_once() {
        let store = Store::in_memory("us-east-1");
        let mut policy = LoopPolicy::implicit("fd", &output());
        policy.task_count = 3;
        store.start(new_loop("a", "{}"), policy).await.unwrap();
        store.record_answers("a", vec![answer("w1")]).await.unwrap();
        let again = store.record_answers("a", vec![answer("w1")]).await;
        assert!(
            matches!(&again, Err(LoopError::AlreadyAnswered { worker_id, .. }) if worker_id == "w1"),
            "{again:?}"
        );
        let twice_in_one = store
            .record_answers("a", vec![answer("w2"), answer("w2")])
            .await;
        assert!(matches!(
            twice_in_one,
            Err(LoopError::AlreadyAnswered { .. })
        ));
        let completing_twice = store
            .end(
                "a",
                Ending::Completed {
                    output_s3_uri: "s3://x".to_owned(),
                    answers: vec![answer("w1")],
                },
            )
            .await;
        assert!(matches!(
            completing_twice,
            Err(LoopError::AlreadyAnswered { .. })
        ));
        // Refused changes changed nothing.
        assert_eq!(store.get("a").unwrap().answers.len(), 1);
        assert_eq!(store.get("a").unwrap().status, LoopStatus::InProgress);
    }

    #[test]
    fn loops_saved_before_policies_load_with_the_implicit_policy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let old = serde_json::json!({"version": 2, "journalEpoch": 0, "nextSeq": 1, "loops": {"old": {
            "seq": 0, "name": "old",
            "arn": "arn:aws:sagemaker:us-east-1:111122223333:human-loop/old",
            "flowDefinitionArn": "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/legacy-flow",
            "inputContent": "{}", "contentClassifiers": null,
            "creationTime": "2020-01-01T00:00:00Z", "status": "InProgress",
            "statusTime": "2020-01-01T00:00:00Z", "failureCode": null, "failureReason": null,
            "outputS3Uri": null, "deleted": false, "eventPending": false}}});
        std::fs::write(&path, serde_json::to_vec(&old).unwrap()).unwrap();
        let store = Store::open(path, "us-east-1", &output()).unwrap();
        let record = store.get("old").unwrap();
        assert_eq!(
            record.policy,
            LoopPolicy::implicit("legacy-flow", &output())
        );
        assert!(record.answers.is_empty());
    }

    #[tokio::test]
    async fn same_request_on_an_active_loop_is_not_a_new_loop() {
        let store = Store::in_memory("us-east-1");
        let first = store.start_for_test(new_loop("a", "{}")).await.unwrap();
        let again = store.start_for_test(new_loop("a", "{}")).await.unwrap();
        assert!(matches!(first, Started::Created(_)));
        assert!(matches!(again, Started::AlreadyRunning(_)));
        assert_eq!(first.record().arn, again.record().arn);
        assert_eq!(store.all().len(), 1);
    }

    #[tokio::test]
    async fn different_input_on_an_active_loop_is_a_conflict() {
        let store = Store::in_memory("us-east-1");
        store.start_for_test(new_loop("a", "{}")).await.unwrap();
        let err = store.start_for_test(new_loop("a", "[]")).await.unwrap_err();
        assert!(matches!(err, LoopError::ConflictingInput { .. }));
    }

    #[tokio::test]
    async fn a_finished_or_deleted_name_cannot_be_reused() {
        let store = Store::in_memory("us-east-1");
        store.start_for_test(new_loop("a", "{}")).await.unwrap();
        store.stop("a", true).await.unwrap();
        let err = store.start_for_test(new_loop("a", "{}")).await.unwrap_err();
        assert!(matches!(err, LoopError::AlreadyFinished { .. }));
        store.delete("a").await.unwrap();
        let err = store.start_for_test(new_loop("a", "{}")).await.unwrap_err();
        assert!(matches!(err, LoopError::AlreadyFinished { .. }));
        assert!(matches!(store.get("a"), Err(LoopError::NotFound { .. })));
    }

    #[tokio::test]
    async fn only_finished_loops_can_be_deleted() {
        let store = Store::in_memory("us-east-1");
        store.start_for_test(new_loop("a", "{}")).await.unwrap();
        let err = store.delete("a").await.unwrap_err();
        assert!(matches!(
            err,
            LoopError::NotDeletable {
                status: LoopStatus::InProgress,
                ..
            }
        ));
        store.stop("a", false).await.unwrap();
        assert!(matches!(
            store.delete("a").await,
            Err(LoopError::NotDeletable {
                status: LoopStatus::Stopping,
                ..
            })
        ));
        let stopped = store.finish_stopping("a").await.unwrap().unwrap();
        assert_eq!(stopped.status, LoopStatus::Stopped);
        store.delete("a").await.unwrap();
        assert!(matches!(
            store.delete("a").await,
            Err(LoopError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn state_is_reloaded_from_the_file_and_stopping_becomes_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        {
            let store = Store::open(path.clone(), "us-east-1", &output()).unwrap();
            store.start_for_test(new_loop("a", "{}")).await.unwrap();
            store.start_for_test(new_loop("b", "{}")).await.unwrap();
            store.stop("b", false).await.unwrap();
        }
        let store = Store::open(path, "us-east-1", &output()).unwrap();
        assert_eq!(store.get("a").unwrap().status, LoopStatus::InProgress);
        let b = store.get("b").unwrap();
        assert_eq!(b.status, LoopStatus::Stopped);
        assert!(b.event_pending);
        // Sequence numbers continue, so list order stays total.
        let c = store.start_for_test(new_loop("c", "{}")).await.unwrap();
        assert_eq!(c.record().seq, 2);
    }

    #[test]
    fn a_corrupt_state_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(
            Store::open(path, "us-east-1", &output()),
            Err(OpenError::Invalid { .. })
        ));
    }
}
