use std::collections::BTreeMap;

use clap::Args as ClapArgs;
use serde::Serialize;

use super::{Global, Output, print_json};
use crate::exit::Exit;
use crate::model::RecordedResource;
use crate::state::StateStore;
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
    resources: Vec<ResourceStatus>,
}

#[derive(Serialize)]
struct ResourceStatus {
    id: String,
    name: String,
    kind: String,
    status: String,
    provider: String,
    provider_id: Option<String>,
    updated_at: String,
}

pub async fn exec(ws: &Workspace, g: &Global, args: Args) -> anyhow::Result<Exit> {
    let Some(state) = ws.existing_state()? else {
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
    let resources = state.resources().await?;
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
                id,
                regions: regions
                    .into_iter()
                    .map(|(region, rs)| RegionStatus {
                        region,
                        resources: rs
                            .into_iter()
                            .map(|r| ResourceStatus {
                                id: r.spec.id.0.clone(),
                                name: r.spec.name.clone(),
                                kind: r.spec.kind.clone(),
                                status: r.status.to_string(),
                                provider: r.spec.provider.clone(),
                                provider_id: r.provider_id.clone(),
                                updated_at: r.updated_at.to_string(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    };
    match g.output {
        Output::Json => print_json(&status)?,
        Output::Text => print_text(&status),
    }
    Ok(Exit::Ok)
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
        }
    }
}
