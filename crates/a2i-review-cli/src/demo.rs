//! `a2i-review demo`: the whole pipeline offline, on the sample data shipped in the repository.
//!
//! It needs nothing but the build: a2i-local starts in-process on random loopback ports with
//! a temp data directory; the sample inference results, condition documents, raw media and
//! their recorded model answers are compiled in. Two paths run side by side:
//!
//! - custom task type: the sample inference results are uploaded over the S3 port, so
//!   pipeline mode's S3 notifications drive the real start handlers (one per kind of input,
//!   as deployed per prefix), which evaluate the conditions and call StartHumanLoop;
//! - built-in task types: a form image and two photos (`demo/raw-media/`) are uploaded to raw
//!   folders whose start handlers run in raw-media mode (`TASK_TYPE=textract-forms` /
//!   `rekognition-moderation`): Textract and Rekognition on a2i-local replay the recordings,
//!   A2I evaluates the flow definitions' conditions (created on the control plane with their
//!   request sources and the shipped built-in templates) and starts the loops itself.
//!
//! A scripted reviewer answers the loops (one by two workers who disagree; the built-in ones
//! in the built-in answer shapes), stops one and lets one expire; the real status handlers
//! (one per deployment) write a reviewed result for each, which is read back and shown with
//! both paths' counts side by side. Anything that goes wrong on the way makes the demo fail
//! with the reason.
//!
//! With `--interactive` the custom flow definition and its task UI (the shipped generic
//! template) are created on a2i-local's control plane too, and a person answers every loop in
//! a2i-local's worker portal instead of the scripted reviewer; Ctrl-C stops the loops left.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use a2i_local::{LocalA2iHandle, LoopRecord, RecordedAnalyses, Resources, WorkerAnswer};
use a2i_review::builtin::{ModelAnswer, TaskType};
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

/// Where the raw media go, below [`INPUT_PREFIX`]: one folder per built-in task type.
pub const RAW_FOLDER: &str = "raw";

/// A built-in task type as the demo deploys it: a start function in raw-media mode on its
/// own folder, and a flow definition with the service's request source and conditions.
#[derive(Debug, Clone, Copy)]
pub struct RawRoute {
    /// The folder under `{INPUT_PREFIX}/{RAW_FOLDER}/` and the route's name.
    pub folder: &'static str,
    /// `TASK_TYPE` of the start function.
    pub task_type: TaskType,
    /// The flow definition's name; its ARN is in a2i-local's account and region.
    pub flow_name: &'static str,
    /// The flow definition's `HumanLoopActivationConditions`.
    pub conditions: &'static str,
    /// `LOOP_NAME_PREFIX` of the start function.
    pub loop_name_prefix: &'static str,
    /// The task UI's name.
    pub task_ui: &'static str,
    /// The task UI's template.
    pub template: &'static str,
    /// `TaskTitle` of the flow definition.
    pub title: &'static str,
}

impl RawRoute {
    /// The key prefix routed to this route's start function.
    pub fn key_prefix(&self) -> String {
        format!("{INPUT_PREFIX}/{RAW_FOLDER}/{}/", self.folder)
    }

    /// The flow definition's ARN.
    pub fn flow_definition_arn(&self) -> String {
        format!(
            "arn:aws:sagemaker:{}:{}:flow-definition/{}",
            a2i_local::DEFAULT_REGION,
            a2i_local::DEFAULT_ACCOUNT,
            self.flow_name
        )
    }
}

/// The raw-media routes: a form goes to Textract, a photo to Rekognition.
pub const RAW_ROUTES: [RawRoute; 2] = [
    RawRoute {
        folder: "forms",
        task_type: TaskType::TextractForms,
        flow_name: "a2i-review-demo-forms",
        conditions: include_str!("../demo/raw-media/conditions/textract-forms.json"),
        loop_name_prefix: "form",
        task_ui: "a2i-review-builtin-forms",
        template: include_str!("../../../worker-templates/builtin-textract-forms.liquid.html"),
        title: "Check the key-value pairs Textract was unsure of",
    },
    RawRoute {
        folder: "photos",
        task_type: TaskType::RekognitionModeration,
        flow_name: "a2i-review-demo-photos",
        conditions: include_str!("../demo/raw-media/conditions/rekognition-moderation.json"),
        loop_name_prefix: "photo",
        task_ui: "a2i-review-builtin-photos",
        template: include_str!(
            "../../../worker-templates/builtin-rekognition-moderation.liquid.html"
        ),
        title: "Confirm the moderation labels Rekognition was unsure of",
    },
];

/// A raw document or image of the demo, uploaded to its route's folder.
#[derive(Debug, Clone, Copy)]
pub struct RawSample {
    /// The route's folder.
    pub folder: &'static str,
    /// The file name.
    pub file: &'static str,
    /// The bytes.
    pub body: &'static [u8],
}

impl RawSample {
    /// The object's key in the input bucket.
    pub fn key(&self) -> String {
        format!("{INPUT_PREFIX}/{RAW_FOLDER}/{}/{}", self.folder, self.file)
    }
}

/// The raw media of `demo/raw-media/` (drawn by `scripts/demo_media.py`), compiled in.
pub const RAW_SAMPLES: [RawSample; 3] = [
    RawSample {
        folder: "forms",
        file: "claim-form.png",
        body: include_bytes!("../demo/raw-media/claim-form.png"),
    },
    RawSample {
        folder: "photos",
        file: "beach.jpg",
        body: include_bytes!("../demo/raw-media/beach.jpg"),
    },
    RawSample {
        folder: "photos",
        file: "lighthouse.png",
        body: include_bytes!("../demo/raw-media/lighthouse.png"),
    },
];

/// The model answers a2i-local replays for [`RAW_SAMPLES`] (matched by SHA-256), in its
/// recording format: `(file name, bytes)`.
pub const RECORDINGS: [(&str, &[u8]); 3] = [
    (
        "claim-form.textract.json",
        include_bytes!("../demo/raw-media/recorded/claim-form.textract.json"),
    ),
    (
        "beach.rekognition.json",
        include_bytes!("../demo/raw-media/recorded/beach.rekognition.json"),
    ),
    (
        "lighthouse.rekognition.json",
        include_bytes!("../demo/raw-media/recorded/lighthouse.rekognition.json"),
    ),
];

/// The recordings, loaded as a2i-local loads a `--recorded-analyses` directory.
pub fn recorded_analyses() -> Result<RecordedAnalyses, DemoError> {
    let mut recorded = RecordedAnalyses::empty();
    for (file, bytes) in RECORDINGS {
        recorded
            .add_json(bytes)
            .map_err(|rule| DemoError::Recording { file, rule })?;
    }
    Ok(recorded)
}

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
    /// A compiled-in recording is not in a2i-local's format (a broken demo build).
    #[error("the demo recording {file} is invalid: {rule}")]
    Recording {
        /// The recording's file name.
        file: &'static str,
        /// The rule it breaks.
        rule: String,
    },
    /// A model answer the start handler should have stored is missing or unreadable.
    #[error("the model answer of {object} is missing or invalid: {detail}")]
    ModelAnswer {
        /// The object (relative to the input prefix).
        object: String,
        /// What went wrong.
        detail: String,
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

/// What a start handler in raw-media mode did with one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawObject {
    /// The key, relative to [`INPUT_PREFIX`].
    pub object: String,
    /// The start handler's `TASK_TYPE`.
    pub task_type: TaskType,
    /// Objects the service answered (1, or 0 when it failed).
    pub analysed: usize,
    /// Loops A2I started.
    pub started: usize,
    /// Objects no condition flagged.
    pub skipped: usize,
    /// Objects that failed.
    pub failed: usize,
    /// The first condition that held on the model's answer, shortened, or `-`.
    pub why: String,
    /// The loop name sent with the `HumanLoopConfig`.
    pub human_loop_name: String,
    /// `s3://` URI of the stored model answer.
    pub model_answer_uri: String,
}

/// What a demo run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoReport {
    /// Per uploaded document of inference results (the custom task type).
    pub objects: Vec<ObjectCounts>,
    /// Per custom loop, in item order.
    pub rows: Vec<ReviewRow>,
    /// Per uploaded raw document or image (the built-in task types).
    pub raw_objects: Vec<RawObject>,
    /// Per built-in loop, in upload order.
    pub raw_rows: Vec<ReviewRow>,
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

/// A built-in loop waiting for review, with A2I's input.
struct BuiltinWaiting {
    name: String,
    route: RawRoute,
    /// The source key, relative to [`INPUT_PREFIX`].
    object: String,
    input: Value,
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
    for route in RAW_ROUTES {
        let flow = route.flow_definition_arn();
        let config = StartConfig::from_lookup(|name| match name {
            "TASK_TYPE" => Some(route.task_type.as_str().to_owned()),
            "FLOW_DEFINITION_ARN" => Some(flow.clone()),
            "LOOP_NAME_PREFIX" => Some(route.loop_name_prefix.to_owned()),
            // Model answers and the loop registry; the status handler reads both there.
            "RESULTS_BUCKET" => Some(RESULTS_BUCKET.to_owned()),
            "RESULTS_PREFIX" => Some(RESULTS_PREFIX.to_owned()),
            _ => None,
        })
        .map_err(|source| DemoError::Config {
            kind: route.task_type.as_str(),
            source,
        })?;
        builder = builder.route(Route {
            name: format!("{RAW_FOLDER}/{}", route.folder),
            key_prefix: route.key_prefix(),
            config,
        });
        // Each raw-media deployment has its own status function for its flow definition.
        let status = StatusConfig::from_lookup(|name| match name {
            "RESULTS_BUCKET" => Some(RESULTS_BUCKET.to_owned()),
            "RESULTS_PREFIX" => Some(RESULTS_PREFIX.to_owned()),
            "FLOW_DEFINITION_ARN" => Some(flow.clone()),
            _ => None,
        })
        .map_err(|source| DemoError::Config {
            kind: "status handler",
            source,
        })?;
        builder = builder.status_handler(status);
    }
    let recorded = recorded_analyses()?;
    builder = builder.local(|local| {
        local
            .recorded_analyses(recorded)
            .resources(builtin_resources())
    });
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

/// The raw-media flow definitions and their task UIs: A2I never registers a built-in flow
/// definition implicitly (its request source and conditions matter), so they are created on
/// the control plane at start, as `sam deploy` would create them.
pub fn builtin_resources() -> Resources {
    let mut resources = Resources::new();
    for route in RAW_ROUTES {
        let request_source = route.task_type.request_source().unwrap_or_default();
        resources = resources
            .human_task_ui(route.task_ui, route.template)
            .flow_definition(json!({
                "FlowDefinitionName": route.flow_name,
                "HumanLoopRequestSource": {"AwsManagedHumanLoopRequestSource": request_source},
                "HumanLoopActivationConfig": {
                    "HumanLoopActivationConditionsConfig": {
                        "HumanLoopActivationConditions": route.conditions
                    }
                },
                "HumanLoopConfig": {
                    "HumanTaskUiName": route.task_ui,
                    "WorkteamArn": "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/a2i-review-demo",
                    "TaskTitle": route.title,
                    "TaskDescription": "The model was unsure: check its answer and correct it.",
                    "TaskKeywords": ["review", "demo", route.folder],
                    "TaskCount": 1,
                    "TaskTimeLimitInSeconds": 600
                },
                "OutputConfig": {"S3OutputPath": OUTPUT_PATH},
                "RoleArn": "arn:aws:iam::111122223333:role/a2i-review-demo"
            }));
    }
    resources
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

/// Where the status handler writes a completed loop's reviewed result: next to the item of
/// a custom loop, next to the analysed object (as item 0) of a built-in one.
fn reviewed_result_of(record: &LoopRecord) -> Option<(String, String)> {
    let input: Value = serde_json::from_str(&record.input_content).ok()?;
    let name = a2i_review::status::LoopName::parse(&record.name).ok()?;
    let source = match builtin_object(&input) {
        Some(object) => Some(a2i_review::loop_input::ItemSource {
            object,
            item_index: 0,
            line: None,
        }),
        None => a2i_review::status::LoopInputParts::from_input_content(Some(&input)).source,
    };
    Some((
        RESULTS_BUCKET.to_owned(),
        a2i_review::status::result_key(RESULTS_PREFIX, source.as_ref(), &name),
    ))
}

/// The analysed object of a built-in loop's input (`aiServiceRequest.document.s3Object` or
/// `.image.s3Object`); `None` for a custom loop's input.
fn builtin_object(input: &Value) -> Option<a2i_review::source::ObjectRef> {
    let request = input.get("aiServiceRequest")?;
    let s3 = request
        .pointer("/document/s3Object")
        .or_else(|| request.pointer("/image/s3Object"))?;
    Some(a2i_review::source::ObjectRef {
        bucket: s3.get("bucket")?.as_str()?.to_owned(),
        key: s3.get("name")?.as_str()?.to_owned(),
        version_id: s3.get("version").and_then(Value::as_str).map(str::to_owned),
        e_tag: None,
    })
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
        "a2i-review demo: the whole pipeline offline, on a2i-local (A2I runtime, Textract and Rekognition {}, S3 {})\n",
        local.a2i_endpoint(),
        local.s3_endpoint()
    )?;

    for sample in SAMPLES {
        pipeline.upload(&sample.key(), sample.body).await?;
    }
    for sample in RAW_SAMPLES {
        pipeline.upload(&sample.key(), sample.body).await?;
    }
    fail_on_problems(pipeline)?;
    let objects = object_counts(pipeline);
    let raw_objects = raw_object_counts(pipeline).await?;
    writeln!(
        out,
        "1. Uploaded {} documents of inference results and {} raw media to s3://{INPUT_BUCKET}/{INPUT_PREFIX}/;\n   S3 events ran the start handlers.\n",
        objects.len(),
        raw_objects.len()
    )?;
    writeln!(
        out,
        "   Custom task type ({INPUT_PREFIX}/{{moderation,forms,predictions}}/): the start handler evaluates the\n   conditions on every item and calls StartHumanLoop for the flagged ones:\n"
    )?;
    write_object_table(out, &objects)?;
    writeln!(
        out,
        "\n   Built-in task types ({INPUT_PREFIX}/{RAW_FOLDER}/{{forms,photos}}/): the start handler sends each object to\n   Textract AnalyzeDocument or Rekognition DetectModerationLabels with a HumanLoopConfig; A2I\n   evaluates the flow definition's conditions on the model's answer and starts the loop:\n"
    )?;
    write_raw_table(out, &raw_objects)?;
    writeln!(
        out,
        "\n   Every model answer (HumanLoopActivationOutput included) is kept next to the results:\n   s3://{RESULTS_BUCKET}/{RESULTS_PREFIX}{INPUT_BUCKET}/<key>/<loop>.model.json"
    )?;

    let waiting = waiting_loops(local)?;
    let builtin = builtin_loops(local)?;
    let mut tally = Tally::default();
    if interactive {
        writeln!(
            out,
            "\n{} loops wait for review ({} custom, {} built-in). Answer them in the worker portal:\n\n    {}\n\n(pick a worker name, \"Start working\", answer, submit; Ctrl-C stops the loops left)",
            waiting.len() + builtin.len(),
            waiting.len(),
            builtin.len(),
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
            waiting.len() + builtin.len() - left.len(),
            if left.is_empty() {
                String::new()
            } else {
                format!("; Ctrl-C stopped {}", left.len())
            }
        )?;
    } else {
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
        for loop_ in &builtin {
            let action = builtin_script(loop_);
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
            "\n2. A scripted reviewer answered {} loops ({} custom, {} built-in{}), stopped {} and let {} expire.",
            tally.answered,
            tally.answered.saturating_sub(builtin.len()),
            builtin.len(),
            tally
                .two_workers
                .as_ref()
                .map(|item| format!("; {item} by two workers who disagree"))
                .unwrap_or_default(),
            tally.stopped,
            tally.expired
        )?;
    }
    writeln!(
        out,
        "   Each status-change event ran the status handlers (one per deployment); the loop's own\n   wrote a reviewed result.\n\n   Custom loops:\n"
    )?;
    let rows = review_rows(pipeline, &waiting).await?;
    write_review_table(out, &rows)?;
    writeln!(
        out,
        "\n   Built-in loops (the reviewer's answer joined with the stored model answer):\n"
    )?;
    let raw_rows = builtin_rows(pipeline, &builtin).await?;
    write_review_table(out, &raw_rows)?;

    let report = DemoReport {
        objects,
        rows,
        raw_objects,
        raw_rows,
    };
    writeln!(out, "\n3. Both paths side by side:\n")?;
    write_side_by_side(out, &report)?;
    Ok(report)
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
        .filter(|i| SAMPLES.iter().any(|s| s.kind == i.route))
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

/// Per raw object: the start handler's counts and the model answer it stored.
async fn raw_object_counts(pipeline: &Pipeline) -> Result<Vec<RawObject>, DemoError> {
    let prefix = format!("{INPUT_PREFIX}/");
    let mut objects = Vec::new();
    for invocation in pipeline.start_invocations() {
        let Some(route) = RAW_ROUTES
            .iter()
            .find(|r| invocation.route == format!("{RAW_FOLDER}/{}", r.folder))
        else {
            continue;
        };
        for key in &invocation.keys {
            let object = key.strip_prefix(&prefix).unwrap_or(key).to_owned();
            let model_error = |detail: String| DemoError::ModelAnswer {
                object: object.clone(),
                detail,
            };
            // The key holds the loop name, which the start handler derived from the object's
            // version; listing the object's folder finds it without re-deriving it.
            let folder = format!("{RESULTS_PREFIX}{INPUT_BUCKET}/{key}/");
            let listed = pipeline.list_keys(RESULTS_BUCKET, &folder).await?;
            let model_keys: Vec<&String> = listed
                .iter()
                .filter(|k| k.ends_with(a2i_review::builtin::MODEL_ANSWER_SUFFIX))
                .collect();
            let [model_key] = model_keys.as_slice() else {
                return Err(model_error(format!(
                    "{} model answers under s3://{RESULTS_BUCKET}/{folder}, expected 1",
                    model_keys.len()
                )));
            };
            let bytes = pipeline.read_bytes(RESULTS_BUCKET, model_key).await?;
            let answer = ModelAnswer::parse(&bytes).map_err(|e| model_error(e.to_string()))?;
            objects.push(RawObject {
                object,
                task_type: route.task_type,
                analysed: invocation.summary.analysed,
                started: invocation.summary.started,
                skipped: invocation.summary.skipped,
                failed: invocation.summary.failed,
                why: if answer.human_loop_arn.is_some() {
                    builtin_why(route, &answer)
                } else {
                    "-".to_owned()
                },
                human_loop_name: answer.human_loop_name.clone(),
                model_answer_uri: format!("s3://{RESULTS_BUCKET}/{model_key}"),
            });
        }
    }
    Ok(objects)
}

/// The first reason the route's conditions give on the model's answer: what A2I's
/// evaluation results say held, in words (the same implementation a2i-local evaluates with).
fn builtin_why(route: &RawRoute, answer: &ModelAnswer) -> String {
    let evaluation = a2i_review::conditions::ActivationConditions::parse(route.conditions)
        .ok()
        .and_then(|c| c.evaluate(&answer.response).ok());
    let Some(first) = evaluation.as_ref().and_then(|e| e.reasons.first()) else {
        return "-".to_owned();
    };
    let text = first
        .split_once(": ")
        .map_or(first.as_str(), |(_, rest)| rest);
    let text = text.split("; ").next().unwrap_or(text);
    crate::evaluate::shorten(text, WHY_CHARS)
}

/// The built-in loops to review, in upload order.
fn builtin_loops(local: &LocalA2iHandle) -> Result<Vec<BuiltinWaiting>, DemoError> {
    let prefix = format!("{INPUT_PREFIX}/");
    let mut waiting = Vec::new();
    for p in local.pending() {
        let Some(route) = RAW_ROUTES
            .iter()
            .find(|r| r.flow_name == p.flow_definition_name)
        else {
            continue;
        };
        let object = builtin_object(&p.input_content).ok_or_else(|| DemoError::ForeignLoop {
            loop_name: p.human_loop_name.clone(),
            detail: "its input has no aiServiceRequest document or image S3 object".to_owned(),
        })?;
        let key = object.key.as_str();
        waiting.push(BuiltinWaiting {
            name: p.human_loop_name.clone(),
            route: *route,
            object: key.strip_prefix(&prefix).unwrap_or(key).to_owned(),
            input: p.input_content,
        });
    }
    let order = |object: &str| RAW_SAMPLES.iter().position(|s| s.key().ends_with(object));
    waiting.sort_by_key(|w| order(&w.object));
    Ok(waiting)
}

/// The loops to review, in the samples' order and then item order.
fn waiting_loops(local: &LocalA2iHandle) -> Result<Vec<Waiting>, DemoError> {
    let pending = local.pending();
    let mut waiting = Vec::with_capacity(pending.len());
    for p in pending {
        if RAW_ROUTES
            .iter()
            .any(|r| r.flow_name == p.flow_definition_name)
        {
            continue;
        }
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

/// How the scripted reviewer reads the values Textract was unsure of: the value it typed in
/// for each reading of the model.
const FORM_READINGS: [(&str, &str); 1] = [("$1,840", "$1,840.00")];

/// The scripted reviewer of a built-in loop answers in the built-in shape, keyed by the
/// request source: a form's selected pairs with the unsure value typed in full; a photo's
/// top-level labels confirmed.
fn builtin_script(loop_: &BuiltinWaiting) -> Action {
    let source = loop_.route.task_type.request_source().unwrap_or_default();
    let selected = &loop_.input["selectedAiServiceResponse"];
    let answer = match loop_.route.task_type {
        TaskType::TextractForms => {
            let blocks = selected["blocks"].as_array().cloned().unwrap_or_default();
            let value_words: Vec<&str> = blocks
                .iter()
                .filter(|b| b["entityTypes"][0] == "VALUE")
                .flat_map(|b| child_ids(b))
                .collect();
            let reviewed: Vec<Value> = blocks
                .iter()
                .map(|b| {
                    let mut block = serde_json::Map::new();
                    for field in ["blockType", "id", "entityTypes", "relationships", "text"] {
                        if let Some(v) = b.get(field) {
                            block.insert(field.to_owned(), v.clone());
                        }
                    }
                    let id = b["id"].as_str().unwrap_or_default();
                    if value_words.contains(&id) {
                        if let Some(text) = b["text"].as_str() {
                            let read = FORM_READINGS
                                .iter()
                                .find(|(model, _)| *model == text)
                                .map_or(text, |(_, person)| person);
                            block.insert("text".to_owned(), Value::from(read));
                        }
                    }
                    Value::Object(block)
                })
                .collect();
            json!({ source: {"blocks": reviewed} })
        }
        _ => {
            let confirmed: Vec<Value> = selected["moderationLabels"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|l| l["parentName"].as_str().is_some_and(str::is_empty))
                .map(|l| json!({"name": l["name"], "parentName": l["parentName"]}))
                .collect();
            json!({ source: {"moderationLabels": confirmed} })
        }
    };
    Action::Answer(vec![answer])
}

/// The ids a Textract block's `CHILD` relationships name (camelCase, as in a loop's input).
fn child_ids(block: &Value) -> Vec<&str> {
    block["relationships"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["type"] == "CHILD")
        .flat_map(|r| r["ids"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect()
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
    let written = written_results(pipeline);
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

/// Reads each built-in loop's reviewed result back.
async fn builtin_rows(
    pipeline: &Pipeline,
    waiting: &[BuiltinWaiting],
) -> Result<Vec<ReviewRow>, DemoError> {
    let written = written_results(pipeline);
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
        let model_key = key
            .strip_suffix(".json")
            .map(|k| format!("{k}{}", a2i_review::builtin::MODEL_ANSWER_SUFFIX));
        let why = match model_key {
            Some(model_key) => {
                let bytes = pipeline.read_bytes(&bucket, &model_key).await?;
                let answer = ModelAnswer::parse(&bytes).map_err(|e| DemoError::ModelAnswer {
                    object: loop_.object.clone(),
                    detail: e.to_string(),
                })?;
                builtin_why(&loop_.route, &answer)
            }
            None => "-".to_owned(),
        };
        rows.push(ReviewRow {
            item: loop_.object.clone(),
            why,
            loop_name: loop_.name.clone(),
            status: result["status"].as_str().unwrap_or("?").to_owned(),
            result_uri: format!("s3://{bucket}/{key}"),
            note: builtin_note(&loop_.route, &result),
        });
    }
    Ok(rows)
}

/// The reviewed result each loop got: loop name → (bucket, key).
fn written_results(pipeline: &Pipeline) -> BTreeMap<String, (String, String)> {
    let mut written = BTreeMap::new();
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
    written
}

/// One line about a built-in loop's reviewed result, from its `summary`: what each reviewer
/// submitted next to what the model said (each pair confirmed or corrected, or the labels).
fn builtin_note(route: &RawRoute, result: &Value) -> String {
    if !matches!(result["status"].as_str(), Some("Completed")) {
        return note(result);
    }
    let summary = &result["summary"];
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let texts = |v: &Value| -> Vec<String> {
        list(v)
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect()
    };
    let (reviewers, said) = match route.task_type {
        TaskType::TextractForms => {
            let model = list(&summary["modelPairs"]);
            let reviewers = list(&summary["reviewerPairs"]);
            let mut said = Vec::new();
            for pair in reviewers.iter().flat_map(|r| list(&r["pairs"])) {
                let (key, value) = (&pair["key"], &pair["value"]);
                match model.iter().find(|m| m["key"] == *key).map(|m| &m["value"]) {
                    Some(before) if before != value => {
                        said.push(format!("{key} {before} corrected to {value}"));
                    }
                    _ => said.push(format!("{key} {value} confirmed")),
                }
            }
            (reviewers.len(), said)
        }
        _ => {
            let reviewers = list(&summary["reviewerLabels"]);
            let mut said = vec![format!(
                "model said {}",
                texts(&summary["modelLabels"]).join(", ")
            )];
            for reviewer in &reviewers {
                let labels = texts(&reviewer["labels"]);
                said.push(if labels.is_empty() {
                    "reviewer: no label applies".to_owned()
                } else {
                    format!("reviewer confirmed {}", labels.join(", "))
                });
            }
            (reviewers.len(), said)
        }
    };
    let workers = match reviewers {
        1 => "1 worker".to_owned(),
        n => format!("{n} workers"),
    };
    format!("{workers}: {}", said.join("; "))
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

fn write_raw_table(out: &mut dyn Write, objects: &[RawObject]) -> std::io::Result<()> {
    let width = objects
        .iter()
        .map(|o| o.object.chars().count())
        .chain(["OBJECT".len()])
        .max()
        .unwrap_or(0);
    writeln!(
        out,
        "   {:width$}  {:22}  ANALYSED  LOOP STARTED  WHY",
        "OBJECT", "TASK TYPE"
    )?;
    for o in objects {
        let outcome = if o.failed > 0 {
            "failed"
        } else if o.started > 0 {
            "yes"
        } else {
            "no"
        };
        writeln!(
            out,
            "   {:width$}  {:22}  {:>8}  {:>12}  {}",
            o.object,
            o.task_type.as_str(),
            if o.analysed > 0 { "yes" } else { "no" },
            outcome,
            if o.started > 0 {
                o.why.as_str()
            } else {
                "no condition held"
            }
        )?;
    }
    Ok(())
}

/// The two paths in one table: what goes in, who decides, and what came out.
fn write_side_by_side(out: &mut dyn Write, report: &DemoReport) -> std::io::Result<()> {
    let custom_items: usize = report.objects.iter().map(|o| o.items).sum();
    let custom_started: usize = report.objects.iter().map(|o| o.started).sum();
    let custom_skipped: usize = report.objects.iter().map(|o| o.skipped).sum();
    let raw_analysed: usize = report.raw_objects.iter().map(|o| o.analysed).sum();
    let raw_started: usize = report.raw_objects.iter().map(|o| o.started).sum();
    let raw_skipped: usize = report.raw_objects.iter().map(|o| o.skipped).sum();
    let statuses = |rows: &[ReviewRow]| {
        let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
        for row in rows {
            *by_status.entry(row.status.as_str()).or_default() += 1;
        }
        let list: Vec<String> = by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
        format!("{} ({})", rows.len(), list.join(", "))
    };
    let lines = [
        (
            "",
            "CUSTOM TASK TYPE".to_owned(),
            "BUILT-IN TASK TYPES".to_owned(),
        ),
        (
            "uploads",
            format!("{} documents of inference results", report.objects.len()),
            format!("{} raw images (form, photos)", report.raw_objects.len()),
        ),
        (
            "model",
            "yours, run before the upload".to_owned(),
            "Textract / Rekognition (replayed)".to_owned(),
        ),
        (
            "conditions",
            "evaluated by the start function".to_owned(),
            "in the flow definition, by A2I".to_owned(),
        ),
        (
            "analysed",
            format!("{custom_items} items"),
            format!("{raw_analysed} objects"),
        ),
        (
            "loops started",
            custom_started.to_string(),
            raw_started.to_string(),
        ),
        (
            "no condition held",
            custom_skipped.to_string(),
            raw_skipped.to_string(),
        ),
        (
            "task UI",
            "your worker template".to_owned(),
            "the shipped built-in templates".to_owned(),
        ),
        (
            "reviewed results",
            statuses(&report.rows),
            statuses(&report.raw_rows),
        ),
    ];
    let first = lines.iter().map(|l| l.0.len()).max().unwrap_or(0);
    let second = lines.iter().map(|l| l.1.chars().count()).max().unwrap_or(0);
    for (name, custom, builtin) in lines {
        writeln!(out, "   {name:first$}  {custom:second$}  {builtin}")?;
    }
    writeln!(
        out,
        "
   Reviewed results of both paths are in s3://{RESULTS_BUCKET}/{RESULTS_PREFIX}, next to their source object."
    )
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

    fn sha256_hex(bytes: &[u8]) -> String {
        use sha2::Digest as _;
        sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn route_of(sample: &RawSample) -> RawRoute {
        *RAW_ROUTES
            .iter()
            .find(|r| r.folder == sample.folder)
            .unwrap()
    }

    /// The recorded response for a raw sample: the recording whose `match.sha256` is the
    /// digest of the sample's bytes, as a2i-local matches it.
    fn recording_for(sample: &RawSample) -> Value {
        let digest = sha256_hex(sample.body);
        let service = match route_of(sample).task_type {
            TaskType::TextractForms => "textract",
            _ => "rekognition",
        };
        RECORDINGS
            .iter()
            .map(|(_, bytes)| serde_json::from_slice::<Value>(bytes).unwrap())
            .find(|r| r["match"]["sha256"] == digest.as_str() && r["service"] == service)
            .unwrap_or_else(|| panic!("no {service} recording matches {}", sample.file))["response"]
            .clone()
    }

    #[test]
    fn every_raw_sample_has_a_recording_matched_by_its_bytes() {
        assert_eq!(recorded_analyses().unwrap().len(), RAW_SAMPLES.len());
        for sample in RAW_SAMPLES {
            let response = recording_for(&sample);
            let list = match route_of(&sample).task_type {
                TaskType::TextractForms => "Blocks",
                _ => "ModerationLabels",
            };
            assert!(response[list].is_array(), "{}", sample.file);
        }
    }

    #[test]
    fn the_flow_conditions_flag_the_form_and_the_beach_but_not_the_lighthouse() {
        let mut flagged = Vec::new();
        for sample in RAW_SAMPLES {
            let route = route_of(&sample);
            let conditions =
                a2i_review::conditions::ActivationConditions::parse(route.conditions).unwrap();
            let evaluation = conditions.evaluate(&recording_for(&sample)).unwrap();
            flagged.push((
                sample.file,
                evaluation.flagged,
                evaluation.reasons.join(" | "),
            ));
        }
        assert!(
            flagged[0].1 && flagged[0].2.contains("\"Claim amount:\""),
            "{flagged:?}"
        );
        assert!(flagged[0].2.contains("38.91"), "{flagged:?}");
        assert!(
            flagged[1].1 && flagged[1].2.contains("Swimwear or Underwear"),
            "{flagged:?}"
        );
        assert!(!flagged[2].1, "{flagged:?}");
    }

    #[test]
    fn the_recorded_form_is_consistent_lines_of_its_words_and_boxes_on_the_page() {
        let response = recording_for(&RAW_SAMPLES[0]);
        let blocks = response["Blocks"].as_array().unwrap();
        let by_id = |id: &str| blocks.iter().find(|b| b["Id"] == id).unwrap();
        for block in blocks {
            let bbox = &block["Geometry"]["BoundingBox"];
            let (left, top) = (
                bbox["Left"].as_f64().unwrap(),
                bbox["Top"].as_f64().unwrap(),
            );
            let (width, height) = (
                bbox["Width"].as_f64().unwrap(),
                bbox["Height"].as_f64().unwrap(),
            );
            assert!(
                left >= 0.0
                    && top >= 0.0
                    && left + width <= 1.0 + 1e-6
                    && top + height <= 1.0 + 1e-6,
                "{block}"
            );
            if block["BlockType"] == "LINE" {
                let words: Vec<&str> = block["Relationships"][0]["Ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|id| by_id(id.as_str().unwrap())["Text"].as_str().unwrap())
                    .collect();
                assert_eq!(block["Text"], words.join(" "));
            }
        }
        let keys = blocks
            .iter()
            .filter(|b| b["EntityTypes"][0] == "KEY")
            .count();
        assert_eq!(keys, 6, "six key-value pairs on the form");
    }

    #[test]
    fn the_shipped_resources_file_declares_the_demo_flows_for_serve() {
        let file: Value =
            serde_json::from_str(include_str!("../demo/raw-media/resources.json")).unwrap();
        for route in RAW_ROUTES {
            let flow = file["FlowDefinitions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["FlowDefinitionName"] == route.flow_name)
                .unwrap_or_else(|| panic!("{} missing", route.flow_name));
            assert_eq!(
                flow["HumanLoopRequestSource"]["AwsManagedHumanLoopRequestSource"],
                route.task_type.request_source().unwrap()
            );
            let conditions: Value = serde_json::from_str(
                flow["HumanLoopActivationConfig"]["HumanLoopActivationConditionsConfig"]
                    ["HumanLoopActivationConditions"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
            let ours: Value = serde_json::from_str(route.conditions).unwrap();
            assert_eq!(conditions, ours, "{}", route.flow_name);
            assert_eq!(flow["HumanLoopConfig"]["HumanTaskUiName"], route.task_ui);
            let ui = file["HumanTaskUis"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["HumanTaskUiName"] == route.task_ui)
                .unwrap();
            let template = ui["TemplateFile"].as_str().unwrap();
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("demo/raw-media")
                .join(template);
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                route.template,
                "{}",
                path.display()
            );
        }
    }

    fn builtin_waiting(route: RawRoute, input: Value) -> BuiltinWaiting {
        BuiltinWaiting {
            name: "l".into(),
            route,
            object: "raw/x".into(),
            input,
        }
    }

    #[test]
    fn the_scripted_reviewer_answers_in_the_built_in_shapes() {
        let form = builtin_waiting(
            RAW_ROUTES[0],
            json!({"selectedAiServiceResponse": {"blocks": [
                {"blockType": "KEY_VALUE_SET", "id": "k", "entityTypes": ["KEY"], "confidence": 38.9,
                 "relationships": [{"type": "VALUE", "ids": ["v"]}, {"type": "CHILD", "ids": ["w1"]}]},
                {"blockType": "KEY_VALUE_SET", "id": "v", "entityTypes": ["VALUE"],
                 "relationships": [{"type": "CHILD", "ids": ["w2"]}]},
                {"blockType": "WORD", "id": "w1", "text": "Claim amount:", "confidence": 99.0},
                {"blockType": "WORD", "id": "w2", "text": "$1,840", "confidence": 54.6}
            ]}}),
        );
        let Action::Answer(answers) = builtin_script(&form) else {
            panic!("the form is answered")
        };
        let blocks = &answers[0]["AWS/Textract/AnalyzeDocument/Forms/V1"]["blocks"];
        assert_eq!(blocks[3]["text"], "$1,840.00", "{blocks}");
        assert_eq!(blocks[2]["text"], "Claim amount:", "keys are kept");
        assert!(
            blocks[0].get("confidence").is_none(),
            "a person's answer has no confidence"
        );
        let result = json!({"status": "Completed", "summary": {
            "modelPairs": [{"key": "Claim amount:", "value": "$1,840"}, {"key": "Phone:", "value": "555"}],
            "reviewerPairs": [{"workerId": "w", "pairs": [
                {"key": "Claim amount:", "value": "$1,840.00"}, {"key": "Phone:", "value": "555"}]}]}});
        assert_eq!(
            builtin_note(&RAW_ROUTES[0], &result),
            "1 worker: \"Claim amount:\" \"$1,840\" corrected to \"$1,840.00\"; \"Phone:\" \"555\" confirmed"
        );

        let photo = builtin_waiting(
            RAW_ROUTES[1],
            json!({"selectedAiServiceResponse": {"moderationLabels": [
                {"confidence": 74.1, "name": "Swimwear or Underwear", "parentName": ""},
                {"confidence": 71.9, "name": "Male Swimwear or Underwear", "parentName": "Swimwear or Underwear"}
            ]}}),
        );
        let Action::Answer(answers) = builtin_script(&photo) else {
            panic!("the photo is answered")
        };
        assert_eq!(
            answers[0],
            json!({"AWS/Rekognition/DetectModerationLabels/Image/V3": {"moderationLabels": [
                {"name": "Swimwear or Underwear", "parentName": ""}]}})
        );
        let result = json!({"status": "Completed", "summary": {
            "modelLabels": ["Swimwear or Underwear", "Male Swimwear or Underwear"],
            "reviewerLabels": [{"workerId": "w", "labels": ["Swimwear or Underwear"]},
                               {"workerId": "v", "labels": []}]}});
        assert_eq!(
            builtin_note(&RAW_ROUTES[1], &result),
            "2 workers: model said Swimwear or Underwear, Male Swimwear or Underwear; reviewer confirmed Swimwear or Underwear; reviewer: no label applies"
        );
        assert_eq!(
            builtin_note(&RAW_ROUTES[1], &json!({"status": "Stopped"})),
            "stopped before any worker answered"
        );
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
