//! The loop registry: one small object per loop the start handler starts, so that every
//! outcome of a loop can be linked back to its item.
//!
//! A2I's status events and API never return a loop's input, so a `Failed` (expired) or
//! `Stopped` loop would not say which item it was about. Before it calls `StartHumanLoop`, the
//! start handler writes a [`LoopRegistration`] to the results bucket under
//! [`registry_key`]`(REGISTRY_PREFIX, loop name)`; the status handler reads it back by loop
//! name, and `a2i-review loops restart` builds a new loop for the item from it.
//!
//! ## Format (`a2i-review/loop-registration/v1`)
//!
//! Key: `{REGISTRY_PREFIX}{humanLoopName}.json` (default prefix `loops/`), content type
//! `application/json`. Body: compact JSON, keys in this fixed order, no wall-clock time:
//!
//! ```json
//! {"schema":"a2i-review/loop-registration/v1","humanLoopName":"docs-…","flowDefinitionArn":"arn:…",
//!  "source":{"bucket":"in","key":"batch 7/a.jsonl","versionId":null,"eTag":"9b2c…"},
//!  "itemIndex":4,"line":5,"inputSha256":"<hex SHA-256 of the exact InputContent>",
//!  "createdAt":"2026-11-21T10:15:42.187Z","restartOf":null,"generation":0}
//! ```
//!
//! - `source.key` is decoded; `versionId` / `eTag` (unquoted) are `null` when unknown.
//! - `line` is the one-based JSON Lines line, `null` for other documents.
//! - `createdAt` is the S3 event's `eventTime` (when the object was created), so a
//!   redelivered event writes the same bytes.
//! - `restartOf` names the loop a restart replaced (`null` for loops of an upload), and
//!   `generation` counts restarts (0 for loops of an upload).
//! - `taskType` (after `generation`, only for a built-in task type: `textract-forms` or
//!   `rekognition-moderation`) marks a loop A2I started from a Textract or Rekognition call;
//!   its `inputSha256` is then the digest of the request sent to that service
//!   (`crate::start`), `itemIndex` is 0 and `line` `null`. Custom loops have no `taskType`
//!   member, so their bytes are those of earlier versions.
//!
//! Readers accept unknown members (later v1 additions) and refuse another `schema`.

use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::builtin::TaskType;
use crate::error::CallError;
use crate::field_path::{from_value, PathError};
use crate::loop_input::ItemSource;
use crate::source::ObjectRef;

/// The `schema` of every registration this version writes and reads.
pub const SCHEMA: &str = "a2i-review/loop-registration/v1";
/// Default of `REGISTRY_PREFIX`.
pub const DEFAULT_REGISTRY_PREFIX: &str = "loops/";
/// Largest registration read, in bytes. A registration is about 1 KiB; S3 keys, version ids
/// and ARNs are each at most 1024 bytes, so a real one stays far below this.
pub const MAX_REGISTRATION_BYTES: usize = 16 * 1024;

/// The key of `loop_name`'s registration: `{prefix}{loop_name}.json`.
pub fn registry_key(prefix: &str, loop_name: &str) -> String {
    format!("{prefix}{loop_name}.json")
}

/// The object an item was read from, as a registration records it (`null` for what is
/// unknown, so every registration has the same members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredSource {
    /// Bucket of the object.
    pub bucket: String,
    /// Decoded key of the object.
    pub key: String,
    /// Version id, when the bucket is versioned.
    pub version_id: Option<String>,
    /// ETag without quotes, when known.
    pub e_tag: Option<String>,
}

impl From<&ObjectRef> for RegisteredSource {
    fn from(o: &ObjectRef) -> Self {
        Self {
            bucket: o.bucket.clone(),
            key: o.key.clone(),
            version_id: o.version_id.clone(),
            e_tag: o.e_tag.clone(),
        }
    }
}

impl From<&RegisteredSource> for ObjectRef {
    fn from(s: &RegisteredSource) -> Self {
        Self {
            bucket: s.bucket.clone(),
            key: s.key.clone(),
            version_id: s.version_id.clone(),
            e_tag: s.e_tag.clone(),
        }
    }
}

/// One loop the start handler (or a restart) started, and the item it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoopRegistration {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The loop's name.
    pub human_loop_name: String,
    /// The flow definition the loop was started on.
    pub flow_definition_arn: String,
    /// The object the item was read from.
    pub source: RegisteredSource,
    /// Zero-based position of the item in the object.
    pub item_index: u64,
    /// One-based JSON Lines line, when there is one.
    pub line: Option<u64>,
    /// Lower-case hex SHA-256 of the exact `InputContent` sent to A2I.
    pub input_sha256: String,
    /// The S3 event's `eventTime` (for a restart: the time the restart was asked for).
    #[serde(serialize_with = "rfc3339", deserialize_with = "parse_rfc3339")]
    pub created_at: DateTime<Utc>,
    /// The loop this one replaced, for a restart.
    pub restart_of: Option<String>,
    /// 0 for a loop of an upload; one more than the replaced loop's for a restart.
    pub generation: u32,
    /// The built-in task type whose service call A2I started the loop from; `None` (and no
    /// member) for a custom loop started with `StartHumanLoop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_type: Option<TaskType>,
}

fn rfc3339<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn parse_rfc3339<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| serde::de::Error::custom("expected an RFC 3339 timestamp"))
}

/// Lower-case hex SHA-256 of `input_content`, as [`LoopRegistration::input_sha256`] holds it.
pub fn input_sha256(input_content: &str) -> String {
    hex::encode(Sha256::digest(input_content.as_bytes()))
}

impl LoopRegistration {
    /// The registration of a loop of an upload (generation 0).
    pub fn new(
        human_loop_name: &str,
        flow_definition_arn: &str,
        item: &ItemSource,
        input_content: &str,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            schema: SCHEMA.to_owned(),
            human_loop_name: human_loop_name.to_owned(),
            flow_definition_arn: flow_definition_arn.to_owned(),
            source: RegisteredSource::from(&item.object),
            item_index: item.item_index,
            line: item.line,
            input_sha256: input_sha256(input_content),
            created_at,
            restart_of: None,
            generation: 0,
            task_type: None,
        }
    }

    /// The same registration, for a loop A2I starts from a call of `task_type`'s service
    /// (`None` for [`TaskType::Custom`]).
    pub fn with_task_type(mut self, task_type: TaskType) -> Self {
        self.task_type = task_type.is_builtin().then_some(task_type);
        self
    }

    /// The registration of `new_loop_name`, a restart of this loop for the same item:
    /// `restartOf` is this loop and `generation` one more than this one's.
    pub fn restarted_as(
        &self,
        new_loop_name: &str,
        input_content: &str,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            human_loop_name: new_loop_name.to_owned(),
            input_sha256: input_sha256(input_content),
            created_at,
            restart_of: Some(self.human_loop_name.clone()),
            generation: self.generation.saturating_add(1),
            ..self.clone()
        }
    }

    /// The item the loop is about, as the loop input and reviewed results name it.
    pub fn item_source(&self) -> ItemSource {
        ItemSource {
            object: ObjectRef::from(&self.source),
            item_index: self.item_index,
            line: self.line,
        }
    }

    /// The bytes written: compact JSON, members in declaration order.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a LoopRegistration holds only strings and numbers")
    }

    /// Parses a registration read from S3: at most [`MAX_REGISTRATION_BYTES`], JSON, the
    /// members above with their types, this [`SCHEMA`], a valid loop name and a 64-digit
    /// digest. Errors name the member and the rule, never a value.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        if bytes.len() > MAX_REGISTRATION_BYTES {
            return Err(ParseError::TooLarge {
                bytes: bytes.len() as u64,
            });
        }
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| ParseError::NotJson(format!("line {} column {}", e.line(), e.column())))?;
        let schema = value.get("schema").and_then(serde_json::Value::as_str);
        if schema != Some(SCHEMA) {
            return Err(ParseError::UnsupportedSchema {
                found: schema.map(|s| s.chars().take(64).collect()),
            });
        }
        let reg: Self = from_value(&value, "")?;
        let rule = |path: &str, problem: &str| {
            Err(ParseError::Invalid(PathError {
                path: path.to_owned(),
                problem: problem.to_owned(),
            }))
        };
        if !crate::loop_name::is_valid(&reg.human_loop_name) {
            return rule(
                "humanLoopName",
                "not a loop name (1-63 of a-z, 0-9 and inner '-')",
            );
        }
        let hex_ok = reg.input_sha256.len() == 64
            && reg
                .input_sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex_ok {
            return rule("inputSha256", "expected 64 lower-case hex digits");
        }
        if reg.source.bucket.is_empty() || reg.source.key.is_empty() {
            return rule("source", "bucket and key must not be empty");
        }
        if reg
            .restart_of
            .as_deref()
            .is_some_and(|r| !crate::loop_name::is_valid(r))
        {
            return rule("restartOf", "not a loop name");
        }
        Ok(reg)
    }
}

/// Why bytes are not a registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Over [`MAX_REGISTRATION_BYTES`].
    #[error("the registration is {bytes} bytes; at most {MAX_REGISTRATION_BYTES} are read")]
    TooLarge {
        /// Its size.
        bytes: u64,
    },
    /// Not JSON; where parsing stopped.
    #[error("the registration is not JSON (at {0})")]
    NotJson(String),
    /// Another `schema` (at most 64 characters of it), or none.
    #[error("the registration's schema is {found:?}, not {SCHEMA:?}")]
    UnsupportedSchema {
        /// The `schema` found.
        found: Option<String>,
    },
    /// A member is missing, of the wrong type, or breaks a rule.
    #[error("the registration is invalid: {0}")]
    Invalid(#[from] PathError),
}

/// Reading or writing a registration failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    /// The S3 call failed.
    #[error("loop registry s3://{bucket}/{key}: {call}")]
    S3 {
        /// The registry bucket.
        bucket: String,
        /// The registration's key.
        key: String,
        /// The classified failure.
        call: CallError,
    },
    /// The object is not a valid registration.
    #[error("loop registry s3://{bucket}/{key}: {source}")]
    Parse {
        /// The registry bucket.
        bucket: String,
        /// The registration's key.
        key: String,
        /// What is wrong with it.
        source: ParseError,
    },
}

impl RegistryError {
    /// Whether trying again may succeed (S3 throttling, 5xx, timeouts); a bad registration
    /// stays bad.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::S3 { call, .. } => call.retryable,
            Self::Parse { .. } => false,
        }
    }
}

/// Where registrations live, and the client to reach them.
#[derive(Debug, Clone)]
pub struct Registry {
    s3: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl Registry {
    /// The registry in `bucket` under `prefix`.
    pub fn new(
        s3: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
    ) -> Self {
        Self {
            s3,
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }

    /// The registry bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix of registrations.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The key of `loop_name`'s registration.
    pub fn key(&self, loop_name: &str) -> String {
        registry_key(&self.prefix, loop_name)
    }

    /// Writes `registration` under its loop's key (the same bytes for the same registration).
    pub async fn write(&self, registration: &LoopRegistration) -> Result<(), RegistryError> {
        let key = self.key(&registration.human_loop_name);
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/json")
            .body(ByteStream::from(registration.to_json_bytes()))
            .send()
            .await
            .map_err(|e| RegistryError::S3 {
                bucket: self.bucket.clone(),
                key,
                call: CallError::classify("PutObject", &e),
            })?;
        Ok(())
    }

    /// Reads `loop_name`'s registration; `None` when there is none (`NoSuchKey`: a loop this
    /// app did not start). Reads at most [`MAX_REGISTRATION_BYTES`] + 1 bytes.
    pub async fn read(&self, loop_name: &str) -> Result<Option<LoopRegistration>, RegistryError> {
        let key = self.key(loop_name);
        let s3_err = |call: CallError| RegistryError::S3 {
            bucket: self.bucket.clone(),
            key: key.clone(),
            call,
        };
        let out = match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(s3_err(CallError::classify("GetObject", &e))),
        };
        let parse_err = |source: ParseError| RegistryError::Parse {
            bucket: self.bucket.clone(),
            key: key.clone(),
            source,
        };
        if let Some(len) = out
            .content_length()
            .filter(|&l| l > MAX_REGISTRATION_BYTES as i64)
        {
            return Err(parse_err(ParseError::TooLarge { bytes: len as u64 }));
        }
        let mut bytes = Vec::new();
        out.body
            .into_async_read()
            .take(MAX_REGISTRATION_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| s3_err(CallError::body_read("GetObject", &e)))?;
        LoopRegistration::parse(&bytes).map(Some).map_err(parse_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> ItemSource {
        ItemSource {
            object: ObjectRef {
                bucket: "in".into(),
                key: "batch 7/a+b.jsonl".into(),
                version_id: None,
                e_tag: Some("9b2cf535f27731c974343645a3985328".into()),
            },
            item_index: 4,
            line: Some(5),
        }
    }

    fn time() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T10:15:42.187Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    const FLOW: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/f";

    #[test]
    fn the_format_is_compact_json_in_a_fixed_order() {
        let r = LoopRegistration::new("docs-abc", FLOW, &item(), "{\"x\":1}", time());
        let text = String::from_utf8(r.to_json_bytes()).unwrap();
        let digest = input_sha256("{\"x\":1}");
        assert_eq!(
            text,
            format!(
                r#"{{"schema":"a2i-review/loop-registration/v1","humanLoopName":"docs-abc","flowDefinitionArn":"{FLOW}","source":{{"bucket":"in","key":"batch 7/a+b.jsonl","versionId":null,"eTag":"9b2cf535f27731c974343645a3985328"}},"itemIndex":4,"line":5,"inputSha256":"{digest}","createdAt":"2026-11-21T10:15:42.187Z","restartOf":null,"generation":0}}"#
            )
        );
        assert_eq!(digest.len(), 64);
        assert_eq!(LoopRegistration::parse(text.as_bytes()).unwrap(), r);
        assert_eq!(registry_key("loops/", "docs-abc"), "loops/docs-abc.json");
    }

    #[test]
    fn a_built_in_registration_says_its_task_type_and_a_custom_one_has_no_member() {
        let custom = LoopRegistration::new("docs-abc", FLOW, &item(), "in", time());
        let text = String::from_utf8(custom.to_json_bytes()).unwrap();
        assert!(!text.contains("taskType"), "{text}");
        assert_eq!(
            custom.clone().with_task_type(TaskType::Custom).task_type,
            None
        );
        let builtin = custom.with_task_type(TaskType::RekognitionModeration);
        let text = String::from_utf8(builtin.to_json_bytes()).unwrap();
        assert!(
            text.ends_with(r#""generation":0,"taskType":"rekognition-moderation"}"#),
            "{text}"
        );
        assert_eq!(LoopRegistration::parse(text.as_bytes()).unwrap(), builtin);
        let restarted = builtin.restarted_as("docs-abc-r1", "in", time());
        assert_eq!(restarted.task_type, Some(TaskType::RekognitionModeration));
    }

    #[test]
    fn the_digest_is_sha256_of_the_exact_input() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            input_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_restart_points_at_the_loop_it_replaces() {
        let r = LoopRegistration::new("docs-abc", FLOW, &item(), "in", time());
        let r1 = r.restarted_as("docs-abc-r1", "in", time());
        assert_eq!(r1.restart_of.as_deref(), Some("docs-abc"));
        assert_eq!(r1.generation, 1);
        assert_eq!(r1.source, r.source);
        assert_eq!(r1.item_source(), item());
        let r2 = r1.restarted_as("docs-abc-r2", "in", time());
        assert_eq!(
            (r2.restart_of.as_deref(), r2.generation),
            (Some("docs-abc-r1"), 2)
        );
    }

    #[test]
    fn bad_registrations_are_typed_errors_naming_the_member() {
        let good =
            serde_json::to_value(LoopRegistration::new("l", FLOW, &item(), "i", time())).unwrap();
        let with = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            f(&mut v);
            serde_json::to_vec(&v).unwrap()
        };
        let big = vec![b' '; MAX_REGISTRATION_BYTES + 1];
        assert_eq!(
            LoopRegistration::parse(&big),
            Err(ParseError::TooLarge {
                bytes: MAX_REGISTRATION_BYTES as u64 + 1
            })
        );
        assert!(matches!(
            LoopRegistration::parse(b"{\"schema\":"),
            Err(ParseError::NotJson(_))
        ));
        assert_eq!(
            LoopRegistration::parse(&with(&|v| v["schema"] = "x/v2".into())),
            Err(ParseError::UnsupportedSchema {
                found: Some("x/v2".into())
            })
        );
        type Change<'a> = &'a dyn Fn(&mut serde_json::Value);
        let cases: [(Change, &str); 6] = [
            (&|v| v["itemIndex"] = "4".into(), "itemIndex"),
            (&|v| v["source"]["key"] = 1.into(), "source.key"),
            (&|v| v["createdAt"] = "yesterday".into(), "createdAt"),
            (
                &|v| v["humanLoopName"] = "Not_A_Name".into(),
                "humanLoopName",
            ),
            (&|v| v["inputSha256"] = "ABC".into(), "inputSha256"),
            (
                &|v| {
                    v.as_object_mut().unwrap().remove("generation");
                },
                "generation",
            ),
        ];
        for (f, path) in cases {
            match LoopRegistration::parse(&with(f)) {
                // A missing member is named in the problem, others by their path.
                Err(ParseError::Invalid(e)) => assert!(e.to_string().contains(path), "{e}"),
                other => panic!("{path}: {other:?}"),
            }
        }
        // Unknown members (later v1 additions) are accepted.
        assert!(LoopRegistration::parse(&with(&|v| v["note"] = "x".into())).is_ok());
    }

    #[tokio::test]
    async fn write_then_read_over_s3_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let s3 = crate::testing::local_s3(dir.path());
        crate::testing::ensure_bucket(&s3, "results").await;
        let registry = Registry::new(s3.clone(), "results", DEFAULT_REGISTRY_PREFIX);
        let r = LoopRegistration::new("docs-abc", FLOW, &item(), "in", time());
        registry.write(&r).await.unwrap();
        assert_eq!(registry.read("docs-abc").await.unwrap(), Some(r.clone()));
        assert_eq!(registry.read("docs-other").await.unwrap(), None);
        let got = s3
            .get_object()
            .bucket("results")
            .key("loops/docs-abc.json")
            .send()
            .await
            .unwrap();
        assert_eq!(got.content_type(), Some("application/json"));
        crate::testing::put(&s3, "results", "loops/bad.json", &vec![b'x'; 20_000]).await;
        let e = registry.read("bad").await.unwrap_err();
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("20000 bytes"), "{e}");
    }
}
