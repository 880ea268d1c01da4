//! The origins of an event group that shares its CDN, on MediaPackage v2: the group has a
//! channel group in each region (made with the group's CloudFront distribution, which fronts
//! the channel group's one egress domain), and each event's origin is a channel in it with an
//! origin endpoint per packaging. Everything is named from its owner and resource id, tagged,
//! and looked up before it is made.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_mediapackagev2::Client;
use aws_sdk_mediapackagev2::types::{
    ContainerType, CreateDashManifestConfiguration, CreateHlsManifestConfiguration, Segment,
};
use serde_json::{Value, json};

use super::errors::{classify, is_not_found};
use super::mediapackage::OriginDef;
use super::once;
use crate::providers::ProviderError;

/// Each endpoint's one manifest.
pub const MANIFEST: &str = "index";

/// MediaPackage v2 keeps at least a minute and at most 14 days for startover.
const STARTOVER_S: (f64, f64) = (60.0, 1_209_600.0);

fn tag_map(tags: &BTreeMap<String, String>) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The egress domain of the channel group `name`, if it exists.
async fn group_egress(client: &Client, name: &str) -> Result<Option<String>, ProviderError> {
    match client
        .get_channel_group()
        .channel_group_name(name)
        .send()
        .await
    {
        Ok(g) => Ok(Some(g.egress_domain().to_string())),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(classify(
            &format!("MediaPackage v2 GetChannelGroup {name}"),
            e,
        )),
    }
}

/// Makes (or finds) the channel group `name`; answers its egress domain.
pub async fn ensure_group(
    client: &Client,
    name: &str,
    tags: &BTreeMap<String, String>,
    token: &str,
) -> Result<String, ProviderError> {
    if let Some(egress) = group_egress(client, name).await? {
        return Ok(egress);
    }
    let made = client
        .create_channel_group()
        .channel_group_name(name)
        .description("orchestrate: the origins of an event group")
        .set_tags(Some(tag_map(tags)))
        .client_token(token)
        .customize()
        .config_override(once!(aws_sdk_mediapackagev2))
        .send()
        .await
        .map_err(|e| classify(&format!("MediaPackage v2 CreateChannelGroup {name}"), e))?;
    Ok(made.egress_domain().to_string())
}

/// Deletes the channel group once its channels are gone; refused while an event's origin is
/// still in it, which the next attempt tries again.
pub async fn delete_group(client: &Client, name: &str) -> Result<(), ProviderError> {
    match client
        .delete_channel_group()
        .channel_group_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 409) => {
            Err(ProviderError::Transient(format!(
                "MediaPackage v2 channel group {name} still holds an event's origin"
            )))
        }
        Err(e) => Err(classify(
            &format!("MediaPackage v2 DeleteChannelGroup {name}"),
            e,
        )),
    }
}

/// Makes (or finds) the channel `channel` in `group` and its endpoints; answers the origin's
/// outputs. The group is the shared CDN's: until it is made, the create is tried again.
pub async fn create(
    client: &Client,
    group: &str,
    channel: &str,
    def: &OriginDef,
    tags: &BTreeMap<String, String>,
    token: &str,
) -> Result<Value, ProviderError> {
    let at = format!("{group}/{channel}");
    if group_egress(client, group).await?.is_none() {
        return Err(ProviderError::Transient(format!(
            "the group's MediaPackage v2 channel group {group} is not made yet (its shared CDN makes it)"
        )));
    }
    match client
        .get_channel()
        .channel_group_name(group)
        .channel_name(channel)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => {
            client
                .create_channel()
                .channel_group_name(group)
                .channel_name(channel)
                .description("orchestrate origin")
                .set_tags(Some(tag_map(tags)))
                .client_token(token)
                .customize()
                .config_override(once!(aws_sdk_mediapackagev2))
                .send()
                .await
                .map_err(|e| classify(&format!("MediaPackage v2 CreateChannel {at}"), e))?;
        }
        Err(e) => return Err(classify(&format!("MediaPackage v2 GetChannel {at}"), e)),
    }
    let mut urls = serde_json::Map::new();
    for packaging in &def.packaging {
        let url = endpoint(client, (group, channel), packaging, def, tags, token).await?;
        urls.insert(packaging.clone(), Value::String(url));
    }
    let hls = urls.get("hls").cloned().unwrap_or(Value::Null);
    Ok(json!({
        "channel_group": group,
        "channel_name": channel,
        "endpoints": urls,
        (crate::model::HLS_MANIFEST): hls,
    }))
}

/// The endpoint `packaging` of the channel, made if missing, with its policy; answers its
/// manifest's URL.
async fn endpoint(
    client: &Client,
    (group, channel): (&str, &str),
    packaging: &str,
    def: &OriginDef,
    tags: &BTreeMap<String, String>,
    token: &str,
) -> Result<String, ProviderError> {
    let at = format!("{group}/{channel}/{packaging}");
    let manifest_url = |hls: Option<&str>, dash: Option<&str>| {
        hls.or(dash).map(String::from).ok_or_else(|| {
            ProviderError::Transient(format!(
                "MediaPackage v2 endpoint {at} answered without a manifest URL"
            ))
        })
    };
    let (arn, url) = match client
        .get_origin_endpoint()
        .channel_group_name(group)
        .channel_name(channel)
        .origin_endpoint_name(packaging)
        .send()
        .await
    {
        Ok(found) => (
            found.arn().to_string(),
            manifest_url(
                found.hls_manifests().first().map(|m| m.url()),
                found.dash_manifests().first().map(|m| m.url()),
            )?,
        ),
        Err(e) if is_not_found(&e) => {
            let made =
                create_endpoint(client, (group, channel), packaging, def, tags, token).await?;
            (
                made.arn().to_string(),
                manifest_url(
                    made.hls_manifests().first().map(|m| m.url()),
                    made.dash_manifests().first().map(|m| m.url()),
                )?,
            )
        }
        Err(e) => {
            return Err(classify(
                &format!("MediaPackage v2 GetOriginEndpoint {at}"),
                e,
            ));
        }
    };
    // Put on every create, so that a create retried after its policy was lost completes it.
    put_policy(client, (group, channel), packaging, &arn, def).await?;
    Ok(url)
}

/// A v2 endpoint answers only what its policy allows. The CDN fetches unsigned, so anyone may
/// read, as from a v1 endpoint; the harvester of this account may copy it into the VOD.
/// <https://docs.aws.amazon.com/mediapackage/latest/userguide/endpoint-auth.html>
fn endpoint_policy(arn: &str, harvested: bool) -> Value {
    let mut statements = vec![json!({
        "Sid": "AllowViewersThroughTheCdn",
        "Effect": "Allow",
        "Principal": "*",
        "Action": ["mediapackagev2:GetObject", "mediapackagev2:GetHeadObject"],
        "Resource": arn,
    })];
    if harvested {
        statements.push(json!({
            "Sid": "AllowMediaPackageHarvestObjectAccess",
            "Effect": "Allow",
            "Principal": { "Service": "mediapackagev2.amazonaws.com" },
            "Action": ["mediapackagev2:HarvestObject", "mediapackagev2:GetObject"],
            "Resource": arn,
            "Condition": { "StringEquals": { "AWS:SourceAccount": account_of(arn) } },
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The account in an ARN (`arn:aws:<service>:<region>:<account>:…`).
pub fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or_default()
}

/// What an endpoint of `packaging` is made of, the same for its create and its update.
struct Settings {
    container: ContainerType,
    segment: Segment,
    startover: Option<i32>,
    hls: Option<CreateHlsManifestConfiguration>,
    dash: Option<CreateDashManifestConfiguration>,
}

impl Settings {
    fn of(
        group: &str,
        channel: &str,
        packaging: &str,
        def: &OriginDef,
    ) -> Result<Self, ProviderError> {
        let at = format!("{group}/{channel}/{packaging}");
        let invalid = |e: aws_sdk_mediapackagev2::error::BuildError| {
            ProviderError::Permanent(format!("MediaPackage v2 endpoint {at}: {e}"))
        };
        let seg = def.segment_duration_s.round().max(1.0) as i32;
        let window = def.window_s.round().max(f64::from(seg) * 3.0) as i32;
        // Clear HLS over transport stream segments, as the v1 origin serves it; DASH needs
        // fragmented MP4 (CMAF), and so does HLS under common encryption.
        let container = match (&def.encryption, packaging) {
            (Some(e), _) => e.v2_container(packaging)?,
            (None, "dash") => ContainerType::Cmaf,
            (None, _) => ContainerType::Ts,
        };
        let mut segment = Segment::builder().segment_duration_seconds(seg);
        if let Some(e) = &def.encryption {
            segment =
                segment.encryption(e.v2(&format!("{group}-{channel}-{packaging}"), &container)?);
        }
        let (mut hls, mut dash) = (None, None);
        match packaging {
            "hls" => {
                hls = Some(
                    CreateHlsManifestConfiguration::builder()
                        .manifest_name(MANIFEST)
                        .manifest_window_seconds(window)
                        .program_date_time_interval_seconds(seg)
                        .build()
                        .map_err(invalid)?,
                );
            }
            "dash" => {
                dash = Some(
                    CreateDashManifestConfiguration::builder()
                        .manifest_name(MANIFEST)
                        .manifest_window_seconds(window)
                        .build()
                        .map_err(invalid)?,
                );
            }
            other => {
                return Err(ProviderError::Permanent(format!(
                    "origin.packaging: MediaPackage v2 has no `{other}` endpoint here (hls, dash)"
                )));
            }
        }
        Ok(Self {
            container,
            segment: segment.build(),
            startover: def
                .startover_s
                .map(|s| s.clamp(STARTOVER_S.0, STARTOVER_S.1) as i32),
            hls,
            dash,
        })
    }
}

async fn create_endpoint(
    client: &Client,
    (group, channel): (&str, &str),
    packaging: &str,
    def: &OriginDef,
    tags: &BTreeMap<String, String>,
    token: &str,
) -> Result<
    aws_sdk_mediapackagev2::operation::create_origin_endpoint::CreateOriginEndpointOutput,
    ProviderError,
> {
    let at = format!("{group}/{channel}/{packaging}");
    let s = Settings::of(group, channel, packaging, def)?;
    client
        .create_origin_endpoint()
        .channel_group_name(group)
        .channel_name(channel)
        .origin_endpoint_name(packaging)
        .container_type(s.container)
        .segment(s.segment)
        .set_startover_window_seconds(s.startover)
        .set_hls_manifests(s.hls.map(|m| vec![m]))
        .set_dash_manifests(s.dash.map(|m| vec![m]))
        .set_tags(Some(tag_map(tags)))
        // One token per endpoint: the step's token names the channel's create.
        .client_token(format!("{token}-{packaging}"))
        .customize()
        .config_override(once!(aws_sdk_mediapackagev2))
        .send()
        .await
        .map_err(|e| classify(&format!("MediaPackage v2 CreateOriginEndpoint {at}"), e))
}

/// Changes each endpoint's segments, window, startover and encryption in place, and puts its
/// policy again (a VOD turned on lets the harvester in). MediaPackage v2 changes no endpoint's
/// container: a change of scheme that would (between TS and CMAF) is refused, with what to do.
pub async fn update(
    client: &Client,
    group: &str,
    channel: &str,
    def: &OriginDef,
) -> Result<(), ProviderError> {
    for packaging in &def.packaging {
        let at = format!("{group}/{channel}/{packaging}");
        let s = Settings::of(group, channel, packaging, def)?;
        let found = client
            .get_origin_endpoint()
            .channel_group_name(group)
            .channel_name(channel)
            .origin_endpoint_name(packaging)
            .send()
            .await
            .map_err(|e| classify(&format!("MediaPackage v2 GetOriginEndpoint {at}"), e))?;
        if found.container_type() != &s.container {
            return Err(ProviderError::Permanent(format!(
                "MediaPackage v2 cannot change the segments of endpoint {at} from {} to {} in place (the DRM scheme decides them): `down` the event, then `up` it again",
                found.container_type().as_str(),
                s.container.as_str()
            )));
        }
        client
            .update_origin_endpoint()
            .channel_group_name(group)
            .channel_name(channel)
            .origin_endpoint_name(packaging)
            .container_type(s.container)
            .segment(s.segment)
            .set_startover_window_seconds(s.startover)
            .set_hls_manifests(s.hls.map(|m| vec![m]))
            .set_dash_manifests(s.dash.map(|m| vec![m]))
            .set_e_tag(found.e_tag().map(String::from))
            .send()
            .await
            .map_err(|e| classify(&format!("MediaPackage v2 UpdateOriginEndpoint {at}"), e))?;
        put_policy(client, (group, channel), packaging, found.arn(), def).await?;
    }
    Ok(())
}

async fn put_policy(
    client: &Client,
    (group, channel): (&str, &str),
    packaging: &str,
    arn: &str,
    def: &OriginDef,
) -> Result<(), ProviderError> {
    let harvested = packaging == "hls" && def.startover_s.is_some();
    client
        .put_origin_endpoint_policy()
        .channel_group_name(group)
        .channel_name(channel)
        .origin_endpoint_name(packaging)
        .policy(endpoint_policy(arn, harvested).to_string())
        .send()
        .await
        .map_err(|e| {
            classify(
                &format!("MediaPackage v2 PutOriginEndpointPolicy {group}/{channel}/{packaging}"),
                e,
            )
        })?;
    Ok(())
}

/// Deletes the channel's endpoints, then the channel; what is already gone counts as deleted.
pub async fn delete(client: &Client, group: &str, channel: &str) -> Result<(), ProviderError> {
    let at = format!("{group}/{channel}");
    let listed = client
        .list_origin_endpoints()
        .channel_group_name(group)
        .channel_name(channel)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await;
    let endpoints: Vec<String> = match listed {
        Ok(l) => l
            .iter()
            .map(|e| e.origin_endpoint_name().to_string())
            .collect(),
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => {
            return Err(classify(
                &format!("MediaPackage v2 ListOriginEndpoints {at}"),
                e,
            ));
        }
    };
    for ep in endpoints {
        match client
            .delete_origin_endpoint()
            .channel_group_name(group)
            .channel_name(channel)
            .origin_endpoint_name(&ep)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => {
                return Err(classify(
                    &format!("MediaPackage v2 DeleteOriginEndpoint {at}/{ep}"),
                    e,
                ));
            }
        }
    }
    match client
        .delete_channel()
        .channel_group_name(group)
        .channel_name(channel)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(classify(&format!("MediaPackage v2 DeleteChannel {at}"), e)),
    }
}

/// What the region holds: each channel group and each channel in it (named `group/channel`),
/// with their tags.
pub struct Listed {
    pub groups: Vec<(String, BTreeMap<String, String>)>,
    pub channels: Vec<(String, BTreeMap<String, String>)>,
}

pub async fn list(client: &Client) -> Result<Listed, ProviderError> {
    let groups = client
        .list_channel_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("MediaPackage v2 ListChannelGroups", e))?;
    let mut out = Listed {
        groups: Vec::new(),
        channels: Vec::new(),
    };
    for g in &groups {
        let name = g.channel_group_name();
        out.groups
            .push((name.to_string(), tags_of(client, g.arn()).await?));
        let channels = client
            .list_channels()
            .channel_group_name(name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| classify(&format!("MediaPackage v2 ListChannels {name}"), e))?;
        for c in &channels {
            out.channels.push((
                format!("{name}/{}", c.channel_name()),
                tags_of(client, c.arn()).await?,
            ));
        }
    }
    Ok(out)
}

async fn tags_of(client: &Client, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let t = client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| classify(&format!("MediaPackage v2 ListTagsForResource {arn}"), e))?;
    Ok(t.tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}
