//! How the status handler writes timestamps: RFC 3339 in UTC, A2I's own format.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

/// Timestamps as RFC 3339 in UTC with `Z` and only the fractional digits that are needed
/// (`2019-11-14T17:37:36.740Z`, `2019-11-14T17:49:25Z`): A2I's own format.
pub(crate) fn rfc3339<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// [`rfc3339`] for optional timestamps (`null` when absent).
pub(crate) fn rfc3339_opt<S: Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[test]
    fn timestamps_keep_a2i_format() {
        #[derive(Serialize)]
        struct T {
            #[serde(serialize_with = "rfc3339")]
            a: DateTime<Utc>,
            #[serde(serialize_with = "rfc3339_opt")]
            b: Option<DateTime<Utc>>,
        }
        let a = DateTime::parse_from_rfc3339("2019-11-14T17:37:36.740Z")
            .unwrap()
            .with_timezone(&Utc);
        let b = DateTime::parse_from_rfc3339("2019-11-14T18:49:25+01:00")
            .unwrap()
            .with_timezone(&Utc);
        let s = serde_json::to_string(&T { a, b: Some(b) }).unwrap();
        assert_eq!(
            s,
            r#"{"a":"2019-11-14T17:37:36.740Z","b":"2019-11-14T17:49:25Z"}"#
        );
        assert_eq!(
            serde_json::to_string(&T { a, b: None }).unwrap(),
            r#"{"a":"2019-11-14T17:37:36.740Z","b":null}"#
        );
    }
}
