//! `bench rules`: signals per second through the rule engine on one core, with the built-in
//! rules and two anomaly detectors on every event, over many series of noisy values in which
//! faults come and go.

use std::sync::Arc;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::config::duration::HumanDuration;
use crate::config::profile::{AnomalyMethod, AnomalySpec, Severity};
use crate::monitor::engine::{AlertState, Engine, Window};
use crate::monitor::rules::{Condition, Rule, built_in};
use crate::monitor::{Labels, Metric, Series, Signal};

pub struct RulesParams {
    pub signals: u64,
    pub events: usize,
}

#[derive(Debug, Serialize)]
pub struct RulesResult {
    pub signals: u64,
    pub series: usize,
    pub rules: usize,
    pub seconds: f64,
    pub signals_per_s: f64,
    /// Alerts that fired (each injected fault that outlasts its rule's `for`, once).
    pub alerts_fired: u64,
    pub peak_rss_bytes: u64,
}

/// Metrics per (event, region): one encoder, 4 renditions at the origin, an edge, a viewer.
const RENDITIONS: [&str; 4] = ["1080p", "720p", "480p", "360p"];

pub fn rules(p: &RulesParams) -> RulesResult {
    let rules = Arc::new(bench_rules());
    let start = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(24 * 365 * 50);
    let mut engine = Engine::new();
    let mut series: Vec<(Arc<Series>, f64)> = Vec::new();
    for e in 0..p.events {
        let event = format!("event-{e}");
        engine.set_event(
            &event,
            Window {
                start,
                end: start + SignedDuration::from_hours(24),
            },
            rules.clone(),
        );
        let label = |tier, resource: &str, rendition: Option<&str>| Labels {
            event: Arc::from(event.as_str()),
            region: Arc::from("eu-west-1"),
            tier,
            resource: Arc::from(resource),
            rendition: rendition.map(Arc::from),
        };
        for (m, base) in [
            (Metric::EncoderUp, 1.0),
            (Metric::EncoderFps, 30.0),
            (Metric::EncoderSpeed, 1.0),
        ] {
            series.push((Series::new(m, label(m.tier(), "encoder", None)), base));
        }
        for r in RENDITIONS {
            for (m, base) in [
                (Metric::PlaylistAgeS, 1.0),
                (Metric::PlaylistUp, 1.0),
                (Metric::SegmentDurationErrorS, 0.01),
            ] {
                series.push((Series::new(m, label(m.tier(), "origin", Some(r))), base));
            }
        }
        for (m, base) in [
            (Metric::EdgeUp, 1.0),
            (Metric::EdgeTtfbMs, 20.0),
            (Metric::EdgeLagSegments, 0.0),
            (Metric::ViewerStall, 0.0),
        ] {
            series.push((Series::new(m, label(m.tier(), "edge", None)), base));
        }
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::new();
    let mut fired = 0u64;
    let n = series.len() as u64;
    let began = Instant::now();
    for i in 0..p.signals {
        let idx = (i % n) as usize;
        let (s, base) = &series[idx];
        // One round of every series per simulated second.
        let at = start + SignedDuration::from_millis(((i / n) * 1000) as i64);
        let noise = rng.unit() - 0.5;
        // About one series in a thousand is in a fault at any time, for ~20 rounds.
        let faulty = (i / n / 20 + idx as u64).is_multiple_of(997);
        let value = match (s.metric, faulty) {
            (Metric::PlaylistAgeS, true) => 10.0,
            (Metric::EncoderUp | Metric::PlaylistUp | Metric::EdgeUp, true) => 0.0,
            (Metric::EncoderFps, true) => 5.0,
            (Metric::EdgeTtfbMs, true) => 900.0,
            (Metric::ViewerStall, true) => 1.0,
            _ => base + base * 0.02 * noise,
        };
        engine.observe(&Signal::new(s, at, value), &mut out);
        fired += out.iter().filter(|a| a.state == AlertState::Firing).count() as u64;
        out.clear();
    }
    let seconds = began.elapsed().as_secs_f64();
    RulesResult {
        signals: p.signals,
        series: series.len(),
        rules: rules.len(),
        seconds,
        signals_per_s: p.signals as f64 / seconds.max(1e-9),
        alerts_fired: fired,
        peak_rss_bytes: super::peak_rss(),
    }
}

fn bench_rules() -> Vec<Rule> {
    let mut rules = built_in(2.0, 1.5);
    let anomaly = |name: &str, metric, method, hold| Rule {
        name: name.into(),
        metric,
        condition: Condition::Anomaly(AnomalySpec {
            method,
            window: HumanDuration(std::time::Duration::from_secs(60)),
            alpha: 0.1,
            sigma: 3.0,
            min_samples: 10,
        }),
        hold: std::time::Duration::from_secs(hold),
        severity: Severity::Warning,
        rendition: None,
        resource: None,
    };
    rules.push(anomaly(
        "fps-anomaly",
        Metric::EncoderFps,
        AnomalyMethod::Zscore,
        5,
    ));
    rules.push(anomaly(
        "ttfb-anomaly",
        Metric::EdgeTtfbMs,
        AnomalyMethod::Ewma,
        5,
    ));
    rules
}

struct XorShift(u64);

impl XorShift {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_faults_fire_and_the_count_is_reported() {
        let r = rules(&RulesParams {
            signals: 200_000,
            events: 20,
        });
        assert_eq!(r.series, 20 * (3 + 12 + 4));
        assert!(r.alerts_fired > 0, "{r:?}");
        assert!(r.signals_per_s > 0.0);
    }
}
