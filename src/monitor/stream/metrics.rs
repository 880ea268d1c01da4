//! `GET /metrics`: the latest value of every series, the firing alerts and a count of the
//! actions' steps, in the Prometheus text format (through `prometheus-client`).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::monitor::engine::{Alert, AlertState};
use crate::monitor::{Metric, Signal};

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SeriesLabels {
    event: String,
    region: String,
    tier: String,
    resource: String,
    rendition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AlertLabels {
    rule: String,
    severity: String,
    event: String,
    region: String,
    tier: String,
    resource: String,
    rendition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ActionLabels {
    action: String,
    state: String,
    event: String,
    region: String,
}

type Gauges<L> = Family<L, Gauge<f64, AtomicU64>>;

/// The label sets in the gauges, per event, to drop them when it is no longer monitored.
#[derive(Default)]
struct Seen {
    /// Each series' label set, by series id.
    series: HashMap<u64, SeriesLabels>,
    by_event: HashMap<String, EventLabels>,
}

#[derive(Default)]
struct EventLabels {
    series: Vec<(u64, Metric)>,
    alerts: HashSet<AlertLabels>,
}

pub struct Metrics {
    registry: Registry,
    gauges: HashMap<Metric, Gauges<SeriesLabels>>,
    firing: Gauges<AlertLabels>,
    actions: Family<ActionLabels, Counter>,
    seen: Mutex<Seen>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("orchestrate");
        let mut gauges = HashMap::new();
        for m in Metric::ALL {
            let f = Gauges::<SeriesLabels>::default();
            registry.register(m.as_str(), m.help(), f.clone());
            gauges.insert(*m, f);
        }
        let firing = Gauges::<AlertLabels>::default();
        registry.register(
            "alert_firing",
            "1 while the alert fires (0 once resolved).",
            firing.clone(),
        );
        let actions = Family::<ActionLabels, Counter>::default();
        registry.register(
            "actions",
            "Steps of the actions taken on alerts, by action and state (done, failed, suppressed…).",
            actions.clone(),
        );
        Self {
            registry,
            gauges,
            firing,
            actions,
            seen: Mutex::new(Seen::default()),
        }
    }

    pub fn observe(&self, s: &Signal) {
        let Some(f) = self.gauges.get(&s.series.metric) else {
            return;
        };
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // A series' label set is made once, on its first signal.
        let labels = match seen.series.get(&s.series.id) {
            Some(l) => l.clone(),
            None => {
                let l = &s.series.labels;
                let labels = SeriesLabels {
                    event: l.event.to_string(),
                    region: l.region.to_string(),
                    tier: l.tier.as_str().into(),
                    resource: l.resource.to_string(),
                    rendition: l.rendition.as_deref().unwrap_or("").into(),
                };
                seen.series.insert(s.series.id, labels.clone());
                let e = seen.by_event.entry(labels.event.clone()).or_default();
                e.series.push((s.series.id, s.series.metric));
                labels
            }
        };
        drop(seen);
        f.get_or_create(&labels).set(s.value);
    }

    pub fn alert(&self, a: &Alert) {
        let l = &a.labels;
        let labels = AlertLabels {
            rule: a.rule.clone(),
            severity: a.severity.into(),
            event: l.event.to_string(),
            region: l.region.to_string(),
            tier: l.tier.as_str().into(),
            resource: l.resource.to_string(),
            rendition: l.rendition.as_deref().unwrap_or("").into(),
        };
        let v = f64::from(u8::from(a.state == AlertState::Firing));
        self.firing.get_or_create(&labels).set(v);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let e = seen.by_event.entry(labels.event.clone()).or_default();
        e.alerts.insert(labels);
    }

    pub fn action(&self, a: &crate::monitor::actions::ActionRecord) {
        self.actions
            .get_or_create(&ActionLabels {
                action: a.action.as_str().into(),
                state: a.state.as_str().into(),
                event: a.labels.event.to_string(),
                region: a.labels.region.to_string(),
            })
            .inc();
    }

    pub fn forget_event(&self, event: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let Some(e) = seen.by_event.remove(event) else {
            return;
        };
        for (id, m) in e.series {
            if let (Some(l), Some(f)) = (seen.series.remove(&id), self.gauges.get(&m)) {
                f.remove(&l);
            }
        }
        for l in e.alerts {
            self.firing.remove(&l);
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{Labels, Series, Tier};

    #[test]
    fn series_show_with_their_labels_until_their_event_is_forgotten() {
        let m = Metrics::new();
        let s = Series::new(
            Metric::PlaylistAgeS,
            Labels {
                event: "final".into(),
                region: "eu".into(),
                tier: Tier::Origin,
                resource: "origin/main".into(),
                rendition: Some("720p".into()),
            },
        );
        m.observe(&Signal::new(&s, jiff::Timestamp::UNIX_EPOCH, 0.0));
        m.observe(&Signal::new(&s, jiff::Timestamp::UNIX_EPOCH, 1.5));
        let text = m.encode();
        let line = text
            .lines()
            .find(|l| l.starts_with("orchestrate_playlist_age_s{"))
            .unwrap_or_default();
        assert!(
            line.contains("event=\"final\"") && line.contains("rendition=\"720p\""),
            "{text}"
        );
        assert!(line.ends_with(" 1.5"), "{line}");
        m.forget_event("final");
        assert!(!m.encode().contains("event=\"final\""));
    }
}
