//! The AWS provider through the real AWS SDK against moto_server on loopback (helpers in
//! `common/aws.rs`; MediaLive's inputs, schedules and alerts in `aws_medialive.rs`; a group
//! sharing its CDN in `aws_shared.rs`):
//! - the archive's S3 bucket is created once however often the create is driven, listed by its
//!   tags in its region, emptied and deleted, and swept when the state does not know it; kinds
//!   not built yet are refused without a call;
//! - `orchestrate up` of examples/aws-moto makes exactly the planned MediaLive, MediaPackage,
//!   CloudFront and S3 objects, tagged, in each region; a second `up` changes nothing; an `up`
//!   killed midway and run again leaves no duplicate; `down` leaves nothing tagged, and
//!   `sweep` deletes everything an owner made once its state is lost;
//! - an event on EC2 encoders (`engine: instance`, two pipelines) gets a security group and a
//!   running instance per pipeline, each launched with its role and a user-data wired to its
//!   own MediaPackage ingest endpoint; `up` twice, or through the fake front below, makes each
//!   once, and `down` terminates them and deletes the groups;
//! - an event with a VOD, whose show ended minutes ago, goes `up` with its HLS endpoint keeping
//!   the show, then `tick`s: a harvest job of exactly the scheduled show (moto has none: the
//!   fake front serves them, following MediaPackage's API, and writes the playlist to moto's
//!   S3) fails while its role does not exist, keeping the rest; once the role exists, `vod
//!   retry` starts a second job, which fills the VOD's bucket, and then only the VOD is left;
//! - through a fake AWS front that throttles 20 % of calls and fails 5 % with a server error
//!   (after moto acted), and loses the answer to the first create of each kind of object,
//!   `up` and `down` still converge, with no duplicate.
#![cfg(feature = "aws")]

use crate::common;

use std::sync::Arc;

use common::aws::*;
use orchestrate::model::{RecordedResource, TAG_EVENT, TAG_OWNER};
use orchestrate::providers::{Provider, ProviderError};

#[test]
fn the_archive_bucket_lives_and_dies_on_s3() {
    against_moto(module_path!(), "s3_archive_against_moto");
}

#[test]
fn a_whole_event_goes_up_and_down_on_aws() {
    against_moto(module_path!(), "up_and_down_against_moto");
}

#[test]
fn ec2_encoders_go_up_and_down_on_aws() {
    against_moto(module_path!(), "ec2_encoders_against_moto");
}

#[test]
fn up_converges_through_throttling_and_server_errors() {
    against_moto(module_path!(), "up_through_faults_against_moto");
}

#[test]
fn the_show_is_harvested_to_a_vod_and_the_rest_torn_down_on_aws() {
    against_moto(module_path!(), "vod_harvest_against_moto");
}

#[tokio::test]
#[ignore = "run by the_archive_bucket_lives_and_dies_on_s3, with moto and credentials"]
async fn s3_archive_against_moto() {
    let moto =
        std::env::var(MOTO_ENV).expect("run through the_archive_bucket_lives_and_dies_on_s3");
    let dir = tempfile::tempdir().unwrap();
    let aws = provider(&moto, dir.path());

    let eu = spec("cup-final", "eu-west-1", "archive");
    let us = spec("cup-final", "us-east-1", "archive");
    let a = aws.create(&eu, "token-1").await.unwrap();
    // Driven again (a retry, a resumed run): the same bucket, no second one.
    let again = aws.create(&eu, "token-2").await.unwrap();
    assert_eq!(a.provider_id, again.provider_id);
    let b = aws.create(&us, "token-3").await.unwrap();
    assert_ne!(a.provider_id, b.provider_id);
    assert_eq!(a.outputs["uri"], format!("s3://{}/", a.provider_id));

    // Listed by their tags, each in its region.
    let mut listed = aws.list().await.unwrap();
    listed.sort_by(|x, y| x.region.cmp(&y.region));
    let seen: Vec<(&str, &str, &str)> = listed
        .iter()
        .map(|i| (i.provider_id.as_str(), i.region.as_str(), i.name.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                a.provider_id.as_str(),
                "eu-west-1",
                "cup-final/eu-west-1/archive"
            ),
            (
                b.provider_id.as_str(),
                "us-east-1",
                "cup-final/us-east-1/archive"
            ),
        ]
    );
    assert_eq!(
        listed[0].tags.get(TAG_OWNER).map(String::as_str),
        Some("test-owner")
    );

    // A recording in the bucket does not stop its deletion.
    let s3 = s3_in_ireland(&moto).await;
    s3.put_object()
        .bucket(&a.provider_id)
        .key("media/a/720p/seg_00001.ts")
        .body(vec![0x47u8; 188].into())
        .send()
        .await
        .unwrap();

    aws.delete(&recorded(eu.clone(), &a.provider_id))
        .await
        .unwrap();

    // The other bucket is unknown to this (empty) state: `sweep --provider aws` finds it by
    // its owner tag and deletes it.
    let sweep = |extra: &[&str]| {
        let out = std::process::Command::new(common::BIN)
            .arg("--project")
            .arg(dir.path())
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .args(["sweep", "--provider", "aws", "--owner", "test-owner"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sweep {extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let found = sweep(&["--dry-run", "--output", "json"]);
    assert!(
        found.contains(&b.provider_id) && !found.contains(&a.provider_id),
        "{found}"
    );
    sweep(&["--yes"]);
    assert!(aws.list().await.unwrap().is_empty());
    // Deleting what is gone succeeds.
    aws.delete(&recorded(eu, &a.provider_id)).await.unwrap();
}

/// A project of examples/aws-moto, every region at moto.
fn example_project(moto: &str, dir: &std::path::Path) -> Arc<dyn Provider> {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for rel in [
        "examples/aws-moto/profiles/aws-live.yaml",
        "examples/aws-moto/schedules/aws-moto.yaml",
    ] {
        let to = dir.join(rel.trim_start_matches("examples/aws-moto/"));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo.join(rel), to).unwrap();
    }
    copy_templates(dir);
    provider(moto, dir)
}

/// A project with one event on examples/aws-moto's EC2 profile, in eu-west-1.
fn ec2_project(moto: &str, dir: &std::path::Path) -> Arc<dyn Provider> {
    project_of(
        moto,
        dir,
        ("aws-ec2", &example_profile("aws-ec2")),
        &schedule(&[derby("aws-ec2")]),
    )
}

/// A project with one event on examples/aws-moto's MediaLive profile with a VOD, in
/// eu-west-1, whose show ended `ago` before now (the harvest needs a span in the past).
/// A 20-minute show on air now, ending in `left`, with no grace: provisioned while on air, it
/// is handed off once it ends (a show provisioned after its end never aired, and gets no VOD).
fn vod_project(
    endpoint: &str,
    dir: &std::path::Path,
    left: jiff::SignedDuration,
) -> (Arc<dyn Provider>, jiff::Timestamp, jiff::Timestamp) {
    let now = jiff::Timestamp::now().round(jiff::Unit::Second).unwrap();
    let end = now + left;
    let start = end - jiff::SignedDuration::from_mins(20);
    let aws = project_of(
        endpoint,
        dir,
        (
            "aws-live",
            &format!("{}vod:\n  enabled: true\n", example_profile("aws-live")),
        ),
        &schedule(&[format!(
            "  - id: derby\n    title: Derby\n    start: {start}\n    end: {end}\n    grace: 0s\n    profile: aws-live\n    regions: [eu-west-1]\n"
        )]),
    );
    // The role MediaPackage writes the VOD as: the catalog ships it commented out.
    uncomment_in_catalog(
        dir,
        "    role: arn:aws:iam::123456789012:role/orchestrate-harvest",
    );
    (aws, start, end)
}

/// The instance profile the catalog's `kinds.instance.role` names, made in moto's IAM.
async fn create_instance_profile(moto: &str, name: &str) {
    iam(
        moto,
        &format!("Action=CreateInstanceProfile&Version=2010-05-08&InstanceProfileName={name}"),
    )
    .await;
}

/// A call to moto's IAM (which reads the service from the signature's scope and checks no
/// signature), which must succeed.
async fn iam(moto: &str, form: &str) {
    let answer = orchestrate::http::client(std::time::Duration::from_secs(10), std::time::Duration::from_secs(300)).unwrap()
        .post(format!("{moto}/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(form.to_string())
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{:?}", answer.text().await);
}

/// What examples/aws-moto plans, as sorted (region, kind) pairs.
fn planned() -> Vec<(String, String)> {
    let mut want = Vec::new();
    for region in ["eu-west-1", "us-east-1"] {
        for kind in ["archive", "cdn", "encoder", "input", "origin"] {
            want.push((region.to_string(), kind.to_string()));
        }
    }
    want
}

/// What the provider lists, as sorted (region, kind, name) triples, with every tag checked.
async fn inventory(aws: &Arc<dyn Provider>) -> Vec<(String, String, String)> {
    inventory_of(aws, "cup-final").await
}

#[tokio::test]
#[ignore = "run by a_whole_event_goes_up_and_down_on_aws, with moto and credentials"]
async fn up_and_down_against_moto() {
    let moto = std::env::var(MOTO_ENV).expect("run through a_whole_event_goes_up_and_down_on_aws");
    let dir = tempfile::tempdir().unwrap();
    let aws = example_project(&moto, dir.path());

    let plan = ok(dir.path(), &["plan"]);
    assert!(plan.contains("\"MediaPackageGroupSettings\""), "{plan}");
    ok(dir.path(), &["up", "--yes"]);
    let after_up = inventory(&aws).await;
    let mut kinds: Vec<(String, String)> = after_up
        .iter()
        .map(|(r, k, _)| (r.clone(), k.clone()))
        .collect();
    kinds.sort();
    assert_eq!(kinds, planned(), "{after_up:#?}");

    // The channels run, wired to their inputs and to the MediaPackage channel, which has an
    // endpoint per packaging.
    let sdk = aws_config::load_from_env().await;
    let ml = medialive_in_ireland(&moto).await;
    let channels = ml.list_channels().send().await.unwrap();
    let ours: Vec<_> = channels
        .channels()
        .iter()
        .filter(|c| c.state().is_some_and(|s| !s.as_str().starts_with("DELET")))
        .collect();
    assert_eq!(ours.len(), 1);
    for c in &ours {
        let d = ml
            .describe_channel()
            .channel_id(c.id().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(d.state().map(|s| s.as_str()), Some("RUNNING"));
        // The role MediaLive assumes, from the catalog.
        assert_eq!(
            d.role_arn(),
            Some("arn:aws:iam::123456789012:role/MediaLiveAccessRole")
        );
        assert_eq!(d.input_attachments().len(), 1);
        let video = d.encoder_settings().unwrap().video_descriptions();
        assert_eq!(video.len(), 2, "the profile's ladder");
        let mp = d.destinations()[0].media_package_settings()[0]
            .channel_id()
            .unwrap()
            .to_string();
        let mpc = aws_sdk_mediapackage::Client::from_conf(
            aws_sdk_mediapackage::config::Builder::from(&sdk)
                .region(aws_config::Region::new("eu-west-1"))
                .endpoint_url(&moto)
                .build(),
        );
        let eps = mpc
            .list_origin_endpoints()
            .channel_id(&mp)
            .send()
            .await
            .unwrap();
        let mut ids: Vec<_> = eps
            .origin_endpoints()
            .iter()
            .filter_map(|e| e.id())
            .collect();
        ids.sort();
        assert_eq!(ids, [format!("{mp}-dash"), format!("{mp}-hls")]);
    }

    // `status` gives viewers the distribution's URL for the origin's endpoint.
    let status: serde_json::Value =
        serde_json::from_str(&ok(dir.path(), &["status", "--output", "json"])).unwrap();
    for r in status["events"][0]["regions"].as_array().unwrap() {
        let url = r["playback_url"].as_str().unwrap_or_default();
        assert!(
            url.starts_with("https://") && url.contains(".cloudfront.net/"),
            "{r:#}"
        );
    }

    // Idempotent: a second `up` changes nothing.
    ok(dir.path(), &["up", "--yes"]);
    assert_eq!(inventory(&aws).await, after_up);

    // Torn down, then `up` killed midway and run again: the same set, no duplicate.
    ok(dir.path(), &["down", "--yes"]);
    assert!(inventory(&aws).await.is_empty());
    let mut up = orchestrate(dir.path(), &["up", "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once the first resources are recorded, while the rest are in flight.
    let ready = || -> i64 {
        let db = dir.path().join("state/state.db");
        rusqlite::Connection::open(db)
            .and_then(|c| {
                c.query_row(
                    "SELECT count(*) FROM resources WHERE status = 'ready'",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap_or(0)
    };
    let t0 = std::time::Instant::now();
    while ready() < 2 && t0.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    up.kill().unwrap();
    up.wait().unwrap();
    let at_kill = ready();
    assert!(
        (2..10).contains(&at_kill),
        "the kill was not midway: {at_kill} of 10 recorded"
    );
    ok(dir.path(), &["up", "--yes"]);
    let resumed = inventory(&aws).await;
    let names = |v: &[(String, String, String)]| {
        v.iter()
            .map(|(r, k, _)| format!("{r}/{k}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&resumed),
        names(&after_up),
        "after a kill at {at_kill} of 10"
    );

    // The state lost: `sweep` finds every object by its owner tag and deletes them, channels
    // before their inputs.
    let owner = aws.list().await.unwrap()[0].tags[TAG_OWNER].clone();
    std::fs::remove_dir_all(dir.path().join("state")).unwrap();
    let found = ok(
        dir.path(),
        &[
            "sweep",
            "--provider",
            "aws",
            "--owner",
            &owner,
            "--dry-run",
            "--output",
            "json",
        ],
    );
    let leaked: serde_json::Value = serde_json::from_str(&found).unwrap();
    assert_eq!(leaked["leaked"].as_array().unwrap().len(), 10, "{found}");
    ok(
        dir.path(),
        &["sweep", "--provider", "aws", "--owner", &owner, "--yes"],
    );
    assert!(inventory(&aws).await.is_empty());
    let again = ok(
        dir.path(),
        &["sweep", "--provider", "aws", "--owner", &owner, "--dry-run"],
    );
    assert!(again.contains("No leaked resources"), "{again}");
}

#[tokio::test]
#[ignore = "run by up_converges_through_throttling_and_server_errors, with moto and credentials"]
async fn up_through_faults_against_moto() {
    let moto = std::env::var(MOTO_ENV)
        .expect("run through up_converges_through_throttling_and_server_errors");
    // Besides the dice, the first create of each kind of object acts and loses its answer.
    let proxy = common::faultproxy::FaultProxy::start(
        &moto,
        20,
        5,
        &[
            ("POST", "/prod/inputs"),
            ("POST", "/prod/channels"),
            ("POST", "/channels"),
            ("POST", "/origin_endpoints"),
            ("POST", "/2020-05-31/distribution"),
        ],
    );
    let project = tempfile::tempdir().unwrap();
    example_project(&proxy.url, project.path());
    // Checked straight against moto, past the faults.
    let direct = tempfile::tempdir().unwrap();
    let aws = provider(&moto, direct.path());

    ok(project.path(), &["up", "--yes"]);
    let after_up = inventory(&aws).await;
    let kinds: Vec<(String, String)> = after_up
        .iter()
        .map(|(r, k, _)| (r.clone(), k.clone()))
        .collect();
    assert_eq!(kinds, planned(), "{after_up:#?}");
    // No object made twice behind a lost answer: each name once.
    for (_, _, name) in &after_up {
        assert_eq!(
            after_up.iter().filter(|(_, _, n)| n == name).count(),
            1,
            "{name} in {after_up:#?}"
        );
    }

    ok(project.path(), &["down", "--yes"]);
    assert!(inventory(&aws).await.is_empty());

    let calls = proxy
        .counts
        .calls
        .load(std::sync::atomic::Ordering::Relaxed);
    let throttled = proxy
        .counts
        .throttled
        .load(std::sync::atomic::Ordering::Relaxed);
    let failed = proxy
        .counts
        .failed
        .load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "{calls} calls through the proxy: {throttled} throttled, {failed} failed after acting"
    );
    assert!(
        throttled > 0 && failed > 0,
        "no fault was injected in {calls} calls"
    );
    assert_eq!(proxy.never_lost(), Vec::<(String, String)>::new());
}

#[tokio::test]
#[ignore = "run by the_show_is_harvested_to_a_vod_and_the_rest_torn_down_on_aws, with moto and credentials"]
async fn vod_harvest_against_moto() {
    let moto = std::env::var(MOTO_ENV)
        .expect("run through the_show_is_harvested_to_a_vod_and_the_rest_torn_down_on_aws");
    // moto has no harvest jobs: the fake front serves them. The first create's answer is lost
    // after the job started: the retry finds it.
    let front = common::faultproxy::FaultProxy::start(&moto, 0, 0, &[("POST", "/harvest_jobs")]);
    let dir = tempfile::tempdir().unwrap();
    let (aws, start, end) =
        vod_project(&front.url, dir.path(), jiff::SignedDuration::from_secs(20));
    let kinds = |inv: &[(String, String, String)]| -> Vec<String> {
        inv.iter().map(|(_, k, _)| k.clone()).collect()
    };

    // Live: no VOD yet; the HLS endpoint keeps the show, and a day more, for the harvest.
    ok(dir.path(), &["up", "--yes"]);
    let inv = inventory_of(&aws, "derby").await;
    assert_eq!(
        kinds(&inv),
        ["archive", "cdn", "encoder", "input", "origin"]
    );
    let sdk = aws_config::load_from_env().await;
    // Through the front, which serves the harvest jobs moto lacks.
    let mp = aws_sdk_mediapackage::Client::from_conf(
        aws_sdk_mediapackage::config::Builder::from(&sdk)
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(&front.url)
            .build(),
    );
    let origin = inv
        .iter()
        .find(|(_, k, _)| k == "origin")
        .unwrap()
        .2
        .clone();
    let hls = mp
        .describe_origin_endpoint()
        .id(format!("{origin}-hls"))
        .send()
        .await
        .unwrap();
    assert_eq!(hls.startover_window_seconds(), Some(20 * 60 + 86_400));

    // The show is over: the tick harvests it. The role the catalog names does not exist yet:
    // the job fails, and the live resources and the archive stay for another try.
    let over = end.duration_since(jiff::Timestamp::now()) + jiff::SignedDuration::from_secs(1);
    std::thread::sleep(std::time::Duration::try_from(over).unwrap_or_default());
    let run = |args: &[&str]| {
        let out = orchestrate(dir.path(), args).output().unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let first = run(&["tick"]);
    assert!(first.contains("failed"), "{first}");
    let inv = inventory_of(&aws, "derby").await;
    assert_eq!(
        kinds(&inv),
        ["archive", "cdn", "encoder", "input", "origin", "vod"],
        "{first}"
    );

    // With the role there, a retry starts a new job, which succeeds; the rest then goes.
    let trust = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22mediapackage.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
    iam(
        &moto,
        &format!("Action=CreateRole&Version=2010-05-08&RoleName=orchestrate-harvest&AssumeRolePolicyDocument={trust}"),
    )
    .await;
    let mut ticks = vec![first, run(&["vod", "retry", "derby"])];
    for _ in 0..3 {
        if kinds(&inventory_of(&aws, "derby").await) == ["vod"] {
            break;
        }
        ticks.push(run(&["tick"]));
    }
    let inv = inventory_of(&aws, "derby").await;
    assert_eq!(kinds(&inv), ["vod"], "{ticks:#?}");

    // The job harvested the scheduled show from the HLS endpoint into the VOD's bucket.
    let vod: serde_json::Value = serde_json::from_str(&ok(
        dir.path(),
        &["state", "show", "derby/eu-west-1/vod", "--output", "json"],
    ))
    .unwrap();
    assert_eq!(vod["status"], "ready", "{vod:#}");
    let bucket = vod["outputs"]["bucket"].as_str().unwrap().to_string();
    assert_eq!(inv[0].2, "derby/eu-west-1/vod");
    assert_eq!(
        vod["outputs"]["hls"],
        format!("s3://{bucket}/derby/index.m3u8").as_str()
    );
    let job_id = vod["outputs"]["harvest_job"].as_str().unwrap();
    assert!(job_id.ends_with("-vod-2"), "{job_id}");
    let failed = mp
        .describe_harvest_job()
        .id(job_id.trim_end_matches("-2"))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status().map(|s| s.as_str()), Some("FAILED"));
    let job = mp.describe_harvest_job().id(job_id).send().await.unwrap();
    assert_eq!(
        job.origin_endpoint_id(),
        Some(format!("{origin}-hls").as_str())
    );
    // What was on air: the show was scheduled to start before `up` made the origin, which
    // held nothing older; so from then, to the end (the grace is 0).
    let at = |t: Option<&str>| t.unwrap().parse::<jiff::Timestamp>().unwrap();
    let made = at(hls.created_at());
    assert!(made > start, "{made} against the scheduled {start}");
    assert_eq!((at(job.start_time()), at(job.end_time())), (made, end));
    let s3 = s3_in_ireland(&moto).await;
    let playlist = s3
        .get_object()
        .bucket(&bucket)
        .key("derby/index.m3u8")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let playlist = String::from_utf8_lossy(&playlist);
    assert!(playlist.contains("#EXT-X-ENDLIST"), "{playlist}");
    assert_eq!(front.never_lost(), Vec::<(String, String)>::new());

    // Made again (its create driven once more): the job that succeeded is adopted while what
    // it wrote is there. Once that is gone, a third job is asked for, which MediaPackage
    // refuses: the origin it would read is gone with the event.
    let rec: RecordedResource = serde_json::from_value(vod.clone()).unwrap();
    let again = aws.create(&rec.spec, "again").await.unwrap();
    assert_eq!(again.outputs["harvest_job"], job_id);
    s3.delete_object()
        .bucket(&bucket)
        .key("derby/index.m3u8")
        .send()
        .await
        .unwrap();
    match aws.create(&rec.spec, "remade").await {
        Err(ProviderError::Permanent(m)) => {
            let third = format!("{}-3", job_id.trim_end_matches("-2"));
            assert!(
                m.contains(&third) && m.contains(&format!("{origin}-hls")),
                "{m}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
#[ignore = "run by ec2_encoders_go_up_and_down_on_aws, with moto and credentials"]
async fn ec2_encoders_against_moto() {
    let moto = std::env::var(MOTO_ENV).expect("run through ec2_encoders_go_up_and_down_on_aws");
    create_instance_profile(&moto, "orchestrate-encoder").await;
    let dir = tempfile::tempdir().unwrap();
    let aws = ec2_project(&moto, dir.path());
    let want: Vec<String> = [
        "archive", "cdn", "firewall", "firewall", "instance", "instance", "origin",
    ]
    .map(String::from)
    .to_vec();
    let kinds = |inv: &[(String, String, String)]| -> Vec<String> {
        inv.iter().map(|(_, k, _)| k.clone()).collect()
    };

    // The plan shows each instance's user-data, its channel id still to come.
    let plan = ok(dir.path(), &["plan"]);
    assert!(plan.contains("user_data     = <<-EOT"), "{plan}");
    assert!(plan.contains("CHANNEL_ID=(known after apply)"), "{plan}");
    assert!(plan.contains("INGEST_ENDPOINT=1"), "{plan}");

    ok(dir.path(), &["up", "--yes"]);
    let after_up = inventory_of(&aws, "derby").await;
    assert_eq!(kinds(&after_up), want, "{after_up:#?}");

    let sdk = aws_config::load_from_env().await;
    let ec2 = aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&sdk)
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(&moto)
            .build(),
    );
    let mp = aws_sdk_mediapackage::Client::from_conf(
        aws_sdk_mediapackage::config::Builder::from(&sdk)
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(&moto)
            .build(),
    );
    let channels = mp.list_channels().send().await.unwrap();
    let [channel] = channels.channels() else {
        panic!("one MediaPackage channel: {channels:?}")
    };
    let channel_id = channel.id().unwrap();
    let described = ec2
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("instance-state-name")
                .values("running")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let running: Vec<_> = described
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .collect();
    assert_eq!(running.len(), 2, "{running:#?}");
    let mut endpoints = Vec::new();
    for i in running {
        let tag = |k: &str| {
            i.tags()
                .iter()
                .find(|t| t.key() == Some(k))
                .and_then(|t| t.value())
                .unwrap_or_default()
                .to_string()
        };
        let pipeline = tag("Name").rsplit('-').next().unwrap().to_string();
        assert_eq!(tag(TAG_EVENT), "derby");
        assert_eq!(i.instance_type().map(|t| t.as_str()), Some("c5.2xlarge"));
        assert!(
            i.iam_instance_profile()
                .and_then(|p| p.arn())
                .is_some_and(|a| a.ends_with("instance-profile/orchestrate-encoder")),
            "{i:?}"
        );
        // In its own pipeline's group, which admits nothing.
        let [group] = i.security_groups() else {
            panic!("one security group: {i:?}")
        };
        assert!(
            group
                .group_name()
                .unwrap()
                .ends_with(&format!("firewall-{pipeline}")),
            "{group:?} for {pipeline}"
        );
        let g = ec2
            .describe_security_groups()
            .group_ids(group.group_id().unwrap())
            .send()
            .await
            .unwrap();
        assert!(g.security_groups()[0].ip_permissions().is_empty());
        // The user-data as the plan showed it, with the channel id filled in.
        let attr = ec2
            .describe_instance_attribute()
            .instance_id(i.instance_id().unwrap())
            .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
            .send()
            .await
            .unwrap();
        let encoded = attr.user_data().and_then(|u| u.value()).unwrap();
        use base64::Engine as _;
        let user_data = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap(),
        )
        .unwrap();
        assert!(user_data.starts_with("#cloud-config\n"), "{user_data}");
        assert!(
            user_data.contains(&format!("CHANNEL_ID={channel_id}\n")),
            "{user_data}"
        );
        assert!(!user_data.contains("known after apply"));
        let endpoint = user_data
            .lines()
            .find_map(|l| l.trim().strip_prefix("INGEST_ENDPOINT="))
            .unwrap()
            .to_string();
        endpoints.push((pipeline, endpoint));
    }
    endpoints.sort();
    assert_eq!(
        endpoints,
        [("a".into(), "0".into()), ("b".into(), "1".into())],
        "each pipeline on its own ingest endpoint"
    );

    // Idempotent, then gone.
    ok(dir.path(), &["up", "--yes"]);
    assert_eq!(inventory_of(&aws, "derby").await, after_up);
    ok(dir.path(), &["down", "--yes"]);
    assert!(inventory_of(&aws, "derby").await.is_empty());
    let left = ec2.describe_instances().send().await.unwrap();
    assert!(
        left.reservations()
            .iter()
            .flat_map(|r| r.instances())
            .all(|i| i.state().and_then(|s| s.name()).map(|n| n.as_str()) == Some("terminated")),
        "{left:#?}"
    );

    // Through the fake front: throttled, failed after acting, and the first answer to each
    // launch and group create lost; still each object once.
    let proxy = common::faultproxy::FaultProxy::start(
        &moto,
        20,
        5,
        &[
            ("POST", "Action=RunInstances"),
            ("POST", "Action=CreateSecurityGroup"),
        ],
    );
    let faulty = tempfile::tempdir().unwrap();
    ec2_project(&proxy.url, faulty.path());
    ok(faulty.path(), &["up", "--yes"]);
    let through = inventory_of(&aws, "derby").await;
    assert_eq!(kinds(&through), want, "{through:#?}");
    ok(faulty.path(), &["down", "--yes"]);
    assert!(inventory_of(&aws, "derby").await.is_empty());
    let throttled = proxy
        .counts
        .throttled
        .load(std::sync::atomic::Ordering::Relaxed);
    let failed = proxy
        .counts
        .failed
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(throttled > 0 && failed > 0, "no fault was injected");
    assert_eq!(proxy.never_lost(), Vec::<(String, String)>::new());
}

/// Every (path, body) an ingest was sent.
type Puts = Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// A loopback HLS ingest taking PUTs.
struct Ingest {
    url: String,
    puts: Puts,
    _served: common::served::Served,
}

impl Ingest {
    fn start() -> Self {
        let puts: Puts = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = puts.clone();
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method, uri: axum::http::Uri, body: axum::body::Bytes| {
                let seen = seen.clone();
                async move {
                    if method != axum::http::Method::PUT {
                        return axum::http::StatusCode::METHOD_NOT_ALLOWED;
                    }
                    seen.lock()
                        .unwrap()
                        .push((uri.path().to_string(), body.to_vec()));
                    axum::http::StatusCode::CREATED
                }
            },
        );
        let served = common::served::Served::start(app);
        Ingest {
            url: served.url.clone(),
            puts,
            _served: served,
        }
    }

    /// The last body put at `path`.
    fn last(&self, path: &str) -> Option<String> {
        let puts = self.puts.lock().unwrap();
        puts.iter()
            .rev()
            .find(|(p, _)| p == path)
            .map(|(_, b)| String::from_utf8_lossy(b).to_string())
    }

    fn count(&self, suffix: &str) -> usize {
        let puts = self.puts.lock().unwrap();
        puts.iter().filter(|(p, _)| p.ends_with(suffix)).count()
    }
}

/// The EC2 encoder's program, from the user-data `plan` shows, run here with real ffmpeg: it
/// pushes the profile's ladder as HLS (a master playlist, a playlist and segments per
/// rendition, named as MediaPackage's ingest expects) by PUT to a loopback ingest. A fake AWS
/// CLI (named so, answering DescribeChannel's ingest endpoint in the CLI's output shape)
/// stands in for the instance's role; whether MediaPackage accepts ffmpeg's authentication is
/// not something this machine can show.
#[test]
fn the_instance_encoder_pushes_the_ladder_to_an_hls_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    ec2_project("http://127.0.0.1:9", &project);
    let plan: serde_json::Value =
        serde_json::from_str(&ok(&project, &["plan", "--output", "json"])).unwrap();
    let mut user_data = Vec::new();
    find_strings(&plan, "user_data", &mut user_data);
    let first = user_data
        .iter()
        .find(|u| u.contains("INGEST_ENDPOINT=0"))
        .expect("pipeline a's user-data");
    let cloud: serde_json::Value = serde_saphyr::from_str(first).unwrap();
    let file = |path: &str| -> String {
        cloud["write_files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .and_then(|f| f["content"].as_str())
            .unwrap_or_else(|| panic!("{path} in {cloud:#}"))
            .to_string()
    };
    let script = dir.path().join("orchestrate-encoder");
    std::fs::write(&script, file("/usr/local/bin/orchestrate-encoder")).unwrap();
    assert!(
        file("/etc/systemd/system/orchestrate-encoder.service")
            .contains("EnvironmentFile=/etc/orchestrate/encoder.env")
    );

    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake_aws = bin.join("aws");
    std::fs::write(
        &fake_aws,
        "#!/bin/sh\n# A fake AWS CLI: DescribeChannel's first ingest endpoint, as `--output json` prints it.\ncase \"$*\" in\n  *'mediapackage describe-channel'*'IngestEndpoints[0]'*) printf '{\"Id\":\"ep\",\"Url\":\"%s\",\"Username\":\"ingest\",\"Password\":\"p@ss/word\"}\\n' \"$FAKE_INGEST_URL\" ;;\n  *) echo \"fake aws: not answered: $*\" >&2; exit 1 ;;\nesac\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake_aws, std::fs::Permissions::from_mode(0o755)).unwrap();

    let clip = dir.path().join("clip.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=640x360:rate=30")
        .args(["-f", "lavfi", "-i", "sine=frequency=440", "-t", "4"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(made.success());

    let ingest = Ingest::start();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut encoder = std::process::Command::new("bash")
        .arg(&script)
        .env("PATH", path)
        .env("REGION", "eu-west-1")
        .env("CHANNEL_ID", "orch-test-derby-origin")
        .env("INGEST_ENDPOINT", "0")
        .env("INPUT", &clip)
        .env(
            "FAKE_INGEST_URL",
            format!("{}/in/v2/abc/def/channel", ingest.url),
        )
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    let enough = || {
        ingest.count("/channel_0.m3u8") > 0
            && ingest.count("/channel_1.m3u8") > 0
            && ingest.count(".ts") >= 4
            && ingest.last("/in/v2/abc/def/channel.m3u8").is_some()
    };
    while !enough() && t0.elapsed() < std::time::Duration::from_secs(60) {
        if let Some(status) = encoder.try_wait().unwrap() {
            panic!("the encoder exited with {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    encoder.kill().unwrap();
    encoder.wait().unwrap();
    assert!(
        enough(),
        "{:?}",
        ingest
            .puts
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| p)
            .collect::<Vec<_>>()
    );

    let master = ingest.last("/in/v2/abc/def/channel.m3u8").unwrap();
    assert_eq!(master.matches("#EXT-X-STREAM-INF").count(), 2, "{master}");
    assert!(
        master.contains("RESOLUTION=1280x720") && master.contains("RESOLUTION=640x360"),
        "{master}"
    );
    assert!(
        master.contains("channel_0.m3u8") && master.contains("channel_1.m3u8"),
        "{master}"
    );
    let variant = ingest.last("/in/v2/abc/def/channel_1.m3u8").unwrap();
    assert!(variant.contains("#EXT-X-TARGETDURATION:2"), "{variant}");
    assert!(variant.contains("channel_1_00000.ts"), "{variant}");
}

fn find_strings(v: &serde_json::Value, key: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match x {
                    serde_json::Value::String(s) if k == key => out.push(s.clone()),
                    _ => find_strings(x, key, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| find_strings(x, key, out)),
        _ => {}
    }
}
