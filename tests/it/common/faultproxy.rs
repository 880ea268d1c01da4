//! A fake AWS front: an HTTP proxy on loopback that passes calls to moto_server and answers a
//! share of them with AWS's own throttling and server errors, in each protocol's shape
//! (restJson1 for MediaLive and MediaPackage, restXml for S3 and CloudFront, the EC2 query
//! protocol for EC2). A server error is given after moto has done the call, as when AWS acts
//! and its answer is lost. It also serves what moto lacks, under the same faults: MediaLive
//! input security groups (`fake_input_security_groups.rs`), channel alerts
//! (`fake_channel_alerts.rs`), schedules and pipeline restarts (`fake_schedule.rs`), Service
//! Quotas' listings (`fake_service_quotas.rs`), MediaPackage harvest jobs
//! (`fake_harvest_jobs.rs`), and MediaPackage v2 (`fake_mediapackage_v2.rs`) with its harvest
//! jobs (`fake_mediapackage_v2_harvest.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::fake_channel_alerts::ChannelAlerts;
use super::fake_harvest_jobs::HarvestJobs;
use super::fake_input_security_groups::InputSecurityGroups;
use super::fake_mediapackage_v2::MediaPackageV2;
use super::fake_mediapackage_v2_harvest::HarvestJobsV2;
use super::fake_schedule::Schedules;
use super::fake_service_quotas::ServiceQuotas;

#[derive(Default)]
pub struct Counts {
    pub calls: AtomicU64,
    pub throttled: AtomicU64,
    pub failed: AtomicU64,
}

pub struct FaultProxy {
    pub url: String,
    pub counts: Arc<Counts>,
    shared: Arc<Shared>,
    _served: super::served::Served,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    counts: Arc<Counts>,
    /// Out of 100 calls: throttled, then failed with a 5xx.
    throttle_pct: AtomicU64,
    error_pct: AtomicU64,
    seed: AtomicU64,
    /// (method, path prefix, or `Action=…` for the EC2 query protocol) of calls whose first
    /// answer is lost after moto acted.
    lose_first: std::sync::Mutex<Vec<(String, String)>>,
    input_security_groups: InputSecurityGroups,
    harvest_jobs: HarvestJobs,
    channel_alerts: ChannelAlerts,
    schedules: Schedules,
    service_quotas: ServiceQuotas,
    mediapackage_v2: MediaPackageV2,
    mediapackage_v2_harvest: HarvestJobsV2,
    /// When each call arrived, with its path.
    arrivals: std::sync::Mutex<Vec<(std::time::Instant, String)>>,
}

impl FaultProxy {
    /// `lose_first`: (method, path prefix or `Action=…`) of calls whose first answer is lost after moto
    /// acted, whatever the dice say (the creates the lookup-before-create must survive).
    pub fn start(
        upstream: &str,
        throttle_pct: u64,
        error_pct: u64,
        lose_first: &[(&str, &str)],
    ) -> Self {
        let counts = Arc::new(Counts::default());
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: orchestrate::http::client(
                std::time::Duration::from_secs(10),
                std::time::Duration::from_secs(300),
            )
            .unwrap(),
            counts: counts.clone(),
            throttle_pct: AtomicU64::new(throttle_pct),
            error_pct: AtomicU64::new(error_pct),
            seed: AtomicU64::new(0x9e37_79b9_7f4a_7c15),
            lose_first: std::sync::Mutex::new(
                lose_first
                    .iter()
                    .map(|(m, p)| (m.to_string(), p.to_string()))
                    .collect(),
            ),
            input_security_groups: InputSecurityGroups::default(),
            harvest_jobs: HarvestJobs::default(),
            channel_alerts: ChannelAlerts::default(),
            schedules: Schedules::default(),
            service_quotas: ServiceQuotas::default(),
            mediapackage_v2: MediaPackageV2::default(),
            mediapackage_v2_harvest: HarvestJobsV2::default(),
            arrivals: std::sync::Mutex::new(Vec::new()),
        });
        let shared_app = shared.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let shared = shared_app.clone();
                async move { shared.handle(method, uri, headers, body).await }
            },
        );
        let served = super::served::Served::start(app);
        FaultProxy {
            url: served.url.clone(),
            counts,
            shared,
            _served: served,
        }
    }
}

impl FaultProxy {
    /// The calls named to lose their first answer that were never made: a test that named
    /// them expects none.
    /// The MediaLive channel alerts the front serves, for a test to raise and clear.
    pub fn channel_alerts(&self) -> &ChannelAlerts {
        &self.shared.channel_alerts
    }

    /// Changes the share of calls throttled and failed from now on: a test checks what the
    /// fakes keep with none.
    pub fn set_faults(&self, throttle_pct: u64, error_pct: u64) {
        self.shared
            .throttle_pct
            .store(throttle_pct, Ordering::Relaxed);
        self.shared.error_pct.store(error_pct, Ordering::Relaxed);
    }

    /// The MediaPackage v2 the front fakes, for a test to serve its egress or freeze a
    /// channel.
    pub fn mediapackage_v2(&self) -> &MediaPackageV2 {
        &self.shared.mediapackage_v2
    }

    /// The address the front listens on, `host:port`.
    pub fn host_port(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// When the calls whose path starts with `prefix` arrived, in order.
    pub fn arrivals(&self, prefix: &str) -> Vec<std::time::Instant> {
        let all = self
            .shared
            .arrivals
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        all.iter()
            .filter(|(_, p)| p.starts_with(prefix))
            .map(|(t, _)| *t)
            .collect()
    }

    /// The account's quotas the front answers Service Quotas with.
    pub fn service_quotas(&self) -> &ServiceQuotas {
        &self.shared.service_quotas
    }

    /// The MediaLive channel schedules the front keeps.
    pub fn schedules(&self) -> &Schedules {
        &self.shared.schedules
    }

    pub fn never_lost(&self) -> Vec<(String, String)> {
        self.shared
            .lose_first
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Protocol {
    /// MediaLive, MediaPackage.
    Json,
    /// S3 (path-style buckets), CloudFront (dated paths).
    Xml,
    /// EC2: a form `Action=…` posted to `/`.
    Query,
}

fn protocol(uri: &Uri, body: &[u8]) -> Protocol {
    let p = uri.path();
    if ["/prod/", "/channels", "/origin_endpoints", "/harvest_jobs"]
        .iter()
        .any(|prefix| p.starts_with(prefix))
        || MediaPackageV2::serves(p)
    {
        Protocol::Json
    } else if p == "/" && form_action(body).is_some() {
        Protocol::Query
    } else {
        Protocol::Xml
    }
}

/// Whether a call is the one `(method, pattern)` names: a path prefix, or the query
/// protocol's `Action=…`.
fn names(method: &Method, uri: &Uri, body: &[u8], (m, pattern): &(String, String)) -> bool {
    if m != method.as_str() {
        return false;
    }
    match pattern.strip_prefix("Action=") {
        Some(action) => form_action(body) == Some(action),
        None => uri.path().starts_with(pattern.as_str()),
    }
}

fn form_action(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|kv| kv.strip_prefix("Action="))
}

impl Shared {
    /// A splitmix64 step: reproducible faults for a given order of calls.
    fn roll(&self) -> u64 {
        let mut z = self
            .seed
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % 100
    }

    async fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        if MediaPackageV2::serves_egress(uri.path()) {
            // What viewers and probes fetch: no API call, so neither counted nor faulted.
            return self.mediapackage_v2.answer_egress(&method, uri.path());
        }
        self.counts.calls.fetch_add(1, Ordering::Relaxed);
        self.arrivals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((std::time::Instant::now(), uri.path().to_string()));
        let lose = {
            let mut l = self.lose_first.lock().unwrap_or_else(|p| p.into_inner());
            let hit = l.iter().position(|n| names(&method, &uri, &body, n));
            hit.map(|i| l.remove(i)).is_some()
        };
        let roll = self.roll();
        let (throttle_pct, error_pct) = (
            self.throttle_pct.load(Ordering::Relaxed),
            self.error_pct.load(Ordering::Relaxed),
        );
        let throttle = !lose && roll < throttle_pct;
        let fail_after = lose || (!throttle && roll < throttle_pct + error_pct);
        let protocol = protocol(&uri, &body);
        if throttle {
            self.counts.throttled.fetch_add(1, Ordering::Relaxed);
            return throttled(protocol, uri.path());
        }
        // What moto lacks, the fakes answer, under the same faults.
        let (moto, client) = (self.upstream.as_str(), &self.client);
        let faked = if HarvestJobs::serves(uri.path()) {
            let jobs = &self.harvest_jobs;
            Some(
                jobs.answer(moto, client, &method, uri.path(), &headers, &body)
                    .await,
            )
        } else if HarvestJobsV2::serves(uri.path()) {
            let (v2, jobs) = (&self.mediapackage_v2, &self.mediapackage_v2_harvest);
            let query = uri.query().unwrap_or_default();
            Some(
                jobs.answer(
                    v2,
                    moto,
                    client,
                    &method,
                    uri.path(),
                    query,
                    &headers,
                    &body,
                )
                .await,
            )
        } else if MediaPackageV2::serves(uri.path()) {
            let v2 = &self.mediapackage_v2;
            Some(v2.answer(&method, uri.path(), &headers, &body))
        } else if let Some(op) = ServiceQuotas::operation(&headers) {
            Some(self.service_quotas.answer(&op, &body))
        } else if let Some(channel) = Schedules::restart_of(uri.path()) {
            let schedules = &self.schedules;
            Some(
                schedules
                    .restart(moto, client, &method, channel, &headers, &body)
                    .await,
            )
        } else if let Some(channel) = Schedules::channel_of(uri.path()) {
            let schedules = &self.schedules;
            Some(
                schedules
                    .answer(moto, client, &method, channel, &headers, &body)
                    .await,
            )
        } else {
            self.channel_alerts.answer(&method, &uri).or_else(|| {
                self.input_security_groups
                    .answer(&method, uri.path(), &headers, &body)
            })
        };
        if let Some(answer) = faked {
            if fail_after {
                self.counts.failed.fetch_add(1, Ordering::Relaxed);
                return server_error(protocol);
            }
            return answer;
        }
        let target = format!(
            "{}{}",
            self.upstream,
            uri.path_and_query().map_or("/", |p| p.as_str())
        );
        let mut req = self
            .client
            .request(method.clone(), target)
            .body(body.clone());
        for (k, v) in &headers {
            if k != "host" && k != "content-length" {
                req = req.header(k, v);
            }
        }
        let answer = match req.send().await {
            Ok(a) => a,
            Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
        };
        let status = answer.status();
        let mut out = HeaderMap::new();
        for (k, v) in answer.headers() {
            if k != "transfer-encoding" && k != "content-length" && k != "connection" {
                out.insert(k.clone(), v.clone());
            }
        }
        let mut bytes = answer.bytes().await.unwrap_or_default();
        if status.is_success() {
            if let Some(described) = self
                .harvest_jobs
                .endpoint_answer(&method, uri.path(), &bytes)
            {
                bytes = described.into();
            }
            self.input_security_groups
                .observe(&method, uri.path(), &body, &bytes);
            self.schedules.observe(&method, uri.path());
        }
        if fail_after {
            self.counts.failed.fetch_add(1, Ordering::Relaxed);
            return server_error(protocol);
        }
        (status, out, bytes).into_response()
    }
}

fn throttled(protocol: Protocol, path: &str) -> Response {
    if protocol == Protocol::Query {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "text/xml")],
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded. (injected)</Message></Error></Errors><RequestID>fault</RequestID></Response>",
        )
            .into_response();
    }
    if protocol == Protocol::Json {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [
                ("x-amzn-ErrorType", "TooManyRequestsException"),
                ("content-type", "application/json"),
            ],
            r#"{"message":"Too many requests (injected)"}"#,
        )
            .into_response();
    }
    if path.starts_with("/20") {
        // CloudFront
        return (
            StatusCode::BAD_REQUEST,
            [("content-type", "text/xml")],
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded (injected)</Message></Error><RequestId>fault</RequestId></ErrorResponse>",
        )
            .into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [("content-type", "application/xml")],
        "<Error><Code>SlowDown</Code><Message>Please reduce your request rate (injected)</Message><RequestId>fault</RequestId></Error>",
    )
        .into_response()
}

fn server_error(protocol: Protocol) -> Response {
    if protocol == Protocol::Query {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "text/xml")],
            "<Response><Errors><Error><Code>InternalError</Code><Message>An internal error has occurred (injected)</Message></Error></Errors><RequestID>fault</RequestID></Response>",
        )
            .into_response();
    }
    if protocol == Protocol::Xml {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "application/xml")],
            "<Error><Code>InternalError</Code><Message>We encountered an internal error (injected)</Message><RequestId>fault</RequestId></Error>",
        )
            .into_response();
    }
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [
            ("x-amzn-ErrorType", "InternalServerErrorException"),
            ("content-type", "application/json"),
        ],
        r#"{"message":"Internal failure (injected)"}"#,
    )
        .into_response()
}

/// The region a SigV4-signed call is for: `Credential=<key>/<date>/<region>/<service>/…`.
pub fn signed_region(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|a| a.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(2))
        .unwrap_or("us-east-1")
        .to_string()
}

/// A fake's JSON answer.
pub fn json_ok(body: serde_json::Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A fake's error, in the restJson1 shape: the code in `x-amzn-ErrorType`, a `message`.
pub fn json_error(status: u16, code: &str, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        [
            ("x-amzn-ErrorType", code.to_string()),
            ("content-type", "application/json".to_string()),
        ],
        serde_json::json!({ "message": message }).to_string(),
    )
        .into_response()
}

/// What moto keeps at `path` (a GET), asked with the caller's signature (so in its region);
/// `None` unless moto answers it.
pub async fn ask_moto(
    client: &reqwest::Client,
    moto: &str,
    path: &str,
    headers: &HeaderMap,
) -> Option<serde_json::Value> {
    let mut ask = client.get(format!("{moto}{path}"));
    if let Some(auth) = headers.get("authorization") {
        ask = ask.header("authorization", auth);
    }
    match ask.send().await {
        Ok(a) if a.status().is_success() => Some(a.json().await.unwrap_or(serde_json::Value::Null)),
        _ => None,
    }
}
