//! What the console shows (pure): the health stream folded into each event and region's chain
//! (the latest readings of every probed thing, tier by tier), a few minutes of its key signals,
//! the alerts and the actions. Fed the stored stream first, then the live bus, in the same form.

use std::collections::{BTreeMap, VecDeque};

use jiff::{SignedDuration, Timestamp};

use crate::monitor::actions::{Act, ActionRecord, ActionState};
use crate::monitor::engine::AlertState;
use crate::monitor::health::Health as Item;
pub use crate::monitor::stream::rows::AlertRow;
use crate::monitor::stream::rows::SignalRow;
use crate::monitor::{Metric, Tier};

/// How much of each charted signal is kept.
pub const CHART_SPAN: SignedDuration = SignedDuration::from_mins(10);
/// Points per chart at most (one per few seconds over the span).
const CHART_POINTS: usize = 300;
/// Resolved alerts and past actions kept for the page.
const HISTORY: usize = 50;

/// The signals charted per place, and the readings each tier's node shows.
pub const CHARTED: [Metric; 4] = [
    Metric::EncoderSpeed,
    Metric::PlaylistAgeS,
    Metric::EdgeTtfbMs,
    Metric::ViewerDownloadRatio,
];

pub fn readings(tier: Tier) -> &'static [Metric] {
    match tier {
        Tier::Encoder => &[
            Metric::EncoderSpeed,
            Metric::EncoderFps,
            Metric::EncoderBitrateKbps,
        ],
        Tier::Origin => &[Metric::PlaylistAgeS, Metric::MediaSequence],
        Tier::Edge => &[
            Metric::EdgeTtfbMs,
            Metric::EdgeHitRatio,
            Metric::EdgeLagSegments,
        ],
        Tier::Viewer => &[Metric::ViewerStall, Metric::ViewerDownloadRatio],
        Tier::Content => &[
            Metric::ContentBlackS,
            Metric::ContentFreezeS,
            Metric::ContentSilenceS,
            Metric::LoudnessLufs,
        ],
    }
}

/// The chain's order on the page.
pub const CHAIN: [Tier; 5] = [
    Tier::Encoder,
    Tier::Origin,
    Tier::Edge,
    Tier::Viewer,
    Tier::Content,
];

/// One probed thing: a tier's resource (`encoder-a`, `origin`, `cdn`…).
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub at: Option<Timestamp>,
    /// The latest value of each metric (the worst over renditions for the readings shown).
    pub values: BTreeMap<Metric, f64>,
}

#[derive(Debug, Clone, Default)]
pub struct Place {
    pub nodes: BTreeMap<(Tier, String), Node>,
    pub series: BTreeMap<Metric, VecDeque<(Timestamp, f64)>>,
    /// The pipeline the edge was last switched to (`pipeline b`), if it ever was.
    pub serving: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Screen {
    /// By event, then region.
    pub places: BTreeMap<String, BTreeMap<String, Place>>,
    /// Open alerts by id.
    pub open: BTreeMap<String, AlertRow>,
    /// The latest resolved alerts, newest last.
    pub resolved: VecDeque<AlertRow>,
    /// Actions by id, the latest state of each, in the order they were first seen.
    pub actions: Vec<ActionRecord>,
    pub newest: Option<Timestamp>,
}

impl Screen {
    /// Takes in one item of the stream (`type` and JSON body); what it cannot read it skips.
    pub fn apply(&mut self, kind: &str, body: &str) {
        match kind {
            "signal" => {
                if let Ok(s) = serde_json::from_str::<SignalRow>(body) {
                    self.signal(s);
                }
            }
            "alert" => {
                if let Ok(a) = serde_json::from_str::<AlertRow>(body) {
                    self.alert(a);
                }
            }
            "action" => {
                if let Ok(a) = serde_json::from_str::<ActionRecord>(body) {
                    self.action(a);
                }
            }
            _ => {}
        }
    }

    /// Takes in one item of the live bus, as [`Screen::apply`] takes a stored one.
    pub fn take(&mut self, item: &Item) {
        match item {
            Item::Signal(s) => self.signal(s.into()),
            Item::Alert(a) => self.alert(a.into()),
            Item::Action(a) => self.action(a.clone()),
        }
    }

    fn see(&mut self, at: Timestamp) {
        self.newest = Some(self.newest.map_or(at, |n| n.max(at)));
    }

    fn place(&mut self, event: &str, region: &str) -> &mut Place {
        self.places
            .entry(event.to_string())
            .or_default()
            .entry(region.to_string())
            .or_default()
    }

    fn signal(&mut self, s: SignalRow) {
        self.see(s.at);
        let place = self.place(&s.event, &s.region);
        let node = place.nodes.entry((s.tier, s.resource)).or_default();
        // Renditions report one after the other: within one round, a reading keeps its worst.
        let same_round = node
            .at
            .is_some_and(|at| s.at.duration_since(at).abs() < SignedDuration::from_secs(1));
        let v = node.values.entry(s.metric).or_insert(s.value);
        *v = if same_round {
            worse(s.metric, *v, s.value)
        } else {
            s.value
        };
        node.at = Some(node.at.map_or(s.at, |a| a.max(s.at)));
        if CHARTED.contains(&s.metric) {
            let series = place.series.entry(s.metric).or_default();
            match series.back_mut() {
                // One point per second: the worst of what arrived in it.
                Some((at, v)) if s.at.duration_since(*at).abs() < SignedDuration::from_secs(1) => {
                    *v = worse(s.metric, *v, s.value);
                }
                _ => series.push_back((s.at, s.value)),
            }
            let horizon = s.at.checked_sub(CHART_SPAN).unwrap_or(s.at);
            while series.front().is_some_and(|(at, _)| *at < horizon) || series.len() > CHART_POINTS
            {
                series.pop_front();
            }
        }
    }

    fn alert(&mut self, a: AlertRow) {
        self.see(a.at);
        match a.state {
            AlertState::Pending | AlertState::Firing => {
                self.open.insert(a.id.clone(), a);
            }
            AlertState::Resolved => {
                self.open.remove(&a.id);
                self.resolved.retain(|r| r.id != a.id);
                self.resolved.push_back(a);
                while self.resolved.len() > HISTORY {
                    self.resolved.pop_front();
                }
            }
        }
    }

    fn action(&mut self, a: ActionRecord) {
        self.see(a.at);
        if a.action == Act::Failover && a.state == ActionState::Done {
            let target = a.target.clone();
            self.place(&a.labels.event, &a.labels.region).serving = target;
        }
        match self.actions.iter_mut().find(|x| x.id == a.id) {
            Some(x) => *x = a,
            None => self.actions.push(a),
        }
        if self.actions.len() > HISTORY {
            // Never drop what still waits for a human.
            if let Some(i) = self
                .actions
                .iter()
                .position(|x| x.state != ActionState::AwaitingApproval)
            {
                self.actions.remove(i);
            }
        }
    }

    /// How a tier's resource stands: the worst open alert on it, else whether it reports.
    pub fn health(
        &self,
        event: &str,
        region: &str,
        tier: Tier,
        resource: &str,
        node: &Node,
    ) -> Health {
        let mut h = Health::Ok;
        for a in self.open.values() {
            if a.event == event && a.region == region && a.tier == tier && a.resource == resource {
                h = h.max(match a.state {
                    AlertState::Firing => Health::Alert,
                    _ => Health::Warn,
                });
            }
        }
        if h == Health::Ok
            && let (Some(at), Some(newest)) = (node.at, self.newest)
            && newest.duration_since(at) > SignedDuration::from_secs(30)
        {
            return Health::Stale;
        }
        h
    }

    /// The actions that wait for a verdict.
    pub fn awaiting(&self) -> impl Iterator<Item = &ActionRecord> {
        self.actions
            .iter()
            .filter(|a| a.state == ActionState::AwaitingApproval)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    /// Not probed now (the show is over, or not yet on): the readings are the last ones.
    OffAir,
    Ok,
    /// No reading for a while (the probe stopped, or the show is over).
    Stale,
    /// An alert is pending.
    Warn,
    /// An alert is firing.
    Alert,
}

impl Health {
    /// The CSS class, and the word shown beside the colour.
    pub fn class(self) -> &'static str {
        match self {
            Health::OffAir => "off-air",
            Health::Ok => "ok",
            Health::Stale => "stale",
            Health::Warn => "warn",
            Health::Alert => "alert",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Health::OffAir => "○ off air",
            Health::Ok => "✓ healthy",
            Health::Stale => "… no reading",
            Health::Warn => "! pending",
            Health::Alert => "✖ alert",
        }
    }
}

/// Of two readings of a metric, the one that says more is wrong.
fn worse(metric: Metric, a: f64, b: f64) -> f64 {
    match metric {
        Metric::EncoderSpeed
        | Metric::EncoderFps
        | Metric::EncoderUp
        | Metric::PlaylistUp
        | Metric::SegmentUp
        | Metric::EdgeUp
        | Metric::EdgeHitRatio
        | Metric::RenditionResolutionOk => a.min(b),
        _ => a.max(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(at: &str, metric: &str, value: f64, tier: &str, resource: &str) -> String {
        format!(
            r#"{{"type":"signal","at":"{at}","metric":"{metric}","value":{value},"event":"show","region":"eu","tier":"{tier}","resource":"{resource}"}}"#
        )
    }

    fn alert(at: &str, id: &str, state: &str) -> String {
        format!(
            r#"{{"type":"alert","id":"{id}","rule":"encoder-stalled","severity":"critical","state":"{state}","at":"{at}","since":"{at}","metric":"encoder_speed","value":0.0,"event":"show","region":"eu","tier":"encoder","resource":"encoder","message":"the encoder is stalled"}}"#
        )
    }

    #[test]
    fn a_node_shows_its_latest_reading_and_the_worst_open_alert() {
        let mut s = Screen::default();
        s.apply(
            "signal",
            &signal(
                "2030-01-01T20:00:00Z",
                "encoder_speed",
                1.0,
                "encoder",
                "encoder",
            ),
        );
        s.apply(
            "signal",
            &signal(
                "2030-01-01T20:00:05Z",
                "encoder_speed",
                0.4,
                "encoder",
                "encoder",
            ),
        );
        let node = s.places["show"]["eu"].nodes[&(Tier::Encoder, "encoder".into())].clone();
        assert_eq!(node.values[&Metric::EncoderSpeed], 0.4);
        assert_eq!(
            s.health("show", "eu", Tier::Encoder, "encoder", &node),
            Health::Ok
        );
        s.apply("alert", &alert("2030-01-01T20:00:06Z", "a1", "pending"));
        assert_eq!(
            s.health("show", "eu", Tier::Encoder, "encoder", &node),
            Health::Warn
        );
        s.apply("alert", &alert("2030-01-01T20:00:09Z", "a1", "firing"));
        assert_eq!(
            s.health("show", "eu", Tier::Encoder, "encoder", &node),
            Health::Alert
        );
        s.apply("alert", &alert("2030-01-01T20:00:20Z", "a1", "resolved"));
        assert_eq!(
            s.health("show", "eu", Tier::Encoder, "encoder", &node),
            Health::Ok
        );
        assert_eq!(s.resolved.len(), 1);
        assert!(s.open.is_empty());
        // Nothing heard from it for half a minute while others report: no reading.
        s.apply(
            "signal",
            &signal("2030-01-01T20:01:00Z", "edge_ttfb_ms", 12.0, "edge", "cdn"),
        );
        assert_eq!(
            s.health("show", "eu", Tier::Encoder, "encoder", &node),
            Health::Stale
        );
    }

    #[test]
    fn a_chart_keeps_one_point_a_second_over_its_span() {
        let mut s = Screen::default();
        for i in 0..900 {
            let at = Timestamp::from_second(1_900_000_000 + i).unwrap();
            s.apply(
                "signal",
                &signal(
                    &at.to_string(),
                    "playlist_age_s",
                    i as f64,
                    "origin",
                    "origin",
                ),
            );
            s.apply(
                "signal",
                &signal(&at.to_string(), "playlist_age_s", 0.0, "origin", "origin"),
            );
        }
        let series = &s.places["show"]["eu"].series[&Metric::PlaylistAgeS];
        assert!(series.len() <= CHART_POINTS);
        let (first, _) = series.front().unwrap();
        let (last, v) = series.back().unwrap();
        assert!(last.duration_since(*first) <= CHART_SPAN);
        // The worst of the second is kept.
        assert_eq!(*v, 899.0);
    }

    #[test]
    fn the_live_bus_and_the_store_give_the_same_screen() {
        use crate::monitor::engine::Alert;
        use crate::monitor::{Labels, SignalRecord};
        let labels = Labels {
            event: "show".into(),
            region: "eu".into(),
            tier: Tier::Origin,
            resource: "origin/a".into(),
            rendition: Some("720p".into()),
        };
        let at: Timestamp = "2030-01-01T20:00:05Z".parse().unwrap();
        let items = [
            Item::Signal(SignalRecord {
                at,
                metric: Metric::PlaylistAgeS,
                value: 4.2,
                labels: labels.clone(),
            }),
            Item::Alert(Alert {
                id: "al-1".into(),
                rule: "playlist-stale".into(),
                severity: "critical",
                state: AlertState::Firing,
                at,
                since: at,
                metric: Metric::PlaylistAgeS,
                value: 4.2,
                threshold: Some(3.0),
                labels,
                message: "stale".into(),
            }),
        ];
        let (mut live, mut stored) = (Screen::default(), Screen::default());
        for item in &items {
            live.take(item);
            stored.apply(item.kind(), &serde_json::to_string(item).unwrap());
        }
        for s in [&live, &stored] {
            let node = &s.places["show"]["eu"].nodes[&(Tier::Origin, "origin/a".into())];
            assert_eq!(node.values[&Metric::PlaylistAgeS], 4.2);
            assert_eq!(
                s.places["show"]["eu"].series[&Metric::PlaylistAgeS].len(),
                1
            );
            let a = &s.open["al-1"];
            assert_eq!(
                (
                    a.severity.as_str(),
                    a.message.as_str(),
                    a.rendition.as_deref(),
                    a.since
                ),
                ("critical", "stale", Some("720p"), at)
            );
        }
    }

    #[test]
    fn what_cannot_be_read_is_skipped() {
        let mut s = Screen::default();
        s.apply("signal", "{");
        s.apply("alert", r#"{"id": 3}"#);
        s.apply("other", "{}");
        assert!(s.places.is_empty() && s.open.is_empty());
    }
}
