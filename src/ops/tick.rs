//! One reconciliation of the whole schedule to the clock: the resources of every event inside
//! its window (`start − lead` to `end + grace`) exist, and nothing else does. Idempotent: it
//! takes no memory of earlier runs beyond the state store, so running it every minute, twice at
//! once (the state lock serialises them) or after a crash converges to the same result.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;

use super::handoff::When;
use crate::apply::{ApplyOptions, ApplyReport, Reporter, apply};
use crate::model::{Config, Kind, RecordedResource, ResourceStatus};
use crate::plan::{Counts, Plan, Scope, desired_state_in, plan};
use crate::providers::registry::Providers;
use crate::render::Renderer;
use crate::schedule::handoff::Handoff;
use crate::schedule::lead::{LeadOrigin, Learned};
use crate::schedule::phase::{Holdings, Phase, observed};
use crate::schedule::timeline::{Held, Place, Timeline, timeline};
use crate::shutdown::Shutdown;
use crate::state::StateStore;
use crate::workspace::Workspace;

#[derive(Debug, Clone, Serialize)]
pub struct EventTick {
    pub id: String,
    pub phase: Phase,
    /// When the show starts and ends.
    pub start: Timestamp,
    pub end: Timestamp,
    pub regions: Vec<String>,
    /// When its resources are created and released.
    pub provision_at: Timestamp,
    pub release_at: Timestamp,
    pub lead: String,
    pub lead_from: LeadOrigin,
}

#[derive(Debug, Clone, Serialize)]
pub struct TickReport {
    pub now: Timestamp,
    pub events: Vec<EventTick>,
    /// Events the state still holds resources for that the schedule no longer has.
    pub removed_events: Vec<String>,
    pub changes: Counts,
    pub apply: Option<ApplyReport>,
    /// When the schedule next asks for a change, if it ever does.
    pub next_change: Option<Timestamp>,
    /// The VOD hand-off of each event and region whose show is over.
    pub handoffs: Vec<HandoffReport>,
    /// What staff must act on: a hand-off that gave up keeps the archive, with no VOD.
    pub alerts: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HandoffReport {
    pub event: String,
    pub region: String,
    #[serde(flatten)]
    pub handoff: Handoff,
}

pub struct TickOutcome {
    pub report: TickReport,
    pub plan: Arc<Plan>,
}

pub async fn tick(
    ws: &Workspace,
    schedules: &[PathBuf],
    now: Timestamp,
    reporter: Arc<dyn Reporter>,
    options: &ApplyOptions,
    shutdown: &Shutdown,
) -> anyhow::Result<TickOutcome> {
    let config = ws.load_config(schedules)?;
    let renderer = ws.renderer()?;
    let _lock = ws.lock("tick").await?;
    let state = ws.open_state().await?;
    let (providers, prepared) = plan_at(ws, &config, &renderer, state.as_ref(), now).await?;
    let apply_report = if prepared.plan.is_empty() {
        None
    } else {
        Some(
            apply(
                prepared.plan.clone(),
                &providers,
                state.clone(),
                reporter,
                options,
                shutdown,
            )
            .await?,
        )
    };
    let after = state.resources().await?;
    let mut report = prepared.report(now, &after);
    report.apply = apply_report;
    Ok(TickOutcome {
        report,
        plan: prepared.plan,
    })
}

/// What a tick at `now` would do, without doing it: its plan and its report (phases as the
/// state holds them now). It takes no lock and changes nothing (`tick --dry-run`,
/// `plan --now`).
pub async fn preview(
    ws: &Workspace,
    schedules: &[PathBuf],
    now: Timestamp,
) -> anyhow::Result<TickOutcome> {
    let config = ws.load_config(schedules)?;
    let renderer = ws.renderer()?;
    let state = ws.open_state().await?;
    let (_, prepared) = plan_at(ws, &config, &renderer, state.as_ref(), now).await?;
    let report = prepared.report(now, &prepared.recorded);
    Ok(TickOutcome {
        report,
        plan: prepared.plan,
    })
}

/// A tick's plan at `now`, with the leads the state has learned, and the providers it asked.
async fn plan_at(
    ws: &Workspace,
    config: &Config,
    renderer: &Renderer,
    state: &dyn StateStore,
    now: Timestamp,
) -> anyhow::Result<(Providers, Prepared)> {
    let learned = crate::workspace::learned_leads(state).await?;
    let providers = ws.providers(config.catalogs.clone());
    let prepared = prepare(
        config,
        renderer,
        state,
        &providers,
        &learned,
        now,
        &BTreeSet::new(),
    )
    .await?;
    Ok((providers, prepared))
}

/// A tick's plan, and what is needed to report on it.
pub struct Prepared {
    pub plan: Arc<Plan>,
    pub timeline: Timeline,
    /// What the state held when the plan was made.
    pub recorded: Vec<RecordedResource>,
    pub handoffs: BTreeMap<(String, String), Handoff>,
    /// Archives of events no longer scheduled that recorded their show: kept, by event and region.
    pub kept_recordings: Vec<(String, String)>,
}

impl Prepared {
    /// Each event's phase given what the state holds (`after`).
    pub fn report(&self, now: Timestamp, after: &[RecordedResource]) -> TickReport {
        let mut holdings: BTreeMap<&str, Holdings> = BTreeMap::new();
        for r in after {
            // What outlives the show does not hold its phase back from `done`.
            let outlives = match r.spec.kind {
                Kind::Vod => r.status == ResourceStatus::Ready,
                Kind::Archive => matches!(
                    self.handoffs
                        .get(&(r.spec.event.clone(), r.spec.region.clone())),
                    Some(Handoff::GaveUp { .. })
                ),
                _ => false,
            };
            if outlives {
                continue;
            }
            let h = holdings.entry(r.spec.event.as_str()).or_default();
            h.recorded += 1;
            if r.status == ResourceStatus::Ready {
                h.ready += 1;
            }
        }
        let events = self
            .timeline
            .events
            .iter()
            .map(|(id, w)| {
                let mut h = holdings.get(id.as_str()).copied().unwrap_or_default();
                // All of them, though some are created later than others.
                h.desired = w.resources;
                let handoffs = self
                    .handoffs
                    .iter()
                    .filter(|((e, _), _)| e == id)
                    .map(|(_, h)| h);
                EventTick {
                    id: id.clone(),
                    phase: handoff_phase(handoffs, observed(&w.times, now, h)),
                    start: w.times.start,
                    end: w.times.end,
                    regions: w.regions.clone(),
                    provision_at: w.times.provision_at(),
                    release_at: w.times.release_at(),
                    lead: crate::config::duration::format_duration(w.lead),
                    lead_from: w.lead_from,
                }
            })
            .collect();
        let known_units: BTreeSet<&str> = self
            .timeline
            .shared
            .keys()
            .map(|(u, _)| u.as_str())
            .collect();
        let removed_events = self
            .recorded
            .iter()
            .map(|r| r.spec.event.as_str())
            .filter(|k| !self.timeline.events.contains_key(*k) && !known_units.contains(k))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(String::from)
            .collect();
        let retry_at = self.handoffs.values().filter_map(|h| match h {
            Handoff::Waiting { retry_at, .. } => Some(*retry_at),
            _ => None,
        });
        let next_change = self
            .timeline
            .next_change(now)
            .into_iter()
            .chain(retry_at)
            .min();
        let alerts = self
            .handoffs
            .iter()
            .filter_map(|((event, region), h)| match h {
                Handoff::GaveUp { reason } => Some(format!(
                    "{event} in {region}: VOD hand-off gave up ({reason}); the live resources are \
                     torn down and the archive is kept: fix the cause, then run `orchestrate vod \
                     retry {event}`"
                )),
                _ => None,
            })
            .chain(self.kept_recordings.iter().map(|(event, region)| {
                format!(
                    "{event} in {region}: the event is no longer in the schedule, and its archive \
                     recorded the show and has no VOD: the archive is kept. Put the event back to \
                     have its VOD made, or delete the archive with `orchestrate down --event \
                     {event} --discard-archives`"
                )
            }))
            .collect();
        TickReport {
            now,
            events,
            removed_events,
            changes: self.plan.counts(),
            apply: None,
            next_change,
            handoffs: self
                .handoffs
                .iter()
                .map(|((event, region), h)| HandoffReport {
                    event: event.clone(),
                    region: region.clone(),
                    handoff: h.clone(),
                })
                .collect(),
            alerts,
        }
    }
}

/// The places a plan acts on.
pub fn plan_places(plan: &Plan) -> BTreeSet<Place> {
    plan.actions
        .iter()
        .filter(|a| a.op != crate::plan::Op::NoOp)
        .filter_map(|a| a.spec().map(|s| (s.event.clone(), s.region.clone())))
        .collect()
}

/// `handoff` while a VOD is being made or waits for a retry.
fn handoff_phase<'a>(mut handoffs: impl Iterator<Item = &'a Handoff>, phase: Phase) -> Phase {
    let busy = |h: &&Handoff| matches!(h, Handoff::Package { .. } | Handoff::Waiting { .. });
    if phase == Phase::Teardown && handoffs.any(|h| busy(&h)) {
        Phase::Handoff
    } else {
        phase
    }
}

/// Plans one reconciliation at `now`, leaving alone every place in `busy` (the daemon's
/// applies still working on them).
pub async fn prepare(
    config: &Config,
    renderer: &Renderer,
    state: &dyn StateStore,
    providers: &Providers,
    learned: &Learned,
    now: Timestamp,
    busy: &BTreeSet<Place>,
) -> anyhow::Result<Prepared> {
    let timeline = timeline(config, learned);
    let recorded = state.resources().await?;
    let held = Held::of(&recorded);
    let mut desired = desired_state_in(
        config,
        renderer,
        state.owner(),
        &Scope::At { now, held },
        &timeline,
    )?;
    let inputs = super::handoff::Inputs {
        config,
        renderer,
        state,
        providers,
        recorded: &recorded,
    };
    let handoffs = super::handoff::hand_off(&inputs, &When::Clock(now), &mut desired).await?;
    let kept_recordings =
        super::handoff::keep_unscheduled_recordings(&inputs, now, &mut desired).await?;
    let is_busy = |s: &crate::model::ResourceSpec| {
        !busy.is_empty() && busy.contains(&(s.event.clone(), s.region.clone()))
    };
    desired.resources.retain(|_, s| !is_busy(s));
    let without_busy: Vec<RecordedResource>;
    let idle: &[RecordedResource] = if busy.is_empty() {
        &recorded
    } else {
        without_busy = recorded
            .iter()
            .filter(|r| !is_busy(&r.spec))
            .cloned()
            .collect();
        &without_busy
    };
    let serial = state.serial().await?;
    // Deletions are not limited to the active events: ended, moved and cancelled ones go too.
    let plan = Arc::new(plan(
        desired,
        idle,
        &config.catalogs,
        &Scope::All,
        state.owner(),
        serial,
        now,
    )?);
    Ok(Prepared {
        plan,
        timeline,
        recorded,
        handoffs,
        kept_recordings,
    })
}
