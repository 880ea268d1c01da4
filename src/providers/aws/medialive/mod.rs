//! The encoder on Elemental MediaLive: an input the contribution feed reaches, and a channel
//! that encodes the profile's ladder into the event's MediaPackage channel. The channel is
//! started as soon as it exists (at lead time) and stopped before it is deleted, as MediaLive
//! requires; its input goes after it.

pub mod channel;
mod input;
pub mod pipelines;
pub mod schedule;

pub use input::{
    InputDef, create_input, delete_input, delete_input_firewall, find_input, input_firewalls,
    inputs, update_input,
};

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_medialive::Client;
use aws_sdk_medialive::types::ChannelClass;
use serde_json::{Value, json};

use super::errors::{classify, is_not_found};
use super::health::Cache;
use super::once;
use crate::providers::aws::Made;
use crate::providers::{EncoderHealth, ProviderError};
use channel::ChannelDoc;

/// What the encoder template asks for: the channel document, the names of the inputs and
/// origin it is wired to, and the input switches to schedule.
#[derive(Debug, serde::Deserialize)]
pub struct EncoderDef {
    pub input: String,
    #[serde(default)]
    pub slate: Option<String>,
    /// The backup contribution's input, which the channel fails over to.
    #[serde(default)]
    pub backup: Option<String>,
    pub origin: String,
    /// The shared unit whose MediaPackage v2 channel group holds the origin, when the
    /// event's group shares its CDN.
    #[serde(default)]
    pub channel_group_of: Option<String>,
    #[serde(default)]
    pub schedule: Vec<schedule::SwitchDoc>,
    pub channel: Value,
}

pub(super) fn tags_of(
    m: Option<&std::collections::HashMap<String, String>>,
) -> BTreeMap<String, String> {
    m.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

const GONE: &[&str] = &["DELETING", "DELETED"];

/// A channel or input as listed: (id, name, state, tags).
pub type Listed = (String, String, String, BTreeMap<String, String>);

/// One listed object, unless it is being deleted (MediaLive lists those for a while).
pub(super) fn listed(
    id: Option<&str>,
    name: Option<&str>,
    state: Option<&str>,
    tags: Option<&std::collections::HashMap<String, String>>,
) -> Option<Listed> {
    let state = state.unwrap_or_default();
    if GONE.contains(&state) {
        return None;
    }
    Some((
        id?.to_string(),
        name.unwrap_or_default().to_string(),
        state.to_string(),
        tags_of(tags),
    ))
}

/// Every channel of the region, as MediaLive lists them (those being deleted included).
async fn all_channels(
    client: &Client,
) -> Result<Vec<aws_sdk_medialive::types::ChannelSummary>, ProviderError> {
    client
        .list_channels()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("MediaLive ListChannels", e))
}

/// Every channel of the region that is not being deleted.
pub async fn channels(client: &Client) -> Result<Vec<Listed>, ProviderError> {
    Ok(all_channels(client)
        .await?
        .iter()
        .filter_map(|c| listed(c.id(), c.name(), c.state().map(|s| s.as_str()), c.tags()))
        .collect())
}

/// The channel's state, or `None` once it is deleted. A channel being deleted still holds
/// its input, so `DELETING` is a state to wait through, not gone.
async fn state(client: &Client, id: &str) -> Result<Option<String>, ProviderError> {
    // Listed first: a describe of an id that does not exist is not a clean 404 everywhere.
    if !all_channels(client)
        .await?
        .iter()
        .any(|c| c.id() == Some(id))
    {
        return Ok(None);
    }
    match client.describe_channel().channel_id(id).send().await {
        Ok(d) => Ok(d
            .state()
            .map(|s| s.as_str().to_string())
            .filter(|s| s != "DELETED")),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(classify(&format!("MediaLive DescribeChannel {id}"), e)),
    }
}

/// Polls until the channel is in one of `want` (or gone, when `None` is wanted); fails at a
/// state that cannot lead there. The executor's step timeout bounds the wait.
async fn wait(
    client: &Client,
    id: &str,
    want: &[&str],
    gone_ok: bool,
) -> Result<Option<String>, ProviderError> {
    let mut pause = Duration::from_millis(200);
    loop {
        let s = state(client, id).await?;
        match s.as_deref() {
            None if gone_ok => return Ok(None),
            None => {
                return Err(ProviderError::Permanent(format!(
                    "MediaLive channel {id} disappeared"
                )));
            }
            Some(st) if want.contains(&st) => return Ok(s),
            Some(st @ ("CREATE_FAILED" | "UPDATE_FAILED")) => {
                return Err(ProviderError::Permanent(format!(
                    "MediaLive channel {id} is {st}"
                )));
            }
            Some(_) => {}
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// A channel to make: its name, document and schedule, the MediaLive names of its inputs (by
/// attachment name) and the MediaPackage channel it feeds.
pub struct NewChannel<'a> {
    pub name: &'a str,
    pub doc: &'a ChannelDoc,
    pub inputs: BTreeMap<String, String>,
    pub mediapackage: channel::Package<'a>,
    pub schedule: &'a [schedule::SwitchDoc],
    pub tags: &'a BTreeMap<String, String>,
    pub token: &'a str,
}

/// Makes (or finds) the channel, starts it and completes its schedule; answers once it runs.
pub async fn create_channel(client: &Client, c: NewChannel<'_>) -> Result<Made, ProviderError> {
    let NewChannel {
        name,
        doc,
        inputs,
        mediapackage,
        schedule: switches,
        tags,
        token,
    } = c;
    let owner = tags
        .get(crate::model::TAG_OWNER)
        .cloned()
        .unwrap_or_default();
    let found = channels(client)
        .await?
        .into_iter()
        .find(|(_, n, _, t)| n == name && t.get(crate::model::TAG_OWNER) == Some(&owner));
    let id = match found {
        Some((id, ..)) => id,
        None => {
            let input_ids = input_ids(client, &inputs, &owner).await?;
            let mut req = client
                .create_channel()
                .name(name)
                .request_id(token)
                .channel_class(
                    doc.channel_class
                        .as_deref()
                        .map_or(ChannelClass::SinglePipeline, ChannelClass::from),
                )
                .set_role_arn(doc.role_arn.clone())
                .set_input_attachments(Some(doc.input_attachments(&input_ids)))
                .set_destinations(Some(doc.destinations(mediapackage)))
                .encoder_settings(doc.encoder_settings());
            if let Some(spec) = doc.input_specification() {
                req = req.input_specification(spec);
            }
            for (k, v) in tags {
                req = req.tags(k, v);
            }
            let made = req
                .customize()
                .config_override(once!(aws_sdk_medialive))
                .send()
                .await
                .map_err(|e| classify(&format!("MediaLive CreateChannel {name}"), e))?;
            made.channel()
                .and_then(|c| c.id())
                .map(String::from)
                .ok_or_else(|| {
                    ProviderError::Transient(format!(
                        "MediaLive CreateChannel {name}: no id in the answer"
                    ))
                })?
        }
    };
    run(client, &id, switches).await?;
    Ok(made(id, name, doc))
}

/// The ids of the channel's inputs, by attachment name.
async fn input_ids(
    client: &Client,
    inputs: &BTreeMap<String, String>,
    owner: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let mut ids = BTreeMap::new();
    for (attachment, input_name) in inputs {
        let id = find_input(client, input_name, owner)
            .await?
            .ok_or_else(|| {
                ProviderError::Transient(format!(
                    "its MediaLive input {input_name} does not exist yet"
                ))
            })?;
        ids.insert(attachment.clone(), id);
    }
    Ok(ids)
}

async fn stop(client: &Client, id: &str) -> Result<(), ProviderError> {
    client
        .stop_channel()
        .channel_id(id)
        .send()
        .await
        .map_err(|e| classify(&format!("MediaLive StopChannel {id}"), e))?;
    Ok(())
}

/// Starts the channel unless it runs, waits until it does, and completes its schedule.
async fn run(
    client: &Client,
    id: &str,
    switches: &[schedule::SwitchDoc],
) -> Result<(), ProviderError> {
    let now = wait(client, id, &["IDLE", "RUNNING", "STARTING"], false).await?;
    if now.as_deref() == Some("IDLE") {
        client
            .start_channel()
            .channel_id(id)
            .send()
            .await
            .map_err(|e| classify(&format!("MediaLive StartChannel {id}"), e))?;
    }
    wait(client, id, &["RUNNING"], false).await?;
    // Immediate switches need a running channel.
    schedule::ensure(client, id, switches).await
}

/// The channel's outputs: its id and name, and a STANDARD channel's pipelines.
fn made(id: String, name: &str, doc: &ChannelDoc) -> Made {
    let mut outputs = json!({ "channel_id": id, "name": name });
    if doc.channel_class.as_deref() == Some("STANDARD") {
        outputs["pipelines"] = json!(PIPELINES.map(|(p, _)| p));
    }
    Made { outputs, id }
}

/// Changes the channel `id` in place to `c`. MediaLive takes UpdateChannel only while a
/// channel is idle: a running one is stopped, updated and started again (its output pauses
/// meanwhile), and never while its show is on air (`on_air`).
pub async fn update_channel(
    client: &Client,
    id: &str,
    c: NewChannel<'_>,
    on_air: Option<crate::model::Window>,
) -> Result<Made, ProviderError> {
    let wanted = ["IDLE", "RUNNING", "UPDATE_FAILED"];
    let now = wait(client, id, &wanted, false).await?;
    if now.as_deref() == Some("RUNNING") {
        let t = jiff::Timestamp::now();
        if let Some(w) = on_air.filter(|w| w.from <= t && t < w.to) {
            return Err(ProviderError::Permanent(format!(
                "MediaLive changes a channel only while it is stopped, and {} is on air until {}: change it after the show, or `down` the event and `up` it again",
                c.name, w.to
            )));
        }
        stop(client, id).await?;
        wait(client, id, &["IDLE"], false).await?;
    }
    let owner = c
        .tags
        .get(crate::model::TAG_OWNER)
        .cloned()
        .unwrap_or_default();
    let ids = input_ids(client, &c.inputs, &owner).await?;
    let doc = c.doc;
    client
        .update_channel()
        .channel_id(id)
        .name(c.name)
        .set_role_arn(doc.role_arn.clone())
        .set_input_attachments(Some(doc.input_attachments(&ids)))
        .set_destinations(Some(doc.destinations(c.mediapackage)))
        .encoder_settings(doc.encoder_settings())
        .set_input_specification(doc.input_specification())
        .send()
        .await
        .map_err(|e| classify(&format!("MediaLive UpdateChannel {id}"), e))?;
    wait(client, id, &["IDLE"], false).await?;
    run(client, id, c.schedule).await?;
    Ok(made(id.to_string(), c.name, doc))
}

/// A STANDARD channel's pipelines, as the profile's letters and as MediaLive names them.
pub const PIPELINES: [(&str, &str); 2] = [("a", "PIPELINE_0"), ("b", "PIPELINE_1")];

/// MediaLive's id of the pipeline the profile calls `letter`; a single-pipeline channel's
/// one pipeline is PIPELINE_0.
pub fn pipeline_id(letter: Option<&str>) -> Result<&'static str, ProviderError> {
    let Some(letter) = letter else {
        return Ok(PIPELINES[0].1);
    };
    PIPELINES
        .iter()
        .find(|(p, _)| *p == letter)
        .map(|(_, id)| *id)
        .ok_or_else(|| {
            ProviderError::Permanent(format!(
                "a MediaLive channel has pipelines a and b, not `{letter}`"
            ))
        })
}

/// Stops the channel if it runs, then deletes it and waits until it is gone.
pub async fn delete_channel(client: &Client, id: &str) -> Result<(), ProviderError> {
    // A failed channel can only be deleted; a starting one is let run, then stopped.
    let wanted = ["IDLE", "RUNNING", "CREATE_FAILED", "UPDATE_FAILED"];
    let Some(now) = wait(client, id, &wanted, true).await? else {
        return Ok(());
    };
    if now == "RUNNING" {
        stop(client, id).await?;
        if wait(client, id, &["IDLE"], true).await?.is_none() {
            return Ok(());
        }
    }
    match client.delete_channel().channel_id(id).send().await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(classify(&format!("MediaLive DeleteChannel {id}"), e)),
    }
    wait(client, id, &[], true).await.map(|_| ())
}

/// The channel's own view for the monitor's first tier: running or not, and how many alerts
/// MediaLive holds set on it (a lost input leaves the channel running, its output slate).
/// Each channel's state in the region, by id, in one ListChannels.
pub async fn states(client: &Client) -> Result<HashMap<String, String>, ProviderError> {
    Ok(all_channels(client)
        .await?
        .iter()
        .filter_map(|c| Some((c.id()?.to_string(), c.state()?.as_str().to_string())))
        .collect())
}

/// The caches T1 reads a channel through (see [`super::health`]).
pub struct HealthCaches {
    pub states: Cache<HashMap<String, String>>,
    /// Per channel: the pipeline of each alert held set (`None` where MediaLive's alerts
    /// cannot be read).
    pub alerts: Cache<Option<Vec<Option<String>>>>,
    /// Per STANDARD channel: the pipelines held paused.
    pub paused: Cache<Vec<String>>,
}

/// T1 of the channel `id`, or of one of its pipelines, from the region's states, its alerts
/// and (for a pipeline) its pause state, each kept a while (`health`).
pub async fn health(
    client: &Client,
    region: &str,
    id: &str,
    pipeline: Option<&str>,
    caches: &HealthCaches,
) -> Option<EncoderHealth> {
    let all = caches.states.get(region, || states(client)).await?;
    // A channel no longer listed is gone: down.
    let up = all.get(id).is_some_and(|s| s == "RUNNING");
    let alerts = caches
        .alerts
        .get(id, || async { Ok::<_, ()>(set_alerts(client, id).await) })
        .await
        .flatten()
        .map(|set| {
            let n = set
                .iter()
                .filter(|a| pipeline.is_none_or(|p| pipelines::alert_is_on(a.as_deref(), p)))
                .count();
            u32::try_from(n).unwrap_or(u32::MAX)
        });
    let paused = match pipeline {
        Some(p) => caches
            .paused
            .get(id, || pipelines::paused(client, id))
            .await
            .map(|paused| paused.iter().any(|x| x == p)),
        None => None,
    };
    Some(EncoderHealth {
        up,
        alerts,
        paused,
        ..EncoderHealth::default()
    })
}

/// The pipeline of each of the channel's alerts in state `SET`; `None` where MediaLive's
/// alerts cannot be read.
async fn set_alerts(client: &Client, id: &str) -> Option<Vec<Option<String>>> {
    let alerts: Vec<_> = client
        .list_alerts()
        .channel_id(id)
        .state_filter("SET")
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ok()?;
    // The filter is the service's; read again so that a cleared alert never counts.
    Some(
        alerts
            .iter()
            .filter(|a| a.state().is_some_and(|s| s.as_str() == "SET"))
            .map(|a| a.pipeline_id().map(String::from))
            .collect(),
    )
}
