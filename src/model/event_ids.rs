//! Checking the event ids a command is given against the ones that exist.

use std::collections::BTreeSet;

use super::{Config, RecordedResource};

/// The ids `--event` may name: the loaded schedules' events (when they load) and whatever the
/// state holds resources of, so that an event removed from its schedule can still be torn down.
pub fn known_ids(config: Option<&Config>, recorded: &[RecordedResource]) -> BTreeSet<String> {
    config
        .into_iter()
        .flat_map(|c| c.events.iter().map(|e| e.id.clone()))
        .chain(recorded.iter().map(|r| r.spec.event.clone()))
        .collect()
}

/// Ids given with `--event` that name nothing: no loaded schedule has them and the state holds
/// nothing of theirs. A typo here must not read as "nothing to do" (exit 2, not 0).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(.unknown))]
pub struct UnknownEvents {
    /// Each unknown id, with the nearest known one when it is a plausible typo.
    pub unknown: Vec<(String, Option<String>)>,
}

fn describe(unknown: &[(String, Option<String>)]) -> String {
    let parts: Vec<String> = unknown
        .iter()
        .map(|(id, near)| match near {
            Some(n) => format!("`{id}` (did you mean `{n}`?)"),
            None => format!("`{id}`"),
        })
        .collect();
    format!(
        "no event {} in the schedules or the state",
        parts.join(", ")
    )
}

/// Refuses any of `ids` that is not in `known`, suggesting the nearest known id.
pub fn check_event_ids(ids: &[String], known: &BTreeSet<String>) -> Result<(), UnknownEvents> {
    let unknown: Vec<(String, Option<String>)> = ids
        .iter()
        .filter(|id| !known.contains(id.as_str()))
        .map(|id| {
            let near = crate::suggest::nearest(id, known.iter().map(String::as_str));
            (id.clone(), near.map(String::from))
        })
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(UnknownEvents { unknown })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> BTreeSet<String> {
        ["cup-final", "derby-night"].map(String::from).into()
    }

    #[test]
    fn known_ids_pass() {
        assert_eq!(check_event_ids(&["cup-final".into()], &known()), Ok(()));
        assert_eq!(check_event_ids(&[], &known()), Ok(()));
    }

    #[test]
    fn a_typo_is_refused_with_the_nearest_id() {
        let e = check_event_ids(&["cup-fnal".into(), "derby-night".into()], &known()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no event `cup-fnal` (did you mean `cup-final`?) in the schedules or the state"
        );
    }

    #[test]
    fn an_id_like_none_is_refused_without_a_guess() {
        let e = check_event_ids(&["opening-ceremony".into()], &known()).unwrap_err();
        assert_eq!(e.unknown, vec![("opening-ceremony".to_string(), None)]);
    }
}
