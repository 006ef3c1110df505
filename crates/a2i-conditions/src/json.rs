//! Reading untrusted JSON: fields of AWS responses in either spelling, and descriptions of
//! values for messages that never carry the values themselves.
//!
//! The service APIs answer in PascalCase (`Blocks`, `BlockType`, `ModerationLabels`), while
//! A2I's `output.json` carries the same responses in lower camelCase (`blocks`, `blockType`,
//! `moderationLabels`); items of either origin must evaluate the same way.

use serde_json::{Map, Value};

/// Longest rendering of a configured value in a reason or message, so a huge one stays
/// readable.
const MAX_QUOTED_CHARS: usize = 60;

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

/// The type of a JSON value with its article, as messages name it: `null`, `a boolean`,
/// `a number`, `a string`, `an array`, `an object`.
///
/// For messages whose wording is fixed by type alone; [`describe`] adds the size.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON value described for humans without any of its content: its type and, for a
/// string, an array or an object, its size (`a string of 3 characters`, `an empty array`,
/// `an array of 1 element`, `an object with 2 keys`).
///
/// Every error message about a value read from an item or an answer goes through here, so
/// no message (and no log line quoting one) can carry the value itself: not a string's
/// text, not a number, not a boolean, not a key.
pub fn describe(value: &Value) -> String {
    fn sized(what: &str, n: usize, unit: &str, units: &str, link: &str) -> String {
        match n {
            0 => format!("an empty {what}"),
            1 => format!("{} {what} {link} 1 {unit}", article(what)),
            n => format!("{} {what} {link} {n} {units}", article(what)),
        }
    }
    fn article(what: &str) -> &'static str {
        if what.starts_with(['a', 'o']) {
            "an"
        } else {
            "a"
        }
    }
    match value {
        Value::String(s) => sized("string", s.chars().count(), "character", "characters", "of"),
        Value::Array(a) => sized("array", a.len(), "element", "elements", "of"),
        Value::Object(o) => sized("object", o.len(), "key", "keys", "with"),
        scalar => json_type(scalar).to_string(),
    }
}

/// A value the operator wrote in a condition document, as compact JSON shortened to
/// [`MAX_QUOTED_CHARS`] characters: for reasons (`equals "REJECTED"`) and for naming a
/// misspelt name in a [`ConditionError`](crate::ConditionError). Never for item values in
/// errors; those go through [`describe`].
pub(crate) fn quote_config(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= MAX_QUOTED_CHARS {
        return text;
    }
    let mut short: String = text.chars().take(MAX_QUOTED_CHARS).collect();
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
    fn wrong_type_names_the_field_and_the_type_but_not_the_value() {
        let o = obj(json!({"Confidence": "high"}));
        assert_eq!(
            opt_f64(&o, "Confidence", "confidence"),
            Err("Confidence is a string of 4 characters, not a number".to_string())
        );
    }

    #[test]
    fn describe_gives_type_and_size_only() {
        let cases = [
            (json!(null), "null"),
            (json!(true), "a boolean"),
            (json!(-1.5), "a number"),
            (json!(""), "an empty string"),
            (json!("é"), "a string of 1 character"),
            (json!("abc"), "a string of 3 characters"),
            (json!([]), "an empty array"),
            (json!([1]), "an array of 1 element"),
            (json!([1, [2, 3]]), "an array of 2 elements"),
            (json!({}), "an empty object"),
            (json!({"k": 1}), "an object with 1 key"),
            (json!({"a": 1, "b": 2}), "an object with 2 keys"),
        ];
        for (value, expected) in cases {
            assert_eq!(describe(&value), expected, "{value}");
        }
    }

    #[test]
    fn long_configured_values_are_shortened_when_quoted() {
        let long = Value::String("x".repeat(500));
        let d = quote_config(&long);
        assert_eq!(d.chars().count(), MAX_QUOTED_CHARS + 1);
        assert!(d.ends_with('…'));
        assert_eq!(quote_config(&json!("REJECTED")), r#""REJECTED""#);
    }
}
