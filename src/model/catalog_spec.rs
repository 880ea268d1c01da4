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
    /// Definition fields whose change forces a replacement instead of an update: a top-level
    /// field (`input`), or a dotted path within one (`channel.ChannelClass`), holding every
    /// field below it.
    #[serde(default)]
    pub replace_on: Vec<String>,
    /// Why, for `plan` to say: `replace_on` entry → reason.
    #[serde(default)]
    pub replace_why: std::collections::BTreeMap<String, String>,
    /// How the service bills beyond `hourly_price` (per output, per input, per GB), and where
    /// the figures come from.
    #[serde(default)]
    pub pricing: Option<Pricing>,
    /// A global service (CloudFront, Front Door) is managed from this one region: shared by an
    /// event group, it is one resource for all the group's regions, kept there.
    #[serde(default)]
    pub global_region: Option<String>,
    /// How many pipelines one resource of this kind runs: 2 where a dual profile's two
    /// pipelines are one resource (a MediaLive STANDARD channel, fed by standard-class inputs),
    /// rather than one resource per pipeline.
    #[serde(default)]
    pub pipelines: Option<u8>,
    /// The service quota that bounds how many of this kind may exist at once, which
    /// `orchestrate doctor` holds the schedule's peak to.
    #[serde(default)]
    pub quota: Option<Quota>,
}

/// A service quota, as the provider's quota service names it (AWS Service Quotas).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// The service's code (`medialive`, `ec2`).
    pub service: String,
    /// The quota's name as the quota service lists it.
    pub name: String,
    /// Whether the quota holds per region or for the whole account (a global service's).
    #[serde(default)]
    pub per: QuotaScope,
    /// How much of the quota one resource takes (an instance type's vCPUs); 1 by default.
    #[serde(default = "one")]
    pub per_resource: u32,
    /// The published default, checked against when the quota service does not answer.
    #[serde(default)]
    pub default: Option<f64>,
    /// Where the default is published: required with `default`.
    #[serde(default)]
    pub source: Option<String>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum QuotaScope {
    #[default]
    Region,
    Account,
}

/// A kind's prices as its service bills them, each table naming its public source and the
/// date it was read. Every price is in the catalog's currency (USD) and multiplied by the
/// region's `price_factor`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pricing {
    /// Where the figures were read: a public URL.
    pub source: String,
    /// When they were read (YYYY-MM-DD): prices change.
    pub as_of: String,
    /// Per encoder output (each rendition of the ladder) and hour, by resolution class: `sd`
    /// (below 720 lines), `hd` (up to 1080), `uhd` (above), for H.264; for H.265 as
    /// `h265-<class>` (`h265-hd`). An output with no price here is named in the estimate.
    #[serde(default)]
    pub per_output_hour: std::collections::BTreeMap<String, f64>,
    /// Per encoder input (each pipeline's) and hour.
    #[serde(default)]
    pub per_input_hour: Option<f64>,
    /// Per GB received (an origin's ingest of the ladder).
    #[serde(default)]
    pub per_gb_in: Option<f64>,
    /// Per GB sent (an origin to the CDN; a CDN to viewers).
    #[serde(default)]
    pub per_gb_out: Option<f64>,
    /// Charges the service makes that this table has no figure for (`per GB out`), said in
    /// every estimate rather than counted as free.
    #[serde(default)]
    pub unpriced: Vec<String>,
}

impl Pricing {
    /// The hourly price of one output of `height` lines in `codec`, if the table has one.
    pub fn per_output(&self, codec: &str, height: u32) -> Option<f64> {
        let class = match height {
            0..720 => "sd",
            720..=1080 => "hd",
            _ => "uhd",
        };
        let key = match codec {
            "h264" => class.to_string(),
            other => format!("{other}-{class}"),
        };
        self.per_output_hour.get(&key).copied()
    }
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
