//! `bench season`: a whole season of events run by the daemon on the time-scaled sim provider,
//! measuring whether every event was ready before its start and how much was billed beyond
//! the minimum.
//!
//! The events (kick-offs at fixed slots of each day, two to three hours long, in groups that
//! share a CDN, one or two regions) go into a scratch project. The daemon runs them on a
//! simulated clock that the sim provider's latencies share and that jumps over idle stretches,
//! so leads are learned from simulated durations and the journal's timestamps are simulated
//! times. Results come from the journal, the way `orchestrate report` computes them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::{Scratch, peak_rss, ratio, round3};
use crate::apply::{ApplyOptions, ApplyReport, progress::Silent};
use crate::clock;
use crate::model::Kind;
use crate::ops::daemon::{DaemonOptions, TickSink, run};
use crate::ops::tick::TickReport;
use crate::providers::registry::Registry;
use crate::report;
use crate::shutdown::Shutdown;
use crate::state::JournalEntry;
use crate::workspace::Workspace;

#[derive(Debug, Clone)]
pub struct SeasonParams {
    pub events: usize,
    /// A fixed lead for every event, or `None` for `auto`.
    pub lead: Option<Duration>,
    pub grace: Duration,
    pub time_scale: f64,
    pub profile: String,
    pub seed: u64,
}

#[derive(Debug, Serialize)]
pub struct SeasonResult {
    pub scenario: &'static str,
    pub events: usize,
    pub days: usize,
    pub lead: String,
    pub grace: String,
    pub time_scale: f64,
    pub seed: u64,
    /// Share of events whose resources (their own and their group's shared ones) were all
    /// ready before start.
    pub ready_before_start_ratio: f64,
    pub late_events: usize,
    /// The latest any event became ready after its start, in seconds.
    pub worst_late_s: f64,
    /// The first few late events, and what was ready last in each.
    pub late: Vec<LateEvent>,
    /// Billed resource-minutes / (on-air + minimum provisioning: each resource's own create
    /// and the creates that needed it first, as `orchestrate report` counts them).
    pub billed_over_minimum: f64,
    /// Billed resource-minutes / (on-air + each resource's own create alone): a bound no
    /// schedule can reach, since the archive must exist while the encoder is created.
    pub billed_over_own_creates: f64,
    /// Billed resource-minutes / (on-air + the grace each event asks for + minimum
    /// provisioning): what was billed beyond what the schedule and profile ask for.
    pub billed_over_needed: f64,
    pub billed_resource_minutes: f64,
    pub minimum_resource_minutes: f64,
    pub needed_resource_minutes: f64,
    /// The same two, and their ratio, per resource kind: where the minutes beyond the minimum go.
    pub by_kind: BTreeMap<String, KindMinutes>,
    /// When the minutes beyond the minimum were billed.
    pub beyond_minimum: Beyond,
    pub cost: f64,
    /// What a broadcaster would keep on instead from the season's first start to its end: per
    /// region, one event's resources per slot the schedule needs at once, and the shared ones.
    pub always_on_cost: f64,
    pub resources_created: usize,
    pub failed_steps: usize,
    /// The daemon's own time to reconcile (wake, plan, start the applies) on the season's
    /// clock: its p99 and its longest. Real milliseconds are simulated minutes here; the
    /// daemon wakes ahead of each creation by the longest recent one.
    pub reconcile_p99_s: f64,
    pub reconcile_max_s: f64,
    pub wall_ms: u64,
    pub peak_rss_bytes: u64,
}

/// How many late events the result lists.
const MAX_LATE_LISTED: usize = 10;

#[derive(Debug, Serialize)]
pub struct LateEvent {
    pub event: String,
    pub late_s: f64,
    /// The resource ready last, and when its create began and how long it took.
    pub last_ready: Option<String>,
    pub created_before_start_s: Option<f64>,
    pub create_took_s: Option<f64>,
}

/// The minutes billed beyond the minimum, as shares of the whole minimum: together they are
/// `billed_over_minimum − 1`.
#[derive(Debug, Default, Serialize)]
pub struct Beyond {
    /// The events' own resources before the show, beyond their creates: ready and waiting.
    pub before_start: f64,
    /// The events' own resources after the show: the grace, waiting for the teardown's order
    /// (the archive outlives the encoder), the deletes.
    pub after_end: f64,
    /// The shared resources beyond their groups' on-air minutes and their creates: the lead,
    /// the gaps bridged between shows, the grace, the deletes.
    pub shared: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct KindMinutes {
    pub billed: f64,
    pub minimum: f64,
    pub billed_over_minimum: f64,
}

impl KindMinutes {
    fn add(&mut self, billed: f64, minimum: f64) {
        self.billed += billed;
        self.minimum += minimum;
    }
}

struct Season {
    id: String,
    group: &'static str,
    start: Timestamp,
    end: Timestamp,
    regions: Vec<String>,
}

const GROUPS: [&str; 3] = ["league", "cup", "friendlies"];
/// Kick-off slots of each day, minutes after midnight UTC.
const SLOTS: [i64; 4] = [12 * 60 + 30, 15 * 60, 17 * 60 + 30, 20 * 60];

fn generate(p: &SeasonParams, regions: &[String], day0: Timestamp) -> Vec<Season> {
    let mut rng = StdRng::seed_from_u64(p.seed);
    let per_day = 12;
    (0..p.events)
        .map(|i| {
            let day = (i / per_day) as i64;
            let slot = SLOTS[(i % per_day) % SLOTS.len()];
            // Most kick off on the slot, some a few minutes off it.
            let jitter = [0, 0, 5, 15][rng.random_range(0..4)];
            let start = day0 + SignedDuration::from_mins(day * 24 * 60 + slot + jitter);
            let length = 105 + 5 * rng.random_range(0..=18);
            let first = rng.random_range(0..regions.len());
            let count = 1 + usize::from(rng.random_bool(0.4));
            Season {
                id: format!("s{i:04}"),
                group: GROUPS[i % GROUPS.len()],
                start,
                end: start + SignedDuration::from_mins(length),
                regions: (0..count)
                    .map(|k| regions[(first + k) % regions.len()].clone())
                    .collect(),
            }
        })
        .collect()
}

fn schedule_yaml(events: &[Season], p: &SeasonParams) -> String {
    let lead = p
        .lead
        .map_or("auto".to_string(), crate::config::duration::format_duration);
    let grace = crate::config::duration::format_duration(p.grace);
    let mut s = String::from("apiVersion: orchestrate/v1\nkind: Schedule\nevents:\n");
    for e in events {
        s.push_str(&format!(
            "  - {{ id: {}, group: {}, start: {}, end: {}, profile: {}, regions: [{}], lead: {lead}, grace: {grace} }}\n",
            e.id,
            e.group,
            e.start,
            e.end,
            p.profile,
            e.regions.join(", ")
        ));
    }
    s
}

#[derive(Default)]
struct Counter {
    failed: AtomicUsize,
    errors: std::sync::Mutex<Vec<String>>,
    /// Each reconciliation's time on the season's clock.
    reconciles: std::sync::Mutex<Vec<Duration>>,
}

impl TickSink for Counter {
    fn tick(&self, result: &anyhow::Result<TickReport>) {
        if let Err(e) = result {
            self.note(format!("{e:#}"));
        }
    }
    fn applied(&self, _keys: &BTreeSet<String>, result: &anyhow::Result<ApplyReport>) {
        match result {
            Ok(r) => {
                self.failed
                    .fetch_add(r.failed.len() + r.skipped, Ordering::Relaxed);
            }
            Err(e) => self.note(format!("{e:#}")),
        }
    }
    fn reconciled(&self, took: Duration) {
        self.reconciles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(took);
    }
}

impl Counter {
    fn note(&self, e: String) {
        let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        if errors.len() < 5 {
            errors.push(e);
        }
    }
}

pub async fn season(project: &Path, p: &SeasonParams) -> anyhow::Result<SeasonResult> {
    let catalogs = crate::config::load_catalogs(project, &Registry::builtin())?;
    let sim = catalogs
        .get("sim")
        .context("the season benchmark needs the sim provider's catalog (providers/sim.yaml)")?;
    let regions: Vec<String> = sim.regions.keys().cloned().collect();
    if regions.is_empty() {
        bail!("the sim catalog has no regions");
    }
    let day0: Timestamp = "2027-01-01T00:00:00Z".parse()?;
    let events = generate(p, &regions, day0);

    let dir = std::env::temp_dir().join(format!(
        "orchestrate-season-{}-{}",
        std::process::id(),
        Timestamp::now().as_millisecond()
    ));
    let _scratch = Scratch(dir.clone());
    for sub in ["providers", "profiles", "templates"] {
        super::copy_dir(&project.join(sub), &dir.join(sub))?;
    }
    std::fs::create_dir_all(dir.join("schedules"))?;
    std::fs::write(dir.join("schedules/season.yaml"), schedule_yaml(&events, p))?;
    let mut ws = Workspace::new(&dir, Some(&dir.join(".state")), Duration::from_secs(5));
    ws.provider_options.sim_time_scale = Some(p.time_scale);
    ws.provider_options.sim_seed = Some(p.seed);
    // Validate up front, so a bad profile is an error rather than a silent empty season.
    let config = ws.load_config(&[])?;
    let profile = config
        .profiles
        .get(&p.profile)
        .with_context(|| format!("no valid profile `{}` in profiles/", p.profile))?;
    super::sim_only("season", &p.profile, &profile.provider)?;
    // The sim provider's latencies are scaled by the same factor, so they share this clock.
    if !clock::simulate(day0, p.time_scale) {
        bail!("the simulated clock is already running in this process");
    }
    let last = events.iter().map(|e| e.end).max().unwrap_or(day0);
    let options = DaemonOptions {
        schedules: Vec::new(),
        interval: Duration::from_secs(300),
        apply: ApplyOptions::default(),
        until: Some(last + SignedDuration::from_hours(3)),
        skip_idle: true,
    };
    let counter = Counter::default();
    let wall = Instant::now();
    run(
        &ws,
        &options,
        Arc::new(Silent),
        &counter,
        &Shutdown::new(),
        None,
    )
    .await?;
    let wall_ms = wall.elapsed().as_millis() as u64;
    if let Some(e) = counter
        .errors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .first()
    {
        bail!("the season did not run cleanly: {e}");
    }

    let state = ws.open_state().await?;
    let price = |region: &str, kind: Kind| sim.hourly_price_for(profile, region, kind);
    let now = clock::now();
    let mut late = 0usize;
    let mut lates: Vec<LateEvent> = Vec::new();
    let mut worst_late = 0.0f64;
    let (mut billed, mut minimum, mut own_creates, mut cost) = (0.0, 0.0, 0.0, 0.0);
    let mut needed = 0.0;
    let grace = jiff::SignedDuration::try_from(p.grace)?;
    let (mut waiting, mut after, mut shared_beyond) = (0.0, 0.0, 0.0);
    let mut resources = 0usize;
    let mut by_kind: BTreeMap<String, KindMinutes> = BTreeMap::new();
    // Each shared unit's journal, and the shows it served in each region.
    let mut shows: BTreeMap<(String, String), Vec<(Timestamp, Timestamp)>> = BTreeMap::new();
    let mut unit_journals: BTreeMap<String, Vec<JournalEntry>> = BTreeMap::new();
    for e in &events {
        let journal = state.event_journal(&e.id).await?;
        let needs = report::needed_by(profile, &e.id, &e.regions);
        let r = report::compute(&e.id, (e.start, e.end), &journal, &needs, price, now)
            .with_grace(p.grace);
        billed += r.billed_minutes;
        minimum += r.minimum_minutes;
        needed += r.needed_minutes;
        own_creates += r.resources as f64 * r.on_air_minutes + r.provisioning_minutes;
        let least_before = r.minimum_minutes - r.resources as f64 * r.on_air_minutes;
        waiting += r.before_show_minutes - least_before;
        after += r.after_show_minutes;
        cost += r.cost;
        resources += r.resources;
        for u in &r.by_kind {
            by_kind
                .entry(u.kind.to_string())
                .or_default()
                .add(u.billed_minutes, u.minimum_minutes);
        }
        let (at, by) = ready_time(&journal, e.start);
        let mut ready_at = (at, by.cloned());
        let unit = format!("@{}+{}", p.profile, e.group);
        if profile.cdn.enabled && profile.cdn.shared {
            if !unit_journals.contains_key(&unit) {
                unit_journals.insert(unit.clone(), state.event_journal(&unit).await?);
            }
            // A global service's one resource, kept in one region, serves all of them.
            let places: BTreeSet<&str> = e
                .regions
                .iter()
                .map(|r| sim.shared_region(profile, r))
                .collect();
            let shared: Vec<JournalEntry> = unit_journals[&unit]
                .iter()
                .filter(|j| places.contains(j.region.as_str()))
                .cloned()
                .collect();
            let (at, by) = ready_time(&shared, e.start);
            if at > ready_at.0 {
                ready_at = (at, by.cloned());
            }
            for region in places {
                shows
                    .entry((unit.clone(), region.to_string()))
                    .or_default()
                    .push((e.start, e.end));
            }
        }
        let behind = ready_at.0.duration_since(e.start).as_secs_f64();
        if behind > 0.0 {
            late += 1;
            worst_late = worst_late.max(behind);
            if lates.len() < MAX_LATE_LISTED {
                let by = ready_at.1.as_ref();
                lates.push(LateEvent {
                    event: e.id.clone(),
                    late_s: behind.round(),
                    last_ready: by.map(|j| j.resource.clone()),
                    created_before_start_s: by
                        .map(|j| e.start.duration_since(j.started_at).as_secs_f64().round()),
                    create_took_s: by
                        .and_then(|j| j.duration_ms)
                        .map(|ms| (ms as f64 / 1000.0).round()),
                });
            }
        }
    }
    for (unit, journal) in &unit_journals {
        let none = report::NeededBy::new();
        let r = report::compute(unit, (day0, day0), journal, &none, price, now);
        billed += r.billed_minutes;
        shared_beyond += r.billed_minutes;
        // The minimum for a shared resource is the time any of its group's shows is on air
        // in its region, plus its creates (nothing waits for it to be created).
        for u in &r.by_kind {
            let key = (unit.clone(), u.region.clone());
            let spans = shows.get(&key).cloned().unwrap_or_default();
            // Each show is asked for until its end + grace.
            let held = spans.iter().map(|&(from, to)| (from, to + grace)).collect();
            let on_air = union_minutes(spans);
            minimum += on_air + u.provisioning_minutes;
            needed += union_minutes(held) + u.provisioning_minutes;
            shared_beyond -= on_air + u.provisioning_minutes;
            own_creates += on_air + u.provisioning_minutes;
            by_kind
                .entry(format!("{} (shared)", u.kind))
                .or_default()
                .add(u.billed_minutes, on_air + u.provisioning_minutes);
        }
        cost += r.cost;
        resources += r.resources;
    }
    for k in by_kind.values_mut() {
        k.billed_over_minimum = ratio(k.billed, k.minimum);
        k.billed = k.billed.round();
        k.minimum = k.minimum.round();
    }
    let failed = counter.failed.load(Ordering::Relaxed);
    let reconcile = {
        let mut r = counter
            .reconciles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        r.sort_unstable();
        let at = |q: f64| {
            let i = ((r.len() as f64 * q).ceil() as usize).clamp(1, r.len().max(1)) - 1;
            r.get(i)
                .map_or(0.0, |d| (d.as_secs_f64() * 10.0).round() / 10.0)
        };
        (at(0.99), at(1.0))
    };
    let first = events.iter().map(|e| e.start).min().unwrap_or(day0);
    let span_hours = last.duration_since(first).as_secs_f64() / 3600.0;
    let always_on_cost = always_on(&ws, &config, span_hours);
    Ok(SeasonResult {
        scenario: "season",
        events: events.len(),
        days: p.events.div_ceil(12),
        lead: p
            .lead
            .map_or("auto".into(), crate::config::duration::format_duration),
        grace: crate::config::duration::format_duration(p.grace),
        time_scale: p.time_scale,
        seed: p.seed,
        ready_before_start_ratio: round3(1.0 - late as f64 / events.len().max(1) as f64),
        late_events: late,
        worst_late_s: worst_late.round(),
        late: lates,
        billed_over_minimum: ratio(billed, minimum),
        billed_over_own_creates: ratio(billed, own_creates),
        billed_over_needed: ratio(billed, needed),
        billed_resource_minutes: billed.round(),
        minimum_resource_minutes: minimum.round(),
        needed_resource_minutes: needed.round(),
        by_kind,
        beyond_minimum: Beyond {
            before_start: ratio(waiting, minimum),
            after_end: ratio(after, minimum),
            shared: ratio(shared_beyond, minimum),
        },
        cost: (cost * 100.0).round() / 100.0,
        always_on_cost: (always_on_cost * 100.0).round() / 100.0,
        resources_created: resources,
        failed_steps: failed,
        reconcile_p99_s: reconcile.0,
        reconcile_max_s: reconcile.1,
        wall_ms,
        peak_rss_bytes: peak_rss(),
    })
}

/// When everything in `journal` that served the show starting at `start` had become ready.
/// For each resource, the create serving the show is the last one started before `start` that
/// no delete followed before `start`; failing that, the first one started after it (a late
/// provisioning). A resource with neither was never there for the show.
/// Also returns the create that was ready last, if any was.
fn ready_time(journal: &[JournalEntry], start: Timestamp) -> (Timestamp, Option<&JournalEntry>) {
    let mut by_resource: BTreeMap<&str, Vec<&JournalEntry>> = BTreeMap::new();
    for j in journal {
        by_resource.entry(j.resource.as_str()).or_default().push(j);
    }
    let mut ready = (Timestamp::MIN, None);
    for entries in by_resource.values() {
        let creates: Vec<&&JournalEntry> = entries
            .iter()
            .filter(|j| j.op == "create" && j.outcome.as_deref() == Some("ok"))
            .collect();
        let deleted_between = |from: Timestamp| {
            entries
                .iter()
                .any(|j| j.op == "delete" && j.started_at > from && j.started_at < start)
        };
        let before = creates
            .iter()
            .rev()
            .find(|c| c.started_at <= start)
            .filter(|c| !deleted_between(c.started_at));
        let after = creates.iter().find(|c| c.started_at > start);
        match before.or(after) {
            Some(c) => {
                let at = c.finished_at.unwrap_or(Timestamp::MAX);
                if at > ready.0 {
                    ready = (at, Some(**c));
                }
            }
            None => {
                // Created for an earlier show only; this one never had it.
                if creates.iter().any(|c| c.started_at <= start) {
                    return (Timestamp::MAX, None);
                }
            }
        }
    }
    ready
}

fn union_minutes(mut spans: Vec<(Timestamp, Timestamp)>) -> f64 {
    spans.sort();
    let mut total = 0.0;
    let mut current: Option<(Timestamp, Timestamp)> = None;
    for (from, to) in spans {
        match &mut current {
            Some((_, end)) if from <= *end => *end = (*end).max(to),
            _ => {
                if let Some((f, t)) = current.take() {
                    total += t.duration_since(f).as_secs_f64() / 60.0;
                }
                current = Some((from, to));
            }
        }
    }
    if let Some((f, t)) = current {
        total += t.duration_since(f).as_secs_f64() / 60.0;
    }
    total
}

/// The cost of every event's resources kept running from the season's first start to its end.
fn always_on(ws: &Workspace, config: &crate::model::Config, hours: f64) -> f64 {
    let Ok(renderer) = ws.renderer() else {
        return 0.0;
    };
    crate::plan::desired_state(
        config,
        &renderer,
        "bench",
        &crate::plan::Scope::All,
        &Default::default(),
    )
    .map_or(0.0, |d| crate::plan::always_on_hourly(&d) * hours)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(op: &str, from: &str, to: &str) -> JournalEntry {
        let at = |hm: &str| format!("2027-01-01T{hm}:00Z").parse::<Timestamp>().unwrap();
        JournalEntry {
            seq: 0,
            resource: "@p+g/eu-west-1/cdn".into(),
            op: op.into(),
            provider: "sim".into(),
            region: "eu-west-1".into(),
            kind: Kind::Cdn,
            started_at: at(from),
            finished_at: Some(at(to)),
            outcome: Some("ok".into()),
            attempts: Some(1),
            duration_ms: Some(0),
            error: None,
        }
    }

    #[test]
    fn a_shared_resource_recreated_late_counts_from_its_late_create() {
        let start: Timestamp = "2027-01-01T15:00:00Z".parse().unwrap();
        let late = [
            entry("create", "10:00", "10:10"),
            entry("delete", "12:00", "12:50"),
            entry("create", "15:02", "15:10"),
        ];
        assert_eq!(
            ready_time(&late, start).0,
            "2027-01-01T15:10:00Z".parse().unwrap()
        );
        let kept = [entry("create", "10:00", "10:10")];
        assert_eq!(
            ready_time(&kept, start).0,
            "2027-01-01T10:10:00Z".parse().unwrap()
        );
        let gone = [
            entry("create", "10:00", "10:10"),
            entry("delete", "12:00", "12:50"),
        ];
        assert_eq!(ready_time(&gone, start).0, Timestamp::MAX);
    }
}
