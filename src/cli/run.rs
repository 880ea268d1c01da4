use std::time::Duration;

use clap::Args as ClapArgs;

use super::{Global, Output, parse_duration, reporter};
use crate::apply::ApplyOptions;
use crate::apply::ApplyReport;
use crate::exit::Exit;
use crate::schedule::daemon::{DaemonOptions, TickSink, run};
use crate::schedule::tick::TickReport;
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;

/// Run as a daemon: tick on an interval and whenever a schedule file changes.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate run                         reconcile as the schedule and its files change
  orchestrate run --interval 10s --output json

It holds the state lock while it runs: use it or `tick` from cron, not both.
Applies run side by side: a slow teardown never delays the next event's start.
SIGTERM or Ctrl-C lets the steps in flight finish; nothing is torn down.
A bad schedule edit is reported and the daemon goes on with the last good one.")]
pub struct Args {
    /// Schedule file (repeatable) [default: every *.yaml in <project>/schedules].
    #[arg(short = 's', long = "schedule", value_name = "FILE")]
    pub schedules: Vec<std::path::PathBuf>,
    /// Longest time between reconciliations (the schedule's own changes and schedule file
    /// edits trigger one at once).
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub interval: Duration,
    /// Cap on steps in flight [default: none].
    #[arg(long, value_name = "K")]
    pub parallelism: Option<usize>,
}

struct Sink(Output);

impl TickSink for Sink {
    fn tick(&self, result: &anyhow::Result<TickReport>) {
        match (self.0, result) {
            (Output::Json, Ok(r)) => {
                if let Ok(mut line) = serde_json::to_value(r) {
                    line["event"] = "tick".into();
                    println!("{line}");
                }
            }
            (Output::Text, Ok(r)) => {
                for alert in &r.alerts {
                    eprintln!("ALERT: {alert}");
                }
                if r.changes.create + r.changes.update + r.changes.replace + r.changes.delete == 0 {
                    return;
                }
                let mut phases = std::collections::BTreeMap::new();
                for e in &r.events {
                    *phases.entry(e.phase.as_str()).or_insert(0) += 1;
                }
                let phases: Vec<String> = phases.iter().map(|(p, n)| format!("{n} {p}")).collect();
                let c = r.changes;
                println!(
                    "{}  {}; starting {} to create, {} to update, {} to replace, {} to destroy",
                    r.now.strftime("%Y-%m-%d %H:%M:%S"),
                    if phases.is_empty() {
                        "no events".into()
                    } else {
                        phases.join(", ")
                    },
                    c.create,
                    c.update,
                    c.replace,
                    c.delete
                );
            }
            (Output::Json, Err(e)) => {
                println!(
                    "{}",
                    serde_json::json!({"event": "tick_failed", "error": format!("{e:#}")})
                );
            }
            (Output::Text, Err(e)) => eprintln!("tick failed: {e:#}"),
        }
    }

    fn applied(
        &self,
        keys: &std::collections::BTreeSet<String>,
        result: &anyhow::Result<ApplyReport>,
    ) {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        match (self.0, result) {
            (Output::Json, Ok(r)) => println!(
                "{}",
                serde_json::json!({"event": "applied", "keys": keys, "report": r})
            ),
            (Output::Json, Err(e)) => println!(
                "{}",
                serde_json::json!({"event": "apply_failed", "keys": keys, "error": format!("{e:#}")})
            ),
            (Output::Text, Ok(r)) => println!(
                "{}  applied for {}: {} done, {} failed",
                crate::clock::now().strftime("%Y-%m-%d %H:%M:%S"),
                keys.join(", "),
                r.done,
                r.failed.len()
            ),
            (Output::Text, Err(e)) => eprintln!("apply for {} failed: {e:#}", keys.join(", ")),
        }
    }
}

pub async fn exec(ws: &Workspace, g: &Global, args: Args) -> anyhow::Result<Exit> {
    let shutdown = Shutdown::new();
    shutdown.on_signals();
    let options = DaemonOptions {
        schedules: args.schedules,
        interval: args.interval,
        apply: ApplyOptions {
            parallelism: args.parallelism,
        },
        until: None,
        skip_idle: false,
    };
    run(ws, &options, reporter(g.output), &Sink(g.output), &shutdown).await?;
    if g.output == Output::Text {
        eprintln!("Stopped; the infrastructure is left as it is.");
    }
    Ok(Exit::Ok)
}
