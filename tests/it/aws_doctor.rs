//! `orchestrate doctor` on aws, against moto_server (IAM, STS) and the test front's fake of
//! Service Quotas' listings (moto has them for `vpc` only), with examples/aws-moto's MediaLive
//! profile and three overlapping events in one region:
//! - without the catalog's MediaLive role it fails, naming the role;
//! - with the role (trusting medialive.amazonaws.com) and quotas above the peak, every line
//!   passes, the credentials' source and identity said;
//! - a quota below the schedule's peak fails, saying both figures; the JSON says the same.
#![cfg(feature = "aws")]

use crate::common;

use common::aws::{MOTO_ENV, against_moto, example_profile, orchestrate, project_of, schedule};

#[test]
fn doctor_passes_a_ready_account_and_fails_a_missing_role_or_a_short_quota() {
    against_moto(module_path!(), "doctor_against_moto");
}

/// `doctor`'s exit code and its stdout.
fn doctor(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    let out = orchestrate(dir, &all).output().unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The line of the check named `check`.
fn line<'a>(out: &'a str, check: &str) -> &'a str {
    out.lines()
        .find(|l| {
            l.split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ")
                .starts_with(check)
        })
        .unwrap_or_else(|| panic!("no `{check}` line:\n{out}"))
}

#[tokio::test]
#[ignore = "run by doctor_passes_a_ready_account_and_fails_a_missing_role_or_a_short_quota, with moto and credentials"]
async fn doctor_against_moto() {
    let moto = std::env::var(MOTO_ENV).expect("run through the outer test");
    let front = common::faultproxy::FaultProxy::start(&moto, 0, 0, &[]);
    let dir = tempfile::tempdir().unwrap();
    let events: Vec<String> = (1..=3)
        .map(|i| {
            format!(
                "  - id: match-{i}\n    start: 2030-12-05T19:{:02}:00Z\n    end: 2030-12-05T22:00:00Z\n    profile: aws-live\n    regions: [eu-west-1]\n",
                i * 5
            )
        })
        .collect();
    project_of(
        &front.url,
        dir.path(),
        ("aws-live", &example_profile("aws-live")),
        &schedule(&events),
    );

    // No role yet.
    let (code, out) = doctor(dir.path(), &[]);
    assert_eq!(code, Some(1), "{out}");
    let role = line(&out, "role encoder");
    assert!(role.starts_with("  FAIL"), "{out}");
    assert!(
        role.contains("MediaLiveAccessRole` does not exist"),
        "{out}"
    );

    // The role MediaLive assumes, and quotas above the peak.
    let sdk = aws_config::load_from_env().await;
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&sdk)
            .endpoint_url(&moto)
            .build(),
    );
    iam.create_role()
        .role_name("MediaLiveAccessRole")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"medialive.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let quotas = front.service_quotas();
    quotas.set("medialive", "Channels", 5.0);
    quotas.set("medialive", "Inputs", 10.0);
    quotas.set("mediapackage", "Maximum Channels", 30.0);
    quotas.set("cloudfront", "Web distributions per AWS account", 200.0);
    let (code, out) = doctor(dir.path(), &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.lines()
            .filter(|l| l.starts_with("  "))
            .all(|l| l.starts_with("  PASS")),
        "{out}"
    );
    let creds = line(&out, "credentials");
    assert!(
        creds.contains("from Environment") && creds.contains("account 123456789012"),
        "{out}"
    );
    assert!(
        !out.contains("testing"),
        "a credential in the output:\n{out}"
    );
    let channels = line(&out, "quota encoder eu-west-1");
    assert!(channels.contains("at most 3 at once"), "{out}");
    // Three events' distributions, in one account-wide count.
    assert!(
        line(&out, "quota cdn").contains("at most 3 at once"),
        "{out}"
    );
    assert!(
        line(&out, "role encoder").contains("medialive.amazonaws.com"),
        "{out}"
    );

    // A quota below the peak.
    quotas.set("medialive", "Channels", 2.0);
    let (code, out) = doctor(dir.path(), &[]);
    assert_eq!(code, Some(1), "{out}");
    let channels = line(&out, "quota encoder eu-west-1");
    assert!(channels.starts_with("  FAIL"), "{out}");
    assert!(
        channels.contains("Channels is 2") && channels.contains("at most 3 at once"),
        "{out}"
    );
    assert!(out.ends_with("1 failure, 0 warnings.\n"), "{out}");
    let (code, json) = doctor(dir.path(), &["--output", "json"]);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["ok"], false);
    let failed: Vec<&serde_json::Value> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{json}");
    assert_eq!(failed[0]["provider"], "aws");
    assert_eq!(failed[0]["check"], "quota encoder eu-west-1");
    // Nothing was made, and no state was written.
    assert!(!dir.path().join("state").exists());
}
