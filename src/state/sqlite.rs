//! The embedded default state: SQLite (bundled) in `--state-dir`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use rand::Rng;
use rusqlite::{Connection, OptionalExtension, params};

use super::{Commit, HistoryEntry, Intent, JournalEntry, Outcome, StateError, StateStore};
use crate::model::{RecordedResource, ResourceStatus};
use crate::plan::Op;
use crate::sqlite::{GroupCommit, Priority, exec, open};

const SCHEMA_VERSION: i64 = 1;
pub const DB_FILE: &str = "state.db";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resources (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    region TEXT NOT NULL,
    event TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    provider_id TEXT,
    client_token TEXT,
    spec TEXT NOT NULL,
    outputs TEXT NOT NULL DEFAULT 'null',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_event ON resources(event);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    resource TEXT NOT NULL,
    op TEXT NOT NULL,
    client_token TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT,
    attempts INTEGER,
    error TEXT
);
CREATE INDEX IF NOT EXISTS journal_open ON journal(resource) WHERE finished_at IS NULL;
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    provider TEXT NOT NULL,
    region TEXT NOT NULL,
    kind TEXT NOT NULL,
    op TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_key ON history(provider, region, kind, op);
";

pub struct SqliteState {
    dir: PathBuf,
    owner: String,
    reader: Mutex<Connection>,
    writer: GroupCommit,
}

fn bump_serial(conn: &Connection) -> rusqlite::Result<()> {
    exec(
        conn,
        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'serial'",
        [],
    )
    .map(|_| ())
}

impl SqliteState {
    /// Opens the state in `dir`, creating it (with a fresh owner id) when absent.
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        let fail = |e: Box<dyn std::error::Error + Send + Sync>| StateError::Open {
            dir: dir.to_path_buf(),
            source: e,
        };
        std::fs::create_dir_all(dir).map_err(|e| fail(e.into()))?;
        let path = dir.join(DB_FILE);
        let conn = open(&path, false).map_err(|e| fail(e.into()))?;
        conn.execute_batch(SCHEMA).map_err(|e| fail(e.into()))?;
        let version: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key='schema'", [], |r| r.get(0))
            .optional()
            .map_err(|e| fail(e.into()))?;
        match version.and_then(|v| v.parse::<i64>().ok()) {
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StateError::Schema {
                    dir: dir.to_path_buf(),
                    found: v,
                    supported: SCHEMA_VERSION,
                });
            }
            Some(_) => {}
            None => {
                let owner = format!("{:016x}", rand::rng().random::<u64>());
                conn.execute_batch(&format!(
                    "INSERT OR IGNORE INTO meta VALUES ('schema', '{SCHEMA_VERSION}');
                     INSERT OR IGNORE INTO meta VALUES ('serial', '0');
                     INSERT OR IGNORE INTO meta VALUES ('owner', '{owner}');"
                ))
                .map_err(|e| fail(e.into()))?;
            }
        }
        let owner: String = conn
            .query_row("SELECT value FROM meta WHERE key='owner'", [], |r| r.get(0))
            .map_err(|e| fail(e.into()))?;
        let reader = open(&path, false).map_err(|e| fail(e.into()))?;
        let writer = GroupCommit::spawn(conn, "state", bump_serial).map_err(|e| fail(e.into()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            owner,
            reader: Mutex::new(reader),
            writer,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let conn = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }
}

fn ts(s: String) -> Timestamp {
    s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

fn op_name(op: Op) -> &'static str {
    op.as_str()
}

#[async_trait]
impl StateStore for SqliteState {
    fn owner(&self) -> &str {
        &self.owner
    }

    async fn serial(&self) -> Result<u64, StateError> {
        self.read(|c| {
            let s: String =
                c.query_row("SELECT value FROM meta WHERE key='serial'", [], |r| r.get(0))?;
            Ok(s.parse().unwrap_or(0))
        })
    }

    async fn resources(&self) -> Result<Vec<RecordedResource>, StateError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, status, provider_id, client_token, spec, outputs, created_at, updated_at
                 FROM resources ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, status, provider_id, client_token, spec, outputs, created, updated) = row?;
                let corrupt = |source| StateError::Corrupt {
                    id: id.clone(),
                    source,
                };
                out.push(RecordedResource {
                    spec: serde_json::from_str(&spec).map_err(corrupt)?,
                    status: ResourceStatus::parse(&status).unwrap_or(ResourceStatus::Failed),
                    provider_id,
                    client_token,
                    outputs: serde_json::from_str(&outputs).map_err(corrupt)?,
                    created_at: ts(created),
                    updated_at: ts(updated),
                });
            }
            Ok(out)
        })
    }

    async fn begin(&self, intent: &Intent<'_>) -> Result<i64, StateError> {
        let now = Timestamp::now().to_string();
        let spec_json = serde_json::to_string(intent.spec).unwrap_or_default();
        let s = intent.spec;
        let (id, provider, region, event, kind) = (
            s.id.0.clone(),
            s.provider.clone(),
            s.region.clone(),
            s.event.clone(),
            s.kind.clone(),
        );
        let (op, token, pid) = (intent.op, intent.client_token.clone(), intent.provider_id.clone());
        let seq = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
        let seq_out = seq.clone();
        self.writer
            .run(move |c| {
                // An intent still open for this resource belongs to a run that died: close it.
                exec(c, 
                    "UPDATE journal SET finished_at=?2, outcome='abandoned' WHERE resource=?1 AND finished_at IS NULL",
                    params![id, now],
                )?;
                exec(c, 
                    "INSERT INTO journal (resource, op, client_token, started_at) VALUES (?1, ?2, ?3, ?4)",
                    params![id, op_name(op), token, now],
                )?;
                seq.store(c.last_insert_rowid(), std::sync::atomic::Ordering::Relaxed);
                match op {
                    Op::Create => exec(c, 
                        "INSERT INTO resources (id, provider, region, event, kind, status, provider_id, client_token, spec, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, 'creating', ?6, ?7, ?8, ?9, ?9)
                         ON CONFLICT(id) DO UPDATE SET status='creating', client_token=?7,
                           provider=?2, spec=?8, updated_at=?9",
                        params![id, provider, region, event, kind, pid, token, spec_json, now],
                    )?,
                    Op::Update => exec(c, 
                        "UPDATE resources SET status='updating', updated_at=?2 WHERE id=?1",
                        params![id, now],
                    )?,
                    _ => exec(c, 
                        "UPDATE resources SET status='deleting', updated_at=?2 WHERE id=?1",
                        params![id, now],
                    )?,
                };
                Ok(())
            })
            .await?;
        Ok(seq_out.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn finish(
        &self,
        seq: i64,
        intent: &Intent<'_>,
        outcome: Outcome,
        attempts: u32,
        elapsed: Duration,
    ) -> Commit {
        let now = Timestamp::now().to_string();
        let s = intent.spec;
        let id = s.id.0.clone();
        // Only an update changes the recorded spec at the end of its step.
        let spec_json = if intent.op == Op::Update {
            serde_json::to_string(s).unwrap_or_default()
        } else {
            String::new()
        };
        let hist = (s.provider.clone(), s.region.clone(), s.kind.clone());
        let op = intent.op;
        let ms = elapsed.as_millis() as i64;
        let queued = self.writer.submit(Priority::Background, move |c| {
                let (label, error) = match &outcome {
                    Outcome::Failed { error } => ("failed", Some(error.clone())),
                    Outcome::Interrupted => ("interrupted", None),
                    _ => ("ok", None),
                };
                exec(c, 
                    "UPDATE journal SET finished_at=?2, outcome=?3, attempts=?4, error=?5 WHERE seq=?1",
                    params![seq, now, label, attempts, error],
                )?;
                match &outcome {
                    // The spec was written with the intent; only the answer is new.
                    Outcome::Created { provider_id, outputs } => {
                        exec(c, 
                            "UPDATE resources SET status='ready', provider_id=?2, outputs=?3, updated_at=?4 WHERE id=?1",
                            params![id, provider_id, outputs.to_string(), now],
                        )?;
                    }
                    Outcome::Updated { outputs } => {
                        exec(c, 
                            "UPDATE resources SET status='ready', outputs=?2, spec=?3, updated_at=?4 WHERE id=?1",
                            params![id, outputs.to_string(), spec_json, now],
                        )?;
                    }
                    Outcome::Deleted => {
                        exec(c, "DELETE FROM resources WHERE id=?1", params![id])?;
                    }
                    Outcome::Failed { .. } => {
                        exec(c, 
                            "UPDATE resources SET status='failed', updated_at=?2 WHERE id=?1",
                            params![id, now],
                        )?;
                    }
                    // The resource stays marked in progress: the next plan resumes it.
                    Outcome::Interrupted => {}
                }
                if label == "ok" {
                    exec(c, 
                        "INSERT INTO history (provider, region, kind, op, duration_ms, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![hist.0, hist.1, hist.2, op_name(op), ms, now],
                    )?;
                }
                Ok(())
            });
        Box::pin(async move { queued.await.map_err(StateError::from) })
    }

    async fn journal(&self, limit: usize) -> Result<Vec<JournalEntry>, StateError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT seq, resource, op, started_at, finished_at, outcome, attempts, error
                 FROM journal ORDER BY seq DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], |r| {
                Ok(JournalEntry {
                    seq: r.get(0)?,
                    resource: r.get(1)?,
                    op: r.get(2)?,
                    started_at: ts(r.get(3)?),
                    finished_at: r.get::<_, Option<String>>(4)?.map(ts),
                    outcome: r.get(5)?,
                    attempts: r.get(6)?,
                    error: r.get(7)?,
                })
            })?;
            let mut v: Vec<_> = rows.collect::<Result<_, _>>()?;
            v.reverse();
            Ok(v)
        })
    }

    async fn history(&self, limit: usize) -> Result<Vec<HistoryEntry>, StateError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT provider, region, kind, op, duration_ms, at FROM history ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], |r| {
                Ok(HistoryEntry {
                    provider: r.get(0)?,
                    region: r.get(1)?,
                    kind: r.get(2)?,
                    op: r.get(3)?,
                    duration_ms: r.get::<_, i64>(4)?.max(0) as u64,
                    at: ts(r.get(5)?),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}
