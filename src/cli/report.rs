use clap::Args as ClapArgs;

use super::{Global, Output, print_json};
use crate::exit::{Exit, UsageError};
use crate::plan::display::money;
use crate::report::{Report, compute};
use crate::state::StateStore;
use crate::workspace::Workspace;

/// What an event really cost: billed resource-minutes per kind and region, on-air minutes, and
/// the efficiency ratio billed / (on-air + minimum provisioning).
///
/// Billed over needed is the same ratio with the profile's grace counted as needed.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate report cup-final
  orchestrate report cup-final --output json | jq .efficiency
  orchestrate report cup-final --output json | jq .billed_over_needed

Billing runs from the start of each resource's create to the end of its delete (or until now).
A resource's minimum provisioning is its own create plus the creates that needed it first (the
archive waits through the origin's and the encoder's).")]
pub struct Args {
    /// The event's id.
    pub event: String,
    /// Schedule file (repeatable) [default: every *.yaml in <project>/schedules].
    #[arg(short = 's', long = "schedule", value_name = "FILE")]
    pub schedules: Vec<std::path::PathBuf>,
}

pub async fn exec(ws: &Workspace, g: &Global, args: Args) -> anyhow::Result<Exit> {
    let config = ws.load_config(&args.schedules)?;
    let Some(event) = config.events.iter().find(|e| e.id == args.event) else {
        return Err(UsageError(format!(
            "event `{}` is not in the schedule: the report needs its start and end{}",
            args.event,
            super::did_you_mean(&args.event, config.events.iter().map(|e| e.id.as_str()))
        ))
        .into());
    };
    let Some(state) = ws.existing_state()? else {
        return Err(UsageError(format!("no state in {}", ws.state_dir.display())).into());
    };
    let entries = state.event_journal(&event.id).await?;
    let found = config.profile_and_catalog(event);
    let catalog = found.map(|(_, c)| c);
    let needs = found.map_or_else(Default::default, |(p, _)| {
        crate::report::needed_by(p, &event.id, &event.regions)
    });
    let mut report = compute(
        &event.id,
        (event.start, event.end),
        &entries,
        &needs,
        |region, kind| catalog.map_or(0.0, |c| c.hourly_price(region, kind)),
        crate::clock::now(),
    )
    .with_grace(event.grace);
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
    match g.output {
        Output::Json => print_json(&report)?,
        Output::Text => print_text(&report, event.start, event.end),
    }
    Ok(Exit::Ok)
}

fn print_text(r: &Report, start: jiff::Timestamp, end: jiff::Timestamp) {
    println!(
        "{}: on air {} → {} ({:.0} min)",
        r.event,
        start.strftime("%Y-%m-%d %H:%M"),
        end.strftime("%H:%M"),
        r.on_air_minutes
    );
    if r.resources == 0 {
        println!("Nothing has been provisioned for it.");
        return;
    }
    println!(
        "  {:<9} {:<16} {:>9} {:>12} {:>10}",
        "KIND", "REGION", "RESOURCES", "BILLED MIN", "COST"
    );
    for u in &r.by_kind {
        println!(
            "  {:<9} {:<16} {:>9} {:>12.1} {:>10}",
            u.kind,
            u.region,
            u.resources,
            u.billed_minutes,
            money(u.cost)
        );
    }
    println!(
        "  {:<9} {:<16} {:>9} {:>12.1} {:>10}",
        "total",
        "",
        r.resources,
        r.billed_minutes,
        money(r.cost)
    );
    println!(
        "Provisioning took {:.1} resource-minutes. Billed before the show: {:.1} (creating, \
         then ready and waiting); after it: {:.1} (grace, teardown).",
        r.provisioning_minutes, r.before_show_minutes, r.after_show_minutes
    );
    if let Some(e) = r.efficiency {
        println!(
            "Efficiency, billed / (on-air + minimum provisioning): {e:.2} (1.00: each resource \
             created exactly when needed and gone when the show ends)."
        );
    }
    if let Some(n) = r.billed_over_needed {
        println!("Billed over needed, billed / (on-air + grace + minimum provisioning): {n:.2}.");
    }
    if r.still_running > 0 {
        println!(
            "{} resource(s) still exist and are billed until now.",
            r.still_running
        );
    }
    if let Some(h) = &r.health {
        print_health(h);
    }
    for v in &r.vod {
        let s = |k: &str| v[k].as_str().unwrap_or("-").to_string();
        println!(
            "VOD in {} ({}): {} {:.0} s, on air {} → {}, packaged in {:.1} s: {}",
            s("region"),
            s("status"),
            s("scheme"),
            v["duration_s"].as_f64().unwrap_or(0.0),
            s("on_air_from"),
            s("on_air_to"),
            v["packaging_ms"].as_f64().unwrap_or(0.0) / 1000.0,
            s("hls"),
        );
    }
}

fn print_health(h: &crate::report::health::HealthReport) {
    println!("Availability while on air (no critical alert firing):");
    println!(
        "  {:<16} {:<8} {:>8} {:>8}",
        "REGION", "TIER", "UP", "DOWN S"
    );
    for a in &h.availability {
        println!(
            "  {:<16} {:<8} {:>7.2}% {:>8.1}",
            a.region, a.tier, a.percent, a.down_s
        );
    }
    let fmt = |v: Option<f64>| v.map_or("-".to_string(), |s| format!("{s:.1} s"));
    println!(
        "Alerts fired: {}; mean time to detect {}, to recover {}.",
        h.incidents.len(),
        fmt(h.mean_ttd_s),
        fmt(h.mean_ttr_s)
    );
    if !h.timeline.is_empty() {
        println!("Timeline:");
        for t in &h.timeline {
            println!(
                "  {}  {:<6} {:<10} {:<17} {} {}",
                t.at.strftime("%H:%M:%S"),
                t.kind,
                t.region,
                t.state,
                t.tier,
                t.text
            );
        }
    }
}
