//! A2I's worker-template rendering: Liquid with `task.input`, HTML auto-escaping, A2I's
//! filters and strict variables, bounded in size, nesting, iterations, work and time.
//! Used by RenderUiTemplate, CreateHumanTaskUi's validation, the worker portal and
//! `a2i-review evaluate --render`.
//!
//! ```
//! use a2i_local::render::{render_str, NoPresign};
//! let html = render_str(
//!     "<p>{{ task.input.text }}</p>",
//!     r#"{"text": "<script>alert('x')</script> & more"}"#,
//!     &NoPresign,
//! ).unwrap();
//! assert_eq!(html, "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more</p>");
//! ```
//!
//! # The API
//! - [`parse_template`] checks and compiles a template once (CreateHumanTaskUi's
//!   validation); [`render`] renders a [`Template`] with `task.input` = a JSON value;
//!   [`render_str`] does both from RenderUiTemplate's strings (`UiTemplate.Content`,
//!   `Task.Input`). The `_with` variants take other [`Limits`] (a loop's InputContent can
//!   be 3 MiB: [`Limits::human_loop`]).
//! - Errors are [`RenderingError`]s, RenderUiTemplate's `Errors[]` entries, with a code
//!   from [`codes`] and a message that names the template position or variable, never a
//!   value from the input.
//! - `grant_read_access` asks a [`Presign`]: [`S3Presigner`] makes real SigV4 presigned GET
//!   URLs ([`crate::LocalA2iHandle::presigner`] gives one for the embedded S3),
//!   [`PreviewPresign`] makes visibly unsigned preview URLs, [`NoPresign`] fails the render.
//!
//! # Semantics (A2I documents some of this; the rest is our choice, as marked)
//! - **Liquid**: the `liquid` crate's standard tags and filters: `if`/`elsif`/`else`,
//!   `unless`, `case`/`when`, `for` (with `limit`, `offset`, `reversed`, `else`, `break`,
//!   `continue`, `forloop`), `capture`, `assign`, `increment`, `decrement`, `cycle`,
//!   `comment`, `raw`, and the standard filters (`upcase`, `join`, `size`, `default`, …).
//!   Not available (a parse error): `include` and `render` (an A2I template is one file),
//!   `tablerow` and `ifchanged` (rarely used; they buffer without bounds).
//! - **Auto-escape** (A2I): every `{{ }}` output is HTML-escaped: `&` `<` `>` `"` `'` become
//!   `&amp;` `&lt;` `&gt;` `&quot;` `&#39;`. Outputs inside `{% capture %}` are escaped too,
//!   so a captured value is escaped again when it is output (use `skip_autoescape` on
//!   markup you built yourself). An output whose last filter is `escape`, `escape_once` or
//!   `skip_autoescape` is not escaped again.
//! - **Arrays and objects** output as compact JSON (our choice: A2I's own Textract template
//!   puts an array into an attribute without `to_json`). Object keys come out sorted, and
//!   `for` visits an object's pairs in key order (Liquid keeps no key order).
//! - **`escape`** = auto-escape; **`escape_once`** keeps existing character references;
//!   **`skip_autoescape`** emits the value raw.
//! - **`to_json`** writes compact JSON in which `<` `>` `&` `'` (and U+2028/2029) inside
//!   strings are `\u` escapes, so it contains none of them; auto-escape then still applies
//!   (our choice; AWS leaves this unverified), turning `"` into `&quot;`, which a browser
//!   decodes back inside any attribute: `categories='{{ task.input.labels | to_json }}'`
//!   and `categories="{{ … | to_json }}"` both give the attribute the exact JSON, and a `'`
//!   in the data cannot end the attribute. For `<script>`, use
//!   `{{ x | to_json | skip_autoescape }}`: the JSON cannot close the script element.
//! - **`grant_read_access`** accepts `s3://BUCKET/KEY` and `http(s)://s3.amazonaws.com/BUCKET/KEY`
//!   (also regional and virtual-hosted S3 hosts); keys are taken as written. It also takes
//!   the built-in task types' `s3Object` map, `{bucket, name[, version]}` (or PascalCase),
//!   presigning that version when one is given. Anything else fails the render with
//!   `GrantReadAccessError`.
//! - **Undefined variables** (A2I's text is undocumented; ours follows Shopify's
//!   `strict_variables`): outputting, comparing, filtering or looping over a variable or
//!   key that does not exist fails the render with `UndefinedVariable`,
//!   `Liquid error: undefined variable task.input.missing (line 3, column 12)`. A bare
//!   existence test, `{% if task.input.missing %}` / `{% unless … %}` (also joined with
//!   `and` / `or`), does not fail: the missing value is falsy, so optional fields work.
//!   `{% if task.input.x and task.input.x == "a" %}` guards a comparison.
//! - **Scripts**: the crowd-html-elements `<script>` tag (and any other template text) is
//!   left as written; item content can never add markup, because it only ever reaches the
//!   page through escaped outputs (unless a template opts out with `skip_autoescape`).
//!
//! # Bounds (every input terminates, without panic, within these; see [`Limits`])
//! Template 128,000 characters (the model's), input 128,000 characters for
//! RenderUiTemplate (3,145,728 for loops) and 128 levels deep, blocks nested 64 deep and
//! brackets 32 deep, 10 MiB of output, 10 MiB per value (filter result, capture),
//! 32 MiB in assigned variables, 100,000 loop iterations in all, 256 MiB of work (bytes
//! produced by filters, copied from variables and written), and 10 s.

mod blocks;
mod context;
mod escape;
mod filters;
mod presign;
mod scan;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use liquid_core::model::Value;
use liquid_core::runtime::Renderable;
use liquid_core::Language;

pub use presign::{
    NoPresign, Presign, PresignError, PreviewPresign, S3Presigner, DEFAULT_PRESIGN_EXPIRY,
    PREVIEW_MARKER,
};

/// The codes of [`RenderingError`]s (A2I's own codes are undocumented; these are ours).
pub mod codes {
    /// The template is not valid Liquid (unknown tag or filter, unclosed block, …).
    pub const TEMPLATE_SYNTAX: &str = "TemplateSyntaxError";
    /// The template uses a variable or key the input does not have.
    pub const UNDEFINED_VARIABLE: &str = "UndefinedVariable";
    /// A tag or filter failed on the values it was given (wrong type, …).
    pub const RENDER_ERROR: &str = "RenderError";
    /// A bound on the template, the input or the render was exceeded.
    pub const LIMIT_EXCEEDED: &str = "LimitExceeded";
    /// The task input is not JSON.
    pub const INVALID_INPUT: &str = "InvalidInput";
    /// `grant_read_access` was given something that is not an S3 reference, or the
    /// presigner failed.
    pub const GRANT_READ_ACCESS: &str = "GrantReadAccessError";
}

/// One rendering error: RenderUiTemplate's `Errors[]` entry (`Code`, `Message`). The
/// message names positions and variables, never values from the input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RenderingError {
    /// One of [`codes`].
    pub code: String,
    /// What went wrong, and where.
    pub message: String,
}

impl RenderingError {
    /// An error with this code and message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for RenderingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for RenderingError {}

/// The bounds of parsing and rendering. [`Limits::default`] is
/// [`Limits::render_ui_template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Template length in characters (`UiTemplate.Content`: 128,000).
    pub max_template_chars: usize,
    /// Input JSON length in characters, for the `_str` entry points (`Task.Input`: 128,000;
    /// `InputContent`: 3,145,728).
    pub max_input_chars: usize,
    /// How deep arrays and objects may nest in the input.
    pub max_input_depth: usize,
    /// How deep blocks (`if`, `for`, …) may nest in the template.
    pub max_nesting: usize,
    /// Bytes of rendered output.
    pub max_output_bytes: usize,
    /// Bytes in one value a filter or a capture produces.
    pub max_value_bytes: usize,
    /// Bytes held in assigned and captured variables together.
    pub max_variables_bytes: usize,
    /// Loop iterations in one render, all loops together.
    pub max_iterations: u64,
    /// Bytes produced by filters, copied from variables and written, in one render.
    pub max_work_bytes: u64,
    /// Wall-clock time of one render (checked at every iteration, filter and write).
    pub max_duration: Duration,
}

impl Limits {
    /// RenderUiTemplate's: `Task.Input` up to 128,000 characters.
    pub fn render_ui_template() -> Self {
        Self {
            max_template_chars: 128_000,
            max_input_chars: 128_000,
            max_input_depth: 128,
            max_nesting: 64,
            max_output_bytes: 10 * 1024 * 1024,
            max_value_bytes: 10 * 1024 * 1024,
            max_variables_bytes: 32 * 1024 * 1024,
            max_iterations: 100_000,
            max_work_bytes: 256 * 1024 * 1024,
            max_duration: Duration::from_secs(10),
        }
    }

    /// A human loop's: `InputContent` up to 3,145,728 characters; the rest as
    /// [`Limits::render_ui_template`].
    pub fn human_loop() -> Self {
        Self {
            max_input_chars: 3_145_728,
            ..Self::render_ui_template()
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::render_ui_template()
    }
}

/// A parsed, checked template, ready to render any number of times (cheap to share:
/// `Send + Sync`).
#[derive(Debug)]
pub struct Template {
    compiled: liquid_core::Template,
    text: Arc<str>,
}

impl Template {
    /// The template as it was given.
    pub fn source(&self) -> &str {
        &self.text
    }
}

/// The Liquid language: the standard tags and filters (results bounded), our bounded
/// `for` and `capture`, and A2I's filters.
fn language() -> &'static Language {
    static LANGUAGE: OnceLock<Language> = OnceLock::new();
    LANGUAGE.get_or_init(|| {
        use liquid_lib::stdlib;
        let mut language = Language::empty();
        let tags: Vec<Box<dyn liquid_core::ParseTag>> = vec![
            Box::new(stdlib::AssignTag),
            Box::new(stdlib::BreakTag),
            Box::new(stdlib::ContinueTag),
            Box::new(stdlib::CycleTag),
            Box::new(stdlib::IncrementTag),
            Box::new(stdlib::DecrementTag),
        ];
        for tag in tags {
            language
                .tags
                .register(tag.reflection().tag().to_owned(), tag);
        }
        let blocks: Vec<Box<dyn liquid_core::ParseBlock>> = vec![
            Box::new(stdlib::RawBlock),
            Box::new(stdlib::IfBlock),
            Box::new(stdlib::UnlessBlock),
            Box::new(stdlib::CommentBlock),
            Box::new(stdlib::CaseBlock),
            Box::new(blocks::ForBlock),
            Box::new(blocks::CaptureBlock),
        ];
        for block in blocks {
            language
                .blocks
                .register(block.reflection().start_tag().to_owned(), block);
        }
        let standard: Vec<Box<dyn liquid_core::ParseFilter>> = vec![
            Box::new(stdlib::Abs),
            Box::new(stdlib::Append),
            Box::new(stdlib::AtLeast),
            Box::new(stdlib::AtMost),
            Box::new(stdlib::Capitalize),
            Box::new(stdlib::Ceil),
            Box::new(stdlib::Compact),
            Box::new(stdlib::Concat),
            Box::new(stdlib::Date),
            Box::new(stdlib::Default),
            Box::new(stdlib::DividedBy),
            Box::new(stdlib::Downcase),
            Box::new(stdlib::First),
            Box::new(stdlib::Floor),
            Box::new(stdlib::Join),
            Box::new(stdlib::Last),
            Box::new(stdlib::Lstrip),
            Box::new(stdlib::Map),
            Box::new(stdlib::Minus),
            Box::new(stdlib::Modulo),
            Box::new(stdlib::NewlineToBr),
            Box::new(stdlib::Plus),
            Box::new(stdlib::Prepend),
            Box::new(stdlib::Remove),
            Box::new(stdlib::RemoveFirst),
            Box::new(stdlib::Replace),
            Box::new(stdlib::ReplaceFirst),
            Box::new(stdlib::Reverse),
            Box::new(stdlib::Round),
            Box::new(stdlib::Rstrip),
            Box::new(stdlib::Size),
            Box::new(stdlib::Slice),
            Box::new(stdlib::Sort),
            Box::new(stdlib::SortNatural),
            Box::new(stdlib::Split),
            Box::new(stdlib::Strip),
            Box::new(stdlib::StripHtml),
            Box::new(stdlib::StripNewlines),
            Box::new(stdlib::Times),
            Box::new(stdlib::Truncate),
            Box::new(stdlib::TruncateWords),
            Box::new(stdlib::Uniq),
            Box::new(stdlib::Upcase),
            Box::new(stdlib::UrlDecode),
            Box::new(stdlib::UrlEncode),
            Box::new(stdlib::Where),
        ];
        for filter in standard {
            let name = filter.reflection().name().to_owned();
            language
                .filters
                .register(name, Box::new(filters::Bounded(filter)));
        }
        for filter in filters::A2I_FILTERS {
            language
                .filters
                .register(filter.name().to_owned(), Box::new(filter));
        }
        language
    })
}

/// Longest message taken from the Liquid parser (its messages quote template lines).
const MAX_MESSAGE_CHARS: usize = 2_000;

fn truncated(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

fn one(code: &str, message: impl Into<String>) -> Vec<RenderingError> {
    vec![RenderingError::new(code, message)]
}

/// Parses `content` with [`Limits::default`]'s template bounds (for CreateHumanTaskUi).
pub fn parse_template(content: &str) -> Result<Template, Vec<RenderingError>> {
    parse_template_with(content, &Limits::default())
}

/// Parses `content` within `limits`: its length, block and bracket nesting, and Liquid
/// syntax (unknown tags and filters included). Errors carry line and column.
pub fn parse_template_with(
    content: &str,
    limits: &Limits,
) -> Result<Template, Vec<RenderingError>> {
    let chars = content.chars().count();
    if chars > limits.max_template_chars {
        return Err(one(
            codes::LIMIT_EXCEEDED,
            format!(
                "The template has {chars} characters; at most {} are allowed",
                limits.max_template_chars
            ),
        ));
    }
    // Before Liquid's parser sees the template: it recurses on nesting.
    let rewritten = scan::add_autoescape(content, limits.max_nesting).map_err(|e| {
        let (offset, what) = match e {
            scan::ScanError::BlocksTooDeep { offset } => (
                offset,
                format!("blocks nest more than {} deep", limits.max_nesting),
            ),
            scan::ScanError::BracketsTooDeep { offset } => (
                offset,
                format!("brackets nest more than {} deep", scan::MAX_BRACKETS),
            ),
        };
        let (line, column) = scan::line_col(content, offset);
        one(
            codes::LIMIT_EXCEEDED,
            format!("Liquid syntax error (line {line}, column {column}): {what}"),
        )
    })?;
    let parse = |text: &str| {
        catch_unwind(AssertUnwindSafe(|| {
            liquid_core::parser::parse(text, language()).map(liquid_core::Template::new)
        }))
    };
    // The template as written first, so that positions in errors are the author's.
    match parse(content) {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(one(codes::TEMPLATE_SYNTAX, syntax_message(&e))),
        Err(_) => {
            return Err(one(
                codes::TEMPLATE_SYNTAX,
                "Liquid syntax error: the parser failed on this template",
            ))
        }
    }
    match parse(&rewritten) {
        Ok(Ok(compiled)) => Ok(Template {
            compiled,
            text: Arc::from(content),
        }),
        _ => Err(one(
            codes::TEMPLATE_SYNTAX,
            "Liquid syntax error: the template could not be prepared for auto-escaping",
        )),
    }
}

/// Liquid's parse error as one message: `Liquid syntax error: …` with the parser's
/// position (`--> line:column`) and expectation.
fn syntax_message(error: &liquid_core::Error) -> String {
    let text = error.to_string();
    let text = text.strip_prefix("liquid: ").unwrap_or(&text).trim_end();
    truncated(&format!("Liquid syntax error: {text}"))
}

/// Renders `template` with `task.input` = `input`, within [`Limits::default`] and the
/// presigner for `grant_read_access`.
pub fn render(
    template: &Template,
    input: &serde_json::Value,
    presign: &dyn Presign,
) -> Result<String, Vec<RenderingError>> {
    render_with(template, input, presign, &Limits::default())
}

/// [`render`] within `limits`.
pub fn render_with(
    template: &Template,
    input: &serde_json::Value,
    presign: &dyn Presign,
    limits: &Limits,
) -> Result<String, Vec<RenderingError>> {
    if json_depth(input) > limits.max_input_depth {
        return Err(one(
            codes::LIMIT_EXCEEDED,
            format!(
                "The task input nests more than {} levels deep",
                limits.max_input_depth
            ),
        ));
    }
    let input = to_liquid(input);
    let runtime = context::RootRuntime::new(input, presign, limits, template.text.clone());
    let mut writer = context::ChargedWriter {
        inner: context::BoundedWriter::new(limits.max_output_bytes),
        runtime: &runtime,
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        template.compiled.render_to(&mut writer, &runtime)
    }));
    let failure = context::take_failure(liquid_core::Runtime::registers(&runtime));
    let overflowed = writer.inner.overflowed;
    match outcome {
        Ok(Ok(())) => match failure {
            Some(error) => Err(vec![error]),
            None => String::from_utf8(writer.inner.buffer).map_err(|_| {
                one(
                    codes::RENDER_ERROR,
                    "Liquid error: the render produced text that is not UTF-8",
                )
            }),
        },
        Ok(Err(error)) => Err(vec![match failure {
            Some(recorded) => recorded,
            None if overflowed => RenderingError::new(
                codes::LIMIT_EXCEEDED,
                format!(
                    "Liquid error: the rendered page would be larger than {} bytes",
                    limits.max_output_bytes
                ),
            ),
            None => RenderingError::new(codes::RENDER_ERROR, render_message(&error)),
        }]),
        Err(_) => Err(one(
            codes::RENDER_ERROR,
            "Liquid error: the renderer failed unexpectedly on this template and input",
        )),
    }
}

/// The names Liquid gives value types, the only thing its "Expected …, found …" errors
/// may show.
const TYPE_NAMES: [&str; 10] = [
    "nil",
    "whole number",
    "fractional number",
    "string",
    "boolean",
    "date time",
    "date",
    "array",
    "object",
    "state",
];

/// A message for a render error Liquid raised itself (a standard tag or filter that
/// failed), keeping its first line only when it cannot carry input values.
fn render_message(error: &liquid_core::Error) -> String {
    let text = error.to_string();
    let first = text
        .strip_prefix("liquid: ")
        .unwrap_or(&text)
        .lines()
        .next()
        .unwrap_or("");
    let safe = first
        .strip_prefix("Expected ")
        .and_then(|rest| rest.split_once(", found `"))
        .is_some_and(|(expected, found)| {
            expected.len() < 60
                && expected
                    .chars()
                    .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '|')
                && found
                    .strip_suffix('`')
                    .is_some_and(|found| TYPE_NAMES.contains(&found))
        })
        || [
            "Invalid argument",
            "Filter error",
            "Unknown index",
            "Unknown variable",
        ]
        .contains(&first);
    if safe {
        format!("Liquid error: {first}")
    } else {
        "Liquid error: a tag or filter failed on the values it was given".to_owned()
    }
}

/// Renders RenderUiTemplate's strings: `content` (`UiTemplate.Content`) with `task.input`
/// = `input_json` (`Task.Input`), within [`Limits::render_ui_template`].
pub fn render_str(
    content: &str,
    input_json: &str,
    presign: &dyn Presign,
) -> Result<String, Vec<RenderingError>> {
    render_str_with(content, input_json, presign, &Limits::render_ui_template())
}

/// [`render_str`] within `limits`.
pub fn render_str_with(
    content: &str,
    input_json: &str,
    presign: &dyn Presign,
    limits: &Limits,
) -> Result<String, Vec<RenderingError>> {
    let input = parse_input(input_json, limits)?;
    let template = parse_template_with(content, limits)?;
    render_with(&template, &input, presign, limits)
}

/// Parses a task input (`Task.Input`, `InputContent`) within `limits`.
pub fn parse_input(
    input_json: &str,
    limits: &Limits,
) -> Result<serde_json::Value, Vec<RenderingError>> {
    let chars = input_json.chars().count();
    if chars > limits.max_input_chars {
        return Err(one(
            codes::LIMIT_EXCEEDED,
            format!(
                "The task input has {chars} characters; at most {} are allowed",
                limits.max_input_chars
            ),
        ));
    }
    // serde_json refuses nesting past 128 levels with an error, not a stack overflow.
    serde_json::from_str(input_json).map_err(|e| {
        one(
            codes::INVALID_INPUT,
            format!(
                "The task input is not valid JSON: {} at line {}, column {}",
                json_error_kind(&e),
                e.line(),
                e.column()
            ),
        )
    })
}

/// serde_json's error category in words (its full message can quote the input).
fn json_error_kind(error: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match error.classify() {
        Category::Io => "a read error",
        Category::Syntax => "a syntax error",
        Category::Data => "a data error",
        Category::Eof => "an unexpected end",
    }
}

/// How deep arrays and objects nest in `value` (iterative: any depth is safe).
fn json_depth(value: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        match v {
            serde_json::Value::Array(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
            serde_json::Value::Object(map) => stack.extend(map.values().map(|i| (i, depth + 1))),
            _ => {}
        }
    }
    deepest
}

/// The input as a Liquid value (depth already checked). Integers stay integers; numbers
/// beyond i64 become floats.
fn to_liquid(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::scalar(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::scalar(i),
            None => Value::scalar(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::scalar(s.clone()),
        serde_json::Value::Array(items) => Value::Array(items.iter().map(to_liquid).collect()),
        serde_json::Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone().into(), to_liquid(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests;
