//! The library entry point: [`LocalA2i::builder`] configures and starts a local A2I runtime
//! plus embedded S3; the [`LocalA2iHandle`] it returns gives the endpoints, ready-made SDK
//! clients, the reviewer's actions and shutdown.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Region, SharedCredentialsProvider};
use hyper::service::service_fn;

use crate::background::Background;
use crate::builtin::recorded::RecordedAnalyses;
use crate::builtin::BuiltinContext;
use crate::control::PendingLoop;
use crate::engine::{AnswerProgress, Ended, Engine, EngineError, EngineSettings};
use crate::events::{Deliverer, DeliveryOutcome, RetryPolicy};
use crate::faults::{FaultConfig, FaultStats, Faults};
use crate::flows::SharedFlowLookup;
use crate::loops::{FailureCode, LoopError, LoopRecord, NewLoop, Store};
use crate::output::{OutputWriter, S3Location, WorkerAnswer};
use crate::runtime::routes::PortServices;
use crate::s3::{Credentials, EmbeddedS3, S3SetupError};
use crate::s3_notify::{InputNotifications, S3Front};
use crate::sagemaker::render::Renderer;
use crate::sagemaker::{
    ControlPlane, ControlPlaneLimits, Resources, ResourcesError, SageMakerApi, SAGEMAKER_STATE_FILE,
};
use crate::server::{self, ServerHandle};
use crate::sinks::{CallbackSink, EventCallback, EventSink, HttpSink, JsonLinesSink};

/// The default region.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The default account (used for [`LocalA2iHandle::flow_definition_arn`]).
pub const DEFAULT_ACCOUNT: &str = "111122223333";
/// The default output path (the flow definition's `S3OutputPath`).
pub const DEFAULT_OUTPUT_PATH: &str = "s3://a2i-local-output";
/// The name of the loop snapshot inside the data directory; the loop journal sits next to it
/// as `a2i-local-state.journal` (see the `loops::persist` module).
pub const STATE_FILE: &str = "a2i-local-state.json";
/// The S3 directory inside the data directory.
pub const S3_DIR: &str = "s3";

/// Namespace of the builder.
#[derive(Debug)]
pub struct LocalA2i;

impl LocalA2i {
    /// A builder with every default: loopback, random ports, in-memory state in a temp
    /// directory, region `us-east-1`, output to `s3://a2i-local-output`, no sinks, no faults.
    pub fn builder() -> LocalA2iBuilder {
        LocalA2iBuilder::default()
    }
}

/// Why a2i-local could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is not usable.
    #[error("invalid setting: {0}")]
    Config(String),
    /// A port could not be bound.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The data or temp directory is not usable.
    #[error("the data directory is not usable: {0}")]
    DataDir(String),
    /// The state file cannot be loaded.
    #[error(transparent)]
    State(#[from] crate::loops::store::OpenError),
    /// The embedded S3 could not be set up.
    #[error(transparent)]
    S3(#[from] S3SetupError),
    /// The control plane's state file cannot be loaded.
    #[error("the control plane state cannot be loaded: {0}")]
    ControlPlane(#[from] crate::sagemaker::StateError),
    /// The resources to create at start are not usable.
    #[error("resources: {0}")]
    Resources(#[from] ResourcesError),
}

/// S3 notification sinks need pipeline mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "no input path is configured; start with LocalA2iBuilder::input_path to get S3 notifications"
)]
pub struct NoInputPath;

/// Configures a local A2I runtime. Every setting has a default; see [`LocalA2i::builder`].
pub struct LocalA2iBuilder {
    bind_ip: IpAddr,
    a2i_port: u16,
    s3_port: u16,
    data_dir: Option<PathBuf>,
    region: String,
    account: String,
    credentials: Credentials,
    output_path: String,
    status_sinks: Vec<Arc<dyn EventSink>>,
    status_urls: Vec<String>,
    input_path: Option<String>,
    s3_sinks: Vec<Arc<dyn EventSink>>,
    s3_urls: Vec<String>,
    s3_configuration_id: String,
    extra_buckets: Vec<String>,
    faults: FaultConfig,
    stopping_delay: Duration,
    retry: RetryPolicy,
    http_sink_timeout: Duration,
    tcp_nodelay: bool,
    strict: bool,
    resources: Resources,
    resources_files: Vec<PathBuf>,
    control_plane_limits: ControlPlaneLimits,
    reviewed_results: Option<crate::portal::ReviewedResultLocator>,
    portal_time_limit: Option<Duration>,
    flow_lookup: Option<SharedFlowLookup>,
    strict_flow_definitions: bool,
    recorded: RecordedAnalyses,
}

impl Default for LocalA2iBuilder {
    fn default() -> Self {
        Self {
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            a2i_port: 0,
            s3_port: 0,
            data_dir: None,
            region: DEFAULT_REGION.to_owned(),
            account: DEFAULT_ACCOUNT.to_owned(),
            credentials: Credentials::default(),
            output_path: DEFAULT_OUTPUT_PATH.to_owned(),
            status_sinks: Vec::new(),
            status_urls: Vec::new(),
            input_path: None,
            s3_sinks: Vec::new(),
            s3_urls: Vec::new(),
            s3_configuration_id: "a2i-local-input".to_owned(),
            extra_buckets: Vec::new(),
            faults: FaultConfig::default(),
            stopping_delay: Duration::ZERO,
            retry: RetryPolicy::default(),
            http_sink_timeout: Duration::from_secs(300),
            tcp_nodelay: true,
            strict: false,
            resources: Resources::new(),
            resources_files: Vec::new(),
            control_plane_limits: ControlPlaneLimits::default(),
            reviewed_results: None,
            portal_time_limit: None,
            flow_lookup: None,
            strict_flow_definitions: false,
            recorded: RecordedAnalyses::empty(),
        }
    }
}

impl std::fmt::Debug for LocalA2iBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalA2iBuilder")
            .field("bind_ip", &self.bind_ip)
            .field("a2i_port", &self.a2i_port)
            .field("s3_port", &self.s3_port)
            .field("data_dir", &self.data_dir)
            .field("region", &self.region)
            .field("output_path", &self.output_path)
            .field("input_path", &self.input_path)
            .field("strict", &self.strict)
            .field("resources_files", &self.resources_files)
            .field("flow_lookup", &self.flow_lookup)
            .field("strict_flow_definitions", &self.strict_flow_definitions)
            .finish_non_exhaustive()
    }
}

impl LocalA2iBuilder {
    /// The address both ports bind to; loopback by default, since the server has no
    /// authentication worth the name.
    pub fn bind_ip(mut self, ip: IpAddr) -> Self {
        self.bind_ip = ip;
        self
    }

    /// The A2I port (0, the default, picks a free one).
    pub fn a2i_port(mut self, port: u16) -> Self {
        self.a2i_port = port;
        self
    }

    /// The S3 port (0, the default, picks a free one).
    pub fn s3_port(mut self, port: u16) -> Self {
        self.s3_port = port;
        self
    }

    /// Keeps loops (`a2i-local-state.json` and `a2i-local-state.journal`) and S3 objects
    /// (`s3/`) in `dir`, so they survive a restart, even a crash: every loop change is durable
    /// before it is answered. Without it, everything lives in a temp directory removed at
    /// shutdown.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// The region used where a flow-definition ARN has none, for S3 events and for clients.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// The account of [`LocalA2iHandle::flow_definition_arn`].
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = account.into();
        self
    }

    /// The credential pair S3 clients must sign with (the A2I port does not check signatures).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Where output.json files of loops without a flow definition go (implicitly registered
    /// flow definitions, see [`LocalA2iBuilder::flow_lookup`]), `s3://bucket[/prefix]`. The
    /// bucket is created at start.
    pub fn output_path(mut self, path: impl Into<String>) -> Self {
        self.output_path = path.into();
        self
    }

    /// Adds a sink for status-change events.
    pub fn event_sink(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.status_sinks.push(sink);
        self
    }

    /// Adds an HTTP URL that receives status-change events (checked at start).
    pub fn event_url(mut self, url: impl Into<String>) -> Self {
        self.status_urls.push(url.into());
        self
    }

    /// Adds a JSON Lines file that receives status-change events.
    pub fn event_file(self, path: impl Into<PathBuf>) -> Self {
        self.event_sink(Arc::new(JsonLinesSink::new(path)))
    }

    /// Adds an in-process function that receives status-change events (the pipeline sets
    /// the real status handler here).
    pub fn event_callback(self, name: impl Into<String>, callback: EventCallback) -> Self {
        self.event_sink(Arc::new(CallbackSink::new(name, callback)))
    }

    /// Pipeline mode: objects created over HTTP under `path` (`s3://bucket[/prefix]`)
    /// produce S3 event notifications for the S3 sinks. The bucket is created at start.
    pub fn input_path(mut self, path: impl Into<String>) -> Self {
        self.input_path = Some(path.into());
        self
    }

    /// Adds a sink for S3 event notifications.
    pub fn s3_event_sink(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.s3_sinks.push(sink);
        self
    }

    /// Adds an HTTP URL that receives S3 event notifications (checked at start).
    pub fn s3_event_url(mut self, url: impl Into<String>) -> Self {
        self.s3_urls.push(url.into());
        self
    }

    /// Adds a JSON Lines file that receives S3 event notifications.
    pub fn s3_event_file(self, path: impl Into<PathBuf>) -> Self {
        self.s3_event_sink(Arc::new(JsonLinesSink::new(path)))
    }

    /// Adds an in-process function that receives S3 event notifications (the pipeline sets
    /// the real start handler here).
    pub fn s3_event_callback(self, name: impl Into<String>, callback: EventCallback) -> Self {
        self.s3_event_sink(Arc::new(CallbackSink::new(name, callback)))
    }

    /// The `configurationId` of S3 notifications.
    pub fn s3_configuration_id(mut self, id: impl Into<String>) -> Self {
        self.s3_configuration_id = id.into();
        self
    }

    /// Creates `bucket` at start as well.
    pub fn bucket(mut self, bucket: impl Into<String>) -> Self {
        self.extra_buckets.push(bucket.into());
        self
    }

    /// Fault knobs for the A2I operations.
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }

    /// Keeps stopped loops `Stopping` for `delay` before they become `Stopped` (default:
    /// zero, they stop at once, as A2I does when no worker has started).
    pub fn stopping_delay(mut self, delay: Duration) -> Self {
        self.stopping_delay = delay;
        self
    }

    /// How event deliveries are retried (default: 3 attempts, 100 ms backoff doubling).
    pub fn delivery_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// How long an HTTP sink may take to answer (default 300 s: a first `cargo lambda watch`
    /// invoke compiles the function).
    pub fn http_sink_timeout(mut self, timeout: Duration) -> Self {
        self.http_sink_timeout = timeout;
        self
    }

    /// Whether accepted connections of both ports get TCP_NODELAY (default: true). A
    /// benchmarking knob: turning it off brings back the ~40 ms stall of responses written in
    /// two parts (Nagle's algorithm meeting the client's delayed ACK), to measure it.
    pub fn tcp_nodelay(mut self, on: bool) -> Self {
        self.tcp_nodelay = on;
        self
    }

    /// Strict mode (default off): StartHumanLoop on a flow definition that does not exist on
    /// the control plane is a `ResourceNotFoundException`, as in A2I. Off, such a flow
    /// definition is taken as given, with the server's output path and one worker per loop.
    pub fn strict(mut self, on: bool) -> Self {
        self.strict = on;
        self
    }

    /// Creates the task UIs and flow definitions of a resources file at start (repeatable;
    /// format in the crate docs). Idempotent across restarts: unchanged resources are kept,
    /// changed ones replaced.
    pub fn resources_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.resources_files.push(path.into());
        self
    }

    /// Creates these task UIs and flow definitions at start (as [`Self::resources_file`]).
    pub fn resources(mut self, resources: Resources) -> Self {
        self.resources = std::mem::take(&mut self.resources).merge(resources);
        self
    }

    /// How many task UIs and flow definitions the control plane holds at most (default 1000
    /// each); past them, Create answers `ResourceLimitExceeded`.
    pub fn control_plane_limits(mut self, limits: ControlPlaneLimits) -> Self {
        self.control_plane_limits = limits;
        self
    }

    /// Where the reviewed result of a completed loop is (bucket, key), so the worker portal
    /// links a finished task to it (the app's status handler decides the layout).
    pub fn reviewed_results(mut self, locate: crate::portal::ReviewedResultLocator) -> Self {
        self.reviewed_results = Some(locate);
        self
    }

    /// The worker portal's hold time limit for every task, instead of each flow definition's
    /// `TaskTimeLimitInSeconds` (tests use a few seconds).
    pub fn portal_task_time_limit(mut self, limit: Duration) -> Self {
        self.portal_time_limit = Some(limit);
        self
    }

    /// Where StartHumanLoop finds flow definitions (the control plane's store, or a
    /// [`crate::StaticFlows`]). A loop captures its flow definition's policy when it starts:
    /// output under its `S3OutputPath`, completion after `TaskCount` distinct workers,
    /// expiry after `TaskAvailabilityLifetimeInSeconds`. Without a lookup, or for a flow
    /// definition the lookup does not know, see
    /// [`LocalA2iBuilder::strict_flow_definitions`].
    pub fn flow_lookup(mut self, lookup: SharedFlowLookup) -> Self {
        self.flow_lookup = Some(lookup);
        self
    }

    /// StartHumanLoop (and ListHumanLoops) on a flow definition the lookup does not know
    /// answers `ResourceNotFoundException` (404) when `true`. When `false` (the default) the
    /// flow definition is registered implicitly, a local convenience: output under
    /// [`LocalA2iBuilder::output_path`], TaskCount 1, a task time limit of 3600 s and an
    /// availability lifetime of 864,000 s (10 days).
    pub fn strict_flow_definitions(mut self, strict: bool) -> Self {
        self.strict_flow_definitions = strict;
        self
    }

    /// Model answers the built-in task types (Textract `AnalyzeDocument`, Rekognition
    /// `DetectModerationLabels`) replay; see [`RecordedAnalyses`] for the file format.
    pub fn recorded_analyses(mut self, recorded: RecordedAnalyses) -> Self {
        self.recorded = recorded;
        self
    }

    /// Starts both ports and returns once they accept connections.
    pub async fn start(self) -> Result<LocalA2iHandle, StartError> {
        let mut resources = self.resources.clone();
        for file in &self.resources_files {
            resources = resources.merge(Resources::from_file(file)?);
        }
        self.faults
            .validate()
            .map_err(|e| StartError::Config(e.to_string()))?;
        let output = S3Location::parse(&self.output_path)
            .map_err(|e| StartError::Config(format!("output path: {e}")))?;
        let input = self
            .input_path
            .as_deref()
            .map(S3Location::parse)
            .transpose()
            .map_err(|e| StartError::Config(format!("input path: {e}")))?;
        let mut status_sinks = self.status_sinks;
        for url in &self.status_urls {
            let sink = HttpSink::new(url, self.http_sink_timeout)
                .map_err(|e| StartError::Config(e.to_string()))?;
            status_sinks.push(Arc::new(sink));
        }
        let mut s3_sinks = self.s3_sinks;
        for url in &self.s3_urls {
            let sink = HttpSink::new(url, self.http_sink_timeout)
                .map_err(|e| StartError::Config(e.to_string()))?;
            s3_sinks.push(Arc::new(sink));
        }

        let (temp_dir, data_dir, store) = match &self.data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StartError::DataDir(format!("{}: {e}", dir.display())))?;
                let store = Store::open(dir.join(STATE_FILE), self.region.clone(), &output)?;
                (None, dir.clone(), store)
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("a2i-local-")
                    .tempdir()
                    .map_err(|e| StartError::DataDir(e.to_string()))?;
                let dir = temp.path().to_owned();
                (Some(temp), dir, Store::in_memory(self.region.clone()))
            }
        };

        let control_plane = Arc::new(match &self.data_dir {
            Some(dir) => ControlPlane::open(
                dir.join(SAGEMAKER_STATE_FILE),
                &self.region,
                &self.account,
                self.control_plane_limits,
            )?,
            None => ControlPlane::in_memory(&self.region, &self.account, self.control_plane_limits),
        });

        let s3 = EmbeddedS3::new(
            &data_dir.join(S3_DIR),
            self.credentials.clone(),
            &self.region,
        )?;
        s3.ensure_bucket(&output.bucket).await?;
        if let Some(input) = &input {
            s3.ensure_bucket(&input.bucket).await?;
        }
        for bucket in &self.extra_buckets {
            s3.ensure_bucket(bucket).await?;
        }

        let background = Background::new();
        let engine = Arc::new(Engine::new(
            store,
            OutputWriter::new(s3.in_process_client(), output),
            Deliverer::new(status_sinks, self.retry),
            background.clone(),
            Faults::new(self.faults),
            EngineSettings {
                default_region: self.region.clone(),
                stopping_delay: self.stopping_delay,
                // The control plane's flow definitions govern loops unless a lookup is given.
                flows: Some(
                    self.flow_lookup
                        .clone()
                        .unwrap_or_else(|| Arc::clone(&control_plane) as SharedFlowLookup),
                ),
                strict_flow_definitions: self.strict_flow_definitions || self.strict,
            },
        ));
        let notifications = input.map(|location| {
            Arc::new(InputNotifications::new(
                location,
                Arc::new(Deliverer::new(s3_sinks, self.retry)),
                s3.in_process_client(),
                background.clone(),
                self.region.clone(),
                self.s3_configuration_id.clone(),
            ))
        });

        let a2i_addr = SocketAddr::new(self.bind_ip, self.a2i_port);
        let a2i_listener = server::bind(a2i_addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: a2i_addr,
                source,
            })?;
        let s3_addr = SocketAddr::new(self.bind_ip, self.s3_port);
        let s3_listener = server::bind(s3_addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: s3_addr,
                source,
            })?;

        let a2i_local_addr = a2i_listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                addr: a2i_addr,
                source,
            })?;
        let s3_local_addr = s3_listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                addr: s3_addr,
                source,
            })?;
        // RenderUiTemplate's grant_read_access: presigned URLs to this server's S3 port.
        let renderer = Renderer::new(Arc::new(crate::render::S3Presigner::new(
            format!("http://{s3_local_addr}"),
            self.credentials.clone(),
            self.region.clone(),
        )));
        let sagemaker = Arc::new(SageMakerApi::new(
            Arc::clone(&control_plane),
            Some(s3.clone()),
            renderer,
            format!("http://{a2i_local_addr}"),
        ));
        // Before serving, so the first request already sees them.
        let created = resources.apply(&sagemaker).await?;
        if !resources.is_empty() {
            tracing::info!(
                created_or_replaced = created,
                "control plane resources applied"
            );
        }
        let builtin = Arc::new(BuiltinContext {
            recorded: Arc::new(self.recorded),
            flows: Some(
                self.flow_lookup
                    .clone()
                    .unwrap_or_else(|| Arc::clone(&control_plane) as SharedFlowLookup),
            ),
            s3: s3.in_process_client(),
            region: self.region.clone(),
        });
        let portal = Arc::new(crate::portal::Portal::new(
            Arc::clone(&engine),
            Arc::clone(&control_plane),
            Arc::new(crate::render::S3Presigner::new(
                format!("http://{s3_local_addr}"),
                self.credentials.clone(),
                self.region.clone(),
            )),
            self.reviewed_results.clone(),
            self.portal_time_limit,
        ));
        let port_services = Arc::new(PortServices {
            engine: Arc::clone(&engine),
            sagemaker: Arc::clone(&sagemaker),
            builtin,
            portal,
        });
        let a2i_server = server::serve("a2i", a2i_listener, self.tcp_nodelay, move |_remote| {
            let services = Arc::clone(&port_services);
            service_fn(move |request| {
                let services = Arc::clone(&services);
                async move { Ok::<_, Infallible>(crate::runtime::handle(services, request).await) }
            })
        })
        .map_err(|source| StartError::Bind {
            addr: a2i_addr,
            source,
        })?;
        let s3_service = s3.service();
        let s3_notifications = notifications.clone();
        let s3_server = server::serve("s3", s3_listener, self.tcp_nodelay, move |remote| {
            S3Front::new(s3_service.clone(), s3_notifications.clone(), remote)
        })
        .map_err(|source| StartError::Bind {
            addr: s3_addr,
            source,
        })?;

        // Events a previous run could not deliver go out now that sinks may be back.
        engine.deliver_pending();
        // Loops recovered from the data directory expire on their original deadlines
        // (overdue ones at once).
        engine.start_expiry_timer();

        let handle = LocalA2iHandle {
            engine,
            sagemaker,
            strict: self.strict,
            s3,
            notifications,
            a2i_server: Some(a2i_server),
            s3_server: Some(s3_server),
            region: self.region,
            account: self.account,
            credentials: self.credentials,
            data_dir,
            persistent: self.data_dir.is_some(),
            _temp_dir: temp_dir,
        };
        tracing::info!(
            a2i_endpoint = %handle.a2i_endpoint(),
            s3_endpoint = %handle.s3_endpoint(),
            data_dir = %handle.data_dir.display(),
            persistent = handle.persistent,
            "a2i-local started"
        );
        Ok(handle)
    }
}

impl Drop for LocalA2iHandle {
    fn drop(&mut self) {
        // Background work may keep the engine alive a little longer; its loops must not
        // expire behind a server started next on the same data directory.
        self.engine.stop_expiry_timer();
    }
}

/// A running a2i-local. Dropping it stops accepting connections; call
/// [`LocalA2iHandle::shutdown`] to also drain connections and pending deliveries.
#[derive(Debug)]
pub struct LocalA2iHandle {
    engine: Arc<Engine>,
    sagemaker: Arc<SageMakerApi>,
    strict: bool,
    s3: EmbeddedS3,
    notifications: Option<Arc<InputNotifications>>,
    a2i_server: Option<ServerHandle>,
    s3_server: Option<ServerHandle>,
    region: String,
    account: String,
    credentials: Credentials,
    data_dir: PathBuf,
    persistent: bool,
    _temp_dir: Option<tempfile::TempDir>,
}

impl LocalA2iHandle {
    /// The A2I port's address.
    pub fn a2i_addr(&self) -> SocketAddr {
        self.a2i_server
            .as_ref()
            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), ServerHandle::addr)
    }

    /// The worker portal's URL (`http://<ip>:<port>/_local/portal/`).
    pub fn portal_url(&self) -> String {
        format!("{}{}/", self.a2i_endpoint(), crate::portal::PORTAL_PREFIX)
    }

    /// The S3 port's address.
    pub fn s3_addr(&self) -> SocketAddr {
        self.s3_server
            .as_ref()
            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), ServerHandle::addr)
    }

    /// `http://<ip>:<port>` of the A2I runtime (and the control surface under `/_local/`).
    pub fn a2i_endpoint(&self) -> String {
        format!("http://{}", self.a2i_addr())
    }

    /// `http://<ip>:<port>` of the embedded S3 (path-style).
    pub fn s3_endpoint(&self) -> String {
        format!("http://{}", self.s3_addr())
    }

    /// `http://<ip>:<port>` of the SageMaker control plane (awsJson, `X-Amz-Target:
    /// SageMaker.*`): the A2I port, which serves both.
    pub fn sagemaker_endpoint(&self) -> String {
        self.a2i_endpoint()
    }

    /// Whether strict mode is on (see [`LocalA2iBuilder::strict`]).
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// The control plane's flow definitions, as loops see them: the policy of an existing
    /// flow definition by name.
    pub fn flow_lookup(&self) -> SharedFlowLookup {
        Arc::clone(self.sagemaker.plane()) as SharedFlowLookup
    }

    /// The ARN of the task UI called `name` on this server (whether or not it exists).
    pub fn human_task_ui_arn(&self, name: &str) -> String {
        self.sagemaker.plane().human_task_ui_arn(name)
    }

    /// Creates (or keeps, or replaces) task UIs and flow definitions on the running server,
    /// as at start; returns how many were created or replaced.
    pub async fn apply_resources(&self, resources: &Resources) -> Result<usize, ResourcesError> {
        resources.apply(&self.sagemaker).await
    }

    /// The presigner `grant_read_access` uses for this server: real SigV4 query-string
    /// presigned GET URLs to the embedded S3's endpoint, valid for
    /// [`crate::render::DEFAULT_PRESIGN_EXPIRY`], which the embedded S3 verifies (an
    /// expired or altered URL is refused with 403).
    pub fn presigner(&self) -> std::sync::Arc<dyn crate::render::Presign> {
        std::sync::Arc::new(crate::render::S3Presigner::new(
            self.s3_endpoint(),
            self.credentials.clone(),
            self.region.clone(),
        ))
    }

    /// The default region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The default account.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The credentials clients sign with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Where state and S3 objects live.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// A flow-definition ARN in the default region and account:
    /// `arn:aws:sagemaker:<region>:<account>:flow-definition/<name>`.
    pub fn flow_definition_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:sagemaker:{}:{}:flow-definition/{name}",
            self.region, self.account
        )
    }

    /// The output location of loops whose flow definition was registered implicitly.
    pub fn output_location(&self) -> &S3Location {
        self.engine.output().location()
    }

    /// The watched input location, in pipeline mode.
    pub fn input_location(&self) -> Option<&S3Location> {
        self.notifications
            .as_deref()
            .map(InputNotifications::location)
    }

    /// An SDK config with the region and credentials but no endpoint, for code that
    /// builds clients from a shared config (set the endpoints per service).
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .credentials_provider(SharedCredentialsProvider::new(self.credentials.to_sdk()))
            .build()
    }

    /// A config builder for the A2I runtime client pointed at this server (adjust, for
    /// example, the retry config before building).
    ///
    /// The client gets a retry partition of its own: the SDK's retry budget is process-wide per
    /// partition, so without it one server's throttling knob would drain the retries of every
    /// other server (and test) in the process.
    pub fn a2i_config(&self) -> aws_sdk_sagemakera2iruntime::config::Builder {
        aws_sdk_sagemakera2iruntime::Config::builder()
            .retry_partition(
                aws_sdk_sagemakera2iruntime::config::retry::RetryPartition::new(format!(
                    "a2i-local-{}",
                    self.a2i_addr()
                )),
            )
            .behavior_version(aws_sdk_sagemakera2iruntime::config::BehaviorVersion::latest())
            .region(aws_sdk_sagemakera2iruntime::config::Region::new(
                self.region.clone(),
            ))
            .credentials_provider(self.credentials.to_sdk())
            .endpoint_url(self.a2i_endpoint())
    }

    /// An A2I runtime client over HTTP.
    pub fn a2i_client(&self) -> aws_sdk_sagemakera2iruntime::Client {
        aws_sdk_sagemakera2iruntime::Client::from_conf(self.a2i_config().build())
    }

    /// A config builder for an S3 client over HTTP (path-style).
    pub fn s3_config(&self) -> aws_sdk_s3::config::Builder {
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .credentials_provider(self.credentials.to_sdk())
            .endpoint_url(self.s3_endpoint())
            .force_path_style(true)
    }

    /// An S3 client over HTTP: what real clients see, including input notifications.
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(self.s3_config().build())
    }

    /// An S3 client on the same store without a port (no input notifications).
    pub fn s3_client_in_process(&self) -> aws_sdk_s3::Client {
        self.s3.in_process_client()
    }

    /// The variables that point the AWS SDKs (and `cargo lambda watch --env-file`) here.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME",
                self.a2i_endpoint(),
            ),
            ("AWS_ENDPOINT_URL_SAGEMAKER", self.sagemaker_endpoint()),
            ("AWS_ENDPOINT_URL_S3", self.s3_endpoint()),
            // The built-in task types' services answer on the A2I port.
            ("AWS_ENDPOINT_URL_TEXTRACT", self.a2i_endpoint()),
            ("AWS_ENDPOINT_URL_REKOGNITION", self.a2i_endpoint()),
            ("AWS_ACCESS_KEY_ID", self.credentials.access_key_id.clone()),
            (
                "AWS_SECRET_ACCESS_KEY",
                self.credentials.secret_access_key.clone(),
            ),
            ("AWS_REGION", self.region.clone()),
            // botocore and the AWS CLI v1 read only this one.
            ("AWS_DEFAULT_REGION", self.region.clone()),
        ]
    }

    /// Starts a loop in-process, as StartHumanLoop does but without the A2I port (and so
    /// without its fault knobs): the new loop, or the active one a same request found.
    pub async fn start_loop(&self, new: NewLoop) -> Result<LoopRecord, LoopError> {
        Ok(self.engine.start(new).await?.record().clone())
    }

    /// A loop as the runtime holds it (deleted loops are not found).
    pub fn human_loop(&self, name: &str) -> Result<LoopRecord, LoopError> {
        self.engine.store().get(name)
    }

    /// Loops waiting for review, oldest first, with their parsed input.
    pub fn pending(&self) -> Vec<PendingLoop> {
        self.engine
            .store()
            .waiting_for_review()
            .iter()
            .map(PendingLoop::from)
            .collect()
    }

    /// Answers a loop as one worker (one `humanAnswers[]` entry). A worker answers a loop
    /// once (a second answer is `LoopError::AlreadyAnswered`); when the loop has answers of
    /// its flow definition's TaskCount distinct workers it completes: output.json under the
    /// flow's `S3OutputPath`, Completed, the event delivered (`completed` is then set).
    /// Partial answers are journaled (kept across restarts with a data directory).
    pub async fn submit_answer(
        &self,
        name: &str,
        answer: WorkerAnswer,
    ) -> Result<AnswerProgress, EngineError> {
        self.engine
            .submit_answers(name, std::slice::from_ref(&answer))
            .await
    }

    /// Answers a loop as several workers at once (all answers recorded, or none). When the
    /// loop then has at least its TaskCount answers it completes: writes output.json with
    /// every answer, makes it Completed, delivers the event. With fewer answers than the
    /// TaskCount needs, the answers are recorded and the returned loop is still
    /// `InProgress` (no output, no deliveries). A batch is never split, so more answers
    /// than the TaskCount all go into output.json.
    pub async fn answer(&self, name: &str, answers: &[WorkerAnswer]) -> Result<Ended, EngineError> {
        self.engine.answer(name, answers).await
    }

    /// Fails a loop with a code and a reason, and delivers the event.
    pub async fn fail(
        &self,
        name: &str,
        code: FailureCode,
        reason: &str,
    ) -> Result<Ended, EngineError> {
        self.engine.fail(name, code, reason).await
    }

    /// Expires a loop (Failed with `Expired`), and delivers the event.
    pub async fn expire(&self, name: &str) -> Result<Ended, EngineError> {
        self.engine.expire(name, None).await
    }

    /// Stops a loop as StopHumanLoop does (its event is delivered in the background; see
    /// [`LocalA2iHandle::settled`]).
    pub async fn stop(&self, name: &str) -> Result<LoopRecord, LoopError> {
        self.engine.stop(name).await
    }

    /// Delivers a finished loop's event again.
    pub async fn redeliver(&self, name: &str) -> Result<Vec<DeliveryOutcome>, EngineError> {
        self.engine.redeliver(name).await
    }

    /// Every status-change delivery outcome so far.
    pub fn status_deliveries(&self) -> Vec<DeliveryOutcome> {
        self.engine.status_events().report()
    }

    /// Every S3 notification delivery outcome so far.
    pub fn s3_deliveries(&self) -> Vec<DeliveryOutcome> {
        self.notifications
            .as_ref()
            .map(|n| n.deliverer().report())
            .unwrap_or_default()
    }

    /// Adds a status-change sink to the running server (for handlers that need the
    /// server's endpoints, and so can only be built after start). Events delivered from now
    /// on reach it.
    pub fn add_event_sink(&self, sink: Arc<dyn EventSink>) {
        self.engine.status_events().add_sink(sink);
    }

    /// Adds an in-process status-change callback to the running server (the pipeline's
    /// status handler).
    pub fn add_event_callback(&self, name: impl Into<String>, callback: EventCallback) {
        self.add_event_sink(Arc::new(CallbackSink::new(name, callback)));
    }

    /// Adds an S3 notification sink to the running server; refused when no input path was
    /// configured, since no notification would ever reach it.
    pub fn add_s3_event_sink(&self, sink: Arc<dyn EventSink>) -> Result<(), NoInputPath> {
        let notifications = self.notifications.as_ref().ok_or(NoInputPath)?;
        notifications.deliverer().add_sink(sink);
        Ok(())
    }

    /// Adds an in-process S3 notification callback to the running server (the pipeline's
    /// start handler).
    pub fn add_s3_event_callback(
        &self,
        name: impl Into<String>,
        callback: EventCallback,
    ) -> Result<(), NoInputPath> {
        self.add_s3_event_sink(Arc::new(CallbackSink::new(name, callback)))
    }

    /// What the fault knobs did so far.
    pub fn fault_stats(&self) -> FaultStats {
        self.engine.faults().stats()
    }

    /// Waits until every background delivery (stop events, S3 notifications and whatever
    /// their handlers caused) has finished.
    pub async fn settled(&self) {
        self.engine.background().settled().await;
    }

    /// Stops both ports, drains open connections and waits (up to 30 s) for background
    /// deliveries; then removes the temp directory when no data directory was given.
    pub async fn shutdown(mut self) {
        self.engine.stop_expiry_timer();
        if let Some(server) = self.a2i_server.take() {
            server.shutdown().await;
        }
        if let Some(server) = self.s3_server.take() {
            server.shutdown().await;
        }
        if tokio::time::timeout(Duration::from_secs(30), self.settled())
            .await
            .is_err()
        {
            tracing::warn!(
                running = self.engine.background().running(),
                "background deliveries still running at shutdown"
            );
        }
        tracing::info!("a2i-local stopped");
    }
}
