//! The Lambda's raw input to a typed [`StatusEvent`], with every error naming the field.

use serde_json::Value;

use super::error::StatusError;
use super::event::{A2iStatusDetail, StatusEvent, DETAIL_TYPE, SOURCE};
use super::json::{FieldError, Fields};
use crate::field_path::{from_value, json_kind};

/// Turns the Lambda's raw input into a typed event.
///
/// `source` and `detail-type` are checked first, so an event from another rule is named as
/// such even when its `detail` has a different shape. Then `detail`, field by field, then the
/// envelope (`version`, `id`, `time`, `resources`, …) through serde; every error names the
/// field's path and the JSON kind found, never the value.
pub fn parse_event(value: Value) -> Result<StatusEvent, StatusError> {
    let invalid = |e: FieldError| StatusError::InvalidEvent {
        field: e.path,
        problem: e.problem,
    };
    let root = Fields::of(&value, "").map_err(invalid)?;
    let source = root.req_str("source").map_err(invalid)?;
    if source != SOURCE {
        return Err(StatusError::ForeignSource {
            event_source: source.to_owned(),
        });
    }
    let detail_type = root.req_str("detail-type").map_err(invalid)?;
    if detail_type != DETAIL_TYPE {
        return Err(StatusError::ForeignDetailType {
            detail_type: detail_type.to_owned(),
        });
    }
    // Parsed here for an error with the field's path; serde below parses it again through the
    // same function (a few microseconds) to fill the envelope type.
    let detail = root
        .get("detail")
        .ok_or_else(|| FieldError::new("detail", "expected an object, but the field is missing"))
        .map_err(invalid)?;
    A2iStatusDetail::from_json(detail).map_err(invalid)?;
    from_value::<StatusEvent>(&value, "").map_err(|e| {
        // chrono's own parse errors are custom messages; say what a time must be.
        let problem = match value.get(&e.path) {
            Some(Value::String(_)) if e.path == "time" => {
                "expected an RFC 3339 timestamp, found a string that is not one".to_owned()
            }
            Some(v) if e.path == "time" => {
                format!("expected an RFC 3339 timestamp, found {}", json_kind(v))
            }
            _ => e.problem,
        };
        StatusError::InvalidEvent {
            field: e.path,
            problem,
        }
    })
}
