//! The AWS SDK configuration both functions share, built once at cold start.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;

/// Attempts per A2I call (the first one included) before an item is reported as failed.
pub const A2I_MAX_ATTEMPTS: u32 = 5;

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

/// The retry policy of A2I calls: adaptive, so that a burst of `StartHumanLoop` calls slows
/// down to A2I's rate instead of spending the SDK's retry budget on throttled attempts.
///
/// Measured with `cargo bench -p a2i-review-cli --bench throughput` (600 items against a 50
/// requests/s quota, 20 ms latency): with the standard policy, 8 calls in flight left 7 items
/// failed and 32 in flight drained the retry budget, 510 items failing within a second; with
/// this one all 600 started at 1, 8 and 32 calls in flight (40, 30 and 30 loops/s) with 0, 10
/// and 28 throttled attempts.
pub fn a2i_retry_config() -> RetryConfig {
    RetryConfig::adaptive().with_max_attempts(A2I_MAX_ATTEMPTS)
}

/// The A2I runtime client of the functions, with [`a2i_retry_config`].
pub fn a2i_client(sdk: &aws_config::SdkConfig) -> aws_sdk_sagemakera2iruntime::Client {
    let config = aws_sdk_sagemakera2iruntime::config::Builder::from(sdk)
        .retry_config(a2i_retry_config())
        .build();
    aws_sdk_sagemakera2iruntime::Client::from_conf(config)
}
