//! `a2i-review redrive`: replays the failed invocations parked in a function's on-failure SQS
//! queue. Each message is Lambda's asynchronous-invocation destination record
//! (`requestContext`, `requestPayload` = the original event, `responseContext`, …); its event is
//! sent to the function again with the Lambda Invoke API (`RequestResponse`), and the message is
//! deleted only after that invocation succeeded (no `FunctionError`). Everything else stays in
//! the queue and is made visible again at the end of the run.
//!
//! Rules:
//! - **Nothing lost**: a message is deleted only after its event was processed successfully; a
//!   still-failing event, a record without `requestPayload` (Lambda drops it from records
//!   over the size limit), a record of another function and a body that is not a record stay.
//! - **One pass**: every message is received once per run (it stays invisible while the run
//!   goes on, so a still-failing one is not retried in a loop), and `--max` bounds the run.
//! - **No content**: events and responses are never printed; a line names the message id, the
//!   function, the record's condition and counts, and for a failure the error type.
//!
//! Receiving a message is the only way to read it, so even `--dry-run` raises each message's
//! receive count by one; it makes every message visible again when it is done.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use a2i_review::error::CallError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest message body read: SQS's own limit (1 MiB). A longer body is left alone.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Messages per ReceiveMessage (SQS's maximum).
const BATCH: usize = 10;
/// Longest an error type taken from a function's answer may be.
const MAX_ERROR_TYPE_CHARS: usize = 128;

/// The SDK clients redrive uses.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The on-failure queue's SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// Lambda, to invoke the function.
    pub lambda: aws_sdk_lambda::Client,
}

impl Clients {
    /// Clients from the standard AWS configuration (`AWS_ENDPOINT_URL_SQS`,
    /// `AWS_ENDPOINT_URL_LAMBDA`, profiles, region). An invocation may run as long as a
    /// function may (15 minutes), so Lambda calls get that attempt timeout instead of the
    /// functions' 20 seconds.
    pub async fn from_env() -> Self {
        let sdk = a2i_review::aws::sdk_config().await;
        let lambda = aws_sdk_lambda::config::Builder::from(&sdk)
            .timeout_config(
                aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(15 * 60 + 30))
                    .build(),
            )
            .build();
        Self {
            sqs: aws_sdk_sqs::Client::new(&sdk),
            lambda: aws_sdk_lambda::Client::from_conf(lambda),
        }
    }
}

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// One readable line per message, and a summary.
    Text,
    /// One JSON object per message.
    JsonLines,
}

/// What to redrive.
#[derive(Debug, Clone)]
pub struct Options {
    /// The on-failure queue.
    pub queue_url: String,
    /// The function to invoke (name, or ARN): records of other functions are left alone.
    pub function: String,
    /// List the messages, invoke nothing, delete nothing.
    pub dry_run: bool,
    /// Handle at most this many messages.
    pub max: Option<usize>,
    /// How long a received message stays invisible: longer than the function may run.
    pub visibility_timeout: Duration,
    /// How long each receive waits for messages (long polling; 0 to 20 s).
    pub wait: Duration,
    /// Text or JSON Lines.
    pub output: OutputMode,
}

/// Why redrive could not run.
#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    /// Reading the queue failed.
    #[error("{0}")]
    Call(#[from] CallError),
    /// Writing the results failed.
    #[error("writing the results failed: {0}")]
    Output(#[from] std::io::Error),
}

/// Lambda's asynchronous-invocation destination record (facts §7); every part is optional,
/// since Lambda leaves parts out (for example `requestPayload` when the record is too large).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DestinationRecord {
    #[serde(default)]
    request_context: Option<RequestContext>,
    #[serde(default)]
    request_payload: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext {
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    function_arn: Option<String>,
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    approximate_invoke_count: Option<u64>,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The event was processed and the message deleted.
    Redriven,
    /// Dry run: the event would be sent to the function.
    WouldRedrive,
    /// The function failed again (or the invocation did): the message stays.
    StillFailing {
        /// What failed: `FunctionError: Unhandled`, an Invoke error and its status.
        reason: String,
        /// The function's `errorType`, when its answer carried one.
        error_type: Option<String>,
    },
    /// The record holds no `requestPayload`: nothing to send; the message stays.
    NoPayload,
    /// The record is of another function; the message stays.
    OtherFunction,
    /// The body is not a destination record; the message stays.
    NotARecord {
        /// Why (the rule, never the body).
        reason: String,
    },
    /// The invocation succeeded but the message could not be deleted: it will come back, and
    /// the (idempotent) function will see the event once more.
    NotDeleted {
        /// The DeleteMessage error.
        error: String,
    },
}

impl Outcome {
    /// Whether the message is done with (deleted, or would be sent in a dry run).
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Redriven | Self::WouldRedrive)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Redriven => "redriven",
            Self::WouldRedrive => "would-redrive",
            Self::StillFailing { .. } => "still-failing",
            Self::NoPayload => "no-payload",
            Self::OtherFunction => "other-function",
            Self::NotARecord { .. } => "not-a-record",
            Self::NotDeleted { .. } => "not-deleted",
        }
    }
}

/// One message's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageResult {
    /// The SQS message id.
    pub message_id: String,
    /// The function the record names (from `requestContext.functionArn`).
    pub function: Option<String>,
    /// The record's `requestContext.condition` (`RetriesExhausted`, `EventAgeExceeded`).
    pub condition: Option<String>,
    /// The record's `requestContext.requestId`.
    pub request_id: Option<String>,
    /// How many times Lambda had invoked the function.
    pub approximate_invoke_count: Option<u64>,
    /// How many times the message has been received (this run included).
    pub approximate_receive_count: Option<u64>,
    /// Whether the record carries the event.
    pub has_payload: bool,
    /// What happened.
    pub outcome: Outcome,
}

/// The report of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// One entry per message, in the order received.
    pub messages: Vec<MessageResult>,
}

impl Report {
    /// Messages left in the queue (or, in a dry run, that could not be redriven).
    pub fn left(&self) -> usize {
        self.messages.iter().filter(|m| !m.outcome.is_ok()).count()
    }
}

/// A message to make visible again at the end of the run.
struct Left {
    receipt_handle: String,
}

/// Runs redrive: one pass over the queue, one line per message on `out`, progress and
/// warnings on `diag`.
pub async fn run(
    clients: &Clients,
    options: &Options,
    out: &mut dyn Write,
    diag: &mut dyn Write,
) -> Result<Report, RedriveError> {
    let wanted = function_name(&options.function).to_owned();
    let mut report = Report::default();
    let mut left: HashMap<String, Left> = HashMap::new();
    let limit = options.max.unwrap_or(usize::MAX);
    let result = async {
        'receiving: while report.messages.len() < limit {
            let batch = (limit - report.messages.len()).min(BATCH);
            let received = clients
                .sqs
                .receive_message()
                .queue_url(&options.queue_url)
                .max_number_of_messages(i32::try_from(batch).unwrap_or(BATCH as i32))
                .visibility_timeout(seconds(options.visibility_timeout))
                .wait_time_seconds(seconds(options.wait).min(20))
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
                .await
                .map_err(|e| CallError::classify("ReceiveMessage", &e))?;
            let messages = received.messages();
            if messages.is_empty() {
                break;
            }
            let mut new = 0;
            for message in messages {
                let id = message.message_id().unwrap_or_default().to_owned();
                let receipt = message.receipt_handle().unwrap_or_default().to_owned();
                if report.messages.iter().any(|m| m.message_id == id) {
                    // Seen this run (its visibility ran out): keep the newest receipt handle.
                    if let Some(l) = left.get_mut(&id) {
                        l.receipt_handle = receipt;
                    }
                    continue;
                }
                new += 1;
                let result = handle(clients, options, &wanted, message).await;
                if !matches!(
                    result.outcome,
                    Outcome::Redriven | Outcome::NotDeleted { .. }
                ) {
                    left.insert(
                        id,
                        Left {
                            receipt_handle: receipt,
                        },
                    );
                }
                write_line(out, &result, options)?;
                report.messages.push(result);
                if report.messages.len() >= limit {
                    break 'receiving;
                }
            }
            if new == 0 {
                break;
            }
            if report.messages.len() % 50 < new {
                writeln!(
                    diag,
                    "a2i-review: redrive: {} messages so far",
                    report.messages.len()
                )?;
            }
        }
        Ok::<(), RedriveError>(())
    }
    .await;
    // Whatever happened, what stays goes back to the queue now, not after the timeout.
    for (id, l) in &left {
        if let Err(e) = clients
            .sqs
            .change_message_visibility()
            .queue_url(&options.queue_url)
            .receipt_handle(&l.receipt_handle)
            .visibility_timeout(0)
            .send()
            .await
        {
            writeln!(
                diag,
                "a2i-review: redrive: message {id} stays invisible until its timeout: {}",
                CallError::classify("ChangeMessageVisibility", &e)
            )?;
        }
    }
    result?;
    write_summary(out, &report, options)?;
    out.flush()?;
    Ok(report)
}

fn seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

/// The function's name from a name, a partial ARN or a (qualified) ARN.
fn function_name(function: &str) -> &str {
    match function.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => function.split(':').next().unwrap_or(function),
    }
}

/// Reads one message and, unless it is a dry run, redrives it.
async fn handle(
    clients: &Clients,
    options: &Options,
    wanted: &str,
    message: &aws_sdk_sqs::types::Message,
) -> MessageResult {
    let receive_count = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|c| c.parse().ok());
    let mut result = MessageResult {
        message_id: message.message_id().unwrap_or_default().to_owned(),
        function: None,
        condition: None,
        request_id: None,
        approximate_invoke_count: None,
        approximate_receive_count: receive_count,
        has_payload: false,
        outcome: Outcome::NoPayload,
    };
    let record = match parse_record(message.body().unwrap_or_default()) {
        Ok(r) => r,
        Err(reason) => {
            result.outcome = Outcome::NotARecord { reason };
            return result;
        }
    };
    let context = record.request_context.unwrap_or_default();
    result.function = context
        .function_arn
        .as_deref()
        .map(|arn| function_name(arn).to_owned());
    result.condition = context.condition;
    result.request_id = context.request_id;
    result.approximate_invoke_count = context.approximate_invoke_count;
    result.has_payload = record.request_payload.is_some();
    if result.function.as_deref().is_some_and(|f| f != wanted) {
        result.outcome = Outcome::OtherFunction;
        return result;
    }
    let Some(payload) = record.request_payload else {
        return result;
    };
    if options.dry_run {
        result.outcome = Outcome::WouldRedrive;
        return result;
    }
    result.outcome = match invoke(clients, &options.function, &payload).await {
        Err(failure) => failure,
        Ok(()) => match clients
            .sqs
            .delete_message()
            .queue_url(&options.queue_url)
            .receipt_handle(message.receipt_handle().unwrap_or_default())
            .send()
            .await
        {
            Ok(_) => Outcome::Redriven,
            Err(e) => Outcome::NotDeleted {
                error: CallError::classify("DeleteMessage", &e).to_string(),
            },
        },
    };
    result
}

/// Parses a body as a destination record; the error names the rule, never the body.
fn parse_record(body: &str) -> Result<DestinationRecord, String> {
    if body.len() > MAX_BODY_BYTES {
        return Err(format!(
            "the body is {} bytes, over {MAX_BODY_BYTES}",
            body.len()
        ));
    }
    let value: Value = serde_json::from_str(body).map_err(|e| {
        format!(
            "the body is not JSON (line {} column {})",
            e.line(),
            e.column()
        )
    })?;
    let Value::Object(map) = &value else {
        return Err("the body is not a JSON object".to_owned());
    };
    if !map.contains_key("requestContext") && !map.contains_key("requestPayload") {
        return Err("the body has neither requestContext nor requestPayload: not a Lambda destination record".to_owned());
    }
    serde_json::from_value(value)
        .map_err(|_| "requestContext has a field of the wrong type".to_owned())
}

/// Invokes the function with the event; `Err` is the outcome of a failure.
async fn invoke(clients: &Clients, function: &str, payload: &Value) -> Result<(), Outcome> {
    let body = serde_json::to_vec(payload).map_err(|e| Outcome::StillFailing {
        reason: format!("the event could not be serialized: {e}"),
        error_type: None,
    })?;
    match clients
        .lambda
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::RequestResponse)
        .payload(Blob::new(body))
        .send()
        .await
    {
        Ok(out) => match out.function_error() {
            None => Ok(()),
            Some(kind) => Err(Outcome::StillFailing {
                reason: format!("FunctionError: {kind}"),
                error_type: out.payload().and_then(|p| error_type(p.as_ref())),
            }),
        },
        // A local emulator (cargo lambda watch) answers a function error with a 500 whose body
        // is the function's error: its errorType is read from there.
        Err(e) => Err(Outcome::StillFailing {
            reason: CallError::classify("Invoke", &e).to_string(),
            error_type: e
                .raw_response()
                .and_then(|r| r.body().bytes())
                .and_then(error_type),
        }),
    }
}

/// The `errorType` of a function's error answer, bounded; never its message.
fn error_type(body: &[u8]) -> Option<String> {
    if body.len() > MAX_BODY_BYTES {
        return None;
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct FunctionErrorBody {
        error_type: Option<String>,
    }
    let parsed: FunctionErrorBody = serde_json::from_slice(body).ok()?;
    parsed
        .error_type
        .map(|t| t.chars().take(MAX_ERROR_TYPE_CHARS).collect())
}

/// One message in JSON Lines output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Line<'a> {
    message_id: &'a str,
    outcome: &'static str,
    dry_run: bool,
    function: Option<&'a str>,
    condition: Option<&'a str>,
    request_id: Option<&'a str>,
    approximate_invoke_count: Option<u64>,
    approximate_receive_count: Option<u64>,
    has_payload: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<&'a str>,
}

fn write_line(out: &mut dyn Write, m: &MessageResult, options: &Options) -> std::io::Result<()> {
    let (reason, error_type) = match &m.outcome {
        Outcome::StillFailing { reason, error_type } => {
            (Some(reason.as_str()), error_type.as_deref())
        }
        Outcome::NotARecord { reason } => (Some(reason.as_str()), None),
        Outcome::NotDeleted { error } => (Some(error.as_str()), None),
        _ => (None, None),
    };
    match options.output {
        OutputMode::JsonLines => {
            serde_json::to_writer(
                &mut *out,
                &Line {
                    message_id: &m.message_id,
                    outcome: m.outcome.code(),
                    dry_run: options.dry_run,
                    function: m.function.as_deref(),
                    condition: m.condition.as_deref(),
                    request_id: m.request_id.as_deref(),
                    approximate_invoke_count: m.approximate_invoke_count,
                    approximate_receive_count: m.approximate_receive_count,
                    has_payload: m.has_payload,
                    reason,
                    error_type,
                },
            )
            .map_err(std::io::Error::other)?;
            writeln!(out)
        }
        OutputMode::Text => {
            let count = |n: Option<u64>| n.map_or("?".to_owned(), |n| n.to_string());
            let mut text = format!(
                "{:<14} {}  function {}  condition {}  invoked {}  received {}",
                m.outcome.code(),
                m.message_id,
                m.function.as_deref().unwrap_or("?"),
                m.condition.as_deref().unwrap_or("?"),
                count(m.approximate_invoke_count),
                count(m.approximate_receive_count),
            );
            if !m.has_payload {
                text.push_str("  (no requestPayload)");
            }
            if let Some(reason) = reason {
                text.push_str(&format!(": {reason}"));
            }
            if let Some(t) = error_type {
                text.push_str(&format!(" (errorType {t})"));
            }
            writeln!(out, "{text}")
        }
    }
}

fn write_summary(out: &mut dyn Write, report: &Report, options: &Options) -> std::io::Result<()> {
    if options.output == OutputMode::JsonLines {
        return Ok(());
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for m in &report.messages {
        let code = m.outcome.code();
        match counts.iter_mut().find(|(c, _)| *c == code) {
            Some((_, n)) => *n += 1,
            None => counts.push((code, 1)),
        }
    }
    let counts: Vec<String> = counts.iter().map(|(c, n)| format!("{n} {c}")).collect();
    writeln!(
        out,
        "redrive{}: {} messages{}{}; {} left in the queue",
        if options.dry_run {
            " (dry run, nothing invoked or deleted)"
        } else {
            ""
        },
        report.messages.len(),
        if counts.is_empty() { "" } else { ": " },
        counts.join(", "),
        if options.dry_run {
            report.messages.len()
        } else {
            report.left()
        },
    )
}

/// `a2i-review redrive …`: the command line.
#[derive(Debug, clap::Args)]
pub struct RedriveArgs {
    /// The on-failure queue (its URL).
    #[arg(long, value_name = "URL")]
    queue_url: String,
    /// The function to invoke again (name or ARN); records of other functions stay.
    #[arg(long, value_name = "NAME")]
    function: String,
    /// List the messages (ids, function, condition, counts; never the event), change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Handle at most N messages.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max: Option<u64>,
    /// Seconds a received message stays hidden from other consumers while it is redriven:
    /// longer than the function may run (the start function's timeout is 300 s).
    #[arg(long, value_name = "SECONDS", default_value_t = 360, value_parser = clap::value_parser!(u64).range(1..=43_200))]
    visibility_timeout: u64,
    /// `text` or `jsonl` (one JSON object per message).
    #[arg(long, value_enum, default_value_t = OutputArg::Text)]
    output: OutputArg,
}

/// `--output` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OutputArg {
    Text,
    Jsonl,
}

/// Runs `a2i-review redrive` with clients from the standard AWS configuration. Exit status:
/// 0 when every message was redriven (or listed, with `--dry-run`), 1 when some stay in the
/// queue or the queue could not be read.
pub async fn run_cli(args: RedriveArgs) -> std::process::ExitCode {
    let clients = Clients::from_env().await;
    let options = Options {
        queue_url: args.queue_url,
        function: args.function,
        dry_run: args.dry_run,
        max: args.max.map(|m| usize::try_from(m).unwrap_or(usize::MAX)),
        visibility_timeout: Duration::from_secs(if args.dry_run {
            30
        } else {
            args.visibility_timeout
        }),
        wait: Duration::from_secs(1),
        output: match args.output {
            OutputArg::Text => OutputMode::Text,
            OutputArg::Jsonl => OutputMode::JsonLines,
        },
    };
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut diag = stderr.lock();
    let result = run(&clients, &options, &mut out, &mut diag).await;
    let _ = out.flush();
    match result {
        Ok(report) if options.dry_run || report.left() == 0 => std::process::ExitCode::SUCCESS,
        Ok(report) => {
            let _ = writeln!(
                diag,
                "a2i-review: redrive: {} of {} messages stay in the queue (reported above)",
                report.left(),
                report.messages.len()
            );
            std::process::ExitCode::FAILURE
        }
        Err(RedriveError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            let _ = writeln!(diag, "a2i-review: redrive: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_function_name_comes_from_names_and_qualified_arns() {
        assert_eq!(function_name("start-handler"), "start-handler");
        assert_eq!(
            function_name("arn:aws:lambda:us-east-2:123456789012:function:my-function:$LATEST"),
            "my-function"
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-2:123456789012:function:my-function"),
            "my-function"
        );
        assert_eq!(function_name("my-function:live"), "my-function");
    }

    #[test]
    fn a_destination_record_parses_with_or_without_its_optional_parts() {
        let full = serde_json::json!({
            "version": "1.0", "timestamp": "2019-11-14T18:16:05.568Z",
            "requestContext": {"requestId": "e4b4", "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:f:$LATEST",
                               "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": {"Records": []},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": "boom"}
        });
        let r = parse_record(&full.to_string()).unwrap();
        let c = r.request_context.unwrap();
        assert_eq!(c.condition.as_deref(), Some("RetriesExhausted"));
        assert_eq!(c.approximate_invoke_count, Some(3));
        assert_eq!(r.request_payload, Some(serde_json::json!({"Records": []})));
        // Lambda drops the payload from records over the size limit.
        let bare = serde_json::json!({"requestContext": {"condition": "EventAgeExceeded"}});
        assert!(parse_record(&bare.to_string())
            .unwrap()
            .request_payload
            .is_none());
    }

    #[test]
    fn a_body_that_is_not_a_record_is_named_by_rule_never_by_content() {
        for (body, rule) in [
            ("SECRET not json", "not JSON"),
            ("[\"SECRET\"]", "not a JSON object"),
            (
                "{\"Records\": [\"SECRET\"]}",
                "not a Lambda destination record",
            ),
            (
                "{\"requestContext\": {\"approximateInvokeCount\": \"SECRET\"}}",
                "wrong type",
            ),
        ] {
            let e = parse_record(body).unwrap_err();
            assert!(e.contains(rule), "{body}: {e}");
            assert!(!e.contains("SECRET"), "{e}");
        }
    }

    #[test]
    fn only_the_error_type_of_a_function_error_is_kept() {
        let body = br#"{"errorType":"NonRetryable.ItemsFailed","errorMessage":"SECRET"}"#;
        assert_eq!(
            error_type(body).as_deref(),
            Some("NonRetryable.ItemsFailed")
        );
        assert_eq!(error_type(b"not json"), None);
        let long = format!(r#"{{"errorType":"{}"}}"#, "x".repeat(1000));
        assert_eq!(
            error_type(long.as_bytes()).unwrap().len(),
            MAX_ERROR_TYPE_CHARS
        );
    }
}
