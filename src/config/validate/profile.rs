//! A profile: its own fields, then what it asks of its provider.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Ctx;
use crate::config::duration::parse_duration;
use crate::config::profile::{DrmScheme, Engine, InputKind, ProfileFile, ReactionKind, Redundancy};
use crate::config::rules::{ProviderRules, ProviderSet};
use crate::config::yaml::nearest;
use crate::model::{Catalog, Kind, Profile, blueprint_kinds};

pub(super) fn profile(
    cx: &mut Ctx<'_>,
    name: &str,
    p: &ProfileFile,
    catalogs: &BTreeMap<String, Catalog>,
    catalog_files: &[&str],
    providers: &dyn ProviderSet,
) -> Option<Profile> {
    cx.header(&p.api_version, &p.kind, "Profile");
    let mut ok = true;
    let provider = &p.provider.value;
    let rules = providers.rules(provider);
    if rules.is_none() {
        let names = providers.names();
        let mut msg = format!("unknown provider `{provider}`");
        if let Some(n) = nearest(provider, names.iter().copied()) {
            msg.push_str(&format!(", did you mean `{n}`?"));
        }
        msg.push_str(&format!(" (expected one of {})", names.join(", ")));
        cx.at(&p.provider, "provider", msg);
        ok = false;
    } else if !providers.built(provider) {
        cx.at(
            &p.provider,
            "provider",
            format!("provider `{provider}` is not built into this binary (see docs/providers.md)"),
        );
        ok = false;
    } else if !catalogs.contains_key(provider) {
        cx.at(
            &p.provider,
            "provider",
            if catalog_files.contains(&provider.as_str()) {
                format!("the catalog providers/{provider}.yaml is invalid (see its errors)")
            } else {
                format!("no catalog for provider `{provider}`: add providers/{provider}.yaml")
            },
        );
        ok = false;
    }
    let lead = match &p.lead {
        Some(l) => Some(cx.lead(l, "lead")?),
        None => None,
    };
    let grace = match &p.grace {
        Some(g) => Some(cx.duration(g, "grace")?),
        None => None,
    };
    let segment_duration = match parse_duration(&p.encoder.segment_duration) {
        Ok(d) if d >= Duration::from_millis(500) => Some(d),
        Ok(_) => {
            cx.top("encoder.segment_duration", "must be at least 500ms");
            None
        }
        Err(e) => {
            cx.top("encoder.segment_duration", e);
            None
        }
    };
    if parse_duration(&p.origin.dvr_window).is_err() {
        cx.top(
            "origin.dvr_window",
            format!("malformed duration `{}`", p.origin.dvr_window),
        );
        ok = false;
    }
    if p.encoder.ladder.is_empty() {
        cx.top("encoder.ladder", "at least one rendition is required");
        ok = false;
    }
    let mut names = Vec::new();
    for (i, r) in p.encoder.ladder.iter().enumerate() {
        let f = format!("encoder.ladder[{i}]");
        if names.contains(&&r.name) {
            cx.top(
                format!("{f}.name"),
                format!("rendition `{}` is listed twice", r.name),
            );
            ok = false;
        }
        names.push(&r.name);
        if r.width == 0 || r.height == 0 || r.width % 2 == 1 || r.height % 2 == 1 {
            cx.top(
                f.clone(),
                format!(
                    "{}x{}: width and height must be even and positive",
                    r.width, r.height
                ),
            );
            ok = false;
        }
        if !(1.0..=120.0).contains(&r.fps) {
            cx.top(
                format!("{f}.fps"),
                format!("fps {} is outside 1..120", r.fps),
            );
            ok = false;
        }
    }
    if p.encoder.input.kind == InputKind::File && p.encoder.input.address.is_none() {
        cx.top(
            "encoder.input.address",
            "a `file` input needs the file's path in `address`",
        );
        ok = false;
    }
    if let Some(drm) = &p.vod.drm
        && drm.key_provider == crate::config::profile::KeyProvider::Speke
        && drm.url.is_none()
    {
        cx.top(
            "vod.drm.url",
            "the `speke` key provider needs the key server's `url`",
        );
        ok = false;
    }
    if let Some(drm) = &p.vod.drm
        && !drm.systems.is_empty()
    {
        use crate::model::profile_spec::DrmScheme;
        if !matches!(drm.scheme, DrmScheme::Cenc | DrmScheme::Cbcs) {
            cx.top(
                "vod.drm.systems",
                "DRM systems signal a cenc or cbcs VOD (CMAF); aes-128 and none have none",
            );
            ok = false;
        }
        for (i, s) in drm.systems.iter().enumerate() {
            if drm.systems[..i].contains(s) {
                cx.top(
                    format!("vod.drm.systems[{i}]"),
                    format!("`{}` is listed twice", s.as_str()),
                );
                ok = false;
            }
        }
    }
    ok &= super::drm::drm(cx, p);
    ok &= super::monitoring::monitoring(cx, &p.monitoring);
    for (i, net) in p.encoder.input.allow.iter().enumerate() {
        if net.parse::<ipnet::IpNet>().is_err() {
            cx.top(
                format!("encoder.input.allow[{i}]"),
                format!("`{net}` is not a network in CIDR form, such as 203.0.113.0/24"),
            );
            ok = false;
        }
    }
    if let Some(rules) = rules.filter(|_| providers.built(provider)) {
        ok &= capabilities(cx, p, rules);
        // The provider's own checks run without a catalog too, reported with its absence.
        let none = BTreeMap::new();
        let kinds = catalogs.get(provider).map_or(&none, |c| &c.kinds);
        ok &= cx.findings((rules.profile)(p, kinds));
    }
    let out = Profile {
        name: name.to_string(),
        provider: provider.clone(),
        lead,
        grace,
        encoder: p.encoder.clone(),
        segment_seconds: segment_duration?.as_secs_f64(),
        dvr_window_seconds: parse_duration(&p.origin.dvr_window).map_or(0.0, |d| d.as_secs_f64()),
        segment_duration: segment_duration?,
        origin: p.origin.clone(),
        cdn: p.cdn.clone(),
        vod: p.vod.clone(),
        monitoring: p.monitoring.clone(),
        pipelines_in_one_encoder: p.encoder.redundancy == Redundancy::Dual
            && p.encoder.engine == Engine::Managed
            && catalogs
                .get(provider)
                .and_then(|c| c.kinds.get(&Kind::Encoder))
                .is_some_and(|k| k.pipelines == Some(2)),
    };
    if let Some(cat) = catalogs.get(provider) {
        for kind in blueprint_kinds(&out) {
            if rules.is_some_and(|r| !r.kinds.contains(&kind)) {
                cx.at(
                    &p.provider,
                    "provider",
                    format!(
                        "the `{provider}` provider makes no `{kind}`, which this profile needs"
                    ),
                );
                ok = false;
            } else if !cat.kinds.contains_key(&kind) {
                cx.at(
                    &p.provider,
                    "provider",
                    format!("the `{provider}` catalog has no resource kind `{kind}`, which this profile needs"),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// What the profile asks of its provider beyond resources: a slate, a VOD with DRM, monitoring
/// actions it must carry out itself.
fn capabilities(cx: &mut Ctx<'_>, p: &ProfileFile, rules: &ProviderRules) -> bool {
    let mut ok = true;
    let provider = rules.name;
    if p.encoder.slate.is_some() && !rules.slate {
        cx.top(
            "encoder.slate",
            format!("the `{provider}` provider's encoders show no slate: leave `slate` out"),
        );
        ok = false;
    }
    if p.encoder.input.backup.is_some() && !rules.backup_input {
        cx.top(
            "encoder.input.backup",
            format!("the `{provider}` provider's encoders fail over to no backup contribution: leave `backup` out"),
        );
        ok = false;
    }
    if p.vod.enabled && !rules.vod {
        cx.top(
            "vod.enabled",
            format!("the `{provider}` provider makes no VOD"),
        );
        ok = false;
    }
    if let Some(drm) = p.vod.drm.as_ref().filter(|d| d.scheme != DrmScheme::None)
        && p.vod.enabled
        && rules.vod
        && !rules.drm.contains(&drm.scheme)
    {
        let schemes: Vec<String> = rules.drm.iter().map(spelled).collect();
        let scheme = spelled(&drm.scheme);
        cx.top(
            "vod.drm.scheme",
            if schemes.is_empty() {
                format!(
                    "the `{provider}` provider packages its VOD in the clear only, not `{scheme}`: leave `vod.drm` out"
                )
            } else {
                format!(
                    "the `{provider}` provider packages no `{scheme}` VOD (it packages {})",
                    schemes.join(", ")
                )
            },
        );
        ok = false;
    }
    if let Some(drm) = &p.origin.drm
        && drm.scheme != DrmScheme::None
        && !rules.live_drm.contains(&drm.scheme)
    {
        let schemes: Vec<String> = rules.live_drm.iter().map(spelled).collect();
        cx.top(
            "origin.drm.scheme",
            if schemes.is_empty() {
                format!(
                    "the `{provider}` provider encrypts no live stream yet: leave `origin.drm` out"
                )
            } else {
                format!(
                    "the `{provider}` provider encrypts a live stream with {}, not `{}`",
                    schemes.join(", "),
                    spelled(&drm.scheme)
                )
            },
        );
        ok = false;
    }
    for (i, a) in p.monitoring.actions.iter().enumerate() {
        let own = matches!(
            a.action,
            ReactionKind::Failover | ReactionKind::Restart | ReactionKind::Scale
        );
        if own && !rules.actions.contains(&a.action) {
            let can: Vec<String> = rules.actions.iter().map(spelled).collect();
            cx.top(
                format!("monitoring.actions[{i}].do"),
                format!(
                    "the `{provider}` provider cannot carry out `{}` (it can: {}); `notify` and `ask` work everywhere",
                    spelled(&a.action),
                    if can.is_empty() { "none of failover, restart, scale".to_string() } else { can.join(", ") }
                ),
            );
            ok = false;
        }
    }
    ok
}

/// A value's name as the profile spells it (`aes-128`, `failover`).
fn spelled<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}
