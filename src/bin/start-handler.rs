//! Lambda entry point of the start handler: wiring only, the logic is `a2i_review::start`.

use a2i_review::config::StartConfig;
use a2i_review::error::FunctionError;
use a2i_review::start::{BuiltinClients, StartHandler};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;

/// Where the SDK logs whole response bodies and deserialized outputs (at TRACE).
const SDK_ORCHESTRATOR: &str = "aws_smithy_runtime::client::orchestrator";

/// `lambda_runtime`'s default subscriber (it honours `AWS_LAMBDA_LOG_FORMAT=JSON`,
/// `AWS_LAMBDA_LOG_LEVEL` and `RUST_LOG`; CloudWatch needs them), except that the SDK
/// orchestrator never logs below DEBUG: at TRACE it prints every response body and
/// deserialized output, and a Textract or Rekognition answer is content (block text, labels).
fn init_logging() {
    use lambda_runtime::tracing::subscriber;
    use subscriber::filter::{EnvFilter, LevelFilter};
    let format = std::env::var("AWS_LAMBDA_LOG_FORMAT").unwrap_or_default();
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG"));
    let level = level
        .as_deref()
        .unwrap_or("INFO")
        .parse::<LevelFilter>()
        .unwrap_or(LevelFilter::INFO);
    // More specific than any level or target in RUST_LOG for these modules, so it wins.
    let cap = level.min(LevelFilter::DEBUG);
    let filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy()
        .add_directive(
            format!("{SDK_ORCHESTRATOR}={cap}")
                .parse()
                .expect("a constant target and a level make a directive"),
        );
    let collector = subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter);
    if format.eq_ignore_ascii_case("json") {
        collector.json().init()
    } else {
        collector.init()
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();

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
