//! The reference to an uploaded S3 object that travels with every item and loop.

use serde::{Deserialize, Serialize};

/// One S3 object version, as named by an S3 event (key already decoded).
///
/// It is written into every loop's `InputContent`, so the status handler can find the
/// original object again and place the reviewed result next to its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// Bucket name.
    pub bucket: String,
    /// Object key, decoded (never the form-encoded form of the event).
    pub key: String,
    /// Version id, when the bucket is versioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// ETag without quotes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
}

impl ObjectRef {
    /// `s3://bucket/key`, with the key as is (S3 URIs are not percent-encoded).
    pub fn s3_uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// Why a string is not an `s3://bucket/key` URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{uri:?} is not an S3 URI: {rule}")]
pub struct S3UriError {
    /// The text that was given.
    pub uri: String,
    /// The rule it broke.
    pub rule: &'static str,
}

/// Splits `s3://bucket/key` into bucket and key. The key may hold any character, `/`
/// included; it is taken verbatim (S3 URIs written by AWS are not percent-encoded).
pub fn parse_s3_uri(uri: &str) -> Result<(String, String), S3UriError> {
    let err = |rule| S3UriError {
        uri: uri.to_owned(),
        rule,
    };
    let rest = uri
        .strip_prefix("s3://")
        .ok_or_else(|| err("it must start with s3://"))?;
    let (bucket, key) = rest
        .split_once('/')
        .ok_or_else(|| err("it must be s3://bucket/key"))?;
    if bucket.is_empty() {
        return Err(err("the bucket name is empty"));
    }
    if key.is_empty() {
        return Err(err("the key is empty"));
    }
    Ok((bucket.to_owned(), key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_uri_keeps_every_character_of_the_key() {
        let (b, k) =
            parse_s3_uri("s3://out/flow/2026/11/21/10/00/00/a b+%2B/ü/output.json").unwrap();
        assert_eq!(b, "out");
        assert_eq!(k, "flow/2026/11/21/10/00/00/a b+%2B/ü/output.json");
    }

    #[test]
    fn s3_uri_rejections_name_the_rule() {
        assert!(parse_s3_uri("https://x/y")
            .unwrap_err()
            .rule
            .contains("s3://"));
        assert!(parse_s3_uri("s3://bucket")
            .unwrap_err()
            .rule
            .contains("bucket/key"));
        assert!(parse_s3_uri("s3:///key")
            .unwrap_err()
            .rule
            .contains("bucket"));
        assert!(parse_s3_uri("s3://bucket/")
            .unwrap_err()
            .rule
            .contains("key"));
    }

    #[test]
    fn object_ref_round_trips_camel_case() {
        let r = ObjectRef {
            bucket: "b".into(),
            key: "k".into(),
            version_id: Some("v".into()),
            e_tag: None,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"bucket":"b","key":"k","versionId":"v"})
        );
        assert_eq!(serde_json::from_value::<ObjectRef>(v).unwrap(), r);
    }
}
