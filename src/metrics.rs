//! CloudWatch metrics of both functions: one Embedded Metric Format (EMF) record per
//! invocation, printed to stdout as one JSON line, which CloudWatch Logs turns into metrics.
//!
//! Every record has namespace [`NAMESPACE`] and the one dimension set `[Function,
//! FlowDefinition]`: `Function` is `start` or `status`, `FlowDefinition` the flow definition's
//! name (never the ARN's account or Region; `unknown` when the invocation could not tell it).
//! Values are numbers; a record holds at most [`MAX_METRICS`] metrics (EMF's limit).
//!
//! Names are fixed words, error kinds from closed enums, and condition paths such as
//! `Conditions[0].Or[1]`: no metric name or value is derived from item content or answers.
//! The record is written as a whole line under stdout's lock, so it never interleaves with
//! the JSON log lines of `lambda_runtime`'s tracing subscriber, which writes to stdout too.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

/// Namespace of every metric.
pub const NAMESPACE: &str = "a2i-review";
/// Most metric definitions in one record (EMF's limit per directive).
pub const MAX_METRICS: usize = 100;
/// Most condition nodes that get an activation metric; later nodes of a larger document are
/// not measured (a condition document is bounded, but the record must stay under
/// [`MAX_METRICS`]).
pub const MAX_CONDITION_METRICS: usize = 50;
/// `FlowDefinition` when the invocation could not tell the flow definition.
pub const UNKNOWN_FLOW: &str = "unknown";

/// A CloudWatch unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count.
    Count,
    /// Seconds.
    Seconds,
    /// 0 to 100.
    Percent,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Seconds => "Seconds",
            Self::Percent => "Percent",
        }
    }
}

/// One invocation's metrics, in the order they were put.
#[derive(Debug, Clone, PartialEq)]
pub struct EmfRecord {
    function: &'static str,
    flow_definition: String,
    metrics: Vec<(String, Unit, f64)>,
}

impl EmfRecord {
    /// An empty record of `function` (`start`, `status`) for the flow definition named by
    /// `flow_definition_arn` ([`flow_definition_name`]).
    pub fn new(function: &'static str, flow_definition_arn: Option<&str>) -> Self {
        Self {
            function,
            flow_definition: flow_definition_name(flow_definition_arn),
            metrics: Vec::new(),
        }
    }

    /// Adds a count.
    pub fn count(&mut self, name: impl Into<String>, value: usize) {
        self.put(name, Unit::Count, value as f64);
    }

    /// Adds a metric; a name already put is replaced, a non-finite value or one beyond
    /// [`MAX_METRICS`] is dropped (with a warning), so the record stays valid EMF.
    pub fn put(&mut self, name: impl Into<String>, unit: Unit, value: f64) {
        let name = name.into();
        if !value.is_finite() {
            tracing::warn!(metric = name, "metric value is not finite; not recorded");
            return;
        }
        if let Some(m) = self.metrics.iter_mut().find(|m| m.0 == name) {
            *m = (name, unit, value);
        } else if self.metrics.len() < MAX_METRICS {
            self.metrics.push((name, unit, value));
        } else {
            tracing::warn!(
                metric = name,
                "more than {MAX_METRICS} metrics; not recorded"
            );
        }
    }

    /// The value of metric `name`, if put.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.metrics.iter().find(|m| m.0 == name).map(|m| m.2)
    }

    /// The record as one line of EMF JSON (no newline), stamped `timestamp_ms`.
    pub fn to_json_line(&self, timestamp_ms: i64) -> String {
        let definitions: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, unit, _)| serde_json::json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        let mut root = Map::new();
        root.insert(
            "_aws".into(),
            serde_json::json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Function", "FlowDefinition"]],
                    "Metrics": definitions,
                }],
            }),
        );
        root.insert("Function".into(), self.function.into());
        root.insert("FlowDefinition".into(), self.flow_definition.clone().into());
        for (name, _, value) in &self.metrics {
            // Whole numbers as integers (`3`, not `3.0`), so counts read as counts.
            let v = if value.fract() == 0.0 && value.abs() < 9.0e15 {
                Value::from(*value as i64)
            } else {
                Value::from(*value)
            };
            root.insert(name.clone(), v);
        }
        Value::Object(root).to_string()
    }
}

/// The `FlowDefinition` dimension: the name of a valid flow-definition ARN, else
/// [`UNKNOWN_FLOW`] (so an odd event cannot mint dimension values).
pub fn flow_definition_name(arn: Option<&str>) -> String {
    arn.filter(|a| crate::config::check_flow_definition_arn(a).is_ok())
        .and_then(|a| a.rsplit_once("flow-definition/"))
        .map_or_else(|| UNKNOWN_FLOW.to_owned(), |(_, name)| name.to_owned())
}

/// Where records go.
#[derive(Debug, Clone, Default)]
pub enum MetricsSink {
    /// Nowhere: the library default (the demo and tests print no EMF unless asked).
    #[default]
    Off,
    /// stdout, one line per record: what the Lambda bootstraps use.
    Stdout,
    /// Kept in memory, as lines, for tests.
    Memory(Arc<Mutex<Vec<String>>>),
}

impl MetricsSink {
    /// A memory sink and the lines it will hold.
    pub fn memory() -> (Self, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        (Self::Memory(lines.clone()), lines)
    }

    /// Writes `record`, stamped now.
    pub fn emit(&self, record: &EmfRecord) {
        if matches!(self, Self::Off) {
            return;
        }
        let line = record.to_json_line(chrono::Utc::now().timestamp_millis());
        match self {
            Self::Off => {}
            Self::Stdout => {
                let mut out = std::io::stdout().lock();
                // One write of the whole line under the lock: never split by a log line.
                let mut bytes = line.into_bytes();
                bytes.push(b'\n');
                if let Err(e) = out.write_all(&bytes).and_then(|()| out.flush()) {
                    tracing::warn!(error = %e, "the metrics record could not be written");
                }
            }
            Self::Memory(lines) => {
                if let Ok(mut lines) = lines.lock() {
                    lines.push(line);
                }
            }
        }
    }
}

/// Per-condition activation counts of one invocation: how many items each node of the
/// condition document held for, by the node's path (`Conditions[0]`, `Conditions[0].Or[1]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConditionCounts {
    paths: Vec<String>,
    held: Vec<usize>,
}

impl ConditionCounts {
    /// Adds one item's annotated condition tree (`Evaluation::results`, the shape of A2I's
    /// `humanTaskActivationConditionResults`). The first tree fixes the node paths; every
    /// tree of one document has the same shape.
    pub fn add(&mut self, results: &Value) {
        if self.paths.is_empty() {
            walk(results, &mut |path, _| {
                if self.paths.len() < MAX_CONDITION_METRICS {
                    self.paths.push(path.to_owned());
                }
            });
            self.held = vec![0; self.paths.len()];
        }
        let mut i = 0;
        let held = &mut self.held;
        walk(results, &mut |_, result| {
            if let Some(n) = held.get_mut(i) {
                *n += usize::from(result);
            }
            i += 1;
        });
    }

    /// (path, items it held for), in document order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, usize)> {
        self.paths
            .iter()
            .map(String::as_str)
            .zip(self.held.iter().copied())
    }
}

/// Visits every condition node depth first with its path and `EvaluationResult`.
fn walk(results: &Value, visit: &mut dyn FnMut(&str, bool)) {
    fn node(v: &Value, path: &str, visit: &mut dyn FnMut(&str, bool)) {
        let held = v.get("EvaluationResult").and_then(Value::as_bool) == Some(true);
        visit(path, held);
        for group in ["And", "Or"] {
            if let Some(members) = v.get(group).and_then(Value::as_array) {
                for (i, m) in members.iter().enumerate() {
                    node(m, &format!("{path}.{group}[{i}]"), visit);
                }
            }
        }
    }
    if let Some(top) = results.get("Conditions").and_then(Value::as_array) {
        for (i, n) in top.iter().enumerate() {
            node(n, &format!("Conditions[{i}]"), visit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_is_one_emf_json_object_with_its_members_at_the_root() {
        let mut r = EmfRecord::new(
            "start",
            Some("arn:aws:sagemaker:us-east-1:111122223333:flow-definition/doc-review"),
        );
        r.count("Items", 3);
        r.put("ReviewTimeSeconds", Unit::Seconds, 1.5);
        let line = r.to_json_line(1_700_000_000_000);
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v,
            json!({"_aws": {"Timestamp": 1_700_000_000_000i64, "CloudWatchMetrics": [{
                "Namespace": "a2i-review", "Dimensions": [["Function", "FlowDefinition"]],
                "Metrics": [{"Name": "Items", "Unit": "Count"}, {"Name": "ReviewTimeSeconds", "Unit": "Seconds"}]}]},
                "Function": "start", "FlowDefinition": "doc-review", "Items": 3, "ReviewTimeSeconds": 1.5})
        );
    }

    #[test]
    fn a_record_never_exceeds_the_emf_limits() {
        let mut r = EmfRecord::new("start", None);
        for i in 0..150 {
            r.count(format!("M{i}"), i);
        }
        r.put("Nan", Unit::Count, f64::NAN);
        r.count("M3", 7);
        assert_eq!(r.metrics.len(), MAX_METRICS);
        assert_eq!(r.get("M3"), Some(7.0));
        assert_eq!(r.get("Nan"), None);
    }

    #[test]
    fn the_flow_dimension_is_a_valid_flow_name_or_unknown() {
        assert_eq!(flow_definition_name(None), "unknown");
        assert_eq!(flow_definition_name(Some("not an arn")), "unknown");
        assert_eq!(
            flow_definition_name(Some(
                "arn:aws:sagemaker:eu-west-1:111122223333:flow-definition/f-1"
            )),
            "f-1"
        );
    }

    #[test]
    fn condition_counts_follow_the_document_by_path() {
        let tree = |a: bool, b: bool| {
            json!({"Conditions": [
                {"ConditionType": "Sampling", "EvaluationResult": a},
                {"EvaluationResult": b, "Or": [
                    {"ConditionType": "X", "EvaluationResult": b},
                    {"And": [{"ConditionType": "Y", "EvaluationResult": false}], "EvaluationResult": false}]}]})
        };
        let mut c = ConditionCounts::default();
        c.add(&tree(true, false));
        c.add(&tree(true, true));
        c.add(&tree(false, true));
        let got: Vec<(&str, usize)> = c.iter().collect();
        assert_eq!(
            got,
            [
                ("Conditions[0]", 2),
                ("Conditions[1]", 2),
                ("Conditions[1].Or[0]", 2),
                ("Conditions[1].Or[1]", 0),
                ("Conditions[1].Or[1].And[0]", 0)
            ]
        );
    }

    #[test]
    fn condition_metrics_are_bounded() {
        let many: Vec<Value> = (0..80)
            .map(|_| json!({"ConditionType": "Sampling", "EvaluationResult": true}))
            .collect();
        let mut c = ConditionCounts::default();
        c.add(&json!({ "Conditions": many }));
        assert_eq!(c.iter().count(), MAX_CONDITION_METRICS);
    }

    #[test]
    fn the_memory_sink_keeps_lines_and_off_keeps_nothing() {
        let (sink, lines) = MetricsSink::memory();
        let mut r = EmfRecord::new("status", None);
        r.count("Completed", 1);
        sink.emit(&r);
        MetricsSink::Off.emit(&r);
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 1);
        let v: Value = serde_json::from_str(&lines[0]).unwrap();
        assert!(v["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
    }
}
