//! What the state's journal and step history record, as the pure core reads them (the hand-off,
//! learned leads, reports).

use jiff::Timestamp;
use serde::Serialize;

/// One step of the journal: an intent, and its outcome once the step is over.
#[derive(Debug, Clone, Serialize)]
pub struct JournalEntry {
    pub seq: i64,
    pub resource: String,
    pub op: String,
    pub provider: String,
    pub region: String,
    pub kind: super::Kind,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub outcome: Option<String>,
    pub attempts: Option<u32>,
    pub duration_ms: Option<u64>,
    pub error: Option<String>,
}

/// One finished step's duration, for learning how long creates take.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub provider: String,
    pub region: String,
    pub kind: super::Kind,
    pub op: String,
    pub duration_ms: u64,
    pub at: Timestamp,
}
