//! The desired state: every resource every in-scope event needs, with its rendered definition.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use sha2::{Digest, Sha256};
use tera::Context;

use crate::model::{
    Catalog, Config, Definition, Event, Kind, Profile, RecordedResource, ResourceId, ResourceSpec,
    Slot, TAG_EVENT, TAG_OWNER, TAG_REGION, Window, blueprint,
};
use crate::render::{RenderError, Renderer};
use crate::schedule::handoff::Handoff;
use crate::schedule::lead::{LeadOrigin, Learned};
use crate::schedule::timeline::{Held, Timeline, timeline};

#[derive(Debug, Clone, Default)]
pub struct DesiredState {
    pub resources: BTreeMap<ResourceId, ResourceSpec>,
    /// Each event's lead and where it came from.
    pub leads: BTreeMap<String, (std::time::Duration, LeadOrigin)>,
    /// For each shared resource, the spans it should exist (its window is their hull).
    pub shared_spans: BTreeMap<ResourceId, Vec<Window>>,
    /// Recorded resources left as they are though not desired: what a hand-off still needs.
    pub keep: BTreeSet<ResourceId>,
    /// VODs being made: the deletes of their event in their region wait for them, and do not
    /// happen if they fail.
    pub gates: BTreeSet<ResourceId>,
    /// Delete published VODs too (they are otherwise kept once their event is gone).
    pub release_vods: bool,
    /// Each event's per-GB part of the cost estimate, with what the estimate leaves out.
    pub delivery: BTreeMap<String, crate::model::Delivery>,
}

/// Which events a command acts on.
#[derive(Debug, Clone, Default)]
pub enum Scope {
    /// Every event and every group's shared resources.
    #[default]
    All,
    /// These events and the shared resources of their groups; for deletions, only theirs:
    /// shared resources outlive any one event.
    Events(Vec<String>),
    /// Every event and shared unit but these keys, which are left as they are: neither
    /// desired nor deleted (`up` leaves out the events whose window has passed).
    AllBut(BTreeSet<String>),
    /// What should exist at this instant: the resources of the events inside their windows
    /// whose own leads have come, and the shared resources some event still needs. `held`
    /// (what the state holds) keeps a provisioned event or group from being torn down because
    /// a shorter lead was learned.
    At { now: jiff::Timestamp, held: Held },
}

impl Scope {
    pub fn from_ids(ids: &[String]) -> Self {
        if ids.is_empty() {
            Scope::All
        } else {
            Scope::Events(ids.to_vec())
        }
    }
    /// Whether deletions may touch what is kept under `key` (an event id or a shared unit).
    pub fn contains(&self, key: &str) -> bool {
        match self {
            Scope::All | Scope::At { .. } => true,
            Scope::Events(ids) => ids.iter().any(|i| i == key),
            Scope::AllBut(left_out) => !left_out.contains(key),
        }
    }
}

/// The desired state, with leads learned from `learned`.
pub fn desired_state(
    config: &Config,
    renderer: &Renderer,
    owner: &str,
    scope: &Scope,
    learned: &Learned,
) -> Result<DesiredState, RenderError> {
    desired_state_in(config, renderer, owner, scope, &timeline(config, learned))
}

/// The desired state on a timeline already computed.
pub fn desired_state_in(
    config: &Config,
    renderer: &Renderer,
    owner: &str,
    scope: &Scope,
    timeline: &Timeline,
) -> Result<DesiredState, RenderError> {
    let events: Vec<&Event> = match scope {
        Scope::All => config.events.iter().collect(),
        Scope::AllBut(left_out) => config
            .events
            .iter()
            .filter(|e| !left_out.contains(&e.id))
            .collect(),
        Scope::Events(ids) => config
            .events
            .iter()
            .filter(|e| ids.contains(&e.id))
            .collect(),
        Scope::At { now, held } => {
            let active = timeline.events_at(*now, held);
            config
                .events
                .iter()
                .filter(|e| active.contains(&e.id))
                .collect()
        }
    };
    let shared: BTreeSet<(String, String)> = match scope {
        Scope::At { now, held } => timeline.shared_at(*now, held),
        _ => events
            .iter()
            .filter_map(|e| {
                let u = timeline.events.get(&e.id)?.shared_unit.clone()?;
                let (profile, catalog) = config.profile_and_catalog(e)?;
                Some((u, e, profile, catalog))
            })
            .flat_map(|(u, e, profile, catalog)| {
                e.regions
                    .iter()
                    .map(move |r| (u.clone(), catalog.shared_region(profile, r).to_string()))
            })
            .collect(),
    };
    let at = match scope {
        Scope::At { now, held } => Some((*now, held)),
        _ => None,
    };
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
                        event_resources(config, renderer, owner, timeline, e, at, &mut out)?;
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
        if let Some(w) = timeline.events.get(&e.id) {
            out.leads.insert(e.id.clone(), (w.lead, w.lead_from));
        }
        if let Some((profile, catalog)) = config.profile_and_catalog(e) {
            out.delivery
                .insert(e.id.clone(), crate::model::delivery(e, profile, catalog));
        }
    }
    for part in parts {
        for spec in part? {
            out.resources.insert(spec.id.clone(), spec);
        }
    }
    for (unit, region) in &shared {
        let spans = timeline
            .shared
            .get(&(unit.clone(), region.clone()))
            .map(|s| s.spans.clone())
            .unwrap_or_default();
        for spec in shared_resources(config, renderer, owner, unit, region, &spans)? {
            out.shared_spans.insert(spec.id.clone(), spans.clone());
            out.resources.insert(spec.id.clone(), spec);
        }
    }
    Ok(out)
}

/// The event's own resources; at an instant (`at`), only those whose lead has come, and those
/// the state already holds.
fn event_resources(
    config: &Config,
    renderer: &Renderer,
    owner: &str,
    timeline: &Timeline,
    event: &Event,
    at: Option<(jiff::Timestamp, &Held)>,
    out: &mut Vec<ResourceSpec>,
) -> Result<(), RenderError> {
    let (Some((profile, catalog)), Some(w)) = (
        config.profile_and_catalog(event),
        timeline.events.get(&event.id),
    ) else {
        return Ok(());
    };
    let slots: Vec<_> = blueprint(profile)
        .into_iter()
        .filter(|s| !s.shared && !s.after_show)
        .collect();
    let win = |s: &Slot| Window {
        from: w.slot_from(&s.name),
        to: w.window.to,
    };
    let Some((now, held)) = at else {
        return render_event(
            renderer,
            owner,
            event,
            profile,
            catalog,
            &slots,
            &win,
            &event.regions,
            out,
        );
    };
    for region in &event.regions {
        let due: Vec<Slot> = slots
            .iter()
            .filter(|s| {
                w.slot_from(&s.name) <= now
                    || held.resource(&ResourceId::new(&event.id, region, &s.name))
            })
            .cloned()
            .collect();
        if !due.is_empty() {
            let regions = std::slice::from_ref(region);
            render_event(
                renderer, owner, event, profile, catalog, &due, &win, regions, out,
            )?;
        }
    }
    Ok(())
}

/// Adds what the events' hand-offs need, per event and region (see
/// [`crate::schedule::handoff`]): the VOD to make, gating the region's deletes, or what of the
/// recorded resources to keep.
pub fn add_handoffs(
    desired: &mut DesiredState,
    config: &Config,
    renderer: &Renderer,
    owner: &str,
    handoffs: &BTreeMap<(String, String), Handoff>,
    recorded: &[RecordedResource],
) -> Result<(), RenderError> {
    for ((event_id, region), handoff) in handoffs {
        let held = || {
            recorded
                .iter()
                .filter(|r| r.spec.event == *event_id && r.spec.region == *region)
        };
        let keep: Vec<ResourceId> = match handoff {
            Handoff::Package { .. } => {
                let Some(event) = config.events.iter().find(|e| &e.id == event_id) else {
                    continue;
                };
                let Some((profile, catalog)) = config.profile_and_catalog(event) else {
                    continue;
                };
                let slots: Vec<Slot> = blueprint(profile)
                    .into_iter()
                    .filter(|s| s.after_show)
                    .collect();
                let release = event.release_at();
                let win = |_: &Slot| Window {
                    from: release,
                    to: release,
                };
                let mut out = Vec::new();
                let regions = std::slice::from_ref(region);
                render_event(
                    renderer, owner, event, profile, catalog, &slots, &win, regions, &mut out,
                )?;
                for spec in out {
                    desired.gates.insert(spec.id.clone());
                    desired.resources.insert(spec.id.clone(), spec);
                }
                continue;
            }
            Handoff::Waiting { .. } => held().map(|r| r.spec.id.clone()).collect(),
            Handoff::Published => held()
                .filter(|r| r.spec.kind == Kind::Vod)
                .map(|r| r.spec.id.clone())
                .collect(),
            Handoff::GaveUp { .. } => held()
                .filter(|r| r.spec.kind == Kind::Archive)
                .map(|r| r.spec.id.clone())
                .collect(),
            // Nothing to hand off: the archive goes with the rest.
            Handoff::NoArchive | Handoff::NotAired { .. } => continue,
        };
        desired.keep.extend(keep);
    }
    Ok(())
}

/// Renders `slots` of `event` in each of its regions.
#[allow(clippy::too_many_arguments)]
fn render_event(
    renderer: &Renderer,
    owner: &str,
    event: &Event,
    profile: &Profile,
    catalog: &Catalog,
    slots: &[Slot],
    win: &dyn Fn(&Slot) -> Window,
    regions: &[String],
    out: &mut Vec<ResourceSpec>,
) -> Result<(), RenderError> {
    let mut ctx = Context::new();
    ctx.insert("owner", owner);
    ctx.insert(
        "event",
        &json!({
            "id": event.id,
            "title": event.title.as_deref().unwrap_or(&event.id),
            "start": event.start.to_string(),
            "end": event.end.to_string(),
            "duration_s": event.end.duration_since(event.start).as_secs(),
            // The event's grace after its end, resolved (the event's, else the profile's).
            "grace_s": event.grace.as_secs_f64(),
            "regions": event.regions,
            "vod_enabled": event.vod_enabled,
            // The key of what the event's group shares, for resources that live inside it.
            "shared_unit": event.shared_unit(profile),
        }),
    );
    ctx.insert("shared", &false);
    ctx.insert("profile", profile);
    ctx.insert("provider", &profile.provider);
    for region in regions {
        insert_region(&mut ctx, catalog, region);
        for slot in slots {
            let mut spec = render_slot(
                &mut ctx,
                renderer,
                profile,
                catalog,
                owner,
                &event.id,
                region,
                slot,
                win(slot),
            )?;
            spec.on_air = Some(Window {
                from: event.start,
                to: event.end,
            });
            out.push(spec);
        }
    }
    Ok(())
}

/// The resources a group shares in one region, rendered with `shared` set and `event.id`
/// naming the group's key.
fn shared_resources(
    config: &Config,
    renderer: &Renderer,
    owner: &str,
    unit: &str,
    region: &str,
    spans: &[Window],
) -> Result<Vec<ResourceSpec>, RenderError> {
    // The unit is `@profile` or `@profile+group`.
    let body = unit.trim_start_matches('@');
    let (profile_name, group) = body.split_once('+').unwrap_or((body, ""));
    let (Some(profile), Some(first), Some(last)) = (
        config.profiles.get(profile_name),
        spans.first(),
        spans.last(),
    ) else {
        return Ok(Vec::new());
    };
    let Some(catalog) = config.catalogs.get(&profile.provider) else {
        return Ok(Vec::new());
    };
    let hull = Window {
        from: first.from,
        to: last.to,
    };
    // The regions the unit serves from here: all of the group's for a global service (its
    // one resource fronts each region's origins), else this one. From the whole schedule, so
    // that the definition does not change as events come and go.
    let regions: BTreeSet<&str> = config
        .events
        .iter()
        .filter(|e| e.profile == profile.name && e.shared_unit(profile).as_deref() == Some(unit))
        .flat_map(|e| e.regions.iter().map(String::as_str))
        .filter(|r| catalog.shared_region(profile, r) == region)
        .chain(
            catalog
                .shared_global_region(profile)
                .is_none()
                .then_some(region),
        )
        .collect();
    let mut ctx = Context::new();
    ctx.insert("owner", owner);
    ctx.insert(
        "event",
        &json!({
            "id": unit,
            "title": if group.is_empty() { profile_name } else { group },
            "start": hull.from.to_string(),
            "end": hull.to.to_string(),
            "regions": regions,
            "vod_enabled": false,
        }),
    );
    ctx.insert("shared", &true);
    ctx.insert("profile", profile);
    ctx.insert("provider", &profile.provider);
    insert_region(&mut ctx, catalog, region);
    blueprint(profile)
        .iter()
        .filter(|s| s.shared)
        .map(|slot| {
            render_slot(
                &mut ctx, renderer, profile, catalog, owner, unit, region, slot, hull,
            )
        })
        .collect()
}

fn insert_region(ctx: &mut Context, catalog: &Catalog, region: &str) {
    let entry = catalog.regions.get(region).cloned().unwrap_or_default();
    ctx.insert(
        "region",
        &json!({
            "name": region,
            "endpoint": entry.endpoint,
            "display_name": entry.display_name,
        }),
    );
}

/// One resource of `key` (an event id, or a group's shared unit) in `region`.
#[allow(clippy::too_many_arguments)]
fn render_slot(
    ctx: &mut Context,
    renderer: &Renderer,
    profile: &Profile,
    catalog: &Catalog,
    owner: &str,
    key: &str,
    region: &str,
    slot: &Slot,
    window: Window,
) -> Result<ResourceSpec, RenderError> {
    let id = ResourceId::new(key, region, &slot.name);
    let depends_on: Vec<ResourceId> = slot
        .depends_on
        .iter()
        .map(|d| ResourceId::new(key, region, d))
        .collect();
    let tags = BTreeMap::from([
        (TAG_OWNER.to_string(), owner.to_string()),
        (TAG_EVENT.to_string(), key.to_string()),
        (TAG_REGION.to_string(), region.to_string()),
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
    ctx.insert("kind", &catalog.kinds.get(&slot.kind));
    let definition =
        Definition::from_value(&renderer.render(&profile.provider, slot.kind.as_str(), ctx)?);
    let spec_hash = spec_hash(&profile.provider, slot.kind, &definition, &depends_on);
    Ok(ResourceSpec {
        id,
        provider: profile.provider.clone(),
        region: region.to_string(),
        event: key.to_string(),
        kind: slot.kind,
        name: slot.name.clone(),
        depends_on,
        definition,
        tags,
        hourly_price: catalog.hourly_price_for(profile, region, slot.kind),
        window,
        on_air: None,
        spec_hash,
    })
}

fn spec_hash(provider: &str, kind: Kind, definition: &Definition, deps: &[ResourceId]) -> String {
    let mut h = Sha256::new();
    h.update(provider.as_bytes());
    h.update([0]);
    h.update(kind.as_str().as_bytes());
    h.update([0]);
    h.update(definition.as_str().as_bytes());
    for d in deps {
        h.update([0]);
        h.update(d.as_str().as_bytes());
    }
    let digest = h.finalize();
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}
