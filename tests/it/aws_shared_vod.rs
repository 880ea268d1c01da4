//! The origins of an event group sharing its CDN (MediaPackage v2) encrypted and harvested on
//! aws, against moto_server and the fake front's MediaPackage v2 with its harvest jobs:
//! - each v2 endpoint carries a SPEKE v2 key provider with the profile's key server, the DRM
//!   systems, the catalog's origin role and presets 1; under `cbcs` both HLS and DASH are
//!   CMAF, which is how v2 signals FairPlay and Widevine together;
//! - every endpoint's policy lets viewers read it through the CDN (the fake egress refuses an
//!   endpoint whose policy does not), and the HLS endpoint's lets MediaPackage's harvester in;
//! - once the show is over a `tick` harvests what was on air, from when the endpoint was made
//!   to the end, into the VOD's bucket, whose policy lets the harvester write the VOD's folder
//!   (the fake checks both policies before it writes); the rest of the event, and the group's
//!   CDN and channel group with it, is torn down, and the VOD stays.
#![cfg(feature = "aws")]

use crate::common;

use std::sync::Arc;

use aws_sdk_mediapackagev2::types::{CmafEncryptionMethod, ContainerType, DrmSystem};
use common::aws::{
    MOTO_ENV, against_moto, example_profile, listed, ok, project_of, s3_in_ireland, schedule,
    uncomment_in_catalog,
};
use orchestrate::model::TAG_EVENT;
use orchestrate::providers::Provider;

const ROLE: &str = "arn:aws:iam::123456789012:role/SpekeAccess";

#[test]
fn a_groups_shared_origins_are_encrypted_and_harvested_to_a_vod_on_aws() {
    against_moto(module_path!(), "shared_origins_drm_and_vod_against_moto");
}

/// (region, kind, event tag) of everything the provider lists.
async fn tagged(aws: &Arc<dyn Provider>) -> Vec<(String, String, String)> {
    listed(aws, |i| i.tags[TAG_EVENT].clone()).await
}

#[tokio::test]
#[ignore = "run by a_groups_shared_origins_are_encrypted_and_harvested_to_a_vod_on_aws, with moto and credentials"]
async fn shared_origins_drm_and_vod_against_moto() {
    let moto = std::env::var(MOTO_ENV).expect("run through the outer test");
    let keys =
        common::fake_speke::Background::start(common::fake_speke::FakeSpekeServer::default());
    let front = common::faultproxy::FaultProxy::start(&moto, 0, 0, &[]);
    let dir = tempfile::tempdir().unwrap();
    // A 20-minute show ending in 20 s, with no grace: up while on air, harvested once over.
    let now = jiff::Timestamp::now().round(jiff::Unit::Second).unwrap();
    let end = now + jiff::SignedDuration::from_secs(20);
    let start = end - jiff::SignedDuration::from_mins(20);
    let profile = format!(
        "{}vod:\n  enabled: true\n",
        example_profile("aws-shared").replace(
            "  archive: false\n",
            &format!(
                "  archive: false\n  drm: {{ scheme: cbcs, url: \"{}\", systems: [fairplay, widevine] }}\n",
                keys.url
            ),
        )
    );
    let aws = project_of(
        &front.url,
        dir.path(),
        ("aws-shared", &profile),
        &schedule(&[format!(
            "  - id: final\n    start: {start}\n    end: {end}\n    grace: 0s\n    profile: aws-shared\n    group: cup\n    regions: [eu-west-1]\n"
        )]),
    );
    uncomment_in_catalog(dir.path(), &format!("    role: {ROLE}"));

    ok(dir.path(), &["up", "--yes"]);
    let show = |id: &str| -> serde_json::Value {
        serde_json::from_str(&ok(dir.path(), &["state", "show", id, "--output", "json"])).unwrap()
    };
    let origin = show("final/eu-west-1/origin")["outputs"].clone();
    let (group, channel) = (
        origin["channel_group"].as_str().unwrap().to_string(),
        origin["channel_name"].as_str().unwrap().to_string(),
    );
    let sdk = aws_config::load_from_env().await;
    let mp = aws_sdk_mediapackagev2::Client::from_conf(
        aws_sdk_mediapackagev2::config::Builder::from(&sdk)
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(&front.url)
            .build(),
    );
    let mut made = None;
    for packaging in ["hls", "dash"] {
        let ep = mp
            .get_origin_endpoint()
            .channel_group_name(&group)
            .channel_name(&channel)
            .origin_endpoint_name(packaging)
            .send()
            .await
            .unwrap();
        assert_eq!(ep.container_type(), &ContainerType::Cmaf, "{packaging}");
        let enc = ep.segment().unwrap().encryption().unwrap();
        assert_eq!(
            enc.encryption_method().unwrap().cmaf_encryption_method(),
            Some(&CmafEncryptionMethod::Cbcs)
        );
        let p = enc.speke_key_provider().unwrap();
        assert_eq!(p.drm_systems(), [DrmSystem::Fairplay, DrmSystem::Widevine]);
        assert_eq!((p.url(), p.role_arn()), (keys.url.as_str(), ROLE));
        let policy = mp
            .get_origin_endpoint_policy()
            .channel_group_name(&group)
            .channel_name(&channel)
            .origin_endpoint_name(packaging)
            .send()
            .await
            .unwrap();
        let policy: serde_json::Value = serde_json::from_str(policy.policy()).unwrap();
        let harvester = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["Principal"]["Service"] == "mediapackagev2.amazonaws.com");
        assert_eq!(harvester, packaging == "hls", "{policy:#}");
        if packaging == "hls" {
            // The startover window keeps the show, and a day more, for the harvest.
            assert_eq!(ep.startover_window_seconds(), Some(20 * 60 + 86_400));
            made = Some(ep.created_at().secs());
        }
    }

    // The show is over: the tick harvests it, and tears the rest down.
    let over = end.duration_since(jiff::Timestamp::now()) + jiff::SignedDuration::from_secs(1);
    std::thread::sleep(std::time::Duration::try_from(over).unwrap_or_default());
    let mut ticks = Vec::new();
    for _ in 0..3 {
        ticks.push(ok(dir.path(), &["tick"]));
        if tagged(&aws).await.iter().all(|(_, k, _)| k == "vod") {
            break;
        }
    }
    let left = tagged(&aws).await;
    assert_eq!(
        left,
        [(
            "eu-west-1".to_string(),
            "vod".to_string(),
            "final".to_string()
        )],
        "{ticks:#?}"
    );
    let vod = show("final/eu-west-1/vod");
    assert_eq!(vod["status"], "ready", "{vod:#}");
    let bucket = vod["outputs"]["bucket"].as_str().unwrap().to_string();
    assert_eq!(
        vod["outputs"]["hls"],
        format!("s3://{bucket}/final/index.m3u8").as_str()
    );
    let job = mp
        .get_harvest_job()
        .channel_group_name(&group)
        .channel_name(&channel)
        .origin_endpoint_name("hls")
        .harvest_job_name(vod["outputs"]["harvest_job"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(job.status().as_str(), "COMPLETED");
    let s3d = job.destination().unwrap().s3_destination().unwrap();
    assert_eq!(
        (s3d.bucket_name(), s3d.destination_path()),
        (bucket.as_str(), "final")
    );
    // What was on air: from when `up` made the endpoint (after the scheduled start) to the end.
    let schedule = job.schedule_configuration().unwrap();
    let made = made.unwrap();
    assert!(made > start.as_second());
    assert_eq!(
        (schedule.start_time().secs(), schedule.end_time().secs()),
        (made, end.as_second())
    );

    let s3 = s3_in_ireland(&moto).await;
    let policy = s3.get_bucket_policy().bucket(&bucket).send().await.unwrap();
    assert!(
        policy
            .policy()
            .unwrap()
            .contains("mediapackagev2.amazonaws.com"),
        "{policy:?}"
    );
    let master = s3
        .get_object()
        .bucket(&bucket)
        .key("final/index.m3u8")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert!(String::from_utf8_lossy(&master).contains("#EXT-X-STREAM-INF"));

    // `down` keeps the VOD, which outlives the event; nothing else is left.
    ok(dir.path(), &["down", "--yes"]);
    assert_eq!(tagged(&aws).await.len(), 1);
}
