//! orchestrate: just-in-time live streaming infrastructure.
//!
//! The pure core (`config` validation, `model`, `plan`, `schedule`) does no I/O; `render`,
//! `state`, `providers` and `apply` are the edges. `cli` holds one file per subcommand.

pub mod apply;
#[cfg(feature = "bench")]
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod exit;
pub mod files;
pub mod http;
pub mod media;
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
pub mod tools;
pub mod vod;
pub mod workspace;
