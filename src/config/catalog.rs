//! `kind: ProviderCatalog`: what a provider offers: regions, resource kinds with prices and
//! typical timings, API rate limits, retry policy. Credentials never live here.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::duration::HumanDuration;
pub use crate::model::catalog_spec::*;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    #[serde(rename = "apiVersion")]
    #[schemars(with = "String")]
    pub api_version: Spanned<String>,
    #[schemars(with = "String")]
    pub kind: Spanned<String>,
    #[schemars(with = "String")]
    pub provider: Spanned<String>,
    pub regions: BTreeMap<String, RegionEntry>,
    /// Default API rate limit per region: the executor's steps (each attempt of a create or
    /// delete) take a token.
    #[serde(default)]
    pub rate_limit: RateLimit,
    /// The API rate limit of each of the provider's services in a region, held on every
    /// request made to it (polls and retries included), for providers that call several
    /// services; each provider names its own (docs/providers.md).
    #[serde(default)]
    pub service_rate_limits: BTreeMap<String, RateLimit>,
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Added to an `auto` lead for checks after the last resource is ready (default 60s).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub readiness: Option<HumanDuration>,
    /// `auto` leads are rounded up to a multiple of this (default 1m).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub lead_step: Option<HumanDuration>,
    /// Resource kinds this provider creates; each has a template `templates/<provider>/<kind>.tera`.
    pub kinds: BTreeMap<String, KindEntry>,
    /// The provider's own settings, read and checked by the provider (docs/providers.md
    /// lists each provider's).
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, serde_json::Value>>")]
    pub settings: Option<serde_json::Value>,
}
