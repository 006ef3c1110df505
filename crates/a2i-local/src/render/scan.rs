//! The template scanner: finds every `{{ … }}` output and `{% … %}` tag the way Liquid's
//! parser splits a template, so that auto-escaping can be added to outputs and nesting
//! can be bounded before the (recursive) parser sees the template.
//!
//! Liquid (the `liquid` crate) has no auto-escape, and its parsed outputs cannot be
//! changed afterwards, so auto-escaping is added to the text: every output whose filter
//! chain does not end with `escape`, `escape_once` or `skip_autoescape` gets a final
//! internal filter ([`AUTOESCAPE`]) that HTML-escapes it. The scanner runs on a template
//! that Liquid has already parsed without error, so it only needs to agree with Liquid on
//! valid templates: outputs and tags end at the first `}}` / `%}` outside a string literal,
//! and the body of `{% raw %}` is left alone (Liquid prints it as written).

/// The internal filter appended to outputs that need escaping.
pub(crate) const AUTOESCAPE: &str = "__a2i_autoescape";

/// The filters after which an output is not escaped again: the two escaping filters
/// (escaping twice would show entities), the explicit opt-out, and the internal filter.
const FINAL_FILTERS: [&str; 4] = ["escape", "escape_once", "skip_autoescape", AUTOESCAPE];

/// Liquid's block tags (those with an `end…` tag), for counting nesting.
const BLOCKS: [&str; 9] = [
    "if",
    "unless",
    "for",
    "case",
    "capture",
    "comment",
    "raw",
    "ifchanged",
    "tablerow",
];

/// How deep `[ ]` and `( )` may nest inside one output or tag (the parser recurses on them).
pub(crate) const MAX_BRACKETS: usize = 32;

/// Why a template was refused by the scanner.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ScanError {
    /// Blocks nest deeper than allowed; `offset` is the byte offset of the tag that did.
    BlocksTooDeep { offset: usize },
    /// Brackets nest deeper than [`MAX_BRACKETS`] in the output or tag at `offset`.
    BracketsTooDeep { offset: usize },
}

/// The template with [`AUTOESCAPE`] added to every output that needs it, after checking
/// that blocks nest at most `max_nesting` deep.
pub(crate) fn add_autoescape(template: &str, max_nesting: usize) -> Result<String, ScanError> {
    let bytes = template.as_bytes();
    let mut out = String::with_capacity(template.len() + template.len() / 8);
    let mut copied = 0;
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(found) = find_brace(bytes, at) {
        match bytes.get(found + 1) {
            Some(b'{') => match delimited(bytes, found + 2, b'}')? {
                Some(span) => {
                    let inner = &template[span.inner_start..span.inner_end];
                    if needs_autoescape(inner) {
                        out.push_str(&template[copied..span.inner_end]);
                        out.push_str(" | ");
                        out.push_str(AUTOESCAPE);
                        out.push(' ');
                        copied = span.inner_end;
                    }
                    at = span.end;
                }
                None => at = found + 1,
            },
            Some(b'%') => match delimited(bytes, found + 2, b'%')? {
                Some(span) => {
                    let name = tag_name(&template[span.inner_start..span.inner_end]);
                    at = span.end;
                    if name == "raw" {
                        at = skip_raw_body(bytes, template, at)?;
                    } else if BLOCKS.contains(&name) {
                        depth += 1;
                        if depth > max_nesting {
                            return Err(ScanError::BlocksTooDeep { offset: found });
                        }
                    } else if name
                        .strip_prefix("end")
                        .is_some_and(|block| BLOCKS.contains(&block))
                    {
                        depth = depth.saturating_sub(1);
                    }
                }
                None => at = found + 1,
            },
            _ => at = found + 1,
        }
    }
    out.push_str(&template[copied..]);
    Ok(out)
}

/// Where an output or tag's content lies.
struct Span {
    /// After `{{` / `{%` and an optional `-`.
    inner_start: usize,
    /// Before `}}` / `%}` and an optional `-`.
    inner_end: usize,
    /// After the closing delimiter.
    end: usize,
}

fn find_brace(bytes: &[u8], from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == b'{')
        .map(|p| from + p)
}

/// The span of the output or tag whose content starts at `start` and which closes with
/// `close` followed by `}`; `None` when it never closes (Liquid would not see an output or
/// a tag there either).
fn delimited(bytes: &[u8], start: usize, close: u8) -> Result<Option<Span>, ScanError> {
    let inner_start = if bytes.get(start) == Some(&b'-') {
        start + 1
    } else {
        start
    };
    let mut i = inner_start;
    let mut brackets = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'"' | b'\'') => match bytes[i + 1..].iter().position(|&b| b == quote) {
                Some(p) => i += p + 2,
                None => return Ok(None),
            },
            b'[' | b'(' => {
                brackets += 1;
                if brackets > MAX_BRACKETS {
                    return Err(ScanError::BracketsTooDeep {
                        offset: start.saturating_sub(2),
                    });
                }
                i += 1;
            }
            b']' | b')' => {
                brackets = brackets.saturating_sub(1);
                i += 1;
            }
            b if b == close && bytes.get(i + 1) == Some(&b'}') => {
                let inner_end = if i > inner_start && bytes[i - 1] == b'-' {
                    i - 1
                } else {
                    i
                };
                return Ok(Some(Span {
                    inner_start,
                    inner_end,
                    end: i + 2,
                }));
            }
            _ => i += 1,
        }
    }
    Ok(None)
}

/// A tag's name: the identifier its content starts with.
fn tag_name(inner: &str) -> &str {
    let inner = inner.trim_start();
    let end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    &inner[..end]
}

/// Whether an output's filter chain (the text between the delimiters) needs escaping.
fn needs_autoescape(chain: &str) -> bool {
    let bytes = chain.as_bytes();
    let mut last_pipe = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'"' | b'\'') => match bytes[i + 1..].iter().position(|&b| b == quote) {
                Some(p) => i += p + 2,
                None => break,
            },
            b'|' => {
                last_pipe = Some(i);
                i += 1;
            }
            _ => i += 1,
        }
    }
    let Some(pipe) = last_pipe else {
        return true;
    };
    let last = chain[pipe + 1..].trim_start();
    let end = last
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(last.len());
    !FINAL_FILTERS.contains(&&last[..end])
}

/// The offset after the `{% endraw %}` that closes a raw body starting at `from` (or the
/// end of the template when nothing closes it: Liquid has already refused that).
fn skip_raw_body(bytes: &[u8], template: &str, from: usize) -> Result<usize, ScanError> {
    let mut at = from;
    while let Some(found) = find_brace(bytes, at) {
        let close = match bytes.get(found + 1) {
            Some(b'{') => b'}',
            Some(b'%') => b'%',
            _ => {
                at = found + 1;
                continue;
            }
        };
        match delimited(bytes, found + 2, close)? {
            Some(span) => {
                let inner = template[span.inner_start..span.inner_end].trim();
                if close == b'%' && inner == "endraw" {
                    return Ok(span.end);
                }
                at = span.end;
            }
            None => at = found + 1,
        }
    }
    Ok(bytes.len())
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(t: &str) -> String {
        add_autoescape(t, 64).unwrap()
    }

    #[test]
    fn plain_outputs_get_the_autoescape_filter() {
        assert_eq!(
            rewrite("<p>{{ task.input.text }}</p>"),
            "<p>{{ task.input.text  | __a2i_autoescape }}</p>"
        );
        assert_eq!(rewrite("{{x}}"), "{{x | __a2i_autoescape }}");
        assert_eq!(
            rewrite("{{- x | upcase -}}"),
            "{{- x | upcase  | __a2i_autoescape -}}"
        );
    }

    #[test]
    fn outputs_ending_with_an_escaping_filter_or_the_opt_out_are_kept() {
        for t in [
            "{{ x | escape }}",
            "{{ x | escape_once }}",
            "{{ x | skip_autoescape }}",
            "{{ x | to_json | skip_autoescape -}}",
        ] {
            assert_eq!(rewrite(t), t);
        }
        // Escaping earlier in the chain does not count: what follows may add markup.
        assert_eq!(
            rewrite("{{ x | escape | append: y }}"),
            "{{ x | escape | append: y  | __a2i_autoescape }}"
        );
    }

    #[test]
    fn delimiters_and_pipes_inside_strings_do_not_end_an_output() {
        assert_eq!(
            rewrite(r#"{{ "}} | escape" | append: '%}' }}"#),
            r#"{{ "}} | escape" | append: '%}'  | __a2i_autoescape }}"#
        );
    }

    #[test]
    fn raw_bodies_are_left_as_written() {
        let t = "{% raw %}{{ x }}{% endraw %}{{ y }}";
        assert_eq!(
            rewrite(t),
            "{% raw %}{{ x }}{% endraw %}{{ y  | __a2i_autoescape }}"
        );
    }

    #[test]
    fn tags_are_not_rewritten() {
        let t = "{% if a %}{% assign b = c | upcase %}{% endif %}";
        assert_eq!(rewrite(t), t);
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused_with_the_offset() {
        let ok = "{% if a %}".repeat(3) + &"{% endif %}".repeat(3);
        assert!(add_autoescape(&ok, 3).is_ok());
        let deep = "{% if a %}".repeat(4) + &"{% endif %}".repeat(4);
        assert_eq!(
            add_autoescape(&deep, 3),
            Err(ScanError::BlocksTooDeep { offset: 30 })
        );
        // Sequential blocks do not add up.
        let flat = "{% for x in y %}{% endfor %}".repeat(10);
        assert!(add_autoescape(&flat, 1).is_ok());
    }

    #[test]
    fn deeply_nested_brackets_are_refused() {
        let t = format!("{{{{ a{}b{} }}}}", "[a".repeat(40), "]".repeat(40));
        assert_eq!(
            add_autoescape(&t, 64),
            Err(ScanError::BracketsTooDeep { offset: 0 })
        );
    }

    #[test]
    fn line_and_column_count_characters() {
        let t = "ab\ncdé{{ x }}";
        assert_eq!(line_col(t, t.find("{{").unwrap()), (2, 4));
        assert_eq!(line_col(t, 0), (1, 1));
    }
}
