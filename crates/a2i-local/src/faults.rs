//! Fault knobs for tests and benchmarks, applied to the A2I runtime operations only (never
//! to the control surface): added latency, a requests-per-second quota answered with
//! `ThrottlingException`, and injected `InternalServerException`s. All off by default.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::runtime::ApiError;

/// The fault settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Added to every A2I operation before it runs.
    pub latency: Duration,
    /// The requests-per-second quota (a token bucket holding one second of requests);
    /// `None` means unlimited.
    pub requests_per_second: Option<f64>,
    /// Probability (0 to 1) that an operation answers 500 `InternalServerException`.
    pub error_rate: f64,
    /// Seed of the injection's random numbers, for reproducible runs; random when `None`.
    pub seed: Option<u64>,
}

/// Why a fault configuration is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultConfigError {
    /// The quota is not a positive number.
    #[error("requests per second must be a positive number, got {0}")]
    Quota(f64),
    /// The error rate is not a probability.
    #[error("the error rate must be between 0 and 1, got {0}")]
    ErrorRate(f64),
}

impl FaultConfig {
    /// Checks that the values make sense.
    pub fn validate(&self) -> Result<(), FaultConfigError> {
        if let Some(rps) = self.requests_per_second {
            if !(rps.is_finite() && rps > 0.0) {
                return Err(FaultConfigError::Quota(rps));
            }
        }
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(FaultConfigError::ErrorRate(self.error_rate));
        }
        Ok(())
    }
}

/// Counters of what the knobs did, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Requests answered with ThrottlingException.
    pub throttled: u64,
    /// Requests answered with an injected InternalServerException.
    pub injected_errors: u64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The live fault state.
#[derive(Debug)]
pub struct Faults {
    config: FaultConfig,
    bucket: Mutex<Bucket>,
    rng: Mutex<StdRng>,
    throttled: AtomicU64,
    injected: AtomicU64,
}

impl Faults {
    /// Faults per `config` (validate it first).
    pub fn new(config: FaultConfig) -> Self {
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Self {
            bucket: Mutex::new(Bucket {
                tokens: config.requests_per_second.unwrap_or(0.0).max(1.0),
                updated: Instant::now(),
            }),
            rng: Mutex::new(rng),
            config,
            throttled: AtomicU64::new(0),
            injected: AtomicU64::new(0),
        }
    }

    /// What the knobs did so far.
    pub fn stats(&self) -> FaultStats {
        FaultStats {
            throttled: self.throttled.load(Ordering::Relaxed),
            injected_errors: self.injected.load(Ordering::Relaxed),
        }
    }

    /// Runs the knobs for one A2I operation: waits the latency, then refuses the request
    /// if the quota is used up or the injection fires.
    pub async fn apply(&self) -> Result<(), ApiError> {
        if !self.config.latency.is_zero() {
            tokio::time::sleep(self.config.latency).await;
        }
        if let Some(rps) = self.config.requests_per_second {
            if !self.take_token(rps) {
                self.throttled.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(rps, "request throttled by the quota knob");
                return Err(ApiError::Throttling("Rate exceeded".to_owned()));
            }
        }
        if self.config.error_rate > 0.0 {
            let fire = {
                let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
                rng.random_bool(self.config.error_rate)
            };
            if fire {
                self.injected.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("internal error injected by the fault knob");
                return Err(ApiError::InternalServer(
                    "An internal error occurred (injected by a2i-local's fault knob).".to_owned(),
                ));
            }
        }
        Ok(())
    }

    fn take_token(&self, rps: f64) -> bool {
        let capacity = rps.max(1.0);
        let mut bucket = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(bucket.updated).as_secs_f64() * rps;
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_knob_means_no_fault() {
        let faults = Faults::new(FaultConfig::default());
        for _ in 0..1000 {
            faults.apply().await.unwrap();
        }
        assert_eq!(faults.stats(), FaultStats::default());
    }

    #[tokio::test]
    async fn the_quota_allows_one_second_of_burst_then_throttles() {
        let faults = Faults::new(FaultConfig {
            requests_per_second: Some(3.0),
            ..FaultConfig::default()
        });
        let results: Vec<bool> = futures::future::join_all((0..5).map(|_| faults.apply()))
            .await
            .into_iter()
            .map(|r| r.is_ok())
            .collect();
        assert_eq!(results.iter().filter(|ok| **ok).count(), 3);
        assert_eq!(faults.stats().throttled, 2);
    }

    #[tokio::test]
    async fn the_same_seed_injects_the_same_errors() {
        let run = |seed| async move {
            let faults = Faults::new(FaultConfig {
                error_rate: 0.5,
                seed: Some(seed),
                ..FaultConfig::default()
            });
            let mut pattern = Vec::new();
            for _ in 0..64 {
                pattern.push(faults.apply().await.is_ok());
            }
            pattern
        };
        let a = run(7).await;
        assert_eq!(a, run(7).await);
        assert!(a.contains(&true) && a.contains(&false));
    }

    #[test]
    fn bad_values_are_refused() {
        let bad_rate = FaultConfig {
            error_rate: 1.5,
            ..FaultConfig::default()
        };
        assert!(bad_rate.validate().is_err());
        let bad_quota = FaultConfig {
            requests_per_second: Some(0.0),
            ..FaultConfig::default()
        };
        assert!(bad_quota.validate().is_err());
    }
}
