//! What the desired resources cost over their windows, from the catalogs' hourly prices.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::DesiredState;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventCost {
    pub event: String,
    pub from: Timestamp,
    pub to: Timestamp,
    pub resources: usize,
    /// Sum of hourly price × hours in the window, per resource.
    pub cost: f64,
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
    /// Just in time: each resource only for its event's window.
    pub total: f64,
    /// The same resources kept running from the first window's start to the last one's end.
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
        e.cost += spec.hourly_price * hours;
    }
    let mut events: Vec<EventCost> = by_event.into_values().collect();
    for e in &mut events {
        if e.event.starts_with('@') {
            e.lead = "shared".into();
        } else if let Some((lead, from)) = desired.leads.get(&e.event) {
            e.lead = crate::config::duration::format_duration(*lead);
            e.lead_from = Some(*from);
        }
    }
    events.sort_by(|a, b| (a.from, &a.event).cmp(&(b.from, &b.event)));
    let total = events.iter().map(|e| e.cost).sum();
    let span = match (
        events.iter().map(|e| e.from).min(),
        events.iter().map(|e| e.to).max(),
    ) {
        (Some(from), Some(to)) => crate::model::Window { from, to }.hours(),
        _ => 0.0,
    };
    let always_on = desired
        .resources
        .values()
        .map(|s| s.hourly_price * span)
        .sum();
    CostEstimate {
        currency: "USD".into(),
        events,
        total,
        always_on,
    }
}
