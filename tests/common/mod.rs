//! The S3 test kit of the app, shared by the unit tests (`crate::testing`) and the
//! integration tests (`mod common`): a2i-local's embedded S3 — strict like S3 (SigV4 checked,
//! S3's error codes) — reached in-process through the real SDK client, and S3 events shaped
//! like the ones S3 sends to Lambda.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::path::Path;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};

/// Region of the local S3 (and of the events).
pub const REGION: &str = "us-east-1";

/// The real S3 SDK client over a2i-local's embedded S3 on `dir` (no port, no network).
pub fn local_s3(dir: &Path) -> aws_sdk_s3::Client {
    a2i_local::EmbeddedS3::new(dir, a2i_local::Credentials::default(), REGION)
        .expect("the test directory can hold an embedded S3")
        .in_process_client()
}

/// Creates `bucket` unless it exists.
pub async fn ensure_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    if let Err(e) = s3.create_bucket().bucket(bucket).send().await {
        let exists = e
            .as_service_error()
            .is_some_and(|e| e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists());
        assert!(
            exists,
            "creating bucket {bucket}: {}",
            aws_sdk_s3::error::DisplayErrorContext(&e)
        );
    }
}

/// Creates `bucket` (if needed) and puts `body` under `key`; returns the unquoted ETag.
pub async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8]) -> String {
    ensure_bucket(s3, bucket).await;
    let out = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.to_vec().into())
        .send()
        .await
        .expect("put to the local S3");
    out.e_tag().unwrap_or_default().trim_matches('"').to_owned()
}

/// What S3 leaves unescaped in event keys besides letters and digits.
const KEY_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'*')
    .remove(b'/')
    .remove(b' ');

/// Encodes a key the way S3 does in notifications (form encoding: space is `+`, a literal
/// `+` is `%2B`).
pub fn form_encode(key: &str) -> String {
    utf8_percent_encode(key, KEY_SAFE)
        .to_string()
        .replace(' ', "+")
}

/// An `ObjectCreated:Put` event for one object, shaped like the ones S3 sends to Lambda.
pub fn s3_put_event(bucket: &str, key: &str, etag: &str, size: usize) -> Value {
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": "2026-11-21T10:15:42.187Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AROA3EXAMPLEROLEID:batch-inference"},
        "requestParameters": {"sourceIPAddress": "203.0.113.24"},
        "responseElements": {"x-amz-request-id": "4F1B6E2A9C3D8E70", "x-amz-id-2": "dGVzdC1ob3N0LWlkLWZvci1hMmktcmV2aWV3"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "a2i-review-start",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A2QZ7EXAMPLEOWNER"}, "arn": format!("arn:aws:s3:::{bucket}")},
            "object": {"key": form_encode(key), "size": size, "eTag": etag, "sequencer": "00673F0A5E2B9C4D71"}
        }
    }]})
}
