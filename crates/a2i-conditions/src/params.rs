//! Typed reading of one condition's `ConditionParameters`: every error names the parameter's
//! path, the value found and the rule it breaks.

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

use super::bounded::parse_json_path;
use super::error::ConditionError;
use super::json::describe;
use super::suggest::closest;

/// The `ConditionParameters` object of one leaf, already checked against the parameter names
/// its condition type knows, so a misspelt (hence silently ignored) parameter cannot exist.
pub(crate) struct Params<'a> {
    map: &'a Map<String, Value>,
    path: String,
    condition_type: &'static str,
}

impl<'a> Params<'a> {
    /// Checks that `value` (found at `path`) is an object whose keys are all in `known`.
    pub(crate) fn new(
        value: &'a Value,
        path: String,
        condition_type: &'static str,
        known: &[&str],
    ) -> Result<Self, ConditionError> {
        let Some(map) = value.as_object() else {
            return Err(ConditionError {
                message: format!(
                    "ConditionParameters is {}: it must be an object",
                    describe(value)
                ),
                path,
            });
        };
        if let Some(name) = map.keys().find(|k| !known.contains(&k.as_str())) {
            let hint = closest(name, known)
                .map(|k| format!("; did you mean {k}?"))
                .unwrap_or_default();
            return Err(ConditionError {
                path: format!("{path}.{name}"),
                message: format!(
                    "unknown parameter {name} for {condition_type}{hint} Known parameters: {}",
                    known.join(", ")
                ),
            });
        }
        Ok(Self {
            map,
            path,
            condition_type,
        })
    }

    /// An error about the parameter `name`.
    pub(crate) fn error(&self, name: &str, message: String) -> ConditionError {
        ConditionError {
            path: format!("{}.{name}", self.path),
            message,
        }
    }

    /// An error about the parameters as a whole (a missing choice, a conflict).
    pub(crate) fn error_here(&self, message: String) -> ConditionError {
        ConditionError {
            path: self.path.clone(),
            message,
        }
    }

    /// The raw value of the parameter `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name)
    }

    fn wrong_type(&self, name: &str, value: &Value, expected: &str) -> ConditionError {
        self.error(
            name,
            format!("{name} is {}: it must be {expected}", describe(value)),
        )
    }

    fn missing(&self, name: &str, what: &str) -> ConditionError {
        self.error(
            name,
            format!("missing: {} requires {name} ({what})", self.condition_type),
        )
    }

    /// A non-blank string parameter.
    pub(crate) fn string(&self, name: &str) -> Result<Option<&'a str>, ConditionError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Err(self.error(
                name,
                format!("{name} is blank: it must be a non-empty string"),
            )),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(name, other, "a string")),
        }
    }

    /// A required non-blank string parameter; `what` explains it in the "missing" message.
    pub(crate) fn required_string(
        &self,
        name: &str,
        what: &str,
    ) -> Result<&'a str, ConditionError> {
        self.string(name)?.ok_or_else(|| self.missing(name, what))
    }

    /// A number parameter, inside `range` (inclusive) when one is given.
    pub(crate) fn number(
        &self,
        name: &str,
        range: Option<(f64, f64)>,
    ) -> Result<Option<f64>, ConditionError> {
        let Some(value) = self.map.get(name) else {
            return Ok(None);
        };
        let Some(x) = value.as_f64() else {
            return Err(self.wrong_type(name, value, "a number"));
        };
        if let Some((lo, hi)) = range {
            if !(lo..=hi).contains(&x) {
                // A number the operator configured, not item content: naming it helps.
                return Err(self.error(
                    name,
                    format!("{x} is out of range: {name} must be from {lo} to {hi}"),
                ));
            }
        }
        Ok(Some(x))
    }

    /// A required number parameter inside `range`.
    pub(crate) fn required_number(
        &self,
        name: &str,
        range: (f64, f64),
        what: &str,
    ) -> Result<f64, ConditionError> {
        self.number(name, Some(range))?
            .ok_or_else(|| self.missing(name, what))
    }

    /// A boolean parameter.
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, ConditionError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(name, other, "true or false")),
        }
    }

    /// A list of non-blank strings.
    pub(crate) fn strings(&self, name: &str) -> Result<Option<Vec<&'a str>>, ConditionError> {
        let Some(value) = self.map.get(name) else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(self.wrong_type(name, value, "a list of strings"));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) if !s.trim().is_empty() => Ok(s.as_str()),
                other => Err(self.error(
                    &format!("{name}[{i}]"),
                    format!(
                        "the entry is {}: every entry of {name} must be a non-empty string",
                        if other.is_string() {
                            "blank".to_string()
                        } else {
                            describe(other)
                        }
                    ),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// An RFC 9535 JSONPath query, checked against the limits and compiled now, so a bad one
    /// is reported at cold start.
    pub(crate) fn json_path(
        &self,
        name: &str,
    ) -> Result<Option<(JsonPath, &'a str)>, ConditionError> {
        let Some(text) = self.string(name)? else {
            return Ok(None);
        };
        parse_json_path(text).map(|p| Some((p, text))).map_err(|e| {
            self.error(
                name,
                format!("{e}: {name} must be a query such as $.predictions"),
            )
        })
    }
}

/// A name to match exactly (case-sensitively), or `*` for any name: how A2I's
/// `ModerationLabelName` and `ImportantFormKey` read, and how our `LabelName` reads too.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NamePattern {
    /// `"*"`: every name matches.
    Any,
    /// Only this exact name matches.
    Exact(String),
}

impl NamePattern {
    /// Reads a parameter value: `*` is the catch-all, anything else is taken literally.
    pub(crate) fn new(text: &str) -> Self {
        if text == "*" {
            Self::Any
        } else {
            Self::Exact(text.to_string())
        }
    }

    /// Whether `name` matches.
    pub(crate) fn matches(&self, name: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(wanted) => wanted == name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KNOWN: &[&str] = &["Name", "Score", "Flag", "Aliases", "Path"];

    fn with<T>(value: Value, f: impl FnOnce(&Params) -> T) -> T {
        let params = Params::new(
            &value,
            "Conditions[0].ConditionParameters".into(),
            "Test",
            KNOWN,
        )
        .unwrap();
        f(&params)
    }

    #[test]
    fn rejects_parameters_that_are_not_an_object() {
        let value = json!([1]);
        let err = Params::new(
            &value,
            "Conditions[0].ConditionParameters".into(),
            "Test",
            KNOWN,
        )
        .err()
        .unwrap();
        assert_eq!(err.path, "Conditions[0].ConditionParameters");
        assert_eq!(
            err.message,
            "ConditionParameters is an array of 1 element: it must be an object"
        );
    }

    #[test]
    fn unknown_parameter_is_named_with_a_suggestion_and_the_known_list() {
        let value = json!({"Name": "x", "Scor": 1});
        let err = Params::new(
            &value,
            "Conditions[0].ConditionParameters".into(),
            "Test",
            KNOWN,
        )
        .err()
        .unwrap();
        assert_eq!(err.path, "Conditions[0].ConditionParameters.Scor");
        assert_eq!(
            err.message,
            "unknown parameter Scor for Test; did you mean Score? Known parameters: Name, Score, Flag, Aliases, Path"
        );
    }

    #[test]
    fn wrong_type_names_the_type_and_the_rule() {
        let err = with(json!({"Score": "90"}), |p| p.number("Score", None)).unwrap_err();
        assert_eq!(err.path, "Conditions[0].ConditionParameters.Score");
        assert_eq!(
            err.message,
            "Score is a string of 2 characters: it must be a number"
        );
    }

    #[test]
    fn out_of_range_names_the_value_and_the_bounds() {
        let err = with(json!({"Score": 100.5}), |p| {
            p.number("Score", Some((0.01, 100.0)))
        })
        .unwrap_err();
        assert_eq!(
            err.message,
            "100.5 is out of range: Score must be from 0.01 to 100"
        );
        let ok = with(json!({"Score": 0.01}), |p| {
            p.number("Score", Some((0.01, 100.0)))
        });
        assert_eq!(ok, Ok(Some(0.01)));
    }

    #[test]
    fn missing_required_string_says_what_it_is_for() {
        let err = with(json!({}), |p| {
            p.required_string("Name", "a label name").map(|_| ())
        })
        .unwrap_err();
        assert_eq!(err.path, "Conditions[0].ConditionParameters.Name");
        assert_eq!(err.message, "missing: Test requires Name (a label name)");
    }

    #[test]
    fn blank_string_is_rejected() {
        let err = with(json!({"Name": "  "}), |p| p.string("Name").map(|_| ())).unwrap_err();
        assert_eq!(err.message, "Name is blank: it must be a non-empty string");
    }

    #[test]
    fn string_list_errors_point_at_the_entry() {
        let err = with(json!({"Aliases": ["ok", 3]}), |p| {
            p.strings("Aliases").map(|_| ())
        })
        .unwrap_err();
        assert_eq!(err.path, "Conditions[0].ConditionParameters.Aliases[1]");
        assert_eq!(
            err.message,
            "the entry is a number: every entry of Aliases must be a non-empty string"
        );
    }

    #[test]
    fn bool_must_be_a_json_boolean() {
        let err = with(json!({"Flag": "true"}), |p| p.bool("Flag")).unwrap_err();
        assert_eq!(
            err.message,
            "Flag is a string of 4 characters: it must be true or false"
        );
    }

    #[test]
    fn bad_json_path_is_rejected_with_the_parser_position() {
        let err = with(json!({"Path": "$.a["}), |p| p.json_path("Path").map(|_| ())).unwrap_err();
        assert_eq!(err.path, "Conditions[0].ConditionParameters.Path");
        assert!(
            err.message
                .starts_with("not a valid RFC 9535 JSONPath (at position 3"),
            "{}",
            err.message
        );
    }

    #[test]
    fn star_matches_any_name_and_other_names_match_exactly() {
        assert!(NamePattern::new("*").matches("anything"));
        assert!(NamePattern::new("Suggestive").matches("Suggestive"));
        assert!(!NamePattern::new("Suggestive").matches("suggestive"));
    }
}
