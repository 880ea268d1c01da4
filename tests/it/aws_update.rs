//! Changes in place on aws, against moto_server and the test front (input security groups):
//! a profile's ladder, DVR window and admitted networks change; `plan` shows each resource
//! `~ update in place`, and `up` updates the MediaLive channel (stopped, updated, started
//! again), the MediaPackage endpoints and the input's security group, creating and deleting
//! nothing; a channel whose show is on air is not touched, and `up` says why. A change AWS
//! cannot make in place (a channel's class) is a replacement, and `plan` says why.
#![cfg(feature = "aws")]

use crate::common;

use common::aws::{
    MOTO_ENV, against_moto, example_profile, from_now, medialive_in_ireland,
    mediapackage_in_ireland, ok, orchestrate, project_of, schedule,
};

#[test]
fn a_changed_profile_is_applied_in_place_where_aws_allows_it() {
    against_moto(module_path!(), "update_in_place_against_moto");
}

#[tokio::test]
#[ignore = "run by a_changed_profile_is_applied_in_place_where_aws_allows_it, with moto and credentials"]
async fn update_in_place_against_moto() {
    let moto = std::env::var(MOTO_ENV).expect("run through the outer test");
    let front = common::faultproxy::FaultProxy::start(&moto, 0, 0, &[]);
    let dir = tempfile::tempdir().unwrap();
    let pull = r#"input: { type: file, address: "s3://orchestrate-example-media/slate.mp4" }"#;
    let push = "input: { type: rtmp, allow: [203.0.113.0/24] }";
    let live = example_profile("aws-live").replace(pull, push);
    let events = [
        "  - id: later\n    start: 2030-12-05T19:45:00Z\n    end: 2030-12-05T22:00:00Z\n    profile: aws-live\n    regions: [eu-west-1]\n".to_string(),
        format!(
            "  - id: onair\n    start: {}\n    end: {}\n    profile: aws-live\n    regions: [eu-west-1]\n",
            from_now(-60),
            from_now(3600)
        ),
    ];
    project_of(
        &front.url,
        dir.path(),
        ("aws-live", &live),
        &schedule(&events),
    );
    ok(dir.path(), &["up", "--yes"]);

    // A lower top bitrate, a longer DVR window, one more network allowed to push.
    let changed = live
        .replace("bitrate: 3000k", "bitrate: 2500k")
        .replace("dvr_window: 5m", "dvr_window: 10m")
        .replace(
            "allow: [203.0.113.0/24]",
            "allow: [203.0.113.0/24, 192.0.2.0/24]",
        );
    assert_ne!(changed, live);
    std::fs::write(dir.path().join("profiles/aws-live.yaml"), &changed).unwrap();
    let plan = ok(dir.path(), &["plan"]);
    assert!(
        plan.contains("Plan: 0 to add, 6 to change, 0 to replace, 0 to destroy"),
        "{plan}"
    );
    assert!(plan.contains("~ channel.EncoderSettings.VideoDescriptions[0].CodecSettings.H264Settings.Bitrate = 3000000 -> 2500000"), "{plan}");

    let out = orchestrate(dir.path(), &["up", "--yes"]).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The later show's channel is updated; the one on air is left as it is, and said so.
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(text.contains("is on air until"), "{text}");

    let ml = medialive_in_ireland(&moto).await;
    let channels = ml.list_channels().send().await.unwrap();
    let bitrate = |name_part: &str| {
        let c = channels
            .channels()
            .iter()
            .find(|c| c.name().is_some_and(|n| n.contains(name_part)))
            .unwrap();
        (
            c.state().map(|s| s.as_str().to_string()),
            c.id().unwrap().to_string(),
        )
    };
    let (state, later) = bitrate("later");
    assert_eq!(state.as_deref(), Some("RUNNING"), "started again");
    let d = ml
        .describe_channel()
        .channel_id(&later)
        .send()
        .await
        .unwrap();
    let video = d.encoder_settings().unwrap().video_descriptions();
    let top = video[0].codec_settings().unwrap().h264_settings().unwrap();
    assert_eq!(top.bitrate(), Some(2_500_000));
    let (_, onair) = bitrate("onair");
    let d = ml
        .describe_channel()
        .channel_id(&onair)
        .send()
        .await
        .unwrap();
    let top = d.encoder_settings().unwrap().video_descriptions()[0]
        .codec_settings()
        .unwrap()
        .h264_settings()
        .unwrap()
        .bitrate();
    assert_eq!(top, Some(3_000_000), "the show on air keeps its channel");

    // The endpoints' windows and the networks admitted, for both shows.
    let mp = mediapackage_in_ireland(&moto).await;
    let eps = mp.list_origin_endpoints().send().await.unwrap();
    for e in eps.origin_endpoints() {
        let window = e
            .hls_package()
            .and_then(|h| h.playlist_window_seconds())
            .or_else(|| e.dash_package().and_then(|d| d.manifest_window_seconds()));
        assert_eq!(window, Some(600), "{e:?}");
    }
    let groups = ml
        .list_input_security_groups()
        .customize()
        .config_override(aws_sdk_medialive::config::Config::builder().endpoint_url(&front.url))
        .send()
        .await
        .unwrap();
    assert_eq!(groups.input_security_groups().len(), 2);
    for g in groups.input_security_groups() {
        let cidrs: Vec<&str> = g
            .whitelist_rules()
            .iter()
            .filter_map(|r| r.cidr())
            .collect();
        assert_eq!(cidrs, ["203.0.113.0/24", "192.0.2.0/24"], "{g:?}");
    }

    // What AWS cannot change in place is a replacement, with the reason.
    std::fs::write(
        dir.path().join("profiles/aws-live.yaml"),
        changed.replace("redundancy: single", "redundancy: dual"),
    )
    .unwrap();
    let plan = ok(dir.path(), &["plan", "--event", "later"]);
    assert!(
        plan.contains("# forces replacement: one channel runs one pipeline or both, for good here"),
        "{plan}"
    );
    assert!(
        plan.contains("# forces replacement: an input's class (one entry point or two) is fixed when it is made"),
        "{plan}"
    );
    std::fs::write(dir.path().join("profiles/aws-live.yaml"), &live).unwrap();
    ok(dir.path(), &["down", "--yes"]);
}
