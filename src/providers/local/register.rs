//! The local provider's registration: processes on this machine (ffmpeg, our own origin and
//! edge servers), a VOD packaged with Shaka Packager.

use std::sync::Arc;

use super::settings::LocalSettings;
use crate::config::catalog::CatalogFile;
use crate::config::profile::{DrmScheme, ReactionKind};
use crate::config::{Finding, ProviderRules, rules::no_profile_findings};
use crate::model::Kind;
use crate::providers::registration::{CannotOpen, Opening, Registration};

pub const REGISTRATION: Registration = Registration {
    rules: ProviderRules {
        name: "local",
        services: &[],
        kinds: &[
            Kind::Archive,
            Kind::Origin,
            Kind::Input,
            Kind::Encoder,
            Kind::Cdn,
            Kind::Vod,
        ],
        actions: &[ReactionKind::Failover, ReactionKind::Restart],
        vod: true,
        drm: &[DrmScheme::Cenc, DrmScheme::Cbcs, DrmScheme::Aes128],
        live_drm: &[],
        slate: false,
        backup_input: false,
        catalog,
        profile: no_profile_findings,
    },
    open: Some(open),
};

fn open(o: &Opening<'_>) -> Result<Arc<dyn crate::providers::Provider>, CannotOpen> {
    Ok(Arc::new(super::LocalProvider::open(
        o.state_dir,
        o.options.project.as_deref(),
        o.catalog.clone(),
    )?))
}

fn catalog(c: &CatalogFile) -> Vec<Finding> {
    match LocalSettings::read(c.settings()) {
        Ok(_) => Vec::new(),
        Err(e) => vec![Finding::new("local", e.to_string())],
    }
}
