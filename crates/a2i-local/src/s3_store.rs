//! The embedded S3's storage: object bodies as immutable files named by random ids, and the
//! index (buckets, versions, current objects, multipart uploads) in a redb database.
//!
//! Layout under the S3 directory:
//! - `index.redb`: the index;
//! - `objects/<id>`: one file per stored body, never rewritten (a new write is a new file);
//! - `tmp/<id>`: bodies being received, renamed into `objects/` once complete and synced;
//! - `uploads/<upload id>/<part number>`: parts of multipart uploads in progress.
//!
//! A key never becomes a file name, so its length and characters do not matter to the file
//! system. A write is visible only once its index transaction commits, after its body is on
//! disk; a reader that looked a version up keeps its body file open, so it reads the old or
//! the new body, never a mix. Files no committed version refers to are removed at start.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

/// Buckets by name.
const BUCKETS: TableDefinition<&str, &[u8]> = TableDefinition::new("buckets");
/// The current (latest, not a delete marker) version of each object, by `bucket \0 key`.
const CURRENT: TableDefinition<&[u8], &[u8]> = TableDefinition::new("current");
/// Every version, by `bucket \0 escaped key \0 \x01 (u64::MAX - seq)`: keys in S3 order, the
/// newest version of a key first.
const VERSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("versions");
/// Multipart uploads in progress, by upload id.
const UPLOADS: TableDefinition<&str, &[u8]> = TableDefinition::new("uploads");
/// Uploaded parts, by `upload id \0 part number (big-endian)`.
const PARTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("parts");
/// Counters.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// What the storage refuses, in S3's terms.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// The bucket does not exist.
    #[error("the bucket does not exist")]
    NoSuchBucket,
    /// No current version under the key.
    #[error("the key does not exist")]
    NoSuchKey,
    /// The key's newest version is a delete marker (S3 says so in the 404's headers).
    #[error("the key does not exist (its newest version is a delete marker)")]
    Deleted {
        /// The delete marker's version id.
        marker: String,
    },
    /// No version with that id.
    #[error("the version does not exist")]
    NoSuchVersion,
    /// The version asked for is a delete marker.
    #[error("the version is a delete marker")]
    DeleteMarker,
    /// CreateBucket of an existing bucket.
    #[error("the bucket already exists")]
    BucketExists,
    /// DeleteBucket of a bucket holding versions or uploads.
    #[error("the bucket is not empty")]
    BucketNotEmpty,
    /// A conditional write's condition does not hold.
    #[error("{0}")]
    PreconditionFailed(&'static str),
    /// The multipart upload does not exist (anymore).
    #[error("the multipart upload does not exist")]
    NoSuchUpload,
    /// A part named at completion is missing or has another ETag.
    #[error("part {0} was not uploaded or has another ETag")]
    InvalidPart(i32),
    /// Parts at completion are not in ascending order.
    #[error("the parts are not in ascending order")]
    InvalidPartOrder,
    /// A part other than the last is under 5 MiB.
    #[error("part {0} is smaller than the 5 MiB minimum")]
    EntityTooSmall(i32),
    /// The index or a file failed.
    #[error("{0}")]
    Internal(String),
}

impl StoreError {
    fn internal(what: &str, err: impl std::fmt::Display) -> Self {
        Self::Internal(format!("{what}: {err}"))
    }
}

macro_rules! db {
    ($what:literal, $e:expr) => {
        $e.map_err(|err| StoreError::internal($what, err))
    };
}

/// A bucket's versioning state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Versioning {
    /// Never enabled: one `null` version per key.
    Unversioned,
    /// Every write is a new version with its own id.
    Enabled,
    /// Writes replace the `null` version; older versions stay.
    Suspended,
}

/// A bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BucketRecord {
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
    /// Versioning state.
    pub versioning: Versioning,
}

/// The headers stored with an object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Attributes {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `x-amz-meta-*`, names lower-case.
    pub metadata: BTreeMap<String, String>,
}

/// One version of an object (or a delete marker).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Version {
    /// The object key, exactly as written.
    pub key: String,
    /// `null` outside versioning.
    pub version_id: String,
    /// Global write order.
    pub seq: u64,
    /// Whether this version is a delete marker.
    pub delete_marker: bool,
    /// The body file id (none for delete markers).
    pub content: Option<String>,
    /// Body size in bytes.
    pub size: u64,
    /// Unquoted.
    pub etag: String,
    /// Write time, Unix milliseconds.
    pub last_modified_ms: i64,
    /// Stored headers and user metadata.
    pub attrs: Attributes,
}

/// A body staged in `objects/`, not yet in the index.
#[derive(Debug, Clone)]
pub(crate) struct StagedBody {
    /// The body file id under `objects/`.
    pub content: String,
    /// Body size in bytes.
    pub size: u64,
    /// The ETag to store (unquoted).
    pub etag: String,
}

/// The precondition of a write on the key's current version.
#[derive(Debug, Clone, Default)]
pub(crate) struct WriteCondition {
    /// `If-None-Match: *`: the key must have no current version.
    pub if_none_match_any: bool,
    /// `If-Match`: the current version must exist and (unless `*`) have this ETag.
    pub if_match: Option<Option<String>>,
}

impl WriteCondition {
    /// Checks the condition against the key's current version. A missing object under
    /// `If-Match` is S3's 404 `NoSuchKey`; the rest is 412.
    pub fn check(&self, current: Option<&Version>) -> Result<(), StoreError> {
        if self.if_none_match_any && current.is_some() {
            return Err(StoreError::PreconditionFailed(
                "At least one of the pre-conditions you specified did not hold (If-None-Match: * on an existing key)",
            ));
        }
        if let Some(expected) = &self.if_match {
            let Some(current) = current else {
                return Err(StoreError::NoSuchKey);
            };
            if expected.as_deref().is_some_and(|e| e != current.etag) {
                return Err(StoreError::PreconditionFailed(
                    "At least one of the pre-conditions you specified did not hold (If-Match)",
                ));
            }
        }
        Ok(())
    }
}

/// An upload in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UploadRecord {
    /// The bucket.
    pub bucket: String,
    /// The key the upload completes into.
    pub key: String,
    /// Start time, Unix milliseconds.
    pub initiated_ms: i64,
    /// Headers and metadata given at CreateMultipartUpload.
    pub attrs: Attributes,
}

/// An uploaded part.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PartRecord {
    /// 1 to 10,000.
    pub part_number: i32,
    /// Part size in bytes.
    pub size: u64,
    /// Unquoted MD5 hex.
    pub etag: String,
    /// Upload time, Unix milliseconds.
    pub last_modified_ms: i64,
}

/// What a delete did.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeleteOutcome {
    /// The version removed or the delete marker created.
    pub version_id: Option<String>,
    /// Whether that version is a delete marker.
    pub delete_marker: bool,
}

/// The storage.
#[derive(Debug)]
pub(crate) struct Store {
    root: PathBuf,
    db: Database,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn current_key(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(bucket.len() + 1 + key.len());
    k.extend_from_slice(bucket.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

fn bucket_prefix(bucket: &str) -> Vec<u8> {
    let mut k = bucket.as_bytes().to_vec();
    k.push(0);
    k
}

/// `\0` → `\0 \xFF`, so that the `\0 \x01` terminator sorts below any continuation and key
/// order is kept (`a` < `a\0b`).
fn escape_into(out: &mut Vec<u8>, key: &str) {
    for &b in key.as_bytes() {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
}

/// Where the versions of `key` start (before the sequence suffix).
fn versions_of(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = bucket_prefix(bucket);
    escape_into(&mut k, key);
    k.extend_from_slice(&[0, 1]);
    k
}

/// Where versions of keys at or after `from` start.
fn versions_from(bucket: &str, from: &str) -> Vec<u8> {
    let mut k = bucket_prefix(bucket);
    escape_into(&mut k, from);
    k
}

fn version_key(bucket: &str, key: &str, seq: u64) -> Vec<u8> {
    let mut k = versions_of(bucket, key);
    k.extend_from_slice(&(u64::MAX - seq).to_be_bytes());
    k
}

fn part_key(upload_id: &str, part: i32) -> Vec<u8> {
    let mut k = upload_id.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&part.to_be_bytes());
    k
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::internal("encoding a record", e))
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::internal("decoding a record", e))
}

/// A fresh random id for a body or an upload.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Store {
    /// Opens (or creates) the storage under `root`, removing leftovers of interrupted writes.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        for dir in ["objects", "tmp", "uploads"] {
            db!(
                "creating a directory",
                std::fs::create_dir_all(root.join(dir))
            )?;
        }
        let db = db!(
            "opening the index",
            Database::create(root.join("index.redb"))
        )?;
        {
            let tx = db!("starting a transaction", db.begin_write())?;
            db!("creating a table", tx.open_table(BUCKETS))?;
            db!("creating a table", tx.open_table(CURRENT))?;
            db!("creating a table", tx.open_table(VERSIONS))?;
            db!("creating a table", tx.open_table(UPLOADS))?;
            db!("creating a table", tx.open_table(PARTS))?;
            db!("creating a table", tx.open_table(META))?;
            db!("committing", tx.commit())?;
        }
        let store = Self {
            root: root.to_owned(),
            db,
        };
        store.remove_orphans()?;
        store.warn_about_the_old_layout();
        Ok(store)
    }

    /// Removes bodies no version refers to, unfinished temp files, and part directories of
    /// unknown uploads (left by a crash between a file operation and its commit).
    fn remove_orphans(&self) -> Result<(), StoreError> {
        let tx = db!("starting a read", self.db.begin_read())?;
        let versions = db!("opening versions", tx.open_table(VERSIONS))?;
        let mut referenced = HashSet::new();
        for entry in db!("scanning versions", versions.iter())? {
            let (_, v) = db!("scanning versions", entry)?;
            let version: Version = decode(v.value())?;
            if let Some(content) = version.content {
                referenced.insert(content);
            }
        }
        let uploads = db!("opening uploads", tx.open_table(UPLOADS))?;
        let mut live_uploads = HashSet::new();
        for entry in db!("scanning uploads", uploads.iter())? {
            let (k, _) = db!("scanning uploads", entry)?;
            live_uploads.insert(k.value().to_owned());
        }
        let mut removed = 0usize;
        let mut sweep = |dir: &str, keep: &dyn Fn(&str) -> bool| -> Result<(), StoreError> {
            let entries = db!(
                "listing a directory",
                std::fs::read_dir(self.root.join(dir))
            )?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if keep(&name) {
                    continue;
                }
                let path = entry.path();
                let result = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                if let Err(err) = result {
                    tracing::warn!(path = %path.display(), error = %err, "could not remove an orphaned S3 file");
                } else {
                    removed += 1;
                }
            }
            Ok(())
        };
        sweep("objects", &|name| referenced.contains(name))?;
        sweep("tmp", &|_| false)?;
        sweep("uploads", &|name| live_uploads.contains(name))?;
        if removed > 0 {
            tracing::info!(removed, "removed files of interrupted S3 writes");
        }
        Ok(())
    }

    /// Data directories written before this storage kept buckets as directories of files
    /// (s3s-fs); their objects are not served. Says so instead of hiding them silently.
    fn warn_about_the_old_layout(&self) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && !["objects", "tmp", "uploads"].contains(&name.as_str()) {
                tracing::warn!(
                    directory = %entry.path().display(),
                    "a bucket directory of the previous S3 layout is not served; upload its objects again (for example with `aws s3 sync`)"
                );
            }
        }
    }

    /// Where a body being received goes.
    pub fn tmp_path(&self, id: &str) -> PathBuf {
        self.root.join("tmp").join(id)
    }

    /// The body file of `content`.
    pub fn content_path(&self, content: &str) -> PathBuf {
        self.root.join("objects").join(content)
    }

    /// The directory of objects' bodies.
    pub fn objects_dir(&self) -> PathBuf {
        self.root.join("objects")
    }

    /// The directory holding an upload's parts.
    pub fn upload_dir(&self, upload_id: &str) -> PathBuf {
        self.root.join("uploads").join(upload_id)
    }

    fn remove_contents(&self, contents: &[String]) {
        for content in contents {
            let path = self.content_path(content);
            if let Err(err) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %err, "could not remove a replaced S3 body");
            }
        }
    }

    // ---- buckets ----

    /// Creates a bucket.
    pub fn create_bucket(&self, name: &str) -> Result<(), StoreError> {
        let tx = db!("starting a transaction", self.db.begin_write())?;
        {
            let mut buckets = db!("opening buckets", tx.open_table(BUCKETS))?;
            if db!("reading buckets", buckets.get(name))?.is_some() {
                return Err(StoreError::BucketExists);
            }
            let record = BucketRecord {
                created_ms: now_ms(),
                versioning: Versioning::Unversioned,
            };
            db!(
                "writing buckets",
                buckets.insert(name, encode(&record)?.as_slice())
            )?;
        }
        db!("committing", tx.commit())
    }

    /// The bucket's record.
    pub fn bucket(&self, name: &str) -> Result<BucketRecord, StoreError> {
        let tx = db!("starting a read", self.db.begin_read())?;
        let buckets = db!("opening buckets", tx.open_table(BUCKETS))?;
        let record = db!("reading buckets", buckets.get(name))?.ok_or(StoreError::NoSuchBucket)?;
        decode(record.value())
    }

    /// Every bucket, by name.
    pub fn buckets(&self) -> Result<Vec<(String, BucketRecord)>, StoreError> {
        let tx = db!("starting a read", self.db.begin_read())?;
        let buckets = db!("opening buckets", tx.open_table(BUCKETS))?;
        let mut out = Vec::new();
        for entry in db!("scanning buckets", buckets.iter())? {
            let (k, v) = db!("scanning buckets", entry)?;
            out.push((k.value().to_owned(), decode(v.value())?));
        }
        Ok(out)
    }

    /// Deletes an empty bucket (no versions, no uploads in progress).
    pub fn delete_bucket(&self, name: &str) -> Result<(), StoreError> {
        let tx = db!("starting a transaction", self.db.begin_write())?;
        {
            let mut buckets = db!("opening buckets", tx.open_table(BUCKETS))?;
            if db!("reading buckets", buckets.get(name))?.is_none() {
                return Err(StoreError::NoSuchBucket);
            }
            let versions = db!("opening versions", tx.open_table(VERSIONS))?;
            let prefix = bucket_prefix(name);
            let first = db!("scanning versions", versions.range(prefix.as_slice()..))?.next();
            if let Some(entry) = first {
                let (k, _) = db!("scanning versions", entry)?;
                if k.value().starts_with(&prefix) {
                    return Err(StoreError::BucketNotEmpty);
                }
            }
            let uploads = db!("opening uploads", tx.open_table(UPLOADS))?;
            for entry in db!("scanning uploads", uploads.iter())? {
                let (_, v) = db!("scanning uploads", entry)?;
                let upload: UploadRecord = decode(v.value())?;
                if upload.bucket == name {
                    return Err(StoreError::BucketNotEmpty);
                }
            }
            db!("writing buckets", buckets.remove(name))?;
        }
        db!("committing", tx.commit())
    }

    /// Sets the bucket's versioning to `Enabled` or `Suspended`.
    pub fn set_versioning(&self, name: &str, enabled: bool) -> Result<(), StoreError> {
        let tx = db!("starting a transaction", self.db.begin_write())?;
        {
            let mut buckets = db!("opening buckets", tx.open_table(BUCKETS))?;
            let mut record: BucketRecord = {
                let guard =
                    db!("reading buckets", buckets.get(name))?.ok_or(StoreError::NoSuchBucket)?;
                decode(guard.value())?
            };
            record.versioning = if enabled {
                Versioning::Enabled
            } else if record.versioning == Versioning::Unversioned {
                // Suspending a bucket that never had versioning changes nothing.
                Versioning::Unversioned
            } else {
                Versioning::Suspended
            };
            db!(
                "writing buckets",
                buckets.insert(name, encode(&record)?.as_slice())
            )?;
        }
        db!("committing", tx.commit())
    }

    // ---- objects ----

    /// The current version of `key`, or the version `version_id`, with the bucket's record.
    pub fn get(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<(Version, BucketRecord), StoreError> {
        let tx = db!("starting a read", self.db.begin_read())?;
        let buckets = db!("opening buckets", tx.open_table(BUCKETS))?;
        let record: BucketRecord = decode(
            db!("reading buckets", buckets.get(bucket))?
                .ok_or(StoreError::NoSuchBucket)?
                .value(),
        )?;
        let version = match version_id {
            None => {
                let current = db!("opening current", tx.open_table(CURRENT))?;
                let found = db!(
                    "reading current",
                    current.get(current_key(bucket, key).as_slice())
                )?;
                let Some(found) = found else {
                    let versions = db!("opening versions", tx.open_table(VERSIONS))?;
                    return Err(match newest_version(&versions, bucket, key)? {
                        Some(v) if v.delete_marker => StoreError::Deleted {
                            marker: v.version_id,
                        },
                        _ => StoreError::NoSuchKey,
                    });
                };
                decode(found.value())?
            }
            Some(id) => {
                let versions = db!("opening versions", tx.open_table(VERSIONS))?;
                let found = find_version(&versions, bucket, key, id)?
                    .ok_or(StoreError::NoSuchVersion)?
                    .1;
                if found.delete_marker {
                    return Err(StoreError::DeleteMarker);
                }
                found
            }
        };
        Ok((version, record))
    }

    /// Commits a staged body as the new version of `key` if `condition` holds; the body is
    /// removed when the commit does not happen. Returns the version and whether the bucket
    /// has versioning enabled.
    pub fn commit_put(
        &self,
        bucket: &str,
        key: &str,
        body: StagedBody,
        attrs: Attributes,
        condition: &WriteCondition,
    ) -> Result<(Version, Versioning), StoreError> {
        let content = body.content.clone();
        let result = self.commit_put_inner(bucket, key, body, attrs, condition);
        if result.is_err() {
            self.remove_contents(&[content]);
        }
        result
    }

    fn commit_put_inner(
        &self,
        bucket: &str,
        key: &str,
        body: StagedBody,
        attrs: Attributes,
        condition: &WriteCondition,
    ) -> Result<(Version, Versioning), StoreError> {
        let tx = db!("starting a transaction", self.db.begin_write())?;
        let (version, versioning, obsolete) = {
            let buckets = db!("opening buckets", tx.open_table(BUCKETS))?;
            let record: BucketRecord = decode(
                db!("reading buckets", buckets.get(bucket))?
                    .ok_or(StoreError::NoSuchBucket)?
                    .value(),
            )?;
            let mut current = db!("opening current", tx.open_table(CURRENT))?;
            let mut versions = db!("opening versions", tx.open_table(VERSIONS))?;
            let ckey = current_key(bucket, key);
            let existing: Option<Version> =
                match db!("reading current", current.get(ckey.as_slice()))? {
                    Some(v) => Some(decode(v.value())?),
                    None => None,
                };
            condition.check(existing.as_ref())?;
            let seq = next_seq(&tx)?;
            let version_id = match record.versioning {
                Versioning::Enabled => format!("{seq:016x}{}", &new_id()[..16]),
                Versioning::Unversioned | Versioning::Suspended => "null".to_owned(),
            };
            let mut obsolete = Vec::new();
            if version_id == "null" {
                if let Some((vkey, old)) = find_version(&versions, bucket, key, "null")? {
                    db!("writing versions", versions.remove(vkey.as_slice()))?;
                    obsolete.extend(old.content);
                }
            }
            let version = Version {
                key: key.to_owned(),
                version_id,
                seq,
                delete_marker: false,
                content: Some(body.content),
                size: body.size,
                etag: body.etag,
                last_modified_ms: now_ms(),
                attrs,
            };
            let bytes = encode(&version)?;
            db!(
                "writing versions",
                versions.insert(version_key(bucket, key, seq).as_slice(), bytes.as_slice())
            )?;
            db!(
                "writing current",
                current.insert(ckey.as_slice(), bytes.as_slice())
            )?;
            (version, record.versioning, obsolete)
        };
        db!("committing", tx.commit())?;
        self.remove_contents(&obsolete);
        Ok((version, versioning))
    }

    /// DeleteObject: without `version_id`, removes the object (unversioned) or adds a delete
    /// marker (versioned); with it, removes that version for good.
    pub fn delete(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<DeleteOutcome, StoreError> {
        let tx = db!("starting a transaction", self.db.begin_write())?;
        let (outcome, obsolete) = {
            let buckets = db!("opening buckets", tx.open_table(BUCKETS))?;
            let record: BucketRecord = decode(
                db!("reading buckets", buckets.get(bucket))?
                    .ok_or(StoreError::NoSuchBucket)?
                    .value(),
            )?;
            let mut current = db!("opening current", tx.open_table(CURRENT))?;
            let mut versions = db!("opening versions", tx.open_table(VERSIONS))?;
            let ckey = current_key(bucket, key);
            let mut obsolete = Vec::new();
            let outcome = match version_id {
                Some(id) => {
                    let Some((vkey, removed)) = find_version(&versions, bucket, key, id)? else {
                        // S3 answers 204 for a version that is not there.
                        return Ok(DeleteOutcome {
                            version_id: Some(id.to_owned()),
                            delete_marker: false,
                        });
                    };
                    db!("writing versions", versions.remove(vkey.as_slice()))?;
                    obsolete.extend(removed.content.clone());
                    // The newest remaining version becomes current (unless it is a marker).
                    let newest = newest_version(&versions, bucket, key)?;
                    match newest {
                        Some(v) if !v.delete_marker => {
                            db!(
                                "writing current",
                                current.insert(ckey.as_slice(), encode(&v)?.as_slice())
                            )?;
                        }
                        _ => {
                            db!("writing current", current.remove(ckey.as_slice()))?;
                        }
                    }
                    DeleteOutcome {
                        version_id: Some(removed.version_id),
                        delete_marker: removed.delete_marker,
                    }
                }
                None if record.versioning == Versioning::Unversioned => {
                    if let Some((vkey, removed)) = find_version(&versions, bucket, key, "null")? {
                        db!("writing versions", versions.remove(vkey.as_slice()))?;
                        obsolete.extend(removed.content);
                    }
                    db!("writing current", current.remove(ckey.as_slice()))?;
                    DeleteOutcome::default()
                }
                None => {
                    let seq = next_seq(&tx)?;
                    let version_id = if record.versioning == Versioning::Enabled {
                        format!("{seq:016x}{}", &new_id()[..16])
                    } else {
                        if let Some((vkey, removed)) = find_version(&versions, bucket, key, "null")?
                        {
                            db!("writing versions", versions.remove(vkey.as_slice()))?;
                            obsolete.extend(removed.content);
                        }
                        "null".to_owned()
                    };
                    let marker = Version {
                        key: key.to_owned(),
                        version_id: version_id.clone(),
                        seq,
                        delete_marker: true,
                        content: None,
                        size: 0,
                        etag: String::new(),
                        last_modified_ms: now_ms(),
                        attrs: Attributes::default(),
                    };
                    db!(
                        "writing versions",
                        versions.insert(
                            version_key(bucket, key, seq).as_slice(),
                            encode(&marker)?.as_slice()
                        )
                    )?;
                    db!("writing current", current.remove(ckey.as_slice()))?;
                    DeleteOutcome {
                        version_id: Some(version_id),
                        delete_marker: true,
                    }
                }
            };
            (outcome, obsolete)
        };
        db!("committing", tx.commit())?;
        self.remove_contents(&obsolete);
        Ok(outcome)
    }

    /// Visits the current objects of `bucket` whose keys start with `prefix`, in key order,
    /// from `from` (inclusive) on, until `visit` returns false.
    pub fn scan_current(
        &self,
        bucket: &str,
        prefix: &str,
        from: &str,
        mut visit: impl FnMut(Version) -> bool,
    ) -> Result<(), StoreError> {
        let tx = db!("starting a read", self.db.begin_read())?;
        let buckets = db!("opening buckets", tx.open_table(BUCKETS))?;
        if db!("reading buckets", buckets.get(bucket))?.is_none() {
            return Err(StoreError::NoSuchBucket);
        }
        let current = db!("opening current", tx.open_table(CURRENT))?;
        let start = current_key(bucket, if from > prefix { from } else { prefix });
        let wanted = current_key(bucket, prefix);
        for entry in db!("scanning current", current.range(start.as_slice()..))? {
            let (k, v) = db!("scanning current", entry)?;
            if !k.value().starts_with(&wanted) {
                break;
            }
            if !visit(decode(v.value())?) {
                break;
            }
        }
        Ok(())
    }

    /// Visits every version of `bucket` whose key starts with `prefix`, keys in order and
    /// the newest version of a key first, from the first version of `from` on.
    pub fn scan_versions(
        &self,
        bucket: &str,
        prefix: &str,
        from: &str,
        mut visit: impl FnMut(Version) -> bool,
    ) -> Result<(), StoreError> {
        let tx = db!("starting a read", self.db.begin_read())?;
        let buckets = db!("opening buckets", tx.open_table(BUCKETS))?;
        if db!("reading buckets", buckets.get(bucket))?.is_none() {
            return Err(StoreError::NoSuchBucket);
        }
        let versions = db!("opening versions", tx.open_table(VERSIONS))?;
        let start = versions_from(bucket, if from > prefix { from } else { prefix });
        let wanted = bucket_prefix(bucket);
        for entry in db!("scanning versions", versions.range(start.as_slice()..))? {
            let (k, v) = db!("scanning versions", entry)?;
            if !k.value().starts_with(&wanted) {
                break;
            }
            let version: Version = decode(v.value())?;
            if !version.key.starts_with(prefix) {
                if version.key.as_str() > prefix {
                    break;
                }
                continue;
            }
            if !visit(version) {
                break;
            }
        }
        Ok(())
    }

    // ---- multipart uploads ----

    /// Starts a multipart upload; returns its id.
    pub fn create_upload(
        &self,
        bucket: &str,
        key: &str,
        attrs: Attributes,
    ) -> Result<String, StoreError> {
        self.bucket(bucket)?;
        let upload_id = new_id();
        db!(
            "creating an upload directory",
            std::fs::create_dir_all(self.upload_dir(&upload_id))
        )?;
        let record = UploadRecord {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            initiated_ms: now_ms(),
            attrs,
        };
        let tx = db!("starting a transaction", self.db.begin_write())?;
        {
            let mut uploads = db!("opening uploads", tx.open_table(UPLOADS))?;
            db!(
                "writing uploads",
                uploads.insert(upload_id.as_str(), encode(&record)?.as_slice())
            )?;
        }
        db!("committing", tx.commit())?;
        Ok(upload_id)
    }

    /// The upload, checked to belong to `bucket`/`key`.
    pub fn upload(
        &self,
        upload_id: &str,
        bucket: &str,
        key: &str,
    ) -> Result<UploadRecord, StoreError> {
        let tx = db!("starting a read", self.db.begin_read())?;
        let uploads = db!("opening uploads", tx.open_table(UPLOADS))?;
        let record: UploadRecord = decode(
            db!("reading uploads", uploads.get(upload_id))?
                .ok_or(StoreError::NoSuchUpload)?
                .value(),
        )?;
        if record.bucket != bucket || record.key != key {
            return Err(StoreError::NoSuchUpload);
        }
        Ok(record)
    }

    /// Records a part whose body is already at its place in the upload's directory.
    pub fn commit_part(&self, upload_id: &str, part: &PartRecord) -> Result<(), StoreError> {
        let tx = db!("starting a transaction", self.db.begin_write())?;
        {
            let uploads = db!("opening uploads", tx.open_table(UPLOADS))?;
            if db!("reading uploads", uploads.get(upload_id))?.is_none() {
                return Err(StoreError::NoSuchUpload);
            }
            let mut parts = db!("opening parts", tx.open_table(PARTS))?;
            db!(
                "writing parts",
                parts.insert(
                    part_key(upload_id, part.part_number).as_slice(),
                    encode(part)?.as_slice()
                )
            )?;
        }
        db!("committing", tx.commit())
    }

    /// The parts of an upload, by part number.
    pub fn parts(&self, upload_id: &str) -> Result<Vec<PartRecord>, StoreError> {
        let tx = db!("starting a read", self.db.begin_read())?;
        let parts = db!("opening parts", tx.open_table(PARTS))?;
        let mut prefix = upload_id.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for entry in db!("scanning parts", parts.range(prefix.as_slice()..))? {
            let (k, v) = db!("scanning parts", entry)?;
            if !k.value().starts_with(&prefix) {
                break;
            }
            out.push(decode(v.value())?);
        }
        Ok(out)
    }

    /// Forgets an upload and removes its parts.
    pub fn remove_upload(&self, upload_id: &str) -> Result<(), StoreError> {
        let parts = self.parts(upload_id)?;
        let tx = db!("starting a transaction", self.db.begin_write())?;
        {
            let mut uploads = db!("opening uploads", tx.open_table(UPLOADS))?;
            if db!("writing uploads", uploads.remove(upload_id))?.is_none() {
                return Err(StoreError::NoSuchUpload);
            }
            let mut table = db!("opening parts", tx.open_table(PARTS))?;
            for part in parts {
                db!(
                    "writing parts",
                    table.remove(part_key(upload_id, part.part_number).as_slice())
                )?;
            }
        }
        db!("committing", tx.commit())?;
        let dir = self.upload_dir(upload_id);
        if let Err(err) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(path = %dir.display(), error = %err, "could not remove an upload's parts");
        }
        Ok(())
    }
}

fn next_seq(tx: &redb::WriteTransaction) -> Result<u64, StoreError> {
    let mut meta = db!("opening meta", tx.open_table(META))?;
    let seq = db!("reading meta", meta.get("seq"))?.map_or(0, |v| v.value()) + 1;
    db!("writing meta", meta.insert("seq", seq))?;
    Ok(seq)
}

fn find_version(
    versions: &impl ReadableTable<&'static [u8], &'static [u8]>,
    bucket: &str,
    key: &str,
    version_id: &str,
) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
    let prefix = versions_of(bucket, key);
    for entry in db!("scanning versions", versions.range(prefix.as_slice()..))? {
        let (k, v) = db!("scanning versions", entry)?;
        if !k.value().starts_with(&prefix) {
            break;
        }
        let version: Version = decode(v.value())?;
        if version.version_id == version_id {
            return Ok(Some((k.value().to_vec(), version)));
        }
    }
    Ok(None)
}

fn newest_version(
    versions: &impl ReadableTable<&'static [u8], &'static [u8]>,
    bucket: &str,
    key: &str,
) -> Result<Option<Version>, StoreError> {
    let prefix = versions_of(bucket, key);
    let first = db!("scanning versions", versions.range(prefix.as_slice()..))?.next();
    match first {
        Some(entry) => {
            let (k, v) = db!("scanning versions", entry)?;
            if k.value().starts_with(&prefix) {
                Ok(Some(decode(v.value())?))
            } else {
                Ok(None)
            }
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_keys_keep_s3_key_order_even_with_nul_bytes() {
        let a = version_key("b", "a", 1);
        let a_nul = version_key("b", "a\0b", 1);
        let a_1 = version_key("b", "a\u{1}", 1);
        assert!(a < a_nul && a_nul < a_1);
        // A key's versions sort newest first and stay inside the key's range.
        let newer = version_key("b", "a", 7);
        assert!(newer < a);
        assert!(newer.starts_with(&versions_of("b", "a")));
        assert!(!a_nul.starts_with(&versions_of("b", "a")));
    }

    fn stage(store: &Store, body: &[u8]) -> StagedBody {
        let content = new_id();
        std::fs::write(store.content_path(&content), body).unwrap();
        StagedBody {
            content,
            size: body.len() as u64,
            etag: format!("{:x}", body.len()),
        }
    }

    #[test]
    fn an_overwrite_removes_the_old_body_and_a_failed_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_bucket("b1").unwrap();
        let first = stage(&store, b"one");
        let first_content = first.content.clone();
        store
            .commit_put(
                "b1",
                "k",
                first,
                Attributes::default(),
                &WriteCondition::default(),
            )
            .unwrap();
        store
            .commit_put(
                "b1",
                "k",
                stage(&store, b"two!"),
                Attributes::default(),
                &WriteCondition::default(),
            )
            .unwrap();
        assert!(!store.content_path(&first_content).exists());
        let refused = stage(&store, b"three");
        let refused_content = refused.content.clone();
        let err = store
            .commit_put(
                "b1",
                "k",
                refused,
                Attributes::default(),
                &WriteCondition {
                    if_none_match_any: true,
                    if_match: None,
                },
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::PreconditionFailed(_)));
        assert!(!store.content_path(&refused_content).exists());
        assert_eq!(std::fs::read_dir(store.objects_dir()).unwrap().count(), 1);
        let (got, _) = store.get("b1", "k", None).unwrap();
        assert_eq!(got.size, 4);
    }

    #[test]
    fn orphaned_bodies_are_removed_at_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.create_bucket("b1").unwrap();
            let kept = stage(&store, b"kept");
            store
                .commit_put(
                    "b1",
                    "k",
                    kept,
                    Attributes::default(),
                    &WriteCondition::default(),
                )
                .unwrap();
            stage(&store, b"orphan");
            std::fs::write(store.tmp_path("half"), b"half").unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(store.objects_dir()).unwrap().count(), 1);
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        let (got, _) = store.get("b1", "k", None).unwrap();
        assert!(store.content_path(got.content.as_deref().unwrap()).exists());
    }

    #[test]
    fn versions_delete_markers_and_permanent_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_bucket("b1").unwrap();
        store.set_versioning("b1", true).unwrap();
        let none = WriteCondition::default();
        let (v1, _) = store
            .commit_put("b1", "k", stage(&store, b"1"), Attributes::default(), &none)
            .unwrap();
        let (v2, _) = store
            .commit_put(
                "b1",
                "k",
                stage(&store, b"22"),
                Attributes::default(),
                &none,
            )
            .unwrap();
        assert_ne!(v1.version_id, v2.version_id);
        assert_eq!(
            store.get("b1", "k", Some(&v1.version_id)).unwrap().0.size,
            1
        );
        let marker = store.delete("b1", "k", None).unwrap();
        assert!(marker.delete_marker);
        assert!(matches!(
            store.get("b1", "k", None),
            Err(StoreError::Deleted { marker: m }) if Some(m.as_str()) == marker.version_id.as_deref()
        ));
        // Removing the marker brings v2 back.
        store
            .delete("b1", "k", marker.version_id.as_deref())
            .unwrap();
        assert_eq!(
            store.get("b1", "k", None).unwrap().0.version_id,
            v2.version_id
        );
        let mut seen = Vec::new();
        store
            .scan_versions("b1", "", "", |v| {
                seen.push(v.version_id);
                true
            })
            .unwrap();
        assert_eq!(seen, [v2.version_id, v1.version_id]);
        assert!(matches!(
            store.delete_bucket("b1"),
            Err(StoreError::BucketNotEmpty)
        ));
    }
}
