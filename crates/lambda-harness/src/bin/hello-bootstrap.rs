//! The hello-world Lambda function the cold-start benchmark compares against: the
//! `lambda_runtime` template (default tracing subscriber, a JSON echo) and nothing else, built
//! with the workspace's release profile like the real bootstraps.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(json!({ "message": "hello", "requestId": event.context.request_id }))
    }))
    .await
}
