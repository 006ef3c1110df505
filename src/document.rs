//! An uploaded object to items: one JSON document (one item, or a list chosen by `ITEMS_PATH`),
//! or JSON Lines (one item per line, read as a stream so memory does not grow with the file).
//!
//! Every problem names the object and, for JSON Lines, the line; a bad line is reported on its
//! own and the lines after it are still read. Problems name positions and JSON kinds, never
//! content: serde_json's syntax errors for a `Value` say what was expected and where (line,
//! column), never the text they stopped at.
//!
//! A whole document that is the item is handed on as its bytes ([`ItemBody::Document`]) and
//! parsed, or read lean, only when it is evaluated ([`ItemBody::evaluate`]): a large Textract
//! response judged by form-key conditions then never becomes a `Value` unless it is flagged.
//!
//! A UTF-8 byte order mark at the start of an object is skipped: editors and Windows tools
//! write one, S3 keeps it, and JSON (RFC 8259 §8.1) lets a parser ignore it.

use std::pin::Pin;

use futures::stream::{self, Stream, StreamExt};
use serde_json::Value;
use serde_json_path::JsonPath;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

use crate::conditions::{ActivationConditions, Evaluation, SliceError};
use crate::config::DocumentFormat;

/// One item of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Zero-based position: the line index for JSON Lines (blank lines keep their number, so
    /// an item's index never depends on other lines), the list position for JSON documents.
    pub index: u64,
    /// One-based line number, for JSON Lines.
    pub line: Option<u64>,
    /// The item.
    pub body: ItemBody,
}

/// An item as read: parsed, or a whole JSON document kept as its bytes.
///
/// A whole document (no `ITEMS_PATH`) is not parsed into a [`Value`] when it is read: a
/// large Textract response costs about 11 times its size as a `Value`, and conditions that
/// only read form pairs evaluate it from the bytes
/// ([`ActivationConditions::evaluate_slice`]). Whether the bytes are JSON is decided when
/// the item is evaluated ([`ItemBody::evaluate`]), exactly as a `Value` parse decides it;
/// a document that is not is the fault of the whole object ([`not_json`]), as before.
#[derive(Clone, PartialEq)]
pub enum ItemBody {
    /// An item already parsed: a JSON Lines line or an element chosen by `ITEMS_PATH`.
    Parsed(Value),
    /// A whole JSON document, without its byte order mark, not parsed yet.
    Document(Vec<u8>),
}

impl ItemBody {
    /// The item as a [`Value`], parsing a document's bytes.
    pub fn into_value(self) -> Result<Value, serde_json::Error> {
        match self {
            Self::Parsed(value) => Ok(value),
            Self::Document(bytes) => serde_json::from_slice(&bytes),
        }
    }

    /// Evaluates the conditions on the item and hands it back as a flagged item's loop input
    /// needs it: parsed when flagged, as it came otherwise.
    ///
    /// A document under conditions that only read Textract form pairs is evaluated from its
    /// bytes; it is parsed into a [`Value`] only when it is flagged, and otherwise checked
    /// ([`check_json`]), so the decision, reasons and errors, [`SliceError::NotJson`] first,
    /// are the ones parsing it up front gave. Anything else is parsed and evaluated.
    pub fn evaluate(
        self,
        conditions: &ActivationConditions,
    ) -> Result<(Evaluation, ItemBody), SliceError> {
        match self {
            Self::Document(bytes) if conditions.reads_only_form_pairs() => {
                let evaluation = lean_checked(conditions, &bytes)?;
                if !evaluation.flagged {
                    return Ok((evaluation, Self::Document(bytes)));
                }
                // The parse is the check here; the bytes are freed when it is done.
                let value = serde_json::from_slice(&bytes).map_err(slice_not_json)?;
                Ok((evaluation, Self::Parsed(value)))
            }
            body => {
                let value = body.into_value().map_err(slice_not_json)?;
                let evaluation = conditions.evaluate(&value)?;
                Ok((evaluation, Self::Parsed(value)))
            }
        }
    }

    /// Evaluates the conditions on the item, as [`evaluate`](Self::evaluate) does, keeping
    /// nothing: for tools that judge items and start no loop.
    pub fn decide(&self, conditions: &ActivationConditions) -> Result<Evaluation, SliceError> {
        match self {
            Self::Parsed(value) => Ok(conditions.evaluate(value)?),
            Self::Document(bytes) if conditions.reads_only_form_pairs() => {
                let evaluation = lean_checked(conditions, bytes)?;
                if evaluation.flagged {
                    check_json(bytes).map_err(slice_not_json)?;
                }
                Ok(evaluation)
            }
            // Not lean: evaluate_slice parses a Value, which is the check.
            Self::Document(bytes) => conditions.evaluate_slice(bytes),
        }
    }
}

/// `evaluate_slice` on a document, checked where its lean reading may have skipped over
/// something a `Value` parse refuses: the result when it is not flagged or not evaluable.
/// A flagged result is the caller's to check (by parsing, when it needs the `Value`).
fn lean_checked(conditions: &ActivationConditions, bytes: &[u8]) -> Result<Evaluation, SliceError> {
    match conditions.evaluate_slice(bytes) {
        Ok(evaluation) if evaluation.flagged => Ok(evaluation),
        // A Value parse would have refused the document before anything was evaluated.
        result => {
            check_json(bytes).map_err(slice_not_json)?;
            result
        }
    }
}

fn slice_not_json(e: serde_json::Error) -> SliceError {
    SliceError::NotJson(e.to_string())
}

impl std::fmt::Debug for ItemBody {
    // A document can be tens of megabytes: its length says enough in a debug dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Parsed(value) => f.debug_tuple("Parsed").field(value).finish(),
            Self::Document(bytes) => write!(f, "Document({} bytes)", bytes.len()),
        }
    }
}

/// Something that kept an item (or the whole object) from being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFault {
    /// The item's index, when the fault belongs to one item.
    pub index: Option<u64>,
    /// The line, for JSON Lines.
    pub line: Option<u64>,
    /// What was wrong, naming the rule broken.
    pub reason: String,
    /// Whether reading again may succeed (a broken connection), as opposed to bad content.
    pub retryable: bool,
}

impl ItemFault {
    fn content(index: Option<u64>, line: Option<u64>, reason: String) -> Self {
        Self {
            index,
            line,
            reason,
            retryable: false,
        }
    }
}

/// The items of one object, in order, each either readable or a fault.
pub type Items = Pin<Box<dyn Stream<Item = Result<Item, ItemFault>> + Send>>;

/// The UTF-8 encoding of U+FEFF, the byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whether a key names a JSON Lines object by its extension.
pub fn is_json_lines_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    [".jsonl", ".ndjson", ".jsonlines"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// Splits an object's body into items.
///
/// JSON Lines (by key extension or `DOCUMENT_FORMAT=jsonl`) are streamed. Anything else is
/// read whole as one JSON document: handed on as bytes ([`ItemBody::Document`]) when it is
/// the item, parsed when `ITEMS_PATH` selects items in it; with `DOCUMENT_FORMAT=auto`, a body that is
/// not one document but is several JSON lines is taken as JSON Lines.
pub async fn items<R>(
    mut body: R,
    key: &str,
    format: DocumentFormat,
    items_path: Option<&JsonPath>,
) -> Items
where
    R: AsyncBufRead + Send + Unpin + 'static,
{
    let stream_lines = match format {
        DocumentFormat::JsonLines => true,
        DocumentFormat::Json => false,
        DocumentFormat::Auto => is_json_lines_key(key),
    };
    if stream_lines {
        return json_lines(body);
    }
    let mut bytes = Vec::new();
    if let Err(e) = body.read_to_end(&mut bytes).await {
        return fault(ItemFault {
            index: None,
            line: None,
            reason: format!("reading the object failed: {e}"),
            retryable: true,
        });
    }
    if bytes.starts_with(BOM) {
        bytes.drain(..BOM.len());
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return fault(ItemFault::content(
            None,
            None,
            "the object is empty: expected a JSON document or JSON Lines".into(),
        ));
    }
    // JSON Lines are sniffed first: a body whose first non-blank line is a JSON value with
    // more non-blank lines after it cannot be one JSON document (the value ends on its line,
    // and anything but whitespace after a document is an error), so this is the answer a
    // failed parse would have led to, without parsing the whole body first.
    if format == DocumentFormat::Auto && looks_like_json_lines(&bytes) {
        tracing::debug!("not one JSON document but several JSON lines; reading as JSON Lines");
        return json_lines(std::io::Cursor::new(bytes));
    }
    let Some(path) = items_path else {
        // The whole document is the item: handed on as its bytes (see [`ItemBody`]).
        return Box::pin(stream::iter([Ok(Item {
            index: 0,
            line: None,
            body: ItemBody::Document(bytes),
        })]));
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(doc) => json_document(doc, path),
        Err(e) => fault(not_json(e)),
    }
}

/// The fault of an object that is not one JSON document: the whole object's, not an item's.
pub fn not_json(error: impl std::fmt::Display) -> ItemFault {
    ItemFault::content(None, None, format!("the object is not valid JSON: {error}"))
}

/// Two or more non-blank lines, the first of which is a JSON value on its own.
fn looks_like_json_lines(bytes: &[u8]) -> bool {
    let mut lines = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace));
    match (lines.next(), lines.next()) {
        (Some(first), Some(_)) => check_json(first).is_ok(),
        _ => false,
    }
}

/// Checks that `bytes` are one JSON document exactly as `serde_json::from_slice::<Value>`
/// would parse it, with the same error (message, line and column), without building it.
///
/// Every token goes through serde_json's own `deserialize_any`, as a `Value` does: numbers
/// are parsed (so `1e999999` is "number out of range"), strings are decoded (escapes,
/// surrogates, UTF-8), nesting is limited to 128. `serde::de::IgnoredAny` would be cheaper
/// but is not the same check: serde_json skips its numbers and strings by their syntax only.
pub fn check_json(bytes: &[u8]) -> Result<(), serde_json::Error> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Checked::deserialize(&mut de)?;
    de.end()
}

/// A JSON value read token by token and dropped: nothing is allocated but serde_json's
/// scratch buffer for strings with escapes.
struct Checked;

impl<'de> serde::Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> serde::de::Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_key::<Checked>()?.is_some() {
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

fn fault(f: ItemFault) -> Items {
    Box::pin(stream::iter([Err(f)]))
}

/// The items `ITEMS_PATH` selects in a parsed document.
fn json_document(doc: Value, path: &JsonPath) -> Items {
    let nodes = path.query(&doc).all();
    let values: Vec<Value> = match nodes.as_slice() {
        [] => {
            return fault(ItemFault::content(
                None,
                None,
                format!("ITEMS_PATH {path} selects nothing in the document"),
            ))
        }
        // One array selected (`$.predictions`): its elements are the items.
        [Value::Array(list)] => list.clone(),
        // Several nodes (`$.predictions[*]`): each node is an item.
        many if many.len() > 1 => many.iter().map(|v| (*v).clone()).collect(),
        [other] => {
            return fault(ItemFault::content(
                None,
                None,
                format!(
                    "ITEMS_PATH {path} selects {} where an array of items was expected",
                    crate::conditions::json::json_type(other)
                ),
            ))
        }
        _ => unreachable!("slice patterns above cover every length"),
    };
    if values.is_empty() {
        tracing::info!(items_path = %path, "the list of items is empty");
    }
    Box::pin(stream::iter(values.into_iter().enumerate().map(
        |(i, value)| {
            Ok(Item {
                index: i as u64,
                line: None,
                body: ItemBody::Parsed(value),
            })
        },
    )))
}

struct LineReader<R> {
    reader: R,
    line_no: u64,
    saw_item: bool,
    done: bool,
}

/// Streams JSON Lines: one line in memory at a time.
fn json_lines<R>(reader: R) -> Items
where
    R: AsyncBufRead + Send + Unpin + 'static,
{
    let state = LineReader {
        reader,
        line_no: 0,
        saw_item: false,
        done: false,
    };
    Box::pin(
        stream::unfold(state, |mut st| async move {
            if st.done {
                return None;
            }
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match st.reader.read_until(b'\n', &mut buf).await {
                    Ok(0) => {
                        st.done = true;
                        if st.saw_item {
                            return None;
                        }
                        let f = ItemFault::content(
                            None,
                            None,
                            "the object is empty: expected JSON Lines, found no line".into(),
                        );
                        return Some((Err(f), st));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        st.done = true;
                        let f = ItemFault {
                            index: None,
                            line: Some(st.line_no + 1),
                            reason: format!(
                                "reading the object failed at line {}: {e}",
                                st.line_no + 1
                            ),
                            retryable: true,
                        };
                        return Some((Err(f), st));
                    }
                }
                st.line_no += 1;
                if st.line_no == 1 && buf.starts_with(BOM) {
                    buf.drain(..BOM.len());
                }
                if buf.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                st.saw_item = true;
                let (index, line) = (st.line_no - 1, st.line_no);
                let out = serde_json::from_slice::<Value>(&buf)
                    .map(|value| Item {
                        index,
                        line: Some(line),
                        body: ItemBody::Parsed(value),
                    })
                    .map_err(|e| {
                        ItemFault::content(
                            Some(index),
                            Some(line),
                            format!("line {line} is not valid JSON: {e}"),
                        )
                    });
                return Some((out, st));
            }
        })
        .fuse(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn collect_raw(
        body: &str,
        key: &str,
        format: DocumentFormat,
        path: Option<&str>,
    ) -> Vec<Result<Item, ItemFault>> {
        let path = path.map(|p| crate::conditions::parse_json_path(p).unwrap());
        let reader = std::io::Cursor::new(body.as_bytes().to_vec());
        items(reader, key, format, path.as_ref())
            .await
            .collect()
            .await
    }

    /// The items with every document parsed, as evaluation does: one that is not JSON
    /// becomes the object's fault.
    async fn collect(
        body: &str,
        key: &str,
        format: DocumentFormat,
        path: Option<&str>,
    ) -> Vec<Result<Item, ItemFault>> {
        collect_raw(body, key, format, path)
            .await
            .into_iter()
            .map(|r| {
                let Item { index, line, body } = r?;
                match body.into_value() {
                    Ok(value) => Ok(Item {
                        index,
                        line,
                        body: ItemBody::Parsed(value),
                    }),
                    Err(e) => Err(not_json(e)),
                }
            })
            .collect()
    }

    fn values(r: &[Result<Item, ItemFault>]) -> Vec<Value> {
        r.iter()
            .map(|i| i.as_ref().unwrap().body.clone().into_value().unwrap())
            .collect()
    }

    #[tokio::test]
    async fn a_json_document_is_one_item_kept_as_its_bytes() {
        let text = "{\n  \"a\": 1\n}\n";
        let r = collect_raw(text, "x.json", DocumentFormat::Auto, None).await;
        assert_eq!(
            r,
            vec![Ok(Item {
                index: 0,
                line: None,
                body: ItemBody::Document(text.as_bytes().to_vec())
            })]
        );
        assert_eq!(values(&r), vec![json!({"a": 1})]);
        // Without its byte order mark.
        let r = collect_raw(&format!("\u{feff}{text}"), "x", DocumentFormat::Json, None).await;
        assert_eq!(
            r[0].as_ref().unwrap().body,
            ItemBody::Document(text.as_bytes().to_vec())
        );
    }

    #[test]
    fn a_documents_bytes_become_the_value_serde_json_parses() {
        let text =
            r#"{"zeta": [1, 2.5, -3, 1e3, null, true], "alpha": {"s": "\u00e9\n\ud83d\ude00"}}"#;
        let value = ItemBody::Document(text.as_bytes().to_vec())
            .into_value()
            .unwrap();
        assert_eq!(value, serde_json::from_str::<Value>(text).unwrap());
        // Keys keep their order (preserve_order), as the loop input needs.
        assert_eq!(
            value.to_string(),
            r#"{"zeta":[1,2.5,-3,1000.0,null,true],"alpha":{"s":"é\n😀"}}"#
        );
        assert_eq!(
            ItemBody::Parsed(json!([1])).into_value().unwrap(),
            json!([1])
        );
        let debug = format!("{:?}", ItemBody::Document(b"{\"secret\": 1}".to_vec()));
        assert_eq!(debug, "Document(13 bytes)");
    }

    #[test]
    fn the_check_fails_exactly_where_and_as_parsing_a_value_does() {
        let deep_ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        let too_deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        let mut cases: Vec<Vec<u8>> = [
            "{\"a\": 1}",
            "  [1, \"x\", {\"b\": null}]  \n",
            "{\"a\": 1e999999}",
            "{\"Geometry\": [1, -1e400]}",
            "{\"a\": \"\\ud800\"}",
            "{\"a\": \"\\ud800x\"}",
            "{\"a\": \"\\q\"}",
            "{\"a\": \"tab\there\"}",
            "{\"a\": \"\u{1}\"}",
            "{\"a\": 1} trailing",
            "{\"a\": 1,}",
            "{\"a\" 1}",
            "{1: 2}",
            "[01]",
            "[1.]",
            "[-]",
            "{\"a\": tru}",
            "{\"a\": 1, \"a\": 2}",
            "\"\\u00e9\"",
            &deep_ok,
            &too_deep,
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        cases.push(b"{\"a\": \"\xff\xfe\"}".to_vec()); // not UTF-8, inside a string
        cases.push(b"{\"\xc3\": 1}".to_vec()); // not UTF-8, inside a key
        for case in cases {
            let expected = serde_json::from_slice::<Value>(&case).map(|_| ());
            let got = check_json(&case);
            assert_eq!(
                got.as_ref().map_err(ToString::to_string),
                expected.as_ref().map_err(ToString::to_string),
                "{}",
                String::from_utf8_lossy(&case)
            );
        }
        // Why not IgnoredAny: serde_json skips numbers by syntax, accepting what a Value
        // refuses.
        let out_of_range = b"{\"a\": 1e999999}";
        assert!(serde_json::from_slice::<serde::de::IgnoredAny>(out_of_range).is_ok());
        assert!(check_json(out_of_range).is_err());
    }

    #[tokio::test]
    async fn items_path_selects_a_list_or_nodes() {
        let doc = r#"{"predictions": [{"l": "a"}, {"l": "b"}], "model": "m"}"#;
        let r = collect(doc, "x.json", DocumentFormat::Auto, Some("$.predictions")).await;
        assert_eq!(values(&r), vec![json!({"l": "a"}), json!({"l": "b"})]);
        assert_eq!(r[1].as_ref().unwrap().index, 1);
        let r = collect(
            doc,
            "x.json",
            DocumentFormat::Auto,
            Some("$.predictions[*]"),
        )
        .await;
        assert_eq!(values(&r).len(), 2);
        let r = collect(doc, "x.json", DocumentFormat::Auto, Some("$.missing")).await;
        assert!(r[0]
            .as_ref()
            .unwrap_err()
            .reason
            .contains("selects nothing"));
        let r = collect(doc, "x.json", DocumentFormat::Auto, Some("$.model")).await;
        assert!(r[0]
            .as_ref()
            .unwrap_err()
            .reason
            .contains("selects a string where an array"));
    }

    #[tokio::test]
    async fn json_lines_are_one_item_per_line_and_a_bad_line_does_not_stop_the_rest() {
        let body = "{\"n\":1}\r\n\n{bad json\n{\"n\":4}"; // CRLF, blank line, no final newline
        let r = collect(body, "batch.jsonl", DocumentFormat::Auto, None).await;
        assert_eq!(r.len(), 3);
        assert_eq!(
            r[0],
            Ok(Item {
                index: 0,
                line: Some(1),
                body: ItemBody::Parsed(json!({"n": 1}))
            })
        );
        let bad = r[1].as_ref().unwrap_err();
        assert_eq!(
            (bad.index, bad.line, bad.retryable),
            (Some(2), Some(3), false)
        );
        assert!(
            bad.reason.contains("line 3 is not valid JSON"),
            "{}",
            bad.reason
        );
        assert_eq!(
            r[2],
            Ok(Item {
                index: 3,
                line: Some(4),
                body: ItemBody::Parsed(json!({"n": 4}))
            })
        );
    }

    #[tokio::test]
    async fn json_lines_are_detected_without_the_extension() {
        let r = collect(
            "{\"n\":1}\n{\"n\":2}\n",
            "out/predictions",
            DocumentFormat::Auto,
            None,
        )
        .await;
        assert_eq!(values(&r), vec![json!({"n": 1}), json!({"n": 2})]);
        assert_eq!(r[1].as_ref().unwrap().line, Some(2));
        // Forced JSON: the same body is invalid.
        let r = collect(
            "{\"n\":1}\n{\"n\":2}\n",
            "out/predictions",
            DocumentFormat::Json,
            None,
        )
        .await;
        assert!(r[0].as_ref().unwrap_err().reason.contains("not valid JSON"));
        // Forced JSON Lines on a .json key.
        let r = collect("[1]\n[2]\n", "x.json", DocumentFormat::JsonLines, None).await;
        assert_eq!(values(&r), vec![json!([1]), json!([2])]);
    }

    #[tokio::test]
    async fn empty_and_invalid_objects_are_clear_errors() {
        for (body, key) in [
            ("", "a.json"),
            ("  \n", "a.json"),
            ("", "a.jsonl"),
            ("\n\n", "a.jsonl"),
        ] {
            let r = collect(body, key, DocumentFormat::Auto, None).await;
            assert_eq!(r.len(), 1, "{key}");
            assert!(
                r[0].as_ref().unwrap_err().reason.contains("empty"),
                "{key}: {r:?}"
            );
        }
        let r = collect("{\"a\": ", "a.json", DocumentFormat::Auto, None).await;
        let f = r[0].as_ref().unwrap_err();
        assert!(f.reason.contains("not valid JSON") && !f.retryable);
    }

    #[tokio::test]
    async fn a_leading_byte_order_mark_is_skipped() {
        let r = collect("\u{feff}{\"a\": 1}\n", "x.json", DocumentFormat::Auto, None).await;
        assert_eq!(values(&r), vec![json!({"a": 1})]);
        let r = collect(
            "\u{feff}{\"n\":1}\n{\"n\":2}\n",
            "x.jsonl",
            DocumentFormat::Auto,
            None,
        )
        .await;
        assert_eq!(values(&r), vec![json!({"n": 1}), json!({"n": 2})]);
        // Sniffed JSON Lines (no extension) and forced formats too.
        for (key, format) in [
            ("out/predictions", DocumentFormat::Auto),
            ("x.txt", DocumentFormat::JsonLines),
        ] {
            let r = collect("\u{feff}{\"n\":1}\n{\"n\":2}\n", key, format, None).await;
            assert_eq!(values(&r), vec![json!({"n": 1}), json!({"n": 2})], "{key}");
        }
        let r = collect("\u{feff}[1]", "x.json", DocumentFormat::Json, None).await;
        assert_eq!(values(&r), vec![json!([1])]);
        // Only at the start: a BOM inside is content, and not valid JSON there.
        let r = collect(
            "{\"n\":1}\n\u{feff}{\"n\":2}\n",
            "x.jsonl",
            DocumentFormat::Auto,
            None,
        )
        .await;
        assert!(r[1].is_err());
        // A BOM alone is an empty object.
        let r = collect("\u{feff}", "x.json", DocumentFormat::Auto, None).await;
        assert!(r[0].as_ref().unwrap_err().reason.contains("empty"));
    }

    #[tokio::test]
    async fn a_bad_line_or_document_is_described_without_its_content() {
        for bad in [
            "{\"secret\": tru}",
            "{\"a\": \"secret\u{1}\"}",
            "[\"secret\", 1,]",
            "{\"secret\" 1}",
            "{\"a\": 1} secret",
            "{\"a\": 1e999999}",
        ] {
            for key in ["x.json", "x.jsonl"] {
                let r = collect(bad, key, DocumentFormat::Auto, None).await;
                let f = r[0].as_ref().unwrap_err();
                assert!(f.reason.contains("not valid JSON"), "{bad}: {}", f.reason);
                assert!(!f.reason.contains("secret"), "{bad}: {}", f.reason);
            }
        }
    }

    #[test]
    fn a_document_is_judged_as_its_value_is_whether_read_lean_or_not() {
        let lean_flags = r#"{"Conditions":[{"ConditionType":"MissingImportantFormKey","ConditionParameters":{"ImportantFormKey":"Name:"}}]}"#;
        let lean_skips = r#"{"Conditions":[{"ConditionType":"ImportantFormKeyConfidenceCheck","ConditionParameters":{"ImportantFormKey":"*","KeyValueBlockConfidenceLessThan":50}}]}"#;
        let not_lean = r#"{"Conditions":[{"ConditionType":"JsonPathCheck","ConditionParameters":{"Path":"$.Blocks","Exists":true}}]}"#;
        let form = r#"{"Blocks": [{"BlockType": "KEY_VALUE_SET", "Id": "k", "EntityTypes": ["KEY"], "Confidence": 40.5,
            "Relationships": [{"Type": "CHILD", "Ids": ["w"]}]}, {"BlockType": "WORD", "Id": "w", "Text": "Date:", "Confidence": 99}]}"#;
        let documents = [
            form,
            r#"{"Blocks": []}"#,
            // Not Textract: an evaluation error, on either path.
            r#"{"Labels": []}"#,
            // Invalid where the lean reader skips (a number no Value holds, a lone
            // surrogate), and invalid for every reader.
            r#"{"Blocks": [], "Geometry": {"Width": 1e999999}}"#,
            r#"{"Labels": [], "Geometry": {"Width": 1e999999}}"#,
            r#"{"Blocks": [], "Note": "\udc00"}"#,
            r#"{"Blocks": [}"#,
            r#"{"Blocks": []} []"#,
        ];
        let mut flagged = 0;
        for conditions in [lean_flags, lean_skips, not_lean] {
            let conditions = ActivationConditions::parse(conditions).unwrap();
            for doc in documents {
                let expected = serde_json::from_str::<Value>(doc)
                    .map_err(slice_not_json)
                    .and_then(|v| Ok(conditions.evaluate(&v)?));
                let body = ItemBody::Document(doc.as_bytes().to_vec());
                assert_eq!(body.decide(&conditions), expected, "{doc}");
                let evaluated = body.evaluate(&conditions);
                assert_eq!(
                    evaluated
                        .as_ref()
                        .map(|(e, _)| e.clone())
                        .map_err(Clone::clone),
                    expected,
                    "{doc}"
                );
                if let Ok((e, body)) = evaluated {
                    // A flagged item comes back parsed, ready for its loop input.
                    if e.flagged {
                        flagged += 1;
                        assert!(matches!(body, ItemBody::Parsed(_)), "{doc}");
                    }
                    assert_eq!(
                        body.into_value().unwrap(),
                        serde_json::from_str::<Value>(doc).unwrap()
                    );
                }
            }
        }
        assert!(flagged >= 3, "the cases flag some documents: {flagged}");
    }

    proptest::proptest! {
        /// Sniffing JSON Lines before parsing changes nothing: a body taken for JSON Lines
        /// is never one valid JSON document.
        #[test]
        fn a_body_taken_for_json_lines_is_never_one_json_document(
            lines in proptest::collection::vec(r#"[\[\]{}",:0-9. \r]{0,8}"#, 0..5),
        ) {
            let body = lines.join("\n");
            if looks_like_json_lines(body.as_bytes()) {
                proptest::prop_assert!(serde_json::from_str::<Value>(&body).is_err());
            }
        }
    }

    proptest::proptest! {
        /// Arbitrary text made mostly of JSON's own characters: the check and a `Value`
        /// parse agree on every input, error for error.
        #[test]
        fn the_check_agrees_with_a_value_parse_on_any_text(
            text in r#"[\[\]{}",:0-9eE.+\-tnrufals\\ \n\x01é]{0,40}"#,
        ) {
            let expected = serde_json::from_str::<Value>(&text).map(|_| ()).map_err(|e| e.to_string());
            proptest::prop_assert_eq!(check_json(text.as_bytes()).map_err(|e| e.to_string()), expected);
        }
    }

    #[test]
    fn json_lines_extensions() {
        assert!(is_json_lines_key("a/b.JSONL"));
        assert!(is_json_lines_key("a.ndjson"));
        assert!(!is_json_lines_key("a.json"));
    }
}
