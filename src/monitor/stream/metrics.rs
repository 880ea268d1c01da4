//! `GET /metrics`: the latest value of every series and the firing alerts, in the Prometheus
//! text format (through `prometheus-client`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
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

type Gauges<L> = Family<L, Gauge<f64, AtomicU64>>;

/// One event's label sets: its series and its alerts.
type EventLabels = (Vec<(Metric, SeriesLabels)>, Vec<AlertLabels>);

pub struct Metrics {
    registry: Registry,
    gauges: HashMap<Metric, Gauges<SeriesLabels>>,
    firing: Gauges<AlertLabels>,
    /// Label sets per event, to drop them when it is no longer monitored.
    seen: Mutex<HashMap<String, EventLabels>>,
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
        Self {
            registry,
            gauges,
            firing,
            seen: Mutex::new(HashMap::new()),
        }
    }

    pub fn observe(&self, s: &Signal) {
        let l = &s.series.labels;
        let labels = SeriesLabels {
            event: l.event.to_string(),
            region: l.region.to_string(),
            tier: l.tier.as_str().into(),
            resource: l.resource.to_string(),
            rendition: l.rendition.as_deref().unwrap_or("").into(),
        };
        if let Some(f) = self.gauges.get(&s.series.metric) {
            let g = f.get_or_create(&labels);
            if g.get() == 0.0 {
                // New (or zero) series: remember its labels for when the event goes.
                let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
                let e = seen.entry(labels.event.clone()).or_default();
                if !e
                    .0
                    .iter()
                    .any(|(m, x)| *m == s.series.metric && *x == labels)
                {
                    e.0.push((s.series.metric, labels.clone()));
                }
            }
            g.set(s.value);
        }
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
        let e = seen.entry(labels.event.clone()).or_default();
        if !e.1.contains(&labels) {
            e.1.push(labels);
        }
    }

    pub fn forget_event(&self, event: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((series, alerts)) = seen.remove(event) {
            for (m, l) in series {
                if let Some(f) = self.gauges.get(&m) {
                    f.remove(&l);
                }
            }
            for l in alerts {
                self.firing.remove(&l);
            }
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
