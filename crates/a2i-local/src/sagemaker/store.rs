//! The control plane's table of human task UIs and flow definitions: the operations' rules
//! (unique names, limits, references), list pages with opaque tokens, the state file (one
//! JSON snapshot of the metadata, replaced atomically after every change, loaded at start;
//! templates are written once each to a directory next to it, named by their SHA-256, so a
//! change never rewrites them) and the [`FlowLookup`] the loop engine reads flow definitions
//! through.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::error::{SageMakerError, Violations};
use super::model::{arn, sha256_hex, FlowDefinition, FlowDefinitionRequest, HumanTaskUi};
use super::validate::{CreateHumanTaskUi, ListRequest};
use crate::flows::{FlowLookup, FlowPolicy};
use crate::loops::SortOrder;
use crate::output::S3Location;

/// The name of the control plane's state file inside the data directory.
pub const SAGEMAKER_STATE_FILE: &str = "a2i-local-sagemaker.json";
/// The directory of task UI templates next to the state file (`<sha256>.html` each).
pub const SAGEMAKER_TEMPLATES_DIR: &str = "a2i-local-sagemaker-templates";

/// `TaskTimeLimitInSeconds` when a flow definition gives none (AWS's documented default).
pub const DEFAULT_TASK_TIME_LIMIT: Duration = Duration::from_secs(3600);
/// `TaskAvailabilityLifetimeInSeconds` when a flow definition gives none: 10 days, the
/// documented maximum for private work teams (AWS documents no default for A2I).
pub const DEFAULT_AVAILABILITY_LIFETIME: Duration = Duration::from_secs(864_000);

const STATE_VERSION: u32 = 1;
const TOKEN_VERSION: u32 = 1;

/// How many resources one server holds at most; past them, Create answers
/// `ResourceLimitExceeded`. AWS publishes no number for these quotas, so the defaults are
/// local choices, large enough for any workflow and small enough to bound the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlPlaneLimits {
    /// Human task UIs (default 1000).
    pub human_task_uis: usize,
    /// Flow definitions (default 1000).
    pub flow_definitions: usize,
}

impl Default for ControlPlaneLimits {
    fn default() -> Self {
        Self {
            human_task_uis: 1000,
            flow_definitions: 1000,
        }
    }
}

/// Why the control plane's state could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct StateError {
    /// The state file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct State {
    version: u32,
    seq: u64,
    human_task_uis: BTreeMap<String, HumanTaskUi>,
    flow_definitions: BTreeMap<String, FlowDefinition>,
}

/// One change of the table; applying it returns the change that undoes it.
enum Change {
    PutUi(Box<HumanTaskUi>),
    RemoveUi(String),
    PutFlow(Box<FlowDefinition>),
    RemoveFlow(String),
    Nothing,
}

impl State {
    fn apply(&mut self, change: Change) -> Change {
        match change {
            Change::PutUi(ui) => match self.human_task_uis.insert(ui.name.clone(), *ui.clone()) {
                Some(old) => Change::PutUi(Box::new(old)),
                None => Change::RemoveUi(ui.name),
            },
            Change::RemoveUi(name) => match self.human_task_uis.remove(&name) {
                Some(old) => Change::PutUi(Box::new(old)),
                None => Change::Nothing,
            },
            Change::PutFlow(flow) => {
                let name = flow.request.flow_definition_name.clone();
                match self.flow_definitions.insert(name.clone(), *flow) {
                    Some(old) => Change::PutFlow(Box::new(old)),
                    None => Change::RemoveFlow(name),
                }
            }
            Change::RemoveFlow(name) => match self.flow_definitions.remove(&name) {
                Some(old) => Change::PutFlow(Box::new(old)),
                None => Change::Nothing,
            },
            Change::Nothing => Change::Nothing,
        }
    }
}

/// A page of a List operation.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items, in the requested order.
    pub items: Vec<T>,
    /// The token of the next page, when more items match.
    pub next_token: Option<String>,
}

/// The SageMaker control plane's resources.
#[derive(Debug)]
pub struct ControlPlane {
    region: String,
    account: String,
    limits: ControlPlaneLimits,
    state_file: Option<PathBuf>,
    state: RwLock<State>,
}

impl ControlPlane {
    /// An empty control plane kept in memory only.
    pub fn in_memory(region: &str, account: &str, limits: ControlPlaneLimits) -> Self {
        Self {
            region: region.to_owned(),
            account: account.to_owned(),
            limits,
            state_file: None,
            state: RwLock::new(State {
                version: STATE_VERSION,
                ..State::default()
            }),
        }
    }

    /// A control plane kept in `state_file`: loaded from it when it exists, and written to
    /// it (atomically replaced) after every change.
    pub fn open(
        state_file: PathBuf,
        region: &str,
        account: &str,
        limits: ControlPlaneLimits,
    ) -> Result<Self, StateError> {
        let state = match std::fs::read(&state_file) {
            Ok(bytes) => {
                let state: State = serde_json::from_slice(&bytes).map_err(|e| StateError {
                    path: state_file.clone(),
                    reason: format!("not a control-plane state file: {e}"),
                })?;
                if state.version != STATE_VERSION {
                    return Err(StateError {
                        path: state_file,
                        reason: format!(
                            "state version {} is not supported (expected {STATE_VERSION})",
                            state.version
                        ),
                    });
                }
                let mut state = state;
                load_templates(&templates_dir(&state_file), &mut state)?;
                state
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => State {
                version: STATE_VERSION,
                ..State::default()
            },
            Err(err) => {
                return Err(StateError {
                    path: state_file,
                    reason: err.to_string(),
                })
            }
        };
        tracing::info!(
            human_task_uis = state.human_task_uis.len(),
            flow_definitions = state.flow_definitions.len(),
            "control plane state loaded"
        );
        Ok(Self {
            region: region.to_owned(),
            account: account.to_owned(),
            limits,
            state_file: Some(state_file),
            state: RwLock::new(state),
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `change` and makes it durable; on a write failure the change is undone and
    /// the caller gets an `InternalFailure`.
    fn commit(&self, state: &mut State, change: Change) -> Result<(), SageMakerError> {
        if let (Some(path), Change::PutUi(ui)) = (&self.state_file, &change) {
            // The template first, so a snapshot never names a template that is not there.
            write_template(&templates_dir(path), ui).map_err(|err| {
                tracing::error!(error = %err, "task UI template not written");
                SageMakerError::Internal(format!(
                    "The task UI template could not be written: {err}"
                ))
            })?;
        }
        let undo = state.apply(change);
        if let Some(path) = &self.state_file {
            let written = serde_json::to_vec(&*state)
                .map_err(|e| e.to_string())
                .and_then(|bytes| write_atomically(path, &bytes).map_err(|e| e.to_string()));
            if let Err(err) = written {
                state.apply(undo);
                tracing::error!(path = %path.display(), error = %err, "control plane state not written");
                return Err(SageMakerError::Internal(format!(
                    "The control plane state could not be written to {}: {err}",
                    path.display()
                )));
            }
        }
        Ok(())
    }

    /// The ARN a task UI called `name` has here.
    pub fn human_task_ui_arn(&self, name: &str) -> String {
        arn(&self.region, &self.account, "human-task-ui", name)
    }

    /// The ARN a flow definition called `name` has here.
    pub fn flow_definition_arn(&self, name: &str) -> String {
        arn(&self.region, &self.account, "flow-definition", name)
    }

    /// CreateHumanTaskUi.
    pub fn create_human_task_ui(
        &self,
        request: CreateHumanTaskUi,
    ) -> Result<HumanTaskUi, SageMakerError> {
        let mut state = self.write();
        if state.human_task_uis.contains_key(&request.name) {
            return Err(SageMakerError::ResourceInUse(format!(
                "Human task UI '{}' already exists.",
                request.name
            )));
        }
        if state.human_task_uis.len() >= self.limits.human_task_uis {
            return Err(SageMakerError::ResourceLimitExceeded(format!(
                "The limit of {} human task UIs is reached; delete one first.",
                self.limits.human_task_uis
            )));
        }
        let ui = self.new_ui(&mut state, request);
        self.commit(&mut state, Change::PutUi(Box::new(ui.clone())))?;
        tracing::info!(human_task_ui = %ui.name, "human task UI created");
        Ok(ui)
    }

    fn new_ui(&self, state: &mut State, request: CreateHumanTaskUi) -> HumanTaskUi {
        state.seq += 1;
        HumanTaskUi {
            arn: self.human_task_ui_arn(&request.name),
            creation_ms: crate::loops::record::now_ms().timestamp_millis(),
            seq: state.seq,
            content_sha256: sha256_hex(&request.content),
            name: request.name,
            content: request.content,
            tags: request.tags,
        }
    }

    /// DescribeHumanTaskUi.
    pub fn human_task_ui(&self, name: &str) -> Result<HumanTaskUi, SageMakerError> {
        self.read()
            .human_task_uis
            .get(name)
            .cloned()
            .ok_or_else(|| ui_not_found(name))
    }

    /// The task UI with this ARN, if it exists.
    pub fn human_task_ui_by_arn(&self, ui_arn: &str) -> Option<HumanTaskUi> {
        let name = ui_arn.rsplit_once(":human-task-ui/")?.1;
        self.read()
            .human_task_uis
            .get(name)
            .filter(|ui| ui.arn == ui_arn)
            .cloned()
    }

    /// DeleteHumanTaskUi. Flow definitions that use the UI are left as they are (AWS lets a
    /// UI in use be deleted; such flows can no longer start loops there).
    pub fn delete_human_task_ui(&self, name: &str) -> Result<(), SageMakerError> {
        let mut state = self.write();
        if !state.human_task_uis.contains_key(name) {
            return Err(ui_not_found(name));
        }
        self.commit(&mut state, Change::RemoveUi(name.to_owned()))?;
        tracing::info!(human_task_ui = %name, "human task UI deleted");
        Ok(())
    }

    /// ListHumanTaskUis.
    pub fn list_human_task_uis(
        &self,
        request: &ListRequest,
    ) -> Result<Page<HumanTaskUi>, SageMakerError> {
        let state = self.read();
        page(
            "HumanTaskUis",
            state
                .human_task_uis
                .values()
                .map(|ui| ((ui.creation_ms, ui.seq), ui)),
            request,
        )
    }

    /// CreateFlowDefinition: the name must be free, the task UI must exist here, and the
    /// output path must name an S3 location.
    pub fn create_flow_definition(
        &self,
        request: FlowDefinitionRequest,
    ) -> Result<FlowDefinition, SageMakerError> {
        let mut state = self.write();
        let name = request.flow_definition_name.clone();
        if state.flow_definitions.contains_key(&name) {
            return Err(SageMakerError::ResourceInUse(format!(
                "Flow definition '{name}' already exists."
            )));
        }
        check_references(&state, &request)?;
        if state.flow_definitions.len() >= self.limits.flow_definitions {
            return Err(SageMakerError::ResourceLimitExceeded(format!(
                "The limit of {} flow definitions is reached; delete one first.",
                self.limits.flow_definitions
            )));
        }
        let flow = self.new_flow(&mut state, request);
        self.commit(&mut state, Change::PutFlow(Box::new(flow.clone())))?;
        tracing::info!(flow_definition = %name, "flow definition created");
        Ok(flow)
    }

    fn new_flow(&self, state: &mut State, request: FlowDefinitionRequest) -> FlowDefinition {
        state.seq += 1;
        FlowDefinition {
            arn: self.flow_definition_arn(&request.flow_definition_name),
            creation_ms: crate::loops::record::now_ms().timestamp_millis(),
            seq: state.seq,
            request,
        }
    }

    /// DescribeFlowDefinition.
    pub fn flow_definition(&self, name: &str) -> Result<FlowDefinition, SageMakerError> {
        self.read()
            .flow_definitions
            .get(name)
            .cloned()
            .ok_or_else(|| flow_not_found(name))
    }

    /// DeleteFlowDefinition: immediate (the flow never stays `Deleting` locally), and the
    /// name is free again.
    pub fn delete_flow_definition(&self, name: &str) -> Result<(), SageMakerError> {
        let mut state = self.write();
        if !state.flow_definitions.contains_key(name) {
            return Err(flow_not_found(name));
        }
        self.commit(&mut state, Change::RemoveFlow(name.to_owned()))?;
        tracing::info!(flow_definition = %name, "flow definition deleted");
        Ok(())
    }

    /// ListFlowDefinitions.
    pub fn list_flow_definitions(
        &self,
        request: &ListRequest,
    ) -> Result<Page<FlowDefinition>, SageMakerError> {
        let state = self.read();
        page(
            "FlowDefinitions",
            state
                .flow_definitions
                .values()
                .map(|f| ((f.creation_ms, f.seq), f)),
            request,
        )
    }

    /// Creates the task UI, or keeps the existing one when its template is the same, or
    /// replaces it when the template differs (resources files: a restart is idempotent and
    /// an edited template takes effect). Returns whether anything changed.
    pub fn ensure_human_task_ui(&self, request: CreateHumanTaskUi) -> Result<bool, SageMakerError> {
        let mut state = self.write();
        match state.human_task_uis.get(&request.name) {
            Some(existing)
                if existing.content == request.content && existing.tags == request.tags =>
            {
                return Ok(false)
            }
            Some(_) => {}
            None if state.human_task_uis.len() >= self.limits.human_task_uis => {
                return Err(SageMakerError::ResourceLimitExceeded(format!(
                    "The limit of {} human task UIs is reached.",
                    self.limits.human_task_uis
                )))
            }
            None => {}
        }
        let ui = self.new_ui(&mut state, request);
        self.commit(&mut state, Change::PutUi(Box::new(ui)))?;
        Ok(true)
    }

    /// As [`ControlPlane::ensure_human_task_ui`], for flow definitions.
    pub fn ensure_flow_definition(
        &self,
        request: FlowDefinitionRequest,
    ) -> Result<bool, SageMakerError> {
        let mut state = self.write();
        match state.flow_definitions.get(&request.flow_definition_name) {
            Some(existing) if existing.request == request => return Ok(false),
            Some(_) => {}
            None if state.flow_definitions.len() >= self.limits.flow_definitions => {
                return Err(SageMakerError::ResourceLimitExceeded(format!(
                    "The limit of {} flow definitions is reached.",
                    self.limits.flow_definitions
                )))
            }
            None => {}
        }
        check_references(&state, &request)?;
        let flow = self.new_flow(&mut state, request);
        self.commit(&mut state, Change::PutFlow(Box::new(flow)))?;
        Ok(true)
    }

    /// The policy of a flow definition, as loops see it.
    pub fn policy(&self, name: &str) -> Option<FlowPolicy> {
        let state = self.read();
        let flow = state.flow_definitions.get(name)?;
        policy_of(flow)
    }
}

impl FlowLookup for ControlPlane {
    fn flow(&self, name: &str) -> Option<FlowPolicy> {
        self.policy(name)
    }
}

fn policy_of(flow: &FlowDefinition) -> Option<FlowPolicy> {
    let request = &flow.request;
    // Checked at creation; a state file edited by hand could still hold something else.
    let output = output_location(&request.output_config.s3_output_path).ok()?;
    let config = request.human_loop_config.as_ref();
    let seconds = |value: Option<i64>, default: Duration| {
        value
            .and_then(|s| u64::try_from(s).ok())
            .map_or(default, Duration::from_secs)
    };
    Some(FlowPolicy {
        name: request.flow_definition_name.clone(),
        arn: flow.arn.clone(),
        output,
        task_count: config
            .and_then(|c| u8::try_from(c.task_count).ok())
            .unwrap_or(1),
        task_time_limit: seconds(
            config.and_then(|c| c.task_time_limit_in_seconds),
            DEFAULT_TASK_TIME_LIMIT,
        ),
        availability_lifetime: seconds(
            config.and_then(|c| c.task_availability_lifetime_in_seconds),
            DEFAULT_AVAILABILITY_LIFETIME,
        ),
        human_task_ui_arn: config.map(|c| c.human_task_ui_arn.clone()),
        title: config.map(|c| c.task_title.clone()),
        description: config.map(|c| c.task_description.clone()),
        keywords: config
            .and_then(|c| c.task_keywords.clone())
            .unwrap_or_default(),
        request_source: request
            .human_loop_request_source
            .as_ref()
            .map(|s| s.aws_managed_human_loop_request_source.clone()),
        activation_conditions: request.human_loop_activation_config.as_ref().map(|a| {
            a.human_loop_activation_conditions_config
                .human_loop_activation_conditions
                .clone()
        }),
    })
}

fn check_references(state: &State, request: &FlowDefinitionRequest) -> Result<(), SageMakerError> {
    let mut v = Violations::new();
    if let Err(reason) = output_location(&request.output_config.s3_output_path) {
        v.value(
            "outputConfig.s3OutputPath",
            &request.output_config.s3_output_path,
            &format!("name an S3 location: {reason}"),
        );
    }
    v.into_result()?;
    if let Some(config) = &request.human_loop_config {
        let ui_arn = &config.human_task_ui_arn;
        let exists = ui_arn
            .rsplit_once(":human-task-ui/")
            .and_then(|(_, name)| state.human_task_uis.get(name))
            .is_some_and(|ui| &ui.arn == ui_arn);
        if !exists {
            return Err(SageMakerError::Validation(format!(
                "Could not find human task UI '{ui_arn}'. Create it with CreateHumanTaskUi \
                 before the flow definition that uses it."
            )));
        }
    }
    Ok(())
}

/// The S3 location of an `S3OutputPath`: `s3://bucket/prefix`, or an https S3 URL in path
/// style (`https://s3[.region].amazonaws.com/bucket/prefix`) or virtual-hosted style
/// (`https://bucket.s3[.region].amazonaws.com/prefix`).
pub fn output_location(path: &str) -> Result<S3Location, String> {
    if path.starts_with("s3://") {
        return S3Location::parse(path).map_err(|e| e.reason.to_owned());
    }
    let rest = path
        .strip_prefix("https://")
        .ok_or("it must start with s3:// or https://")?;
    let (host, key) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    let Some(base) = host.strip_suffix(".amazonaws.com") else {
        return Err("an https output path must be an S3 URL (*.amazonaws.com)".to_owned());
    };
    let is_s3 = |label: &str| label == "s3" || label.starts_with("s3.") || label.starts_with("s3-");
    let (bucket, prefix) = if is_s3(base) {
        key.split_once('/').unwrap_or((key, ""))
    } else if let Some(idx) = base.find(".s3") {
        let (bucket, endpoint) = base.split_at(idx);
        if !is_s3(&endpoint[1..]) {
            return Err("an https output path must be an S3 URL".to_owned());
        }
        (bucket, key)
    } else {
        return Err("an https output path must be an S3 URL".to_owned());
    };
    if bucket.is_empty() {
        return Err("the bucket is empty".to_owned());
    }
    Ok(S3Location {
        bucket: bucket.to_owned(),
        prefix: prefix.trim_matches('/').to_owned(),
    })
}

fn ui_not_found(name: &str) -> SageMakerError {
    SageMakerError::ResourceNotFound(format!("Human task UI '{name}' does not exist."))
}

fn flow_not_found(name: &str) -> SageMakerError {
    SageMakerError::ResourceNotFound(format!("Flow definition '{name}' does not exist."))
}

/// What a NextToken is bound to, and the position after which the next page starts.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Token {
    v: u32,
    /// The operation's resource kind.
    k: String,
    o: SortOrder,
    a: Option<f64>,
    b: Option<f64>,
    /// (creation ms, sequence) of the last item returned.
    c: (i64, u64),
}

fn page<'a, T: Clone + 'a>(
    kind: &str,
    items: impl Iterator<Item = ((i64, u64), &'a T)>,
    request: &ListRequest,
) -> Result<Page<T>, SageMakerError> {
    let after: Option<(i64, u64)> = match &request.next_token {
        None => None,
        Some(raw) => {
            let token = URL_SAFE_NO_PAD
                .decode(raw.as_bytes())
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Token>(&bytes).ok())
                .filter(|t| t.v == TOKEN_VERSION);
            let mut v = Violations::new();
            match token {
                None => v.hidden(
                    "nextToken",
                    &format!("be a NextToken returned by an earlier List{kind} call"),
                ),
                Some(t)
                    if t.k != kind
                        || t.o != request.sort_order
                        || t.a != request.created_after
                        || t.b != request.created_before =>
                {
                    v.hidden(
                        "nextToken",
                        "be used with the same SortOrder, CreationTimeAfter and \
                         CreationTimeBefore as the call that returned it",
                    )
                }
                Some(t) => return page_from(Some(t.c), items, request, kind),
            }
            v.into_result()?;
            None
        }
    };
    page_from(after, items, request, kind)
}

fn page_from<'a, T: Clone + 'a>(
    after: Option<(i64, u64)>,
    items: impl Iterator<Item = ((i64, u64), &'a T)>,
    request: &ListRequest,
    kind: &str,
) -> Result<Page<T>, SageMakerError> {
    let mut matching: Vec<((i64, u64), &T)> = items
        .filter(|((ms, _), _)| {
            // Creation times are kept and answered in whole milliseconds; a bound a client
            // read back from an answer comes in as epoch seconds through f64 and its own
            // nanosecond type, a hair off the millisecond. Rounding the bound to the
            // millisecond compares it with the time it was read from, not with that hair.
            let to_ms = |secs: f64| (secs * 1000.0).round() as i64;
            request.created_after.is_none_or(|a| *ms >= to_ms(a))
                && request.created_before.is_none_or(|b| *ms < to_ms(b))
        })
        .collect();
    matching.sort_by_key(|(key, _)| *key);
    if request.sort_order == SortOrder::Descending {
        matching.reverse();
    }
    let start = match after {
        None => 0,
        Some(cursor) => matching
            .iter()
            .position(|(key, _)| match request.sort_order {
                SortOrder::Ascending => *key > cursor,
                SortOrder::Descending => *key < cursor,
            })
            .unwrap_or(matching.len()),
    };
    let rest = &matching[start..];
    let taken = &rest[..rest.len().min(request.max_results)];
    let next_token = if rest.len() > taken.len() {
        taken.last().map(|(key, _)| {
            let token = Token {
                v: TOKEN_VERSION,
                k: kind.to_owned(),
                o: request.sort_order,
                a: request.created_after,
                b: request.created_before,
                c: *key,
            };
            // Serializing plain data cannot fail; an empty token would be refused on use.
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
        })
    } else {
        None
    };
    Ok(Page {
        items: taken.iter().map(|(_, item)| (*item).clone()).collect(),
        next_token,
    })
}

fn templates_dir(state_file: &Path) -> PathBuf {
    state_file.with_file_name(SAGEMAKER_TEMPLATES_DIR)
}

fn write_template(dir: &Path, ui: &HumanTaskUi) -> std::io::Result<()> {
    let path = dir.join(format!("{}.html", ui.content_sha256));
    if path.exists() {
        return Ok(()); // same digest, same content
    }
    std::fs::create_dir_all(dir)?;
    write_atomically(&path, ui.content.as_bytes())
}

/// Reads every task UI's template, checking its digest; removes template files no task UI
/// uses any more (left by deletes).
fn load_templates(dir: &Path, state: &mut State) -> Result<(), StateError> {
    for ui in state.human_task_uis.values_mut() {
        let path = dir.join(format!("{}.html", ui.content_sha256));
        let content = std::fs::read_to_string(&path).map_err(|e| StateError {
            path: path.clone(),
            reason: format!("the template of task UI '{}' cannot be read: {e}", ui.name),
        })?;
        if sha256_hex(&content) != ui.content_sha256 {
            return Err(StateError {
                path,
                reason: format!(
                    "the template of task UI '{}' does not match its digest",
                    ui.name
                ),
            });
        }
        ui.content = content;
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let used = name.strip_suffix(".html").is_some_and(|digest| {
                state
                    .human_task_uis
                    .values()
                    .any(|ui| ui.content_sha256 == digest)
            });
            if !used {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temp file, fsync and rename, then fsyncs the directory,
/// so a crash leaves the old or the new file, never a torn one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        // Not every platform lets a directory be opened; the rename is done either way.
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sagemaker::validate;
    use serde_json::json;

    fn plane() -> ControlPlane {
        ControlPlane::in_memory("us-east-1", "111122223333", ControlPlaneLimits::default())
    }

    fn ui(name: &str) -> CreateHumanTaskUi {
        CreateHumanTaskUi {
            name: name.into(),
            content: "<p>{{ task.input.x }}</p>".into(),
            tags: vec![],
        }
    }

    fn flow(name: &str, ui_arn: &str, output: &str) -> FlowDefinitionRequest {
        let body = json!({
            "FlowDefinitionName": name,
            "HumanLoopConfig": {
                "WorkteamArn": "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/t",
                "HumanTaskUiArn": ui_arn,
                "TaskTitle": "t", "TaskDescription": "d", "TaskCount": 3,
                "TaskAvailabilityLifetimeInSeconds": 60
            },
            "OutputConfig": {"S3OutputPath": output},
            "RoleArn": "arn:aws:iam::111122223333:role/a2i"
        });
        validate::create_flow_definition(body.as_object().unwrap()).unwrap()
    }

    #[test]
    fn names_are_unique_and_reusable_after_delete() {
        let p = plane();
        p.create_human_task_ui(ui("ui")).unwrap();
        assert!(matches!(
            p.create_human_task_ui(ui("ui")),
            Err(SageMakerError::ResourceInUse(_))
        ));
        p.delete_human_task_ui("ui").unwrap();
        assert!(matches!(
            p.delete_human_task_ui("ui"),
            Err(SageMakerError::ResourceNotFound(_))
        ));
        p.create_human_task_ui(ui("ui")).unwrap();
    }

    #[test]
    fn limits_refuse_one_more() {
        let p = ControlPlane::in_memory(
            "us-east-1",
            "111122223333",
            ControlPlaneLimits {
                human_task_uis: 1,
                flow_definitions: 1,
            },
        );
        let arn = p.create_human_task_ui(ui("a")).unwrap().arn;
        assert!(matches!(
            p.create_human_task_ui(ui("b")),
            Err(SageMakerError::ResourceLimitExceeded(_))
        ));
        p.create_flow_definition(flow("f1", &arn, "s3://b"))
            .unwrap();
        assert!(matches!(
            p.create_flow_definition(flow("f2", &arn, "s3://b")),
            Err(SageMakerError::ResourceLimitExceeded(_))
        ));
    }

    #[test]
    fn a_flow_needs_an_existing_task_ui_of_this_server() {
        let p = plane();
        let missing = "arn:aws:sagemaker:us-east-1:111122223333:human-task-ui/nope";
        let err = p
            .create_flow_definition(flow("f", missing, "s3://b"))
            .unwrap_err();
        assert_eq!(err.shape(), "ValidationException");
        assert!(err.message().contains(missing));
        p.create_human_task_ui(ui("nope")).unwrap();
        let other_account = "arn:aws:sagemaker:us-east-1:999999999999:human-task-ui/nope";
        assert!(p
            .create_flow_definition(flow("f", other_account, "s3://b"))
            .is_err());
        p.create_flow_definition(flow("f", missing, "s3://b"))
            .unwrap();
    }

    #[test]
    fn the_policy_carries_the_flow_settings_and_defaults() {
        let p = plane();
        let arn = p.create_human_task_ui(ui("ui")).unwrap().arn;
        p.create_flow_definition(flow("f", &arn, "s3://out-bucket/reviews/"))
            .unwrap();
        let policy = p.flow("f").unwrap();
        assert_eq!(policy.task_count, 3);
        assert_eq!(policy.output.bucket, "out-bucket");
        assert_eq!(policy.output.prefix, "reviews");
        assert_eq!(policy.availability_lifetime, Duration::from_secs(60));
        assert_eq!(policy.task_time_limit, DEFAULT_TASK_TIME_LIMIT);
        assert_eq!(policy.human_task_ui_arn.as_deref(), Some(arn.as_str()));
        assert!(p.flow("other").is_none());
        p.delete_flow_definition("f").unwrap();
        assert!(p.flow("f").is_none());
    }

    #[test]
    fn https_output_paths_name_their_bucket() {
        for (path, bucket, prefix) in [
            ("https://s3.amazonaws.com/b1/p/q", "b1", "p/q"),
            ("https://s3.eu-west-1.amazonaws.com/b2", "b2", ""),
            ("https://b3.s3.amazonaws.com/x/", "b3", "x"),
            ("https://b4.s3.us-west-2.amazonaws.com/y", "b4", "y"),
            ("s3://b5/z", "b5", "z"),
        ] {
            let loc = output_location(path).unwrap();
            assert_eq!(
                (loc.bucket.as_str(), loc.prefix.as_str()),
                (bucket, prefix),
                "{path}"
            );
        }
        for bad in [
            "https://example.com/b",
            "https://s3.amazonaws.com/",
            "ftp://b",
        ] {
            assert!(output_location(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn state_survives_a_reopen_and_ensure_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(SAGEMAKER_STATE_FILE);
        let limits = ControlPlaneLimits::default();
        let p = ControlPlane::open(file.clone(), "us-east-1", "111122223333", limits).unwrap();
        let created = p.create_human_task_ui(ui("ui")).unwrap();
        p.create_flow_definition(flow("f", &created.arn, "s3://b"))
            .unwrap();
        drop(p);
        let p = ControlPlane::open(file.clone(), "us-east-1", "111122223333", limits).unwrap();
        assert_eq!(p.human_task_ui("ui").unwrap(), created);
        assert!(!p.ensure_human_task_ui(ui("ui")).unwrap());
        assert!(!p
            .ensure_flow_definition(flow("f", &created.arn, "s3://b"))
            .unwrap());
        assert!(p
            .ensure_flow_definition(flow("f", &created.arn, "s3://c"))
            .unwrap());
        assert_eq!(p.flow("f").unwrap().output.bucket, "c");
        // Templates live beside the snapshot, once each; a damaged one stops the start.
        let template = dir
            .path()
            .join(SAGEMAKER_TEMPLATES_DIR)
            .join(format!("{}.html", created.content_sha256));
        assert_eq!(std::fs::read_to_string(&template).unwrap(), created.content);
        let snapshot = std::fs::read_to_string(&file).unwrap();
        assert!(
            !snapshot.contains("task.input.x"),
            "templates stay out of the snapshot"
        );
        std::fs::write(&template, "changed").unwrap();
        let err =
            ControlPlane::open(file.clone(), "us-east-1", "111122223333", limits).unwrap_err();
        assert!(err.reason.contains("does not match its digest"), "{err}");
        std::fs::write(&file, b"{not json").unwrap();
        assert!(ControlPlane::open(file, "us-east-1", "111122223333", limits).is_err());
    }

    #[test]
    fn pages_follow_tokens_bound_to_their_query() {
        let p = plane();
        for i in 0..5 {
            p.create_human_task_ui(ui(&format!("ui-{i}"))).unwrap();
        }
        let mut request = validate::list_request(
            json!({"SortOrder": "Ascending", "MaxResults": 2})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        let mut names = Vec::new();
        loop {
            let page = p.list_human_task_uis(&request).unwrap();
            names.extend(page.items.iter().map(|ui| ui.name.clone()));
            match page.next_token {
                Some(token) => request.next_token = Some(token),
                None => break,
            }
        }
        assert_eq!(names, ["ui-0", "ui-1", "ui-2", "ui-3", "ui-4"]);
        let first = p
            .list_human_task_uis(
                &validate::list_request(json!({"MaxResults": 1}).as_object().unwrap()).unwrap(),
            )
            .unwrap();
        assert_eq!(first.items[0].name, "ui-4");
        let mut foreign =
            validate::list_request(json!({"SortOrder": "Ascending"}).as_object().unwrap()).unwrap();
        foreign.next_token = first.next_token;
        assert_eq!(
            p.list_human_task_uis(&foreign).unwrap_err().shape(),
            "ValidationException"
        );
        foreign.next_token = Some("garbage".into());
        assert!(p.list_human_task_uis(&foreign).is_err());
    }
}

#[cfg(test)]
mod time_bounds {
    use super::*;

    fn request(after: Option<f64>, before: Option<f64>) -> ListRequest {
        ListRequest {
            created_after: after,
            created_before: before,
            sort_order: SortOrder::Ascending,
            next_token: None,
            max_results: 100,
        }
    }

    fn names(after: Option<f64>, before: Option<f64>) -> Vec<&'static str> {
        let items = [
            ((1_764_463_537_122_i64, 0_u64), "a"),
            ((1_764_463_537_123, 1), "b"),
            ((1_764_463_537_124, 2), "c"),
        ];
        page_from(
            None,
            items.iter().map(|(k, v)| (*k, v)),
            &request(after, before),
            "HumanTaskUi",
        )
        .unwrap()
        .items
    }

    #[test]
    fn a_bound_read_back_from_an_answer_matches_its_own_millisecond_either_side_of_it() {
        // What a client sends back after reading 1764463537.123 into a nanosecond type:
        // a hair below or above the millisecond, depending on the float.
        let at = 1_764_463_537.123_f64;
        let below = f64::from_bits(at.to_bits() - 1);
        let above = f64::from_bits(at.to_bits() + 1);
        for bound in [below, at, above] {
            assert_eq!(names(Some(bound), None), ["b", "c"], "after {bound}");
            assert_eq!(names(None, Some(bound)), ["a"], "before {bound}");
        }
    }
}
