//! A fake of MediaPackage (v1) harvest jobs, which moto_server lacks: CreateHarvestJob,
//! DescribeHarvestJob and ListHarvestJobs in the API's restJson1 shapes (`/harvest_jobs`,
//! camelCase fields, `x-amzn-ErrorType` errors). As MediaPackage does, it refuses a job (422
//! UnprocessableEntityException) whose origin endpoint does not exist (asked of moto), keeps no
//! startover window, or whose span is not in the past and within that window, and a job id
//! already taken; a job starts `IN_PROGRESS`. At its next describe it has "harvested": it
//! assumes the job's role (which must exist in moto's IAM), writes an HLS VOD playlist spanning
//! the job into the destination bucket, in moto's S3, and is `SUCCEEDED`; `FAILED` if the role
//! or the bucket is not there. It writes no media segments: moto serves no media to harvest.
//!
//! moto keeps no endpoint's creation time, which MediaPackage gives (`createdAt`): the fake
//! notes when each endpoint made through the front was made, adds it to their descriptions,
//! and refuses a job that starts before it (the endpoint held nothing then).

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::{Value, json};

use super::faultproxy::{ask_moto, json_error, json_ok};

const PATH: &str = "/harvest_jobs";

#[derive(Default)]
pub struct HarvestJobs {
    /// By id: the job as described, and whether its playlist is written.
    jobs: Mutex<BTreeMap<String, (Value, bool)>>,
    /// Origin endpoints made through the front, by id: when.
    created: Mutex<BTreeMap<String, jiff::Timestamp>>,
}

impl HarvestJobs {
    /// Reads an answer moto gave: notes an endpoint's creation, and gives an endpoint's
    /// description again with `createdAt` added; `None` to pass the answer on as it is.
    pub fn endpoint_answer(&self, method: &Method, path: &str, answer: &[u8]) -> Option<Vec<u8>> {
        if !(path == "/origin_endpoints" || path.starts_with("/origin_endpoints/")) {
            return None;
        }
        let mut v = serde_json::from_slice::<Value>(answer).ok()?;
        let id = v["id"].as_str()?.to_string();
        let mut created = self.created.lock().unwrap_or_else(|p| p.into_inner());
        if method == Method::POST {
            created.insert(id.clone(), jiff::Timestamp::now());
        }
        let at = created.get(&id).filter(|_| v.get("createdAt").is_none())?;
        v["createdAt"] = json!(at.to_string());
        Some(v.to_string().into_bytes())
    }

    /// Whether a call is the fake's to answer.
    pub fn serves(path: &str) -> bool {
        path == PATH || path.starts_with("/harvest_jobs/")
    }

    pub async fn answer(
        &self,
        moto: &str,
        client: &reqwest::Client,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        let id = path
            .strip_prefix("/harvest_jobs/")
            .filter(|i| !i.is_empty());
        match (method.as_str(), id) {
            ("POST", None) => self.create(moto, client, headers, body).await,
            ("GET", None) => {
                let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
                let all: Vec<&Value> = jobs.values().map(|(j, _)| j).collect();
                json_ok(json!({ "harvestJobs": all }))
            }
            ("GET", Some(id)) => {
                let job = self
                    .jobs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(id)
                    .cloned();
                let Some((job, written)) = job else {
                    return json_error(
                        404,
                        "NotFoundException",
                        &format!("harvest job {id} not found"),
                    );
                };
                if !written {
                    // A job that cannot write to its bucket fails, as MediaPackage's does.
                    let status = match write_playlist(moto, client, &job).await {
                        Ok(()) => "SUCCEEDED",
                        Err(_) => "FAILED",
                    };
                    let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(j) = jobs.get_mut(id) {
                        j.0["status"] = json!(status);
                        j.1 = true;
                    }
                    return json_ok(jobs[id].0.clone());
                }
                json_ok(job)
            }
            _ => json_error(405, "MethodNotAllowedException", "not served by the fake"),
        }
    }

    async fn create(
        &self,
        moto: &str,
        client: &reqwest::Client,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        let Ok(req) = serde_json::from_slice::<Value>(body) else {
            return json_error(400, "BadRequestException", "the body is not JSON");
        };
        let field = |k: &str| req[k].as_str().unwrap_or_default().to_string();
        let (id, endpoint) = (field("id"), field("originEndpointId"));
        let dest = &req["s3Destination"];
        if id.is_empty()
            || endpoint.is_empty()
            || ["bucketName", "manifestKey", "roleArn"]
                .iter()
                .any(|k| dest[k].as_str().is_none_or(str::is_empty))
        {
            return json_error(
                400,
                "BadRequestException",
                "id, originEndpointId, startTime, endTime and s3Destination (bucketName, manifestKey, roleArn) are required",
            );
        }
        if self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&id)
        {
            return json_error(
                422,
                "UnprocessableEntityException",
                &format!("harvest job {id} already exists"),
            );
        }
        let (Ok(start), Ok(end)) = (
            field("startTime").parse::<jiff::Timestamp>(),
            field("endTime").parse::<jiff::Timestamp>(),
        ) else {
            return json_error(
                400,
                "BadRequestException",
                "startTime and endTime are ISO 8601 times",
            );
        };
        let path = format!("/origin_endpoints/{endpoint}");
        let found = match ask_moto(client, moto, &path, headers).await {
            Some(found) => found,
            None => {
                return json_error(
                    422,
                    "UnprocessableEntityException",
                    &format!("origin endpoint {endpoint} does not exist"),
                );
            }
        };
        let made = self
            .created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&endpoint)
            .copied();
        if let Some(made) = made.filter(|m| start < *m) {
            return json_error(
                422,
                "UnprocessableEntityException",
                &format!("startTime {start} is before origin endpoint {endpoint} existed ({made})"),
            );
        }
        let startover = found["startoverWindowSeconds"].as_i64().unwrap_or(0);
        let now = jiff::Timestamp::now();
        let oldest = now - jiff::SignedDuration::from_secs(startover);
        if startover <= 0 || start >= end || end > now || start < oldest {
            return json_error(
                422,
                "UnprocessableEntityException",
                &format!(
                    "the span {start}..{end} must be in the past and within the endpoint's startover window of {startover} s"
                ),
            );
        }
        let job = json!({
            "arn": format!("arn:aws:mediapackage:us-east-1:123456789012:harvest_jobs/{id}"),
            "channelId": found["channelId"],
            "createdAt": now.to_string(),
            "endTime": end.to_string(),
            "id": id,
            "originEndpointId": endpoint,
            "s3Destination": dest,
            "startTime": start.to_string(),
            "status": "IN_PROGRESS",
        });
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (job.clone(), false));
        json_ok(job)
    }
}

/// moto's IAM, which reads the service from the signature's scope and checks no signature.
const IAM_AUTH: &str = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0";

/// Whether the role `arn:aws:iam::<account>:role/<name>` exists in moto's IAM.
async fn role_exists(moto: &str, client: &reqwest::Client, arn: &str) -> bool {
    let Some(name) = arn.split(":role/").nth(1) else {
        return false;
    };
    let name = name.rsplit('/').next().unwrap_or(name);
    client
        .post(format!("{moto}/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", IAM_AUTH)
        .body(format!("Action=GetRole&Version=2010-05-08&RoleName={name}"))
        .send()
        .await
        .is_ok_and(|a| a.status().is_success())
}

/// The harvested playlist: 6-second segments over the job's span, closed.
async fn write_playlist(moto: &str, client: &reqwest::Client, job: &Value) -> Result<(), String> {
    let role = job["s3Destination"]["roleArn"].as_str().unwrap_or_default();
    if !role_exists(moto, client, role).await {
        return Err(format!("cannot assume {role}"));
    }
    let span = |k: &str| {
        job[k]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    };
    let (Some(start), Some(end)) = (span("startTime"), span("endTime")) else {
        return Err("the job has no span".into());
    };
    let seconds = end.duration_since(start).as_secs().max(1).unsigned_abs();
    let mut playlist = String::from(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n",
    );
    for n in 0..seconds.div_ceil(6) {
        let d = (seconds - n * 6).min(6);
        playlist.push_str(&format!("#EXTINF:{d}.000,\nindex_{n:05}.ts\n"));
    }
    playlist.push_str("#EXT-X-ENDLIST\n");
    let dest = &job["s3Destination"];
    let (bucket, key) = (
        dest["bucketName"].as_str().unwrap_or_default(),
        dest["manifestKey"].as_str().unwrap_or_default(),
    );
    // moto's S3, path-style; it checks no signature.
    let put = client
        .put(format!("{moto}/{bucket}/{key}"))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(playlist)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if put.status().is_success() {
        Ok(())
    } else {
        Err(format!(
            "writing s3://{bucket}/{key}: HTTP {}",
            put.status()
        ))
    }
}
