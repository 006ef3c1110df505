//! Reading untrusted JSON: fields of AWS responses in either spelling, and short descriptions
//! of values for error messages.
//!
//! The service APIs answer in PascalCase (`Blocks`, `BlockType`, `ModerationLabels`), while
//! A2I's `output.json` carries the same responses in lower camelCase (`blocks`, `blockType`,
//! `moderationLabels`); items of either origin must evaluate the same way.

use serde_json::{Map, Value};

/// Longest rendering of a value inside an error message, so a huge value cannot flood a log.
const MAX_DESCRIBED_CHARS: usize = 60;

/// The field named `pascal` (API spelling), or else `camel` (A2I output spelling).
pub(crate) fn field<'a>(
    obj: &'a Map<String, Value>,
    pascal: &str,
    camel: &str,
) -> Option<&'a Value> {
    obj.get(pascal).or_else(|| obj.get(camel))
}

/// An optional string field; an error message (naming the field and the value) when the
/// field holds something else.
pub(crate) fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    pascal: &str,
    camel: &str,
) -> Result<Option<&'a str>, String> {
    match field(obj, pascal, camel) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(pascal, other, "a string")),
    }
}

/// An optional number field, as `f64` (integer and float confidences alike).
pub(crate) fn opt_f64(
    obj: &Map<String, Value>,
    pascal: &str,
    camel: &str,
) -> Result<Option<f64>, String> {
    match field(obj, pascal, camel) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| wrong_type(pascal, v, "a number")),
    }
}

/// An optional list field.
pub(crate) fn opt_array<'a>(
    obj: &'a Map<String, Value>,
    pascal: &str,
    camel: &str,
) -> Result<Option<&'a [Value]>, String> {
    match field(obj, pascal, camel) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(other) => Err(wrong_type(pascal, other, "a list")),
    }
}

fn wrong_type(name: &str, value: &Value, expected: &str) -> String {
    format!("{name} is {}, not {expected}", describe(value))
}

/// The kind of a JSON value with its article ("a string", "an object"), for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A value as compact JSON, shortened to [`MAX_DESCRIBED_CHARS`] characters.
pub(crate) fn describe(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= MAX_DESCRIBED_CHARS {
        return text;
    }
    let mut short: String = text.chars().take(MAX_DESCRIBED_CHARS).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn reads_either_spelling_preferring_the_api_one() {
        let both = obj(json!({"BlockType": "KEY", "blockType": "WORD"}));
        assert_eq!(opt_str(&both, "BlockType", "blockType"), Ok(Some("KEY")));
        let camel = obj(json!({"blockType": "WORD"}));
        assert_eq!(opt_str(&camel, "BlockType", "blockType"), Ok(Some("WORD")));
    }

    #[test]
    fn integer_and_float_numbers_both_read_as_f64() {
        let o = obj(json!({"Confidence": 26, "confidence": 1.5}));
        assert_eq!(opt_f64(&o, "Confidence", "confidence"), Ok(Some(26.0)));
        let o = obj(json!({"confidence": 55.551563}));
        assert_eq!(opt_f64(&o, "Confidence", "confidence"), Ok(Some(55.551563)));
    }

    #[test]
    fn wrong_type_names_the_field_and_the_value() {
        let o = obj(json!({"Confidence": "high"}));
        assert_eq!(
            opt_f64(&o, "Confidence", "confidence"),
            Err(r#"Confidence is "high", not a number"#.to_string())
        );
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let long = Value::String("x".repeat(500));
        let d = describe(&long);
        assert_eq!(d.chars().count(), MAX_DESCRIBED_CHARS + 1);
        assert!(d.ends_with('…'));
    }
}
