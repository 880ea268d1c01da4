//! The edge: a caching reverse proxy in front of a region's origins.
//!
//! - `GET /<event>/<path>` is fetched from the event's origin as `/<pipeline>/<path>`; the
//!   origin is found from the local provider's record of it, so a shared edge reaches events
//!   created after it.
//! - Responses are cached for the origin's `max-age` (`s-maxage` first); `no-store`,
//!   `no-cache`, `private` and anything but 200 are not kept. Concurrent misses on one URL make
//!   one origin fetch and share its answer. `X-Cache` says HIT or MISS.
//! - Each event has an active pipeline, the primary at first. When the active one fails (no
//!   answer or a 5xx), the next is tried and becomes active. `POST /_orchestrate/failover`
//!   switches by hand (monitoring's failover action), with the edge's bearer token.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use moka::Expiry;
use moka::future::Cache;
use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// `<state>/local/<region>`: where the origins' records are.
    pub region_dir: PathBuf,
    /// The one event this edge serves, or `None` for a group's shared edge.
    pub event: Option<String>,
    pub cache_bytes: u64,
    /// The bearer token of the control endpoints.
    pub token: String,
}

#[derive(Debug)]
struct Cached {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    cache_control: Option<HeaderValue>,
    body: Bytes,
    ttl: Duration,
    at: Instant,
}

struct Ttl;

impl Expiry<String, Arc<Cached>> for Ttl {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Arc<Cached>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Why a fetch gave nothing to keep; shared by every request that waited on it.
#[derive(Debug)]
enum Miss {
    /// The origin answered something not to be cached (kept whole, to pass on).
    Uncacheable(Cached),
    Unreachable(String),
}

struct Edge {
    cfg: EdgeConfig,
    client: reqwest::Client,
    cache: Cache<String, Arc<Cached>>,
    /// Index of each event's active pipeline in its origin's `pipelines`.
    active: Mutex<HashMap<String, usize>>,
}

pub fn router(cfg: EdgeConfig) -> Result<Router, crate::http::ClientError> {
    let cache = Cache::builder()
        .max_capacity(cfg.cache_bytes)
        .weigher(|k: &String, v: &Arc<Cached>| {
            (k.len() + v.body.len()).try_into().unwrap_or(u32::MAX)
        })
        .expire_after(Ttl)
        .build();
    let client = crate::http::client(Duration::from_secs(2), Duration::from_secs(10))?;
    let edge = Arc::new(Edge {
        cfg,
        client,
        cache,
        active: Mutex::new(HashMap::new()),
    });
    Ok(Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/_orchestrate/failover", post(failover))
        .route("/_orchestrate/upstreams", get(upstreams))
        .route("/{event}/{*path}", get(proxy))
        .with_state(edge))
}

/// An event's origin as its record gives it: base URL and pipelines, primary first.
fn origin_of(cfg: &EdgeConfig, event: &str) -> Option<(String, Vec<String>)> {
    if !valid_event(event) || cfg.event.as_deref().is_some_and(|e| e != event) {
        return None;
    }
    let text = std::fs::read(cfg.region_dir.join(event).join("origin/record.json")).ok()?;
    let rec: serde_json::Value = serde_json::from_slice(&text).ok()?;
    let url = rec["outputs"]["url"].as_str()?.to_string();
    let pipelines = rec["definition"]["pipelines"]
        .as_array()?
        .iter()
        .filter_map(|p| p.as_str().map(String::from))
        .collect::<Vec<_>>();
    (!pipelines.is_empty()).then_some((url, pipelines))
}

/// Event keys as the schedule allows them, and shared units (`@profile+group`).
fn valid_event(e: &str) -> bool {
    !e.is_empty()
        && e.len() <= 128
        && e.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '@' | '+' | '.'))
        && e != "."
        && e != ".."
}

async fn proxy(
    State(edge): State<Arc<Edge>>,
    UrlPath((event, path)): UrlPath<(String, String)>,
) -> Response {
    let Some((base, pipelines)) = origin_of(&edge.cfg, &event) else {
        return text(StatusCode::NOT_FOUND, "no such event at this edge");
    };
    if path.split('/').any(|p| p == ".." || p.is_empty()) {
        return text(StatusCode::BAD_REQUEST, "bad path");
    }
    let first = edge.active_index(&event).min(pipelines.len() - 1);
    let mut last = text(StatusCode::BAD_GATEWAY, "origin unreachable");
    for i in 0..pipelines.len() {
        let idx = (first + i) % pipelines.len();
        let url = format!("{base}/{}/{path}", pipelines[idx]);
        let (resp, failed) = edge.fetch(url).await;
        let resp = with_header(resp, "x-upstream", &pipelines[idx]);
        if !failed {
            if idx != first {
                edge.set_active(&event, idx);
                println!(
                    "failover {event}: {} -> {}",
                    pipelines[first], pipelines[idx]
                );
            }
            return resp;
        }
        last = resp;
    }
    last
}

impl Edge {
    fn active_index(&self, event: &str) -> usize {
        let a = self.active.lock().unwrap_or_else(|p| p.into_inner());
        a.get(event).copied().unwrap_or(0)
    }

    fn set_active(&self, event: &str, idx: usize) {
        let mut a = self.active.lock().unwrap_or_else(|p| p.into_inner());
        a.insert(event.to_string(), idx);
    }

    /// The response for `url` and whether the upstream failed (no answer or a 5xx), which
    /// is what makes the edge try the other pipeline.
    async fn fetch(&self, url: String) -> (Response, bool) {
        let fetched_here = AtomicBool::new(false);
        let got = self
            .cache
            .try_get_with(url.clone(), async {
                fetched_here.store(true, Ordering::Relaxed);
                self.fetch_origin(&url).await
            })
            .await;
        let label = if fetched_here.load(Ordering::Relaxed) {
            "MISS"
        } else {
            "HIT"
        };
        match got {
            Ok(c) => (respond(&c, label), false),
            Err(e) => match &*e {
                Miss::Uncacheable(c) => (respond(c, label), c.status.is_server_error()),
                Miss::Unreachable(why) => {
                    println!("upstream {url}: {why}");
                    (text(StatusCode::BAD_GATEWAY, "origin unreachable"), true)
                }
            },
        }
    }

    async fn fetch_origin(&self, url: &str) -> Result<Arc<Cached>, Miss> {
        let resp = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| Miss::Unreachable(e.to_string()))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| Miss::Unreachable(e.to_string()))?;
        let cache_control = headers.get(header::CACHE_CONTROL).cloned();
        let ttl = cache_control
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .map_or(Duration::ZERO, ttl_of);
        let cached = Cached {
            status,
            content_type: headers.get(header::CONTENT_TYPE).cloned(),
            cache_control,
            body,
            ttl,
            at: Instant::now(),
        };
        if status == StatusCode::OK && !ttl.is_zero() {
            Ok(Arc::new(cached))
        } else {
            Err(Miss::Uncacheable(cached))
        }
    }
}

/// How long a response may be kept by a shared cache, from its Cache-Control.
pub fn ttl_of(cache_control: &str) -> Duration {
    let mut max_age = None;
    let mut s_maxage = None;
    for d in cache_control
        .split(',')
        .map(|d| d.trim().to_ascii_lowercase())
    {
        if d == "no-store" || d == "no-cache" || d == "private" {
            return Duration::ZERO;
        }
        if let Some(v) = d.strip_prefix("s-maxage=") {
            s_maxage = v.trim_matches('"').parse::<u64>().ok();
        } else if let Some(v) = d.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse::<u64>().ok();
        }
    }
    Duration::from_secs(s_maxage.or(max_age).unwrap_or(0))
}

fn respond(c: &Cached, label: &'static str) -> Response {
    let mut r = (c.status, c.body.clone()).into_response();
    let h = r.headers_mut();
    if let Some(v) = &c.content_type {
        h.insert(header::CONTENT_TYPE, v.clone());
    }
    if let Some(v) = &c.cache_control {
        h.insert(header::CACHE_CONTROL, v.clone());
    }
    h.insert("x-cache", HeaderValue::from_static(label));
    h.insert(header::AGE, HeaderValue::from(c.at.elapsed().as_secs()));
    r
}

fn with_header(mut r: Response, name: &'static str, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
    r
}

fn text(status: StatusCode, msg: &'static str) -> Response {
    let mut r = (status, msg).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn authorised(edge: &Edge, headers: &HeaderMap) -> bool {
    super::bearer_ok(headers, &edge.cfg.token)
}

#[derive(Deserialize)]
struct FailoverQuery {
    event: String,
    pipeline: String,
}

async fn failover(
    State(edge): State<Arc<Edge>>,
    headers: HeaderMap,
    Query(q): Query<FailoverQuery>,
) -> Response {
    if !authorised(&edge, &headers) {
        return text(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
    }
    let Some((_, pipelines)) = origin_of(&edge.cfg, &q.event) else {
        return text(StatusCode::NOT_FOUND, "no such event at this edge");
    };
    let Some(idx) = pipelines.iter().position(|p| *p == q.pipeline) else {
        return text(StatusCode::BAD_REQUEST, "no such pipeline for this event");
    };
    edge.set_active(&q.event, idx);
    println!("failover {}: -> {} (by request)", q.event, q.pipeline);
    StatusCode::NO_CONTENT.into_response()
}

async fn upstreams(State(edge): State<Arc<Edge>>, headers: HeaderMap) -> Response {
    if !authorised(&edge, &headers) {
        return text(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
    }
    let active = edge.active.lock().map(|a| a.clone()).unwrap_or_default();
    axum::Json(active).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_gives_the_shared_ttl() {
        assert_eq!(ttl_of("public, max-age=1"), Duration::from_secs(1));
        assert_eq!(
            ttl_of("public, max-age=31536000, immutable"),
            Duration::from_secs(31_536_000)
        );
        assert_eq!(ttl_of("max-age=60, s-maxage=5"), Duration::from_secs(5));
        assert_eq!(ttl_of("no-store"), Duration::ZERO);
        assert_eq!(ttl_of("private, max-age=60"), Duration::ZERO);
        assert_eq!(ttl_of("max-age=abc"), Duration::ZERO);
        assert_eq!(ttl_of(""), Duration::ZERO);
    }

    proptest::proptest! {
        #[test]
        fn any_cache_control_parses_without_panic(v in "\\PC{0,60}") {
            let _ = ttl_of(&v);
        }
    }

    #[test]
    fn event_keys_are_checked() {
        assert!(valid_event("cup-final"));
        assert!(valid_event("@sim-league+cup"));
        assert!(!valid_event(".."));
        assert!(!valid_event("a/b"));
        assert!(!valid_event(""));
    }
}
