//! Guardrails (pure): an action on a target is not repeated within the cooldown, and an event
//! in a region gets at most `max_actions` within `per`.

use std::collections::{HashMap, VecDeque};

use jiff::{SignedDuration, Timestamp};

use super::Act;
use crate::config::profile::GuardrailSpec;

#[derive(Debug, Default)]
pub struct Guard {
    /// When each action was last taken, per place (`event/region`), action and target.
    last: HashMap<(String, Act, String), Timestamp>,
    /// The actions taken per place, oldest first.
    taken: HashMap<String, VecDeque<Timestamp>>,
}

fn span(d: std::time::Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

impl Guard {
    /// Why `act` on `target` may not be taken now, if it may not.
    pub fn check(
        &self,
        g: &GuardrailSpec,
        place: &str,
        act: Act,
        target: &str,
        now: Timestamp,
    ) -> Result<(), String> {
        let key = (place.to_string(), act, target.to_string());
        if let Some(&at) = self.last.get(&key) {
            let since = now.duration_since(at);
            if since < span(g.cooldown.0) {
                return Err(format!(
                    "cooldown: {act} on {target} was taken {}s ago (cooldown {})",
                    since.as_secs(),
                    g.cooldown
                ));
            }
        }
        let from = now - span(g.per.0);
        let recent = self
            .taken
            .get(place)
            .map_or(0, |v| v.iter().filter(|&&t| t > from).count());
        if recent >= g.max_actions as usize {
            return Err(format!(
                "limit: {recent} actions on {place} within {} (max_actions {})",
                g.per, g.max_actions
            ));
        }
        Ok(())
    }

    pub fn record(
        &mut self,
        g: &GuardrailSpec,
        place: &str,
        act: Act,
        target: &str,
        now: Timestamp,
    ) {
        self.last
            .insert((place.to_string(), act, target.to_string()), now);
        let v = self.taken.entry(place.to_string()).or_default();
        v.push_back(now);
        let from = now - span(g.per.0);
        while v.front().is_some_and(|&t| t <= from) {
            v.pop_front();
        }
    }

    /// Forgets an event's history once it is no longer monitored.
    pub fn forget(&mut self, place: &str) {
        self.taken.remove(place);
        self.last.retain(|(p, _, _), _| p != place);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::duration::HumanDuration;
    use std::time::Duration;

    fn spec() -> GuardrailSpec {
        GuardrailSpec {
            cooldown: HumanDuration(Duration::from_secs(60)),
            max_actions: 2,
            per: HumanDuration(Duration::from_secs(600)),
        }
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn the_same_action_waits_out_its_cooldown() {
        let (g, mut guard) = (spec(), Guard::default());
        assert!(guard.check(&g, "show/eu", Act::Failover, "b", t(0)).is_ok());
        guard.record(&g, "show/eu", Act::Failover, "b", t(0));
        let e = guard.check(&g, "show/eu", Act::Failover, "b", t(30));
        assert!(e.is_err_and(|e| e.starts_with("cooldown")));
        // Another target, another action or another place is not held back.
        assert!(
            guard
                .check(&g, "show/eu", Act::Failover, "a", t(30))
                .is_ok()
        );
        assert!(guard.check(&g, "show/eu", Act::Restart, "b", t(30)).is_ok());
        assert!(
            guard
                .check(&g, "show/us", Act::Failover, "b", t(30))
                .is_ok()
        );
        assert!(
            guard
                .check(&g, "show/eu", Act::Failover, "b", t(60))
                .is_ok()
        );
    }

    #[test]
    fn at_most_max_actions_per_window() {
        let (g, mut guard) = (spec(), Guard::default());
        guard.record(&g, "show/eu", Act::Failover, "b", t(0));
        guard.record(&g, "show/eu", Act::Restart, "encoder-a", t(100));
        let e = guard.check(&g, "show/eu", Act::Failover, "a", t(200));
        assert!(e.is_err_and(|e| e.starts_with("limit: 2 actions")));
        // The first slides out of the window after `per`.
        assert!(
            guard
                .check(&g, "show/eu", Act::Failover, "a", t(601))
                .is_ok()
        );
        guard.forget("show/eu");
        assert!(
            guard
                .check(&g, "show/eu", Act::Failover, "b", t(200))
                .is_ok()
        );
    }
}
