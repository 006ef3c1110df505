//! Where events go: a small async trait and its three implementations (an HTTP URL, a JSON
//! Lines file, an in-process callback). The same sinks carry A2I status-change events and S3
//! event notifications.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

/// Why one delivery to one sink failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// The receiver could not be reached, or answered too late.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The receiver answered with a failure (an HTTP error status, or a Lambda function error).
    #[error("rejected: {0}")]
    Rejected(String),
    /// The file sink could not write.
    #[error("write failed: {0}")]
    Io(String),
}

/// A destination for events. Implementations must be cheap to call concurrently; the
/// delivery loop calls each sink once per attempt and logs and records every failure.
pub trait EventSink: Send + Sync + fmt::Debug {
    /// A short description for logs and delivery reports (`http://…`, `file:…`, `callback:…`).
    fn describe(&self) -> String;

    /// Delivers one event (a JSON document).
    fn deliver<'a>(&'a self, event: &'a serde_json::Value) -> BoxFuture<'a, Result<(), SinkError>>;
}

/// POSTs each event as JSON to a URL, for example `cargo lambda watch`'s invoke URL
/// `http://127.0.0.1:9000/2015-03-31/functions/<fn>/invocations`.
///
/// A 2xx answer counts as delivered unless it carries `X-Amz-Function-Error`, which is how
/// the Lambda invoke API (and cargo lambda) report that the function itself failed. Only
/// plain `http://` URLs are supported: the sink exists to reach local tools.
pub struct HttpSink {
    uri: Uri,
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl fmt::Debug for HttpSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSink")
            .field("uri", &self.uri)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Why an [`HttpSink`] cannot be built from a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event URL {url:?} is not usable: {reason}")]
pub struct SinkUrlError {
    /// The URL given.
    pub url: String,
    /// What is wrong with it.
    pub reason: String,
}

impl HttpSink {
    /// A sink for `url`; `timeout` bounds each POST (a first `cargo lambda watch` invoke
    /// compiles the function, so allow minutes).
    pub fn new(url: &str, timeout: Duration) -> Result<Self, SinkUrlError> {
        let err = |reason: &str| SinkUrlError {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url.parse().map_err(|_| err("not a valid URL"))?;
        if uri.scheme_str() != Some("http") {
            return Err(err("only http:// URLs are supported"));
        }
        if uri.host().is_none() {
            return Err(err("the URL has no host"));
        }
        let client = Client::builder(TokioExecutor::new()).build_http();
        Ok(Self {
            uri,
            client,
            timeout,
        })
    }
}

impl EventSink for HttpSink {
    fn describe(&self) -> String {
        self.uri.to_string()
    }

    fn deliver<'a>(&'a self, event: &'a serde_json::Value) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let body = serde_json::to_vec(event).map_err(|e| SinkError::Io(e.to_string()))?;
            let request = Request::builder()
                .method(Method::POST)
                .uri(self.uri.clone())
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(Full::new(Bytes::from(body)))
                .map_err(|e| SinkError::Unreachable(e.to_string()))?;
            let call = async {
                let response = self
                    .client
                    .request(request)
                    .await
                    .map_err(|e| SinkError::Unreachable(e.to_string()))?;
                let status = response.status();
                let function_error = response
                    .headers()
                    .get("x-amz-function-error")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map(|c| c.to_bytes())
                    .unwrap_or_default();
                let text = String::from_utf8_lossy(&body[..body.len().min(2048)]).into_owned();
                if !status.is_success() {
                    return Err(SinkError::Rejected(format!("HTTP {status}: {text}")));
                }
                if let Some(kind) = function_error {
                    return Err(SinkError::Rejected(format!(
                        "function error {kind}: {text}"
                    )));
                }
                Ok(())
            };
            match tokio::time::timeout(self.timeout, call).await {
                Ok(result) => result,
                Err(_) => Err(SinkError::Unreachable(format!(
                    "no answer within {:?}",
                    self.timeout
                ))),
            }
        })
    }
}

/// Appends each event as one line of JSON to a file (created if missing).
#[derive(Debug)]
pub struct JsonLinesSink {
    path: PathBuf,
    // One writer at a time, so concurrent events never interleave within a line.
    lock: Mutex<()>,
}

impl JsonLinesSink {
    /// A sink appending to `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }
}

impl EventSink for JsonLinesSink {
    fn describe(&self) -> String {
        format!("file:{}", self.path.display())
    }

    fn deliver<'a>(&'a self, event: &'a serde_json::Value) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let mut line = serde_json::to_vec(event).map_err(|e| SinkError::Io(e.to_string()))?;
            line.push(b'\n');
            let _guard = self.lock.lock().await;
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .await
                .map_err(|e| SinkError::Io(e.to_string()))?;
            file.write_all(&line)
                .await
                .map_err(|e| SinkError::Io(e.to_string()))?;
            file.flush()
                .await
                .map_err(|e| SinkError::Io(e.to_string()))?;
            Ok(())
        })
    }
}

/// The function an in-process sink calls: it receives the event and answers `Err(reason)`
/// when it could not handle it (the delivery is then retried and reported).
pub type EventCallback =
    Arc<dyn Fn(serde_json::Value) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Hands each event to an in-process function, for example the real status handler.
pub struct CallbackSink {
    name: String,
    callback: EventCallback,
}

impl fmt::Debug for CallbackSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackSink")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl CallbackSink {
    /// A sink named `name` (shown in reports) calling `callback`.
    pub fn new(name: impl Into<String>, callback: EventCallback) -> Self {
        Self {
            name: name.into(),
            callback,
        }
    }
}

impl EventSink for CallbackSink {
    fn describe(&self) -> String {
        format!("callback:{}", self.name)
    }

    fn deliver<'a>(&'a self, event: &'a serde_json::Value) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            (self.callback)(event.clone())
                .await
                .map_err(SinkError::Rejected)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn json_lines_sink_appends_one_line_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let sink = JsonLinesSink::new(&path);
        sink.deliver(&serde_json::json!({"a": 1})).await.unwrap();
        sink.deliver(&serde_json::json!({"b": "x\ny"}))
            .await
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines, [r#"{"a":1}"#, r#"{"b":"x\ny"}"#]);
    }

    #[tokio::test]
    async fn callback_errors_become_rejections() {
        let sink = CallbackSink::new(
            "t",
            Arc::new(|_| Box::pin(async { Err("boom".to_owned()) })),
        );
        assert_eq!(
            sink.deliver(&serde_json::json!({})).await,
            Err(SinkError::Rejected("boom".into()))
        );
    }

    #[test]
    fn only_plain_http_urls_are_accepted() {
        assert!(HttpSink::new("http://127.0.0.1:9000/x", Duration::from_secs(1)).is_ok());
        assert!(HttpSink::new("https://example.com/x", Duration::from_secs(1)).is_err());
        assert!(HttpSink::new("not a url", Duration::from_secs(1)).is_err());
    }

    #[tokio::test]
    async fn an_unreachable_url_is_reported() {
        // Port 9 (discard) on loopback is closed on any sane test machine.
        let sink = HttpSink::new("http://127.0.0.1:9/", Duration::from_secs(5)).unwrap();
        assert!(matches!(
            sink.deliver(&serde_json::json!({})).await,
            Err(SinkError::Unreachable(_))
        ));
    }
}
