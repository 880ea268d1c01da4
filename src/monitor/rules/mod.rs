//! Alerting rules, compiled from a profile's `monitoring` section: thresholds with hysteresis
//! and anomaly detectors, each held `for` a while before the alert fires.

pub mod anomaly;

use std::time::Duration;

use crate::config::profile::{AnomalySpec, RuleSpec, Severity};
use crate::model::Profile;
use crate::monitor::Metric;

/// The rules every profile has unless `default_rules: false` (each is built below).
pub use crate::config::profile::BUILT_IN_RULES as BUILT_IN;

#[derive(Debug, Clone)]
pub enum Condition {
    /// Fires above `fire`, resolves at or below `clear`.
    Above {
        fire: f64,
        clear: f64,
    },
    /// Fires below `fire`, resolves at or above `clear`.
    Below {
        fire: f64,
        clear: f64,
    },
    /// Fires outside `low..=high`, resolves once back inside.
    Outside {
        low: f64,
        high: f64,
    },
    Anomaly(AnomalySpec),
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub metric: Metric,
    pub condition: Condition,
    pub hold: Duration,
    pub severity: Severity,
    pub rendition: Option<String>,
    pub resource: Option<String>,
}

impl Rule {
    pub fn threshold(&self) -> Option<f64> {
        match self.condition {
            Condition::Above { fire, .. } | Condition::Below { fire, .. } => Some(fire),
            Condition::Outside { .. } | Condition::Anomaly(_) => None,
        }
    }

    /// Whether this rule reads the series with these labels.
    pub fn applies(&self, metric: Metric, resource: &str, rendition: Option<&str>) -> bool {
        self.metric == metric
            && self.resource.as_deref().is_none_or(|r| r == resource)
            && self
                .rendition
                .as_deref()
                .is_none_or(|r| Some(r) == rendition)
    }
}

impl From<&RuleSpec> for Rule {
    fn from(r: &RuleSpec) -> Self {
        let condition = match (r.above, r.below, &r.anomaly) {
            (Some(fire), _, _) => Condition::Above {
                fire,
                clear: r.clear.unwrap_or(fire),
            },
            (_, Some(fire), _) => Condition::Below {
                fire,
                clear: r.clear.unwrap_or(fire),
            },
            (_, _, Some(a)) => Condition::Anomaly(a.clone()),
            // Validation lets no rule through without a condition; this one would never fire.
            (None, None, None) => Condition::Above {
                fire: f64::INFINITY,
                clear: f64::INFINITY,
            },
        };
        Rule {
            name: r.name.clone(),
            metric: r.signal,
            condition,
            hold: r.hold.0,
            severity: r.severity,
            rendition: r.rendition.clone(),
            resource: r.resource.clone(),
        }
    }
}

/// A profile's rules: the built-in ones (unless turned off) and its own.
pub fn compile(profile: &Profile) -> Vec<Rule> {
    let m = &profile.monitoring;
    let mut rules = if m.default_rules {
        let t = profile.segment_duration.as_secs_f64();
        let mut r = built_in(t, m.stale_after);
        let ladder: Vec<(&str, u64)> = profile
            .encoder
            .ladder
            .iter()
            .map(|r| (r.name.as_str(), r.bitrate.0))
            .collect();
        r.extend(content(t * f64::from(m.content.every.max(1)), &ladder));
        r
    } else {
        Vec::new()
    };
    rules.extend(m.rules.iter().map(Rule::from));
    rules
}

/// A built-in rule, on every resource and rendition.
fn rule(name: &str, metric: Metric, condition: Condition, hold: f64, severity: Severity) -> Rule {
    Rule {
        name: name.into(),
        metric,
        condition,
        hold: Duration::from_secs_f64(hold),
        severity,
        rendition: None,
        resource: None,
    }
}

/// Rules for what is a failure on any live stream, sized by the target duration `t`.
pub fn built_in(t: f64, stale_after: f64) -> Vec<Rule> {
    use Condition::{Above, Below};
    use Severity::{Critical, Warning};
    // A flag (1 or 0) that reads 0.
    let down = Below {
        fire: 0.5,
        clear: 0.5,
    };
    vec![
        rule(
            "encoder-down",
            Metric::EncoderUp,
            down.clone(),
            0.0,
            Critical,
        ),
        // A channel can run on with its input lost, its origin fed slate or black: what the
        // service itself says is wrong is as urgent as a stop.
        rule(
            "encoder-alerts",
            Metric::EncoderAlerts,
            Above {
                fire: 0.5,
                clear: 0.5,
            },
            0.0,
            Critical,
        ),
        // Resolves as soon as the playlist moves again (its age drops back to zero).
        rule(
            "playlist-stale",
            Metric::PlaylistAgeS,
            Above {
                fire: stale_after * t,
                clear: stale_after * t,
            },
            0.0,
            Critical,
        ),
        rule(
            "playlist-unreachable",
            Metric::PlaylistUp,
            down.clone(),
            2.0 * t,
            Critical,
        ),
        rule(
            "edge-errors",
            Metric::EdgeUp,
            down.clone(),
            2.0 * t,
            Critical,
        ),
        // An edge keeps a manifest for half a target duration: one segment behind is normal.
        rule(
            "edge-lag",
            Metric::EdgeLagSegments,
            Above {
                fire: 2.5,
                clear: 1.5,
            },
            2.0 * t,
            Warning,
        ),
        rule(
            "viewer-stall",
            Metric::ViewerStall,
            Above {
                fire: 0.5,
                clear: 0.5,
            },
            0.0,
            Critical,
        ),
    ]
}

/// What is wrong with a picture or a sound on any live stream, for samples taken every
/// `interval` seconds of a stream with this `ladder` (rendition name, bits per second).
pub fn content(interval: f64, ladder: &[(&str, u64)]) -> Vec<Rule> {
    use Condition::{Above, Below, Outside};
    use Severity::{Critical, Warning};
    // The run lengths are the condition's own duration: no hold on top of them.
    let longer_than = |s: f64| Above { fire: s, clear: s };
    let mut rules = vec![
        rule(
            "content-black",
            Metric::ContentBlackS,
            longer_than(5.0),
            0.0,
            Critical,
        ),
        rule(
            "content-freeze",
            Metric::ContentFreezeS,
            longer_than(5.0),
            0.0,
            Critical,
        ),
        rule(
            "content-silence",
            Metric::ContentSilenceS,
            longer_than(10.0),
            0.0,
            Critical,
        ),
        // Lip sync: the EBU's tolerance for the sound against the picture is tighter late
        // than early (R37: +40/-60 ms at the emission); a viewer notices beyond about 80 ms.
        rule(
            "av-offset",
            Metric::AvOffsetMs,
            Outside {
                low: -80.0,
                high: 80.0,
            },
            interval,
            Warning,
        ),
        rule(
            "rendition-resolution",
            Metric::RenditionResolutionOk,
            Below {
                fire: 0.5,
                clear: 0.5,
            },
            0.0,
            Warning,
        ),
    ];
    for (name, bps) in ladder {
        let kbps = *bps as f64 / 1000.0;
        let mut r = rule(
            "rendition-bitrate",
            Metric::RenditionBitrateKbps,
            Outside {
                low: kbps * 0.7,
                high: kbps * 1.3,
            },
            interval,
            Warning,
        );
        r.rendition = Some((*name).to_string());
        rules.push(r);
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_names_are_the_listed_ones() {
        let mut names: Vec<String> = built_in(2.0, 1.5).into_iter().map(|r| r.name).collect();
        names.extend(
            content(6.0, &[("720p", 3_000_000), ("360p", 800_000)])
                .into_iter()
                .map(|r| r.name),
        );
        names.dedup();
        assert_eq!(names, BUILT_IN);
    }

    #[test]
    fn each_rendition_is_held_to_its_own_ladder_bitrate() {
        let rules = content(6.0, &[("720p", 3_000_000), ("360p", 800_000)]);
        let of = |rendition: &str| {
            rules
                .iter()
                .find(|r| r.applies(Metric::RenditionBitrateKbps, "content/a", Some(rendition)))
                .map(|r| match r.condition {
                    Condition::Outside { low, high } => (low.round(), high.round()),
                    _ => (0.0, 0.0),
                })
        };
        assert_eq!(of("720p"), Some((2100.0, 3900.0)));
        assert_eq!(of("360p"), Some((560.0, 1040.0)));
        assert_eq!(of("1080p"), None);
    }

    #[test]
    fn filters_narrow_what_a_rule_reads() {
        let mut r = built_in(2.0, 1.5).remove(2);
        assert!(r.applies(Metric::PlaylistAgeS, "origin", Some("720p")));
        r.rendition = Some("1080p".into());
        assert!(!r.applies(Metric::PlaylistAgeS, "origin", Some("720p")));
        assert!(!r.applies(Metric::PlaylistUp, "origin", Some("1080p")));
    }
}
