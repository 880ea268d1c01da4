//! What a provider registers: everything shared code needs to know of it. Its name, whether
//! this binary carries it and how to open it, and its rules (catalog settings and profile
//! checks, resource kinds, capabilities), which validation applies.

use std::path::Path;
use std::sync::Arc;

use super::{Provider, ProviderOptions};
use crate::config::ProviderRules;
use crate::model::Catalog;

pub type CannotOpen = Box<dyn std::error::Error + Send + Sync>;

/// What a provider is opened with.
pub struct Opening<'a> {
    /// Where it may keep what must outlive the process (the sim's inventory, local processes).
    pub state_dir: &'a Path,
    pub catalog: &'a Catalog,
    pub options: &'a ProviderOptions,
}

pub type OpenFn = fn(&Opening<'_>) -> Result<Arc<dyn Provider>, CannotOpen>;

#[derive(Clone, Copy)]
pub struct Registration {
    pub rules: ProviderRules,
    /// `None` when this binary does not carry the provider.
    pub open: Option<OpenFn>,
}

impl Registration {
    /// A provider known by name (profiles may name it) whose code this binary does not carry.
    pub const fn not_built(name: &'static str) -> Self {
        Self {
            rules: ProviderRules::not_built(name),
            open: None,
        }
    }
}
