use clap::Args as ClapArgs;

use super::{Global, Output, apply_exit, reporter};
use crate::apply::ApplyOptions;
use crate::exit::{Exit, UsageError};
use crate::ops::tick::{TickReport, tick};
use crate::schedule::handoff::Handoff;
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;

/// Reconcile every scheduled event to where the clock says it should be: provision the events
/// entering their window, keep the live ones, tear down the ended, moved and cancelled ones.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate tick                                   from cron, every minute
  orchestrate tick --output json                     NDJSON progress, then a `tick` summary line
  orchestrate tick --now 2030-12-05T19:35:00Z        as if it were that time (rehearsals, tests)
  orchestrate tick --dry-run --now 2030-12-05T19:35:00Z   what a tick then would do, doing nothing

It never asks for confirmation: tearing down what the schedule no longer needs is its job.
When a show with a VOD is over, its archive is packaged first and the rest waits for it.
Exit codes: 0 ok, 1 failure, 2 configuration error, 3 another tick holds the lock, 4 partial.")]
pub struct Args {
    /// Schedule file (repeatable) [default: every *.yaml in <project>/schedules].
    #[arg(short = 's', long = "schedule", value_name = "FILE")]
    pub schedules: Vec<std::path::PathBuf>,
    /// The time to reconcile to (RFC 3339 with an offset) [default: now].
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Show what the tick would do (its plan, and each event's phase), and do nothing: no
    /// provider is changed, no lock is taken.
    #[arg(long)]
    pub dry_run: bool,
    /// Cap on steps in flight [default: none; only dependencies and rate limits bound it].
    #[arg(long, value_name = "K")]
    pub parallelism: Option<usize>,
}

/// `--now TIME`, or the clock.
pub fn now_of(now: Option<&str>) -> Result<jiff::Timestamp, UsageError> {
    match now {
        Some(s) => s.parse().map_err(|_| {
            UsageError(format!(
                "--now `{s}` is not an RFC 3339 time with an offset (e.g. 2030-12-05T19:35:00Z)"
            ))
        }),
        None => Ok(crate::clock::now()),
    }
}

pub async fn exec(ws: &Workspace, g: &Global, args: Args) -> anyhow::Result<Exit> {
    let now = now_of(args.now.as_deref())?;
    if args.dry_run {
        return dry_run(ws, g, &args, now).await;
    }
    let shutdown = Shutdown::new();
    shutdown.on_signals();
    let outcome = tick(
        ws,
        &args.schedules,
        now,
        reporter(g.output),
        &ApplyOptions {
            parallelism: args.parallelism,
        },
        &shutdown,
    )
    .await?;
    let report = &outcome.report;
    match g.output {
        Output::Json => {
            let mut line = serde_json::to_value(report)?;
            line["event"] = "tick".into();
            println!("{line}");
        }
        Output::Text => print_text(report),
    }
    for alert in &report.alerts {
        eprintln!("ALERT: {alert}");
    }
    let exit = match &report.apply {
        Some(applied) => apply_exit(applied, &outcome.plan, &shutdown),
        None => Exit::Ok,
    };
    // A hand-off that gave up is a failure of that event while the others went on.
    Ok(if exit == Exit::Ok && !report.alerts.is_empty() {
        Exit::Partial
    } else {
        exit
    })
}

async fn dry_run(
    ws: &Workspace,
    g: &Global,
    args: &Args,
    now: jiff::Timestamp,
) -> anyhow::Result<Exit> {
    let outcome = crate::ops::tick::preview(ws, &args.schedules, now).await?;
    match g.output {
        Output::Json => {
            let mut line = serde_json::to_value(&outcome.report)?;
            line["event"] = "tick".into();
            line["dry_run"] = true.into();
            line["plan"] = serde_json::to_value(outcome.plan.as_ref())?;
            println!("{line}");
        }
        Output::Text => {
            print!("{}", crate::plan::display::render(&outcome.plan));
            print_text(&outcome.report);
            println!("Dry run: nothing was done.");
        }
    }
    Ok(Exit::Ok)
}

fn print_text(r: &TickReport) {
    println!("Tick at {}:", r.now.strftime("%Y-%m-%d %H:%M:%S UTC"));
    if r.events.is_empty() {
        println!("  no events scheduled");
    }
    let w = r
        .events
        .iter()
        .map(|e| e.id.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "  {:<w$}  {:<12}  {:<26}  LEAD",
        "EVENT", "PHASE", "WINDOW (UTC)"
    );
    for e in &r.events {
        println!(
            "  {:<w$}  {:<12}  {:<26}  {} ({})",
            e.id,
            e.phase.as_str(),
            format!(
                "{} → {}",
                e.provision_at.strftime("%m-%d %H:%M"),
                e.release_at.strftime("%m-%d %H:%M")
            ),
            e.lead,
            e.lead_from.as_str()
        );
    }
    for h in &r.handoffs {
        println!(
            "  {} in {}: VOD {}",
            h.event,
            h.region,
            describe(&h.handoff)
        );
    }
    for id in &r.removed_events {
        println!("  {id}: no longer scheduled; its resources are torn down");
    }
    let c = r.changes;
    if c.create + c.update + c.replace + c.delete == 0 {
        println!("Nothing to change.");
    }
}

fn describe(h: &Handoff) -> String {
    match h {
        Handoff::Package { attempt: 1 } => "packaging; teardown follows".into(),
        Handoff::Package { attempt } => format!("packaging (attempt {attempt}); teardown follows"),
        Handoff::Waiting { attempt, retry_at } => format!(
            "packaging failed; attempt {attempt} at {}",
            retry_at.strftime("%H:%M:%S UTC")
        ),
        Handoff::Published => "published".into(),
        Handoff::GaveUp { reason } => format!("hand-off gave up: {reason}; archive kept"),
        Handoff::NoArchive => "none: no archive was recorded".into(),
        Handoff::NotAired { reason } => {
            format!("none: the show never went on air ({reason}); the archive goes too")
        }
    }
}
