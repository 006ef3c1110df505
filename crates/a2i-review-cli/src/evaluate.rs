//! `a2i-review evaluate`: a dry run of the start handler's decision on local files, so a user
//! can tune a condition document before deploying it.
//!
//! The decision is the handler's own: the condition document is parsed by
//! [`ActivationConditions::parse`], files are split into items by [`a2i_review::document::items`]
//! (the same `ITEMS_PATH` and `DOCUMENT_FORMAT` rules), and each item is judged by
//! [`ActivationConditions::evaluate`]. Nothing is sent anywhere.
//!
//! Output: one JSON object per item (JSON Lines) with `input`, `itemIndex`, `line`, `flagged`,
//! `reasons` and `results` (the condition tree annotated with `EvaluationResult`), or with
//! `error` when the item could not be read or evaluated; plus a readable summary. Every item is
//! reported before the outcome is decided, so one bad line never hides the others.
//!
//! With a template ([`Options::render`], `--render TEMPLATE --render-out DIR`), each flagged
//! item's loop input is built exactly as the start handler builds it
//! ([`LoopInput::new`] + [`LoopInput::render`], so `task.input` is what A2I would get) and
//! the template is rendered with a2i-local's renderer (A2I's Liquid, auto-escape, filters and
//! strict variables) into `DIR/<input>.<item or line>.html`. The loop input's `source` names
//! the local file as `s3://`[`LOCAL_SOURCE_BUCKET`]`/<path>`, since it has no S3 object.
//! `grant_read_access` gives, by [`MediaUrls`], visibly unsigned preview URLs, or real
//! presigned URLs when `AWS_ENDPOINT_URL_S3` names an S3 (a running `a2i-local serve`).
//! Render errors are reported per item (code, message with the template position); they
//! never contain item content.

use std::io::Write;
use std::path::{Path, PathBuf};

use a2i_local::render::{self as liquid, Limits, Presign, RenderingError, Template};
use a2i_review::conditions::{ActivationConditions, ConditionError, Evaluation, SliceError};
use a2i_review::config::DocumentFormat;
use a2i_review::document::{self, Item, ItemFault};
use a2i_review::loop_input::{ItemSource, LoopInput};
use a2i_review::source::ObjectRef;
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use serde_json_path::JsonPath;

/// The input name that reads standard input.
pub const STDIN: &str = "-";

/// Longest reason shown in the readable summary; the JSON always has the full text.
const SUMMARY_REASON_CHARS: usize = 110;

/// Where the per-item records go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// JSON Lines on the main output, a readable summary on the diagnostic output: pipe the
    /// first into `jq`, read the second.
    JsonLines,
    /// Only the readable table, on the main output.
    Table,
}

/// What to evaluate, and how to split the inputs into items.
#[derive(Debug, Clone)]
pub struct Options {
    /// The condition document (as `ACTIVATION_CONDITIONS` would hold it).
    pub conditions: PathBuf,
    /// The files to judge; [`STDIN`] reads standard input.
    pub inputs: Vec<PathBuf>,
    /// `ITEMS_PATH`: JSONPath to the list of items inside a JSON document.
    pub items_path: Option<JsonPath>,
    /// `DOCUMENT_FORMAT`.
    pub format: DocumentFormat,
    /// Where the per-item records go.
    pub output: OutputMode,
    /// Render a worker template for every flagged item.
    pub render: Option<RenderOptions>,
}

/// `--render TEMPLATE --render-out DIR`.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// The worker task template (Liquid + Crowd HTML Elements).
    pub template: PathBuf,
    /// Where the HTML files go (created if missing).
    pub out_dir: PathBuf,
    /// What `grant_read_access` produces.
    pub media: MediaUrls,
}

/// The bucket named by the loop input's `source` for a local file.
pub const LOCAL_SOURCE_BUCKET: &str = "local-file";

/// What `grant_read_access` turns S3 references into when rendering locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaUrls {
    /// `https://s3.amazonaws.com/BUCKET/KEY?a2i-preview=not-presigned`: shows which object
    /// the template asked for, fetches nothing.
    Preview,
    /// Real SigV4 presigned GET URLs for this S3 (a running a2i-local), which a browser
    /// opening the file can load.
    Presigned {
        /// `AWS_ENDPOINT_URL_S3`.
        endpoint: String,
        /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (a2i-local's defaults when unset).
        credentials: a2i_local::Credentials,
        /// `AWS_REGION` / `AWS_DEFAULT_REGION` (`us-east-1` when unset).
        region: String,
    },
}

impl MediaUrls {
    /// Presigned against `AWS_ENDPOINT_URL_S3` when it is set (as `a2i-local serve`'s env
    /// file sets it), previews otherwise. Never a real AWS endpoint unless the user points
    /// the variable there.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match var("AWS_ENDPOINT_URL_S3") {
            None => Self::Preview,
            Some(endpoint) => {
                let defaults = a2i_local::Credentials::default();
                Self::Presigned {
                    endpoint,
                    credentials: a2i_local::Credentials {
                        access_key_id: var("AWS_ACCESS_KEY_ID").unwrap_or(defaults.access_key_id),
                        secret_access_key: var("AWS_SECRET_ACCESS_KEY")
                            .unwrap_or(defaults.secret_access_key),
                    },
                    region: var("AWS_REGION")
                        .or_else(|| var("AWS_DEFAULT_REGION"))
                        .unwrap_or_else(|| "us-east-1".to_owned()),
                }
            }
        }
    }

    fn presigner(&self) -> Box<dyn Presign> {
        match self {
            Self::Preview => Box::new(liquid::PreviewPresign),
            Self::Presigned {
                endpoint,
                credentials,
                region,
            } => Box::new(liquid::S3Presigner::new(
                endpoint.clone(),
                credentials.clone(),
                region.clone(),
            )),
        }
    }
}

/// Why the evaluation could not be run at all (as opposed to an item that failed, which is
/// counted in the [`Report`]).
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// The condition document cannot be read.
    #[error("cannot read the conditions file {path}: {source}")]
    ConditionsUnreadable {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The condition document is invalid; the error names the offending node.
    #[error("the conditions file {path} is invalid at {source}")]
    ConditionsInvalid {
        /// The file.
        path: PathBuf,
        /// The offending node and the rule it breaks.
        source: ConditionError,
    },
    /// The template cannot be read.
    #[error("cannot read the template {path}: {source}")]
    TemplateUnreadable {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The template is not a valid A2I template; the errors carry line and column.
    #[error("the template {path} is invalid: {}", errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    TemplateInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        errors: Vec<RenderingError>,
    },
    /// The directory for the HTML files cannot be created.
    #[error("cannot create the render directory {path}: {source}")]
    RenderDirectory {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing the results failed (a closed pipe, a full disk).
    #[error("writing the results failed: {0}")]
    Output(#[from] std::io::Error),
}

/// Counts of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Items judged (flagged or not).
    pub evaluated: usize,
    /// Items the conditions flagged.
    pub flagged: usize,
    /// Items, files or lines that could not be read, and items the conditions cannot judge.
    pub errors: usize,
    /// Flagged items whose template rendered (with `--render`).
    pub rendered: usize,
    /// Flagged items whose template failed to render (with `--render`).
    pub render_errors: usize,
}

impl Report {
    /// Whether every input was read, every item judged and every flagged item rendered.
    pub fn is_clean(&self) -> bool {
        self.errors == 0 && self.render_errors == 0
    }
}

/// One line of the JSON output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemRecord<'a> {
    input: &'a str,
    /// `null` for a problem of the whole file.
    item_index: Option<u64>,
    /// One-based line of JSON Lines input; `null` for JSON documents.
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flagged: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasons: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    results: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorRecord<'a>>,
    /// With `--render`, for a flagged item: the HTML file, or why there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    render: Option<RenderRecord>,
}

/// The render of one flagged item.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RenderRecord {
    /// The HTML file written.
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    /// Why the template did not render (codes and messages as RenderUiTemplate's `Errors`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<RenderErrorRecord>,
}

/// One rendering error.
#[derive(Debug, Serialize)]
struct RenderErrorRecord {
    code: String,
    message: String,
}

/// Why an item has no decision.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorRecord<'a> {
    /// `read` (the file or line is not usable input) or `evaluation` (the conditions cannot
    /// judge this item, as the start handler would report it).
    kind: &'static str,
    /// The condition that could not be evaluated, e.g. `Conditions[0].And[1]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    condition: Option<&'a str>,
    message: &'a str,
}

/// Reads the condition document, then judges every item of every input, writing the records
/// to `out` and the readable summary to `diag` (or everything readable to `out` in
/// [`OutputMode::Table`]).
pub async fn run(
    options: &Options,
    out: &mut dyn Write,
    diag: &mut dyn Write,
) -> Result<Report, EvaluateError> {
    let conditions = load_conditions(&options.conditions)?;
    let renderer = match &options.render {
        Some(render) => Some(Renderer::new(render)?),
        None => None,
    };
    let mut readable = Readable::default();
    for input in &options.inputs {
        let name = input.display().to_string();
        let items = match open(input).await {
            Ok(body) => {
                document::items(body, &name, options.format, options.items_path.as_ref()).await
            }
            Err(e) => {
                let fault = ItemFault {
                    index: None,
                    line: None,
                    reason: format!("cannot read the file: {e}"),
                    retryable: false,
                };
                Box::pin(futures::stream::iter([Err(fault)]))
            }
        };
        // The handler judges items concurrently; here order matters more than speed.
        let mut items = items;
        while let Some(item) = items.next().await {
            match item {
                Ok(item) => judge(
                    &conditions,
                    &name,
                    item,
                    options,
                    renderer.as_ref(),
                    out,
                    &mut readable,
                )?,
                Err(fault) => {
                    let error = ErrorRecord {
                        kind: "read",
                        condition: None,
                        message: &fault.reason,
                    };
                    readable.error(&name, fault.index, fault.line, &fault.reason);
                    if options.output == OutputMode::JsonLines {
                        write_record(out, &error_record(&name, fault.index, fault.line, error))?;
                    }
                }
            }
        }
    }
    let report = Report {
        evaluated: readable.evaluated,
        flagged: readable.flagged,
        errors: readable.errors,
        rendered: readable.rendered,
        render_errors: readable.render_errors,
    };
    match options.output {
        OutputMode::JsonLines => {
            out.flush()?;
            readable.write(diag)?;
            diag.flush()?;
        }
        OutputMode::Table => {
            readable.write(out)?;
            out.flush()?;
        }
    }
    Ok(report)
}

/// Parses the condition document exactly as the start handler's cold start does.
pub fn load_conditions(path: &Path) -> Result<ActivationConditions, EvaluateError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| EvaluateError::ConditionsUnreadable {
            path: path.to_owned(),
            source,
        })?;
    ActivationConditions::parse(&text).map_err(|source| EvaluateError::ConditionsInvalid {
        path: path.to_owned(),
        source,
    })
}

type Body = tokio::io::BufReader<Box<dyn tokio::io::AsyncRead + Send + Unpin>>;

async fn open(input: &Path) -> std::io::Result<Body> {
    let reader: Box<dyn tokio::io::AsyncRead + Send + Unpin> = if input.as_os_str() == STDIN {
        Box::new(tokio::io::stdin())
    } else {
        Box::new(tokio::fs::File::open(input).await?)
    };
    Ok(tokio::io::BufReader::new(reader))
}

fn judge(
    conditions: &ActivationConditions,
    name: &str,
    item: Item,
    options: &Options,
    renderer: Option<&Renderer>,
    out: &mut dyn Write,
    readable: &mut Readable,
) -> Result<(), EvaluateError> {
    let evaluated = match item.body.decide(conditions) {
        Ok(evaluation) => Ok(evaluation),
        Err(SliceError::Evaluation(e)) => Err(e),
        // A whole document that is not JSON: the fault of the whole input, worded as the
        // handler words it.
        Err(SliceError::NotJson(e)) => {
            let reason = document::not_json(e).reason;
            readable.error(name, None, None, &reason);
            if options.output == OutputMode::JsonLines {
                let error = ErrorRecord {
                    kind: "read",
                    condition: None,
                    message: &reason,
                };
                write_record(out, &error_record(name, None, None, error))?;
            }
            return Ok(());
        }
    };
    match evaluated {
        Ok(evaluation) => {
            readable.decision(name, &item, evaluation.flagged, &evaluation.reasons);
            let (item_index, line) = (item.index, item.line);
            let render = match renderer {
                Some(renderer) if evaluation.flagged => {
                    let record = renderer.render(name, item, &evaluation);
                    readable.render_outcome(&record);
                    Some(record)
                }
                _ => None,
            };
            if options.output == OutputMode::JsonLines {
                write_record(
                    out,
                    &ItemRecord {
                        input: name,
                        item_index: Some(item_index),
                        line,
                        flagged: Some(evaluation.flagged),
                        reasons: Some(&evaluation.reasons),
                        results: Some(&evaluation.results),
                        error: None,
                        render,
                    },
                )?;
            }
        }
        Err(e) => {
            // The handler's own wording for this failure, so the JSON matches its summary.
            let message =
                format!("the activation conditions cannot be evaluated on this item: {e}");
            readable.error(name, Some(item.index), item.line, &e.to_string());
            if options.output == OutputMode::JsonLines {
                let error = ErrorRecord {
                    kind: "evaluation",
                    condition: Some(&e.path),
                    message: &message,
                };
                write_record(out, &error_record(name, Some(item.index), item.line, error))?;
            }
        }
    }
    Ok(())
}

fn error_record<'a>(
    input: &'a str,
    item_index: Option<u64>,
    line: Option<u64>,
    error: ErrorRecord<'a>,
) -> ItemRecord<'a> {
    ItemRecord {
        input,
        item_index,
        line,
        flagged: None,
        reasons: None,
        results: None,
        error: Some(error),
        render: None,
    }
}

/// The template, parsed once, with where its pages go and what `grant_read_access` gives.
struct Renderer {
    template: Template,
    out_dir: PathBuf,
    presign: Box<dyn Presign>,
    limits: Limits,
}

impl Renderer {
    fn new(options: &RenderOptions) -> Result<Self, EvaluateError> {
        let text = std::fs::read_to_string(&options.template).map_err(|source| {
            EvaluateError::TemplateUnreadable {
                path: options.template.clone(),
                source,
            }
        })?;
        // A human loop's bounds: the loop input can be up to 3,145,728 characters.
        let limits = Limits::human_loop();
        let template = liquid::parse_template_with(&text, &limits).map_err(|errors| {
            EvaluateError::TemplateInvalid {
                path: options.template.clone(),
                errors,
            }
        })?;
        std::fs::create_dir_all(&options.out_dir).map_err(|source| {
            EvaluateError::RenderDirectory {
                path: options.out_dir.clone(),
                source,
            }
        })?;
        Ok(Self {
            template,
            out_dir: options.out_dir.clone(),
            presign: options.media.presigner(),
            limits,
        })
    }

    /// Renders one flagged item with the loop input the start handler would send for it.
    fn render(&self, input: &str, item: Item, evaluation: &Evaluation) -> RenderRecord {
        let failed = |code: &str, message: String| RenderRecord {
            file: None,
            errors: vec![RenderErrorRecord {
                code: code.to_owned(),
                message,
            }],
        };
        let (index, line) = (item.index, item.line);
        let value = match item.body.into_value() {
            Ok(value) => value,
            Err(e) => {
                return failed(
                    liquid::codes::INVALID_INPUT,
                    format!(
                        "the item is not JSON (line {}, column {})",
                        e.line(),
                        e.column()
                    ),
                )
            }
        };
        let source = ItemSource {
            object: ObjectRef {
                bucket: LOCAL_SOURCE_BUCKET.to_owned(),
                key: input.to_owned(),
                version_id: None,
                e_tag: None,
            },
            item_index: index,
            line,
        };
        let content = match LoopInput::new(value, source, evaluation, None).render() {
            Ok(rendered) => rendered.content,
            Err(e) => return failed(liquid::codes::LIMIT_EXCEEDED, e.to_string()),
        };
        let html = liquid::parse_input(&content, &self.limits).and_then(|task_input| {
            liquid::render_with(
                &self.template,
                &task_input,
                self.presign.as_ref(),
                &self.limits,
            )
        });
        match html {
            Ok(html) => {
                let file = self.out_dir.join(page_name(input, index, line));
                match std::fs::write(&file, html) {
                    Ok(()) => RenderRecord {
                        file: Some(file.display().to_string()),
                        errors: Vec::new(),
                    },
                    Err(e) => failed(
                        "WriteError",
                        format!("cannot write {}: {e}", file.display()),
                    ),
                }
            }
            Err(errors) => RenderRecord {
                file: None,
                errors: errors
                    .into_iter()
                    .map(|e| RenderErrorRecord {
                        code: e.code,
                        message: e.message,
                    })
                    .collect(),
            },
        }
    }
}

/// `<input path with separators as _>.item-<index>.html`, or `.line-<n>.html` for JSON
/// Lines: one file per item, stable across runs, never outside the render directory.
fn page_name(input: &str, index: u64, line: Option<u64>) -> String {
    let stem: String = if input == STDIN {
        "stdin".to_owned()
    } else {
        input
            .trim_start_matches("./")
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || "-_.+".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let stem = stem.trim_start_matches('.');
    match line {
        Some(line) => format!("{stem}.line-{line}.html"),
        None => format!("{stem}.item-{index}.html"),
    }
}

fn write_record(out: &mut dyn Write, record: &ItemRecord<'_>) -> Result<(), EvaluateError> {
    serde_json::to_writer(&mut *out, record).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// The readable summary, built while items are judged and written at the end, so that in
/// JSON Lines mode the two outputs never interleave on a terminal.
#[derive(Debug, Default)]
struct Readable {
    rows: Vec<[String; 3]>,
    details: Vec<Vec<String>>,
    evaluated: usize,
    flagged: usize,
    errors: usize,
    rendered: usize,
    render_errors: usize,
}

impl Readable {
    /// Adds the render of the item just decided to its details.
    fn render_outcome(&mut self, record: &RenderRecord) {
        let details = self.details.last_mut();
        match &record.file {
            Some(file) => {
                self.rendered += 1;
                if let Some(details) = details {
                    details.push(format!("rendered: {file}"));
                }
            }
            None => {
                self.render_errors += 1;
                if let Some(details) = details {
                    for e in &record.errors {
                        details.push(format!("render error: {}: {}", e.code, e.message));
                    }
                }
            }
        }
    }

    fn decision(&mut self, input: &str, item: &Item, flagged: bool, reasons: &[String]) {
        self.evaluated += 1;
        self.flagged += usize::from(flagged);
        let verdict = if flagged { "flagged" } else { "not flagged" };
        self.rows.push([
            input.to_owned(),
            position(Some(item.index), item.line),
            verdict.to_owned(),
        ]);
        self.details.push(
            reasons
                .iter()
                .map(|r| shorten(r, SUMMARY_REASON_CHARS))
                .collect(),
        );
    }

    fn error(&mut self, input: &str, index: Option<u64>, line: Option<u64>, message: &str) {
        self.errors += 1;
        self.rows
            .push([input.to_owned(), position(index, line), "ERROR".to_owned()]);
        self.details.push(vec![message.to_owned()]);
    }

    fn write(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let header = ["INPUT", "ITEM", "DECISION"];
        let widths: Vec<usize> = (0..3)
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r[c].chars().count())
                    .chain([header[c].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let indent = widths[0] + widths[1] + widths[2] + 6;
        writeln!(
            w,
            "{:w0$}  {:w1$}  {:w2$}  WHY",
            header[0],
            header[1],
            header[2],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )?;
        for (row, details) in self.rows.iter().zip(&self.details) {
            write!(
                w,
                "{:w0$}  {:w1$}  {:w2$}",
                row[0],
                row[1],
                row[2],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            )?;
            match details.split_first() {
                None => writeln!(w)?,
                Some((first, rest)) => {
                    writeln!(w, "  {first}")?;
                    for more in rest {
                        writeln!(w, "{:indent$}{more}", "")?;
                    }
                }
            }
        }
        let total = self.evaluated + self.errors;
        write!(
            w,
            "{total} {}: {} flagged, {} not flagged, {} {}",
            if total == 1 { "item" } else { "items" },
            self.flagged,
            self.evaluated - self.flagged,
            self.errors,
            if self.errors == 1 { "error" } else { "errors" }
        )?;
        if self.rendered + self.render_errors > 0 {
            write!(
                w,
                "; {} rendered, {} render {}",
                self.rendered,
                self.render_errors,
                if self.render_errors == 1 {
                    "error"
                } else {
                    "errors"
                }
            )?;
        }
        writeln!(w)
    }
}

/// `item 0`, `line 3`, or `-` for the whole file.
fn position(index: Option<u64>, line: Option<u64>) -> String {
    match (index, line) {
        (_, Some(line)) => format!("line {line}"),
        (Some(index), None) => format!("item {index}"),
        (None, None) => "-".to_owned(),
    }
}

/// `text` cut to at most `max` characters, with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_keeps_short_text_and_marks_cuts() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcd", 3), "ab…");
        assert_eq!(shorten("äöüß", 2), "ä…");
    }

    #[test]
    fn positions_name_lines_before_indexes() {
        assert_eq!(position(Some(2), Some(3)), "line 3");
        assert_eq!(position(Some(0), None), "item 0");
        assert_eq!(position(None, None), "-");
    }

    #[tokio::test]
    async fn an_item_the_conditions_cannot_read_is_an_error_and_the_rest_is_judged() {
        let dir = tempfile::tempdir().unwrap();
        let conditions = dir.path().join("c.json");
        std::fs::write(
            &conditions,
            r#"{"Conditions":[{"ConditionType":"JsonPathCheck","ConditionParameters":{"Path":"$.score","LessThan":0.5}}]}"#,
        )
        .unwrap();
        let input = dir.path().join("in.jsonl");
        std::fs::write(&input, "{\"score\":0.2}\n{\"score\":0.9}\nnot json\n").unwrap();
        let options = Options {
            conditions,
            inputs: vec![input],
            items_path: None,
            format: DocumentFormat::Auto,
            output: OutputMode::JsonLines,
            render: None,
        };
        let (mut out, mut diag) = (Vec::new(), Vec::new());
        let report = run(&options, &mut out, &mut diag).await.unwrap();
        assert_eq!(
            report,
            Report {
                evaluated: 2,
                flagged: 1,
                errors: 1,
                rendered: 0,
                render_errors: 0,
            }
        );
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["flagged"], true);
        assert_eq!(lines[1]["flagged"], false);
        assert_eq!(lines[2]["error"]["kind"], "read");
        assert_eq!(lines[2]["line"], 3);
        let summary = String::from_utf8(diag).unwrap();
        assert!(
            summary.ends_with("3 items: 1 flagged, 1 not flagged, 1 error\n"),
            "{summary}"
        );
    }
}
