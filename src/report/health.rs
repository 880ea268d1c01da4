//! An event's monitoring as the report tells it (pure): the timeline of alerts and actions,
//! availability per region and tier over the on-air window, and how long alerts took to fire
//! and to resolve.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::monitor::Tier;
use crate::monitor::engine::AlertState;

/// The fields of a stored alert the report reads.
#[derive(Debug, Deserialize)]
struct AlertRow {
    id: String,
    rule: String,
    severity: String,
    state: AlertState,
    at: Timestamp,
    since: Timestamp,
    region: String,
    tier: Tier,
    resource: String,
    message: String,
}

/// The fields of a stored action the report reads.
#[derive(Debug, Deserialize)]
struct ActionRow {
    id: String,
    action: String,
    state: String,
    at: Timestamp,
    region: String,
    tier: Tier,
    #[serde(default)]
    target: Option<String>,
    reason: String,
    source: String,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineItem {
    pub at: Timestamp,
    /// `alert` or `action`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub region: String,
    pub tier: Tier,
    /// `firing`, `resolved`; an action's `done`, `suppressed`…
    pub state: String,
    pub text: String,
}

/// One alert from firing to resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub id: String,
    pub rule: String,
    pub severity: String,
    pub region: String,
    pub tier: Tier,
    pub resource: String,
    /// When its condition began.
    pub since: Timestamp,
    pub fired_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Timestamp>,
    /// Time to detect: from when the condition began to when the alert fired.
    pub ttd_s: f64,
    /// Time to recover: from firing to resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttr_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Availability {
    pub region: String,
    pub tier: Tier,
    /// Share of the on-air time (so far) without a critical alert firing, in percent.
    pub percent: f64,
    pub down_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    pub timeline: Vec<TimelineItem>,
    pub incidents: Vec<Incident>,
    pub availability: Vec<Availability>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_ttd_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_ttr_s: Option<f64>,
}

fn secs(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64().max(0.0)
}

/// `rows` are the event's stored alert and action items (`type`, JSON), oldest first; `places`
/// the regions and tiers monitored; `on_air` the event's window.
pub fn compute(
    rows: &[(String, String)],
    places: &[(String, Tier)],
    on_air: (Timestamp, Timestamp),
    now: Timestamp,
) -> HealthReport {
    let mut timeline = Vec::new();
    let mut incidents: Vec<Incident> = Vec::new();
    let mut open: HashMap<String, usize> = HashMap::new();
    for (kind, body) in rows {
        match kind.as_str() {
            "alert" => {
                let Ok(a) = serde_json::from_str::<AlertRow>(body) else {
                    continue;
                };
                match a.state {
                    AlertState::Pending => continue,
                    AlertState::Firing => {
                        open.insert(a.id.clone(), incidents.len());
                        incidents.push(Incident {
                            id: a.id.clone(),
                            rule: a.rule.clone(),
                            severity: a.severity.clone(),
                            region: a.region.clone(),
                            tier: a.tier,
                            resource: a.resource.clone(),
                            since: a.since,
                            fired_at: a.at,
                            resolved_at: None,
                            ttd_s: secs(a.since, a.at),
                            ttr_s: None,
                        });
                    }
                    AlertState::Resolved => {
                        if let Some(i) = open.remove(&a.id) {
                            let inc = &mut incidents[i];
                            inc.resolved_at = Some(a.at);
                            inc.ttr_s = Some(secs(inc.fired_at, a.at));
                        }
                    }
                }
                timeline.push(TimelineItem {
                    at: a.at,
                    kind: "alert",
                    id: a.id,
                    region: a.region,
                    tier: a.tier,
                    state: match a.state {
                        AlertState::Firing => "firing".into(),
                        _ => "resolved".into(),
                    },
                    text: a.message,
                });
            }
            "action" => {
                let Ok(a) = serde_json::from_str::<ActionRow>(body) else {
                    continue;
                };
                let mut text = a.action.clone();
                if let Some(t) = &a.target {
                    text.push_str(&format!(" -> {t}"));
                }
                let reason = if a.reason.is_empty() {
                    a.source.clone()
                } else {
                    format!("{} ({})", a.reason, a.source)
                };
                text.push_str(&format!(": {reason}"));
                if let Some(d) = &a.detail {
                    text.push_str(&format!("; {d}"));
                }
                timeline.push(TimelineItem {
                    at: a.at,
                    kind: "action",
                    id: a.id,
                    region: a.region,
                    tier: a.tier,
                    state: a.state,
                    text,
                });
            }
            _ => {}
        }
    }
    timeline.sort_by_key(|t| t.at);
    let availability = availability(&incidents, places, on_air, now);
    let mean = |v: Vec<f64>| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    HealthReport {
        mean_ttd_s: mean(incidents.iter().map(|i| i.ttd_s).collect()),
        mean_ttr_s: mean(incidents.iter().filter_map(|i| i.ttr_s).collect()),
        timeline,
        incidents,
        availability,
    }
}

/// Per region and tier: the on-air time (up to now) not covered by a firing critical alert.
fn availability(
    incidents: &[Incident],
    places: &[(String, Tier)],
    (start, end): (Timestamp, Timestamp),
    now: Timestamp,
) -> Vec<Availability> {
    let until = end.min(now);
    let total = secs(start, until);
    let mut down: BTreeMap<(String, Tier), Vec<(Timestamp, Timestamp)>> = places
        .iter()
        .map(|(r, t)| ((r.clone(), *t), Vec::new()))
        .collect();
    for i in incidents.iter().filter(|i| i.severity == "critical") {
        let from = i.fired_at.max(start);
        let to = i.resolved_at.unwrap_or(until).min(until);
        if from < to {
            down.entry((i.region.clone(), i.tier))
                .or_default()
                .push((from, to));
        }
    }
    down.into_iter()
        .map(|((region, tier), mut spans)| {
            spans.sort();
            // The union of the spans: overlapping alerts count once.
            let mut covered = 0.0;
            let mut cur: Option<(Timestamp, Timestamp)> = None;
            for (a, b) in spans {
                match &mut cur {
                    Some((_, e)) if a <= *e => *e = (*e).max(b),
                    _ => {
                        if let Some((s, e)) = cur {
                            covered += secs(s, e);
                        }
                        cur = Some((a, b));
                    }
                }
            }
            if let Some((s, e)) = cur {
                covered += secs(s, e);
            }
            let percent = if total > 0.0 {
                100.0 * (1.0 - covered / total)
            } else {
                100.0
            };
            Availability {
                region,
                tier,
                percent,
                down_s: covered,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn alert(
        id: &str,
        state: &str,
        at: i64,
        since: i64,
        tier: &str,
        severity: &str,
    ) -> (String, String) {
        (
            "alert".into(),
            serde_json::json!({
                "id": id, "rule": "playlist-stale", "severity": severity, "state": state,
                "at": t(at), "since": t(since), "metric": "playlist_age_s", "value": 4.0,
                "event": "show", "region": "eu", "tier": tier, "resource": "origin/a",
                "message": format!("{id} {state}"),
            })
            .to_string(),
        )
    }

    #[test]
    fn availability_ttd_and_ttr_from_the_alerts() {
        let rows = vec![
            alert("a1", "pending", 99, 99, "origin", "critical"),
            alert("a1", "firing", 100, 98, "origin", "critical"),
            // Overlapping on the same tier: counted once.
            alert("a2", "firing", 150, 150, "origin", "critical"),
            alert("a1", "resolved", 160, 98, "origin", "critical"),
            alert("a2", "resolved", 200, 150, "origin", "critical"),
            // A warning is no outage.
            alert("w", "firing", 300, 290, "edge", "warning"),
            (
                "action".into(),
                serde_json::json!({
                    "id": "act-1", "action": "failover", "state": "done", "at": t(101),
                    "alert": "a1", "rule": "playlist-stale", "alert_state": "firing",
                    "source": "profile", "reason": "playlist-stale firing on origin/a",
                    "target": "pipeline b", "event": "show", "region": "eu", "tier": "origin",
                    "resource": "origin/a",
                })
                .to_string(),
            ),
        ];
        let places = vec![
            ("eu".to_string(), Tier::Origin),
            ("eu".to_string(), Tier::Edge),
        ];
        let r = compute(&rows, &places, (t(0), t(1000)), t(2000));
        let origin = r
            .availability
            .iter()
            .find(|a| a.tier == Tier::Origin)
            .unwrap();
        assert_eq!(origin.down_s, 100.0);
        assert!((origin.percent - 90.0).abs() < 1e-9);
        let edge = r
            .availability
            .iter()
            .find(|a| a.tier == Tier::Edge)
            .unwrap();
        assert_eq!(edge.percent, 100.0);
        assert_eq!(r.incidents.len(), 3);
        assert_eq!(r.incidents[0].ttd_s, 2.0);
        assert_eq!(r.incidents[0].ttr_s, Some(60.0));
        // TTR over the resolved ones (60, 50); TTD over all (2, 0, 10).
        assert_eq!(r.mean_ttr_s, Some(55.0));
        assert_eq!(r.mean_ttd_s, Some(4.0));
        let kinds: Vec<(&str, &str)> = r
            .timeline
            .iter()
            .map(|i| (i.kind, i.state.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("alert", "firing"),
                ("action", "done"),
                ("alert", "firing"),
                ("alert", "resolved"),
                ("alert", "resolved"),
                ("alert", "firing"),
            ]
        );
        assert_eq!(
            r.timeline[1].text,
            "failover -> pipeline b: playlist-stale firing on origin/a (profile)"
        );
    }

    #[test]
    fn an_alert_still_firing_counts_until_now_or_the_end() {
        let rows = vec![alert("a", "firing", 900, 900, "origin", "critical")];
        let places = vec![("eu".to_string(), Tier::Origin)];
        let r = compute(&rows, &places, (t(0), t(1000)), t(950));
        assert_eq!(r.availability[0].down_s, 50.0);
        assert!(r.incidents[0].ttr_s.is_none());
        assert!(r.mean_ttr_s.is_none());
    }
}
