//! The `a2i-review` command: the app's own tooling (the offline demo, a dry run of the
//! activation conditions). The emulator itself is the separate `a2i-local` command.

use std::path::PathBuf;
use std::process::ExitCode;

use a2i_review::config::{parse_items_path, DocumentFormat};
use a2i_review_cli::demo;
use a2i_review_cli::evaluate::{self, OutputMode};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json_path::JsonPath;

/// Human review for ML pipelines on AWS: the app's tooling.
#[derive(Debug, Parser)]
#[command(name = "a2i-review", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole pipeline offline on the sample data: S3 upload, the real start handlers,
    /// human loops answered by a scripted reviewer, the real status handler, reviewed results.
    Demo(DemoArgs),
    /// Dry-run the start handler's decision on local files: for each item, flagged or not,
    /// why, and the condition tree annotated with EvaluationResult.
    ///
    /// Exit status: 0 when every item was judged (whatever the decisions), 1 when an input,
    /// a line or an item could not be read or judged, or a flagged item's template did not
    /// render (every other item is still reported), 2 for a bad command line or an invalid
    /// conditions file or template.
    Evaluate(EvaluateArgs),
    /// Operate the app's human loops: list, describe, stop, delete, restart.
    Loops(a2i_review_cli::loops::cli::LoopsArgs),
    /// Replay the failed invocations of a function's on-failure SQS queue; a message is
    /// deleted only after its event was processed successfully.
    Redrive(a2i_review_cli::redrive::RedriveArgs),
}

impl Command {
    /// The log filter when RUST_LOG sets none: these commands print their own results and
    /// stay quiet otherwise.
    fn default_log_filter(&self) -> &'static str {
        match self {
            Self::Demo(_) => "off",
            Self::Evaluate(_) | Self::Loops(_) | Self::Redrive(_) => "warn",
        }
    }
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Keep the loops and S3 objects in DIR (new or empty) to look at the reviewed results
    /// afterwards; a temp directory, removed at the end, otherwise.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Stop after starting the loops, print the worker portal's URL and wait until a person
    /// has answered them all in a browser (Ctrl-C stops the loops left), then show the
    /// reviewed results.
    #[arg(long)]
    interactive: bool,
}

/// The names `--format` accepts: those of the handler's `DOCUMENT_FORMAT`.
const FORMAT_NAMES: [&str; 3] = ["auto", "json", "jsonl"];

#[derive(Debug, Args)]
struct EvaluateArgs {
    /// The condition document (A2I's HumanLoopActivationConditions JSON), as the start
    /// handler's ACTIVATION_CONDITIONS would hold it.
    #[arg(long, value_name = "FILE")]
    conditions: PathBuf,
    /// JSONPath to the list of items inside a JSON document (the handler's ITEMS_PATH).
    #[arg(long, value_name = "JSONPATH", value_parser = items_path)]
    items_path: Option<JsonPath>,
    /// How files are split into items (the handler's DOCUMENT_FORMAT): `auto` reads
    /// .jsonl/.ndjson files as JSON Lines and sniffs the rest.
    #[arg(
        long,
        default_value = "auto",
        value_parser = PossibleValuesParser::new(FORMAT_NAMES).try_map(|name| name.parse::<DocumentFormat>())
    )]
    format: DocumentFormat,
    /// `jsonl`: one JSON object per item on stdout, a readable summary on stderr;
    /// `table`: only the readable summary, on stdout.
    #[arg(long, value_enum, default_value_t = OutputArg::Jsonl)]
    output: OutputArg,
    /// Render this worker task template (Liquid + Crowd HTML Elements) for every flagged
    /// item, with the loop input the start handler would send, as A2I renders it; needs
    /// --render-out. `grant_read_access` gives unsigned preview URLs, or presigned URLs for
    /// the S3 at AWS_ENDPOINT_URL_S3 when it is set (a running `a2i-local serve`).
    #[arg(long, value_name = "TEMPLATE", requires = "render_out")]
    render: Option<PathBuf>,
    /// Where --render writes one HTML file per flagged item
    /// (`<input>.item-<n>.html` or `<input>.line-<n>.html`); created if missing.
    #[arg(long, value_name = "DIR", requires = "render")]
    render_out: Option<PathBuf>,
    /// With --render: the item's media URI, as the start handler's MEDIA_PATH finds it
    /// (`task.input.media`).
    #[arg(long, value_name = "JSONPATH", value_parser = items_path, requires = "render")]
    media_path: Option<JsonPath>,
    /// Inference results to judge (Rekognition, Textract sync or async pages, JSON Lines, any
    /// JSON); `-` reads stdin.
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<PathBuf>,
}

/// `--items-path`, parsed as the start handler parses `ITEMS_PATH`; clap names the flag.
fn items_path(raw: &str) -> Result<JsonPath, String> {
    parse_items_path(raw).map_err(|e| e.rule)
}

/// `--output` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputArg {
    Jsonl,
    Table,
}

/// Exit status of `evaluate` when an input, line or item could not be judged.
const EXIT_ITEM_ERRORS: u8 = 1;
/// Exit status for a bad command line (as clap uses) or an invalid conditions file.
const EXIT_USAGE: u8 = 2;

/// A failure to report: the message and the exit status.
type Failure = (String, ExitCode);

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(cli.command.default_log_filter())
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Demo(args) => run_demo(args).await.map(|()| ExitCode::SUCCESS),
        Command::Evaluate(args) => run_evaluate(args).await,
        Command::Loops(args) => Ok(a2i_review_cli::loops::cli::run(args).await),
        Command::Redrive(args) => Ok(a2i_review_cli::redrive::run_cli(args).await),
    };
    match result {
        Ok(code) => code,
        Err((message, code)) => {
            eprintln!("a2i-review: {message}");
            code
        }
    }
}

async fn run_demo(args: DemoArgs) -> Result<(), Failure> {
    let options = demo::DemoOptions {
        data_dir: args.data_dir,
        interactive: args.interactive,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    demo::run(&options, &mut out)
        .await
        .map(|_| ())
        .map_err(|e| (format!("demo failed: {e}"), ExitCode::FAILURE))
}

async fn run_evaluate(args: EvaluateArgs) -> Result<ExitCode, Failure> {
    let options = evaluate::Options {
        conditions: args.conditions,
        inputs: args.inputs,
        items_path: args.items_path,
        format: args.format,
        output: match args.output {
            OutputArg::Jsonl => OutputMode::JsonLines,
            OutputArg::Table => OutputMode::Table,
        },
        render: match (args.render, args.render_out) {
            (Some(template), Some(out_dir)) => Some(evaluate::RenderOptions {
                template,
                out_dir,
                media: evaluate::MediaUrls::from_env(),
                media_path: args.media_path,
            }),
            _ => None,
        },
    };
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut diag = stderr.lock();
    match evaluate::run(&options, &mut out, &mut diag).await {
        Ok(report) if report.is_clean() => Ok(ExitCode::SUCCESS),
        Ok(report) if report.errors > 0 => Err((
            format!(
                "{} of {} items could not be read or judged (reported above)",
                report.errors,
                report.evaluated + report.errors
            ),
            ExitCode::from(EXIT_ITEM_ERRORS),
        )),
        Ok(report) => Err((
            format!(
                "the template did not render for {} of {} flagged items (reported above)",
                report.render_errors,
                report.rendered + report.render_errors
            ),
            ExitCode::from(EXIT_ITEM_ERRORS),
        )),
        // A reader that stopped early (`| head`) is not worth a message.
        Err(evaluate::EvaluateError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Ok(ExitCode::FAILURE)
        }
        Err(e @ evaluate::EvaluateError::Output(_)) => Err((e.to_string(), ExitCode::FAILURE)),
        Err(e) => Err((e.to_string(), ExitCode::from(EXIT_USAGE))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_format_name_is_a_document_format_the_handler_accepts() {
        let formats: Vec<DocumentFormat> = FORMAT_NAMES
            .iter()
            .map(|name| name.parse().unwrap())
            .collect();
        assert_eq!(
            formats,
            [
                DocumentFormat::Auto,
                DocumentFormat::Json,
                DocumentFormat::JsonLines
            ]
        );
    }

    #[test]
    fn evaluate_flags_parse_as_the_handler_settings_do() {
        let cli = Cli::try_parse_from([
            "a2i-review",
            "evaluate",
            "--conditions",
            "c.json",
            "--items-path",
            " $.items ",
            "--format",
            "jsonl",
            "in.json",
        ])
        .unwrap();
        let Command::Evaluate(args) = cli.command else {
            panic!("parsed as {cli:?}");
        };
        assert_eq!(args.format, DocumentFormat::JsonLines);
        assert_eq!(
            args.items_path.map(|p| p.to_string()).as_deref(),
            Some("$.items"),
            "blanks are trimmed as in ITEMS_PATH"
        );

        let err = Cli::try_parse_from([
            "a2i-review",
            "evaluate",
            "--conditions",
            "c.json",
            "--format",
            "yaml",
            "in.json",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        assert!(err.to_string().contains("jsonl"), "{err}");
    }
}
