//! The aws tests' common ground: moto_server for each outer test, projects built from
//! examples/aws-moto pointed at an endpoint (moto or the fake front before it), the CLI run
//! against them, and what the provider lists, checked for its tags.
//!
//! The SDK reads credentials from the environment, which a test may not set in its own
//! process: an outer test starts moto and runs its inner one (ignored on its own) as a child
//! process with the credentials and moto's address in its environment (`against_moto`).
#![cfg(feature = "aws")]

use std::collections::BTreeMap;
use std::sync::Arc;

use orchestrate::model::{
    Definition, RecordedResource, ResourceId, ResourceSpec, ResourceStatus, TAG_EVENT, TAG_OWNER,
    TAG_REGION, Window,
};
use orchestrate::providers::registry::Providers;
use orchestrate::providers::registry::Registry;
use orchestrate::providers::{InventoryItem, Provider, ProviderOptions};

pub const MOTO_ENV: &str = "ORCHESTRATE_TEST_MOTO_URL";

/// Runs the ignored test `inner` of `module` (the caller's `module_path!()`) in a child
/// process, against its own moto_server.
pub fn against_moto(module: &str, inner: &str) {
    // The harness names a test by its path below the crate (`aws::name`).
    let module = module.split_once("::").map_or("", |(_, m)| m);
    let inner = &format!("{module}::{inner}");
    let moto = super::moto::Moto::start();
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

pub fn spec(event: &str, region: &str, kind: &str) -> ResourceSpec {
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
        kind: kind.parse().expect("a resource kind"),
        name: kind.into(),
        depends_on: Vec::new(),
        definition: Definition::null(),
        tags,
        hourly_price: 0.0,
        window: Window { from: at, to: at },
        on_air: None,
        spec_hash: String::new(),
    }
}

pub fn recorded(spec: ResourceSpec, provider_id: &str) -> RecordedResource {
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

pub fn provider(moto: &str, dir: &std::path::Path) -> Arc<dyn Provider> {
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
    // Retries at test speed, and enough of them for the fault tests' dice: a create there makes
    // several calls, each throttled one time in five, so attempts often fail in a row; eight
    // were once not enough in a CI run.
    let pointed = pointed.replace(
        "retry: { max_attempts: 8, base_delay: 500ms, max_delay: 30s }",
        "retry: { max_attempts: 16, base_delay: 20ms, max_delay: 500ms }",
    );
    assert!(
        pointed.contains("base_delay: 20ms"),
        "providers/aws.yaml's retry line changed"
    );
    std::fs::create_dir_all(dir.join("providers")).unwrap();
    std::fs::write(dir.join("providers/aws.yaml"), pointed).unwrap();
    let catalogs = orchestrate::config::load_catalogs(dir, &Registry::builtin()).unwrap();
    let providers = Providers::new(
        &dir.join("state"),
        catalogs,
        ProviderOptions::default(),
        Registry::builtin(),
    );
    providers.get("aws").unwrap()
}

pub fn copy_templates(dir: &std::path::Path) {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir.join("templates/aws")).unwrap();
    for f in std::fs::read_dir(repo.join("templates/aws")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.join("templates/aws").join(f.file_name().unwrap())).unwrap();
    }
}

/// A project with one event on examples/aws-moto's MediaLive profile, its input an RTMP push
/// from two networks, in eu-west-1.
pub fn push_project(endpoint: &str, dir: &std::path::Path) -> Arc<dyn Provider> {
    live_project(
        endpoint,
        dir,
        "input: { type: rtmp, allow: [203.0.113.0/24, 198.51.100.7/32] }",
    )
}

/// A project with one event, `derby`, on examples/aws-moto's MediaLive profile with `input`
/// as its input line, in eu-west-1.
pub fn live_project(endpoint: &str, dir: &std::path::Path, input: &str) -> Arc<dyn Provider> {
    let live = example_profile("aws-live");
    let pull = r#"input: { type: file, address: "s3://orchestrate-example-media/slate.mp4" }"#;
    assert!(live.contains(pull), "aws-live.yaml's input line changed");
    project_of(
        endpoint,
        dir,
        ("aws-live", &live.replace(pull, input)),
        &schedule(&[derby("aws-live")]),
    )
}

/// examples/aws-moto's profile `name`, as written there.
pub fn example_profile(name: &str) -> String {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(repo.join(format!("examples/aws-moto/profiles/{name}.yaml"))).unwrap()
}

/// A project of one profile (its name and YAML) and one schedule (`schedules/main.yaml`), with
/// the repository's templates and every catalog region at `endpoint`.
pub fn project_of(
    endpoint: &str,
    dir: &std::path::Path,
    (name, profile): (&str, &str),
    schedule: &str,
) -> Arc<dyn Provider> {
    std::fs::create_dir_all(dir.join("profiles")).unwrap();
    std::fs::create_dir_all(dir.join("schedules")).unwrap();
    std::fs::write(dir.join(format!("profiles/{name}.yaml")), profile).unwrap();
    std::fs::write(dir.join("schedules/main.yaml"), schedule).unwrap();
    copy_templates(dir);
    provider(endpoint, dir)
}

/// A schedule of these events (each its lines under `events:`).
pub fn schedule(events: &[String]) -> String {
    format!(
        "apiVersion: orchestrate/v1\nkind: Schedule\nevents:\n{}",
        events.concat()
    )
}

/// The event `derby` on `profile`, in eu-west-1, a Saturday evening ahead.
pub fn derby(profile: &str) -> String {
    format!(
        "  - id: derby\n    title: Derby\n    start: 2030-12-05T19:45:00Z\n    end: 2030-12-05T22:00:00Z\n    profile: {profile}\n    regions: [eu-west-1]\n"
    )
}

pub fn orchestrate(dir: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(super::BIN);
    c.arg("--project")
        .arg(dir)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .args(args)
        .stdin(std::process::Stdio::null());
    c
}

pub fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = orchestrate(dir, args).output().unwrap();
    assert!(
        out.status.success(),
        "orchestrate {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The same, for a project whose only event is `event`.
pub async fn inventory_of(aws: &Arc<dyn Provider>, event: &str) -> Vec<(String, String, String)> {
    listed(aws, |i| {
        assert_eq!(i.tags.get(TAG_EVENT).map(String::as_str), Some(event));
        i.name.clone()
    })
    .await
}

/// (region, kind, what `third` says of it) of everything the provider lists, sorted, with its
/// region and owner tags checked.
pub async fn listed(
    aws: &Arc<dyn Provider>,
    third: impl Fn(&InventoryItem) -> String,
) -> Vec<(String, String, String)> {
    let mut seen: Vec<_> = aws
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|i| {
            assert_eq!(i.tags.get(TAG_REGION), Some(&i.region), "{i:?}");
            assert!(i.tags.get(TAG_OWNER).is_some_and(|o| !o.is_empty()));
            let third = third(&i);
            // A part listed on its own reads as the part it is (`channel_group`).
            let kind = i.part.map_or_else(|| i.kind.to_string(), String::from);
            (i.region, kind, third)
        })
        .collect();
    seen.sort();
    seen
}

/// A MediaLive client for eu-west-1 at `endpoint`, with the environment's credentials.
pub async fn medialive_in_ireland(endpoint: &str) -> aws_sdk_medialive::Client {
    let sdk = aws_config::load_from_env().await;
    aws_sdk_medialive::Client::from_conf(
        aws_sdk_medialive::config::Builder::from(&sdk)
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(endpoint)
            .build(),
    )
}

/// `orchestrate run` on the project in `dir`, its API on loopback: the daemon (stopped when
/// dropped) and a GET of the API's `path` with its token (the body, or empty on failure).
pub fn run_daemon(dir: &std::path::Path) -> (super::daemon::Daemon, impl Fn(&str) -> String) {
    let daemon = super::daemon::Daemon(
        orchestrate(
            dir,
            &[
                "run",
                "--interval",
                "2s",
                "--listen",
                "127.0.0.1:0",
                "--output",
                "json",
            ],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap(),
    );
    let state = dir.join("state");
    let addr = super::daemon::wait_for("the API address", 60, || {
        std::fs::read_to_string(state.join("api-addr")).ok()
    });
    let token = std::fs::read_to_string(state.join("api-token")).unwrap();
    let base = format!("http://{}", addr.trim());
    let client = reqwest::blocking::Client::new();
    let get = move |path: &str| {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
            .and_then(|r| r.text())
            .unwrap_or_default()
    };
    (daemon, get)
}

/// A MediaPackage (v1) client for eu-west-1 at `endpoint`, with the environment's credentials.
pub async fn mediapackage_in_ireland(endpoint: &str) -> aws_sdk_mediapackage::Client {
    let sdk = aws_config::load_from_env().await;
    aws_sdk_mediapackage::Client::from_conf(
        aws_sdk_mediapackage::config::Builder::from(&sdk)
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(endpoint)
            .build(),
    )
}

/// moto's S3 in Ireland, path-style.
pub async fn s3_in_ireland(moto: &str) -> aws_sdk_s3::Client {
    let sdk = aws_config::load_from_env().await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .region(aws_sdk_s3::config::Region::new("eu-west-1"))
            .endpoint_url(moto)
            .force_path_style(true)
            .build(),
    )
}

/// Fills in a line the project's providers/aws.yaml ships commented out (`# <line>`), such as
/// a role of the account's.
pub fn uncomment_in_catalog(dir: &std::path::Path, line: &str) {
    let catalog = dir.join("providers/aws.yaml");
    let text = std::fs::read_to_string(&catalog).unwrap();
    let indent = line.len() - line.trim_start().len();
    let commented = format!("{}# {}\n", &line[..indent], line.trim_start());
    assert!(
        text.contains(&commented),
        "providers/aws.yaml no longer ships `{commented}`"
    );
    std::fs::write(&catalog, text.replace(&commented, &format!("{line}\n"))).unwrap();
}

/// RFC 3339, `secs` from now (to the second): a schedule's time relative to the test.
pub fn from_now(secs: i64) -> String {
    let now = jiff::Timestamp::now().as_second();
    jiff::Timestamp::from_second(now + secs)
        .unwrap()
        .to_string()
}
