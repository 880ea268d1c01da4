//! Benchmark scenarios. Each prints one JSON object on one line so scripts can read it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::apply::{ApplyOptions, apply, critical_path, progress::Silent};
use crate::model::{Config, Event, Lead, LeadSource};
use crate::plan::{self, Scope};
use crate::providers::ProviderOptions;
use crate::providers::registry::{Providers, Registry};
use crate::providers::sim::Inventory;
use crate::shutdown::Shutdown;
use crate::state::{SqliteState, StateStore};

#[derive(Debug, Clone)]
pub struct ProvisionParams {
    /// The state on PostgreSQL (`--state-url`), which must be empty; else SQLite in a
    /// scratch dir.
    pub state_url: Option<String>,
    pub events: usize,
    pub regions: usize,
    pub parallelism: Option<usize>,
    pub time_scale: f64,
    pub profile: String,
}

#[derive(Debug, Serialize)]
pub struct ProvisionResult {
    pub scenario: &'static str,
    pub events: usize,
    pub regions: usize,
    pub resources: usize,
    pub parallelism: Option<usize>,
    pub time_scale: f64,
    /// From the first step started to the last finished.
    pub makespan_ms: u64,
    /// Longest dependency chain of the simulated latencies actually drawn: no schedule beats it.
    pub critical_path_ms: u64,
    pub makespan_over_critical_path: f64,
    /// Diff of desired against recorded state and the DAG (pure).
    pub plan_ms: u64,
    /// Rendering every resource's template into the desired state.
    pub render_ms: u64,
    pub peak_rss_bytes: u64,
    pub failed: usize,
    /// `sqlite` or `postgresql`.
    pub state: &'static str,
}

pub mod content;
pub mod handoff;
pub mod probes;
pub mod rules;
pub mod season;
pub mod startup;
pub mod terraform;

/// Removes the scratch state dir however the benchmark ends.
struct Scratch(PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn provision(project: &Path, p: &ProvisionParams) -> anyhow::Result<ProvisionResult> {
    Ok(provision_drawn(project, p).await?.result)
}

/// A provisioning run and what it drew: the plan applied and each resource's latency.
pub(crate) struct Provisioned {
    pub result: ProvisionResult,
    pub plan: Arc<plan::Plan>,
    /// Requested → ready, per resource id, as the sim drew it.
    pub drawn: HashMap<String, Duration>,
}

pub(crate) async fn provision_drawn(
    project: &Path,
    p: &ProvisionParams,
) -> anyhow::Result<Provisioned> {
    let registry = Registry::builtin();
    let catalogs = crate::config::load_catalogs(project, &registry)?;
    let full = crate::config::parse_project(project, &[]).ok();
    let mut config = Config {
        catalogs,
        ..Default::default()
    };
    let profiles = match full {
        Some(parsed) => crate::config::validate(&parsed, &registry)?.profiles,
        None => bail!(
            "cannot load the project's profiles in {}",
            project.display()
        ),
    };
    let profile = profiles
        .get(&p.profile)
        .with_context(|| {
            format!(
                "no valid profile `{}` in {}/profiles",
                p.profile,
                project.display()
            )
        })?
        .clone();
    let catalog = config
        .catalogs
        .get(&profile.provider)
        .with_context(|| format!("no catalog for provider `{}`", profile.provider))?;
    sim_only("provision", &p.profile, &profile.provider)?;
    let regions: Vec<String> = catalog.regions.keys().take(p.regions).cloned().collect();
    if regions.len() < p.regions {
        bail!(
            "the sim catalog has {} regions, fewer than the {} asked for",
            regions.len(),
            p.regions
        );
    }
    let base = Timestamp::now() + SignedDuration::from_hours(1);
    config.events = (0..p.events)
        .map(|i| {
            let start = base + SignedDuration::from_mins(5 * i as i64);
            Event {
                id: format!("bench-{i:05}"),
                title: None,
                start,
                end: start + SignedDuration::from_hours(2),
                profile: profile.name.clone(),
                regions: regions.clone(),
                lead: Lead::Fixed(Duration::from_secs(900)),
                lead_source: LeadSource::Event,
                grace: Duration::from_secs(600),
                vod_enabled: false,
                audience: None,
                group: None,
            }
        })
        .collect();
    config.profiles.insert(profile.name.clone(), profile);

    let dir = std::env::temp_dir().join(format!(
        "orchestrate-bench-{}-{}",
        std::process::id(),
        Timestamp::now().as_millisecond()
    ));
    let _scratch = Scratch(dir.clone());
    let state: Arc<dyn StateStore> = match &p.state_url {
        Some(url) => {
            let pg = crate::state::PgState::open(url).await?;
            if !pg.resources().await?.is_empty() || !pg.journal(1).await?.is_empty() {
                return Err(crate::exit::UsageError(format!(
                    "bench provision needs an empty state; {} holds one",
                    pg.location()
                ))
                .into());
            }
            Arc::new(pg)
        }
        None => Arc::new(SqliteState::open(&dir)?),
    };
    let renderer = crate::render::Renderer::load(&project.join("templates"))?;

    let t = Instant::now();
    // A fresh state has no history: leads come from the catalog.
    let desired = plan::desired_state(
        &config,
        &renderer,
        state.owner(),
        &Scope::All,
        &crate::schedule::lead::Learned::default(),
    )?;
    let render_ms = t.elapsed().as_millis() as u64;
    let recorded = state.resources().await?;
    let t = Instant::now();
    let plan = plan::plan(
        desired,
        &recorded,
        &config.catalogs,
        &Scope::All,
        state.owner(),
        0,
        Timestamp::now(),
    )?;
    let plan_ms = t.elapsed().as_millis() as u64;
    let resources = plan.actions.len();

    let providers = Providers::new(
        &dir,
        config.catalogs.clone(),
        ProviderOptions {
            sim_time_scale: Some(p.time_scale),
            ..ProviderOptions::default()
        },
        registry,
    );
    let plan = Arc::new(plan);
    let report = apply(
        plan.clone(),
        &providers,
        state.clone(),
        Arc::new(Silent),
        &ApplyOptions {
            parallelism: p.parallelism,
        },
        &Shutdown::new(),
    )
    .await?;
    drop(providers);

    // What the sim actually drew for each resource: requested → ready.
    let inventory = Inventory::open(&dir.join("sim"))?;
    let drawn: HashMap<String, Duration> = inventory
        .all()
        .into_iter()
        .map(|i| {
            (
                i.name,
                Duration::from_millis((i.ready_at_ms - i.requested_at_ms).max(0) as u64),
            )
        })
        .collect();
    let cp = critical_path(&plan, |a| {
        drawn.get(a.id.as_str()).copied().unwrap_or_default()
    });
    let cp_ms = cp.as_millis() as u64;
    let result = ProvisionResult {
        scenario: "provision",
        events: p.events,
        regions: p.regions,
        resources,
        parallelism: p.parallelism,
        time_scale: p.time_scale,
        makespan_ms: report.elapsed_ms,
        critical_path_ms: cp_ms,
        makespan_over_critical_path: ratio(report.elapsed_ms as f64, cp_ms as f64),
        plan_ms,
        render_ms,
        peak_rss_bytes: peak_rss(),
        failed: report.failed.len() + report.skipped,
        state: if p.state_url.is_some() {
            "postgresql"
        } else {
            "sqlite"
        },
    };
    Ok(Provisioned {
        result,
        plan,
        drawn,
    })
}

/// `a / b` to three decimals; 0 when `b` is 0.
pub(crate) fn ratio(a: f64, b: f64) -> f64 {
    round3(if b > 0.0 { a / b } else { 0.0 })
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Benchmarks measure the scheduler against the sim provider's known latencies only.
fn sim_only(bench: &str, profile: &str, provider: &str) -> anyhow::Result<()> {
    if provider != "sim" {
        bail!(
            "the {bench} benchmark runs on the sim provider; profile `{profile}` uses `{provider}`"
        );
    }
    Ok(())
}

/// The process's peak resident set (VmHWM), 0 where /proc is unavailable.
/// Runs ffmpeg quietly to make a benchmark's media; its stderr is the error, saying what it
/// was `making`.
fn ffmpeg(bin: &Path, making: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new(bin)
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .with_context(|| format!("cannot run ffmpeg (`{}`)", bin.display()))?;
    if !out.status.success() {
        bail!(
            "ffmpeg failed {making}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

pub fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Copies a project folder into a benchmark's scratch project.
pub(crate) fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
