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
    /// `end + grace`.
    pub release_at: Timestamp,
    /// The state holds the event's archive in the region.
    pub archive: bool,
    pub vod: Option<ResourceStatus>,
    /// When each earlier packaging run of this VOD failed, oldest first.
    pub failures: Vec<Timestamp>,
    /// The profile's `vod.attempts` and `vod.timeout`.
    pub attempts: u32,
    pub timeout: Duration,
}

/// The wait before retry `n` (1 for the first retry): 30 s, doubling, at most 5 min.
pub fn backoff(n: u32) -> Duration {
    let secs = 30u64.saturating_mul(1 << n.saturating_sub(1).min(8));
    Duration::from_secs(secs.min(300))
}

/// The hand-off's state once the show is over.
pub fn decide(f: &Facts) -> Handoff {
    if f.vod == Some(ResourceStatus::Ready) {
        return Handoff::Published;
    }
    if !f.archive {
        return Handoff::NoArchive;
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
            release_at: at("2026-12-05T22:10:00Z"),
            archive: true,
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
