//! The ffmpeg command line of one local encoder, built from its rendered definition alone (pure,
//! so that what users would run by hand is snapshot-tested).

use std::path::Path;

use serde::Deserialize;

/// `templates/local/encoder.tera`, rendered.
#[derive(Debug, Clone, Deserialize)]
pub struct EncoderDef {
    pub codec: String,
    pub segment_duration_s: f64,
    #[serde(default)]
    pub pipeline: Option<String>,
    /// The input resource this encoder reads (`input` or `input-a`…).
    pub input: String,
    pub ladder: Vec<RenditionDef>,
    pub packaging: Vec<String>,
    /// Keep every segment (the archive for the VOD hand-off) instead of only the live window.
    pub keep_segments: bool,
    /// Segments in the live playlist when they are not kept (a kept archive's playlist lists
    /// them all).
    pub live_segments: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RenditionDef {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub bitrate: u64,
    pub fps: f64,
}

/// Where an encoder reads from, as its input resource resolved it.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A test pattern with a burnt-in clock, and a tone, both carrying the sync mark.
    TestPattern,
    /// A file played in a loop at its native rate.
    File { path: String, has_audio: bool },
    /// A listener a contribution feed pushes to (`srt://…?mode=listener`, `rtmp://…` with
    /// `-listen 1`); the feed carries one video and one audio stream.
    Listener { url: String, rtmp: bool },
}

/// Whether the output is DASH/CMAF (fMP4 through the dash muxer, with an HLS playlist beside
/// it) rather than HLS over MPEG-TS.
pub fn is_dash(def: &EncoderDef) -> bool {
    def.packaging.iter().any(|p| p == "dash" || p == "cmaf")
}

/// The playlists that list a segment once the encoder has published one: each variant's for
/// HLS; for DASH, the first representation's HLS playlist written beside the MPD.
pub fn variant_playlists(def: &EncoderDef, out_dir: &Path) -> Vec<std::path::PathBuf> {
    if is_dash(def) {
        vec![out_dir.join("media_0.m3u8")]
    } else {
        def.ladder
            .iter()
            .map(|r| out_dir.join(&r.name).join("index.m3u8"))
            .collect()
    }
}

/// The manifest a player opens, relative to the pipeline's media directory.
pub fn manifest_name(def: &EncoderDef) -> &'static str {
    if is_dash(def) {
        "manifest.mpd"
    } else {
        "master.m3u8"
    }
}

pub fn args(def: &EncoderDef, source: &Source, out_dir: &Path, progress: &Path) -> Vec<String> {
    let mut a: Vec<String> = ["-hide_banner", "-nostdin", "-loglevel", "warning", "-y"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let top = def.ladder.iter().max_by_key(|r| r.width * r.height);
    let (w, h) = top.map_or((1280, 720), |r| (r.width, r.height));
    let fps = def.ladder.iter().map(|r| r.fps).fold(0.0, f64::max);
    let fps = if fps > 0.0 { fps } else { 30.0 };
    // Input 0 gives the picture; the audio comes from input 1 when a tone is added.
    let (audio, clock) = match source {
        Source::TestPattern => {
            push(&mut a, &["-re", "-f", "lavfi", "-i"]);
            a.push(format!("testsrc2=size={w}x{h}:rate={}", num(fps)));
            push(&mut a, &["-re", "-f", "lavfi", "-i"]);
            a.push(crate::syncmark::AUDIO.into());
            ("1:a:0", true)
        }
        Source::File { path, has_audio } => {
            push(&mut a, &["-re", "-stream_loop", "-1", "-i", path]);
            if *has_audio {
                ("0:a:0", false)
            } else {
                push(&mut a, &["-re", "-f", "lavfi", "-i"]);
                a.push("anullsrc=sample_rate=48000:channel_layout=stereo".into());
                ("1:a:0", false)
            }
        }
        Source::Listener { url, rtmp } => {
            if *rtmp {
                push(&mut a, &["-listen", "1"]);
            }
            push(&mut a, &["-i", url]);
            ("0:a:0", false)
        }
    };
    let n = def.ladder.len();
    let mut graph = String::from("[0:v:0]");
    if clock {
        // The wall clock, so that latency and freezes can be read off the picture, and the
        // sync mark, so that lip sync can be.
        graph.push_str(&format!(
            "drawtext=font=monospace:text='%{{localtime\\:%T}}':x=24:y=24:fontsize={}:fontcolor=white:box=1:boxcolor=black@0.6,{},",
            (h / 12).max(12),
            crate::syncmark::VIDEO
        ));
    }
    graph.push_str(&format!("split={n}"));
    for i in 0..n {
        graph.push_str(&format!("[s{i}]"));
    }
    let dash = is_dash(def);
    // One DASH adaptation set must share a display aspect ratio: 426x240 is not quite 16:9, so
    // every rendition takes the top one's, as players would show it anyway.
    let aspect = if dash {
        format!("setdar={w}/{h}")
    } else {
        "setsar=1".to_string()
    };
    for (i, r) in def.ladder.iter().enumerate() {
        graph.push_str(&format!(
            ";[s{i}]scale={}:{},fps={},{aspect}[v{i}]",
            r.width,
            r.height,
            num(r.fps)
        ));
    }
    push(&mut a, &["-filter_complex", &graph]);
    // HLS muxes audio into every variant; DASH carries it once, after the videos, so that
    // representation N is rendition N.
    for i in 0..n {
        a.push("-map".into());
        a.push(format!("[v{i}]"));
        if !dash {
            push(&mut a, &["-map", audio]);
        }
    }
    if dash {
        push(&mut a, &["-map", audio]);
    }
    match def.codec.as_str() {
        "h265" => push(
            &mut a,
            &[
                "-c:v",
                "libx265",
                "-preset",
                "veryfast",
                "-tag:v",
                "hvc1",
                "-x265-params",
                "log-level=error",
            ],
        ),
        _ => push(
            &mut a,
            &[
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-profile:v",
                "high",
            ],
        ),
    }
    push(&mut a, &["-pix_fmt", "yuv420p"]);
    for (i, r) in def.ladder.iter().enumerate() {
        a.push(format!("-b:v:{i}"));
        a.push(r.bitrate.to_string());
        a.push(format!("-maxrate:v:{i}"));
        a.push(r.bitrate.to_string());
        a.push(format!("-bufsize:v:{i}"));
        a.push((r.bitrate * 2).to_string());
    }
    let seg = num(def.segment_duration_s);
    // A keyframe at every segment boundary, whatever each rendition's frame rate.
    push(&mut a, &["-force_key_frames"]);
    a.push(format!("expr:gte(t,n_forced*{seg})"));
    push(&mut a, &["-sc_threshold", "0"]);
    push(
        &mut a,
        &["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"],
    );
    push(&mut a, &["-progress"]);
    a.push(progress.display().to_string());
    push(&mut a, &["-stats_period", "1"]);
    let dir = out_dir.display();
    if dash {
        let kept = if def.keep_segments { 1_000_000 } else { 5 };
        push(&mut a, &["-f", "dash", "-seg_duration", &seg]);
        push(&mut a, &["-window_size", &def.live_segments.to_string()]);
        push(&mut a, &["-extra_window_size", &kept.to_string()]);
        push(
            &mut a,
            &[
                "-use_template",
                "1",
                "-use_timeline",
                "0",
                "-hls_playlist",
                "1",
                "-adaptation_sets",
                "id=0,streams=v id=1,streams=a",
                "-init_seg_name",
                "init-$RepresentationID$.m4s",
                "-media_seg_name",
                "seg-$RepresentationID$-$Number%05d$.m4s",
            ],
        );
        a.push(format!("{dir}/manifest.mpd"));
    } else {
        // `append_list`: a restarted encoder continues the numbering after a discontinuity
        // instead of overwriting the archive's first segments.
        let mut flags =
            String::from("independent_segments+temp_file+program_date_time+append_list");
        if !def.keep_segments {
            flags.push_str("+delete_segments");
        }
        let map: Vec<String> = def
            .ladder
            .iter()
            .enumerate()
            .map(|(i, r)| format!("v:{i},a:{i},name:{}", r.name))
            .collect();
        push(&mut a, &["-f", "hls", "-hls_time", &seg]);
        if def.keep_segments {
            // The archive lists itself: an EVENT playlist keeps every segment with its
            // program date-time, which the VOD hand-off reads (and players can seek back).
            push(
                &mut a,
                &["-hls_playlist_type", "event", "-hls_list_size", "0"],
            );
        } else {
            push(&mut a, &["-hls_list_size", &def.live_segments.to_string()]);
        }
        push(&mut a, &["-hls_flags", &flags]);
        push(&mut a, &["-master_pl_name", "master.m3u8"]);
        push(&mut a, &["-var_stream_map", &map.join(" ")]);
        a.push("-hls_segment_filename".into());
        a.push(format!("{dir}/%v/seg_%05d.ts"));
        a.push(format!("{dir}/%v/index.m3u8"));
    }
    a
}

/// A progress report older than this means ffmpeg has stopped making progress (it writes one
/// every second: `-stats_period 1`), whatever its process state says.
const PROGRESS_STALE: std::time::Duration = std::time::Duration::from_secs(5);

/// The encoder's health from the last block of its `-progress` file (`key=value` lines, each
/// block ending with `progress=continue`).
pub fn progress_health(
    path: &Path,
    running: bool,
    now: std::time::SystemTime,
) -> crate::providers::EncoderHealth {
    use std::io::{Read, Seek, SeekFrom};
    let mut h = crate::providers::EncoderHealth::default();
    let Ok(mut f) = std::fs::File::open(path) else {
        return h;
    };
    let fresh = f
        .metadata()
        .and_then(|m| m.modified())
        .is_ok_and(|t| now.duration_since(t).unwrap_or_default() < PROGRESS_STALE);
    h.up = running && fresh;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut tail = String::new();
    if f.seek(SeekFrom::Start(len.saturating_sub(4096))).is_err()
        || f.read_to_string(&mut tail).is_err()
    {
        return h;
    }
    parse_progress(&tail, &mut h);
    h
}

fn parse_progress(text: &str, h: &mut crate::providers::EncoderHealth) {
    let body = text.trim_end();
    let body = body
        .strip_suffix("progress=continue")
        .or_else(|| body.strip_suffix("progress=end"))
        .unwrap_or(body);
    let block = body.rfind("progress=").map_or(body, |i| &body[i..]).lines();
    for line in block {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "fps" => h.fps = v.parse().ok(),
            "speed" => h.speed = v.trim_end_matches('x').parse().ok(),
            "bitrate" => h.bitrate_kbps = v.trim_end_matches("kbits/s").parse().ok(),
            "drop_frames" => h.dropped_frames = v.parse().ok(),
            "dup_frames" => h.duplicated_frames = v.parse().ok(),
            _ => {}
        }
    }
}

fn push(a: &mut Vec<String>, items: &[&str]) {
    a.extend(items.iter().map(|s| s.to_string()));
}

/// A number as ffmpeg reads it: no trailing `.0`.
fn num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(packaging: &str) -> EncoderDef {
        EncoderDef {
            codec: "h264".into(),
            segment_duration_s: 2.0,
            pipeline: Some("a".into()),
            input: "input-a".into(),
            ladder: vec![
                RenditionDef {
                    name: "720p".into(),
                    width: 1280,
                    height: 720,
                    bitrate: 3_000_000,
                    fps: 30.0,
                },
                RenditionDef {
                    name: "360p".into(),
                    width: 640,
                    height: 360,
                    bitrate: 800_000,
                    fps: 30.0,
                },
            ],
            packaging: vec![packaging.into()],
            keep_segments: true,
            live_segments: 6,
        }
    }

    #[test]
    fn hls_test_pattern_command_line() {
        let a = args(
            &def("hls"),
            &Source::TestPattern,
            Path::new("/s/media/a"),
            Path::new("/s/run/progress"),
        );
        insta::assert_snapshot!(a.join(" "));
    }

    #[test]
    fn dash_from_srt_command_line() {
        let a = args(
            &def("cmaf"),
            &Source::Listener {
                url: "srt://127.0.0.1:9000?mode=listener".into(),
                rtmp: false,
            },
            Path::new("/s/media/a"),
            Path::new("/s/run/progress"),
        );
        insta::assert_snapshot!(a.join(" "));
    }
}

#[cfg(test)]
mod progress_tests {
    use super::*;

    #[test]
    fn reads_the_last_progress_block() {
        let text = "frame=10\nfps=9.0\nspeed=0.5x\nprogress=continue\nframe=40\nfps=29.97\nbitrate=3100.2kbits/s\ndup_frames=2\ndrop_frames=1\nspeed=1.01x\nprogress=continue\n";
        let mut h = crate::providers::EncoderHealth::default();
        parse_progress(text, &mut h);
        assert_eq!(h.fps, Some(29.97));
        assert_eq!(h.speed, Some(1.01));
        assert_eq!(h.bitrate_kbps, Some(3100.2));
        assert_eq!((h.dropped_frames, h.duplicated_frames), (Some(1), Some(2)));
        let mut h = crate::providers::EncoderHealth::default();
        parse_progress("speed=N/A\nbitrate=N/A\ngarbage\n=\n", &mut h);
        assert_eq!((h.speed, h.bitrate_kbps), (None, None));
    }
}
