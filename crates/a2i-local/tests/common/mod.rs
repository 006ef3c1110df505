//! Helpers shared by the integration tests: a running a2i-local, real SDK clients with
//! fast retries, and a raw HTTP client for what the SDKs hide (headers, odd requests).
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use a2i_local::{LocalA2i, LocalA2iBuilder, LocalA2iHandle};
use aws_sdk_sagemakera2iruntime::config::retry::RetryConfig;
use aws_sdk_sagemakera2iruntime::types::HumanLoopInput;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The flow definition most tests use.
pub const FLOW: &str = "arn:aws:sagemaker:us-east-1:111122223333:flow-definition/test-flow";

/// A running a2i-local and the temp directory its event files live in.
pub struct Local {
    pub handle: LocalA2iHandle,
    pub dir: tempfile::TempDir,
}

impl Local {
    /// The JSON Lines file that receives status-change events.
    pub fn events_file(&self) -> PathBuf {
        self.dir.path().join("events.jsonl")
    }

    /// The JSON Lines file that receives S3 notifications.
    pub fn s3_events_file(&self) -> PathBuf {
        self.dir.path().join("s3-events.jsonl")
    }

    /// Every event in the status-change file, in order.
    pub fn events(&self) -> Vec<serde_json::Value> {
        read_jsonl(&self.events_file())
    }

    /// Every notification in the S3 event file, in order.
    pub fn s3_events(&self) -> Vec<serde_json::Value> {
        read_jsonl(&self.s3_events_file())
    }

    /// An A2I client with 1 ms initial backoff (retries do not really sleep).
    pub fn a2i(&self) -> aws_sdk_sagemakera2iruntime::Client {
        fast_a2i_client(&self.handle)
    }

    /// An S3 client over HTTP.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        self.handle.s3_client()
    }

    /// `http://127.0.0.1:port` + `path` on the A2I port.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.a2i_endpoint())
    }
}

pub fn read_jsonl(path: &std::path::Path) -> Vec<serde_json::Value> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Starts a2i-local with a JSON Lines event sink, after `configure` adjusted the builder.
pub async fn start_with(configure: impl FnOnce(LocalA2iBuilder) -> LocalA2iBuilder) -> Local {
    let dir = tempfile::tempdir().expect("temp dir");
    let builder = LocalA2i::builder()
        .event_file(dir.path().join("events.jsonl"))
        .s3_event_file(dir.path().join("s3-events.jsonl"));
    let handle = configure(builder).start().await.expect("a2i-local starts");
    Local { handle, dir }
}

/// Starts a2i-local with defaults (plus the event files).
pub async fn start() -> Local {
    start_with(|b| b).await
}

/// An A2I client whose retries wait 1 ms at first.
pub fn fast_a2i_client(handle: &LocalA2iHandle) -> aws_sdk_sagemakera2iruntime::Client {
    aws_sdk_sagemakera2iruntime::Client::from_conf(
        handle
            .a2i_config()
            .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(1)))
            .build(),
    )
}

/// Starts a loop through the SDK and returns its ARN.
pub async fn start_loop(
    a2i: &aws_sdk_sagemakera2iruntime::Client,
    name: &str,
    input: serde_json::Value,
) -> String {
    a2i.start_human_loop()
        .human_loop_name(name)
        .flow_definition_arn(FLOW)
        .human_loop_input(
            HumanLoopInput::builder()
                .input_content(input.to_string())
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "start {name}: {}",
                aws_sdk_sagemakera2iruntime::error::DisplayErrorContext(&e)
            )
        })
        .human_loop_arn
        .unwrap_or_default()
}

/// A raw HTTP answer.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Raw {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one raw HTTP request.
pub async fn raw(method: Method, url: &str, body: Option<&str>) -> Raw {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = Request::builder().method(method).uri(url);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or_default().to_owned())))
        .expect("request");
    let response = client.request(request).await.expect("HTTP round trip");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Raw {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}
