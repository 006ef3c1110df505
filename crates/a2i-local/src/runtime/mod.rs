//! The A2I runtime API over HTTP (restJson1, API version 2019-11-07): routing, the model's
//! validation, pagination tokens, response shapes and error shapes.

pub mod error;
pub mod routes;
pub mod token;
pub mod validate;
pub mod wire;

pub use error::ApiError;
pub use routes::handle;
