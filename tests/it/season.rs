//! `bench season` end to end: a season of events run by the daemon on the simulated clock.

use crate::common;

use std::process::Command;

fn season(lead: &str) -> serde_json::Value {
    let out = Command::new(common::BIN)
        .args(["--project", env!("CARGO_MANIFEST_DIR")])
        .args(["bench", "season", "--events", "24", "--lead", lead])
        // A simulated minute is 120 ms of real time: a little slack for the other tests of
        // the binary that share the machine with this one.
        .args(["--time-scale", "0.002"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().count(),
        1,
        "one JSON object on one line: {text}"
    );
    serde_json::from_str(&text).unwrap()
}

#[test]
fn learned_leads_bill_less_than_a_fixed_half_hour_and_every_event_is_ready_in_time() {
    let fixed = std::thread::spawn(|| season("30m"));
    let auto = season("auto");
    let fixed = fixed.join().unwrap();
    for r in [&auto, &fixed] {
        assert_eq!(r["scenario"], "season");
        assert_eq!(r["events"], 24);
        assert_eq!(r["failed_steps"], 0, "{r}");
        // Learned leads cover the tail of each create, but with a margin of a minute or so of
        // simulated time, which is 120 ms here: a test machine busy with other work may make
        // an event late, so only a fixed half hour is held to every event.
        assert!(
            r["ready_before_start_ratio"].as_f64().unwrap() >= 0.9,
            "{r}"
        );
        // The minimum counts what waits for slower creates: never below each resource's own.
        let (chain, own) = (
            r["billed_over_minimum"].as_f64().unwrap(),
            r["billed_over_own_creates"].as_f64().unwrap(),
        );
        assert!(chain <= own, "{r}");
        // The grace is asked for: counting it as needed lowers the ratio, never below 1.
        let needed = r["billed_over_needed"].as_f64().unwrap();
        assert!((1.0..chain).contains(&needed), "{r}");
        for kind in ["archive", "origin", "input", "encoder", "cdn (shared)"] {
            let k = &r["by_kind"][kind];
            assert!(
                k["billed"].as_f64().unwrap() >= k["minimum"].as_f64().unwrap(),
                "{kind}: {r}"
            );
        }
        // The minutes beyond the minimum, by when they were billed, add up to the whole; after
        // the end there is the 5-minute grace of every own resource, a show of at most 3 h 15
        // in its minimum, and the own resources hold well over half of the minimum.
        let beyond = &r["beyond_minimum"];
        let parts: f64 = ["before_start", "after_end", "shared"]
            .iter()
            .map(|k| beyond[k].as_f64().unwrap())
            .sum();
        assert!((1.0 + parts - chain).abs() < 0.003, "{r}");
        assert!(
            beyond["after_end"].as_f64().unwrap() > 5.0 / 200.0 / 2.0,
            "{r}"
        );
        assert!(beyond["before_start"].as_f64().unwrap() > 0.0, "{r}");
        // Every event's four resources, plus the shared CDNs.
        assert!(r["resources_created"].as_u64().unwrap() > 24 * 4, "{r}");
        assert!(r["billed_over_minimum"].as_f64().unwrap() > 1.0, "{r}");
    }
    assert_eq!(fixed["ready_before_start_ratio"], 1.0, "{fixed}");
    let (a, f) = (
        auto["billed_over_minimum"].as_f64().unwrap(),
        fixed["billed_over_minimum"].as_f64().unwrap(),
    );
    assert!(a < f, "auto {a} against 30m {f}");
    assert!(
        auto["cost"].as_f64().unwrap() < fixed["cost"].as_f64().unwrap(),
        "{auto} {fixed}"
    );
    // Just in time costs a fraction of keeping one set of resources on per show on air at once
    // in each region for the whole season.
    assert!(auto["cost"].as_f64().unwrap() < auto["always_on_cost"].as_f64().unwrap() / 4.0);
}

#[test]
fn a_bad_lead_is_a_usage_error() {
    let out = Command::new(common::BIN)
        .args(["--project", env!("CARGO_MANIFEST_DIR")])
        .args(["bench", "season", "--lead", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("soon"));
}
