//! `a2i-review demo`: the whole pipeline offline, on the sample data shipped in the repository.
//!
//! It needs nothing but the build: a2i-local starts in-process on random loopback ports with
//! a temp data directory; the sample inference results and condition documents are compiled
//! in. The sample objects are uploaded over the S3 port, so pipeline mode's S3 notifications
//! drive the real start handlers (one per kind of input, as deployed per prefix); a scripted
//! reviewer answers the loops (one by two workers who disagree), stops one and lets one
//! expire; the real status handler writes a reviewed result for each, which is read back and
//! shown. Anything that goes wrong on the way makes the demo fail with the reason.
//!
//! With `--interactive` the flow definition and its task UI (the shipped generic template)
//! are created on a2i-local's control plane, and a person answers the loops in a2i-local's
//! worker portal instead of the scripted reviewer; Ctrl-C stops the loops left.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use a2i_local::{LocalA2iHandle, LoopRecord, Resources, WorkerAnswer};
use a2i_review::config::{StartConfig, StatusConfig};
use a2i_review::loop_input::LoopInput;
use a2i_review::status::StatusOutcome;
use serde_json::{json, Value};

use crate::pipeline::{Pipeline, PipelineError, Route};

/// The input bucket, as named across the project.
pub const INPUT_BUCKET: &str = "a2i-review-input";
/// The watched prefix in the input bucket; each kind of input has a folder below it.
pub const INPUT_PREFIX: &str = "incoming";
/// The flow definition's `S3OutputPath`.
pub const OUTPUT_PATH: &str = "s3://a2i-review-output/a2i";
/// `RESULTS_BUCKET` of the status handler.
pub const RESULTS_BUCKET: &str = "a2i-review-results";
/// `RESULTS_PREFIX` of the status handler.
pub const RESULTS_PREFIX: &str = "reviewed/";
/// The flow definition every loop is started on.
pub const FLOW_DEFINITION_ARN: &str =
    "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/a2i-review-demo";

/// The flow definition's name (the last part of [`FLOW_DEFINITION_ARN`]).
pub const FLOW_DEFINITION_NAME: &str = "a2i-review-demo";
/// The task UI the interactive demo creates, with the shipped generic template.
pub const TASK_UI_NAME: &str = "a2i-review-generic";
/// The shipped generic worker template.
pub const GENERIC_TEMPLATE: &str = include_str!("../../../worker-templates/generic.liquid.html");

/// Longest "why flagged" shown in the table; the reviewed result has every reason in full.
const WHY_CHARS: usize = 72;

/// One kind of input of the sample data: its condition document and its sample object.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// The kind, also the folder under [`INPUT_PREFIX`] and the loop-name prefix.
    pub kind: &'static str,
    /// The condition document of this kind's start handler.
    pub conditions: &'static str,
    /// The object's file name.
    pub file: &'static str,
    /// The object's content.
    pub body: &'static [u8],
}

impl Sample {
    /// The object's key in the input bucket.
    pub fn key(&self) -> String {
        format!("{INPUT_PREFIX}/{}/{}", self.kind, self.file)
    }

    /// The key prefix routed to this kind's start handler.
    pub fn key_prefix(&self) -> String {
        format!("{INPUT_PREFIX}/{}/", self.kind)
    }
}

/// The sample data of `sample-data/`, compiled in so the demo needs no files at run time.
pub const SAMPLES: [Sample; 3] = [
    Sample {
        kind: "moderation",
        conditions: include_str!("../../../sample-data/conditions/moderation.json"),
        file: "beach photo+1.json",
        body: include_bytes!("../../../sample-data/incoming/moderation/beach photo+1.json"),
    },
    Sample {
        kind: "forms",
        conditions: include_str!("../../../sample-data/conditions/forms.json"),
        file: "intake-form.json",
        body: include_bytes!("../../../sample-data/incoming/forms/intake-form.json"),
    },
    Sample {
        kind: "predictions",
        conditions: include_str!("../../../sample-data/conditions/predictions.json"),
        file: "batch-001.jsonl",
        body: include_bytes!("../../../sample-data/incoming/predictions/batch-001.jsonl"),
    },
];

/// Why the demo did not complete.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The pipeline could not be set up or an object not uploaded.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// A sample's start-handler settings are invalid (a broken sample condition document).
    #[error("the {kind} settings are invalid: {source}")]
    Config {
        /// The kind of input.
        kind: &'static str,
        /// The configuration error, naming the variable and the rule.
        source: a2i_review::config::ConfigError,
    },
    /// A handler failed, an event was not delivered, or an object reached no handler.
    #[error("the pipeline reported problems:\n  - {}", .0.join("\n  - "))]
    Problems(Vec<String>),
    /// A reviewer action was refused.
    #[error("the reviewer could not {action} loop {loop_name}: {detail}")]
    Review {
        /// `answer`, `stop` or `expire`.
        action: &'static str,
        /// The loop.
        loop_name: String,
        /// The refusal.
        detail: String,
    },
    /// A loop's input is not what the start handler writes.
    #[error("loop {loop_name} has an input the start handler did not write: {detail}")]
    ForeignLoop {
        /// The loop.
        loop_name: String,
        /// What did not parse.
        detail: String,
    },
    /// A finished loop has no reviewed result.
    #[error("loop {loop_name} finished, but the status handler wrote no reviewed result for it")]
    MissingResult {
        /// The loop.
        loop_name: String,
    },
    /// Loops were left waiting for review.
    #[error("loops left waiting for review: {}", .0.join(", "))]
    Unfinished(Vec<String>),
    /// The directory to keep the data in holds something already.
    #[error("--data-dir {dir} is not empty: the demo needs a fresh directory (loops of an earlier run would leave nothing to review)")]
    DataDirNotEmpty {
        /// The directory.
        dir: PathBuf,
    },
    /// Printing failed.
    #[error("writing the output failed: {0}")]
    Output(#[from] std::io::Error),
}

/// What the start handler decided for one sample object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCounts {
    /// The key, relative to [`INPUT_PREFIX`].
    pub object: String,
    /// Items seen.
    pub items: usize,
    /// Items flagged for review.
    pub flagged: usize,
    /// Items no condition flagged.
    pub skipped: usize,
    /// Items that failed.
    pub failed: usize,
    /// Loops started.
    pub started: usize,
}

/// One reviewed item, as the table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRow {
    /// The object (relative to [`INPUT_PREFIX`]) and the item's line or index.
    pub item: String,
    /// The first activation reason, shortened.
    pub why: String,
    /// The loop.
    pub loop_name: String,
    /// The loop's final status (`Completed`, `Failed`, `Stopped`).
    pub status: String,
    /// `s3://` URI of the reviewed result.
    pub result_uri: String,
    /// What the result says about the answers (count, agreement) or the failure.
    pub note: String,
}

/// What a demo run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoReport {
    /// Per uploaded object.
    pub objects: Vec<ObjectCounts>,
    /// Per loop, in item order.
    pub rows: Vec<ReviewRow>,
}

/// What the scripted reviewer does with one loop.
enum Action {
    /// Workers answer with these contents.
    Answer(Vec<Value>),
    /// An operator stops it (StopHumanLoop).
    Stop,
    /// Nobody picks it up in time (Failed, `Expired`).
    Expire,
}

/// A loop waiting for review, with the start handler's input parsed.
struct Waiting {
    name: String,
    kind: &'static str,
    input: LoopInput,
}

/// How to run the demo.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// Keep the loops and S3 objects in this directory (which must be new or empty) instead
    /// of a temp directory removed at the end, to look at the results afterwards.
    pub data_dir: Option<PathBuf>,
    /// A person answers the loops in the worker portal (the demo waits for them).
    pub interactive: bool,
}

/// Runs the demo and prints its story and tables to `out`.
pub async fn run(options: &DemoOptions, out: &mut dyn Write) -> Result<DemoReport, DemoError> {
    let started = Instant::now();
    if let Some(dir) = &options.data_dir {
        check_data_dir(dir)?;
    }
    let pipeline = build(options.data_dir.clone(), options.interactive).await?;
    let result = drive(&pipeline, options.interactive, out).await;
    pipeline.shutdown().await;
    let report = result?;
    match &options.data_dir {
        Some(dir) => writeln!(
            out,
            // How a2i-local lays the directory out is its own business (and changes); serving it
            // again is the supported way back in.
            "\nDone in {:.1} s. Kept in {}: `a2i-local serve --data-dir {}` serves its S3 objects\n(the reviewed results among them) and loops again.",
            started.elapsed().as_secs_f64(),
            dir.display(),
            dir.display()
        )?,
        None => writeln!(
            out,
            "\nDone in {:.1} s; a2i-local has stopped and removed its temp directory (keep it with --data-dir DIR).",
            started.elapsed().as_secs_f64()
        )?,
    }
    Ok(report)
}

/// A kept data directory must start empty: loops of an earlier run would make every item
/// "already started", and there would be nothing to review.
fn check_data_dir(dir: &Path) -> Result<(), DemoError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            Some(_) => Err(DemoError::DataDirNotEmpty {
                dir: dir.to_owned(),
            }),
            None => Ok(()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(DemoError::Output(e)),
    }
}

/// Starts a2i-local and the handlers, configured as the sample deployments would be.
async fn build(data_dir: Option<PathBuf>, interactive: bool) -> Result<Pipeline, DemoError> {
    let status = StatusConfig::from_lookup(|name| match name {
        "RESULTS_BUCKET" => Some(RESULTS_BUCKET.to_owned()),
        "RESULTS_PREFIX" => Some(RESULTS_PREFIX.to_owned()),
        "FLOW_DEFINITION_ARN" => Some(FLOW_DEFINITION_ARN.to_owned()),
        _ => None,
    })
    .map_err(|source| DemoError::Config {
        kind: "status handler",
        source,
    })?;
    let mut builder = Pipeline::builder(format!("s3://{INPUT_BUCKET}/{INPUT_PREFIX}"), status)
        .output_path(OUTPUT_PATH);
    for sample in SAMPLES {
        let config = StartConfig::from_lookup(|name| match name {
            "FLOW_DEFINITION_ARN" => Some(FLOW_DEFINITION_ARN.to_owned()),
            "ACTIVATION_CONDITIONS" => Some(sample.conditions.to_owned()),
            "LOOP_NAME_PREFIX" => Some(sample.kind.to_owned()),
            // The loop registry, so Stopped and Failed results sit next to their item too.
            "RESULTS_BUCKET" => Some(RESULTS_BUCKET.to_owned()),
            _ => None,
        })
        .map_err(|source| DemoError::Config {
            kind: sample.kind,
            source,
        })?;
        builder = builder.route(Route {
            name: sample.kind.to_owned(),
            key_prefix: sample.key_prefix(),
            config,
        });
    }
    if let Some(dir) = data_dir {
        builder = builder.local(|local| local.data_dir(dir));
    }
    if interactive {
        builder = builder.local(|local| {
            local
                .resources(demo_resources())
                .reviewed_results(std::sync::Arc::new(reviewed_result_of))
        });
    }
    Ok(builder.start().await?)
}

/// The task UI and flow definition of the interactive demo, created on the control plane at
/// start (through the same validation as CreateHumanTaskUi / CreateFlowDefinition).
fn demo_resources() -> Resources {
    Resources::new()
        .human_task_ui(TASK_UI_NAME, GENERIC_TEMPLATE)
        .flow_definition(json!({
            "FlowDefinitionName": FLOW_DEFINITION_NAME,
            "HumanLoopConfig": {
                "HumanTaskUiName": TASK_UI_NAME,
                "WorkteamArn": "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/a2i-review-demo",
                "TaskTitle": "Review a flagged inference result",
                "TaskDescription": "An activation condition flagged this item: check it and decide.",
                "TaskKeywords": ["review", "demo"],
                "TaskCount": 1,
                "TaskTimeLimitInSeconds": 600
            },
            "OutputConfig": {"S3OutputPath": OUTPUT_PATH},
            "RoleArn": "arn:aws:iam::111122223333:role/a2i-review-demo"
        }))
}

/// Where the status handler writes a completed loop's reviewed result.
fn reviewed_result_of(record: &LoopRecord) -> Option<(String, String)> {
    let input: Value = serde_json::from_str(&record.input_content).ok()?;
    let parts = a2i_review::status::LoopInputParts::from_input_content(Some(&input));
    let name = a2i_review::status::LoopName::parse(&record.name).ok()?;
    Some((
        RESULTS_BUCKET.to_owned(),
        a2i_review::status::result_key(RESULTS_PREFIX, parts.source.as_ref(), &name),
    ))
}

/// Waits until no loop waits for review, or Ctrl-C; returns the loops left.
async fn wait_for_people(local: &LocalA2iHandle) -> Vec<String> {
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let left: Vec<String> = local
            .pending()
            .into_iter()
            .map(|p| p.human_loop_name)
            .collect();
        if left.is_empty() {
            return left;
        }
        tokio::select! {
            _ = &mut ctrl_c => return left,
            _ = tokio::time::sleep(std::time::Duration::from_millis(300)) => {}
        }
    }
}

async fn drive(
    pipeline: &Pipeline,
    interactive: bool,
    out: &mut dyn Write,
) -> Result<DemoReport, DemoError> {
    let local = pipeline.local();
    writeln!(
        out,
        "a2i-review demo: the whole pipeline offline, on a2i-local (A2I runtime {}, S3 {})\n",
        local.a2i_endpoint(),
        local.s3_endpoint()
    )?;

    for sample in SAMPLES {
        pipeline.upload(&sample.key(), sample.body).await?;
    }
    fail_on_problems(pipeline)?;
    let objects = object_counts(pipeline);
    writeln!(
        out,
        "1. Uploaded {} objects to s3://{INPUT_BUCKET}/{INPUT_PREFIX}/; S3 events ran the start handlers:\n",
        objects.len()
    )?;
    write_object_table(out, &objects)?;

    let waiting = waiting_loops(local)?;
    let mut tally = Tally::default();
    if interactive {
        writeln!(
            out,
            "\n{} loops wait for review. Answer them in the worker portal:\n\n    {}\n\n(pick a worker name, \"Start working\", answer, submit; Ctrl-C stops the loops left)",
            waiting.len(),
            local.portal_url()
        )?;
        out.flush()?;
        let left = wait_for_people(local).await;
        for name in &left {
            review(pipeline, name, Action::Stop, &mut tally).await?;
        }
        local.settled().await;
        fail_on_problems(pipeline)?;
        writeln!(
            out,
            "\n2. People answered {} loops in the worker portal{}.",
            waiting.len() - left.len(),
            if left.is_empty() {
                String::new()
            } else {
                format!("; Ctrl-C stopped {}", left.len())
            }
        )?;
        writeln!(
            out,
            "   Each status-change event ran the status handler, which wrote a reviewed result:\n"
        )?;
        let rows = review_rows(pipeline, &waiting).await?;
        write_review_table(out, &rows)?;
        return Ok(DemoReport { objects, rows });
    }
    let mut nth_of_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for loop_ in &waiting {
        let nth = nth_of_kind.entry(loop_.kind).or_default();
        let action = script(loop_.kind, *nth, &loop_.input);
        *nth += 1;
        if matches!(&action, Action::Answer(answers) if answers.len() > 1) {
            tally.two_workers = Some(item_label(&loop_.input));
        }
        review(pipeline, &loop_.name, action, &mut tally).await?;
    }
    // Stop events are delivered in the background; wait for them and their results.
    local.settled().await;
    fail_on_problems(pipeline)?;
    let left: Vec<String> = local
        .pending()
        .into_iter()
        .map(|p| p.human_loop_name)
        .collect();
    if !left.is_empty() {
        return Err(DemoError::Unfinished(left));
    }
    writeln!(
        out,
        "\n2. A scripted reviewer answered {} loops{}, stopped {} and let {} expire.",
        tally.answered,
        tally
            .two_workers
            .map(|item| format!(" ({item} by two workers who disagree)"))
            .unwrap_or_default(),
        tally.stopped,
        tally.expired
    )?;
    writeln!(
        out,
        "   Each status-change event ran the status handler, which wrote a reviewed result:\n"
    )?;

    let rows = review_rows(pipeline, &waiting).await?;
    write_review_table(out, &rows)?;

    let totals = objects.iter().fold([0; 4], |t, o| {
        [
            t[0] + o.items,
            t[1] + o.flagged,
            t[2] + o.skipped,
            t[3] + o.failed,
        ]
    });
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &rows {
        *by_status.entry(row.status.as_str()).or_default() += 1;
    }
    let statuses: Vec<String> = by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
    writeln!(
        out,
        "\n{} items seen: {} flagged, {} skipped, {} failed. {} loops: {}. {} reviewed results in s3://{RESULTS_BUCKET}/{RESULTS_PREFIX}.",
        totals[0],
        totals[1],
        totals[2],
        totals[3],
        rows.len(),
        statuses.join(", "),
        rows.len()
    )?;
    Ok(DemoReport { objects, rows })
}

fn fail_on_problems(pipeline: &Pipeline) -> Result<(), DemoError> {
    let problems = pipeline.problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DemoError::Problems(problems))
    }
}

/// Per-object counts from the start handlers' summaries (one invocation per upload).
fn object_counts(pipeline: &Pipeline) -> Vec<ObjectCounts> {
    let prefix = format!("{INPUT_PREFIX}/");
    pipeline
        .start_invocations()
        .iter()
        .map(|i| ObjectCounts {
            object: i
                .keys
                .iter()
                .map(|k| k.strip_prefix(&prefix).unwrap_or(k).to_owned())
                .collect::<Vec<_>>()
                .join(", "),
            items: i.summary.items,
            flagged: i.summary.flagged,
            skipped: i.summary.skipped,
            failed: i.summary.failed,
            started: i.summary.started,
        })
        .collect()
}

/// The loops to review, in the samples' order and then item order.
fn waiting_loops(local: &LocalA2iHandle) -> Result<Vec<Waiting>, DemoError> {
    let pending = local.pending();
    let mut waiting = Vec::with_capacity(pending.len());
    for p in pending {
        let input: LoopInput =
            serde_json::from_value(p.input_content).map_err(|e| DemoError::ForeignLoop {
                loop_name: p.human_loop_name.clone(),
                detail: e.to_string(),
            })?;
        let kind = SAMPLES
            .iter()
            .find(|s| input.source.object.key.starts_with(&s.key_prefix()))
            .map(|s| s.kind)
            .ok_or_else(|| DemoError::ForeignLoop {
                loop_name: p.human_loop_name.clone(),
                detail: format!("its source {} is no sample", input.source.object.key),
            })?;
        waiting.push(Waiting {
            name: p.human_loop_name,
            kind,
            input,
        });
    }
    let order = |kind: &str| SAMPLES.iter().position(|s| s.kind == kind);
    waiting.sort_by_key(|w| (order(w.kind), w.input.source.item_index));
    Ok(waiting)
}

/// The scripted reviewer: plausible answers per kind of task, and the other endings.
fn script(kind: &str, nth: usize, input: &LoopInput) -> Action {
    match (kind, nth) {
        // Two moderators who disagree: agreement shows in the result.
        ("moderation", _) => Action::Answer(vec![
            json!({"decision": "allow", "labelsCorrect": true}),
            json!({"decision": "remove", "labelsCorrect": true}),
        ]),
        ("forms", _) => Action::Answer(vec![
            json!({"dateOfBirth": "1986-04-12", "policyNumberPresent": false}),
        ]),
        // The first doubtful prediction is corrected to the model's runner-up.
        ("predictions", 0) => {
            let runner_up = input
                .task_object
                .pointer("/predictions/1/label")
                .or_else(|| input.task_object.pointer("/predictions/0/label"))
                .cloned()
                .unwrap_or(Value::Null);
            Action::Answer(vec![json!({"label": runner_up, "modelWasRight": false})])
        }
        // The next one is withdrawn (the ticket was closed), the sampled one nobody takes.
        ("predictions", 1) => Action::Stop,
        _ => Action::Expire,
    }
}

/// What the scripted reviewer did.
#[derive(Debug, Default)]
struct Tally {
    answered: usize,
    stopped: usize,
    expired: usize,
    /// The item two workers answered.
    two_workers: Option<String>,
}

/// Carries out one action on one loop.
async fn review(
    pipeline: &Pipeline,
    name: &str,
    action: Action,
    tally: &mut Tally,
) -> Result<(), DemoError> {
    let local = pipeline.local();
    let refused = |action: &'static str, detail: String| DemoError::Review {
        action,
        loop_name: name.to_owned(),
        detail,
    };
    match action {
        Action::Answer(contents) => {
            let answers: Vec<WorkerAnswer> = contents.into_iter().map(WorkerAnswer::new).collect();
            local
                .answer(name, &answers)
                .await
                .map_err(|e| refused("answer", e.to_string()))?;
            tally.answered += 1;
        }
        Action::Stop => {
            // Through the A2I API over HTTP, as an operator would.
            local
                .a2i_client()
                .stop_human_loop()
                .human_loop_name(name)
                .send()
                .await
                .map_err(|e| {
                    refused(
                        "stop",
                        aws_sdk_sagemakera2iruntime::error::DisplayErrorContext(&e).to_string(),
                    )
                })?;
            tally.stopped += 1;
        }
        Action::Expire => {
            local
                .expire(name)
                .await
                .map_err(|e| refused("expire", e.to_string()))?;
            tally.expired += 1;
        }
    }
    Ok(())
}

/// `moderation/beach photo+1.json item 0` or `predictions/batch-001.jsonl line 2`.
fn item_label(input: &LoopInput) -> String {
    let key = &input.source.object.key;
    let key = key.strip_prefix(&format!("{INPUT_PREFIX}/")).unwrap_or(key);
    match input.source.line {
        Some(line) => format!("{key} line {line}"),
        None => format!("{key} item {}", input.source.item_index),
    }
}

/// The first reason without its condition type, first clause only, shortened.
fn why(input: &LoopInput) -> String {
    let Some(first) = input.activation_reasons.first() else {
        return "-".to_owned();
    };
    let text = first
        .split_once(": ")
        .map_or(first.as_str(), |(_, rest)| rest);
    let text = text.split("; ").next().unwrap_or(text);
    crate::evaluate::shorten(text, WHY_CHARS)
}

/// Reads each loop's reviewed result back and checks it says what happened.
async fn review_rows(
    pipeline: &Pipeline,
    waiting: &[Waiting],
) -> Result<Vec<ReviewRow>, DemoError> {
    let mut written: BTreeMap<String, (String, String)> = BTreeMap::new();
    for invocation in pipeline.status_invocations() {
        if let Ok(StatusOutcome::Written {
            human_loop_name,
            result_bucket,
            result_key,
            ..
        }) = invocation.outcome
        {
            written.insert(human_loop_name, (result_bucket, result_key));
        }
    }
    let mut rows = Vec::with_capacity(waiting.len());
    for loop_ in waiting {
        let (bucket, key) =
            written
                .get(&loop_.name)
                .cloned()
                .ok_or_else(|| DemoError::MissingResult {
                    loop_name: loop_.name.clone(),
                })?;
        let result = pipeline.read_json(&bucket, &key).await?;
        rows.push(ReviewRow {
            item: item_label(&loop_.input),
            why: why(&loop_.input),
            loop_name: loop_.name.clone(),
            status: result["status"].as_str().unwrap_or("?").to_owned(),
            result_uri: format!("s3://{bucket}/{key}"),
            note: note(&result),
        });
    }
    Ok(rows)
}

/// One line about a reviewed result: the answers and their agreement, or the failure.
fn note(result: &Value) -> String {
    match result["status"].as_str() {
        Some("Failed") => {
            return format!(
                "failed: {} ({})",
                result["failureCode"].as_str().unwrap_or("no failureCode"),
                result["failureReason"]
                    .as_str()
                    .unwrap_or("no failureReason")
            )
        }
        Some("Stopped") => return "stopped before any worker answered".to_owned(),
        _ => {}
    }
    let Some(answers) = result["humanAnswers"].as_array() else {
        return "no answers".to_owned();
    };
    let workers = match answers.len() {
        1 => "1 worker".to_owned(),
        n => format!("{n} workers"),
    };
    let Some(agreement) = result["agreement"].as_object() else {
        let content = answers
            .first()
            .map(|a| a["answerContent"].to_string())
            .unwrap_or_default();
        return format!("{workers}: {content}");
    };
    let mut fields = String::new();
    for (field, a) in agreement {
        if !fields.is_empty() {
            fields.push_str("; ");
        }
        if a["agree"].as_bool() == Some(true) {
            let _ = write!(fields, "{field} agreed");
        } else {
            let votes: Vec<String> = a["votes"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .map(|vote| format!("{} x{}", vote["value"], vote["count"]))
                        .collect()
                })
                .unwrap_or_default();
            let _ = write!(fields, "{field} split ({})", votes.join(", "));
        }
    }
    format!("{workers}: {fields}")
}

fn write_object_table(out: &mut dyn Write, objects: &[ObjectCounts]) -> std::io::Result<()> {
    let width = objects
        .iter()
        .map(|o| o.object.chars().count())
        .chain(["total".len(), "OBJECT".len()])
        .max()
        .unwrap_or(0);
    writeln!(
        out,
        "   {:width$}  ITEMS  FLAGGED  SKIPPED  FAILED  LOOPS STARTED",
        "OBJECT"
    )?;
    let mut total = ObjectCounts {
        object: "total".to_owned(),
        items: 0,
        flagged: 0,
        skipped: 0,
        failed: 0,
        started: 0,
    };
    for o in objects {
        total.items += o.items;
        total.flagged += o.flagged;
        total.skipped += o.skipped;
        total.failed += o.failed;
        total.started += o.started;
    }
    for o in objects.iter().chain([&total]) {
        writeln!(
            out,
            "   {:width$}  {:>5}  {:>7}  {:>7}  {:>6}  {:>13}",
            o.object, o.items, o.flagged, o.skipped, o.failed, o.started
        )?;
    }
    Ok(())
}

fn write_review_table(out: &mut dyn Write, rows: &[ReviewRow]) -> std::io::Result<()> {
    let item_w = rows
        .iter()
        .map(|r| r.item.chars().count())
        .chain(["ITEM".len()])
        .max()
        .unwrap_or(0);
    let status_w = rows
        .iter()
        .map(|r| r.status.len())
        .chain(["STATUS".len()])
        .max()
        .unwrap_or(0);
    writeln!(
        out,
        "   {:item_w$}  {:status_w$}  WHY FLAGGED",
        "ITEM", "STATUS"
    )?;
    for r in rows {
        writeln!(
            out,
            "   {:item_w$}  {:status_w$}  {}",
            r.item, r.status, r.why
        )?;
        writeln!(out, "     loop    {}", r.loop_name)?;
        writeln!(out, "     result  {}", r.result_uri)?;
        writeln!(out, "     review  {}", r.note)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_has_a_valid_condition_document() {
        for sample in SAMPLES {
            a2i_review::conditions::ActivationConditions::parse(sample.conditions)
                .unwrap_or_else(|e| panic!("{}: {e}", sample.kind));
        }
    }

    #[test]
    fn why_keeps_the_first_clause_of_the_first_reason_without_its_type() {
        let input: LoopInput = serde_json::from_value(json!({
            "taskObject": {},
            "source": {"bucket": "b", "key": "incoming/x/y.json", "itemIndex": 0},
            "activationReasons": ["Check: label \"a\" 1 >= 0; label \"b\" 2 >= 0", "Other: z"],
            "humanTaskActivationConditionResults": {}
        }))
        .unwrap();
        assert_eq!(why(&input), "label \"a\" 1 >= 0");
        assert_eq!(item_label(&input), "x/y.json item 0");
    }

    #[test]
    fn notes_show_disagreement_votes() {
        let result = json!({
            "humanAnswers": [{}, {}],
            "agreement": {
                "decision": {"agree": false, "votes": [{"value": "allow", "count": 1}, {"value": "remove", "count": 1}]},
                "labelsCorrect": {"agree": true, "votes": [{"value": true, "count": 2}]}
            }
        });
        assert_eq!(
            note(&result),
            "2 workers: decision split (\"allow\" x1, \"remove\" x1); labelsCorrect agreed"
        );
        assert_eq!(
            note(&json!({"status": "Failed", "failureCode": "Expired", "failureReason": "late"})),
            "failed: Expired (late)"
        );
    }
}
