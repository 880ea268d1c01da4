use std::collections::BTreeMap;
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
  curl -H \"Authorization: Bearer $(cat .orchestrate/api-token)\" http://127.0.0.1:7878/metrics

The web console is on the same address (http://127.0.0.1:7878/): `run` prints a one-time
sign-in link for an operator (may approve and reject) and one for a viewer; the tokens in
<state>/console-operator-token and <state>/console-viewer-token also sign in.")]
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
    /// Where the health endpoints (`/v1/events`, `/metrics`, `/v1/status`) and the web console
    /// (`/`) listen; port 0 picks a free one. The address is also written to <state>/api-addr.
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "ADDR:PORT")]
    pub listen: std::net::SocketAddr,
    /// Do not probe on-air events (nor serve the health endpoints).
    #[arg(long)]
    pub no_monitor: bool,
}

/// Prints what the daemon does, and hands each reconciliation's report to the console.
struct Sink(Output, Option<ForConsole>);

/// What the console is given of each reconciliation: its report, with the last hand-off of each
/// place the schedule still has (a tick stops reporting a hand-off once the event is done).
struct ForConsole {
    ticks: tokio::sync::watch::Sender<Option<TickReport>>,
    handoffs: std::sync::Mutex<BTreeMap<(String, String), crate::ops::tick::HandoffReport>>,
}

impl ForConsole {
    fn send(&self, r: &TickReport) {
        let mut known = self.handoffs.lock().unwrap_or_else(|p| p.into_inner());
        for h in &r.handoffs {
            known.insert((h.event.clone(), h.region.clone()), h.clone());
        }
        known.retain(|(event, _), _| r.events.iter().any(|e| &e.id == event));
        let mut r = r.clone();
        r.handoffs = known.values().cloned().collect();
        self.ticks.send_replace(Some(r));
    }
}

impl TickSink for Sink {
    fn tick(&self, result: &anyhow::Result<TickReport>) {
        if let (Some(console), Ok(r)) = (&self.1, result) {
            console.send(r);
        }
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
                let mut phases = BTreeMap::new();
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
    let (ticks, ticks_rx) = tokio::sync::watch::channel(None);
    if !args.no_monitor {
        let m = crate::monitor::hub::Monitor::start()?;
        let outlets = Outlets {
            output: g.output,
            listen: args.listen,
            schedules: options.schedules.clone(),
            ticks: ticks_rx,
        };
        served = Some(serve(ws, &m, outlets, &shutdown).await?);
        monitor = Some(m);
    }
    let result = run(
        ws,
        &options,
        reporter(g.output),
        &Sink(
            g.output,
            Some(ForConsole {
                ticks,
                handoffs: Default::default(),
            }),
        ),
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

struct Outlets {
    output: Output,
    listen: std::net::SocketAddr,
    schedules: Vec<std::path::PathBuf>,
    ticks: tokio::sync::watch::Receiver<Option<TickReport>>,
}

/// Starts the health stream's outlets: the store, the alert printer, the endpoints and the
/// console.
async fn serve(
    ws: &Workspace,
    monitor: &crate::monitor::hub::Monitor,
    outlets: Outlets,
    shutdown: &Shutdown,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let Outlets {
        output,
        listen,
        schedules,
        ticks,
    } = outlets;
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
    let auth = crate::console::auth::Auth::open(state_dir)
        .with_context(|| format!("cannot write the console's keys in {}", state_dir.display()))?;
    let operator_code = auth.one_time_code(crate::console::auth::Role::Operator);
    let viewer_code = auth.one_time_code(crate::console::auth::Role::Viewer);
    // Subscribed before the store is read, so nothing falls between the two.
    let (screen, feeder) = crate::console::Console::feed(state_dir, monitor.subscribe());
    let console = crate::console::Console {
        auth,
        view: monitor.view(),
        screen,
        ticks,
        thumbs: Default::default(),
        workspace: std::sync::Arc::new(ws.clone()),
        schedules,
        stop: shutdown.graceful.clone(),
    };
    let router = http::router(http::Api {
        view: monitor.view(),
        token,
        stop: shutdown.graceful.clone(),
    })
    .merge(crate::console::router(console));
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
    let login = |code: &str| format!("http://{addr}/login?token={code}");
    match output {
        Output::Text => {
            eprintln!(
                "Health endpoints on http://{addr} (bearer token in {}).",
                token_file.display()
            );
            eprintln!(
                "Console: {} (operator; works once)\n  viewer: {} (reads only; works once)",
                login(&operator_code),
                login(&viewer_code)
            );
        }
        Output::Json => println!(
            "{}",
            serde_json::json!({
                "event": "console",
                "url": format!("http://{addr}/"),
                "operator_login": login(&operator_code),
                "viewer_login": login(&viewer_code),
            })
        ),
    }
    Ok(vec![server, writer, printer, feeder])
}
