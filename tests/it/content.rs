//! The content tier on the local provider with real ffmpeg, through `orchestrate run`:
//! - a contribution feed pushed over SRT turns black, then freezes, then goes silent on air,
//!   and each raises its alert within two sampling intervals and resolves when it returns;
//!   the feed carries the sync mark in step, and no A/V offset alert rises;
//! - the same feed with its sound 200 ms late raises the A/V offset alert;
//! - the test pattern with its tone raises no content alert over several minutes;
//! - a DASH stream is heard through its audio rendition.
//!
//! The healthy pattern and the DASH stream run beside the feeds, each in a project of its own:
//! these tests mostly wait on real time, and waiting side by side keeps the suite short.

use crate::common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::daemon::{Daemon, wait_for};
use common::{LocalProject, Project, at};
use serde_json::Value;

/// Segments of 1 s, sampled every 3: the sampling interval.
const INTERVAL_S: f64 = 3.0;
/// From the feed to the probe: the encoder's segment, the edge's playlist, the fetch and the
/// analysis of the sample.
const CHAIN_S: f64 = 7.0;

fn project(input: &str) -> LocalProject {
    let p = Project::local(&common::local_schedule_on_air());
    p.write(
        "profiles/test.yaml",
        &common::local_profile(input, "single"),
    );
    LocalProject(p)
}

fn start(p: &Project) -> Daemon {
    Daemon(
        p.cmd(&["run", "--interval", "2s", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run starts"),
    )
}

/// The content tier's alerts so far.
fn content_alerts(p: &Project) -> Vec<Value> {
    p.health("alert")
        .into_iter()
        .filter(|a| a["tier"] == "content")
        .collect()
}

/// A feed killed however the test ends.
struct Feed(Child);

impl Drop for Feed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Pushes a test pattern carrying the sync mark to `ingest` for `secs`, through `video` and
/// `audio` filter graphs of its own (`t` is the feed's time); retried until the encoder's
/// listener takes it. Gives the feed and when its first frame left.
fn push(ingest: &str, video: &str, audio: &str, secs: u32) -> (Feed, jiff::Timestamp) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let began = jiff::Timestamp::now();
        let mut child = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-re"])
            .args(["-f", "lavfi", "-i", "testsrc2=size=426x240:rate=15"])
            .args(["-re", "-f", "lavfi", "-i", orchestrate::syncmark::AUDIO])
            .arg("-filter_complex")
            .arg(format!(
                "[0:v]{},{video}[v];[1:a]{audio}[a]",
                orchestrate::syncmark::VIDEO
            ))
            .args(["-map", "[v]", "-map", "[a]", "-t", &secs.to_string()])
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "15"])
            .args(["-c:a", "aac", "-f", "mpegts"])
            .arg(ingest)
            .spawn()
            .expect("ffmpeg feed");
        std::thread::sleep(Duration::from_secs(1));
        match child.try_wait() {
            Ok(None) => return (Feed(child), began),
            _ => assert!(Instant::now() < deadline, "the encoder never took the feed"),
        }
    }
}

fn ingest_of(p: &Project) -> String {
    p.status_json()["events"][0]["regions"][0]["ingest_url"]
        .as_str()
        .expect("an ingest URL")
        .to_string()
}

/// The first alert of `rule` firing after `from` seconds of the feed's time, and when it
/// resolved, both in the feed's time.
fn fired_and_resolved(p: &Project, rule: &str, t0: jiff::Timestamp, from: f64) -> (f64, f64) {
    let alerts = content_alerts(p);
    let secs = |a: &Value| at(a).duration_since(t0).as_secs_f64();
    let fired = alerts
        .iter()
        .find(|a| a["rule"] == rule && a["state"] == "firing" && secs(a) >= from)
        .unwrap_or_else(|| panic!("no {rule} alert firing after {from} s: {alerts:#?}"));
    let resolved = alerts
        .iter()
        .find(|a| a["id"] == fired["id"] && a["state"] == "resolved")
        .unwrap_or_else(|| panic!("{rule} never resolved: {alerts:#?}"));
    (secs(fired), secs(resolved))
}

#[test]
fn black_frozen_and_silent_feeds_raise_their_alerts_and_resolve_and_a_healthy_pattern_raises_none()
{
    let healthy = Healthy::start();
    let p = project("srt");
    p.ok(&["up", "--yes"]);
    let ingest = ingest_of(&p);
    let daemon = start(&p);
    // Black 30–42 s, frozen 60–72 s, silent 90–105 s of the feed's time.
    let (_feed, t0) = push(
        &ingest,
        "drawbox=color=black:t=fill:enable='between(t,30,42)',split[x][y];\
         [x][y]freezeframes=first=900:last=1080:replace=899",
        "volume=volume=0:enable='between(t,90,105)'",
        125,
    );
    wait_for("the silence to end", 150, || {
        content_alerts(&p)
            .iter()
            .any(|a| a["rule"] == "content-silence" && a["state"] == "resolved")
            .then_some(())
    });
    let late = 2.0 * INTERVAL_S + CHAIN_S;
    for (rule, from, to, longer_than) in [
        ("content-black", 30.0, 42.0, 5.0),
        ("content-freeze", 60.0, 72.0, 5.0),
        ("content-silence", 90.0, 105.0, 10.0),
    ] {
        // A black picture is a frozen one too: each change is read from its own start.
        let (fired, resolved) = fired_and_resolved(&p, rule, t0, from);
        eprintln!(
            "{rule}: on the feed {from}–{to} s; fired at {fired:.1} s, resolved at {resolved:.1} s"
        );
        // Not before the condition has lasted its rule's time, and within two intervals after.
        assert!(fired >= from + longer_than, "{rule} fired at {fired:.1} s");
        assert!(
            fired <= from + longer_than + late,
            "{rule} fired at {fired:.1} s"
        );
        assert!(resolved >= to, "{rule} resolved at {resolved:.1} s");
        assert!(resolved <= to + late, "{rule} resolved at {resolved:.1} s");
    }
    let alerts = content_alerts(&p);
    assert!(
        !alerts.iter().any(|a| a["rule"] == "av-offset"),
        "a feed in sync raised {alerts:#?}"
    );
    // The mark was read all along, in sync within the frame rate.
    let offsets: Vec<f64> = p
        .health("signal")
        .iter()
        .filter(|s| s["metric"] == "av_offset_ms")
        .map(|s| s["value"].as_f64().unwrap())
        .collect();
    assert!(offsets.len() >= 10, "{offsets:?}");
    assert!(offsets.iter().all(|o| o.abs() <= 70.0), "{offsets:?}");
    daemon.finish();
    healthy.check(Duration::from_secs(150));
}

#[test]
fn a_feed_with_its_sound_200_ms_late_raises_the_av_offset_alert_and_dash_is_heard() {
    let dash = Dash::start();
    let p = project("srt");
    p.ok(&["up", "--yes"]);
    let ingest = ingest_of(&p);
    let daemon = start(&p);
    let (_feed, _) = push(&ingest, "null", "adelay=200:all=1", 90);
    let fired = wait_for("the av-offset alert", 80, || {
        content_alerts(&p)
            .into_iter()
            .find(|a| a["rule"] == "av-offset" && a["state"] == "firing")
    });
    let late = fired["value"].as_f64().unwrap();
    eprintln!("av-offset fired reading {late} ms");
    assert!((130.0..=270.0).contains(&late), "{fired}");
    assert_eq!(fired["resource"], "content/main", "{fired}");
    daemon.finish();
    dash.check();
}

/// The test pattern with its tone under `run`, checked when [`Healthy::check`] is called.
struct Healthy {
    // Dropped in this order: the daemon stops before the project's `down` needs its lock.
    daemon: Daemon,
    project: LocalProject,
    started: Instant,
}

impl Healthy {
    fn start() -> Self {
        let project = project("testsrc");
        let daemon = start(&project);
        Self {
            daemon,
            project,
            started: Instant::now(),
        }
    }

    /// No content alert, many samples, over at least `min`.
    fn check(self, min: Duration) {
        while self.started.elapsed() < min {
            let alerts = content_alerts(&self.project);
            assert!(alerts.is_empty(), "{alerts:#?}");
            std::thread::sleep(Duration::from_secs(5));
        }
        let alerts = content_alerts(&self.project);
        assert!(alerts.is_empty(), "{alerts:#?}");
        let samples = self
            .project
            .health("signal")
            .iter()
            .filter(|s| s["metric"] == "content_black_s")
            .count();
        eprintln!(
            "the test pattern: {samples} samples over {:.0} s, no content alert",
            self.started.elapsed().as_secs_f64()
        );
        // A sample every 3 s once the daemon has provisioned it: the probe really looked.
        assert!(samples >= 30, "{samples} samples");
        self.daemon.finish();
    }
}

/// The test pattern packaged as DASH under `run`: its sound is an audio rendition of its own.
struct Dash {
    // Dropped in this order: the daemon stops before the project's `down` needs its lock.
    daemon: Daemon,
    project: LocalProject,
}

impl Dash {
    fn start() -> Self {
        let project = project("testsrc");
        project.write(
            "profiles/test.yaml",
            &common::local_profile("testsrc", "single")
                .replace("packaging: [hls]", "packaging: [dash]"),
        );
        let daemon = start(&project);
        Self { daemon, project }
    }

    /// The sound is read (silence, loudness, lip sync), in sync and never silent.
    fn check(self) {
        let p = &self.project;
        let metrics = ["content_silence_s", "loudness_lufs", "av_offset_ms"];
        let signals = wait_for("the audio rendition's readings", 120, || {
            let s = p.health("signal");
            let read = |m: &str| s.iter().filter(|x| x["metric"] == m).count();
            metrics.iter().all(|m| read(m) >= 3).then_some(s)
        });
        for s in signals.iter().filter(|s| s["metric"] == "av_offset_ms") {
            let ms = s["value"].as_f64().unwrap();
            assert!(ms.abs() <= 70.0, "{s}");
        }
        let silent = signals
            .iter()
            .filter(|s| s["metric"] == "content_silence_s")
            .map(|s| s["value"].as_f64().unwrap())
            .fold(0.0, f64::max);
        assert_eq!(silent, 0.0);
        let alerts = content_alerts(p);
        assert!(alerts.is_empty(), "{alerts:#?}");
        self.daemon.finish();
    }
}
