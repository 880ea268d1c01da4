//! The origin on MediaPackage (v1): a channel the encoder pushes to, with one origin endpoint
//! per packaging the profile asks for (`hls`, `dash`). Looked up by id before it is made, so a
//! retried create adopts what an earlier attempt left.

use std::collections::BTreeMap;

use aws_sdk_mediapackage::Client;
use aws_sdk_mediapackage::types::{DashPackage, HlsPackage};
use serde_json::{Value, json};

use super::errors::{classify, is_not_found};
use super::once;
use crate::providers::ProviderError;

/// What the template asks of the origin.
#[derive(Debug, serde::Deserialize)]
pub struct OriginDef {
    pub packaging: Vec<String>,
    pub segment_duration_s: f64,
    /// How far back a viewer may seek, in seconds (the profile's `dvr_window`).
    #[serde(default = "default_window")]
    pub window_s: f64,
    /// How long the endpoints keep what they served, for the VOD's harvest after the show.
    #[serde(default)]
    pub startover_s: Option<f64>,
    /// The shared unit whose MediaPackage v2 channel group the origin is a channel of, when
    /// the event's group shares its CDN; a v1 channel of its own otherwise.
    #[serde(default)]
    pub channel_group_of: Option<String>,
    /// The live stream's encryption, when the profile asks for one.
    #[serde(default)]
    pub encryption: Option<super::speke::EncryptionDef>,
}

/// MediaPackage keeps at most 14 days for startover.
const STARTOVER_MAX_S: f64 = 1_209_600.0;

fn default_window() -> f64 {
    60.0
}

pub fn endpoint_id(channel: &str, packaging: &str) -> String {
    format!("{channel}-{packaging}")
}

/// Makes (or finds) the channel `id` and its endpoints; answers the resource's outputs.
pub async fn create(
    client: &Client,
    id: &str,
    def: &OriginDef,
    tags: &BTreeMap<String, String>,
) -> Result<Value, ProviderError> {
    match client.describe_channel().id(id).send().await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => {
            let mut req = client
                .create_channel()
                .id(id)
                .description("orchestrate origin");
            for (k, v) in tags {
                req = req.tags(k, v);
            }
            req.customize()
                .config_override(once!(aws_sdk_mediapackage))
                .send()
                .await
                .map_err(|e| classify(&format!("MediaPackage CreateChannel {id}"), e))?;
        }
        Err(e) => return Err(classify(&format!("MediaPackage DescribeChannel {id}"), e)),
    }
    let mut urls = serde_json::Map::new();
    for packaging in &def.packaging {
        let ep = endpoint_id(id, packaging);
        let url = match client.describe_origin_endpoint().id(&ep).send().await {
            Ok(found) => found.url().unwrap_or_default().to_string(),
            Err(e) if is_not_found(&e) => {
                let mut req = client.create_origin_endpoint().channel_id(id).id(&ep);
                if let Some(s) = def.startover_s {
                    req = req.startover_window_seconds(s.clamp(0.0, STARTOVER_MAX_S) as i32);
                }
                let (hls, dash) = packages(def, &ep, packaging)?;
                req = req.set_hls_package(hls).set_dash_package(dash);
                for (k, v) in tags {
                    req = req.tags(k, v);
                }
                let made = req
                    .customize()
                    .config_override(once!(aws_sdk_mediapackage))
                    .send()
                    .await
                    .map_err(|e| classify(&format!("MediaPackage CreateOriginEndpoint {ep}"), e))?;
                made.url().unwrap_or_default().to_string()
            }
            Err(e) => {
                return Err(classify(
                    &format!("MediaPackage DescribeOriginEndpoint {ep}"),
                    e,
                ));
            }
        };
        urls.insert(packaging.clone(), Value::String(url));
    }
    // The ingest credentials MediaPackage hands out are left out of the outputs: MediaLive
    // reaches the channel by its id.
    let hls = urls.get("hls").cloned().unwrap_or(Value::Null);
    Ok(json!({
        "channel_id": id,
        "endpoints": urls,
        (crate::model::HLS_MANIFEST): hls,
    }))
}

/// The endpoint `ep`'s package for `packaging`, as the profile asks: its segments, window and
/// encryption.
fn packages(
    def: &OriginDef,
    ep: &str,
    packaging: &str,
) -> Result<(Option<HlsPackage>, Option<DashPackage>), ProviderError> {
    let seg = def.segment_duration_s.round().max(1.0) as i32;
    let window = def.window_s.round().max(f64::from(seg) * 3.0) as i32;
    let crypt = def.encryption.as_ref();
    Ok(match packaging {
        "hls" => (
            Some(
                HlsPackage::builder()
                    .segment_duration_seconds(seg)
                    .playlist_window_seconds(window)
                    .program_date_time_interval_seconds(seg)
                    .set_encryption(crypt.map(|c| c.hls(ep)).transpose()?)
                    .build(),
            ),
            None,
        ),
        "dash" => (
            None,
            Some(
                DashPackage::builder()
                    .segment_duration_seconds(seg)
                    .manifest_window_seconds(window)
                    .set_encryption(crypt.map(|c| c.dash(ep)).transpose()?)
                    .build(),
            ),
        ),
        other => {
            return Err(ProviderError::Permanent(format!(
                "origin.packaging: MediaPackage has no `{other}` endpoint here (hls, dash)"
            )));
        }
    })
}

/// Changes each endpoint of the channel `id` in place to what `def` asks (segments, window,
/// startover, encryption); which endpoints exist changes only by a new origin.
pub async fn update(client: &Client, id: &str, def: &OriginDef) -> Result<(), ProviderError> {
    for packaging in &def.packaging {
        let ep = endpoint_id(id, packaging);
        let (hls, dash) = packages(def, &ep, packaging)?;
        client
            .update_origin_endpoint()
            .id(&ep)
            .set_hls_package(hls)
            .set_dash_package(dash)
            .set_startover_window_seconds(
                def.startover_s
                    .map(|s| s.clamp(0.0, STARTOVER_MAX_S) as i32),
            )
            .send()
            .await
            .map_err(|e| classify(&format!("MediaPackage UpdateOriginEndpoint {ep}"), e))?;
    }
    Ok(())
}

/// Deletes the endpoints, then the channel; what is already gone counts as deleted.
pub async fn delete(client: &Client, id: &str) -> Result<(), ProviderError> {
    let listed = client.list_origin_endpoints().channel_id(id).send().await;
    let endpoints = match listed {
        Ok(l) => l
            .origin_endpoints()
            .iter()
            .filter(|e| e.channel_id() == Some(id))
            .filter_map(|e| e.id().map(String::from))
            .collect::<Vec<_>>(),
        Err(e) if is_not_found(&e) => Vec::new(),
        Err(e) => {
            return Err(classify(
                &format!("MediaPackage ListOriginEndpoints {id}"),
                e,
            ));
        }
    };
    for ep in endpoints {
        match client.delete_origin_endpoint().id(&ep).send().await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => {
                return Err(classify(
                    &format!("MediaPackage DeleteOriginEndpoint {ep}"),
                    e,
                ));
            }
        }
    }
    match client.delete_channel().id(id).send().await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(classify(&format!("MediaPackage DeleteChannel {id}"), e)),
    }
}

/// Every channel in the region with its tags.
pub async fn list(
    client: &Client,
) -> Result<Vec<(String, BTreeMap<String, String>)>, ProviderError> {
    let all = client
        .list_channels()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("MediaPackage ListChannels", e))?;
    Ok(all
        .iter()
        .filter_map(|c| {
            let tags = c
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            Some((c.id()?.to_string(), tags))
        })
        .collect())
}
