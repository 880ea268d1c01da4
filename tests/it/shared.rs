//! Resources an event group shares: one CDN per group (a global service's, kept in the one
//! region it is managed from; else one per group and region), created once, kept across short
//! gaps, released when no event of the group needs it.

use crate::common;

use std::time::Duration;

use common::Project;
use jiff::{SignedDuration, Timestamp};
use orchestrate::ops::tick::TickReport;
use orchestrate::workspace::Workspace;

const CDN: &str = "@sim-shared+league/us-east-1/cdn";

fn project() -> Project {
    let p = Project::new("sim:\n  time_scale: 0.0001\n");
    let profile = p.read("profiles/sim-hd.yaml").replace(
        "cdn:\n  enabled: true",
        "cdn:\n  enabled: true\n  shared: true",
    );
    assert!(profile.contains("shared: true"));
    p.write("profiles/sim-shared.yaml", &profile);
    // Two matches of the league on one afternoon (a 30-minute gap, shorter than tearing the
    // CDN down and deploying it again), one the next day, and one outside any group.
    p.write(
        "schedules/main.yaml",
        "apiVersion: orchestrate/v1
kind: Schedule
events:
  - { id: match-1, group: league, start: 2030-12-05T14:00:00Z, end: 2030-12-05T16:00:00Z, profile: sim-shared, regions: [eu-west-1], vod: { enabled: false } }
  - { id: match-2, group: league, start: 2030-12-05T16:40:00Z, end: 2030-12-05T18:30:00Z, profile: sim-shared, regions: [eu-west-1], vod: { enabled: false } }
  - { id: match-3, group: league, start: 2030-12-06T14:00:00Z, end: 2030-12-06T16:00:00Z, profile: sim-shared, regions: [eu-west-1], vod: { enabled: false } }
  - { id: friendly, start: 2030-12-05T15:00:00Z, end: 2030-12-05T17:00:00Z, profile: sim-shared, regions: [eu-west-1], vod: { enabled: false } }
",
    );
    p
}

async fn tick_at(ws: &Workspace, now: Timestamp) -> TickReport {
    common::tick_at(ws, now).await.report
}

fn lead_of(r: &TickReport, id: &str) -> String {
    r.events.iter().find(|e| e.id == id).unwrap().lead.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_shares_one_cdn_created_once_and_kept_across_a_short_gap() {
    let p = project();
    let ws = Workspace::new(p.path(), None, Duration::from_secs(10));
    let t = |s: &str| -> Timestamp { s.parse().unwrap() };

    let first = tick_at(&ws, t("2030-12-05T10:00:00Z")).await;
    assert!(p.inventory().is_empty());
    // The events' leads cover their own resources only (13 minutes from the catalog: the
    // encoder's 10-minute max × 1.1 after the archive and origin, and a minute of checks);
    // the CDN, with its 20-minute max deploy, starts earlier on its own (23 minutes).
    assert_eq!(lead_of(&first, "match-1"), "13m");
    tick_at(&ws, t("2030-12-05T13:45:00Z")).await;
    assert_eq!(p.inventory_names(), [CDN]);

    let mut cdn_ids = std::collections::BTreeSet::new();
    let mut now = t("2030-12-05T13:00:00Z");
    while now < t("2030-12-05T20:00:00Z") {
        tick_at(&ws, now).await;
        let inv = p.inventory();
        let shared: Vec<_> = inv.iter().filter(|i| i.0 == CDN).collect();
        let in_span = now >= t("2030-12-05T14:00:00Z") && now < t("2030-12-05T18:40:00Z");
        if in_span {
            assert_eq!(shared.len(), 1, "at {now}: {inv:?}");
            cdn_ids.insert(shared[0].1.clone());
        }
        // No event has a CDN of its own.
        assert!(
            inv.iter()
                .all(|i| !i.0.ends_with("/cdn") || i.0.starts_with('@')),
            "at {now}: {inv:?}"
        );
        // Between the matches (16:10 to 16:20) the league's CDN is kept though no match needs it.
        if now >= t("2030-12-05T16:10:00Z") && now < t("2030-12-05T16:20:00Z") {
            assert!(
                inv.iter().all(|i| !i.0.starts_with("match-")),
                "at {now}: {inv:?}"
            );
        }
        // The friendly has its own group's CDN while it is on.
        if now >= t("2030-12-05T15:00:00Z") && now < t("2030-12-05T17:00:00Z") {
            assert!(
                inv.iter().any(|i| i.0 == "@sim-shared/us-east-1/cdn"),
                "at {now}"
            );
        }
        now += SignedDuration::from_mins(10);
    }
    assert_eq!(
        cdn_ids.len(),
        1,
        "created once for both matches: {cdn_ids:?}"
    );

    // Overnight nothing is left; the next day's match gets a CDN of its own again.
    tick_at(&ws, t("2030-12-06T03:00:00Z")).await;
    assert!(p.inventory().is_empty(), "{:?}", p.inventory());
    tick_at(&ws, t("2030-12-06T13:55:00Z")).await;
    assert!(p.inventory().iter().any(|i| i.0 == CDN));
    tick_at(&ws, t("2030-12-06T23:00:00Z")).await;
    assert!(p.inventory().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_groups_cdn_goes_across_a_gap_longer_than_its_longest_delete() {
    let p = project();
    // Released at 16:10, the CDN is wanted again at 17:17 (23 minutes before 17:40): 67
    // minutes, more than its longest delete (60), so it goes and is made again in time.
    p.write(
        "schedules/main.yaml",
        "apiVersion: orchestrate/v1
kind: Schedule
events:
  - { id: match-1, group: league, start: 2030-12-05T14:00:00Z, end: 2030-12-05T16:00:00Z, profile: sim-shared, regions: [eu-west-1], vod: { enabled: false } }
  - { id: match-2, group: league, start: 2030-12-05T17:40:00Z, end: 2030-12-05T19:00:00Z, profile: sim-shared, regions: [eu-west-1], vod: { enabled: false } }
",
    );
    let ws = Workspace::new(p.path(), None, Duration::from_secs(10));
    let t = |s: &str| -> Timestamp { s.parse().unwrap() };
    let live_cdn = |p: &Project| -> Option<String> {
        p.inventory()
            .into_iter()
            .find(|i| i.0 == CDN && i.2.is_none())
            .map(|i| i.1)
    };
    tick_at(&ws, t("2030-12-05T13:45:00Z")).await;
    let first = live_cdn(&p).expect("the CDN before the first match");
    tick_at(&ws, t("2030-12-05T16:10:00Z")).await;
    assert_eq!(live_cdn(&p), None, "{:?}", p.inventory());
    tick_at(&ws, t("2030-12-05T17:00:00Z")).await;
    assert_eq!(live_cdn(&p), None, "not wanted before 17:17");
    tick_at(&ws, t("2030-12-05T17:20:00Z")).await;
    let second = live_cdn(&p).expect("the CDN before the second match");
    assert_ne!(first, second, "made again");
}

#[test]
fn plan_prices_a_shared_cdn_once_for_the_group() {
    let p = project();
    let out = p.ok(&["plan", "--output", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = plan["cost"]["events"].as_array().unwrap();
    let keys: Vec<&str> = rows.iter().map(|r| r["event"].as_str().unwrap()).collect();
    for k in [
        "@sim-shared+league",
        "@sim-shared",
        "match-1",
        "match-2",
        "match-3",
        "friendly",
    ] {
        assert!(keys.contains(&k), "{keys:?}");
    }
    let league = rows
        .iter()
        .find(|r| r["event"] == "@sim-shared+league")
        .unwrap();
    assert_eq!(league["resources"], 1);
    // Billed over its two spans (the afternoon, and the next day), not the night between.
    let cost = league["cost"].as_f64().unwrap();
    assert!(cost > 0.0 && cost < 0.05 * 12.0, "{cost}");
}

/// The shared resources `plan` prices, with the regions they are in.
fn shared_in_plan(p: &Project) -> Vec<(String, String)> {
    let out = p.ok(&["plan", "--output", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut v: Vec<(String, String)> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"].as_str().unwrap().starts_with('@'))
        .map(|c| {
            let id = c["id"].as_str().unwrap().to_string();
            let region = id.split('/').nth(1).unwrap().to_string();
            (id, region)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_global_cdn_serves_all_of_a_groups_regions_and_a_regional_one_each() {
    let p = project();
    p.write(
        "schedules/main.yaml",
        "apiVersion: orchestrate/v1
kind: Schedule
events:
  - { id: match-1, group: league, start: 2030-12-05T14:00:00Z, end: 2030-12-05T16:00:00Z, profile: sim-shared, regions: [eu-west-1, ap-northeast-1], vod: { enabled: false } }
  - { id: match-2, group: league, start: 2030-12-05T14:00:00Z, end: 2030-12-05T16:00:00Z, profile: sim-shared, regions: [sa-east-1], vod: { enabled: false } }
",
    );
    // The sim's CDN is a global service managed from us-east-1: one for the three regions.
    assert_eq!(
        shared_in_plan(&p),
        [(CDN.to_string(), "us-east-1".to_string())]
    );
    // Without `global_region`, a CDN per region the group plays in.
    let catalog = p.read("providers/sim.yaml");
    assert!(catalog.contains("    global_region: us-east-1\n"));
    p.write(
        "providers/sim.yaml",
        &catalog.replace("    global_region: us-east-1\n", ""),
    );
    let regions: Vec<String> = shared_in_plan(&p).into_iter().map(|(_, r)| r).collect();
    assert_eq!(regions, ["ap-northeast-1", "eu-west-1", "sa-east-1"]);
    // A region the catalog does not have is named.
    p.write(
        "providers/sim.yaml",
        &catalog.replace(
            "    global_region: us-east-1\n",
            "    global_region: mars-1\n",
        ),
    );
    let out = p.run(&["plan"]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains("kinds.cdn.global_region") && err.contains("`mars-1`"),
        "{err}"
    );
}

#[test]
fn an_invalid_group_names_the_field() {
    let p = project();
    p.write(
        "schedules/main.yaml",
        "apiVersion: orchestrate/v1\nkind: Schedule\nevents:\n  - { id: m, group: Big League, start: 2030-12-05T14:00:00Z, end: 2030-12-05T16:00:00Z, profile: sim-shared, regions: [eu-west-1], vod: { enabled: false } }\n",
    );
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains("events[0].group") || err.contains("invalid group `Big League`"),
        "{err}"
    );
    assert!(err.contains("main.yaml:4"), "{err}");
}
