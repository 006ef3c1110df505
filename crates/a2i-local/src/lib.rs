//! a2i-local: a local, wire-compatible Amazon Augmented AI (A2I) runtime with an embedded
//! S3, so that a2i-review runs and is tested without an AWS account.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use a2i_local::{LocalA2i, WorkerAnswer};
//! let local = LocalA2i::builder().event_file("events.jsonl").start().await?;
//! let a2i = local.a2i_client(); // real SDK client, over HTTP on 127.0.0.1
//! // ... StartHumanLoop with a2i, then play the reviewer:
//! local.answer("my-loop", &[WorkerAnswer::new(serde_json::json!({"ok": true}))]).await?;
//! local.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Module map (internal; the public API is re-exported at the crate root)
//! - `local`: builder and handle (the library entry point).
//! - `runtime`: the five A2I operations over HTTP (routing, validation, wire shapes, errors),
//!   and the port's dispatch of awsJson services by `X-Amz-Target` prefix.
//! - `sagemaker`: the SageMaker control plane (task UIs, flow definitions, RenderUiTemplate):
//!   validation, the table and its state file, resources created at start, [`FlowLookup`].
//! - `control`: the local control surface under `/_local/`; `assets`: the Crowd HTML Elements script it serves.
//! - `portal`: the worker portal under `/_local/portal/` (queue, holds, task pages).
//! - `flows`: what a loop takes from its flow definition ([`FlowPolicy`]) and how the
//!   engine finds it ([`FlowLookup`]); `static_flows`: an in-memory lookup ([`StaticFlows`]).
//! - `engine`: loop changes with their side effects (policy capture, per-worker answers,
//!   output.json, events, the expiry timer).
//! - `loops`: loop records, the state machine, the (optionally durable) loop table;
//!   `loops::persist`: its snapshot and append-only journal (format, compaction, recovery).
//! - `output`: output.json shape and S3 layout.
//! - `events`: status-change events and delivery; `sinks`: where events go.
//! - `s3`: the embedded S3; `s3_notify`: S3 event notifications in pipeline mode.
//! - `builtin`: Textract `AnalyzeDocument` and Rekognition `DetectModerationLabels` with
//!   `HumanLoopConfig`, replayed from recorded answers (see docs/built-in-task-types.md).
//! - `faults`: latency, throttling and error-injection knobs.
//! - `server`: binding, serving, graceful shutdown; `background`: waiting for deliveries.
//! - [`render`] (public): worker-template rendering as A2I does it (Liquid, auto-escape,
//!   A2I's filters, strict variables, bounds) and the presigners behind `grant_read_access`.
//!
//! # Behaviour choices (where AWS documents nothing, or a local runtime must decide)
//! - **Same name, same request, active loop**: StartHumanLoop answers 200 with the existing
//!   loop's ARN and creates nothing. A2I documents only *different* input on an active loop
//!   as a `ConflictException`; answering a byte-identical retry with success makes client
//!   retries (lost responses, Lambda redeliveries) idempotent. "Same request" means the same
//!   FlowDefinitionArn, the same InputContent string and the same set of ContentClassifiers.
//!   Active means InProgress or Stopping.
//! - **Name of a finished or deleted loop**: `ValidationException` "HumanLoop 'NAME' already
//!   exists and is finished. To start a new HumanLoop, you can try your request again with a
//!   different HumanLoopName." — the text Textract answers in the same situation.
//!   Deleted loops keep their name reserved (as tombstones, also across restarts).
//! - **Stop**: InProgress becomes Stopped at once (A2I stops immediately when no worker has
//!   started, which is always the case locally), and the Stopped event is delivered in the
//!   background. [`LocalA2iBuilder::stopping_delay`] keeps loops visibly `Stopping` for a
//!   while instead. Stop on Stopping is accepted (200, no change); stop on Completed, Failed
//!   or Stopped is a `ValidationException`.
//! - **Delete** of an InProgress or Stopping loop is a `ValidationException` ("stop it first").
//! - **Flow definitions govern loops**: at StartHumanLoop a loop captures its flow
//!   definition's policy ([`LoopPolicy`] on [`LoopRecord`]: output path, TaskCount, task time
//!   limit, availability lifetime, task UI, title, description, keywords), found through the
//!   [`FlowLookup`] by the ARN's name and matching only when the ARN is the same; changing or
//!   deleting the flow definition later does not change running loops (A2I keeps a started
//!   loop on the flow definition it started with).
//! - **Unknown flow definition**: with [`LocalA2iBuilder::strict_flow_definitions`],
//!   StartHumanLoop answers `ResourceNotFoundException` (404, the shape's status; the model
//!   does not list the error for StartHumanLoop, the issue's "as A2I does" is taken as the
//!   contract), and so does ListHumanLoops (which lists it). By default the flow definition is
//!   registered implicitly for that loop, a local convenience: output under the builder's
//!   [`LocalA2iBuilder::output_path`], TaskCount [`IMPLICIT_TASK_COUNT`] (1), a task time limit
//!   of [`IMPLICIT_TASK_TIME_LIMIT`] (3600 s, the model's default) and an availability lifetime
//!   of [`IMPLICIT_AVAILABILITY_LIFETIME`] (864,000 s, 10 days, the largest a flow definition
//!   takes). `LoopPolicy::implicit` is then `true`.
//! - **Answers**: each answer is one `humanAnswers[]` entry of one worker (`workerId`;
//!   generated when absent). A worker answers a loop once: a second answer is refused
//!   (`LoopError::AlreadyAnswered`; 409 on the control route). The loop completes (output.json
//!   with every answer in submission order, Completed, the event) when TaskCount distinct
//!   workers have answered; until then the answers are journaled (kept across restarts with
//!   a data directory) and Describe shows InProgress. Several answers given in one call are
//!   taken whole or not at all, and never split: a batch larger than what is missing puts
//!   every answer in output.json (how the scripted demo shows two workers on a loop of an
//!   implicit, TaskCount-1 flow definition).
//! - **Expiry**: a loop not completed within its availability lifetime after its creation
//!   fails with FailureCode `Expired` (and its event). One timer serves every loop; the
//!   deadline is the creation time plus the captured lifetime, so it survives restarts: a
//!   loop whose deadline passed while the server was down expires right after the start.
//!   Its partial answers are not written (A2I writes output only after all workers have
//!   answered) but stay in the loop record.
//! - **Output for Failed and Stopped**: none. A2I writes output once every worker has
//!   answered; so Describe has no `HumanLoopOutput` and the event has
//!   `"humanLoopOutput": null` for them, even when some workers had answered. Completed
//!   loops get output.json and the URI. The URI is shown only once the file exists (not while
//!   InProgress). A flow definition's output bucket that does not exist yet is created when
//!   the first output is written.
//! - **Output of built-in loops**: a loop of a flow definition with a `HumanLoopRequestSource`
//!   whose input is the built-in input (Textract / Rekognition with `HumanLoopConfig`) gets
//!   output.json in the layout of the one real built-in output.json known (a Textract forms
//!   loop): `aiServiceRequest`, `aiServiceResponse`, `humanTaskActivationConditionResults`,
//!   `selectedAiServiceResponse` at the top level with `awsManagedHumanLoopRequestSource`,
//!   `flowDefinitionArn`, `humanLoopName` and `humanAnswers`, and no `inputContent`. The
//!   developer guide puts the four built-in members under `inputContent`; the real file wins
//!   (see `output` and docs/built-in-task-types.md).
//! - **ListHumanLoops**: default SortOrder is `Descending` (newest first, like SageMaker's
//!   other list calls); default MaxResults is 100 (the model's maximum; the model gives no
//!   default). `CreationTimeAfter` is inclusive, `CreationTimeBefore` exclusive, so the
//!   documented date-only `2020-02-24` selects whole days; After later than Before gives an
//!   empty list. A flow definition without loops gives an empty list, not
//!   `ResourceNotFoundException` (except in strict mode, for one the lookup does not know). Ties in creation
//!   time are broken by creation order. NextTokens are opaque, bound to the query
//!   (FlowDefinitionArn, SortOrder, time filters), and positional, so loops deleted between
//!   pages never make a page skip or repeat a loop.
//! - **Patterns**: FlowDefinitionArn must match the model pattern over the whole string
//!   (Smithy patterns are unanchored, but the runtime splits the ARN into region, account
//!   and flow name). Lengths count Unicode scalar values. InputContent must be valid JSON.
//!   A malformed body is a `ValidationException` (AWS would say `SerializationException`,
//!   which the model does not list).
//! - **Names are unique per server**, not per region and account.
//! - **Events** reach sinks at least once: each sink gets up to 3 attempts; outcomes are
//!   logged, returned by control actions and kept in a report; an event not accepted by
//!   every sink (or produced while no sink was configured) stays pending and is sent again
//!   at the next start (with a data directory). Sinks can also be added to a running server
//!   ([`LocalA2iHandle::add_event_callback`]), for handlers built from its endpoints.
//! - **Durability** (with a data directory): every loop change (start, stop, each answer,
//!   completion, failure, expiry, delete, event delivered) is appended to a journal and fsynced before it is answered;
//!   concurrent changes share one fsync (group commit), so a change costs O(1) I/O however
//!   many loops exist. A `kill -9` loses nothing that was answered; a restart restores every
//!   loop, tombstone and pending event. Reads answer from memory.
//! - **SageMaker control plane** (awsJson 1.1 on the A2I port, `X-Amz-Target: SageMaker.*`;
//!   [`LocalA2iHandle::sagemaker_endpoint`], `AWS_ENDPOINT_URL_SAGEMAKER`). Errors carry the
//!   shape in the body's `__type` (all botocore reads) and in `X-Amzn-ErrorType`, with HTTP 400.
//!   Choices where AWS is silent or unverified:
//!   - Patterns match whole values (AWS refuses `IDP-BDA-3` as a task UI name).
//!   - `TaskTimeLimitInSeconds` 30–28,800 and `TaskAvailabilityLifetimeInSeconds` 1–864,000:
//!     the model's minimums with the maximums AWS documents (8 hours; 10 days). Defaults for
//!     loops when absent: 3,600 s (documented) and 864,000 s (a local choice).
//!   - A malformed body or a member of the wrong JSON type is a `SerializationException`
//!     naming the member; an empty body counts as `{}`. Template content, task input, titles,
//!     descriptions and activation conditions are never echoed in messages.
//!   - CreateFlowDefinition whose `HumanTaskUiArn` names no task UI of this server is a
//!     `ValidationException` ("Could not find human task UI '…'"); the work team is not
//!     checked (there are none locally). `S3OutputPath` must name an S3 location (`s3://` or
//!     an https S3 URL); its bucket is created in the embedded S3. `KmsKeyId` is recorded only.
//!   - DeleteHumanTaskUi of a UI that flow definitions use succeeds, as AWS documents; the
//!     flows stay `Active`. Flow definitions are `Active` when created and gone when deleted
//!     (never `Deleting`), so DeleteFlowDefinition never answers `ResourceInUse`.
//!   - `ResourceLimitExceeded` past [`ControlPlaneLimits`] (1,000 task UIs, 1,000 flow
//!     definitions by default; AWS publishes no number).
//!   - Lists: default SortOrder `Descending`, default MaxResults 100, `CreationTimeAfter`
//!     inclusive, `CreationTimeBefore` exclusive; NextTokens are opaque, positional and bound
//!     to the operation, SortOrder and time filters. Timestamps are epoch seconds with
//!     milliseconds.
//!   - `UiTemplate.Url` is `http://<Host>/_local/human-task-uis/<name>/template` (served here);
//!     `ContentSha256` is the lowercase hex SHA-256 of the template's UTF-8 bytes.
//!   - With a data directory, task UIs and flow definitions are kept in
//!     `a2i-local-sagemaker.json` (metadata, replaced atomically: temp file, fsync, rename,
//!     after each change) and templates in `a2i-local-sagemaker-templates/<sha256>.html`
//!     (written once each, checked against their digest at start); a failed write undoes the
//!     change and answers `InternalFailure` (500).
//!   - Resources ([`LocalA2iBuilder::resources_file`], [`Resources`]): an unchanged resource
//!     is kept (same ARN and creation time), a changed one replaced; a refused one stops the
//!     start, naming the file and entry.
//! - **Input notifications** are produced at the HTTP layer, so only uploads over the S3
//!   port trigger them (not the in-process client); size and ETag come from a HEAD after the
//!   write.

#![warn(missing_docs)]

mod arn;
mod assets;
mod background;
mod builtin;
mod control;
mod engine;
mod events;
mod faults;
mod flows;
mod http;
mod local;
mod loops;
mod output;
mod portal;
pub mod render;
mod runtime;
mod s3;
mod s3_backend;
mod s3_conditions;
mod s3_listing;
mod s3_notify;
mod s3_store;
mod sagemaker;
mod server;
mod sinks;
mod static_flows;

pub use arn::{ArnError, FlowDefinitionArn};
pub use assets::{CROWD_ELEMENTS_JS, CROWD_ELEMENTS_PATH};
pub use builtin::activation::{
    evaluate as evaluate_builtin_activation, selected_response as builtin_selected_response,
    Activation as BuiltinActivation,
};
pub use builtin::recorded::{RecordedAnalyses, RecordingError, Service as BuiltinService};
pub use control::PendingLoop;
pub use engine::{AnswerProgress, Ended, EngineError};
pub use events::{DeliveryOutcome, RetryPolicy};
pub use faults::{FaultConfig, FaultStats};
pub use flows::{FlowLookup, FlowPolicy, SharedFlowLookup};
pub use local::{LocalA2i, LocalA2iBuilder, LocalA2iHandle, NoInputPath, StartError};
pub use local::{DEFAULT_ACCOUNT, DEFAULT_OUTPUT_PATH, DEFAULT_REGION, STATE_FILE};
pub use loops::{FailureCode, LoopPolicy, LoopRecord, LoopStatus};
pub use loops::{LoopError, NewLoop};
pub use loops::{IMPLICIT_AVAILABILITY_LIFETIME, IMPLICIT_TASK_COUNT, IMPLICIT_TASK_TIME_LIMIT};
pub use output::{
    BuiltinOutputDocument, HumanAnswer, LoopOutput, OutputDocument, S3Location, WorkerAnswer,
};
pub use portal::{ReviewedResultLocator, PORTAL_PREFIX};
pub use s3::{Credentials, EmbeddedS3, S3SetupError, WriteReceipt};
pub use sagemaker::{
    ControlPlaneLimits, Resources, ResourcesError, SageMakerError, SAGEMAKER_STATE_FILE,
};
pub use sinks::{EventCallback, EventSink, SinkError};
pub use static_flows::StaticFlows;
