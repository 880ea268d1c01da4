//! A fake of MediaPackage v2 harvest jobs, which moto_server lacks: CreateHarvestJob,
//! GetHarvestJob and ListHarvestJobs in the API's restJson1 shapes
//! (`/channelGroup/{g}/channel/{c}/originEndpoint/{e}/harvestJob[/{name}]`,
//! `/channelGroup/{g}/harvestJob?channelName=…&originEndpointName=…`, PascalCase fields,
//! times in epoch seconds, the client token in `x-amzn-client-token`), over the endpoints of
//! the MediaPackage v2 fake. As MediaPackage's live-to-VOD documents it, it refuses a job
//! whose endpoint is not there (404), whose name is taken by another request (409), whose
//! name is not 1 to 256 of `[A-Za-z0-9_-]`, that
//! names a manifest the endpoint does not have, or whose start is not in the past, before the
//! endpoint existed or out of its startover window, or that lasts over 24 hours (400
//! ValidationException). A job starts `QUEUED`. At a GET after its end has passed it
//! "harvests": the endpoint's policy must let the `mediapackagev2.amazonaws.com` service
//! HarvestObject, and the destination bucket's policy (asked of moto's S3) let it PutObject
//! under the destination path, else the job is `FAILED` with a message; then it writes the
//! harvested HLS (a master playlist named after the manifest and its one closed rendition
//! playlist, under the destination path) into moto's S3 and is `COMPLETED`. It writes no
//! media segments: the fake egress serves none worth keeping.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::{Value, json};

use super::fake_mediapackage_v2::MediaPackageV2;
use super::faultproxy::{json_error, json_ok, signed_region};

const S3_AUTH: &str = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

/// A job's (region, group, channel, endpoint, name).
type JobKey = (String, String, String, String, String);

#[derive(Default)]
pub struct HarvestJobsV2 {
    /// The job as described, and the client token that made it.
    jobs: Mutex<BTreeMap<JobKey, (Value, String)>>,
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn invalid(what: &str) -> Response {
    json_error(400, "ValidationException", what)
}

impl HarvestJobsV2 {
    /// Whether a call is the fake's to answer.
    pub fn serves(path: &str) -> bool {
        path.starts_with("/channelGroup/")
            && (path.ends_with("/harvestJob") || path.contains("/harvestJob/"))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn answer(
        &self,
        v2: &MediaPackageV2,
        moto: &str,
        client: &reqwest::Client,
        method: &Method,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        let region = signed_region(headers);
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method.as_str(), parts.as_slice()) {
            (
                "POST",
                [
                    "channelGroup",
                    g,
                    "channel",
                    c,
                    "originEndpoint",
                    e,
                    "harvestJob",
                ],
            ) => {
                let token = headers
                    .get("x-amzn-client-token")
                    .and_then(|t| t.to_str().ok())
                    .unwrap_or_default();
                self.create(v2, (&region, g, c, e), token, body)
            }
            (
                "GET",
                [
                    "channelGroup",
                    g,
                    "channel",
                    c,
                    "originEndpoint",
                    e,
                    "harvestJob",
                    name,
                ],
            ) => {
                let key = (
                    region.clone(),
                    g.to_string(),
                    c.to_string(),
                    e.to_string(),
                    name.to_string(),
                );
                let job = self
                    .jobs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&key)
                    .map(|(j, _)| j.clone());
                let Some(mut job) = job else {
                    return json_error(
                        404,
                        "ResourceNotFoundException",
                        &format!("harvest job {name} not found"),
                    );
                };
                let ended = job["ScheduleConfiguration"]["EndTime"]
                    .as_f64()
                    .is_some_and(|t| t <= now());
                if job["Status"] == "QUEUED" && ended {
                    match harvest(v2, moto, client, &job).await {
                        Ok(()) => job["Status"] = json!("COMPLETED"),
                        Err(why) => {
                            job["Status"] = json!("FAILED");
                            job["ErrorMessage"] = json!(why);
                        }
                    }
                    job["ModifiedAt"] = json!(now().floor());
                    if let Some(j) = self
                        .jobs
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_mut(&key)
                    {
                        j.0 = job.clone();
                    }
                }
                json_ok(job)
            }
            ("GET", ["channelGroup", g, "harvestJob"]) => {
                let arg = |k: &str| {
                    query.split('&').find_map(|kv| {
                        kv.strip_prefix(k)
                            .and_then(|v| v.strip_prefix('='))
                            .map(String::from)
                    })
                };
                let (channel, endpoint) = (arg("channelName"), arg("originEndpointName"));
                let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
                let items: Vec<&Value> = jobs
                    .iter()
                    .filter(|((r, jg, jc, je, _), _)| {
                        *r == region
                            && jg == g
                            && channel.as_ref().is_none_or(|c| c == jc)
                            && endpoint.as_ref().is_none_or(|e| e == je)
                    })
                    .map(|(_, (j, _))| j)
                    .collect();
                json_ok(json!({ "Items": items }))
            }
            _ => json_error(405, "MethodNotAllowedException", "not served by the fake"),
        }
    }

    fn create(
        &self,
        v2: &MediaPackageV2,
        (region, g, c, e): (&str, &str, &str, &str),
        token: &str,
        body: &[u8],
    ) -> Response {
        let Ok(req) = serde_json::from_slice::<Value>(body) else {
            return invalid("the body is not JSON");
        };
        let Some(endpoint) = v2.endpoint(region, g, c, e) else {
            return json_error(
                404,
                "ResourceNotFoundException",
                &format!("origin endpoint {g}/{c}/{e} not found"),
            );
        };
        let name = req["HarvestJobName"]
            .as_str()
            .map_or_else(|| format!("job-{}", now() as u64), String::from);
        if name.is_empty()
            || name.len() > 256
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return invalid("HarvestJobName must be 1 to 256 of [A-Za-z0-9_-]");
        }
        let key = (
            region.to_string(),
            g.to_string(),
            c.to_string(),
            e.to_string(),
            name.clone(),
        );
        if let Some((existing, made_by)) = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if !token.is_empty() && made_by == token {
                return json_ok(existing.clone());
            }
            return json_error(
                409,
                "ConflictException",
                &format!("harvest job {name} already exists"),
            );
        }
        let dest = &req["Destination"]["S3Destination"];
        if dest["BucketName"].as_str().is_none_or(str::is_empty)
            || dest["DestinationPath"].as_str().is_none()
        {
            return invalid("Destination.S3Destination needs BucketName and DestinationPath");
        }
        let wanted: Vec<&str> = req["HarvestedManifests"]["HlsManifests"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["ManifestName"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let offered: Vec<&str> = endpoint["HlsManifests"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["ManifestName"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        if wanted.is_empty() || wanted.iter().any(|w| !offered.contains(w)) {
            return invalid(&format!(
                "HarvestedManifests must name HLS manifests of the endpoint ({offered:?}), not {wanted:?}"
            ));
        }
        let schedule = &req["ScheduleConfiguration"];
        let (Some(start), Some(end)) =
            (schedule["StartTime"].as_f64(), schedule["EndTime"].as_f64())
        else {
            return invalid("ScheduleConfiguration needs StartTime and EndTime");
        };
        let now = now();
        let made = endpoint["CreatedAt"].as_f64().unwrap_or(now);
        let startover = endpoint["StartoverWindowSeconds"].as_f64().unwrap_or(0.0);
        if start >= now || start >= end || end - start > 86_400.0 {
            return invalid(
                "the start must be in the past, before the end, and the job at most 24 hours",
            );
        }
        if start < made || start < now - startover {
            return invalid(&format!(
                "the start is out of the endpoint's startover window ({startover} s) or before the endpoint existed"
            ));
        }
        let job = json!({
            "ChannelGroupName": g,
            "ChannelName": c,
            "OriginEndpointName": e,
            "HarvestJobName": name,
            "Arn": format!(
                "{}/harvestJob/{name}",
                endpoint["Arn"].as_str().unwrap_or_default()
            ),
            "Description": req["Description"],
            "Destination": req["Destination"],
            "HarvestedManifests": req["HarvestedManifests"],
            "ScheduleConfiguration": { "StartTime": start, "EndTime": end },
            "CreatedAt": now.floor(),
            "ModifiedAt": now.floor(),
            "Status": "QUEUED",
            "ETag": format!("etag-{name}"),
        });
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (job.clone(), token.to_string()));
        json_ok(job)
    }
}

/// What the job copies, written as MediaPackage's harvester would once its policies let it.
async fn harvest(
    v2: &MediaPackageV2,
    moto: &str,
    client: &reqwest::Client,
    job: &Value,
) -> Result<(), String> {
    let harvester = json!({ "Service": "mediapackagev2.amazonaws.com" });
    let endpoint_arn = job["Arn"]
        .as_str()
        .and_then(|a| a.split("/harvestJob/").next())
        .unwrap_or_default();
    if !v2.policy_allows(endpoint_arn, &harvester, "mediapackagev2:HarvestObject") {
        return Err("the origin endpoint's policy does not let MediaPackage harvest it".into());
    }
    let dest = &job["Destination"]["S3Destination"];
    let bucket = dest["BucketName"].as_str().unwrap_or_default();
    let folder = dest["DestinationPath"]
        .as_str()
        .unwrap_or_default()
        .trim_end_matches('/');
    let prefix = if folder.is_empty() {
        String::new()
    } else {
        format!("{folder}/")
    };
    if !bucket_lets_harvester_write(moto, client, bucket, &prefix).await {
        return Err(format!(
            "the bucket {bucket}'s policy does not let MediaPackage write under {prefix}"
        ));
    }
    let s = &job["ScheduleConfiguration"];
    let seconds = (s["EndTime"].as_f64().unwrap_or(0.0) - s["StartTime"].as_f64().unwrap_or(0.0))
        .ceil()
        .max(1.0) as u64;
    let manifest = job["HarvestedManifests"]["HlsManifests"][0]["ManifestName"]
        .as_str()
        .unwrap_or("index");
    let master = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720\n{manifest}_1.m3u8\n"
    );
    let mut rendition = String::from(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n",
    );
    for n in 0..seconds.div_ceil(6) {
        let d = (seconds - n * 6).min(6);
        rendition.push_str(&format!("#EXTINF:{d}.000,\n{manifest}_1_{n:05}.ts\n"));
    }
    rendition.push_str("#EXT-X-ENDLIST\n");
    for (key, body) in [
        (format!("{prefix}{manifest}_1.m3u8"), rendition),
        (format!("{prefix}{manifest}.m3u8"), master),
    ] {
        let put = client
            .put(format!("{moto}/{bucket}/{key}"))
            .header("authorization", S3_AUTH)
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !put.status().is_success() {
            return Err(format!(
                "writing s3://{bucket}/{key}: HTTP {}",
                put.status()
            ));
        }
    }
    Ok(())
}

/// Whether the bucket's policy, as moto keeps it, allows the MediaPackage v2 service
/// `s3:PutObject` on keys under `prefix`.
async fn bucket_lets_harvester_write(
    moto: &str,
    client: &reqwest::Client,
    bucket: &str,
    prefix: &str,
) -> bool {
    let Ok(answer) = client
        .get(format!("{moto}/{bucket}?policy"))
        .header("authorization", S3_AUTH)
        .send()
        .await
    else {
        return false;
    };
    if !answer.status().is_success() {
        return false;
    }
    let Ok(policy) = answer.json::<Value>().await else {
        return false;
    };
    let key_arn = format!("arn:aws:s3:::{bucket}/{prefix}");
    let list = |v: &Value| -> Vec<String> {
        match v {
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            Value::String(s) => vec![s.clone()],
            _ => Vec::new(),
        }
    };
    policy["Statement"].as_array().is_some_and(|all| {
        all.iter().any(|st| {
            st["Effect"] == "Allow"
                && list(&st["Principal"]["Service"])
                    .iter()
                    .any(|s| s == "mediapackagev2.amazonaws.com")
                && list(&st["Action"])
                    .iter()
                    .any(|a| a == "s3:PutObject" || a == "s3:*")
                && list(&st["Resource"]).iter().any(|r| {
                    r.strip_suffix('*')
                        .map_or(*r == key_arn, |head| key_arn.starts_with(head))
                })
        })
    })
}
