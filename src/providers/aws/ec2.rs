//! The encoder on EC2 (`encoder.engine: instance`): a security group that admits nothing, and
//! an instance whose cloud-init user-data (rendered from templates/aws/instance.tera) runs
//! ffmpeg into the event's MediaPackage channel. Both are found by their Name tag before they
//! are made; the instance also carries the step's token as its client token.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    Filter, HttpTokensState, IamInstanceProfileSpecification, InstanceMetadataOptionsRequest,
    InstanceStateName, InstanceType, ResourceType, Tag, TagSpecification,
};
use base64::Engine as _;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use super::errors::{classify, is_not_found};
use super::once;
use crate::model::TAG_OWNER;
use crate::providers::aws::Made;
use crate::providers::{EncoderHealth, ProviderError};

/// What the firewall template asks for.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallDef {
    // Rendered by every template, taken by the provider from the resource instead: accepted,
    // so that a misspelt field is still an error.
    #[serde(rename = "name")]
    _name: IgnoredAny,
    #[serde(default, rename = "pipeline")]
    _pipeline: IgnoredAny,
    #[serde(default, rename = "tags")]
    _tags: IgnoredAny,
    pub description: String,
    /// Rules admitting traffic in; none is built yet (every input is pulled).
    #[serde(default)]
    pub ingress: Vec<Value>,
}

/// What the instance template asks for.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceDef {
    // Rendered by every template, taken by the provider from the resource instead: accepted,
    // so that a misspelt field is still an error.
    #[serde(rename = "name")]
    _name: IgnoredAny,
    #[serde(default, rename = "pipeline")]
    _pipeline: IgnoredAny,
    #[serde(default, rename = "tags")]
    _tags: IgnoredAny,
    pub firewall: String,
    pub origin: String,
    pub instance_type: String,
    pub image: String,
    pub role: String,
    pub user_data: String,
}

/// Stands for an id the template cannot know; the provider fills it in.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// EC2 caps user-data at 16 KiB before its base64 encoding.
const USER_DATA_MAX: usize = 16 * 1024;

/// The user-data as sent: the MediaPackage channel id filled in, within EC2's limit.
pub fn user_data(def: &InstanceDef, channel_id: &str) -> Result<String, ProviderError> {
    if !def.user_data.contains(KNOWN_AFTER_APPLY) {
        return Err(ProviderError::Permanent(format!(
            "templates/aws/instance.tera rendered `user_data` without `{KNOWN_AFTER_APPLY}` where the MediaPackage channel id goes"
        )));
    }
    let filled = def.user_data.replace(KNOWN_AFTER_APPLY, channel_id);
    if filled.len() > USER_DATA_MAX {
        return Err(ProviderError::Permanent(format!(
            "templates/aws/instance.tera rendered {} bytes of `user_data`; EC2 takes at most {USER_DATA_MAX}",
            filled.len()
        )));
    }
    Ok(filled)
}

fn tag_spec(kind: ResourceType, name: &str, tags: &BTreeMap<String, String>) -> TagSpecification {
    let mut b = TagSpecification::builder()
        .resource_type(kind)
        .tags(Tag::builder().key("Name").value(name).build());
    for (k, v) in tags {
        b = b.tags(Tag::builder().key(k).value(v).build());
    }
    b.build()
}

fn tags_of(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect()
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// An object as listed: (id, Name tag, tags).
pub type Listed = (String, String, BTreeMap<String, String>);

/// Every security group carrying the owner tag key.
pub async fn firewalls(client: &Client) -> Result<Vec<Listed>, ProviderError> {
    let pages: Vec<_> = client
        .describe_security_groups()
        .filters(filter("tag-key", TAG_OWNER))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("EC2 DescribeSecurityGroups", e))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.security_groups())
        .filter_map(|g| {
            let tags = tags_of(g.tags());
            let name = tags.get("Name").cloned().unwrap_or_default();
            Some((g.group_id()?.to_string(), name, tags))
        })
        .collect())
}

/// Instances that are not terminated (nor being), carrying the owner tag key.
pub async fn instances(client: &Client) -> Result<Vec<Listed>, ProviderError> {
    Ok(described(client, filter("tag-key", TAG_OWNER))
        .await?
        .into_iter()
        .filter(|(_, state, _)| !gone(state))
        .map(|(id, _, tags)| {
            let name = tags.get("Name").cloned().unwrap_or_default();
            (id, name, tags)
        })
        .collect())
}

fn gone(state: &InstanceStateName) -> bool {
    matches!(
        state,
        InstanceStateName::ShuttingDown | InstanceStateName::Terminated
    )
}

/// Instances matching `f`: (id, state, tags).
async fn described(
    client: &Client,
    f: Filter,
) -> Result<Vec<(String, InstanceStateName, BTreeMap<String, String>)>, ProviderError> {
    let pages: Vec<_> = client
        .describe_instances()
        .filters(f)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("EC2 DescribeInstances", e))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.reservations())
        .flat_map(|r| r.instances())
        .filter_map(|i| {
            Some((
                i.instance_id()?.to_string(),
                i.state()?.name()?.clone(),
                tags_of(i.tags()),
            ))
        })
        .collect())
}

fn ours(name: &str, owner: Option<&String>) -> impl Fn(&Listed) -> bool {
    move |(_, n, t)| n == name && t.get(TAG_OWNER) == owner
}

/// The id of our security group named `name`, if it exists.
pub async fn find_firewall(
    client: &Client,
    name: &str,
    owner: Option<&String>,
) -> Result<Option<String>, ProviderError> {
    Ok(firewalls(client)
        .await?
        .into_iter()
        .find(ours(name, owner))
        .map(|(id, ..)| id))
}

/// The id of our live instance named `name`, if one exists.
pub async fn find_instance(
    client: &Client,
    name: &str,
    owner: Option<&String>,
) -> Result<Option<String>, ProviderError> {
    Ok(instances(client)
        .await?
        .into_iter()
        .find(ours(name, owner))
        .map(|(id, ..)| id))
}

/// Makes (or finds) the security group, in the region's default VPC. It keeps EC2's default
/// rule letting everything out and admits nothing in.
pub async fn create_firewall(
    client: &Client,
    name: &str,
    def: &FirewallDef,
    tags: &BTreeMap<String, String>,
) -> Result<Made, ProviderError> {
    if !def.ingress.is_empty() {
        return Err(ProviderError::Permanent(
            "templates/aws/firewall.tera rendered `ingress` rules; the aws provider admits nothing in yet (every input is pulled)".into(),
        ));
    }
    let id = match find_firewall(client, name, tags.get(TAG_OWNER)).await? {
        Some(id) => id,
        None => client
            .create_security_group()
            .group_name(name)
            .description(&def.description)
            .tag_specifications(tag_spec(ResourceType::SecurityGroup, name, tags))
            .customize()
            .config_override(once!(aws_sdk_ec2))
            .send()
            .await
            .map_err(|e| classify(&format!("EC2 CreateSecurityGroup {name}"), e))?
            .group_id()
            .map(String::from)
            .ok_or_else(|| {
                ProviderError::Transient(format!(
                    "EC2 CreateSecurityGroup {name}: no id in the answer"
                ))
            })?,
    };
    Ok(Made {
        outputs: json!({ "group_id": id, "name": name }),
        id,
    })
}

/// Deletes the security group. One still held by a terminated instance's network interface
/// is refused for a while: that is worth another try.
pub async fn delete_firewall(client: &Client, id: &str) -> Result<(), ProviderError> {
    match client.delete_security_group().group_id(id).send().await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => match classify(&format!("EC2 DeleteSecurityGroup {id}"), e) {
            ProviderError::Permanent(m) if m.contains("DependencyViolation") => {
                Err(ProviderError::Transient(m))
            }
            other => Err(other),
        },
    }
}

/// What an instance create needs beyond its definition.
pub struct Launch<'a> {
    pub name: &'a str,
    pub firewall_id: &'a str,
    pub user_data: &'a str,
    pub tags: &'a BTreeMap<String, String>,
    pub token: &'a str,
}

/// Launches (or finds) the instance; answers once it runs.
pub async fn create_instance(
    client: &Client,
    def: &InstanceDef,
    launch: Launch<'_>,
) -> Result<Made, ProviderError> {
    let name = launch.name;
    let id = match find_instance(client, name, launch.tags.get(TAG_OWNER)).await? {
        Some(id) => id,
        None => {
            let made = client
                .run_instances()
                .image_id(&def.image)
                .instance_type(InstanceType::from(def.instance_type.as_str()))
                .min_count(1)
                .max_count(1)
                .client_token(client_token(launch.token))
                .security_group_ids(launch.firewall_id)
                .iam_instance_profile(
                    IamInstanceProfileSpecification::builder()
                        .name(&def.role)
                        .build(),
                )
                // IMDSv2 only: the role's credentials are not reachable by a forged request.
                .metadata_options(
                    InstanceMetadataOptionsRequest::builder()
                        .http_tokens(HttpTokensState::Required)
                        .build(),
                )
                .user_data(base64::engine::general_purpose::STANDARD.encode(launch.user_data))
                .tag_specifications(tag_spec(ResourceType::Instance, name, launch.tags))
                .tag_specifications(tag_spec(ResourceType::Volume, name, launch.tags))
                .customize()
                .config_override(once!(aws_sdk_ec2))
                .send()
                .await
                .map_err(|e| classify(&format!("EC2 RunInstances {name}"), e))?;
            made.instances()
                .first()
                .and_then(|i| i.instance_id())
                .map(String::from)
                .ok_or_else(|| {
                    ProviderError::Transient(format!(
                        "EC2 RunInstances {name}: no id in the answer"
                    ))
                })?
        }
    };
    match wait(client, &id, &[InstanceStateName::Running]).await? {
        Some(_) => Ok(Made {
            outputs: json!({ "instance_id": id, "name": name }),
            id,
        }),
        None => Err(ProviderError::Permanent(format!(
            "EC2 instance {id} ({name}) stopped or terminated while starting"
        ))),
    }
}

/// EC2's client token is at most 64 ASCII characters.
fn client_token(token: &str) -> String {
    token.chars().filter(char::is_ascii).take(64).collect()
}

/// Terminates the instance and waits until it is gone.
pub async fn delete_instance(client: &Client, id: &str) -> Result<(), ProviderError> {
    match client.terminate_instances().instance_ids(id).send().await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(classify(&format!("EC2 TerminateInstances {id}"), e)),
    }
    wait(client, id, &[InstanceStateName::Terminated]).await?;
    Ok(())
}

async fn state(client: &Client, id: &str) -> Result<Option<InstanceStateName>, ProviderError> {
    match client.describe_instances().instance_ids(id).send().await {
        Ok(d) => Ok(d
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(id))
            .and_then(|i| i.state()?.name().cloned())),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(classify(&format!("EC2 DescribeInstances {id}"), e)),
    }
}

/// Polls until the instance is in one of `want`; `None` when it is gone (or going) and that
/// was not wanted. The executor's step timeout bounds the wait.
async fn wait(
    client: &Client,
    id: &str,
    want: &[InstanceStateName],
) -> Result<Option<InstanceStateName>, ProviderError> {
    let terminating = want.contains(&InstanceStateName::Terminated);
    let mut pause = Duration::from_millis(200);
    loop {
        match state(client, id).await? {
            Some(s) if want.contains(&s) => return Ok(Some(s)),
            None => return Ok(None),
            // A stopped or terminated instance does not start again by itself.
            Some(s) if !terminating && (gone(&s) || s == InstanceStateName::Stopped) => {
                return Ok(None);
            }
            Some(_) => {}
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// The instance's own view for the monitor's first tier: running or not. What ffmpeg does
/// on it is seen through the origin (tier 2).
pub async fn health(client: &Client, id: &str) -> Option<EncoderHealth> {
    let s = state(client, id).await.ok()??;
    Some(EncoderHealth {
        up: s == InstanceStateName::Running,
        ..EncoderHealth::default()
    })
}

/// Reboots the instance: its encoder is an enabled systemd unit, started again at boot with
/// the same origin and ladder (monitoring's `restart`).
pub async fn reboot(client: &Client, id: &str) -> Result<(), ProviderError> {
    client
        .reboot_instances()
        .instance_ids(id)
        .send()
        .await
        .map_err(|e| classify(&format!("EC2 RebootInstances {id}"), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(user_data: &str) -> InstanceDef {
        InstanceDef {
            _name: IgnoredAny,
            _pipeline: IgnoredAny,
            _tags: IgnoredAny,
            firewall: "firewall".into(),
            origin: "origin".into(),
            instance_type: "c5.2xlarge".into(),
            image: "ami-1".into(),
            role: "orchestrate-encoder".into(),
            user_data: user_data.into(),
        }
    }

    #[test]
    fn the_channel_id_is_filled_in() {
        let d = def("CHANNEL_ID=(known after apply)\n");
        assert_eq!(user_data(&d, "orch-1").unwrap(), "CHANNEL_ID=orch-1\n");
    }

    #[test]
    fn user_data_without_the_placeholder_or_too_long_is_refused() {
        let e = user_data(&def("CHANNEL_ID=x\n"), "orch-1").unwrap_err();
        assert!(e.to_string().contains("known after apply"), "{e}");
        let big = format!("{KNOWN_AFTER_APPLY}{}", "#".repeat(USER_DATA_MAX));
        let e = user_data(&def(&big), "orch-1").unwrap_err();
        assert!(e.to_string().contains("at most 16384"), "{e}");
    }

    #[test]
    fn client_tokens_fit_ec2() {
        let t = client_token(&"é-x".repeat(40));
        assert!(t.len() <= 64 && t.is_ascii(), "{t}");
    }
}
