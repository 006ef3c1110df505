//! The AWS SDK configuration both functions share, built once at cold start.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;

/// Loads the SDK configuration from the environment (credentials, region, and the standard
/// `AWS_ENDPOINT_URL*` variables, which is how the functions are pointed at a2i-local), with
/// timeouts so that a stuck call fails as a retryable error instead of eating the invocation.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(20))
                .build(),
        )
        .load()
        .await
}
