//! The rule engine: signals in, alert transitions out (pending, firing, resolved).
//!
//! Pure and single-threaded: the monitor feeds it from one task, the `rules` benchmark from a
//! loop. Each series keeps, per rule that reads it, a detector (for anomalies) and the alert's
//! phase. Alerts are scoped to the event's on-air window: nothing goes pending before the
//! start, and whatever is pending or firing resolves at the end.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::rules::anomaly::Detector;
use super::rules::{Condition, Rule};
use super::signal::{Labels, Metric, Series, Signal};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Pending,
    Firing,
    Resolved,
}

impl AlertState {
    /// As the health stream spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// One transition of one alert, as the health stream carries it.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// Stays the same from pending to resolved.
    pub id: String,
    pub rule: String,
    pub severity: &'static str,
    pub state: AlertState,
    pub at: Timestamp,
    /// When the condition began.
    pub since: Timestamp,
    pub metric: Metric,
    pub value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(flatten)]
    pub labels: Labels,
    pub message: String,
}

/// When an event is on air: `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Window {
    fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }
}

struct EventRules {
    window: Window,
    rules: Arc<Vec<Rule>>,
    generation: u64,
}

#[derive(Debug, Clone)]
enum Phase {
    Ok,
    Pending { since: Timestamp, id: String },
    Firing { since: Timestamp, id: String },
}

struct Instance {
    rule: usize,
    detector: Option<Detector>,
    phase: Phase,
}

struct SeriesState {
    series: Arc<Series>,
    generation: u64,
    window: Option<Window>,
    rules: Arc<Vec<Rule>>,
    instances: Vec<Instance>,
    last: Option<(Timestamp, f64)>,
}

#[derive(Default)]
pub struct Engine {
    events: HashMap<Arc<str>, EventRules>,
    series: HashMap<u64, SeriesState>,
    generation: u64,
}

impl Engine {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or changes) an event's window and rules; its series pick them up on their next
    /// signal, losing their detectors' history only if the rules changed.
    pub fn set_event(&mut self, event: &str, window: Window, rules: Arc<Vec<Rule>>) {
        if let Some(e) = self.events.get_mut(event) {
            if Arc::ptr_eq(&e.rules, &rules) && e.window == window {
                return;
            }
            e.window = window;
            if !Arc::ptr_eq(&e.rules, &rules) {
                self.generation += 1;
                e.generation = self.generation;
                e.rules = rules;
            }
            for s in self.series.values_mut() {
                if &*s.series.labels.event == event {
                    s.window = Some(window);
                }
            }
            return;
        }
        self.generation += 1;
        self.events.insert(
            Arc::from(event),
            EventRules {
                window,
                rules,
                generation: self.generation,
            },
        );
    }

    /// Forgets an event no longer monitored; its open alerts resolve at `now`.
    pub fn remove_event(&mut self, event: &str, now: Timestamp, out: &mut Vec<Alert>) {
        self.events.remove(event);
        self.series.retain(|_, s| {
            if &*s.series.labels.event != event {
                return true;
            }
            for i in &mut s.instances {
                close(
                    &s.series,
                    &s.rules[i.rule],
                    i,
                    now,
                    s.last,
                    "no longer monitored",
                    out,
                );
            }
            false
        });
    }

    pub fn observe(&mut self, signal: &Signal, out: &mut Vec<Alert>) {
        let Some(state) = self.state_of(&signal.series) else {
            return;
        };
        state.last = Some((signal.at, signal.value));
        let on_air = state.window.is_some_and(|w| w.contains(signal.at));
        let at_ms = signal.at.as_millisecond();
        for inst in &mut state.instances {
            let rule = &state.rules[inst.rule];
            let (active, clear) = match &rule.condition {
                Condition::Above { fire, clear } => (signal.value > *fire, signal.value <= *clear),
                Condition::Below { fire, clear } => (signal.value < *fire, signal.value >= *clear),
                Condition::Outside { low, high } => {
                    let inside = (*low..=*high).contains(&signal.value);
                    (!inside, inside)
                }
                Condition::Anomaly(a) => {
                    let score = inst
                        .detector
                        .as_mut()
                        .and_then(|d| d.score(at_ms, signal.value, a.min_samples));
                    let active = score.is_some_and(|s| s > a.sigma);
                    (active, !active)
                }
            };
            if !on_air {
                close(
                    &state.series,
                    rule,
                    inst,
                    signal.at,
                    state.last,
                    "off air",
                    out,
                );
                continue;
            }
            step(
                &state.series,
                rule,
                inst,
                signal.at,
                signal.value,
                active,
                clear,
                out,
            );
        }
    }

    /// Fires what has been pending long enough and resolves what is past its event's end,
    /// for series whose probes have gone quiet.
    pub fn advance(&mut self, now: Timestamp, out: &mut Vec<Alert>) {
        for state in self.series.values_mut() {
            let Some((_, value)) = state.last else {
                continue;
            };
            let on_air = state.window.is_some_and(|w| w.contains(now));
            for inst in &mut state.instances {
                let rule = &state.rules[inst.rule];
                if !on_air {
                    close(&state.series, rule, inst, now, state.last, "off air", out);
                } else if let Phase::Pending { since, id } = &inst.phase
                    && now.duration_since(*since) >= hold(rule)
                {
                    let (since, id) = (*since, id.clone());
                    inst.phase = Phase::Firing {
                        since,
                        id: id.clone(),
                    };
                    out.push(alert(
                        &state.series,
                        rule,
                        &id,
                        AlertState::Firing,
                        now,
                        since,
                        value,
                    ));
                }
            }
        }
    }

    /// The alerts pending or firing now.
    pub fn open_alerts(&self) -> Vec<Alert> {
        let mut v = Vec::new();
        for s in self.series.values() {
            let Some((at, value)) = s.last else { continue };
            for i in &s.instances {
                let (state, since, id) = match &i.phase {
                    Phase::Ok => continue,
                    Phase::Pending { since, id } => (AlertState::Pending, since, id),
                    Phase::Firing { since, id } => (AlertState::Firing, since, id),
                };
                v.push(alert(
                    &s.series,
                    &s.rules[i.rule],
                    id,
                    state,
                    at,
                    *since,
                    value,
                ));
            }
        }
        v.sort_by(|a, b| a.since.cmp(&b.since).then(a.id.cmp(&b.id)));
        v
    }

    fn state_of(&mut self, series: &Arc<Series>) -> Option<&mut SeriesState> {
        let event = self.events.get(&series.labels.event)?;
        let state = self.series.entry(series.id).or_insert_with(|| SeriesState {
            series: series.clone(),
            generation: 0,
            window: None,
            rules: event.rules.clone(),
            instances: Vec::new(),
            last: None,
        });
        if state.generation != event.generation {
            state.generation = event.generation;
            state.window = Some(event.window);
            state.rules = event.rules.clone();
            let l = &series.labels;
            state.instances = state
                .rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.applies(series.metric, &l.resource, l.rendition.as_deref()))
                .map(|(i, r)| Instance {
                    rule: i,
                    detector: match &r.condition {
                        Condition::Anomaly(a) => Some(Detector::new(a)),
                        _ => None,
                    },
                    phase: Phase::Ok,
                })
                .collect();
        }
        Some(state)
    }
}

fn hold(rule: &Rule) -> SignedDuration {
    SignedDuration::try_from(rule.hold).unwrap_or(SignedDuration::MAX)
}

#[allow(clippy::too_many_arguments)]
fn step(
    series: &Series,
    rule: &Rule,
    inst: &mut Instance,
    at: Timestamp,
    value: f64,
    active: bool,
    clear: bool,
    out: &mut Vec<Alert>,
) {
    match &inst.phase {
        Phase::Ok if active => {
            let id = new_id();
            if rule.hold.is_zero() {
                out.push(alert(series, rule, &id, AlertState::Firing, at, at, value));
                inst.phase = Phase::Firing { since: at, id };
            } else {
                out.push(alert(series, rule, &id, AlertState::Pending, at, at, value));
                inst.phase = Phase::Pending { since: at, id };
            }
        }
        Phase::Pending { since, id } if active && at.duration_since(*since) >= hold(rule) => {
            let (since, id) = (*since, id.clone());
            out.push(alert(
                series,
                rule,
                &id,
                AlertState::Firing,
                at,
                since,
                value,
            ));
            inst.phase = Phase::Firing { since, id };
        }
        Phase::Pending { .. } if active => {}
        // A pending alert whose condition lapsed, or a firing one past its `clear`.
        Phase::Pending { since, id } | Phase::Firing { since, id }
            if clear || matches!(inst.phase, Phase::Pending { .. }) =>
        {
            out.push(alert(
                series,
                rule,
                id,
                AlertState::Resolved,
                at,
                *since,
                value,
            ));
            inst.phase = Phase::Ok;
        }
        _ => {}
    }
}

/// Resolves an open alert for a reason other than its condition clearing.
fn close(
    series: &Series,
    rule: &Rule,
    inst: &mut Instance,
    at: Timestamp,
    last: Option<(Timestamp, f64)>,
    why: &str,
    out: &mut Vec<Alert>,
) {
    if let Phase::Pending { since, id } | Phase::Firing { since, id } = &inst.phase {
        let value = last.map_or(f64::NAN, |(_, v)| v);
        let mut a = alert(series, rule, id, AlertState::Resolved, at, *since, value);
        a.message = format!("{} ({why})", a.message);
        out.push(a);
        inst.phase = Phase::Ok;
    }
}

fn alert(
    series: &Series,
    rule: &Rule,
    id: &str,
    state: AlertState,
    at: Timestamp,
    since: Timestamp,
    value: f64,
) -> Alert {
    let l = &series.labels;
    let what = match &rule.condition {
        Condition::Above { fire, .. } => format!("{} {} above {fire}", series.metric, num(value)),
        Condition::Below { fire, .. } => format!("{} {} below {fire}", series.metric, num(value)),
        Condition::Outside { low, high } => format!(
            "{} {} outside {}..{}",
            series.metric,
            num(value),
            num(*low),
            num(*high)
        ),
        Condition::Anomaly(a) => format!(
            "{} {} is anomalous (over {} sigma)",
            series.metric,
            num(value),
            a.sigma
        ),
    };
    let rendition = l
        .rendition
        .as_deref()
        .map(|r| format!("/{r}"))
        .unwrap_or_default();
    Alert {
        id: id.to_string(),
        rule: rule.name.clone(),
        severity: rule.severity.as_str(),
        state,
        at,
        since,
        metric: series.metric,
        value,
        threshold: rule.threshold(),
        labels: l.clone(),
        message: format!(
            "{}: {what} at {} {}{rendition}, {} {}",
            rule.name, l.tier, l.resource, l.event, l.region
        ),
    }
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn new_id() -> String {
    format!("{:08x}", rand::random::<u32>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::profile::Severity;
    use crate::monitor::Tier;

    fn series(metric: Metric) -> Arc<Series> {
        Series::new(
            metric,
            Labels {
                event: "final".into(),
                region: "eu".into(),
                tier: metric.tier(),
                resource: "origin".into(),
                rendition: Some("720p".into()),
            },
        )
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_000_000 + s).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn engine(rules: Vec<Rule>) -> Engine {
        let mut e = Engine::new();
        e.set_event(
            "final",
            Window {
                start: t(0),
                end: t(100),
            },
            Arc::new(rules),
        );
        e
    }

    fn stale_rule(hold: u64, clear: f64) -> Rule {
        Rule {
            name: "stale".into(),
            metric: Metric::PlaylistAgeS,
            condition: Condition::Above { fire: 3.0, clear },
            hold: std::time::Duration::from_secs(hold),
            severity: Severity::Critical,
            rendition: None,
            resource: None,
        }
    }

    fn feed(e: &mut Engine, s: &Arc<Series>, points: &[(i64, f64)]) -> Vec<(i64, AlertState)> {
        let mut out = Vec::new();
        for &(at, v) in points {
            e.observe(&Signal::new(s, t(at), v), &mut out);
        }
        out.iter()
            .map(|a| (a.at.as_second() - 1_000_000, a.state))
            .collect()
    }

    #[test]
    fn a_slate_before_the_show_is_no_alert_and_black_on_air_is() {
        let mut e = engine(crate::monitor::rules::content(3.0, &[]));
        let s = series(Metric::ContentBlackS);
        // Black (a slate) for a minute before the start, then black 10 s into the show.
        let got = feed(
            &mut e,
            &s,
            &[(-60, 57.0), (-3, 60.0), (3, 0.0), (13, 6.0), (16, 0.0)],
        );
        use AlertState::*;
        assert_eq!(got, vec![(13, Firing), (16, Resolved)]);
    }

    #[test]
    fn outside_fires_on_either_side_and_resolves_within() {
        let mut e = engine(crate::monitor::rules::content(3.0, &[]));
        let s = series(Metric::AvOffsetMs);
        let got = feed(
            &mut e,
            &s,
            &[
                (1, 200.0),
                (4, 210.0),
                (5, 0.0),
                (6, -150.0),
                (9, -150.0),
                (10, 79.0),
            ],
        );
        use AlertState::*;
        // Held for one sampling interval (3 s) before firing.
        assert_eq!(
            got,
            vec![
                (1, Pending),
                (4, Firing),
                (5, Resolved),
                (6, Pending),
                (9, Firing),
                (10, Resolved)
            ]
        );
    }

    #[test]
    fn a_held_condition_goes_pending_then_firing_then_resolved() {
        let mut e = engine(vec![stale_rule(4, 3.0)]);
        let s = series(Metric::PlaylistAgeS);
        let got = feed(
            &mut e,
            &s,
            &[(1, 1.0), (2, 5.0), (4, 6.0), (6, 7.0), (8, 0.0)],
        );
        use AlertState::*;
        assert_eq!(got, vec![(2, Pending), (6, Firing), (8, Resolved)]);
    }

    #[test]
    fn a_blip_shorter_than_for_never_fires() {
        let mut e = engine(vec![stale_rule(4, 3.0)]);
        let s = series(Metric::PlaylistAgeS);
        let got = feed(&mut e, &s, &[(2, 5.0), (3, 1.0)]);
        assert_eq!(
            got,
            vec![(2, AlertState::Pending), (3, AlertState::Resolved)]
        );
    }

    #[test]
    fn hysteresis_keeps_a_firing_alert_until_clear() {
        let mut e = engine(vec![stale_rule(0, 1.0)]);
        let s = series(Metric::PlaylistAgeS);
        // Back under the threshold but not under `clear`: still firing.
        let got = feed(&mut e, &s, &[(1, 5.0), (2, 2.0), (3, 4.0), (4, 0.5)]);
        assert_eq!(
            got,
            vec![(1, AlertState::Firing), (4, AlertState::Resolved)]
        );
    }

    #[test]
    fn nothing_fires_off_air_and_the_end_resolves() {
        let mut e = engine(vec![stale_rule(0, 3.0)]);
        let s = series(Metric::PlaylistAgeS);
        let mut out = Vec::new();
        e.observe(&Signal::new(&s, t(-5), 9.0), &mut out);
        assert!(out.is_empty(), "fired before the start: {out:?}");
        e.observe(&Signal::new(&s, t(50), 9.0), &mut out);
        assert_eq!(out.len(), 1);
        e.advance(t(100), &mut out);
        assert_eq!(out[1].state, AlertState::Resolved);
        assert_eq!(out[1].id, out[0].id);
        assert!(out[1].message.contains("off air"), "{}", out[1].message);
        e.observe(&Signal::new(&s, t(120), 9.0), &mut out);
        assert_eq!(out.len(), 2, "fired after the end");
    }

    #[test]
    fn advance_fires_a_pending_alert_whose_probe_went_quiet() {
        let mut e = engine(vec![stale_rule(4, 3.0)]);
        let s = series(Metric::PlaylistAgeS);
        let mut out = Vec::new();
        e.observe(&Signal::new(&s, t(10), 9.0), &mut out);
        e.advance(t(12), &mut out);
        assert_eq!(out.len(), 1);
        e.advance(t(14), &mut out);
        assert_eq!(out[1].state, AlertState::Firing);
        assert_eq!(e.open_alerts().len(), 1);
    }

    #[test]
    fn rules_read_only_their_metric_and_labels() {
        let mut r = stale_rule(0, 3.0);
        r.rendition = Some("1080p".into());
        let mut e = engine(vec![r]);
        let s = series(Metric::PlaylistAgeS);
        assert!(feed(&mut e, &s, &[(1, 9.0)]).is_empty());
        let other = series(Metric::MediaSequence);
        assert!(feed(&mut e, &other, &[(1, 9.0)]).is_empty());
        assert_eq!(s.labels.tier, Tier::Origin);
    }

    #[test]
    fn removing_an_event_resolves_its_alerts() {
        let mut e = engine(vec![stale_rule(0, 3.0)]);
        let s = series(Metric::PlaylistAgeS);
        feed(&mut e, &s, &[(1, 9.0)]);
        let mut out = Vec::new();
        e.remove_event("final", t(5), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].state, AlertState::Resolved);
        assert!(e.open_alerts().is_empty());
    }
}
