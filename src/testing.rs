//! Test support: an in-process S3 (s3s-fs behind the real SDK client) and fast-retry SDK configs.

use std::path::Path;

/// Access key the in-process S3 accepts (requests are signed and checked like real S3's).
const ACCESS_KEY: &str = "a2i-local-test";
/// Secret key of [`ACCESS_KEY`].
const SECRET_KEY: &str = "a2i-local-test-secret";

/// An S3 client whose HTTP layer is an in-process s3s-fs server over `dir`: real SDK
/// serialisation and parsing, no port, no network.
pub(crate) fn local_s3(dir: &Path) -> aws_sdk_s3::Client {
    let fs = s3s_fs::FileSystem::new(dir).expect("the test directory exists");
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = builder.build();
    let http = s3s_aws::Client::from(service);
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "local-s3",
        ))
        .http_client(http)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Creates `bucket` and puts `body` under `key`, returning the object's ETag (unquoted).
pub(crate) async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8]) -> String {
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
