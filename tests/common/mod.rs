//! Shared support for the integration tests: an in-process S3 and real-shaped events.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::path::Path;

/// Access key the in-process S3 accepts (requests are signed and checked like real S3's).
const ACCESS_KEY: &str = "a2i-local-test";
/// Secret key of [`ACCESS_KEY`].
const SECRET_KEY: &str = "a2i-local-test-secret";

use serde_json::{json, Value};

/// The real S3 SDK client over an in-process s3s-fs server on `dir` (no port, no network).
pub fn local_s3(dir: &Path) -> aws_sdk_s3::Client {
    let fs = s3s_fs::FileSystem::new(dir).expect("the test directory exists");
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = builder.build();
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "local-s3",
        ))
        .http_client(s3s_aws::Client::from(service))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Creates `bucket` (if needed) and puts `body` under `key`; returns the unquoted ETag.
pub async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8]) -> String {
    let _ = s3.create_bucket().bucket(bucket).send().await;
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

/// Encodes a key the way S3 does in notifications (form encoding: space is `+`).
pub fn form_encode(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        match b {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' | b'*' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An `ObjectCreated:Put` event for one object, shaped like the ones S3 sends to Lambda.
pub fn s3_put_event(bucket: &str, key: &str, etag: &str, size: usize) -> Value {
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
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
