//! Which phase of its lifecycle an event should be in at a given time (pure).
//!
//! `scheduled → provisioning (start − lead) → ready → live (start) → handoff / teardown
//! (end + grace) → done`. Time alone decides whether the event's resources should exist: from
//! `start − lead` until `end + grace`. What exists refines the answer: `ready` once everything is
//! provisioned, `done` once nothing is left after the window.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Scheduled,
    Provisioning,
    Ready,
    Live,
    Handoff,
    Teardown,
    Done,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Scheduled => "scheduled",
            Phase::Provisioning => "provisioning",
            Phase::Ready => "ready",
            Phase::Live => "live",
            Phase::Handoff => "handoff",
            Phase::Teardown => "teardown",
            Phase::Done => "done",
        }
    }

    /// Whether the event's resources should exist in this phase.
    pub fn needs_resources(self) -> bool {
        matches!(self, Phase::Provisioning | Phase::Ready | Phase::Live)
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The times that decide an event's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    pub start: Timestamp,
    pub end: Timestamp,
    pub lead: SignedDuration,
    pub grace: SignedDuration,
}

impl Times {
    /// When the resources should start being created.
    pub fn provision_at(&self) -> Timestamp {
        self.start.checked_sub(self.lead).unwrap_or(self.start)
    }
    /// When the show's resources are released (hand-off, then teardown).
    pub fn release_at(&self) -> Timestamp {
        self.end.checked_add(self.grace).unwrap_or(self.end)
    }
}

/// The phase time alone gives: `scheduled`, `provisioning`, `live` or `teardown`.
pub fn due(t: &Times, now: Timestamp) -> Phase {
    if now < t.provision_at() {
        Phase::Scheduled
    } else if now < t.start {
        Phase::Provisioning
    } else if now < t.release_at() {
        Phase::Live
    } else {
        Phase::Teardown
    }
}

/// What exists of an event, as the state records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Holdings {
    /// Resources the state records for the event.
    pub recorded: usize,
    /// Of those, the ones ready.
    pub ready: usize,
    /// How many the event needs.
    pub desired: usize,
}

/// The phase refined by what exists: `ready` before start once everything is provisioned,
/// `done` after the window once nothing is left. (`handoff` comes with the VOD hand-off.)
pub fn observed(t: &Times, now: Timestamp, h: Holdings) -> Phase {
    match due(t, now) {
        Phase::Provisioning if h.desired > 0 && h.ready >= h.desired => Phase::Ready,
        Phase::Teardown if h.recorded == 0 => Phase::Done,
        p => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times() -> Times {
        Times {
            start: "2026-12-05T19:45:00Z".parse().unwrap(),
            end: "2026-12-05T22:00:00Z".parse().unwrap(),
            lead: SignedDuration::from_mins(15),
            grace: SignedDuration::from_mins(10),
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn boundaries() {
        let t = times();
        assert_eq!(due(&t, at("2026-12-05T19:29:59Z")), Phase::Scheduled);
        assert_eq!(due(&t, at("2026-12-05T19:30:00Z")), Phase::Provisioning);
        assert_eq!(due(&t, at("2026-12-05T19:45:00Z")), Phase::Live);
        assert_eq!(due(&t, at("2026-12-05T22:09:59Z")), Phase::Live);
        assert_eq!(due(&t, at("2026-12-05T22:10:00Z")), Phase::Teardown);
    }

    #[test]
    fn refined_by_what_exists() {
        let t = times();
        let before = at("2026-12-05T19:40:00Z");
        let after = at("2026-12-05T23:00:00Z");
        let h = |recorded, ready| Holdings {
            recorded,
            ready,
            desired: 5,
        };
        assert_eq!(observed(&t, before, h(5, 3)), Phase::Provisioning);
        assert_eq!(observed(&t, before, h(5, 5)), Phase::Ready);
        assert_eq!(observed(&t, after, h(2, 2)), Phase::Teardown);
        assert_eq!(observed(&t, after, h(0, 0)), Phase::Done);
    }
}
