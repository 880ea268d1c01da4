//! Group commit for SQLite: one writer thread owns the connection and commits whatever jobs
//! have queued up in one transaction, so that thousands of concurrent steps cost a handful of
//! commits instead of one each. Each job runs in its own savepoint, so one failing job does not
//! undo the others.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce(&Connection) -> rusqlite::Result<()> + Send>;
type Reply = oneshot::Sender<rusqlite::Result<()>>;
/// Runs once per batch, inside its transaction (e.g. to bump a serial).
pub type OnCommit = fn(&Connection) -> rusqlite::Result<()>;

const MAX_BATCH: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    #[error("the database writer thread has stopped")]
    Stopped,
}

pub struct GroupCommit {
    tx: Option<mpsc::Sender<(Job, Reply)>>,
    thread: Option<JoinHandle<()>>,
}

/// Opens a connection tuned for a local, single-writer store: WAL, and no fsync per commit
/// (a killed process loses nothing; a power cut may lose the last commits).
pub fn open(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    }
    Ok(conn)
}

impl GroupCommit {
    pub fn spawn(mut conn: Connection, name: &str, on_commit: OnCommit) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<(Job, Reply)>();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-writer"))
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(j) => batch.push(j),
                            Err(_) => break,
                        }
                    }
                    commit_batch(&mut conn, batch, on_commit);
                }
            })?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues a job and waits until the batch holding it is committed.
    pub async fn run<F>(&self, job: F) -> Result<(), WriterError>
    where
        F: FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.tx
            .as_ref()
            .ok_or(WriterError::Stopped)?
            .send((Box::new(job), reply))
            .map_err(|_| WriterError::Stopped)?;
        answer.await.map_err(|_| WriterError::Stopped)??;
        Ok(())
    }
}

fn commit_batch(conn: &mut Connection, batch: Vec<(Job, Reply)>, on_commit: OnCommit) {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            for (_, reply) in batch {
                let _ = reply.send(Err(clone_err(&e)));
            }
            return;
        }
    };
    let mut replies = Vec::with_capacity(batch.len());
    for (job, reply) in batch {
        let result = match tx.savepoint() {
            Ok(mut sp) => match job(&sp) {
                Ok(()) => sp.commit(),
                Err(e) => {
                    let _ = sp.rollback();
                    Err(e)
                }
            },
            Err(e) => Err(e),
        };
        replies.push((reply, result));
    }
    let committed = on_commit(&tx).and_then(|()| tx.commit());
    for (reply, result) in replies {
        let r = match (&committed, result) {
            (Err(e), _) => Err(clone_err(e)),
            (Ok(()), r) => r,
        };
        let _ = reply.send(r);
    }
}

fn clone_err(e: &rusqlite::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(e.to_string().into())
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        // Closing the channel lets the thread finish the queued batches and exit.
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
