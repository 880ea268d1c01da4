//! The desired state: every resource every in-scope event needs, with its rendered definition.

use std::collections::BTreeMap;

use serde_json::json;
use sha2::{Digest, Sha256};
use tera::Context;

use crate::model::{
    Config, Definition, Event, ResourceId, ResourceSpec, TAG_EVENT, TAG_OWNER, TAG_REGION,
    blueprint,
};
use crate::render::{RenderError, Renderer};
use crate::schedule::lead::{LeadOrigin, Learned, resolve_lead, window};

#[derive(Debug, Clone, Default)]
pub struct DesiredState {
    pub resources: BTreeMap<ResourceId, ResourceSpec>,
    /// Each event's lead and where it came from.
    pub leads: BTreeMap<String, (std::time::Duration, LeadOrigin)>,
}

/// Which events a command acts on.
#[derive(Debug, Clone, Default)]
pub enum Scope {
    #[default]
    All,
    Events(Vec<String>),
}

impl Scope {
    pub fn from_ids(ids: &[String]) -> Self {
        if ids.is_empty() {
            Scope::All
        } else {
            Scope::Events(ids.to_vec())
        }
    }
    pub fn contains(&self, event: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Events(ids) => ids.iter().any(|i| i == event),
        }
    }
}

pub fn desired_state(
    config: &Config,
    renderer: &Renderer,
    owner: &str,
    scope: &Scope,
    learned: &Learned,
) -> Result<DesiredState, RenderError> {
    let events: Vec<&Event> = config
        .events
        .iter()
        .filter(|e| scope.contains(&e.id))
        .collect();
    // Rendering is the expensive part of planning: spread the events over the cores.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(events.len().max(1));
    let chunk = events.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Vec<ResourceSpec>, RenderError>> = std::thread::scope(|s| {
        let handles: Vec<_> = events
            .chunks(chunk)
            .map(|evs| {
                s.spawn(move || {
                    let mut out = Vec::new();
                    for e in evs {
                        event_resources(config, renderer, owner, learned, e, &mut out)?;
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Ok(Vec::new())))
            .collect()
    });
    let mut out = DesiredState::default();
    for e in &events {
        if let Some((p, c)) = profile_and_catalog(config, e) {
            out.leads
                .insert(e.id.clone(), resolve_lead(e, p, c, learned));
        }
    }
    for part in parts {
        for spec in part? {
            out.resources.insert(spec.id.clone(), spec);
        }
    }
    Ok(out)
}

/// An event's profile and its provider's catalog (validation guarantees both exist).
pub fn profile_and_catalog<'c>(
    config: &'c Config,
    event: &Event,
) -> Option<(&'c crate::model::Profile, &'c crate::model::Catalog)> {
    let profile = config.profiles.get(&event.profile)?;
    Some((profile, config.catalogs.get(&profile.provider)?))
}

fn event_resources(
    config: &Config,
    renderer: &Renderer,
    owner: &str,
    learned: &Learned,
    event: &Event,
    out: &mut Vec<ResourceSpec>,
) -> Result<(), RenderError> {
    let Some((profile, catalog)) = profile_and_catalog(config, event) else {
        return Ok(());
    };
    let (lead, _) = resolve_lead(event, profile, catalog, learned);
    let win = window(event, lead);
    let slots = blueprint(profile);
    let mut ctx = Context::new();
    ctx.insert("owner", owner);
    ctx.insert(
        "event",
        &json!({
            "id": event.id,
            "title": event.title.as_deref().unwrap_or(&event.id),
            "start": event.start.to_string(),
            "end": event.end.to_string(),
            "regions": event.regions,
            "vod_enabled": event.vod_enabled,
        }),
    );
    ctx.insert("profile", profile);
    ctx.insert("provider", &profile.provider);
    for region in &event.regions {
        let entry = catalog.regions.get(region).cloned().unwrap_or_default();
        ctx.insert(
            "region",
            &json!({
                "name": region,
                "endpoint": entry.endpoint,
                "display_name": entry.display_name,
            }),
        );
        for slot in &slots {
            let id = ResourceId::new(&event.id, region, &slot.name);
            let depends_on: Vec<ResourceId> = slot
                .depends_on
                .iter()
                .map(|d| ResourceId::new(&event.id, region, d))
                .collect();
            let tags = BTreeMap::from([
                (TAG_OWNER.to_string(), owner.to_string()),
                (TAG_EVENT.to_string(), event.id.clone()),
                (TAG_REGION.to_string(), region.clone()),
            ]);
            // The same context serves every resource: only these two keys change.
            ctx.insert(
                "resource",
                &json!({
                    "id": id,
                    "name": slot.name,
                    "kind": slot.kind,
                    "pipeline": slot.pipeline.map(String::from),
                    "tags": tags,
                    "depends_on": depends_on,
                }),
            );
            ctx.insert("kind", &catalog.kinds.get(slot.kind));
            let definition =
                Definition::from_value(&renderer.render(&profile.provider, slot.kind, &ctx)?);
            let spec_hash = spec_hash(&profile.provider, slot.kind, &definition, &depends_on);
            out.push(ResourceSpec {
                id,
                provider: profile.provider.clone(),
                region: region.clone(),
                event: event.id.clone(),
                kind: slot.kind.to_string(),
                name: slot.name.clone(),
                depends_on,
                definition,
                tags,
                hourly_price: catalog.hourly_price(region, slot.kind),
                window: win,
                spec_hash,
            });
        }
    }
    Ok(())
}

fn spec_hash(provider: &str, kind: &str, definition: &Definition, deps: &[ResourceId]) -> String {
    let mut h = Sha256::new();
    h.update(provider.as_bytes());
    h.update([0]);
    h.update(kind.as_bytes());
    h.update([0]);
    h.update(definition.as_str().as_bytes());
    for d in deps {
        h.update([0]);
        h.update(d.as_str().as_bytes());
    }
    let digest = h.finalize();
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}
