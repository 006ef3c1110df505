//! `a2i-review redrive` against real local services: SQS from moto in server mode, the real
//! start handler under `cargo lambda watch` (its Lambda Invoke endpoint), a2i-local's S3 and
//! A2I behind it. `scripts/redrive-check.sh` installs and starts them and runs this test
//! (`--ignored`, since it needs them); it fails, naming the script, when they are not there.
//!
//! What it proves: a message is deleted only after the function processed its event; a
//! still-failing one stays (visible again, with its body), and so does a record without
//! `requestPayload`; once the cause is fixed, the next run redrives it; `--dry-run` changes
//! nothing and prints no event content.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use a2i_review_cli::redrive::{self, Clients, Options, Outcome, OutputMode};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{json, Value};

/// The names the script configured the start function with (its env file).
const INPUT: &str = "redrive-input";
const CONFIG: &str = "redrive-config";
/// The results bucket: the start function registers every loop there (`RESULTS_BUCKET`).
const RESULTS: &str = "redrive-results";
const CONDITIONS_KEY: &str = "conditions/every-item.json";
const FUNCTION: &str = "start-handler";
/// Written into every event: it must never show up in redrive's output.
const MARKER: &str = "EVENT-CONTENT-MARKER";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run this test through scripts/redrive-check.sh, which starts moto, a2i-local and cargo lambda watch")
    })
}

/// The variables `a2i-local serve --env-file` wrote.
fn local_env() -> HashMap<String, String> {
    let path = env("REDRIVE_LOCAL_ENV");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

struct Services {
    local: HashMap<String, String>,
    sqs_endpoint: String,
    lambda_endpoint: String,
}

impl Services {
    fn get() -> Self {
        Self {
            local: local_env(),
            sqs_endpoint: env("REDRIVE_SQS_ENDPOINT"),
            lambda_endpoint: env("REDRIVE_LAMBDA_ENDPOINT"),
        }
    }

    fn var(&self, name: &str) -> &str {
        self.local
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from the a2i-local env file"))
    }

    fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .region(aws_sdk_s3::config::Region::new(
                    self.var("AWS_REGION").to_owned(),
                ))
                .credentials_provider(aws_sdk_s3::config::Credentials::new(
                    self.var("AWS_ACCESS_KEY_ID"),
                    self.var("AWS_SECRET_ACCESS_KEY"),
                    None,
                    None,
                    "a2i-local",
                ))
                .endpoint_url(self.var("AWS_ENDPOINT_URL_S3"))
                .force_path_style(true)
                .build(),
        )
    }

    fn a2i(&self) -> aws_sdk_sagemakera2iruntime::Client {
        aws_sdk_sagemakera2iruntime::Client::from_conf(
            aws_sdk_sagemakera2iruntime::Config::builder()
                .behavior_version(aws_sdk_sagemakera2iruntime::config::BehaviorVersion::latest())
                .region(aws_sdk_sagemakera2iruntime::config::Region::new(
                    self.var("AWS_REGION").to_owned(),
                ))
                .credentials_provider(aws_sdk_sagemakera2iruntime::config::Credentials::new(
                    self.var("AWS_ACCESS_KEY_ID"),
                    self.var("AWS_SECRET_ACCESS_KEY"),
                    None,
                    None,
                    "a2i-local",
                ))
                .endpoint_url(self.var("AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME"))
                .build(),
        )
    }

    fn redrive_clients(&self) -> Clients {
        let region = "us-east-1";
        let sqs = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new(region))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .endpoint_url(&self.sqs_endpoint)
            .build();
        let lambda = aws_sdk_lambda::Config::builder()
            .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
            .region(aws_sdk_lambda::config::Region::new(region))
            .credentials_provider(aws_sdk_lambda::config::Credentials::new(
                "testing", "testing", None, None, "watch",
            ))
            .endpoint_url(&self.lambda_endpoint)
            // The first invocation compiles the function under watch.
            .timeout_config(
                aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_secs(900))
                    .build(),
            )
            .build();
        Clients {
            sqs: aws_sdk_sqs::Client::from_conf(sqs),
            lambda: aws_sdk_lambda::Client::from_conf(lambda),
        }
    }
}

/// An S3 event for `key` in the input bucket, made from the repository's sample event: no
/// version or ETag (the handler reads the current object), the marker where a careless tool
/// would print it.
fn s3_event(key: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/s3-put.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let record = &mut event["Records"][0];
    record["userIdentity"]["principalId"] = json!(MARKER);
    record["s3"]["bucket"]["name"] = json!(INPUT);
    record["s3"]["bucket"]["arn"] = json!(format!("arn:aws:s3:::{INPUT}"));
    let object = record["s3"]["object"].as_object_mut().unwrap();
    object.insert("key".into(), json!(key));
    object.remove("versionId");
    object.remove("eTag");
    event
}

/// Lambda's on-failure destination record for an event (facts §7).
fn record(request_id: &str, payload: Option<Value>) -> String {
    let mut r = json!({
        "version": "1.0", "timestamp": "2026-11-29T10:01:00.000Z",
        "requestContext": {
            "requestId": request_id,
            "functionArn": format!("arn:aws:lambda:us-east-1:111122223333:function:{FUNCTION}:$LATEST"),
            "condition": "RetriesExhausted", "approximateInvokeCount": 3
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "Retryable.ItemsFailed", "errorMessage": MARKER}
    });
    if let Some(p) = payload {
        r["requestPayload"] = p;
    }
    r.to_string()
}

fn items(n: usize) -> String {
    (0..n)
        .map(|i| format!("{}\n", json!({"id": i, "note": MARKER})))
        .collect()
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: String) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.into_bytes()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put s3://{bucket}/{key}: {e:?}"));
}

/// Visible and in-flight messages of the queue.
async fn queue_depth(clients: &Clients, queue_url: &str) -> (u64, u64) {
    let out = clients
        .sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes().unwrap();
    let n = |a: QueueAttributeName| {
        attrs
            .get(&a)
            .and_then(|v| v.parse().ok())
            .unwrap_or(u64::MAX)
    };
    (
        n(QueueAttributeName::ApproximateNumberOfMessages),
        n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

async fn loop_count(a2i: &aws_sdk_sagemakera2iruntime::Client, flow: &str) -> usize {
    let mut pages = a2i
        .list_human_loops()
        .flow_definition_arn(flow)
        .into_paginator()
        .send();
    let mut n = 0;
    while let Some(page) = pages.next().await {
        n += page.unwrap().human_loop_summaries().len();
    }
    n
}

fn options(queue_url: &str, dry_run: bool) -> Options {
    Options {
        queue_url: queue_url.to_owned(),
        function: FUNCTION.to_owned(),
        dry_run,
        max: None,
        visibility_timeout: Duration::from_secs(900),
        wait: Duration::from_secs(1),
        output: OutputMode::Text,
    }
}

#[tokio::test]
#[ignore = "needs moto, a2i-local and cargo lambda watch: run scripts/redrive-check.sh"]
async fn redrive_deletes_a_message_only_after_its_event_succeeded_and_leaves_failing_ones() {
    let services = Services::get();
    let flow = env("REDRIVE_FLOW_DEFINITION_ARN");
    let (s3, a2i, clients) = (services.s3(), services.a2i(), services.redrive_clients());
    for bucket in [INPUT, CONFIG, RESULTS] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let every_item = json!({"Conditions": [{"ConditionType": "Sampling",
        "ConditionParameters": {"RandomSamplingPercentage": 100}}]});
    put(&s3, CONFIG, CONDITIONS_KEY, every_item.to_string()).await;
    put(&s3, INPUT, "batches/present.jsonl", items(2)).await;

    let queue_url = clients
        .sqs
        .create_queue()
        .queue_name("start-handler-on-failure")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let mut ids = HashMap::new();
    for (name, payload) in [
        ("present", Some(s3_event("batches/present.jsonl"))),
        ("later", Some(s3_event("batches/later.jsonl"))),
        ("no-payload", None),
    ] {
        let sent = clients
            .sqs
            .send_message()
            .queue_url(&queue_url)
            .message_body(record(&format!("req-{name}"), payload))
            .send()
            .await
            .unwrap();
        ids.insert(name, sent.message_id().unwrap().to_owned());
    }

    // --dry-run, as a user runs it: the binary, configured by the standard variables.
    let out = Command::new(env!("CARGO_BIN_EXE_a2i-review"))
        .args([
            "redrive",
            "--queue-url",
            &queue_url,
            "--function",
            FUNCTION,
            "--dry-run",
            "--output",
            "jsonl",
        ])
        .env("AWS_ENDPOINT_URL_SQS", &services.sqs_endpoint)
        .env("AWS_ENDPOINT_URL_LAMBDA", &services.lambda_endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains(MARKER), "event content printed: {stdout}");
    let listed: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 3, "{stdout}");
    let of = |name: &str| {
        listed
            .iter()
            .find(|l| l["messageId"] == ids[name].as_str())
            .unwrap()
            .clone()
    };
    assert_eq!(of("present")["outcome"], "would-redrive");
    assert_eq!(of("present")["function"], FUNCTION);
    assert_eq!(of("present")["condition"], "RetriesExhausted");
    assert_eq!(of("present")["approximateInvokeCount"], 3);
    assert_eq!(of("present")["approximateReceiveCount"], 1);
    assert_eq!(of("no-payload")["outcome"], "no-payload");
    assert_eq!(
        queue_depth(&clients, &queue_url).await,
        (3, 0),
        "a dry run leaves every message visible"
    );
    assert_eq!(
        loop_count(&a2i, &flow).await,
        0,
        "a dry run invokes nothing"
    );

    // The real run: the present object's event succeeds, the missing one's fails again.
    let (mut out, mut diag) = (Vec::new(), Vec::new());
    let report = redrive::run(&clients, &options(&queue_url, false), &mut out, &mut diag)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains(MARKER), "{text}");
    let outcome = |name: &str| {
        report
            .messages
            .iter()
            .find(|m| m.message_id == ids[name])
            .unwrap_or_else(|| panic!("{name} not handled: {text}"))
            .outcome
            .clone()
    };
    assert_eq!(outcome("present"), Outcome::Redriven, "{text}");
    match outcome("later") {
        Outcome::StillFailing { error_type, .. } => {
            assert_eq!(
                error_type.as_deref(),
                Some("NonRetryable.ItemsFailed"),
                "{text}"
            )
        }
        other => panic!("later: {other:?}\n{text}"),
    }
    assert_eq!(outcome("no-payload"), Outcome::NoPayload);
    assert_eq!(report.left(), 2);
    assert_eq!(
        loop_count(&a2i, &flow).await,
        2,
        "the present object's two items got loops"
    );
    assert_eq!(
        queue_depth(&clients, &queue_url).await,
        (2, 0),
        "the failing ones stay, visible again"
    );

    // Fixed: the object is there now; the next run redrives it and deletes its message.
    put(&s3, INPUT, "batches/later.jsonl", items(3)).await;
    let (mut out, mut diag) = (Vec::new(), Vec::new());
    let report = redrive::run(&clients, &options(&queue_url, false), &mut out, &mut diag)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(report.messages.len(), 2, "{text}");
    assert_eq!(
        outcome_of(&report, &ids["later"]),
        Outcome::Redriven,
        "{text}"
    );
    assert_eq!(outcome_of(&report, &ids["no-payload"]), Outcome::NoPayload);
    assert_eq!(loop_count(&a2i, &flow).await, 5);
    assert_eq!(queue_depth(&clients, &queue_url).await, (1, 0));

    // What stays is the record without a payload, whole.
    let left = clients
        .sqs
        .receive_message()
        .queue_url(&queue_url)
        .send()
        .await
        .unwrap();
    let message = &left.messages()[0];
    assert_eq!(message.message_id(), Some(ids["no-payload"].as_str()));
    assert_eq!(
        message.body().map(str::to_owned),
        Some(record("req-no-payload", None))
    );
}

fn outcome_of(report: &redrive::Report, id: &str) -> Outcome {
    report
        .messages
        .iter()
        .find(|m| m.message_id == id)
        .map(|m| m.outcome.clone())
        .unwrap_or_else(|| panic!("{id} not handled"))
}
