//! `bench handoff`: how long packaging a long archive takes. The archive is made quickly, not in
//! real time: a short clip per rendition is encoded once, then looped with stream copy into an
//! EVENT playlist of the requested length, in the shape the local encoder writes.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;

use super::{Scratch, ffmpeg, peak_rss};
use crate::tools::Tools;
use crate::vod::keys::LocalKeys;
use crate::vod::package::Scheme;
use crate::vod::{Request, package_archive};

#[derive(Debug, Clone)]
pub struct HandoffParams {
    pub archive: Duration,
    pub scheme: Scheme,
    pub segment_duration_s: f64,
}

#[derive(Debug, Serialize)]
pub struct HandoffResult {
    pub scenario: &'static str,
    pub scheme: String,
    pub renditions: usize,
    pub segments: usize,
    /// The archive's duration (its segments', per rendition).
    pub archive_s: f64,
    pub archive_bytes: u64,
    /// Reading the archive, joining, packaging, cleaning up.
    pub packaging_s: f64,
    /// Making the archive (not part of the measurement).
    pub generate_s: f64,
    pub peak_rss_bytes: u64,
}

const LADDER: [(&str, u32, u32, &str); 3] = [
    ("720p", 1280, 720, "2500k"),
    ("360p", 640, 360, "800k"),
    ("240p", 426, 240, "400k"),
];

pub async fn handoff(project: &Path, p: &HandoffParams) -> anyhow::Result<HandoffResult> {
    let tools = Tools::find(project);
    let dir = std::env::temp_dir().join(format!(
        "orchestrate-handoff-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_millisecond()
    ));
    let _scratch = Scratch(dir.clone());
    let media = dir.join("media");
    let t = std::time::Instant::now();
    let seg = p.segment_duration_s;
    let mut master = String::from("#EXTM3U\n#EXT-X-VERSION:6\n");
    for (name, w, h, rate) in LADDER {
        let clip = dir.join(format!("{name}.ts"));
        std::fs::create_dir_all(media.join(name))?;
        ffmpeg(
            &tools.ffmpeg,
            "making the archive",
            &[
                "-f",
                "lavfi",
                "-i",
                &format!("testsrc2=size={w}x{h}:rate=30"),
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=1000:sample_rate=48000",
                "-t",
                "20",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-b:v",
                rate,
                "-force_key_frames",
                &format!("expr:gte(t,n_forced*{seg})"),
                "-c:a",
                "aac",
                "-f",
                "mpegts",
                &clip.display().to_string(),
            ],
        )?;
        let out = media.join(name);
        ffmpeg(
            &tools.ffmpeg,
            "making the archive",
            &[
                "-stream_loop",
                "-1",
                "-i",
                &clip.display().to_string(),
                "-t",
                &p.archive.as_secs().to_string(),
                "-c",
                "copy",
                "-f",
                "hls",
                "-hls_time",
                &seg.to_string(),
                "-hls_playlist_type",
                "event",
                "-hls_list_size",
                "0",
                "-hls_flags",
                "independent_segments+program_date_time",
                "-hls_segment_filename",
                &out.join("seg_%05d.ts").display().to_string(),
                &out.join("index.m3u8").display().to_string(),
            ],
        )?;
        let bandwidth = rate.trim_end_matches('k').parse::<u64>().unwrap_or(0) * 1000;
        master.push_str(&format!(
            "#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={w}x{h}\n{name}/index.m3u8\n"
        ));
    }
    std::fs::write(media.join("master.m3u8"), master)?;
    let generate_s = t.elapsed().as_secs_f64();
    let archive_bytes = dir_bytes(&media);

    let key = match p.scheme {
        Scheme::Clear => None,
        _ => Some(LocalKeys::new(&dir).key_for("handoff")?),
    };
    let out = dir.join("vod");
    let media2 = media.clone();
    let scheme = p.scheme;
    let packaged = tokio::task::spawn_blocking(move || {
        package_archive(&Request {
            media_dir: &media2,
            out_dir: &out,
            segment_duration_s: seg,
            scheme,
            key: key.as_ref(),
            signalling: &Default::default(),
            trim: None,
            key_uri: "https://keys.example.invalid/handoff",
            tools: &tools,
        })
    })
    .await?
    .context("packaging the generated archive")?;
    Ok(HandoffResult {
        scenario: "handoff",
        scheme: p.scheme.as_str().to_string(),
        renditions: packaged.renditions.len(),
        segments: packaged.segments,
        archive_s: (packaged.duration_s * 1000.0).round() / 1000.0,
        archive_bytes,
        packaging_s: packaged.packaging_ms as f64 / 1000.0,
        generate_s: (generate_s * 1000.0).round() / 1000.0,
        peak_rss_bytes: peak_rss(),
    })
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => dir_bytes(&e.path()),
                    _ => e.metadata().map_or(0, |m| m.len()),
                })
                .sum()
        })
        .unwrap_or(0)
}
