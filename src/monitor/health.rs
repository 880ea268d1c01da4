//! One item of the health stream: a signal, an alert or an action, as the bus carries it and
//! the store, the SSE endpoint, the metrics and the actions runner read it.

use jiff::Timestamp;
use serde::Serialize;

use super::SignalRecord;
use super::actions::ActionRecord;
use super::engine::Alert;

/// One item of the health stream.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Health {
    Signal(SignalRecord),
    Alert(Alert),
    Action(ActionRecord),
}

impl Health {
    pub fn at(&self) -> Timestamp {
        match self {
            Health::Signal(s) => s.at,
            Health::Alert(a) => a.at,
            Health::Action(a) => a.at,
        }
    }
    /// `signal`, `alert` or `action`: the stream's `type` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Health::Signal(_) => "signal",
            Health::Alert(_) => "alert",
            Health::Action(_) => "action",
        }
    }

    pub fn labels(&self) -> &super::Labels {
        match self {
            Health::Signal(s) => &s.labels,
            Health::Alert(a) => &a.labels,
            Health::Action(a) => &a.labels,
        }
    }
}
