//! When each event's resources, and each group's shared resources, should exist (pure).
//!
//! An event's resources exist from `start − lead` to `end + grace`; within that, each of them
//! from its own lead (the archive a little before the origin, the origin a little before the
//! encoder), so that quick creates do not wait idle for the slowest. Resources an event group
//! shares (a CDN distribution: minutes to deploy, and a delete known to take far longer) exist
//! while any event of the group needs them, and are kept across a gap between two events when
//! tearing them down and creating them again would take longer than the gap. Each is created
//! as late as its own chain allows: an `auto` lead for the event's encoders does not include
//! the CDN's deploy time, and the CDN's span starts as early as that deploy needs.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::lead::{Covering, LeadOrigin, Learned, resolve_leads, window};
use super::phase::Times;
use crate::config::duration::signed;
use crate::model::{Catalog, Config, Profile, RecordedResource, ResourceId, Window, blueprint};

#[derive(Debug, Clone)]
pub struct EventWindow {
    pub lead: Duration,
    pub lead_from: LeadOrigin,
    pub times: Times,
    pub window: Window,
    /// When each of the event's own resources (by blueprint slot) is created: at the latest,
    /// `window.from`.
    pub slot_from: BTreeMap<String, Timestamp>,
    /// How many resources the event has in all its regions (the shared ones apart).
    pub resources: usize,
    /// The key of the group's shared resources, when the profile shares any.
    pub shared_unit: Option<String>,
    pub regions: Vec<String>,
}

impl EventWindow {
    /// When the slot's resources are created.
    pub fn slot_from(&self, slot: &str) -> Timestamp {
        self.slot_from
            .get(slot)
            .copied()
            .unwrap_or(self.window.from)
    }
}

/// An event or shared unit in one region: (key, region). The daemon applies each on its own.
pub type Place = (String, String);

/// What the state holds, as far as the timeline's hysteresis asks: by event or shared unit,
/// by place (key and region), and by resource.
#[derive(Debug, Clone, Default)]
pub struct Held {
    keys: BTreeSet<String>,
    places: BTreeSet<Place>,
    resources: BTreeSet<ResourceId>,
}

impl Held {
    pub fn of(recorded: &[RecordedResource]) -> Self {
        let mut h = Self::default();
        for r in recorded {
            h.keys.insert(r.spec.event.clone());
            h.places
                .insert((r.spec.event.clone(), r.spec.region.clone()));
            h.resources.insert(r.spec.id.clone());
        }
        h
    }

    pub fn key(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    pub fn place(&self, key: &str, region: &str) -> bool {
        self.places.contains(&(key.to_string(), region.to_string()))
    }

    pub fn resource(&self, id: &ResourceId) -> bool {
        self.resources.contains(id)
    }
}

#[derive(Debug, Clone, Default)]
pub struct SharedSpans {
    /// When the shared resources should exist, in order.
    pub spans: Vec<Window>,
    /// Gaps shorter than this are bridged (see [`linger`]).
    pub linger: SignedDuration,
}

#[derive(Debug, Clone, Default)]
pub struct Timeline {
    pub events: BTreeMap<String, EventWindow>,
    /// Per shared unit and region.
    pub shared: BTreeMap<(String, String), SharedSpans>,
}

impl Timeline {
    /// The events whose resources should exist at `now`. An event in `held` (the state holds
    /// resources for it) is kept from `start − 2 × lead`: a lead shortened by newly learned
    /// durations must not tear down what was provisioned under the longer one, only to create
    /// it again minutes later. An event moved hours later is still released.
    pub fn events_at(&self, now: Timestamp, held: &Held) -> Vec<String> {
        self.events
            .iter()
            .filter(|(id, w)| {
                let from = if held.key(id) {
                    w.times.start - w.times.lead * 2
                } else {
                    w.window.from
                };
                from <= now && now < w.window.to
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The (unit, region) pairs whose shared resources should exist at `now`; a unit the
    /// state holds in that region is kept from one linger before its span, for the same
    /// reason as in [`Self::events_at`].
    pub fn shared_at(&self, now: Timestamp, held: &Held) -> BTreeSet<(String, String)> {
        self.shared
            .iter()
            .filter(|((unit, region), s)| {
                let slack = if held.place(unit, region) {
                    s.linger
                } else {
                    SignedDuration::ZERO
                };
                s.spans.iter().any(|w| w.from - slack <= now && now < w.to)
            })
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The next instant after `now` at which something should change: a window opening or
    /// closing, or a show starting.
    pub fn next_change(&self, now: Timestamp) -> Option<Timestamp> {
        let events = self.events.values().flat_map(|w| {
            [w.window.from, w.times.start, w.window.to]
                .into_iter()
                .chain(w.slot_from.values().copied())
        });
        let shared = self
            .shared
            .values()
            .flat_map(|s| s.spans.iter())
            .flat_map(|w| [w.from, w.to]);
        events.chain(shared).filter(|t| *t > now).min()
    }

    /// The next instant after `now` at which something is due to be created.
    pub fn next_opening(&self, now: Timestamp) -> Option<Timestamp> {
        let events = self
            .events
            .values()
            .flat_map(|w| std::iter::once(w.window.from).chain(w.slot_from.values().copied()));
        let shared = self
            .shared
            .values()
            .flat_map(|s| s.spans.iter().map(|w| w.from));
        events.chain(shared).filter(|t| *t > now).min()
    }

    /// The next instant after `now` at which something is due to be released.
    pub fn next_release(&self, now: Timestamp) -> Option<Timestamp> {
        let events = self.events.values().map(|w| w.window.to);
        let shared = self
            .shared
            .values()
            .flat_map(|s| s.spans.iter().map(|w| w.to));
        events.chain(shared).filter(|t| *t > now).min()
    }
}

pub fn timeline(config: &Config, learned: &Learned) -> Timeline {
    let mut out = Timeline::default();
    let mut spans: BTreeMap<(String, String), Vec<Window>> = BTreeMap::new();
    let mut lingers: BTreeMap<(String, String), SignedDuration> = BTreeMap::new();
    for e in &config.events {
        let Some((profile, catalog)) = config.profile_and_catalog(e) else {
            continue;
        };
        let unit = e.shared_unit(profile);
        // With shared resources apart, the event's own lead covers only its own; each shared
        // resource starts as early as its own chain needs.
        let covering = if unit.is_some() {
            Covering::Own
        } else {
            Covering::All
        };
        let leads = resolve_leads(e, profile, catalog, learned, covering);
        let win = window(e, leads.lead);
        // The leads cover exactly the event's own resources, each under its slot's name.
        let slot_from: BTreeMap<String, Timestamp> = leads
            .slots
            .iter()
            .map(|(name, lead)| {
                let from = e.start.checked_sub(signed(*lead)).unwrap_or(e.start);
                (name.clone(), from)
            })
            .collect();
        if let Some(u) = &unit {
            let shared_lead = resolve_leads(e, profile, catalog, learned, Covering::Shared).lead;
            let span = window(e, shared_lead);
            let linger = linger(profile, catalog);
            // A global service's one resource serves every region of the group.
            let places: BTreeSet<&str> = e
                .regions
                .iter()
                .map(|r| catalog.shared_region(profile, r))
                .collect();
            for r in places {
                let key = (u.clone(), r.to_string());
                spans.entry(key.clone()).or_default().push(span);
                lingers.insert(key, linger);
            }
        }
        out.events.insert(
            e.id.clone(),
            EventWindow {
                lead: leads.lead,
                lead_from: leads.origin,
                times: Times {
                    start: e.start,
                    end: e.end,
                    lead: signed(leads.lead),
                    grace: signed(e.grace),
                },
                window: win,
                resources: slot_from.len() * e.regions.len(),
                slot_from,
                shared_unit: unit,
                regions: e.regions.clone(),
            },
        );
    }
    for (key, mut ws) in spans {
        let linger = lingers.get(&key).copied().unwrap_or(SignedDuration::ZERO);
        ws.sort_by_key(|w| w.from);
        let mut merged: Vec<Window> = Vec::with_capacity(ws.len());
        for w in ws {
            match merged.last_mut() {
                Some(last) if w.from <= last.to + linger => last.to = last.to.max(w.to),
                _ => merged.push(w),
            }
        }
        out.shared.insert(
            key,
            SharedSpans {
                spans: merged,
                linger,
            },
        );
    }
    out
}

/// The longest gap across which a group's shared resources are kept. Torn down, the resource
/// cannot be created again before its delete has finished: across a shorter gap the next
/// span's create could not begin at its time. The delete counts at its longest (the catalog's
/// `max`, else 4 × p95). The create needs nothing more: a span begins at its create's time,
/// its whole allowance before the show.
fn linger(profile: &Profile, catalog: &Catalog) -> SignedDuration {
    blueprint(profile)
        .iter()
        .filter(|s| s.shared)
        .filter_map(|s| catalog.kinds.get(&s.kind))
        .map(|k| signed(k.destroy.max.map_or(k.destroy.p95.0 * 4, |m| m.0)))
        .max()
        .unwrap_or(SignedDuration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hm: &str) -> Timestamp {
        format!("2030-12-05T{hm}:00Z").parse().unwrap()
    }

    #[test]
    fn openings_and_releases_are_told_apart() {
        let mut t = Timeline::default();
        t.events.insert(
            "show".into(),
            EventWindow {
                lead: Duration::from_secs(900),
                lead_from: LeadOrigin::Catalog,
                times: Times {
                    start: at("20:00"),
                    end: at("21:00"),
                    lead: SignedDuration::from_mins(15),
                    grace: SignedDuration::from_mins(5),
                },
                window: Window {
                    from: at("19:45"),
                    to: at("21:05"),
                },
                slot_from: [("encoder".to_string(), at("19:50"))].into(),
                resources: 2,
                shared_unit: None,
                regions: vec!["eu-west-1".into()],
            },
        );
        t.shared.insert(
            ("@cdn".into(), "eu-west-1".into()),
            SharedSpans {
                spans: vec![Window {
                    from: at("19:30"),
                    to: at("21:20"),
                }],
                linger: SignedDuration::ZERO,
            },
        );
        assert_eq!(t.next_opening(at("19:00")), Some(at("19:30")));
        assert_eq!(t.next_opening(at("19:45")), Some(at("19:50")));
        assert_eq!(t.next_opening(at("19:50")), None);
        assert_eq!(t.next_release(at("19:00")), Some(at("21:05")));
        assert_eq!(t.next_release(at("21:05")), Some(at("21:20")));
        // The start is a change (the show goes live) but neither an opening nor a release.
        assert_eq!(t.next_change(at("19:50")), Some(at("20:00")));
    }
}
