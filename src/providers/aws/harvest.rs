//! The VOD on MediaPackage (v1): once the show is over, a harvest job copies the show's span
//! of the origin's HLS endpoint (kept by its startover window) into the VOD's own S3 bucket as
//! an HLS VOD, which outlives the event. The job's id comes from the hash, so a retried create
//! finds the job an earlier attempt started, running or done (after a failed one, or one whose
//! output is gone, the next is `<id>-2`…); the VOD counts as made only once the playlist the
//! job wrote is read back, complete.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_mediapackage::types::{S3Destination, Status};
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use super::errors::classify;
use super::once;
use crate::providers::ProviderError;

/// What the VOD template asks for.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VodDef {
    // Rendered by every template, taken by the provider from the resource instead.
    #[serde(rename = "name")]
    _name: IgnoredAny,
    #[serde(default, rename = "tags")]
    _tags: IgnoredAny,
    #[serde(default, rename = "event")]
    _event: IgnoredAny,
    /// The scheduled show, as RFC 3339 times.
    pub start: String,
    pub end: String,
    /// Keep only the scheduled show; else all the origin held, until the grace's end.
    #[serde(default)]
    pub trim: bool,
    #[serde(default)]
    pub grace_s: f64,
    /// The origin resource's name, whose HLS endpoint is harvested.
    pub origin: String,
    /// The playlist's key in the VOD's bucket.
    pub manifest: String,
    /// The IAM role MediaPackage (v1) assumes to write into the bucket.
    pub role: String,
    /// The shared unit whose MediaPackage v2 channel group holds the origin, when the event's
    /// group shares its CDN (`harvest_v2`).
    #[serde(default)]
    pub channel_group_of: Option<String>,
}

/// Where a VOD's harvest reads and writes.
pub struct Harvest<'a> {
    pub job: &'a str,
    pub origin_endpoint: &'a str,
    pub bucket: &'a str,
    pub region: &'a str,
}

pub async fn create(
    mp: &aws_sdk_mediapackage::Client,
    s3: &aws_sdk_s3::Client,
    at: &Harvest<'_>,
    def: &VodDef,
    tags: &BTreeMap<String, String>,
) -> Result<Value, ProviderError> {
    super::s3::create_bucket(s3, at.bucket, at.region, tags).await?;
    let earlier = jobs_of(mp, at.job).await?;
    let out = |job: &str| {
        json!({
            "bucket": at.bucket,
            "harvest_job": job,
            "manifest": def.manifest,
            "hls": format!("s3://{}/{}", at.bucket, def.manifest),
        })
    };
    // A job an earlier attempt saw through is done, if what it wrote is still there.
    for (id, status) in &earlier {
        if *status == Status::Succeeded && verify(s3, at.bucket, &def.manifest).await.is_ok() {
            return Ok(out(id));
        }
    }
    // One still running is waited for; else (first try, a failed job, a VOD made again) a new
    // one starts, numbered after those before it.
    let job = match earlier.iter().find(|(_, s)| *s == Status::InProgress) {
        Some((id, _)) => id.clone(),
        None => {
            let id = match earlier.len() {
                0 => at.job.to_string(),
                n => format!("{}-{}", at.job, n + 1),
            };
            let destination = S3Destination::builder()
                .bucket_name(at.bucket)
                .manifest_key(&def.manifest)
                .role_arn(&def.role)
                .build();
            let created = endpoint_created(mp, at.origin_endpoint).await?;
            let (from, to) = span(def, created, jiff::Timestamp::now())?;
            mp.create_harvest_job()
                .id(&id)
                .origin_endpoint_id(at.origin_endpoint)
                .start_time(from.to_string())
                .end_time(to.to_string())
                .s3_destination(destination)
                .customize()
                .config_override(once!(aws_sdk_mediapackage))
                .send()
                .await
                .map_err(|e| classify(&format!("MediaPackage CreateHarvestJob {id}"), e))?;
            id
        }
    };
    wait(mp, &job).await?;
    verify(s3, at.bucket, &def.manifest).await?;
    Ok(out(&job))
}

/// When MediaPackage made the endpoint: nothing it holds is older. `None` where it does not
/// say, or the endpoint is gone.
async fn endpoint_created(
    mp: &aws_sdk_mediapackage::Client,
    endpoint: &str,
) -> Result<Option<jiff::Timestamp>, ProviderError> {
    match mp.describe_origin_endpoint().id(endpoint).send().await {
        Ok(d) => Ok(d.created_at().and_then(|t| t.parse().ok())),
        // The job's create says what is missing, with its own id.
        Err(e) if super::errors::is_not_found(&e) => Ok(None),
        Err(e) => Err(classify(
            &format!("MediaPackage DescribeOriginEndpoint {endpoint}"),
            e,
        )),
    }
}

/// What the harvest copies: what was on air, that is from when the origin's endpoint existed
/// (it holds nothing older), and with `vod.trim` no earlier than the scheduled start, to the
/// scheduled end (without `trim`, to the end of the grace); never past `now`.
pub(super) fn span(
    def: &VodDef,
    created: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> Result<(jiff::Timestamp, jiff::Timestamp), ProviderError> {
    let time = |what: &str, t: &str| {
        t.parse::<jiff::Timestamp>().map_err(|e| {
            ProviderError::Permanent(format!("templates/aws/vod.tera rendered {what} `{t}`: {e}"))
        })
    };
    let (start, end) = (time("start", &def.start)?, time("end", &def.end)?);
    let grace = jiff::SignedDuration::try_from_secs_f64(def.grace_s.max(0.0)).unwrap_or_default();
    let from = match (def.trim, created) {
        (true, Some(c)) => start.max(c),
        (false, Some(c)) => c,
        (_, None) => start,
    };
    let to = if def.trim { end } else { end + grace }.min(now);
    if from >= to {
        return Err(ProviderError::Permanent(format!(
            "nothing of the show was on air to harvest: the origin's endpoint was made at {}, and the show ended at {end}",
            created.map_or_else(|| "an unknown time".to_string(), |c| c.to_string())
        )));
    }
    Ok((from, to))
}

/// The harvest jobs named `name` or `name-<n>`, with their status.
async fn jobs_of(
    mp: &aws_sdk_mediapackage::Client,
    name: &str,
) -> Result<Vec<(String, Status)>, ProviderError> {
    let all = mp
        .list_harvest_jobs()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| classify("MediaPackage ListHarvestJobs", e))?;
    let numbered = format!("{name}-");
    Ok(all
        .iter()
        .filter_map(|j| {
            let id = j.id()?;
            let ours = id == name
                || id
                    .strip_prefix(&numbered)
                    .is_some_and(|n| n.parse::<u32>().is_ok());
            ours.then(|| {
                (
                    id.to_string(),
                    j.status().cloned().unwrap_or(Status::InProgress),
                )
            })
        })
        .collect())
}

/// Polls the job until it has succeeded; a failed job fails the VOD, and the hand-off's
/// attempts decide what comes next. The executor's step timeout bounds the wait.
async fn wait(mp: &aws_sdk_mediapackage::Client, job: &str) -> Result<(), ProviderError> {
    let mut pause = Duration::from_millis(200);
    loop {
        let d = mp
            .describe_harvest_job()
            .id(job)
            .send()
            .await
            .map_err(|e| classify(&format!("MediaPackage DescribeHarvestJob {job}"), e))?;
        match d.status() {
            Some(Status::Succeeded) => return Ok(()),
            Some(Status::Failed) => {
                return Err(ProviderError::Permanent(format!(
                    "MediaPackage harvest job {job} failed (is the show within the HLS endpoint's startover window, and may the role write to the bucket?)"
                )));
            }
            _ => {}
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// The playlist the job wrote: an HLS VOD, closed.
pub(super) async fn verify(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<(), ProviderError> {
    let got = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| classify(&format!("S3 GetObject s3://{bucket}/{key}"), e))?;
    let body =
        got.body.collect().await.map_err(|e| {
            ProviderError::Transient(format!("S3 GetObject s3://{bucket}/{key}: {e}"))
        })?;
    let text = String::from_utf8_lossy(&body.into_bytes()).to_string();
    if complete_vod(&text) {
        Ok(())
    } else {
        Err(ProviderError::Permanent(format!(
            "the harvest wrote s3://{bucket}/{key}, which is not a complete HLS VOD playlist"
        )))
    }
}

/// An HLS playlist that lists media and is closed (`#EXT-X-ENDLIST`), or a master playlist
/// naming variants.
fn complete_vod(text: &str) -> bool {
    let text = text.trim_start_matches('\u{feff}');
    if !text.starts_with("#EXTM3U") {
        return false;
    }
    let has_media = text.lines().any(|l| l.starts_with("#EXTINF"));
    let has_variants = text.lines().any(|l| l.starts_with("#EXT-X-STREAM-INF"));
    has_variants || (has_media && text.contains("#EXT-X-ENDLIST"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn def(trim: bool) -> VodDef {
        serde_json::from_value(serde_json::json!({
            "name": "x", "start": "2030-12-05T19:45:00Z", "end": "2030-12-05T22:00:00Z",
            "trim": trim, "grace_s": 600.0, "origin": "origin", "manifest": "m", "role": "r",
        }))
        .unwrap()
    }

    #[test]
    fn the_harvest_takes_what_was_on_air() {
        let now = t("2030-12-06T00:00:00Z");
        // Up at lead time: everything, or the scheduled show with trim.
        let early = Some(t("2030-12-05T19:35:00Z"));
        assert_eq!(
            span(&def(false), early, now).unwrap(),
            (t("2030-12-05T19:35:00Z"), t("2030-12-05T22:10:00Z"))
        );
        assert_eq!(
            span(&def(true), early, now).unwrap(),
            (t("2030-12-05T19:45:00Z"), t("2030-12-05T22:00:00Z"))
        );
        // Up late: from when the origin existed, either way.
        let late = t("2030-12-05T20:05:00Z");
        assert_eq!(span(&def(true), Some(late), now).unwrap().0, late);
        assert_eq!(span(&def(false), Some(late), now).unwrap().0, late);
        // Not past now; nothing on air at all is said.
        assert_eq!(
            span(&def(false), early, t("2030-12-05T22:05:00Z"))
                .unwrap()
                .1,
            t("2030-12-05T22:05:00Z")
        );
        let e = span(&def(true), Some(t("2030-12-05T22:30:00Z")), now).unwrap_err();
        assert!(
            e.to_string().contains("nothing of the show was on air"),
            "{e}"
        );
        // A service that does not say when it made the endpoint: the schedule.
        assert_eq!(
            span(&def(true), None, now).unwrap().0,
            t("2030-12-05T19:45:00Z")
        );
    }

    #[test]
    fn only_a_closed_media_playlist_or_a_master_playlist_is_a_vod() {
        let media = "#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:2.0,\na.ts\n#EXT-X-ENDLIST\n";
        assert!(complete_vod(media));
        assert!(complete_vod(
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nindex_1.m3u8\n"
        ));
        // Still live, empty, or not a playlist at all.
        assert!(!complete_vod("#EXTM3U\n#EXTINF:2.0,\na.ts\n"));
        assert!(!complete_vod("#EXTM3U\n#EXT-X-ENDLIST\n"));
        assert!(!complete_vod("<Error>AccessDenied</Error>"));
    }
}
