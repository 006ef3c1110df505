//! Typed reading of untrusted JSON objects, field by field, with errors that name the path.
//!
//! serde's own messages neither name the field that failed (`invalid type: integer, expected a
//! string`) nor keep values out (`invalid type: string "…"`), and the documents read here hold
//! reviewer answers that must never reach a log line. So the status handler reads events and
//! `output.json` through these helpers: every error says where (`humanAnswers[1].workerId`),
//! what was expected and which JSON kind was found, never the value.

use chrono::{DateTime, Utc};
use serde_json::{Map, Number, Value};

use crate::conditions::json::json_type;

/// One field that is missing or has the wrong type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct FieldError {
    /// Where the field is, e.g. `detail.humanLoopName` or `humanAnswers[0].answerContent`.
    pub path: String,
    /// What is wrong, without the value.
    pub problem: String,
}

impl FieldError {
    /// A field that breaks a rule other than its type.
    pub(crate) fn new(path: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            problem: problem.into(),
        }
    }

    fn expected(path: String, expected: &str, found: &Value) -> Self {
        // The type alone: the value may be a reviewer's answer. The one wording shared with
        // the conditions (`describe` there adds sizes; these messages keep to the type).
        Self::new(
            path,
            format!("expected {expected}, found {}", json_type(found)),
        )
    }

    fn missing(path: String, expected: &str) -> Self {
        Self::new(
            path,
            format!("expected {expected}, but the field is missing"),
        )
    }
}

/// Parses an RFC 3339 timestamp (what A2I and EventBridge write) into UTC.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

const TIME: &str = "an RFC 3339 timestamp string";

/// A JSON object being read, with the path that leads to it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

impl<'a> Fields<'a> {
    /// Reads `value` as an object found at `path` (empty for the document root).
    pub(crate) fn of(value: &'a Value, path: &'a str) -> Result<Self, FieldError> {
        match value {
            Value::Object(map) => Ok(Self { map, path }),
            other => Err(FieldError::expected(display_path(path), "an object", other)),
        }
    }

    /// The path of a member, for errors and for nested readers.
    pub(crate) fn path_of(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// A member that is present and not null. Absent and `null` mean the same thing in A2I's
    /// documents (`"failureReason": null`), so every optional reader goes through here.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn required(&self, name: &str, expected: &str) -> Result<&'a Value, FieldError> {
        match self.map.get(name) {
            None => Err(FieldError::missing(self.path_of(name), expected)),
            Some(v) => Ok(v),
        }
    }

    /// A required string.
    pub(crate) fn req_str(&self, name: &str) -> Result<&'a str, FieldError> {
        let v = self.required(name, "a string")?;
        v.as_str()
            .ok_or_else(|| FieldError::expected(self.path_of(name), "a string", v))
    }

    /// A string that may be absent or null.
    pub(crate) fn opt_str(&self, name: &str) -> Result<Option<&'a str>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(FieldError::expected(
                self.path_of(name),
                "a string or null",
                v,
            )),
        }
    }

    /// A required RFC 3339 timestamp.
    pub(crate) fn req_time(&self, name: &str) -> Result<DateTime<Utc>, FieldError> {
        let v = self.required(name, TIME)?;
        let s = v
            .as_str()
            .ok_or_else(|| FieldError::expected(self.path_of(name), TIME, v))?;
        parse_time(s).ok_or_else(|| {
            FieldError::new(
                self.path_of(name),
                format!("expected {TIME}, found a string that is not one"),
            )
        })
    }

    /// An RFC 3339 timestamp that may be absent or null.
    pub(crate) fn opt_time(&self, name: &str) -> Result<Option<DateTime<Utc>>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(_) => self.req_time(name).map(Some),
        }
    }

    /// A number that may be absent or null, kept as written (integer or decimal).
    pub(crate) fn opt_number(&self, name: &str) -> Result<Option<Number>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(Some(n.clone())),
            Some(v) => Err(FieldError::expected(
                self.path_of(name),
                "a number or null",
                v,
            )),
        }
    }

    /// A required array.
    pub(crate) fn req_array(&self, name: &str) -> Result<&'a [Value], FieldError> {
        let v = self.required(name, "an array")?;
        v.as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| FieldError::expected(self.path_of(name), "an array", v))
    }

    /// A required object, returned as the raw value (for content that is passed through).
    pub(crate) fn req_object_value(&self, name: &str) -> Result<&'a Value, FieldError> {
        let v = self.required(name, "an object")?;
        if v.is_object() {
            Ok(v)
        } else {
            Err(FieldError::expected(self.path_of(name), "an object", v))
        }
    }

    /// An object that may be absent or null, returned as the raw value.
    pub(crate) fn opt_object_value(&self, name: &str) -> Result<Option<&'a Value>, FieldError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.is_object() => Ok(Some(v)),
            Some(v) => Err(FieldError::expected(
                self.path_of(name),
                "an object or null",
                v,
            )),
        }
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "(document)".to_owned()
    } else {
        path.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_name_the_path_and_kind_but_never_the_value() {
        let doc = json!({"a": {"b": "secret answer", "n": "12"}});
        let outer = Fields::of(&doc, "").unwrap();
        let path = outer.path_of("a");
        let inner = Fields::of(&doc["a"], &path).unwrap();
        let e = inner.req_array("b").unwrap_err();
        assert_eq!(e.path, "a.b");
        assert_eq!(e.problem, "expected an array, found a string");
        assert!(!e.to_string().contains("secret"), "{e}");
        let e = inner.opt_number("n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.n: expected a number or null, found a string"
        );
        let e = inner.req_str("missing").unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.missing: expected a string, but the field is missing"
        );
    }

    #[test]
    fn null_is_absent_for_optional_fields_but_not_for_required_ones() {
        let doc = json!({"r": null});
        let f = Fields::of(&doc, "detail").unwrap();
        assert_eq!(f.opt_str("r").unwrap(), None);
        assert_eq!(f.opt_time("r").unwrap(), None);
        assert_eq!(
            f.req_str("r").unwrap_err().to_string(),
            "detail.r: expected a string, found null"
        );
    }

    #[test]
    fn timestamps_must_be_rfc3339() {
        let doc = json!({"ok": "2019-11-14T17:37:36.740Z", "bad": "14/11/2019", "num": 5});
        let f = Fields::of(&doc, "").unwrap();
        let t = f.req_time("ok").unwrap();
        assert_eq!(t.timestamp_millis(), 1_573_753_056_740);
        assert!(f.req_time("bad").unwrap_err().problem.contains("not one"));
        assert!(f
            .opt_time("num")
            .unwrap_err()
            .problem
            .contains("found a number"));
    }

    #[test]
    fn a_non_object_root_is_named() {
        let e = Fields::of(&json!([1]), "").unwrap_err();
        assert_eq!(
            e.to_string(),
            "(document): expected an object, found an array"
        );
    }
}
