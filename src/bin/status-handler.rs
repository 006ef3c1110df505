//! Lambda entry point of the status handler: wiring only, the logic is in `a2i_review::status`.

use a2i_review::config::StatusConfig;
use a2i_review::error::FunctionError;
use a2i_review::status::StatusHandler;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Honours AWS_LAMBDA_LOG_FORMAT=JSON, AWS_LAMBDA_LOG_LEVEL and RUST_LOG; never logs SDK bodies.
    a2i_review::aws::init_logging();

    let config = match StatusConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(variable = e.variable, error = %e, "invalid configuration; the function cannot start");
            return Err(e.into());
        }
    };
    // SDK config is expensive, clients are cheap: both once, at cold start.
    let sdk = a2i_review::aws::sdk_config().await;
    let handler = StatusHandler::new(config, aws_sdk_s3::Client::new(&sdk))
        .with_metrics(a2i_review::metrics::MetricsSink::Stdout);
    let handler = &handler;

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
        handler
            .handle(event.payload)
            .instrument(span)
            .await
            .map_err(|e| e.diagnostic())
    }))
    .await
}
