//! `kind: Profile`: how one event's infrastructure is built, per region.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

pub use crate::model::profile_spec::*;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    #[serde(rename = "apiVersion")]
    #[schemars(with = "String")]
    pub api_version: Spanned<String>,
    #[schemars(with = "String")]
    pub kind: Spanned<String>,
    /// `local`, `aws`, `azure`, `kubernetes` or `sim`; a catalog `providers/<provider>.yaml` must exist.
    #[schemars(with = "String")]
    pub provider: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Default lead for events using this profile: a duration or `auto`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub lead: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub grace: Option<Spanned<String>>,
    pub encoder: EncoderSpec,
    #[serde(default)]
    pub origin: OriginSpec,
    #[serde(default)]
    pub cdn: CdnSpec,
    #[serde(default)]
    pub vod: VodSpec,
    #[serde(default)]
    pub monitoring: MonitoringSpec,
}
