//! Recorded model outputs: a model cannot run locally, so Textract and Rekognition answers
//! are replayed from responses recorded for a document, matched by the SHA-256 of its bytes
//! or by its bucket and key.
//!
//! A recording is one JSON file (`*.json`) in the `--recorded-analyses` directory:
//!
//! ```json
//! {"service": "textract",
//!  "match": {"sha256": "<hex of the document's bytes>"},
//!  "response": {"DocumentMetadata": {"Pages": 1}, "Blocks": [ ... ]}}
//! ```
//!
//! `service` is `textract` (an `AnalyzeDocument` response) or `rekognition` (a
//! `DetectModerationLabels` response); `match` has `sha256`, or `bucket` and `key`, or all
//! three (either matches). `response` is the service's answer as the API returns it
//! (PascalCase), without `HumanLoopActivationOutput`, which a2i-local computes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

/// Largest recording file read, in bytes (a Textract response of a dense page is a few MB).
pub const MAX_RECORDING_BYTES: u64 = 32 * 1024 * 1024;

/// Which service a recording answers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Amazon Textract `AnalyzeDocument`.
    Textract,
    /// Amazon Rekognition `DetectModerationLabels`.
    Rekognition,
}

impl Service {
    /// The value of a recording's `service` field.
    pub fn id(self) -> &'static str {
        match self {
            Service::Textract => "textract",
            Service::Rekognition => "rekognition",
        }
    }

    /// The key every recorded response of this service must have, as a list.
    fn required_list(self) -> &'static str {
        match self {
            Service::Textract => "Blocks",
            Service::Rekognition => "ModerationLabels",
        }
    }
}

/// A recording file that cannot be used; names the file and the rule, never its content.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// The directory or a file cannot be read.
    #[error("cannot read recorded analyses at {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file breaks the format.
    #[error("recorded analysis {path}: {rule}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        rule: String,
    },
}

/// The loaded recordings, indexed by digest and by object.
#[derive(Debug, Default, Clone)]
pub struct RecordedAnalyses {
    by_digest: HashMap<(Service, String), Arc<Value>>,
    by_object: HashMap<(Service, String, String), Arc<Value>>,
    dir: Option<PathBuf>,
}

impl RecordedAnalyses {
    /// No recordings: every analysis answers "no recording".
    pub fn empty() -> Self {
        Self::default()
    }

    /// Loads every `*.json` file of `dir` (not recursive). Two recordings claiming the same
    /// document for the same service are an error, so a replay is never ambiguous.
    pub fn load(dir: &Path) -> Result<Self, RecordingError> {
        let io = |source| RecordingError::Io {
            path: dir.to_owned(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
            .collect();
        files.sort();
        let mut recorded = Self {
            dir: Some(dir.to_owned()),
            ..Self::default()
        };
        for path in files {
            let size = std::fs::metadata(&path)
                .map_err(|source| RecordingError::Io {
                    path: path.clone(),
                    source,
                })?
                .len();
            if size > MAX_RECORDING_BYTES {
                return Err(RecordingError::Invalid {
                    path,
                    rule: format!("{size} bytes is over the limit of {MAX_RECORDING_BYTES}"),
                });
            }
            let text = std::fs::read(&path).map_err(|source| RecordingError::Io {
                path: path.clone(),
                source,
            })?;
            recorded
                .add_json(&text)
                .map_err(|rule| RecordingError::Invalid { path, rule })?;
        }
        Ok(recorded)
    }

    /// Adds one recording from its JSON text; the error is the rule broken.
    pub fn add_json(&mut self, text: &[u8]) -> Result<(), String> {
        let doc: Value =
            serde_json::from_slice(text).map_err(|e| format!("not valid JSON ({e})"))?;
        let service = match doc.get("service").and_then(Value::as_str) {
            Some("textract") => Service::Textract,
            Some("rekognition") => Service::Rekognition,
            _ => return Err(r#""service" must be "textract" or "rekognition""#.into()),
        };
        let response = doc
            .get("response")
            .filter(|r| r.is_object())
            .ok_or(r#""response" must be an object (the service's answer)"#)?;
        if !response
            .get(service.required_list())
            .is_some_and(Value::is_array)
        {
            return Err(format!(
                r#""response" has no "{}" list; is it a {} response?"#,
                service.required_list(),
                service.id()
            ));
        }
        if response.get("HumanLoopActivationOutput").is_some() {
            return Err(r#""response" carries HumanLoopActivationOutput; record the service's answer without it (a2i-local evaluates the flow definition itself)"#.into());
        }
        let matcher = doc
            .get("match")
            .and_then(Value::as_object)
            .ok_or(r#""match" must be an object with "sha256", or "bucket" and "key""#)?;
        let response = Arc::new(response.clone());
        let mut matched = false;
        if let Some(digest) = matcher.get("sha256") {
            let digest = digest
                .as_str()
                .filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or(r#""match.sha256" must be 64 hex digits"#)?
                .to_ascii_lowercase();
            if self
                .by_digest
                .insert((service, digest), Arc::clone(&response))
                .is_some()
            {
                return Err("another recording already matches this sha256".into());
            }
            matched = true;
        }
        match (matcher.get("bucket"), matcher.get("key")) {
            (Some(Value::String(bucket)), Some(Value::String(key))) => {
                let slot = (service, bucket.clone(), key.clone());
                if self.by_object.insert(slot, response).is_some() {
                    return Err("another recording already matches this bucket and key".into());
                }
                matched = true;
            }
            (None, None) => {}
            _ => return Err(r#""match.bucket" and "match.key" go together, as strings"#.into()),
        }
        if !matched {
            return Err(r#""match" must have "sha256", or "bucket" and "key""#.into());
        }
        Ok(())
    }

    /// The recorded response for a document: by digest first, then by object.
    pub fn find(
        &self,
        service: Service,
        sha256: &str,
        object: Option<(&str, &str)>,
    ) -> Option<Arc<Value>> {
        self.by_digest
            .get(&(service, sha256.to_owned()))
            .or_else(|| {
                let (bucket, key) = object?;
                self.by_object
                    .get(&(service, bucket.to_owned(), key.to_owned()))
            })
            .cloned()
    }

    /// How many recordings are loaded.
    pub fn len(&self) -> usize {
        self.by_digest.len() + self.by_object.len()
    }

    /// Whether none is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The message for a document nothing was recorded for: what was looked up and how to
    /// record it (names and digests only).
    pub fn missing_message(
        &self,
        service: Service,
        sha256: &str,
        object: Option<(&str, &str)>,
    ) -> String {
        let what = match object {
            Some((bucket, key)) => format!("s3://{bucket}/{key} (sha256 {sha256})"),
            None => format!("the document bytes (sha256 {sha256})"),
        };
        let dir = match &self.dir {
            Some(dir) => format!("the directory {}", dir.display()),
            None => "a directory given to `a2i-local serve --recorded-analyses DIR`".to_owned(),
        };
        format!(
            "a2i-local has no recorded {} analysis for {what}. A model cannot run locally: \
             record the real service's response for this document once and put it in {dir} \
             as a JSON file {{\"service\": \"{}\", \"match\": {{\"sha256\": \"{sha256}\"}}, \
             \"response\": {{...}}}} (see docs/built-in-task-types.md).",
            service.id(),
            service.id(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12";

    #[test]
    fn finds_by_digest_then_by_object() {
        let mut r = RecordedAnalyses::empty();
        r.add_json(format!(r#"{{"service":"textract","match":{{"sha256":"{DIGEST}"}},"response":{{"Blocks":[]}}}}"#).as_bytes())
            .unwrap();
        r.add_json(br#"{"service":"rekognition","match":{"bucket":"b","key":"k.png"},"response":{"ModerationLabels":[]}}"#)
            .unwrap();
        assert!(r.find(Service::Textract, DIGEST, None).is_some());
        assert!(r.find(Service::Rekognition, DIGEST, None).is_none());
        assert!(r
            .find(Service::Rekognition, "00", Some(("b", "k.png")))
            .is_some());
        assert!(r
            .find(Service::Rekognition, "00", Some(("b", "other")))
            .is_none());
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn rejects_malformed_recordings_with_the_rule() {
        let mut r = RecordedAnalyses::empty();
        let cases: &[(&str, &str)] = &[
            ("{", "not valid JSON"),
            (r#"{"service":"comprehend"}"#, "\"service\" must be"),
            (
                r#"{"service":"textract","response":[]}"#,
                "must be an object",
            ),
            (
                r#"{"service":"textract","response":{"ModerationLabels":[]},"match":{"sha256":"00"}}"#,
                "no \"Blocks\" list",
            ),
            (
                r#"{"service":"textract","response":{"Blocks":[]},"match":{"sha256":"00"}}"#,
                "64 hex digits",
            ),
            (
                r#"{"service":"textract","response":{"Blocks":[]},"match":{"bucket":"b"}}"#,
                "go together",
            ),
            (
                r#"{"service":"textract","response":{"Blocks":[]},"match":{}}"#,
                "must have",
            ),
            (
                r#"{"service":"textract","response":{"Blocks":[],"HumanLoopActivationOutput":{}},"match":{}}"#,
                "without it",
            ),
        ];
        for (text, rule) in cases {
            let err = r.add_json(text.as_bytes()).unwrap_err();
            assert!(err.contains(rule), "{text}: {err}");
        }
    }

    #[test]
    fn two_recordings_for_one_document_are_refused() {
        let mut r = RecordedAnalyses::empty();
        let one = format!(
            r#"{{"service":"textract","match":{{"sha256":"{DIGEST}"}},"response":{{"Blocks":[]}}}}"#
        );
        r.add_json(one.as_bytes()).unwrap();
        assert!(r.add_json(one.as_bytes()).unwrap_err().contains("already"));
    }

    #[test]
    fn loads_a_directory_and_names_the_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("form.json"),
            format!(r#"{{"service":"textract","match":{{"sha256":"{DIGEST}"}},"response":{{"Blocks":[]}}}}"#),
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        assert_eq!(RecordedAnalyses::load(dir.path()).unwrap().len(), 1);
        std::fs::write(dir.path().join("bad.json"), "{}").unwrap();
        let err = RecordedAnalyses::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("bad.json"), "{err}");
    }

    #[test]
    fn the_missing_message_says_how_to_record() {
        let r = RecordedAnalyses::empty();
        let m = r.missing_message(Service::Textract, DIGEST, Some(("docs", "a.png")));
        assert!(
            m.contains("s3://docs/a.png")
                && m.contains(DIGEST)
                && m.contains("--recorded-analyses"),
            "{m}"
        );
    }
}
