//! The embedded default state: SQLite (bundled) in `--state-dir`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{intent_spec, recorded_spec, ts};
use super::{Commit, HistoryEntry, Intent, JournalEntry, Outcome, StateError, StateStore};

use crate::model::{RecordedResource, ResourceStatus};
use crate::plan::Op;
use crate::sqlite::{GroupCommit, Priority, exec, open, open_store};

const SCHEMA_VERSION: i64 = 1;
pub const DB_FILE: &str = "state.db";

// The intent row is kept small (it gates the provider call): identity, dependencies and the
// client token are what a resumed create or a teardown needs. The full spec arrives with the
// completion. History is the journal's successful steps. `resources` is a rowid table: its rows
// hold specs of a kilobyte or more, which SQLite advises against in a WITHOUT ROWID table (states
// created before keep that layout; the statements are the same for both).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS resources (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    region TEXT NOT NULL,
    event TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    provider_id TEXT,
    client_token TEXT,
    depends_on TEXT NOT NULL,
    spec TEXT,
    outputs TEXT NOT NULL DEFAULT 'null',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    resource TEXT NOT NULL,
    op TEXT NOT NULL,
    provider TEXT NOT NULL,
    region TEXT NOT NULL,
    kind TEXT NOT NULL,
    client_token TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT,
    attempts INTEGER,
    duration_ms INTEGER,
    error TEXT
);
CREATE INDEX IF NOT EXISTS journal_open ON journal(resource) WHERE finished_at IS NULL;
CREATE VIEW IF NOT EXISTS history AS
    SELECT seq, provider, region, kind, op, duration_ms, finished_at AS at
    FROM journal WHERE outcome = 'ok';
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
            at: dir.display().to_string(),
            source: e,
        };
        let conn = open_store(dir, DB_FILE, SCHEMA).map_err(fail)?;
        let path = dir.join(DB_FILE);
        let version: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key='schema'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| fail(e.into()))?;
        match version.and_then(|v| v.parse::<i64>().ok()) {
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StateError::Schema {
                    at: dir.display().to_string(),
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

fn op_name(op: Op) -> &'static str {
    op.as_str()
}

impl SqliteState {
    /// Every row as stored, for copying the state elsewhere (`state migrate`).
    pub fn dump(&self) -> Result<super::Dump, StateError> {
        self.read(|c| {
            let meta = |key: &str| -> Result<String, StateError> {
                Ok(c.query_row("SELECT value FROM meta WHERE key=?1", [key], |r| r.get(0))?)
            };
            let texts = |sql: &str, n: usize| -> Result<Vec<Vec<Option<String>>>, StateError> {
                let mut stmt = c.prepare(sql)?;
                let rows = stmt.query_map([], |r| {
                    (0..n)
                        .map(|i| {
                            Ok(match r.get_ref(i)? {
                                rusqlite::types::ValueRef::Null => None,
                                rusqlite::types::ValueRef::Integer(v) => Some(v.to_string()),
                                rusqlite::types::ValueRef::Real(v) => Some(v.to_string()),
                                rusqlite::types::ValueRef::Text(t)
                                | rusqlite::types::ValueRef::Blob(t) => {
                                    Some(String::from_utf8_lossy(t).into_owned())
                                }
                            })
                        })
                        .collect::<rusqlite::Result<Vec<_>>>()
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            };
            Ok(super::Dump {
                owner: meta("owner")?,
                serial: meta("serial")?.parse().unwrap_or(0),
                resources: texts(
                    &format!(
                        "SELECT {} FROM resources ORDER BY id",
                        super::RESOURCE_COLUMNS
                    ),
                    13,
                )?,
                journal: texts(
                    &format!(
                        "SELECT {} FROM journal ORDER BY seq",
                        super::JOURNAL_ALL_COLUMNS
                    ),
                    13,
                )?,
            })
        })
    }
}

#[async_trait]
impl StateStore for SqliteState {
    fn owner(&self) -> &str {
        &self.owner
    }

    async fn serial(&self) -> Result<u64, StateError> {
        self.read(|c| {
            let s: String = c.query_row("SELECT value FROM meta WHERE key='serial'", [], |r| {
                r.get(0)
            })?;
            Ok(s.parse().unwrap_or(0))
        })
    }

    async fn resources(&self) -> Result<Vec<RecordedResource>, StateError> {
        let owner = self.owner.clone();
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, provider, region, event, kind, status, provider_id, client_token,
                        depends_on, spec, outputs, created_at, updated_at
                 FROM resources ORDER BY id",
            )?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let id: String = r.get(0)?;
                let corrupt = |source| StateError::Corrupt {
                    id: id.clone(),
                    source,
                };
                let created_at = ts(r.get(11)?);
                let spec = match r.get::<_, Option<String>>(9)? {
                    Some(text) => serde_json::from_str(&text).map_err(corrupt)?,
                    // Only the intent is known: rebuild what a resume or a teardown needs.
                    None => intent_spec(
                        &owner,
                        &id,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        serde_json::from_str(&r.get::<_, String>(8)?).map_err(corrupt)?,
                        created_at,
                    ),
                };
                out.push(RecordedResource {
                    spec,
                    status: ResourceStatus::parse(&r.get::<_, String>(5)?)
                        .unwrap_or(ResourceStatus::Failed),
                    provider_id: r.get(6)?,
                    client_token: r.get(7)?,
                    outputs: serde_json::from_str(&r.get::<_, String>(10)?).map_err(corrupt)?,
                    created_at,
                    updated_at: ts(r.get(12)?),
                });
            }
            Ok(out)
        })
    }

    async fn settle(&self) -> Result<(), StateError> {
        // Background jobs run in the order queued, so a no-op behind them waits for them all.
        self.writer
            .submit(Priority::Background, |_| Ok(()))
            .await
            .map_err(StateError::from)
    }

    async fn begin(&self, intent: &Intent<'_>) -> Result<i64, StateError> {
        let now = crate::clock::now().to_string();
        let s = intent.spec;
        let deps = serde_json::to_string(&s.depends_on).unwrap_or_else(|_| "[]".into());
        let (id, provider, region, event, kind) = (
            s.id.0.clone(),
            s.provider.clone(),
            s.region.clone(),
            s.event.clone(),
            s.kind,
        );
        let (op, token, resuming) = (intent.op, intent.client_token.clone(), intent.resuming);
        let rank = intent.rank;
        let seq = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
        let seq_out = seq.clone();
        self.writer
            .submit(Priority::Urgent { rank }, move |c| {
                // An intent still open for this resource belongs to a run that died: close it.
                if resuming {
                    exec(
                        c,
                        "UPDATE journal SET finished_at=?2, outcome='abandoned' WHERE resource=?1 AND finished_at IS NULL",
                        params![id, now],
                    )?;
                }
                exec(
                    c,
                    "INSERT INTO journal (resource, op, provider, region, kind, client_token, started_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![id, op_name(op), provider, region, kind, token, now],
                )?;
                seq.store(c.last_insert_rowid(), std::sync::atomic::Ordering::Relaxed);
                match op {
                    Op::Create => exec(
                        c,
                        "INSERT INTO resources (id, provider, region, event, kind, status, client_token, depends_on, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, 'creating', ?6, ?7, ?8, ?8)
                         ON CONFLICT(id) DO UPDATE SET status='creating', client_token=?6, provider=?2, depends_on=?7, updated_at=?8",
                        params![id, provider, region, event, kind, token, deps, now],
                    )?,
                    Op::Update => exec(
                        c,
                        "UPDATE resources SET status='updating', updated_at=?2 WHERE id=?1",
                        params![id, now],
                    )?,
                    _ => exec(
                        c,
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
        let now = crate::clock::now().to_string();
        let s = intent.spec;
        let id = s.id.0.clone();
        let spec_json = recorded_spec(s, &outcome);
        let ms = elapsed.as_millis() as i64;
        let queued = self.writer.submit(Priority::Background, move |c| {
            let (label, error) = match &outcome {
                Outcome::Failed { error } => ("failed", Some(error.clone())),
                _ => ("ok", None),
            };
            exec(
                c,
                "UPDATE journal SET finished_at=?2, outcome=?3, attempts=?4, duration_ms=?5, error=?6 WHERE seq=?1",
                params![seq, now, label, attempts, ms, error],
            )?;
            match &outcome {
                Outcome::Created { provider_id, outputs } => exec(
                    c,
                    "UPDATE resources SET status='ready', provider_id=?2, outputs=?3, spec=?4, updated_at=?5 WHERE id=?1",
                    params![id, provider_id, outputs.to_string(), spec_json, now],
                )?,
                Outcome::Updated { outputs } => exec(
                    c,
                    "UPDATE resources SET status='ready', outputs=?2, spec=?3, updated_at=?4 WHERE id=?1",
                    params![id, outputs.to_string(), spec_json, now],
                )?,
                Outcome::Deleted => exec(c, "DELETE FROM resources WHERE id=?1", params![id])?,
                Outcome::Failed { .. } => exec(
                    c,
                    "UPDATE resources SET status='failed', updated_at=?2 WHERE id=?1",
                    params![id, now],
                )?,
            };
            Ok(())
        });
        Box::pin(async move { queued.await.map_err(StateError::from) })
    }

    async fn journal(&self, limit: usize) -> Result<Vec<JournalEntry>, StateError> {
        let mut v = self.read(|c| {
            journal_rows(
                c,
                &format!("SELECT {JOURNAL_COLUMNS} FROM journal ORDER BY seq DESC LIMIT ?1"),
                [limit as i64],
            )
        })?;
        v.reverse();
        Ok(v)
    }

    async fn event_journal(&self, event: &str) -> Result<Vec<JournalEntry>, StateError> {
        // Resource ids are `event/region/name`; event ids hold no `%` or `_` to escape.
        let pattern = format!("{event}/%");
        self.read(|c| {
            journal_rows(
                c,
                &format!(
                    "SELECT {JOURNAL_COLUMNS} FROM journal WHERE resource LIKE ?1 ORDER BY seq"
                ),
                [pattern],
            )
        })
    }

    async fn history(&self, limit: usize) -> Result<Vec<HistoryEntry>, StateError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT provider, region, kind, op, duration_ms, at FROM history ORDER BY seq DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], |r| {
                Ok(HistoryEntry {
                    provider: r.get(0)?,
                    region: r.get(1)?,
                    kind: r.get(2)?,
                    op: r.get(3)?,
                    duration_ms: r.get::<_, Option<i64>>(4)?.unwrap_or(0).max(0) as u64,
                    at: ts(r.get(5)?),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

const JOURNAL_COLUMNS: &str = "seq, resource, op, provider, region, kind, started_at, finished_at, outcome, attempts, duration_ms, error";

fn journal_rows(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<JournalEntry>, StateError> {
    let mut stmt = c.prepare(sql)?;
    let rows = stmt.query_map(params, |r| {
        Ok(JournalEntry {
            seq: r.get(0)?,
            resource: r.get(1)?,
            op: r.get(2)?,
            provider: r.get(3)?,
            region: r.get(4)?,
            kind: r.get(5)?,
            started_at: ts(r.get(6)?),
            finished_at: r.get::<_, Option<String>>(7)?.map(ts),
            outcome: r.get(8)?,
            attempts: r.get(9)?,
            duration_ms: r.get::<_, Option<i64>>(10)?.map(|d| d.max(0) as u64),
            error: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Kinds are stored by name; a row naming a kind this build does not know is a corrupt state.
impl rusqlite::types::ToSql for crate::model::Kind {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for crate::model::Kind {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        v.as_str()?
            .parse()
            .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
    }
}
