//! The state store: recorded resources, the intent journal (written before every provider step
//! and completed after it) and the history of step durations that lead times are learned from.

pub mod lock;
mod pg_connect;
mod pg_lock;
mod postgres;
mod rows;
mod sqlite;

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

pub use lock::{Holder, LockError, StateLock};
pub use pg_connect::split_root_cert;
pub use pg_lock::PgLock;
pub use postgres::{CopyError, PgState, redact};

pub use sqlite::{DB_FILE, SqliteState};

use crate::model::{RecordedResource, ResourceId, ResourceSpec};
use crate::plan::Op;

pub use crate::model::{HistoryEntry, JournalEntry};

/// A state's rows as stored, every value as text (or NULL), in the column orders below: what
/// `state migrate` copies from one backend to another.
#[derive(Debug, Clone, PartialEq)]
pub struct Dump {
    pub owner: String,
    pub serial: u64,
    pub resources: Vec<Vec<Option<String>>>,
    pub journal: Vec<Vec<Option<String>>>,
}

/// The resources table's columns, the same in both backends.
pub const RESOURCE_COLUMNS: &str = "id, provider, region, event, kind, status, provider_id, client_token, depends_on, spec, outputs, created_at, updated_at";
/// The journal's columns, the same in both backends.
pub const JOURNAL_ALL_COLUMNS: &str = "seq, resource, op, provider, region, kind, client_token, started_at, finished_at, outcome, attempts, duration_ms, error";

/// A queued write, resolved once committed.
pub type Commit =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StateError>> + Send>>;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// `at`: the state dir, or the database's URL without its password.
    #[error("cannot open the state in {at}")]
    Open {
        at: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "the state in {at} has schema version {found}; this orchestrate reads up to {supported}: upgrade orchestrate"
    )]
    Schema {
        at: String,
        found: i64,
        supported: i64,
    },
    #[error("state database error")]
    Db(#[from] crate::sqlite::WriterError),
    #[error("state database error (PostgreSQL): {0}")]
    Pg(String),
    #[error("state row for {id} is unreadable")]
    Corrupt {
        id: String,
        #[source]
        source: serde_json::Error,
    },
}

impl From<tokio_postgres::Error> for StateError {
    fn from(e: tokio_postgres::Error) -> Self {
        StateError::Pg(describe(&e))
    }
}

/// What PostgreSQL said, in full: the server's message with its detail and hint, or the
/// client's error with its causes (the client's own text is only its kind, "db error").
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!("{} ({})", db.message(), db.code().code());
        if let Some(d) = db.detail() {
            text.push_str(&format!("; {d}"));
        }
        if let Some(h) = db.hint() {
            text.push_str(&format!("; hint: {h}"));
        }
        return text;
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

impl From<rusqlite::Error> for StateError {
    fn from(e: rusqlite::Error) -> Self {
        StateError::Db(e.into())
    }
}

/// What is about to be asked of a provider.
#[derive(Debug, Clone)]
pub struct Intent<'a> {
    /// `Create`, `Update` or `Delete` (a replace is a delete then a create).
    pub op: Op,
    pub spec: &'a ResourceSpec,
    pub client_token: Option<String>,
    pub provider_id: Option<String>,
    /// The resource was left mid-step by an earlier run, whose journal entry may still be open.
    pub resuming: bool,
    /// The typical time of this step and of the longest chain of steps waiting for it, in ms:
    /// a store writing many intents at once writes those with the most work behind them first.
    pub rank: u64,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Created { provider_id: String, outputs: Value },
    Updated { outputs: Value },
    Deleted,
    Failed { error: String },
}

#[async_trait]
pub trait StateStore: Send + Sync {
    /// The id tagged on every resource this state creates (`orchestrate:owner`).
    fn owner(&self) -> &str;
    /// Changes on every committed write; a saved plan records it.
    async fn serial(&self) -> Result<u64, StateError>;
    async fn resources(&self) -> Result<Vec<RecordedResource>, StateError>;
    /// Journals the intent and marks the resource in progress; returns the journal sequence.
    async fn begin(&self, intent: &Intent<'_>) -> Result<i64, StateError>;
    /// Completes the journal entry, records the result and, on success, the step's duration.
    /// The write is queued before this returns (it gates nothing, so it is committed behind
    /// the intents); the future resolves once it is committed.
    fn finish(
        &self,
        seq: i64,
        intent: &Intent<'_>,
        outcome: Outcome,
        attempts: u32,
        elapsed: Duration,
    ) -> Commit;
    /// Resolves once every write queued before it is committed: an apply that abandons its
    /// steps still returns with their already-queued results on disk.
    async fn settle(&self) -> Result<(), StateError>;
    async fn journal(&self, limit: usize) -> Result<Vec<JournalEntry>, StateError>;
    /// Every journal entry of one event's resources, oldest first.
    async fn event_journal(&self, event: &str) -> Result<Vec<JournalEntry>, StateError>;
    async fn history(&self, limit: usize) -> Result<Vec<HistoryEntry>, StateError>;
    async fn resource(&self, id: &ResourceId) -> Result<Option<RecordedResource>, StateError> {
        Ok(self
            .resources()
            .await?
            .into_iter()
            .find(|r| &r.spec.id == id))
    }
}
