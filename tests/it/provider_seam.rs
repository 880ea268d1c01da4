//! A provider registered through the one registration point, and nothing else: a catalog, its
//! templates and a `Registration`. `validate`, `plan`, `up` and `down` run with it in-process,
//! and validation applies its rules (kinds, capabilities, its own checks).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use clap::Parser;
use orchestrate::cli::{Cli, run_with};
use orchestrate::config::catalog::{CatalogFile, KindEntry};
use orchestrate::config::profile::ProfileFile;
use orchestrate::config::{Finding, ProviderRules};
use orchestrate::exit::Exit;
use orchestrate::model::{Kind, RateLimit, RecordedResource, ResourceSpec, RetryPolicy};
use orchestrate::providers::registration::{CannotOpen, Opening, Registration};
use orchestrate::providers::registry::Registry;
use orchestrate::providers::{Created, InventoryItem, Provider, ProviderError};
use serde_json::{Value, json};

use crate::common::Project;

/// Holds what it made in memory, shared with the test through `MADE`.
struct Tiny {
    made: Arc<Mutex<BTreeMap<String, Kind>>>,
}

static MADE: std::sync::LazyLock<Arc<Mutex<BTreeMap<String, Kind>>>> =
    std::sync::LazyLock::new(Arc::default);

#[async_trait]
impl Provider for Tiny {
    fn name(&self) -> &str {
        "tiny"
    }
    fn rate_limit(&self, _region: &str) -> RateLimit {
        RateLimit {
            requests_per_second: 100.0,
            burst: 100,
        }
    }
    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::default()
    }
    fn step_timeout(&self, _kind: Kind) -> Duration {
        Duration::from_secs(10)
    }
    async fn create(&self, spec: &ResourceSpec, token: &str) -> Result<Created, ProviderError> {
        self.made
            .lock()
            .unwrap()
            .insert(format!("tiny-{token}"), spec.kind);
        Ok(Created {
            provider_id: format!("tiny-{token}"),
            outputs: json!({ "kind": spec.kind }),
        })
    }
    async fn update(
        &self,
        rec: &RecordedResource,
        _spec: &ResourceSpec,
    ) -> Result<Value, ProviderError> {
        Ok(rec.outputs.clone())
    }
    async fn delete(&self, rec: &RecordedResource) -> Result<(), ProviderError> {
        if let Some(id) = &rec.provider_id {
            self.made.lock().unwrap().remove(id);
        }
        Ok(())
    }
    async fn list(&self) -> Result<Vec<InventoryItem>, ProviderError> {
        Ok(Vec::new())
    }
}

fn open(_: &Opening<'_>) -> Result<Arc<dyn Provider>, CannotOpen> {
    Ok(Arc::new(Tiny { made: MADE.clone() }))
}

/// Its own check: names must be short.
fn check_profile(p: &ProfileFile, _: &BTreeMap<Kind, KindEntry>) -> Vec<Finding> {
    p.encoder
        .ladder
        .iter()
        .enumerate()
        .filter(|(_, r)| r.name.len() > 8)
        .map(|(i, _)| {
            Finding::new(
                format!("encoder.ladder[{i}].name"),
                "tiny names are 8 characters at most",
            )
        })
        .collect()
}

fn no_catalog_findings(_: &CatalogFile) -> Vec<Finding> {
    Vec::new()
}

const TINY: Registration = Registration {
    rules: ProviderRules {
        name: "tiny",
        services: &[],
        kinds: &[Kind::Origin, Kind::Input, Kind::Encoder],
        actions: &[],
        vod: false,
        drm: &[],
        live_drm: &[],
        slate: false,
        backup_input: false,
        catalog: no_catalog_findings,
        profile: check_profile,
    },
    open: Some(open),
};

const CATALOG: &str = "apiVersion: orchestrate/v1
kind: ProviderCatalog
provider: tiny
regions:
  here: {}
kinds:
  origin: { hourly_price: 1.0, provision: { median: 10ms, p95: 20ms }, destroy: { median: 10ms, p95: 20ms } }
  input: { hourly_price: 0.5, provision: { median: 10ms, p95: 20ms }, destroy: { median: 10ms, p95: 20ms } }
  encoder: { hourly_price: 2.0, provision: { median: 10ms, p95: 20ms }, destroy: { median: 10ms, p95: 20ms } }
";

const PROFILE: &str = "apiVersion: orchestrate/v1
kind: Profile
provider: tiny
encoder:
  input: { type: srt }
  ladder:
    - { name: 720p, width: 1280, height: 720, bitrate: 3000k, fps: 30 }
origin:
  packaging: [hls]
  archive: false
cdn:
  enabled: false
vod:
  enabled: false
";

const SCHEDULE: &str = "apiVersion: orchestrate/v1
kind: Schedule
events:
  - id: small-show
    start: 2030-06-01T18:00:00Z
    end: 2030-06-01T19:00:00Z
    profile: tiny-hd
    regions: [here]
";

fn tiny_project(profile: &str) -> Project {
    let p = Project::empty();
    p.write("providers/tiny.yaml", CATALOG);
    p.write("profiles/tiny-hd.yaml", profile);
    p.write("schedules/main.yaml", SCHEDULE);
    for k in ["origin", "input", "encoder"] {
        p.write(
            &format!("templates/tiny/{k}.tera"),
            "name: {{ resource.id | json_encode() }}\n",
        );
    }
    p
}

async fn run(p: &Project, args: &[&str]) -> anyhow::Result<Exit> {
    let project = p.path().to_string_lossy().into_owned();
    let mut argv = vec!["orchestrate", "--project", project.as_str()];
    argv.extend_from_slice(args);
    run_with(
        Cli::try_parse_from(argv).expect("arguments"),
        Registry::builtin().with(TINY),
    )
    .await
}

#[tokio::test]
async fn a_provider_registered_in_one_place_runs_validate_plan_up_and_down() {
    let p = tiny_project(PROFILE);
    // Without its registration the profile names a provider nobody knows.
    let alone = orchestrate::config::load(p.path(), &[], &Registry::builtin());
    let err = alone
        .expect_err("tiny is not a built-in provider")
        .to_string();
    assert!(err.contains("unknown provider `tiny`"), "{err}");

    assert_eq!(run(&p, &["validate"]).await.unwrap(), Exit::Ok);
    let out = p.path().join("plan.json");
    let out = out.to_str().unwrap();
    assert_eq!(run(&p, &["plan", "--out", out]).await.unwrap(), Exit::Ok);
    let plan: Value = serde_json::from_str(&p.read("plan.json")).unwrap();
    let kinds: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["desired"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 3, "{plan:#}");
    for k in ["origin", "input", "encoder"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }

    assert_eq!(run(&p, &["up", "--yes"]).await.unwrap(), Exit::Ok);
    let made: Vec<Kind> = MADE.lock().unwrap().values().copied().collect();
    assert_eq!(made.len(), 3, "{made:?}");

    assert_eq!(run(&p, &["down", "--yes"]).await.unwrap(), Exit::Ok);
    assert!(
        MADE.lock().unwrap().is_empty(),
        "down left {:?}",
        MADE.lock().unwrap()
    );
}

#[tokio::test]
async fn validation_applies_a_registered_providers_rules() {
    let profile = PROFILE
        .replace("name: 720p", "name: seven-twenty")
        .replace("cdn:\n  enabled: false", "cdn:\n  enabled: true")
        .replace(
            "vod:\n  enabled: false\n",
            "vod:\n  enabled: false\nmonitoring:\n  actions:\n    - { on: ['*'], do: restart }\n",
        );
    let p = tiny_project(&profile);
    let err = orchestrate::config::load(p.path(), &[], &Registry::builtin().with(TINY))
        .expect_err("three problems")
        .to_string();
    for want in [
        "encoder.ladder[0].name: tiny names are 8 characters at most",
        "the `tiny` provider makes no `cdn`",
        "monitoring.actions[0].do: the `tiny` provider cannot carry out `restart`",
    ] {
        assert!(err.contains(want), "missing `{want}` in:\n{err}");
    }
}

#[tokio::test]
async fn a_provider_this_binary_does_not_carry_is_refused_by_validate() {
    let p = tiny_project(PROFILE);
    let not_built = Registry::builtin().with(Registration::not_built("tiny"));
    let err = orchestrate::config::load(p.path(), &[], &not_built)
        .expect_err("not built")
        .to_string();
    assert!(
        err.contains("provider `tiny` is not built into this binary"),
        "{err}"
    );
}
