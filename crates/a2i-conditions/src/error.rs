//! The crate's errors: an invalid condition document, an item that cannot be evaluated, an
//! item that is not JSON. A leaf module, so every other module can name them without a cycle.
//!
//! None of them carries a value of an item (see the crate doc, "What messages may carry").

/// Why a condition document is invalid, naming the offending node.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConditionError {
    /// Path of the offending node, such as `Conditions[0].Or[1].ConditionParameters.X`
    /// (`$` for the document as a whole).
    pub path: String,
    /// The value found and the rule it breaks.
    pub message: String,
}

/// Why an item could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct EvaluationError {
    /// Path of the condition that could not be evaluated, such as `Conditions[0].Or[1]`.
    pub path: String,
    /// What the item lacks, e.g. `item has no ModerationLabels (…)`.
    pub message: String,
}

/// Why an item given as JSON text could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SliceError {
    /// The bytes are not one JSON document. The message is serde_json's account of where
    /// and why parsing stopped (`expected value at line 1 column 3`), which names positions
    /// and never the text.
    #[error("the item is not valid JSON: {0}")]
    NotJson(String),
    /// The item is JSON that a condition could not read.
    #[error(transparent)]
    Evaluation(#[from] EvaluationError),
}
