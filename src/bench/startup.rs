//! `bench startup`: how long from `up` until a viewer can play the first segment at the edge,
//! on the local provider with real ffmpeg. Each run provisions one event in one region of a
//! scratch project, polls the edge as a player would, and tears everything down.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;

use super::{Scratch, copy_dir, peak_rss};
use crate::apply::{ApplyOptions, apply, progress::Silent};
use crate::model::endpoints;
use crate::plan::{DesiredState, Scope};
use crate::providers::local::remove_all;
use crate::providers::registry::Registry;
use crate::shutdown::Shutdown;
use crate::workspace::{Workspace, plan_against};

#[derive(Debug, Clone)]
pub struct StartupParams {
    pub runs: usize,
    pub profile: String,
    /// How long to sample the encoder's CPU use after the first segment.
    pub cpu_window: Duration,
}

#[derive(Debug, Serialize)]
pub struct StartupResult {
    pub scenario: &'static str,
    pub profile: String,
    pub renditions: usize,
    pub runs: usize,
    /// From the start of `up` to the first segment fetched through the edge (median).
    pub first_segment_ms: u64,
    pub first_segment_ms_each: Vec<u64>,
    /// `up` alone (median): it returns once the encoder has published a segment.
    pub up_ms: u64,
    pub segment_duration_ms: u64,
    /// 2 × segment duration + 2 s.
    pub target_ms: u64,
    /// CPU cores the encoder (ffmpeg: test pattern, scaling, x264, AAC) kept busy while live
    /// (median over runs, sampled over `cpu_window_s`).
    pub encoder_cpu_cores: f64,
    pub cpu_window_s: f64,
    pub peak_rss_bytes: u64,
}

pub async fn startup(project: &Path, p: &StartupParams) -> anyhow::Result<StartupResult> {
    if p.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let (mut firsts, mut ups, mut cpus) = (Vec::new(), Vec::new(), Vec::new());
    let mut facts = None;
    for i in 0..p.runs {
        let dir = std::env::temp_dir().join(format!(
            "orchestrate-startup-{}-{i}-{}",
            std::process::id(),
            jiff::Timestamp::now().as_millisecond()
        ));
        let _scratch = Scratch(dir.clone());
        // However this run ends (an error, Ctrl-C dropping it), its processes stop.
        let _stop = StopAll(dir.join(".state"));
        let (first, up, cpu, f) = one_run(project, &dir, &p.profile, &client, p.cpu_window).await?;
        firsts.push(first);
        ups.push(up);
        cpus.push((cpu * 1000.0).round() as u64);
        facts = Some(f);
    }
    let (renditions, segment) = facts.unwrap_or_default();
    let segment_duration_ms = segment.as_millis() as u64;
    Ok(StartupResult {
        scenario: "startup",
        profile: p.profile.clone(),
        renditions,
        runs: p.runs,
        first_segment_ms: median(&firsts),
        first_segment_ms_each: firsts,
        up_ms: median(&ups),
        segment_duration_ms,
        target_ms: 2 * segment_duration_ms + 2000,
        encoder_cpu_cores: median(&cpus) as f64 / 1000.0,
        cpu_window_s: p.cpu_window.as_secs_f64(),
        peak_rss_bytes: peak_rss(),
    })
}

struct StopAll(std::path::PathBuf);
impl Drop for StopAll {
    fn drop(&mut self) {
        remove_all(&self.0, Duration::from_secs(5));
    }
}

/// (first segment ms, up ms, encoder CPU cores, (renditions, segment duration)).
async fn one_run(
    project: &Path,
    dir: &Path,
    profile: &str,
    client: &reqwest::Client,
    cpu_window: Duration,
) -> anyhow::Result<(u64, u64, f64, (usize, Duration))> {
    for sub in ["providers", "profiles", "templates"] {
        copy_dir(&project.join(sub), &dir.join(sub))?;
    }
    let ws = Workspace::new(dir, Some(&dir.join(".state")), Duration::from_secs(5));
    let region = crate::config::load_catalogs(dir, &Registry::builtin())?
        .get("local")
        .and_then(|c| c.regions.keys().next().cloned())
        .context("no region in the local provider's catalog (providers/local.yaml)")?;
    let start = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    std::fs::create_dir_all(dir.join("schedules"))?;
    std::fs::write(
        dir.join("schedules/startup.yaml"),
        format!(
            "apiVersion: orchestrate/v1\nkind: Schedule\nevents:\n  - id: startup\n    start: {start}\n    end: {}\n    profile: {profile}\n    regions: [{region}]\n",
            start + jiff::SignedDuration::from_hours(1)
        ),
    )?;
    let config = ws.load_config(&[])?;
    let prof = config
        .profiles
        .get(profile)
        .with_context(|| format!("no valid profile `{profile}` in profiles/"))?;
    if prof.provider != "local" {
        bail!(
            "bench startup measures the local provider; profile `{profile}` uses `{}`",
            prof.provider
        );
    }
    let facts = (prof.encoder.ladder.len(), prof.segment_duration);

    let t0 = Instant::now();
    let crate::workspace::Planned {
        config,
        plan,
        state,
        ..
    } = ws.plan(&[], &[]).await?;
    let providers = ws.providers(config.catalogs.clone());
    let report = apply_quietly(plan, &providers, &state).await?;
    let up_ms = t0.elapsed().as_millis() as u64;
    if let Some(f) = report.failed.first() {
        bail!("up failed: {f:?}");
    }
    let own = state.resources().await?;
    let url = endpoints("startup", &own, None)
        .playback_url
        .context("no playback URL after up")?;
    first_segment(client, &url, Duration::from_secs(30)).await?;
    let first_ms = t0.elapsed().as_millis() as u64;
    let pids: Vec<u32> = own
        .iter()
        .filter(|r| r.spec.kind == crate::model::Kind::Encoder)
        .filter_map(|r| r.outputs.get("pid").and_then(|p| p.as_u64()))
        .map(|p| p as u32)
        .collect();
    let cpu = cpu_cores(&pids, cpu_window).await;

    let down = plan_against(
        &config.catalogs,
        DesiredState::default(),
        state.as_ref(),
        &Scope::All,
    )
    .await?;
    let report = apply_quietly(down, &providers, &state).await?;
    if let Some(f) = report.failed.first() {
        bail!("down failed: {f:?}");
    }
    Ok((first_ms, up_ms, cpu, facts))
}

async fn apply_quietly(
    plan: crate::plan::Plan,
    providers: &crate::providers::registry::Providers,
    state: &Arc<dyn crate::state::StateStore>,
) -> anyhow::Result<crate::apply::ApplyReport> {
    Ok(apply(
        Arc::new(plan),
        providers,
        state.clone(),
        Arc::new(Silent),
        &ApplyOptions::default(),
        &Shutdown::new(),
    )
    .await?)
}

/// Polls as a player starts: the master playlist, its first variant, that variant's newest
/// segment; done once the segment's bytes have arrived.
async fn first_segment(
    client: &reqwest::Client,
    master: &str,
    limit: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    let base = master
        .rsplit_once('/')
        .map_or(master, |(b, _)| b)
        .to_string();
    loop {
        if Instant::now() > deadline {
            bail!("no playable segment at {master} within {limit:?}");
        }
        if try_segment(client, master, &base)
            .await
            .is_some_and(|seg| !seg.is_empty())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn try_segment(client: &reqwest::Client, master: &str, base: &str) -> Option<Vec<u8>> {
    let text = fetch(client, master).await?;
    let variant = uris(&text).into_iter().next()?;
    let vurl = format!("{base}/{variant}");
    let vbase = vurl.rsplit_once('/').map(|(b, _)| b.to_string())?;
    let media = fetch(client, &vurl).await?;
    let seg = uris(&media).into_iter().last()?;
    let r = client.get(format!("{vbase}/{seg}")).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.bytes().await.ok().map(|b| b.to_vec())
}

async fn fetch(client: &reqwest::Client, url: &str) -> Option<String> {
    let r = client.get(url).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.text().await.ok()
}

fn uris(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// Cores `pids` kept busy over `window`, from their user and system time in /proc.
async fn cpu_cores(pids: &[u32], window: Duration) -> f64 {
    if window.is_zero() {
        return 0.0;
    }
    let ticks = |pid: &u32| crate::providers::local::process::cpu_ticks(*pid).unwrap_or(0);
    let before: u64 = pids.iter().map(ticks).sum();
    let t = Instant::now();
    tokio::time::sleep(window).await;
    let after: u64 = pids.iter().map(ticks).sum();
    // Clock ticks are USER_HZ, 100 per second on Linux.
    (after.saturating_sub(before) as f64 / 100.0) / t.elapsed().as_secs_f64()
}

fn median(xs: &[u64]) -> u64 {
    let mut v = xs.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}
