//! The health stream's signals and alerts as its readers take them back from `health.db`
//! (`watch`'s table, the console), and from the live bus in the same shape.

use jiff::Timestamp;
use serde::Deserialize;

use crate::monitor::engine::{Alert, AlertState};
use crate::monitor::{Metric, SignalRecord, Tier};

#[derive(Debug, Clone, Deserialize)]
pub struct SignalRow {
    pub at: Timestamp,
    pub metric: Metric,
    pub value: f64,
    pub event: String,
    pub region: String,
    pub tier: Tier,
    pub resource: String,
    #[serde(default)]
    pub rendition: Option<String>,
}

impl From<&SignalRecord> for SignalRow {
    fn from(s: &SignalRecord) -> Self {
        let l = &s.labels;
        Self {
            at: s.at,
            metric: s.metric,
            value: s.value,
            event: l.event.to_string(),
            region: l.region.to_string(),
            tier: l.tier,
            resource: l.resource.to_string(),
            rendition: l.rendition.as_deref().map(String::from),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct AlertRow {
    pub id: String,
    pub rule: String,
    pub severity: String,
    pub state: AlertState,
    pub at: Timestamp,
    pub since: Timestamp,
    pub event: String,
    pub region: String,
    pub tier: Tier,
    pub resource: String,
    #[serde(default)]
    pub rendition: Option<String>,
    pub message: String,
}

impl From<&Alert> for AlertRow {
    fn from(a: &Alert) -> Self {
        let l = &a.labels;
        Self {
            id: a.id.clone(),
            rule: a.rule.clone(),
            severity: a.severity.to_string(),
            state: a.state,
            at: a.at,
            since: a.since,
            event: l.event.to_string(),
            region: l.region.to_string(),
            tier: l.tier,
            resource: l.resource.to_string(),
            rendition: l.rendition.as_deref().map(String::from),
            message: a.message.clone(),
        }
    }
}
