//! Probes, one set per event and region, each a task sending [`Signal`]s until stopped:
//! - T1 [`encoder`]: the encoder's own view (the provider's [`crate::providers::EncoderHealth`]);
//! - T2 [`origin`]: each rendition's playlist at the origin, per pipeline;
//! - T3 and T4 [`edge`]: the edge's playlists, and a player downloading through it;
//! - the [`content`] tier: samples of the stream at the edge, analysed with ffmpeg.

pub mod content;
pub mod edge;
pub mod encoder;
pub mod hls;
pub mod origin;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Labels, Metric, Series, Signal, Tier};

/// Makes the series of one probed thing.
#[derive(Debug, Clone)]
pub struct Emitter {
    labels: Labels,
}

impl Emitter {
    pub fn new(event: &str, region: &str, tier: Tier, resource: &str) -> Self {
        Self {
            labels: Labels {
                event: Arc::from(event),
                region: Arc::from(region),
                tier,
                resource: Arc::from(resource),
                rendition: None,
            },
        }
    }

    pub fn rendition(&self, name: &str) -> Self {
        let mut e = self.clone();
        e.labels.rendition = Some(Arc::from(name));
        e
    }

    pub fn with_tier(&self, tier: Tier, resource: &str) -> Self {
        let mut e = self.clone();
        e.labels.tier = tier;
        e.labels.resource = Arc::from(resource);
        e
    }

    pub fn resource(&self) -> String {
        self.labels.resource.to_string()
    }

    /// One series per metric, labelled with this emitter's labels (and the metric's tier).
    pub fn series(&self, metrics: &[Metric]) -> Vec<Arc<Series>> {
        metrics
            .iter()
            .map(|m| {
                let mut l = self.labels.clone();
                l.tier = m.tier();
                Series::new(*m, l)
            })
            .collect()
    }
}

/// What an HTTP GET gave.
pub struct Fetched {
    pub status: reqwest::StatusCode,
    pub body: axum::body::Bytes,
    pub ttfb: Duration,
    pub last_modified: Option<Timestamp>,
    /// From `X-Cache: HIT|MISS`, where the server says.
    pub cache_hit: Option<bool>,
    /// The pipeline a local edge served the answer from (`X-Upstream`).
    pub upstream: Option<String>,
}

/// GET `url`; a non-2xx answer is an `Ok` with its status (the edge probe reports it).
pub async fn fetch(client: &reqwest::Client, url: &str) -> Result<Fetched, reqwest::Error> {
    let t0 = Instant::now();
    let r = client.get(url).send().await?;
    let ttfb = t0.elapsed();
    let status = r.status();
    let h = r.headers();
    let last_modified = h
        .get(reqwest::header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| jiff::fmt::rfc2822::parse(v).ok())
        .map(|z| z.timestamp());
    let cache_hit = h
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.to_ascii_uppercase().starts_with("HIT"));
    let upstream = h
        .get("x-upstream")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let body = r.bytes().await?;
    Ok(Fetched {
        status,
        body,
        ttfb,
        last_modified,
        cache_hit,
        upstream,
    })
}

/// A rendition of a master playlist: its name, its playlist's URL, and what the master says
/// of it.
#[derive(Debug, Clone)]
struct Rendition {
    name: String,
    url: String,
    variant: hls::Variant,
    /// The master's audio rendition's playlist, where the sound is not in the variant.
    audio_url: Option<String>,
}

/// The renditions of the master playlist at `url`, fetched again every half target duration
/// until it answers (reporting `playlist_up` 0 meanwhile), or `None` once stopped.
async fn renditions(
    client: &reqwest::Client,
    e: &Emitter,
    url: &str,
    target_s: f64,
    tx: &mpsc::Sender<Signal>,
    stop: &CancellationToken,
) -> Option<Vec<Rendition>> {
    let down = e.series(&[Metric::PlaylistUp]);
    loop {
        if let Ok(r) = fetch(client, url).await
            && r.status.is_success()
        {
            let text = String::from_utf8_lossy(&r.body);
            let audio_url = hls::audio_uri(&text).map(|u| hls::resolve(url, &u));
            let v: Vec<Rendition> = hls::variants(&text)
                .into_iter()
                .map(|variant| Rendition {
                    name: rendition_name(&variant.uri),
                    url: hls::resolve(url, &variant.uri),
                    variant,
                    audio_url: audio_url.clone(),
                })
                .collect();
            if !v.is_empty() {
                return Some(v);
            }
        }
        if e.labels.tier == Tier::Origin
            && let Some(s) = down.first()
        {
            let _ = tx.send(Signal::new(s, Timestamp::now(), 0.0)).await;
        }
        tokio::select! {
            () = stop.cancelled() => return None,
            () = tokio::time::sleep(Duration::from_secs_f64((target_s / 2.0).max(0.1))) => {}
        }
    }
}

/// Waits until the next reload of a playlist whose last load began at `began`: one target
/// duration after it changed, half of one after it did not (RFC 8216 6.3.4). False once stopped.
async fn next_reload(
    began: tokio::time::Instant,
    changed: bool,
    target_s: f64,
    stop: &CancellationToken,
) -> bool {
    let wait = if changed { target_s } else { target_s / 2.0 };
    let until = began + Duration::from_secs_f64(wait.max(0.1));
    tokio::select! {
        () = stop.cancelled() => false,
        () = tokio::time::sleep_until(until) => true,
    }
}

/// `720p/index.m3u8` → `720p`; `media_0.m3u8` → `media_0`.
fn rendition_name(uri: &str) -> String {
    let path = uri.split('?').next().unwrap_or(uri);
    match path.split_once('/') {
        Some((dir, _)) if !dir.is_empty() && !dir.contains(':') => dir.to_string(),
        _ => path
            .rsplit('/')
            .next()
            .unwrap_or(path)
            .trim_end_matches(".m3u8")
            .to_string(),
    }
}

/// The newest segment each pipeline's origin playlist shows, per rendition: how far the edge
/// is behind is read against it.
#[derive(Debug, Default)]
pub struct OriginHeads(Mutex<HashMap<String, HashMap<String, u64>>>);

impl OriginHeads {
    pub fn set(&self, rendition: &str, pipeline: &str, next_sequence: u64) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(rendition.to_string())
            .or_default()
            .insert(pipeline.to_string(), next_sequence);
    }

    /// Segments the edge is behind: against the pipeline it is closest behind (the one it
    /// serves), since pipelines number their segments each on their own.
    pub fn lag(&self, rendition: &str, edge_next: u64) -> Option<u64> {
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.get(rendition)?
            .values()
            .filter_map(|&origin| origin.checked_sub(edge_next))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendition_names() {
        assert_eq!(rendition_name("720p/index.m3u8"), "720p");
        assert_eq!(rendition_name("media_0.m3u8"), "media_0");
        assert_eq!(rendition_name("http://h/x/y.m3u8"), "y");
    }

    #[test]
    fn lag_is_read_against_the_closest_pipeline_ahead() {
        let h = OriginHeads::default();
        h.set("720p", "origin/a", 100);
        h.set("720p", "origin/b", 90);
        assert_eq!(h.lag("720p", 99), Some(1));
        assert_eq!(h.lag("720p", 89), Some(1));
        assert_eq!(h.lag("720p", 101), None);
        assert_eq!(h.lag("1080p", 1), None);
    }
}
