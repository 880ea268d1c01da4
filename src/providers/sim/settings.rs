//! The sim catalog's `sim:` section: time scale, seed and faults.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
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

/// Probabilities (0..1) per API call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
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

impl SimSettings {
    /// The catalog's `sim:` section, or the defaults without one.
    pub fn read(settings: Option<&serde_json::Value>) -> Result<Self, serde_json::Error> {
        match settings {
            Some(v) => Self::deserialize(v),
            None => Ok(Self {
                time_scale: 1.0,
                seed: None,
                faults: Faults::default(),
            }),
        }
    }
}
