//! Task UIs and flow definitions created at start, from code or from a resources file, so a
//! workflow needs no setup calls. Creation is idempotent: an existing resource with the same
//! definition is kept (same ARN, same creation time), one whose definition changed is
//! replaced.
//!
//! The file format is documented on [`Resources`].

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::SageMakerError;
use super::routes::SageMakerApi;
use super::validate;

/// The largest resources file read (templates are at most 128,000 characters each).
const MAX_RESOURCES_FILE: u64 = 64 * 1024 * 1024;

/// Why resources could not be created.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ResourcesError {
    /// The file (or a template file it names) cannot be read.
    #[error("{path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is not in the documented format.
    #[error("{path}: {reason}")]
    Format {
        /// The file (`<code>` for in-code resources).
        path: PathBuf,
        /// What is wrong, naming the entry.
        reason: String,
    },
    /// An entry was refused as the API would refuse it.
    #[error("{entry}: {} ({})", .error.message(), .error.shape())]
    Refused {
        /// `HumanTaskUis[i] (name)` or `FlowDefinitions[i] (name)`.
        entry: String,
        /// The API's answer.
        error: SageMakerError,
    },
}

/// Task UIs and flow definitions to create at start, from code or from a resources file.
///
/// The file is JSON:
///
/// ```json
/// {
///   "HumanTaskUis": [
///     {"HumanTaskUiName": "review-ui", "TemplateFile": "worker-templates/generic.liquid.html"},
///     {"HumanTaskUiName": "inline-ui", "UiTemplate": {"Content": "<p>{{ task.input.text }}</p>"}}
///   ],
///   "FlowDefinitions": [
///     {"FlowDefinitionName": "review-flow",
///      "HumanLoopConfig": {"HumanTaskUiName": "review-ui",
///                          "WorkteamArn": "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/local",
///                          "TaskTitle": "Review", "TaskDescription": "Check the item", "TaskCount": 1},
///      "OutputConfig": {"S3OutputPath": "s3://a2i-local-output/reviews"},
///      "RoleArn": "arn:aws:iam::111122223333:role/a2i-local"}
///   ]
/// }
/// ```
///
/// A task UI gives its template inline (`UiTemplate.Content`, as in CreateHumanTaskUi) or as
/// `TemplateFile`, a path relative to the resources file. A flow definition is a
/// CreateFlowDefinition request; inside `HumanLoopConfig`, `HumanTaskUiName` may stand for
/// `HumanTaskUiArn` (the ARN of that task UI on this server). Both lists are optional.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    human_task_uis: Vec<Map<String, Value>>,
    flow_definitions: Vec<Map<String, Value>>,
    origin: Option<PathBuf>,
}

impl Resources {
    /// No resources.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a task UI with an inline template.
    pub fn human_task_ui(mut self, name: impl Into<String>, content: impl Into<String>) -> Self {
        let mut ui = Map::new();
        ui.insert("HumanTaskUiName".into(), Value::String(name.into()));
        ui.insert(
            "UiTemplate".into(),
            serde_json::json!({"Content": content.into()}),
        );
        self.human_task_uis.push(ui);
        self
    }

    /// Adds a flow definition: a CreateFlowDefinition request (JSON object), where
    /// `HumanLoopConfig.HumanTaskUiName` may stand for `HumanTaskUiArn`.
    pub fn flow_definition(mut self, request: Value) -> Self {
        match request {
            Value::Object(map) => self.flow_definitions.push(map),
            // Kept so that applying reports it, naming the entry.
            other => {
                let mut map = Map::new();
                map.insert("__invalid".into(), other);
                self.flow_definitions.push(map);
            }
        }
        self
    }

    /// Adds everything in `other`.
    pub fn merge(mut self, other: Resources) -> Self {
        self.human_task_uis.extend(other.human_task_uis);
        self.flow_definitions.extend(other.flow_definitions);
        self
    }

    /// Whether there is nothing to create.
    pub fn is_empty(&self) -> bool {
        self.human_task_uis.is_empty() && self.flow_definitions.is_empty()
    }

    /// Reads a resources file; template files are read now, relative to its directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ResourcesError> {
        let path = path.as_ref();
        let text = read_bounded(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let format = |reason: String| ResourcesError::Format {
            path: path.to_owned(),
            reason,
        };
        let root: Value = serde_json::from_str(&text).map_err(|e| {
            format(format!(
                "not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let Value::Object(mut root) = root else {
            return Err(format("the file must hold a JSON object".into()));
        };
        let mut resources = Resources {
            origin: Some(path.to_owned()),
            ..Resources::default()
        };
        for key in root.keys() {
            if key != "HumanTaskUis" && key != "FlowDefinitions" {
                return Err(format(format!(
                    "unknown member '{key}' (expected HumanTaskUis and FlowDefinitions)"
                )));
            }
        }
        let mut list = |key: &str| -> Result<Vec<Map<String, Value>>, ResourcesError> {
            match root.remove(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| match item {
                        Value::Object(map) => Ok(map),
                        _ => Err(format(format!("{key}[{i}] must be a JSON object"))),
                    })
                    .collect(),
                Some(_) => Err(format(format!("{key} must be a list"))),
            }
        };
        let uis = list("HumanTaskUis")?;
        resources.flow_definitions = list("FlowDefinitions")?;
        for (i, mut ui) in uis.into_iter().enumerate() {
            match ui.remove("TemplateFile") {
                None => {}
                Some(Value::String(file)) => {
                    if ui.contains_key("UiTemplate") {
                        return Err(format(format!(
                            "HumanTaskUis[{i}] gives both TemplateFile and UiTemplate; give one"
                        )));
                    }
                    let content = read_bounded(&base.join(&file))?;
                    ui.insert("UiTemplate".into(), serde_json::json!({"Content": content}));
                }
                Some(_) => {
                    return Err(format(format!(
                        "HumanTaskUis[{i}].TemplateFile must be a string"
                    )))
                }
            }
            resources.human_task_uis.push(ui);
        }
        Ok(resources)
    }

    /// Creates (or keeps, or replaces) every resource, task UIs first. Returns how many were
    /// created or replaced.
    pub(crate) async fn apply(&self, api: &SageMakerApi) -> Result<usize, ResourcesError> {
        let plane = api.plane();
        let mut changed = 0;
        let entry = |kind: &str, i: usize, map: &Map<String, Value>, key: &str| {
            let name = map.get(key).and_then(Value::as_str).unwrap_or("?");
            match &self.origin {
                Some(path) => format!("{}: {kind}[{i}] ({name})", path.display()),
                None => format!("{kind}[{i}] ({name})"),
            }
        };
        for (i, ui) in self.human_task_uis.iter().enumerate() {
            let refused = |error| ResourcesError::Refused {
                entry: entry("HumanTaskUis", i, ui, "HumanTaskUiName"),
                error,
            };
            let request = validate::create_human_task_ui(ui).map_err(refused)?;
            api.renderer()
                .check_template(&request.content)
                .map_err(refused)?;
            if plane.ensure_human_task_ui(request).map_err(refused)? {
                changed += 1;
            }
        }
        for (i, flow) in self.flow_definitions.iter().enumerate() {
            let refused = |error| ResourcesError::Refused {
                entry: entry("FlowDefinitions", i, flow, "FlowDefinitionName"),
                error,
            };
            if flow.contains_key("__invalid") {
                return Err(refused(SageMakerError::Serialization(
                    "A flow definition must be a JSON object.".into(),
                )));
            }
            let mut flow = flow.clone();
            if let Some(Value::Object(config)) = flow.get_mut("HumanLoopConfig") {
                if let Some(name) = config.remove("HumanTaskUiName") {
                    let Value::String(name) = name else {
                        return Err(refused(SageMakerError::Serialization(
                            "Cannot read member 'humanLoopConfig.humanTaskUiName': expected a string."
                                .into(),
                        )));
                    };
                    config
                        .entry("HumanTaskUiArn")
                        .or_insert_with(|| Value::String(plane.human_task_ui_arn(&name)));
                }
            }
            let request = validate::create_flow_definition(&flow).map_err(refused)?;
            api.ensure_output_bucket(&request.output_config.s3_output_path)
                .await
                .map_err(refused)?;
            if plane.ensure_flow_definition(request).map_err(refused)? {
                changed += 1;
            }
        }
        Ok(changed)
    }
}

fn read_bounded(path: &Path) -> Result<String, ResourcesError> {
    let read = |reason: String| ResourcesError::Read {
        path: path.to_owned(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| read(e.to_string()))?;
    if meta.len() > MAX_RESOURCES_FILE {
        return Err(read(format!(
            "the file has {} bytes; at most {MAX_RESOURCES_FILE} are read",
            meta.len()
        )));
    }
    std::fs::read_to_string(path).map_err(|e| read(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_template_files_is_read_relative_to_itself() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("t")).unwrap();
        std::fs::write(dir.path().join("t/ui.html"), "<p>{{ task.input.a }}</p>").unwrap();
        let file = dir.path().join("resources.json");
        std::fs::write(
            &file,
            r#"{"HumanTaskUis": [{"HumanTaskUiName": "ui", "TemplateFile": "t/ui.html"}],
                "FlowDefinitions": [{"FlowDefinitionName": "f"}]}"#,
        )
        .unwrap();
        let resources = Resources::from_file(&file).unwrap();
        assert_eq!(
            resources.human_task_uis[0]["UiTemplate"]["Content"],
            "<p>{{ task.input.a }}</p>"
        );
        assert_eq!(resources.flow_definitions.len(), 1);
    }

    #[test]
    fn malformed_files_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("r.json");
        for (text, expected) in [
            ("{", "not valid JSON"),
            ("[]", "JSON object"),
            (r#"{"Other": []}"#, "unknown member 'Other'"),
            (r#"{"HumanTaskUis": {}}"#, "must be a list"),
            (
                r#"{"HumanTaskUis": [1]}"#,
                "HumanTaskUis[0] must be a JSON object",
            ),
            (
                r#"{"HumanTaskUis": [{"TemplateFile": "missing.html"}]}"#,
                "missing.html",
            ),
        ] {
            std::fs::write(&file, text).unwrap();
            let err = Resources::from_file(&file).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }
}
