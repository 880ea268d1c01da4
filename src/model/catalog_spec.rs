//! A catalog's entries (regions, rate limits, retry policy, resource kinds with their prices and
//! timings) as the file gives them and as a validated catalog carries them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::HumanDuration;

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionEntry {
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Overrides the catalog's `rate_limit` for this region.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Multiplies every hourly price in this region (default 1.0).
    #[serde(default)]
    pub price_factor: Option<f64>,
}

/// A token bucket: `requests_per_second` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub requests_per_second: f64,
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            requests_per_second: 10.0,
            burst: 20,
        }
    }
}

/// Exponential backoff with full jitter on throttling and transient errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: HumanDuration,
    pub max_delay: HumanDuration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: HumanDuration(std::time::Duration::from_millis(500)),
            max_delay: HumanDuration(std::time::Duration::from_secs(30)),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KindEntry {
    /// Price per hour while the resource exists, in the catalog's currency (USD).
    pub hourly_price: f64,
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    /// The identity an instance runs as (an IAM instance profile's name on aws), for what it
    /// must read at boot.
    #[serde(default)]
    pub role: Option<String>,
    /// Typical time from the create call to ready.
    pub provision: Latency,
    /// Typical time from the delete call to gone.
    pub destroy: Latency,
    #[serde(default)]
    pub update: Option<Latency>,
    /// Longest a single step on this kind may take before it is abandoned as failed.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Top-level definition fields whose change forces a replacement instead of an update.
    #[serde(default)]
    pub replace_on: Vec<String>,
}

/// A latency distribution given by its median and 95th percentile (log-normal in the sim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    pub median: HumanDuration,
    pub p95: HumanDuration,
    /// The longest it is known to take in practice (the sim caps its draws here; 4 × p95
    /// when absent).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub max: Option<HumanDuration>,
}
