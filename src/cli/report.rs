use clap::Args as ClapArgs;

use super::{Global, Output, print_json};
use crate::exit::{Exit, UsageError};
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
    let Some(state) = ws.existing_state().await? else {
        return Err(UsageError(format!("no state in {}", ws.state_dir.display())).into());
    };
    let report = crate::ops::report::event(ws, &config, event, state.as_ref()).await?;
    match g.output {
        Output::Json => print_json(&report)?,
        Output::Text => print!(
            "{}",
            crate::report::text::text(&report, event.start, event.end)
        ),
    }
    Ok(Exit::Ok)
}
