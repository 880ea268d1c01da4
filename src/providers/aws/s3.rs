//! The archive on S3: a bucket per event and region, tagged like every resource, emptied
//! before it is deleted.

use std::collections::BTreeMap;

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier, Tag, Tagging,
};

use super::errors::classify;
use crate::providers::ProviderError;

/// Creates `bucket` in `region` (or finds it already ours) and tags it.
pub async fn create_bucket(
    client: &Client,
    bucket: &str,
    region: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let mut req = client.create_bucket().bucket(bucket);
    // us-east-1 is the default location and refuses to be named as one.
    if region != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you()) => {}
        Err(e) => return Err(classify(&format!("CreateBucket {bucket}"), e)),
    }
    tag_bucket(client, bucket, tags).await
}

pub async fn tag_bucket(
    client: &Client,
    bucket: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let set = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ProviderError::Permanent(format!("tags of {bucket}: {e}")))?;
    let tagging = Tagging::builder()
        .set_tag_set(Some(set))
        .build()
        .map_err(|e| ProviderError::Permanent(format!("tags of {bucket}: {e}")))?;
    client
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(tagging)
        .send()
        .await
        .map_err(|e| classify(&format!("PutBucketTagging {bucket}"), e))?;
    Ok(())
}

/// Deletes every object, then the bucket; a bucket already gone is deleted.
pub async fn delete_bucket(client: &Client, bucket: &str) -> Result<(), ProviderError> {
    let gone = |code: Option<&str>| code == Some("NoSuchBucket");
    loop {
        let page = match client.list_objects_v2().bucket(bucket).send().await {
            Ok(p) => p,
            Err(e)
                if gone(
                    e.as_service_error()
                        .and_then(|s| aws_sdk_s3::error::ProvideErrorMetadata::code(s)),
                ) =>
            {
                return Ok(());
            }
            Err(e) => return Err(classify(&format!("ListObjectsV2 {bucket}"), e)),
        };
        let keys: Vec<ObjectIdentifier> = page
            .contents()
            .iter()
            .filter_map(|o| ObjectIdentifier::builder().key(o.key()?).build().ok())
            .collect();
        if keys.is_empty() {
            break;
        }
        let delete = Delete::builder()
            .set_objects(Some(keys))
            .quiet(true)
            .build()
            .map_err(|e| ProviderError::Permanent(format!("emptying {bucket}: {e}")))?;
        client
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| classify(&format!("DeleteObjects {bucket}"), e))?;
    }
    match client.delete_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if gone(
                e.as_service_error()
                    .and_then(aws_sdk_s3::error::ProvideErrorMetadata::code),
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(classify(&format!("DeleteBucket {bucket}"), e)),
    }
}

/// Every bucket carrying an `orchestrate:owner` tag: its name, region and tags.
pub async fn tagged_buckets(
    client: &Client,
) -> Result<Vec<(String, String, BTreeMap<String, String>)>, ProviderError> {
    let listed = client
        .list_buckets()
        .send()
        .await
        .map_err(|e| classify("ListBuckets", e))?;
    let mut out = Vec::new();
    for b in listed.buckets() {
        let Some(name) = b.name() else { continue };
        let tags = match client.get_bucket_tagging().bucket(name).send().await {
            Ok(t) => t
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect::<BTreeMap<_, _>>(),
            // Untagged buckets answer NoSuchTagSet: not ours.
            Err(_) => continue,
        };
        if !tags.contains_key(crate::model::TAG_OWNER) {
            continue;
        }
        let region = client
            .get_bucket_location()
            .bucket(name)
            .send()
            .await
            .map_err(|e| classify(&format!("GetBucketLocation {name}"), e))?
            .location_constraint()
            .map(|c| c.as_str().to_string())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "us-east-1".into());
        out.push((name.to_string(), region, tags));
    }
    Ok(out)
}
