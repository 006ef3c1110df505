//! Limits on what is parsed: every JSONPath expression and condition document is measured by
//! a cheap linear scan before a parser sees it, so no configuration can overflow a stack or
//! keep a function busy at cold start.
//!
//! Why scans, not only parser options: serde_json_path's parser recurses once per nested
//! bracket or parenthesis (2,000 nested parentheses overflow a 2 MiB thread stack, an abort
//! with no message) and backtracks over nested filters at a cost that doubles with each level
//! (26 nested filters, 105 characters, do not finish). A condition document is JSON whose
//! depth serde_json already caps at 128; ours is far lower, as real documents are shallow.

use serde_json::Value;
use serde_json_path::JsonPath;

/// Longest JSONPath accepted, in bytes. Real queries (`$.predictions`,
/// `$.items[?@.score < 0.5].label`) are tens of bytes.
pub const MAX_JSON_PATH_LEN: usize = 1024;
/// Deepest nesting of brackets and parentheses (together) in a JSONPath.
pub const MAX_JSON_PATH_NESTING: usize = 16;
/// Most filters (`[?…]`) nested inside one another in a JSONPath. Parsing time roughly
/// doubles with each level; at 4 a query parses in about a millisecond.
pub const MAX_JSON_PATH_FILTER_NESTING: usize = 4;
/// Largest condition document accepted, in bytes of JSON text. A2I's own limit for
/// `HumanLoopActivationConditions` is 10,240 characters; ours leaves room for long alias
/// lists in documents that never go to A2I.
pub const MAX_DOCUMENT_LEN: usize = 64 * 1024;
/// Deepest nesting of arrays and objects in a condition document. The deepest valid shape
/// (`Conditions → Or → And → condition → ConditionParameters`) is 8 deep; the rest is room
/// for `Equals` / `In` values of `JsonPathCheck`.
pub const MAX_DOCUMENT_DEPTH: usize = 32;

/// Why a JSONPath expression was refused. Messages name sizes and positions only, so they
/// are safe to log whatever the expression holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonPathError {
    /// Longer than [`MAX_JSON_PATH_LEN`].
    #[error("{len} bytes long; a JSONPath may be at most {MAX_JSON_PATH_LEN} bytes")]
    TooLong {
        /// The expression's length in bytes.
        len: usize,
    },
    /// Brackets and parentheses nested deeper than [`MAX_JSON_PATH_NESTING`].
    #[error(
        "brackets and parentheses nested {depth} deep at byte {at}; at most {MAX_JSON_PATH_NESTING} are allowed"
    )]
    TooDeep {
        /// The depth reached when the scan stopped.
        depth: usize,
        /// Byte offset of the opening that went too deep.
        at: usize,
    },
    /// Filters nested deeper than [`MAX_JSON_PATH_FILTER_NESTING`].
    #[error(
        "filters nested {depth} deep at byte {at}; at most {MAX_JSON_PATH_FILTER_NESTING} may sit inside one another"
    )]
    TooManyNestedFilters {
        /// The filter depth reached.
        depth: usize,
        /// Byte offset of the `?` that went too deep.
        at: usize,
    },
    /// Within the limits, but not RFC 9535 syntax: the parser's account (a position and
    /// what it expected).
    #[error("not a valid RFC 9535 JSONPath ({0})")]
    Invalid(String),
}

/// Parses an RFC 9535 JSONPath after checking its length and nesting.
///
/// The one way this crate, and the functions' `ITEMS_PATH`, turn configuration into a
/// JSONPath: `JsonPath::parse` on an unchecked string can abort the process.
pub fn parse_json_path(text: &str) -> Result<JsonPath, JsonPathError> {
    check_json_path(text)?;
    JsonPath::parse(text).map_err(|e| JsonPathError::Invalid(e.to_string()))
}

/// The scan behind [`parse_json_path`]: length, bracket/parenthesis depth and filter depth,
/// skipping string literals (`'…'` and `"…"` with backslash escapes), in one pass.
fn check_json_path(text: &str) -> Result<(), JsonPathError> {
    if text.len() > MAX_JSON_PATH_LEN {
        return Err(JsonPathError::TooLong { len: text.len() });
    }
    // Each open bracket or parenthesis, and whether it is a bracket holding a filter.
    let mut open: Vec<(u8, bool)> = Vec::new();
    let mut filters = 0usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for (at, &b) in text.as_bytes().iter().enumerate() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == q {
                quote = None;
            }
            continue;
        }
        match b {
            b'\'' | b'"' => quote = Some(b),
            b'[' | b'(' => {
                open.push((b, false));
                if open.len() > MAX_JSON_PATH_NESTING {
                    return Err(JsonPathError::TooDeep {
                        depth: open.len(),
                        at,
                    });
                }
            }
            b']' | b')' => {
                if let Some((_, true)) = open.pop() {
                    filters -= 1;
                }
            }
            b'?' => {
                if let Some((b'[', is_filter @ false)) = open.last_mut() {
                    *is_filter = true;
                    filters += 1;
                    if filters > MAX_JSON_PATH_FILTER_NESTING {
                        return Err(JsonPathError::TooManyNestedFilters { depth: filters, at });
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Why a condition document was refused before parsing: too large or too deep.
pub(crate) fn check_document_text(text: &str) -> Result<(), String> {
    if text.len() > MAX_DOCUMENT_LEN {
        return Err(format!(
            "the document is {} bytes long; at most {MAX_DOCUMENT_LEN} are allowed",
            text.len()
        ));
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (at, &b) in text.as_bytes().iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DOCUMENT_DEPTH {
                    return Err(too_deep(Some(at)));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The same limits for a document already read as JSON (e.g. embedded in a larger file):
/// depth by an explicit-stack walk (a recursive one is what a deep value could overflow),
/// then size by counting the compact JSON without keeping it.
pub(crate) fn check_document_value(doc: &Value) -> Result<(), String> {
    let mut stack: Vec<(&Value, usize)> = vec![(doc, 1)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth > MAX_DOCUMENT_DEPTH {
            return Err(too_deep(None));
        }
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    let mut counter = Counter(0);
    // Depth is bounded now, so serializing cannot recurse far; a write past the limit stops it.
    match serde_json::to_writer(&mut counter, doc) {
        Ok(()) => Ok(()),
        Err(_) => Err(format!(
            "the document is more than {MAX_DOCUMENT_LEN} bytes long as JSON; at most {MAX_DOCUMENT_LEN} are allowed"
        )),
    }
}

fn too_deep(at: Option<usize>) -> String {
    let at = at.map(|at| format!(" at byte {at}")).unwrap_or_default();
    format!(
        "arrays and objects nested more than {MAX_DOCUMENT_DEPTH} deep{at}; a condition document needs far fewer"
    )
}

/// Counts bytes written and fails past [`MAX_DOCUMENT_LEN`].
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        if self.0 > MAX_DOCUMENT_LEN {
            return Err(std::io::Error::other("too large"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// `n` filters inside one another, each using the root: the shape whose parse time
    /// doubles per level.
    fn nested_filters(n: usize) -> String {
        format!("{}@{}", "$[?".repeat(n), "]".repeat(n))
    }

    #[test]
    fn two_thousand_nested_parentheses_are_refused_before_parsing() {
        let text = format!("$[?{}@.a{}]", "(".repeat(2000), ")".repeat(2000));
        // Runs on the test thread's small stack: the parser itself would abort here.
        assert_eq!(
            parse_json_path(&text).unwrap_err(),
            JsonPathError::TooLong { len: 4007 }
        );
        let text = format!("$[?{}@.a{}]", "(".repeat(500), ")".repeat(500));
        assert_eq!(
            parse_json_path(&text).unwrap_err(),
            JsonPathError::TooDeep { depth: 17, at: 18 }
        );
    }

    #[test]
    fn twenty_six_nested_filters_are_refused_at_the_fifth() {
        let text = nested_filters(26);
        assert_eq!(text.len(), 105);
        assert_eq!(
            parse_json_path(&text).unwrap_err(),
            JsonPathError::TooManyNestedFilters { depth: 5, at: 14 }
        );
    }

    #[test]
    fn queries_at_the_limits_still_parse() {
        let deepest_filters = nested_filters(MAX_JSON_PATH_FILTER_NESTING);
        let started = Instant::now();
        assert!(parse_json_path(&deepest_filters).is_ok());
        // Generous even for a debug build on a busy machine; the unbounded parser needs
        // seconds at 16 levels and does not finish at 26.
        assert!(started.elapsed() < Duration::from_secs(2));
        let deepest = format!(
            "$[?{}@.a{}]",
            "(".repeat(MAX_JSON_PATH_NESTING - 1),
            ")".repeat(MAX_JSON_PATH_NESTING - 1)
        );
        assert!(parse_json_path(&deepest).is_ok(), "{deepest}");
        let longest = format!("$.{}", "a".repeat(MAX_JSON_PATH_LEN - 2));
        assert!(parse_json_path(&longest).is_ok());
        assert_eq!(
            parse_json_path(&format!("{longest}b")).unwrap_err(),
            JsonPathError::TooLong {
                len: MAX_JSON_PATH_LEN + 1
            }
        );
    }

    #[test]
    fn brackets_inside_string_literals_do_not_count() {
        let text = format!("$['{}']", "[(".repeat(100));
        assert!(parse_json_path(&text).is_ok());
        let text = format!(r#"$[?@.a == "{}\"?[[["]"#, "[?".repeat(50));
        assert!(parse_json_path(&text).is_ok(), "{text}");
    }

    #[test]
    fn sibling_filters_are_not_nested() {
        let text = format!("$.a{}", "[?@.b]".repeat(20));
        assert!(parse_json_path(&text).is_ok());
        let text = "$[?@.a, ?@.b, ?@[?@.c]]";
        assert!(parse_json_path(text).is_ok());
    }

    #[test]
    fn syntax_errors_keep_the_parser_position() {
        let err = parse_json_path("$.a[").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("not a valid RFC 9535 JSONPath (at position 3"),
            "{err}"
        );
    }

    #[test]
    fn unbalanced_closings_never_underflow() {
        for text in ["$]]]", "$)))[?@]", "$[?@]]]?"] {
            let _ = parse_json_path(text);
        }
    }

    #[test]
    fn documents_are_bounded_in_size_and_depth() {
        assert!(check_document_text(
            r#"{"Conditions": [{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}]}"#
        )
        .is_ok());
        let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
        assert_eq!(
            check_document_text(&deep).unwrap_err(),
            "arrays and objects nested more than 32 deep at byte 32; a condition document needs far fewer"
        );
        let value: Value = serde_json::from_str(&deep).unwrap();
        assert!(check_document_value(&value).is_err());
        let ok: Value =
            serde_json::from_str(&format!("{}{}", "[".repeat(32), "]".repeat(32))).unwrap();
        assert!(check_document_value(&ok).is_ok());
        let big = format!(r#"{{"Conditions": ["{}"]}}"#, "x".repeat(MAX_DOCUMENT_LEN));
        assert!(check_document_text(&big)
            .unwrap_err()
            .starts_with("the document is 65556 bytes long"));
        let value: Value = serde_json::from_str(&big).unwrap();
        assert!(check_document_value(&value)
            .unwrap_err()
            .starts_with("the document is more than 65536 bytes"));
    }
}
