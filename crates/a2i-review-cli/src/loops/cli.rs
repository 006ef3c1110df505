//! The command line of `a2i-review loops`: flags to [`super`]'s options, outcomes to exit
//! statuses. Kept here so `src/main.rs` only names the subcommand.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use a2i_review::conditions::ActivationConditions;
use a2i_review::config::DocumentFormat;
use aws_sdk_sagemakera2iruntime::types::{ContentClassifier, HumanLoopStatus};
use clap::{Args, Subcommand, ValueEnum};

use super::{
    Action, ActionOptions, Clients, Consent, LoopsError, OutputMode, RegistryLocation,
    RestartOptions, Selection, Target, DEFAULT_REGISTRY_PREFIX,
};

/// `a2i-review loops …`
#[derive(Debug, Args)]
pub struct LoopsArgs {
    #[command(subcommand)]
    command: LoopsCommand,
}

#[derive(Debug, Subcommand)]
enum LoopsCommand {
    /// List the loops of a flow definition: status, age, creation time and (with
    /// --results-bucket) the item each one is about. Pages through ListHumanLoops.
    List(ListArgs),
    /// Show one loop.
    Describe(DescribeArgs),
    /// Stop one loop (NAME) or every InProgress loop a filter selects. Stopping a stopped or
    /// finished loop changes nothing and is not an error.
    Stop(ActionArgs),
    /// Delete one loop (NAME) or every finished loop a filter selects (A2I deletes only
    /// Completed, Failed and Stopped loops). Deleting a deleted loop is not an error.
    Delete(ActionArgs),
    /// Start a new loop for the item of a Failed or Stopped loop: the input is rebuilt from
    /// the registry and the source object with the start function's settings (and must match
    /// the registered digest); the new loop is NAME-r<generation>. Restarting twice starts one
    /// loop.
    Restart(RestartArgs),
}

#[derive(Debug, Args)]
struct RestartArgs {
    /// The Failed or Stopped loop.
    name: String,
    /// The results bucket holding the loop registry.
    #[arg(long, value_name = "BUCKET")]
    results_bucket: String,
    /// Key prefix of the registry in the results bucket.
    #[arg(long, value_name = "PREFIX", default_value = DEFAULT_REGISTRY_PREFIX)]
    registry_prefix: String,
    /// The start function's ACTIVATION_CONDITIONS: inline JSON, an s3://bucket/key URI, or a
    /// file.
    #[arg(long, value_name = "CONDITIONS")]
    conditions: String,
    /// The start function's ITEMS_PATH.
    #[arg(long, value_name = "JSONPATH", value_parser = items_path)]
    items_path: Option<serde_json_path::JsonPath>,
    /// The start function's MEDIA_PATH.
    #[arg(long, value_name = "JSONPATH", value_parser = items_path)]
    media_path: Option<serde_json_path::JsonPath>,
    /// The start function's DOCUMENT_FORMAT.
    #[arg(long, default_value = "auto", value_parser = document_format)]
    format: DocumentFormat,
    /// The start function's CONTENT_CLASSIFIERS (repeat for both).
    #[arg(long, value_enum)]
    content_classifier: Vec<ClassifierArg>,
    /// Rebuild and check the input, start nothing.
    #[arg(long)]
    dry_run: bool,
    /// `text` or `jsonl`.
    #[arg(long, value_enum, default_value_t = OutputArg::Text)]
    output: OutputArg,
}

/// `--content-classifier` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "PascalCase")]
enum ClassifierArg {
    FreeOfPersonallyIdentifiableInformation,
    FreeOfAdultContent,
}

impl ClassifierArg {
    fn sdk(self) -> ContentClassifier {
        match self {
            Self::FreeOfPersonallyIdentifiableInformation => {
                ContentClassifier::FreeOfPersonallyIdentifiableInformation
            }
            Self::FreeOfAdultContent => ContentClassifier::FreeOfAdultContent,
        }
    }
}

fn items_path(raw: &str) -> Result<serde_json_path::JsonPath, String> {
    a2i_review::config::parse_items_path(raw).map_err(|e| e.rule)
}

fn document_format(raw: &str) -> Result<DocumentFormat, String> {
    raw.parse::<DocumentFormat>().map_err(|e| e.rule)
}

/// Reads `--conditions` as the start function reads ACTIVATION_CONDITIONS (inline JSON or an
/// s3:// URI), or from a file.
async fn load_conditions(clients: &Clients, raw: &str) -> Result<ActivationConditions, String> {
    let (text, origin) = if raw.trim_start().starts_with('{') {
        (raw.to_owned(), "--conditions".to_owned())
    } else if raw.starts_with("s3://") {
        let (bucket, key) = a2i_review::source::parse_s3_uri(raw).map_err(|e| e.to_string())?;
        let out = clients
            .s3
            .get_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "--conditions: {}",
                    a2i_review::error::CallError::classify("GetObject", &e)
                )
            })?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| format!("--conditions: reading {raw} failed: {e}"))?
            .into_bytes();
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| format!("--conditions: {raw} is not UTF-8"))?;
        (text, raw.to_owned())
    } else {
        let text = std::fs::read_to_string(raw)
            .map_err(|e| format!("--conditions: cannot read {raw}: {e}"))?;
        (text, raw.to_owned())
    };
    a2i_review::config::parse_conditions_document(&text)
        .map_err(|e| format!("{origin} is not a valid condition document: {e}"))
}

#[derive(Debug, Args)]
struct FilterArgs {
    /// Only loops in this status (repeat for several).
    #[arg(long, value_enum)]
    status: Vec<StatusArg>,
    /// Only loops created at least this long ago: 7d, 36h, 90m, 1w, 2d12h.
    #[arg(long, value_name = "AGE", value_parser = age)]
    older_than: Option<Duration>,
    /// Only loops created after this time: 2026-11-01 or 2026-11-01T08:00:00Z.
    #[arg(long, value_name = "TIME", value_parser = time)]
    created_after: Option<SystemTime>,
}

impl FilterArgs {
    fn is_empty(&self) -> bool {
        self.status.is_empty() && self.older_than.is_none() && self.created_after.is_none()
    }

    fn selection(&self, flow_definition_arn: String) -> Selection {
        Selection {
            statuses: self.status.iter().map(|s| s.status()).collect(),
            older_than: self.older_than,
            created_after: self.created_after,
            ..Selection::all(flow_definition_arn)
        }
    }
}

#[derive(Debug, Args)]
struct RegistryArgs {
    /// The results bucket holding the loop registry: joins each loop with its source item.
    #[arg(long, value_name = "BUCKET")]
    results_bucket: Option<String>,
    /// Key prefix of the registry in the results bucket.
    #[arg(long, value_name = "PREFIX", default_value = DEFAULT_REGISTRY_PREFIX)]
    registry_prefix: String,
}

impl RegistryArgs {
    fn location(&self) -> Option<RegistryLocation> {
        self.results_bucket.as_ref().map(|bucket| RegistryLocation {
            bucket: bucket.clone(),
            prefix: self.registry_prefix.clone(),
        })
    }
}

#[derive(Debug, Args)]
struct ListArgs {
    /// The flow definition whose loops are listed.
    #[arg(long, value_name = "ARN")]
    flow_definition_arn: String,
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    registry: RegistryArgs,
    /// `text`: a table; `jsonl`: one JSON object per loop.
    #[arg(long, value_enum, default_value_t = OutputArg::Text)]
    output: OutputArg,
}

#[derive(Debug, Args)]
struct DescribeArgs {
    /// The loop's name.
    name: String,
    #[command(flatten)]
    registry: RegistryArgs,
    /// `text` or `jsonl` (one JSON object).
    #[arg(long, value_enum, default_value_t = OutputArg::Text)]
    output: OutputArg,
}

#[derive(Debug, Args)]
struct ActionArgs {
    /// One loop, by name; or give a filter (with --flow-definition-arn) instead.
    #[arg(value_name = "NAME", conflicts_with_all = ["flow_definition_arn", "status", "older_than", "created_after"])]
    name: Option<String>,
    /// The flow definition whose loops the filter selects.
    #[arg(long, value_name = "ARN")]
    flow_definition_arn: Option<String>,
    #[command(flatten)]
    filter: FilterArgs,
    /// Show what would be done, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Act on a filter without asking for confirmation.
    #[arg(long, short = 'y')]
    yes: bool,
    /// `text` or `jsonl` (one JSON object per loop).
    #[arg(long, value_enum, default_value_t = OutputArg::Text)]
    output: OutputArg,
}

/// `--status` values: A2I's loop statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "PascalCase")]
enum StatusArg {
    InProgress,
    Completed,
    Failed,
    Stopping,
    Stopped,
}

impl StatusArg {
    fn status(self) -> HumanLoopStatus {
        match self {
            Self::InProgress => HumanLoopStatus::InProgress,
            Self::Completed => HumanLoopStatus::Completed,
            Self::Failed => HumanLoopStatus::Failed,
            Self::Stopping => HumanLoopStatus::Stopping,
            Self::Stopped => HumanLoopStatus::Stopped,
        }
    }
}

/// `--output` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputArg {
    Text,
    Jsonl,
}

impl From<OutputArg> for OutputMode {
    fn from(o: OutputArg) -> Self {
        match o {
            OutputArg::Text => OutputMode::Text,
            OutputArg::Jsonl => OutputMode::JsonLines,
        }
    }
}

fn age(raw: &str) -> Result<Duration, String> {
    super::parse_age(raw).map_err(|e| e.to_string())
}

fn time(raw: &str) -> Result<SystemTime, String> {
    super::parse_time(raw).map_err(|e| e.to_string())
}

/// Exit status when a loop could not be acted on, or a call failed.
const EXIT_FAILED: u8 = 1;
/// Exit status for a command line that names no loops.
const EXIT_USAGE: u8 = 2;

/// Runs `a2i-review loops …` with clients from the standard AWS configuration; messages for
/// the user go to stderr.
pub async fn run(args: LoopsArgs) -> ExitCode {
    let clients = Clients::from_env().await;
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut diag = stderr.lock();
    let result = match args.command {
        LoopsCommand::List(a) => {
            let selection = a.filter.selection(a.flow_definition_arn);
            super::list(
                &clients,
                &selection,
                a.registry.location().as_ref(),
                a.output.into(),
                &mut out,
                &mut diag,
            )
            .await
            .map(|_| ExitCode::SUCCESS)
        }
        LoopsCommand::Describe(a) => super::describe(
            &clients,
            &a.name,
            a.registry.location().as_ref(),
            a.output.into(),
            SystemTime::now(),
            &mut out,
        )
        .await
        .map(|()| ExitCode::SUCCESS),
        LoopsCommand::Stop(a) => act(&clients, Action::Stop, a, &mut out, &mut diag).await,
        LoopsCommand::Delete(a) => act(&clients, Action::Delete, a, &mut out, &mut diag).await,
        LoopsCommand::Restart(a) => match load_conditions(&clients, &a.conditions).await {
            Err(message) => {
                let _ = writeln!(diag, "a2i-review: loops restart: {message}");
                return ExitCode::from(EXIT_USAGE);
            }
            Ok(conditions) => {
                let options = RestartOptions {
                    name: a.name,
                    registry: RegistryLocation {
                        bucket: a.results_bucket,
                        prefix: a.registry_prefix,
                    },
                    conditions,
                    format: a.format,
                    items_path: a.items_path,
                    media_path: a.media_path,
                    content_classifiers: a.content_classifier.iter().map(|c| c.sdk()).collect(),
                    dry_run: a.dry_run,
                    output: a.output.into(),
                };
                super::restart(&clients, &options, &mut out).await.map(|r| {
                    if r.outcome.is_ok() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(EXIT_FAILED)
                    }
                })
            }
        },
    };
    let _ = out.flush();
    match result {
        Ok(code) => code,
        Err(LoopsError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::FAILURE
        }
        Err(e) => {
            let _ = writeln!(diag, "a2i-review: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

async fn act(
    clients: &Clients,
    action: Action,
    a: ActionArgs,
    out: &mut dyn Write,
    diag: &mut dyn Write,
) -> Result<ExitCode, LoopsError> {
    let target = match (a.name, a.flow_definition_arn) {
        (Some(name), _) => Target::Name(name),
        (None, Some(arn)) => Target::Filter(a.filter.selection(arn)),
        (None, None) => {
            let _ = writeln!(
                diag,
                "a2i-review: loops {}: give a loop NAME, or --flow-definition-arn ARN with a filter{}",
                action.name(),
                if a.filter.is_empty() { "" } else { " (the filter needs the flow definition)" }
            );
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let options = ActionOptions {
        target,
        dry_run: a.dry_run,
        output: a.output.into(),
    };
    let mut ask = ask_on_terminal;
    let consent = if a.yes {
        Consent::Given
    } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        Consent::Ask(&mut ask)
    } else {
        Consent::Unavailable
    };
    let report = super::act(clients, action, &options, consent, out, diag).await?;
    Ok(if report.failures() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

/// Asks `question` on stderr and reads the answer from stdin: only `y` or `yes` goes on.
fn ask_on_terminal(question: &str) -> std::io::Result<bool> {
    let mut stderr = std::io::stderr();
    write!(stderr, "{question}")?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Top {
        #[command(subcommand)]
        command: Wrapped,
    }

    #[derive(Debug, Subcommand)]
    enum Wrapped {
        Loops(LoopsArgs),
    }

    fn parse(args: &[&str]) -> Result<LoopsCommand, clap::Error> {
        let mut all = vec!["a2i-review", "loops"];
        all.extend_from_slice(args);
        Top::try_parse_from(all).map(|t| match t.command {
            Wrapped::Loops(l) => l.command,
        })
    }

    #[test]
    fn filters_parse_statuses_ages_and_times() {
        let LoopsCommand::Stop(a) = parse(&[
            "stop",
            "--flow-definition-arn",
            "arn:f",
            "--status",
            "InProgress",
            "--status",
            "Stopping",
            "--older-than",
            "7d",
            "--created-after",
            "2026-11-01",
            "--dry-run",
        ])
        .unwrap() else {
            panic!("not stop")
        };
        let s = a.filter.selection("arn:f".into());
        assert_eq!(
            s.statuses,
            [HumanLoopStatus::InProgress, HumanLoopStatus::Stopping]
        );
        assert_eq!(s.older_than, Some(Duration::from_secs(7 * 86_400)));
        assert!(a.dry_run && !a.yes);
    }

    #[test]
    fn a_name_and_a_filter_are_exclusive_and_bad_values_are_named() {
        let e = parse(&["delete", "loop-1", "--status", "Failed"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
        let e = parse(&["list", "--flow-definition-arn", "a", "--older-than", "7y"]).unwrap_err();
        assert!(e.to_string().contains("units are"), "{e}");
        let e = parse(&["list", "--flow-definition-arn", "a", "--status", "Done"]).unwrap_err();
        assert!(e.to_string().contains("InProgress"), "{e}");
        assert!(parse(&["list"]).is_err(), "list needs the flow definition");
    }
}
