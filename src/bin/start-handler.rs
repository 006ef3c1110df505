//! Lambda entry point of the start handler: wiring only, the logic is `a2i_review::start`.

use a2i_review::config::StartConfig;
use a2i_review::error::FunctionError;
use a2i_review::start::{BuiltinClients, StartHandler};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    a2i_review::aws::init_logging();

    let config = StartConfig::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    // SDK config is expensive, clients are cheap: both once, at cold start.
    let sdk = a2i_review::aws::sdk_config().await;
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let a2i = a2i_review::aws::a2i_client(&sdk);
    // The Textract and Rekognition clients only where an upload is raw media.
    let handler = if config.task_type.is_builtin() {
        StartHandler::with_builtin_clients(config, s3, a2i, BuiltinClients::from_sdk_config(&sdk))
            .await
    } else {
        StartHandler::new(config, s3, a2i).await
    };
    let handler = handler
        .inspect_err(|e| tracing::error!(error = %e, "cannot start"))?
        .with_metrics(a2i_review::metrics::MetricsSink::Stdout);
    let handler = &handler;

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
        handler
            .handle(&event.payload)
            .instrument(span)
            .await
            .map_err(|e| e.diagnostic())
    }))
    .await
}
