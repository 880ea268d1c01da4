//! `orchestrate run`: tick on an interval and whenever a schedule file changes, until asked to
//! stop. A stop request ends the daemon after the tick in flight (whose own steps finish); it
//! never tears anything down. A tick that fails, for a bad schedule edit or a held lock, is
//! reported and the daemon goes on.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use jiff::Timestamp;

use super::tick::{TickOutcome, tick};
use crate::apply::{ApplyOptions, Reporter};
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;

/// How often schedule files are checked for changes.
const WATCH_EVERY: Duration = Duration::from_millis(500);

pub struct DaemonOptions {
    pub schedules: Vec<PathBuf>,
    pub interval: Duration,
    pub apply: ApplyOptions,
}

/// What the daemon reports after each tick.
pub trait TickSink: Send + Sync {
    fn tick(&self, result: &anyhow::Result<TickOutcome>);
}

pub async fn run(
    ws: &Workspace,
    options: &DaemonOptions,
    reporter: Arc<dyn Reporter>,
    sink: &dyn TickSink,
    shutdown: &Shutdown,
) {
    let mut seen = fingerprint(ws, &options.schedules);
    loop {
        let result = tick(
            ws,
            &options.schedules,
            Timestamp::now(),
            reporter.clone(),
            &options.apply,
            shutdown,
        )
        .await;
        sink.tick(&result);
        // Wait for the interval, a schedule change, or a stop request.
        let deadline = tokio::time::Instant::now() + options.interval;
        loop {
            if shutdown.graceful.is_cancelled() {
                return;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                break;
            }
            tokio::select! {
                () = shutdown.graceful.cancelled() => return,
                () = tokio::time::sleep(WATCH_EVERY.min(deadline - now)) => {}
            }
            let current = fingerprint(ws, &options.schedules);
            if current != seen {
                seen = current;
                break;
            }
        }
    }
}

/// The schedule files and their modification times: a change to either means a new tick.
fn fingerprint(ws: &Workspace, schedules: &[PathBuf]) -> Vec<(PathBuf, Option<SystemTime>)> {
    let files = if schedules.is_empty() {
        crate::config::yaml_files(&ws.project.join("schedules")).unwrap_or_default()
    } else {
        schedules.to_vec()
    };
    files
        .into_iter()
        .map(|f| {
            let modified = std::fs::metadata(&f).and_then(|m| m.modified()).ok();
            (f, modified)
        })
        .collect()
}
