use clap::Args as ClapArgs;

use super::{ApplyFlags, Global, Output, confirm};
use crate::exit::Exit;
use crate::plan::{DesiredState, Scope, display};
use crate::workspace::{Workspace, plan_against};

/// Tear down recorded resources, in reverse dependency order.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate down                         everything this state created (asks first)
  orchestrate down --event cup-final --yes
  orchestrate down --yes --output json     for scripts: NDJSON progress, no prompt

Without a terminal on stdin, --yes is required.")]
pub struct Args {
    /// Only these events (repeatable) [default: all].
    #[arg(short = 'e', long = "event", value_name = "ID")]
    pub events: Vec<String>,
    #[command(flatten)]
    pub apply: ApplyFlags,
}

pub async fn exec(ws: &Workspace, g: &Global, args: Args) -> anyhow::Result<Exit> {
    let _lock = ws.lock("down").await?;
    let state = ws.open_state()?;
    let catalogs = crate::config::load_catalogs(&ws.project)?;
    let scope = Scope::from_ids(&args.events);
    let plan = plan_against(&catalogs, DesiredState::default(), state.as_ref(), &scope).await?;
    if plan.is_empty() {
        if g.output == Output::Text {
            println!("Nothing to tear down.");
        }
        return Ok(Exit::Ok);
    }
    if g.output == Output::Text {
        print!("{}", display::render(&plan));
    }
    let n = plan.counts().delete;
    if !confirm(
        &format!("destroy {n} resource{}", if n == 1 { "" } else { "s" }),
        args.apply.yes,
    )? {
        eprintln!("Cancelled; nothing was destroyed.");
        return Ok(Exit::Ok);
    }
    super::up::run(ws, g, plan, catalogs, args.apply.parallelism, state).await
}
