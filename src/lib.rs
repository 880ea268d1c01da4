//! orchestrate: just-in-time live streaming infrastructure.
//!
//! The pure core (`config` validation, `model`, `plan`, `schedule`) does no I/O; `render`,
//! `state`, `providers`, `apply`, `monitor`'s probes and `vod` are the edges. `ops` holds the
//! operations commands share (apply a plan, tick, the daemon, the hand-off, sweep's order);
//! `cli` holds one file per subcommand, each calling one operation. Providers register in
//! `providers::registry`, one folder each. docs/architecture.md draws the layers.

pub mod apply;
#[cfg(feature = "bench")]
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod exit;
pub mod files;
pub mod http;
pub mod media;
pub mod metric;
pub mod model;
pub mod monitor;
pub mod ops;
pub mod plan;
pub mod providers;
pub mod ratelimit;
pub mod render;
pub mod report;
pub mod schedule;
pub mod shutdown;
pub mod sqlite;
pub mod state;
pub mod suggest;
pub mod syncmark;
pub mod tools;
pub mod vod;
pub mod workspace;
