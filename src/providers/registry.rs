//! The one place providers register: `Registry::builtin` lists each provider's
//! `Registration` (`registration.rs` says what one holds; each provider keeps its own in its
//! folder, `register.rs`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::registration::{Opening, Registration};
use super::{Provider, ProviderOptions};
use crate::config::{ProviderRules, ProviderSet};
use crate::model::Catalog;

/// The providers a command may meet.
#[derive(Clone)]
pub struct Registry {
    entries: Vec<Registration>,
}

impl Registry {
    /// Every provider this project knows, each built into this binary or not.
    pub fn builtin() -> Self {
        Self {
            entries: vec![
                super::local::REGISTRATION,
                #[cfg(feature = "aws")]
                super::aws::REGISTRATION,
                #[cfg(not(feature = "aws"))]
                Registration::not_built("aws"),
                Registration::not_built("azure"),
                Registration::not_built("kubernetes"),
                super::sim::REGISTRATION,
            ],
        }
    }

    /// This registry with `r` added, or in place of the registration of the same name.
    pub fn with(mut self, r: Registration) -> Self {
        self.entries.retain(|e| e.rules.name != r.rules.name);
        self.entries.push(r);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Registration> {
        self.entries.iter().find(|e| e.rules.name == name)
    }

    /// Whether `name` is built into this binary.
    pub fn built(&self, name: &str) -> bool {
        self.get(name).is_some_and(|e| e.open.is_some())
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| e.rules.name))
            .finish()
    }
}

impl ProviderSet for Registry {
    fn rules(&self, name: &str) -> Option<&ProviderRules> {
        self.get(name).map(|e| &e.rules)
    }
    fn built(&self, name: &str) -> bool {
        Registry::built(self, name)
    }
    fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.rules.name).collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no catalog for provider `{0}` (providers/{0}.yaml)")]
    NoCatalog(String),
    #[error("provider `{0}` is not built into this binary; see docs/providers.md")]
    NotBuilt(String),
    #[error("cannot open the `{provider}` provider")]
    Failed {
        provider: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Opens providers on first use and keeps them for the command's lifetime.
pub struct Providers {
    state_dir: PathBuf,
    catalogs: BTreeMap<String, Catalog>,
    options: ProviderOptions,
    registry: Registry,
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
        registry: Registry,
    ) -> Self {
        Self {
            state_dir: state_dir.to_path_buf(),
            catalogs,
            options,
            registry,
            open: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// How long a step typically takes, from the provider's catalog (its medians); zero where
    /// the catalog does not say. The executor orders work by it, never waits on it.
    pub fn typical(
        &self,
        provider: &str,
        kind: crate::model::Kind,
        op: crate::plan::Op,
    ) -> std::time::Duration {
        use crate::plan::Op;
        let Some(k) = self.catalogs.get(provider).and_then(|c| c.kinds.get(&kind)) else {
            return std::time::Duration::ZERO;
        };
        let create = k.provision.median.0;
        match op {
            Op::Create => create,
            Op::Update => k.update.as_ref().map_or(create, |u| u.median.0),
            Op::Delete => k.destroy.median.0,
            Op::Replace => k.destroy.median.0 + create,
            Op::NoOp => std::time::Duration::ZERO,
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
        let opener = self
            .registry
            .get(name)
            .and_then(|r| r.open)
            .ok_or_else(|| OpenError::NotBuilt(name.into()))?;
        let p = opener(&Opening {
            state_dir: &self.state_dir,
            catalog,
            options: &self.options,
        })
        .map_err(|source| OpenError::Failed {
            provider: name.into(),
            source,
        })?;
        open.insert(name.to_string(), p.clone());
        Ok(p)
    }

    /// The providers that have a catalog and can be opened in this build.
    pub fn available(&self) -> Vec<String> {
        self.catalogs
            .keys()
            .filter(|n| self.registry.built(n))
            .cloned()
            .collect()
    }
}
