//! The AWS provider through the real AWS SDK against moto_server on loopback: the archive's
//! S3 bucket is created once however often the create is driven, listed by its tags in its
//! region, emptied and deleted, and swept when the state does not know it; kinds not built yet
//! are refused without a call.
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

#[test]
fn the_archive_bucket_lives_and_dies_on_s3() {
    let moto = common::moto::Moto::start();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "s3_archive_against_moto",
            "--ignored",
            "--nocapture",
        ])
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
        .create(&spec("cup-final", "eu-west-1", "encoder"), "t")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ProviderError::Permanent(m) if m.contains("not") && m.contains("encoder")),
        "{e}"
    );
    assert!(aws.list().await.unwrap().is_empty());
}
