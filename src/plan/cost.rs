//! What the desired resources cost over their windows (compute: the catalogs' hourly prices,
//! per output where the service bills so), and what carrying the video costs (delivery: per
//! GB, from the ladder and the events' audience). An estimate, and said to be one.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::DesiredState;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventCost {
    pub event: String,
    pub from: Timestamp,
    pub to: Timestamp,
    pub resources: usize,
    /// Compute plus delivery.
    pub cost: f64,
    /// Sum of hourly price × hours in the window, per resource.
    #[serde(default)]
    pub compute: f64,
    /// The per-GB part; absent for a group's shared resources (their traffic is the events').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<crate::model::Delivery>,
    /// The lead before start, and where it came from.
    #[serde(default)]
    pub lead: String,
    #[serde(default)]
    pub lead_from: Option<crate::schedule::lead::LeadOrigin>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CostEstimate {
    pub currency: String,
    pub events: Vec<EventCost>,
    /// Just in time: each resource only for its event's window, plus delivery.
    pub total: f64,
    #[serde(default)]
    pub compute: f64,
    #[serde(default)]
    pub delivery: f64,
    /// Charges the estimate leaves out for want of a price or an audience.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
    /// Always true: these figures come from catalog prices and nominal bitrates, not a bill.
    #[serde(default)]
    pub estimate: bool,
    /// What a broadcaster would keep running instead, from the first window's start to the
    /// last one's end: in each region, one set of an event's resources per slot the schedule
    /// ever needs at once (its peak concurrency on air), the dearest sets first; and each
    /// shared resource.
    #[serde(default)]
    pub always_on: f64,
}

pub fn estimate(desired: &DesiredState) -> CostEstimate {
    let mut by_event: BTreeMap<&str, EventCost> = BTreeMap::new();
    for spec in desired.resources.values() {
        let e = by_event.entry(&spec.event).or_insert_with(|| EventCost {
            event: spec.event.clone(),
            from: spec.window.from,
            to: spec.window.to,
            resources: 0,
            cost: 0.0,
            compute: 0.0,
            delivery: None,
            lead: String::new(),
            lead_from: None,
        });
        e.from = e.from.min(spec.window.from);
        e.to = e.to.max(spec.window.to);
        e.resources += 1;
        // A shared resource is billed over its spans only, not across the gaps between them.
        let hours = match desired.shared_spans.get(&spec.id) {
            Some(spans) => spans.iter().map(crate::model::Window::hours).sum(),
            None => spec.window.hours(),
        };
        e.compute += spec.hourly_price * hours;
    }
    let mut events: Vec<EventCost> = by_event.into_values().collect();
    let mut unpriced: BTreeSet<String> = BTreeSet::new();
    for e in &mut events {
        e.delivery = desired.delivery.get(&e.event).cloned();
        let delivery = e.delivery.as_ref().map_or(0.0, |d| d.cost);
        e.cost = e.compute + delivery;
        if let Some(d) = &e.delivery {
            unpriced.extend(d.unpriced.iter().cloned());
        }
        if e.event.starts_with('@') {
            e.lead = "shared".into();
        } else if let Some((lead, from)) = desired.leads.get(&e.event) {
            e.lead = crate::config::duration::format_duration(*lead);
            e.lead_from = Some(*from);
        }
    }
    events.sort_by(|a, b| (a.from, &a.event).cmp(&(b.from, &b.event)));
    let compute: f64 = events.iter().map(|e| e.compute).sum();
    let delivery: f64 = events
        .iter()
        .filter_map(|e| e.delivery.as_ref())
        .map(|d| d.cost)
        .sum();
    let span = match (
        events.iter().map(|e| e.from).min(),
        events.iter().map(|e| e.to).max(),
    ) {
        (Some(from), Some(to)) => crate::model::Window { from, to }.hours(),
        _ => 0.0,
    };
    // Kept on all season, the same shows still carry the same traffic.
    let always_on = always_on_hourly(desired) * span + delivery;
    CostEstimate {
        currency: "USD".into(),
        events,
        total: compute + delivery,
        compute,
        delivery,
        unpriced: unpriced.into_iter().collect(),
        estimate: true,
        always_on,
    }
}

/// The hourly price of what would be kept on: per region, the peak number of events on air at
/// once, each slot priced at one of the events' resource sets (the dearest first), and every
/// shared resource.
pub fn always_on_hourly(desired: &DesiredState) -> f64 {
    // Per region, each event's hourly price and the window it is on air.
    let mut sets: BTreeMap<(&str, &str), (f64, crate::model::Window)> = BTreeMap::new();
    let mut shared = 0.0;
    for spec in desired.resources.values() {
        if spec.event.starts_with('@') {
            shared += spec.hourly_price;
            continue;
        }
        let on_air = spec.on_air.unwrap_or(spec.window);
        let e = sets
            .entry((spec.region.as_str(), spec.event.as_str()))
            .or_insert((0.0, on_air));
        e.0 += spec.hourly_price;
        e.1.from = e.1.from.min(on_air.from);
        e.1.to = e.1.to.max(on_air.to);
    }
    let mut by_region: BTreeMap<&str, Vec<(f64, crate::model::Window)>> = BTreeMap::new();
    for ((region, _), set) in sets {
        by_region.entry(region).or_default().push(set);
    }
    let mut hourly = shared;
    for mut v in by_region.into_values() {
        let slots = super::peaks::peak_concurrency(v.iter().map(|(_, w)| *w));
        v.sort_by(|a, b| b.0.total_cmp(&a.0));
        hourly += v.iter().take(slots).map(|(h, _)| h).sum::<f64>();
    }
    hourly
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::Window;

    fn w(from: i64, to: i64) -> crate::model::Window {
        let t = |h: i64| Timestamp::from_second(h * 3600).unwrap_or(Timestamp::UNIX_EPOCH);
        crate::model::Window {
            from: t(from),
            to: t(to),
        }
    }

    #[test]
    fn always_on_keeps_one_set_per_concurrent_show_and_each_shared_resource() {
        let mut d = DesiredState::default();
        let mut add = |event: &str, region: &str, name: &str, price: f64, on_air: Window| {
            let mut s = crate::model::ResourceSpec::bare("sim", event, region, name, "encoder");
            s.hourly_price = price;
            s.window = on_air;
            s.on_air = Some(on_air);
            d.resources.insert(s.id.clone(), s);
        };
        // In eu, two shows overlap (the dearer set is kept), a third follows them; in us one.
        add("a", "eu", "encoder", 3.0, w(0, 2));
        add("a", "eu", "origin", 1.0, w(0, 2));
        add("b", "eu", "encoder", 5.0, w(1, 3));
        add("c", "eu", "encoder", 2.0, w(3, 5));
        add("c", "us", "encoder", 7.0, w(3, 5));
        add("@p+g", "eu", "cdn", 0.5, w(0, 5));
        // eu: two slots, b's 5 and a's 4; us: c's 7; the shared CDN's 0.5.
        assert_eq!(always_on_hourly(&d), 5.0 + 4.0 + 7.0 + 0.5);
    }
}
