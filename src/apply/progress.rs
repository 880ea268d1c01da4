//! What the executor tells the person or program watching: indicatif bars per region on a
//! terminal, plain lines otherwise, NDJSON with `--output json`.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::ApplyReport;
use crate::model::ResourceId;
use crate::plan::Op;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ApplyEvent {
    Started {
        total: usize,
        regions: Vec<(String, usize)>,
    },
    StepStarted {
        id: ResourceId,
        op: Op,
        region: String,
    },
    StepRetry {
        id: ResourceId,
        attempt: u32,
        error: String,
        delay_ms: u64,
    },
    StepDone {
        id: ResourceId,
        op: Op,
        region: String,
        elapsed_ms: u64,
    },
    StepFailed {
        id: ResourceId,
        op: Op,
        region: String,
        error: String,
    },
    StepSkipped {
        id: ResourceId,
        region: String,
        because: ResourceId,
    },
    Stopping {
        in_flight: usize,
    },
    Finished {
        report: ApplyReport,
    },
}

pub trait Reporter: Send + Sync {
    fn event(&self, e: &ApplyEvent);
}

/// Reports nothing (benchmarks).
pub struct Silent;
impl Reporter for Silent {
    fn event(&self, _: &ApplyEvent) {}
}

/// One JSON object per line on stdout.
pub struct Ndjson;
impl Reporter for Ndjson {
    fn event(&self, e: &ApplyEvent) {
        if let Ok(line) = serde_json::to_string(e) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
        }
    }
}

fn verb(op: Op, done: bool) -> &'static str {
    match (op, done) {
        (Op::Create, false) => "creating",
        (Op::Create, true) => "created",
        (Op::Update, false) => "updating",
        (Op::Update, true) => "updated",
        (Op::Delete, false) => "destroying",
        (Op::Delete, true) => "destroyed",
        (Op::Replace, false) => "replacing",
        (Op::Replace, true) => "replaced",
        (Op::NoOp, _) => "unchanged",
    }
}

fn secs(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

/// Plain lines on stderr, for logs and pipes.
pub struct Lines;
impl Reporter for Lines {
    fn event(&self, e: &ApplyEvent) {
        if let Some(line) = plain(e) {
            eprintln!("{line}");
        }
    }
}

fn plain(e: &ApplyEvent) -> Option<String> {
    Some(match e {
        ApplyEvent::Started { total, regions } => format!(
            "Applying {total} step{} in {} region{}",
            if *total == 1 { "" } else { "s" },
            regions.len(),
            if regions.len() == 1 { "" } else { "s" }
        ),
        ApplyEvent::StepStarted { id, op, .. } => format!("{id}: {}…", verb(*op, false)),
        ApplyEvent::StepRetry {
            id,
            attempt,
            error,
            delay_ms,
        } => format!(
            "{id}: attempt {attempt} failed ({error}); retrying in {}",
            secs(*delay_ms)
        ),
        ApplyEvent::StepDone {
            id, op, elapsed_ms, ..
        } => format!("{id}: {} in {}", verb(*op, true), secs(*elapsed_ms)),
        ApplyEvent::StepFailed { id, op, error, .. } => {
            format!("{id}: {} failed: {error}", verb(*op, false))
        }
        ApplyEvent::StepSkipped { id, because, .. } => {
            format!("{id}: skipped because {because} failed")
        }
        ApplyEvent::Stopping { in_flight } => {
            format!("Stopping after the {in_flight} step(s) in flight")
        }
        ApplyEvent::Finished { report } => summary(report),
    })
}

pub fn summary(r: &ApplyReport) -> String {
    let mut s = format!("Done: {} step(s) in {}", r.done, secs(r.elapsed_ms));
    if !r.failed.is_empty() {
        s.push_str(&format!(", {} failed", r.failed.len()));
    }
    if r.skipped > 0 {
        s.push_str(&format!(", {} skipped", r.skipped));
    }
    if r.not_started > 0 {
        s.push_str(&format!(", {} not started", r.not_started));
    }
    if r.abandoned > 0 {
        s.push_str(&format!(", {} abandoned in flight", r.abandoned));
    }
    s.push('.');
    s
}

/// A progress bar per region on a terminal; failures and retries printed above the bars.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Default for Bars {
    fn default() -> Self {
        Self::new()
    }
}

impl Bars {
    pub fn new() -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(HashMap::new()),
        }
    }
}

impl Reporter for Bars {
    fn event(&self, e: &ApplyEvent) {
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        match e {
            ApplyEvent::Started { regions, .. } => {
                let style = ProgressStyle::with_template(
                    "{prefix:>14} [{bar:30}] {pos}/{len} {elapsed:>4} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
                for (region, n) in regions {
                    let b = self.multi.add(ProgressBar::new(*n as u64));
                    b.set_style(style.clone());
                    b.set_prefix(region.clone());
                    bars.insert(region.clone(), b);
                }
            }
            ApplyEvent::StepStarted { id, op, region } => {
                if let Some(b) = bars.get(region) {
                    b.set_message(format!("{} {id}", verb(*op, false)));
                }
            }
            ApplyEvent::StepDone { region, .. } => {
                if let Some(b) = bars.get(region) {
                    b.inc(1);
                }
            }
            ApplyEvent::StepFailed { region, .. } | ApplyEvent::StepSkipped { region, .. } => {
                if let Some(b) = bars.get(region) {
                    b.inc(1);
                }
                if let Some(line) = plain(e) {
                    let _ = self.multi.println(line);
                }
            }
            ApplyEvent::StepRetry { .. } | ApplyEvent::Stopping { .. } => {
                if let Some(line) = plain(e) {
                    let _ = self.multi.println(line);
                }
            }
            ApplyEvent::Finished { report } => {
                for b in bars.values() {
                    b.finish_and_clear();
                }
                eprintln!("{}", summary(report));
            }
        }
    }
}
