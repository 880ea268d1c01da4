//! Signals: one measurement of one series (a metric of one tier of one event in one region, for
//! one resource and, where it applies, one rendition) at one time.
//!
//! A probe makes its [`Series`] once and sends signals that share it, so that rules look their
//! state up by a number instead of hashing labels for every value.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use crate::metric::{Metric, Tier};

/// Who a series is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Labels {
    pub event: Arc<str>,
    pub region: Arc<str>,
    pub tier: Tier,
    /// The resource probed (`encoder`, `origin`…) and, where there are several, its pipeline.
    pub resource: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rendition: Option<Arc<str>>,
}

/// One metric of one labelled thing; `id` is unique in the process.
#[derive(Debug)]
pub struct Series {
    pub id: u64,
    pub metric: Metric,
    pub labels: Labels,
}

static NEXT_SERIES: AtomicU64 = AtomicU64::new(1);

impl Series {
    pub fn new(metric: Metric, labels: Labels) -> Arc<Self> {
        Arc::new(Self {
            id: NEXT_SERIES.fetch_add(1, Ordering::Relaxed),
            metric,
            labels,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Signal {
    pub series: Arc<Series>,
    pub at: Timestamp,
    pub value: f64,
}

impl Signal {
    pub fn new(series: &Arc<Series>, at: Timestamp, value: f64) -> Self {
        Self {
            series: series.clone(),
            at,
            value,
        }
    }
}

/// A signal as it travels on the health stream.
#[derive(Debug, Clone, Serialize)]
pub struct SignalRecord {
    pub at: Timestamp,
    pub metric: Metric,
    pub value: f64,
    #[serde(flatten)]
    pub labels: Labels,
}

impl From<&Signal> for SignalRecord {
    fn from(s: &Signal) -> Self {
        Self {
            at: s.at,
            metric: s.series.metric,
            value: s.value,
            labels: s.series.labels.clone(),
        }
    }
}
