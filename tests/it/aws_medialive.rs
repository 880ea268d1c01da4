//! MediaLive on the aws provider against moto_server (helpers in `common/aws.rs`):
//! - an event whose input is an RTMP push gets an input security group admitting only the
//!   profile's networks, held by its input; `up` twice, `down`, and `sweep` once the state is
//!   lost leave no group behind, and through faults the group and input are made once each
//!   (moto has no input security groups: the fake front serves them, following MediaLive's API);
//! - an SRT input is one MediaLive calls (SRT_CALLER), at the profile's listener address;
//! - with a slate, each channel starts on a second, looped input, and its schedule switches to
//!   the feed at the show's start (at once for a show already on) and back at its end; MediaLive
//!   alerts raised on a channel reach T1's `encoder_alerts` (moto has neither schedules nor
//!   alerts: the fake front serves them);
//! - a backup contribution is a second input, attached to the channel as the primary's
//!   secondary for MediaLive's automatic input failover;
//! - the requests to MediaLive, polls included, keep to the catalog's rate limit for it: no
//!   window of time holds more than its burst and its rate allow.
#![cfg(feature = "aws")]

use crate::common;

use common::aws::*;
use orchestrate::model::{TAG_EVENT, TAG_OWNER};
use orchestrate::providers::InventoryItem;

#[test]
fn the_channel_shows_a_slate_outside_the_show_on_schedule() {
    against_moto(module_path!(), "slate_schedule_against_moto");
}

#[test]
fn medialive_calls_an_srt_listener() {
    against_moto(module_path!(), "srt_input_against_moto");
}

#[test]
fn a_backup_contribution_is_the_channels_automatic_input_failover() {
    against_moto(module_path!(), "backup_input_against_moto");
}

#[test]
fn medialive_alerts_reach_the_first_tier() {
    against_moto(module_path!(), "channel_alerts_against_moto");
}

#[test]
fn rtmp_push_inputs_admit_only_listed_networks_on_aws() {
    against_moto(module_path!(), "push_input_against_moto");
}

#[test]
fn requests_to_a_service_keep_to_its_rate_limit_on_aws() {
    against_moto(module_path!(), "service_rate_limit_against_moto");
}

/// The region's input security groups, as (id, whitelisted networks, inputs holding it),
/// read through the real SDK.
async fn input_security_groups(endpoint: &str) -> Vec<(String, Vec<String>, Vec<String>)> {
    let client = medialive_in_ireland(endpoint).await;
    let listed = client.list_input_security_groups().send().await.unwrap();
    listed
        .input_security_groups()
        .iter()
        .map(|g| {
            assert!(g.tags().is_some_and(|t| t.contains_key(TAG_OWNER)), "{g:?}");
            (
                g.id().unwrap().to_string(),
                g.whitelist_rules()
                    .iter()
                    .filter_map(|r| r.cidr().map(String::from))
                    .collect(),
                g.inputs().to_vec(),
            )
        })
        .collect()
}

#[tokio::test]
#[ignore = "run by the_channel_shows_a_slate_outside_the_show_on_schedule, with moto and credentials"]
async fn slate_schedule_against_moto() {
    let moto = std::env::var(MOTO_ENV)
        .expect("run through the_channel_shows_a_slate_outside_the_show_on_schedule");
    // moto keeps no schedules: the fake front does. The first BatchUpdateSchedule's answer is
    // lost after it acted: the retry finds the actions there and adds none twice.
    let front = common::faultproxy::FaultProxy::start(&moto, 0, 0, &[("PUT", "/prod/channels/")]);
    let dir = tempfile::tempdir().unwrap();
    let slate = "s3://orchestrate-example-media/slate.mp4";
    let profile = example_profile("aws-live").replacen(
        "encoder:\n",
        &format!("encoder:\n  slate: \"{slate}\"\n"),
        1,
    );
    // One show ahead, one already on (its channel made late).
    let now = jiff::Timestamp::now().round(jiff::Unit::Second).unwrap();
    let hour = jiff::SignedDuration::from_hours(1);
    let (ahead, on) = ((now + hour, now + hour * 3), (now - hour / 6, now + hour));
    let event = |id: &str, (start, end): (jiff::Timestamp, jiff::Timestamp)| {
        format!(
            "  - id: {id}\n    title: {id}\n    start: {start}\n    end: {end}\n    profile: aws-live\n    regions: [eu-west-1]\n"
        )
    };
    let aws = project_of(
        &front.url,
        dir.path(),
        ("aws-live", &profile),
        &schedule(&[event("ahead", ahead), event("on", on)]),
    );

    ok(dir.path(), &["up", "--yes"]);
    let listed = aws.list().await.unwrap();
    let ml = medialive_in_ireland(&moto).await;
    for (id, (start, end)) in [("ahead", ahead), ("on", on)] {
        let of = |kind: &str| -> Vec<&InventoryItem> {
            listed
                .iter()
                .filter(|i| i.kind.as_str() == kind && i.part.is_none() && i.tags[TAG_EVENT] == id)
                .collect()
        };
        assert_eq!(of("input").len(), 2, "{listed:#?}");
        let channel = &of("encoder")[0].provider_id;

        // The channel starts on the slate, looped; the feed is its second input.
        let d = ml
            .describe_channel()
            .channel_id(channel)
            .send()
            .await
            .unwrap();
        let attached: Vec<(&str, Option<&str>)> = d
            .input_attachments()
            .iter()
            .map(|a| {
                (
                    a.input_attachment_name().unwrap(),
                    a.input_settings()
                        .and_then(|s| s.source_end_behavior())
                        .map(|b| b.as_str()),
                )
            })
            .collect();
        assert_eq!(attached, [("slate", Some("LOOP")), ("input", None)]);
        let slate_input = d.input_attachments()[0].input_id().unwrap();
        let described = ml
            .describe_input()
            .input_id(slate_input)
            .send()
            .await
            .unwrap();
        assert_eq!(described.sources()[0].url(), Some(slate));

        // The schedule switches to the feed at the start (at once for the show already on)
        // and back to the slate at the end.
        let actions: Vec<(String, Option<jiff::Timestamp>, String)> = front
            .schedules()
            .of(channel)
            .iter()
            .map(|a| {
                (
                    a["actionName"].as_str().unwrap().to_string(),
                    a["scheduleActionStartSettings"]["fixedModeScheduleActionStartSettings"]
                        ["time"]
                        .as_str()
                        .map(|t| t.parse().unwrap()),
                    a["scheduleActionSettings"]["inputSwitchSettings"]
                        ["inputAttachmentNameReference"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        let at_start = (id == "ahead").then_some(start);
        assert_eq!(
            actions,
            [
                ("show-start".to_string(), at_start, "input".to_string()),
                ("show-end".to_string(), Some(end), "slate".to_string()),
            ],
            "{id}"
        );
    }

    // Again: nothing added (the fake refuses a name twice).
    ok(dir.path(), &["up", "--yes"]);
    assert_eq!(aws.list().await.unwrap().len(), listed.len());
    let channels: Vec<String> = listed
        .iter()
        .filter(|i| i.kind.as_str() == "encoder" && i.part.is_none())
        .map(|i| i.provider_id.clone())
        .collect();
    for c in &channels {
        assert_eq!(front.schedules().of(c).len(), 2);
    }
    ok(dir.path(), &["down", "--yes"]);
    assert!(aws.list().await.unwrap().is_empty());
    for c in &channels {
        assert!(front.schedules().of(c).is_empty());
    }
    assert_eq!(front.never_lost(), Vec::<(String, String)>::new());
}

#[tokio::test]
#[ignore = "run by a_backup_contribution_is_the_channels_automatic_input_failover, with moto and credentials"]
async fn backup_input_against_moto() {
    let moto = std::env::var(MOTO_ENV).expect("run through the outer test");
    let dir = tempfile::tempdir().unwrap();
    let (main, backup) = (
        "https://contribution.example.com/main/index.m3u8",
        "https://backup.example.com/main/index.m3u8",
    );
    let aws = live_project(
        &moto,
        dir.path(),
        &format!(
            "input: {{ type: file, address: \"{main}\", backup: {{ address: \"{backup}\" }} }}"
        ),
    );
    ok(dir.path(), &["up", "--yes"]);
    let ml = medialive_in_ireland(&moto).await;
    let inputs = ml.list_inputs().send().await.unwrap();
    let source = |url: &str| {
        inputs
            .inputs()
            .iter()
            .find(|i| i.sources().iter().any(|s| s.url() == Some(url)))
            .and_then(|i| i.id())
            .unwrap_or_else(|| panic!("no input pulls {url}: {inputs:?}"))
            .to_string()
    };
    let (primary, secondary) = (source(main), source(backup));
    let channels = ml.list_channels().send().await.unwrap();
    let [channel] = channels.channels() else {
        panic!("{channels:?}")
    };
    let attached = channel.input_attachments();
    assert_eq!(attached.len(), 2, "{attached:?}");
    let first = attached
        .iter()
        .find(|a| a.input_id() == Some(primary.as_str()))
        .unwrap();
    let failover = first.automatic_input_failover_settings().unwrap();
    assert_eq!(failover.secondary_input_id(), Some(secondary.as_str()));
    assert_eq!(
        failover.input_preference().map(|p| p.as_str()),
        Some("PRIMARY_INPUT_PREFERRED")
    );
    assert!(
        attached
            .iter()
            .any(|a| a.input_id() == Some(secondary.as_str()))
    );
    ok(dir.path(), &["down", "--yes"]);
    assert!(aws.list().await.unwrap().is_empty());

    // Elsewhere, refused: the local provider's encoders read one contribution.
    let p = common::Project::local(common::LOCAL_SCHEDULE);
    p.write(
        "profiles/test.yaml",
        &common::local_profile("testsrc", "single").replace(
            "input: { type: testsrc }",
            "input: { type: testsrc, backup: {} }",
        ),
    );
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("encoder.input.backup: the `local` provider's encoders fail over to no backup contribution"),
        "{}",
        common::stderr(&out)
    );
}

#[tokio::test]
#[ignore = "run by medialive_calls_an_srt_listener, with moto and credentials"]
async fn srt_input_against_moto() {
    let moto = std::env::var(MOTO_ENV).expect("run through medialive_calls_an_srt_listener");
    let dir = tempfile::tempdir().unwrap();
    let listener = "srt://203.0.113.9:9000?streamid=cam1";
    let aws = live_project(
        &moto,
        dir.path(),
        &format!("input: {{ type: srt, address: \"{listener}\" }}"),
    );
    ok(dir.path(), &["up", "--yes"]);
    let input = aws
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.kind.as_str() == "input" && i.part.is_none())
        .unwrap();
    let ml = medialive_in_ireland(&moto).await;
    let d = ml
        .describe_input()
        .input_id(&input.provider_id)
        .send()
        .await
        .unwrap();
    assert_eq!(d.r#type().map(|t| t.as_str()), Some("SRT_CALLER"));
    let state: serde_json::Value = serde_json::from_str(&ok(
        dir.path(),
        &["state", "show", "derby/eu-west-1/input", "--output", "json"],
    ))
    .unwrap();
    assert_eq!(state["outputs"]["source"], listener);
    // No security group: MediaLive calls out.
    assert!(
        aws.list()
            .await
            .unwrap()
            .iter()
            .all(|i| i.part != Some("input_firewall"))
    );
    ok(dir.path(), &["down", "--yes"]);
    assert!(aws.list().await.unwrap().is_empty());
}

#[tokio::test]
#[ignore = "run by medialive_alerts_reach_the_first_tier, with moto and credentials"]
async fn channel_alerts_against_moto() {
    let moto = std::env::var(MOTO_ENV).expect("run through medialive_alerts_reach_the_first_tier");
    // moto keeps no channel alerts: the fake front serves them.
    let front = common::faultproxy::FaultProxy::start(&moto, 0, 0, &[]);
    let dir = tempfile::tempdir().unwrap();
    let aws = push_project(&front.url, dir.path());
    ok(dir.path(), &["up", "--yes"]);
    let channel = aws
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.kind.as_str() == "encoder" && i.part.is_none())
        .unwrap()
        .provider_id;
    let encoder = recorded(spec("derby", "eu-west-1", "encoder"), &channel);
    let health = || async { aws.encoder_health(&encoder, None).await.unwrap() };

    // T1 keeps a channel's count of alerts for a while (MediaLive's quota is shared with
    // every create): a change shows within that time, not at once.
    let within = |want: u32| {
        let health = &health;
        async move {
            let t0 = std::time::Instant::now();
            loop {
                let h = health().await;
                if h.alerts == Some(want) {
                    return h;
                }
                assert!(
                    t0.elapsed() < std::time::Duration::from_secs(20),
                    "{want} alerts not seen: {h:?}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
        }
    };

    let h = health().await;
    assert!(h.up);
    assert_eq!(h.alerts, Some(0));
    // A lost input leaves the channel running: only its alert says so.
    let alerts = front.channel_alerts();
    alerts.set(&channel, "Video Not Detected", "no video on input");
    alerts.set(&channel, "RTMP Has No Audio/Video", "the stream is empty");
    assert_eq!(
        health().await.alerts,
        Some(0),
        "the count just read is kept"
    );
    assert!(within(2).await.up);
    alerts.clear(&channel, "Video Not Detected");
    within(1).await;
    alerts.clear(&channel, "RTMP Has No Audio/Video");
    within(0).await;

    // Straight against moto, which has no alerts to read: none are claimed.
    let direct = tempfile::tempdir().unwrap();
    let plain = provider(&moto, direct.path());
    let h = plain.encoder_health(&encoder, None).await.unwrap();
    assert!(h.up);
    assert_eq!(h.alerts, None);
    ok(dir.path(), &["down", "--yes"]);
}

#[tokio::test]
#[ignore = "run by rtmp_push_inputs_admit_only_listed_networks_on_aws, with moto and credentials"]
async fn push_input_against_moto() {
    let moto = std::env::var(MOTO_ENV)
        .expect("run through rtmp_push_inputs_admit_only_listed_networks_on_aws");
    // moto has no input security groups: the fake front serves them, faultless at first.
    let front = common::faultproxy::FaultProxy::start(&moto, 0, 0, &[]);
    let dir = tempfile::tempdir().unwrap();
    let aws = push_project(&front.url, dir.path());
    let kinds = |inv: &[(String, String, String)]| -> Vec<String> {
        inv.iter().map(|(_, k, _)| k.clone()).collect()
    };
    let want = [
        "archive",
        "cdn",
        "encoder",
        "input",
        "input_firewall",
        "origin",
    ];

    // The input's group, made before it, admits the profile's networks and nothing else.
    ok(dir.path(), &["up", "--yes"]);
    let inv = inventory_of(&aws, "derby").await;
    assert_eq!(kinds(&inv), want, "{inv:#?}");
    let groups = input_security_groups(&front.url).await;
    let input_id = aws
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.kind.as_str() == "input" && i.part.is_none())
        .unwrap()
        .provider_id;
    assert_eq!(
        groups,
        vec![(
            groups[0].0.clone(),
            vec!["203.0.113.0/24".to_string(), "198.51.100.7/32".to_string()],
            vec![input_id],
        )]
    );
    let input: serde_json::Value = serde_json::from_str(&ok(
        dir.path(),
        &["state", "show", "derby/eu-west-1/input", "--output", "json"],
    ))
    .unwrap();
    assert_eq!(input["outputs"]["type"], "RTMP_PUSH", "{input:#}");
    assert_eq!(input["outputs"]["input_firewall"], groups[0].0.as_str());
    assert_eq!(input["outputs"]["stream"], "live/derby");

    // Again: nothing new.
    ok(dir.path(), &["up", "--yes"]);
    assert_eq!(inventory_of(&aws, "derby").await, inv);

    // Down: the channel, then the input, then the group it held.
    ok(dir.path(), &["down", "--yes"]);
    assert!(inventory_of(&aws, "derby").await.is_empty());
    assert!(input_security_groups(&front.url).await.is_empty());

    // Up with the state then lost: sweep finds the group as well, and deletes it last.
    ok(dir.path(), &["up", "--yes"]);
    let owner = aws.list().await.unwrap()[0].tags[TAG_OWNER].clone();
    std::fs::remove_dir_all(dir.path().join("state")).unwrap();
    let sweep = ["sweep", "--provider", "aws", "--owner", &owner];
    let found = ok(
        dir.path(),
        &[&sweep[..], &["--dry-run", "--output", "json"]].concat(),
    );
    assert!(found.contains("input_firewall"), "{found}");
    ok(dir.path(), &[&sweep[..], &["--yes"]].concat());
    assert!(inventory_of(&aws, "derby").await.is_empty());
    assert!(input_security_groups(&front.url).await.is_empty());

    // Through faults, the first group's and input's create answers lost after acting: one of
    // each all the same.
    let faulty = common::faultproxy::FaultProxy::start(
        &moto,
        20,
        5,
        &[
            ("POST", "/prod/inputSecurityGroups"),
            ("POST", "/prod/inputs"),
        ],
    );
    // The fakes keep their groups apart: the faulty front has its own, checked through it.
    let dir = tempfile::tempdir().unwrap();
    let aws = push_project(&faulty.url, dir.path());
    ok(dir.path(), &["up", "--yes"]);
    let inv = inventory_of(&aws, "derby").await;
    assert_eq!(kinds(&inv), want, "{inv:#?}");
    ok(dir.path(), &["down", "--yes"]);
    assert!(inventory_of(&aws, "derby").await.is_empty());
    assert_eq!(faulty.never_lost(), Vec::<(String, String)>::new());
}

#[tokio::test]
#[ignore = "run by requests_to_a_service_keep_to_its_rate_limit_on_aws, with moto and credentials"]
async fn service_rate_limit_against_moto() {
    let moto = std::env::var(MOTO_ENV)
        .expect("run through requests_to_a_service_keep_to_its_rate_limit_on_aws");
    let front = common::faultproxy::FaultProxy::start(&moto, 0, 0, &[]);
    let dir = tempfile::tempdir().unwrap();
    let aws = live_project(
        &front.url,
        dir.path(),
        r#"input: { type: file, address: "s3://orchestrate-example-media/slate.mp4" }"#,
    );
    let (rate, burst) = (4.0, 3.0);
    let catalog = dir.path().join("providers/aws.yaml");
    let text = std::fs::read_to_string(&catalog).unwrap();
    let shipped = "medialive: { requests_per_second: 5, burst: 30 }";
    assert!(
        text.contains(shipped),
        "providers/aws.yaml's MediaLive limit changed"
    );
    std::fs::write(
        &catalog,
        text.replace(shipped, "medialive: { requests_per_second: 4, burst: 3 }"),
    )
    .unwrap();

    // Each process keeps its own count: `up`'s requests, then `down`'s. MediaLive's REST
    // paths start with /prod/.
    ok(dir.path(), &["up", "--yes"]);
    let up = front.arrivals("/prod/");
    ok(dir.path(), &["down", "--yes"]);
    let down = front.arrivals("/prod/")[up.len()..].to_vec();
    assert!(inventory_of(&aws, "derby").await.is_empty());
    for (what, at) in [("up", up), ("down", down)] {
        assert!(
            at.len() > 8,
            "only {} MediaLive requests in {what}",
            at.len()
        );
        // A token bucket lets no window hold more than its burst plus its rate over the
        // window (a little slack for the request's way to the front).
        for (i, first) in at.iter().enumerate() {
            for (j, last) in at.iter().enumerate().skip(i) {
                let window = last.duration_since(*first).as_secs_f64() + 0.05;
                let count = (j - i + 1) as f64;
                assert!(
                    count <= burst + rate * window,
                    "{what}: {count} MediaLive requests in {window:.3} s, over {burst} + {rate}/s"
                );
            }
        }
        let span = at[at.len() - 1].duration_since(at[0]).as_secs_f64();
        eprintln!("{what}: {} MediaLive requests over {span:.1} s", at.len());
    }
}
