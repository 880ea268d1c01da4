//! The clock, pure: lead times, windows, phases and where each VOD hand-off stands. What acts
//! on them (`tick`, the daemon) is in `ops`.

pub mod handoff;
pub mod lead;
pub mod phase;
pub mod timeline;
