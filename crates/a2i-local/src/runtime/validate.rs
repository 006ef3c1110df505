//! The model's constraints: untrusted request bodies, path labels and query strings become
//! typed values here, once; every violation becomes a ValidationException naming the
//! member path and the rule, in the wording AWS front ends use.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use regex::Regex;
use serde_json::{Map, Value};

use super::error::{ApiError, Violations};
use crate::arn::{ArnError, FlowDefinitionArn};
use crate::http::QueryParam;
use crate::loops::{ContentClassifier, NewLoop, SortOrder};

/// The HumanLoopName pattern (end-anchored in the runtime model).
pub const HUMAN_LOOP_NAME_PATTERN: &str = "^[a-z0-9](-*[a-z0-9])*$";
/// The HumanLoopName maximum length.
pub const MAX_HUMAN_LOOP_NAME_LEN: usize = 63;
/// The InputContent maximum length, in characters.
pub const MAX_INPUT_CONTENT_LEN: usize = 3_145_728;
/// The most ContentClassifiers a request may carry.
pub const MAX_CONTENT_CLASSIFIERS: usize = 256;
/// The NextToken maximum length.
pub const MAX_NEXT_TOKEN_LEN: usize = 8192;
/// MaxResults bounds.
pub const MAX_RESULTS_RANGE: std::ops::RangeInclusive<usize> = 1..=100;
/// The page size when MaxResults is absent (the model gives none; see the crate docs).
pub const DEFAULT_MAX_RESULTS: usize = 100;

const CLASSIFIER_ENUM: &str =
    "satisfy enum value set: [FreeOfPersonallyIdentifiableInformation, FreeOfAdultContent]";

static HUMAN_LOOP_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(HUMAN_LOOP_NAME_PATTERN)
        .expect("invariant: the HumanLoopName regex is a valid literal")
});

/// Checks a HumanLoopName's length and pattern, recording violations under `field`.
pub fn check_loop_name(name: &str, field: &str, v: &mut Violations) {
    let len = name.chars().count();
    if len < 1 {
        v.value(field, name, "have length greater than or equal to 1");
    } else if len > MAX_HUMAN_LOOP_NAME_LEN {
        v.value(
            field,
            name,
            &format!("have length less than or equal to {MAX_HUMAN_LOOP_NAME_LEN}"),
        );
    }
    if len >= 1 && !HUMAN_LOOP_NAME.is_match(name) {
        v.value(
            field,
            name,
            &format!("satisfy regular expression pattern: {HUMAN_LOOP_NAME_PATTERN}"),
        );
    }
}

/// A HumanLoopName taken from a path label.
pub fn loop_name_label(name: &str) -> Result<String, ApiError> {
    let mut v = Violations::new();
    check_loop_name(name, "humanLoopName", &mut v);
    v.into_result()?;
    Ok(name.to_owned())
}

fn check_flow_arn(raw: &str, field: &str, v: &mut Violations) -> Option<FlowDefinitionArn> {
    match FlowDefinitionArn::parse(raw) {
        Ok(arn) => Some(arn),
        Err(err @ (ArnError::TooLong | ArnError::Pattern)) => {
            v.value(field, raw, &err.to_string());
            None
        }
    }
}

/// Parses a request body that must be a JSON object.
fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::Validation(
            "Malformed request body: the body is empty; a JSON object is required.".to_owned(),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::Validation(
            "Malformed request body: a JSON object is required.".to_owned(),
        )),
        Err(err) => Err(ApiError::Validation(format!(
            "Malformed request body: not valid JSON ({err})."
        ))),
    }
}

/// A member that must be a string when present (JSON null counts as absent, as in Smithy).
fn string_member<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &str,
    v: &mut Violations,
) -> Option<&'a str> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            v.value(field, &other.to_string(), "be a string");
            None
        }
    }
}

/// A member that must be a JSON object when present.
fn object_member<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &str,
    v: &mut Violations,
) -> Option<&'a Map<String, Value>> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(other) => {
            v.value(field, &other.to_string(), "be a structure");
            None
        }
    }
}

/// Parses and checks a StartHumanLoop body.
pub fn start_request(body: &[u8]) -> Result<NewLoop, ApiError> {
    let obj = json_object(body)?;
    let mut v = Violations::new();

    let name = string_member(&obj, "HumanLoopName", "humanLoopName", &mut v);
    match name {
        Some(name) => check_loop_name(name, "humanLoopName", &mut v),
        None if obj.get("HumanLoopName").is_none_or(Value::is_null) => v.missing("humanLoopName"),
        None => {}
    }

    let flow = match string_member(&obj, "FlowDefinitionArn", "flowDefinitionArn", &mut v) {
        Some(raw) => check_flow_arn(raw, "flowDefinitionArn", &mut v),
        None => {
            if obj.get("FlowDefinitionArn").is_none_or(Value::is_null) {
                v.missing("flowDefinitionArn");
            }
            None
        }
    };

    let input = object_member(&obj, "HumanLoopInput", "humanLoopInput", &mut v);
    let input_content = match input {
        None => {
            if obj.get("HumanLoopInput").is_none_or(Value::is_null) {
                v.missing("humanLoopInput");
            }
            None
        }
        Some(input) => {
            let field = "humanLoopInput.inputContent";
            match string_member(input, "InputContent", field, &mut v) {
                None => {
                    if input.get("InputContent").is_none_or(Value::is_null) {
                        v.missing(field);
                    }
                    None
                }
                Some(content) => {
                    if content.chars().count() > MAX_INPUT_CONTENT_LEN {
                        v.value(
                            field,
                            content,
                            &format!("have length less than or equal to {MAX_INPUT_CONTENT_LEN}"),
                        );
                        None
                    } else if let Err(err) = serde_json::from_str::<Value>(content) {
                        v.value(field, content, &format!("be a valid JSON document ({err})"));
                        None
                    } else {
                        Some(content)
                    }
                }
            }
        }
    };

    let classifiers = match object_member(&obj, "DataAttributes", "dataAttributes", &mut v) {
        None => None,
        Some(attrs) => {
            let field = "dataAttributes.contentClassifiers";
            match attrs.get("ContentClassifiers") {
                None | Some(Value::Null) => {
                    v.missing(field);
                    None
                }
                Some(Value::Array(items)) => {
                    if items.len() > MAX_CONTENT_CLASSIFIERS {
                        v.value(
                            field,
                            &format!("[{} items]", items.len()),
                            &format!("have length less than or equal to {MAX_CONTENT_CLASSIFIERS}"),
                        );
                    }
                    let mut parsed = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        match item.as_str().and_then(ContentClassifier::parse) {
                            Some(c) => parsed.push(c),
                            None => v.value(
                                &format!("{field}.{}", i + 1),
                                &match item {
                                    Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                },
                                CLASSIFIER_ENUM,
                            ),
                        }
                    }
                    Some(parsed)
                }
                Some(other) => {
                    v.value(field, &other.to_string(), "be a list");
                    None
                }
            }
        }
    };

    v.into_result()?;
    match (name, flow, input_content) {
        (Some(name), Some(flow_definition), Some(input_content)) => Ok(NewLoop {
            name: name.to_owned(),
            flow_definition,
            input_content: input_content.to_owned(),
            content_classifiers: classifiers,
        }),
        // Every None above recorded a violation, so into_result() already returned.
        _ => Err(ApiError::Validation(
            "1 validation error detected: the request is incomplete".to_owned(),
        )),
    }
}

/// Parses and checks a StopHumanLoop body; returns the loop name.
pub fn stop_request(body: &[u8]) -> Result<String, ApiError> {
    let obj = json_object(body)?;
    let mut v = Violations::new();
    let name = string_member(&obj, "HumanLoopName", "humanLoopName", &mut v);
    match name {
        Some(name) => check_loop_name(name, "humanLoopName", &mut v),
        None if obj.get("HumanLoopName").is_none_or(Value::is_null) => v.missing("humanLoopName"),
        None => {}
    }
    v.into_result()?;
    name.map(str::to_owned).ok_or_else(|| {
        ApiError::Validation("1 validation error detected: HumanLoopName is required".to_owned())
    })
}

/// Parses a query-string timestamp in any form SDKs send: RFC 3339 with `Z` or an offset,
/// with or without fractional seconds; an offset without a colon; a date-time without zone
/// (taken as UTC); or a date alone (midnight UTC, as in the API docs' `2020-02-24`).
pub fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    None
}

/// A validated ListHumanLoops request (the token still encoded).
#[derive(Debug, Clone, PartialEq)]
pub struct ListRequest {
    /// FlowDefinitionArn.
    pub flow_definition_arn: String,
    /// CreationTimeAfter.
    pub created_after: Option<DateTime<Utc>>,
    /// CreationTimeBefore.
    pub created_before: Option<DateTime<Utc>>,
    /// SortOrder (default Descending).
    pub sort_order: SortOrder,
    /// NextToken, still encoded.
    pub next_token: Option<String>,
    /// MaxResults (default [`DEFAULT_MAX_RESULTS`]).
    pub max_results: usize,
}

/// Parses and checks the ListHumanLoops query.
pub fn list_request(params: &[QueryParam]) -> Result<ListRequest, ApiError> {
    let mut v = Violations::new();
    let mut single = |name: &str| -> Option<&str> {
        let mut values = params.iter().filter(|p| p.name == name);
        let first = values.next();
        if values.next().is_some() {
            v.other(format!(
                "Query parameter '{name}' failed to satisfy constraint: Member must be given at \
                 most once"
            ));
        }
        first.map(|p| p.value.as_str())
    };
    let flow = single("FlowDefinitionArn");
    let after = single("CreationTimeAfter");
    let before = single("CreationTimeBefore");
    let order = single("SortOrder");
    let token = single("NextToken");
    let max = single("MaxResults");

    let flow_definition_arn = match flow {
        None => {
            v.missing("flowDefinitionArn");
            None
        }
        Some(raw) => check_flow_arn(raw, "flowDefinitionArn", &mut v).map(|_| raw.to_owned()),
    };
    let mut timestamp = |raw: Option<&str>, field: &str| {
        raw.and_then(|raw| {
            let parsed = parse_timestamp(raw);
            if parsed.is_none() {
                v.value(
                    field,
                    raw,
                    "be an ISO-8601 timestamp such as 2020-02-24T00:00:00Z, \
                     2020-02-24T00:00:00.000+01:00 or 2020-02-24",
                );
            }
            parsed
        })
    };
    let created_after = timestamp(after, "creationTimeAfter");
    let created_before = timestamp(before, "creationTimeBefore");
    let sort_order = match order {
        None => SortOrder::Descending,
        Some("Ascending") => SortOrder::Ascending,
        Some("Descending") => SortOrder::Descending,
        Some(other) => {
            v.value(
                "sortOrder",
                other,
                "satisfy enum value set: [Ascending, Descending]",
            );
            SortOrder::Descending
        }
    };
    if let Some(token) = token {
        if token.chars().count() > MAX_NEXT_TOKEN_LEN {
            v.value(
                "nextToken",
                token,
                &format!("have length less than or equal to {MAX_NEXT_TOKEN_LEN}"),
            );
        }
    }
    let max_results = match max {
        None => DEFAULT_MAX_RESULTS,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if n < *MAX_RESULTS_RANGE.start() as i64 => {
                v.value("maxResults", raw, "have value greater than or equal to 1");
                DEFAULT_MAX_RESULTS
            }
            Ok(n) if n > *MAX_RESULTS_RANGE.end() as i64 => {
                v.value("maxResults", raw, "have value less than or equal to 100");
                DEFAULT_MAX_RESULTS
            }
            Ok(n) => n as usize,
            Err(_) => {
                v.value("maxResults", raw, "be an integer");
                DEFAULT_MAX_RESULTS
            }
        },
    };
    v.into_result()?;
    Ok(ListRequest {
        flow_definition_arn: flow_definition_arn.unwrap_or_default(),
        created_after,
        created_before,
        sort_order,
        next_token: token.map(str::to_owned),
        max_results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const ARN: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/fd";

    fn start(body: Value) -> Result<NewLoop, ApiError> {
        start_request(body.to_string().as_bytes())
    }

    fn message(r: Result<NewLoop, ApiError>) -> String {
        match r {
            Err(ApiError::Validation(m)) => m,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_complete_start_request_is_accepted() {
        let new = start(serde_json::json!({
            "HumanLoopName": "loop-1",
            "FlowDefinitionArn": ARN,
            "HumanLoopInput": {"InputContent": "{\"a\":1}"},
            "DataAttributes": {"ContentClassifiers": ["FreeOfAdultContent"]}
        }))
        .unwrap();
        assert_eq!(new.name, "loop-1");
        assert_eq!(
            new.content_classifiers,
            Some(vec![ContentClassifier::FreeOfAdultContent])
        );
    }

    #[test]
    fn loop_names_follow_the_model() {
        for good in [
            "a",
            "a--b",
            "0fe076a4-b6eb-49ea-83bf-78f953a71c89",
            &"a".repeat(63),
        ] {
            assert!(loop_name_label(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a\n", &"a".repeat(64), "é"] {
            assert!(loop_name_label(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn missing_members_are_all_named() {
        let m = message(start(serde_json::json!({})));
        assert!(m.starts_with("3 validation errors detected"), "{m}");
        for field in ["'humanLoopName'", "'flowDefinitionArn'", "'humanLoopInput'"] {
            assert!(m.contains(field), "{m}");
        }
        let m = message(start(serde_json::json!({
            "HumanLoopName": "a", "FlowDefinitionArn": ARN, "HumanLoopInput": {}
        })));
        assert!(m.contains("'humanLoopInput.inputContent'"), "{m}");
    }

    #[test]
    fn input_content_must_be_json_and_short_enough() {
        let m = message(start(serde_json::json!({
            "HumanLoopName": "a", "FlowDefinitionArn": ARN,
            "HumanLoopInput": {"InputContent": "not json"}
        })));
        assert!(
            m.contains("'humanLoopInput.inputContent'") && m.contains("valid JSON"),
            "{m}"
        );
        let big = format!("\"{}\"", "é".repeat(MAX_INPUT_CONTENT_LEN - 1));
        assert!(start(serde_json::json!({
            "HumanLoopName": "a", "FlowDefinitionArn": ARN,
            "HumanLoopInput": {"InputContent": big}
        }))
        .is_err());
        let fits = format!("\"{}\"", "é".repeat(MAX_INPUT_CONTENT_LEN - 2));
        assert!(start(serde_json::json!({
            "HumanLoopName": "a", "FlowDefinitionArn": ARN,
            "HumanLoopInput": {"InputContent": fits}
        }))
        .is_ok());
    }

    #[test]
    fn classifiers_are_checked_for_enum_and_count() {
        let m = message(start(serde_json::json!({
            "HumanLoopName": "a", "FlowDefinitionArn": ARN,
            "HumanLoopInput": {"InputContent": "{}"},
            "DataAttributes": {"ContentClassifiers": ["FreeOfAdultContent", "Nope"]}
        })));
        assert!(
            m.contains("'dataAttributes.contentClassifiers.2'") && m.contains("Nope"),
            "{m}"
        );
        let many = vec!["FreeOfAdultContent"; 257];
        let m = message(start(serde_json::json!({
            "HumanLoopName": "a", "FlowDefinitionArn": ARN,
            "HumanLoopInput": {"InputContent": "{}"},
            "DataAttributes": {"ContentClassifiers": many}
        })));
        assert!(m.contains("less than or equal to 256"), "{m}");
        let m = message(start(serde_json::json!({
            "HumanLoopName": "a", "FlowDefinitionArn": ARN,
            "HumanLoopInput": {"InputContent": "{}"},
            "DataAttributes": {}
        })));
        assert!(m.contains("'dataAttributes.contentClassifiers'"), "{m}");
    }

    #[test]
    fn malformed_bodies_are_validation_errors() {
        for body in [&b""[..], b"{", b"[]", b"42"] {
            let err = start_request(body).unwrap_err();
            assert!(
                err.message().starts_with("Malformed request body"),
                "{err:?}"
            );
        }
        let m = message(start(serde_json::json!({"HumanLoopName": 5})));
        assert!(
            m.contains("'humanLoopName'") && m.contains("be a string"),
            "{m}"
        );
    }

    #[test]
    fn timestamps_in_every_sdk_form_parse() {
        let midnight = Utc.with_ymd_and_hms(2020, 2, 24, 0, 0, 0).unwrap();
        for raw in [
            "2020-02-24T00:00:00Z",
            "2020-02-24T00:00:00.000Z",
            "2020-02-24T00:00:00.000000Z",
            "2020-02-24T01:00:00+01:00",
            "2020-02-23T19:00:00.000-05:00",
            "2020-02-24T01:00:00+0100",
            "2020-02-24T00:00:00",
            "2020-02-24",
        ] {
            assert_eq!(parse_timestamp(raw), Some(midnight), "{raw}");
        }
        for bad in ["", "yesterday", "2020-13-01", "1582502400"] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<QueryParam> {
        pairs
            .iter()
            .map(|(n, v)| QueryParam {
                name: (*n).into(),
                value: (*v).into(),
            })
            .collect()
    }

    #[test]
    fn list_defaults_and_limits() {
        let r = list_request(&q(&[("FlowDefinitionArn", ARN)])).unwrap();
        assert_eq!(r.sort_order, SortOrder::Descending);
        assert_eq!(r.max_results, 100);
        for (max, ok) in [
            ("1", true),
            ("100", true),
            ("0", false),
            ("101", false),
            ("x", false),
        ] {
            let r = list_request(&q(&[("FlowDefinitionArn", ARN), ("MaxResults", max)]));
            assert_eq!(r.is_ok(), ok, "{max}");
        }
        let err = list_request(&q(&[("SortOrder", "Sideways")])).unwrap_err();
        assert!(err.message().contains("'flowDefinitionArn'"));
        assert!(err.message().contains("'sortOrder'"));
        let err = list_request(&q(&[
            ("FlowDefinitionArn", ARN),
            ("FlowDefinitionArn", ARN),
        ]))
        .unwrap_err();
        assert!(err.message().contains("FlowDefinitionArn"));
    }
}
