//! The binary as users and scripts run it: real processes, real signals, real lock contention.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{Project, expected_names, stderr, stdout};

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn slow() -> Project {
    // A CDN takes ~3 s: long enough to catch a run in the middle.
    Project::new("sim:\n  time_scale: 0.01\n")
}

#[test]
fn a_second_writer_waits_then_exits_3_naming_the_holder() {
    let p = slow();
    let mut first = p
        .cmd(&["up", "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = p.state_dir().join("lock");
    wait_for("the lock holder's record", Duration::from_secs(10), || {
        std::fs::read_to_string(&lock).is_ok_and(|s| s.contains("\"pid\""))
    });
    let started = Instant::now();
    let second = p.run(&["up", "--yes", "--lock-timeout", "1s"]);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "it waited for the lock"
    );
    assert_eq!(second.status.code(), Some(3), "{}", stderr(&second));
    let err = stderr(&second);
    assert!(
        err.contains(&format!("locked by pid {} on ", first.id())),
        "{err}"
    );
    assert!(err.contains("(`up`) since "), "{err}");
    let unlock = p.run(&["state", "unlock"]);
    assert_eq!(
        unlock.status.code(),
        Some(3),
        "a live holder's lock is not broken"
    );
    assert!(stderr(&unlock).contains(&format!("pid {}", first.id())));
    assert!(first.wait().unwrap().success());
    assert!(p.ok(&["state", "unlock"]).contains("is not locked"));
}

#[test]
fn killed_in_the_middle_of_up_then_up_again_converges_without_duplicates_or_orphans() {
    let p = slow();
    let mut child = p
        .cmd(&["up", "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("a few resources to exist", Duration::from_secs(20), || {
        p.inventory().len() >= 5
    });
    // SIGKILL: no chance to clean up or finish the journal.
    let rc = unsafe_free_kill(child.id());
    assert_eq!(rc, 0);
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    let mid = p.inventory().len();
    assert!(mid < 17, "killed before the end ({mid} resources)");
    // The interruption is what needed a slow sim; the recovery can run fast.
    p.set_sim("sim:\n  time_scale: 0.001\n");

    let again = p.run(&["up", "--yes"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(
        p.inventory_names(),
        expected_names(),
        "each resource exactly once"
    );
    let journal: serde_json::Value =
        serde_json::from_str(&p.ok(&["state", "journal", "--limit", "500", "--output", "json"]))
            .unwrap();
    let entries = journal.as_array().unwrap();
    assert!(
        entries.iter().all(|e| !e["finished_at"].is_null()),
        "the killed run's intents were closed: {journal}"
    );
    assert!(
        entries.iter().any(|e| e["outcome"] == "abandoned"),
        "the killed run left intents open: {journal}"
    );
    let status = p.status_json();
    let ready = status["events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["regions"].as_array().unwrap())
        .flat_map(|r| r["resources"].as_array().unwrap())
        .filter(|r| r["status"] == "ready")
        .count();
    assert_eq!(ready, 17);
    assert!(
        p.ok(&["sweep", "--dry-run"])
            .contains("No leaked resources.")
    );

    p.ok(&["down", "--yes", "--include-vod"]);
    assert!(
        p.inventory().is_empty(),
        "nothing left in the sim: {:?}",
        p.inventory()
    );
    assert!(p.ok(&["status"]).starts_with("No resources recorded"));
}

/// SIGKILL through the `kill` command, keeping the crate free of unsafe code.
fn unsafe_free_kill(pid: u32) -> i32 {
    signal(pid, "-KILL")
}

fn signal(pid: u32, sig: &str) -> i32 {
    std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .map(|s| s.code().unwrap_or(-1))
        .unwrap_or(-1)
}

#[test]
fn ctrl_c_lets_in_flight_steps_finish_exits_130_and_the_next_up_completes() {
    let p = slow();
    let child = p
        .cmd(&["up", "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("a few resources to exist", Duration::from_secs(20), || {
        p.inventory().len() >= 3
    });
    assert_eq!(signal(child.id(), "-INT"), 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Stopping: no new steps will start"),
        "{}",
        stderr(&out)
    );
    // Graceful: every step that started also finished and was recorded.
    let journal: serde_json::Value =
        serde_json::from_str(&p.ok(&["state", "journal", "--limit", "500", "--output", "json"]))
            .unwrap();
    let entries = journal.as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e["outcome"] == "ok"), "{journal}");
    assert_eq!(
        p.inventory().len(),
        entries.len(),
        "the provider holds what the journal records"
    );
    assert!(entries.len() < 17, "stopped before the end");
    p.set_sim("sim:\n  time_scale: 0.001\n");

    p.ok(&["up", "--yes"]);
    assert_eq!(p.inventory_names(), expected_names());
    p.ok(&["down", "--yes", "--include-vod"]);
    assert!(p.inventory().is_empty());
}

#[test]
fn a_lost_state_leaves_tagged_resources_that_sweep_finds_by_owner() {
    let p = Project::fast();
    p.ok(&["up", "--yes", "--event", "cup-final"]);
    let owner = p.status_json()["owner"].as_str().unwrap().to_string();
    std::fs::remove_file(p.state_dir().join("state.db")).unwrap();
    for f in ["state.db-wal", "state.db-shm"] {
        let _ = std::fs::remove_file(p.state_dir().join(f));
    }
    // A new state has a new owner: the old resources are not its own.
    assert!(
        p.ok(&["sweep", "--dry-run"])
            .contains("No leaked resources.")
    );
    let listed: serde_json::Value =
        serde_json::from_str(&p.ok(&["sweep", "--dry-run", "--owner", &owner, "--output", "json"]))
            .unwrap();
    assert_eq!(listed["leaked"].as_array().unwrap().len(), 10);
    let refused = p.run(&["sweep", "--owner", &owner]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "no prompt without a terminal"
    );
    assert_eq!(p.inventory().len(), 10);
    p.ok(&["sweep", "--owner", &owner, "--yes"]);
    assert!(p.inventory().is_empty());
}

#[test]
fn down_asks_for_yes_without_a_terminal_and_destroys_nothing_until_given() {
    let p = Project::fast();
    p.ok(&["up", "--yes", "--event", "derby-night"]);
    let out = p.run(&["down"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("refusing to destroy 7 resources without confirmation"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.inventory().len(), 7);
    assert!(
        p.ok(&["down", "--yes", "--event", "cup-final"])
            .contains("Nothing to tear down.")
    );
    let out = p.run(&["down", "--yes", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON line"))
        .collect();
    assert_eq!(events.first().unwrap()["event"], "started");
    assert_eq!(events.last().unwrap()["event"], "finished");
    assert_eq!(
        events.iter().filter(|e| e["event"] == "step_done").count(),
        7
    );
    assert!(p.inventory().is_empty());
}

#[test]
fn status_json_lists_events_regions_and_resources() {
    let p = Project::fast();
    p.ok(&["up", "--yes"]);
    let s = p.status_json();
    let events = s["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["id"], "cup-final");
    let regions: Vec<&str> = events[0]["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["region"].as_str().unwrap())
        .collect();
    assert_eq!(regions, ["eu-west-1", "us-east-1"]);
    let r0 = &events[0]["regions"][0]["resources"];
    assert_eq!(r0.as_array().unwrap().len(), 5);
    assert!(
        r0.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "ready" && r["provider_id"].is_string())
    );
}

#[test]
fn help_texts_have_examples() {
    let p = Project::fast();
    insta::assert_snapshot!("help", p.ok(&["--help"]));
    for cmd in [
        "validate", "schema", "plan", "up", "down", "status", "sweep", "watch", "approve", "reject",
    ] {
        let text = p.ok(&[cmd, "--help"]);
        assert!(
            text.contains("Example"),
            "`{cmd} --help` has no examples:\n{text}"
        );
    }
    insta::assert_snapshot!("up_help", p.ok(&["up", "--help"]));
    for sub in ["list", "show", "journal", "history", "unlock"] {
        assert!(
            p.ok(&["state", sub, "--help"]).contains("Example"),
            "state {sub}"
        );
    }
    assert!(p.ok(&["bench", "provision", "--help"]).contains("Example"));
}

#[test]
fn bad_flags_are_usage_errors() {
    let p = Project::fast();
    let out = p.run(&["up", "--parallelism", "many"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid value 'many'"),
        "{}",
        stderr(&out)
    );
    let out = p.run(&["plan", "--lock-timeout", "-1s"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn report_counts_what_was_billed_per_kind_and_region() {
    let p = Project::fast();
    p.ok(&["up", "--yes", "--event", "cup-final"]);
    p.ok(&["down", "--yes"]);
    let r: serde_json::Value =
        serde_json::from_str(&p.ok(&["report", "cup-final", "--output", "json"])).unwrap();
    assert_eq!(r["resources"], 10);
    assert_eq!(r["still_running"], 0);
    assert_eq!(r["on_air_minutes"], 135.0);
    let kinds = r["by_kind"].as_array().unwrap();
    assert_eq!(kinds.len(), 10, "five kinds in two regions");
    assert!(
        kinds
            .iter()
            .all(|k| k["billed_minutes"].as_f64().unwrap() > 0.0)
    );
    let provisioning = r["provisioning_minutes"].as_f64().unwrap();
    assert!(provisioning > 0.0);
    // The minimum holds each resource for the show and its create, and what waits on slower
    // creates for theirs too (the archive for the origin's and the encoder's).
    let minimum = r["minimum_minutes"].as_f64().unwrap();
    assert!(minimum > 10.0 * 135.0 + provisioning, "{r}");
    let billed = r["billed_minutes"].as_f64().unwrap();
    let efficiency = r["efficiency"].as_f64().unwrap();
    assert!((efficiency - billed / minimum).abs() < 1e-12, "{r}");
    let out = p.run(&["report", "no-such-event"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bench_probes_measures_a_small_set_and_its_detection() {
    let p = Project::fast();
    let out = p.ok(&[
        "bench",
        "probes",
        "--target",
        "1s",
        "--window",
        "4s",
        "--renditions",
        "8",
        "--detect",
        "6",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
    let step = &v["steps"][0];
    assert_eq!(step["renditions"], 8);
    assert!(step["reloads_per_change"].as_f64().unwrap() > 0.5, "{v}");
    assert_eq!(
        v["detect_samples"].as_u64().unwrap() + v["detect_missed"].as_u64().unwrap(),
        6
    );
    assert!(v["detect_samples"].as_u64().unwrap() > 0, "{v}");
    assert!(v["detect_p50_ms"].as_u64() <= v["detect_p99_ms"].as_u64());
    let bad = p.run(&["bench", "probes", "--max-cpu", "2"]);
    assert_eq!(bad.status.code(), Some(2));
}
