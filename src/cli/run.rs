use std::time::Duration;

use clap::Args as ClapArgs;

use super::{Global, Output, parse_duration, reporter};
use crate::apply::ApplyOptions;
use crate::exit::Exit;
use crate::schedule::daemon::{DaemonOptions, TickSink, run};
use crate::schedule::tick::TickOutcome;
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;

/// Run as a daemon: tick on an interval and whenever a schedule file changes.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate run                         tick every 30 s and on every schedule edit
  orchestrate run --interval 10s --output json

SIGTERM or Ctrl-C stops it after the tick in flight; nothing is torn down.
A tick that fails (a bad schedule edit, a held lock) is reported and the daemon goes on.")]
pub struct Args {
    /// Schedule file (repeatable) [default: every *.yaml in <project>/schedules].
    #[arg(short = 's', long = "schedule", value_name = "FILE")]
    pub schedules: Vec<std::path::PathBuf>,
    /// Time between ticks when no schedule file changes.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub interval: Duration,
    /// Cap on steps in flight [default: none].
    #[arg(long, value_name = "K")]
    pub parallelism: Option<usize>,
}

struct Sink(Output);

impl TickSink for Sink {
    fn tick(&self, result: &anyhow::Result<TickOutcome>) {
        match (self.0, result) {
            (Output::Json, Ok(o)) => {
                if let Ok(mut line) = serde_json::to_value(&o.report) {
                    line["event"] = "tick".into();
                    println!("{line}");
                }
            }
            (Output::Text, Ok(o)) => {
                let r = &o.report;
                let mut phases = std::collections::BTreeMap::new();
                for e in &r.events {
                    *phases.entry(e.phase.as_str()).or_insert(0) += 1;
                }
                let phases: Vec<String> = phases.iter().map(|(p, n)| format!("{n} {p}")).collect();
                let c = r.changes;
                println!(
                    "{}  {}; {} created, {} updated, {} replaced, {} destroyed",
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
    };
    run(ws, &options, reporter(g.output), &Sink(g.output), &shutdown).await;
    if g.output == Output::Text {
        eprintln!("Stopped; the infrastructure is left as it is.");
    }
    Ok(Exit::Ok)
}
