//! `tick` as a clock: time travel through a day of overlapping events on the sim provider.

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::{Project, stderr, stdout, tick_at};
use jiff::{SignedDuration, Timestamp};
use orchestrate::model::{Redundancy, blueprint};
use orchestrate::schedule::phase::{Times, due};
use orchestrate::workspace::Workspace;

struct Ev {
    id: String,
    start: Timestamp,
    end: Timestamp,
    lead_min: i64,
    grace_min: i64,
    profile: &'static str,
    regions: Vec<&'static str>,
}

/// 50 events across a day, overlapping, with their own leads, graces, profiles and regions.
fn day_of_events() -> Vec<Ev> {
    let day: Timestamp = "2030-12-05T00:00:00Z".parse().unwrap();
    let regions = ["eu-west-1", "us-east-1", "eu-central-1", "ap-southeast-1"];
    let mut seed: u64 = 42;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    (0..50)
        .map(|i| {
            let start = day + SignedDuration::from_mins(i * 27 + next(20) as i64);
            let first = next(4) as usize;
            let count = 1 + next(2) as usize;
            Ev {
                id: format!("ev-{i:02}"),
                start,
                end: start + SignedDuration::from_mins(45 + next(135) as i64),
                lead_min: 5 + next(26) as i64,
                grace_min: next(16) as i64,
                profile: if i % 3 == 0 { "sim-dual" } else { "sim-hd" },
                regions: (0..count)
                    .map(|k| regions[(first + k) % regions.len()])
                    .collect(),
            }
        })
        .collect()
}

fn schedule_yaml(events: &[Ev]) -> String {
    let mut s = String::from("apiVersion: orchestrate/v1\nkind: Schedule\nevents:\n");
    for e in events {
        s.push_str(&format!(
            "  - id: {}\n    start: {}\n    end: {}\n    profile: {}\n    regions: [{}]\n    lead: {}m\n    grace: {}m\n",
            e.id,
            e.start,
            e.end,
            e.profile,
            e.regions.join(", "),
            e.lead_min,
            e.grace_min
        ));
    }
    s
}

/// What must exist at `now`, computed from the schedule alone.
fn expected(events: &[Ev], now: Timestamp, ws: &Workspace) -> Vec<String> {
    let config = ws.load_config(&[]).unwrap();
    let mut names = BTreeSet::new();
    for e in events {
        let t = Times {
            start: e.start,
            end: e.end,
            lead: SignedDuration::from_mins(e.lead_min),
            grace: SignedDuration::from_mins(e.grace_min),
        };
        // Once the show is over, only its VOD is left (for profiles that ask for one).
        let ended = now >= t.release_at();
        if !ended && !due(&t, now).needs_resources() {
            continue;
        }
        let profile = &config.profiles[e.profile];
        assert_eq!(
            profile.encoder.redundancy == Redundancy::Dual,
            e.profile == "sim-dual"
        );
        for r in &e.regions {
            for slot in blueprint(profile)
                .into_iter()
                .filter(|s| s.after_show == ended)
            {
                names.insert(format!("{}/{r}/{}", e.id, slot.name));
            }
        }
    }
    names.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_fifty_overlapping_events_holds_exactly_what_is_in_its_window() {
    let p = Project::new("sim:\n  time_scale: 0.0001\n");
    let events = day_of_events();
    p.write("schedules/main.yaml", &schedule_yaml(&events));
    let ws = Workspace::new(p.path(), None, Duration::from_secs(10));
    let day: Timestamp = "2030-12-05T00:00:00Z".parse().unwrap();
    let mut most = 0;
    let mut step = 0;
    let mut now = day - SignedDuration::from_hours(1);
    while now < day + SignedDuration::from_hours(27) {
        tick_at(&ws, now).await;
        let want = expected(&events, now, &ws);
        assert_eq!(p.inventory_names(), want, "at {now}");
        most = most.max(want.len());
        // Every few ticks, tick again at the same moment: nothing left to do.
        if step % 5 == 0 {
            let again = tick_at(&ws, now).await;
            assert!(
                again.report.apply.is_none(),
                "a second tick at {now} changed something"
            );
        }
        now += SignedDuration::from_mins(15);
        step += 1;
    }
    assert!(
        most >= 15,
        "the events overlap (at most {most} resources at once)"
    );
    let left = p.inventory_names();
    assert!(
        !left.is_empty() && left.iter().all(|n| n.ends_with("/vod")),
        "the day ends with only the published VODs left: {left:?}"
    );
}

#[test]
fn tick_reports_phases_and_rejects_a_bad_time() {
    let p = Project::fast();
    let out = p.run(&["tick", "--now", "2030-12-05T19:35:00Z", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let last: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "tick");
    let phases: Vec<(&str, &str)> = last["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["phase"].as_str().unwrap()))
        .collect();
    assert_eq!(
        phases,
        [("cup-final", "ready"), ("derby-night", "scheduled")]
    );
    assert_eq!(p.inventory().len(), 10);

    let out = p.run(&["tick", "--now", "tomorrow"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--now `tomorrow` is not an RFC 3339 time"),
        "{}",
        stderr(&out)
    );

    // Cancelling an event tears it down at the next tick.
    p.write(
        "schedules/main.yaml",
        "apiVersion: orchestrate/v1\nkind: Schedule\nevents: []\n",
    );
    let text = p.ok(&["tick", "--now", "2030-12-05T19:36:00Z"]);
    assert!(text.contains("cup-final: no longer scheduled"), "{text}");
    assert!(p.inventory().is_empty());
}

#[test]
fn a_dry_run_shows_what_a_tick_would_do_then_and_does_nothing() {
    let p = Project::fast();
    const AT: &str = "2030-12-05T19:35:00Z";
    let out = p.ok(&["tick", "--dry-run", "--now", AT, "--output", "json"]);
    let dry: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (dry["event"].as_str(), dry["dry_run"].as_bool()),
        (Some("tick"), Some(true))
    );
    let creates = |plan: &serde_json::Value| {
        plan["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["op"] == "create")
            .count()
    };
    // cup-final's window is open then, derby-night's is not: its ten resources, nothing else.
    assert_eq!(creates(&dry["plan"]), 10, "{:#}", dry["plan"]);
    assert!(p.inventory().is_empty(), "a dry run creates nothing");
    assert_eq!(
        p.ok(&["state", "list", "--output", "json"]).trim(),
        "[]",
        "and records nothing"
    );
    // `plan --now` is the same plan; text says that nothing was done.
    let planned: serde_json::Value =
        serde_json::from_str(&p.ok(&["plan", "--now", AT, "--output", "json"])).unwrap();
    assert_eq!(planned["actions"], dry["plan"]["actions"]);
    let text = p.ok(&["tick", "--dry-run", "--now", AT]);
    assert!(
        text.contains("will be created") && text.contains("Dry run: nothing was done."),
        "{text}"
    );

    // Once the tick has run, a dry run at the same time has nothing left to do.
    p.ok(&["tick", "--now", AT]);
    assert_eq!(p.inventory().len(), 10);
    let again: serde_json::Value = serde_json::from_str(
        p.ok(&["tick", "--dry-run", "--now", AT, "--output", "json"])
            .trim(),
    )
    .unwrap();
    let changes: Vec<&serde_json::Value> = again["plan"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["op"] != "no_op")
        .collect();
    assert!(changes.is_empty(), "{changes:?}");
    let phases: Vec<&str> = again["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["ready", "scheduled"]);
}

fn show_in_window(regions: &str) -> String {
    let start = Timestamp::now() + SignedDuration::from_mins(5);
    format!(
        "apiVersion: orchestrate/v1\nkind: Schedule\nevents:\n  - id: now-show\n    start: {start}\n    end: {}\n    profile: sim-hd\n    regions: [{regions}]\n    lead: 10m\n    vod: {{ enabled: false }}\n",
        start + SignedDuration::from_hours(1)
    )
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !cond() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_daemon_ticks_on_schedule_edits_survives_bad_ones_and_stops_without_teardown() {
    use std::io::BufRead;
    let p = Project::fast();
    p.write("schedules/main.yaml", &show_in_window("eu-west-1"));
    let mut child = p
        .cmd(&[
            "run",
            "--interval",
            "1h",
            "--listen",
            "127.0.0.1:0",
            "--output",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let reader = {
        let lines = lines.clone();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(l);
            }
        })
    };
    wait_until("the first tick to provision", || p.inventory().len() == 5);

    // The daemon owns the state while it runs: a tick from cron meanwhile names it and exits 3.
    let out = p.run(&["tick", "--lock-timeout", "1s"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("run"), "{}", stderr(&out));

    // A region added to the schedule is provisioned at once, not after the hour-long interval.
    p.write(
        "schedules/main.yaml",
        &show_in_window("eu-west-1, us-east-1"),
    );
    wait_until("the edit to be picked up", || p.inventory().len() == 10);

    // A broken edit is reported; the daemon keeps running and touches nothing.
    p.write(
        "schedules/main.yaml",
        "apiVersion: orchestrate/v1\nkind: Schedule\nevents: [\n",
    );
    wait_until("the bad edit to be reported", || {
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("\"tick_failed\""))
    });
    assert_eq!(p.inventory().len(), 10);

    assert_eq!(
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .code(),
        Some(0)
    );
    let status = child.wait().unwrap();
    reader.join().unwrap();
    assert_eq!(status.code(), Some(0), "a stopped daemon exits cleanly");
    assert_eq!(
        p.inventory().len(),
        10,
        "stopping the daemon tears nothing down"
    );
    let ticks = lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("\"event\":\"tick\""))
        .count();
    assert!(ticks >= 2, "{:?}", lines.lock().unwrap());

    p.write(
        "schedules/main.yaml",
        &show_in_window("eu-west-1, us-east-1"),
    );
    p.ok(&["down", "--yes"]);
    assert!(p.inventory().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_edits_move_extend_and_shrink_what_exists() {
    let p = Project::fast();
    let ws = Workspace::new(p.path(), None, Duration::from_secs(10));
    let show = |start: &str, end: &str| {
        format!(
            "apiVersion: orchestrate/v1\nkind: Schedule\nevents:\n  - id: show\n    start: {start}\n    end: {end}\n    profile: sim-hd\n    regions: [eu-west-1]\n    lead: 15m\n    grace: 5m\n    vod: {{ enabled: false }}\n"
        )
    };
    let at = |s: &str| s.parse::<Timestamp>().unwrap();
    let ids = || {
        let mut v: Vec<String> = p.inventory().into_iter().map(|i| i.1).collect();
        v.sort();
        v
    };

    p.write(
        "schedules/main.yaml",
        &show("2030-12-05T20:00:00Z", "2030-12-05T21:00:00Z"),
    );
    tick_at(&ws, at("2030-12-05T19:50:00Z")).await;
    assert_eq!(p.inventory().len(), 5);
    let first = ids();

    // Moved two hours later: nothing is needed before 21:45 any more.
    p.write(
        "schedules/main.yaml",
        &show("2030-12-05T22:00:00Z", "2030-12-05T23:00:00Z"),
    );
    tick_at(&ws, at("2030-12-05T19:52:00Z")).await;
    assert!(
        p.inventory().is_empty(),
        "moved later: torn down until its new window"
    );

    // Back in place, then extended past the old end: the same resources stay.
    p.write(
        "schedules/main.yaml",
        &show("2030-12-05T20:00:00Z", "2030-12-05T21:00:00Z"),
    );
    tick_at(&ws, at("2030-12-05T19:53:00Z")).await;
    let again = ids();
    assert_eq!(again.len(), 5);
    assert_ne!(again, first, "recreated after the move");
    p.write(
        "schedules/main.yaml",
        &show("2030-12-05T20:00:00Z", "2030-12-05T23:00:00Z"),
    );
    tick_at(&ws, at("2030-12-05T21:30:00Z")).await;
    assert_eq!(ids(), again, "extended: kept, not recreated");

    // Cut short: gone once the new end plus grace has passed.
    p.write(
        "schedules/main.yaml",
        &show("2030-12-05T20:00:00Z", "2030-12-05T21:00:00Z"),
    );
    tick_at(&ws, at("2030-12-05T21:31:00Z")).await;
    assert!(p.inventory().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_auto_lead_each_resource_is_created_as_late_as_what_needs_it_allows() {
    let p = Project::new("sim:\n  time_scale: 0.0001\n");
    p.write(
        "schedules/main.yaml",
        "apiVersion: orchestrate/v1\nkind: Schedule\nevents:\n  - id: show\n    start: 2030-12-05T20:00:00Z\n    end: 2030-12-05T21:00:00Z\n    profile: sim-hd\n    regions: [eu-west-1]\n",
    );
    let ws = Workspace::new(p.path(), None, Duration::from_secs(10));
    // From the catalog, with a minute of readiness checks before the show: the encoder is
    // allowed its 10-minute max × 1.1 (12 min before start), its input 37.5 s more (13 min,
    // rounded up to the minute); the CDN its 20-minute max × 1.1 (23 min); the origin, which
    // both need, 18.75 s more than the CDN (24 min), and the archive 6.25 s more than that.
    let steps: [(&str, &[&str]); 6] = [
        ("19:35", &[]),
        ("19:36", &["archive", "origin"]),
        ("19:37", &["archive", "cdn", "origin"]),
        ("19:47", &["archive", "cdn", "input", "origin"]),
        ("19:48", &["archive", "cdn", "encoder", "input", "origin"]),
        ("20:30", &["archive", "cdn", "encoder", "input", "origin"]),
    ];
    for (hm, want) in steps {
        let now: Timestamp = format!("2030-12-05T{hm}:00Z").parse().unwrap();
        let report = tick_at(&ws, now).await.report;
        let got: Vec<String> = p
            .inventory_names()
            .into_iter()
            .map(|n| n.trim_start_matches("show/eu-west-1/").to_string())
            .collect();
        assert_eq!(got, want, "at {hm}");
        let ev = &report.events[0];
        assert_eq!(ev.lead, "24m");
        assert_eq!(ev.lead_from.as_str(), "catalog");
        // Ready only once all of them are.
        let phase = ev.phase.as_str();
        match hm {
            "19:35" => assert_eq!(phase, "scheduled"),
            "19:48" => assert_eq!(phase, "ready"),
            "20:30" => assert_eq!(phase, "live"),
            _ => assert_eq!(phase, "provisioning", "at {hm}"),
        }
    }
}

/// A show cancelled or moved before it went on air is not handed off: its archive holds
/// nothing of it, and goes with the rest. Real times: the journal the decision reads is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_show_cancelled_or_moved_before_it_aired_gets_no_vod() {
    let p = Project::fast();
    let ws = Workspace::new(p.path(), None, Duration::from_secs(10));
    let now = Timestamp::now();
    let hours = |h: i64| (now + SignedDuration::from_hours(h)).to_string();
    let show = |id: &str, start: &str, end: &str| {
        format!(
            "  - {{ id: {id}, start: {start}, end: {end}, profile: sim-hd, regions: [eu-west-1], lead: 2h, grace: 5m }}\n"
        )
    };
    let schedule = |events: &[String]| {
        format!(
            "apiVersion: orchestrate/v1\nkind: Schedule\nevents:\n{}",
            events.concat()
        )
    };
    let kinds = |id: &str| -> Vec<String> {
        p.inventory()
            .into_iter()
            .filter(|i| i.0.starts_with(&format!("{id}/")))
            .map(|i| i.0.rsplit('/').next().unwrap().to_string())
            .collect()
    };
    // Both an hour from now, inside their two-hour lead: provisioned.
    p.write(
        "schedules/main.yaml",
        &schedule(&[
            show("cancelled", &hours(1), &hours(2)),
            show("moved", &hours(1), &hours(2)),
        ]),
    );
    tick_at(&ws, now).await;
    assert!(kinds("cancelled").contains(&"archive".to_string()));
    assert!(kinds("moved").contains(&"archive".to_string()));

    // One is cancelled; the other had the wrong day, and its real one was yesterday.
    p.write(
        "schedules/main.yaml",
        &schedule(&[show("moved", &hours(-26), &hours(-25))]),
    );
    let out = tick_at(&ws, Timestamp::now()).await;
    let handoff = serde_json::to_value(&out.report.handoffs).unwrap();
    assert_eq!(handoff[0]["event"], "moved", "{handoff}");
    assert_eq!(handoff[0]["state"], "not_aired", "{handoff}");
    assert_eq!(
        handoff[0]["reason"], "its archive holds no media",
        "{handoff}"
    );
    assert!(out.report.alerts.is_empty(), "{:?}", out.report.alerts);
    assert!(
        p.inventory().is_empty(),
        "no VOD, and the archives are gone: {:?}",
        p.inventory_names()
    );
    let moved = out.report.events.iter().find(|e| e.id == "moved").unwrap();
    assert_eq!(moved.phase.as_str(), "done");
}

/// An event taken off the schedule while on air, before its hand-off: the recording is kept
/// (nothing can package it without its event), the rest goes, and staff are told. `down
/// --discard-archives` then deletes it.
#[tokio::test(flavor = "multi_thread")]
async fn a_show_removed_from_the_schedule_after_it_aired_keeps_its_recording() {
    let p = Project::fast();
    let ws = Workspace::new(p.path(), None, Duration::from_secs(10));
    let now = Timestamp::now();
    let mins = |m: i64| (now + SignedDuration::from_mins(m)).to_string();
    p.write(
        "schedules/main.yaml",
        &format!(
            "apiVersion: orchestrate/v1\nkind: Schedule\nevents:\n  - {{ id: final, start: {}, end: {}, profile: sim-hd, regions: [eu-west-1], lead: 2h, grace: 5m }}\n",
            mins(-30),
            mins(30)
        ),
    );
    tick_at(&ws, now).await;
    assert!(p.inventory_names().iter().any(|n| n.ends_with("/encoder")));

    p.write(
        "schedules/main.yaml",
        "apiVersion: orchestrate/v1\nkind: Schedule\nevents: []\n",
    );
    for _ in 0..2 {
        let out = tick_at(&ws, Timestamp::now()).await;
        assert_eq!(
            p.inventory_names(),
            ["final/eu-west-1/archive"],
            "only the recording is left"
        );
        assert_eq!(out.report.removed_events, ["final"]);
        assert!(
            out.report
                .alerts
                .iter()
                .any(|a| a.contains("final in eu-west-1")
                    && a.contains("the archive is kept")
                    && a.contains("--discard-archives")),
            "{:?}",
            out.report.alerts
        );
    }
    p.ok(&["down", "--yes", "--event", "final", "--discard-archives"]);
    assert!(p.inventory().is_empty(), "{:?}", p.inventory_names());
}
