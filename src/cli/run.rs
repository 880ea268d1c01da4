use std::time::Duration;

use clap::Args as ClapArgs;

use super::{Global, Output, parse_duration, reporter};
use crate::apply::ApplyOptions;
use crate::apply::ApplyReport;
use crate::exit::Exit;
use crate::ops::daemon::{DaemonOptions, TickSink, run};
use crate::ops::tick::TickReport;
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;

/// Run as a daemon: tick on an interval and whenever a schedule file changes.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate run                         reconcile as the schedule and its files change
  orchestrate run --interval 10s --output json

  orchestrate run --listen 0.0.0.0:7878   serve the health endpoints beyond this machine

It holds the state lock while it runs: use it or `tick` from cron, not both.
Applies run side by side: a slow teardown never delays the next event's start.
SIGTERM or Ctrl-C lets the steps in flight finish; nothing is torn down.
A bad schedule edit is reported and the daemon goes on with the last good one.

While an event's encoders and origin are up it probes every tier and applies the profile's
monitoring rules; alerts are printed, and everything is recorded in <state>/health.db
(`orchestrate watch` reads it). The endpoints need the bearer token in <state>/api-token:
  curl -H \"Authorization: Bearer $(cat .orchestrate/api-token)\" http://127.0.0.1:7878/metrics")]
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
    /// Where the health endpoints listen (`/v1/events`, `/metrics`, `/v1/status`); port 0
    /// picks a free one. The address is also written to <state>/api-addr.
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "ADDR:PORT")]
    pub listen: std::net::SocketAddr,
    /// Do not probe on-air events (nor serve the health endpoints).
    #[arg(long)]
    pub no_monitor: bool,
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
    let mut monitor = None;
    let mut served = None;
    if !args.no_monitor {
        let m = crate::monitor::hub::Monitor::start()?;
        served = Some(serve(ws, g.output, &m, args.listen, &shutdown).await?);
        monitor = Some(m);
    }
    let result = run(
        ws,
        &options,
        reporter(g.output),
        &Sink(g.output),
        &shutdown,
        monitor.as_mut(),
    )
    .await;
    if let Some(m) = monitor {
        m.stop().await;
    }
    if let Some(tasks) = served {
        for t in tasks {
            let _ = t.await;
        }
    }
    result?;
    if g.output == Output::Text {
        eprintln!("Stopped; the infrastructure is left as it is.");
    }
    Ok(Exit::Ok)
}

/// Starts the health stream's outlets: the store, the alert printer and the endpoints.
async fn serve(
    ws: &Workspace,
    output: Output,
    monitor: &crate::monitor::hub::Monitor,
    listen: std::net::SocketAddr,
    shutdown: &Shutdown,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    use crate::monitor::health::Health;
    use crate::monitor::stream::{http, store};
    use anyhow::Context;
    let state_dir = &ws.state_dir;
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("cannot create {}", state_dir.display()))?;
    let token_file = state_dir.join(http::TOKEN_FILE);
    let token = crate::files::token(&token_file)
        .with_context(|| format!("cannot write {}", token_file.display()))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (--listen)"))?;
    let addr = listener.local_addr()?;
    crate::files::write_atomic(&state_dir.join("api-addr"), addr.to_string().as_bytes())?;
    let writer = store::spawn_writer(state_dir, monitor.subscribe()).map_err(|e| {
        anyhow::anyhow!(
            "cannot open {}: {e}",
            state_dir.join(store::HEALTH_DB).display()
        )
    })?;
    let router = http::router(http::Api {
        view: monitor.view(),
        token,
        stop: shutdown.graceful.clone(),
    });
    let stop = shutdown.graceful.clone();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
    });
    let mut alerts = monitor.subscribe();
    let printer = tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match alerts.recv().await {
                Ok(h) => {
                    if let Health::Action(a) = &*h {
                        match output {
                            Output::Json => {
                                if let Ok(line) = serde_json::to_string(&*h) {
                                    println!("{line}");
                                }
                            }
                            Output::Text => {
                                println!("{}  {}", a.at.strftime("%Y-%m-%d %H:%M:%S"), a.line())
                            }
                        }
                    }
                    if let Health::Alert(a) = &*h {
                        if a.state == crate::monitor::engine::AlertState::Pending {
                            continue;
                        }
                        match output {
                            Output::Json => {
                                if let Ok(line) = serde_json::to_string(&*h) {
                                    println!("{line}");
                                }
                            }
                            Output::Text => println!(
                                "{}  {} {} [{}] {}",
                                a.at.strftime("%Y-%m-%d %H:%M:%S"),
                                match a.state {
                                    crate::monitor::engine::AlertState::Firing => "FIRING",
                                    _ => "RESOLVED",
                                },
                                a.severity,
                                a.id,
                                a.message
                            ),
                        }
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    });
    if output == Output::Text {
        eprintln!(
            "Health endpoints on http://{addr} (bearer token in {}).",
            token_file.display()
        );
    }
    Ok(vec![server, writer, printer])
}
