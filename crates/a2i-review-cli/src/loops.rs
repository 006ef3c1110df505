//! `a2i-review loops`: list, describe, stop, delete and restart the app's human loops over the
//! real A2I runtime API, so the people running the pipeline can see what is waiting, what
//! expired or failed, and put an item back in front of a reviewer.
//!
//! Everything goes through SDK clients built from the standard AWS configuration (profiles,
//! `AWS_REGION`, `AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME`, `AWS_ENDPOINT_URL_S3`), so the same
//! commands work against AWS and against a2i-local. Loops are joined with their item through
//! the loop registry (`<prefix><humanLoopName>.json` in the results bucket, written by the start
//! function before `StartHumanLoop`), when the results bucket is given.
//!
//! Rules every action follows:
//! - **Idempotent**: stopping a stopped loop, deleting a deleted one, restarting a restarted
//!   one reports what is already true and changes nothing.
//! - **Per loop**: each loop gets one line saying what was (or, with `--dry-run`, would be)
//!   done, as text or JSON Lines; a failure of one loop does not stop the others.
//! - **Bulk needs consent**: an action on a filter asks for confirmation on a terminal, and is
//!   refused without one unless `--yes` is given.
//! - **No content**: loop inputs, items and answers are never printed; errors name loops,
//!   operations, codes and statuses.

pub mod cli;
mod registry;
mod restart;

use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use a2i_review::error::CallError;
use aws_sdk_sagemakera2iruntime::operation::describe_human_loop::DescribeHumanLoopError;
use aws_sdk_sagemakera2iruntime::primitives::{DateTime, DateTimeFormat};
use aws_sdk_sagemakera2iruntime::types::{HumanLoopStatus, SortOrder};
use futures::StreamExt;
use serde::Serialize;

pub use registry::{Registration, RegistrationSource, RegistryLocation, DEFAULT_REGISTRY_PREFIX};
pub use restart::{restart, restart_name, RestartOptions};

/// Calls in flight during a bulk action or registry lookups: enough to hide latency, few
/// enough not to be throttled by A2I's default rates.
const IN_FLIGHT: usize = 8;
/// Least time between two progress lines.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
/// Page size of ListHumanLoops (the API's maximum).
const PAGE_SIZE: i32 = 100;

/// The SDK clients the loop commands use.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The A2I runtime.
    pub a2i: aws_sdk_sagemakera2iruntime::Client,
    /// S3, for the registry and the source objects.
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    /// Clients from the standard AWS configuration (environment, profiles, endpoint
    /// variables), with the functions' timeouts and A2I retry policy.
    pub async fn from_env() -> Self {
        let sdk = a2i_review::aws::sdk_config().await;
        Self {
            a2i: a2i_review::aws::a2i_client(&sdk),
            s3: aws_sdk_s3::Client::new(&sdk),
        }
    }
}

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Readable text (a table for `list`).
    Text,
    /// One JSON object per loop.
    JsonLines,
}

/// Which loops a listing or a bulk action covers.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The flow definition whose loops are listed (ListHumanLoops needs one).
    pub flow_definition_arn: String,
    /// Only loops in one of these statuses; every status when empty.
    pub statuses: Vec<HumanLoopStatus>,
    /// Only loops created at least this long before `now`.
    pub older_than: Option<Duration>,
    /// Only loops created after this instant.
    pub created_after: Option<SystemTime>,
    /// The instant ages are measured from (the clock, except in tests).
    pub now: SystemTime,
}

impl Selection {
    /// Every loop of `flow_definition_arn`, measured from the clock.
    pub fn all(flow_definition_arn: impl Into<String>) -> Self {
        Self {
            flow_definition_arn: flow_definition_arn.into(),
            statuses: Vec::new(),
            older_than: None,
            created_after: None,
            now: SystemTime::now(),
        }
    }

    /// The latest creation time `older_than` allows.
    fn created_before(&self) -> Option<SystemTime> {
        self.older_than
            .map(|age| self.now.checked_sub(age).unwrap_or(SystemTime::UNIX_EPOCH))
    }

    fn matches(&self, summary: &LoopSummary) -> bool {
        let status_ok = self.statuses.is_empty() || self.statuses.contains(&summary.status);
        let created = summary.created();
        let before_ok = self.created_before().is_none_or(|limit| created <= limit);
        let after_ok = self.created_after.is_none_or(|limit| created > limit);
        status_ok && before_ok && after_ok
    }

    /// A readable account of the filter, for prompts.
    fn describe(&self) -> String {
        let mut parts = vec![format!("flow definition {}", self.flow_definition_arn)];
        if !self.statuses.is_empty() {
            let names: Vec<&str> = self.statuses.iter().map(HumanLoopStatus::as_str).collect();
            parts.push(format!("status {}", names.join(" or ")));
        }
        if let Some(age) = self.older_than {
            parts.push(format!("older than {}", format_age(age.as_secs())));
        }
        if let Some(after) = self.created_after {
            parts.push(format!("created after {}", format_time(after)));
        }
        parts.join(", ")
    }
}

/// One loop as ListHumanLoops or DescribeHumanLoop reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopSummary {
    /// The HumanLoopName.
    pub name: String,
    /// Its status.
    pub status: HumanLoopStatus,
    /// When it was created.
    pub creation_time: DateTime,
    /// Its flow definition.
    pub flow_definition_arn: String,
    /// A2I's reason for a Failed loop.
    pub failure_reason: Option<String>,
    /// A2I's code for a Failed loop (DescribeHumanLoop only).
    pub failure_code: Option<String>,
    /// The loop's ARN (DescribeHumanLoop only).
    pub arn: Option<String>,
    /// Where a Completed loop's output is (DescribeHumanLoop only).
    pub output_s3_uri: Option<String>,
}

impl LoopSummary {
    fn created(&self) -> SystemTime {
        SystemTime::try_from(self.creation_time).unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// Seconds since creation, measured from `now` (0 for a clock behind A2I's).
    pub fn age_secs(&self, now: SystemTime) -> u64 {
        now.duration_since(self.created())
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// What the registry says about a loop, as far as it could be read.
#[derive(Debug, Clone, PartialEq)]
pub enum RegistryLookup {
    /// No results bucket was given: not looked up.
    NotAsked,
    /// The registration.
    Found(Box<Registration>),
    /// No registration: a loop this app did not start, or started before the registry.
    Absent,
    /// It could not be read or parsed (the reason names the key and the rule broken).
    Unreadable(String),
}

/// A loop with its registration.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopView {
    /// The loop.
    pub summary: LoopSummary,
    /// Its registration.
    pub registry: RegistryLookup,
}

/// Why a loop command could not run, or could not act on a loop.
#[derive(Debug, thiserror::Error)]
pub enum LoopsError {
    /// An AWS call failed.
    #[error("{source}")]
    Call {
        /// The classified SDK error.
        #[from]
        source: CallError,
    },
    /// No loop has this name.
    #[error("no human loop named {name}")]
    NotFound {
        /// The name.
        name: String,
    },
    /// A bulk action without `--yes` and without a terminal to ask on.
    #[error("{action} would act on {count} loops ({filter}); confirm with --yes (no terminal to ask on)")]
    ConsentRequired {
        /// `stop`, `delete`.
        action: &'static str,
        /// How many loops matched.
        count: usize,
        /// The filter, described.
        filter: String,
    },
    /// The user answered no.
    #[error("{action} of {count} loops not confirmed; nothing was done")]
    Declined {
        /// `stop`, `delete`.
        action: &'static str,
        /// How many loops matched.
        count: usize,
    },
    /// A2I answered without a field the model marks required.
    #[error("{operation} answered without {field}")]
    Incomplete {
        /// The operation.
        operation: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// A loop cannot be restarted (see [`restart`](RestartOptions)).
    #[error("{name}: {reason}")]
    NotRestartable {
        /// The loop.
        name: String,
        /// Why, naming statuses, keys and rules, never content.
        reason: String,
    },
    /// Writing the results failed (a closed pipe, a full disk).
    #[error("writing the results failed: {0}")]
    Output(#[from] std::io::Error),
}

/// Lists the loops of `selection`, page by page, joined with their registrations when
/// `registry` is given; progress goes to `diag`.
pub async fn select(
    clients: &Clients,
    selection: &Selection,
    registry: Option<&RegistryLocation>,
    diag: &mut dyn Write,
) -> Result<Vec<LoopView>, LoopsError> {
    let mut request = clients
        .a2i
        .list_human_loops()
        .flow_definition_arn(&selection.flow_definition_arn)
        .sort_order(SortOrder::Ascending)
        .max_results(PAGE_SIZE);
    if let Some(after) = selection.created_after {
        request = request.creation_time_after(DateTime::from(after));
    }
    if let Some(before) = selection.created_before() {
        request = request.creation_time_before(DateTime::from(before));
    }
    let mut pages = request.into_paginator().send();
    let mut progress = Progress::new("listing");
    let (mut seen, mut selected) = (0usize, Vec::new());
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| CallError::classify("ListHumanLoops", &e))?;
        for s in page.human_loop_summaries() {
            seen += 1;
            let summary = LoopSummary {
                name: required(s.human_loop_name(), "ListHumanLoops", "HumanLoopName")?,
                status: s
                    .human_loop_status()
                    .cloned()
                    .ok_or(LoopsError::Incomplete {
                        operation: "ListHumanLoops",
                        field: "HumanLoopStatus",
                    })?,
                creation_time: *s.creation_time().ok_or(LoopsError::Incomplete {
                    operation: "ListHumanLoops",
                    field: "CreationTime",
                })?,
                flow_definition_arn: s
                    .flow_definition_arn()
                    .unwrap_or(&selection.flow_definition_arn)
                    .to_owned(),
                failure_reason: s.failure_reason().map(str::to_owned),
                failure_code: None,
                arn: None,
                output_s3_uri: None,
            };
            if selection.matches(&summary) {
                selected.push(summary);
            }
        }
        progress.tick(
            diag,
            format_args!("{seen} loops read, {} match", selected.len()),
        )?;
    }
    progress.finish(
        diag,
        format_args!("{seen} loops read, {} match", selected.len()),
    )?;
    with_registrations(clients, registry, selected).await
}

/// Looks up the registration of every loop, a few at a time, keeping the order.
async fn with_registrations(
    clients: &Clients,
    registry: Option<&RegistryLocation>,
    loops: Vec<LoopSummary>,
) -> Result<Vec<LoopView>, LoopsError> {
    let views = futures::stream::iter(loops)
        .map(|summary| async move {
            let registry = match registry {
                None => RegistryLookup::NotAsked,
                Some(location) => location.lookup(&clients.s3, &summary.name).await,
            };
            LoopView { summary, registry }
        })
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    Ok(views)
}

fn required(
    value: Option<&str>,
    operation: &'static str,
    field: &'static str,
) -> Result<String, LoopsError> {
    value
        .map(str::to_owned)
        .ok_or(LoopsError::Incomplete { operation, field })
}

/// DescribeHumanLoop of `name`: `None` when no loop has the name.
pub async fn describe_loop(
    clients: &Clients,
    name: &str,
) -> Result<Option<LoopSummary>, LoopsError> {
    let out = match clients
        .a2i
        .describe_human_loop()
        .human_loop_name(name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            if matches!(
                e.as_service_error(),
                Some(DescribeHumanLoopError::ResourceNotFoundException(_))
            ) {
                return Ok(None);
            }
            return Err(CallError::classify("DescribeHumanLoop", &e).into());
        }
    };
    let op = "DescribeHumanLoop";
    Ok(Some(LoopSummary {
        name: required(out.human_loop_name(), op, "HumanLoopName")?,
        status: out
            .human_loop_status()
            .cloned()
            .ok_or(LoopsError::Incomplete {
                operation: op,
                field: "HumanLoopStatus",
            })?,
        creation_time: *out.creation_time().ok_or(LoopsError::Incomplete {
            operation: op,
            field: "CreationTime",
        })?,
        flow_definition_arn: required(out.flow_definition_arn(), op, "FlowDefinitionArn")?,
        failure_reason: out.failure_reason().map(str::to_owned),
        failure_code: out.failure_code().map(str::to_owned),
        arn: out.human_loop_arn().map(str::to_owned),
        output_s3_uri: out
            .human_loop_output()
            .and_then(|o| o.output_s3_uri())
            .map(str::to_owned),
    }))
}

/// `loops list`: the selected loops as a table or JSON Lines on `out`.
pub async fn list(
    clients: &Clients,
    selection: &Selection,
    registry: Option<&RegistryLocation>,
    output: OutputMode,
    out: &mut dyn Write,
    diag: &mut dyn Write,
) -> Result<usize, LoopsError> {
    let views = select(clients, selection, registry, diag).await?;
    match output {
        OutputMode::JsonLines => {
            for view in &views {
                write_json_line(out, &LoopRecord::of(view, selection.now))?;
            }
        }
        OutputMode::Text => write_table(out, &views, selection.now)?,
    }
    out.flush()?;
    Ok(views.len())
}

/// `loops describe NAME`: one loop, with its registration when `registry` is given.
pub async fn describe(
    clients: &Clients,
    name: &str,
    registry: Option<&RegistryLocation>,
    output: OutputMode,
    now: SystemTime,
    out: &mut dyn Write,
) -> Result<(), LoopsError> {
    let summary = describe_loop(clients, name)
        .await?
        .ok_or_else(|| LoopsError::NotFound {
            name: name.to_owned(),
        })?;
    let registry = match registry {
        None => RegistryLookup::NotAsked,
        Some(location) => location.lookup(&clients.s3, name).await,
    };
    let view = LoopView { summary, registry };
    let record = LoopRecord::of(&view, now);
    match output {
        OutputMode::JsonLines => write_json_line(out, &record)?,
        OutputMode::Text => {
            let s = &view.summary;
            let mut field = |label: &str, value: &str| writeln!(out, "{label:<18}{value}");
            field("name", &s.name)?;
            field("status", s.status.as_str())?;
            field("created", &record.creation_time)?;
            field("age", &format_age(record.age_seconds))?;
            field("flow definition", &s.flow_definition_arn)?;
            if let Some(arn) = &s.arn {
                field("arn", arn)?;
            }
            if let Some(code) = &s.failure_code {
                field("failure code", code)?;
            }
            if let Some(reason) = &s.failure_reason {
                field("failure reason", reason)?;
            }
            if let Some(uri) = &s.output_s3_uri {
                field("output", uri)?;
            }
            field("source", &source_text(&view.registry))?;
            if let RegistryLookup::Found(r) = &view.registry {
                field("input sha256", &r.input_sha256)?;
                field("generation", &r.generation.to_string())?;
                if let Some(of) = &r.restart_of {
                    field("restart of", of)?;
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// One loop in JSON Lines output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LoopRecord<'a> {
    human_loop_name: &'a str,
    status: &'a str,
    creation_time: String,
    age_seconds: u64,
    flow_definition_arn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    human_loop_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_s3_uri: Option<&'a str>,
    /// `registered`, `unregistered`, `unreadable` or `not-looked-up`.
    registry: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    registry_error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a RegistrationSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    generation: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    restart_of: Option<&'a str>,
}

impl<'a> LoopRecord<'a> {
    fn of(view: &'a LoopView, now: SystemTime) -> Self {
        let s = &view.summary;
        let registration = match &view.registry {
            RegistryLookup::Found(r) => Some(r.as_ref()),
            _ => None,
        };
        Self {
            human_loop_name: &s.name,
            status: s.status.as_str(),
            creation_time: format_datetime(s.creation_time),
            age_seconds: s.age_secs(now),
            flow_definition_arn: &s.flow_definition_arn,
            human_loop_arn: s.arn.as_deref(),
            failure_code: s.failure_code.as_deref(),
            failure_reason: s.failure_reason.as_deref(),
            output_s3_uri: s.output_s3_uri.as_deref(),
            registry: match &view.registry {
                RegistryLookup::NotAsked => "not-looked-up",
                RegistryLookup::Found(_) => "registered",
                RegistryLookup::Absent => "unregistered",
                RegistryLookup::Unreadable(_) => "unreadable",
            },
            registry_error: match &view.registry {
                RegistryLookup::Unreadable(reason) => Some(reason),
                _ => None,
            },
            source: registration.map(|r| &r.source),
            item_index: registration.map(|r| r.item_index),
            line: registration.and_then(|r| r.line),
            generation: registration.map(|r| u64::from(r.generation)),
            restart_of: registration.and_then(|r| r.restart_of.as_deref()),
        }
    }
}

/// The SOURCE column: where the loop's item is.
fn source_text(lookup: &RegistryLookup) -> String {
    match lookup {
        RegistryLookup::NotAsked => "(registry not read: give --results-bucket)".to_owned(),
        RegistryLookup::Absent => "(not registered)".to_owned(),
        RegistryLookup::Unreadable(reason) => format!("(registration unreadable: {reason})"),
        RegistryLookup::Found(r) => {
            let mut text = format!("s3://{}/{}", r.source.bucket, r.source.key);
            match r.line {
                Some(line) => text.push_str(&format!(" line {line}")),
                None => text.push_str(&format!(" item {}", r.item_index)),
            }
            text
        }
    }
}

fn write_table(out: &mut dyn Write, views: &[LoopView], now: SystemTime) -> std::io::Result<()> {
    let rows: Vec<[String; 5]> = views
        .iter()
        .map(|v| {
            let s = &v.summary;
            [
                s.name.clone(),
                s.status.as_str().to_owned(),
                format_age(s.age_secs(now)),
                format_datetime(s.creation_time),
                match v.registry {
                    RegistryLookup::NotAsked => "-".to_owned(),
                    ref lookup => source_text(lookup),
                },
            ]
        })
        .collect();
    let header = ["NAME", "STATUS", "AGE", "CREATED", "SOURCE"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: [&str; 5]| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  "));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, header)?;
    for row in &rows {
        line(out, [&row[0], &row[1], &row[2], &row[3], &row[4]])?;
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for v in views {
        let status = v.summary.status.as_str();
        match counts.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => counts.push((status, 1)),
        }
    }
    let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    writeln!(
        out,
        "{} loops{}{}",
        views.len(),
        if counts.is_empty() { "" } else { ": " },
        counts.join(", ")
    )
}

/// A loop action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// StopHumanLoop.
    Stop,
    /// DeleteHumanLoop.
    Delete,
}

impl Action {
    /// The command's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Delete => "delete",
        }
    }
}

/// What an action covers: one loop by name, or every loop a filter selects.
#[derive(Debug, Clone)]
pub enum Target {
    /// One loop.
    Name(String),
    /// Every loop the filter selects.
    Filter(Selection),
}

/// How a bulk action gets the user's consent.
pub enum Consent<'a> {
    /// `--yes`: given.
    Given,
    /// Ask on a terminal: called with the question, answers whether to go on.
    Ask(&'a mut dyn FnMut(&str) -> std::io::Result<bool>),
    /// No terminal to ask on and no `--yes`: a bulk action is refused.
    Unavailable,
}

/// What happened (or, in a dry run, would happen) to one loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// StopHumanLoop was accepted.
    Stopped,
    /// The loop was already Stopping or Stopped.
    AlreadyStopped,
    /// The loop had finished (Completed or Failed): nothing to stop.
    NotRunning,
    /// DeleteHumanLoop was accepted.
    Deleted,
    /// No loop of this name exists (deleted before, or never started).
    AlreadyDeleted,
    /// The loop is InProgress or Stopping: A2I deletes only finished loops.
    NotDeletable,
    /// A new loop was started for the item.
    Restarted {
        /// The new loop.
        new_name: String,
    },
    /// The loop's restart exists already.
    AlreadyRestarted {
        /// The restart.
        new_name: String,
        /// Its status.
        status: String,
    },
    /// Dry run: the action would be taken.
    Would {
        /// The action.
        action: &'static str,
        /// The new loop's name, for a restart.
        new_name: Option<String>,
    },
    /// The action failed.
    Failed {
        /// Why (operation, code, status; never content).
        error: String,
    },
}

impl Outcome {
    /// Whether the loop is in the state the action asked for (or would be).
    pub fn is_ok(&self) -> bool {
        !matches!(self, Self::Failed { .. } | Self::NotDeletable)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::AlreadyStopped => "already-stopped",
            Self::NotRunning => "not-running",
            Self::Deleted => "deleted",
            Self::AlreadyDeleted => "already-deleted",
            Self::NotDeletable => "not-deletable",
            Self::Restarted { .. } => "restarted",
            Self::AlreadyRestarted { .. } => "already-restarted",
            Self::Would { .. } => "would",
            Self::Failed { .. } => "failed",
        }
    }
}

/// One loop's line of an action's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionResult {
    /// The loop.
    pub name: String,
    /// Its status before the action (`None` when it does not exist).
    pub status_before: Option<String>,
    /// What happened.
    pub outcome: Outcome,
}

/// The report of an action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionReport {
    /// One entry per loop, in listing order.
    pub results: Vec<ActionResult>,
}

impl ActionReport {
    /// How many loops did not end up as asked.
    pub fn failures(&self) -> usize {
        self.results.iter().filter(|r| !r.outcome.is_ok()).count()
    }
}

/// Options of `stop` and `delete`.
#[derive(Debug, Clone)]
pub struct ActionOptions {
    /// Which loops.
    pub target: Target,
    /// Report what would be done, do nothing.
    pub dry_run: bool,
    /// Text or JSON Lines.
    pub output: OutputMode,
}

/// `loops stop` / `loops delete`: acts on one loop or on every loop of a filter, and reports
/// per loop on `out` (progress on `diag`).
///
/// A single loop is one DescribeHumanLoop and, when needed, one call; an unknown name is an
/// error for `stop` and `already-deleted` for `delete` (deleting twice is not a failure). A
/// bulk action acts on the listing, a few calls at a time, after `consent`.
pub async fn act(
    clients: &Clients,
    action: Action,
    options: &ActionOptions,
    consent: Consent<'_>,
    out: &mut dyn Write,
    diag: &mut dyn Write,
) -> Result<ActionReport, LoopsError> {
    let loops: Vec<Option<LoopSummary>> = match &options.target {
        Target::Name(name) => match describe_loop(clients, name).await? {
            Some(summary) => vec![Some(summary)],
            None if action == Action::Delete => vec![None],
            None => {
                return Err(LoopsError::NotFound {
                    name: name.to_owned(),
                })
            }
        },
        Target::Filter(selection) => {
            let views = select(clients, selection, None, diag).await?;
            if !options.dry_run && !views.is_empty() {
                let count = views.len();
                let question = format!(
                    "{} {count} loops ({})? [y/N] ",
                    capitalized(action.name()),
                    selection.describe()
                );
                match consent {
                    Consent::Given => {}
                    Consent::Ask(ask) => {
                        if !ask(&question)? {
                            return Err(LoopsError::Declined {
                                action: action.name(),
                                count,
                            });
                        }
                    }
                    Consent::Unavailable => {
                        return Err(LoopsError::ConsentRequired {
                            action: action.name(),
                            count,
                            filter: selection.describe(),
                        })
                    }
                }
            }
            views.into_iter().map(|v| Some(v.summary)).collect()
        }
    };
    let name_of = |summary: &Option<LoopSummary>| match (summary, &options.target) {
        (Some(s), _) => s.name.clone(),
        (None, Target::Name(name)) => name.clone(),
        (None, Target::Filter(_)) => String::new(),
    };
    let total = loops.len();
    let mut results = futures::stream::iter(loops)
        .map(|summary| {
            let name = name_of(&summary);
            async move {
                let outcome =
                    act_on(clients, action, &name, summary.as_ref(), options.dry_run).await;
                ActionResult {
                    name,
                    status_before: summary.map(|s| s.status.as_str().to_owned()),
                    outcome,
                }
            }
        })
        .buffered(IN_FLIGHT);
    let mut report = ActionReport::default();
    let mut progress = Progress::new(action.name());
    while let Some(result) = results.next().await {
        write_result(out, action.name(), &result, options.dry_run, options.output)?;
        report.results.push(result);
        if total > 1 {
            progress.tick(diag, format_args!("{}/{total} loops", report.results.len()))?;
        }
    }
    if total > 1 {
        progress.finish(diag, format_args!("{}/{total} loops", report.results.len()))?;
    }
    write_action_summary(out, action.name(), &report, options.dry_run, options.output)?;
    out.flush()?;
    Ok(report)
}

/// One loop's stop or delete, from the status it was seen in.
async fn act_on(
    clients: &Clients,
    action: Action,
    name: &str,
    summary: Option<&LoopSummary>,
    dry_run: bool,
) -> Outcome {
    let Some(summary) = summary else {
        return Outcome::AlreadyDeleted;
    };
    let status = &summary.status;
    let would = |action: &'static str| Outcome::Would {
        action,
        new_name: None,
    };
    match action {
        Action::Stop => match status {
            HumanLoopStatus::InProgress if dry_run => would("stop"),
            HumanLoopStatus::InProgress => stop(clients, name).await,
            HumanLoopStatus::Stopping | HumanLoopStatus::Stopped => Outcome::AlreadyStopped,
            _ => Outcome::NotRunning,
        },
        Action::Delete => match status {
            HumanLoopStatus::InProgress | HumanLoopStatus::Stopping => Outcome::NotDeletable,
            _ if dry_run => would("delete"),
            _ => delete(clients, name).await,
        },
    }
}

async fn stop(clients: &Clients, name: &str) -> Outcome {
    match clients
        .a2i
        .stop_human_loop()
        .human_loop_name(name)
        .send()
        .await
    {
        Ok(_) => Outcome::Stopped,
        // The loop may have changed since it was listed: say what it is now.
        Err(e) => {
            let error = CallError::classify("StopHumanLoop", &e);
            match describe_loop(clients, name).await {
                Ok(Some(now)) => match now.status {
                    HumanLoopStatus::Stopping | HumanLoopStatus::Stopped => Outcome::AlreadyStopped,
                    HumanLoopStatus::Completed | HumanLoopStatus::Failed => Outcome::NotRunning,
                    _ => Outcome::Failed {
                        error: error.to_string(),
                    },
                },
                _ => Outcome::Failed {
                    error: error.to_string(),
                },
            }
        }
    }
}

async fn delete(clients: &Clients, name: &str) -> Outcome {
    match clients
        .a2i
        .delete_human_loop()
        .human_loop_name(name)
        .send()
        .await
    {
        Ok(_) => Outcome::Deleted,
        Err(e) => {
            let error = CallError::classify("DeleteHumanLoop", &e);
            if error.has_code("ResourceNotFoundException") {
                Outcome::AlreadyDeleted
            } else {
                Outcome::Failed {
                    error: error.to_string(),
                }
            }
        }
    }
}

/// One action line.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ActionLine<'a> {
    human_loop_name: &'a str,
    action: &'a str,
    outcome: &'static str,
    dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_before: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_human_loop_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// Writes one loop's result line (text or JSON).
pub(crate) fn write_result(
    out: &mut dyn Write,
    action: &str,
    result: &ActionResult,
    dry_run: bool,
    output: OutputMode,
) -> std::io::Result<()> {
    let o = &result.outcome;
    match output {
        OutputMode::JsonLines => {
            let (new_name, new_status, error) = match o {
                Outcome::Restarted { new_name } => (Some(new_name.as_str()), None, None),
                Outcome::AlreadyRestarted { new_name, status } => {
                    (Some(new_name.as_str()), Some(status.as_str()), None)
                }
                Outcome::Would { new_name, .. } => (new_name.as_deref(), None, None),
                Outcome::Failed { error } => (None, None, Some(error.as_str())),
                _ => (None, None, None),
            };
            write_json_line(
                out,
                &ActionLine {
                    human_loop_name: &result.name,
                    action,
                    outcome: o.code(),
                    dry_run,
                    status_before: result.status_before.as_deref(),
                    new_human_loop_name: new_name,
                    new_status,
                    error,
                },
            )
        }
        OutputMode::Text => {
            let was = result
                .status_before
                .as_deref()
                .map(|s| format!(" (was {s})"))
                .unwrap_or_default();
            let text = match o {
                Outcome::Stopped => format!("stopped            {}{was}", result.name),
                Outcome::AlreadyStopped => format!("already stopped    {}{was}", result.name),
                Outcome::NotRunning => {
                    format!("not running        {}{was}: nothing to stop", result.name)
                }
                Outcome::Deleted => format!("deleted            {}{was}", result.name),
                Outcome::AlreadyDeleted => format!(
                    "already deleted    {}: no such loop (deleted before, or never started)",
                    result.name
                ),
                Outcome::NotDeletable => format!(
                    "not deletable      {}{was}: A2I deletes only finished loops; stop it first",
                    result.name
                ),
                Outcome::Restarted { new_name } => {
                    format!("restarted          {}{was} as {new_name}", result.name)
                }
                Outcome::AlreadyRestarted { new_name, status } => format!(
                    "already restarted  {}{was} as {new_name} ({status})",
                    result.name
                ),
                Outcome::Would { action, new_name } => {
                    let target = new_name
                        .as_deref()
                        .map(|n| format!(" as {n}"))
                        .unwrap_or_default();
                    format!("would {action:<12} {}{was}{target}", result.name)
                }
                Outcome::Failed { error } => {
                    format!("FAILED             {}{was}: {error}", result.name)
                }
            };
            writeln!(out, "{text}")
        }
    }
}

fn write_action_summary(
    out: &mut dyn Write,
    action: &str,
    report: &ActionReport,
    dry_run: bool,
    output: OutputMode,
) -> std::io::Result<()> {
    if output == OutputMode::JsonLines {
        return Ok(());
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in &report.results {
        let code = match &r.outcome {
            Outcome::Would { action, .. } => format!("would {action}"),
            o => o.code().replace('-', " "),
        };
        match counts.iter_mut().find(|(c, _)| *c == code) {
            Some((_, n)) => *n += 1,
            None => counts.push((code, 1)),
        }
    }
    let counts: Vec<String> = counts.iter().map(|(c, n)| format!("{n} {c}")).collect();
    writeln!(
        out,
        "{action}{}: {} loops{}{}",
        if dry_run {
            " (dry run, nothing changed)"
        } else {
            ""
        },
        report.results.len(),
        if counts.is_empty() { "" } else { ": " },
        counts.join(", ")
    )
}

fn write_json_line(out: &mut dyn Write, record: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, record).map_err(std::io::Error::other)?;
    writeln!(out)
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Progress lines on the diagnostic stream, at most one per [`PROGRESS_INTERVAL`].
struct Progress {
    label: &'static str,
    started: Instant,
    last: Option<Instant>,
}

impl Progress {
    fn new(label: &'static str) -> Self {
        Self {
            label,
            started: Instant::now(),
            last: None,
        }
    }

    fn tick(&mut self, diag: &mut dyn Write, text: std::fmt::Arguments<'_>) -> std::io::Result<()> {
        let now = Instant::now();
        // The first line only once something has taken a while: quick runs stay quiet.
        let due = match self.last {
            None => now.duration_since(self.started) >= PROGRESS_INTERVAL,
            Some(last) => now.duration_since(last) >= PROGRESS_INTERVAL,
        };
        if due {
            self.last = Some(now);
            writeln!(diag, "a2i-review: {}: {text}", self.label)?;
        }
        Ok(())
    }

    /// The closing line, written when any progress line was.
    fn finish(
        &mut self,
        diag: &mut dyn Write,
        text: std::fmt::Arguments<'_>,
    ) -> std::io::Result<()> {
        if self.last.is_some() {
            writeln!(
                diag,
                "a2i-review: {}: {text}, done in {:.1} s",
                self.label,
                self.started.elapsed().as_secs_f64()
            )?;
        }
        Ok(())
    }
}

/// Why an age or a time on the command line is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?}: {rule}")]
pub struct ParseError {
    /// What was given (bounded).
    pub given: String,
    /// The rule it broke.
    pub rule: &'static str,
}

/// Longest age or time accepted on the command line.
const MAX_ARG_CHARS: usize = 40;

/// Parses an age such as `7d`, `36h`, `90m`, `1w`, `2d12h` (units `s`, `m`, `h`, `d`, `w`).
pub fn parse_age(raw: &str) -> Result<Duration, ParseError> {
    let err = |rule| ParseError {
        given: raw.chars().take(MAX_ARG_CHARS).collect(),
        rule,
    };
    let text = raw.trim();
    if text.is_empty() {
        return Err(err("an age is a number and a unit, such as 7d, 36h, 90m"));
    }
    if text.len() > MAX_ARG_CHARS {
        return Err(err("too long"));
    }
    let (mut total, mut digits) = (0u64, String::new());
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(err("units are s, m, h, d and w (7d, 36h, 90m)")),
        };
        if digits.is_empty() {
            return Err(err("each unit needs a number before it (7d, 2d12h)"));
        }
        let n: u64 = digits.parse().map_err(|_| err("the number is too large"))?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| err("the number is too large"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(err("the number needs a unit: s, m, h, d or w (7d)"));
    }
    Ok(Duration::from_secs(total))
}

/// Parses an instant: RFC 3339 (`2026-11-01T08:00:00Z`) or a UTC date (`2026-11-01`).
pub fn parse_time(raw: &str) -> Result<SystemTime, ParseError> {
    let err = |rule| ParseError {
        given: raw.chars().take(MAX_ARG_CHARS).collect(),
        rule,
    };
    let text = raw.trim();
    if text.len() > MAX_ARG_CHARS {
        return Err(err("too long"));
    }
    let parsed = match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(date) => date.and_time(chrono::NaiveTime::MIN).and_utc(),
        Err(_) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.to_utc())
            .map_err(|_| {
                err("expected an RFC 3339 time (2026-11-01T08:00:00Z) or a date (2026-11-01)")
            })?,
    };
    Ok(SystemTime::from(parsed))
}

/// An age in the largest two units: `45s`, `12m`, `5h 3m`, `3d 4h`.
pub fn format_age(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

fn format_datetime(t: DateTime) -> String {
    // Formatting an instant A2I answered with cannot fail for any real date.
    t.fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| t.secs().to_string())
}

fn format_time(t: SystemTime) -> String {
    format_datetime(DateTime::from(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_in_every_unit_and_combination() {
        assert_eq!(parse_age("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(parse_age("36h").unwrap(), Duration::from_secs(36 * 3_600));
        assert_eq!(parse_age("90m").unwrap(), Duration::from_secs(90 * 60));
        assert_eq!(parse_age("45s").unwrap(), Duration::from_secs(45));
        assert_eq!(parse_age("1w").unwrap(), Duration::from_secs(604_800));
        assert_eq!(
            parse_age(" 2d12h ").unwrap(),
            Duration::from_secs(2 * 86_400 + 12 * 3_600)
        );
        assert_eq!(parse_age("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn bad_ages_name_the_rule() {
        for (raw, rule) in [
            ("", "a number and a unit"),
            ("7", "needs a unit"),
            ("d", "needs a number"),
            ("7y", "units are"),
            ("-7d", "units are"),
            ("99999999999999999999d", "too large"),
            ("18446744073709551615w", "too large"),
            (&"1".repeat(100), "too long"),
        ] {
            let e = parse_age(raw).unwrap_err();
            assert!(e.rule.contains(rule), "{raw:?}: {e}");
            assert!(e.given.chars().count() <= MAX_ARG_CHARS);
        }
    }

    #[test]
    fn times_parse_as_rfc3339_or_a_utc_date() {
        let date = parse_time("2026-11-01").unwrap();
        let full = parse_time("2026-11-01T00:00:00Z").unwrap();
        assert_eq!(date, full);
        let later = parse_time("2026-11-01T08:30:00+01:00").unwrap();
        assert_eq!(
            later.duration_since(full).unwrap(),
            Duration::from_secs(7 * 3_600 + 1_800)
        );
        assert!(parse_time("yesterday")
            .unwrap_err()
            .rule
            .contains("RFC 3339"));
        assert!(parse_time("2026-13-01").is_err());
    }

    #[test]
    fn ages_are_shown_in_their_two_largest_units() {
        assert_eq!(format_age(0), "0s");
        assert_eq!(format_age(59), "59s");
        assert_eq!(format_age(61), "1m");
        assert_eq!(format_age(3_600 * 5 + 180), "5h 3m");
        assert_eq!(format_age(86_400 * 3 + 3_600 * 4 + 59), "3d 4h");
    }

    fn summary(status: HumanLoopStatus, created_secs: i64) -> LoopSummary {
        LoopSummary {
            name: "n".into(),
            status,
            creation_time: DateTime::from_secs(created_secs),
            flow_definition_arn: "arn".into(),
            failure_reason: None,
            failure_code: None,
            arn: None,
            output_s3_uri: None,
        }
    }

    #[test]
    fn a_selection_filters_by_status_age_and_creation_time() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100 * 86_400);
        let mut s = Selection {
            now,
            ..Selection::all("arn")
        };
        let old = summary(HumanLoopStatus::InProgress, 90 * 86_400);
        let new = summary(HumanLoopStatus::InProgress, 99 * 86_400);
        let done = summary(HumanLoopStatus::Completed, 90 * 86_400);
        assert!(s.matches(&old) && s.matches(&new) && s.matches(&done));
        s.statuses = vec![HumanLoopStatus::InProgress];
        s.older_than = Some(Duration::from_secs(7 * 86_400));
        assert!(s.matches(&old));
        assert!(!s.matches(&new), "created 1 day ago");
        assert!(!s.matches(&done), "Completed");
        s.created_after = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(95 * 86_400));
        assert!(!s.matches(&old), "created before the lower limit");
        assert_eq!(
            s.describe(),
            "flow definition arn, status InProgress, older than 7d 0h, created after 1970-04-06T00:00:00Z"
        );
    }
}
