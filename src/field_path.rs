//! Untrusted JSON to typed values with serde, with errors that name the field's path and the
//! JSON kinds involved, never the value.
//!
//! serde's messages neither say where a field is (`invalid type: integer, expected a
//! string`) nor keep values out (`invalid type: string "…"`). Deserializing through
//! `serde_path_to_error` gives the path; the kind that was found is read from the document at
//! that path, and the value itself is never quoted.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A field of an untrusted document that does not fit the expected type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct PathError {
    /// Where the field is, e.g. `Records[0].s3.object.key` (`(document)` for the root).
    pub path: String,
    /// What is wrong: the expected type and the JSON kind found, or the rule broken.
    pub problem: String,
}

/// The JSON kind of a value, for messages that must not echo the value
/// ([`crate::conditions::json::json_type`]); an empty string is named as such (an empty key or
/// name is a different mistake from a wrong type).
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::String(s) if s.is_empty() => "an empty string",
        other => crate::conditions::json::json_type(other),
    }
}

/// Deserializes `value` into `T`; `prefix` is the path of `value` in its document (empty for
/// the root), so errors read `Records[2].s3.object.key: expected a string, found a number`.
pub fn from_value<T: DeserializeOwned>(value: &Value, prefix: &str) -> Result<T, PathError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let mut path = prefix.to_owned();
        let mut at = Some(value);
        for segment in err.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => {
                    path.push_str(&format!("[{index}]"));
                    at = at.and_then(|v| v.get(index));
                }
                serde_path_to_error::Segment::Map { key }
                | serde_path_to_error::Segment::Enum { variant: key } => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    at = at.and_then(|v| v.get(key));
                }
                serde_path_to_error::Segment::Unknown => {
                    path.push_str(".?");
                    at = None;
                }
            }
        }
        if path.is_empty() {
            path = "(document)".to_owned();
        }
        PathError {
            path,
            problem: problem(&err.into_inner().to_string(), at),
        }
    })
}

/// Rewrites serde's message without the value: serde's type errors end in `, expected …`
/// (the visitor's description of the type, never data); `missing field` names only the
/// schema. Any other message (a custom one from a field's own parser) may quote the input,
/// so it is replaced by the kind that was found.
fn problem(message: &str, found: Option<&Value>) -> String {
    if let Some((_, expected)) = message.rsplit_once(", expected ") {
        return match found {
            Some(v) => format!("expected {expected}, found {}", json_kind(v)),
            None => format!("expected {expected}"),
        };
    }
    if message.starts_with("missing field") || message.starts_with("duplicate field") {
        return message.to_owned();
    }
    match found {
        Some(v) => format!(
            "found {} that cannot be read as this field's type",
            json_kind(v)
        ),
        None => "found a value that cannot be read as this field's type".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        key: String,
        size: Option<i64>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
        when: Option<chrono::DateTime<chrono::Utc>>,
    }

    #[test]
    fn a_wrong_type_names_the_path_and_both_kinds_but_not_the_value() {
        let doc = json!({"items": [{"key": "a"}, {"key": 5}]});
        let e = from_value::<Outer>(&doc, "").unwrap_err();
        assert_eq!(
            e.to_string(),
            "items[1].key: expected a string, found a number"
        );
        let doc = json!({"items": [{"key": "a", "size": "secret-size"}]});
        let e = from_value::<Outer>(&doc, "Records[3]").unwrap_err();
        assert_eq!(e.path, "Records[3].items[0].size");
        assert!(e.problem.ends_with("found a string"), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    #[test]
    fn missing_fields_and_unparseable_strings_say_so_without_the_value() {
        let e = from_value::<Outer>(&json!({"items": [{}]}), "").unwrap_err();
        assert_eq!(e.to_string(), "items[0]: missing field `key`");
        let e =
            from_value::<Outer>(&json!({"items": [], "when": "secret o'clock"}), "").unwrap_err();
        assert_eq!(e.path, "when");
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(e.problem.contains("a string"), "{e}");
        let e = from_value::<Outer>(&json!("secret"), "").unwrap_err();
        assert_eq!(
            e.to_string(),
            "(document): expected struct Outer, found a string"
        );
    }

    #[test]
    fn empty_strings_are_named_as_such() {
        assert_eq!(json_kind(&json!("")), "an empty string");
        assert_eq!(json_kind(&json!("x")), "a string");
    }
}
