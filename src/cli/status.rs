use std::collections::BTreeMap;

use clap::Args as ClapArgs;
use serde::Serialize;

use super::{Global, Output, print_json};
use crate::exit::Exit;
use crate::model::{Endpoints, RecordedResource, endpoints};
use crate::workspace::Workspace;

/// What exists now, per event and region, as the state records it.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate status
  orchestrate status --event cup-final
  orchestrate status --output json | jq '.events[].regions[].resources[] | select(.status != \"ready\")'")]
pub struct Args {
    /// Only these events (repeatable) [default: all].
    #[arg(short = 'e', long = "event", value_name = "ID")]
    pub events: Vec<String>,
}

#[derive(Serialize)]
struct Status {
    owner: String,
    serial: u64,
    events: Vec<EventStatus>,
}

#[derive(Serialize)]
struct EventStatus {
    id: String,
    regions: Vec<RegionStatus>,
}

#[derive(Serialize)]
struct RegionStatus {
    region: String,
    #[serde(flatten)]
    endpoints: Endpoints,
    resources: Vec<ResourceStatus>,
}

#[derive(Serialize)]
struct ResourceStatus {
    id: String,
    name: String,
    kind: crate::model::Kind,
    status: String,
    provider: String,
    provider_id: Option<String>,
    updated_at: String,
}

pub async fn exec(ws: &Workspace, g: &Global, args: Args) -> anyhow::Result<Exit> {
    let state = ws.existing_state().await?;
    let resources = match &state {
        Some(s) => s.resources().await?,
        None => Vec::new(),
    };
    if !args.events.is_empty() {
        crate::model::check_event_ids(&args.events, &super::known_events(ws, &resources))?;
    }
    let Some(state) = state else {
        match g.output {
            Output::Json => {
                print_json(&serde_json::json!({"owner": null, "serial": 0, "events": []}))?
            }
            Output::Text => println!(
                "No state in {}: nothing has been provisioned from here.",
                ws.state_dir.display()
            ),
        }
        return Ok(Exit::Ok);
    };
    let units = shared_units(ws);
    // A group's shared edge, per (unit, region).
    let shared: BTreeMap<(String, String), RecordedResource> = resources
        .iter()
        .filter(|r| r.spec.event.starts_with('@') && r.spec.kind == crate::model::Kind::Cdn)
        .map(|r| ((r.spec.event.clone(), r.spec.region.clone()), r.clone()))
        .collect();
    let mut grouped: BTreeMap<String, BTreeMap<String, Vec<RecordedResource>>> = BTreeMap::new();
    for r in resources {
        if !args.events.is_empty() && !args.events.contains(&r.spec.event) {
            continue;
        }
        grouped
            .entry(r.spec.event.clone())
            .or_default()
            .entry(r.spec.region.clone())
            .or_default()
            .push(r);
    }
    let status = Status {
        owner: state.owner().to_string(),
        serial: state.serial().await?,
        events: grouped
            .into_iter()
            .map(|(id, regions)| EventStatus {
                regions: regions
                    .into_iter()
                    .map(|(region, rs)| RegionStatus {
                        endpoints: {
                            let cdn = units.get(&id).and_then(|(u, global)| {
                                let home = global.as_ref().unwrap_or(&region);
                                shared.get(&(u.clone(), home.clone()))
                            });
                            endpoints(&id, &rs, cdn)
                        },
                        region,
                        resources: rs
                            .into_iter()
                            .map(|r| ResourceStatus {
                                id: r.spec.id.0.clone(),
                                name: r.spec.name.clone(),
                                kind: r.spec.kind,
                                status: r.status.to_string(),
                                provider: r.spec.provider.clone(),
                                provider_id: r.provider_id.clone(),
                                updated_at: r.updated_at.to_string(),
                            })
                            .collect(),
                    })
                    .collect(),
                id,
            })
            .collect(),
    };
    match g.output {
        Output::Json => print_json(&status)?,
        Output::Text => print_text(&status),
    }
    Ok(Exit::Ok)
}

/// Each event's shared unit, and the one region it is kept in when it is a global service's,
/// from the configuration when it loads (status works without it, only without the shared
/// edges' playback URLs).
fn shared_units(ws: &Workspace) -> BTreeMap<String, (String, Option<String>)> {
    let Ok(config) = ws.load_config(&[]) else {
        return BTreeMap::new();
    };
    config
        .events
        .iter()
        .filter_map(|e| {
            let (profile, catalog) = config.profile_and_catalog(e)?;
            let unit = e.shared_unit(profile)?;
            let global = catalog.shared_global_region(profile).map(String::from);
            Some((e.id.clone(), (unit, global)))
        })
        .collect()
}

fn print_text(s: &Status) {
    if s.events.is_empty() {
        println!("No resources recorded (state owner {}).", s.owner);
        return;
    }
    println!(
        "{:<24} {:<16} {:<12} {:<9} {:<10} PROVIDER ID",
        "EVENT", "REGION", "RESOURCE", "KIND", "STATUS"
    );
    for e in &s.events {
        for r in &e.regions {
            for res in &r.resources {
                println!(
                    "{:<24} {:<16} {:<12} {:<9} {:<10} {}",
                    e.id,
                    r.region,
                    res.name,
                    res.kind,
                    res.status,
                    res.provider_id.as_deref().unwrap_or("-")
                );
            }
            let ep = &r.endpoints;
            for (label, url) in [
                ("playback", &ep.playback_url),
                ("ingest", &ep.ingest_url),
                ("ingest (backup)", &ep.backup_ingest_url),
                ("vod (hls)", &ep.vod_hls),
                ("vod (dash)", &ep.vod_dash),
                ("vod (served at)", &ep.vod_url_path),
            ] {
                if let Some(url) = url {
                    println!("{:<24} {:<16} {label}: {url}", e.id, r.region);
                }
            }
        }
    }
}
