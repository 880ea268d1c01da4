//! Plans as users read them, the DAG order, and saved plans.

use crate::common;

use std::collections::HashMap;

use common::{Project, stderr};
use serde_json::Value;

fn owner_filter() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"\b[0-9a-f]{16}\b", "[owner]");
    s
}

#[test]
fn plan_of_an_empty_state_creates_everything_with_cost() {
    let p = Project::fast();
    let text = p.ok(&["plan", "--event", "derby-night"]);
    owner_filter().bind(|| insta::assert_snapshot!(text));
}

#[test]
fn plan_shows_updates_replacements_and_deletions() {
    let p = Project::fast();
    p.ok(&["up", "--yes"]);
    assert_eq!(
        p.ok(&["plan"]).lines().next(),
        Some("No changes. The infrastructure matches the schedule.")
    );
    // A bitrate change updates the encoder in place; a packaging change replaces the origin
    // (the catalog lists `packaging` in the origin's replace_on); a removed event is destroyed.
    let prof = p.read("profiles/sim-hd.yaml");
    p.write(
        "profiles/sim-hd.yaml",
        &prof
            .replace("bitrate: 3000k", "bitrate: 3500k")
            .replace("packaging: [hls, dash]", "packaging: [hls]"),
    );
    let sched = common::SCHEDULE;
    p.write(
        "schedules/main.yaml",
        &sched[..sched.find("  - id: derby-night").unwrap()],
    );
    let text = p.ok(&["plan", "--event", "cup-final"]);
    owner_filter().bind(|| insta::assert_snapshot!("changes_to_cup_final", text));
    let all: Value = serde_json::from_str(&p.ok(&["plan", "--output", "json"])).unwrap();
    let ops = count_ops(&all);
    assert_eq!(ops.get("update"), Some(&2), "{ops:?}");
    assert_eq!(ops.get("replace"), Some(&2), "{ops:?}");
    assert_eq!(ops.get("delete"), Some(&7), "{ops:?}");
    // Applying it converges.
    p.ok(&["up", "--yes"]);
    assert!(p.ok(&["plan"]).starts_with("No changes."));
}

fn count_ops(plan: &Value) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for a in plan["actions"].as_array().unwrap() {
        *m.entry(a["op"].as_str().unwrap().to_string()).or_default() += 1;
    }
    m
}

fn index(plan: &Value) -> HashMap<String, (usize, Vec<usize>)> {
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let after = a["after"]
                .as_array()
                .map(|v| v.iter().map(|x| x.as_u64().unwrap() as usize).collect())
                .unwrap_or_default();
            (a["id"].as_str().unwrap().to_string(), (i, after))
        })
        .collect()
}

fn assert_after(ix: &HashMap<String, (usize, Vec<usize>)>, later: &str, earlier: &str) {
    let (_, after) = &ix[later];
    let (e, _) = ix[earlier];
    assert!(after.contains(&e), "{later} should wait for {earlier}");
}

#[test]
fn creation_follows_dependencies_and_teardown_reverses_them() {
    let p = Project::fast();
    let plan: Value = serde_json::from_str(&p.ok(&["plan", "--output", "json"])).unwrap();
    let ix = index(&plan);
    let r = "derby-night/eu-central-1";
    for pipe in ["a", "b"] {
        assert_after(
            &ix,
            &format!("{r}/encoder-{pipe}"),
            &format!("{r}/input-{pipe}"),
        );
        assert_after(&ix, &format!("{r}/encoder-{pipe}"), &format!("{r}/origin"));
    }
    assert_after(&ix, &format!("{r}/origin"), &format!("{r}/archive"));
    assert_after(&ix, &format!("{r}/cdn"), &format!("{r}/origin"));
    assert!(ix[&format!("{r}/archive")].1.is_empty());

    p.ok(&["up", "--yes"]);
    // Nothing in the journal started before what it depends on had finished.
    let journal: Value =
        serde_json::from_str(&p.ok(&["state", "journal", "--limit", "1000", "--output", "json"]))
            .unwrap();
    let times: HashMap<String, (String, String)> = journal
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["resource"].as_str().unwrap().to_string(),
                (
                    e["started_at"].as_str().unwrap().to_string(),
                    e["finished_at"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    let ts = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    for (id, (i, after)) in &ix {
        for &j in after {
            let dep = plan["actions"][j]["id"].as_str().unwrap();
            assert!(
                ts(&times[id].0) >= ts(&times[dep].1),
                "{id} started before {dep} finished"
            );
        }
        let _ = i;
    }

    let down = p.run(&["down", "--yes", "--include-vod", "--output", "json"]);
    assert_eq!(down.status.code(), Some(0), "{}", stderr(&down));
    // The down plan is not printed in JSON mode; check the order through the journal instead.
    let journal: Value =
        serde_json::from_str(&p.ok(&["state", "journal", "--limit", "1000", "--output", "json"]))
            .unwrap();
    let deletes: HashMap<String, (jiff::Timestamp, jiff::Timestamp)> = journal
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["op"] == "delete")
        .map(|e| {
            (
                e["resource"].as_str().unwrap().to_string(),
                (
                    ts(e["started_at"].as_str().unwrap()),
                    ts(e["finished_at"].as_str().unwrap()),
                ),
            )
        })
        .collect();
    assert_eq!(deletes.len(), 17);
    for (first, then) in [
        ("encoder-a", "origin"),
        ("encoder-a", "input-a"),
        ("cdn", "origin"),
        ("origin", "archive"),
    ] {
        let (a, b) = (
            &deletes[&format!("{r}/{first}")],
            &deletes[&format!("{r}/{then}")],
        );
        assert!(b.0 >= a.1, "{then} was deleted before {first} was gone");
    }
    assert!(p.inventory().is_empty(), "{:?}", p.inventory());
}

#[test]
fn a_saved_plan_applies_exactly_and_is_refused_once_the_state_changed() {
    let p = Project::fast();
    p.ok(&["plan", "--event", "cup-final", "--out", "cup.plan.json"]);
    p.ok(&["plan", "--out", "all.plan.json"]);
    p.ok(&["up", "--plan", "cup.plan.json", "--yes"]);
    let status = p.status_json();
    let events: Vec<&str> = status["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["cup-final"],
        "only the saved plan's event was provisioned"
    );
    let out = p.run(&["up", "--plan", "all.plan.json", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the state changed since all.plan.json was made"),
        "{}",
        stderr(&out)
    );
    p.write("bad.plan.json", "{\"format\": 1, \"actions\": [}");
    let out = p.run(&["up", "--plan", "bad.plan.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bad.plan.json:1:"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_auto_lead_comes_from_the_catalog_until_history_teaches_it() {
    // Provisioning here really takes well under a second: once five creates of every kind are
    // recorded, the learned lead is the chain's p95 × 1.25 (or its tail: the longest recorded,
    // and the catalog's, scaled down to what was recorded only once fifty are) plus a minute of
    // readiness checks, rounded up to the minute.
    let p = Project::new("sim:\n  time_scale: 0.0002\n");
    p.write(
        "schedules/main.yaml",
        "apiVersion: orchestrate/v1\nkind: Schedule\nevents:\n  - id: auto-show\n    start: 2030-12-05T19:45:00Z\n    end: 2030-12-05T21:00:00Z\n    profile: sim-hd\n    regions: [eu-west-1]\n    lead: auto\n",
    );
    let lead = |p: &Project| {
        let plan: Value = serde_json::from_str(&p.ok(&["plan", "--output", "json"])).unwrap();
        let e = &plan["cost"]["events"][0];
        (
            e["lead"].as_str().unwrap().to_string(),
            e["lead_from"].as_str().unwrap().to_string(),
        )
    };
    // The catalog: (5 s + 15 s) × 1.25 for the archive and origin, the CDN's 20-minute max ×
    // 1.1, and 1 min → 24 min.
    assert_eq!(lead(&p), ("24m".to_string(), "catalog".to_string()));
    let cycle = |p: &Project| {
        p.ok(&["up", "--yes"]);
        p.ok(&["down", "--yes"]);
    };
    for _ in 0..5 {
        cycle(&p);
    }
    // Learned, but five quick creates do not yet shorten the tail the catalog knows.
    let (early, from) = lead(&p);
    assert_eq!(from, "learned");
    assert_eq!(early, "24m");
    for _ in 5..orchestrate::schedule::lead::TRUST_P95 {
        cycle(&p);
    }
    assert_eq!(lead(&p), ("2m".to_string(), "learned".to_string()));
    let text = p.ok(&["plan"]);
    assert!(text.contains("2m (learned)"), "{text}");
    // A catalog whose readiness checks take 5 s and whose leads are rounded to 10 s (the local
    // provider's): the same sub-second history gives a 10-second lead.
    let sim = p.read("providers/sim.yaml").replacen(
        "\nrate_limit:",
        "\nreadiness: 5s\nlead_step: 10s\nrate_limit:",
        1,
    );
    p.write("providers/sim.yaml", &sim);
    assert_eq!(lead(&p), ("10s".to_string(), "learned".to_string()));
}

/// The aws catalog as shipped, the example's MediaLive profile (an input and two outputs: 720p
/// and 360p), and one show of 2 h 15 in two regions with an audience.
fn aws_project(audience: &str) -> Project {
    let p = Project::empty();
    p.copy("providers/aws.yaml");
    for k in [
        "archive", "origin", "input", "encoder", "cdn", "vod", "firewall", "instance",
    ] {
        p.copy(&format!("templates/aws/{k}.tera"));
    }
    let profile = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/aws-moto/profiles/aws-live.yaml"),
    )
    .unwrap();
    p.write("profiles/aws-live.yaml", &profile);
    p.write(
        "schedules/main.yaml",
        &format!(
            "apiVersion: orchestrate/v1
kind: Schedule
events:
  - {{ id: cup-final, start: 2030-12-05T19:45:00Z, end: 2030-12-05T22:00:00Z, profile: aws-live, regions: [eu-west-1, us-east-1]{audience} }}
"
        ),
    );
    p
}

#[test]
fn the_estimate_prices_each_service_as_it_bills_and_says_what_it_leaves_out() {
    let p = aws_project(", audience: { peak_viewers: 10000, average_bitrate: 4100k }");
    let plan: Value = serde_json::from_str(&p.ok(&["plan", "--output", "json"])).unwrap();
    let cost = &plan["cost"];
    assert_eq!(cost["estimate"], true);
    // MediaLive: the HD input (0.294), a 720p output (0.702) and a 360p one (0.354) per hour,
    // per region, over the encoder's window; nothing else of the chain is billed by the hour.
    let encoders: f64 = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["desired"]["kind"] == "encoder")
        .map(|a| {
            assert!((a["desired"]["hourly_price"].as_f64().unwrap() - 1.35).abs() < 1e-9);
            let w = &a["desired"]["window"];
            let from: jiff::Timestamp = w["from"].as_str().unwrap().parse().unwrap();
            let to: jiff::Timestamp = w["to"].as_str().unwrap().parse().unwrap();
            1.35 * (to.as_second() - from.as_second()) as f64 / 3600.0
        })
        .sum();
    let compute = cost["compute"].as_f64().unwrap();
    assert!(
        encoders > 0.0 && (compute - encoders).abs() < 1e-6,
        "{cost}"
    );
    // CloudFront: 10,000 viewers × 4.1 Mb/s for 2 h 15 = 41,512.5 GB at $0.085.
    let d = &cost["events"][0]["delivery"];
    assert!(
        (d["viewers_gb"].as_f64().unwrap() - 41_512.5).abs() < 1e-6,
        "{d}"
    );
    let delivery = cost["delivery"].as_f64().unwrap();
    assert!((delivery - 41_512.5 * 0.085).abs() < 1e-6, "{cost}");
    assert!((cost["total"].as_f64().unwrap() - compute - delivery).abs() < 1e-6);
    // Ingest: one pipeline's 3.8 Mb/s for 2 h 15, in each of the two regions.
    assert!((d["ingest_gb"].as_f64().unwrap() - 2.0 * 3.8e6 * 8100.0 / 8e9).abs() < 1e-9);
    let unpriced: Vec<&str> = cost["unpriced"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    for u in [
        "origin per GB in (no price in the catalog)",
        "origin per GB out (no price in the catalog)",
        "archive storage per GB-month (no price in the catalog)",
    ] {
        assert!(unpriced.contains(&u), "{unpriced:?}");
    }
    let text = p.ok(&["plan"]);
    assert!(
        text.contains("An estimate, not a bill.") && text.contains("Not counted: "),
        "{text}"
    );

    // Without an audience, delivery to viewers is said to be left out, not priced at zero.
    let p = aws_project("");
    let plan: Value = serde_json::from_str(&p.ok(&["plan", "--output", "json"])).unwrap();
    assert_eq!(plan["cost"]["delivery"], 0.0);
    assert!(
        plan["cost"]["unpriced"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u == "delivery to viewers (the event gives no `audience`)"),
        "{}",
        plan["cost"]
    );
}

#[test]
fn a_price_table_names_its_source_and_date() {
    let p = aws_project("");
    let catalog = p.read("providers/aws.yaml");
    p.write(
        "providers/aws.yaml",
        &catalog
            .replacen(
                "      source: https://aws.amazon.com/cloudfront/pricing/\n",
                "      source: a friend\n",
                1,
            )
            .replacen(
                "per_output_hour: { sd: 0.354, hd: 0.702 }",
                "per_output_hour: { sd: 0.354, fhd: 0.702 }",
                1,
            ),
    );
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("kinds.cdn.pricing.source: must be the URL"),
        "{err}"
    );
    assert!(
        err.contains("kinds.encoder.pricing.per_output_hour.fhd"),
        "{err}"
    );
}
