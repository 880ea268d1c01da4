//! The AWS provider through the real AWS SDK against moto_server on loopback:
//! - the archive's S3 bucket is created once however often the create is driven, listed by its
//!   tags in its region, emptied and deleted, and swept when the state does not know it; kinds
//!   not built yet are refused without a call;
//! - `orchestrate up` of examples/aws-moto makes exactly the planned MediaLive, MediaPackage,
//!   CloudFront and S3 objects, tagged, in each region; a second `up` changes nothing; an `up`
//!   killed midway and run again leaves no duplicate; `down` leaves nothing tagged, and
//!   `sweep` deletes everything an owner made once its state is lost;
//! - through a fake AWS front that throttles 20 % of calls and fails 5 % with a server error
//!   (after moto acted), and loses the answer to the first create of each kind of object,
//!   `up` and `down` still converge, with no duplicate.
//!
//! The SDK reads credentials from the environment, which a test may not set in its own
//! process: the outer test starts moto and runs the inner one (ignored on its own) as a child
//! process with the credentials and moto's address in its environment.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use orchestrate::model::{
    Definition, RecordedResource, ResourceId, ResourceSpec, ResourceStatus, TAG_EVENT, TAG_OWNER,
    TAG_REGION, Window,
};
use orchestrate::providers::{Provider, ProviderError, ProviderOptions, Providers};

const MOTO_ENV: &str = "ORCHESTRATE_TEST_MOTO_URL";

/// Runs the ignored test `inner` in a child process, against its own moto_server.
fn against_moto(inner: &str) {
    let moto = common::moto::Moto::start();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", inner, "--ignored", "--nocapture"])
        .env(MOTO_ENV, &moto.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("1 passed"),
        "the inner test did not run:\n{text}"
    );
}

#[test]
fn the_archive_bucket_lives_and_dies_on_s3() {
    against_moto("s3_archive_against_moto");
}

#[test]
fn a_whole_event_goes_up_and_down_on_aws() {
    against_moto("up_and_down_against_moto");
}

#[test]
fn up_converges_through_throttling_and_server_errors() {
    against_moto("up_through_faults_against_moto");
}

fn spec(event: &str, region: &str, kind: &str) -> ResourceSpec {
    let at = jiff::Timestamp::now();
    let tags: BTreeMap<String, String> = [
        (TAG_OWNER, "test-owner"),
        (TAG_EVENT, event),
        (TAG_REGION, region),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    ResourceSpec {
        id: ResourceId::new(event, region, kind),
        provider: "aws".into(),
        region: region.into(),
        event: event.into(),
        kind: kind.into(),
        name: kind.into(),
        depends_on: Vec::new(),
        definition: Definition::null(),
        tags,
        hourly_price: 0.0,
        window: Window { from: at, to: at },
        spec_hash: String::new(),
    }
}

fn recorded(spec: ResourceSpec, provider_id: &str) -> RecordedResource {
    let at = jiff::Timestamp::now();
    RecordedResource {
        spec,
        status: ResourceStatus::Ready,
        provider_id: Some(provider_id.into()),
        client_token: None,
        outputs: serde_json::Value::Null,
        created_at: at,
        updated_at: at,
    }
}

fn provider(moto: &str, dir: &std::path::Path) -> Arc<dyn Provider> {
    let catalog = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("providers/aws.yaml"),
    )
    .unwrap();
    // Every region of the catalog at moto.
    let mut pointed = String::new();
    for line in catalog.lines() {
        pointed.push_str(line);
        if line.starts_with("  ") && line.contains("display_name") && !line.starts_with("   ") {
            pointed.truncate(pointed.len() - line.len());
            pointed.push_str(&line.replacen("{ ", &format!("{{ endpoint: \"{moto}\", "), 1));
        }
        pointed.push('\n');
    }
    // Retries at test speed.
    let pointed = pointed.replace(
        "retry: { max_attempts: 8, base_delay: 500ms, max_delay: 30s }",
        "retry: { max_attempts: 8, base_delay: 20ms, max_delay: 500ms }",
    );
    assert!(
        pointed.contains("base_delay: 20ms"),
        "providers/aws.yaml's retry line changed"
    );
    std::fs::create_dir_all(dir.join("providers")).unwrap();
    std::fs::write(dir.join("providers/aws.yaml"), pointed).unwrap();
    let catalogs = orchestrate::config::load_catalogs(dir).unwrap();
    let providers = Providers::new(&dir.join("state"), catalogs, ProviderOptions::default());
    providers.get("aws").unwrap()
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
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&aws_config::load_from_env().await)
            .region(aws_sdk_s3::config::Region::new("eu-west-1"))
            .endpoint_url(&moto)
            .force_path_style(true)
            .build(),
    );
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

    // Kinds not built yet are refused, and nothing is made.
    let e = aws
        .create(&spec("cup-final", "eu-west-1", "vod"), "t")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ProviderError::Permanent(m) if m.contains("cannot") && m.contains("vod")),
        "{e}"
    );
    assert!(aws.list().await.unwrap().is_empty());
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
    for k in ["archive", "origin", "input", "encoder", "cdn", "vod"] {
        let rel = format!("templates/aws/{k}.tera");
        std::fs::create_dir_all(dir.join("templates/aws")).unwrap();
        std::fs::copy(repo.join(&rel), dir.join(&rel)).unwrap();
    }
    provider(moto, dir)
}

fn orchestrate(dir: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(common::BIN);
    c.arg("--project")
        .arg(dir)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .args(args)
        .stdin(std::process::Stdio::null());
    c
}

fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = orchestrate(dir, args).output().unwrap();
    assert!(
        out.status.success(),
        "orchestrate {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
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
    let mut seen: Vec<_> = aws
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|i| {
            assert_eq!(i.tags.get(TAG_EVENT).map(String::as_str), Some("cup-final"));
            assert_eq!(i.tags.get(TAG_REGION), Some(&i.region), "{i:?}");
            assert!(i.tags.get(TAG_OWNER).is_some_and(|o| !o.is_empty()));
            (i.region, i.kind, i.name)
        })
        .collect();
    seen.sort();
    seen
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
    let ml = aws_sdk_medialive::Client::from_conf(
        aws_sdk_medialive::config::Builder::from(&sdk)
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(&moto)
            .build(),
    );
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
}
