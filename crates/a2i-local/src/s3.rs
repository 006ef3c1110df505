//! The embedded S3: s3s (protocol, SigV4 against one local credential pair) over a storage of
//! our own (bodies as files named by random ids, an index in redb), reachable over HTTP
//! (path-style) and in-process through an SDK client that needs no port.
//!
//! # What is emulated, and how strictly
//! - Buckets: CreateBucket (an existing bucket is `BucketAlreadyOwnedByYou`), HeadBucket,
//!   DeleteBucket (only when empty of versions and uploads: `BucketNotEmpty`), ListBuckets,
//!   GetBucketLocation. A request naming a bucket that does not exist is `NoSuchBucket` (404);
//!   nothing creates a bucket implicitly. An invalid bucket name is `InvalidBucketName` (400).
//! - Keys: any UTF-8 up to 1,024 bytes, byte-exact (no normalisation, trailing spaces kept);
//!   a longer key is `KeyTooLongError` (400). Keys never become file names.
//! - Objects: PutObject, GetObject (with `Range`), HeadObject, DeleteObject, DeleteObjects,
//!   CopyObject (`COPY`/`REPLACE` metadata directive, copy-source conditions). Content-Type,
//!   Content-Encoding, Content-Disposition, Content-Language, Cache-Control and `x-amz-meta-*`
//!   round-trip. ETag: MD5 hex for a single PUT, MD5 of the parts' MD5s plus `-N` for a
//!   multipart upload (a copy keeps its source's ETag). Content-MD5 and `x-amz-checksum-*`
//!   (headers or aws-chunked trailers) are verified: `BadDigest`.
//! - Writes are atomic and leave nothing behind when they fail: the body goes to a temp file,
//!   is synced and renamed, and only then does one index transaction make it visible. A reader
//!   sees the old or the new object, never a mix.
//! - Conditional reads on GetObject/HeadObject: `If-Match`/`If-Unmodified-Since` → 412
//!   `PreconditionFailed`, `If-None-Match`/`If-Modified-Since` → 304, with S3's precedence
//!   (a matching If-Match overrides If-Unmodified-Since; If-None-Match overrides
//!   If-Modified-Since); times compare at whole seconds, as `Last-Modified` has.
//! - Conditional writes on PutObject and CompleteMultipartUpload: `If-None-Match: *` → 412
//!   when the key exists; `If-Match: <etag>` → 412 when it differs and, as S3 answers, 404
//!   `NoSuchKey` when there is no current object. The check runs inside the index transaction,
//!   so two racing conditional writers cannot both win.
//! - Versioning: Put/GetBucketVersioning (Enabled, Suspended), version ids on PUT/GET/HEAD/
//!   CopyObject/DeleteObject, GET/HEAD/DELETE by `versionId`, delete markers (GET of a marker
//!   by id is `MethodNotAllowed`), ListObjectVersions. An unversioned bucket keeps one `null`
//!   version per key and shows no version ids.
//! - Listings: ListObjectsV2 (prefix, delimiter/CommonPrefixes, continuation tokens, start-after,
//!   max-keys up to 1,000, `encoding-type=url`), ListObjects (markers), ListObjectVersions.
//! - Multipart: Create, UploadPart, ListParts, Complete (parts in ascending order, ETags checked,
//!   every part but the last at least 5 MiB: `EntityTooSmall`), Abort.
//!
//! Not emulated: ACLs and policies (any request signed with the one credential pair may do
//! anything), lifecycle, replication, object lock, tagging, SSE, website hosting, presigned
//! POST, UploadPartCopy, ListMultipartUploads, virtual-hosted-style addressing, and the 409
//! `ConditionalRequestConflict` (concurrent conditional writes are serialised instead).

use std::path::{Path, PathBuf};

use aws_sdk_s3::config::{BehaviorVersion, Credentials as SdkCredentials, Region};
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};

pub use crate::s3_backend::WriteReceipt;

/// The credential pair every client of this a2i-local must sign with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Default for Credentials {
    /// Fixed, obviously local credentials, so that the printed env file always works.
    fn default() -> Self {
        Self {
            access_key_id: "a2ilocal".to_owned(),
            secret_access_key: "a2ilocal-secret".to_owned(),
        }
    }
}

impl Credentials {
    /// The SDK form of the pair.
    pub fn to_sdk(&self) -> SdkCredentials {
        SdkCredentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            None,
            None,
            "a2i-local",
        )
    }
}

/// Why the embedded S3 could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum S3SetupError {
    /// The directory could not be created or opened.
    #[error("the S3 directory {path} is not usable: {reason}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The cause.
        reason: String,
    },
    /// A bucket could not be created.
    #[error("bucket {bucket:?} could not be created: {reason}")]
    Bucket {
        /// The bucket.
        bucket: String,
        /// The cause.
        reason: String,
    },
}

/// The S3 service over a directory (see the module documentation for its layout and rules).
#[derive(Debug, Clone)]
pub struct EmbeddedS3 {
    service: S3Service,
    root: PathBuf,
    credentials: Credentials,
    region: String,
}

impl EmbeddedS3 {
    /// An S3 storing objects under `root` (created if missing) and accepting requests
    /// signed with `credentials`.
    pub fn new(root: &Path, credentials: Credentials, region: &str) -> Result<Self, S3SetupError> {
        let dir_err = |reason: String| S3SetupError::Directory {
            path: root.to_owned(),
            reason,
        };
        std::fs::create_dir_all(root).map_err(|e| dir_err(e.to_string()))?;
        let store = crate::s3_store::Store::open(root).map_err(|e| dir_err(e.to_string()))?;
        let mut builder =
            S3ServiceBuilder::new(crate::s3_backend::Backend::new(std::sync::Arc::new(store)));
        builder.set_auth(SimpleAuth::from_single(
            credentials.access_key_id.clone(),
            credentials.secret_access_key.clone(),
        ));
        Ok(Self {
            service: builder.build(),
            root: root.to_owned(),
            credentials,
            region: region.to_owned(),
        })
    }

    /// The s3s service (cheap to clone), to be served over HTTP.
    pub fn service(&self) -> S3Service {
        self.service.clone()
    }

    /// The directory holding the index and the objects' bodies.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// An SDK client talking to this S3 in-process (no port, no HTTP). Requests made
    /// through it bypass the HTTP layer, so they trigger no input notification.
    pub fn in_process_client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .credentials_provider(self.credentials.to_sdk())
            // Only used to build the request URI; the connector never opens a socket.
            .endpoint_url("http://s3.a2i-local.internal")
            .force_path_style(true)
            .http_client(s3s_aws::Client::from(self.service.clone()))
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Creates `bucket` unless it exists.
    pub async fn ensure_bucket(&self, bucket: &str) -> Result<(), S3SetupError> {
        let client = self.in_process_client();
        if client.head_bucket().bucket(bucket).send().await.is_ok() {
            return Ok(());
        }
        match client.create_bucket().bucket(bucket).send().await {
            Ok(_) => {
                tracing::info!(bucket, "bucket created");
                Ok(())
            }
            Err(err) => {
                let exists = err.as_service_error().is_some_and(|e| {
                    e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
                });
                if exists {
                    Ok(())
                } else {
                    Err(S3SetupError::Bucket {
                        bucket: bucket.to_owned(),
                        reason: aws_sdk_s3::error::DisplayErrorContext(&err).to_string(),
                    })
                }
            }
        }
    }
}
