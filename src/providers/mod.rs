//! Providers behind one trait. Each step is idempotent: a create carries a client token and a
//! retried create with the same token returns the resource already made; a delete of something
//! already gone succeeds.

#[cfg(feature = "aws")]
pub mod aws;
pub mod local;
pub mod sim;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use crate::model::{Catalog, RateLimit, RecordedResource, ResourceSpec, RetryPolicy};

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

/// A resource as the provider lists it, found by its tags.
#[derive(Debug, Clone, Serialize)]
pub struct InventoryItem {
    pub provider: String,
    pub provider_id: String,
    pub kind: String,
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
    fn step_timeout(&self, kind: &str) -> Duration;
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
    /// provider has no such view (then T1 is not probed).
    async fn encoder_health(&self, _rec: &RecordedResource) -> Option<EncoderHealth> {
        None
    }
    /// Switches the edge `cdn` to serve `event` from `pipeline` (monitoring's `failover`).
    async fn failover(
        &self,
        _cdn: &RecordedResource,
        _event: &str,
        _pipeline: &str,
    ) -> Result<(), ProviderError> {
        Err(ProviderError::Permanent(format!(
            "the {} provider cannot switch an edge's pipeline",
            self.name()
        )))
    }
    /// Restarts an encoder in place: same resource, same outputs (monitoring's `restart`).
    async fn restart(&self, rec: &RecordedResource) -> Result<(), ProviderError> {
        Err(ProviderError::Permanent(format!(
            "the {} provider cannot restart a {}",
            self.name(),
            rec.spec.kind
        )))
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
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no catalog for provider `{0}` (providers/{0}.yaml)")]
    NoCatalog(String),
    #[error("provider `{0}` is not available in this build yet; see docs/providers.md")]
    NotBuilt(String),
    #[error("cannot open the `{provider}` provider")]
    Failed {
        provider: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
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

/// The providers this build can open; `Providers::get` has an arm for each.
#[cfg(feature = "aws")]
pub const BUILT: &[&str] = &["aws", "local", "sim"];
#[cfg(not(feature = "aws"))]
pub const BUILT: &[&str] = &["local", "sim"];

/// Opens providers on first use and keeps them for the command's lifetime.
pub struct Providers {
    state_dir: PathBuf,
    catalogs: BTreeMap<String, Catalog>,
    options: ProviderOptions,
    open: Mutex<HashMap<String, Arc<dyn Provider>>>,
    /// One token bucket per (provider, region), shared by every apply through this registry
    /// (the daemon runs several at once), as the provider's quota is.
    buckets: Mutex<HashMap<(String, String), Arc<crate::ratelimit::TokenBucket>>>,
}

impl Providers {
    pub fn new(
        state_dir: &Path,
        catalogs: BTreeMap<String, Catalog>,
        options: ProviderOptions,
    ) -> Self {
        Self {
            state_dir: state_dir.to_path_buf(),
            catalogs,
            options,
            open: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The token bucket for calls to `provider` in `region`.
    pub fn bucket(
        &self,
        provider: &str,
        region: &str,
    ) -> Result<Arc<crate::ratelimit::TokenBucket>, OpenError> {
        let p = self.get(provider)?;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        Ok(buckets
            .entry((provider.to_string(), region.to_string()))
            .or_insert_with(|| Arc::new(crate::ratelimit::TokenBucket::new(p.rate_limit(region))))
            .clone())
    }

    pub fn get(&self, name: &str) -> Result<Arc<dyn Provider>, OpenError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = open.get(name) {
            return Ok(p.clone());
        }
        let catalog = self
            .catalogs
            .get(name)
            .ok_or_else(|| OpenError::NoCatalog(name.into()))?;
        let p: Arc<dyn Provider> = match name {
            #[cfg(feature = "aws")]
            "aws" => Arc::new(aws::AwsProvider::open(catalog.clone())),
            "sim" => Arc::new(
                sim::SimProvider::open(
                    &self.state_dir,
                    catalog.clone(),
                    self.options.sim_time_scale,
                    self.options.sim_seed,
                )
                .map_err(|e| OpenError::Failed {
                    provider: name.into(),
                    source: e.into(),
                })?,
            ),
            "local" => Arc::new(
                local::LocalProvider::open(
                    &self.state_dir,
                    self.options.project.as_deref(),
                    catalog.clone(),
                )
                .map_err(|e| OpenError::Failed {
                    provider: name.into(),
                    source: e.into(),
                })?,
            ),
            other => return Err(OpenError::NotBuilt(other.into())),
        };
        open.insert(name.to_string(), p.clone());
        Ok(p)
    }

    /// The providers that have a catalog and can be opened in this build.
    pub fn available(&self) -> Vec<String> {
        self.catalogs
            .keys()
            .filter(|n| BUILT.contains(&n.as_str()))
            .cloned()
            .collect()
    }
}
