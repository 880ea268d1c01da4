//! What an event really cost, from the journal (pure): billed resource-minutes per kind and
//! region, the on-air minutes, and how close the billing came to the minimum possible.
//!
//! A resource is billed from the start of its create to the end of its delete (or until now
//! while it exists). The minimum for a resource is the show itself plus its minimum
//! provisioning: the time its own create really took, and the creates that needed it before
//! they could begin (the archive exists while the origin and then the encoder are created, so
//! its minimum includes theirs). `efficiency = billed / (on-air + minimum provisioning)`: 1.0
//! is a resource created exactly when needed with hindsight of how long each create would
//! take, and gone when the show ends.

pub mod health;
pub mod text;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::model::JournalEntry;
use crate::model::Kind;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Usage {
    pub kind: Kind,
    pub region: String,
    pub resources: usize,
    pub billed_minutes: f64,
    /// The time their last successful creates took.
    pub provisioning_minutes: f64,
    /// On-air plus minimum provisioning, for each of them.
    pub minimum_minutes: f64,
    pub cost: f64,
}

/// For each resource id of an event, the ids of those whose creates need it: the blueprint's
/// dependencies, turned around.
pub type NeededBy = BTreeMap<String, Vec<String>>;

/// [`NeededBy`] for an event's own resources (the shared ones need nothing of it).
pub fn needed_by(profile: &crate::model::Profile, event: &str, regions: &[String]) -> NeededBy {
    let mut out = NeededBy::new();
    let slots = crate::model::blueprint(profile);
    for region in regions {
        for slot in slots.iter().filter(|s| !s.shared) {
            for dep in &slot.depends_on {
                let id = |name: &str| crate::model::ResourceId::new(event, region, name).0;
                out.entry(id(dep)).or_default().push(id(&slot.name));
            }
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub event: String,
    pub on_air_minutes: f64,
    /// Resources ever created for the event.
    pub resources: usize,
    /// Of those, the ones that still exist (billed until now).
    pub still_running: usize,
    pub billed_minutes: f64,
    /// Sum over resources of the time their last successful create took.
    pub provisioning_minutes: f64,
    /// Sum over resources of on-air plus minimum provisioning (see the module's text).
    pub minimum_minutes: f64,
    /// Of the billed minutes, those before the show's start (the creates, and waiting ready)
    /// and those after its end (the grace, waiting for the teardown's order, the deletes).
    pub before_show_minutes: f64,
    pub after_show_minutes: f64,
    /// billed / minimum; `None` before anything was billed.
    pub efficiency: Option<f64>,
    /// The minimum plus the grace the profile asks for after the show, for every resource
    /// (each is kept until end + grace on purpose).
    pub needed_minutes: f64,
    /// billed / needed: what was billed beyond what the profile itself asks for.
    pub billed_over_needed: Option<f64>,
    /// Compute (the billed minutes at the catalog's prices) plus delivery: an estimate.
    pub cost: f64,
    pub compute_cost: f64,
    /// The per-GB part, estimated from the ladder and the event's audience (filled from the
    /// configuration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<crate::model::Delivery>,
    pub by_kind: Vec<Usage>,
    /// The VODs the event was handed off to, per region (filled from the state).
    pub vod: Vec<serde_json::Value>,
    /// What monitoring recorded (filled from `health.db`); `None` if it was not monitored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<health::HealthReport>,
}

impl Report {
    /// Adds the per-GB part of the cost.
    pub fn with_delivery(mut self, d: crate::model::Delivery) -> Self {
        self.cost = self.compute_cost + d.cost;
        self.delivery = Some(d);
        self
    }

    /// Counts the profile's `grace` after the show as needed for every resource.
    pub fn with_grace(mut self, grace: std::time::Duration) -> Self {
        let g = grace.as_secs_f64() / 60.0;
        self.needed_minutes = self.minimum_minutes + g * self.resources as f64;
        self.billed_over_needed = (self.billed_minutes > 0.0 && self.needed_minutes > 0.0)
            .then(|| self.billed_minutes / self.needed_minutes);
        self
    }
}

fn minutes(from: Timestamp, to: Timestamp) -> f64 {
    (to.as_millisecond() - from.as_millisecond()).max(0) as f64 / 60_000.0
}

/// `entries` are the event's journal entries, oldest first; `needed_by` says which creates
/// need which resource; `price` gives the hourly price of a kind in a region.
pub fn compute(
    event: &str,
    on_air: (Timestamp, Timestamp),
    entries: &[JournalEntry],
    needed_by: &NeededBy,
    price: impl Fn(&str, Kind) -> f64,
    now: Timestamp,
) -> Report {
    struct Life<'a> {
        kind: Kind,
        region: &'a str,
        billing_since: Option<Timestamp>,
        billed: f64,
        provisioning: f64,
        before: f64,
        after: f64,
    }
    // A billed span's minutes before the show and after it.
    let outside = |since: Timestamp, until: Timestamp| {
        (
            minutes(since, until.min(on_air.0)),
            minutes(since.max(on_air.1), until),
        )
    };
    let mut lives: BTreeMap<&str, Life<'_>> = BTreeMap::new();
    // The VOD is the show's lasting product, not live infrastructure: it has no on-air minimum
    // to measure it against, and is reported on its own.
    for e in entries.iter().filter(|e| e.kind != crate::model::Kind::Vod) {
        let life = lives.entry(e.resource.as_str()).or_insert(Life {
            kind: e.kind,
            region: &e.region,
            billing_since: None,
            billed: 0.0,
            provisioning: 0.0,
            before: 0.0,
            after: 0.0,
        });
        match e.op.as_str() {
            // A create may have made something even when its answer was lost: bill from its start.
            "create" => {
                if life.billing_since.is_none() {
                    life.billing_since = Some(e.started_at);
                }
                if e.outcome.as_deref() == Some("ok") {
                    life.provisioning = e.duration_ms.unwrap_or(0) as f64 / 60_000.0;
                }
            }
            "delete" if e.outcome.as_deref() == Some("ok") => {
                if let (Some(since), Some(end)) = (life.billing_since.take(), e.finished_at) {
                    life.billed += minutes(since, end);
                    let (before, after) = outside(since, end);
                    life.before += before;
                    life.after += after;
                }
            }
            _ => {}
        }
    }
    let on_air_minutes = minutes(on_air.0, on_air.1);
    let own: BTreeMap<&str, f64> = lives.iter().map(|(id, l)| (*id, l.provisioning)).collect();
    let mut chains: BTreeMap<&str, f64> = BTreeMap::new();
    let mut by_kind: BTreeMap<(Kind, &str), Usage> = BTreeMap::new();
    let (mut billed, mut provisioning, mut minimum, mut still_running) = (0.0, 0.0, 0.0, 0);
    let (mut before, mut after) = (0.0, 0.0);
    for (id, life) in lives.iter_mut() {
        let least = on_air_minutes + chain(id, &own, needed_by, &mut chains, 0);
        minimum += least;
        if let Some(since) = life.billing_since {
            life.billed += minutes(since, now);
            let (b, a) = outside(since, now);
            life.before += b;
            life.after += a;
            still_running += 1;
        }
        billed += life.billed;
        before += life.before;
        after += life.after;
        provisioning += life.provisioning;
        let u = by_kind
            .entry((life.kind, life.region))
            .or_insert_with(|| Usage {
                kind: life.kind,
                region: life.region.to_string(),
                resources: 0,
                billed_minutes: 0.0,
                provisioning_minutes: 0.0,
                minimum_minutes: 0.0,
                cost: 0.0,
            });
        u.resources += 1;
        u.billed_minutes += life.billed;
        u.provisioning_minutes += life.provisioning;
        u.minimum_minutes += least;
        u.cost += life.billed / 60.0 * price(life.region, life.kind);
    }
    let by_kind: Vec<Usage> = by_kind.into_values().collect();
    Report {
        event: event.to_string(),
        on_air_minutes,
        resources: lives.len(),
        still_running,
        billed_minutes: billed,
        provisioning_minutes: provisioning,
        minimum_minutes: minimum,
        before_show_minutes: before,
        after_show_minutes: after,
        efficiency: (billed > 0.0 && minimum > 0.0).then(|| billed / minimum),
        needed_minutes: minimum,
        billed_over_needed: (billed > 0.0 && minimum > 0.0).then(|| billed / minimum),
        cost: by_kind.iter().map(|u| u.cost).sum(),
        compute_cost: by_kind.iter().map(|u| u.cost).sum(),
        delivery: None,
        by_kind,
        vod: Vec::new(),
        health: None,
    }
}

/// A resource's minimum provisioning: its own create, then the longest chain of creates that
/// needed it (the DAG is shallow; `depth` bounds a malformed one).
fn chain<'a>(
    id: &'a str,
    own: &BTreeMap<&'a str, f64>,
    needed_by: &'a NeededBy,
    memo: &mut BTreeMap<&'a str, f64>,
    depth: usize,
) -> f64 {
    if let Some(m) = memo.get(id) {
        return *m;
    }
    let after = if depth > 32 {
        0.0
    } else {
        needed_by
            .get(id)
            .into_iter()
            .flatten()
            .filter(|d| own.contains_key(d.as_str()))
            .map(|d| chain(d, own, needed_by, memo, depth + 1))
            .fold(0.0, f64::max)
    };
    let total = own.get(id).copied().unwrap_or(0.0) + after;
    memo.insert(id, total);
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hm: &str) -> Timestamp {
        format!("2026-12-05T{hm}:00Z").parse().unwrap()
    }

    fn step(res: &str, op: &str, from: &str, to: &str, outcome: &str) -> JournalEntry {
        let (s, f) = (at(from), at(to));
        JournalEntry {
            seq: 0,
            resource: res.into(),
            op: op.into(),
            provider: "sim".into(),
            region: "eu-west-1".into(),
            kind: res.rsplit('/').next().unwrap().parse().unwrap(),
            started_at: s,
            finished_at: Some(f),
            outcome: Some(outcome.into()),
            attempts: Some(1),
            duration_ms: Some((f.as_millisecond() - s.as_millisecond()) as u64),
            error: None,
        }
    }

    #[test]
    fn bills_from_create_start_to_delete_end() {
        // Show 20:00–21:00. The encoder: created 19:45–19:48, deleted 21:05–21:07 → 82 min
        // billed; minimum 60 + 3 = 63.
        let entries = vec![
            step("show/eu-west-1/encoder", "create", "19:45", "19:48", "ok"),
            step("show/eu-west-1/encoder", "delete", "21:05", "21:07", "ok"),
        ];
        let r = compute(
            "show",
            (at("20:00"), at("21:00")),
            &entries,
            &NeededBy::new(),
            |_, _| 3.0,
            at("22:00"),
        );
        assert_eq!(r.billed_minutes, 82.0);
        assert_eq!(r.provisioning_minutes, 3.0);
        // 15 min before the show (3 of them creating), 7 after it (5 of grace, 2 deleting).
        assert_eq!((r.before_show_minutes, r.after_show_minutes), (15.0, 7.0));
        assert_eq!(r.efficiency, Some(82.0 / 63.0));
        assert_eq!(r.still_running, 0);
        assert!((r.cost - 82.0 / 60.0 * 3.0).abs() < 1e-9);
    }

    #[test]
    fn a_resource_still_existing_is_billed_until_now_and_a_failed_create_counts() {
        let entries = vec![
            step("show/eu-west-1/cdn", "create", "19:40", "19:41", "failed"),
            step("show/eu-west-1/cdn", "create", "19:42", "19:50", "ok"),
        ];
        let r = compute(
            "show",
            (at("20:00"), at("21:00")),
            &entries,
            &NeededBy::new(),
            |_, _| 0.0,
            at("20:30"),
        );
        assert_eq!(
            r.billed_minutes, 50.0,
            "from the first attempt's start until now"
        );
        assert_eq!(r.provisioning_minutes, 8.0);
        assert_eq!(r.still_running, 1);
        assert_eq!((r.before_show_minutes, r.after_show_minutes), (20.0, 0.0));
    }

    #[test]
    fn what_a_create_needs_first_has_that_create_in_its_minimum() {
        // Show 20:00–21:00. The archive (1 min) is needed by the origin (2 min), which the
        // encoder (5 min) needs; the input (1 min) is needed by the encoder alone.
        let entries = vec![
            step("show/eu-west-1/archive", "create", "19:50", "19:51", "ok"),
            step("show/eu-west-1/input", "create", "19:50", "19:51", "ok"),
            step("show/eu-west-1/origin", "create", "19:51", "19:53", "ok"),
            step("show/eu-west-1/encoder", "create", "19:53", "19:58", "ok"),
        ];
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let config =
            crate::config::load(repo, &[], &crate::providers::registry::Registry::builtin())
                .unwrap();
        let needs = needed_by(
            &config.profiles["sim-league"],
            "show",
            &["eu-west-1".to_string()],
        );
        assert_eq!(
            needs["show/eu-west-1/origin"],
            vec!["show/eu-west-1/encoder".to_string()]
        );
        let r = compute(
            "show",
            (at("20:00"), at("21:00")),
            &entries,
            &needs,
            |_, _| 0.0,
            at("21:00"),
        );
        let least = |kind: Kind| {
            r.by_kind
                .iter()
                .find(|u| u.kind == kind)
                .map(|u| u.minimum_minutes)
                .unwrap()
        };
        assert_eq!(least(Kind::Encoder), 65.0);
        assert_eq!(least(Kind::Origin), 67.0);
        assert_eq!(least(Kind::Archive), 68.0);
        assert_eq!(least(Kind::Input), 66.0);
        assert_eq!(r.minimum_minutes, 266.0);
        assert_eq!(r.provisioning_minutes, 9.0);
    }
}
