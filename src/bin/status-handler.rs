//! Lambda entry point of the status handler: wiring only, the logic is in `a2i_review::status`.

use a2i_review::config::StatusConfig;
use a2i_review::status::{StatusError, StatusHandler};
use aws_config::BehaviorVersion;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

/// Reports a failed event to Lambda with `Retryable.<kind>` / `NonRetryable.<kind>` as the error
/// type, so on-failure destinations and alarms can tell them apart.
fn diagnostic(e: StatusError) -> Diagnostic {
    Diagnostic {
        error_type: e.error_type(),
        error_message: e.to_string(),
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Honours AWS_LAMBDA_LOG_FORMAT=JSON and AWS_LAMBDA_LOG_LEVEL.
    lambda_runtime::tracing::init_default_subscriber();

    let config = match StatusConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(variable = e.variable, error = %e, "invalid configuration; the function cannot start");
            return Err(e.into());
        }
    };
    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let handler = StatusHandler::new(config, aws_sdk_s3::Client::new(&sdk));
    let handler = &handler;

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler.handle(event.payload).await.map_err(diagnostic)
    }))
    .await
}
