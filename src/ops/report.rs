//! An event's report from what the state and the stored health stream recorded: what `report`
//! prints and the console shows after the show.

use crate::model::{Config, Event};
use crate::report::{Report, compute};
use crate::state::StateStore;
use crate::workspace::Workspace;

pub async fn event(
    ws: &Workspace,
    config: &Config,
    event: &Event,
    state: &dyn StateStore,
) -> anyhow::Result<Report> {
    let entries = state.event_journal(&event.id).await?;
    let found = config.profile_and_catalog(event);
    let needs = found.map_or_else(Default::default, |(p, _)| {
        crate::report::needed_by(p, &event.id, &event.regions)
    });
    let mut report = compute(
        &event.id,
        (event.start, event.end),
        &entries,
        &needs,
        |region, kind| found.map_or(0.0, |(p, c)| c.hourly_price_for(p, region, kind)),
        crate::clock::now(),
    )
    .with_grace(event.grace);
    if let Some((p, c)) = found {
        report = report.with_delivery(crate::model::delivery(event, p, c));
    }
    report.vod = state
        .resources()
        .await?
        .into_iter()
        .filter(|r| r.spec.event == event.id && r.spec.kind == crate::model::Kind::Vod)
        .map(|r| {
            let mut v = r.outputs;
            v["region"] = r.spec.region.into();
            v["status"] = r.status.as_str().into();
            v
        })
        .collect();
    if let Some(reader) = crate::monitor::stream::store::Reader::open(&ws.state_dir)?
        && reader.has_event(&event.id)?
    {
        let rows: Vec<(String, String)> = reader
            .alerts_and_actions_of(&event.id)?
            .into_iter()
            .map(|r| (r.kind, r.body))
            .collect();
        let tiers = config
            .profiles
            .get(&event.profile)
            .map(|p| p.monitoring.tiers.clone())
            .unwrap_or_default();
        let places: Vec<(String, crate::monitor::Tier)> = event
            .regions
            .iter()
            .flat_map(|r| tiers.iter().map(move |t| (r.clone(), *t)))
            .collect();
        report.health = Some(crate::report::health::compute(
            &rows,
            &places,
            (event.start, event.end),
            jiff::Timestamp::now(),
        ));
    }
    Ok(report)
}
