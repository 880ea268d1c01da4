//! The local catalog's `local:` section: where the tools are and how processes are treated.

use serde::{Deserialize, Serialize};

use crate::config::duration::HumanDuration;

/// Where the local provider finds its tools and how it treats its processes.
#[derive(Debug, Clone, Deserialize, Serialize)]
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
    pub stop_grace: HumanDuration,
    /// Longest an encoder may take to publish its first segment, and a server to listen.
    #[serde(default = "ready_timeout")]
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

impl LocalSettings {
    /// The catalog's `local:` section, or the defaults without one.
    pub fn read(settings: Option<&serde_json::Value>) -> Result<Self, serde_json::Error> {
        settings.map_or(Ok(Self::default()), Self::deserialize)
    }
}
