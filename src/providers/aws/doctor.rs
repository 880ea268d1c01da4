//! `orchestrate doctor` on aws: which credentials the SDK found and whose they are (STS), the
//! roles the catalog names (IAM: each exists and trusts the service that assumes it), and the
//! season's peak per region against the account's quotas (Service Quotas, else the catalog's
//! published default).

use std::collections::BTreeMap;

use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials as _;

use super::AwsProvider;
use super::errors::{classify, is_not_found};
use crate::model::catalog_spec::{Quota, QuotaScope};
use crate::model::{Kind, KindEntry};
use crate::plan::peaks::Needs;
use crate::providers::Check;

/// IAM and STS are global; they are signed for this region.
const GLOBAL_REGION: &str = "us-east-1";

/// The service that assumes each kind's role, and how the catalog names the role.
const ROLES: &[(Kind, &str, &str)] = &[
    (Kind::Encoder, "medialive.amazonaws.com", "MediaLive"),
    (Kind::Vod, "mediapackage.amazonaws.com", "MediaPackage"),
    // The key server's caller, with `origin.drm`.
    (Kind::Origin, "mediapackage.amazonaws.com", "MediaPackage"),
    (Kind::Instance, "ec2.amazonaws.com", "EC2"),
];

macro_rules! client {
    ($sdk:ident, $conf:expr, $region:expr, $endpoint:expr) => {{
        let mut b = $sdk::config::Builder::from($conf).region(Region::new($region.to_string()));
        if let Some(url) = $endpoint {
            b = b.endpoint_url(url);
        }
        $sdk::Client::from_conf(b.build())
    }};
}

impl AwsProvider {
    pub(super) async fn doctor(&self, needs: &Needs) -> Vec<Check> {
        let sdk = self.sdk().await;
        let global = self.home_region().and_then(|r| self.endpoint(r));
        let mut out = vec![credentials(sdk, global.clone()).await];
        let iam = client!(aws_sdk_iam, sdk, GLOBAL_REGION, global.clone());
        for (kind, service, by) in ROLES {
            let Some(role) = self.catalog.kinds.get(kind).and_then(|k| k.role.as_deref()) else {
                continue;
            };
            if needs.kinds.contains(kind) {
                out.push(role_check(&iam, *kind, role, service, by).await);
            }
        }
        for (kind, entry) in &self.catalog.kinds {
            if let Some(q) = entry.quota.as_ref().filter(|_| needs.kinds.contains(kind)) {
                out.extend(self.quota_checks(sdk, *kind, entry, q, needs).await);
            }
        }
        out
    }

    async fn quota_checks(
        &self,
        sdk: &SdkConfig,
        kind: Kind,
        entry: &KindEntry,
        q: &Quota,
        needs: &Needs,
    ) -> Vec<Check> {
        // Where the quota is counted, and the most the season holds there at once.
        let places: Vec<(String, usize)> = match q.per {
            QuotaScope::Region => needs
                .per_region
                .iter()
                .filter(|((_, k), _)| *k == kind)
                .map(|((r, _), n)| (r.clone(), *n))
                .collect(),
            QuotaScope::Account => {
                let region = entry
                    .global_region
                    .clone()
                    .or_else(|| self.home_region().map(String::from))
                    .unwrap_or_else(|| GLOBAL_REGION.to_string());
                vec![(region, needs.overall.get(&kind).copied().unwrap_or(0))]
            }
        };
        let mut out = Vec::new();
        for (region, peak) in places {
            let client = client!(aws_sdk_servicequotas, sdk, region, self.endpoint(&region));
            let name = match q.per {
                QuotaScope::Region => format!("quota {kind} {region}"),
                QuotaScope::Account => format!("quota {kind}"),
            };
            let need = peak.saturating_mul(q.per_resource as usize);
            let unit = if q.per_resource == 1 {
                String::new()
            } else {
                format!(" ({peak} × {} each)", q.per_resource)
            };
            let found = quota_value(&client, q).await;
            out.push(match found {
                Ok(Some(value)) => judge(&name, q, need, &unit, value, "Service Quotas"),
                Ok(None) | Err(_) if q.default.is_some() => {
                    let value = q.default.unwrap_or_default();
                    let mut c = judge(&name, q, need, &unit, value, "the published default");
                    if c.status == crate::providers::CheckStatus::Pass {
                        c = Check::warn(&name, format!("{}; Service Quotas did not say, so the account's own may be lower", c.detail));
                    }
                    c
                }
                Ok(None) => Check::warn(
                    &name,
                    format!(
                        "Service Quotas lists no `{}` quota named `{}`: check the account holds {need}{unit} at once",
                        q.service, q.name
                    ),
                ),
                Err(e) => Check::warn(
                    &name,
                    format!("the quota cannot be read ({e}): check the account holds {need}{unit} at once"),
                ),
            });
        }
        out
    }
}

/// Pass when `need` fits `value`, fail when it does not.
fn judge(name: &str, q: &Quota, need: usize, unit: &str, value: f64, from: &str) -> Check {
    let said = format!(
        "`{}` {} is {value} ({from}); the season holds at most {need}{unit} at once",
        q.service, q.name
    );
    if (need as f64) <= value {
        Check::pass(name, said)
    } else {
        Check::fail(
            name,
            format!("{said}: ask for more in Service Quotas, or spread the schedule"),
        )
    }
}

/// The quota's value: the account's applied one, else AWS's default; `None` when neither list
/// names it.
async fn quota_value(
    client: &aws_sdk_servicequotas::Client,
    q: &Quota,
) -> Result<Option<f64>, crate::providers::ProviderError> {
    let named = |list: &[aws_sdk_servicequotas::types::ServiceQuota]| {
        list.iter()
            .find(|s| {
                s.quota_name()
                    .is_some_and(|n| n.eq_ignore_ascii_case(q.name.trim()))
            })
            .and_then(|s| s.value())
    };
    let applied: Vec<_> = client
        .list_service_quotas()
        .service_code(&q.service)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("Service Quotas ListServiceQuotas", e))?;
    if let Some(v) = named(&applied) {
        return Ok(Some(v));
    }
    let defaults: Vec<_> = client
        .list_aws_default_service_quotas()
        .service_code(&q.service)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("Service Quotas ListAWSDefaultServiceQuotas", e))?;
    Ok(named(&defaults))
}

/// Which credentials the SDK's chain found, and whose they are.
async fn credentials(sdk: &SdkConfig, endpoint: Option<String>) -> Check {
    const NAME: &str = "credentials";
    let Some(chain) = sdk.credentials_provider() else {
        return Check::fail(NAME, "the SDK has no credentials provider");
    };
    let creds = match chain.provide_credentials().await {
        Ok(c) => c,
        Err(e) => {
            return Check::fail(
                NAME,
                format!(
                    "none found ({e}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile in ~/.aws (AWS_PROFILE), or run with an instance or container role"
                ),
            );
        }
    };
    let source = source_of(&format!("{creds:?}"));
    let sts = client!(aws_sdk_sts, sdk, GLOBAL_REGION, endpoint);
    match sts.get_caller_identity().send().await {
        Ok(who) => Check::pass(
            NAME,
            format!(
                "from {source}: {} (account {})",
                who.arn().unwrap_or("?"),
                who.account().unwrap_or("?")
            ),
        ),
        Err(e) => Check::fail(
            NAME,
            format!(
                "from {source}, refused: {}",
                classify("STS GetCallerIdentity", e)
            ),
        ),
    }
}

/// The provider's name in the credentials' debug form (`provider_name: "Environment"`); the
/// rest of that form (the key's id) is never shown.
fn source_of(debug: &str) -> String {
    debug
        .split_once("provider_name: \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or_else(
            || "the SDK's chain".to_string(),
            |(name, _)| name.to_string(),
        )
}

/// The role `role` (an ARN, or an instance profile's name for EC2) exists and trusts
/// `service`.
async fn role_check(
    iam: &aws_sdk_iam::Client,
    kind: Kind,
    role: &str,
    service: &str,
    by: &str,
) -> Check {
    let name = format!("role {kind}");
    let trust = if kind == Kind::Instance {
        match iam
            .get_instance_profile()
            .instance_profile_name(role)
            .send()
            .await
        {
            Ok(p) => p
                .instance_profile()
                .and_then(|p| p.roles().first())
                .and_then(|r| r.assume_role_policy_document())
                .map(String::from),
            Err(e) if is_not_found(&e) => {
                return Check::fail(
                    &name,
                    format!(
                        "the instance profile `{role}` does not exist: create it (docs/aws-iam.md)"
                    ),
                );
            }
            Err(e) => {
                return Check::warn(
                    &name,
                    format!(
                        "`{role}` cannot be read: {}",
                        classify("IAM GetInstanceProfile", e)
                    ),
                );
            }
        }
    } else {
        let role_name = role.rsplit('/').next().unwrap_or(role);
        match iam.get_role().role_name(role_name).send().await {
            Ok(r) => r
                .role()
                .and_then(|r| r.assume_role_policy_document())
                .map(String::from),
            Err(e) if is_not_found(&e) => {
                return Check::fail(
                    &name,
                    format!("`{role}` does not exist: create it (docs/aws-iam.md)"),
                );
            }
            Err(e) => {
                return Check::warn(
                    &name,
                    format!("`{role}` cannot be read: {}", classify("IAM GetRole", e)),
                );
            }
        }
    };
    match trust.as_deref().map(trusts) {
        Some(services) if services.iter().any(|s| s == service) => Check::pass(
            &name,
            format!("`{role}` exists, and {by} may assume it ({service})"),
        ),
        Some(_) => Check::fail(
            &name,
            format!(
                "`{role}` exists but does not trust {service}: {by} cannot assume it; add it to the role's trust policy"
            ),
        ),
        None => Check::fail(&name, format!("`{role}` has no role or trust policy")),
    }
}

/// The services a trust policy lets assume the role (`Principal.Service` of each `Allow`
/// statement for `sts:AssumeRole`). IAM returns the document URL-encoded.
fn trusts(document: &str) -> Vec<String> {
    let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(&decoded) else {
        return Vec::new();
    };
    let many = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        }
    };
    let statements = match &doc["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        one @ serde_json::Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    };
    let mut out = BTreeMap::new();
    for s in statements {
        let allows = s["Effect"] == "Allow"
            && many(&s["Action"])
                .iter()
                .any(|a| a == "sts:AssumeRole" || a == "sts:*" || a == "*");
        if allows {
            for svc in many(&s["Principal"]["Service"]) {
                out.insert(svc, ());
            }
        }
    }
    out.into_keys().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trust_policy_names_the_services_it_lets_assume_the_role() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"Service":["medialive.amazonaws.com"]},"Action":"sts:AssumeRole"},
            {"Effect":"Deny","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":["sts:AssumeRole"]}]}"#;
        assert_eq!(trusts(doc), ["medialive.amazonaws.com"]);
        // As IAM returns it.
        let encoded: String =
            percent_encoding::utf8_percent_encode(doc, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        assert_eq!(trusts(&encoded), ["medialive.amazonaws.com"]);
        let one = r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"mediapackage.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
        assert_eq!(trusts(one), ["mediapackage.amazonaws.com"]);
        assert!(trusts("not json").is_empty());
    }

    #[test]
    fn the_credentials_source_is_read_from_their_debug_form_only() {
        let debug = r#"Credentials { provider_name: "Environment", access_key_id: "AKIA…", secret_access_key: "** redacted **" }"#;
        assert_eq!(source_of(debug), "Environment");
        assert_eq!(source_of("Credentials { }"), "the SDK's chain");
    }

    #[test]
    fn a_peak_above_the_quota_fails_and_says_how_much() {
        let q = Quota {
            service: "ec2".into(),
            name: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances".into(),
            per: QuotaScope::Region,
            per_resource: 8,
            default: None,
            source: None,
        };
        let c = judge(
            "quota instance eu-west-1",
            &q,
            16,
            " (2 × 8 each)",
            16.0,
            "x",
        );
        assert_eq!(c.status, crate::providers::CheckStatus::Pass);
        let c = judge(
            "quota instance eu-west-1",
            &q,
            24,
            " (3 × 8 each)",
            16.0,
            "x",
        );
        assert_eq!(c.status, crate::providers::CheckStatus::Fail);
        assert!(
            c.detail.contains("at most 24 (3 × 8 each) at once"),
            "{}",
            c.detail
        );
    }
}
