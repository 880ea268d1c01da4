//! Domain types, free of I/O: the compiled configuration and the resources it asks for.

pub mod audience;
pub mod bitrate;
mod blueprint;
pub mod catalog_spec;
mod definition;
pub mod duration;
mod endpoints;
mod event_ids;
mod journal;
mod kind;
pub mod profile_spec;
mod resource;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

pub use audience::{Audience, Delivery, delivery};
pub use blueprint::{Slot, blueprint, kinds as blueprint_kinds};
pub use definition::Definition;
pub use endpoints::{EDGE_FOR_ORIGIN_PATHS, Endpoints, HLS_MANIFEST, edge_manifest, endpoints};
pub use event_ids::{UnknownEvents, check_event_ids, known_ids};
pub use journal::{HistoryEntry, JournalEntry};
pub use kind::{Kind, UnknownKind};
pub use resource::{
    RecordedResource, ResourceId, ResourceSpec, ResourceStatus, TAG_EVENT, TAG_OWNER, TAG_REGION,
    Window,
};

pub use catalog_spec::{KindEntry, Latency, RateLimit, RegionEntry, RetryPolicy};
pub use profile_spec::{CdnSpec, EncoderSpec, MonitoringSpec, OriginSpec, Redundancy, VodSpec};

/// Where an event's lead time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
pub enum Lead {
    Fixed(#[serde(with = "crate::model::serde_duration")] Duration),
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadSource {
    Event,
    Profile,
    Default,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: String,
    pub title: Option<String>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub profile: String,
    pub regions: Vec<String>,
    pub lead: Lead,
    pub lead_source: LeadSource,
    #[serde(with = "serde_duration")]
    pub grace: Duration,
    pub vod_enabled: bool,
    pub group: Option<String>,
    /// Who is expected to watch, for the delivery part of the cost estimate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<Audience>,
}

impl Event {
    /// `end + grace`: when the show's resources are released (hand-off, then teardown).
    pub fn release_at(&self) -> Timestamp {
        self.end
            .checked_add(duration::signed(self.grace))
            .unwrap_or(self.end)
    }

    /// The key under which this event's shared resources are kept, `@profile` or
    /// `@profile+group`, when its profile shares any. Event ids cannot contain `@`, so the key
    /// never names an event.
    pub fn shared_unit(&self, profile: &Profile) -> Option<String> {
        if !(profile.cdn.enabled && profile.cdn.shared) {
            return None;
        }
        Some(match &self.group {
            Some(g) => format!("@{}+{g}", self.profile),
            None => format!("@{}", self.profile),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub name: String,
    pub provider: String,
    pub lead: Option<Lead>,
    #[serde(with = "serde_duration_opt")]
    pub grace: Option<Duration>,
    pub encoder: EncoderSpec,
    #[serde(with = "serde_duration")]
    pub segment_duration: Duration,
    /// The same in seconds, for templates that hand it to a tool.
    pub segment_seconds: f64,
    /// How far back viewers may seek (`origin.dvr_window`), in seconds; 0 for live only.
    pub dvr_window_seconds: f64,
    pub origin: OriginSpec,
    pub cdn: CdnSpec,
    pub vod: VodSpec,
    pub monitoring: MonitoringSpec,
    /// A dual profile whose two pipelines run in one encoder (its catalog's encoder kind has
    /// `pipelines: 2`: a MediaLive STANDARD channel), with one input taking both feeds.
    pub pipelines_in_one_encoder: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    pub provider: String,
    pub regions: BTreeMap<String, RegionEntry>,
    pub rate_limit: RateLimit,
    /// Per service, held on each request to it in a region (the aws provider's).
    pub service_rate_limits: BTreeMap<String, RateLimit>,
    pub retry: RetryPolicy,
    /// Added to an `auto` lead for readiness checks.
    pub readiness: Duration,
    /// `auto` leads are rounded up to a multiple of this.
    pub lead_step: Duration,
    pub kinds: BTreeMap<Kind, KindEntry>,
    /// The provider's own settings (the catalog's section named after it), which it reads itself.
    pub settings: Option<serde_json::Value>,
}

impl Catalog {
    pub fn rate_limit_for(&self, region: &str) -> RateLimit {
        self.regions
            .get(region)
            .and_then(|r| r.rate_limit)
            .unwrap_or(self.rate_limit)
    }
    /// The longest one step on a resource of `kind` may take: the catalog's `timeout`, else
    /// the provider's `default`.
    pub fn step_timeout(&self, kind: Kind, default: Duration) -> Duration {
        self.kinds
            .get(&kind)
            .and_then(|k| k.timeout)
            .map_or(default, |t| t.0)
    }
    /// Where a group's shared resources serving `region` are kept: the region itself, or for
    /// a global service the one region it is managed from (one for all the group's regions).
    pub fn shared_region<'a>(&'a self, profile: &Profile, region: &'a str) -> &'a str {
        self.shared_global_region(profile).unwrap_or(region)
    }

    /// The region a profile's shared resources are all kept in, when they are a global
    /// service's.
    pub fn shared_global_region(&self, profile: &Profile) -> Option<&str> {
        blueprint::blueprint(profile)
            .iter()
            .filter(|s| s.shared)
            .find_map(|s| self.kinds.get(&s.kind)?.global_region.as_deref())
    }

    /// The hourly price of one resource of `kind` for `profile` in `region`: the kind's
    /// `hourly_price`, plus, where the service bills so, each encoder output by resolution and
    /// codec and its input.
    pub fn hourly_price_for(&self, profile: &Profile, region: &str, kind: Kind) -> f64 {
        let base = self.hourly_price(region, kind);
        let Some(p) = self.kinds.get(&kind).and_then(|k| k.pricing.as_ref()) else {
            return base;
        };
        let codec = profile.encoder.codec.as_str();
        let per_run: f64 = p.per_input_hour.unwrap_or(0.0)
            + profile
                .encoder
                .ladder
                .iter()
                .filter_map(|r| p.per_output(codec, r.height))
                .sum::<f64>();
        // Each pipeline of a channel that runs both encodes the whole ladder from its input.
        let pipelines = if kind == Kind::Encoder && profile.pipelines_in_one_encoder {
            2.0
        } else {
            1.0
        };
        base + per_run * pipelines * self.price_factor(region)
    }

    /// What the estimate of a profile's event leaves out: an encoder output class the table
    /// has no price for, and the charges a kind's table names as `unpriced`.
    pub fn unpriced(&self, profile: &Profile) -> Vec<String> {
        let codec = profile.encoder.codec.as_str();
        let kinds: BTreeSet<Kind> = blueprint::blueprint(profile)
            .iter()
            .map(|s| s.kind)
            .collect();
        let mut out = Vec::new();
        for kind in kinds {
            let Some(p) = self.kinds.get(&kind).and_then(|k| k.pricing.as_ref()) else {
                continue;
            };
            if !p.per_output_hour.is_empty() {
                out.extend(
                    profile
                        .encoder
                        .ladder
                        .iter()
                        .filter(|r| p.per_output(codec, r.height).is_none())
                        .map(|r| format!("{kind} output {} ({codec}, {}p)", r.name, r.height)),
                );
            }
            out.extend(
                p.unpriced
                    .iter()
                    .map(|c| format!("{kind} {c} (no price in the catalog)")),
            );
        }
        out
    }

    pub fn price_factor(&self, region: &str) -> f64 {
        self.regions
            .get(region)
            .and_then(|r| r.price_factor)
            .unwrap_or(1.0)
    }

    pub fn hourly_price(&self, region: &str, kind: Kind) -> f64 {
        let factor = self.price_factor(region);
        self.kinds
            .get(&kind)
            .map_or(0.0, |k| k.hourly_price * factor)
    }
}

/// Everything loaded and validated: the input of the pure core.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub events: Vec<Event>,
    pub profiles: BTreeMap<String, Profile>,
    pub catalogs: BTreeMap<String, Catalog>,
}

impl Config {
    /// An event's profile and its provider's catalog (validation guarantees both exist).
    pub fn profile_and_catalog(&self, event: &Event) -> Option<(&Profile, &Catalog)> {
        let profile = self.profiles.get(&event.profile)?;
        Some((profile, self.catalogs.get(&profile.provider)?))
    }

    /// What a command acting on the whole schedule leaves alone at `now`: the events whose
    /// window (`end + grace`) has passed, and the shared units that only such events use.
    /// Their resources, if any, are the hand-off's and the teardown's (`tick`, `down`).
    pub fn ended_keys(&self, now: Timestamp) -> BTreeSet<String> {
        let mut ended = BTreeSet::new();
        let mut units_in_use = BTreeSet::new();
        for e in &self.events {
            let unit = self.profiles.get(&e.profile).and_then(|p| e.shared_unit(p));
            if e.release_at() <= now {
                ended.insert(e.id.clone());
                ended.extend(unit);
            } else {
                units_in_use.extend(unit);
            }
        }
        ended.retain(|k| !units_in_use.contains(k));
        ended
    }
}

/// Time for readiness checks after the last resource reports ready, unless the catalog says.
pub const READINESS: Duration = Duration::from_secs(60);
/// `auto` leads are rounded up to a multiple of this, unless the catalog says.
pub const LEAD_STEP: Duration = Duration::from_secs(60);
/// Default grace after `end` when neither the event nor its profile sets one.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5 * 60);

pub mod serde_duration {
    use serde::Serializer;
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::duration::format_duration(*d))
    }
}

pub mod serde_duration_opt {
    use serde::Serializer;
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::serde_duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }
}
