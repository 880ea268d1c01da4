//! The live table `orchestrate watch` draws on a terminal (pure): the latest reading of each
//! probed thing, its open alerts, and the latest actions, from the stored health stream.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

use crate::monitor::Metric;
use crate::monitor::engine::AlertState;
use crate::monitor::stream::rows::{AlertRow, SignalRow};
use jiff::{SignedDuration, Timestamp};

/// One probed thing: an event's tier in a region, for one resource and rendition.
type Key = (String, String, String, String, String);

/// How many actions the table keeps at its foot.
const ACTIONS: usize = 6;

#[derive(Default)]
pub struct Board {
    /// The latest value of each metric, and when the thing last reported.
    values: BTreeMap<Key, (Timestamp, BTreeMap<Metric, f64>)>,
    /// Open alerts: id → (row, rule, firing).
    alerts: BTreeMap<String, (Key, String, bool)>,
    actions: VecDeque<String>,
}

impl Board {
    /// Takes in one stored item (`type` and JSON body); what it cannot read it skips.
    pub fn apply(&mut self, kind: &str, body: &str) {
        match kind {
            "signal" => {
                if let Ok(s) = serde_json::from_str::<SignalRow>(body) {
                    let key = (
                        s.event,
                        s.region,
                        s.tier.as_str().to_string(),
                        s.resource,
                        s.rendition.unwrap_or_default(),
                    );
                    let (at, v) = self
                        .values
                        .entry(key)
                        .or_insert_with(|| (s.at, BTreeMap::new()));
                    *at = (*at).max(s.at);
                    v.insert(s.metric, s.value);
                }
            }
            "alert" => {
                if let Ok(a) = serde_json::from_str::<AlertRow>(body) {
                    let key = (
                        a.event,
                        a.region,
                        a.tier.as_str().to_string(),
                        a.resource,
                        a.rendition.unwrap_or_default(),
                    );
                    match a.state {
                        AlertState::Resolved => {
                            self.alerts.remove(&a.id);
                        }
                        s => {
                            self.alerts
                                .insert(a.id, (key, a.rule, s == AlertState::Firing));
                        }
                    }
                }
            }
            "action" => {
                if let Ok(a) = serde_json::from_str::<super::super::actions::ActionRecord>(body) {
                    self.actions
                        .push_back(format!("{}  {}", a.at.strftime("%H:%M:%S"), a.line()));
                    if self.actions.len() > ACTIONS {
                        self.actions.pop_front();
                    }
                }
            }
            _ => {}
        }
    }

    /// The table, one line per thing that reported within a minute of `now`, then the latest
    /// actions.
    pub fn render(&self, now: Timestamp) -> String {
        let recent = now - SignedDuration::from_secs(60);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<20} {:<14} {:<8} {:<18} {:<6} {:<44} ALERTS",
            "EVENT", "REGION", "TIER", "RESOURCE", "RENDN", "READINGS"
        );
        let mut shown = 0;
        for (key, (at, values)) in &self.values {
            if *at < recent {
                continue;
            }
            shown += 1;
            let (event, region, tier, resource, rendition) = key;
            let mut alerts: Vec<String> = self
                .alerts
                .values()
                .filter(|(k, _, _)| k == key)
                .map(|(_, rule, firing)| {
                    if *firing {
                        format!("FIRING {rule}")
                    } else {
                        format!("pending {rule}")
                    }
                })
                .collect();
            alerts.sort();
            let _ = writeln!(
                out,
                "{:<20} {:<14} {:<8} {:<18} {:<6} {:<44} {}",
                clip(event, 20),
                clip(region, 14),
                tier,
                clip(resource, 18),
                clip(rendition, 6),
                readings(values),
                if alerts.is_empty() {
                    "ok".to_string()
                } else {
                    alerts.join(", ")
                }
            );
        }
        if shown == 0 {
            out.push_str("(nothing probed has reported in the last minute: `orchestrate run` probes events once they are up)\n");
        }
        if !self.actions.is_empty() {
            out.push_str("\nLatest actions:\n");
            for a in &self.actions {
                let _ = writeln!(out, "  {a}");
            }
        }
        out
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(n - 1).collect();
        c.push('…');
        c
    }
}

/// The readings that say most about a tier, in a fixed order.
fn readings(v: &BTreeMap<Metric, f64>) -> String {
    use Metric::*;
    let shown: &[(Metric, &str, usize)] = &[
        (EncoderUp, "up", 0),
        (EncoderFps, "fps", 1),
        (EncoderSpeed, "speed", 2),
        (EncoderBitrateKbps, "kbps", 0),
        (EncoderAlerts, "alerts", 0),
        (EncoderPaused, "paused", 0),
        (PlaylistUp, "up", 0),
        (PlaylistAgeS, "age", 1),
        (MediaSequence, "seq", 0),
        (EdgeUp, "up", 0),
        (EdgeTtfbMs, "ttfb", 0),
        (EdgeHitRatio, "hit", 2),
        (EdgeLagSegments, "lag", 0),
        (ViewerDownloadRatio, "dl", 2),
        (ViewerStall, "stall", 0),
        (ViewerGapS, "gap", 1),
        (ContentBlackS, "black", 0),
        (ContentFreezeS, "frozen", 0),
        (ContentSilenceS, "silent", 0),
        (LoudnessLufs, "lufs", 0),
        (AvOffsetMs, "av", 0),
        (RenditionBitrateKbps, "kbps", 0),
    ];
    let parts: Vec<String> = shown
        .iter()
        .filter_map(|(m, name, places)| {
            v.get(m)
                .map(|x| format!("{name}={x:.prec$}", prec = *places))
        })
        .collect();
    clip(&parts.join(" "), 44)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(tier: &str, resource: &str, rendition: &str, metric: &str, value: f64) -> String {
        serde_json::json!({
            "at": "2026-11-22T20:00:00Z", "metric": metric, "value": value, "event": "show",
            "region": "eu", "tier": tier, "resource": resource, "rendition": rendition,
        })
        .to_string()
    }

    fn alert(id: &str, state: &str) -> String {
        serde_json::json!({
            "id": id, "rule": "playlist-stale", "severity": "critical", "state": state,
            "at": "2026-11-22T20:00:05Z", "since": "2026-11-22T20:00:04Z",
            "metric": "playlist_age_s", "value": 4.2, "threshold": 3.0, "event": "show",
            "region": "eu", "tier": "origin", "resource": "origin/a", "rendition": "720p",
            "message": "stale",
        })
        .to_string()
    }

    #[test]
    fn the_table_shows_latest_readings_open_alerts_and_actions() {
        let mut b = Board::default();
        b.apply(
            "signal",
            &signal("origin", "origin/a", "720p", "playlist_age_s", 0.4),
        );
        b.apply(
            "signal",
            &signal("origin", "origin/a", "720p", "playlist_age_s", 4.2),
        );
        b.apply(
            "signal",
            &signal("origin", "origin/a", "720p", "media_sequence", 120.0),
        );
        b.apply(
            "signal",
            &signal("origin", "origin/b", "720p", "playlist_age_s", 0.8),
        );
        b.apply(
            "signal",
            &signal("viewer", "cdn", "720p", "viewer_download_ratio", 0.12),
        );
        b.apply("alert", &alert("al-1", "firing"));
        b.apply(
            "action",
            &serde_json::json!({
                "id": "act-1", "action": "failover", "state": "done",
                "at": "2026-11-22T20:00:06Z", "alert": "al-1", "rule": "playlist-stale",
                "alert_state": "firing", "source": "profile",
                "reason": "playlist-stale firing on origin/a", "target": "pipeline b",
                "event": "show", "region": "eu", "tier": "origin", "resource": "origin/a",
            })
            .to_string(),
        );
        b.apply("signal", "not json");
        let now: Timestamp = "2026-11-22T20:00:10Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        insta::assert_snapshot!("board_firing", b.render(now));
        b.apply("alert", &alert("al-1", "resolved"));
        assert!(!b.render(now).contains("FIRING"));
        // A thing silent for over a minute leaves the table.
        let later = now + SignedDuration::from_secs(61);
        assert!(b.render(later).contains("nothing probed has reported"));
    }
}
