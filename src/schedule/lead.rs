//! How long before `start` an event's resources must be created.
//!
//! Explicit leads (the event's, else its profile's) are taken as given. `auto` is learned: for
//! each region, the p95 of the recorded create durations of each resource kind (the catalog's
//! p95 where fewer than [`MIN_SAMPLES`] were recorded) along the profile's longest dependency
//! chain, times a safety factor, plus time for readiness checks, rounded up to the catalog's
//! lead step (a minute unless it says); the event's lead is the largest over its regions.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{Catalog, Event, Lead, LeadSource, Profile, Window, blueprint};
use crate::state::HistoryEntry;

/// Safety factor over the critical path of provisioning times.
pub const SAFETY: f64 = 1.25;
/// Time for readiness checks after the last resource reports ready, unless the catalog says.
pub const READINESS: Duration = Duration::from_secs(60);
/// `auto` leads are rounded up to a multiple of this, unless the catalog says.
pub const LEAD_STEP: Duration = Duration::from_secs(60);
/// Recorded creates needed before a kind's own history replaces the catalog's figure.
pub const MIN_SAMPLES: usize = 5;

/// Where a lead came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadOrigin {
    Event,
    Profile,
    /// `auto`, with recorded durations for at least one kind on the chain.
    Learned,
    /// `auto`, from the catalog's typical times only.
    Catalog,
}

impl LeadOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadOrigin::Event => "event",
            LeadOrigin::Profile => "profile",
            LeadOrigin::Learned => "learned",
            LeadOrigin::Catalog => "catalog",
        }
    }
}

/// p95 create durations per (provider, region, kind), from the state's history.
#[derive(Debug, Clone, Default)]
pub struct Learned {
    p95: HashMap<(String, String, String), Duration>,
}

impl Learned {
    pub fn from_history(history: &[HistoryEntry]) -> Self {
        let mut samples: HashMap<(String, String, String), Vec<u64>> = HashMap::new();
        for h in history.iter().filter(|h| h.op == "create") {
            samples
                .entry((h.provider.clone(), h.region.clone(), h.kind.clone()))
                .or_default()
                .push(h.duration_ms);
        }
        let p95 = samples
            .into_iter()
            .filter(|(_, v)| v.len() >= MIN_SAMPLES)
            .map(|(k, mut v)| {
                v.sort_unstable();
                let i = ((v.len() as f64 * 0.95).ceil() as usize).clamp(1, v.len()) - 1;
                (k, Duration::from_millis(v[i]))
            })
            .collect();
        Self { p95 }
    }

    pub fn get(&self, provider: &str, region: &str, kind: &str) -> Option<Duration> {
        self.p95
            .get(&(provider.to_string(), region.to_string(), kind.to_string()))
            .copied()
    }
}

/// Which of a profile's resources a lead must cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covering {
    /// All of them.
    All,
    /// The event's own, when its group's shared ones are already up.
    Own,
    /// Only the shared ones.
    Shared,
}

/// The learned (or catalog) lead for a profile in one region.
pub fn region_lead(
    profile: &Profile,
    catalog: &Catalog,
    region: &str,
    learned: &Learned,
    covering: Covering,
) -> (Duration, LeadOrigin) {
    let mut used_history = false;
    let mut done: HashMap<&str, Duration> = HashMap::new();
    let slots = blueprint(profile);
    // The blueprint lists dependencies before dependents.
    for s in slots
        .iter()
        .filter(|s| !s.after_show)
        .filter(|s| match covering {
            Covering::All => true,
            Covering::Own => !s.shared,
            Covering::Shared => s.shared,
        })
    {
        let own = match learned.get(&profile.provider, region, s.kind) {
            Some(d) => {
                used_history = true;
                d
            }
            None => catalog
                .kinds
                .get(s.kind)
                .map_or(Duration::ZERO, |k| k.provision.p95.0),
        };
        let after = s
            .depends_on
            .iter()
            .filter_map(|d| done.get(d.as_str()).copied())
            .max()
            .unwrap_or(Duration::ZERO);
        done.insert(s.name.as_str(), after + own);
    }
    let path = done.values().copied().max().unwrap_or(Duration::ZERO);
    let ms =
        (path.as_secs_f64() * SAFETY * 1000.0).ceil() as u64 + catalog.readiness.as_millis() as u64;
    let step = (catalog.lead_step.as_millis() as u64).max(1);
    let origin = if used_history {
        LeadOrigin::Learned
    } else {
        LeadOrigin::Catalog
    };
    (Duration::from_millis(ms.div_ceil(step) * step), origin)
}

/// The lead an event uses, and where it came from, when its lead must cover `covering`
/// (fixed leads are taken as given).
pub fn resolve_lead(
    event: &Event,
    profile: &Profile,
    catalog: &Catalog,
    learned: &Learned,
    covering: Covering,
) -> (Duration, LeadOrigin) {
    match (event.lead, event.lead_source) {
        (Lead::Fixed(d), LeadSource::Profile) => (d, LeadOrigin::Profile),
        (Lead::Fixed(d), _) => (d, LeadOrigin::Event),
        (Lead::Auto, _) => event
            .regions
            .iter()
            .map(|r| region_lead(profile, catalog, r, learned, covering))
            .max_by_key(|(d, _)| *d)
            .unwrap_or_else(|| region_lead(profile, catalog, "", learned, covering)),
    }
}

/// From `start − lead` to `end + grace`: when the event's resources should exist.
pub fn window(event: &Event, lead: Duration) -> Window {
    let sub = crate::config::duration::signed(lead);
    let add = crate::config::duration::signed(event.grace);
    Window {
        from: event.start.checked_sub(sub).unwrap_or(event.start),
        to: event.end.checked_add(add).unwrap_or(event.end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, ms: u64) -> HistoryEntry {
        HistoryEntry {
            provider: "sim".into(),
            region: "eu-west-1".into(),
            kind: kind.into(),
            op: "create".into(),
            duration_ms: ms,
            at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn p95_needs_enough_samples() {
        let few: Vec<_> = (1..MIN_SAMPLES as u64)
            .map(|i| entry("cdn", i * 1000))
            .collect();
        assert_eq!(
            Learned::from_history(&few).get("sim", "eu-west-1", "cdn"),
            None
        );
        let many: Vec<_> = (1..=20).map(|i| entry("cdn", i * 1000)).collect();
        let l = Learned::from_history(&many);
        assert_eq!(
            l.get("sim", "eu-west-1", "cdn"),
            Some(Duration::from_secs(19))
        );
        assert_eq!(l.get("sim", "us-east-1", "cdn"), None);
    }
}
