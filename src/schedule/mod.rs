//! The clock side of the schedule: lead times and windows (pure).

pub mod lead;
