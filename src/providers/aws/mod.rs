//! Amazon Web Services through the AWS SDK for Rust. Credentials come from the standard chain
//! (environment, profile, instance role); a region's `endpoint` in `providers/aws.yaml` points
//! the SDK at an emulator such as moto_server.
//!
//! Built so far: the `archive` (an S3 bucket per event and region, tagged, emptied before it
//! is deleted). The other kinds (MediaLive, MediaPackage, CloudFront, EC2) answer that they
//! are not built yet, without calling AWS.

mod errors;
mod s3;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::{Created, InventoryItem, Provider, ProviderError};
use crate::model::{Catalog, RateLimit, RecordedResource, ResourceSpec, RetryPolicy, TAG_OWNER};

pub struct AwsProvider {
    catalog: Catalog,
    sdk: OnceCell<SdkConfig>,
    s3: Mutex<HashMap<String, aws_sdk_s3::Client>>,
}

impl AwsProvider {
    pub fn open(catalog: Catalog) -> Self {
        Self {
            catalog,
            sdk: OnceCell::new(),
            s3: Mutex::new(HashMap::new()),
        }
    }

    /// The shared SDK configuration: credentials and settings from the standard chain. The
    /// SDK's own retries are off: the executor retries, within the catalog's rate limits.
    async fn sdk(&self) -> &SdkConfig {
        self.sdk
            .get_or_init(|| async {
                aws_config::defaults(BehaviorVersion::latest())
                    .retry_config(aws_config::retry::RetryConfig::disabled())
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
        if let Some(c) = self
            .s3
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(region)
        {
            return c.clone();
        }
        let mut b = aws_sdk_s3::config::Builder::from(self.sdk().await)
            .region(Region::new(region.to_string()));
        if let Some(url) = self.endpoint(region) {
            // Emulators serve buckets by path, not by host name.
            b = b.endpoint_url(url).force_path_style(true);
        }
        let c = aws_sdk_s3::Client::from_conf(b.build());
        self.s3
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(region.to_string(), c.clone());
        c
    }

    /// Any region, for the calls that are global (listing buckets).
    fn home_region(&self) -> Option<&str> {
        self.catalog.regions.keys().next().map(String::as_str)
    }
}

/// An S3 bucket's name for a resource: global, so it carries a hash of the owner, region and
/// resource, then as much of the event id as fits in 63 characters.
pub fn bucket_name(spec: &ResourceSpec) -> String {
    let owner = spec.tags.get(TAG_OWNER).map_or("", String::as_str);
    let digest = Sha256::digest(format!("{owner}/{}", spec.id).as_bytes());
    let hash = hex::encode(&digest[..5]);
    let mut name = format!("orch-{hash}-{}", spec.event);
    name.truncate(63);
    name.trim_end_matches(['-', '.']).to_string()
}

fn not_built(kind: &str) -> ProviderError {
    ProviderError::Permanent(format!(
        "the aws provider cannot create a `{kind}` yet (built so far: archive on S3); see docs/providers.md"
    ))
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

    fn step_timeout(&self, kind: &str) -> Duration {
        self.catalog.step_timeout(kind, Duration::from_secs(900))
    }

    async fn create(&self, spec: &ResourceSpec, _token: &str) -> Result<Created, ProviderError> {
        match spec.kind.as_str() {
            "archive" => {
                // The bucket's name is the idempotency key: a retried create finds it.
                let bucket = bucket_name(spec);
                let client = self.s3(&spec.region).await;
                s3::create_bucket(&client, &bucket, &spec.region, &spec.tags).await?;
                Ok(Created {
                    provider_id: bucket.clone(),
                    outputs: serde_json::json!({
                        "bucket": bucket,
                        "uri": format!("s3://{bucket}/"),
                    }),
                })
            }
            other => Err(not_built(other)),
        }
    }

    async fn update(
        &self,
        rec: &RecordedResource,
        spec: &ResourceSpec,
    ) -> Result<Value, ProviderError> {
        match spec.kind.as_str() {
            "archive" => {
                let bucket = rec.provider_id.clone().unwrap_or_else(|| bucket_name(spec));
                let client = self.s3(&spec.region).await;
                s3::tag_bucket(&client, &bucket, &spec.tags).await?;
                Ok(rec.outputs.clone())
            }
            other => Err(not_built(other)),
        }
    }

    async fn delete(&self, rec: &RecordedResource) -> Result<(), ProviderError> {
        match rec.spec.kind.as_str() {
            "archive" => {
                let bucket = rec
                    .provider_id
                    .clone()
                    .unwrap_or_else(|| bucket_name(&rec.spec));
                let client = self.s3(&rec.spec.region).await;
                s3::delete_bucket(&client, &bucket).await
            }
            // Nothing of these kinds can exist: they are never created.
            _ => Ok(()),
        }
    }

    async fn list(&self) -> Result<Vec<InventoryItem>, ProviderError> {
        let Some(home) = self.home_region().map(String::from) else {
            return Ok(Vec::new());
        };
        let client = self.s3(&home).await;
        let mut out = Vec::new();
        for (bucket, region, tags) in s3::tagged_buckets(&client).await? {
            if !self.catalog.regions.contains_key(&region) {
                continue;
            }
            let name = match (
                tags.get(crate::model::TAG_EVENT),
                tags.get(crate::model::TAG_REGION),
            ) {
                (Some(e), Some(r)) => format!("{e}/{r}/archive"),
                _ => bucket.clone(),
            };
            out.push(InventoryItem {
                provider: "aws".into(),
                provider_id: bucket,
                kind: "archive".into(),
                region,
                name,
                client_token: None,
                status: "available".into(),
                tags,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Definition, ResourceId, Window};

    fn spec(event: &str) -> ResourceSpec {
        let at = jiff::Timestamp::UNIX_EPOCH;
        ResourceSpec {
            id: ResourceId::new(event, "eu-west-1", "archive"),
            provider: "aws".into(),
            region: "eu-west-1".into(),
            event: event.into(),
            kind: "archive".into(),
            name: "archive".into(),
            depends_on: Vec::new(),
            definition: Definition::null(),
            tags: [(TAG_OWNER.to_string(), "owner-1".to_string())].into(),
            hourly_price: 0.0,
            window: Window { from: at, to: at },
            spec_hash: String::new(),
        }
    }

    #[test]
    fn bucket_names_are_valid_unique_and_stable() {
        let a = bucket_name(&spec("cup-final"));
        assert_eq!(a, bucket_name(&spec("cup-final")));
        assert!(a.starts_with("orch-") && a.ends_with("-cup-final"), "{a}");
        assert_ne!(a, bucket_name(&spec("cup-semi")));
        let long = bucket_name(&spec(&"x-".repeat(24)));
        assert!(long.len() <= 63 && !long.ends_with('-'), "{long}");
        assert!(
            long.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
    }
}
