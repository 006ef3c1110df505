//! S3 event notifications to object references, with each key form-decoded exactly once.
//!
//! S3 writes `s3.object.key` form-encoded (`application/x-www-form-urlencoded`): a space
//! arrives as `+`, a literal `+` as `%2B`, other bytes as UTF-8 percent-escapes. The key is
//! decoded here and nowhere else, so no later step can decode it twice.

use std::collections::HashMap;

use aws_lambda_events::event::s3::S3EventRecord;
use percent_encoding::percent_decode_str;
use serde_json::Value;

use crate::field_path::{from_value, json_kind};
use crate::source::ObjectRef;

/// What an invocation's payload turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Notification {
    /// The `s3:TestEvent` S3 sends when a notification configuration is saved: no records.
    TestEvent,
    /// One or more records.
    Records(Vec<RecordOutcome>),
}

/// What to do with one record of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordOutcome {
    /// An object was created: read and process it.
    Created(CreatedObject),
    /// A record of another kind (a delete, a restore, …): nothing to do.
    Skipped {
        /// The record's `eventName`.
        event_name: String,
        /// The record's (still encoded) key, for the log line.
        key: Option<String>,
    },
    /// A record naming the same object version as an earlier record of the event: processed
    /// once, at the earlier record.
    Duplicate {
        /// Position of this record in `Records`.
        record_index: usize,
        /// Position of the earlier record naming the same object version.
        first_index: usize,
    },
    /// A record that cannot be processed: reported, never dropped silently.
    Invalid {
        /// Position of the record in `Records`.
        record_index: usize,
        /// What was wrong with it.
        reason: String,
    },
}

/// An object named by an `ObjectCreated:*` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedObject {
    /// The object version, key decoded.
    pub object: ObjectRef,
    /// The record's `eventName`, such as `ObjectCreated:Put`.
    pub event_name: String,
    /// Object size in bytes, when the record has it.
    pub size: Option<i64>,
    /// The record's `eventTime`: when the object was created. The loop registry records it
    /// (not the clock), so a redelivered event writes the same registration.
    pub event_time: chrono::DateTime<chrono::Utc>,
}

/// The payload is not an S3 event at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the payload is not an S3 event notification: {0}")]
pub struct NotAnS3Event(pub String);

/// A key that is not valid form-encoded UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("object key {key:?} is not valid percent-encoded UTF-8")]
pub struct KeyDecodeError {
    /// The key as it arrived.
    pub key: String,
}

/// Decodes a key as S3 encodes it in notifications: `+` is a space, then percent-escapes are
/// UTF-8 bytes. A `%` not followed by two hex digits is kept as is, as form decoders do.
pub fn decode_key(encoded: &str) -> Result<String, KeyDecodeError> {
    let plus_decoded = encoded.replace('+', " ");
    percent_decode_str(&plus_decoded)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| KeyDecodeError {
            key: encoded.to_owned(),
        })
}

/// Reads an invocation payload as an S3 notification.
///
/// A record that names the same object version as an earlier record of the same event
/// (same bucket, key, version id and ETag) is a [`RecordOutcome::Duplicate`]: S3 does not send
/// such events, but fan-out rules and replays can, and processing the object twice would only
/// count its loops twice.
pub fn parse(payload: &Value) -> Result<Notification, NotAnS3Event> {
    let Some(obj) = payload.as_object() else {
        return Err(NotAnS3Event(format!(
            "expected a JSON object, found {}",
            json_kind(payload)
        )));
    };
    let Some(records) = obj.get("Records") else {
        if obj.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
            return Ok(Notification::TestEvent);
        }
        return Err(NotAnS3Event(
            "it has no Records and is not an s3:TestEvent".into(),
        ));
    };
    let Some(records) = records.as_array() else {
        return Err(NotAnS3Event(format!(
            "Records: expected a list, found {}",
            json_kind(records)
        )));
    };
    // Records are parsed one by one so that one malformed record is reported on its own
    // instead of failing the whole event.
    let mut seen: HashMap<ObjectRef, usize> = HashMap::new();
    let outcomes = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let outcome = match from_value::<S3EventRecord>(r, &format!("Records[{i}]")) {
                Ok(record) => record_outcome(i, record),
                Err(e) => RecordOutcome::Invalid {
                    record_index: i,
                    reason: format!("not an S3 event record: {e}"),
                },
            };
            match outcome {
                RecordOutcome::Created(created) => match seen.get(&created.object) {
                    Some(&first) => RecordOutcome::Duplicate {
                        record_index: i,
                        first_index: first,
                    },
                    None => {
                        seen.insert(created.object.clone(), i);
                        RecordOutcome::Created(created)
                    }
                },
                other => other,
            }
        })
        .collect();
    Ok(Notification::Records(outcomes))
}

fn record_outcome(record_index: usize, record: S3EventRecord) -> RecordOutcome {
    let event_name = record.event_name.clone().unwrap_or_default();
    let encoded_key = record.s3.object.key.clone();
    if !event_name.starts_with("ObjectCreated:") {
        return RecordOutcome::Skipped {
            event_name,
            key: encoded_key,
        };
    }
    let invalid = |reason: String| RecordOutcome::Invalid {
        record_index,
        reason,
    };
    let path = |field: &str| format!("Records[{record_index}].s3.{field}");
    let bucket = match record.s3.bucket.name {
        None => return invalid(format!("{} is missing", path("bucket.name"))),
        Some(b) if b.is_empty() => {
            return invalid(format!("{} is an empty string", path("bucket.name")))
        }
        Some(b) => b,
    };
    let encoded_key = match encoded_key {
        None => return invalid(format!("{} is missing", path("object.key"))),
        Some(k) if k.is_empty() => {
            return invalid(format!("{} is an empty string", path("object.key")))
        }
        Some(k) => k,
    };
    let key = match decode_key(&encoded_key) {
        Ok(k) => k,
        Err(e) => return invalid(format!("{}: {e}", path("object.key"))),
    };
    let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
    RecordOutcome::Created(CreatedObject {
        object: ObjectRef {
            bucket,
            key,
            version_id: non_empty(record.s3.object.version_id),
            e_tag: non_empty(record.s3.object.e_tag).map(|t| t.trim_matches('"').to_owned()),
        },
        event_name,
        size: record.s3.object.size,
        event_time: record.event_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(event_name: &str, key: &str) -> Value {
        json!({
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "eu-west-1",
            "eventTime": "2026-11-21T09:14:03.512Z",
            "eventName": event_name,
            "userIdentity": {"principalId": "AWS:AROAEXAMPLEROLE:uploader"},
            "requestParameters": {"sourceIPAddress": "198.51.100.7"},
            "responseElements": {"x-amz-request-id": "7D2C1B0A9E8F6D5C", "x-amz-id-2": "c2FtcGxlLWlkLTI="},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "inference-results",
                "bucket": {"name": "ml-results", "ownerIdentity": {"principalId": "A1B2C3D4E5F6G7"}, "arn": "arn:aws:s3:::ml-results"},
                "object": {"key": key, "size": 2048, "eTag": "9b2cf535f27731c974343645a3985328", "sequencer": "00674F1E2B8C3D4E5F"}
            }
        })
    }

    #[test]
    fn keys_are_form_decoded_once() {
        let cases = [
            ("red+flower.jpg", "red flower.jpg"),
            ("a%2Bb.json", "a+b.json"),
            ("a%252B.json", "a%2B.json"), // decoded once, not twice
            ("caf%C3%A9/%E6%97%A5%E6%9C%AC.json", "café/日本.json"),
            ("stock/%24NIKK/%24NIKK_1.png", "stock/$NIKK/$NIKK_1.png"),
            ("100%+sure.json", "100% sure.json"), // a lone % stays
            ("plain/key.json", "plain/key.json"),
            ("q%3Fa%3D1%26b.json", "q?a=1&b.json"),
        ];
        for (encoded, decoded) in cases {
            assert_eq!(decode_key(encoded).unwrap(), decoded, "{encoded}");
        }
    }

    #[test]
    fn invalid_utf8_escapes_are_an_error_naming_the_key() {
        let e = decode_key("bad%FF%FE.json").unwrap_err();
        assert_eq!(e.key, "bad%FF%FE.json");
    }

    #[test]
    fn a_put_record_becomes_a_created_object() {
        let n =
            parse(&json!({"Records": [record("ObjectCreated:Put", "in/red+flower%282%29.json")]}))
                .unwrap();
        let Notification::Records(records) = n else {
            panic!("records expected")
        };
        assert_eq!(
            records,
            vec![RecordOutcome::Created(CreatedObject {
                object: ObjectRef {
                    bucket: "ml-results".into(),
                    key: "in/red flower(2).json".into(),
                    version_id: None,
                    e_tag: Some("9b2cf535f27731c974343645a3985328".into()),
                },
                event_name: "ObjectCreated:Put".into(),
                size: Some(2048),
                event_time: "2026-11-21T09:14:03.512Z".parse().unwrap(),
            })]
        );
    }

    #[test]
    fn several_records_are_kept_in_order_and_others_skipped() {
        let mut versioned = record("ObjectCreated:CompleteMultipartUpload", "b.jsonl");
        versioned["s3"]["object"]["versionId"] = json!("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY");
        let n = parse(&json!({"Records": [
            record("ObjectCreated:Put", "a.json"),
            record("ObjectRemoved:Delete", "gone.json"),
            versioned,
        ]}))
        .unwrap();
        let Notification::Records(r) = n else {
            panic!("records expected")
        };
        assert_eq!(r.len(), 3);
        assert!(matches!(&r[0], RecordOutcome::Created(c) if c.object.key == "a.json"));
        assert!(
            matches!(&r[1], RecordOutcome::Skipped { event_name, .. } if event_name == "ObjectRemoved:Delete")
        );
        match &r[2] {
            RecordOutcome::Created(c) => {
                assert_eq!(
                    c.object.version_id.as_deref(),
                    Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")
                );
                assert_eq!(c.event_name, "ObjectCreated:CompleteMultipartUpload");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_test_event_is_recognised() {
        let n = parse(&json!({
            "Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-21T09:00:00.000Z",
            "Bucket": "ml-results", "RequestId": "5582815E1AEA5ADF", "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"
        }))
        .unwrap();
        assert_eq!(n, Notification::TestEvent);
    }

    #[test]
    fn a_bad_record_is_reported_without_dropping_the_others() {
        let mut no_key = record("ObjectCreated:Put", "x");
        no_key["s3"]["object"]
            .as_object_mut()
            .unwrap()
            .remove("key");
        let n = parse(&json!({"Records": [
            json!({"eventName": "ObjectCreated:Put"}),
            no_key,
            record("ObjectCreated:Put", "ok.json"),
        ]}))
        .unwrap();
        let Notification::Records(r) = n else {
            panic!("records expected")
        };
        assert!(
            matches!(&r[0], RecordOutcome::Invalid { record_index: 0, reason } if reason.contains("not an S3 event record"))
        );
        assert!(
            matches!(&r[1], RecordOutcome::Invalid { record_index: 1, reason } if reason.contains("s3.object.key"))
        );
        assert!(matches!(&r[2], RecordOutcome::Created(_)));
    }

    #[test]
    fn payloads_that_are_not_s3_events_are_rejected_with_the_reason() {
        assert!(parse(&json!([1])).unwrap_err().0.contains("JSON object"));
        assert!(parse(&json!({"detail-type": "x"}))
            .unwrap_err()
            .0
            .contains("no Records"));
        assert_eq!(
            parse(&json!({"Records": 3})).unwrap_err().0,
            "Records: expected a list, found a number"
        );
    }

    #[test]
    fn a_wrongly_typed_field_is_named_by_its_path_without_its_value() {
        let mut bad = record("ObjectCreated:Put", "x");
        bad["s3"]["object"]["key"] = json!(12345);
        let mut bad_size = record("ObjectCreated:Put", "y");
        bad_size["s3"]["object"]["size"] = json!("secret-size");
        let n = parse(&json!({"Records": [record("ObjectCreated:Put", "ok.json"), bad, bad_size]}))
            .unwrap();
        let Notification::Records(r) = n else {
            panic!("records expected")
        };
        match &r[1] {
            RecordOutcome::Invalid { reason, .. } => assert!(
                reason.ends_with("Records[1].s3.object.key: expected a string, found a number"),
                "{reason}"
            ),
            other => panic!("{other:?}"),
        }
        match &r[2] {
            RecordOutcome::Invalid { reason, .. } => {
                assert!(
                    reason.contains("Records[2].s3.object.size: expected"),
                    "{reason}"
                );
                assert!(reason.ends_with("found a string"), "{reason}");
                assert!(!reason.contains("secret"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_empty_key_or_bucket_is_named_as_empty() {
        let empty_key = record("ObjectCreated:Put", "");
        let mut empty_bucket = record("ObjectCreated:Put", "k");
        empty_bucket["s3"]["bucket"]["name"] = json!("");
        let n = parse(&json!({"Records": [empty_key, empty_bucket]})).unwrap();
        let Notification::Records(r) = n else {
            panic!("records expected")
        };
        assert_eq!(
            r,
            vec![
                RecordOutcome::Invalid {
                    record_index: 0,
                    reason: "Records[0].s3.object.key is an empty string".into()
                },
                RecordOutcome::Invalid {
                    record_index: 1,
                    reason: "Records[1].s3.bucket.name is an empty string".into()
                },
            ]
        );
    }

    #[test]
    fn a_record_repeated_in_one_event_is_a_duplicate_of_the_first() {
        let mut other_version = record("ObjectCreated:Put", "a.json");
        other_version["s3"]["object"]["eTag"] = json!("another-etag");
        let n = parse(&json!({"Records": [
            record("ObjectCreated:Put", "a.json"),
            record("ObjectCreated:Put", "a.json"),
            other_version,
            record("ObjectCreated:Copy", "a.json"),
        ]}))
        .unwrap();
        let Notification::Records(r) = n else {
            panic!("records expected")
        };
        assert!(matches!(&r[0], RecordOutcome::Created(_)));
        assert_eq!(
            r[1],
            RecordOutcome::Duplicate {
                record_index: 1,
                first_index: 0
            }
        );
        assert!(
            matches!(&r[2], RecordOutcome::Created(c) if c.object.e_tag.as_deref() == Some("another-etag")),
            "another version of the object is another object"
        );
        assert_eq!(
            r[3],
            RecordOutcome::Duplicate {
                record_index: 3,
                first_index: 0
            }
        );
    }
}
