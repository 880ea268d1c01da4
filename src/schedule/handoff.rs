//! Where an event's VOD hand-off stands, per region (pure).
//!
//! At `end + grace` an event whose profile asks for a VOD does not go straight to teardown:
//! its archive is packaged first, and everything else waits for that VOD to be verified. A
//! failed run is retried after a backoff, a bounded number of times; after that, or once the
//! profile's `vod.timeout` has passed, the live resources go anyway (loudly) and the archive is
//! kept until `orchestrate vod retry` makes the VOD. An archive is never deleted without one.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::model::JournalEntry;
use crate::model::ResourceStatus;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Handoff {
    /// Package now: the VOD is desired, and the event's teardown in the region waits for it.
    Package { attempt: u32 },
    /// A failed run waits for its retry; everything of the event stays meanwhile.
    Waiting { attempt: u32, retry_at: Timestamp },
    /// The VOD is verified: it stays, the rest goes.
    Published,
    /// No verified VOD: the live resources go, the archive stays.
    GaveUp { reason: String },
    /// Nothing to package: the event never had an archive in the region.
    NoArchive,
    /// The show never went on air (its start has not passed, or its archive holds no media):
    /// there is nothing to hand off, and the archive goes with the rest.
    NotAired { reason: String },
}

impl Handoff {
    /// Whether this is something staff must act on.
    pub fn is_alert(&self) -> bool {
        matches!(self, Handoff::GaveUp { .. })
    }
}

/// What the hand-off of one event in one region is decided from.
#[derive(Debug, Clone)]
pub struct Facts {
    pub now: Timestamp,
    /// The show's scheduled start.
    pub start: Timestamp,
    /// `end + grace`.
    pub release_at: Timestamp,
    /// The state holds the event's archive in the region.
    pub archive: bool,
    /// Whether that archive holds any media: as its provider sees it, or else whether an
    /// encoder fed it during the show; `None` while not looked at.
    pub media: Option<bool>,
    pub vod: Option<ResourceStatus>,
    /// When each earlier packaging run of this VOD failed, oldest first.
    pub failures: Vec<Timestamp>,
    /// The profile's `vod.attempts` and `vod.timeout`.
    pub attempts: u32,
    pub timeout: Duration,
}

/// Whether an encoder of the event ran in `region` at some instant of the show, as the
/// event's journal tells it: a create that succeeded before `end`, not deleted before `start`.
/// For providers that cannot look into an archive, this is what says the show was recorded.
pub fn encoder_on_air(
    journal: &[JournalEntry],
    region: &str,
    (start, end): (Timestamp, Timestamp),
) -> bool {
    let mut ready_since: std::collections::HashMap<&str, Timestamp> = Default::default();
    let mut ordered: Vec<&JournalEntry> = journal
        .iter()
        .filter(|j| j.region == region && j.kind.is_encoder())
        .collect();
    ordered.sort_by_key(|j| j.seq);
    for j in ordered {
        match (j.op.as_str(), j.outcome.as_deref(), j.finished_at) {
            ("create", Some("ok"), Some(at)) if at < end => {
                ready_since.entry(&j.resource).or_insert(at);
            }
            ("delete", _, _) => {
                if let Some(since) = ready_since.remove(j.resource.as_str())
                    && since < end
                    && j.started_at > start
                {
                    return true;
                }
            }
            _ => {}
        }
    }
    // Still there: on air if it was ready before the end.
    !ready_since.is_empty()
}

/// The wait before retry `n` (1 for the first retry): 30 s, doubling, at most 5 min.
pub fn backoff(n: u32) -> Duration {
    let secs = 30u64.saturating_mul(1 << n.saturating_sub(1).min(8));
    Duration::from_secs(secs.min(300))
}

/// Why there is nothing to hand off though an archive was made, if so: a show that never
/// went on air has no recording worth a VOD.
fn never_aired(f: &Facts) -> Option<Handoff> {
    let reason = if f.now < f.start {
        format!("its start ({}) has not passed", f.start)
    } else if f.media == Some(false) {
        "its archive holds no media".to_string()
    } else {
        return None;
    };
    Some(Handoff::NotAired { reason })
}

/// The hand-off's state once the show is over.
pub fn decide(f: &Facts) -> Handoff {
    if f.vod == Some(ResourceStatus::Ready) {
        return Handoff::Published;
    }
    if !f.archive {
        return Handoff::NoArchive;
    }
    if let Some(h) = never_aired(f) {
        return h;
    }
    let failed = f.failures.len() as u32;
    if failed >= f.attempts.max(1) {
        return Handoff::GaveUp {
            reason: format!(
                "packaging failed {failed} time{}",
                if failed == 1 { "" } else { "s" }
            ),
        };
    }
    let deadline = f.release_at + SignedDuration::try_from(f.timeout).unwrap_or_default();
    if f.now >= deadline {
        return Handoff::GaveUp {
            reason: format!(
                "no verified VOD within {} of the end",
                crate::config::duration::format_duration(f.timeout)
            ),
        };
    }
    if let Some(last) = f.failures.last() {
        let retry_at = *last + SignedDuration::try_from(backoff(failed)).unwrap_or_default();
        if f.now < retry_at {
            return Handoff::Waiting {
                attempt: failed + 1,
                retry_at,
            };
        }
    }
    Handoff::Package {
        attempt: failed + 1,
    }
}

/// The hand-off asked for now (`down`, `orchestrate vod retry`): whatever the clock, the
/// attempts made and the timeout say.
pub fn decide_now(f: &Facts) -> Handoff {
    if f.vod == Some(ResourceStatus::Ready) {
        Handoff::Published
    } else if !f.archive {
        Handoff::NoArchive
    } else if let Some(h) = never_aired(f) {
        h
    } else {
        Handoff::Package {
            attempt: f.failures.len() as u32 + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn facts() -> Facts {
        Facts {
            now: at("2026-12-05T22:10:00Z"),
            start: at("2026-12-05T19:45:00Z"),
            release_at: at("2026-12-05T22:10:00Z"),
            archive: true,
            media: None,
            vod: None,
            failures: vec![],
            attempts: 3,
            timeout: Duration::from_secs(1800),
        }
    }

    #[test]
    fn packages_once_the_show_is_over() {
        assert_eq!(decide(&facts()), Handoff::Package { attempt: 1 });
    }

    #[test]
    fn a_verified_vod_is_published_and_an_event_without_archive_has_nothing() {
        let mut f = facts();
        f.vod = Some(ResourceStatus::Ready);
        assert_eq!(decide(&f), Handoff::Published);
        let mut f = facts();
        f.archive = false;
        assert_eq!(decide(&f), Handoff::NoArchive);
    }

    #[test]
    fn a_show_that_never_aired_gets_no_vod() {
        // `down` of an event days ahead: asked for now, but there is no show to hand off.
        let mut f = facts();
        f.now = at("2026-12-01T10:00:00Z");
        assert_eq!(
            decide_now(&f),
            Handoff::NotAired {
                reason: "its start (2026-12-05T19:45:00Z) has not passed".into()
            }
        );
        // Over by the clock, but its archive was never written to.
        let mut f = facts();
        f.media = Some(false);
        assert!(matches!(decide(&f), Handoff::NotAired { .. }));
        assert!(matches!(decide_now(&f), Handoff::NotAired { .. }));
        // Media, or a provider that cannot tell: packaged.
        f.media = Some(true);
        assert_eq!(decide(&f), Handoff::Package { attempt: 1 });
        assert!(!decide_now(&f).is_alert());
        // A published VOD stays published whatever the archive holds now.
        f.media = Some(false);
        f.vod = Some(ResourceStatus::Ready);
        assert_eq!(decide(&f), Handoff::Published);
    }

    fn entry(seq: i64, resource: &str, op: &str, at: &str) -> JournalEntry {
        JournalEntry {
            seq,
            resource: resource.into(),
            op: op.into(),
            provider: "sim".into(),
            region: "eu-west-1".into(),
            kind: resource.rsplit('/').next().unwrap().parse().unwrap(),
            started_at: at.parse().unwrap(),
            finished_at: Some(at.parse().unwrap()),
            outcome: Some("ok".into()),
            attempts: Some(1),
            duration_ms: Some(0),
            error: None,
        }
    }

    #[test]
    fn an_encoder_was_on_air_if_it_ran_at_some_instant_of_the_show() {
        let show = (at("2026-12-05T19:45:00Z"), at("2026-12-05T22:00:00Z"));
        let enc = "cup/eu-west-1/encoder";
        let on = |j: &[JournalEntry]| encoder_on_air(j, "eu-west-1", show);
        // Made ahead and torn down before the start: never on air.
        assert!(!on(&[
            entry(1, enc, "create", "2026-12-01T10:00:00Z"),
            entry(2, enc, "delete", "2026-12-01T11:00:00Z"),
        ]));
        // Made before the start and still there, or torn down during the show: on air.
        assert!(on(&[entry(1, enc, "create", "2026-12-05T19:30:00Z")]));
        assert!(on(&[
            entry(1, enc, "create", "2026-12-05T19:30:00Z"),
            entry(2, enc, "delete", "2026-12-05T20:00:00Z"),
        ]));
        // Made only after the end, or in another region, or not an encoder: no.
        assert!(!on(&[entry(1, enc, "create", "2026-12-05T22:30:00Z")]));
        let mut elsewhere = entry(1, enc, "create", "2026-12-05T19:30:00Z");
        elsewhere.region = "us-east-1".into();
        assert!(!on(&[elsewhere]));
        assert!(!on(&[entry(
            1,
            "cup/eu-west-1/origin",
            "create",
            "2026-12-05T19:30:00Z"
        )]));
        // A create that failed made nothing.
        let mut failed = entry(1, enc, "create", "2026-12-05T19:30:00Z");
        failed.outcome = Some("failed".into());
        assert!(!on(&[failed]));
    }

    #[test]
    fn a_failure_waits_for_its_backoff_then_retries() {
        let mut f = facts();
        f.failures = vec![at("2026-12-05T22:10:05Z")];
        f.now = at("2026-12-05T22:10:20Z");
        assert_eq!(
            decide(&f),
            Handoff::Waiting {
                attempt: 2,
                retry_at: at("2026-12-05T22:10:35Z")
            }
        );
        f.now = at("2026-12-05T22:10:35Z");
        assert_eq!(decide(&f), Handoff::Package { attempt: 2 });
    }

    #[test]
    fn gives_up_after_its_attempts_or_its_timeout() {
        let mut f = facts();
        f.failures = vec![f.now; 3];
        assert!(decide(&f).is_alert());
        let mut f = facts();
        f.now = at("2026-12-05T22:40:00Z");
        assert!(decide(&f).is_alert());
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(30));
        assert_eq!(backoff(2), Duration::from_secs(60));
        assert_eq!(backoff(5), Duration::from_secs(300));
        assert_eq!(backoff(40), Duration::from_secs(300));
    }
}
