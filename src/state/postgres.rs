//! The state on PostgreSQL (`--state-url postgres://…`), for a team whose engineers, cron jobs
//! and daemons share one state: the same records as the SQLite default (resources, the intent
//! journal, the steps' history) in tables prefixed `orchestrate_`, so that the database may
//! hold other things too. The schema is versioned in `orchestrate_meta`; migrations run in
//! order under a transaction-scoped advisory lock, so that processes starting together do not
//! race, and a binary older than the schema refuses the state rather than write to it.
//!
//! One connection, reopened when PostgreSQL closed it (a restart, a failover): every write is
//! one transaction, and every write bumps the serial a saved plan records.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use tokio::sync::Notify;
use tokio_postgres::{Client, Row, Transaction};

use super::pg_connect::connect;
use super::rows::{intent_spec, recorded_spec, ts};
use super::{Commit, HistoryEntry, Intent, JournalEntry, Outcome, StateError, StateStore};
use crate::model::{RecordedResource, ResourceStatus};
use crate::plan::Op;

/// The schema, one migration a version: the first makes the tables. Never edit one that
/// shipped; add the next.
const MIGRATIONS: &[&str] = &["
CREATE TABLE orchestrate_resources (
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
CREATE TABLE orchestrate_journal (
    seq BIGSERIAL PRIMARY KEY,
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
    duration_ms BIGINT,
    error TEXT
);
CREATE INDEX orchestrate_journal_open ON orchestrate_journal(resource) WHERE finished_at IS NULL;
CREATE INDEX orchestrate_journal_resource ON orchestrate_journal(resource text_pattern_ops);
"];

/// The key of the advisory lock migrations run under (any number the database's other users
/// are unlikely to take: "orch" in ASCII).
const MIGRATION_LOCK: i64 = 0x6f72_6368;

pub struct PgState {
    inner: Arc<Inner>,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the state in {at} already holds {rows} rows: `state migrate` copies into an empty state only"
    )]
    NotEmpty { at: String, rows: i64 },
    #[error(transparent)]
    State(#[from] StateError),
}

impl From<tokio_postgres::Error> for CopyError {
    fn from(e: tokio_postgres::Error) -> Self {
        CopyError::State(e.into())
    }
}

struct Inner {
    url: String,
    /// The URL without its password, for messages.
    shown: String,
    owner: String,
    client: tokio::sync::Mutex<Client>,
    /// Completions written in the background (`finish` starts them), which `settle` awaits.
    writing: AtomicUsize,
    written: Notify,
}

/// `url` without the password it may carry, before the host or as a `password=` parameter.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((auth, host)) => (Some(auth), host),
        None => (None, rest),
    };
    let mut out = match auth.map(|a| a.split_once(':').map_or(a, |(user, _)| user)) {
        Some(user) => format!("{scheme}://{user}@{host}"),
        None => format!("{scheme}://{host}"),
    };
    if let Some(q) = query {
        let kept: Vec<&str> = q
            .split('&')
            .filter(|kv| !kv.starts_with("password="))
            .collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    out
}

impl PgState {
    /// Connects, brings the schema up to this binary's version, and reads the owner id (made
    /// with the state).
    pub async fn open(url: &str) -> Result<Self, StateError> {
        let client = Self::connect_to(url).await?;
        Self::with(url, client).await
    }

    /// The state, if the database holds one: read-only commands make none. One connection
    /// serves both the look and the state.
    pub async fn open_existing(url: &str) -> Result<Option<Self>, StateError> {
        let client = Self::connect_to(url).await?;
        let found: Option<String> = client
            .query_one("SELECT to_regclass('orchestrate_resources')::TEXT", &[])
            .await?
            .get(0);
        match found {
            Some(_) => Self::with(url, client).await.map(Some),
            None => Ok(None),
        }
    }

    async fn connect_to(url: &str) -> Result<Client, StateError> {
        connect(url).await.map_err(|e| StateError::Open {
            at: redact(url),
            source: e.into(),
        })
    }

    async fn with(url: &str, mut client: Client) -> Result<Self, StateError> {
        let shown = redact(url);
        migrate(&mut client, &shown).await?;
        let owner: String = client
            .query_one(
                "SELECT value FROM orchestrate_meta WHERE key = 'owner'",
                &[],
            )
            .await
            .map_err(|e| StateError::Open {
                at: shown.clone(),
                source: super::describe(&e).into(),
            })?
            .get(0);
        Ok(Self {
            inner: Arc::new(Inner {
                url: url.to_string(),
                shown,
                owner,
                client: tokio::sync::Mutex::new(client),
                writing: AtomicUsize::new(0),
                written: Notify::new(),
            }),
        })
    }

    /// Copies a state's rows into this one, which must hold nothing yet (its owner id, serial
    /// and journal numbers become the copied state's, so that resources tagged with the owner
    /// stay this state's).
    pub async fn load(&self, dump: &super::Dump) -> Result<(), CopyError> {
        let mut c = self.inner.client().await?;
        let tx = c.transaction().await?;
        let held: i64 = tx
            .query_one(
                "SELECT (SELECT count(*) FROM orchestrate_resources) + (SELECT count(*) FROM orchestrate_journal)",
                &[],
            )
            .await?
            .get(0);
        if held > 0 {
            return Err(CopyError::NotEmpty {
                at: self.inner.shown.clone(),
                rows: held,
            });
        }
        let int = |v: &Option<String>| v.as_deref().and_then(|t| t.parse::<i64>().ok());
        for r in &dump.resources {
            tx.execute(
                &format!(
                    "INSERT INTO orchestrate_resources ({}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
                    super::RESOURCE_COLUMNS
                ),
                &[&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6], &r[7], &r[8], &r[9], &r[10], &r[11], &r[12]],
            )
            .await?;
        }
        for j in &dump.journal {
            let attempts = int(&j[10]).map(|a| a as i32);
            tx.execute(
                &format!(
                    "INSERT INTO orchestrate_journal ({}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
                    super::JOURNAL_ALL_COLUMNS
                ),
                &[&int(&j[0]), &j[1], &j[2], &j[3], &j[4], &j[5], &j[6], &j[7], &j[8], &j[9], &attempts, &int(&j[11]), &j[12]],
            )
            .await?;
        }
        // New journal entries go on after the copied ones.
        tx.execute(
            "SELECT setval(pg_get_serial_sequence('orchestrate_journal', 'seq'), GREATEST((SELECT max(seq) FROM orchestrate_journal), 1))",
            &[],
        )
        .await?;
        tx.execute(
            "UPDATE orchestrate_meta SET value = $1 WHERE key = 'owner'",
            &[&dump.owner],
        )
        .await?;
        tx.execute(
            "UPDATE orchestrate_meta SET value = $1 WHERE key = 'serial'",
            &[&dump.serial.to_string()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every row as stored (the same shape `SqliteState::dump` gives).
    pub async fn dump(&self) -> Result<super::Dump, StateError> {
        let c = self.inner.client().await?;
        let meta = |rows: &[Row], key: &str| {
            rows.iter()
                .find(|r| r.get::<_, &str>(0) == key)
                .map(|r| r.get::<_, String>(1))
                .unwrap_or_default()
        };
        let m = c
            .query("SELECT key, value FROM orchestrate_meta", &[])
            .await?;
        let texts = |sql: String| {
            let c = &c;
            async move {
                let rows = c.query(&sql, &[]).await?;
                Ok::<_, StateError>(
                    rows.iter()
                        .map(|r| {
                            (0..r.len())
                                .map(|i| r.get::<_, Option<String>>(i))
                                .collect()
                        })
                        .collect::<Vec<Vec<Option<String>>>>(),
                )
            }
        };
        let journal_text = super::JOURNAL_ALL_COLUMNS
            .split(", ")
            .map(|c| format!("{c}::TEXT"))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(super::Dump {
            owner: meta(&m, "owner"),
            serial: meta(&m, "serial").parse().unwrap_or(0),
            resources: texts(format!(
                "SELECT {} FROM orchestrate_resources ORDER BY id",
                super::RESOURCE_COLUMNS
            ))
            .await?,
            journal: texts(format!(
                "SELECT {journal_text} FROM orchestrate_journal ORDER BY orchestrate_journal.seq"
            ))
            .await?,
        })
    }

    /// Where the state is, without the password.
    pub fn location(&self) -> &str {
        &self.inner.shown
    }
}

impl Inner {
    /// The connection, opened again if the server closed it.
    async fn client(&self) -> Result<tokio::sync::MutexGuard<'_, Client>, StateError> {
        let mut c = self.client.lock().await;
        if c.is_closed() {
            *c = connect(&self.url).await.map_err(StateError::Pg)?;
        }
        Ok(c)
    }
}

/// Every write bumps the serial, in its own transaction.
async fn bump_serial(tx: &Transaction<'_>) -> Result<(), StateError> {
    tx.execute(
        "UPDATE orchestrate_meta SET value = (value::BIGINT + 1)::TEXT WHERE key = 'serial'",
        &[],
    )
    .await?;
    Ok(())
}

/// A step's completion: its journal entry closed, its resource recorded (or gone).
async fn complete(
    inner: &Inner,
    (seq, id, now): (i64, &str, &str),
    outcome: &Outcome,
    attempts: i32,
    ms: i64,
    spec_json: &str,
) -> Result<(), StateError> {
    let (label, error) = match outcome {
        Outcome::Failed { error } => ("failed", Some(error.as_str())),
        _ => ("ok", None),
    };
    let mut c = inner.client().await?;
    let tx = c.transaction().await?;
    tx.execute(
        "UPDATE orchestrate_journal SET finished_at = $2, outcome = $3, attempts = $4, duration_ms = $5, error = $6
         WHERE seq = $1",
        &[&seq, &now, &label, &attempts, &ms, &error],
    )
    .await?;
    match outcome {
        Outcome::Created {
            provider_id,
            outputs,
        } => {
            let outputs = outputs.to_string();
            tx.execute(
                "UPDATE orchestrate_resources SET status = 'ready', provider_id = $2, outputs = $3, spec = $4, updated_at = $5 WHERE id = $1",
                &[&id, provider_id, &outputs, &spec_json, &now],
            )
            .await?
        }
        Outcome::Updated { outputs } => {
            let outputs = outputs.to_string();
            tx.execute(
                "UPDATE orchestrate_resources SET status = 'ready', outputs = $2, spec = $3, updated_at = $4 WHERE id = $1",
                &[&id, &outputs, &spec_json, &now],
            )
            .await?
        }
        Outcome::Deleted => {
            tx.execute("DELETE FROM orchestrate_resources WHERE id = $1", &[&id])
                .await?
        }
        Outcome::Failed { .. } => {
            tx.execute(
                "UPDATE orchestrate_resources SET status = 'failed', updated_at = $2 WHERE id = $1",
                &[&id, &now],
            )
            .await?
        }
    };
    bump_serial(&tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Brings the schema to this binary's version, or refuses a newer one.
async fn migrate(client: &mut Client, shown: &str) -> Result<(), StateError> {
    let supported = MIGRATIONS.len() as i64;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS orchestrate_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    )
    .await?;
    let found: i64 = tx
        .query_opt(
            "SELECT value FROM orchestrate_meta WHERE key = 'schema'",
            &[],
        )
        .await?
        .and_then(|r| r.get::<_, String>(0).parse().ok())
        .unwrap_or(0);
    if found > supported {
        return Err(StateError::Schema {
            at: shown.to_string(),
            found,
            supported,
        });
    }
    for sql in &MIGRATIONS[found as usize..] {
        tx.batch_execute(sql).await?;
    }
    let owner = format!("{:016x}", rand::rng().random::<u64>());
    tx.execute(
        "INSERT INTO orchestrate_meta VALUES ('schema', $1)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        &[&supported.to_string()],
    )
    .await?;
    tx.batch_execute("INSERT INTO orchestrate_meta VALUES ('serial', '0') ON CONFLICT DO NOTHING")
        .await?;
    tx.execute(
        "INSERT INTO orchestrate_meta VALUES ('owner', $1) ON CONFLICT DO NOTHING",
        &[&owner],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

const JOURNAL_COLUMNS: &str = "seq, resource, op, provider, region, kind, started_at, finished_at, outcome, attempts, duration_ms, error";

fn journal_row(r: &Row) -> Result<JournalEntry, StateError> {
    let resource: String = r.get(1);
    Ok(JournalEntry {
        seq: r.get(0),
        kind: kind_of(&resource, r.get(5))?,
        resource,
        op: r.get(2),
        provider: r.get(3),
        region: r.get(4),
        started_at: ts(r.get(6)),
        finished_at: r.get::<_, Option<String>>(7).map(ts),
        outcome: r.get(8),
        attempts: r.get::<_, Option<i32>>(9).map(|a| a.max(0) as u32),
        duration_ms: r.get::<_, Option<i64>>(10).map(|d| d.max(0) as u64),
        error: r.get(11),
    })
}

/// Kinds are stored by name; a row naming a kind this build does not know is a corrupt state.
fn kind_of(id: &str, name: String) -> Result<crate::model::Kind, StateError> {
    name.parse()
        .map_err(|e: crate::model::UnknownKind| StateError::Corrupt {
            id: id.to_string(),
            source: serde::de::Error::custom(e),
        })
}

#[async_trait]
impl StateStore for PgState {
    fn owner(&self) -> &str {
        &self.inner.owner
    }

    async fn serial(&self) -> Result<u64, StateError> {
        let row = self
            .inner
            .client()
            .await?
            .query_one(
                "SELECT value FROM orchestrate_meta WHERE key = 'serial'",
                &[],
            )
            .await?;
        Ok(row.get::<_, String>(0).parse().unwrap_or(0))
    }

    async fn resources(&self) -> Result<Vec<RecordedResource>, StateError> {
        let rows = self
            .inner
            .client()
            .await?
            .query(
                "SELECT id, provider, region, event, kind, status, provider_id, client_token,
                        depends_on, spec, outputs, created_at, updated_at
                 FROM orchestrate_resources ORDER BY id",
                &[],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.get(0);
            let corrupt = |source| StateError::Corrupt {
                id: id.clone(),
                source,
            };
            let created_at = ts(r.get(11));
            let spec = match r.get::<_, Option<String>>(9) {
                Some(text) => serde_json::from_str(&text).map_err(corrupt)?,
                // Only the intent is known: rebuild what a resume or a teardown needs.
                None => intent_spec(
                    &self.inner.owner,
                    &id,
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    kind_of(&id, r.get(4))?,
                    serde_json::from_str(r.get::<_, &str>(8)).map_err(corrupt)?,
                    created_at,
                ),
            };
            out.push(RecordedResource {
                spec,
                status: ResourceStatus::parse(r.get::<_, &str>(5))
                    .unwrap_or(ResourceStatus::Failed),
                provider_id: r.get(6),
                client_token: r.get(7),
                outputs: serde_json::from_str(r.get::<_, &str>(10)).map_err(corrupt)?,
                created_at,
                updated_at: ts(r.get(12)),
            });
        }
        Ok(out)
    }

    async fn settle(&self) -> Result<(), StateError> {
        loop {
            let written = self.inner.written.notified();
            tokio::pin!(written);
            written.as_mut().enable();
            if self.inner.writing.load(Ordering::Acquire) == 0 {
                return Ok(());
            }
            written.await;
        }
    }

    async fn begin(&self, intent: &Intent<'_>) -> Result<i64, StateError> {
        let now = crate::clock::now().to_string();
        let s = intent.spec;
        let deps = serde_json::to_string(&s.depends_on).unwrap_or_else(|_| "[]".into());
        let (id, kind) = (s.id.0.as_str(), s.kind.as_str());
        let token = intent.client_token.as_deref();
        let mut c = self.inner.client().await?;
        let tx = c.transaction().await?;
        // An intent still open for this resource belongs to a run that died: close it.
        if intent.resuming {
            tx.execute(
                "UPDATE orchestrate_journal SET finished_at = $2, outcome = 'abandoned'
                 WHERE resource = $1 AND finished_at IS NULL",
                &[&id, &now],
            )
            .await?;
        }
        let seq: i64 = tx
            .query_one(
                "INSERT INTO orchestrate_journal (resource, op, provider, region, kind, client_token, started_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
                &[&id, &intent.op.as_str(), &s.provider, &s.region, &kind, &token, &now],
            )
            .await?
            .get(0);
        match intent.op {
            Op::Create => {
                tx.execute(
                    "INSERT INTO orchestrate_resources (id, provider, region, event, kind, status, client_token, depends_on, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, 'creating', $6, $7, $8, $8)
                     ON CONFLICT (id) DO UPDATE SET status = 'creating', client_token = $6, provider = $2, depends_on = $7, updated_at = $8",
                    &[&id, &s.provider, &s.region, &s.event, &kind, &token, &deps, &now],
                )
                .await?
            }
            _ => {
                let status = if intent.op == Op::Update { "updating" } else { "deleting" };
                tx.execute(
                    "UPDATE orchestrate_resources SET status = $3, updated_at = $2 WHERE id = $1",
                    &[&id, &now, &status],
                )
                .await?
            }
        };
        bump_serial(&tx).await?;
        tx.commit().await?;
        Ok(seq)
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
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        // Started now, whether or not the caller awaits it: `settle` waits for it.
        let inner = self.inner.clone();
        inner.writing.fetch_add(1, Ordering::AcqRel);
        let task = tokio::spawn(async move {
            let written =
                complete(&inner, (seq, &id, &now), &outcome, attempts, ms, &spec_json).await;
            if inner.writing.fetch_sub(1, Ordering::AcqRel) == 1 {
                inner.written.notify_waiters();
            }
            written
        });
        Box::pin(async move {
            task.await.unwrap_or_else(|e| {
                Err(StateError::Open {
                    at: "a background write of the state".into(),
                    source: e.into(),
                })
            })
        })
    }

    async fn journal(&self, limit: usize) -> Result<Vec<JournalEntry>, StateError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .inner
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {JOURNAL_COLUMNS} FROM orchestrate_journal ORDER BY seq DESC LIMIT $1"
                ),
                &[&limit],
            )
            .await?;
        let mut v = rows
            .iter()
            .map(journal_row)
            .collect::<Result<Vec<_>, _>>()?;
        v.reverse();
        Ok(v)
    }

    async fn event_journal(&self, event: &str) -> Result<Vec<JournalEntry>, StateError> {
        // Resource ids are `event/region/name`; event ids hold no `%` or `_` to escape.
        let pattern = format!("{event}/%");
        let rows = self
            .inner
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {JOURNAL_COLUMNS} FROM orchestrate_journal WHERE resource LIKE $1 ORDER BY seq"
                ),
                &[&pattern],
            )
            .await?;
        rows.iter().map(journal_row).collect()
    }

    async fn history(&self, limit: usize) -> Result<Vec<HistoryEntry>, StateError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .inner
            .client()
            .await?
            .query(
                "SELECT provider, region, kind, op, duration_ms, finished_at FROM orchestrate_journal
                 WHERE outcome = 'ok' ORDER BY seq DESC LIMIT $1",
                &[&limit],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(HistoryEntry {
                    provider: r.get(0),
                    region: r.get(1),
                    kind: kind_of("history", r.get(2))?,
                    op: r.get(3),
                    duration_ms: r.get::<_, Option<i64>>(4).unwrap_or(0).max(0) as u64,
                    at: ts(r.get::<_, Option<String>>(5).unwrap_or_default()),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(
            redact("postgres://orch:s3cret@db.example.com:5432/season"),
            "postgres://orch@db.example.com:5432/season"
        );
        assert_eq!(
            redact("postgres://db.example.com/season"),
            "postgres://db.example.com/season"
        );
        assert_eq!(
            redact("postgresql://u:p:q@h/d?sslmode=require"),
            "postgresql://u@h/d?sslmode=require"
        );
        assert_eq!(
            redact("postgres://u@h/d?password=s3cret&sslmode=require"),
            "postgres://u@h/d?sslmode=require"
        );
        assert_eq!(
            redact("postgres://u@h/d?password=s3cret"),
            "postgres://u@h/d"
        );
    }
}
