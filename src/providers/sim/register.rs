//! The sim provider's registration: a simulated cloud for scale and fault studies.

use std::sync::Arc;

use super::settings::SimSettings;
use crate::config::catalog::CatalogFile;
use crate::config::profile::DrmScheme;
use crate::config::{Finding, ProviderRules, rules::no_profile_findings};
use crate::model::Kind;
use crate::providers::registration::{CannotOpen, Opening, Registration};

pub const REGISTRATION: Registration = Registration {
    rules: ProviderRules {
        name: "sim",
        services: &[],
        kinds: &[
            Kind::Archive,
            Kind::Origin,
            Kind::Input,
            Kind::Encoder,
            Kind::Cdn,
            Kind::Vod,
        ],
        actions: &[],
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
    Ok(Arc::new(super::SimProvider::open(
        o.state_dir,
        o.catalog.clone(),
        o.options.sim_time_scale,
        o.options.sim_seed,
    )?))
}

fn catalog(c: &CatalogFile) -> Vec<Finding> {
    let s = match SimSettings::read(c.settings()) {
        Ok(s) => s,
        Err(e) => return vec![Finding::new("sim", e.to_string())],
    };
    let mut out = Vec::new();
    if !(s.time_scale.is_finite() && s.time_scale > 0.0) {
        out.push(Finding::new("sim.time_scale", "must be positive"));
    }
    let f = s.faults;
    for (n, p) in [
        ("throttle", f.throttle),
        ("transient", f.transient),
        ("lost_response", f.lost_response),
        ("hang", f.hang),
        ("permanent", f.permanent),
    ] {
        if !(0.0..=1.0).contains(&p) {
            out.push(Finding::new(
                format!("sim.faults.{n}"),
                "a probability between 0 and 1",
            ));
        }
    }
    out
}
