//! The SageMaker control plane A2I needs (awsJson1_1, `X-Amz-Target: SageMaker.*`, on the A2I
//! port): human task UIs, flow definitions and RenderUiTemplate, with the model's validation
//! and error shapes, a state file in the data directory, resources created at start, and the
//! [`crate::FlowLookup`] through which loops follow their flow definition.

pub mod error;
pub mod model;
pub mod render;
pub mod resources;
pub mod routes;
pub mod store;
pub mod validate;

pub use error::SageMakerError;
pub use resources::{Resources, ResourcesError};
pub use routes::{SageMakerApi, TARGET_PREFIX, TEMPLATE_PATH_PREFIX};
pub use store::{ControlPlane, ControlPlaneLimits, StateError, SAGEMAKER_STATE_FILE};
