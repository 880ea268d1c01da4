//! A resource as the configuration wants it ([`ResourceSpec`]) and as the state records it
//! ([`RecordedResource`]).

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const TAG_OWNER: &str = "orchestrate:owner";
pub const TAG_EVENT: &str = "orchestrate:event";
pub const TAG_REGION: &str = "orchestrate:region";

/// `event/region/name`, e.g. `cup-final/eu-west-1/encoder-a`. Unique within a state.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceId(pub String);

impl ResourceId {
    pub fn new(event: &str, region: &str, name: &str) -> Self {
        Self(format!("{event}/{region}/{name}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The span of time a resource is expected to exist (for cost estimates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl Window {
    pub fn hours(&self) -> f64 {
        (self.to.as_second() - self.from.as_second()).max(0) as f64 / 3600.0
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceSpec {
    pub id: ResourceId,
    pub provider: String,
    pub region: String,
    pub event: String,
    pub kind: super::Kind,
    pub name: String,
    pub depends_on: Vec<ResourceId>,
    /// What the provider is asked to create: the rendered template.
    pub definition: super::Definition,
    pub tags: BTreeMap<String, String>,
    pub hourly_price: f64,
    pub window: Window,
    /// The event's scheduled show (start to end), for an event's own resources; none for what a
    /// group shares. Kept with the resource so that, once the event has left the schedule, the
    /// state still tells whether its archive recorded the show. Not part of `spec_hash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_air: Option<Window>,
    /// Hash of everything that, when changed, needs the provider to act.
    pub spec_hash: String,
}

#[cfg(test)]
impl ResourceSpec {
    /// A spec with only what unit tests read: no definition, dependencies, tags or price.
    pub fn bare(provider: &str, event: &str, region: &str, name: &str, kind: &str) -> Self {
        let at = jiff::Timestamp::UNIX_EPOCH;
        Self {
            id: ResourceId::new(event, region, name),
            provider: provider.into(),
            region: region.into(),
            event: event.into(),
            kind: kind.parse().expect("a resource kind"),
            name: name.into(),
            depends_on: Vec::new(),
            definition: super::Definition::null(),
            tags: BTreeMap::new(),
            hourly_price: 0.0,
            window: Window { from: at, to: at },
            on_air: None,
            spec_hash: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    /// A create was started and has not been seen to finish.
    Creating,
    Ready,
    Updating,
    Deleting,
    /// The last step on it failed; the provider may hold a partial resource.
    Failed,
}

impl ResourceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Ready => "ready",
            Self::Updating => "updating",
            Self::Deleting => "deleting",
            Self::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "creating" => Self::Creating,
            "ready" => Self::Ready,
            "updating" => Self::Updating,
            "deleting" => Self::Deleting,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

impl fmt::Display for ResourceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedResource {
    pub spec: ResourceSpec,
    pub status: ResourceStatus,
    /// The provider's own id, once a create has answered.
    pub provider_id: Option<String>,
    /// Idempotency token of the last create: reused when a create is driven again.
    pub client_token: Option<String>,
    /// What the provider returned (endpoints, ARNs…).
    pub outputs: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl RecordedResource {
    /// The pipelines an encoder runs, as its provider recorded them: its one (`pipeline`), or
    /// both where one encoder runs them (`pipelines`, a MediaLive STANDARD channel).
    pub fn pipelines(&self) -> Vec<String> {
        if let Some(p) = self.outputs.get("pipeline").and_then(|p| p.as_str()) {
            return vec![p.to_string()];
        }
        self.outputs
            .get("pipelines")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(String::from))
            .collect()
    }
}

#[cfg(test)]
impl RecordedResource {
    /// `spec` made and ready, its provider id its name, with `outputs`.
    pub fn ready(spec: ResourceSpec, outputs: serde_json::Value) -> Self {
        let at = spec.window.from;
        Self {
            provider_id: Some(spec.name.clone()),
            spec,
            status: ResourceStatus::Ready,
            client_token: None,
            outputs,
            created_at: at,
            updated_at: at,
        }
    }
}
