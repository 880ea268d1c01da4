//! The content tier, one task per event and region: every few segments, the segments each
//! watched rendition published at the edge since the last sample are fetched and analysed
//! ([`analyse`]): black, freeze and silence runs ([`runs`]), loudness, lip sync, and the
//! video's bitrate and resolution against the ladder. What it may cost is held by the
//! profile's [`budget`].

pub mod analyse;
pub mod budget;
pub mod runs;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Emitter, Rendition, fetch, hls};
use crate::config::profile::{ContentRenditions, ContentSpec};
use crate::monitor::{Metric, Series, Signal};
use budget::Budget;
use runs::Run;

/// A rendition of the profile's ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct Rung {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub bitrate: u64,
}

pub struct ContentProbe {
    pub master_url: String,
    pub segment_s: f64,
    pub spec: ContentSpec,
    pub ladder: Vec<Rung>,
    pub budget: Arc<Budget>,
    /// The show's start: black, frozen or silent before it (a slate) counts from it only.
    pub on_air_from: Timestamp,
}

/// The series of one rendition as served from one pipeline.
struct Sink {
    pipeline: Option<String>,
    black: Arc<Series>,
    freeze: Arc<Series>,
    silence: Arc<Series>,
    loudness: Arc<Series>,
    av: Arc<Series>,
    bitrate: Arc<Series>,
    resolution: Arc<Series>,
    error: Arc<Series>,
}

impl Sink {
    fn new(e: &Emitter, pipeline: Option<String>) -> Self {
        let resource = match &pipeline {
            Some(p) => format!("content/{p}"),
            None => "content".to_string(),
        };
        let e = e.with_tier(crate::monitor::Tier::Content, &resource);
        let s = e.series(&[
            Metric::ContentBlackS,
            Metric::ContentFreezeS,
            Metric::ContentSilenceS,
            Metric::LoudnessLufs,
            Metric::AvOffsetMs,
            Metric::RenditionBitrateKbps,
            Metric::RenditionResolutionOk,
            Metric::ContentProbeError,
        ]);
        let at = |i: usize| s[i].clone();
        Self {
            pipeline,
            black: at(0),
            freeze: at(1),
            silence: at(2),
            loudness: at(3),
            av: at(4),
            bitrate: at(5),
            resolution: at(6),
            error: at(7),
        }
    }
}

/// One watched rendition and what its samples have shown so far.
struct Watch {
    emitter: Emitter,
    url: String,
    /// The audio rendition's playlist, where the sound is not in the variant.
    audio_url: Option<String>,
    rung: Option<Rung>,
    detect: bool,
    sink: Option<Sink>,
    /// The media sequence number after the last segment sampled.
    next: Option<u64>,
    /// Seconds of media on this pipeline's timeline up to `next`.
    clock: f64,
    black: Run,
    freeze: Run,
    silence: Run,
    /// What the last sample cost, CPU-seconds: what the next one waits for.
    cost: f64,
    /// Whether the last analysis failed (its error is printed once, not every sample).
    failing: bool,
}

/// Which rung of the ladder a variant is: the one of its name, else of its resolution, else
/// the one at its place in the master playlist.
fn rung_of(r: &Rendition, i: usize, ladder: &[Rung]) -> Option<Rung> {
    ladder
        .iter()
        .find(|g| g.name == r.name)
        .or_else(|| {
            let (w, h) = r.variant.resolution?;
            ladder.iter().find(|g| g.width == w && g.height == h)
        })
        .or_else(|| ladder.get(i))
        .cloned()
}

/// The renditions whose picture and sound are analysed: every one, or the cheapest to decode
/// (fewest pixels, else the lowest bandwidth).
fn analysed(renditions: &[(Rendition, Option<Rung>)], which: ContentRenditions) -> Vec<bool> {
    if which == ContentRenditions::All {
        return vec![true; renditions.len()];
    }
    let cost = |(r, g): &(Rendition, Option<Rung>)| {
        let pixels = g
            .as_ref()
            .map(|g| u64::from(g.width) * u64::from(g.height))
            .or_else(|| {
                r.variant
                    .resolution
                    .map(|(w, h)| u64::from(w) * u64::from(h))
            });
        (
            pixels.unwrap_or(u64::MAX),
            r.variant.bandwidth.unwrap_or(u64::MAX),
        )
    };
    let cheapest = renditions
        .iter()
        .enumerate()
        .min_by_key(|(_, r)| cost(r))
        .map(|(i, _)| i);
    (0..renditions.len()).map(|i| Some(i) == cheapest).collect()
}

pub async fn run(
    client: reqwest::Client,
    emitter: Emitter,
    probe: ContentProbe,
    tx: mpsc::Sender<Signal>,
    stop: CancellationToken,
) {
    let Some(renditions) = super::renditions(
        &client,
        &emitter,
        &probe.master_url,
        probe.segment_s,
        &tx,
        &stop,
    )
    .await
    else {
        return;
    };
    let matched: Vec<(Rendition, Option<Rung>)> = renditions
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let g = rung_of(&r, i, &probe.ladder);
            (r, g)
        })
        .collect();
    let detect = analysed(&matched, probe.spec.renditions);
    let mut watches: Vec<Watch> = matched
        .into_iter()
        .zip(detect)
        .map(|((r, rung), detect)| Watch {
            emitter: emitter.rendition(rung.as_ref().map_or(&r.name, |g| &g.name)),
            url: r.url,
            audio_url: r.audio_url,
            rung,
            detect,
            sink: None,
            next: None,
            clock: 0.0,
            black: Run::default(),
            freeze: Run::default(),
            silence: Run::default(),
            cost: 0.0,
            failing: false,
        })
        .collect();
    let dir = match tempfile::Builder::new()
        .prefix("orchestrate-content-")
        .tempdir()
    {
        Ok(d) => d,
        Err(e) => {
            eprintln!(
                "content probe of {}: no scratch directory: {e}",
                probe.master_url
            );
            return;
        }
    };
    let (ffmpeg, ffprobe) = crate::tools::media_tools();
    let every = probe.spec.every.max(1);
    let interval = Duration::from_secs_f64((probe.segment_s * f64::from(every)).max(0.1));
    // A sample is a few seconds of small video: much longer means something is stuck.
    let limit = (interval * 4).max(Duration::from_secs(20));
    let tools = Tools {
        ffmpeg: &ffmpeg,
        ffprobe: &ffprobe,
        limit,
    };
    loop {
        let began = tokio::time::Instant::now();
        for (i, w) in watches.iter_mut().enumerate() {
            if stop.is_cancelled() {
                return;
            }
            let file = dir.path().join(format!("sample-{i}"));
            if let Some(out) = sample(&client, w, &probe, every, &tools, &file, &stop).await {
                for s in out {
                    if tx.send(s).await.is_err() {
                        return;
                    }
                }
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep_until(began + interval) => {}
        }
    }
}

struct Tools<'a> {
    ffmpeg: &'a Path,
    ffprobe: &'a Path,
    limit: Duration,
}

/// Takes and analyses one sample of `w`: its signals, or `None` when there was nothing new to
/// sample or the sample could not be had (the edge probe reports why).
async fn sample(
    client: &reqwest::Client,
    w: &mut Watch,
    probe: &ContentProbe,
    every: u32,
    tools: &Tools<'_>,
    file: &Path,
    stop: &CancellationToken,
) -> Option<Vec<Signal>> {
    let got = fetch(client, &w.url).await.ok()?;
    if !got.status.is_success() {
        return None;
    }
    let text = String::from_utf8_lossy(&got.body);
    let playlist = hls::parse(&text).ok()?;
    if w.sink.as_ref().is_none_or(|s| s.pipeline != got.upstream) {
        w.sink = Some(Sink::new(&w.emitter, got.upstream.clone()));
        w.next = None;
    }
    let newest = playlist.next_sequence();
    let from = match w.next {
        Some(n) if n <= newest => n.max(newest.saturating_sub(u64::from(every))),
        _ => newest.saturating_sub(u64::from(every)),
    }
    .max(playlist.media_sequence);
    if from >= newest {
        return None;
    }
    let first = usize::try_from(from - playlist.media_sequence).ok()?;
    let segments = &playlist.segments[first..];
    let follows =
        w.next.is_some_and(|n| n <= newest) && !segments.first().is_some_and(|s| s.discontinuity);
    if let Some(n) = w.next
        && from > n
    {
        // Segments the budget left unsampled still pass on the timeline.
        w.clock += (from - n) as f64 * probe.segment_s;
    }
    let length: f64 = segments.iter().map(|s| s.duration_s).sum();
    // Runs are timed on the capture clock where the playlist dates its segments, so that the
    // show's start can be placed on it; else on the stream's own count of seconds.
    let captured = playlist.starts()[first].map(|t| t.as_millisecond() as f64 / 1000.0);
    let bytes = download(client, &w.url, &text, segments).await?;
    tokio::fs::write(file, &bytes).await.ok()?;
    // The same stretch of the audio rendition, where the sound is apart (DASH/CMAF).
    let audio_file = file.with_extension("audio");
    let audio = match &w.audio_url {
        Some(url) => match audio_sample(client, url, from, newest, segments.len()).await {
            Some(b) if tokio::fs::write(&audio_file, &b).await.is_ok() => {
                Some(audio_file.as_path())
            }
            _ => None,
        },
        None => None,
    };
    if !probe.budget.take(w.cost, stop).await {
        return None;
    }
    let taken = w.cost;
    let analysis = analyse::run(
        tools.ffmpeg,
        tools.ffprobe,
        file,
        audio,
        w.detect,
        tools.limit,
    )
    .await;
    let _ = tokio::fs::remove_file(file).await;
    let _ = tokio::fs::remove_file(&audio_file).await;
    let sink = w.sink.as_ref()?;
    let now = Timestamp::now();
    let analysis = match analysis {
        Ok(a) => a,
        Err(e) => {
            if !w.failing {
                eprintln!("content probe of {}: {e}", w.url);
            }
            w.failing = true;
            probe.budget.settle(-taken);
            return Some(vec![Signal::new(&sink.error, now, 1.0)]);
        }
    };
    w.failing = false;
    probe.budget.settle(analysis.cpu_s - taken);
    w.cost = analysis.cpu_s;
    let (at, from) = match captured {
        Some(t) => (t, probe.on_air_from.as_millisecond() as f64 / 1000.0),
        None => (w.clock, f64::NEG_INFINITY),
    };
    w.clock += length;
    w.next = Some(newest);
    let mut out = vec![Signal::new(&sink.error, now, 0.0)];
    if let Some(d) = &analysis.detected {
        out.push(Signal::new(
            &sink.black,
            now,
            w.black.update(at, length, &d.black, follows, from),
        ));
        out.push(Signal::new(
            &sink.freeze,
            now,
            w.freeze.update(at, length, &d.freeze, follows, from),
        ));
        if analysis.sound {
            out.push(Signal::new(
                &sink.silence,
                now,
                w.silence.update(at, length, &d.silence, follows, from),
            ));
        }
        if let Some(l) = d.loudness_lufs.filter(|l| l.is_finite()) {
            out.push(Signal::new(&sink.loudness, now, l));
        }
        if let Some(ms) = d.av_offset_ms {
            out.push(Signal::new(&sink.av, now, ms));
        }
    }
    if let Some(v) = analysis.video
        && length > 0.0
    {
        let kbps = v.video_bytes as f64 * 8.0 / length / 1000.0;
        out.push(Signal::new(&sink.bitrate, now, kbps.round()));
        if let Some(g) = &w.rung {
            let ok = (v.width, v.height) == (g.width, g.height);
            out.push(Signal::new(&sink.resolution, now, f64::from(u8::from(ok))));
        }
    }
    Some(out)
}

/// The segments of the playlist at `url` (whose text is `text`), after its init section if any,
/// end to end.
async fn download(
    client: &reqwest::Client,
    url: &str,
    text: &str,
    segments: &[crate::vod::archive::Segment],
) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    if let Some(init) = hls::map_uri(text) {
        bytes.extend_from_slice(&fetch_ok(client, &hls::resolve(url, &init)).await?);
    }
    for s in segments {
        bytes.extend_from_slice(&fetch_ok(client, &hls::resolve(url, &s.uri)).await?);
    }
    Some(bytes)
}

/// The audio rendition's segments numbered `from..newest` like the video's (a packager cuts
/// both at the same boundaries), else its newest `count`.
async fn audio_sample(
    client: &reqwest::Client,
    url: &str,
    from: u64,
    newest: u64,
    count: usize,
) -> Option<Vec<u8>> {
    let got = fetch(client, url).await.ok()?;
    if !got.status.is_success() {
        return None;
    }
    let text = String::from_utf8_lossy(&got.body);
    let p = hls::parse(&text).ok()?;
    let range = if from >= p.media_sequence && newest <= p.next_sequence() {
        usize::try_from(from - p.media_sequence).ok()?
            ..usize::try_from(newest - p.media_sequence).ok()?
    } else {
        p.segments.len().saturating_sub(count)..p.segments.len()
    };
    download(client, url, &text, p.segments.get(range)?).await
}

async fn fetch_ok(client: &reqwest::Client, url: &str) -> Option<axum::body::Bytes> {
    let r = fetch(client, url).await.ok()?;
    r.status.is_success().then_some(r.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendition(name: &str, res: Option<(u32, u32)>, bw: u64) -> Rendition {
        Rendition {
            name: name.into(),
            url: format!("http://h/{name}/index.m3u8"),
            audio_url: None,
            variant: hls::Variant {
                uri: format!("{name}/index.m3u8"),
                bandwidth: Some(bw),
                resolution: res,
            },
        }
    }

    fn rung(name: &str, width: u32, height: u32) -> Rung {
        Rung {
            name: name.into(),
            width,
            height,
            bitrate: 1,
        }
    }

    #[test]
    fn variants_find_their_rung_by_name_then_resolution_then_place() {
        let ladder = [rung("720p", 1280, 720), rung("360p", 640, 360)];
        let by_name = rendition("360p", None, 1);
        assert_eq!(rung_of(&by_name, 0, &ladder).unwrap().name, "360p");
        let by_res = rendition("media_1", Some((1280, 720)), 1);
        assert_eq!(rung_of(&by_res, 1, &ladder).unwrap().name, "720p");
        let by_place = rendition("media_1", None, 1);
        assert_eq!(rung_of(&by_place, 1, &ladder).unwrap().name, "360p");
        assert_eq!(rung_of(&by_place, 2, &ladder), None);
    }

    #[test]
    fn the_cheapest_rendition_is_analysed_unless_all_are_asked_for() {
        let ladder = [rung("720p", 1280, 720), rung("360p", 640, 360)];
        let v: Vec<(Rendition, Option<Rung>)> = ["720p", "360p"]
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let r = rendition(n, None, 100 - i as u64);
                let g = rung_of(&r, i, &ladder);
                (r, g)
            })
            .collect();
        assert_eq!(analysed(&v, ContentRenditions::Lowest), vec![false, true]);
        assert_eq!(analysed(&v, ContentRenditions::All), vec![true, true]);
    }
}
