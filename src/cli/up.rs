use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args as ClapArgs;

use super::{ApplyFlags, Global, Output, Selection, confirm};
use crate::exit::{Exit, UsageError};
use crate::plan::{Plan, display};
use crate::state::StateStore;
use crate::workspace::Workspace;

/// Provision what the schedule needs: plan, then apply.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate up                          plan and apply; asks first if anything would be destroyed
  orchestrate up --yes --event cup-final
  orchestrate up --plan cup.plan.json     apply a saved plan, refused if the state changed since
  orchestrate up --output json            progress as NDJSON events on stdout

Ctrl-C once: no new steps start, in-flight ones finish. Twice: stop at once (the next run resumes).")]
pub struct Args {
    #[command(flatten)]
    pub select: Selection,
    /// Apply this saved plan instead of planning anew.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["schedules", "events"])]
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub apply: ApplyFlags,
}

pub async fn exec(ws: &Workspace, g: &Global, args: Args) -> anyhow::Result<Exit> {
    let _lock = ws.lock("up").await?;
    let (plan, catalogs, state) = match &args.plan {
        Some(file) => {
            let plan = read_plan(file)?;
            let state = ws.open_state().await?;
            check_fresh(&plan, state.as_ref(), file).await?;
            (plan, ws.load_catalogs()?, state)
        }
        None => {
            let planned = ws.plan(&args.select.schedules, &args.select.events).await?;
            super::note_ended(&planned.ended);
            (planned.plan, planned.config.catalogs, planned.state)
        }
    };
    if plan.is_empty() {
        if g.output == Output::Text {
            println!("No changes. The infrastructure matches the schedule.");
        }
        return Ok(Exit::Ok);
    }
    if g.output == Output::Text {
        print!("{}", display::render(&plan));
    }
    if plan.destroys() && !confirm("apply a plan that destroys resources", args.apply.yes)? {
        eprintln!("Cancelled; nothing was changed.");
        return Ok(Exit::Ok);
    }
    super::apply_and_report(ws, g, plan, catalogs, args.apply.parallelism, state).await
}

fn read_plan(file: &std::path::Path) -> anyhow::Result<Plan> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the plan {}", file.display()))?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        UsageError(format!(
            "{}:{}:{}: not a plan made by `orchestrate plan --out`: {e}",
            file.display(),
            e.line(),
            e.column()
        ))
    })?;
    plan.check()
        .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
    Ok(plan)
}

async fn check_fresh(
    plan: &Plan,
    state: &dyn StateStore,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    if plan.owner != state.owner() {
        return Err(UsageError(format!(
            "{} was made against another state (owner {}, this state is {}): run `orchestrate plan` again",
            file.display(),
            plan.owner,
            state.owner()
        ))
        .into());
    }
    let serial = state.serial().await?;
    if serial != plan.state_serial {
        return Err(UsageError(format!(
            "the state changed since {} was made (serial {} then, {serial} now): run `orchestrate plan` again",
            file.display(),
            plan.state_serial
        ))
        .into());
    }
    Ok(())
}
