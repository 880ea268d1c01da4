//! The clock: lead times, windows and phases (pure), and `tick`, which reconciles to them.

pub mod daemon;
pub mod handoff;
pub mod lead;
pub mod phase;
pub mod tick;
pub mod timeline;
