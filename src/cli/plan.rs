use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args as ClapArgs;

use super::{Global, Output, Selection, print_json};
use crate::exit::Exit;
use crate::plan::display;
use crate::workspace::Workspace;

/// Show what `up` would change, in the manner of `terraform plan`, with the cost estimate.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate plan
  orchestrate plan --event cup-final --out cup.plan.json
  orchestrate up --plan cup.plan.json      apply exactly that plan later
  orchestrate plan --output json | jq '.cost.total'
  orchestrate plan --now 2030-12-05T19:35:00Z   what a tick at that time would change (its window, not every event's)")]
pub struct Args {
    #[command(flatten)]
    pub select: Selection,
    /// Plan as `tick` would at TIME (RFC 3339): only what each event's window then asks for,
    /// created, kept or torn down, and the hand-offs then due.
    #[arg(long, value_name = "TIME", conflicts_with = "events")]
    pub now: Option<String>,
    /// Save the plan to FILE, for `orchestrate up --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub async fn exec(ws: &Workspace, g: &Global, args: Args) -> anyhow::Result<Exit> {
    let plan = match &args.now {
        Some(t) => {
            let now = super::tick::now_of(Some(t))?;
            let outcome = crate::ops::tick::preview(ws, &args.select.schedules, now).await?;
            std::sync::Arc::unwrap_or_clone(outcome.plan)
        }
        None => {
            let planned = ws.plan(&args.select.schedules, &args.select.events).await?;
            super::note_ended(&planned.ended);
            planned.plan
        }
    };
    if let Some(out) = &args.out {
        let text = serde_json::to_string(&plan)?;
        std::fs::write(out, text)
            .with_context(|| format!("cannot write the plan to {}", out.display()))?;
    }
    match g.output {
        Output::Json => print_json(&plan)?,
        Output::Text => {
            print!("{}", display::render(&plan));
            if let Some(out) = &args.out {
                println!(
                    "\nSaved the plan to {}. Apply it with:\n  orchestrate up --plan {}",
                    out.display(),
                    out.display()
                );
            }
        }
    }
    Ok(Exit::Ok)
}
