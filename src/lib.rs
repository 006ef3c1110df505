//! a2i-review: put humans in the loop of an ML pipeline with Amazon Augmented AI (A2I).
//!
//! The library holds all the logic of the two Lambda functions; `src/bin/*` only wire it to
//! `lambda_runtime`. Module map:
//!
//! - [`aws`]: the shared AWS SDK configuration.
//! - [`builtin`]: the built-in task types (`TASK_TYPE`) and the model answers stored for them.
//! - [`config`]: every setting, read and validated once at cold start.
//! - [`error`]: the one error model: which AWS failures are retryable, and the Lambda
//!   `errorType` of every handler error.
//! - [`field_path`]: untrusted JSON to typed values, errors naming the field's path.
//! - [`s3_event`]: S3 event notifications to object references (keys form-decoded once).
//! - [`source`]: the reference to an uploaded object that travels with every loop.
//! - [`document`]: an uploaded object to items (JSON document, JSON Lines).
//! - [`conditions`]: A2I activation conditions: parse, validate, evaluate, explain.
//! - [`loop_name`]: deterministic, valid `HumanLoopName`s.
//! - [`loop_input`]: the deterministic `InputContent` of a loop.
//! - [`metrics`]: the CloudWatch EMF record each invocation prints.
//! - [`registry`]: the loop registry, which links every loop to its item.
//! - [`restart`]: a registered loop's input rebuilt for a restart (`a2i-review loops restart`).
//! - [`start`]: the start handler (S3 upload to `StartHumanLoop`).
//! - [`status`]: the status handler (loop-status events to reviewed results).
//! - [`provision`]: the stack's custom resource (task UI + flow definition).

#![warn(missing_docs)]

pub mod aws;
pub mod builtin;
pub use a2i_conditions as conditions;
pub mod config;
pub mod document;
pub mod error;
pub mod field_path;
pub mod loop_input;
pub mod loop_name;
pub mod metrics;
pub mod provision;
pub mod registry;
pub mod restart;
pub mod s3_event;
pub mod source;
pub mod start;
pub mod status;

/// The S3 test kit, shared with the integration tests (`tests/common`).
#[cfg(test)]
#[path = "../tests/common/mod.rs"]
pub(crate) mod testing;
