//! The VOD hand-off sequence, the same for `tick`, `down` and `vod retry`: where each event's
//! hand-off stands in each region, then the VODs it makes and what it keeps, added to a desired
//! state that the caller plans and applies.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use crate::model::{Config, Kind, RecordedResource, ResourceStatus};
use crate::plan::{DesiredState, Scope, add_handoffs};
use crate::providers::registry::Providers;
use crate::render::Renderer;
use crate::schedule::handoff::{Facts, Handoff, decide, decide_now, encoder_on_air};
use crate::state::StateStore;

/// What the hand-off is decided from.
pub struct Inputs<'a> {
    pub config: &'a Config,
    pub renderer: &'a Renderer,
    pub state: &'a dyn StateStore,
    pub providers: &'a Providers,
    /// What the state holds.
    pub recorded: &'a [RecordedResource],
}

/// Which hand-offs are due.
pub enum When<'a> {
    /// Those of the events over at this instant (`end + grace`), with their retries and
    /// timeouts: `tick` and the daemon.
    Clock(Timestamp),
    /// Those of these events now, whatever the clock says (`down`, `vod retry`); without
    /// `package`, a VOD that would be made now is not, and its archive is kept (`--skip-vod`).
    Now {
        at: Timestamp,
        events: &'a BTreeSet<String>,
        package: bool,
    },
}

/// Decides each due hand-off and adds what it needs to `desired`: the VODs to make (which the
/// deletes of their event and region wait for) and the recorded resources to keep. Returns
/// the decisions, by event and region.
pub async fn hand_off(
    i: &Inputs<'_>,
    when: &When<'_>,
    desired: &mut DesiredState,
) -> anyhow::Result<BTreeMap<(String, String), Handoff>> {
    let (now, forced) = match when {
        When::Clock(now) => (*now, None),
        When::Now { at, events, .. } => (*at, Some(*events)),
    };
    let mut handoffs = survey(i, now, forced).await?;
    if let When::Now { package: false, .. } = when {
        for h in handoffs.values_mut() {
            if matches!(h, Handoff::Package { .. }) {
                *h = Handoff::GaveUp {
                    reason: "--skip-vod".into(),
                };
            }
        }
    }
    add_handoffs(
        desired,
        i.config,
        i.renderer,
        i.state.owner(),
        &handoffs,
        i.recorded,
    )?;
    Ok(handoffs)
}

/// Where the VOD hand-off of each event and region stands: of the events over at `now`
/// (end + grace), or, with `now_for`, of these events whatever the clock says. The archive's
/// provider is asked whether it holds media only when the clock alone would not let it go.
async fn survey(
    i: &Inputs<'_>,
    now: Timestamp,
    now_for: Option<&BTreeSet<String>>,
) -> anyhow::Result<BTreeMap<(String, String), Handoff>> {
    let Inputs {
        config,
        state,
        providers,
        recorded,
        ..
    } = *i;
    let mut out = BTreeMap::new();
    for e in &config.events {
        let Some((profile, _)) = config.profile_and_catalog(e) else {
            continue;
        };
        let release_at = e.release_at();
        let forced = now_for.is_some_and(|ids| ids.contains(&e.id));
        if !(e.vod_enabled && profile.vod.enabled) || !(forced || now >= release_at) {
            continue;
        }
        let held: Vec<&RecordedResource> =
            recorded.iter().filter(|r| r.spec.event == e.id).collect();
        if held.is_empty() {
            continue;
        }
        let mut journal = None;
        for region in &e.regions {
            let vod_id = crate::model::ResourceId::new(&e.id, region, "vod");
            let of_kind = |kind: Kind| {
                held.iter()
                    .find(|r| r.spec.region == *region && r.spec.kind == kind)
            };
            let archive = of_kind(Kind::Archive);
            let vod = of_kind(Kind::Vod).map(|r| r.status);
            // Only an undecided hand-off needs its history; a published one is read every tick.
            let failures = if archive.is_some() && vod != Some(ResourceStatus::Ready) {
                if journal.is_none() {
                    journal = Some(state.event_journal(&e.id).await?);
                }
                journal
                    .iter()
                    .flatten()
                    .filter(|j| j.resource == vod_id.as_str() && j.op == "create")
                    .filter(|j| j.outcome.as_deref() == Some("failed"))
                    .filter_map(|j| j.finished_at)
                    .collect()
            } else {
                Vec::new()
            };
            let mut facts = Facts {
                now,
                start: e.start,
                release_at,
                archive: archive.is_some(),
                media: None,
                vod,
                failures,
                attempts: profile.vod.attempts,
                timeout: profile.vod.timeout.0,
            };
            let decide = |f: &Facts| if forced { decide_now(f) } else { decide(f) };
            let mut h = decide(&facts);
            // A hand-off that would package, wait or keep the archive first asks whether
            // there is anything in it.
            let undecided = matches!(
                h,
                Handoff::Package { .. } | Handoff::Waiting { .. } | Handoff::GaveUp { .. }
            );
            if let (true, Some(a)) = (undecided, archive) {
                // What the provider sees in the archive, else whether an encoder fed it.
                facts.media = match holds_media(providers, a).await {
                    Some(m) => Some(m),
                    None => {
                        if journal.is_none() {
                            journal = Some(state.event_journal(&e.id).await?);
                        }
                        let j = journal.as_deref().unwrap_or_default();
                        Some(encoder_on_air(j, region, (e.start, e.end)))
                    }
                };
                h = decide(&facts);
            }
            out.insert((e.id.clone(), region.clone()), h);
        }
    }
    Ok(out)
}

/// Archives of events the schedule no longer has that recorded their show and have no
/// published VOD: added to `desired.keep`, and returned as (event, region). Nothing can package
/// them without their event, and deleting them would lose the recording; an archive whose show
/// never went on air goes with the rest.
pub async fn keep_unscheduled_recordings(
    i: &Inputs<'_>,
    now: Timestamp,
    desired: &mut DesiredState,
) -> anyhow::Result<Vec<(String, String)>> {
    let scheduled: BTreeSet<&str> = i.config.events.iter().map(|e| e.id.as_str()).collect();
    let mut kept = Vec::new();
    let mut journals: BTreeMap<&str, Vec<crate::model::JournalEntry>> = BTreeMap::new();
    for a in unpublished_archives(i.recorded, &Scope::All)
        .filter(|r| !scheduled.contains(r.spec.event.as_str()))
    {
        let (event, region) = (a.spec.event.as_str(), a.spec.region.as_str());
        let recorded = match holds_media(i.providers, a).await {
            Some(m) => m,
            None => {
                if !journals.contains_key(event) {
                    journals.insert(event, i.state.event_journal(event).await?);
                }
                let journal = journals.get(event).map(Vec::as_slice).unwrap_or_default();
                match a.spec.on_air {
                    Some(show) => {
                        now > show.from && encoder_on_air(journal, region, (show.from, show.to))
                    }
                    // Recorded before the state kept the show's times: an encoder that ever
                    // ran may have recorded it.
                    None => journal.iter().any(|j| {
                        j.region == region
                            && j.kind.is_encoder()
                            && j.op == "create"
                            && j.outcome.as_deref() == Some("ok")
                    }),
                }
            }
        };
        if recorded {
            desired.keep.insert(a.spec.id.clone());
            kept.push((event.to_string(), region.to_string()));
        }
    }
    Ok(kept)
}

/// Archives in scope with no published VOD beside them.
pub fn unpublished_archives<'a>(
    recorded: &'a [RecordedResource],
    scope: &'a Scope,
) -> impl Iterator<Item = &'a RecordedResource> + 'a {
    let published: BTreeSet<(&str, &str)> = recorded
        .iter()
        .filter(|r| r.spec.kind == Kind::Vod && r.status == ResourceStatus::Ready)
        .map(|r| (r.spec.event.as_str(), r.spec.region.as_str()))
        .collect();
    recorded
        .iter()
        .filter(move |r| r.spec.kind == Kind::Archive && scope.contains(&r.spec.event))
        .filter(move |r| !published.contains(&(r.spec.event.as_str(), r.spec.region.as_str())))
}

/// Whether an archive holds media, as its provider says; `None` where it cannot tell, or
/// cannot be opened or asked (the journal then says whether an encoder fed the archive).
async fn holds_media(providers: &Providers, archive: &RecordedResource) -> Option<bool> {
    let provider = providers.get(&archive.spec.provider).ok()?;
    provider.archive_holds_media(archive).await.ok().flatten()
}
