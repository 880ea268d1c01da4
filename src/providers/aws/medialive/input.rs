//! MediaLive inputs: pull inputs reading a URL, and RTMP push inputs, which MediaLive admits
//! only from the networks of an input security group. The group is made with its input, before
//! it, and goes after it: MediaLive refuses to delete a group an input still holds.

use std::collections::BTreeMap;

use aws_sdk_medialive::Client;
use aws_sdk_medialive::types::{
    InputDestinationRequest, InputSecurityGroupState, InputSourceRequest, InputType,
    InputWhitelistRuleCidr, SrtCallerSourceRequest, SrtSettingsRequest,
};
use serde_json::json;

use super::super::errors::{classify, is_not_found};
use super::super::once;
use super::{Listed, listed, tags_of};
use crate::model::TAG_OWNER;
use crate::providers::ProviderError;
use crate::providers::aws::Made;

/// An input security group has no name: this tag carries its input's, so that a retried
/// create finds the group an earlier attempt made.
const TAG_NAME: &str = "Name";

/// What the input template asks for.
#[derive(Debug, serde::Deserialize)]
pub struct InputDef {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub address: Option<String>,
    /// The networks (CIDR) an RTMP push input admits.
    #[serde(default)]
    pub allow: Vec<String>,
    /// `application/stream`, the path a push goes to after MediaLive's address.
    #[serde(default)]
    pub stream: Option<String>,
    /// 2 for a standard-class input, feeding both pipelines of a STANDARD channel: two
    /// sources (the same address, read twice) or two push destinations.
    #[serde(default = "one")]
    pub pipelines: u8,
}

fn one() -> u8 {
    1
}

enum Source {
    Pull(InputType, String),
    Push {
        allow: Vec<String>,
        stream: String,
    },
    /// MediaLive calls the contribution's SRT listener.
    SrtCaller {
        address: String,
        host: String,
        port: u16,
        stream_id: Option<String>,
    },
}

/// How the feed reaches MediaLive: pulled from a URL, or pushed over RTMP.
fn source(def: &InputDef) -> Result<Source, ProviderError> {
    let address = def.address.clone().unwrap_or_default();
    match def.kind.as_str() {
        "file"
            if crate::providers::aws::checks::AWS_INPUT_SCHEMES
                .iter()
                .any(|s| address.starts_with(s)) =>
        {
            if address.ends_with(".m3u8") {
                Ok(Source::Pull(InputType::UrlPull, address))
            } else {
                Ok(Source::Pull(InputType::Mp4File, address))
            }
        }
        "file" => Err(ProviderError::Permanent(format!(
            "encoder.input.address: MediaLive reads a file from an s3:// or https:// URL, not `{address}`"
        ))),
        "rtmp" if def.allow.is_empty() => Err(ProviderError::Permanent(
            "encoder.input.allow: a MediaLive RTMP push input admits only listed networks, and none is listed"
                .into(),
        )),
        "rtmp" => Ok(Source::Push {
            allow: def.allow.clone(),
            stream: def.stream.clone().unwrap_or_else(|| "live/stream".into()),
        }),
        "srt" => match crate::config::srt_listener(&address) {
            Some((host, port, stream_id)) => Ok(Source::SrtCaller {
                address,
                host,
                port,
                stream_id,
            }),
            None => Err(ProviderError::Permanent(format!(
                "encoder.input.address: MediaLive calls the contribution's SRT listener: give it as srt://host:port, not `{address}`"
            ))),
        },
        "testsrc" => Err(ProviderError::Permanent(
            "encoder.input.type: MediaLive has no test pattern; use `file` with an s3:// or https:// URL of a clip"
                .into(),
        )),
        other => Err(ProviderError::Permanent(format!(
            "encoder.input.type: the aws provider cannot make a MediaLive `{other}` input; use `file`, `rtmp` or `srt`"
        ))),
    }
}

/// Every input of the region that is not being deleted.
pub async fn inputs(client: &Client) -> Result<Vec<Listed>, ProviderError> {
    let all = client
        .list_inputs()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("MediaLive ListInputs", e))?;
    Ok(all
        .iter()
        .filter_map(|i| listed(i.id(), i.name(), i.state().map(|s| s.as_str()), i.tags()))
        .collect())
}

/// The id of our input named `name`, if one exists.
pub async fn find_input(
    client: &Client,
    name: &str,
    owner: &str,
) -> Result<Option<String>, ProviderError> {
    Ok(inputs(client)
        .await?
        .into_iter()
        .find(|(_, n, _, t)| n == name && t.get(TAG_OWNER).map(String::as_str) == Some(owner))
        .map(|(id, ..)| id))
}

/// Every input security group of the region that is not deleted: (id, its input's name,
/// tags).
pub async fn input_firewalls(
    client: &Client,
) -> Result<Vec<(String, String, BTreeMap<String, String>)>, ProviderError> {
    let all = match client
        .list_input_security_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
    {
        Ok(all) => all,
        // An endpoint without input security groups (moto_server) has none to list; making
        // one there fails with the service's answer.
        Err(e) if is_not_found(&e) => return Ok(Vec::new()),
        Err(e) => return Err(classify("MediaLive ListInputSecurityGroups", e)),
    };
    Ok(all
        .iter()
        .filter(|g| g.state() != Some(&InputSecurityGroupState::Deleted))
        .filter_map(|g| {
            let tags = tags_of(g.tags());
            let name = tags.get(TAG_NAME).cloned().unwrap_or_default();
            Some((g.id()?.to_string(), name, tags))
        })
        .collect())
}

async fn find_firewall(
    client: &Client,
    name: &str,
    owner: &str,
) -> Result<Option<String>, ProviderError> {
    Ok(input_firewalls(client)
        .await?
        .into_iter()
        .find(|(_, n, t)| n == name && t.get(TAG_OWNER).map(String::as_str) == Some(owner))
        .map(|(id, ..)| id))
}

/// The input security group admitting `allow` to the input `name`, found or made.
async fn ensure_firewall(
    client: &Client,
    name: &str,
    allow: &[String],
    tags: &BTreeMap<String, String>,
) -> Result<String, ProviderError> {
    let owner = tags.get(TAG_OWNER).map_or("", String::as_str);
    if let Some(id) = find_firewall(client, name, owner).await? {
        return Ok(id);
    }
    let mut req = client.create_input_security_group().tags(TAG_NAME, name);
    for (k, v) in tags {
        req = req.tags(k, v);
    }
    for cidr in allow {
        req = req.whitelist_rules(InputWhitelistRuleCidr::builder().cidr(cidr).build());
    }
    // No request id to make a retry safe: the executor's next attempt looks the group up.
    let made = req
        .customize()
        .config_override(once!(aws_sdk_medialive))
        .send()
        .await
        .map_err(|e| classify(&format!("MediaLive CreateInputSecurityGroup for {name}"), e))?;
    made.security_group()
        .and_then(|g| g.id())
        .map(String::from)
        .ok_or_else(|| {
            ProviderError::Transient(format!(
                "MediaLive CreateInputSecurityGroup for {name}: no id in the answer"
            ))
        })
}

pub async fn create_input(
    client: &Client,
    name: &str,
    def: &InputDef,
    tags: &BTreeMap<String, String>,
    token: &str,
) -> Result<Made, ProviderError> {
    let source = source(def)?;
    let owner = tags.get(TAG_OWNER).cloned().unwrap_or_default();
    let firewall = match &source {
        Source::Push { allow, .. } => Some(ensure_firewall(client, name, allow, tags).await?),
        Source::Pull(..) | Source::SrtCaller { .. } => None,
    };
    let id = match find_input(client, name, &owner).await? {
        Some(id) => id,
        None => {
            let mut req = client.create_input().name(name).request_id(token);
            // A standard-class input has an entry point per pipeline.
            let entries = usize::from(def.pipelines.max(1));
            req = match &source {
                Source::Pull(kind, url) => req.r#type(kind.clone()).set_sources(Some(vec![
                        InputSourceRequest::builder().url(url).build();
                        entries
                    ])),
                Source::Push { stream, .. } => req
                    .r#type(InputType::RtmpPush)
                    .set_destinations(Some(vec![
                        InputDestinationRequest::builder()
                            .stream_name(stream)
                            .build();
                        entries
                    ]))
                    .set_input_security_groups(firewall.clone().map(|f| vec![f])),
                Source::SrtCaller {
                    host,
                    port,
                    stream_id,
                    ..
                } => req.r#type(InputType::SrtCaller).srt_settings(
                    SrtSettingsRequest::builder()
                        .set_srt_caller_sources(Some(vec![
                            SrtCallerSourceRequest::builder()
                                .srt_listener_address(host)
                                .srt_listener_port(port.to_string())
                                .set_stream_id(stream_id.clone())
                                .build();
                            entries
                        ]))
                        .build(),
                ),
            };
            for (k, v) in tags {
                req = req.tags(k, v);
            }
            let made = req
                .customize()
                .config_override(once!(aws_sdk_medialive))
                .send()
                .await
                .map_err(|e| classify(&format!("MediaLive CreateInput {name}"), e))?;
            made.input()
                .and_then(|i| i.id())
                .map(String::from)
                .ok_or_else(|| {
                    ProviderError::Transient(format!(
                        "MediaLive CreateInput {name}: no id in the answer"
                    ))
                })?
        }
    };
    let outputs = match source {
        Source::Pull(kind, url) => json!({ "input_id": id, "type": kind.as_str(), "source": url }),
        Source::SrtCaller { address, .. } => {
            json!({ "input_id": id, "type": InputType::SrtCaller.as_str(), "source": address })
        }
        Source::Push { allow, stream } => {
            let push_urls = push_urls(client, &id).await?;
            json!({
                "input_id": id,
                "type": InputType::RtmpPush.as_str(),
                "input_firewall": firewall,
                "allow": allow,
                "stream": stream,
                "ingest_url": push_urls.first(),
                "push_urls": push_urls,
            })
        }
    };
    Ok(Made { id, outputs })
}

/// Changes the input `name` in place: the networks its security group admits. MediaLive applies
/// a group's rules to the inputs holding it at once, running or not; everything else about an
/// input changes only by a new one (the catalog's `replace_on`).
pub async fn update_input(
    client: &Client,
    name: &str,
    def: &InputDef,
    tags: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let Source::Push { allow, .. } = source(def)? else {
        return Ok(());
    };
    let owner = tags.get(TAG_OWNER).map_or("", String::as_str);
    let group = find_firewall(client, name, owner).await?.ok_or_else(|| {
        ProviderError::Transient(format!(
            "the input security group of {name} does not exist yet"
        ))
    })?;
    let rules = allow
        .iter()
        .map(|cidr| InputWhitelistRuleCidr::builder().cidr(cidr).build())
        .collect();
    client
        .update_input_security_group()
        .input_security_group_id(&group)
        .set_whitelist_rules(Some(rules))
        .send()
        .await
        .map_err(|e| classify(&format!("MediaLive UpdateInputSecurityGroup {group}"), e))?;
    Ok(())
}

/// Where the contribution encoder pushes: MediaLive's address for each destination.
async fn push_urls(client: &Client, id: &str) -> Result<Vec<String>, ProviderError> {
    let input = client
        .describe_input()
        .input_id(id)
        .send()
        .await
        .map_err(|e| classify(&format!("MediaLive DescribeInput {id}"), e))?;
    Ok(input
        .destinations()
        .iter()
        .filter_map(|d| d.url().map(String::from))
        .collect())
}

/// Deletes the input `id` (if it still exists), then the security group made for the input
/// `name`, once MediaLive no longer counts the input as holding it.
pub async fn delete_input(
    client: &Client,
    id: Option<&str>,
    name: &str,
    owner: &str,
) -> Result<(), ProviderError> {
    if let Some(id) = id
        && inputs(client).await?.iter().any(|(i, ..)| i == id)
    {
        match client.delete_input().input_id(id).send().await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(classify(&format!("MediaLive DeleteInput {id}"), e)),
        }
    }
    if let Some(group) = find_firewall(client, name, owner).await? {
        delete_input_firewall(client, &group).await?;
    }
    Ok(())
}

/// Deletes an input security group; one an input still holds (its input being deleted) is
/// tried again later.
pub async fn delete_input_firewall(client: &Client, id: &str) -> Result<(), ProviderError> {
    let group = match client
        .describe_input_security_group()
        .input_security_group_id(id)
        .send()
        .await
    {
        Ok(g) => g,
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => {
            return Err(classify(
                &format!("MediaLive DescribeInputSecurityGroup {id}"),
                e,
            ));
        }
    };
    if group.state() == Some(&InputSecurityGroupState::Deleted) {
        return Ok(());
    }
    if !group.inputs().is_empty() {
        return Err(ProviderError::Transient(format!(
            "MediaLive input security group {id} is still held by input {}",
            group.inputs().join(", ")
        )));
    }
    match client
        .delete_input_security_group()
        .input_security_group_id(id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(classify(
            &format!("MediaLive DeleteInputSecurityGroup {id}"),
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(kind: &str, address: Option<&str>, allow: &[&str]) -> InputDef {
        InputDef {
            kind: kind.into(),
            address: address.map(String::from),
            allow: allow.iter().map(|s| s.to_string()).collect(),
            stream: Some("live/final".into()),
            pipelines: 1,
        }
    }

    #[test]
    fn a_feed_is_pulled_from_a_url_or_pushed_over_rtmp_from_listed_networks() {
        assert!(matches!(
            source(&def("file", Some("s3://b/clip.mp4"), &[])),
            Ok(Source::Pull(InputType::Mp4File, _))
        ));
        assert!(matches!(
            source(&def("file", Some("https://h/live.m3u8"), &[])),
            Ok(Source::Pull(InputType::UrlPull, _))
        ));
        match source(&def("rtmp", None, &["203.0.113.0/24"])) {
            Ok(Source::Push { allow, stream }) => {
                assert_eq!(allow, ["203.0.113.0/24"]);
                assert_eq!(stream, "live/final");
            }
            _ => panic!("an rtmp input with networks is a push"),
        }
        let refused = |d: InputDef| match source(&d) {
            Err(ProviderError::Permanent(m)) => m,
            _ => panic!("refused"),
        };
        assert!(refused(def("rtmp", None, &[])).starts_with("encoder.input.allow"));
        match source(&def(
            "srt",
            Some("srt://contrib.example.net:9000?streamid=cam1"),
            &[],
        )) {
            Ok(Source::SrtCaller {
                host,
                port,
                stream_id,
                ..
            }) => assert_eq!(
                (host.as_str(), port, stream_id.as_deref()),
                ("contrib.example.net", 9000, Some("cam1"))
            ),
            _ => panic!("an srt input with a listener's address is called by MediaLive"),
        }
        for bad in [
            "srt://host",
            "srt://:9000",
            "srt://host:0",
            "udp://host:9000",
            "",
        ] {
            assert!(
                refused(def("srt", Some(bad), &[])).contains("srt://host:port"),
                "{bad}"
            );
        }
        assert!(refused(def("hdmi", None, &[])).contains("use `file`, `rtmp` or `srt`"));
        assert!(refused(def("file", Some("/tmp/clip.mp4"), &[])).contains("not `/tmp/clip.mp4`"));
    }
}
