//! One reconciliation of the whole schedule to the clock: the resources of every event inside
//! its window (`start − lead` to `end + grace`) exist, and nothing else does. Idempotent: it
//! takes no memory of earlier runs beyond the state store, so running it every minute, twice at
//! once (the state lock serialises them) or after a crash converges to the same result.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::lead::{LeadOrigin, resolve_lead};
use super::phase::{Holdings, Phase, Times, due, observed};
use crate::apply::{ApplyOptions, ApplyReport, Reporter, apply};
use crate::model::ResourceStatus;
use crate::plan::{Counts, Plan, Scope, desired_state, plan};
use crate::shutdown::Shutdown;
use crate::state::StateStore;
use crate::workspace::Workspace;

#[derive(Debug, Clone, Serialize)]
pub struct EventTick {
    pub id: String,
    pub phase: Phase,
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
    let state = ws.open_state()?;
    let learned = crate::workspace::learned_leads(state.as_ref()).await?;

    let mut times = BTreeMap::new();
    let mut active = Vec::new();
    for e in &config.events {
        let Some((profile, catalog)) = crate::plan::profile_and_catalog(&config, e) else {
            continue;
        };
        let (lead, origin) = resolve_lead(e, profile, catalog, &learned);
        let t = Times {
            start: e.start,
            end: e.end,
            lead: SignedDuration::try_from(lead).unwrap_or(SignedDuration::ZERO),
            grace: SignedDuration::try_from(e.grace).unwrap_or(SignedDuration::ZERO),
        };
        if due(&t, now).needs_resources() {
            active.push(e.id.clone());
        }
        times.insert(e.id.clone(), (t, lead, origin));
    }

    let desired = desired_state(
        &config,
        &renderer,
        state.owner(),
        &Scope::Events(active),
        &learned,
    )?;
    let mut desired_per_event: BTreeMap<String, usize> = BTreeMap::new();
    for spec in desired.resources.values() {
        *desired_per_event.entry(spec.event.clone()).or_default() += 1;
    }
    let recorded = state.resources().await?;
    let serial = state.serial().await?;
    // Deletions are not limited to the active events: ended, moved and cancelled ones go too.
    let plan = Arc::new(plan(
        desired,
        &recorded,
        &config.catalogs,
        &Scope::All,
        state.owner(),
        serial,
        now,
    )?);

    let apply_report = if plan.is_empty() {
        None
    } else {
        let providers = ws.providers(config.catalogs.clone());
        Some(
            apply(
                plan.clone(),
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
    let mut holdings: BTreeMap<&str, Holdings> = BTreeMap::new();
    for r in &after {
        let h = holdings.entry(r.spec.event.as_str()).or_default();
        h.recorded += 1;
        if r.status == ResourceStatus::Ready {
            h.ready += 1;
        }
    }
    let events = times
        .iter()
        .map(|(id, (t, lead, origin))| {
            let mut h = holdings.get(id.as_str()).copied().unwrap_or_default();
            h.desired = desired_per_event.get(id).copied().unwrap_or(0);
            EventTick {
                id: id.clone(),
                phase: observed(t, now, h),
                provision_at: t.provision_at(),
                release_at: t.release_at(),
                lead: crate::config::duration::format_duration(*lead),
                lead_from: *origin,
            }
        })
        .collect();
    let scheduled: BTreeSet<&str> = times.keys().map(String::as_str).collect();
    let removed_events = recorded
        .iter()
        .map(|r| r.spec.event.as_str())
        .filter(|e| !scheduled.contains(e))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(String::from)
        .collect();
    Ok(TickOutcome {
        report: TickReport {
            now,
            events,
            removed_events,
            changes: plan.counts(),
            apply: apply_report,
        },
        plan,
    })
}
