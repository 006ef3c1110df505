//! Escaping: HTML escaping as A2I's auto-escape, `escape` and `escape_once` do it, and the
//! JSON text that `to_json` and the display of arrays and objects produce.

use liquid_core::model::{ScalarCow, ValueView};

/// HTML-escapes `text` into `out`: `&` `<` `>` `"` `'` become `&amp;` `&lt;` `&gt;` `&quot;`
/// `&#39;` (the five characters, and the entity for the apostrophe, of AWS's documented
/// example). Safe in element content and in single- or double-quoted attributes.
pub(crate) fn html_escape_into(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
        out.push_str(&rest[..at]);
        out.push_str(entity_for(rest.as_bytes()[at]));
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// [`html_escape_into`] into a new string.
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    html_escape_into(text, &mut out);
    out
}

/// Like [`html_escape`], but an `&` that already starts a character reference (`&amp;`,
/// `&#39;`, `&#x27;`, `&nbsp;`) is kept as it is, so escaped text is not escaped twice.
pub(crate) fn html_escape_once(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut rest = text;
    while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
        out.push_str(&rest[..at]);
        let byte = rest.as_bytes()[at];
        if byte == b'&' {
            if let Some(len) = entity_len(&rest[at..]) {
                out.push_str(&rest[at..at + len]);
                rest = &rest[at + len..];
                continue;
            }
        }
        out.push_str(entity_for(byte));
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out
}

fn entity_for(byte: u8) -> &'static str {
    match byte {
        b'&' => "&amp;",
        b'<' => "&lt;",
        b'>' => "&gt;",
        b'"' => "&quot;",
        _ => "&#39;",
    }
}

/// The length of the character reference `text` starts with (`&name;`, `&#123;`,
/// `&#x1F;`), if it starts with one. Names are at most 32 characters, as HTML's are.
fn entity_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 1;
    let digits: fn(u8) -> bool = match bytes.get(1) {
        Some(b'#') => {
            i = 2;
            match bytes.get(2) {
                Some(b'x' | b'X') => {
                    i = 3;
                    |b: u8| b.is_ascii_hexdigit()
                }
                _ => |b: u8| b.is_ascii_digit(),
            }
        }
        Some(b) if b.is_ascii_alphabetic() => |b: u8| b.is_ascii_alphanumeric(),
        _ => return None,
    };
    let start = i;
    while i < bytes.len() && i - start < 32 && digits(bytes[i]) {
        i += 1;
    }
    (i > start && bytes.get(i) == Some(&b';')).then_some(i + 1)
}

/// How deep arrays and objects may nest in JSON text written here (the input is at most
/// [`super::Limits::max_input_depth`] deep; filters add at most a level or two).
const MAX_JSON_DEPTH: usize = 512;

/// A value too deeply nested to be written as JSON.
#[derive(Debug)]
pub(crate) struct TooDeep;

/// The text of a value in the page: a scalar as Liquid shows it (`nil` as nothing), an
/// array or object as compact JSON (A2I's own Textract template puts an array in an
/// attribute without `to_json`, so arrays and objects must come out as JSON).
pub(crate) fn display(value: &dyn ValueView) -> Result<String, TooDeep> {
    if value.is_array() || value.is_object() {
        let mut out = String::new();
        write_json(value, false, &mut out)?;
        Ok(out)
    } else {
        Ok(value.to_kstr().as_str().to_owned())
    }
}

/// Writes `value` as compact JSON. Object keys come out sorted (Liquid keeps no key
/// order, and sorted keys make the output deterministic). With `for_html`, `<` `>` `&`
/// `'` and U+2028/U+2029 inside strings are written as `\uXXXX` escapes, so the JSON
/// contains none of them: it is safe in a single-quoted attribute and inside `<script>`
/// even without HTML escaping, and it is still the same JSON to a parser.
pub(crate) fn write_json(
    value: &dyn ValueView,
    for_html: bool,
    out: &mut String,
) -> Result<(), TooDeep> {
    write_json_at(value, for_html, out, 0)
}

fn write_json_at(
    value: &dyn ValueView,
    for_html: bool,
    out: &mut String,
    depth: usize,
) -> Result<(), TooDeep> {
    if depth > MAX_JSON_DEPTH {
        return Err(TooDeep);
    }
    if let Some(array) = value.as_array() {
        out.push('[');
        for (i, item) in array.values().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_at(item, for_html, out, depth + 1)?;
        }
        out.push(']');
    } else if let Some(object) = value.as_object() {
        let mut entries: Vec<_> = object.iter().collect();
        entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        out.push('{');
        for (i, (key, item)) in entries.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_string(key.as_str(), for_html, out);
            out.push(':');
            write_json_at(item, for_html, out, depth + 1)?;
        }
        out.push('}');
    } else if let Some(scalar) = value.as_scalar() {
        write_json_scalar(&scalar, for_html, out);
    } else {
        // nil, and the states `empty` / `blank`.
        out.push_str("null");
    }
    Ok(())
}

fn write_json_scalar(scalar: &ScalarCow<'_>, for_html: bool, out: &mut String) {
    match scalar.type_name() {
        "whole number" => {
            if let Some(n) = scalar.to_integer() {
                out.push_str(&n.to_string());
                return;
            }
        }
        "fractional number" => {
            if let Some(x) = scalar.to_float() {
                match serde_json::Number::from_f64(x) {
                    Some(n) => out.push_str(&n.to_string()),
                    None => out.push_str("null"),
                }
                return;
            }
        }
        "boolean" => {
            if let Some(b) = scalar.to_bool() {
                out.push_str(if b { "true" } else { "false" });
                return;
            }
        }
        _ => {}
    }
    write_json_string(scalar.to_kstr().as_str(), for_html, out);
}

fn write_json_string(text: &str, for_html: bool, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\'' | '\u{2028}' | '\u{2029}' if for_html => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use liquid_core::model::Value;

    #[test]
    fn escape_turns_the_five_characters_into_aws_entities() {
        assert_eq!(
            html_escape("Have you read 'James & the Giant Peach'?"),
            "Have you read &#39;James &amp; the Giant Peach&#39;?"
        );
        assert_eq!(
            html_escape(r#"<a href="x">"#),
            "&lt;a href=&quot;x&quot;&gt;"
        );
        assert_eq!(html_escape("plain ünïcode ✓"), "plain ünïcode ✓");
    }

    #[test]
    fn escape_escapes_existing_entities_again() {
        assert_eq!(html_escape("&amp;"), "&amp;amp;");
    }

    #[test]
    fn escape_once_keeps_character_references_and_escapes_the_rest() {
        assert_eq!(
            html_escape_once("Have you read 'James &amp; the Giant Peach'?"),
            "Have you read &#39;James &amp; the Giant Peach&#39;?"
        );
        assert_eq!(
            html_escape_once("&#39; &#x27; &nbsp; & &; &#; &#xZ; <"),
            "&#39; &#x27; &nbsp; &amp; &amp;; &amp;#; &amp;#xZ; &lt;"
        );
    }

    #[test]
    fn json_for_html_has_no_markup_characters_and_parses_back() {
        let value = Value::Array(vec![
            Value::scalar("it's <b>&</b>"),
            Value::scalar(8),
            Value::scalar(1.5),
            Value::scalar(true),
            Value::Nil,
        ]);
        let mut out = String::new();
        write_json(&value, true, &mut out).unwrap();
        assert_eq!(
            out,
            r#"["it\u0027s \u003cb\u003e\u0026\u003c/b\u003e",8,1.5,true,null]"#
        );
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back[0], "it's <b>&</b>");
    }

    #[test]
    fn display_writes_objects_as_json_with_sorted_keys() {
        let mut object = liquid_core::Object::new();
        object.insert("point_number".into(), Value::scalar(8));
        object.insert(
            "coords".into(),
            Value::Array(vec![Value::scalar(59), Value::scalar(76)]),
        );
        assert_eq!(
            display(&Value::Object(object)).unwrap(),
            r#"{"coords":[59,76],"point_number":8}"#
        );
        assert_eq!(display(&Value::Nil).unwrap(), "");
        assert_eq!(display(&Value::scalar("a&b")).unwrap(), "a&b");
    }
}
