//! The VOD of an origin on MediaPackage v2 (an event group sharing its CDN): once the show is
//! over, a v2 harvest job copies what was on air from the channel's HLS endpoint (kept by its
//! startover window) into the VOD's own S3 bucket. Unlike v1, the harvester assumes no role:
//! the endpoint's policy lets it read (see `mediapackage_v2::endpoint_policy`), and the
//! bucket's policy lets it write, which this module puts on the VOD's bucket. Jobs are named
//! from the VOD, so a retried create finds the one an earlier attempt started (after a failed
//! one, the next is `<name>-2`…), and the VOD counts as made once the playlist the job wrote
//! is read back, complete.
//!
//! <https://docs.aws.amazon.com/mediapackage/latest/userguide/live-to-vod.html>

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_mediapackagev2::primitives::DateTime;
use aws_sdk_mediapackagev2::types::{
    Destination, HarvestJobStatus, HarvestedHlsManifest, HarvestedManifests,
    HarvesterScheduleConfiguration, S3DestinationConfig,
};
use serde_json::{Value, json};

use super::errors::{classify, is_not_found};
use super::harvest::{VodDef, span, verify};
use super::mediapackage_v2::{MANIFEST, account_of};
use super::once;
use crate::providers::ProviderError;

/// Where a VOD's v2 harvest reads and writes.
pub struct Harvest<'a> {
    pub job: &'a str,
    pub group: &'a str,
    pub channel: &'a str,
    pub bucket: &'a str,
    pub region: &'a str,
}

/// The endpoint harvested: the channel's HLS one.
const ENDPOINT: &str = "hls";

pub async fn create(
    mp: &aws_sdk_mediapackagev2::Client,
    s3: &aws_sdk_s3::Client,
    at: &Harvest<'_>,
    def: &VodDef,
    tags: &BTreeMap<String, String>,
) -> Result<Value, ProviderError> {
    let where_ = format!("{}/{}/{ENDPOINT}", at.group, at.channel);
    super::s3::create_bucket(s3, at.bucket, at.region, tags).await?;
    // The VOD's folder in its bucket: the playlist the template names is written under it.
    let folder = def
        .manifest
        .rsplit_once('/')
        .map_or("", |(dir, _)| dir)
        .to_string();
    let endpoint = match mp
        .get_origin_endpoint()
        .channel_group_name(at.group)
        .channel_name(at.channel)
        .origin_endpoint_name(ENDPOINT)
        .send()
        .await
    {
        Ok(e) => e,
        Err(e) if is_not_found(&e) => {
            return Err(ProviderError::Permanent(format!(
                "the origin's HLS endpoint {where_} is gone: nothing is left to harvest"
            )));
        }
        Err(e) => {
            return Err(classify(
                &format!("MediaPackage v2 GetOriginEndpoint {where_}"),
                e,
            ));
        }
    };
    let account = account_of(endpoint.arn()).to_string();
    allow_harvester(s3, at.bucket, &folder, &account).await?;
    let out = |job: &str, key: &str| {
        json!({
            "bucket": at.bucket,
            "harvest_job": job,
            "manifest": key,
            "hls": format!("s3://{}/{key}", at.bucket),
        })
    };
    let earlier = jobs_of(mp, at).await?;
    for (name, status) in &earlier {
        if *status == HarvestJobStatus::Completed
            && let Ok(key) = written(s3, at.bucket, &folder).await
        {
            return Ok(out(name, &key));
        }
    }
    let running = earlier
        .iter()
        .find(|(_, s)| matches!(s, HarvestJobStatus::Queued | HarvestJobStatus::InProgress));
    let job = match running {
        Some((name, _)) => name.clone(),
        None => {
            let name = match earlier.len() {
                0 => at.job.to_string(),
                n => format!("{}-{}", at.job, n + 1),
            };
            let created = endpoint
                .created_at()
                .to_millis()
                .ok()
                .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
            let (from, to) = span(def, created, jiff::Timestamp::now())?;
            start(mp, at, &name, &folder, (from, to)).await?;
            name
        }
    };
    wait(mp, at, &job).await?;
    let key = written(s3, at.bucket, &folder).await?;
    Ok(out(&job, &key))
}

async fn start(
    mp: &aws_sdk_mediapackagev2::Client,
    at: &Harvest<'_>,
    name: &str,
    folder: &str,
    (from, to): (jiff::Timestamp, jiff::Timestamp),
) -> Result<(), ProviderError> {
    let invalid = |e: aws_sdk_mediapackagev2::error::BuildError| {
        ProviderError::Permanent(format!("MediaPackage v2 harvest job {name}: {e}"))
    };
    let time = |t: jiff::Timestamp| DateTime::from_millis(t.as_millisecond());
    let schedule = HarvesterScheduleConfiguration::builder()
        .start_time(time(from))
        .end_time(time(to))
        .build()
        .map_err(invalid)?;
    let destination = Destination::builder()
        .s3_destination(
            S3DestinationConfig::builder()
                .bucket_name(at.bucket)
                .destination_path(folder)
                .build()
                .map_err(invalid)?,
        )
        .build();
    let manifests = HarvestedManifests::builder()
        .hls_manifests(
            HarvestedHlsManifest::builder()
                .manifest_name(MANIFEST)
                .build()
                .map_err(invalid)?,
        )
        .build();
    mp.create_harvest_job()
        .channel_group_name(at.group)
        .channel_name(at.channel)
        .origin_endpoint_name(ENDPOINT)
        .harvest_job_name(name)
        // The name is the job's identity: an answer lost after the job was made finds it.
        .client_token(name)
        .description("orchestrate: the event's VOD")
        .harvested_manifests(manifests)
        .schedule_configuration(schedule)
        .destination(destination)
        .customize()
        .config_override(once!(aws_sdk_mediapackagev2))
        .send()
        .await
        .map_err(|e| classify(&format!("MediaPackage v2 CreateHarvestJob {name}"), e))?;
    Ok(())
}

/// The VOD's bucket lets MediaPackage v2 of this account write under the VOD's folder.
async fn allow_harvester(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    folder: &str,
    account: &str,
) -> Result<(), ProviderError> {
    let prefix = if folder.is_empty() {
        String::new()
    } else {
        format!("{folder}/")
    };
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowMediaPackageHarvester",
            "Effect": "Allow",
            "Principal": { "Service": "mediapackagev2.amazonaws.com" },
            "Action": "s3:PutObject",
            "Resource": format!("arn:aws:s3:::{bucket}/{prefix}*"),
            "Condition": { "StringEquals": { "aws:SourceAccount": account } },
        }],
    });
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .map_err(|e| classify(&format!("S3 PutBucketPolicy {bucket}"), e))?;
    Ok(())
}

/// The harvest jobs of the endpoint named `job` or `job-<n>`, with their status.
async fn jobs_of(
    mp: &aws_sdk_mediapackagev2::Client,
    at: &Harvest<'_>,
) -> Result<Vec<(String, HarvestJobStatus)>, ProviderError> {
    let all = mp
        .list_harvest_jobs()
        .channel_group_name(at.group)
        .channel_name(at.channel)
        .origin_endpoint_name(ENDPOINT)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("MediaPackage v2 ListHarvestJobs", e))?;
    let numbered = format!("{}-", at.job);
    Ok(all
        .iter()
        .filter(|j| j.channel_name() == at.channel && j.origin_endpoint_name() == ENDPOINT)
        .filter_map(|j| {
            let name = j.harvest_job_name();
            let ours = name == at.job
                || name
                    .strip_prefix(&numbered)
                    .is_some_and(|n| n.parse::<u32>().is_ok());
            ours.then(|| (name.to_string(), j.status().clone()))
        })
        .collect())
}

/// Polls the job until it has completed; a failed or cancelled job fails the VOD, with what
/// MediaPackage says of it. The executor's step timeout bounds the wait.
async fn wait(
    mp: &aws_sdk_mediapackagev2::Client,
    at: &Harvest<'_>,
    job: &str,
) -> Result<(), ProviderError> {
    let mut pause = Duration::from_millis(200);
    loop {
        let d = mp
            .get_harvest_job()
            .channel_group_name(at.group)
            .channel_name(at.channel)
            .origin_endpoint_name(ENDPOINT)
            .harvest_job_name(job)
            .send()
            .await
            .map_err(|e| classify(&format!("MediaPackage v2 GetHarvestJob {job}"), e))?;
        match d.status() {
            HarvestJobStatus::Completed => return Ok(()),
            HarvestJobStatus::Failed | HarvestJobStatus::Cancelled => {
                return Err(ProviderError::Permanent(format!(
                    "MediaPackage v2 harvest job {job} {}: {}",
                    d.status().as_str().to_lowercase(),
                    d.error_message()
                        .unwrap_or("MediaPackage gave no reason (is the show within the HLS endpoint's startover window?)")
                )));
            }
            _ => {}
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// The playlist the harvest wrote under `folder`, read back complete. MediaPackage names the
/// top playlist after the harvested manifest; the shallowest such key is it, wherever under
/// the folder the job laid it out.
async fn written(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    folder: &str,
) -> Result<String, ProviderError> {
    let prefix = if folder.is_empty() {
        String::new()
    } else {
        format!("{folder}/")
    };
    let keys = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&prefix)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify(&format!("S3 ListObjectsV2 s3://{bucket}/{prefix}"), e))?;
    let name = format!("{MANIFEST}.m3u8");
    let key = keys
        .iter()
        .flat_map(|page| page.contents())
        .filter_map(|o| o.key())
        .filter(|k| k.rsplit('/').next() == Some(name.as_str()))
        .min_by_key(|k| (k.matches('/').count(), k.len()))
        .map(String::from)
        .ok_or_else(|| {
            ProviderError::Permanent(format!(
                "the harvest wrote no {name} under s3://{bucket}/{prefix}"
            ))
        })?;
    verify(s3, bucket, &key).await?;
    Ok(key)
}
