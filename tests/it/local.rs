//! The local provider with real ffmpeg, real HTTP on loopback and real processes: what `up`
//! starts plays through the edge, and `down` leaves nothing behind.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{LocalProject, Project};
use serde_json::Value;

fn project(input: &str, redundancy: &str) -> LocalProject {
    let p = Project::local(common::LOCAL_SCHEDULE);
    p.write(
        "profiles/test.yaml",
        &common::local_profile(input, redundancy),
    );
    LocalProject(p)
}

fn region(p: &Project) -> Value {
    let s = p.status_json();
    s["events"][0]["regions"][0].clone()
}

fn playback_url(p: &Project) -> String {
    region(p)["playback_url"]
        .as_str()
        .expect("a playback URL in status")
        .to_string()
}

struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn get(url: &str) -> Got {
    let r = reqwest::get(url).await.expect("GET");
    Got {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.bytes().await.expect("body").to_vec(),
    }
}

/// Sequence numbers of the segments a media playlist lists.
fn sequence(playlist: &str) -> Vec<u64> {
    let first: u64 = playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let n = playlist
        .lines()
        .filter(|l| l.starts_with("#EXTINF"))
        .count() as u64;
    (first..first + n).collect()
}

fn segments(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// codec, width and height of the first video stream, as ffprobe reads them.
fn probe(bytes: &[u8]) -> (String, u32, u32) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("seg.ts");
    std::fs::write(&f, bytes).unwrap();
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "json",
        ])
        .arg(&f)
        .output()
        .expect("ffprobe");
    let v: Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    let s = &v["streams"][0];
    (
        s["codec_name"].as_str().unwrap_or("").to_string(),
        s["width"].as_u64().unwrap_or(0) as u32,
        s["height"].as_u64().unwrap_or(0) as u32,
    )
}

/// Every process, port and file the local provider holds for this project.
struct Footprint {
    pids: Vec<u32>,
    ports: Vec<u16>,
}

fn footprint(p: &Project) -> Footprint {
    let mut pids = Vec::new();
    let mut ports = Vec::new();
    for rec in records(&p.state_dir().join("local")) {
        let v: Value = serde_json::from_slice(&std::fs::read(&rec).unwrap()).unwrap();
        if let Some(pid) = v["outputs"]["pid"].as_u64() {
            pids.push(pid as u32);
        }
        if let Some(port) = v["outputs"]["port"].as_u64() {
            ports.push(port as u16);
        }
    }
    Footprint { pids, ports }
}

fn records(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(records(&path));
        } else if path.file_name().is_some_and(|n| n == "record.json") {
            out.push(path);
        }
    }
    out
}

/// Running (not exited, not a zombie awaiting its reaper).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// Processes whose command line names `needle` (our state dir), other than zombies.
fn processes_naming(needle: &Path) -> Vec<String> {
    let needle = needle.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(pid) = name.parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(&needle) && alive(pid) {
            found.push(format!("{pid}: {cmd}"));
        }
    }
    found
}

fn footprint_running(p: &Project) -> Footprint {
    let fp = footprint(p);
    // The processes name the state dir: what `assert_nothing_left` looks for is really there.
    assert!(
        processes_naming(&p.state_dir()).len() >= fp.pids.len(),
        "{:?}",
        processes_naming(&p.state_dir())
    );
    fp
}

fn assert_nothing_left(p: &Project, before: &Footprint) {
    assert!(!before.pids.is_empty() && !before.ports.is_empty());
    let deadline = Instant::now() + Duration::from_secs(5);
    while before.pids.iter().any(|&pid| alive(pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for pid in &before.pids {
        assert!(!alive(*pid), "process {pid} still runs after down");
    }
    for port in &before.ports {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", *port)).is_err(),
            "port {port} still listens after down"
        );
    }
    assert_eq!(processes_naming(&p.state_dir()), Vec::<String>::new());
    assert!(
        !p.state_dir().join("local").exists(),
        "files left: {:?}",
        records(&p.state_dir().join("local"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_stream_plays_through_the_edge_and_down_leaves_nothing() {
    let p = project("testsrc", "single");
    p.ok(&["up", "--yes"]);
    let master_url = playback_url(&p);
    assert!(master_url.ends_with("/show/master.m3u8"), "{master_url}");

    // The master playlist lists exactly the profile's renditions.
    let master = get(&master_url).await;
    assert_eq!(master.status, 200);
    assert_eq!(
        master.header("content-type"),
        "application/vnd.apple.mpegurl"
    );
    assert_eq!(
        segments(&master.text()),
        vec!["240p/index.m3u8", "144p/index.m3u8"]
    );
    assert!(master.text().contains("RESOLUTION=426x240"));
    assert!(master.text().contains("RESOLUTION=256x144"));

    // A segment fetched through the edge is what the profile asks for.
    let base = master_url.trim_end_matches("master.m3u8").to_string();
    let media = get(&format!("{base}240p/index.m3u8")).await.text();
    let seg = segments(&media).last().cloned().expect("a segment");
    let first = get(&format!("{base}240p/{seg}")).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-type"), "video/mp2t");
    assert!(first.header("cache-control").contains("immutable"));
    assert_eq!(probe(&first.body), ("h264".to_string(), 426, 240));
    // The second fetch is served from the edge's cache.
    assert_eq!(first.header("x-cache"), "MISS");
    let second = get(&format!("{base}240p/{seg}")).await;
    assert_eq!(second.header("x-cache"), "HIT");
    assert_eq!(second.body, first.body);

    // The live edge moves on.
    let before = *sequence(&media).last().expect("sequence");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut after = before;
    while after <= before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        after = *sequence(&get(&format!("{base}144p/index.m3u8")).await.text())
            .last()
            .unwrap_or(&0);
    }
    assert!(after > before, "media sequence stuck at {before} for 20 s");

    // The archive keeps every segment, and its EVENT playlist lists them all from the first.
    let playlist = get(&format!("{base}144p/index.m3u8")).await.text();
    assert!(
        playlist.contains("#EXT-X-PLAYLIST-TYPE:EVENT"),
        "{playlist}"
    );
    let listed = sequence(&playlist);
    assert_eq!(listed.first(), Some(&0));
    assert!(listed.len() >= 2, "{playlist}");
    let archive = p.state_dir().join("local/local-east/show/media/main/144p");
    for n in &listed {
        assert!(
            archive.join(format!("seg_{n:05}.ts")).is_file(),
            "segment {n} is not in the archive"
        );
    }

    // Concurrent misses on one segment make one origin fetch.
    let media = get(&format!("{base}144p/index.m3u8")).await.text();
    let seg = segments(&media).last().cloned().expect("a segment");
    let url = format!("{base}144p/{seg}");
    let fetches: Vec<_> = (0..16)
        .map(|_| tokio::spawn(get_owned(url.clone())))
        .collect();
    let mut misses = 0;
    for f in fetches {
        let g = f.await.unwrap();
        assert_eq!(g.status, 200);
        misses += usize::from(g.header("x-cache") == "MISS");
    }
    assert_eq!(misses, 1, "one request fetched, the others waited for it");
    let log = p.read(".orchestrate/local/local-east/show/origin/log");
    let origin_fetches = log
        .lines()
        .filter(|l| *l == format!("GET /main/144p/{seg} 200"))
        .count();
    assert_eq!(origin_fetches, 1, "origin log:\n{log}");

    let fp = footprint_running(&p);
    p.ok(&["down", "--yes"]);
    assert_nothing_left(&p, &fp);
}

async fn get_owned(url: String) -> Got {
    get(&url).await
}

#[tokio::test(flavor = "multi_thread")]
async fn up_twice_changes_nothing_and_keeps_the_same_processes() {
    let p = project("testsrc", "single");
    p.ok(&["up", "--yes"]);
    let fp = footprint_running(&p);
    let again = p.ok(&["up", "--yes"]);
    assert!(again.contains("No changes"), "{again}");
    assert_eq!(footprint(&p).pids, fp.pids);
    p.ok(&["down", "--yes"]);
    assert_nothing_left(&p, &fp);
}

/// Ten seconds of test pattern and tone pushed in real time to the event's ingest URL, as a
/// contribution encoder would, in `container` (`mpegts` for SRT, `flv` for RTMP): the ladder
/// must come out at the edge.
async fn a_pushed_feed_plays_at_the_edge(input: &str, container: &str) {
    let p = project(input, "single");
    p.ok(&["up", "--yes"]);
    let ingest = region(&p)["ingest_url"]
        .as_str()
        .expect("an ingest URL")
        .to_string();
    assert!(
        ingest.starts_with(&format!("{input}://127.0.0.1:")),
        "{ingest}"
    );
    let text = p.ok(&["status"]);
    assert!(text.contains(&format!("ingest: {ingest}")), "{text}");

    let mut feed = std::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-re",
            "-f",
            "lavfi",
        ])
        .args(["-i", "testsrc2=size=640x360:rate=15", "-re", "-f", "lavfi"])
        .args(["-i", "sine=frequency=440", "-t", "10", "-c:v", "libx264"])
        .args([
            "-preset",
            "ultrafast",
            "-g",
            "15",
            "-c:a",
            "aac",
            "-f",
            container,
        ])
        .arg(&ingest)
        .spawn()
        .expect("ffmpeg feed");
    let master_url = playback_url(&p);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut master = get(&master_url).await;
    while master.status != 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        master = get(&master_url).await;
    }
    let _ = feed.kill();
    let _ = feed.wait();
    assert_eq!(master.status, 200, "nothing published from the feed");
    assert_eq!(
        segments(&master.text()),
        vec!["240p/index.m3u8", "144p/index.m3u8"]
    );
    let fp = footprint_running(&p);
    p.ok(&["down", "--yes"]);
    assert_nothing_left(&p, &fp);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_srt_feed_pushed_to_the_ingest_url_plays_at_the_edge() {
    a_pushed_feed_plays_at_the_edge("srt", "mpegts").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_rtmp_feed_pushed_to_the_ingest_url_plays_at_the_edge() {
    a_pushed_feed_plays_at_the_edge("rtmp", "flv").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dual_pipelines_switch_at_the_edge_with_its_token_only() {
    let p = project("testsrc", "dual");
    p.ok(&["up", "--yes"]);
    let master_url = playback_url(&p);
    let first = get(&master_url).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-upstream"), "a");
    let r = region(&p);
    assert!(r["ingest_url"].is_null(), "a test pattern has no ingest");

    let edge = master_url.split("/show/").next().unwrap().to_string();
    let url = format!("{edge}/_orchestrate/failover?event=show&pipeline=b");
    let client = orchestrate::http::client(
        std::time::Duration::from_secs(10),
        std::time::Duration::from_secs(300),
    )
    .unwrap();
    let refused = client.post(&url).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let wrong = client
        .post(&url)
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let token = p.read(".orchestrate/local/local-east/show/cdn/token");
    let ok = client.post(&url).bearer_auth(token).send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 204);
    let after = get(&master_url).await;
    assert_eq!(after.status, 200);
    assert_eq!(after.header("x-upstream"), "b");

    let fp = footprint_running(&p);
    p.ok(&["down", "--yes"]);
    assert_nothing_left(&p, &fp);
}

#[tokio::test(flavor = "multi_thread")]
async fn sweep_stops_what_a_lost_state_left_running() {
    let p = project("testsrc", "single");
    p.ok(&["up", "--yes"]);
    let owner = p.status_json()["owner"].as_str().unwrap().to_string();
    let fp = footprint_running(&p);
    // The state database is lost; the processes and their records are not.
    for e in std::fs::read_dir(p.state_dir()).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("state.db") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    let dry = p.ok(&["sweep", "--owner", &owner, "--dry-run"]);
    assert!(dry.contains("show/local-east/encoder"), "{dry}");
    p.ok(&["sweep", "--owner", &owner, "--yes"]);
    assert_nothing_left(&p, &fp);
}

#[test]
fn a_missing_ffmpeg_says_how_to_install_it() {
    let p = project("testsrc", "single");
    let out = p
        .cmd(&["up", "--yes"])
        .env("ORCHESTRATE_FFMPEG", "/nonexistent/ffmpeg")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = common::stderr(&out);
    assert!(err.contains("ffmpeg not found"), "{err}");
    assert!(err.contains("apt-get install -y ffmpeg"), "{err}");
    let fp = footprint(&p);
    p.ok(&["down", "--yes"]);
    assert!(!p.state_dir().join("local").exists());
    assert!(fp.pids.iter().all(|&pid| !alive(pid)));
}

#[tokio::test(flavor = "multi_thread")]
async fn dash_packaging_serves_an_mpd_and_fmp4_segments_through_the_edge() {
    let p = project("testsrc", "single");
    let profile = p.read("profiles/test.yaml").replace("[hls]", "[cmaf]");
    p.write("profiles/test.yaml", &profile);
    p.ok(&["up", "--yes"]);
    let url = playback_url(&p);
    assert!(url.ends_with("/show/manifest.mpd"), "{url}");
    let mpd = get(&url).await;
    assert_eq!(mpd.status, 200);
    assert_eq!(mpd.header("content-type"), "application/dash+xml");
    let text = mpd.text();
    assert!(
        text.contains("width=\"426\"") && text.contains("width=\"256\""),
        "{text}"
    );
    // Representation 0 is the first rendition: its init segment and first media segment decode
    // to the profile's resolution.
    let base = url.trim_end_matches("manifest.mpd").to_string();
    let init = get(&format!("{base}init-0.m4s")).await;
    assert_eq!(init.status, 200);
    assert_eq!(init.header("content-type"), "video/iso.segment");
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seg = get(&format!("{base}seg-0-00001.m4s")).await;
    while seg.status != 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        seg = get(&format!("{base}seg-0-00001.m4s")).await;
    }
    assert_eq!(seg.status, 200);
    let mut whole = init.body.clone();
    whole.extend_from_slice(&seg.body);
    assert_eq!(probe(&whole), ("h264".to_string(), 426, 240));
    let fp = footprint_running(&p);
    p.ok(&["down", "--yes"]);
    assert_nothing_left(&p, &fp);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_looped_file_without_audio_plays_with_a_silent_track() {
    let p = project("file", "single");
    // A two-second clip with no audio: the encoder adds silence so every variant has a track.
    let clip = p.path().join("clip.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=15",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ])
        .arg(&clip)
        .status()
        .expect("ffmpeg");
    assert!(made.success());
    let profile = p.read("profiles/test.yaml").replace(
        "{ type: file }",
        &format!("{{ type: file, address: {} }}", clip.display()),
    );
    p.write("profiles/test.yaml", &profile);
    p.ok(&["up", "--yes"]);
    let url = playback_url(&p);
    let base = url.trim_end_matches("master.m3u8").to_string();
    let media = get(&format!("{base}240p/index.m3u8")).await.text();
    let seg = segments(&media).last().cloned().expect("a segment");
    let got = get(&format!("{base}240p/{seg}")).await;
    assert_eq!(probe(&got.body), ("h264".to_string(), 426, 240));
    let fp = footprint_running(&p);
    p.ok(&["down", "--yes"]);
    assert_nothing_left(&p, &fp);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_updated_encoder_restarts_and_continues_the_archive() {
    let p = project("testsrc", "single");
    p.ok(&["up", "--yes"]);
    let archive = p.state_dir().join("local/local-east/show/media/main/144p");
    let before = footprint_running(&p);
    let count = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".ts"))
            .count()
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let kept = count(&archive);
    assert!(kept >= 2);
    // The ladder is in the catalog's `replace_on`: a new bitrate replaces the encoder.
    let profile = p.read("profiles/test.yaml").replace("150k", "200k");
    p.write("profiles/test.yaml", &profile);
    let out = p.ok(&["up", "--yes"]);
    assert!(
        out.contains("show/local-east/encoder must be replaced"),
        "{out}"
    );
    let after = footprint(&p);
    assert_ne!(after.pids, before.pids, "the encoder runs anew");
    // Nothing of the first run was overwritten, and the new run appends after it.
    let playlist = std::fs::read_to_string(archive.join("index.m3u8")).unwrap();
    assert!(playlist.contains("#EXT-X-DISCONTINUITY"), "{playlist}");
    assert!(count(&archive) > kept);
    for n in 0..kept {
        assert!(
            archive.join(format!("seg_{n:05}.ts")).is_file(),
            "segment {n} lost"
        );
    }
    let fp = footprint_running(&p);
    p.ok(&["down", "--yes"]);
    assert_nothing_left(&p, &fp);
}
