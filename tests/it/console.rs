//! The web console `run` serves, in a real headless Chromium, on a local show with real ffmpeg:
//! signing in with the printed link, the four tiers healthy, an alert appearing and resolving
//! without a reload when the encoder freezes and thaws, an operator approving a pending action
//! and seeing it carried out, a viewer without the buttons, forged requests refused, the page
//! reconnecting after `run` restarts, and the screen after the show. Screenshots go to
//! `target/console-screenshots/` (`ORCHESTRATE_SCREENSHOTS_TO=docs/console` refreshes the ones
//! the README shows).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::common::browser::Browser;
use crate::common::daemon::{Daemon, wait_for};
use crate::common::{self, LocalProject, Project};

fn project() -> LocalProject {
    let p = Project::local(&common::local_schedule_on_air());
    let profile = common::local_profile("testsrc", "single")
        .replace("segment_duration: 1s", "segment_duration: 2s")
        .replace(
            "    - { name: 144p, width: 256, height: 144, bitrate: 150k, fps: 15 }\n",
            "",
        );
    // A hook that asks for a restart, which an operator must approve.
    let hook = p.path().join("hook.sh");
    std::fs::write(
        &hook,
        "#!/bin/sh\ncat >/dev/null\necho '{\"action\": \"restart\", \"reason\": \"the encoder looks frozen\"}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    p.write(
        "profiles/test.yaml",
        &format!(
            "{profile}vod: {{ enabled: true, drm: {{ scheme: cenc }} }}\n{}",
            common::ask_hook_with_approval(&hook)
        ),
    );
    LocalProject(p)
}

/// `run` on `port`, its stderr kept in `log` (the console's login links are printed there).
fn start(p: &Project, port: u16, log: &Arc<Mutex<String>>) -> Daemon {
    let mut child = p
        .cmd(&[
            "run",
            "--interval",
            "2s",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env(
            "ORCHESTRATE_PACKAGER",
            common::media::wheel_binary("packager"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run starts");
    let err = child.stderr.take().unwrap();
    let log = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let mut l = log.lock().unwrap();
            l.push_str(&line);
            l.push('\n');
        }
    });
    Daemon(child)
}

/// The newest login link of `role` the daemon printed.
fn login_link(log: &Arc<Mutex<String>>, role: &str) -> String {
    wait_for("the console's login link", 30, || {
        let l = log.lock().unwrap();
        l.lines()
            .rev()
            .find(|line| line.contains(&format!("({role}")))
            .and_then(|line| line.split_whitespace().find(|w| w.starts_with("http://")))
            .map(String::from)
    })
}

fn pid_of(p: &Project) -> Pid {
    let file = p.state_dir().join("local/local-east/show/encoder/pid.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    Pid::from_raw(v["pid"].as_i64().unwrap() as i32)
}

const MARK: &str = "window.__notReloaded = true; return true;";
const STILL_MARKED: &str = "return window.__notReloaded === true;";

fn tier_health(tier: &str) -> String {
    format!(
        "return [...document.querySelectorAll('.node[data-tier=\"{tier}\"]')].some(n => n.dataset.health === 'ok');"
    )
}

#[test]
fn the_console_follows_a_live_show_in_a_real_browser() {
    let p = project();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let log = Arc::new(Mutex::new(String::new()));
    let daemon = start(&p, port, &log);
    let operator_link = login_link(&log, "operator");
    let viewer_link = login_link(&log, "reads only");

    // Without a session: the page sends to the sign-in form, the rest is refused.
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http.get(format!("{base}/")).send().unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");
    for path in [
        "/console/screen",
        "/console/stream",
        "/console/thumb/show/local-east",
    ] {
        assert_eq!(
            http.get(format!("{base}{path}")).send().unwrap().status(),
            401,
            "{path}"
        );
    }
    let forged = http
        .get(format!("{base}/console/screen"))
        .header(
            "cookie",
            "orchestrate_session=operator.99999999999.00.forged",
        )
        .send()
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(
        http.get(format!("{base}/login?token=wrong"))
            .send()
            .unwrap()
            .status(),
        401
    );

    // The operator signs in with the printed link and sees all four tiers healthy.
    let op = Browser::start();
    op.goto(&operator_link);
    op.wait(
        "the console after sign-in",
        30,
        "return location.pathname === '/' && !!document.getElementById('screen');",
    );
    for tier in ["encoder", "origin", "edge", "viewer"] {
        op.wait(&format!("a healthy {tier}"), 120, &tier_health(tier));
    }
    op.wait("the thumbnail", 30, "const i = document.querySelector('img.thumb'); return !!i && i.complete && i.naturalWidth > 0;");
    // A link works once.
    assert_eq!(
        http.get(&operator_link).send().unwrap().status(),
        401,
        "a used login link must not sign in again"
    );
    op.js(MARK);
    op.screenshot(&docs("console-live.png"));
    // On a laptop's screen nothing runs off the side.
    op.resize(1366, 768);
    op.wait("the laptop layout", 10, "return window.innerWidth <= 1366;");
    assert_eq!(
        op.js("return document.documentElement.scrollWidth <= window.innerWidth;"),
        Value::Bool(true),
        "the console is wider than a laptop's screen"
    );
    op.screenshot(&docs("console-laptop.png"));
    op.resize(1920, 1080);

    // The encoder freezes: its alert appears and an action waits, without a reload. The page
    // also notes when the alert reached it on the stream and when its row appeared.
    op.js("window.__onStream = null; window.__onScreen = null;
         const es = new EventSource('/console/stream');
         es.addEventListener('alert', e => {
           const a = JSON.parse(e.data);
           if (a.rule === 'playlist-stale' && a.state === 'firing' && window.__onStream === null)
             window.__onStream = performance.now();
         });
         new MutationObserver(() => {
           if (window.__onScreen === null
               && document.querySelector('tr[data-rule=\"playlist-stale\"][data-state=\"firing\"]'))
             window.__onScreen = performance.now();
         }).observe(document.getElementById('screen'), {childList: true, subtree: true});
         return true;");
    let frozen = pid_of(&p);
    kill(frozen, Signal::SIGSTOP).unwrap();
    op.wait("the stale playlist alert firing", 90, "return !!document.querySelector('tr[data-rule=\"playlist-stale\"][data-state=\"firing\"]');");
    op.wait(
        "the action awaiting approval",
        90,
        "return !!document.querySelector('button.verdict.approve');",
    );
    assert_eq!(op.js(STILL_MARKED), Value::Bool(true), "the page reloaded");
    let shown_after = op.js("return window.__onScreen - window.__onStream;");
    // Its figure goes to BENCHMARKS.md; a bound here would only be flaky on a busy machine.
    eprintln!(
        "the firing alert was on screen {:.0} ms after it reached the page",
        shown_after.as_f64().unwrap_or(f64::NAN)
    );
    let action = op.js("return document.querySelector('button.verdict.approve').dataset.id;");
    let action = action.as_str().unwrap().to_string();
    op.screenshot(&docs("console-alert.png"));

    // A viewer sees it, without the buttons, and cannot act even by hand.
    let viewer = Browser::start();
    viewer.goto(&viewer_link);
    viewer.wait(
        "the viewer's console",
        30,
        "return !!document.querySelector('.approval');",
    );
    assert_eq!(
        viewer.js("return document.querySelectorAll('button.verdict').length;"),
        0
    );
    let by_hand = format!(
        "const done = arguments[arguments.length - 1];
         fetch('/console/actions/{action}/approve', {{method: 'POST', headers: {{'X-CSRF-Token': document.querySelector('meta[name=csrf]').content}}}})
           .then(r => done(r.status));"
    );
    assert_eq!(viewer.js_async(&by_hand), 403);
    // The operator's own session without the CSRF token is refused too.
    let no_csrf = format!(
        "const done = arguments[arguments.length - 1];
         fetch('/console/actions/{action}/approve', {{method: 'POST'}}).then(r => done(r.status));"
    );
    assert_eq!(op.js_async(&no_csrf), 403);
    drop(viewer);
    assert!(
        p.health("action")
            .iter()
            .all(|a| a["id"] != action.as_str() || a["state"] == "awaiting_approval"),
        "a refused request changed the action"
    );

    // The encoder thaws: the alert resolves on the page.
    kill(frozen, Signal::SIGCONT).unwrap();
    op.wait("the alert resolved", 90, "return !document.querySelector('tr[data-rule=\"playlist-stale\"][data-state=\"firing\"]') && !!document.querySelector('tr[data-rule=\"playlist-stale\"][data-state=\"resolved\"]');");

    // The operator approves; the restart is carried out.
    op.click("button.verdict.approve");
    op.wait(
        "the restart done",
        90,
        &format!(
            "return !!document.querySelector('tr[data-action=\"{action}\"][data-state=\"done\"]');"
        ),
    );
    assert_ne!(pid_of(&p), frozen, "the encoder was not restarted");
    assert_eq!(op.js(STILL_MARKED), Value::Bool(true), "the page reloaded");

    // `run` restarts on the same address: the page says so, then reconnects by itself.
    daemon.finish();
    op.wait(
        "the page to notice",
        30,
        "return document.getElementById('conn').classList.contains('down');",
    );
    let daemon = start(&p, port, &log);
    op.wait(
        "the page to reconnect",
        60,
        "return document.getElementById('conn').classList.contains('live');",
    );
    for tier in ["encoder", "origin", "edge", "viewer"] {
        op.wait(&format!("a healthy {tier} again"), 120, &tier_health(tier));
    }
    assert_eq!(op.js(STILL_MARKED), Value::Bool(true), "the page reloaded");
    // A console opened now, from the restarted daemon, shows what happened before it started.
    op.goto(&format!("{base}/"));
    op.wait(
        "the earlier alert and action, from the stored stream",
        30,
        &format!(
            "return !!document.querySelector('tr[data-rule=\"playlist-stale\"][data-state=\"resolved\"]')
                 && !!document.querySelector('tr[data-action=\"{action}\"][data-state=\"done\"]');"
        ),
    );

    // The show ends: the page shows the hand-off and links the report.
    let ended = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3);
    let schedule = p.read("schedules/main.yaml");
    let end_line = schedule
        .lines()
        .find(|l| l.trim_start().starts_with("end:"))
        .unwrap();
    p.write(
        "schedules/main.yaml",
        &schedule.replace(end_line, &format!("    end: {ended}")),
    );
    op.wait("the VOD published", 180, "const a = document.getElementById('after'); return !!a && a.innerText.includes('published');");
    op.screenshot(&docs("console-after.png"));
    op.click("#after a");
    op.wait("the report", 30, "const r = document.getElementById('report'); return !!r && r.innerText.includes('Availability while on air') && r.innerText.includes('VOD in local-east');");
    op.screenshot(&docs("console-report.png"));
    drop(op);
    daemon.finish();
}

/// Where the screenshots go: `target/console-screenshots/`, or the folder (relative to the
/// repository) in `ORCHESTRATE_SCREENSHOTS_TO`, e.g. `docs/console` to refresh the README's.
fn docs(name: &str) -> std::path::PathBuf {
    let dir = std::env::var("ORCHESTRATE_SCREENSHOTS_TO")
        .unwrap_or_else(|_| "target/console-screenshots".into());
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(dir)
        .join(name)
}
