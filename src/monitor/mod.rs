//! Monitoring while on air: probes per tier send [`Signal`]s; the [`engine`] turns them into
//! alerts by the profile's rules; everything goes out on the health stream.

pub mod actions;
pub mod engine;
pub mod health;
pub mod hub;
pub mod probes;
pub mod rules;
pub mod signal;
pub mod stream;
pub mod targets;

pub use signal::{Labels, Metric, Series, Signal, SignalRecord, Tier};
