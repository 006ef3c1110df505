//! The embedded S3: s3s-fs (objects as files under a directory) served by s3s, with SigV4
//! checked against one local credential pair, reachable over HTTP (path-style) and
//! in-process through an SDK client that needs no port.

use std::path::{Path, PathBuf};

use aws_sdk_s3::config::{BehaviorVersion, Credentials as SdkCredentials, Region};
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};

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

/// The S3 service over a directory (each bucket is a subdirectory).
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
        let fs = s3s_fs::FileSystem::new(root).map_err(|e| dir_err(format!("{e:?}")))?;
        let mut builder = S3ServiceBuilder::new(crate::s3_listing::LocalStore::new(fs));
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

    /// The directory holding the buckets.
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
