//! How long before `start` an event's resources must be created.

use std::collections::HashMap;
use std::time::Duration;

use crate::model::{Catalog, Event, Lead, Profile, Window, blueprint};

/// Safety factor over the critical path of typical provisioning times.
const SAFETY: f64 = 1.25;
/// Time for readiness checks after the last resource reports ready.
const READINESS: Duration = Duration::from_secs(60);

/// The lead used when an event asks for `auto` and no history exists yet: the p95 provisioning
/// times from the catalog along the profile's longest dependency chain, times a safety factor,
/// plus readiness checks, rounded up to the minute.
pub fn catalog_lead(profile: &Profile, catalog: &Catalog) -> Duration {
    let slots = blueprint(profile);
    let mut done: HashMap<&str, Duration> = HashMap::new();
    // The blueprint lists dependencies before dependents.
    for s in &slots {
        let own = catalog
            .kinds
            .get(s.kind)
            .map_or(Duration::ZERO, |k| k.provision.p95.0);
        let after = s
            .depends_on
            .iter()
            .filter_map(|d| done.get(d.as_str()).copied())
            .max()
            .unwrap_or(Duration::ZERO);
        done.insert(s.name.as_str(), after + own);
    }
    let path = done.values().copied().max().unwrap_or(Duration::ZERO);
    let secs = (path.as_secs_f64() * SAFETY).ceil() as u64 + READINESS.as_secs();
    Duration::from_secs(secs.div_ceil(60) * 60)
}

pub fn effective_lead(event: &Event, profile: &Profile, catalog: &Catalog) -> Duration {
    match event.lead {
        Lead::Fixed(d) => d,
        Lead::Auto => catalog_lead(profile, catalog),
    }
}

/// From `start − lead` to `end + grace`: when the event's resources should exist.
pub fn window(event: &Event, lead: Duration) -> Window {
    let sub = jiff::SignedDuration::try_from(lead).unwrap_or(jiff::SignedDuration::ZERO);
    let add = jiff::SignedDuration::try_from(event.grace).unwrap_or(jiff::SignedDuration::ZERO);
    Window {
        from: event.start.checked_sub(sub).unwrap_or(event.start),
        to: event.end.checked_add(add).unwrap_or(event.end),
    }
}
