//! The whole review pipeline in one process: a2i-local in pipeline mode, the real start
//! handlers (one per kind of input, chosen by key prefix; custom or raw-media mode) on its S3
//! notifications, and the real status handlers (one per deployment) on its status-change
//! events. The handlers talk to a2i-local through real SDK
//! clients over HTTP on loopback, exactly as the deployed functions talk to AWS.
//!
//! Used by `a2i-review demo` and by the pipeline tests. Each kind of input gets its own start
//! handler because a condition document reads one kind of output (a Rekognition condition
//! cannot judge a Textract form): in AWS that is one function, or one deployment, per prefix.
//!
//! Every invocation is kept in a journal ([`Pipeline::start_invocations`],
//! [`Pipeline::status_invocations`]), the way a Lambda's results and its on-failure
//! destination would be. A retryable failure is also answered to a2i-local as a failed
//! delivery, so the event is delivered again (Lambda retries asynchronous invocations); a
//! non-retryable one is only journaled, since the same event can never succeed.

use std::sync::{Arc, Mutex, MutexGuard};

use a2i_local::{
    EventCallback, LocalA2i, LocalA2iBuilder, LocalA2iHandle, NoInputPath, S3Location,
    StartError as LocalStartError,
};
use a2i_review::config::{StartConfig, StatusConfig};
use a2i_review::s3_event;
use a2i_review::start::{
    BuiltinClients, InitError, StartError as HandlerError, StartHandler, Summary,
};
use a2i_review::status::{StatusHandler, StatusOutcome};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sagemakera2iruntime::config::retry::RetryConfig;
use futures::future::BoxFuture;
use serde_json::Value;

/// One kind of input: the objects under `key_prefix` go to a start handler built from `config`.
#[derive(Debug, Clone)]
pub struct Route {
    /// A short name for reports (`moderation`).
    pub name: String,
    /// Key prefix inside the input bucket (`incoming/moderation/`); the longest matching
    /// prefix wins.
    pub key_prefix: String,
    /// The start handler's settings, as its environment would give them.
    pub config: StartConfig,
}

/// Why the pipeline could not be set up or used.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// a2i-local did not start (this includes an input path that is not an
    /// `s3://bucket[/prefix]` location).
    #[error("a2i-local could not start: {0}")]
    Local(#[from] LocalStartError),
    /// A start handler refused its configuration at "cold start".
    #[error("the start handler for {route} could not be built: {source}")]
    Handler {
        /// The route.
        route: String,
        /// The handler's error.
        source: InitError,
    },
    /// No start handler could be attached (cannot happen: pipeline mode is always on).
    #[error(transparent)]
    NoInputPath(#[from] NoInputPath),
    /// An S3 call of the pipeline itself failed.
    #[error("S3 {operation} s3://{bucket}/{key} failed: {detail}")]
    S3 {
        /// The operation.
        operation: &'static str,
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// The SDK's description.
        detail: String,
    },
    /// An object read back is not JSON.
    #[error("s3://{bucket}/{key} is not JSON: {detail}")]
    NotJson {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// The parser's message.
        detail: String,
    },
}

/// One invocation of a start handler.
#[derive(Debug, Clone)]
pub struct StartInvocation {
    /// The route whose handler ran.
    pub route: String,
    /// The decoded keys of the records it got.
    pub keys: Vec<String>,
    /// The event it got (only its route's records).
    pub event: Value,
    /// What it did; for a failed invocation, the summary its error carries.
    pub summary: Summary,
    /// The error, when the invocation failed.
    pub error: Option<String>,
    /// Whether the error may go away on a retry.
    pub retryable: bool,
}

/// One invocation of the status handler.
#[derive(Debug, Clone)]
pub struct StatusInvocation {
    /// `detail.humanLoopName` of the event, when present.
    pub loop_name: Option<String>,
    /// `detail.humanLoopStatus` of the event, when present.
    pub loop_status: Option<String>,
    /// What the handler did, or its error message.
    pub outcome: Result<StatusOutcome, String>,
    /// Whether the error may go away on a retry.
    pub retryable: bool,
}

/// A record that no route takes (its key matches no prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrouted {
    /// The key as decoded, or as sent when it cannot be decoded.
    pub key: String,
    /// Why it was not routed.
    pub reason: String,
}

/// Everything the handlers did, in order.
#[derive(Debug, Default)]
struct Journal {
    starts: Mutex<Vec<StartInvocation>>,
    statuses: Mutex<Vec<StatusInvocation>>,
    unrouted: Mutex<Vec<Unrouted>>,
}

/// Locks a journal list; a panic elsewhere cannot make the entries wrong, only incomplete.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Routes S3 notifications to the start handlers by key prefix.
#[derive(Debug)]
struct Router {
    /// Longest prefix first, so the most specific route wins.
    routes: Vec<(Route, StartHandler)>,
    journal: Arc<Journal>,
}

impl Router {
    /// Splits the event's records by route, invokes each route's handler with its records,
    /// and journals every invocation and every record no route takes.
    async fn dispatch(&self, event: &Value) -> Vec<StartInvocation> {
        let Some(records) = event.get("Records").and_then(Value::as_array) else {
            // No records (the s3:TestEvent, or no S3 event at all): every handler answers it
            // as it would in AWS, where each would be subscribed.
            let mut done = Vec::new();
            for (route, handler) in &self.routes {
                done.push(self.invoke(route, handler, event.clone(), Vec::new()).await);
            }
            return done;
        };
        let mut groups: Vec<(usize, Vec<Value>, Vec<String>)> = Vec::new();
        for record in records {
            let encoded = record
                .pointer("/s3/object/key")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let key = match s3_event::decode_key(encoded) {
                Ok(key) => key,
                Err(e) => {
                    self.unrouted(encoded, e.to_string());
                    continue;
                }
            };
            let Some(index) = self
                .routes
                .iter()
                .position(|(route, _)| key.starts_with(&route.key_prefix))
            else {
                self.unrouted(&key, "no route's key prefix matches".to_owned());
                continue;
            };
            match groups.iter_mut().find(|(i, _, _)| *i == index) {
                Some((_, group, keys)) => {
                    group.push(record.clone());
                    keys.push(key);
                }
                None => groups.push((index, vec![record.clone()], vec![key])),
            }
        }
        let mut done = Vec::with_capacity(groups.len());
        for (index, records, keys) in groups {
            let (route, handler) = &self.routes[index];
            let payload = serde_json::json!({ "Records": records });
            done.push(self.invoke(route, handler, payload, keys).await);
        }
        done
    }

    async fn invoke(
        &self,
        route: &Route,
        handler: &StartHandler,
        event: Value,
        keys: Vec<String>,
    ) -> StartInvocation {
        let result = handler.handle(&event).await;
        let retryable = result
            .as_ref()
            .err()
            .is_some_and(HandlerError::is_retryable);
        let (summary, error) = match result {
            Ok(summary) => (summary, None),
            Err(e) => {
                let summary = match &e {
                    HandlerError::ItemsFailed { summary } => summary.clone(),
                    HandlerError::NotAnS3Event(_) => Summary::default(),
                };
                (summary, Some(e.to_string()))
            }
        };
        let invocation = StartInvocation {
            route: route.name.clone(),
            keys,
            event,
            summary,
            error,
            retryable,
        };
        lock(&self.journal.starts).push(invocation.clone());
        invocation
    }

    fn unrouted(&self, key: &str, reason: String) {
        tracing::warn!(key, reason, "S3 record not routed to any start handler");
        lock(&self.journal.unrouted).push(Unrouted {
            key: key.to_owned(),
            reason,
        });
    }
}

/// Configures a [`Pipeline`].
#[derive(Debug)]
pub struct PipelineBuilder {
    local: LocalA2iBuilder,
    input_path: String,
    output_path: Option<String>,
    routes: Vec<Route>,
    status: Vec<StatusConfig>,
    a2i_retry: RetryConfig,
}

impl PipelineBuilder {
    /// A pipeline watching `input_path` (`s3://bucket[/prefix]`) whose status handler runs
    /// with `status`. The results bucket is created at start.
    pub fn new(input_path: impl Into<String>, status: StatusConfig) -> Self {
        Self {
            local: LocalA2i::builder(),
            input_path: input_path.into(),
            output_path: None,
            routes: Vec::new(),
            status: vec![status],
            a2i_retry: a2i_review::aws::a2i_retry_config(),
        }
    }

    /// The flow definition's `S3OutputPath`, where output.json files go (a2i-local's
    /// default otherwise).
    pub fn output_path(mut self, path: impl Into<String>) -> Self {
        self.output_path = Some(path.into());
        self
    }

    /// Adds a kind of input.
    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    /// Adds the status handler of another deployment (its own `FLOW_DEFINITION_ARN`, results
    /// bucket and prefix): every status-change event goes to every status handler, as
    /// EventBridge delivers it to each stack's rule, and each ignores the loops of other flow
    /// definitions. Its results bucket is created at start.
    pub fn status_handler(mut self, status: StatusConfig) -> Self {
        self.status.push(status);
        self
    }

    /// Adjusts a2i-local (fault knobs, data directory, extra sinks…). Input and output paths
    /// are set by the pipeline.
    pub fn local(mut self, configure: impl FnOnce(LocalA2iBuilder) -> LocalA2iBuilder) -> Self {
        self.local = configure(self.local);
        self
    }

    /// The retry settings of the start handlers' A2I client (by default the deployed
    /// functions' own, [`a2i_review::aws::a2i_retry_config`]).
    pub fn a2i_retry(mut self, retry: RetryConfig) -> Self {
        self.a2i_retry = retry;
        self
    }

    /// Starts a2i-local, builds every handler from its endpoints and attaches them.
    pub async fn start(self) -> Result<Pipeline, PipelineError> {
        let mut local = self.local.input_path(self.input_path);
        if let Some(output_path) = self.output_path {
            local = local.output_path(output_path);
        }
        let mut buckets: Vec<&str> = self
            .status
            .iter()
            .map(|s| s.results_bucket.as_str())
            .collect();
        buckets.sort_unstable();
        buckets.dedup();
        for bucket in buckets {
            local = local.bucket(bucket);
        }
        let local = local.start().await?;
        // a2i-local parsed (and checked) the input path at start.
        let input = local.input_location().cloned().ok_or(NoInputPath)?;
        let s3 = local.s3_client();
        let a2i = aws_sdk_sagemakera2iruntime::Client::from_conf(
            local
                .a2i_config()
                .retry_config(self.a2i_retry.clone())
                .build(),
        );
        let journal = Arc::new(Journal::default());

        // Textract and Rekognition answer on a2i-local's A2I port, as `serve`'s env file says.
        let sdk = local.sdk_config();
        let builtin = BuiltinClients {
            textract: aws_sdk_textract::Client::from_conf(
                aws_sdk_textract::config::Builder::from(&sdk)
                    .endpoint_url(local.a2i_endpoint())
                    .retry_config(self.a2i_retry.clone())
                    .build(),
            ),
            rekognition: aws_sdk_rekognition::Client::from_conf(
                aws_sdk_rekognition::config::Builder::from(&sdk)
                    .endpoint_url(local.a2i_endpoint())
                    .retry_config(self.a2i_retry.clone())
                    .build(),
            ),
        };
        let mut routes = Vec::with_capacity(self.routes.len());
        for route in self.routes {
            let handler = StartHandler::with_builtin_clients(
                route.config.clone(),
                s3.clone(),
                a2i.clone(),
                builtin.clone(),
            )
            .await
            .map_err(|source| PipelineError::Handler {
                route: route.name.clone(),
                source,
            })?;
            routes.push((route, handler));
        }
        routes.sort_by_key(|(route, _)| std::cmp::Reverse(route.key_prefix.len()));
        let router = Arc::new(Router {
            routes,
            journal: Arc::clone(&journal),
        });

        let dispatching = Arc::clone(&router);
        let start_callback: EventCallback = Arc::new(move |event| {
            let router = Arc::clone(&dispatching);
            let run: BoxFuture<'static, Result<(), String>> = Box::pin(async move {
                let done = router.dispatch(&event).await;
                match done.iter().find(|i| i.retryable) {
                    Some(failed) => Err(failed.error.clone().unwrap_or_default()),
                    None => Ok(()),
                }
            });
            run
        });
        local.add_s3_event_callback("start-handler", start_callback)?;

        let status_handlers: Arc<Vec<StatusHandler>> = Arc::new(
            self.status
                .into_iter()
                .map(|config| StatusHandler::new(config, s3.clone()))
                .collect(),
        );
        let status_journal = Arc::clone(&journal);
        let status_callback: EventCallback = Arc::new(move |event| {
            let (handlers, journal) = (Arc::clone(&status_handlers), Arc::clone(&status_journal));
            Box::pin(async move {
                let detail = |field: &str| {
                    event
                        .pointer(&format!("/detail/{field}"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                let (loop_name, loop_status) = (detail("humanLoopName"), detail("humanLoopStatus"));
                let mut retry = None;
                for handler in handlers.iter() {
                    let result = handler.handle(event.clone()).await;
                    let retryable = result.as_ref().err().is_some_and(|e| e.is_retryable());
                    let outcome = result.map_err(|e| e.to_string());
                    if let Err(message) = &outcome {
                        if retryable && retry.is_none() {
                            retry = Some(message.clone());
                        }
                    }
                    lock(&journal.statuses).push(StatusInvocation {
                        loop_name: loop_name.clone(),
                        loop_status: loop_status.clone(),
                        outcome,
                        retryable,
                    });
                }
                match retry {
                    Some(message) => Err(message),
                    None => Ok(()),
                }
            })
        });
        local.add_event_callback("status-handler", status_callback);

        Ok(Pipeline {
            local,
            input,
            router,
            journal,
        })
    }
}

/// The `Content-Type` an upload of `key` gets, from its extension (the start handlers read
/// the bytes, never this; it is what a browser or the AWS CLI would send).
fn content_type(key: &str) -> &'static str {
    let extension = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("tif" | "tiff") => "image/tiff",
        Some("pdf") => "application/pdf",
        _ if a2i_review::document::is_json_lines_key(key) => "application/x-ndjson",
        _ => "application/json",
    }
}

/// A running pipeline. Call [`Pipeline::shutdown`] to stop a2i-local cleanly.
#[derive(Debug)]
pub struct Pipeline {
    local: LocalA2iHandle,
    input: S3Location,
    router: Arc<Router>,
    journal: Arc<Journal>,
}

impl Pipeline {
    /// A builder; see [`PipelineBuilder::new`].
    pub fn builder(input_path: impl Into<String>, status: StatusConfig) -> PipelineBuilder {
        PipelineBuilder::new(input_path, status)
    }

    /// The a2i-local under the pipeline: endpoints, clients, the reviewer's actions.
    pub fn local(&self) -> &LocalA2iHandle {
        &self.local
    }

    /// The watched input location.
    pub fn input_location(&self) -> &S3Location {
        &self.input
    }

    /// Uploads `body` to the input bucket under `key` over the S3 port (as any client would),
    /// then waits until the notification, the start handler and the loops it started have all
    /// settled.
    pub async fn upload(&self, key: &str, body: impl Into<Vec<u8>>) -> Result<(), PipelineError> {
        self.local
            .s3_client()
            .put_object()
            .bucket(&self.input.bucket)
            .key(key)
            .content_type(content_type(key))
            .body(ByteStream::from(body.into()))
            .send()
            .await
            .map_err(|e| PipelineError::S3 {
                operation: "PutObject",
                bucket: self.input.bucket.clone(),
                key: key.to_owned(),
                detail: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
            })?;
        self.local.settled().await;
        Ok(())
    }

    /// Delivers an S3 event to the start handlers directly, as a redelivery would, and
    /// returns (and journals) the invocations it caused.
    pub async fn redeliver_s3_event(&self, event: &Value) -> Vec<StartInvocation> {
        self.router.dispatch(event).await
    }

    /// Every start-handler invocation so far, in order.
    pub fn start_invocations(&self) -> Vec<StartInvocation> {
        lock(&self.journal.starts).clone()
    }

    /// Every status-handler invocation so far, in order.
    pub fn status_invocations(&self) -> Vec<StatusInvocation> {
        lock(&self.journal.statuses).clone()
    }

    /// Every record no route took.
    pub fn unrouted(&self) -> Vec<Unrouted> {
        lock(&self.journal.unrouted).clone()
    }

    /// Everything that went wrong so far, one sentence each: failed invocations, unrouted
    /// records, events a2i-local could not deliver. Empty when the pipeline did its job.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for start in lock(&self.journal.starts).iter() {
            if let Some(error) = &start.error {
                problems.push(format!("start handler ({}): {error}", start.route));
            }
        }
        for status in lock(&self.journal.statuses).iter() {
            if let Err(error) = &status.outcome {
                problems.push(format!("status handler: {error}"));
            }
        }
        for unrouted in lock(&self.journal.unrouted).iter() {
            problems.push(format!(
                "object {} reached no start handler: {}",
                unrouted.key, unrouted.reason
            ));
        }
        let deliveries = self
            .local
            .s3_deliveries()
            .into_iter()
            .chain(self.local.status_deliveries());
        for delivery in deliveries.filter(|d| !d.delivered()) {
            problems.push(format!(
                "event {} for {} was not delivered to {}: {}",
                delivery.event_id,
                delivery.subject,
                delivery.sink,
                delivery.error.unwrap_or_default()
            ));
        }
        problems
    }

    /// The keys under `prefix` in `bucket`, over the S3 port (every page).
    pub async fn list_keys(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<String>, PipelineError> {
        let mut keys = Vec::new();
        let mut pages = self
            .local
            .s3_client()
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| PipelineError::S3 {
                operation: "ListObjectsV2",
                bucket: bucket.to_owned(),
                key: prefix.to_owned(),
                detail: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
            })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    /// Reads a JSON object (a reviewed result, an output.json) over the S3 port.
    pub async fn read_json(&self, bucket: &str, key: &str) -> Result<Value, PipelineError> {
        let bytes = self.read_bytes(bucket, key).await?;
        serde_json::from_slice(&bytes).map_err(|e| PipelineError::NotJson {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            detail: e.to_string(),
        })
    }

    /// Reads an object's bytes over the S3 port.
    pub async fn read_bytes(&self, bucket: &str, key: &str) -> Result<Vec<u8>, PipelineError> {
        let object = self
            .local
            .s3_client()
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| PipelineError::S3 {
                operation: "GetObject",
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                detail: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
            })?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| PipelineError::S3 {
                operation: "GetObject",
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                detail: e.to_string(),
            })?
            .into_bytes();
        Ok(bytes.to_vec())
    }

    /// Waits for every background delivery, then stops a2i-local and removes its temp data.
    pub async fn shutdown(self) {
        self.local.shutdown().await;
    }
}
