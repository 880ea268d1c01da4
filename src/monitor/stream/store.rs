//! The health stream on disk: `<state>/health.db`, beside the state (not in it: its writes
//! must not change the state's serial). `run` appends; `watch` and `report` read.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};
use tokio::sync::broadcast;

use crate::monitor::health::Health;
use crate::sqlite::{GroupCommit, Priority, open_store};

pub const HEALTH_DB: &str = "health.db";

/// What is kept: a week of signals; alerts for as long as the state lives.
const KEEP_SIGNALS: &str = "-7 days";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS health (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    type TEXT NOT NULL,
    event TEXT NOT NULL,
    region TEXT NOT NULL,
    tier TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS health_event ON health(event, type, seq);
CREATE INDEX IF NOT EXISTS health_type ON health(type, seq);
";

/// One stored item: its sequence number and its JSON.
#[derive(Debug, Clone)]
pub struct Row {
    pub seq: i64,
    pub kind: String,
    pub event: String,
    pub region: String,
    pub tier: String,
    pub body: String,
}

/// Appends everything on `bus` until it closes, a batch every quarter second.
pub fn spawn_writer(
    state_dir: &Path,
    mut bus: broadcast::Receiver<Arc<Health>>,
) -> Result<tokio::task::JoinHandle<()>, Box<dyn std::error::Error + Send + Sync>> {
    let conn = open_store(state_dir, HEALTH_DB, SCHEMA)?;
    conn.execute(
        "DELETE FROM health WHERE type = 'signal' AND at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?1)",
        [KEEP_SIGNALS],
    )?;
    let writer = GroupCommit::spawn(conn, "health", |_| Ok(()))?;
    Ok(tokio::spawn(async move {
        let mut closed = false;
        while !closed {
            let mut batch: Vec<[String; 6]> = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_millis(250);
            loop {
                tokio::select! {
                    r = bus.recv() => match r {
                        Ok(h) => batch.push(row(&h)),
                        // A slow disk loses signals rather than holding the monitor up.
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => { closed = true; break; }
                    },
                    () = tokio::time::sleep_until(deadline) => break,
                }
            }
            if batch.is_empty() {
                continue;
            }
            let _ = writer
                .submit(Priority::Background, move |c: &Connection| {
                    let mut stmt = c.prepare_cached(
                        "INSERT INTO health (at, type, event, region, tier, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?;
                    for r in &batch {
                        stmt.execute(params![r[0], r[1], r[2], r[3], r[4], r[5]])?;
                    }
                    Ok(())
                })
                .await;
        }
    }))
}

fn row(h: &Health) -> [String; 6] {
    let l = h.labels();
    [
        h.at().to_string(),
        h.kind().into(),
        l.event.to_string(),
        l.region.to_string(),
        l.tier.as_str().into(),
        serde_json::to_string(h).unwrap_or_default(),
    ]
}

/// A reader of the stored stream.
pub struct Reader {
    conn: Connection,
}

impl Reader {
    /// `None` when nothing has been recorded in `state_dir`.
    pub fn open(state_dir: &Path) -> rusqlite::Result<Option<Self>> {
        let path = state_dir.join(HEALTH_DB);
        if !path.is_file() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(Some(Self { conn }))
    }

    /// Items after `seq`, oldest first, at most `limit`.
    pub fn after(&self, seq: i64, limit: usize) -> rusqlite::Result<Vec<Row>> {
        self.query(
            "SELECT seq, type, event, region, tier, body FROM health WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            params![seq, limit as i64],
        )
    }

    /// The sequence number of the newest item (0 when empty).
    pub fn last_seq(&self) -> rusqlite::Result<i64> {
        self.conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM health", [], |r| r.get(0))
    }

    /// One event's alert transitions and actions, oldest first.
    pub fn alerts_and_actions_of(&self, event: &str) -> rusqlite::Result<Vec<Row>> {
        self.query(
            "SELECT seq, type, event, region, tier, body FROM health WHERE event = ?1 AND type IN ('alert', 'action') ORDER BY seq",
            params![event],
        )
    }

    /// Alert transitions and actions up to `seq`, oldest first: what a reader starting at
    /// `seq` needs to know of the alerts still open.
    pub fn alerts_and_actions_upto(&self, seq: i64) -> rusqlite::Result<Vec<Row>> {
        self.query(
            "SELECT seq, type, event, region, tier, body FROM health WHERE type IN ('alert', 'action') AND seq <= ?1 ORDER BY seq",
            params![seq],
        )
    }

    /// Whether anything was recorded of the event.
    pub fn has_event(&self, event: &str) -> rusqlite::Result<bool> {
        self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM health WHERE event = ?1)",
            params![event],
            |r| r.get(0),
        )
    }

    fn query(&self, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<Vec<Row>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(p, |r| {
            Ok(Row {
                seq: r.get(0)?,
                kind: r.get(1)?,
                event: r.get(2)?,
                region: r.get(3)?,
                tier: r.get(4)?,
                body: r.get(5)?,
            })
        })?;
        rows.collect()
    }
}
