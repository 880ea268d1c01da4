//! `orchestrate run`: reconcile on an interval, whenever the schedule asks for a change, when
//! a schedule file changes and when an apply finishes, until asked to stop.
//!
//! Unlike a `tick` from cron, the daemon does not wait for one apply before starting the next:
//! a CDN delete can take forty minutes, and the next event's encoders cannot wait for it. Each
//! reconciliation plans only the places (an event or shared unit in one region) no running
//! apply is working on, and starts an apply for each of them alongside the others. The daemon
//! holds the state lock for its whole life, so a `tick` or `up` run meanwhile waits for it and
//! then names it.
//!
//! A stop request lets the applies in flight finish their steps (a second one abandons them,
//! as for `up`) and never tears anything down. A bad schedule edit is reported and the daemon
//! goes on with the last configuration that loaded.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use tokio::task::JoinSet;

use super::tick::{TickReport, plan_places, prepare};
use crate::apply::{ApplyOptions, ApplyReport, Reporter, apply};
use crate::clock;
use crate::config::duration::signed;
use crate::model::Config;
use crate::providers::registry::Providers;
use crate::render::Renderer;
use crate::schedule::timeline::Place;
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;

/// How often schedule files are checked for changes.
const WATCH_EVERY: Duration = Duration::from_millis(500);
/// How many recent reconciliations the daemon's own time is taken from.
const RECENT: usize = 16;
/// The most the daemon plans ahead of a change: a slow host must not create minutes early.
const MOST_AHEAD: Duration = Duration::from_secs(5 * 60);

pub struct DaemonOptions {
    pub schedules: Vec<PathBuf>,
    /// Longest time between reconciliations, on [`clock`]'s time.
    pub interval: Duration,
    pub apply: ApplyOptions,
    /// Stop once the clock passes this and nothing is in flight (for `bench season`).
    pub until: Option<Timestamp>,
    /// Jump the simulated clock to the schedule's next change whenever nothing is in flight
    /// (for `bench season`; no effect on the wall clock).
    pub skip_idle: bool,
}

/// What the daemon reports as it goes.
pub trait TickSink: Send + Sync {
    fn tick(&self, result: &anyhow::Result<TickReport>);
    fn applied(&self, _keys: &BTreeSet<String>, _result: &anyhow::Result<ApplyReport>) {}
    /// How long a reconciliation took on the clock, from waking to its applies started.
    fn reconciled(&self, _took: Duration) {}
}

/// The daemon's own time to reconcile, recently: it wakes that much ahead of a creation (the
/// longest of the recent ones, within [`MOST_AHEAD`]) and plans for the creation's instant, so
/// that the creates begin at it and not a planning later. A season of a thousand events takes
/// tens of milliseconds to plan; on `bench season`'s clock that is a minute or two. Waking
/// earlier still would bill every resource for it: the lead's readiness minute absorbs a
/// reconciliation somewhat longer than the recent ones.
#[derive(Default)]
struct OwnTime {
    recent: std::collections::VecDeque<Duration>,
}

impl OwnTime {
    fn record(&mut self, took: Duration) {
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(took);
    }

    fn ahead(&self) -> jiff::SignedDuration {
        let longest = self.recent.iter().max().copied().unwrap_or_default();
        signed(longest.min(MOST_AHEAD))
    }
}

struct Loaded {
    config: Config,
    renderer: Renderer,
    providers: Arc<Providers>,
}

pub async fn run(
    ws: &Workspace,
    options: &DaemonOptions,
    reporter: Arc<dyn Reporter>,
    sink: &dyn TickSink,
    shutdown: &Shutdown,
    mut monitor: Option<&mut crate::monitor::hub::Monitor>,
) -> anyhow::Result<()> {
    // Compiled rules per profile, kept while the configuration is: detectors keep their history.
    let mut rules = crate::monitor::targets::Compiled::new();
    let _lock = ws.lock("run").await?;
    let state = ws.open_state().await?;
    let mut loaded: Option<Loaded> = None;
    let mut seen = None;
    let mut busy: BTreeSet<Place> = BTreeSet::new();
    let mut applies: JoinSet<(BTreeSet<Place>, bool, anyhow::Result<ApplyReport>)> = JoinSet::new();
    // Recorded create durations change only when an apply that creates finishes: learn from
    // them again then.
    let mut learned = None;
    let mut own = OwnTime::default();
    // The change the daemon last woke ahead of.
    let mut due: Option<Timestamp> = None;
    loop {
        let woke = clock::Stopwatch::start();
        if learned.is_none() {
            // A failed read is reported like a failed tick, and tried again next time.
            match crate::workspace::learned_leads(state.as_ref()).await {
                Ok(l) => learned = Some(l),
                Err(e) => sink.tick(&Err(e)),
            }
        }
        let current = fingerprint(ws, &options.schedules);
        if seen.as_ref() != Some(&current) {
            seen = Some(current);
            match load(ws, &options.schedules) {
                Ok(l) => {
                    loaded = Some(l);
                    rules.clear();
                }
                Err(e) => sink.tick(&Err(e)),
            }
        }
        let now = match (due.take(), clock::now()) {
            (Some(at), now) if at > now && at.duration_since(now) <= own.ahead() => at,
            (_, now) => now,
        };
        let mut next_change = None;
        // The next creation, when nothing is released before it or with it: only creations
        // are planned ahead, so that a teardown never comes before its grace is over.
        let mut next_opening = None;
        if let (Some(l), Some(learned)) = (&loaded, &learned)
            && !shutdown.graceful.is_cancelled()
        {
            let prepared = prepare(
                &l.config,
                &l.renderer,
                state.as_ref(),
                &l.providers,
                learned,
                now,
                &busy,
            );
            match prepared.await {
                Ok(prepared) => {
                    if let Some(m) = monitor.as_deref_mut() {
                        let wall = jiff::Timestamp::now();
                        let t = crate::monitor::targets::targets(
                            &l.config,
                            &prepared.recorded,
                            wall,
                            &mut rules,
                        );
                        m.reconcile(t, &l.providers);
                    }
                    let report = prepared.report(now, &prepared.recorded);
                    next_change = report.next_change;
                    next_opening = prepared
                        .timeline
                        .next_opening(now)
                        .filter(|o| prepared.timeline.next_release(now).is_none_or(|r| r > *o));
                    // One apply per place: a place stays busy until its apply ends, and must
                    // not wait on another's slow step.
                    for part in prepared.plan.split_by_place() {
                        let places = plan_places(&part);
                        let counts = part.counts();
                        let creates = counts.create + counts.replace > 0;
                        busy.extend(places.iter().cloned());
                        let (plan, providers, state, reporter, opts, stop) = (
                            Arc::new(part),
                            l.providers.clone(),
                            state.clone(),
                            reporter.clone(),
                            options.apply.clone(),
                            shutdown.clone(),
                        );
                        applies.spawn(async move {
                            let r = apply(plan, &providers, state, reporter, &opts, &stop).await;
                            (places, creates, r.map_err(anyhow::Error::from))
                        });
                    }
                    let took = woke.elapsed();
                    own.record(took);
                    sink.reconciled(took);
                    sink.tick(&Ok(report));
                }
                Err(e) => sink.tick(&Err(e)),
            }
        }
        if applies.is_empty()
            && (shutdown.graceful.is_cancelled() || options.until.is_some_and(|u| now >= u))
        {
            return Ok(());
        }
        let mut wake = now + signed(options.interval);
        if let Some(next) = next_change {
            wake = wake.min(next);
            if next_opening == Some(next) && next - own.ahead() < wake {
                wake = next - own.ahead();
                due = Some(next);
            }
        }
        if options.skip_idle && applies.is_empty() {
            clock::jump_to(wake);
            continue;
        }
        // Sleep until `wake`, an apply finishing, a schedule change or a stop request.
        loop {
            let left = wake.duration_since(clock::now());
            if left <= jiff::SignedDuration::ZERO {
                break;
            }
            let nap = clock::real(Duration::try_from(left).unwrap_or_default()).min(WATCH_EVERY);
            tokio::select! {
                () = shutdown.graceful.cancelled(), if !shutdown.graceful.is_cancelled() => break,
                Some(done) = applies.join_next(), if !applies.is_empty() => {
                    match done {
                        Ok((places, creates, result)) => {
                            for p in &places {
                                busy.remove(p);
                            }
                            if creates {
                                learned = None;
                            }
                            sink.applied(&keys_of(&places), &result);
                        }
                        Err(e) => sink.tick(&Err(anyhow::anyhow!("an apply task failed: {e}"))),
                    }
                    break;
                }
                () = tokio::time::sleep(nap) => {
                    if seen.as_ref() != Some(&fingerprint(ws, &options.schedules)) {
                        break;
                    }
                }
            }
        }
        if shutdown.graceful.is_cancelled() {
            // Let the applies in flight settle; they stop starting steps on their own.
            while let Some(done) = applies.join_next().await {
                if let Ok((places, _, result)) = done {
                    sink.applied(&keys_of(&places), &result);
                }
            }
            return Ok(());
        }
    }
}

fn keys_of(places: &BTreeSet<Place>) -> BTreeSet<String> {
    places.iter().map(|(key, _)| key.clone()).collect()
}

fn load(ws: &Workspace, schedules: &[PathBuf]) -> anyhow::Result<Loaded> {
    let config = ws.load_config(schedules)?;
    let renderer = ws.renderer()?;
    let providers = Arc::new(ws.providers(config.catalogs.clone()));
    Ok(Loaded {
        config,
        renderer,
        providers,
    })
}

/// The schedule files and their modification times: a change to either means a new tick.
fn fingerprint(ws: &Workspace, schedules: &[PathBuf]) -> Vec<(PathBuf, Option<SystemTime>)> {
    let files = if schedules.is_empty() {
        crate::config::yaml_files(&ws.project.join("schedules")).unwrap_or_default()
    } else {
        schedules.to_vec()
    };
    files
        .into_iter()
        .map(|f| {
            let modified = std::fs::metadata(&f).and_then(|m| m.modified()).ok();
            (f, modified)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_wakes_ahead_by_its_longest_recent_reconciliation() {
        let mut own = OwnTime::default();
        assert_eq!(own.ahead(), jiff::SignedDuration::ZERO);
        own.record(Duration::from_secs(40));
        own.record(Duration::from_secs(10));
        assert_eq!(own.ahead(), jiff::SignedDuration::from_secs(40));
        // Only the recent ones count: a slow start is forgotten.
        for _ in 0..RECENT {
            own.record(Duration::from_secs(5));
        }
        assert_eq!(own.ahead(), jiff::SignedDuration::from_secs(5));
        // Never more than the bound, however slow the host.
        own.record(Duration::from_secs(3600));
        assert_eq!(own.ahead(), signed(MOST_AHEAD));
    }
}
