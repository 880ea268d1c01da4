//! The channel's schedule on MediaLive: input switches at the show's start (slate to feed) and
//! end (feed to slate), added with BatchUpdateSchedule once the channel runs. An action already
//! in the schedule (by name) is left alone, so a retried create adds nothing twice; a time
//! already past switches at once, and only the last of those counts.

use aws_sdk_medialive::Client;
use aws_sdk_medialive::types as ml;
use jiff::{SignedDuration, Timestamp};

use super::super::errors::classify;
use super::super::once;
use crate::providers::ProviderError;

/// One switch, as the encoder template renders it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchDoc {
    pub name: String,
    /// RFC 3339.
    pub at: String,
    /// The input attachment switched to.
    pub switch_to: String,
}

/// MediaLive wants a fixed-time action at least this far ahead; nearer, it goes at once.
const LEAD: SignedDuration = SignedDuration::from_secs(15);

/// The actions to add: those not in `existing`, at their time, or at once (`None`) for a
/// time already (nearly) past, of which only the latest is kept, since each undoes the one
/// before.
fn to_add(
    switches: &[SwitchDoc],
    existing: &[String],
    now: Timestamp,
) -> Result<Vec<(String, Option<String>, String)>, ProviderError> {
    let mut timed = Vec::with_capacity(switches.len());
    for s in switches {
        let at: Timestamp = s.at.parse().map_err(|e| {
            ProviderError::Permanent(format!(
                "templates/aws/encoder.tera rendered schedule `{}` at `{}`: {e}",
                s.name, s.at
            ))
        })?;
        timed.push((at, s));
    }
    timed.sort_by_key(|(at, _)| *at);
    let past = timed.iter().filter(|(at, _)| *at <= now + LEAD).count();
    Ok(timed
        .into_iter()
        .enumerate()
        .filter(|(i, (_, s))| (past == 0 || *i + 1 >= past) && !existing.contains(&s.name))
        .map(|(_, (at, s))| {
            let when = (at > now + LEAD).then(|| at.to_string());
            (s.name.clone(), when, s.switch_to.clone())
        })
        .collect())
}

/// Every action in the channel's schedule.
pub async fn actions(
    client: &Client,
    channel: &str,
) -> Result<Vec<ml::ScheduleAction>, ProviderError> {
    client
        .describe_schedule()
        .channel_id(channel)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify(&format!("MediaLive DescribeSchedule {channel}"), e))
}

/// Adds to the channel's schedule what `switches` ask for and it lacks.
pub async fn ensure(
    client: &Client,
    channel: &str,
    switches: &[SwitchDoc],
) -> Result<(), ProviderError> {
    if switches.is_empty() {
        return Ok(());
    }
    let existing = actions(client, channel).await?;
    let names: Vec<String> = existing
        .iter()
        .filter_map(|a| a.action_name().map(String::from))
        .collect();
    let add = to_add(switches, &names, Timestamp::now())?;
    if add.is_empty() {
        return Ok(());
    }
    let actions = add
        .into_iter()
        .map(|(name, at, to)| {
            let start = match at {
                Some(time) => ml::ScheduleActionStartSettings::builder()
                    .fixed_mode_schedule_action_start_settings(
                        ml::FixedModeScheduleActionStartSettings::builder()
                            .time(time)
                            .build(),
                    ),
                None => ml::ScheduleActionStartSettings::builder()
                    .immediate_mode_schedule_action_start_settings(
                        ml::ImmediateModeScheduleActionStartSettings::builder().build(),
                    ),
            };
            ml::ScheduleAction::builder()
                .action_name(name)
                .schedule_action_start_settings(start.build())
                .schedule_action_settings(
                    ml::ScheduleActionSettings::builder()
                        .input_switch_settings(
                            ml::InputSwitchScheduleActionSettings::builder()
                                .input_attachment_name_reference(to)
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
        .collect();
    client
        .batch_update_schedule()
        .channel_id(channel)
        .creates(
            ml::BatchScheduleActionCreateRequest::builder()
                .set_schedule_actions(Some(actions))
                .build(),
        )
        // Not retried by the SDK: a lost answer after MediaLive acted would make a retry
        // refuse the names as taken. The step's retry reads the schedule first instead.
        .customize()
        .config_override(once!(aws_sdk_medialive))
        .send()
        .await
        .map_err(|e| classify(&format!("MediaLive BatchUpdateSchedule {channel}"), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switches() -> Vec<SwitchDoc> {
        [
            ("show-start", "2026-12-05T19:45:00Z", "input"),
            ("show-end", "2026-12-05T22:00:00Z", "slate"),
        ]
        .map(|(n, at, to)| SwitchDoc {
            name: n.into(),
            at: at.into(),
            switch_to: to.into(),
        })
        .to_vec()
    }

    fn at(t: &str) -> Timestamp {
        t.parse().unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn names(v: &[(String, Option<String>, String)]) -> Vec<(&str, bool)> {
        v.iter()
            .map(|(n, t, _)| (n.as_str(), t.is_some()))
            .collect()
    }

    #[test]
    fn switches_ahead_are_timed_and_past_ones_go_at_once_the_last_only() {
        let s = switches();
        // Before the show: both at their times.
        let before = to_add(&s, &[], at("2026-12-05T19:35:00Z")).unwrap_or_default();
        assert_eq!(names(&before), [("show-start", true), ("show-end", true)]);
        assert_eq!(before[0].1.as_deref(), Some("2026-12-05T19:45:00Z"));
        // During it (a channel made late): the feed at once, the slate at the end.
        let during = to_add(&s, &[], at("2026-12-05T20:00:00Z")).unwrap_or_default();
        assert_eq!(names(&during), [("show-start", false), ("show-end", true)]);
        // Within MediaLive's 15 s of the start: at once too.
        let close = to_add(&s, &[], at("2026-12-05T19:44:50Z")).unwrap_or_default();
        assert_eq!(names(&close), [("show-start", false), ("show-end", true)]);
        // After it: only back to the slate.
        let after = to_add(&s, &[], at("2026-12-05T22:30:00Z")).unwrap_or_default();
        assert_eq!(names(&after), [("show-end", false)]);
        // What the schedule has is not added again.
        let again =
            to_add(&s, &["show-start".into()], at("2026-12-05T19:35:00Z")).unwrap_or_default();
        assert_eq!(names(&again), [("show-end", true)]);
    }

    #[test]
    fn a_time_that_does_not_parse_names_the_action() {
        let mut s = switches();
        s[0].at = "at seven".into();
        match to_add(&s, &[], at("2026-12-05T19:35:00Z")) {
            Err(ProviderError::Permanent(m)) => assert!(m.contains("show-start"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
