//! Operations the commands share, above the pure core: applying a plan as a command does,
//! one reconciliation to the clock (`tick`), the daemon that keeps reconciling (`run`), and
//! the VOD hand-off sequence. Commands in `cli/` parse, call one of these and print.

pub mod apply;
pub mod daemon;
pub mod handoff;
pub mod report;
pub mod sweep;
pub mod tick;
