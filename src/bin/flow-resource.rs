//! Lambda entry point of the stack's flow custom resource: wiring only, the logic is
//! `a2i_review::provision`.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use a2i_review::provision::{PendingAnswer, Provisioner, Timing};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;

/// The request being handled, so that a panic still answers CloudFormation (`FAILED`)
/// instead of leaving the stack waiting for the custom resource's service timeout.
static PENDING: Mutex<Option<PendingAnswer>> = Mutex::new(None);

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Honours AWS_LAMBDA_LOG_FORMAT=JSON, AWS_LAMBDA_LOG_LEVEL and RUST_LOG; never logs SDK bodies.
    a2i_review::aws::init_logging();

    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        let pending = PENDING.lock().ok().and_then(|mut p| p.take());
        if let Some(pending) = pending {
            let sent = pending.fail_blocking(
                "the custom resource's function failed unexpectedly (see its log)",
                Duration::from_secs(10),
            );
            if let Err(e) = sent {
                tracing::error!(error = %e, "could not answer CloudFormation after a panic");
            }
        }
    }));

    let sdk = a2i_review::aws::sdk_config().await;
    let provisioner = Provisioner::new(aws_sdk_sagemaker::Client::new(&sdk), Timing::default());
    let provisioner = &provisioner;

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
        // The Lambda deadline, as a tokio instant.
        let left = event
            .context
            .deadline()
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        let deadline = tokio::time::Instant::now() + left;
        if let Ok(mut p) = PENDING.lock() {
            *p = PendingAnswer::of(&event.payload);
        }
        // Boxed: the nested SDK futures are too deep a type to lay out inline.
        let answered = Box::pin(provisioner.answer(event.payload, deadline).instrument(span)).await;
        if let Ok(mut p) = PENDING.lock() {
            *p = None;
        }
        // Failing the invocation makes Lambda retry it (idempotently) when CloudFormation was
        // not told anything.
        answered.map(|_| ()).map_err(|e| {
            tracing::error!(error = %e, "CloudFormation was not answered");
            lambda_runtime::Error::from(e.to_string())
        })
    }))
    .await
}
