//! What validation asks of each provider. config/ names no provider: the provider registry
//! (`crate::providers::registry`) hands these rules in, so a new provider brings its checks
//! with it and validation reports them with every other error, each at its place.

use std::collections::BTreeMap;

use super::catalog::{CatalogFile, KindEntry};
use super::profile::{DrmScheme, ProfileFile, ReactionKind};
use crate::model::Kind;

/// One problem a provider finds, at a dotted field path of the file it checked
/// (`encoder.input.address`, `settings.time_scale`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub field: String,
    pub message: String,
}

impl Finding {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A provider as validation sees it.
#[derive(Debug, Clone, Copy)]
pub struct ProviderRules {
    pub name: &'static str,
    /// The services a catalog's `service_rate_limits` may name; empty when the provider
    /// takes only the catalog's one `rate_limit`.
    pub services: &'static [&'static str],
    /// The resource kinds it makes.
    pub kinds: &'static [Kind],
    /// The monitoring actions it carries out itself; `notify` and `ask` need nothing of it.
    pub actions: &'static [ReactionKind],
    /// Whether it packages a VOD after the show, and with which DRM schemes.
    pub vod: bool,
    pub drm: &'static [DrmScheme],
    /// The schemes it encrypts a live stream with at the origin (`origin.drm`).
    pub live_drm: &'static [DrmScheme],
    /// Whether its encoder can show a slate outside the show (`encoder.slate`).
    pub slate: bool,
    /// Whether its encoder fails over to a backup contribution by itself
    /// (`encoder.input.backup`).
    pub backup_input: bool,
    /// Checks its catalog's `settings` and anything else its catalog needs.
    pub catalog: fn(&CatalogFile) -> Vec<Finding>,
    /// Checks a profile asking for it against what it builds, given its catalog's kinds.
    pub profile: fn(&ProfileFile, &BTreeMap<Kind, KindEntry>) -> Vec<Finding>,
}

impl ProviderRules {
    /// A provider known by name whose code this binary does not carry.
    pub const fn not_built(name: &'static str) -> Self {
        Self {
            name,
            services: &[],
            kinds: &[],
            actions: &[],
            vod: false,
            drm: &[],
            live_drm: &[],
            slate: false,
            backup_input: false,
            catalog: no_findings,
            profile: no_profile_findings,
        }
    }
}

/// For providers with nothing of their own to check.
pub fn no_findings(_: &CatalogFile) -> Vec<Finding> {
    Vec::new()
}

pub fn no_profile_findings(_: &ProfileFile, _: &BTreeMap<Kind, KindEntry>) -> Vec<Finding> {
    Vec::new()
}

/// Every provider validation may meet, built into this binary or not.
pub trait ProviderSet {
    fn rules(&self, name: &str) -> Option<&ProviderRules>;
    /// Whether this binary carries `name` (a cargo feature may leave one out).
    fn built(&self, name: &str) -> bool;
    /// Their names, in the order they are listed to users.
    fn names(&self) -> Vec<&'static str>;
}
