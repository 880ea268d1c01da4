//! One sample analysed: ffmpeg's own detectors over a few seconds of one rendition (black,
//! freeze, silence, EBU R128 loudness, the sync mark's flash and beep), and ffprobe's reading
//! of its video (bitrate, resolution). The command lines and the reading of their output are
//! pure; [`run`] runs them.

use std::path::Path;
use std::time::Duration;

use tokio::process::Command;

use crate::syncmark;

/// A stretch a detector reported, in seconds from the sample's start; `end` is `None` while it
/// lasts to the end of the sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stretch {
    pub start: f64,
    pub end: Option<f64>,
}

/// What ffmpeg's detectors found in a sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detected {
    pub black: Vec<Stretch>,
    pub freeze: Vec<Stretch>,
    pub silence: Vec<Stretch>,
    /// Integrated loudness, LUFS; `None` without sound.
    pub loudness_lufs: Option<f64>,
    /// Median of (beep − flash) over the sample's marks, milliseconds; `None` without a mark.
    pub av_offset_ms: Option<f64>,
    /// CPU seconds ffmpeg used (user + system), as its `-benchmark` reports.
    pub cpu_s: f64,
}

/// The sample's video as ffprobe reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoStream {
    pub width: u32,
    pub height: u32,
    /// Bytes of video packets (no audio, no container overhead).
    pub video_bytes: u64,
    /// Whether the sample carries sound too.
    pub audio: bool,
}

/// Shortest black, frozen or silent stretch the detectors report: shorter ones are no alarm
/// by any rule, and longer minimums would hide the start of a run at a sample's end.
const MIN_STRETCH_S: f64 = 1.0;

/// Where the sound of a sample is: muxed with the picture, in a file of its own (an audio
/// rendition), or nowhere.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sound<'a> {
    Muxed,
    Separate(&'a Path),
    None,
}

/// ffmpeg's arguments for analysing `input`: one decoding thread, so that what it costs is
/// what the budget counts, and the inputs' own timestamps (`-copyts`), so that a separate
/// sound stays in step with the picture (the reader measures from the first picture).
pub fn detector_args(input: &Path, sound: Sound<'_>) -> Vec<String> {
    let d = MIN_STRETCH_S;
    let mut graph = format!(
        "[0:v:0]split=2[v1][v2];\
         [v1]blackdetect=d={d},freezedetect=d={d}[vo];\
         [v2]{},signalstats,metadata=mode=print:key=lavfi.signalstats.YAVG[vm]",
        syncmark::VIDEO_PROBE
    );
    let audio = match sound {
        Sound::Muxed => Some("[0:a:0]"),
        Sound::Separate(_) => Some("[1:a:0]"),
        Sound::None => None,
    };
    if let Some(a) = audio {
        graph.push_str(&format!(
            ";{a}asplit=2[a1][a2];\
             [a1]silencedetect=n=-50dB:d={d},ebur128=framelog=verbose[ao];\
             [a2]{},asetnsamples=n=240,astats=metadata=1:reset=1:measure_overall=RMS_level:measure_perchannel=none,\
             ametadata=mode=print:key=lavfi.astats.Overall.RMS_level[am]",
            syncmark::AUDIO_PROBE
        ));
    }
    let mut a: Vec<String> = [
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-loglevel",
        "info",
        "-benchmark",
        "-copyts",
        "-threads",
        "1",
        "-filter_threads",
        "1",
        "-i",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.push(input.display().to_string());
    if let Sound::Separate(path) = sound {
        a.extend(["-threads", "1", "-i"].map(String::from));
        a.push(path.display().to_string());
    }
    a.push("-filter_complex".into());
    a.push(graph);
    let outs: &[&str] = if audio.is_some() {
        &["[vo]", "[vm]", "[ao]", "[am]"]
    } else {
        &["[vo]", "[vm]"]
    };
    for o in outs {
        a.push("-map".into());
        a.push((*o).into());
    }
    a.extend(["-f", "null", "-"].map(String::from));
    a
}

/// ffprobe's arguments for the streams and packet sizes of `input`.
pub fn probe_args(input: &Path) -> Vec<String> {
    let mut a: Vec<String> = [
        "-v",
        "error",
        "-show_entries",
        "stream=index,codec_type,width,height:packet=stream_index,size",
        "-of",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.push(input.display().to_string());
    a
}

/// Reads ffmpeg's log of [`detector_args`] for a sample `length_s` long.
pub fn read_detectors(log: &str) -> Detected {
    let mut d = Detected::default();
    let mut flashes = Edges::new(syncmark::FLASH_LUMA);
    let mut beeps = Edges::new(syncmark::BEEP_DB);
    // The metadata filters print a frame's time on one line and its value on the next.
    let mut at: Option<f64> = None;
    // The first picture's time: the inputs keep their own timestamps, and stretches are told
    // from the sample's start.
    let mut first_picture: Option<f64> = None;
    let mut integrated = false;
    for line in log.lines() {
        let body = line.split_once("] ").map_or(line, |(_, b)| b).trim();
        if let Some(t) = field(body, "pts_time:") {
            at = Some(t);
        } else if let Some(v) = body.strip_prefix("lavfi.signalstats.YAVG=") {
            if let (Some(t), Ok(v)) = (at, v.trim().parse::<f64>()) {
                first_picture.get_or_insert(t);
                flashes.push(t, v);
            }
        } else if let Some(v) = body.strip_prefix("lavfi.astats.Overall.RMS_level=") {
            // A silent window reads `-inf`, which parses as such: below any threshold.
            if let (Some(t), Ok(v)) = (at, v.trim().parse::<f64>()) {
                beeps.push(t, v);
            }
        } else if let Some(start) = field(body, "black_start:") {
            d.black.push(Stretch {
                start,
                end: field(body, "black_end:"),
            });
        } else if let Some(t) = field(body, "lavfi.freezedetect.freeze_start:") {
            d.freeze.push(Stretch {
                start: t,
                end: None,
            });
        } else if let Some(t) = field(body, "lavfi.freezedetect.freeze_end:") {
            close_last(&mut d.freeze, t);
        } else if let Some(t) = field(body, "silence_start:") {
            d.silence.push(Stretch {
                start: t.max(0.0),
                end: None,
            });
        } else if let Some(t) = field(body, "silence_end:") {
            close_last(&mut d.silence, t);
        } else if body.starts_with("Integrated loudness:") {
            integrated = true;
        } else if integrated && let Some(v) = field(body, "I:") {
            // ffmpeg may print a summary for a graph it configured and threw away: the last
            // one is the sample's.
            d.loudness_lufs = Some(v);
            integrated = false;
        } else if let Some(rest) = body.strip_prefix("bench: utime=") {
            let user = seconds(rest);
            let sys = rest.split_once("stime=").map_or(0.0, |(_, s)| seconds(s));
            d.cpu_s = user + sys;
        }
    }
    d.av_offset_ms = offset_ms(&flashes.rises, &beeps.rises);
    let t0 = first_picture.unwrap_or(0.0);
    for s in d
        .black
        .iter_mut()
        .chain(&mut d.freeze)
        .chain(&mut d.silence)
    {
        s.start = (s.start - t0).max(0.0);
        s.end = s.end.map(|e| (e - t0).max(0.0));
    }
    d
}

/// The video stream of ffprobe's JSON answer for [`probe_args`].
pub fn read_probe(json: &str) -> Option<VideoStream> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        streams: Vec<Stream>,
        #[serde(default)]
        packets: Vec<Packet>,
    }
    #[derive(serde::Deserialize)]
    struct Stream {
        index: Option<u32>,
        codec_type: Option<String>,
        width: Option<u32>,
        height: Option<u32>,
    }
    #[derive(serde::Deserialize)]
    struct Packet {
        stream_index: Option<u32>,
        size: Option<String>,
    }
    let a: Answer = serde_json::from_str(json).ok()?;
    let kind = |s: &&Stream, k: &str| s.codec_type.as_deref() == Some(k);
    let v = a.streams.iter().find(|s| kind(s, "video"))?;
    Some(VideoStream {
        width: v.width?,
        height: v.height?,
        video_bytes: a
            .packets
            .iter()
            .filter(|p| p.stream_index.is_some() && p.stream_index == v.index)
            .filter_map(|p| p.size.as_deref()?.parse::<u64>().ok())
            .sum(),
        audio: a.streams.iter().any(|s| kind(&s, "audio")),
    })
}

/// The number after `key` in `line` (up to the next space or `|`).
fn field(line: &str, key: &str) -> Option<f64> {
    let rest = &line[line.find(key)? + key.len()..];
    rest.trim_start()
        .split([' ', '|'])
        .next()?
        .trim_end_matches('s')
        .parse()
        .ok()
}

/// `0.052s stime=…` → 0.052.
fn seconds(s: &str) -> f64 {
    s.split('s')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn close_last(v: &mut Vec<Stretch>, end: f64) {
    match v.last_mut() {
        Some(s) if s.end.is_none() => s.end = Some(end),
        // An end whose start lies before the sample: the stretch began with it.
        _ => v.push(Stretch {
            start: f64::NEG_INFINITY,
            end: Some(end),
        }),
    }
}

/// When a reading rises to a threshold: the flash lighting, the beep sounding.
struct Edges {
    threshold: f64,
    above: Option<bool>,
    rises: Vec<f64>,
}

impl Edges {
    fn new(threshold: f64) -> Self {
        Self {
            threshold,
            above: None,
            rises: Vec::new(),
        }
    }

    fn push(&mut self, t: f64, v: f64) {
        let now = v >= self.threshold;
        // A sample that begins mid-flash has no rise to time.
        if now && self.above == Some(false) {
            self.rises.push(t);
        }
        self.above = Some(now);
    }
}

/// The median of each flash's nearest beep's lateness, in milliseconds.
fn offset_ms(flashes: &[f64], beeps: &[f64]) -> Option<f64> {
    let mut d: Vec<f64> = flashes
        .iter()
        .filter_map(|f| {
            beeps
                .iter()
                .map(|b| b - f)
                .filter(|x| x.abs() <= syncmark::PAIR_WITHIN_S)
                .min_by(|a, b| a.abs().total_cmp(&b.abs()))
        })
        .collect();
    if d.is_empty() {
        return None;
    }
    d.sort_by(f64::total_cmp);
    let m = d.len() / 2;
    let median = if d.len().is_multiple_of(2) {
        (d[m - 1] + d[m]) / 2.0
    } else {
        d[m]
    };
    Some((median * 1000.0).round())
}

/// What [`run`] gives: ffmpeg's findings (when asked for), ffprobe's reading, and the CPU both
/// took.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub detected: Option<Detected>,
    pub video: Option<VideoStream>,
    /// Whether the detectors heard a sound (muxed, or the audio rendition's).
    pub sound: bool,
    pub cpu_s: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum AnalyseError {
    #[error("cannot run {tool} ({path}): {source}")]
    Spawn {
        tool: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{tool} took longer than {0:?}", .limit)]
    Timeout { tool: &'static str, limit: Duration },
    #[error("{tool} failed on the sample: {tail}")]
    Failed { tool: &'static str, tail: String },
}

/// Runs ffprobe on `sample`, and ffmpeg's detectors too when `detect` (on the sound as well:
/// the sample's own, else `audio`'s, a sample of the audio rendition); each is killed after
/// `limit`. ffprobe only demuxes: its wall time bounds its CPU.
pub async fn run(
    ffmpeg: &Path,
    ffprobe: &Path,
    sample: &Path,
    audio: Option<&Path>,
    detect: bool,
    limit: Duration,
) -> Result<Analysis, AnalyseError> {
    let t0 = std::time::Instant::now();
    let probe = output("ffprobe", ffprobe, &probe_args(sample), limit).await?;
    let video = read_probe(&String::from_utf8_lossy(&probe.stdout));
    if video.is_none() {
        let err = String::from_utf8_lossy(&probe.stderr);
        return Err(AnalyseError::Failed {
            tool: "ffprobe",
            tail: if err.trim().is_empty() {
                "no video stream in the sample".into()
            } else {
                tail(&err)
            },
        });
    }
    let mut a = Analysis {
        video,
        cpu_s: t0.elapsed().as_secs_f64(),
        ..Analysis::default()
    };
    if detect && let Some(v) = a.video {
        let sound = match (v.audio, audio) {
            (true, _) => Sound::Muxed,
            (false, Some(path)) => Sound::Separate(path),
            (false, None) => Sound::None,
        };
        a.sound = sound != Sound::None;
        let out = output("ffmpeg", ffmpeg, &detector_args(sample, sound), limit).await?;
        let log = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(AnalyseError::Failed {
                tool: "ffmpeg",
                tail: tail(&log),
            });
        }
        let d = read_detectors(&log);
        a.cpu_s += d.cpu_s;
        a.detected = Some(d);
    }
    Ok(a)
}

async fn output(
    tool: &'static str,
    path: &Path,
    args: &[String],
    limit: Duration,
) -> Result<std::process::Output, AnalyseError> {
    let child = Command::new(path)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| AnalyseError::Spawn {
            tool,
            path: path.display().to_string(),
            source,
        })?;
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(Ok(o)) => Ok(o),
        Ok(Err(source)) => Err(AnalyseError::Spawn {
            tool,
            path: path.display().to_string(),
            source,
        }),
        Err(_) => Err(AnalyseError::Timeout { tool, limit }),
    }
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sample_that_is_not_media_is_an_error_not_an_empty_reading() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("sample");
        std::fs::write(&junk, b"<html>not a segment</html>").unwrap();
        let (ffmpeg, ffprobe) = crate::tools::media_tools();
        let e = run(
            &ffmpeg,
            &ffprobe,
            &junk,
            None,
            true,
            Duration::from_secs(20),
        )
        .await
        .map(|_| ())
        .unwrap_err();
        assert!(
            matches!(
                e,
                AnalyseError::Failed {
                    tool: "ffprobe",
                    ..
                }
            ),
            "{e}"
        );
        let missing = Path::new("/nonexistent/ffprobe");
        let e = run(&ffmpeg, missing, &junk, None, true, Duration::from_secs(20))
            .await
            .map(|_| ())
            .unwrap_err();
        assert!(e.to_string().contains("cannot run ffprobe"), "{e}");
    }

    const LOG: &str = "\
[Parsed_metadata_5 @ 0x1] frame:0    pts:10800   pts_time:0.12
[Parsed_metadata_5 @ 0x1] lavfi.signalstats.YAVG=16
[Parsed_metadata_5 @ 0x1] frame:1    pts:16800   pts_time:0.186667
[Parsed_metadata_5 @ 0x1] lavfi.signalstats.YAVG=235
[Parsed_ametadata_13 @ 0x2] frame:63   pts:15120   pts_time:0.315
[Parsed_ametadata_13 @ 0x2] lavfi.astats.Overall.RMS_level=-45.1
[Parsed_ametadata_13 @ 0x2] frame:64   pts:15360   pts_time:0.32
[Parsed_ametadata_13 @ 0x2] lavfi.astats.Overall.RMS_level=-16.7
[Parsed_metadata_5 @ 0x1] frame:15   pts:100800  pts_time:1.12
[Parsed_metadata_5 @ 0x1] lavfi.signalstats.YAVG=16
[Parsed_metadata_5 @ 0x1] frame:16   pts:106800  pts_time:1.186667
[Parsed_metadata_5 @ 0x1] lavfi.signalstats.YAVG=235
[Parsed_ametadata_13 @ 0x2] frame:263   pts:63120   pts_time:1.315
[Parsed_ametadata_13 @ 0x2] lavfi.astats.Overall.RMS_level=-inf
[Parsed_ametadata_13 @ 0x2] frame:264   pts:63360   pts_time:1.4
[Parsed_ametadata_13 @ 0x2] lavfi.astats.Overall.RMS_level=-16.7
[blackdetect @ 0x3] black_start:0.5 black_end:2.5 black_duration:2
[freezedetect @ 0x4] lavfi.freezedetect.freeze_start: 1.2
[freezedetect @ 0x4] lavfi.freezedetect.freeze_duration: 1.5
[freezedetect @ 0x4] lavfi.freezedetect.freeze_end: 2.7
[freezedetect @ 0x4] lavfi.freezedetect.freeze_start: 4
[silencedetect @ 0x5] silence_end: 1.25 | silence_duration: 3.1
[silencedetect @ 0x5] silence_start: 2.5
[Parsed_ebur128_8 @ 0x6] Summary:

  Integrated loudness:
    I:         -70.0 LUFS
[Parsed_ebur128_8 @ 0x7] Summary:

  Integrated loudness:
    I:         -19.7 LUFS
    Threshold: -29.7 LUFS
bench: utime=0.052s stime=0.016s rtime=0.070s
bench: maxrss=60368kB
";

    #[test]
    fn reads_every_detector() {
        let d = read_detectors(&LOG.replace("pts_time:0.12\n", "pts_time:0\n"));
        assert_eq!(
            d.black,
            vec![Stretch {
                start: 0.5,
                end: Some(2.5)
            }]
        );
        assert_eq!(
            d.freeze,
            vec![
                Stretch {
                    start: 1.2,
                    end: Some(2.7)
                },
                Stretch {
                    start: 4.0,
                    end: None
                }
            ]
        );
        assert_eq!(
            d.silence,
            vec![
                Stretch {
                    start: 0.0,
                    end: Some(1.25)
                },
                Stretch {
                    start: 2.5,
                    end: None
                }
            ]
        );
        // Times are told from the first picture.
        let shifted = read_detectors(LOG);
        assert!((shifted.black[0].start - 0.38).abs() < 1e-9);
        assert_eq!(shifted.silence[0].start, 0.0);
        assert_eq!(d.loudness_lufs, Some(-19.7));
        assert!((d.cpu_s - 0.068).abs() < 1e-9, "{}", d.cpu_s);
        // Flashes rise at 0.1867 and 1.1867, beeps at 0.32 and 1.4: 133 and 213 ms late.
        assert_eq!(d.av_offset_ms, Some(173.0));
    }

    #[test]
    fn no_mark_no_offset_and_garbage_reads_as_nothing() {
        let d = read_detectors(
            "[blackdetect @ 0x3] black_start:x\nrandom\n] lavfi.signalstats.YAVG=200\n",
        );
        assert_eq!(d.av_offset_ms, None);
        assert_eq!(d.loudness_lufs, None);
        assert_eq!(d.black, vec![]);
        assert_eq!(offset_ms(&[1.0], &[2.0]), None);
    }

    #[test]
    fn reads_ffprobes_video() {
        let json = r#"{"packets":[{"stream_index":0,"size":"1000"},{"stream_index":1,"size":"300"},{"stream_index":0,"size":"500"}],
            "streams":[{"index":0,"codec_type":"video","width":426,"height":240},{"index":1,"codec_type":"audio"}]}"#;
        assert_eq!(
            read_probe(json),
            Some(VideoStream {
                width: 426,
                height: 240,
                video_bytes: 1500,
                audio: true
            })
        );
        assert_eq!(read_probe("{}"), None);
        assert_eq!(read_probe("not json"), None);
    }

    proptest::proptest! {
        #[test]
        fn reading_any_log_never_panics(s in "\\PC*") {
            let _ = read_detectors(&s);
            let _ = read_probe(&s);
        }
    }
}
