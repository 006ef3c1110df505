//! The embedded S3's operations: s3s's `S3` trait over [`Store`] — buckets, versioning,
//! objects (conditional reads and writes, ranges, copies, deletes), listings and multipart
//! uploads. The protocol (routing, SigV4, XML, bucket-name and key-length checks) is s3s's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, S3};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::s3_conditions::{http_time, Precondition, ReadConditions};
use crate::s3_listing::{self, Entry, VersionMarker};
use crate::s3_store::{
    new_id, Attributes, PartRecord, StagedBody, Store, StoreError, Version, Versioning,
    WriteCondition,
};

/// The minimum size of every part but the last, as S3 enforces it.
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// S3's highest part number.
const MAX_PART_NUMBER: i32 = 10_000;

/// What an object write created, attached to the response's extensions so that the
/// notification layer describes exactly this write (and not a later one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReceipt {
    /// Object size in bytes.
    pub size: u64,
    /// ETag without quotes.
    pub e_tag: String,
    /// The version id, in a bucket with versioning enabled.
    pub version_id: Option<String>,
}

/// The S3 implementation.
#[derive(Debug, Clone)]
pub(crate) struct Backend {
    store: Arc<Store>,
}

fn store_error(err: StoreError) -> S3Error {
    match err {
        StoreError::NoSuchBucket => s3_error!(NoSuchBucket, "The specified bucket does not exist"),
        StoreError::NoSuchKey => s3_error!(NoSuchKey, "The specified key does not exist."),
        StoreError::Deleted { marker } => {
            let mut err = s3_error!(NoSuchKey, "The specified key does not exist.");
            let mut headers = hyper::HeaderMap::new();
            headers.insert(
                "x-amz-delete-marker",
                hyper::header::HeaderValue::from_static("true"),
            );
            if let Ok(value) = hyper::header::HeaderValue::from_str(&marker) {
                headers.insert("x-amz-version-id", value);
            }
            err.set_headers(headers);
            err
        }
        StoreError::NoSuchVersion => {
            s3_error!(NoSuchVersion, "The specified version does not exist.")
        }
        StoreError::DeleteMarker => s3_error!(
            MethodNotAllowed,
            "The specified method is not allowed against this resource (a delete marker)."
        ),
        StoreError::BucketExists => s3_error!(
            BucketAlreadyOwnedByYou,
            "Your previous request to create the named bucket succeeded and you already own it."
        ),
        StoreError::BucketNotEmpty => {
            s3_error!(
                BucketNotEmpty,
                "The bucket you tried to delete is not empty"
            )
        }
        StoreError::PreconditionFailed(message) => {
            S3Error::with_message(S3ErrorCode::PreconditionFailed, message)
        }
        StoreError::NoSuchUpload => s3_error!(
            NoSuchUpload,
            "The specified multipart upload does not exist."
        ),
        StoreError::InvalidPart(n) => S3Error::with_message(
            S3ErrorCode::InvalidPart,
            format!("Part {n} could not be found or its ETag does not match."),
        ),
        StoreError::InvalidPartOrder => s3_error!(
            InvalidPartOrder,
            "The list of parts was not in ascending order."
        ),
        StoreError::EntityTooSmall(n) => S3Error::with_message(
            S3ErrorCode::EntityTooSmall,
            format!("Part {n} is smaller than the minimum allowed object size."),
        ),
        StoreError::Internal(reason) => {
            tracing::error!(%reason, "embedded S3 storage failure");
            S3Error::with_message(S3ErrorCode::InternalError, reason)
        }
    }
}

fn io_error(what: &str, path: &Path, err: &std::io::Error) -> S3Error {
    tracing::error!(path = %path.display(), error = %err, "{what}");
    S3Error::with_message(S3ErrorCode::InternalError, format!("{what}: {err}"))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn timestamp(ms: i64) -> Timestamp {
    http_time(ms)
}

fn attributes(
    content_type: Option<ContentType>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    metadata: Option<Metadata>,
) -> Attributes {
    Attributes {
        content_type: content_type.map(|c| c.to_string()),
        content_encoding,
        content_disposition,
        content_language,
        cache_control,
        metadata: metadata
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
    }
}

fn metadata_of(attrs: &Attributes) -> Option<Metadata> {
    (!attrs.metadata.is_empty()).then(|| attrs.metadata.clone().into_iter().collect())
}

fn content_type_of(attrs: &Attributes) -> Option<ContentType> {
    attrs.content_type.as_deref().and_then(|c| c.parse().ok())
}

/// The version id S3 shows for a version: only once the bucket has had versioning.
fn shown_version(version: &Version, versioning: Versioning) -> Option<String> {
    (versioning != Versioning::Unversioned).then(|| version.version_id.clone())
}

fn write_condition(
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
) -> S3Result<WriteCondition> {
    let if_none_match_any = match if_none_match {
        None => false,
        Some(ETagCondition::Any) => true,
        Some(ETagCondition::ETag(_)) => {
            return Err(s3_error!(
                NotImplemented,
                "If-None-Match on a write only supports '*'"
            ))
        }
    };
    let if_match = if_match.map(|c| match c {
        ETagCondition::Any => None,
        ETagCondition::ETag(tag) => Some(tag.value().to_owned()),
    });
    Ok(WriteCondition {
        if_none_match_any,
        if_match,
    })
}

/// A body received into `tmp/`.
struct Received {
    tmp: PathBuf,
    size: u64,
    md5: [u8; 16],
}

/// Checks the checksums a client sent (headers or aws-chunked trailers) against the body.
fn verify_checksums(computed: &Checksum, sent: &Checksum) -> S3Result<()> {
    let pairs = [
        (&computed.checksum_crc32, &sent.checksum_crc32),
        (&computed.checksum_crc32c, &sent.checksum_crc32c),
        (&computed.checksum_sha1, &sent.checksum_sha1),
        (&computed.checksum_sha256, &sent.checksum_sha256),
        (&computed.checksum_crc64nvme, &sent.checksum_crc64nvme),
    ];
    for (ours, theirs) in pairs {
        if let (Some(ours), Some(theirs)) = (ours, theirs) {
            if ours != theirs {
                return Err(s3_error!(
                    BadDigest,
                    "The checksum you specified did not match the body."
                ));
            }
        }
    }
    Ok(())
}

/// Which checksums to compute: those the client sent or announced.
fn hasher_for(
    sent: &Checksum,
    algorithm: Option<&ChecksumAlgorithm>,
    trailer: Option<&str>,
) -> ChecksumHasher {
    let mut hasher = ChecksumHasher::default();
    let wants = |name: &str| {
        algorithm.is_some_and(|a| a.as_str().eq_ignore_ascii_case(name))
            || trailer.is_some_and(|t| t.eq_ignore_ascii_case(&format!("x-amz-checksum-{name}")))
    };
    if sent.checksum_crc32.is_some() || wants("crc32") {
        hasher.crc32 = Some(Default::default());
    }
    if sent.checksum_crc32c.is_some() || wants("crc32c") {
        hasher.crc32c = Some(Default::default());
    }
    if sent.checksum_sha1.is_some() || wants("sha1") {
        hasher.sha1 = Some(Default::default());
    }
    if sent.checksum_sha256.is_some() || wants("sha256") {
        hasher.sha256 = Some(Default::default());
    }
    if sent.checksum_crc64nvme.is_some() || wants("crc64nvme") {
        hasher.crc64nvme = Some(Default::default());
    }
    hasher
}

/// Adds the checksums found in the trailers (sent after an aws-chunked body) to `sent`.
fn add_trailers(sent: &mut Checksum, trailers: Option<&s3s::TrailingHeaders>) {
    let Some(map) = trailers.and_then(|t| t.take()) else {
        return;
    };
    let get = |name: &str| {
        map.get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    sent.checksum_crc32 = sent
        .checksum_crc32
        .take()
        .or_else(|| get("x-amz-checksum-crc32"));
    sent.checksum_crc32c = sent
        .checksum_crc32c
        .take()
        .or_else(|| get("x-amz-checksum-crc32c"));
    sent.checksum_sha1 = sent
        .checksum_sha1
        .take()
        .or_else(|| get("x-amz-checksum-sha1"));
    sent.checksum_sha256 = sent
        .checksum_sha256
        .take()
        .or_else(|| get("x-amz-checksum-sha256"));
    sent.checksum_crc64nvme = sent
        .checksum_crc64nvme
        .take()
        .or_else(|| get("x-amz-checksum-crc64nvme"));
}

fn read_conditions<'a>(
    if_match: Option<&'a ETagCondition>,
    if_none_match: Option<&'a ETagCondition>,
    if_modified_since: Option<&'a Timestamp>,
    if_unmodified_since: Option<&'a Timestamp>,
) -> ReadConditions<'a> {
    ReadConditions {
        if_match,
        if_none_match,
        if_modified_since,
        if_unmodified_since,
    }
}

fn check_read(conditions: &ReadConditions<'_>, version: &Version) -> S3Result<()> {
    match conditions.evaluate(&version.etag, version.last_modified_ms) {
        Precondition::Proceed => Ok(()),
        Precondition::Failed => Err(s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        )),
        Precondition::NotModified => Err(s3_error!(NotModified, "Not Modified")),
    }
}

impl Backend {
    /// The backend over `store`.
    pub(crate) fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    /// Runs a (blocking) index transaction off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> S3Result<T> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| S3Error::with_message(S3ErrorCode::InternalError, e.to_string()))?
            .map_err(store_error)
    }

    /// Streams `body` into a fresh temp file, hashing it on the way; the file is synced.
    /// Nothing is left behind when the body fails.
    async fn receive(
        &self,
        body: StreamingBlob,
        hasher: &mut ChecksumHasher,
    ) -> S3Result<Received> {
        let tmp = self.store.tmp_path(&new_id());
        let result = async {
            let mut file = tokio::fs::File::create(&tmp)
                .await
                .map_err(|e| io_error("could not create a temp file", &tmp, &e))?;
            let mut md5 = Md5::new();
            let mut size = 0u64;
            let mut body = body;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| {
                    S3Error::with_message(
                        S3ErrorCode::IncompleteBody,
                        format!("the request body could not be read: {e}"),
                    )
                })?;
                md5.update(&chunk);
                hasher.update(&chunk);
                size += chunk.len() as u64;
                file.write_all(&chunk)
                    .await
                    .map_err(|e| io_error("could not write a temp file", &tmp, &e))?;
            }
            file.sync_all()
                .await
                .map_err(|e| io_error("could not sync a temp file", &tmp, &e))?;
            Ok::<_, S3Error>((size, md5.finalize()))
        }
        .await;
        match result {
            Ok((size, md5)) => Ok(Received { tmp, size, md5 }),
            Err(err) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(err)
            }
        }
    }

    /// Moves a received body into `objects/` (durably) under a fresh id.
    async fn promote(&self, received: &Received, etag: String) -> S3Result<StagedBody> {
        let content = new_id();
        let path = self.store.content_path(&content);
        if let Err(err) = tokio::fs::rename(&received.tmp, &path).await {
            let _ = tokio::fs::remove_file(&received.tmp).await;
            return Err(io_error("could not move a body into place", &path, &err));
        }
        let dir = self.store.objects_dir();
        // The rename must survive a crash as surely as the index entry that points to it.
        let synced = tokio::task::spawn_blocking(move || {
            std::fs::File::open(&dir).and_then(|d| d.sync_all())
        })
        .await;
        if let Ok(Err(err)) = synced {
            tracing::warn!(error = %err, "could not sync the S3 objects directory");
        }
        Ok(StagedBody {
            content,
            size: received.size,
            etag,
        })
    }

    async fn discard(received: &Received) {
        let _ = tokio::fs::remove_file(&received.tmp).await;
    }

    /// Looks an object up; when its body was replaced between the lookup and the open (a
    /// concurrent overwrite), looks again, so a reader gets the old or the new object.
    async fn open(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> S3Result<(Version, Versioning, Option<tokio::fs::File>)> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (version, record) = self
                .store
                .get(bucket, key, version_id)
                .map_err(store_error)?;
            let Some(content) = version.content.clone() else {
                return Ok((version, record.versioning, None));
            };
            let path = self.store.content_path(&content);
            match tokio::fs::File::open(&path).await {
                Ok(file) => return Ok((version, record.versioning, Some(file))),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound && attempts < 5 => continue,
                Err(err) => return Err(io_error("an object's body is missing", &path, &err)),
            }
        }
    }
}

#[async_trait::async_trait]
impl S3 for Backend {
    // ---- buckets ----

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = req.input.bucket;
        let location = format!("/{bucket}");
        self.blocking(move |s| s.create_bucket(&bucket)).await?;
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(location),
        }))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.store.bucket(&req.input.bucket).map_err(store_error)?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let bucket = req.input.bucket;
        self.blocking(move |s| s.delete_bucket(&bucket)).await?;
        Ok(S3Response::new(DeleteBucketOutput::default()))
    }

    async fn list_buckets(
        &self,
        _req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let buckets = self
            .store
            .buckets()
            .map_err(store_error)?
            .into_iter()
            .map(|(name, record)| Bucket {
                creation_date: Some(timestamp(record.created_ms)),
                name: Some(name),
                bucket_region: None,
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(Owner {
                display_name: Some("a2i-local".to_owned()),
                id: Some("a2ilocal".to_owned()),
            }),
            ..Default::default()
        }))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.store.bucket(&req.input.bucket).map_err(store_error)?;
        Ok(S3Response::new(GetBucketLocationOutput::default()))
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        let record = self.store.bucket(&req.input.bucket).map_err(store_error)?;
        let status = match record.versioning {
            Versioning::Unversioned => None,
            Versioning::Enabled => Some(BucketVersioningStatus::from_static(
                BucketVersioningStatus::ENABLED,
            )),
            Versioning::Suspended => Some(BucketVersioningStatus::from_static(
                BucketVersioningStatus::SUSPENDED,
            )),
        };
        Ok(S3Response::new(GetBucketVersioningOutput {
            status,
            ..Default::default()
        }))
    }

    async fn put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        let enabled = match req
            .input
            .versioning_configuration
            .status
            .as_ref()
            .map(|s| s.as_str())
        {
            Some(BucketVersioningStatus::ENABLED) => true,
            Some(BucketVersioningStatus::SUSPENDED) => false,
            _ => {
                return Err(s3_error!(
                    MalformedXML,
                    "The versioning Status must be Enabled or Suspended"
                ))
            }
        };
        let bucket = req.input.bucket;
        self.blocking(move |s| s.set_versioning(&bucket, enabled))
            .await?;
        Ok(S3Response::new(PutBucketVersioningOutput::default()))
    }

    // ---- objects ----

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let input = req.input;
        let condition = write_condition(input.if_match.as_ref(), input.if_none_match.as_ref())?;
        // Refused before the body is read: a missing bucket, a failing precondition.
        match self.store.get(&input.bucket, &input.key, None) {
            Ok((current, _)) => condition.check(Some(&current)).map_err(store_error)?,
            Err(StoreError::NoSuchKey | StoreError::Deleted { .. }) => {
                condition.check(None).map_err(store_error)?
            }
            Err(err) => return Err(store_error(err)),
        }
        let Some(body) = input.body else {
            return Err(s3_error!(IncompleteBody, "The request body is missing"));
        };
        let mut sent = Checksum {
            checksum_crc32: input.checksum_crc32,
            checksum_crc32c: input.checksum_crc32c,
            checksum_sha1: input.checksum_sha1,
            checksum_sha256: input.checksum_sha256,
            checksum_crc64nvme: input.checksum_crc64nvme,
            ..Default::default()
        };
        let trailer = req
            .headers
            .get("x-amz-trailer")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut hasher = hasher_for(&sent, input.checksum_algorithm.as_ref(), trailer.as_deref());
        let received = self.receive(body, &mut hasher).await?;
        add_trailers(&mut sent, req.trailing_headers.as_ref());
        let computed = hasher.finalize();
        let verified = (|| {
            if let Some(length) = input.content_length {
                if u64::try_from(length).ok() != Some(received.size) {
                    return Err(s3_error!(
                        IncompleteBody,
                        "The body is not as long as its Content-Length"
                    ));
                }
            }
            if let Some(md5) = &input.content_md5 {
                let sent_md5 =
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, md5)
                        .map_err(|_| {
                            s3_error!(InvalidDigest, "The Content-MD5 is not valid base64")
                        })?;
                if sent_md5 != received.md5 {
                    return Err(s3_error!(
                        BadDigest,
                        "The Content-MD5 you specified did not match what we received."
                    ));
                }
            }
            verify_checksums(&computed, &sent)
        })();
        if let Err(err) = verified {
            Self::discard(&received).await;
            return Err(err);
        }
        let staged = self.promote(&received, hex(&received.md5)).await?;
        let attrs = attributes(
            input.content_type,
            input.content_encoding,
            input.content_disposition,
            input.content_language,
            input.cache_control,
            input.metadata,
        );
        let (bucket, key) = (input.bucket, input.key);
        let (version, versioning) = self
            .blocking(move |s| s.commit_put(&bucket, &key, staged, attrs, &condition))
            .await?;
        let version_id = (versioning == Versioning::Enabled).then(|| version.version_id.clone());
        let mut resp = S3Response::new(PutObjectOutput {
            e_tag: Some(ETag::Strong(version.etag.clone())),
            version_id: version_id.clone(),
            checksum_crc32: computed.checksum_crc32,
            checksum_crc32c: computed.checksum_crc32c,
            checksum_sha1: computed.checksum_sha1,
            checksum_sha256: computed.checksum_sha256,
            checksum_crc64nvme: computed.checksum_crc64nvme,
            ..Default::default()
        });
        resp.extensions.insert(WriteReceipt {
            size: version.size,
            e_tag: version.etag,
            version_id,
        });
        Ok(resp)
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        let (version, versioning, file) = self
            .open(&input.bucket, &input.key, input.version_id.as_deref())
            .await?;
        check_read(
            &read_conditions(
                input.if_match.as_ref(),
                input.if_none_match.as_ref(),
                input.if_modified_since.as_ref(),
                input.if_unmodified_since.as_ref(),
            ),
            &version,
        )?;
        let Some(mut file) = file else {
            return Err(store_error(StoreError::DeleteMarker));
        };
        let (start, length, content_range) = match &input.range {
            None => (0, version.size, None),
            Some(range) => {
                let r = range.check(version.size).map_err(|_| {
                    s3_error!(InvalidRange, "The requested range is not satisfiable")
                })?;
                let range_text = format!("bytes {}-{}/{}", r.start, r.end - 1, version.size);
                (r.start, r.end - r.start, Some(range_text))
            }
        };
        if start > 0 {
            file.seek(std::io::SeekFrom::Start(start))
                .await
                .map_err(|e| io_error("could not seek in a body", Path::new(&version.key), &e))?;
        }
        let stream = tokio_util::io::ReaderStream::with_capacity(file.take(length), 64 * 1024);
        let attrs = &version.attrs;
        let content_length = i64::try_from(length)
            .map_err(|_| s3_error!(InternalError, "the object is too large"))?;
        let output = GetObjectOutput {
            body: Some(StreamingBlob::wrap(stream)),
            content_length: Some(content_length),
            content_range,
            accept_ranges: Some("bytes".to_owned()),
            last_modified: Some(timestamp(version.last_modified_ms)),
            e_tag: Some(ETag::Strong(version.etag.clone())),
            version_id: shown_version(&version, versioning),
            metadata: metadata_of(attrs),
            content_type: input
                .response_content_type
                .or_else(|| content_type_of(attrs)),
            content_encoding: input
                .response_content_encoding
                .or_else(|| attrs.content_encoding.clone()),
            content_disposition: input
                .response_content_disposition
                .or_else(|| attrs.content_disposition.clone()),
            content_language: input
                .response_content_language
                .or_else(|| attrs.content_language.clone()),
            cache_control: input
                .response_cache_control
                .or_else(|| attrs.cache_control.clone()),
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = req.input;
        let (version, record) = self
            .store
            .get(&input.bucket, &input.key, input.version_id.as_deref())
            .map_err(store_error)?;
        check_read(
            &read_conditions(
                input.if_match.as_ref(),
                input.if_none_match.as_ref(),
                input.if_modified_since.as_ref(),
                input.if_unmodified_since.as_ref(),
            ),
            &version,
        )?;
        let attrs = &version.attrs;
        let output = HeadObjectOutput {
            content_length: Some(i64::try_from(version.size).unwrap_or(i64::MAX)),
            accept_ranges: Some("bytes".to_owned()),
            last_modified: Some(timestamp(version.last_modified_ms)),
            e_tag: Some(ETag::Strong(version.etag.clone())),
            version_id: shown_version(&version, record.versioning),
            metadata: metadata_of(attrs),
            content_type: content_type_of(attrs),
            content_encoding: attrs.content_encoding.clone(),
            content_disposition: attrs.content_disposition.clone(),
            content_language: attrs.content_language.clone(),
            cache_control: attrs.cache_control.clone(),
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        let (bucket, key, version_id) = (input.bucket, input.key, input.version_id);
        let outcome = self
            .blocking(move |s| s.delete(&bucket, &key, version_id.as_deref()))
            .await?;
        Ok(S3Response::new(DeleteObjectOutput {
            delete_marker: outcome.delete_marker.then_some(true),
            version_id: outcome.version_id,
            ..Default::default()
        }))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let input = req.input;
        let quiet = input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for object in input.delete.objects {
            let bucket = input.bucket.clone();
            let (key, version_id) = (object.key.clone(), object.version_id.clone());
            match self
                .blocking(move |s| s.delete(&bucket, &key, version_id.as_deref()))
                .await
            {
                Ok(outcome) => {
                    if !quiet {
                        let marker_id = outcome
                            .delete_marker
                            .then(|| outcome.version_id.clone())
                            .flatten();
                        deleted.push(DeletedObject {
                            key: Some(object.key),
                            version_id: object.version_id,
                            delete_marker: outcome.delete_marker.then_some(true),
                            delete_marker_version_id: marker_id,
                        });
                    }
                }
                Err(err) if err.code() == &S3ErrorCode::NoSuchBucket => return Err(err),
                Err(err) => errors.push(Error {
                    code: Some(err.code().as_str().to_owned()),
                    key: Some(object.key),
                    message: err.message().map(str::to_owned),
                    version_id: object.version_id,
                }),
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let input = req.input;
        let CopySource::Bucket {
            bucket: src_bucket,
            key: src_key,
            version_id: src_version,
        } = &input.copy_source
        else {
            return Err(s3_error!(
                NotImplemented,
                "Copying from access points is not supported"
            ));
        };
        let (source, source_versioning, file) = self
            .open(src_bucket, src_key, src_version.as_deref())
            .await?;
        let conditions = read_conditions(
            input.copy_source_if_match.as_ref(),
            input.copy_source_if_none_match.as_ref(),
            input.copy_source_if_modified_since.as_ref(),
            input.copy_source_if_unmodified_since.as_ref(),
        );
        if conditions.evaluate(&source.etag, source.last_modified_ms) != Precondition::Proceed {
            return Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            ));
        }
        let Some(mut file) = file else {
            return Err(store_error(StoreError::DeleteMarker));
        };
        // The destination bucket must exist before anything is written.
        self.store.bucket(&input.bucket).map_err(store_error)?;
        let replace = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        let attrs = if replace {
            attributes(
                input.content_type,
                input.content_encoding,
                input.content_disposition,
                input.content_language,
                input.cache_control,
                input.metadata,
            )
        } else {
            source.attrs.clone()
        };
        let tmp = self.store.tmp_path(&new_id());
        let copied = async {
            let mut out = tokio::fs::File::create(&tmp)
                .await
                .map_err(|e| io_error("could not create a temp file", &tmp, &e))?;
            let size = tokio::io::copy(&mut file, &mut out)
                .await
                .map_err(|e| io_error("could not copy a body", &tmp, &e))?;
            out.sync_all()
                .await
                .map_err(|e| io_error("could not sync a temp file", &tmp, &e))?;
            Ok::<_, S3Error>(size)
        }
        .await;
        let size = match copied {
            Ok(size) => size,
            Err(err) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(err);
            }
        };
        let received = Received {
            tmp,
            size,
            md5: [0; 16],
        };
        let staged = self.promote(&received, source.etag.clone()).await?;
        let (bucket, key) = (input.bucket, input.key);
        let (version, versioning) = self
            .blocking(move |s| {
                s.commit_put(&bucket, &key, staged, attrs, &WriteCondition::default())
            })
            .await?;
        let version_id = (versioning == Versioning::Enabled).then(|| version.version_id.clone());
        let mut resp = S3Response::new(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(ETag::Strong(version.etag.clone())),
                last_modified: Some(timestamp(version.last_modified_ms)),
                ..Default::default()
            }),
            version_id: version_id.clone(),
            copy_source_version_id: shown_version(&source, source_versioning),
            ..Default::default()
        });
        resp.extensions.insert(WriteReceipt {
            size: version.size,
            e_tag: version.etag,
            version_id,
        });
        Ok(resp)
    }

    // ---- listings ----

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let token_marker = match input.continuation_token.as_deref() {
            Some(token) => Some(s3_listing::marker_of(token).ok_or_else(|| {
                s3_error!(
                    InvalidArgument,
                    "The continuation token provided is incorrect"
                )
            })?),
            None => None,
        };
        let after = match (token_marker, input.start_after.clone()) {
            (Some(t), Some(s)) => Some(t.max(s)),
            (t, s) => t.or(s),
        };
        let max_keys = s3_listing::page_size(input.max_keys);
        let page = s3_listing::list_current(
            &self.store,
            &input.bucket,
            &prefix,
            input.delimiter.as_deref(),
            after.as_deref(),
            max_keys,
        )
        .map_err(store_error)?;
        let next = page
            .truncated
            .then(|| match page.entries.last() {
                Some(Entry::Object(v)) => Some(s3_listing::token_for(&v.key)),
                Some(Entry::Prefix(p)) => Some(s3_listing::token_for(p)),
                None => None,
            })
            .flatten();
        let url = s3_listing::wants_url(input.encoding_type.as_ref());
        let key_count = i32::try_from(page.entries.len()).unwrap_or(i32::MAX);
        let mut contents: Vec<Object> = page.objects().map(object_entry).collect();
        let mut prefixes: Vec<CommonPrefix> = page
            .prefixes()
            .map(|p| CommonPrefix {
                prefix: Some(p.to_owned()),
            })
            .collect();
        let mut output = ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: input.prefix,
            delimiter: input.delimiter,
            start_after: input.start_after,
            max_keys: Some(i32::try_from(max_keys).unwrap_or(1000)),
            key_count: Some(key_count),
            is_truncated: Some(page.truncated),
            continuation_token: input.continuation_token,
            next_continuation_token: next,
            encoding_type: input.encoding_type,
            ..Default::default()
        };
        if url {
            encode_entries(&mut contents, &mut prefixes);
            s3_listing::encode(&mut output.prefix);
            s3_listing::encode(&mut output.delimiter);
            s3_listing::encode(&mut output.start_after);
        }
        output.contents = (!contents.is_empty()).then_some(contents);
        output.common_prefixes = (!prefixes.is_empty()).then_some(prefixes);
        Ok(S3Response::new(output))
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let input = req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let max_keys = s3_listing::page_size(input.max_keys);
        let page = s3_listing::list_current(
            &self.store,
            &input.bucket,
            &prefix,
            input.delimiter.as_deref(),
            input.marker.as_deref(),
            max_keys,
        )
        .map_err(store_error)?;
        let next_marker = page
            .truncated
            .then(|| match page.entries.last() {
                Some(Entry::Object(v)) => Some(v.key.clone()),
                Some(Entry::Prefix(p)) => Some(p.clone()),
                None => None,
            })
            .flatten();
        let url = s3_listing::wants_url(input.encoding_type.as_ref());
        let mut contents: Vec<Object> = page.objects().map(object_entry).collect();
        let mut prefixes: Vec<CommonPrefix> = page
            .prefixes()
            .map(|p| CommonPrefix {
                prefix: Some(p.to_owned()),
            })
            .collect();
        let mut output = ListObjectsOutput {
            name: Some(input.bucket),
            prefix: input.prefix,
            delimiter: input.delimiter,
            marker: input.marker,
            next_marker,
            max_keys: Some(i32::try_from(max_keys).unwrap_or(1000)),
            is_truncated: Some(page.truncated),
            encoding_type: input.encoding_type,
            ..Default::default()
        };
        if url {
            encode_entries(&mut contents, &mut prefixes);
            s3_listing::encode(&mut output.prefix);
            s3_listing::encode(&mut output.delimiter);
            s3_listing::encode(&mut output.marker);
            s3_listing::encode(&mut output.next_marker);
        }
        output.contents = (!contents.is_empty()).then_some(contents);
        output.common_prefixes = (!prefixes.is_empty()).then_some(prefixes);
        Ok(S3Response::new(output))
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let input = req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let max_keys = s3_listing::page_size(input.max_keys);
        let marker = VersionMarker {
            key: input.key_marker.as_deref().filter(|k| !k.is_empty()),
            version_id: input.version_id_marker.as_deref().filter(|v| !v.is_empty()),
        };
        let (page, latest) = s3_listing::list_versions(
            &self.store,
            &input.bucket,
            &prefix,
            input.delimiter.as_deref(),
            &marker,
            max_keys,
        )
        .map_err(store_error)?;
        let (next_key, next_version) = if page.truncated {
            match page.entries.last() {
                Some(Entry::Object(v)) => (Some(v.key.clone()), Some(v.version_id.clone())),
                Some(Entry::Prefix(p)) => (Some(p.clone()), None),
                None => (None, None),
            }
        } else {
            (None, None)
        };
        let url = s3_listing::wants_url(input.encoding_type.as_ref());
        let mut versions = Vec::new();
        let mut markers = Vec::new();
        let mut prefixes = Vec::new();
        for (entry, is_latest) in page.entries.iter().zip(latest) {
            match entry {
                Entry::Prefix(p) => prefixes.push(CommonPrefix {
                    prefix: Some(p.clone()),
                }),
                Entry::Object(v) if v.delete_marker => markers.push(DeleteMarkerEntry {
                    is_latest: Some(is_latest),
                    key: Some(v.key.clone()),
                    last_modified: Some(timestamp(v.last_modified_ms)),
                    owner: None,
                    version_id: Some(v.version_id.clone()),
                }),
                Entry::Object(v) => versions.push(ObjectVersion {
                    e_tag: Some(ETag::Strong(v.etag.clone())),
                    is_latest: Some(is_latest),
                    key: Some(v.key.clone()),
                    last_modified: Some(timestamp(v.last_modified_ms)),
                    size: Some(i64::try_from(v.size).unwrap_or(i64::MAX)),
                    storage_class: Some(ObjectVersionStorageClass::from_static(
                        ObjectVersionStorageClass::STANDARD,
                    )),
                    version_id: Some(v.version_id.clone()),
                    ..Default::default()
                }),
            }
        }
        let mut output = ListObjectVersionsOutput {
            name: Some(input.bucket),
            prefix: input.prefix,
            delimiter: input.delimiter,
            key_marker: input.key_marker,
            version_id_marker: input.version_id_marker,
            next_key_marker: next_key,
            next_version_id_marker: next_version,
            max_keys: Some(i32::try_from(max_keys).unwrap_or(1000)),
            is_truncated: Some(page.truncated),
            encoding_type: input.encoding_type,
            ..Default::default()
        };
        if url {
            for v in &mut versions {
                s3_listing::encode(&mut v.key);
            }
            for m in &mut markers {
                s3_listing::encode(&mut m.key);
            }
            for p in &mut prefixes {
                s3_listing::encode(&mut p.prefix);
            }
            s3_listing::encode(&mut output.prefix);
            s3_listing::encode(&mut output.delimiter);
            s3_listing::encode(&mut output.key_marker);
            s3_listing::encode(&mut output.next_key_marker);
        }
        output.versions = (!versions.is_empty()).then_some(versions);
        output.delete_markers = (!markers.is_empty()).then_some(markers);
        output.common_prefixes = (!prefixes.is_empty()).then_some(prefixes);
        Ok(S3Response::new(output))
    }

    // ---- multipart uploads ----

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let input = req.input;
        let attrs = attributes(
            input.content_type,
            input.content_encoding,
            input.content_disposition,
            input.content_language,
            input.cache_control,
            input.metadata,
        );
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        let upload_id = self
            .blocking(move |s| s.create_upload(&bucket, &key, attrs))
            .await?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(upload_id),
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let input = req.input;
        if !(1..=MAX_PART_NUMBER).contains(&input.part_number) {
            return Err(s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive"
            ));
        }
        self.store
            .upload(&input.upload_id, &input.bucket, &input.key)
            .map_err(store_error)?;
        let Some(body) = input.body else {
            return Err(s3_error!(IncompleteBody, "The request body is missing"));
        };
        let mut sent = Checksum {
            checksum_crc32: input.checksum_crc32,
            checksum_crc32c: input.checksum_crc32c,
            checksum_sha1: input.checksum_sha1,
            checksum_sha256: input.checksum_sha256,
            checksum_crc64nvme: input.checksum_crc64nvme,
            ..Default::default()
        };
        let trailer = req
            .headers
            .get("x-amz-trailer")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut hasher = hasher_for(&sent, input.checksum_algorithm.as_ref(), trailer.as_deref());
        let received = self.receive(body, &mut hasher).await?;
        add_trailers(&mut sent, req.trailing_headers.as_ref());
        let computed = hasher.finalize();
        if let Err(err) = verify_checksums(&computed, &sent) {
            Self::discard(&received).await;
            return Err(err);
        }
        let dir = self.store.upload_dir(&input.upload_id);
        let path = dir.join(input.part_number.to_string());
        if let Err(err) = tokio::fs::rename(&received.tmp, &path).await {
            Self::discard(&received).await;
            return Err(io_error("could not move a part into place", &path, &err));
        }
        let part = PartRecord {
            part_number: input.part_number,
            size: received.size,
            etag: hex(&received.md5),
            last_modified_ms: chrono::Utc::now().timestamp_millis(),
        };
        let etag = part.etag.clone();
        let upload_id = input.upload_id;
        self.blocking(move |s| s.commit_part(&upload_id, &part))
            .await?;
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(ETag::Strong(etag)),
            checksum_crc32: computed.checksum_crc32,
            checksum_crc32c: computed.checksum_crc32c,
            checksum_sha1: computed.checksum_sha1,
            checksum_sha256: computed.checksum_sha256,
            checksum_crc64nvme: computed.checksum_crc64nvme,
            ..Default::default()
        }))
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let input = req.input;
        self.store
            .upload(&input.upload_id, &input.bucket, &input.key)
            .map_err(store_error)?;
        let parts = self
            .store
            .parts(&input.upload_id)
            .map_err(store_error)?
            .into_iter()
            .filter(|p| input.part_number_marker.is_none_or(|m| p.part_number > m))
            .map(|p| Part {
                e_tag: Some(ETag::Strong(p.etag)),
                last_modified: Some(timestamp(p.last_modified_ms)),
                part_number: Some(p.part_number),
                size: Some(i64::try_from(p.size).unwrap_or(i64::MAX)),
                ..Default::default()
            })
            .collect();
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            parts: Some(parts),
            is_truncated: Some(false),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = req.input;
        self.store
            .upload(&input.upload_id, &input.bucket, &input.key)
            .map_err(store_error)?;
        let upload_id = input.upload_id;
        self.blocking(move |s| s.remove_upload(&upload_id)).await?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = req.input;
        let condition = write_condition(input.if_match.as_ref(), input.if_none_match.as_ref())?;
        let upload = self
            .store
            .upload(&input.upload_id, &input.bucket, &input.key)
            .map_err(store_error)?;
        let requested = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default();
        if requested.is_empty() {
            return Err(s3_error!(
                MalformedXML,
                "You must specify at least one part"
            ));
        }
        let stored = self.store.parts(&input.upload_id).map_err(store_error)?;
        let mut chosen = Vec::with_capacity(requested.len());
        let mut previous = 0;
        for part in &requested {
            let number = part.part_number.unwrap_or(0);
            if number <= previous {
                return Err(store_error(StoreError::InvalidPartOrder));
            }
            previous = number;
            let found = stored
                .iter()
                .find(|p| p.part_number == number)
                .ok_or_else(|| store_error(StoreError::InvalidPart(number)))?;
            if part
                .e_tag
                .as_ref()
                .is_some_and(|tag| tag.value() != found.etag)
            {
                return Err(store_error(StoreError::InvalidPart(number)));
            }
            chosen.push(found.clone());
        }
        if let Some((_, all_but_last)) = chosen.split_last() {
            if let Some(small) = all_but_last.iter().find(|p| p.size < MIN_PART_SIZE) {
                return Err(store_error(StoreError::EntityTooSmall(small.part_number)));
            }
        }
        // Concatenate the parts into one body; the ETag is the MD5 of the parts' MD5s, "-N".
        let dir = self.store.upload_dir(&input.upload_id);
        let tmp = self.store.tmp_path(&new_id());
        let joined = async {
            let mut out = tokio::fs::File::create(&tmp)
                .await
                .map_err(|e| io_error("could not create a temp file", &tmp, &e))?;
            let mut size = 0;
            let mut md5s = Md5::new();
            for part in &chosen {
                let path = dir.join(part.part_number.to_string());
                let mut file = tokio::fs::File::open(&path)
                    .await
                    .map_err(|e| io_error("a part's body is missing", &path, &e))?;
                size += tokio::io::copy(&mut file, &mut out)
                    .await
                    .map_err(|e| io_error("could not join parts", &tmp, &e))?;
                let mut raw = [0u8; 16];
                for (i, byte) in raw.iter_mut().enumerate() {
                    *byte = u8::from_str_radix(part.etag.get(i * 2..i * 2 + 2).unwrap_or("00"), 16)
                        .unwrap_or(0);
                }
                md5s.update(&raw);
            }
            out.sync_all()
                .await
                .map_err(|e| io_error("could not sync a temp file", &tmp, &e))?;
            Ok::<_, S3Error>((size, md5s.finalize()))
        }
        .await;
        let (size, md5s) = match joined {
            Ok(v) => v,
            Err(err) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(err);
            }
        };
        let etag = format!("{}-{}", hex(&md5s), chosen.len());
        let received = Received {
            tmp,
            size,
            md5: [0; 16],
        };
        let staged = self.promote(&received, etag).await?;
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        let attrs = upload.attrs;
        let (version, versioning) = self
            .blocking(move |s| s.commit_put(&bucket, &key, staged, attrs, &condition))
            .await?;
        let upload_id = input.upload_id;
        self.blocking(move |s| s.remove_upload(&upload_id)).await?;
        let version_id = (versioning == Versioning::Enabled).then(|| version.version_id.clone());
        let mut resp = S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            location: Some(format!("/{}/{}", input.bucket, input.key)),
            e_tag: Some(ETag::Strong(version.etag.clone())),
            version_id: version_id.clone(),
            ..Default::default()
        });
        resp.extensions.insert(WriteReceipt {
            size: version.size,
            e_tag: version.etag,
            version_id,
        });
        Ok(resp)
    }
}

fn object_entry(v: &Version) -> Object {
    Object {
        key: Some(v.key.clone()),
        e_tag: Some(ETag::Strong(v.etag.clone())),
        last_modified: Some(timestamp(v.last_modified_ms)),
        size: Some(i64::try_from(v.size).unwrap_or(i64::MAX)),
        storage_class: Some(ObjectStorageClass::from_static(
            ObjectStorageClass::STANDARD,
        )),
        ..Default::default()
    }
}

fn encode_entries(contents: &mut [Object], prefixes: &mut [CommonPrefix]) {
    for object in contents {
        s3_listing::encode(&mut object.key);
    }
    for prefix in prefixes {
        s3_listing::encode(&mut prefix.prefix);
    }
}
