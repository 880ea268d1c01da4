//! A STANDARD channel's two pipelines, as monitoring's actions handle them. MediaLive sends
//! pipeline 0 to the MediaPackage channel's first ingest endpoint and pipeline 1 to its
//! second, and MediaPackage serves from whichever delivers. A failover pauses the pipeline
//! left (a pause action on the channel's schedule: MediaLive pauses the pipelines it lists and
//! unpauses every other), so that MediaPackage serves the one asked for; a restart restarts
//! one pipeline (RestartChannelPipelines) while the other runs on.

use aws_sdk_medialive::Client;
use aws_sdk_medialive::types as ml;

use super::super::errors::classify;
use super::{PIPELINES, pipeline_id};
use crate::providers::ProviderError;

/// Pause actions this provider adds are named so, then by time: the latest sorts last.
const PAUSE: &str = "orchestrate-pause-";

/// Pauses every pipeline of the channel but `serve`, at once.
pub async fn serve(client: &Client, channel: &str, serve: &str) -> Result<(), ProviderError> {
    pipeline_id(Some(serve))?;
    let paused: Vec<ml::PipelinePauseStateSettings> = PIPELINES
        .iter()
        .filter(|(p, _)| *p != serve)
        .map(|(_, id)| {
            ml::PipelinePauseStateSettings::builder()
                .pipeline_id(ml::PipelineId::from(*id))
                .build()
        })
        .collect();
    // Milliseconds since the epoch, padded: names sort in the order they were made.
    let name = format!(
        "{PAUSE}{:015}-serve-{serve}",
        jiff::Timestamp::now().as_millisecond()
    );
    let action = ml::ScheduleAction::builder()
        .action_name(name)
        .schedule_action_start_settings(
            ml::ScheduleActionStartSettings::builder()
                .immediate_mode_schedule_action_start_settings(
                    ml::ImmediateModeScheduleActionStartSettings::builder().build(),
                )
                .build(),
        )
        .schedule_action_settings(
            ml::ScheduleActionSettings::builder()
                .pause_state_settings(
                    ml::PauseStateScheduleActionSettings::builder()
                        .set_pipelines(Some(paused))
                        .build(),
                )
                .build(),
        )
        .build();
    client
        .batch_update_schedule()
        .channel_id(channel)
        .creates(
            ml::BatchScheduleActionCreateRequest::builder()
                .schedule_actions(action)
                .build(),
        )
        .send()
        .await
        .map_err(|e| classify(&format!("MediaLive BatchUpdateSchedule {channel}"), e))?;
    Ok(())
}

/// The pipelines (by letter) the channel's latest pause action holds paused; none when no
/// pause was ever scheduled.
pub async fn paused(client: &Client, channel: &str) -> Result<Vec<String>, ProviderError> {
    let actions = super::schedule::actions(client, channel).await?;
    Ok(latest_pause(&actions))
}

fn latest_pause(actions: &[ml::ScheduleAction]) -> Vec<String> {
    let pauses = actions.iter().filter_map(|a| {
        let settings = a.schedule_action_settings()?.pause_state_settings()?;
        Some((a.action_name().unwrap_or_default(), settings))
    });
    // Ours by name; without any of ours, the schedule's own order.
    let latest = pauses
        .clone()
        .filter(|(n, _)| n.starts_with(PAUSE))
        .max_by_key(|(n, _)| *n)
        .or_else(|| pauses.clone().next_back());
    let Some((_, settings)) = latest else {
        return Vec::new();
    };
    settings
        .pipelines()
        .iter()
        .filter_map(|p| {
            let id = p.pipeline_id()?.as_str();
            PIPELINES
                .iter()
                .find(|(_, x)| *x == id)
                .map(|(l, _)| (*l).to_string())
        })
        .collect()
}

/// Restarts one pipeline of the channel (the only one of a single-pipeline channel).
pub async fn restart(
    client: &Client,
    channel: &str,
    pipeline: Option<&str>,
) -> Result<(), ProviderError> {
    let id = pipeline_id(pipeline)?;
    client
        .restart_channel_pipelines()
        .channel_id(channel)
        .pipeline_ids(ml::ChannelPipelineIdToRestart::from(id))
        .send()
        .await
        .map_err(|e| classify(&format!("MediaLive RestartChannelPipelines {channel}"), e))?;
    Ok(())
}

/// Whether a channel alert (`pipelineId` "0" or "PIPELINE_0") is about `pipeline`.
pub fn alert_is_on(alert_pipeline: Option<&str>, pipeline: &str) -> bool {
    let Ok(id) = pipeline_id(Some(pipeline)) else {
        return false;
    };
    alert_pipeline.is_some_and(|a| a == id || Some(a) == id.strip_prefix("PIPELINE_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pause(name: &str, ids: &[&str]) -> ml::ScheduleAction {
        ml::ScheduleAction::builder()
            .action_name(name)
            .schedule_action_start_settings(ml::ScheduleActionStartSettings::builder().build())
            .schedule_action_settings(
                ml::ScheduleActionSettings::builder()
                    .pause_state_settings(
                        ml::PauseStateScheduleActionSettings::builder()
                            .set_pipelines(Some(
                                ids.iter()
                                    .map(|i| {
                                        ml::PipelinePauseStateSettings::builder()
                                            .pipeline_id(ml::PipelineId::from(*i))
                                            .build()
                                    })
                                    .collect(),
                            ))
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    #[test]
    fn the_latest_of_our_pauses_is_the_pause_state() {
        assert!(latest_pause(&[]).is_empty());
        let a = pause("orchestrate-pause-000000000000200-serve-a", &["PIPELINE_1"]);
        let b = pause("orchestrate-pause-000000000000100-serve-b", &["PIPELINE_0"]);
        assert_eq!(latest_pause(&[a.clone(), b.clone()]), ["b"]);
        // An empty list unpauses both.
        let both = pause("orchestrate-pause-000000000000300-serve-a", &[]);
        assert!(latest_pause(&[a, b, both]).is_empty());
        // Someone else's pause, where we made none.
        assert_eq!(latest_pause(&[pause("manual", &["PIPELINE_0"])]), ["a"]);
    }

    #[test]
    fn alerts_name_their_pipeline_by_number() {
        assert!(alert_is_on(Some("0"), "a"));
        assert!(alert_is_on(Some("PIPELINE_1"), "b"));
        assert!(!alert_is_on(Some("1"), "a"));
        assert!(!alert_is_on(None, "a"));
        assert!(!alert_is_on(Some("0"), "z"));
    }
}
