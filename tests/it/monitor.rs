//! Monitoring on the local provider with real ffmpeg, through `orchestrate run`: a healthy
//! stream raises nothing, a frozen encoder (SIGSTOP) raises a stale-playlist alert that
//! resolves once it runs again (SIGCONT), and the endpoints serve the stream behind a token.

use crate::common;

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::daemon::{Daemon, wait_for};
use common::{LocalProject, Project};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

fn project() -> LocalProject {
    let p = Project::local(&common::local_schedule_on_air());
    // Three target durations before a playlist is stale: a loaded test machine can delay a
    // one-second segment by more than the default 1.5.
    let profile = format!(
        "{}monitoring:\n  stale_after: 3\n",
        common::local_profile("testsrc", "single")
    );
    p.write("profiles/test.yaml", &profile);
    LocalProject(p)
}

fn alerts(p: &Project) -> Vec<Value> {
    p.health("alert")
}

fn has(alerts: &[Value], rule: &str, state: &str) -> bool {
    alerts
        .iter()
        .any(|a| a["rule"] == rule && a["state"] == state)
}

#[test]
fn a_frozen_encoder_raises_a_stale_playlist_alert_that_resolves_when_it_runs_again() {
    let p = project();
    let daemon = Daemon(
        p.cmd(&[
            "run",
            "--interval",
            "2s",
            "--listen",
            "127.0.0.1:0",
            "--output",
            "json",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run starts"),
    );
    let state = p.state_dir();
    let addr = wait_for("the API address", 30, || {
        std::fs::read_to_string(state.join("api-addr")).ok()
    });
    let token = std::fs::read_to_string(state.join("api-token")).unwrap();
    let base = format!("http://{}", addr.trim());
    let client = reqwest::blocking::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut r = client.get(format!("{base}{path}"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().expect("the API answers")
    };

    // Probed once the encoder and origin are up.
    wait_for("the event to be probed", 60, || {
        let s: Value = get("/v1/status", Some(&token)).json().ok()?;
        (s["probed"] == serde_json::json!(["show/local-east"])).then_some(())
    });
    assert_eq!(get("/v1/status", None).status(), 401);
    assert_eq!(get("/metrics", Some("wrong")).status(), 401);

    // A healthy stream for a while: signals from every tier, and no alert.
    std::thread::sleep(Duration::from_secs(8));
    let metrics = get("/metrics", Some(&token)).text().unwrap();
    for m in [
        "orchestrate_encoder_up",
        "orchestrate_playlist_age_s",
        "orchestrate_edge_ttfb_ms",
        "orchestrate_viewer_download_ratio",
    ] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with(m) && l.contains("event=\"show\"")),
            "{m} missing from /metrics:\n{metrics}"
        );
    }
    let healthy = alerts(&p);
    assert!(
        healthy.is_empty(),
        "alerts on a healthy stream: {healthy:#?}"
    );

    // The event stream, as a monitoring screen would read it.
    let mut sse = client
        .get(format!("{base}/v1/events?type=signal&tier=origin"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(sse.status(), 200);
    let mut buf = [0u8; 2048];
    let n = sse.read(&mut buf).unwrap();
    let first = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(
        first.contains("event: signal") && first.contains("\"tier\":\"origin\""),
        "{first}"
    );
    drop(sse);
    assert_eq!(get("/v1/events?bogus=1", Some(&token)).status(), 400);

    // Freeze the encoder.
    let pidfile = state.join("local/local-east/show/encoder/pid.json");
    let pid: Value = serde_json::from_str(&std::fs::read_to_string(&pidfile).unwrap()).unwrap();
    let pid = Pid::from_raw(pid["pid"].as_i64().unwrap() as i32);
    kill(pid, Signal::SIGSTOP).unwrap();
    let frozen = Instant::now();
    wait_for("a stale-playlist alert", 30, || {
        has(&alerts(&p), "playlist-stale", "firing").then_some(())
    });
    let detected = frozen.elapsed();
    kill(pid, Signal::SIGCONT).unwrap();
    wait_for("the alert to resolve", 30, || {
        has(&alerts(&p), "playlist-stale", "resolved").then_some(())
    });
    let all = alerts(&p);
    let stale = all
        .iter()
        .find(|a| a["rule"] == "playlist-stale" && a["state"] == "firing")
        .unwrap();
    assert_eq!(stale["tier"], "origin");
    assert_eq!(stale["event"], "show");
    assert!(stale["value"].as_f64().unwrap() > 3.0, "{stale}");
    eprintln!("stale alert {detected:?} after SIGSTOP");

    daemon.finish();
}
