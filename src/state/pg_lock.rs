//! The state lock on PostgreSQL: a session-level advisory lock on a connection of its own,
//! which the server releases when that connection ends (the process exits or dies), with the
//! holder's pid, host, command and start time kept in `orchestrate_meta` so that others can
//! name it. It guards the whole state, as the file lock does on one host.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::lock::{Holder, LockError, me};

/// The advisory lock's key ("stat" in ASCII), apart from the migrations' one.
const STATE_LOCK: i64 = 0x7374_6174;

/// Held while its connection lives: dropping it ends the connection, which releases the lock.
pub struct PgLock {
    _client: Client,
}

impl PgLock {
    /// Takes the lock, waiting up to `timeout` (polling) for another holder to let go.
    pub async fn acquire(url: &str, timeout: Duration, command: &str) -> Result<Self, LockError> {
        let (client, db) = connect(url).await?;
        // The holder's row goes where the state's meta is, made here if the lock comes first.
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS orchestrate_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            )
            .await
            .map_err(&db)?;
        let started = Instant::now();
        loop {
            let got: bool = client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&STATE_LOCK])
                .await
                .map_err(&db)?
                .get(0);
            if got {
                break;
            }
            if started.elapsed() >= timeout {
                return Err(LockError::Held {
                    at: super::redact(url),
                    holder: holder(&client).await,
                    waited: timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let text = serde_json::to_string(&me(command)).unwrap_or_default();
        client
            .execute(
                "INSERT INTO orchestrate_meta VALUES ('lock_holder', $1)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&text],
            )
            .await
            .map_err(&db)?;
        Ok(Self { _client: client })
    }
}

impl PgLock {
    /// Who holds the lock now, if anyone does.
    pub async fn holder_now(url: &str) -> Result<Option<Holder>, LockError> {
        let (client, db) = connect(url).await?;
        let free: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&STATE_LOCK])
            .await
            .map_err(&db)?
            .get(0);
        if free {
            // Taken only to look: the connection's end releases it.
            return Ok(None);
        }
        Ok(holder(&client).await)
    }
}

/// A connection of the lock's own, and how its errors are told.
async fn connect(
    url: &str,
) -> Result<(Client, impl Fn(tokio_postgres::Error) -> LockError + use<>), LockError> {
    let at = super::redact(url);
    let client = super::pg_connect::connect(url)
        .await
        .map_err(|reason| LockError::Db {
            at: at.clone(),
            reason,
        })?;
    let db = move |e: tokio_postgres::Error| LockError::Db {
        at: at.clone(),
        reason: super::describe(&e),
    };
    Ok((client, db))
}

/// Who holds the lock, as the holder wrote it.
async fn holder(client: &Client) -> Option<Holder> {
    let row = client
        .query_opt(
            "SELECT value FROM orchestrate_meta WHERE key = 'lock_holder'",
            &[],
        )
        .await
        .ok()??;
    serde_json::from_str(row.get::<_, &str>(0)).ok()
}
