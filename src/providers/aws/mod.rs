//! Amazon Web Services through the AWS SDK for Rust. Credentials come from the standard chain
//! (environment, profile, instance role); a region's `endpoint` in `providers/aws.yaml` points
//! the SDK at an emulator such as moto_server.
//!
//! Kinds: `archive` is an S3 bucket, `origin` a MediaPackage (v1) channel with its endpoints,
//! `input` and `encoder` a MediaLive input (with its input security group, for a push) and
//! channel, `firewall` and `instance` an EC2 security group and an EC2 encoder, `cdn` a
//! CloudFront distribution, `vod` a MediaPackage (v1 or v2) harvest job into its own S3 bucket. Every
//! object is named from its owner and resource id (`names`), tagged, and looked up before it
//! is made, so a retried or resumed create adopts what an earlier attempt left.
//!
//! A CDN shared by an event group (`cdn.shared`) is one distribution per group (CloudFront is
//! global: `global_region` in the catalog) in front of a MediaPackage v2 channel group in each
//! region the group plays in, which it makes first: a channel group's egress domain serves all
//! of its channels, so the group's events' origins are v2 channels in their region's group,
//! each region's group is the distribution's origin for its own paths (`/out/v1/<group>/*`),
//! and each event is watched through the distribution at its own endpoint's path.
//!
//! Not built yet: encrypted SRT sources, and DRM of the VOD's own (a harvest keeps the live
//! keys).

pub(crate) mod checks;
mod cloudfront;
mod doctor;
mod ec2;
mod errors;
mod harvest;
mod harvest_v2;
mod health;
mod limits;
mod medialive;
mod mediapackage;
mod mediapackage_v2;
pub mod names;
mod register;
mod s3;
mod speke;
mod speke_v2;
mod update;

pub use register::REGISTRATION;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::OnceCell;

use super::{Created, EncoderHealth, InventoryItem, Provider, ProviderError};
use crate::model::{
    Catalog, Kind, RateLimit, RecordedResource, ResourceSpec, RetryPolicy, TAG_EVENT, TAG_OWNER,
    TAG_REGION,
};

/// Tells a VOD's bucket from an archive's, both tagged as ours.
const TAG_KIND: &str = "orchestrate:kind";

pub use names::bucket as bucket_name;

/// One SDK client per service and region, made on first use.
struct Clients<C>(Mutex<HashMap<String, C>>);

impl<C: Clone> Clients<C> {
    fn new() -> Self {
        Self(Mutex::new(HashMap::new()))
    }

    fn get_or(&self, region: &str, make: impl FnOnce() -> C) -> C {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(region.to_string()).or_insert_with(make).clone()
    }
}

pub struct AwsProvider {
    catalog: Catalog,
    sdk: OnceCell<SdkConfig>,
    s3: Clients<aws_sdk_s3::Client>,
    mediapackage: Clients<aws_sdk_mediapackage::Client>,
    mediapackage_v2: Clients<aws_sdk_mediapackagev2::Client>,
    medialive: Clients<aws_sdk_medialive::Client>,
    cloudfront: Clients<aws_sdk_cloudfront::Client>,
    ec2: Clients<aws_sdk_ec2::Client>,
    /// T1's answers, kept a while: MediaLive channel states by region, alerts by channel.
    channels_health: medialive::HealthCaches,
    /// By (service, region): the bucket each request to the service there waits on.
    limits: Mutex<HashMap<(String, String), Arc<crate::ratelimit::TokenBucket>>>,
}

/// Attempts the SDK makes of one call before the error goes to the step.
const CALL_ATTEMPTS: u32 = 5;

/// A create's answer may be lost after the object was made: the SDK must not send it again
/// blindly (not every service, nor every emulator, honours the request's idempotency token).
macro_rules! once {
    ($krate:ident) => {
        $krate::config::Builder::default().retry_config(aws_config::retry::RetryConfig::disabled())
    };
}
pub(crate) use once;

/// CloudFront is global; its API is signed for this region.
const CLOUDFRONT_REGION: &str = "us-east-1";

impl AwsProvider {
    pub fn open(catalog: Catalog) -> Self {
        Self {
            catalog,
            sdk: OnceCell::new(),
            s3: Clients::new(),
            mediapackage: Clients::new(),
            mediapackage_v2: Clients::new(),
            medialive: Clients::new(),
            cloudfront: Clients::new(),
            ec2: Clients::new(),
            limits: Mutex::new(HashMap::new()),
            channels_health: medialive::HealthCaches {
                states: health::Cache::new(health::STATES_FOR),
                alerts: health::Cache::new(health::ALERTS_FOR),
                paused: health::Cache::new(health::ALERTS_FOR),
            },
        }
    }

    /// The HTTP client holding `service`'s rate limit in `region`, when the catalog sets one.
    fn limited(
        &self,
        service: &str,
        region: &str,
    ) -> Option<aws_smithy_runtime_api::client::http::SharedHttpClient> {
        let limit = *self.catalog.service_rate_limits.get(service)?;
        let bucket = self
            .limits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((service.to_string(), region.to_string()))
            .or_insert_with(|| Arc::new(crate::ratelimit::TokenBucket::new(limit)))
            .clone();
        Some(limits::limited(bucket))
    }

    /// The shared SDK configuration: credentials and settings from the standard chain. Each
    /// call is retried by the SDK on throttling and server errors (a step makes several), with
    /// the catalog's backoff; creates are not (see `once`): the executor retries their step,
    /// which looks the object up before making it again.
    async fn sdk(&self) -> &SdkConfig {
        let retry = self.catalog.retry;
        self.sdk
            .get_or_init(|| async move {
                aws_config::defaults(BehaviorVersion::latest())
                    .retry_config(
                        aws_config::retry::RetryConfig::standard()
                            .with_max_attempts(CALL_ATTEMPTS)
                            .with_initial_backoff(retry.base_delay.0)
                            .with_max_backoff(retry.max_delay.0),
                    )
                    .timeout_config(
                        aws_config::timeout::TimeoutConfig::builder()
                            .connect_timeout(Duration::from_secs(5))
                            .operation_attempt_timeout(Duration::from_secs(60))
                            .build(),
                    )
                    .load()
                    .await
            })
            .await
    }

    fn endpoint(&self, region: &str) -> Option<String> {
        self.catalog.regions.get(region)?.endpoint.clone()
    }

    async fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let sdk = self.sdk().await;
        self.s3.get_or(region, || {
            let mut b =
                aws_sdk_s3::config::Builder::from(sdk).region(Region::new(region.to_string()));
            if let Some(http) = self.limited("s3", region) {
                b = b.http_client(http);
            }
            if let Some(url) = self.endpoint(region) {
                // Emulators serve buckets by path, not by host name.
                b = b.endpoint_url(url).force_path_style(true);
            }
            aws_sdk_s3::Client::from_conf(b.build())
        })
    }

    async fn mediapackage(&self, region: &str) -> aws_sdk_mediapackage::Client {
        let sdk = self.sdk().await;
        self.mediapackage.get_or(region, || {
            let mut b = aws_sdk_mediapackage::config::Builder::from(sdk)
                .region(Region::new(region.to_string()));
            if let Some(http) = self.limited("mediapackage", region) {
                b = b.http_client(http);
            }
            if let Some(url) = self.endpoint(region) {
                b = b.endpoint_url(url);
            }
            aws_sdk_mediapackage::Client::from_conf(b.build())
        })
    }

    async fn mediapackage_v2(&self, region: &str) -> aws_sdk_mediapackagev2::Client {
        let sdk = self.sdk().await;
        self.mediapackage_v2.get_or(region, || {
            let mut b = aws_sdk_mediapackagev2::config::Builder::from(sdk)
                .region(Region::new(region.to_string()));
            if let Some(http) = self.limited("mediapackagev2", region) {
                b = b.http_client(http);
            }
            if let Some(url) = self.endpoint(region) {
                b = b.endpoint_url(url);
            }
            aws_sdk_mediapackagev2::Client::from_conf(b.build())
        })
    }

    async fn medialive(&self, region: &str) -> aws_sdk_medialive::Client {
        let sdk = self.sdk().await;
        self.medialive.get_or(region, || {
            let mut b = aws_sdk_medialive::config::Builder::from(sdk)
                .region(Region::new(region.to_string()));
            if let Some(http) = self.limited("medialive", region) {
                b = b.http_client(http);
            }
            if let Some(url) = self.endpoint(region) {
                b = b.endpoint_url(url);
            }
            aws_sdk_medialive::Client::from_conf(b.build())
        })
    }

    async fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        let sdk = self.sdk().await;
        self.ec2.get_or(region, || {
            let mut b =
                aws_sdk_ec2::config::Builder::from(sdk).region(Region::new(region.to_string()));
            if let Some(http) = self.limited("ec2", region) {
                b = b.http_client(http);
            }
            if let Some(url) = self.endpoint(region) {
                b = b.endpoint_url(url);
            }
            aws_sdk_ec2::Client::from_conf(b.build())
        })
    }

    /// CloudFront's global API, reached through the emulator of `region` when it has one.
    async fn cloudfront(&self, region: &str) -> aws_sdk_cloudfront::Client {
        let sdk = self.sdk().await;
        let endpoint = self.endpoint(region);
        let key = endpoint.clone().unwrap_or_default();
        self.cloudfront.get_or(&key, || {
            let mut b = aws_sdk_cloudfront::config::Builder::from(sdk)
                .region(Region::new(CLOUDFRONT_REGION));
            if let Some(http) = self.limited("cloudfront", "global") {
                b = b.http_client(http);
            }
            if let Some(url) = endpoint {
                b = b.endpoint_url(url);
            }
            aws_sdk_cloudfront::Client::from_conf(b.build())
        })
    }

    /// Any region, for the calls that are global (buckets, distributions).
    fn home_region(&self) -> Option<&str> {
        self.catalog.regions.keys().next().map(String::as_str)
    }

    /// The endpoint URL viewers use on the MediaPackage channel `channel`: HLS, else DASH.
    async fn origin_url(&self, region: &str, channel: &str) -> Result<String, ProviderError> {
        let client = self.mediapackage(region).await;
        for packaging in ["hls", "dash"] {
            let ep = mediapackage::endpoint_id(channel, packaging);
            if let Ok(found) = client.describe_origin_endpoint().id(&ep).send().await
                && let Some(url) = found.url()
            {
                return Ok(url.to_string());
            }
        }
        Err(ProviderError::Transient(format!(
            "the MediaPackage channel {channel} has no endpoint yet"
        )))
    }

    /// The id of what `rec` made, from the state or, when its create never answered, by the
    /// name it was made under.
    async fn object_id(&self, rec: &RecordedResource) -> Result<Option<String>, ProviderError> {
        if let Some(id) = &rec.provider_id {
            return Ok(Some(id.clone()));
        }
        let spec = &rec.spec;
        let name = names::own(spec);
        let owner = spec.tags.get(TAG_OWNER);
        let ours = |n: &str, t: &BTreeMap<String, String>| n == name && t.get(TAG_OWNER) == owner;
        Ok(match spec.kind {
            Kind::Archive | Kind::Vod => Some(names::bucket(spec)),
            Kind::Origin => Some(match definition::<mediapackage::OriginDef>(spec) {
                Ok(mediapackage::OriginDef {
                    channel_group_of: Some(unit),
                    ..
                }) => format!("{}/{name}", names::channel_group(spec, &unit)),
                _ => name,
            }),
            Kind::Input => medialive::inputs(&self.medialive(&spec.region).await)
                .await?
                .into_iter()
                .find(|(_, n, _, t)| ours(n, t))
                .map(|(id, ..)| id),
            Kind::Encoder => medialive::channels(&self.medialive(&spec.region).await)
                .await?
                .into_iter()
                .find(|(_, n, _, t)| ours(n, t))
                .map(|(id, ..)| id),
            Kind::Firewall => {
                ec2::find_firewall(&self.ec2(&spec.region).await, &name, owner).await?
            }
            Kind::Instance => {
                ec2::find_instance(&self.ec2(&spec.region).await, &name, owner).await?
            }
            Kind::Cdn => cloudfront::distributions(&self.cloudfront(&spec.region).await)
                .await?
                .into_iter()
                .find(|d| d.comment == name)
                .map(|d| d.id),
        })
    }
}

/// The pieces `list` reports on their own (`InventoryItem::part`).
const CHANNEL_GROUP: &str = "channel_group";
const INPUT_FIREWALL: &str = "input_firewall";

/// The part a sweep's delete is of, which sweep writes in the definition it deletes by.
fn swept_part(rec: &RecordedResource) -> Option<&'static str> {
    let definition = rec.spec.definition.value();
    let part = definition.get(crate::providers::SWEPT_PART)?.as_str()?;
    [CHANNEL_GROUP, INPUT_FIREWALL]
        .into_iter()
        .find(|p| *p == part)
}

/// What a create made: the provider's id for it and the outputs recorded with it.
pub(crate) struct Made {
    pub id: String,
    pub outputs: Value,
}

/// The rendered template's fields, read as `T`; a mistake names the field.
/// What a MediaLive channel is made or changed from: the template's definition, read and
/// checked, and the names of what it is wired to.
struct ChannelParts {
    def: medialive::EncoderDef,
    doc: medialive::channel::ChannelDoc,
    name: String,
    /// Attachment name → the input's MediaLive name.
    inputs: BTreeMap<String, String>,
    origin: String,
    group: Option<String>,
}

impl ChannelParts {
    fn of(spec: &ResourceSpec) -> Result<Self, ProviderError> {
        let def: medialive::EncoderDef = definition(spec)?;
        let doc = medialive::channel::ChannelDoc::parse(&def.channel).map_err(|e| {
            ProviderError::Permanent(format!("templates/aws/encoder.tera rendered {e}"))
        })?;
        // Each attachment names one of the encoder's inputs.
        let mut inputs = BTreeMap::new();
        for a in doc.attachment_names() {
            if a != def.input && def.slate.as_deref() != Some(a) && def.backup.as_deref() != Some(a)
            {
                return Err(ProviderError::Permanent(format!(
                    "templates/aws/encoder.tera rendered an input attachment `{a}`, which is neither its `input`, its `slate` nor its `backup`"
                )));
            }
            inputs.insert(a.to_string(), names::sibling(spec, a));
        }
        let group = def
            .channel_group_of
            .as_deref()
            .map(|unit| names::channel_group(spec, unit));
        Ok(Self {
            name: names::own(spec),
            origin: names::sibling(spec, &def.origin),
            doc,
            inputs,
            group,
            def,
        })
    }

    fn request<'a>(&'a self, spec: &'a ResourceSpec, token: &'a str) -> medialive::NewChannel<'a> {
        medialive::NewChannel {
            name: &self.name,
            doc: &self.doc,
            inputs: self.inputs.clone(),
            mediapackage: match &self.group {
                Some(group) => medialive::channel::Package::V2 {
                    group,
                    channel: &self.origin,
                },
                None => medialive::channel::Package::V1 {
                    channel_id: &self.origin,
                },
            },
            schedule: &self.def.schedule,
            tags: &spec.tags,
            token,
        }
    }
}

fn definition<T: DeserializeOwned>(spec: &ResourceSpec) -> Result<T, ProviderError> {
    serde_path_to_error::deserialize(spec.definition.value()).map_err(|e| {
        ProviderError::Permanent(format!(
            "templates/aws/{}.tera rendered `{}`: {}",
            spec.kind,
            e.path(),
            e.inner()
        ))
    })
}

#[derive(serde::Deserialize)]
struct CdnDef {
    #[serde(default)]
    shared: bool,
    #[serde(default)]
    origin: Option<String>,
    /// A shared distribution's regions: a channel group in each.
    #[serde(default)]
    regions: Vec<String>,
}

impl CdnDef {
    /// The regions of a shared distribution's channel groups: those rendered, else its own
    /// (a definition from before distributions were global).
    fn regions<'a>(&'a self, own: &'a str) -> Vec<&'a str> {
        if self.regions.is_empty() {
            vec![own]
        } else {
            self.regions.iter().map(String::as_str).collect()
        }
    }
}

#[async_trait]
impl Provider for AwsProvider {
    fn name(&self) -> &str {
        "aws"
    }

    fn rate_limit(&self, region: &str) -> RateLimit {
        self.catalog.rate_limit_for(region)
    }

    fn retry_policy(&self) -> RetryPolicy {
        self.catalog.retry
    }

    fn step_timeout(&self, kind: Kind) -> Duration {
        self.catalog.step_timeout(kind, Duration::from_secs(900))
    }

    async fn create(&self, spec: &ResourceSpec, token: &str) -> Result<Created, ProviderError> {
        let region = spec.region.as_str();
        let (provider_id, outputs) = match spec.kind {
            Kind::Archive => {
                // The bucket's name is the idempotency key: a retried create finds it.
                let bucket = names::bucket(spec);
                s3::create_bucket(&self.s3(region).await, &bucket, region, &spec.tags).await?;
                let uri = format!("s3://{bucket}/");
                (
                    bucket.clone(),
                    serde_json::json!({ "bucket": bucket, "uri": uri }),
                )
            }
            Kind::Origin => {
                let id = names::own(spec);
                let def: mediapackage::OriginDef = definition(spec)?;
                match &def.channel_group_of {
                    Some(unit) => {
                        let group = names::channel_group(spec, unit);
                        let client = self.mediapackage_v2(region).await;
                        let out =
                            mediapackage_v2::create(&client, &group, &id, &def, &spec.tags, token)
                                .await?;
                        (format!("{group}/{id}"), out)
                    }
                    None => {
                        let client = self.mediapackage(region).await;
                        let out = mediapackage::create(&client, &id, &def, &spec.tags).await?;
                        (id, out)
                    }
                }
            }
            Kind::Input => {
                let def: medialive::InputDef = definition(spec)?;
                let client = self.medialive(region).await;
                let out =
                    medialive::create_input(&client, &names::own(spec), &def, &spec.tags, token)
                        .await?;
                (out.id, out.outputs)
            }
            Kind::Encoder => {
                let parts = ChannelParts::of(spec)?;
                let client = self.medialive(region).await;
                let out = medialive::create_channel(&client, parts.request(spec, token)).await?;
                (out.id, out.outputs)
            }
            Kind::Firewall => {
                let def: ec2::FirewallDef = definition(spec)?;
                let client = self.ec2(region).await;
                let out =
                    ec2::create_firewall(&client, &names::own(spec), &def, &spec.tags).await?;
                (out.id, out.outputs)
            }
            Kind::Instance => {
                let def: ec2::InstanceDef = definition(spec)?;
                let client = self.ec2(region).await;
                let firewall = names::sibling(spec, &def.firewall);
                let firewall_id = ec2::find_firewall(&client, &firewall, spec.tags.get(TAG_OWNER))
                    .await?
                    .ok_or_else(|| {
                        ProviderError::Transient(format!(
                            "its security group {firewall} does not exist yet"
                        ))
                    })?;
                let user_data = ec2::user_data(&def, &names::sibling(spec, &def.origin))?;
                let launch = ec2::Launch {
                    name: &names::own(spec),
                    firewall_id: &firewall_id,
                    user_data: &user_data,
                    tags: &spec.tags,
                    token,
                };
                let out = ec2::create_instance(&client, &def, launch).await?;
                (out.id, out.outputs)
            }
            Kind::Cdn => {
                let def: CdnDef = definition(spec)?;
                let name = names::own(spec);
                let client = self.cloudfront(region).await;
                let out = match (def.shared, def.origin.clone()) {
                    // The group's origins are channels of a channel group in each region the
                    // group plays in, made here, each the distribution's origin of its own
                    // paths: (region, group, its egress domain, its paths).
                    (true, _) => {
                        let mut made = Vec::new();
                        for r in def.regions(region) {
                            let group = names::channel_group_in(spec, &spec.event, r);
                            let mut tags = spec.tags.clone();
                            tags.insert(TAG_REGION.to_string(), r.to_string());
                            let mp = self.mediapackage_v2(r).await;
                            let egress =
                                mediapackage_v2::ensure_group(&mp, &group, &tags, token).await?;
                            let paths = format!("/out/v1/{group}/*");
                            made.push((r, group, egress, paths));
                        }
                        let routes: Vec<cloudfront::Route<'_>> = made
                            .iter()
                            .map(|(r, _, egress, paths)| cloudfront::Route {
                                id: r,
                                host: egress,
                                paths: Some(paths),
                            })
                            .collect();
                        let groups: serde_json::Map<String, Value> = made
                            .iter()
                            .map(|(r, g, ..)| (r.to_string(), g.as_str().into()))
                            .collect();
                        let egress: serde_json::Map<String, Value> = made
                            .iter()
                            .map(|(r, _, e, _)| (r.to_string(), e.as_str().into()))
                            .collect();
                        let (id, domain) =
                            cloudfront::ensure_routes(&client, &name, &routes, &spec.tags).await?;
                        Made {
                            outputs: serde_json::json!({
                                "distribution_id": id,
                                "domain_name": domain,
                                "channel_groups": groups,
                                "egress_domains": egress,
                                (crate::model::EDGE_FOR_ORIGIN_PATHS): format!("https://{domain}"),
                            }),
                            id,
                        }
                    }
                    (false, Some(origin)) => {
                        let url = self
                            .origin_url(region, &names::sibling(spec, &origin))
                            .await?;
                        cloudfront::create(&client, &name, &url, &spec.tags).await?
                    }
                    (false, None) => {
                        return Err(ProviderError::Permanent(
                            "templates/aws/cdn.tera rendered a CDN neither shared nor in front of an `origin`".into(),
                        ));
                    }
                };
                (out.id, out.outputs)
            }
            Kind::Vod => {
                let def: harvest::VodDef = definition(spec)?;
                let bucket = names::bucket(spec);
                let origin = names::sibling(spec, &def.origin);
                // The VOD's bucket is told from the archive's by this tag when listed.
                let mut tags = spec.tags.clone();
                tags.insert(TAG_KIND.into(), Kind::Vod.as_str().into());
                let s3 = self.s3(region).await;
                let out = match &def.channel_group_of {
                    Some(unit) => {
                        let at = harvest_v2::Harvest {
                            job: &names::own(spec),
                            group: &names::channel_group(spec, unit),
                            channel: &origin,
                            bucket: &bucket,
                            region,
                        };
                        let mp = self.mediapackage_v2(region).await;
                        harvest_v2::create(&mp, &s3, &at, &def, &tags).await?
                    }
                    None => {
                        let at = harvest::Harvest {
                            job: &names::own(spec),
                            origin_endpoint: &mediapackage::endpoint_id(&origin, "hls"),
                            bucket: &bucket,
                            region,
                        };
                        let mp = self.mediapackage(region).await;
                        harvest::create(&mp, &s3, &at, &def, &tags).await?
                    }
                };
                (bucket.clone(), out)
            }
        };
        if provider_id.is_empty() {
            return Err(ProviderError::Transient(format!(
                "{}: the service answered without an id",
                spec.id.as_str()
            )));
        }
        Ok(Created {
            provider_id,
            outputs,
        })
    }

    async fn update(
        &self,
        rec: &RecordedResource,
        spec: &ResourceSpec,
    ) -> Result<Value, ProviderError> {
        self.update_in_place(rec, spec).await
    }

    async fn delete(&self, rec: &RecordedResource) -> Result<(), ProviderError> {
        let region = rec.spec.region.as_str();
        // A piece sweep found on its own, listed by `list`.
        match swept_part(rec) {
            Some(CHANNEL_GROUP) => {
                let id = rec.provider_id.as_deref().unwrap_or_default();
                return mediapackage_v2::delete_group(&self.mediapackage_v2(region).await, id)
                    .await;
            }
            Some(INPUT_FIREWALL) => {
                let id = rec.provider_id.as_deref().unwrap_or_default();
                return medialive::delete_input_firewall(&self.medialive(region).await, id).await;
            }
            _ => {}
        }
        if rec.spec.kind == Kind::Input {
            // Its security group may outlive an input already gone.
            let client = self.medialive(&rec.spec.region).await;
            let owner = rec.spec.tags.get(TAG_OWNER).map_or("", String::as_str);
            let id = self.object_id(rec).await?;
            return medialive::delete_input(&client, id.as_deref(), &names::own(&rec.spec), owner)
                .await;
        }
        let Some(id) = self.object_id(rec).await? else {
            return Ok(());
        };
        match rec.spec.kind {
            Kind::Archive | Kind::Vod => s3::delete_bucket(&self.s3(region).await, &id).await,
            Kind::Origin => match id.split_once('/') {
                Some((group, channel)) => {
                    mediapackage_v2::delete(&self.mediapackage_v2(region).await, group, channel)
                        .await
                }
                None => mediapackage::delete(&self.mediapackage(region).await, &id).await,
            },
            // Deleted above, with the security group it may leave behind.
            Kind::Input => Ok(()),
            Kind::Encoder => medialive::delete_channel(&self.medialive(region).await, &id).await,
            Kind::Firewall => ec2::delete_firewall(&self.ec2(region).await, &id).await,
            Kind::Instance => ec2::delete_instance(&self.ec2(region).await, &id).await,
            Kind::Cdn => {
                cloudfront::delete(&self.cloudfront(region).await, &id).await?;
                // A group's CDN made the channel groups its origins were channels of.
                if let Ok(def) = definition::<CdnDef>(&rec.spec)
                    && def.shared
                {
                    for r in def.regions(region) {
                        let group = names::channel_group_in(&rec.spec, &rec.spec.event, r);
                        let mp = self.mediapackage_v2(r).await;
                        mediapackage_v2::delete_group(&mp, &group).await?;
                    }
                }
                Ok(())
            }
        }
    }

    async fn list(&self) -> Result<Vec<InventoryItem>, ProviderError> {
        let Some(home) = self.home_region().map(String::from) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut push = |kind: Kind, part, id: String, region: String, name: String, tags| {
            let mut i = item(kind, id, region, name, tags);
            i.part = part;
            out.push(i);
        };
        for (bucket, region, tags) in s3::tagged_buckets(&self.s3(&home).await).await? {
            if self.catalog.regions.contains_key(&region) {
                let kind = if tags.get(TAG_KIND).map(String::as_str) == Some(Kind::Vod.as_str()) {
                    Kind::Vod
                } else {
                    Kind::Archive
                };
                push(kind, None, bucket.clone(), region, bucket, tags);
            }
        }
        let regions: Vec<String> = self.catalog.regions.keys().cloned().collect();
        for region in &regions {
            let ml = self.medialive(region).await;
            for (id, name, _, tags) in medialive::channels(&ml).await? {
                push(Kind::Encoder, None, id, region.clone(), name, tags);
            }
            for (id, name, _, tags) in medialive::inputs(&ml).await? {
                push(Kind::Input, None, id, region.clone(), name, tags);
            }
            for (id, name, tags) in medialive::input_firewalls(&ml).await? {
                push(
                    Kind::Input,
                    Some(INPUT_FIREWALL),
                    id,
                    region.clone(),
                    name,
                    tags,
                );
            }
            let ec2 = self.ec2(region).await;
            for (id, name, tags) in ec2::instances(&ec2).await? {
                push(Kind::Instance, None, id, region.clone(), name, tags);
            }
            for (id, name, tags) in ec2::firewalls(&ec2).await? {
                push(Kind::Firewall, None, id, region.clone(), name, tags);
            }
            let mp = self.mediapackage(region).await;
            for (id, tags) in mediapackage::list(&mp).await? {
                push(Kind::Origin, None, id.clone(), region.clone(), id, tags);
            }
            let v2 = mediapackage_v2::list(&self.mediapackage_v2(region).await).await?;
            for (name, tags) in v2.groups {
                push(
                    Kind::Origin,
                    Some(CHANNEL_GROUP),
                    name.clone(),
                    region.clone(),
                    name,
                    tags,
                );
            }
            for (id, tags) in v2.channels {
                let name = id.rsplit('/').next().unwrap_or_default().to_string();
                push(Kind::Origin, None, id, region.clone(), name, tags);
            }
        }
        // Distributions are global: each says its region in its tags.
        let cf = self.cloudfront(&home).await;
        for d in cloudfront::distributions(&cf).await? {
            let tags = cloudfront::tags(&cf, &d.arn).await?;
            if let Some(region) = tags.get(TAG_REGION).cloned() {
                push(Kind::Cdn, None, d.id, region, d.comment, tags);
            }
        }
        out.retain(|i| i.tags.contains_key(TAG_OWNER));
        Ok(out)
    }

    async fn encoder_health(
        &self,
        rec: &RecordedResource,
        pipeline: Option<&str>,
    ) -> Option<EncoderHealth> {
        let id = rec.provider_id.as_deref()?;
        let region = &rec.spec.region;
        match rec.spec.kind {
            Kind::Instance => ec2::health(&self.ec2(region).await, id).await,
            _ => {
                let client = self.medialive(region).await;
                medialive::health(&client, region, id, pipeline, &self.channels_health).await
            }
        }
    }

    async fn preflight(&self, needs: &crate::plan::peaks::Needs) -> Vec<crate::providers::Check> {
        self.doctor(needs).await
    }

    async fn failover(
        &self,
        via: &RecordedResource,
        _event: &str,
        pipeline: &str,
    ) -> Result<(), ProviderError> {
        let channel = standard_channel(via)?;
        let client = self.medialive(&via.spec.region).await;
        medialive::pipelines::serve(&client, channel, pipeline).await?;
        self.channels_health.paused.forget(channel).await;
        Ok(())
    }

    async fn restart(
        &self,
        rec: &RecordedResource,
        pipeline: Option<&str>,
    ) -> Result<(), ProviderError> {
        let id = rec.provider_id.as_deref().ok_or_else(|| {
            ProviderError::Permanent(format!("{} has no provider id", rec.spec.name))
        })?;
        let region = &rec.spec.region;
        match rec.spec.kind {
            Kind::Encoder => {
                let client = self.medialive(region).await;
                medialive::pipelines::restart(&client, id, pipeline).await
            }
            Kind::Instance => ec2::reboot(&self.ec2(region).await, id).await,
            other => Err(ProviderError::Permanent(format!(
                "the aws provider restarts encoders, not a {other}"
            ))),
        }
    }
}

/// The MediaLive channel of `rec` when it runs both pipelines: what a failover on aws
/// switches.
fn standard_channel(rec: &RecordedResource) -> Result<&str, ProviderError> {
    let both = rec.spec.kind == Kind::Encoder && rec.pipelines().len() > 1;
    match rec.provider_id.as_deref() {
        Some(id) if both => Ok(id),
        _ => Err(ProviderError::Permanent(format!(
            "the aws provider fails over between the two pipelines of a MediaLive STANDARD channel; {} is not one",
            rec.spec.name
        ))),
    }
}

fn item(
    kind: Kind,
    provider_id: String,
    region: String,
    name: String,
    tags: BTreeMap<String, String>,
) -> InventoryItem {
    // The resource id it was made as, when its tags say so.
    let name = match (tags.get(TAG_EVENT), tags.get(TAG_REGION)) {
        (Some(e), Some(r)) if matches!(kind, Kind::Archive | Kind::Vod) => {
            format!("{e}/{r}/{kind}")
        }
        _ => name,
    };
    InventoryItem {
        provider: "aws".into(),
        provider_id,
        kind,
        part: None,
        region,
        name,
        client_token: None,
        status: "available".into(),
        tags,
    }
}
