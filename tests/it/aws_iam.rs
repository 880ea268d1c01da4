//! docs/aws-iam.md against the code: every AWS SDK operation the aws provider calls has its
//! row (the service is the one whose SDK crate the calling file uses; the operation, one the
//! crate defines), every action a row asks for is in the policy, and the policy grants nothing
//! no row asks for.
#![cfg(feature = "aws")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The services the provider calls: the IAM prefix, and the SDK crate.
const SERVICES: &[(&str, &str)] = &[
    ("s3", "aws-sdk-s3"),
    ("medialive", "aws-sdk-medialive"),
    ("mediapackage", "aws-sdk-mediapackage"),
    ("mediapackagev2", "aws-sdk-mediapackagev2"),
    ("cloudfront", "aws-sdk-cloudfront"),
    ("ec2", "aws-sdk-ec2"),
    ("sts", "aws-sdk-sts"),
    ("iam", "aws-sdk-iam"),
    ("servicequotas", "aws-sdk-servicequotas"),
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Each SDK crate's operations (`src/operation/<snake_case>/`), from where cargo keeps its
/// source.
fn sdk_operations() -> BTreeMap<&'static str, BTreeSet<String>> {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .current_dir(repo())
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut ops = BTreeMap::new();
    for (prefix, krate) in SERVICES {
        let manifest = meta["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == *krate)
            .and_then(|p| p["manifest_path"].as_str())
            .unwrap_or_else(|| panic!("{krate} is not a dependency"));
        let dir = Path::new(manifest).parent().unwrap().join("src/operation");
        let names: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.len() > 5, "{krate}: {names:?}");
        ops.insert(*prefix, names);
    }
    ops
}

fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `service:Operation` of every SDK call in the provider's source: a `.name()` call in a file
/// that uses the service's crate, where the crate has an operation of that name.
fn called() -> BTreeSet<String> {
    let ops = sdk_operations();
    let mut files = Vec::new();
    rust_files(&repo().join("src/providers/aws"), &mut files);
    let mut out = BTreeSet::new();
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        // `aws_sdk_mediapackage` as a whole word: not the start of `aws_sdk_mediapackagev2`.
        let uses_crate = |krate: &str| {
            let name = krate.replace('-', "_");
            src.match_indices(&name).any(|(at, _)| {
                !src[at + name.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            })
        };
        let uses: Vec<&str> = SERVICES
            .iter()
            .filter(|(_, krate)| uses_crate(krate))
            .map(|(prefix, _)| *prefix)
            .collect();
        for call in src.split(".").skip(1) {
            let name: String = call
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if name.is_empty() || !call[name.len()..].starts_with("()") {
                continue;
            }
            for prefix in &uses {
                if ops[prefix].contains(&name) {
                    out.insert(format!("{prefix}:{}", pascal(&name)));
                }
            }
        }
    }
    out
}

/// The doc's table: operation → the actions it needs.
fn table(doc: &str) -> BTreeMap<String, BTreeSet<String>> {
    doc.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let ticked = |cell: &str| -> Vec<String> {
                cell.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(String::from)
                    .collect()
            };
            let op = ticked(cells[1]).remove(0);
            (op, ticked(cells[2]).into_iter().collect())
        })
        .collect()
}

/// The actions of the policy's JSON block.
fn policy(doc: &str) -> BTreeSet<String> {
    let json = doc
        .split("```json")
        .nth(1)
        .and_then(|r| r.split("```").next())
        .expect("a ```json block");
    let v: serde_json::Value = serde_json::from_str(json).expect("the policy is JSON");
    v["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap().iter())
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_iam_policy_covers_every_call_the_aws_provider_makes_and_nothing_more() {
    let doc = std::fs::read_to_string(repo().join("docs/aws-iam.md")).unwrap();
    let calls = called();
    // The scan finds what the provider is known to call.
    for known in [
        "medialive:CreateChannel",
        "mediapackagev2:CreateChannelGroup",
        "cloudfront:CreateDistributionWithTags",
        "s3:ListObjectsV2",
        "ec2:RunInstances",
        "iam:GetRole",
        "servicequotas:ListServiceQuotas",
    ] {
        assert!(calls.contains(known), "{known} not found in {calls:?}");
    }
    let table = table(&doc);
    let missing: Vec<&String> = calls.iter().filter(|c| !table.contains_key(*c)).collect();
    assert!(
        missing.is_empty(),
        "docs/aws-iam.md has no row for {missing:?}"
    );
    let stale: Vec<&String> = table.keys().filter(|op| !calls.contains(*op)).collect();
    assert!(
        stale.is_empty(),
        "docs/aws-iam.md lists operations no longer called: {stale:?}"
    );
    let granted = policy(&doc);
    let needed: BTreeSet<String> = table.values().flatten().cloned().collect();
    let ungranted: Vec<&String> = needed.difference(&granted).collect();
    assert!(ungranted.is_empty(), "the policy lacks {ungranted:?}");
    let extra: Vec<&String> = granted.difference(&needed).collect();
    assert!(
        extra.is_empty(),
        "the policy grants {extra:?}, which no call needs"
    );
}
