//! lambda-harness: a local AWS Lambda Runtime API that runs a bootstrap binary the way the
//! Lambda service does, and measures it.
//!
//! [`Function::start`] serves the Runtime API on 127.0.0.1 (`GET …/invocation/next`,
//! `POST …/invocation/{id}/response`, `POST …/invocation/{id}/error`, `POST …/init/error`),
//! spawns the bootstrap with a clean Lambda-like environment (`AWS_LAMBDA_RUNTIME_API`,
//! `AWS_LAMBDA_FUNCTION_NAME`, `…_MEMORY_SIZE`, `…_VERSION`, `AWS_REGION`, `LAMBDA_TASK_ROOT`, …)
//! plus the caller's variables, and returns once the bootstrap first asks for an event: that
//! interval is the init duration, as Lambda reports it. [`Running::invoke`] hands one event
//! over and waits for its response or error; [`Running::finish`] stops the process and returns
//! its peak RSS and every line it wrote to stdout and stderr.
//!
//! One event is in flight at a time, as in a Lambda execution environment. Dev-only: used by
//! the cold-start benchmark and the log tests of a2i-review.

use std::collections::HashMap;
use std::convert::Infallible;
use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

/// Lambda's limit on a synchronous response or error payload (6 MB); larger bodies are refused
/// with 413, as the service does.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// The Runtime API's version prefix.
const API: &str = "/2018-06-01/runtime";

/// A bootstrap binary and the Lambda settings it runs with.
#[derive(Debug, Clone)]
pub struct Function {
    bootstrap: PathBuf,
    name: String,
    memory_mb: u32,
    timeout: Duration,
    init_timeout: Duration,
    region: String,
    env: Vec<(OsString, OsString)>,
}

impl Function {
    /// A function running `bootstrap`, named `function`, 128 MB, a 30 s timeout, in us-east-1.
    pub fn new(bootstrap: impl Into<PathBuf>) -> Self {
        Self {
            bootstrap: bootstrap.into(),
            name: "function".into(),
            memory_mb: 128,
            timeout: Duration::from_secs(30),
            init_timeout: Duration::from_secs(10),
            region: "us-east-1".into(),
            env: Vec::new(),
        }
    }

    /// The function name (`AWS_LAMBDA_FUNCTION_NAME`, and part of the invoked ARN).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The configured memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`); nothing enforces it.
    pub fn memory_mb(mut self, memory_mb: u32) -> Self {
        self.memory_mb = memory_mb;
        self
    }

    /// How long one invocation may take before [`Running::invoke`] gives up (sets the
    /// `Lambda-Runtime-Deadline-Ms` header too).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long the bootstrap may take to ask for its first event (Lambda allows 10 s).
    pub fn init_timeout(mut self, timeout: Duration) -> Self {
        self.init_timeout = timeout;
        self
    }

    /// The region (`AWS_REGION`, `AWS_DEFAULT_REGION`, and part of the invoked ARN).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// One more environment variable; the caller's variables are set after (so override)
    /// the Lambda ones.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// More environment variables, as [`Function::env`].
    pub fn envs<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<OsString>,
        V: Into<OsString>,
    {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// The ARN the function is invoked as (`Lambda-Runtime-Invoked-Function-Arn`).
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:123456789012:function:{}",
            self.region, self.name
        )
    }

    /// The environment the bootstrap starts with: Lambda's variables for a `provided.al2023`
    /// function, then the caller's. Nothing is inherited from this process, so a developer's
    /// `AWS_PROFILE` or `RUST_LOG` cannot change what is measured.
    fn environment(&self, runtime_api: SocketAddr) -> Vec<(OsString, OsString)> {
        let task_root = self
            .bootstrap
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
        let lambda = [
            ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", self.name.clone()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.memory_mb.to_string(),
            ),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.name),
            ),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/01/01/[$LATEST]00000000000000000000000000000000".into(),
            ),
            ("AWS_REGION", self.region.clone()),
            ("AWS_DEFAULT_REGION", self.region.clone()),
            ("LAMBDA_TASK_ROOT", task_root.display().to_string()),
            ("LAMBDA_RUNTIME_DIR", task_root.display().to_string()),
            ("_HANDLER", "bootstrap".into()),
            ("TZ", ":UTC".into()),
            ("LANG", "en_US.UTF-8".into()),
            ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".into()),
        ];
        lambda
            .into_iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .chain(self.env.iter().cloned())
            .collect()
    }

    /// Serves the Runtime API, spawns the bootstrap and waits until it asks for its first
    /// event (or reports an init error, exits, or runs out of [`Function::init_timeout`]).
    pub async fn start(self) -> Result<Running, HarnessError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(HarnessError::Bind)?;
        let addr = listener.local_addr().map_err(HarnessError::Bind)?;
        let (events_tx, events_rx) = mpsc::channel(1);
        let (ready_tx, ready_rx) = oneshot::channel();
        let (init_error_tx, init_error_rx) = oneshot::channel();
        let api = Arc::new(Api {
            events: tokio::sync::Mutex::new(events_rx),
            ready: Mutex::new(Some(ready_tx)),
            init_error: Mutex::new(Some(init_error_tx)),
            in_flight: Mutex::new(HashMap::new()),
            function_arn: self.arn(),
        });
        let server = AbortOnDrop(tokio::spawn(serve(listener, api)));

        let logs = Arc::new(Mutex::new(Vec::new()));
        let spawned_at = Instant::now();
        let mut child = Command::new(&self.bootstrap)
            .env_clear()
            .envs(self.environment(addr))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                bootstrap: self.bootstrap.clone(),
                source,
            })?;
        let pid = child.id();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(tokio::spawn(collect_lines(
                out,
                LogStream::Stdout,
                logs.clone(),
            )));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(tokio::spawn(collect_lines(
                err,
                LogStream::Stderr,
                logs.clone(),
            )));
        }
        let mut running = Running {
            function: self,
            child,
            pid,
            init_duration: Duration::ZERO,
            events: events_tx,
            logs,
            readers,
            _server: server,
            invocations: 0,
        };

        let init_timeout = running.function.init_timeout;
        // Biased: a bootstrap that posts its init error and exits makes both branches ready at
        // once, and the error is the better report (an unbiased select picks at random).
        let mut init_error_rx = init_error_rx;
        tokio::select! {
            biased;
            ready = ready_rx => {
                // The sender lives in the server until the first `next`; losing it means the
                // server task died, which only a panic could do.
                let at = ready.map_err(|_| HarnessError::ServerGone)?;
                running.init_duration = at.duration_since(spawned_at);
                Ok(running)
            }
            error = &mut init_error_rx => {
                let error = error.ok();
                let report = running.finish().await;
                Err(HarnessError::InitFailed { error, exit: report.exit, logs: report.logs })
            }
            status = running.child.wait() => {
                let status = status.ok();
                // The error may have been handed over just as the process exited.
                let posted = init_error_rx.try_recv().ok();
                let report = running.finish().await;
                match posted {
                    Some(error) => Err(HarnessError::InitFailed {
                        error: Some(error),
                        exit: report.exit,
                        logs: report.logs,
                    }),
                    None => Err(HarnessError::Exited { during: "init", status, logs: report.logs }),
                }
            }
            () = tokio::time::sleep(init_timeout) => {
                let report = running.finish().await;
                Err(HarnessError::InitTimeout { after: init_timeout, logs: report.logs })
            }
        }
    }
}

/// A started bootstrap waiting for events.
#[derive(Debug)]
pub struct Running {
    function: Function,
    child: Child,
    pid: Option<u32>,
    init_duration: Duration,
    events: mpsc::Sender<Pending>,
    logs: Arc<Mutex<Vec<LogLine>>>,
    readers: Vec<JoinHandle<()>>,
    _server: AbortOnDrop,
    invocations: u64,
}

impl Running {
    /// From spawning the process to its first `GET …/invocation/next`.
    pub fn init_duration(&self) -> Duration {
        self.init_duration
    }

    /// The process id of the bootstrap.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The bootstrap's peak resident set so far (`VmHWM`), in KiB; `None` once it has exited
    /// or where `/proc` is not available.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        peak_rss_kib(self.pid?)
    }

    /// The lines written so far. Reading the pipes runs in the background, so the last lines
    /// of an invocation may arrive after its result: [`Running::finish`] has them all.
    pub fn logs_so_far(&self) -> Vec<LogLine> {
        lock(&self.logs).clone()
    }

    /// Sends a JSON event.
    pub async fn invoke_json(
        &mut self,
        event: &serde_json::Value,
    ) -> Result<Invocation, HarnessError> {
        self.invoke(Bytes::from(event.to_string())).await
    }

    /// Sends one event and waits for the bootstrap's response or error.
    pub async fn invoke(&mut self, payload: impl Into<Bytes>) -> Result<Invocation, HarnessError> {
        self.invocations += 1;
        let request_id = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            self.pid.unwrap_or(0),
            self.invocations
        );
        let deadline_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(self.function.timeout)
            .as_millis();
        let (reply_tx, reply_rx) = oneshot::channel();
        let pending = Pending {
            request_id: request_id.clone(),
            body: payload.into(),
            deadline_ms: u64::try_from(deadline_ms).unwrap_or(u64::MAX),
            reply: reply_tx,
        };
        self.events
            .send(pending)
            .await
            .map_err(|_| HarnessError::ServerGone)?;
        let timeout = self.function.timeout;
        tokio::select! {
            done = reply_rx => {
                let (outcome, duration) = done.map_err(|_| HarnessError::ServerGone)?;
                Ok(Invocation { request_id, duration, outcome })
            }
            status = self.child.wait() => Err(HarnessError::Exited {
                during: "an invocation",
                status: status.ok(),
                logs: self.logs_so_far(),
            }),
            () = tokio::time::sleep(timeout) => Err(HarnessError::InvokeTimeout {
                request_id,
                after: timeout,
                logs: self.logs_so_far(),
            }),
        }
    }

    /// Stops the bootstrap (its peak RSS is read first) and returns what it left behind.
    pub async fn finish(mut self) -> Report {
        let peak_rss_kib = self.peak_rss_kib();
        // A process that already exited is not an error here: its status is the report.
        let exit = match self.child.try_wait() {
            Ok(Some(status)) => Some(status),
            _ => {
                let _ = self.child.start_kill();
                self.child.wait().await.ok()
            }
        };
        // Both pipes reach EOF once the process is gone, so the readers end.
        for reader in self.readers.drain(..) {
            let _ = reader.await;
        }
        Report {
            init_duration: self.init_duration,
            peak_rss_kib,
            exit,
            logs: std::mem::take(&mut *lock(&self.logs)),
        }
    }
}

/// One invocation's result.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The `Lambda-Runtime-Aws-Request-Id` it was sent with.
    pub request_id: String,
    /// From handing the event over (the `next` response) to receiving the result.
    pub duration: Duration,
    /// The response or the error.
    pub outcome: Outcome,
}

/// What the bootstrap posted for an invocation.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The body of `POST …/invocation/{id}/response`.
    Response(Bytes),
    /// The body of `POST …/invocation/{id}/error`.
    Error(FunctionError),
}

impl Outcome {
    /// The response body, or `None` for an error.
    pub fn response(&self) -> Option<&Bytes> {
        match self {
            Outcome::Response(body) => Some(body),
            Outcome::Error(_) => None,
        }
    }

    /// The error, or `None` for a response.
    pub fn error(&self) -> Option<&FunctionError> {
        match self {
            Outcome::Response(_) => None,
            Outcome::Error(error) => Some(error),
        }
    }

    /// The raw payload either way.
    pub fn payload(&self) -> &Bytes {
        match self {
            Outcome::Response(body) => body,
            Outcome::Error(error) => &error.body,
        }
    }
}

/// An invocation or init error as the runtime client reported it.
#[derive(Debug, Clone)]
pub struct FunctionError {
    /// `errorType` of the JSON body, when the body is the usual `{errorType, errorMessage}`.
    pub error_type: Option<String>,
    /// `errorMessage` of the JSON body.
    pub error_message: Option<String>,
    /// The `Lambda-Runtime-Function-Error-Type` header.
    pub header_error_type: Option<String>,
    /// The body as sent.
    pub body: Bytes,
}

impl FunctionError {
    fn parse(header_error_type: Option<String>, body: Bytes) -> Self {
        let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        let field = |name: &str| {
            json.as_ref()
                .and_then(|v| v.get(name))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        Self {
            error_type: field("errorType"),
            error_message: field("errorMessage"),
            header_error_type,
            body,
        }
    }
}

/// What a finished bootstrap left behind.
#[derive(Debug, Clone)]
pub struct Report {
    /// From spawn to the first `next` request.
    pub init_duration: Duration,
    /// Peak resident set (`VmHWM`) just before it was stopped, in KiB.
    pub peak_rss_kib: Option<u64>,
    /// How it ended (killed by the harness, usually).
    pub exit: Option<ExitStatus>,
    /// Every line it wrote, in the order read per stream.
    pub logs: Vec<LogLine>,
}

/// Which pipe a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// Standard output (where `lambda_runtime`'s subscriber writes).
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line the bootstrap wrote (invalid UTF-8 replaced, newline removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The pipe.
    pub stream: LogStream,
    /// The text.
    pub text: String,
}

/// Why the harness could not run the bootstrap or an invocation.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// No port for the Runtime API.
    #[error("cannot serve the Runtime API on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    /// The bootstrap could not be started.
    #[error("cannot spawn {}: {source}", bootstrap.display())]
    Spawn {
        /// The binary.
        bootstrap: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The bootstrap posted `…/init/error`.
    #[error("the bootstrap reported an init error: {:?}", error.as_ref().map(|e| &e.body))]
    InitFailed {
        /// What it posted.
        error: Option<FunctionError>,
        /// How it ended.
        exit: Option<ExitStatus>,
        /// What it wrote.
        logs: Vec<LogLine>,
    },
    /// The bootstrap exited on its own.
    #[error("the bootstrap exited during {during} ({status:?})")]
    Exited {
        /// `init` or `an invocation`.
        during: &'static str,
        /// Its exit status.
        status: Option<ExitStatus>,
        /// What it wrote.
        logs: Vec<LogLine>,
    },
    /// No `next` request within the init timeout.
    #[error("the bootstrap did not ask for an event within {after:?}")]
    InitTimeout {
        /// The init timeout.
        after: Duration,
        /// What it wrote.
        logs: Vec<LogLine>,
    },
    /// No result within the function timeout.
    #[error("invocation {request_id} did not finish within {after:?}")]
    InvokeTimeout {
        /// The invocation.
        request_id: String,
        /// The function timeout.
        after: Duration,
        /// What it wrote so far.
        logs: Vec<LogLine>,
    },
    /// The Runtime API task ended, which only a bug in the harness can cause.
    #[error("the Runtime API server stopped")]
    ServerGone,
}

impl HarnessError {
    /// The bootstrap's output captured with the error, if any.
    pub fn logs(&self) -> &[LogLine] {
        match self {
            HarnessError::InitFailed { logs, .. }
            | HarnessError::Exited { logs, .. }
            | HarnessError::InitTimeout { logs, .. }
            | HarnessError::InvokeTimeout { logs, .. } => logs,
            _ => &[],
        }
    }
}

/// The peak resident set of a process (`VmHWM` of `/proc/<pid>/status`), in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The median of some durations (the mean of the middle two for an even count); zero for none.
pub fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

/// An event waiting for the bootstrap's `next`.
#[derive(Debug)]
struct Pending {
    request_id: String,
    body: Bytes,
    deadline_ms: u64,
    reply: oneshot::Sender<(Outcome, Duration)>,
}

/// An event handed over, waiting for its result.
struct InFlight {
    delivered_at: Instant,
    reply: oneshot::Sender<(Outcome, Duration)>,
}

/// The Runtime API's state, shared by its connections.
struct Api {
    events: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
    ready: Mutex<Option<oneshot::Sender<Instant>>>,
    init_error: Mutex<Option<oneshot::Sender<FunctionError>>>,
    in_flight: Mutex<HashMap<String, InFlight>>,
    function_arn: String,
}

/// Aborts a task when dropped, so a dropped [`Running`] leaves no server behind.
#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind; keep going.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads a pipe line by line into `logs` until EOF.
async fn collect_lines(
    pipe: impl AsyncRead + Unpin,
    stream: LogStream,
    logs: Arc<Mutex<Vec<LogLine>>>,
) {
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\n', '\r']).to_owned();
                lock(&logs).push(LogLine { stream, text });
            }
        }
    }
}

/// Accepts connections until aborted; dropping the set aborts every connection with it.
async fn serve(listener: TcpListener, api: Arc<Api>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let api = api.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req| route(api.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
}

type ApiResponse = Response<Full<Bytes>>;

fn reply(status: StatusCode, body: &str) -> ApiResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = status;
    response
}

async fn route(api: Arc<Api>, req: Request<Incoming>) -> Result<ApiResponse, Infallible> {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(API) else {
        return Ok(reply(StatusCode::NOT_FOUND, r#"{"errorType":"NotFound"}"#));
    };
    let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    let response = match (req.method(), parts.as_slice()) {
        (&Method::GET, ["invocation", "next"]) => next(&api).await,
        (&Method::POST, ["invocation", id, kind @ ("response" | "error")]) => {
            let id = (*id).to_owned();
            let is_error = *kind == "error";
            result(&api, req, id, is_error).await
        }
        (&Method::POST, ["init", "error"]) => init_error(&api, req).await,
        _ => reply(StatusCode::NOT_FOUND, r#"{"errorType":"NotFound"}"#),
    };
    Ok(response)
}

/// `GET …/invocation/next`: marks the end of init, then waits for the next event.
async fn next(api: &Api) -> ApiResponse {
    let ready = lock(&api.ready).take();
    if let Some(ready) = ready {
        let _ = ready.send(Instant::now());
    }
    let Some(event) = api.events.lock().await.recv().await else {
        // The harness is gone: the process is about to be killed; never answer.
        return std::future::pending().await;
    };
    lock(&api.in_flight).insert(
        event.request_id.clone(),
        InFlight {
            delivered_at: Instant::now(),
            reply: event.reply,
        },
    );
    let mut response = Response::new(Full::new(event.body));
    let headers = response.headers_mut();
    let values = [
        ("lambda-runtime-aws-request-id", event.request_id.clone()),
        ("lambda-runtime-deadline-ms", event.deadline_ms.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            api.function_arn.clone(),
        ),
        (
            "lambda-runtime-trace-id",
            format!(
                "Root=1-00000000-{:0>24};Parent=0000000000000001;Sampled=0",
                event.request_id.replace('-', "").get(..24).unwrap_or("0")
            ),
        ),
        ("content-type", "application/json".into()),
    ];
    for (name, value) in values {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    }
    response
}

/// Reads a body of at most [`MAX_PAYLOAD_BYTES`].
async fn read_body(req: Request<Incoming>) -> Result<(Option<String>, Bytes), ApiResponse> {
    let error_type = req
        .headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match Limited::new(req.into_body(), MAX_PAYLOAD_BYTES)
        .collect()
        .await
    {
        Ok(body) => Ok((error_type, body.to_bytes())),
        Err(_) => Err(reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            r#"{"errorType":"RequestEntityTooLarge"}"#,
        )),
    }
}

/// `POST …/invocation/{id}/response` and `…/error`.
async fn result(api: &Api, req: Request<Incoming>, id: String, is_error: bool) -> ApiResponse {
    let (error_type, body) = match read_body(req).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let Some(in_flight) = lock(&api.in_flight).remove(&id) else {
        return reply(
            StatusCode::BAD_REQUEST,
            r#"{"errorType":"InvalidRequestID"}"#,
        );
    };
    let duration = in_flight.delivered_at.elapsed();
    let outcome = if is_error {
        Outcome::Error(FunctionError::parse(error_type, body))
    } else {
        Outcome::Response(body)
    };
    let _ = in_flight.reply.send((outcome, duration));
    reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
}

/// `POST …/init/error`.
async fn init_error(api: &Api, req: Request<Incoming>) -> ApiResponse {
    let (error_type, body) = match read_body(req).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let sender = lock(&api.init_error).take();
    if let Some(sender) = sender {
        let _ = sender.send(FunctionError::parse(error_type, body));
    }
    reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let ms = Duration::from_millis;
        assert_eq!(median(&[ms(5), ms(1), ms(3)]), ms(3));
        assert_eq!(
            median(&[ms(4), ms(1), ms(3), ms(2)]),
            Duration::from_micros(2500)
        );
        assert_eq!(median(&[]), Duration::ZERO);
    }

    #[test]
    fn error_payload_fields_are_read_from_the_usual_shape_only() {
        let e = FunctionError::parse(
            Some("Unhandled".into()),
            Bytes::from_static(br#"{"errorType":"Retryable.X","errorMessage":"boom"}"#),
        );
        assert_eq!(e.error_type.as_deref(), Some("Retryable.X"));
        assert_eq!(e.error_message.as_deref(), Some("boom"));
        assert_eq!(e.header_error_type.as_deref(), Some("Unhandled"));
        let e = FunctionError::parse(None, Bytes::from_static(b"not json"));
        assert_eq!((e.error_type, e.error_message), (None, None));
        assert_eq!(&e.body[..], b"not json");
    }

    #[test]
    fn callers_variables_override_lambdas() {
        let f = Function::new("/opt/fn/bootstrap")
            .name("start")
            .env("AWS_REGION", "eu-west-1")
            .env("X", "1");
        let env = f.environment(SocketAddr::from(([127, 0, 0, 1], 9001)));
        let last = |key: &str| {
            env.iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.to_string_lossy().into_owned())
        };
        assert_eq!(
            last("AWS_LAMBDA_RUNTIME_API").as_deref(),
            Some("127.0.0.1:9001")
        );
        assert_eq!(last("AWS_REGION").as_deref(), Some("eu-west-1"));
        assert_eq!(last("LAMBDA_TASK_ROOT").as_deref(), Some("/opt/fn"));
        assert_eq!(last("AWS_LAMBDA_FUNCTION_NAME").as_deref(), Some("start"));
        assert_eq!(last("X").as_deref(), Some("1"));
    }

    #[test]
    fn peak_rss_of_this_process_is_readable() {
        let kib = peak_rss_kib(std::process::id()).expect("Linux /proc");
        assert!(kib > 0);
        assert_eq!(peak_rss_kib(u32::MAX), None);
    }
}
