//! Providers behind one trait. Each step is idempotent: a create carries a client token and a
//! retried create with the same token returns the resource already made; a delete of something
//! already gone succeeds.

#[cfg(feature = "aws")]
pub mod aws;
pub mod local;
pub mod registration;
pub mod registry;
pub mod sim;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use crate::model::{Kind, RateLimit, RecordedResource, ResourceSpec, RetryPolicy};

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    #[error("throttled by the provider's API")]
    Throttled { retry_after: Option<Duration> },
    #[error("transient provider error: {0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
}

impl ProviderError {
    pub fn retryable(&self) -> bool {
        !matches!(self, ProviderError::Permanent(_))
    }
}

#[derive(Debug, Clone)]
pub struct Created {
    pub provider_id: String,
    pub outputs: Value,
}

/// The field of a sweep's delete definition naming the `InventoryItem::part` it deletes.
pub const SWEPT_PART: &str = "swept_part";

/// A resource as the provider lists it, found by its tags.
#[derive(Debug, Clone, Serialize)]
pub struct InventoryItem {
    pub provider: String,
    pub provider_id: String,
    pub kind: Kind,
    /// A piece the provider makes for resources of `kind` and lists on its own (a MediaLive
    /// input's security group, a MediaPackage v2 channel group): it goes after them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<&'static str>,
    pub region: String,
    /// The resource id it was created as (its `Name`).
    pub name: String,
    pub client_token: Option<String>,
    pub status: String,
    pub tags: BTreeMap<String, String>,
}

#[async_trait]
pub trait Provider: Send + Sync {
    fn name(&self) -> &str;
    /// The API rate limit to respect in a region (a token bucket).
    fn rate_limit(&self, region: &str) -> RateLimit;
    fn retry_policy(&self) -> RetryPolicy;
    /// Longest one step on a resource of this kind may take.
    fn step_timeout(&self, kind: Kind) -> Duration;
    async fn create(
        &self,
        spec: &ResourceSpec,
        client_token: &str,
    ) -> Result<Created, ProviderError>;
    async fn update(
        &self,
        rec: &RecordedResource,
        spec: &ResourceSpec,
    ) -> Result<Value, ProviderError>;
    /// Deletes by provider id, or by client token when a create never answered.
    async fn delete(&self, rec: &RecordedResource) -> Result<(), ProviderError>;
    /// Everything this provider holds that carries an `orchestrate:owner` tag.
    async fn list(&self) -> Result<Vec<InventoryItem>, ProviderError>;
    /// Whether an archive holds any recorded media; `None` where the provider cannot tell
    /// (then the hand-off goes by the clock alone). A show that never went on air gets no VOD.
    async fn archive_holds_media(
        &self,
        _archive: &RecordedResource,
    ) -> Result<Option<bool>, ProviderError> {
        Ok(None)
    }
    /// An encoder's own view of its health, for the monitor's first tier; `None` where the
    /// provider has no such view (then T1 is not probed). `pipeline` names one of the
    /// pipelines of an encoder that runs both (its outputs' `pipelines`).
    async fn encoder_health(
        &self,
        _rec: &RecordedResource,
        _pipeline: Option<&str>,
    ) -> Option<EncoderHealth> {
        None
    }
    /// Makes `pipeline` the one that serves `event` (monitoring's `failover`), through `via`:
    /// the CDN edge where the edge picks the pipeline, or the encoder where one encoder runs
    /// both pipelines (its outputs' `pipelines`, [`RecordedResource::pipelines`]).
    async fn failover(
        &self,
        _via: &RecordedResource,
        _event: &str,
        _pipeline: &str,
    ) -> Result<(), ProviderError> {
        Err(ProviderError::Permanent(format!(
            "the {} provider cannot switch an event's pipeline",
            self.name()
        )))
    }
    /// Restarts an encoder in place: same resource, same outputs (monitoring's `restart`);
    /// only `pipeline` of an encoder that runs both.
    async fn restart(
        &self,
        rec: &RecordedResource,
        _pipeline: Option<&str>,
    ) -> Result<(), ProviderError> {
        Err(ProviderError::Permanent(format!(
            "the {} provider cannot restart a {}",
            self.name(),
            rec.spec.kind
        )))
    }
    /// What `orchestrate doctor` checks before a season: credentials, the identities the
    /// catalog names, and the season's peak against the provider's quotas.
    async fn preflight(&self, _needs: &crate::plan::peaks::Needs) -> Vec<Check> {
        vec![Check::warn(
            "preflight",
            format!("the {} provider has no preflight checks", self.name()),
        )]
    }
    /// Adds capacity to a resource (monitoring's `scale`).
    async fn scale(&self, rec: &RecordedResource) -> Result<(), ProviderError> {
        Err(ProviderError::Permanent(format!(
            "the {} provider cannot scale a {}",
            self.name(),
            rec.spec.kind
        )))
    }
}

/// One line of `orchestrate doctor`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    pub check: String,
    pub status: CheckStatus,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Warn,
    Fail,
}

impl Check {
    pub fn new(check: impl Into<String>, status: CheckStatus, detail: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            status,
            detail: detail.into(),
        }
    }
    pub fn pass(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(check, CheckStatus::Pass, detail)
    }
    pub fn warn(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(check, CheckStatus::Warn, detail)
    }
    pub fn fail(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(check, CheckStatus::Fail, detail)
    }
}

/// What an encoder says of itself: a local ffmpeg's progress report, a cloud channel's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EncoderHealth {
    /// Running and reporting progress.
    pub up: bool,
    pub fps: Option<f64>,
    pub speed: Option<f64>,
    pub bitrate_kbps: Option<f64>,
    /// Counters since the encoder started.
    pub dropped_frames: Option<u64>,
    pub duplicated_frames: Option<u64>,
    /// Alerts the encoding service holds set (MediaLive's), where it keeps any.
    pub alerts: Option<u32>,
    /// Whether the service holds this pipeline paused (failed over away from), where the
    /// encoder runs both.
    pub paused: Option<bool>,
}

/// Options that shape how providers are opened (tests and benchmarks change them).
#[derive(Debug, Clone, Default)]
pub struct ProviderOptions {
    /// Overrides the sim catalog's `time_scale`.
    pub sim_time_scale: Option<f64>,
    /// Overrides the sim catalog's `seed` (benchmarks' `--seed`).
    pub sim_seed: Option<u64>,
    /// The project, where the local provider looks for the packaging tools' `.venv`.
    pub project: Option<PathBuf>,
}
