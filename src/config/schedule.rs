//! `kind: Schedule`: the live events to run.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFile {
    #[serde(rename = "apiVersion")]
    #[schemars(with = "String")]
    pub api_version: Spanned<String>,
    #[schemars(with = "String")]
    pub kind: Spanned<String>,
    #[serde(default)]
    pub events: Vec<EventEntry>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventEntry {
    /// `[a-z0-9-]{1,48}`, unique across the schedules loaded together.
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// RFC 3339 with an offset, e.g. `2026-12-05T19:45:00Z`.
    #[schemars(with = "String")]
    pub start: Spanned<String>,
    #[schemars(with = "String")]
    pub end: Spanned<String>,
    /// Name of a profile: `profiles/<name>.yaml`.
    #[schemars(with = "String")]
    pub profile: Spanned<String>,
    #[schemars(with = "Vec<String>")]
    pub regions: Spanned<Vec<Spanned<String>>>,
    /// Provisioning lead before `start`: a duration (`15m`) or `auto`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub lead: Option<Spanned<String>>,
    /// Time kept after `end` before hand-off and teardown.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub grace: Option<Spanned<String>>,
    /// Events of one group whose profile shares its CDN (`cdn.shared`) use one distribution
    /// per region: `[a-z0-9-]{1,48}`. Without a group, the profile's events form one group.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub group: Option<Spanned<String>>,
    #[serde(default)]
    pub vod: Option<VodOverride>,
    /// Who is expected to watch (`peak_viewers`, `average_bitrate`): the delivery part of
    /// the cost estimate.
    #[serde(default)]
    pub audience: Option<crate::model::Audience>,
}

#[derive(Debug, Deserialize, JsonSchema, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct VodOverride {
    #[serde(default)]
    pub enabled: Option<bool>,
}
