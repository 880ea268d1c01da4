//! The CDN on CloudFront: a distribution in front of the event's MediaPackage endpoints, or of
//! an event group's MediaPackage v2 channel groups (`ensure_routes`, one origin per region: the
//! region's channel group's egress domain, serving that group's paths). It is made enabled; to
//! go, it is disabled, allowed to finish deploying, then deleted, as CloudFront requires. Its comment carries the name it was made under, which is
//! also its caller reference, so a retried create finds it instead of making a second one.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::types::{
    CacheBehavior, CacheBehaviors, CustomOriginConfig, DefaultCacheBehavior, DistributionConfig,
    DistributionConfigWithTags, Origin, OriginProtocolPolicy, Origins, Tag, Tags,
    ViewerProtocolPolicy,
};
use serde_json::{Value, json};

use super::errors::{classify, is_not_found};
use super::once;
use crate::providers::ProviderError;
use crate::providers::aws::Made;

/// CloudFront's managed "CachingOptimized" policy: honours the origin's Cache-Control, which
/// MediaPackage sets short on manifests and long on segments.
const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
const ORIGIN_ID: &str = "mediapackage";

fn invalid(what: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Permanent(format!("CloudFront {what}: {e}"))
}

/// A distribution as listed.
pub struct Dist {
    pub id: String,
    pub arn: String,
    /// The name it was made under.
    pub comment: String,
    pub domain: String,
}

pub async fn distributions(client: &Client) -> Result<Vec<Dist>, ProviderError> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = client
            .list_distributions()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| classify("CloudFront ListDistributions", e))?;
        let Some(list) = page.distribution_list() else {
            return Ok(out);
        };
        for d in list.items() {
            let mut comment = d.comment().to_string();
            if comment.is_empty() {
                // Some emulators leave the comment out of the listing: read the configuration.
                comment = client
                    .get_distribution_config()
                    .id(d.id())
                    .send()
                    .await
                    .map_err(|e| {
                        classify(&format!("CloudFront GetDistributionConfig {}", d.id()), e)
                    })?
                    .distribution_config()
                    .map(|c| c.comment().to_string())
                    .unwrap_or_default();
            }
            out.push(Dist {
                id: d.id().to_string(),
                arn: d.arn().to_string(),
                comment,
                domain: d.domain_name().to_string(),
            });
        }
        match list.next_marker() {
            Some(m) if list.is_truncated() && !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(out),
        }
    }
}

/// A distribution's tags.
pub async fn tags(client: &Client, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let t = client
        .list_tags_for_resource()
        .resource(arn)
        .send()
        .await
        .map_err(|e| classify(&format!("CloudFront ListTagsForResource {arn}"), e))?;
    Ok(t.tags()
        .map(|t| {
            t.items()
                .iter()
                .map(|i| {
                    (
                        i.key().to_string(),
                        i.value().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Makes (or finds) the distribution `name` in front of `origin_url` (an endpoint URL whose
/// host is the origin and whose path viewers ask for).
pub async fn create(
    client: &Client,
    name: &str,
    origin_url: &str,
    tags: &BTreeMap<String, String>,
) -> Result<Made, ProviderError> {
    let url = reqwest::Url::parse(origin_url)
        .map_err(|e| invalid(&format!("origin URL `{origin_url}`"), e))?;
    let host = url
        .host_str()
        .ok_or_else(|| invalid("origin URL", format!("`{origin_url}` has no host")))?;
    let path = url.path();
    let (id, domain) = ensure(client, name, host, tags).await?;
    // Viewers ask the distribution for the endpoint's path.
    let manifest = format!("https://{domain}{path}");
    let hls = if path.ends_with(".m3u8") {
        Value::String(manifest.clone())
    } else {
        Value::Null
    };
    Ok(Made {
        outputs: json!({
            "distribution_id": id,
            "domain_name": domain,
            "manifest_url": manifest,
            (crate::model::HLS_MANIFEST): hls,
        }),
        id,
    })
}

/// One origin of a distribution: the HTTPS host, and the paths it serves (`None`: every path
/// no other origin claims).
pub struct Route<'a> {
    pub id: &'a str,
    pub host: &'a str,
    pub paths: Option<&'a str>,
}

/// Makes (or finds) the distribution `name` in front of the HTTPS origin `host`, passing on
/// every path; answers its id and domain name.
pub async fn ensure(
    client: &Client,
    name: &str,
    host: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(String, String), ProviderError> {
    let route = Route {
        id: ORIGIN_ID,
        host,
        paths: None,
    };
    ensure_routes(client, name, &[route], tags).await
}

/// Makes (or finds) the distribution `name` in front of several HTTPS origins, each serving
/// the paths of its route (the first also every other path); answers its id and domain name.
pub async fn ensure_routes(
    client: &Client,
    name: &str,
    routes: &[Route<'_>],
    tags: &BTreeMap<String, String>,
) -> Result<(String, String), ProviderError> {
    if let Some(d) = distributions(client)
        .await?
        .into_iter()
        .find(|d| d.comment == name)
    {
        converge(client, &d.id, routes).await?;
        return Ok((d.id, d.domain));
    }
    let (origins, default, behaviours) = routing(routes)?;
    let config = DistributionConfig::builder()
        .caller_reference(name)
        .comment(name)
        .enabled(true)
        .origins(origins)
        .default_cache_behavior(default)
        .set_cache_behaviors(behaviours)
        .build()
        .map_err(|e| invalid("distribution config", e))?;
    let items = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("tags", e))?;
    let made = client
        .create_distribution_with_tags()
        .distribution_config_with_tags(
            DistributionConfigWithTags::builder()
                .distribution_config(config)
                .tags(Tags::builder().set_items(Some(items)).build())
                .build(),
        )
        .customize()
        .config_override(once!(aws_sdk_cloudfront))
        .send()
        .await
        .map_err(|e| classify(&format!("CloudFront CreateDistributionWithTags {name}"), e))?;
    let d = made.distribution().ok_or_else(|| {
        invalid(
            "CreateDistributionWithTags",
            "no distribution in the answer",
        )
    })?;
    Ok((d.id().to_string(), d.domain_name().to_string()))
}

/// The origins, default behaviour (to the first route) and path behaviours of `routes`.
fn routing(
    routes: &[Route<'_>],
) -> Result<(Origins, DefaultCacheBehavior, Option<CacheBehaviors>), ProviderError> {
    let first = routes
        .first()
        .ok_or_else(|| invalid("distribution", "no origin to put it in front of"))?;
    let origins = routes
        .iter()
        .map(|r| {
            Origin::builder()
                .id(r.id)
                .domain_name(r.host)
                .custom_origin_config(
                    CustomOriginConfig::builder()
                        .http_port(80)
                        .https_port(443)
                        .origin_protocol_policy(OriginProtocolPolicy::HttpsOnly)
                        .build()
                        .map_err(|e| invalid("origin", e))?,
                )
                .build()
                .map_err(|e| invalid("origin", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let behaviours = routes
        .iter()
        .filter_map(|r| Some((r.id, r.paths?)))
        .map(|(id, paths)| {
            CacheBehavior::builder()
                .path_pattern(paths)
                .target_origin_id(id)
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .cache_policy_id(CACHING_OPTIMIZED)
                .build()
                .map_err(|e| invalid("cache behaviour", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let default = DefaultCacheBehavior::builder()
        .target_origin_id(first.id)
        .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
        .cache_policy_id(CACHING_OPTIMIZED)
        .build()
        .map_err(|e| invalid("cache behaviour", e))?;
    let behaviours = if behaviours.is_empty() {
        None
    } else {
        Some(
            CacheBehaviors::builder()
                .quantity(behaviours.len() as i32)
                .set_items(Some(behaviours))
                .build()
                .map_err(|e| invalid("cache behaviours", e))?,
        )
    };
    let origins = Origins::builder()
        .quantity(origins.len() as i32)
        .set_items(Some(origins))
        .build()
        .map_err(|e| invalid("origins", e))?;
    Ok((origins, default, behaviours))
}

/// Each origin (id → host) and each behaviour (path → origin id) of a configuration.
type Routing = (BTreeMap<String, String>, BTreeMap<String, String>);

fn routing_of(origins: &Origins, behaviours: Option<&CacheBehaviors>) -> Routing {
    (
        origins
            .items()
            .iter()
            .map(|o| (o.id().to_string(), o.domain_name().to_string()))
            .collect(),
        behaviours
            .map(|b| b.items())
            .unwrap_or_default()
            .iter()
            .map(|b| {
                (
                    b.path_pattern().to_string(),
                    b.target_origin_id().to_string(),
                )
            })
            .collect(),
    )
}

/// Brings an existing distribution's origins and behaviours to `routes`, in place
/// (UpdateDistribution with the configuration's ETag); the rest of its configuration stays.
async fn converge(client: &Client, id: &str, routes: &[Route<'_>]) -> Result<(), ProviderError> {
    let got = client
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .map_err(|e| classify(&format!("CloudFront GetDistributionConfig {id}"), e))?;
    let Some(config) = got.distribution_config() else {
        return Ok(());
    };
    let (origins, default, behaviours) = routing(routes)?;
    let now = config
        .origins()
        .map(|o| routing_of(o, config.cache_behaviors()))
        .unwrap_or_default();
    let want = routing_of(&origins, behaviours.as_ref());
    let first = config
        .default_cache_behavior()
        .map(|d| d.target_origin_id().to_string());
    if now == want && first.as_deref() == Some(default.target_origin_id()) {
        return Ok(());
    }
    let mut changed = config.clone();
    changed.origins = Some(origins);
    changed.cache_behaviors = behaviours;
    if let Some(d) = changed.default_cache_behavior.as_mut() {
        d.target_origin_id = default.target_origin_id().to_string();
    }
    client
        .update_distribution()
        .id(id)
        .if_match(got.e_tag().unwrap_or_default())
        .distribution_config(changed)
        .send()
        .await
        .map_err(|e| classify(&format!("CloudFront UpdateDistribution {id}"), e))?;
    Ok(())
}

/// Disables the distribution, waits until that is deployed, then deletes it.
pub async fn delete(client: &Client, id: &str) -> Result<(), ProviderError> {
    let got = match client.get_distribution_config().id(id).send().await {
        Ok(g) => g,
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => {
            return Err(classify(
                &format!("CloudFront GetDistributionConfig {id}"),
                e,
            ));
        }
    };
    let mut etag = got.e_tag().unwrap_or_default().to_string();
    if let Some(config) = got.distribution_config().filter(|c| c.enabled) {
        let mut disabled = config.clone();
        disabled.enabled = false;
        let upd = client
            .update_distribution()
            .id(id)
            .if_match(&etag)
            .distribution_config(disabled)
            .send()
            .await
            .map_err(|e| classify(&format!("CloudFront UpdateDistribution {id} (disable)"), e))?;
        etag = upd.e_tag().unwrap_or_default().to_string();
    }
    // Deleting is refused until the disabled configuration is deployed: minutes on AWS. The
    // executor's step timeout bounds the wait.
    let mut pause = Duration::from_millis(200);
    loop {
        let d = match client.get_distribution().id(id).send().await {
            Ok(d) => d,
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(classify(&format!("CloudFront GetDistribution {id}"), e)),
        };
        if let Some(t) = d.e_tag() {
            etag = t.to_string();
        }
        if d.distribution().is_some_and(|d| d.status() == "Deployed") {
            break;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(30));
    }
    match client
        .delete_distribution()
        .id(id)
        .if_match(&etag)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(classify(&format!("CloudFront DeleteDistribution {id}"), e)),
    }
}
