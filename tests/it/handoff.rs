//! The live-to-VOD hand-off through the lifecycle, with real ffmpeg encoders and real Shaka
//! Packager: `tick` after the show packages each archive, verifies it, and only then tears the
//! event down; a failing hand-off keeps the event, gives up loudly, keeps the archive, and
//! `vod retry` finishes it.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use common::media::{aes128_md5, duration_s, join_fmp4, snapshot, video_md5, wheel_binary};
use common::{LocalProject, Project, local_profile};
use jiff::{SignedDuration, Timestamp};
use orchestrate::tools::Tools;
use orchestrate::vod::keys::LocalKeys;
use orchestrate::vod::package::Scheme;
use orchestrate::vod::{Request, package_archive};

fn profile(vod: &str) -> String {
    format!("{}vod: {vod}\n", local_profile("testsrc", "single"))
}

fn schedule(events: &[(&str, &str)], start: Timestamp, end: Timestamp) -> String {
    let mut s = String::from("apiVersion: orchestrate/v1\nkind: Schedule\nevents:\n");
    for (id, profile) in events {
        s.push_str(&format!(
            "  - {{ id: {id}, start: {start}, end: {end}, profile: {profile}, regions: [local-east] }}\n"
        ));
    }
    s
}

/// Runs orchestrate with Shaka Packager from the wheel (or `packager`).
fn run(p: &Project, packager: &Path, args: &[&str]) -> Output {
    p.cmd(args)
        .env("ORCHESTRATE_PACKAGER", packager)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sleep_until(t: Timestamp) {
    let left = t.duration_since(Timestamp::now());
    if left > SignedDuration::ZERO {
        std::thread::sleep(Duration::try_from(left).unwrap());
    }
}

/// (kind, status) of every resource the state records for `event`.
fn kinds(p: &Project, event: &str) -> Vec<(String, String)> {
    let status = p.status_json();
    let mut out = Vec::new();
    for e in status["events"].as_array().unwrap() {
        if e["id"] != event {
            continue;
        }
        for r in e["regions"].as_array().unwrap() {
            for res in r["resources"].as_array().unwrap() {
                out.push((
                    res["kind"].as_str().unwrap().to_string(),
                    res["status"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn region_status(p: &Project, event: &str) -> serde_json::Value {
    let status = p.status_json();
    status["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == event)
        .map(|e| e["regions"][0].clone())
        .unwrap_or_default()
}

/// `orchestrate vod serve` on a free port; killed when dropped.
struct VodServer(std::process::Child, String);

impl Drop for VodServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn vod_serve(p: &Project) -> VodServer {
    let mut child = p
        .cmd(&["vod", "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    VodServer(child, url)
}

fn http(method: &str, url: &str, token: Option<&str>, body: Option<&str>) -> (u16, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = orchestrate::http::client(
            std::time::Duration::from_secs(10),
            std::time::Duration::from_secs(300),
        )
        .unwrap();
        let mut req = match method {
            "POST" => c.post(url).body(body.unwrap_or("").to_string()),
            _ => c.get(url),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.bytes().await.unwrap().to_vec())
    })
}

#[test]
fn a_show_is_handed_off_to_drm_vods_before_it_is_torn_down() {
    let start = Timestamp::now() + SignedDuration::from_secs(6);
    let end = start + SignedDuration::from_secs(30);
    let p = LocalProject(Project::local(&schedule(
        &[("cenc-show", "cenc"), ("aes-show", "aes")],
        start,
        end,
    )));
    p.write(
        "profiles/cenc.yaml",
        &profile("{ enabled: true, trim: true, drm: { scheme: cenc } }"),
    );
    p.write(
        "profiles/aes.yaml",
        &profile("{ enabled: true, trim: true, drm: { scheme: aes-128 } }"),
    );
    let packager = wheel_binary("packager");
    let out = run(&p, &packager, &["tick"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Once the show is over (and its last segment written), a copy of each archive is the
    // reference the VODs are compared against.
    sleep_until(end + SignedDuration::from_secs(3));
    let refs = p.path().join("reference");
    for event in ["cenc-show", "aes-show"] {
        let live = p
            .state_dir()
            .join(format!("local/local-east/{event}/media/main"));
        snapshot(&live, &refs.join(event).join("archive"));
    }
    let out = run(&p, &packager, &["tick", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let summary: serde_json::Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "tick")
        .unwrap();
    let handoffs = summary["handoffs"].as_array().unwrap();
    assert_eq!(handoffs.len(), 2, "{summary}");
    assert!(
        handoffs.iter().all(|h| h["state"] == "package"),
        "{summary}"
    );

    let keys = LocalKeys::new(&p.state_dir());
    let tools = Tools {
        packager: packager.clone(),
        ffmpeg: PathBuf::from("ffmpeg"),
    };
    for event in ["cenc-show", "aes-show"] {
        // Only the published VOD is left: live resources and the archive are gone.
        assert_eq!(
            kinds(&p, event),
            [("vod".to_string(), "ready".to_string())],
            "{event}"
        );
        let event_dir = p.state_dir().join(format!("local/local-east/{event}"));
        assert!(
            !event_dir.join("media").exists(),
            "{event}: archive deleted"
        );
        let region = region_status(&p, event);
        let hls = PathBuf::from(region["vod_hls"].as_str().unwrap());
        assert!(hls.is_file(), "{region}");
        assert_eq!(
            region["vod_url_path"],
            format!("/vod/local-east/{event}/master.m3u8")
        );

        // The reference: the same archive, trimmed alike, packaged in the clear.
        let clear = refs.join(event).join("clear");
        let packaged = package_archive(&Request {
            media_dir: &refs.join(event).join("archive"),
            out_dir: &clear,
            segment_duration_s: 1.0,
            scheme: Scheme::Clear,
            key: None,
            signalling: &Default::default(),
            trim: Some((start, end)),
            key_uri: "",
            tools: &tools,
        })
        .unwrap();
        let clear_mp4 = refs.join(event).join("clear.mp4");
        join_fmp4(&clear.join("240p"), &clear_mp4);
        let reference = video_md5(&clear_mp4, None, &[]).expect("the clear VOD decodes");
        let scheduled = end.duration_since(start).as_secs_f64();
        assert!(
            (packaged.duration_s - scheduled).abs() <= 1.0 + 0.1,
            "{event}: kept {} s of a {scheduled} s show",
            packaged.duration_s
        );
        let key = keys.key_for(event).unwrap();
        let vod = hls.parent().unwrap();
        if event == "cenc-show" {
            let joined = refs.join(event).join("vod.mp4");
            join_fmp4(&vod.join("240p"), &joined);
            assert_ne!(video_md5(&joined, None, &[]).as_ref(), Some(&reference));
            assert_eq!(video_md5(&joined, Some(&key), &[]), Some(reference));
            assert!(
                (duration_s(&joined) - scheduled).abs() <= 1.0 + 0.1,
                "VOD {} s, show {scheduled} s",
                duration_s(&joined)
            );
        } else {
            let playlist = std::fs::read_to_string(vod.join("240p/index.m3u8")).unwrap();
            assert!(
                playlist.contains("#EXT-X-KEY:METHOD=AES-128,URI=\"/v1/keys/aes-show\""),
                "{playlist}"
            );
            let md5 = aes128_md5(
                &vod.join("240p/index.m3u8"),
                "/v1/keys/aes-show",
                &key.key,
                &refs,
            );
            assert_eq!(md5, Some(reference));
        }
    }
    let report = p.ok(&["report", "cenc-show", "--output", "json"]);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["vod"][0]["scheme"], "cenc", "{report}");
    assert_eq!(report["vod"][0]["verified"], true, "{report}");

    // The key endpoint: keys only with the token; ClearKey answers with the cenc key.
    let server = vod_serve(&p);
    let token = std::fs::read_to_string(p.state_dir().join("vod-token")).unwrap();
    let aes = keys.key_for("aes-show").unwrap();
    let url = format!("{}/v1/keys/aes-show", server.1);
    assert_eq!(http("GET", &url, None, None).0, 401);
    assert_eq!(http("GET", &url, Some("wrong"), None).0, 401);
    assert_eq!(
        http("GET", &url, Some(&token), None),
        (200, aes.key.to_vec())
    );
    let cenc = keys.key_for("cenc-show").unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let body = format!(
        r#"{{"kids":["{}"],"type":"temporary"}}"#,
        b64.encode(cenc.key_id)
    );
    let url = format!("{}/v1/clearkey", server.1);
    assert_eq!(http("POST", &url, None, Some(&body)).0, 401);
    let (status, license) = http("POST", &url, Some(&token), Some(&body));
    assert_eq!(status, 200);
    let license: serde_json::Value = serde_json::from_slice(&license).unwrap();
    assert_eq!(license["keys"][0]["k"], b64.encode(cenc.key), "{license}");
    assert_eq!(http("POST", &url, Some(&token), Some("{bad")).0, 400);
    let (status, master) = http(
        "GET",
        &format!("{}/vod/local-east/cenc-show/master.m3u8", server.1),
        None,
        None,
    );
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&master).contains("240p/index.m3u8"));
    drop(server);

    // Published VODs stay through `down` unless asked for.
    p.ok(&["down", "--yes"]);
    assert_eq!(kinds(&p, "cenc-show").len(), 1);
    p.ok(&["down", "--yes", "--include-vod"]);
    assert!(kinds(&p, "cenc-show").is_empty());
    assert!(!p.state_dir().join("local/local-east").exists());
}

#[test]
fn a_speke_vod_carries_each_drm_systems_box_and_decodes_with_the_servers_key() {
    use common::fake_speke::{Background, FakeSpekeServer};
    use orchestrate::vod::keys::ContentKey;
    use orchestrate::vod::pssh::{DrmSystem, system_ids_in_init};

    let fake = FakeSpekeServer::default();
    let server = Background::start(fake.clone());
    let start = Timestamp::now() + SignedDuration::from_secs(6);
    let end = start + SignedDuration::from_secs(12);
    let p = LocalProject(Project::local(&schedule(
        &[("speke-show", "speke")],
        start,
        end,
    )));
    p.write(
        "profiles/speke.yaml",
        &profile(&format!(
            "{{ enabled: true, drm: {{ scheme: cenc, key_provider: speke, url: \"{}\", systems: [widevine, playready] }} }}",
            server.url
        )),
    );
    let packager = wheel_binary("packager");
    let out = run(&p, &packager, &["tick"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    sleep_until(end + SignedDuration::from_secs(3));
    let refs = p.path().join("reference");
    snapshot(
        &p.state_dir().join("local/local-east/speke-show/media/main"),
        &refs.join("archive"),
    );
    let out = run(&p, &packager, &["tick"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        kinds(&p, "speke-show"),
        [("vod".to_string(), "ready".to_string())]
    );

    // The key server was asked once, for this content, with both systems.
    let issued = fake.issued.lock().unwrap().clone();
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(issued[0].content_id, "speke-show/local-east");
    let region = region_status(&p, "speke-show");
    let vod = PathBuf::from(region["vod_hls"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_path_buf();
    // Every rendition's init segment carries the boxes the server gave, byte for byte.
    for rendition in ["240p", "144p"] {
        let playlist = std::fs::read_to_string(vod.join(rendition).join("index.m3u8")).unwrap();
        let init_uri = playlist
            .lines()
            .find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
            .and_then(|r| r.split('"').next())
            .unwrap();
        let init = std::fs::read(vod.join(rendition).join(init_uri)).unwrap();
        let ids = system_ids_in_init(&init);
        for system in [DrmSystem::Widevine, DrmSystem::Playready] {
            assert!(
                ids.contains(&system.system_id_bytes()),
                "{rendition}: no {} box in {ids:x?}",
                system.as_str()
            );
        }
        for (id, b) in &issued[0].pssh {
            assert!(
                init.windows(b.len()).any(|w| w == b.as_slice()),
                "{rendition}: the box of {id} is not the server's"
            );
        }
    }
    // With the server's key, the frames are those of the archive packaged in the clear.
    let tools = Tools {
        packager: packager.clone(),
        ffmpeg: PathBuf::from("ffmpeg"),
    };
    let clear = refs.join("clear");
    package_archive(&Request {
        media_dir: &refs.join("archive"),
        out_dir: &clear,
        segment_duration_s: 1.0,
        scheme: Scheme::Clear,
        key: None,
        signalling: &Default::default(),
        trim: None,
        key_uri: "",
        tools: &tools,
    })
    .unwrap();
    let clear_mp4 = refs.join("clear.mp4");
    join_fmp4(&clear.join("240p"), &clear_mp4);
    let reference = video_md5(&clear_mp4, None, &[]).expect("the clear VOD decodes");
    let joined = refs.join("vod.mp4");
    join_fmp4(&vod.join("240p"), &joined);
    let kid: [u8; 16] = hex::decode(issued[0].kid.replace('-', ""))
        .unwrap()
        .try_into()
        .unwrap();
    let key = ContentKey {
        key_id: kid,
        key: issued[0].key,
        iv: [0; 16],
    };
    assert_ne!(video_md5(&joined, None, &[]).as_ref(), Some(&reference));
    assert_eq!(video_md5(&joined, Some(&key), &[]), Some(reference));
    p.ok(&["down", "--yes", "--include-vod"]);
}

#[test]
fn a_failing_hand_off_keeps_the_show_then_gives_up_loudly_and_keeps_the_archive() {
    let start = Timestamp::now() + SignedDuration::from_secs(4);
    let end = start + SignedDuration::from_secs(6);
    let p = LocalProject(Project::local(&schedule(&[("show", "test")], start, end)));
    p.write(
        "profiles/test.yaml",
        &profile("{ enabled: true, attempts: 1 }"),
    );
    let broken = Path::new("false");
    let good = wheel_binary("packager");
    let out = run(&p, broken, &["tick"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    sleep_until(end + SignedDuration::from_secs(1));

    // The packaging fails: nothing of the show is torn down.
    let out = run(&p, broken, &["tick"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let held = kinds(&p, "show");
    assert!(
        held.contains(&("encoder".into(), "ready".into())),
        "{held:?}"
    );
    assert!(
        held.contains(&("archive".into(), "ready".into())),
        "{held:?}"
    );

    // Its one attempt spent, the hand-off gives up: live resources go, the archive stays.
    let out = run(&p, broken, &["tick"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("ALERT: show in local-east: VOD hand-off gave up"),
        "{}",
        text(&out)
    );
    assert_eq!(kinds(&p, "show"), [("archive".into(), "ready".into())]);
    let media = p.state_dir().join("local/local-east/show/media/main");
    assert!(media.join("master.m3u8").is_file());

    // By hand, with the packager mended.
    let out = run(&p, &good, &["vod", "retry", "show"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(kinds(&p, "show"), [("vod".into(), "ready".into())]);
    assert!(!media.exists(), "the archive goes once the VOD is verified");
    let out = run(&p, &good, &["tick"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("show in local-east: VOD published"));
}
