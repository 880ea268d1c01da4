//! The aws provider's registration: MediaLive or EC2 encoders, MediaPackage origins,
//! CloudFront, S3 and a MediaPackage harvest for the VOD.

use std::sync::Arc;

use super::checks::{SERVICES, profile};
use crate::config::catalog::CatalogFile;
use crate::config::profile::{DrmScheme, ReactionKind};
use crate::config::{Finding, ProviderRules};
use crate::model::Kind;
use crate::providers::registration::{CannotOpen, Opening, Registration};

pub const REGISTRATION: Registration = Registration {
    rules: ProviderRules {
        name: "aws",
        services: SERVICES,
        kinds: &Kind::ALL,
        actions: &[ReactionKind::Failover, ReactionKind::Restart],
        vod: true,
        drm: &[],
        live_drm: &[DrmScheme::Cenc, DrmScheme::Cbcs, DrmScheme::Aes128],
        slate: true,
        backup_input: true,
        catalog,
        profile,
    },
    open: Some(open),
};

fn open(o: &Opening<'_>) -> Result<Arc<dyn crate::providers::Provider>, CannotOpen> {
    Ok(Arc::new(super::AwsProvider::open(o.catalog.clone())))
}

fn catalog(c: &CatalogFile) -> Vec<Finding> {
    match c.settings() {
        Some(_) => vec![Finding::new(
            "aws",
            "the aws provider takes no settings: its credentials and endpoint come from the environment",
        )],
        None => Vec::new(),
    }
}
