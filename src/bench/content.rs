//! `bench content`: what the content tier costs. One sample (the segments published in one
//! sampling interval) of the local test pattern, with its sync mark, is encoded once; the
//! probe's analysis runs on it again and again exactly as on air (one ffmpeg thread, the same
//! detectors), and ffmpeg's own CPU accounting gives how many renditions one core keeps
//! analysed at that interval.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;

use super::{Scratch, round3};
use crate::monitor::probes::content::analyse;

#[derive(Debug, Clone)]
pub struct ContentParams {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub bitrate: String,
    pub segment_s: f64,
    /// Segments per sample: the profile's `monitoring.content.every`.
    pub every: u32,
    pub samples: usize,
}

#[derive(Debug, Serialize)]
pub struct ContentResult {
    pub scenario: &'static str,
    pub rendition: String,
    pub interval_s: f64,
    pub samples: usize,
    /// CPU-seconds of one analysed sample, median and worst: the detectors' (ffmpeg's user +
    /// system time) and the check's (below), as the probe counts them against the budget.
    pub analyse_cpu_s_p50: f64,
    pub analyse_cpu_s_max: f64,
    /// Reading a rendition's bitrate and resolution only (ffprobe, no decoding): wall time,
    /// which bounds its CPU.
    pub check_s_p50: f64,
    /// Renditions whose picture and sound one core analyses at this interval.
    pub renditions_per_core: f64,
    /// Renditions whose bitrate and resolution one core checks at this interval.
    pub checked_per_core: f64,
    /// What the analysis read on the healthy pattern: nothing wrong, the mark in sync.
    pub av_offset_ms: Option<f64>,
    pub alarms_on_healthy: usize,
}

pub async fn content(p: &ContentParams) -> anyhow::Result<ContentResult> {
    let (ffmpeg, ffprobe) = crate::tools::media_tools();
    let dir = std::env::temp_dir().join(format!(
        "orchestrate-bench-content-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_millisecond()
    ));
    std::fs::create_dir_all(&dir)?;
    let _scratch = Scratch(dir.clone());
    let interval_s = p.segment_s * f64::from(p.every);
    let sample = dir.join("sample.ts");
    make_sample(&ffmpeg, p, interval_s, &sample)?;

    let limit = Duration::from_secs(120);
    let mut detect = Vec::new();
    let mut check = Vec::new();
    let mut last = None;
    for _ in 0..p.samples.max(1) {
        let a = analyse::run(&ffmpeg, &ffprobe, &sample, None, true, limit).await?;
        let d = a.detected.context("ffmpeg read no video in the sample")?;
        detect.push(a.cpu_s);
        last = Some(d);
        let c = analyse::run(&ffmpeg, &ffprobe, &sample, None, false, limit).await?;
        check.push(c.cpu_s);
    }
    let d = last.unwrap_or_default();
    let p50 = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let max = detect.iter().copied().fold(0.0, f64::max);
    let detect_p50 = p50(&mut detect);
    let check_p50 = p50(&mut check);
    let alarms = [&d.black, &d.freeze, &d.silence]
        .iter()
        .map(|v| v.len())
        .sum();
    Ok(ContentResult {
        scenario: "content",
        rendition: format!("{}x{}@{} {}", p.width, p.height, p.fps, p.bitrate),
        interval_s,
        samples: p.samples.max(1),
        analyse_cpu_s_p50: round3(detect_p50),
        analyse_cpu_s_max: round3(max),
        check_s_p50: round3(check_p50),
        renditions_per_core: round3(interval_s / detect_p50.max(1e-3)),
        checked_per_core: round3(interval_s / check_p50.max(1e-3)),
        av_offset_ms: d.av_offset_ms,
        alarms_on_healthy: alarms,
    })
}

/// The segments of one sampling interval, as the local encoder writes them: the test pattern
/// with the sync mark, and the beeping tone.
fn make_sample(ffmpeg: &Path, p: &ContentParams, length_s: f64, to: &Path) -> anyhow::Result<()> {
    let video = format!(
        "testsrc2=size={}x{}:rate={},{}",
        p.width,
        p.height,
        p.fps,
        crate::syncmark::VIDEO
    );
    let length = length_s.to_string();
    let keyframes = format!("expr:gte(t,n_forced*{})", p.segment_s);
    let to = to.display().to_string();
    super::ffmpeg(
        ffmpeg,
        "making the sample",
        &[
            "-f",
            "lavfi",
            "-i",
            &video,
            "-f",
            "lavfi",
            "-i",
            crate::syncmark::AUDIO,
            "-t",
            &length,
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-b:v",
            &p.bitrate,
            "-maxrate",
            &p.bitrate,
            "-bufsize",
            "2M",
            "-force_key_frames",
            &keyframes,
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-f",
            "mpegts",
            &to,
        ],
    )
}
