//! The binary as users and scripts run it: real processes, real signals, real lock contention.

use crate::common;

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
        "validate", "doctor", "schema", "plan", "up", "down", "status", "sweep", "watch",
        "approve", "reject",
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
    #[cfg(feature = "bench")]
    for b in ["provision", "content"] {
        assert!(
            p.ok(&["bench", b, "--help"]).contains("Example"),
            "bench {b}"
        );
    }
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
    // The CDN billed per GB delivered, and an audience for the show.
    p.write(
        "schedules/main.yaml",
        &common::SCHEDULE.replacen(
            "    lead: 15m\n",
            "    lead: 15m\n    audience: { peak_viewers: 1000, average_bitrate: 2M }\n",
            1,
        ),
    );
    let catalog = p.read("providers/sim.yaml").replacen(
        "    hourly_price: 0.05\n",
        "    hourly_price: 0.05\n    pricing: { source: https://example.com/cdn, as_of: 2026-12-07, per_gb_out: 0.1 }\n",
        1,
    );
    assert!(catalog.contains("per_gb_out: 0.1"));
    p.write("providers/sim.yaml", &catalog);
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
    // Compute from the billed minutes, delivery from the audience: 1,000 viewers × 2 Mb/s for
    // 2 h 15 is 2,025 GB, half in each region, at $0.10.
    let compute: f64 = kinds.iter().map(|k| k["cost"].as_f64().unwrap()).sum();
    assert!(
        (r["compute_cost"].as_f64().unwrap() - compute).abs() < 1e-9,
        "{r}"
    );
    assert!((r["delivery"]["viewers_gb"].as_f64().unwrap() - 2025.0).abs() < 1e-9);
    assert!(
        (r["delivery"]["cost"].as_f64().unwrap() - 202.5).abs() < 1e-9,
        "{r}"
    );
    assert!(
        (r["cost"].as_f64().unwrap() - compute - 202.5).abs() < 1e-9,
        "{r}"
    );
    let text = p.ok(&["report", "cup-final"]);
    assert!(
        text.contains("$202.50") && text.contains("Cost is an estimate"),
        "{text}"
    );
    let out = p.run(&["report", "no-such-event"]);
    assert_eq!(out.status.code(), Some(2));
}

#[cfg(feature = "bench")]
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

/// The same graph and draw through Terraform where it is installed; where it is not, the
/// command says so with exit 2. Either way nothing is left in the temp dir.
#[cfg(feature = "bench")]
#[test]
fn bench_provision_against_terraform_on_the_same_draw() {
    let p = Project::fast();
    let missing = p.run(&[
        "bench",
        "provision",
        "--events",
        "2",
        "--regions",
        "1",
        "--against",
        "terraform",
        "--terraform",
        "/nonexistent/terraform",
    ]);
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
    assert!(stderr(&missing).contains("--terraform /nonexistent/terraform: no such file"));
    let capped = p.run(&[
        "bench",
        "provision",
        "--against",
        "terraform",
        "--parallelism",
        "10",
    ]);
    assert_eq!(capped.status.code(), Some(2), "{}", stderr(&capped));

    // Its own temp dir, to see that the benchmark leaves nothing there.
    let tmp = tempfile::tempdir().unwrap();
    let out = p
        .cmd(&[
            "bench",
            "provision",
            "--events",
            "3",
            "--regions",
            "1",
            "--time-scale",
            "0.0002",
            "--against",
            "terraform",
        ])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let on_path = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join("terraform").is_file());
    if !on_path {
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("terraform is not on PATH"),
            "{}",
            stderr(&out)
        );
        eprintln!("terraform is not installed: its absence was checked, not the comparison");
        return;
    }
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(v["resources"], 15);
    let cp = v["critical_path_ms"].as_u64().unwrap();
    assert!(cp > 0, "{v}");
    assert!(
        v["terraform_version"].as_str().unwrap().starts_with('1'),
        "{v}"
    );
    let runs = v["terraform"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["parallelism"], 10);
    assert_eq!(runs[1]["parallelism"], 15);
    for r in runs.iter().chain([&v["orchestrate"]]) {
        // Nobody beats the critical path: each tool really waited for the drawn latencies.
        assert!(r["makespan_ms"].as_u64().unwrap() >= cp, "{v}");
    }
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Every command that takes an event id refuses one that names nothing, with exit 2 and the
/// nearest id, instead of "nothing to do" (an engineer's typo in an emergency).
#[test]
fn an_unknown_event_id_is_refused_with_the_nearest_one() {
    let p = Project::fast();
    p.ok(&["up", "--yes", "--event", "derby-night"]);
    let before = p.inventory_names();
    let commands: [&[&str]; 8] = [
        &["plan", "--event", "cup-fnal"],
        &["up", "--yes", "--event", "cup-fnal"],
        &["down", "--yes", "--event", "cup-fnal"],
        &["status", "--event", "cup-fnal"],
        &["watch", "--no-follow", "--log", "--event", "cup-fnal"],
        &["validate", "--event", "cup-fnal"],
        &["report", "cup-fnal"],
        &["vod", "retry", "cup-fnal"],
    ];
    for args in commands {
        let o = p.run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("did you mean `cup-final`?"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    assert_eq!(
        p.inventory_names(),
        before,
        "nothing was created or destroyed"
    );
    // Known ids still work, and an id like none gets no guess.
    let o = p.run(&["down", "--yes", "--event", "opening-ceremony"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("did you mean"), "{}", stderr(&o));
    p.ok(&["plan", "--event", "cup-final"]);
    p.ok(&["down", "--yes", "--include-vod"]);
}

/// An event whose schedule entry was removed is still in the state: it can be shown and torn
/// down by its id.
#[test]
fn an_event_only_in_the_state_stays_valid_for_status_and_down() {
    let p = Project::fast();
    p.ok(&["up", "--yes", "--event", "derby-night"]);
    let only_cup = common::SCHEDULE
        .split("  - id: derby-night")
        .next()
        .unwrap()
        .to_string();
    p.write("schedules/main.yaml", &only_cup);
    let status = p.ok(&["status", "--event", "derby-night"]);
    assert!(status.contains("derby-night"), "{status}");
    let o = p.run(&["plan", "--event", "derby-nite"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("did you mean `derby-night`?"));
    p.ok(&[
        "down",
        "--yes",
        "--discard-archives",
        "--event",
        "derby-night",
    ]);
    assert!(p.inventory().is_empty(), "{:?}", p.inventory_names());
}

/// `up` of a show days ahead, then `down`: the show never went on air, so there is no VOD to
/// make and the archive goes with the rest.
#[test]
fn down_before_the_show_makes_no_vod_and_removes_the_archive() {
    let p = Project::fast();
    p.ok(&["up", "--yes", "--event", "cup-final"]);
    assert!(
        p.inventory_names()
            .contains(&"cup-final/eu-west-1/archive".to_string())
    );
    let o = p.run(&["down", "--yes", "--event", "cup-final"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for region in ["eu-west-1", "us-east-1"] {
        assert!(
            stderr(&o).contains(&format!(
                "No VOD for cup-final in {region}: the show never went on air (its start \
                 (2030-12-05T19:45:00Z) has not passed)"
            )),
            "{}",
            stderr(&o)
        );
    }
    assert!(!stdout(&o).contains("Kept "), "{}", stdout(&o));
    assert!(p.inventory().is_empty(), "{:?}", p.inventory_names());
    let listed = p.ok(&["vod", "list"]);
    assert!(listed.contains("No VOD recorded."), "{listed}");
}

/// A plan of the whole schedule leaves out the events already over (end + grace passed) and
/// says so; naming one still plans it.
#[test]
fn up_leaves_out_events_whose_window_has_passed() {
    let p = Project::fast();
    let now = jiff::Timestamp::now();
    let ago = |h: i64| (now - jiff::SignedDuration::from_hours(h)).to_string();
    p.write(
        "schedules/main.yaml",
        &format!(
            "apiVersion: orchestrate/v1\nkind: Schedule\nevents:\n  \
             - {{ id: last-night, start: {}, end: {}, profile: sim-hd, regions: [eu-west-1] }}\n  \
             - {{ id: next-week, start: 2030-12-05T19:45:00Z, end: 2030-12-05T22:00:00Z, profile: sim-hd, regions: [eu-west-1] }}\n",
            ago(26),
            ago(24)
        ),
    );
    let plan = p.run(&["plan", "--output", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    assert!(
        stderr(&plan)
            .contains("Left out 1 event whose window (end + grace) has passed: last-night"),
        "{}",
        stderr(&plan)
    );
    let planned: serde_json::Value = serde_json::from_str(&stdout(&plan)).unwrap();
    let ids: Vec<&str> = planned["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert!(ids.iter().all(|id| id.starts_with("next-week/")), "{ids:?}");
    p.ok(&["up", "--yes"]);
    assert!(
        p.inventory_names()
            .iter()
            .all(|n| n.starts_with("next-week/")),
        "{:?}",
        p.inventory_names()
    );
    // Named, it is provisioned anyway (a rehearsal of a past show, say).
    p.ok(&["up", "--yes", "--event", "last-night"]);
    assert!(
        p.inventory_names()
            .iter()
            .any(|n| n.starts_with("last-night/")),
        "{:?}",
        p.inventory_names()
    );
    // A later `up` of the whole schedule leaves it as it is: its teardown is tick's and down's.
    let again = p.run(&["up", "--yes"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stdout(&again).contains("No changes."), "{}", stdout(&again));
    p.ok(&["down", "--yes", "--include-vod"]);
}

/// Building an HTTP client reads the system's CA certificates, which a process out of file
/// descriptors cannot: the command then says so and exits 1, it does not panic. (With no
/// certificates to be found, the build fails the same way.)
#[test]
fn an_http_client_that_cannot_be_built_is_an_error_not_a_panic() {
    let p = Project::fast();
    p.write("certs/empty.pem", "");
    std::fs::create_dir_all(p.path().join("certs/dir")).unwrap();
    p.write("token", "secret");
    let no_certs = |args: &[&str]| {
        p.cmd(args)
            .env("SSL_CERT_FILE", p.path().join("certs/empty.pem"))
            .env("SSL_CERT_DIR", p.path().join("certs/dir"))
            .output()
            .unwrap()
    };
    let edge = no_certs(&[
        "serve-local",
        "edge",
        "--region-dir",
        p.path().to_str().unwrap(),
        "--token-file",
        p.path().join("token").to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--ready",
        p.path().join("ready").to_str().unwrap(),
    ]);
    let run = no_certs(&["run", "--listen", "127.0.0.1:0"]);
    for out in [edge, run] {
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("cannot build an HTTP client"), "{err}");
        assert!(err.contains("No CA certificates"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn doctor_says_which_tools_it_found_and_fails_without_one() {
    let p = Project::local(common::LOCAL_SCHEDULE);
    p.write(
        "profiles/test.yaml",
        &common::local_profile("testsrc", "single"),
    );
    let out = p.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("local:\n"), "{text}");
    for tool in ["ffmpeg", "ffprobe"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("  PASS  {tool} ")) && l.contains("version")),
            "{text}"
        );
    }
    // No VOD in this profile: the packager is not asked after.
    assert!(!text.contains("packager"), "{text}");
    assert!(!p.state_dir().exists(), "doctor wrote a state");

    let out = p
        .cmd(&["doctor", "--output", "json"])
        .env("ORCHESTRATE_FFMPEG", "/nonexistent/ffmpeg")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["ok"], false);
    let ffmpeg = &v["checks"][0];
    assert_eq!(ffmpeg["check"], "ffmpeg");
    assert_eq!(ffmpeg["status"], "fail");
    assert!(
        ffmpeg["detail"]
            .as_str()
            .unwrap()
            .contains("apt-get install -y ffmpeg"),
        "{ffmpeg}"
    );

    let out = p.run(&["doctor", "--provider", "azure"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no catalog for provider `azure`"));
}
