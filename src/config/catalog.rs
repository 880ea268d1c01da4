//! `kind: ProviderCatalog`: what a provider offers: regions, resource kinds with prices and
//! typical timings, API rate limits, retry policy. Credentials never live here.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::duration::HumanDuration;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    #[serde(rename = "apiVersion")]
    #[schemars(with = "String")]
    pub api_version: Spanned<String>,
    #[schemars(with = "String")]
    pub kind: Spanned<String>,
    #[schemars(with = "String")]
    pub provider: Spanned<String>,
    pub regions: BTreeMap<String, RegionEntry>,
    /// Default API rate limit per region: the executor's steps (each attempt of a create or
    /// delete) take a token.
    #[serde(default)]
    pub rate_limit: RateLimit,
    /// The API rate limit of each of the provider's services in a region, held on every
    /// request made to it (polls and retries included); `aws` only, its services named
    /// s3, medialive, mediapackage, mediapackagev2, cloudfront (global) and ec2.
    #[serde(default)]
    pub service_rate_limits: BTreeMap<String, RateLimit>,
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Added to an `auto` lead for checks after the last resource is ready (default 60s).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub readiness: Option<HumanDuration>,
    /// `auto` leads are rounded up to a multiple of this (default 1m).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub lead_step: Option<HumanDuration>,
    /// Resource kinds this provider creates; each has a template `templates/<provider>/<kind>.tera`.
    pub kinds: BTreeMap<String, KindEntry>,
    /// Settings of the simulated cloud (`provider: sim` only).
    #[serde(default)]
    pub sim: Option<SimSettings>,
    /// Settings of the embedded local provider (`provider: local` only).
    #[serde(default)]
    pub local: Option<LocalSettings>,
}

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

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimSettings {
    /// Multiplies every simulated latency and divides every rate: 0.001 makes a 3-minute
    /// channel start take 180 ms.
    #[serde(default = "one")]
    pub time_scale: f64,
    /// Seed for latency and fault sampling; random when absent.
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub faults: Faults,
}

fn one() -> f64 {
    1.0
}

/// Where the local provider finds its tools and how it treats its processes.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalSettings {
    /// The ffmpeg binary: a name looked up on PATH or a path (`ORCHESTRATE_FFMPEG` overrides).
    #[serde(default = "ffmpeg")]
    pub ffmpeg: String,
    /// The ffprobe binary (`ORCHESTRATE_FFPROBE` overrides).
    #[serde(default = "ffprobe")]
    pub ffprobe: String,
    /// Time between SIGTERM and SIGKILL when a process is stopped.
    #[serde(default = "stop_grace")]
    #[schemars(with = "String")]
    pub stop_grace: HumanDuration,
    /// Longest an encoder may take to publish its first segment, and a server to listen.
    #[serde(default = "ready_timeout")]
    #[schemars(with = "String")]
    pub ready_timeout: HumanDuration,
    /// Memory an edge may fill with cached responses, in MiB.
    #[serde(default = "edge_cache_mib")]
    pub edge_cache_mib: u64,
}

impl Default for LocalSettings {
    fn default() -> Self {
        Self {
            ffmpeg: ffmpeg(),
            ffprobe: ffprobe(),
            stop_grace: stop_grace(),
            ready_timeout: ready_timeout(),
            edge_cache_mib: edge_cache_mib(),
        }
    }
}

fn ffmpeg() -> String {
    "ffmpeg".into()
}
fn ffprobe() -> String {
    "ffprobe".into()
}
fn stop_grace() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(5))
}
fn ready_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(30))
}
fn edge_cache_mib() -> u64 {
    256
}

/// Probabilities (0..1) per API call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// The call is refused with a throttling error before anything happens.
    #[serde(default)]
    pub throttle: f64,
    /// The call fails with a server error before anything happens.
    #[serde(default)]
    pub transient: f64,
    /// The call takes effect but its response is lost (the caller sees a server error).
    #[serde(default)]
    pub lost_response: f64,
    /// The call never answers.
    #[serde(default)]
    pub hang: f64,
    /// The call fails permanently (e.g. quota exceeded).
    #[serde(default)]
    pub permanent: f64,
}
