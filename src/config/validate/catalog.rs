//! A provider's catalog: its regions, limits and kinds, then what the provider checks itself.

use std::collections::BTreeMap;

use super::Ctx;
use crate::config::catalog::{CatalogFile, unknown_fields};
use crate::config::rules::ProviderSet;
use crate::model::{Catalog, Kind};

pub(super) fn catalog(
    cx: &mut Ctx<'_>,
    name: &str,
    c: &CatalogFile,
    providers: &dyn ProviderSet,
) -> Option<Catalog> {
    cx.header(&c.api_version, &c.kind, "ProviderCatalog");
    let mut ok = true;
    let provider = &c.provider.value;
    // An unknown provider is the profile's error; one not built is checked no further.
    let rules = providers
        .rules(provider)
        .filter(|_| providers.built(provider));
    if provider != name {
        cx.at(
            &c.provider,
            "provider",
            format!(
                "the catalog for `{provider}` must be named providers/{provider}.yaml, not {name}"
            ),
        );
        ok = false;
    }
    if c.regions.is_empty() {
        cx.top("regions", "at least one region is required");
        ok = false;
    }
    let mut limits = vec![("rate_limit".to_string(), c.rate_limit)];
    for (service, l) in &c.service_rate_limits {
        limits.push((format!("service_rate_limits.{service}"), *l));
        let Some(rules) = rules else { continue };
        if rules.services.is_empty() {
            cx.top(
                "service_rate_limits",
                format!("the `{provider}` provider calls one API: give its `rate_limit` alone"),
            );
            ok = false;
            break;
        }
        if !rules.services.contains(&service.as_str()) {
            cx.top(
                format!("service_rate_limits.{service}"),
                format!(
                    "the {provider} provider calls no service `{service}`: {}",
                    rules.services.join(", ")
                ),
            );
            ok = false;
        }
    }
    for (r, entry) in &c.regions {
        if let Some(l) = entry.rate_limit {
            limits.push((format!("regions.{r}.rate_limit"), l));
        }
        if entry
            .price_factor
            .is_some_and(|f| !(f.is_finite() && f > 0.0))
        {
            cx.top(format!("regions.{r}.price_factor"), "must be positive");
            ok = false;
        }
    }
    for (f, l) in limits {
        if !(l.requests_per_second.is_finite() && l.requests_per_second > 0.0) || l.burst == 0 {
            cx.top(f, "requests_per_second and burst must be positive");
            ok = false;
        }
    }
    if c.retry.max_attempts == 0 {
        cx.top("retry.max_attempts", "must be at least 1");
        ok = false;
    }
    let mut kinds = BTreeMap::new();
    for (k, entry) in &c.kinds {
        match k.parse::<Kind>() {
            Ok(kind) if rules.is_none_or(|r| r.kinds.contains(&kind)) => {
                kinds.insert(kind, entry.clone());
            }
            Ok(kind) => {
                cx.top(
                    format!("kinds.{k}"),
                    format!("the `{provider}` provider makes no `{kind}`"),
                );
                ok = false;
            }
            Err(e) => {
                cx.top(format!("kinds.{k}"), e.to_string());
                ok = false;
            }
        }
        if let Some(r) = entry
            .global_region
            .as_ref()
            .filter(|r| !c.regions.contains_key(*r))
        {
            cx.top(
                format!("kinds.{k}.global_region"),
                format!("`{r}` is not one of this catalog's regions"),
            );
            ok = false;
        }
        match entry.pipelines {
            None | Some(1) => {}
            Some(2) if k == "encoder" => {}
            Some(2) => {
                cx.top(
                    format!("kinds.{k}.pipelines"),
                    "only the `encoder` kind (a managed encoding service) may run both pipelines of a dual profile",
                );
                ok = false;
            }
            Some(n) => {
                cx.top(
                    format!("kinds.{k}.pipelines"),
                    format!(
                        "a resource runs one pipeline or both of a dual profile (1 or 2), not {n}"
                    ),
                );
                ok = false;
            }
        }
        if let Some(p) = &entry.pricing {
            ok &= pricing(cx, k, p);
        }
        for field in entry.replace_why.keys() {
            if !entry.replace_on.contains(field) {
                cx.top(
                    format!("kinds.{k}.replace_why.{field}"),
                    format!(
                        "`{field}` is not in `replace_on`: a reason for a field that forces nothing"
                    ),
                );
                ok = false;
            }
        }
        if let Some(q) = &entry.quota {
            ok &= quota(cx, k, q);
        }
        if !(entry.hourly_price.is_finite() && entry.hourly_price >= 0.0) {
            cx.top(format!("kinds.{k}.hourly_price"), "must be zero or more");
            ok = false;
        }
        let timings = [
            ("provision", Some(entry.provision)),
            ("destroy", Some(entry.destroy)),
            ("update", entry.update),
        ];
        for (what, l) in timings.iter().filter_map(|(w, l)| l.map(|l| (*w, l))) {
            if l.p95 < l.median {
                cx.top(
                    format!("kinds.{k}.{what}"),
                    "p95 must not be below the median",
                );
                ok = false;
            }
            if let Some(t) = entry.timeout.filter(|t| *t < l.p95) {
                cx.top(
                    format!("kinds.{k}.timeout"),
                    format!(
                        "{t} is below the {what} p95 ({}): one step in twenty would time out",
                        l.p95
                    ),
                );
                ok = false;
            }
        }
    }
    for (key, msg) in unknown_fields(c.sections.keys().map(String::as_str), provider) {
        cx.top(key, msg);
        ok = false;
    }
    if let Some(rules) = rules {
        ok &= cx.findings((rules.catalog)(c));
    }
    if c.lead_step.is_some_and(|s| s.0.is_zero()) {
        cx.top("lead_step", "must be longer than zero");
        ok = false;
    }
    ok.then(|| Catalog {
        provider: provider.clone(),
        regions: c.regions.clone(),
        rate_limit: c.rate_limit,
        service_rate_limits: c.service_rate_limits.clone(),
        retry: c.retry,
        readiness: c.readiness.map_or(crate::model::READINESS, |d| d.0),
        lead_step: c.lead_step.map_or(crate::model::LEAD_STEP, |d| d.0),
        kinds,
        settings: c.settings().cloned(),
    })
}

/// A price table names where its figures come from and when they were read, and holds no
/// negative or unknown price class.
fn quota(cx: &mut Ctx<'_>, kind: &str, q: &crate::model::catalog_spec::Quota) -> bool {
    let mut ok = true;
    let at = |f: &str| format!("kinds.{kind}.quota.{f}");
    for (f, v) in [("service", &q.service), ("name", &q.name)] {
        if v.trim().is_empty() {
            cx.top(at(f), "must not be empty");
            ok = false;
        }
    }
    if q.per_resource == 0 {
        cx.top(
            at("per_resource"),
            "a resource takes 1 or more of the quota",
        );
        ok = false;
    }
    if let Some(d) = q.default {
        if !(d.is_finite() && d >= 0.0) {
            cx.top(at("default"), "must be zero or more");
            ok = false;
        }
        if !q
            .source
            .as_deref()
            .is_some_and(|s| s.starts_with("https://") || s.starts_with("http://"))
        {
            cx.top(
                at("source"),
                "a published default needs the URL it was read from",
            );
            ok = false;
        }
    }
    ok
}

fn pricing(cx: &mut Ctx<'_>, kind: &str, p: &crate::model::catalog_spec::Pricing) -> bool {
    let mut ok = true;
    let at = |f: &str| format!("kinds.{kind}.pricing.{f}");
    if !(p.source.starts_with("https://") || p.source.starts_with("http://")) {
        cx.top(at("source"), "must be the URL the prices were read from");
        ok = false;
    }
    if p.as_of.parse::<jiff::civil::Date>().is_err() {
        cx.top(
            at("as_of"),
            format!(
                "`{}` is not a date (YYYY-MM-DD): when the prices were read",
                p.as_of
            ),
        );
        ok = false;
    }
    let classes = ["sd", "hd", "uhd"];
    for (key, v) in &p.per_output_hour {
        let class = key.strip_prefix("h265-").unwrap_or(key);
        if !classes.contains(&class) {
            cx.top(
                at(&format!("per_output_hour.{key}")),
                "a class is sd, hd or uhd (H.264), or h265-sd, h265-hd, h265-uhd",
            );
            ok = false;
        }
        if !(v.is_finite() && *v >= 0.0) {
            cx.top(
                at(&format!("per_output_hour.{key}")),
                "must be zero or more",
            );
            ok = false;
        }
    }
    for (f, v) in [
        ("per_input_hour", p.per_input_hour),
        ("per_gb_in", p.per_gb_in),
        ("per_gb_out", p.per_gb_out),
    ] {
        if v.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
            cx.top(at(f), "must be zero or more");
            ok = false;
        }
    }
    ok
}
