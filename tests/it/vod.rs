//! Packaging a real archive (written by the local provider's ffmpeg encoder) with real Shaka
//! Packager and ffmpeg, and checking the result with the static ffmpeg 8.1 that ships with
//! Shaka Packager's wheel (Debian's ffmpeg 5.1 cannot decrypt fragmented CENC).

use crate::common;

use common::media::{aes128_md5, duration_s, join_fmp4, snapshot, video_md5, wheel_binary};

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{LocalProject, Project};
use orchestrate::tools::Tools;
use orchestrate::vod::keys::{ContentKey, LocalKeys};
use orchestrate::vod::package::{Scheme, Signalling};
use orchestrate::vod::pssh::{DrmSystem, system_ids_in_init};
use orchestrate::vod::verify::verify;
use orchestrate::vod::{Packaged, Request, package_archive};

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
        signalling: &Default::default(),
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
        let scheme = Scheme::parse(name).unwrap();
        verify(&out, packaged, scheme, Some(&key), 1.0, &[])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // On demand: a live (dynamic) MPD would offer players only its last minutes.
        std::fs::write(
            out.join("manifest.mpd"),
            mpd.replace(r#"type="static""#, r#"type="dynamic""#),
        )
        .unwrap();
        let err = verify(&out, packaged, scheme, Some(&key), 1.0, &[]).unwrap_err();
        assert!(err.to_string().contains("not a static"), "{err}");
    }

    // A local key with DRM systems named: the packager writes each system's box itself, and
    // the VOD still decodes with the key alone.
    let systems = [DrmSystem::Widevine, DrmSystem::Playready];
    let out = vod.join("cenc-systems");
    let tools = Tools {
        packager: wheel_binary("packager"),
        ffmpeg: PathBuf::from("ffmpeg"),
    };
    let packaged = package_archive(&Request {
        media_dir: &media,
        out_dir: &out,
        segment_duration_s: 1.0,
        scheme: Scheme::Cenc,
        key: Some(&key),
        signalling: &Signalling::Systems(systems.to_vec()),
        trim: None,
        key_uri: "",
        tools: &tools,
    })
    .unwrap();
    verify(&out, &packaged, Scheme::Cenc, Some(&key), 1.0, &systems).unwrap();
    let init = std::fs::read(out.join("240p/init.mp4")).unwrap();
    let ids = system_ids_in_init(&init);
    for s in systems {
        assert!(ids.contains(&s.system_id_bytes()), "{ids:x?}");
    }
    let joined = vod.join("cenc-systems.mp4");
    join_fmp4(&out.join("240p"), &joined);
    assert_eq!(video_md5(&joined, Some(&key), &[]), Some(reference.clone()));
    // The plain cenc VOD carries no Widevine box, and verification asking for one says so.
    let err = verify(
        &vod.join("cenc"),
        &cenc,
        Scheme::Cenc,
        Some(&key),
        1.0,
        &systems,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no pssh box for Widevine"), "{err}");

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
    assert_eq!(
        aes128_md5(
            &out.join("240p/index.m3u8"),
            "https://keys.example.invalid/show",
            &key.key,
            &vod
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
        signalling: &Default::default(),
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

/// ffmpeg writing an EVENT playlist as the local encoder does, `secs` long; run twice into the
/// same playlist it appends after an `#EXT-X-DISCONTINUITY`, its timestamps starting again.
fn encode_into(rendition: &Path, secs: u32) {
    let ok = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc=size=426x240:rate=15"])
        .args(["-f", "lavfi", "-i", "sine=frequency=1000"])
        .args([
            "-t",
            &secs.to_string(),
            "-c:v",
            "libx264",
            "-g",
            "15",
            "-c:a",
            "aac",
        ])
        .args(["-f", "hls", "-hls_time", "1", "-hls_playlist_type", "event"])
        .args(["-hls_list_size", "0"])
        .args([
            "-hls_flags",
            "independent_segments+program_date_time+append_list",
        ])
        .arg("-hls_segment_filename")
        .arg(rendition.join("seg_%05d.ts"))
        .arg(rendition.join("index.m3u8"))
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg could not write the archive");
}

#[test]
fn an_archive_with_an_encoder_restart_packages_whole() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("archive");
    let rendition = media.join("240p");
    std::fs::create_dir_all(&rendition).unwrap();
    std::fs::write(
        media.join("master.m3u8"),
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=426x240\n240p/index.m3u8\n",
    )
    .unwrap();
    // Four seconds, a restart (the new encoder's clock starts again), three more.
    encode_into(&rendition, 4);
    encode_into(&rendition, 3);
    let playlist = std::fs::read_to_string(rendition.join("index.m3u8")).unwrap();
    assert!(
        playlist.matches("#EXT-X-DISCONTINUITY").count() >= 1
            && playlist
                .split("#EXT-X-DISCONTINUITY")
                .last()
                .unwrap()
                .contains("seg_"),
        "the second run did not append after a discontinuity: {playlist}"
    );
    let key = LocalKeys::new(dir.path()).key_for("show").unwrap();
    for (name, scheme) in [("clear", Scheme::Clear), ("cenc", Scheme::Cenc)] {
        let out = dir.path().join(name);
        let k = (scheme != Scheme::Clear).then_some(&key);
        let packaged = package(&media, &out, scheme, k);
        assert!((packaged.duration_s - 7.0).abs() < 0.6, "{packaged:?}");
        // The VOD lasts what the archive kept: both runs, one after the other.
        verify(&out, &packaged, scheme, k, 1.0, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
