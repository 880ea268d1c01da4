//! orchestrate: just-in-time live streaming infrastructure.
//!
//! The pure core (`config` validation, `model`, `plan`, `schedule`) does no I/O; `render`,
//! `state`, `providers` and `apply` are the edges. `cli` holds one file per subcommand.

pub mod config;
pub mod model;
pub mod plan;
pub mod render;
pub mod schedule;
