//! `kind: ProviderCatalog`: what a provider offers: regions, resource kinds with prices and
//! typical timings, API rate limits, retry policy. Credentials never live here.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::duration::HumanDuration;
pub use crate::model::catalog_spec::*;

/// Unknown top-level fields are refused by validation rather than by the parser: the provider's
/// own section is named after it, which the file's types cannot know.
#[derive(Debug, Deserialize, JsonSchema)]
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
    /// The provider's own settings, under its name (`local:` in providers/local.yaml), read
    /// and checked by the provider (docs/providers.md lists each provider's); any other
    /// unknown field lands here too, for validation to refuse.
    #[serde(flatten)]
    #[schemars(skip)]
    pub sections: BTreeMap<String, serde_json::Value>,
}

/// The fields a catalog file has besides its provider's own section.
pub const CATALOG_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "provider",
    "regions",
    "rate_limit",
    "service_rate_limits",
    "retry",
    "readiness",
    "lead_step",
    "kinds",
];

/// Each top-level key of a catalog for `provider` that is none of its fields nor the provider's
/// own section, with the message that says so.
pub fn unknown_fields<'a>(
    keys: impl IntoIterator<Item = &'a str>,
    provider: &str,
) -> Vec<(&'a str, String)> {
    let mut expected = CATALOG_FIELDS.to_vec();
    expected.push(provider);
    keys.into_iter()
        .filter(|k| !expected.contains(k))
        .map(|k| (k, super::yaml::unknown_name("field", k, &expected)))
        .collect()
}

/// A catalog's unknown top-level fields, read without its types: reported beside a parse
/// error, which would otherwise say only that a required field whose name was mistyped is
/// missing.
pub fn unknown_fields_in(path: &std::path::Path, text: &str) -> Vec<super::Diagnostic> {
    #[derive(Deserialize)]
    struct Top {
        #[serde(default)]
        provider: Option<String>,
        #[serde(flatten)]
        rest: BTreeMap<String, serde::de::IgnoredAny>,
    }
    let Ok(top) = serde_saphyr::from_str::<Top>(text) else {
        return Vec::new();
    };
    let provider = top.provider.unwrap_or_default();
    let at = super::locate::Locator::new(text);
    unknown_fields(top.rest.keys().map(String::as_str), &provider)
        .into_iter()
        .map(|(k, msg)| {
            let (line, col) = at.find(k);
            super::Diagnostic::new(path, line, col, k, msg)
        })
        .collect()
}

impl CatalogFile {
    /// The provider's own section: the one named after it.
    pub fn settings(&self) -> Option<&serde_json::Value> {
        self.sections.get(&self.provider.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list unknown fields are told by stays the file's own fields.
    #[test]
    fn catalog_fields_are_the_files_fields() {
        let schema = serde_json::to_value(schemars::schema_for!(CatalogFile)).unwrap();
        let mut fields: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        let mut listed = CATALOG_FIELDS.to_vec();
        listed.sort_unstable();
        assert_eq!(fields, listed);
    }
}
