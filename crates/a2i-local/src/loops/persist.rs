//! Durable loop table: a snapshot file plus an append-only journal of changes, written with
//! group commit, so that a loop change costs O(1) I/O however many loops there are.
//!
//! # Files (in the data directory)
//! - **Snapshot**, `a2i-local-state.json`: the whole table as JSON,
//!   `{"version":2,"journalEpoch":E,"nextSeq":N,"loops":{name: record…}}`, replaced atomically
//!   (temp file, fsync, rename, fsync of the directory). Version 1 files (written before the
//!   journal existed, without `journalEpoch`) load as epoch 0.
//! - **Journal**, `a2i-local-state.journal`: a 16-byte header, the magic `a2ijrnl1` and the
//!   epoch (u64, little-endian), then one frame per change:
//!   `[length: u32 LE][CRC-32 (IEEE) of the length bytes and the payload: u32 LE][payload]`,
//!   where the payload (1 byte to 64 MiB) is one [`Change`] as JSON: `created` (the whole new
//!   record), `statusChanged` (every field a status change sets, including whether its event
//!   is pending), `answersRecorded` (answers of distinct workers to a loop that still needs
//!   more), `completed` (the last answers, the output URI and the status, in one record, so
//!   that a loop is never seen with all its answers but not completed), `deleted` (the loop
//!   becomes a tombstone; its input and answers are dropped) or `eventDelivered`. Every change
//!   sets fields to absolute values, and answers are keyed by worker id (an answer of a
//!   worker the loop already holds is not added again), so replaying a change twice is
//!   harmless.
//!
//! # Durability
//! A change is applied to the in-memory table and its frame queued under the table's lock
//! (so journal order is the order changes were made), then the caller waits until the frame
//! is on disk. One writer thread takes every frame queued so far and writes them with one
//! `write`; a sync thread makes them durable with one `fdatasync` (group commit): concurrent
//! requests share the cost of a sync, and each is answered only after a sync that started
//! after its frame was written has returned. A few sync threads run at once, so the next
//! batch is written and its sync started while the previous sync is still in flight
//! (concurrent syncs of one file overlap in the kernel). A
//! call that changes nothing (a retried StartHumanLoop of an active loop, a second stop)
//! still waits until every change queued before it is durable, so nothing answered can be
//! lost. A `kill -9` at any moment therefore loses only changes whose callers were not yet
//! answered. Reads (Describe, List) answer from memory, and may show a change whose caller
//! is still waiting for it to be durable. When a write fails, its callers get an error (the
//! change stays in memory) and the next change compacts instead of appending, so the
//! snapshot then holds it.
//!
//! # Compaction
//! When the journal has grown to at least the snapshot's size (and at least
//! [`DEFAULT_COMPACT_BYTES`]), and at every start, the writer takes the table under its lock
//! (together with every frame queued until then), writes it as a snapshot of epoch E+1, and
//! then replaces the journal with an empty one of epoch E+1. Snapshot writes thus cost no more
//! than the journal bytes that preceded them: O(1) amortized per change. A crash between the
//! two renames leaves a journal of an older epoch than the snapshot; its changes are all in
//! the snapshot, so it is ignored.
//!
//! # Recovery
//! At start the snapshot is read and the journal of the same epoch replayed. A last frame
//! cut short or failing its checksum (a crash in the middle of a write; also a tail of zero
//! bytes, as some file systems leave after a crash) is ignored with a warning: its caller was
//! never answered. Anything else wrong (a bad header, a bad frame followed by more data, a
//! valid frame that does not decode or names an unknown loop, a journal newer than the
//! snapshot) refuses to start with an error naming the file and the byte offset.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{oneshot, watch};

use super::record::{FailureCode, LoopRecord, LoopStatus};
use crate::output::HumanAnswer;

/// The snapshot version this code writes.
pub const SNAPSHOT_VERSION: u32 = 2;
/// The snapshot version written before the journal existed (still read).
const SNAPSHOT_VERSION_WITHOUT_JOURNAL: u32 = 1;
/// The journal file's magic bytes (the last one is the format version).
const JOURNAL_MAGIC: &[u8; 8] = b"a2ijrnl1";
/// Magic plus epoch.
const JOURNAL_HEADER_LEN: usize = 16;
/// Length plus checksum.
const FRAME_HEADER_LEN: usize = 8;
/// The largest payload a frame may carry: far above the largest change (an InputContent of
/// 3,145,728 characters, JSON-escaped), far below what a corrupt length could make us read.
pub const MAX_PAYLOAD_LEN: usize = 64 << 20;
/// The journal size below which no compaction happens, however small the snapshot.
pub const DEFAULT_COMPACT_BYTES: u64 = 4 << 20;
/// How many syncs may run at once. Concurrent `fdatasync` calls on one file overlap in the
/// kernel (a later one is satisfied by the flush an earlier one started), so syncing on a
/// few threads lets a new batch be synced while the previous sync is still in flight,
/// instead of waiting for it: several times the syncs per second of one thread.
const SYNC_THREADS: usize = 4;
/// How many bytes one group commit writes at most (the rest waits for the next one).
const MAX_BATCH_BYTES: usize = 16 << 20;

/// The loop table as it is persisted: every loop (tombstones included) by name, and the
/// next creation sequence number.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Table {
    /// The sequence number of the next loop created.
    pub next_seq: u64,
    /// Every loop, deleted ones included, by name.
    pub loops: BTreeMap<String, LoopRecord>,
}

/// One change to the table: what a journal frame carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "camelCase")]
pub enum Change {
    /// A loop was created.
    Created {
        /// The new loop (boxed: it is much larger than the other changes).
        record: Box<LoopRecord>,
    },
    /// A loop's status changed (stop, finish of a stop, answer, failure, expiry).
    #[serde(rename_all = "camelCase")]
    StatusChanged {
        /// The loop name.
        name: String,
        /// The new status.
        status: LoopStatus,
        /// When it changed.
        status_time: DateTime<Utc>,
        /// Set when the loop failed.
        failure_code: Option<FailureCode>,
        /// Set when the loop failed.
        failure_reason: Option<String>,
        /// Set when the loop completed.
        output_s3_uri: Option<String>,
        /// Whether the status-change event is still to be delivered.
        event_pending: bool,
    },
    /// Workers answered a loop that needs more answers before it completes.
    AnswersRecorded {
        /// The loop name.
        name: String,
        /// The new answers (each of a worker the loop did not hold yet).
        answers: Vec<HumanAnswer>,
    },
    /// The last answers arrived: output.json is written and the loop is Completed.
    #[serde(rename_all = "camelCase")]
    Completed {
        /// The loop name.
        name: String,
        /// The answers that completed it (the earlier ones are already recorded).
        answers: Vec<HumanAnswer>,
        /// When it completed.
        status_time: DateTime<Utc>,
        /// Where output.json is.
        output_s3_uri: String,
        /// Whether the status-change event is still to be delivered.
        event_pending: bool,
    },
    /// A loop was deleted: it stays as a tombstone, without its input.
    Deleted {
        /// The loop name.
        name: String,
    },
    /// The status-change event of the loop's current status reached every sink.
    EventDelivered {
        /// The loop name.
        name: String,
    },
}

impl Change {
    /// The status change that leaves a loop as `record` is.
    pub fn status_of(record: &LoopRecord) -> Self {
        Change::StatusChanged {
            name: record.name.clone(),
            status: record.status,
            status_time: record.status_time,
            failure_code: record.failure_code,
            failure_reason: record.failure_reason.clone(),
            output_s3_uri: record.output_s3_uri.clone(),
            event_pending: record.event_pending,
        }
    }
}

impl Table {
    /// Applies one change; refused when it names a loop the table does not hold.
    pub fn apply(&mut self, change: Change) -> Result<(), String> {
        fn existing<'a>(
            loops: &'a mut BTreeMap<String, LoopRecord>,
            name: &str,
        ) -> Result<&'a mut LoopRecord, String> {
            loops
                .get_mut(name)
                .ok_or_else(|| format!("the change names loop {name:?}, which was never created"))
        }
        match change {
            Change::Created { record } => {
                self.next_seq = self.next_seq.max(record.seq.saturating_add(1));
                self.loops.insert(record.name.clone(), *record);
            }
            Change::StatusChanged {
                name,
                status,
                status_time,
                failure_code,
                failure_reason,
                output_s3_uri,
                event_pending,
            } => {
                let record = existing(&mut self.loops, &name)?;
                record.status = status;
                record.status_time = status_time;
                record.failure_code = failure_code;
                record.failure_reason = failure_reason;
                record.output_s3_uri = output_s3_uri;
                record.event_pending = event_pending;
            }
            Change::AnswersRecorded { name, answers } => {
                add_answers(existing(&mut self.loops, &name)?, answers);
            }
            Change::Completed {
                name,
                answers,
                status_time,
                output_s3_uri,
                event_pending,
            } => {
                let record = existing(&mut self.loops, &name)?;
                add_answers(record, answers);
                record.status = LoopStatus::Completed;
                record.status_time = status_time;
                record.failure_code = None;
                record.failure_reason = None;
                record.output_s3_uri = Some(output_s3_uri);
                record.event_pending = event_pending;
            }
            Change::Deleted { name } => {
                let record = existing(&mut self.loops, &name)?;
                record.deleted = true;
                record.input_content = String::new();
                record.answers = Vec::new();
            }
            Change::EventDelivered { name } => {
                existing(&mut self.loops, &name)?.event_pending = false;
            }
        }
        Ok(())
    }
}

/// Adds answers of workers the loop does not hold yet (so that a replayed change adds
/// nothing twice).
pub fn add_answers(record: &mut LoopRecord, answers: Vec<HumanAnswer>) {
    for answer in answers {
        if !record.answered_by(&answer.worker_id) {
            record.answers.push(answer);
        }
    }
}

/// Why the persisted table could not be loaded (or first compacted) at start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The snapshot is not a state file of a supported version.
    #[error("the state file {path} is not valid: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The journal is damaged somewhere other than its last record.
    #[error("the journal {path} is corrupt at byte offset {offset}: {reason}")]
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// Where the bad data starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The compaction at start could not write the new snapshot or journal.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The two files of a persisted table.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The snapshot.
    pub snapshot: PathBuf,
    /// The journal: the snapshot's path with the extension `journal`.
    pub journal: PathBuf,
}

impl Paths {
    /// The files for the snapshot at `snapshot`.
    pub fn new(snapshot: PathBuf) -> Self {
        let journal = snapshot.with_extension("journal");
        Self { snapshot, journal }
    }
}

/// What [`load`] found on disk.
#[derive(Debug)]
pub struct Loaded {
    /// The table: the snapshot with the journal replayed onto it.
    pub table: Table,
    /// The snapshot's epoch.
    pub epoch: u64,
    /// Changes replayed from the journal.
    pub replayed: usize,
    /// Bytes at the end of the journal ignored as a torn last record.
    pub torn_bytes: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotOut<'a> {
    version: u32,
    journal_epoch: u64,
    next_seq: u64,
    loops: &'a BTreeMap<String, LoopRecord>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotIn {
    version: u32,
    #[serde(default)]
    journal_epoch: u64,
    next_seq: u64,
    loops: BTreeMap<String, LoopRecord>,
}

/// Reads the snapshot and replays the journal of its epoch (see the module docs). Missing
/// files are an empty table.
pub fn load(paths: &Paths) -> Result<Loaded, OpenError> {
    let (mut table, epoch) = match std::fs::read(&paths.snapshot) {
        Ok(bytes) => {
            let invalid = |reason: String| OpenError::Invalid {
                path: paths.snapshot.clone(),
                reason,
            };
            let snapshot: SnapshotIn =
                serde_json::from_slice(&bytes).map_err(|err| invalid(err.to_string()))?;
            if snapshot.version != SNAPSHOT_VERSION
                && snapshot.version != SNAPSHOT_VERSION_WITHOUT_JOURNAL
            {
                return Err(invalid(format!(
                    "version {} is not a supported version ({SNAPSHOT_VERSION_WITHOUT_JOURNAL} or {SNAPSHOT_VERSION})",
                    snapshot.version
                )));
            }
            let table = Table {
                next_seq: snapshot.next_seq,
                loops: snapshot.loops,
            };
            (table, snapshot.journal_epoch)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => (Table::default(), 0),
        Err(source) => {
            return Err(OpenError::Read {
                path: paths.snapshot.clone(),
                source,
            })
        }
    };
    let journal = match std::fs::read(&paths.journal) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(OpenError::Read {
                path: paths.journal.clone(),
                source,
            })
        }
    };
    let mut loaded = Loaded {
        table: Table::default(),
        epoch,
        replayed: 0,
        torn_bytes: 0,
    };
    if !journal.is_empty() || paths.journal.exists() {
        let corrupt = |offset: usize, reason: String| OpenError::Corrupt {
            path: paths.journal.clone(),
            offset: offset as u64,
            reason,
        };
        let Some(journal_epoch) = parse_header(&journal) else {
            return Err(corrupt(
                0,
                "the file does not start with an a2i-local journal header".to_owned(),
            ));
        };
        if journal_epoch > epoch {
            return Err(corrupt(
                8,
                format!(
                    "the journal continues snapshot epoch {journal_epoch}, but the snapshot {} \
                     is of epoch {epoch} (is the snapshot missing or replaced?)",
                    paths.snapshot.display()
                ),
            ));
        }
        if journal_epoch == epoch {
            let replay = replay(&journal, &mut table).map_err(|(o, r)| corrupt(o, r))?;
            loaded.replayed = replay.changes;
            if let Some(torn_at) = replay.torn_at {
                loaded.torn_bytes = (journal.len() - torn_at) as u64;
                tracing::warn!(
                    path = %paths.journal.display(),
                    offset = torn_at,
                    bytes = loaded.torn_bytes,
                    "ignoring a torn last journal record (the server stopped while writing it; it was never acknowledged)"
                );
            }
        } else {
            // A crash after a compaction's snapshot and before its new journal: every change
            // of this journal is in the snapshot already.
            tracing::info!(path = %paths.journal.display(), journal_epoch, snapshot_epoch = epoch, "ignoring a journal older than the snapshot");
        }
    }
    loaded.table = table;
    Ok(loaded)
}

/// The epoch of a journal that starts with a valid header.
fn parse_header(bytes: &[u8]) -> Option<u64> {
    let header = bytes.get(..JOURNAL_HEADER_LEN)?;
    if &header[..8] != JOURNAL_MAGIC {
        return None;
    }
    let epoch: [u8; 8] = header[8..].try_into().ok()?;
    Some(u64::from_le_bytes(epoch))
}

fn header(epoch: u64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(JOURNAL_HEADER_LEN);
    bytes.extend_from_slice(JOURNAL_MAGIC);
    bytes.extend_from_slice(&epoch.to_le_bytes());
    bytes
}

/// Frames one payload: length, checksum, payload.
fn frame(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_le_bytes();
    let mut out = Vec::with_capacity(FRAME_HEADER_LEN + payload.len());
    out.extend_from_slice(&len);
    out.extend_from_slice(&checksum(&len, payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

fn checksum(len: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(len);
    hasher.update(payload);
    hasher.finalize()
}

/// What a replay did.
struct Replay {
    changes: usize,
    /// Where an ignored torn last record starts.
    torn_at: Option<usize>,
}

/// Applies every frame after the header to `table`. A bad frame is a torn tail when it
/// cannot be complete (it runs past the end of the file) or when nothing but zero bytes
/// follows it; otherwise it is corruption, reported with its offset.
fn replay(journal: &[u8], table: &mut Table) -> Result<Replay, (usize, String)> {
    let mut offset = JOURNAL_HEADER_LEN;
    let mut changes = 0;
    let zeros = |bytes: &[u8]| bytes.iter().all(|b| *b == 0);
    while offset < journal.len() {
        let torn = Ok(Replay {
            changes,
            torn_at: Some(offset),
        });
        let rest = &journal[offset..];
        let Some((len_bytes, rest_after_len)) = rest.split_first_chunk::<4>() else {
            return torn;
        };
        let Some((crc_bytes, body)) = rest_after_len.split_first_chunk::<4>() else {
            return torn;
        };
        let len = u32::from_le_bytes(*len_bytes) as usize;
        if len == 0 || len > MAX_PAYLOAD_LEN {
            if zeros(rest) {
                return torn;
            }
            return Err((
                offset,
                format!("record length {len} is outside 1..={MAX_PAYLOAD_LEN}"),
            ));
        }
        let Some(payload) = body.get(..len) else {
            return torn;
        };
        if checksum(len_bytes, payload) != u32::from_le_bytes(*crc_bytes) {
            if zeros(&body[len..]) {
                return torn;
            }
            return Err((
                offset,
                format!("record of {len} bytes fails its checksum and is not the last record"),
            ));
        }
        let change: Change = serde_json::from_slice(payload)
            .map_err(|err| (offset, format!("record does not decode: {err}")))?;
        table.apply(change).map_err(|reason| (offset, reason))?;
        changes += 1;
        offset += FRAME_HEADER_LEN + len;
    }
    Ok(Replay {
        changes,
        torn_at: None,
    })
}

/// Replaces `path` with `bytes` atomically and durably.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    // Make the rename itself durable; not every platform lets a directory be opened, and
    // the data is already safe in the file, so a failure here is not an error.
    if let Some(dir) = path.parent() {
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

/// How the journal behaves.
#[derive(Debug, Clone, Copy)]
pub struct JournalOptions {
    /// The journal size below which no compaction happens (see the module docs).
    pub compact_bytes: u64,
}

impl Default for JournalOptions {
    fn default() -> Self {
        Self {
            compact_bytes: DEFAULT_COMPACT_BYTES,
        }
    }
}

/// A frame on its way to the writer.
struct Append {
    ticket: u64,
    frame: Vec<u8>,
    done: oneshot::Sender<Result<(), String>>,
}

/// A change queued for the journal, to be awaited outside the table's lock.
#[derive(Debug)]
pub enum Durable {
    /// Durable when the writer says so.
    Record(oneshot::Receiver<Result<(), String>>),
    /// Durable when every change up to this ticket is.
    Upto(u64, watch::Receiver<u64>),
    /// Could not even be queued.
    Failed(String),
}

impl Durable {
    /// Waits until the change (or every change queued before the call) is durable.
    pub async fn wait(self) -> Result<(), String> {
        let stopped = || "the journal writer has stopped".to_owned();
        match self {
            Durable::Record(done) => done.await.map_err(|_| stopped())?,
            Durable::Upto(ticket, mut settled) => settled
                .wait_for(|done| *done >= ticket)
                .await
                .map(|_| ())
                .map_err(|_| stopped()),
            Durable::Failed(reason) => Err(reason),
        }
    }
}

/// The journal of a durable table: queues changes to its writer thread.
#[derive(Debug)]
pub struct Journal {
    #[cfg(test)]
    paths: Paths,
    sender: mpsc::Sender<Append>,
    last_ticket: AtomicU64,
    settled: watch::Receiver<u64>,
}

impl Journal {
    /// Compacts `table` (the state [`load`] found, after any fix-ups) into a fresh snapshot of
    /// epoch `epoch + 1` with an empty journal, then starts the writer thread. `table` is the
    /// table the caller changes; the writer locks it to compact.
    pub fn start(
        paths: Paths,
        epoch: u64,
        table: Arc<Mutex<Table>>,
        options: JournalOptions,
    ) -> Result<Self, OpenError> {
        let (sender, receiver) = mpsc::channel();
        let (settled_tx, settled) = watch::channel(0);
        let settlement = Arc::new(Settlement {
            order: Mutex::new((0, BTreeMap::new())),
            settled: settled_tx,
        });
        let (jobs, job_receiver) = mpsc::channel();
        let job_receiver = Arc::new(Mutex::new(job_receiver));
        let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut writer = Writer {
            paths: paths.clone(),
            table,
            receiver,
            settlement: Arc::clone(&settlement),
            jobs,
            next_job: 0,
            failed: Arc::clone(&failed),
            sync_files: None,
            file: None,
            epoch,
            journal_len: 0,
            snapshot_len: 0,
            compact_bytes: options.compact_bytes,
        };
        let snapshot = lock(&writer.table).clone();
        writer
            .rotate(&snapshot)
            .map_err(|(path, source)| OpenError::Write { path, source })?;
        let spawn_error = |source| OpenError::Write {
            path: paths.journal.clone(),
            source,
        };
        for index in 0..SYNC_THREADS {
            let syncer = Syncer {
                index,
                jobs: Arc::clone(&job_receiver),
                settlement: Arc::clone(&settlement),
                failed: Arc::clone(&failed),
                path: paths.journal.clone(),
            };
            std::thread::Builder::new()
                .name(format!("a2i-local-journal-sync-{index}"))
                .spawn(move || syncer.run())
                .map_err(spawn_error)?;
        }
        std::thread::Builder::new()
            .name("a2i-local-journal".to_owned())
            .spawn(move || writer.run())
            .map_err(spawn_error)?;
        Ok(Self {
            #[cfg(test)]
            paths,
            sender,
            last_ticket: AtomicU64::new(0),
            settled,
        })
    }

    /// The files (tests reopen them).
    #[cfg(test)]
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// Queues `change`. Call it under the lock that guarded applying the change, so that the
    /// journal holds changes in the order they were made; await the result outside it.
    pub fn append(&self, change: &Change) -> Durable {
        let payload = match serde_json::to_vec(change) {
            Ok(payload) if payload.len() <= MAX_PAYLOAD_LEN => payload,
            Ok(payload) => {
                return Durable::Failed(format!(
                "a change of {} bytes exceeds the journal's {MAX_PAYLOAD_LEN}-byte record limit",
                payload.len()
            ))
            }
            Err(err) => return Durable::Failed(format!("a change could not be encoded: {err}")),
        };
        let ticket = self.last_ticket.fetch_add(1, Ordering::SeqCst) + 1;
        let (done, receiver) = oneshot::channel();
        let append = Append {
            ticket,
            frame: frame(&payload),
            done,
        };
        match self.sender.send(append) {
            Ok(()) => Durable::Record(receiver),
            Err(_) => Durable::Failed("the journal writer has stopped".to_owned()),
        }
    }

    /// Durable once every change queued so far is (for calls that change nothing but must
    /// not answer before what they saw is durable). Call it under the table's lock too.
    pub fn barrier(&self) -> Durable {
        Durable::Upto(
            self.last_ticket.load(Ordering::SeqCst),
            self.settled.clone(),
        )
    }
}

fn lock(table: &Mutex<Table>) -> MutexGuard<'_, Table> {
    // Changes check first and then assign, so a panic elsewhere cannot leave the table
    // half-changed; a poisoned lock is still consistent.
    table
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The writer thread's state.
struct Writer {
    paths: Paths,
    table: Arc<Mutex<Table>>,
    receiver: mpsc::Receiver<Append>,
    settlement: Arc<Settlement>,
    /// Written batches on their way to the sync threads.
    jobs: mpsc::Sender<SyncJob>,
    /// The number of the next batch handed out (written or compacted), in ticket order.
    next_job: u64,
    /// Set by a sync thread whose sync failed: the next batch compacts.
    failed: Arc<std::sync::atomic::AtomicBool>,
    /// One handle on the current journal per sync thread (see [`Syncer`]).
    sync_files: Option<JournalFiles>,
    /// The open journal; `None` after a failed write, which makes the next batch compact
    /// (the snapshot then holds whatever the failed write left out).
    file: Option<File>,
    epoch: u64,
    journal_len: u64,
    snapshot_len: u64,
    compact_bytes: u64,
}

impl Writer {
    /// Group commit until every [`Journal`] handle is gone.
    fn run(mut self) {
        while let Ok(first) = self.receiver.recv() {
            let mut bytes = first.frame.len();
            let mut batch = vec![first];
            while bytes < MAX_BATCH_BYTES {
                match self.receiver.try_recv() {
                    Ok(next) => {
                        bytes += next.frame.len();
                        batch.push(next);
                    }
                    Err(_) => break,
                }
            }
            if self.failed.swap(false, Ordering::SeqCst) {
                self.file = None;
            }
            if self.file.is_none() {
                self.compact(batch);
                continue;
            }
            match self.write(&batch) {
                Ok(()) => self.hand_to_syncers(batch),
                Err(err) => self.settle(batch, Err(err)),
            }
            if self.file.is_some() && self.journal_len >= self.compact_bytes.max(self.snapshot_len)
            {
                self.compact(Vec::new());
            }
        }
    }

    /// Appends a batch with one write; a sync thread makes it durable.
    fn write(&mut self, batch: &[Append]) -> Result<(), String> {
        let Some(file) = self.file.as_mut() else {
            return Err("the journal is not open".to_owned());
        };
        let mut bytes = Vec::with_capacity(batch.iter().map(|a| a.frame.len()).sum());
        for append in batch {
            bytes.extend_from_slice(&append.frame);
        }
        match file.write_all(&bytes) {
            Ok(()) => {
                self.journal_len += bytes.len() as u64;
                Ok(())
            }
            Err(err) => {
                tracing::error!(path = %self.paths.journal.display(), error = %err, "journal write failed; the next change compacts");
                // Cut off what may have been written; if even that fails, the compaction
                // replaces the file anyway.
                let _ = file.set_len(self.journal_len);
                self.file = None;
                Err(format!("{}: {err}", self.paths.journal.display()))
            }
        }
    }

    /// Snapshots the table (with every change queued so far) and starts a new journal;
    /// `received` are changes taken from the queue but not written, which the snapshot holds.
    fn compact(&mut self, mut received: Vec<Append>) {
        let table = {
            let table = lock(&self.table);
            // Changes are queued under this lock, so after draining the queue here, the
            // table holds exactly the changes drained (and those written before).
            while let Ok(append) = self.receiver.try_recv() {
                received.push(append);
            }
            table.clone()
        };
        let outcome = self.rotate(&table).map_err(|(path, err)| {
            tracing::error!(path = %path.display(), error = %err, "journal compaction failed; the next change retries it");
            format!("{}: {err}", path.display())
        });
        self.settle(received, outcome);
    }

    /// Writes `table` as the snapshot of the next epoch, then an empty journal of that epoch.
    fn rotate(&mut self, table: &Table) -> Result<(), (PathBuf, std::io::Error)> {
        let epoch = self.epoch + 1;
        let snapshot = serde_json::to_vec(&SnapshotOut {
            version: SNAPSHOT_VERSION,
            journal_epoch: epoch,
            next_seq: table.next_seq,
            loops: &table.loops,
        })
        .map_err(|err| (self.paths.snapshot.clone(), std::io::Error::other(err)))?;
        self.file = None;
        write_atomically(&self.paths.snapshot, &snapshot)
            .map_err(|err| (self.paths.snapshot.clone(), err))?;
        self.epoch = epoch;
        self.snapshot_len = snapshot.len() as u64;
        let journal = &self.paths.journal;
        write_atomically(journal, &header(epoch)).map_err(|err| (journal.clone(), err))?;
        let file = OpenOptions::new()
            .append(true)
            .open(journal)
            .map_err(|err| (journal.clone(), err))?;
        let sync_files = (0..SYNC_THREADS)
            .map(|_| OpenOptions::new().append(true).open(journal))
            .collect::<Result<Vec<File>, _>>()
            .map_err(|err| (journal.clone(), err))?;
        self.sync_files = Some(Arc::new(sync_files));
        self.file = Some(file);
        self.journal_len = JOURNAL_HEADER_LEN as u64;
        tracing::debug!(
            epoch,
            snapshot_bytes = self.snapshot_len,
            loops = table.loops.len(),
            "loop journal compacted"
        );
        Ok(())
    }

    /// Gives a written batch to the sync threads.
    fn hand_to_syncers(&mut self, batch: Vec<Append>) {
        let Some(files) = self.sync_files.clone() else {
            self.settle(batch, Err("the journal is not open".to_owned()));
            return;
        };
        let job = SyncJob {
            id: self.next_job,
            files,
            batch,
        };
        self.next_job += 1;
        if let Err(mpsc::SendError(job)) = self.jobs.send(job) {
            answer(
                job.batch,
                Err("the journal sync threads have stopped".to_owned()),
            );
            self.settlement.complete(job.id, None);
        }
    }

    /// Answers every caller of `batch` (known outcome) and moves the settled mark past it.
    fn settle(&mut self, batch: Vec<Append>, outcome: Result<(), String>) {
        if batch.is_empty() {
            return;
        }
        let last = batch.last().map(|a| a.ticket);
        answer(batch, outcome);
        let id = self.next_job;
        self.next_job += 1;
        self.settlement.complete(id, last);
    }
}

/// Answers every caller of `batch`.
fn answer(batch: Vec<Append>, outcome: Result<(), String>) {
    for append in batch {
        // A caller that went away (its request was cancelled) needs no answer.
        let _ = append.done.send(outcome.clone());
    }
}

/// Moves the settled mark (what barriers wait for) in batch order, although sync threads
/// finish batches out of order.
struct Settlement {
    /// The next batch number to settle, and batches finished ahead of it with their last
    /// ticket.
    order: Mutex<(u64, BTreeMap<u64, Option<u64>>)>,
    settled: watch::Sender<u64>,
}

impl Settlement {
    fn complete(&self, id: u64, last_ticket: Option<u64>) {
        let mut order = self.order.lock().unwrap_or_else(|p| p.into_inner());
        order.1.insert(id, last_ticket);
        let mut highest = None;
        loop {
            let next = order.0;
            let Some(last) = order.1.remove(&next) else {
                break;
            };
            order.0 += 1;
            highest = last.or(highest);
        }
        if let Some(highest) = highest {
            self.settled.send_if_modified(|settled| {
                let moved = highest > *settled;
                *settled = (*settled).max(highest);
                moved
            });
        }
    }
}

/// One handle on a journal per sync thread.
type JournalFiles = Arc<Vec<File>>;

/// A written batch to make durable.
struct SyncJob {
    id: u64,
    files: JournalFiles,
    batch: Vec<Append>,
}

/// A sync thread. Each syncs through its own handle on the journal (its own open file
/// description), so a write-back error is reported to every sync that covers it, not only to
/// the first one that asks.
struct Syncer {
    index: usize,
    jobs: Arc<Mutex<mpsc::Receiver<SyncJob>>>,
    settlement: Arc<Settlement>,
    failed: Arc<std::sync::atomic::AtomicBool>,
    path: PathBuf,
}

impl Syncer {
    fn run(self) {
        loop {
            // Take every job waiting: one sync covers them all, since each was written
            // before the sync starts.
            let jobs = {
                let receiver = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
                let Ok(first) = receiver.recv() else {
                    return;
                };
                let mut jobs = vec![first];
                while let Ok(next) = receiver.try_recv() {
                    jobs.push(next);
                }
                jobs
            };
            // Jobs of an older journal (before a compaction) are synced through their own
            // files; the snapshot holds their changes anyway.
            let mut outcomes: Vec<(JournalFiles, Result<(), String>)> = Vec::new();
            for job in &jobs {
                if outcomes
                    .iter()
                    .any(|(files, _)| Arc::ptr_eq(files, &job.files))
                {
                    continue;
                }
                let outcome = match job.files.get(self.index) {
                    Some(file) => file.sync_data().map_err(|err| {
                        tracing::error!(path = %self.path.display(), error = %err, "journal sync failed; the next change compacts");
                        self.failed.store(true, Ordering::SeqCst);
                        format!("{}: {err}", self.path.display())
                    }),
                    None => Err("the journal has no handle for this sync thread".to_owned()),
                };
                outcomes.push((Arc::clone(&job.files), outcome));
            }
            for job in jobs {
                let outcome = outcomes
                    .iter()
                    .find(|(files, _)| Arc::ptr_eq(files, &job.files))
                    .map(|(_, outcome)| outcome.clone())
                    .unwrap_or_else(|| Err("the journal batch was not synced".to_owned()));
                let last = job.batch.last().map(|a| a.ticket);
                answer(job.batch, outcome);
                self.settlement.complete(job.id, last);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loops::record::now_ms;

    fn record(seq: u64, name: &str) -> LoopRecord {
        let now = now_ms();
        LoopRecord {
            seq,
            name: name.to_owned(),
            arn: format!("arn:aws:sagemaker:us-east-1:111122223333:human-loop/{name}"),
            flow_definition_arn: "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/fd"
                .to_owned(),
            input_content: format!(r#"{{"n":{seq}}}"#),
            content_classifiers: None,
            creation_time: now,
            status: LoopStatus::InProgress,
            status_time: now,
            failure_code: None,
            failure_reason: None,
            output_s3_uri: None,
            deleted: false,
            event_pending: false,
            policy: Default::default(),
            answers: Vec::new(),
        }
    }

    /// A table and its journal in a temp dir, changed the way the store changes it.
    struct Harness {
        dir: tempfile::TempDir,
        table: Arc<Mutex<Table>>,
        journal: Journal,
    }

    impl Harness {
        fn open(dir: tempfile::TempDir, compact_bytes: u64) -> Self {
            let paths = Paths::new(dir.path().join("state.json"));
            let loaded = load(&paths).unwrap();
            let table = Arc::new(Mutex::new(loaded.table));
            let journal = Journal::start(
                paths,
                loaded.epoch,
                Arc::clone(&table),
                JournalOptions { compact_bytes },
            )
            .unwrap();
            Self {
                dir,
                table,
                journal,
            }
        }

        fn new(compact_bytes: u64) -> Self {
            Self::open(tempfile::tempdir().unwrap(), compact_bytes)
        }

        async fn change(&self, change: Change) {
            let durable = {
                let mut table = lock(&self.table);
                table.apply(change.clone()).unwrap();
                self.journal.append(&change)
            };
            durable.wait().await.unwrap();
        }

        fn table(&self) -> Table {
            lock(&self.table).clone()
        }

        fn paths(&self) -> Paths {
            self.journal.paths().clone()
        }

        /// Closes the journal (its writer thread ends) and keeps the directory.
        fn close(self) -> tempfile::TempDir {
            self.dir
        }
    }

    /// Every kind of change, on `loops` loops.
    async fn exercise(h: &Harness, loops: u64) {
        for seq in 0..loops {
            let name = format!("loop-{seq}");
            h.change(Change::Created {
                record: Box::new(record(seq, &name)),
            })
            .await;
            if seq % 2 == 0 {
                let mut r = record(seq, &name);
                r.status = LoopStatus::Stopped;
                r.event_pending = true;
                h.change(Change::status_of(&r)).await;
                if seq % 4 == 0 {
                    h.change(Change::Deleted { name: name.clone() }).await;
                } else {
                    h.change(Change::EventDelivered { name }).await;
                }
            } else if seq % 3 == 0 {
                let mut r = record(seq, &name);
                r.status = LoopStatus::Failed;
                r.failure_code = Some(FailureCode::Expired);
                r.failure_reason = Some("expired".to_owned());
                r.event_pending = true;
                h.change(Change::status_of(&r)).await;
            }
        }
    }

    #[tokio::test]
    async fn appended_changes_replay_to_the_same_table() {
        let h = Harness::new(u64::MAX);
        exercise(&h, 20).await;
        let expected = h.table();
        assert_eq!(expected.next_seq, 20);
        assert!(expected.loops["loop-0"].deleted);
        assert!(expected.loops["loop-0"].input_content.is_empty());
        assert!(!expected.loops["loop-2"].event_pending);
        assert!(expected.loops["loop-3"].event_pending);
        let paths = h.paths();
        drop(h.journal);
        let loaded = load(&paths).unwrap();
        assert!(loaded.replayed > 20, "the changes came from the journal");
        assert_eq!(loaded.torn_bytes, 0);
        assert_eq!(loaded.table, expected);
    }

    #[tokio::test]
    async fn compaction_keeps_the_table_identical() {
        // Compacting after every batch and never compacting give the same table.
        let compacting = Harness::new(1);
        let appending = Harness::new(u64::MAX);
        exercise(&compacting, 30).await;
        exercise(&appending, 30).await;
        let (a, b) = (compacting.paths(), appending.paths());
        let compacted = load(&a).unwrap();
        let appended = load(&b).unwrap();
        let strip = |mut t: Table| {
            // Creation times differ between the two runs; everything else must match.
            for r in t.loops.values_mut() {
                r.creation_time = chrono::DateTime::UNIX_EPOCH;
                r.status_time = chrono::DateTime::UNIX_EPOCH;
            }
            t
        };
        assert_eq!(compacted.table, compacting.table());
        assert_eq!(strip(compacted.table.clone()), strip(appended.table));
        assert!(compacted.epoch >= 3, "compacted several times");
        // A journal as large as the snapshot is compacted at once.
        assert!(
            std::fs::metadata(&a.journal).unwrap().len()
                < std::fs::metadata(&a.snapshot).unwrap().len()
        );
    }

    #[tokio::test]
    async fn a_restart_continues_the_same_files() {
        let h = Harness::new(u64::MAX);
        exercise(&h, 6).await;
        let dir = h.close();
        let h = Harness::open(dir, u64::MAX);
        h.change(Change::Created {
            record: Box::new(record(6, "after")),
        })
        .await;
        let expected = h.table();
        let paths = h.paths();
        drop(h.journal);
        let loaded = load(&paths).unwrap();
        assert_eq!(loaded.table, expected);
        assert_eq!(loaded.table.loops.len(), 7);
        assert_eq!(loaded.table.next_seq, 7);
    }

    async fn journal_with_two_loops() -> (tempfile::TempDir, Paths, Table) {
        let h = Harness::new(u64::MAX);
        h.change(Change::Created {
            record: Box::new(record(0, "first")),
        })
        .await;
        let after_first = h.table();
        h.change(Change::Created {
            record: Box::new(record(1, "second")),
        })
        .await;
        let paths = h.paths();
        drop(h.journal);
        (h.dir, paths, after_first)
    }

    fn last_frame_offset(journal: &[u8]) -> usize {
        let first_len = u32::from_le_bytes(journal[16..20].try_into().unwrap()) as usize;
        JOURNAL_HEADER_LEN + FRAME_HEADER_LEN + first_len
    }

    #[tokio::test]
    async fn a_torn_last_record_is_ignored() {
        let (_dir, paths, after_first) = journal_with_two_loops().await;
        let full = std::fs::read(&paths.journal).unwrap();
        let second = last_frame_offset(&full);
        // Cut anywhere inside the last record: in its header, in its payload, one byte short.
        for cut in [second + 3, second + 8, second + 20, full.len() - 1] {
            std::fs::write(&paths.journal, &full[..cut]).unwrap();
            let loaded = load(&paths).unwrap();
            assert_eq!(loaded.table, after_first, "cut at {cut}");
            assert_eq!(loaded.torn_bytes, (cut - second) as u64);
        }
        // Complete but with a flipped payload byte: fails its checksum, and is last.
        let mut flipped = full.clone();
        *flipped.last_mut().unwrap() ^= 0x20;
        std::fs::write(&paths.journal, &flipped).unwrap();
        assert_eq!(load(&paths).unwrap().table, after_first);
        // A tail of zeros, as a file system may leave after a crash.
        let mut zeros = full.clone();
        zeros.extend_from_slice(&[0; 100]);
        std::fs::write(&paths.journal, &zeros).unwrap();
        let loaded = load(&paths).unwrap();
        assert_eq!(loaded.table.loops.len(), 2);
        assert_eq!(loaded.torn_bytes, 100);
    }

    #[tokio::test]
    async fn a_start_after_a_torn_record_appends_cleanly() {
        let (dir, paths, after_first) = journal_with_two_loops().await;
        let full = std::fs::read(&paths.journal).unwrap();
        std::fs::write(&paths.journal, &full[..full.len() - 2]).unwrap();
        let h = Harness::open(dir, u64::MAX);
        assert_eq!(h.table(), after_first);
        h.change(Change::Created {
            record: Box::new(record(1, "second")),
        })
        .await;
        let expected = h.table();
        drop(h.journal);
        let loaded = load(&paths).unwrap();
        assert_eq!(loaded.torn_bytes, 0);
        assert_eq!(loaded.table, expected);
    }

    #[tokio::test]
    async fn a_bad_record_before_the_last_is_an_error_naming_file_and_offset() {
        let (_dir, paths, _) = journal_with_two_loops().await;
        let mut bytes = std::fs::read(&paths.journal).unwrap();
        // Flip a payload byte of the first record; the second follows it.
        bytes[JOURNAL_HEADER_LEN + FRAME_HEADER_LEN + 5] ^= 0x01;
        std::fs::write(&paths.journal, &bytes).unwrap();
        let err = load(&paths).unwrap_err();
        assert!(
            matches!(&err, OpenError::Corrupt { offset: 16, path, .. } if *path == paths.journal),
            "{err}"
        );
        let message = err.to_string();
        assert!(message.contains("state.journal"), "{message}");
        assert!(message.contains("offset 16"), "{message}");
    }

    #[tokio::test]
    async fn an_impossible_length_before_more_data_is_an_error() {
        let (_dir, paths, _) = journal_with_two_loops().await;
        let mut bytes = std::fs::read(&paths.journal).unwrap();
        bytes[JOURNAL_HEADER_LEN..JOURNAL_HEADER_LEN + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&paths.journal, &bytes).unwrap();
        assert!(matches!(
            load(&paths),
            Err(OpenError::Corrupt { offset: 16, .. })
        ));
    }

    #[tokio::test]
    async fn a_valid_record_for_an_unknown_loop_is_an_error() {
        let (_dir, paths, _) = journal_with_two_loops().await;
        let mut bytes = std::fs::read(&paths.journal).unwrap();
        let extra = frame(
            &serde_json::to_vec(&Change::EventDelivered {
                name: "ghost".to_owned(),
            })
            .unwrap(),
        );
        let offset = bytes.len();
        bytes.extend_from_slice(&extra);
        std::fs::write(&paths.journal, &bytes).unwrap();
        let err = load(&paths).unwrap_err();
        assert!(
            matches!(&err, OpenError::Corrupt { offset: o, reason, .. } if *o == offset as u64 && reason.contains("ghost")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_bad_header_is_an_error() {
        let (_dir, paths, _) = journal_with_two_loops().await;
        std::fs::write(&paths.journal, b"not a journal at all").unwrap();
        assert!(matches!(
            load(&paths),
            Err(OpenError::Corrupt { offset: 0, .. })
        ));
        std::fs::write(&paths.journal, b"").unwrap();
        assert!(matches!(
            load(&paths),
            Err(OpenError::Corrupt { offset: 0, .. })
        ));
    }

    #[tokio::test]
    async fn a_journal_older_than_the_snapshot_is_ignored_and_a_newer_one_refused() {
        let (_dir, paths, _) = journal_with_two_loops().await;
        let journal = std::fs::read(&paths.journal).unwrap();
        let epoch = parse_header(&journal).unwrap();
        // A crash between a compaction's two renames: the snapshot is of the next epoch
        // and already holds everything; the old journal must not be replayed onto it.
        let snapshot = serde_json::to_vec(&SnapshotOut {
            version: SNAPSHOT_VERSION,
            journal_epoch: epoch + 1,
            next_seq: 0,
            loops: &BTreeMap::new(),
        })
        .unwrap();
        std::fs::write(&paths.snapshot, &snapshot).unwrap();
        let loaded = load(&paths).unwrap();
        assert!(loaded.table.loops.is_empty());
        assert_eq!(loaded.replayed, 0);
        // The snapshot gone: the journal has nothing to continue.
        std::fs::remove_file(&paths.snapshot).unwrap();
        assert!(matches!(
            load(&paths),
            Err(OpenError::Corrupt { offset: 8, .. })
        ));
    }

    #[test]
    fn a_snapshot_written_before_the_journal_existed_loads() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path().join("state.json"));
        let old = record(4, "old");
        let v1 = serde_json::json!({"version": 1, "nextSeq": 5, "loops": {"old": old}});
        std::fs::write(&paths.snapshot, serde_json::to_vec(&v1).unwrap()).unwrap();
        let loaded = load(&paths).unwrap();
        assert_eq!(loaded.epoch, 0);
        assert_eq!(loaded.table.next_seq, 5);
        assert_eq!(loaded.table.loops["old"], old);
    }

    #[tokio::test]
    async fn concurrent_changes_are_all_durable() {
        let h = Arc::new(Harness::new(u64::MAX));
        let tasks: Vec<_> = (0..200u64)
            .map(|seq| {
                let h = Arc::clone(&h);
                tokio::spawn(async move {
                    h.change(Change::Created {
                        record: Box::new(record(seq, &format!("c-{seq}"))),
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let expected = h.table();
        let paths = h.paths();
        let loaded = load(&paths).unwrap();
        assert_eq!(loaded.table, expected);
        assert_eq!(loaded.table.loops.len(), 200);
    }

    #[test]
    fn the_settled_mark_moves_in_batch_order_whatever_order_syncs_finish_in() {
        let (settled, observed) = watch::channel(0);
        let settlement = Settlement {
            order: Mutex::new((0, BTreeMap::new())),
            settled,
        };
        settlement.complete(1, Some(20));
        assert_eq!(*observed.borrow(), 0, "batch 0 is still syncing");
        settlement.complete(2, None);
        assert_eq!(*observed.borrow(), 0);
        settlement.complete(0, Some(10));
        assert_eq!(*observed.borrow(), 20, "0, 1 and 2 are all done");
        settlement.complete(3, Some(25));
        assert_eq!(*observed.borrow(), 25);
    }

    #[tokio::test]
    async fn a_barrier_waits_for_changes_queued_before_it() {
        let h = Harness::new(u64::MAX);
        let (durable, barrier) = {
            let mut table = lock(&h.table);
            let change = Change::Created {
                record: Box::new(record(0, "a")),
            };
            table.apply(change.clone()).unwrap();
            (h.journal.append(&change), h.journal.barrier())
        };
        barrier.wait().await.unwrap();
        // Once the barrier passed, the change before it is on disk.
        let loaded = load(&h.paths()).unwrap();
        assert!(loaded.table.loops.contains_key("a"));
        durable.wait().await.unwrap();
    }
}
