//! Group commit for SQLite: one writer thread owns the connection and commits whatever jobs
//! have queued up in one transaction, so that thousands of concurrent steps cost a handful of
//! commits instead of one each. A failing job does not undo the others: the batch is then rolled
//! back and each job replayed in a transaction of its own (jobs are `Fn` for that reason).
//!
//! Jobs come in two priorities. Urgent ones gate work (an intent must be durable before its
//! provider call) and are committed first; background ones (completions) fill idle time in
//! smaller batches, so a backlog of them never delays an urgent job by more than one batch.

use std::collections::VecDeque;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use tokio::sync::oneshot;

type Job = Box<dyn Fn(&Connection) -> rusqlite::Result<()> + Send>;
type Reply = oneshot::Sender<rusqlite::Result<()>>;
/// Runs once per batch, inside its transaction (e.g. to bump a serial).
pub type OnCommit = fn(&Connection) -> rusqlite::Result<()>;

/// Small enough that an urgent job arriving during a commit waits milliseconds, not the tens
/// a batch of thousands takes; large enough that commits stay a small part of the work.
const MAX_BATCH: usize = 512;
/// How long the writer waits for company after the first job of a batch: a commit costs far
/// more than a job, and under load jobs arrive microseconds apart.
const LINGER: std::time::Duration = std::time::Duration::from_millis(1);
const BACKGROUND_BATCH: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Gates work. Among urgent jobs the higher rank is committed first, then the first queued:
    /// a burst of thousands of intents does not hold back the steps with the most work after
    /// them.
    Urgent {
        rank: u64,
    },
    Background,
}

/// An urgent job in the writer's queue: ordered by rank, then by arrival.
struct Queued {
    rank: u64,
    arrival: u64,
    job: Job,
    reply: Reply,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.rank, self.arrival) == (other.rank, other.arrival)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    /// The max-heap's top: the highest rank, and among equals the earliest.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank
            .cmp(&other.rank)
            .then(other.arrival.cmp(&self.arrival))
    }
}

/// The writer's two queues.
#[derive(Default)]
struct Queues {
    urgent: std::collections::BinaryHeap<Queued>,
    background: VecDeque<(Job, Reply)>,
    arrivals: u64,
}

impl Queues {
    fn push(&mut self, (p, job, reply): (Priority, Job, Reply)) {
        match p {
            Priority::Urgent { rank } => {
                self.arrivals += 1;
                self.urgent.push(Queued {
                    rank,
                    arrival: self.arrivals,
                    job,
                    reply,
                });
            }
            Priority::Background => self.background.push_back((job, reply)),
        }
    }

    fn is_empty(&self) -> bool {
        self.urgent.is_empty() && self.background.is_empty()
    }

    /// The next batch: urgent jobs by rank if any, else the oldest background ones.
    fn batch(&mut self) -> Vec<(Job, Reply)> {
        if self.urgent.is_empty() {
            let n = self.background.len().min(BACKGROUND_BATCH);
            return self.background.drain(..n).collect();
        }
        let n = self.urgent.len().min(MAX_BATCH);
        (0..n)
            .filter_map(|_| self.urgent.pop())
            .map(|q| (q.job, q.reply))
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    #[error("the database writer thread has stopped")]
    Stopped,
}

pub struct GroupCommit {
    tx: Option<mpsc::Sender<(Priority, Job, Reply)>>,
    thread: Option<JoinHandle<()>>,
}

/// How long the checkpointer lets commits gather before copying them back: each checkpoint
/// costs two syncs, whatever it copies.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Copies the WAL back into the database on its own connection and thread (a passive
/// checkpoint never blocks the writer), so that the writer, which every intent waits for,
/// never stops to copy pages and sync files. Woken by commits; idle otherwise.
struct Checkpointer {
    nudge: mpsc::Sender<()>,
    pending: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: JoinHandle<()>,
}

impl Checkpointer {
    /// `None` for a database without a file (in memory): nothing to copy back.
    fn spawn(writer: &Connection, name: &str) -> std::io::Result<Option<Self>> {
        let Some(path) = writer.path().filter(|p| !p.is_empty()).map(PathBuf::from) else {
            return Ok(None);
        };
        let Ok(conn) = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ) else {
            return Ok(None);
        };
        // The writer checkpoints no more; should this thread fail, the WAL only grows until
        // the connections close (SQLite checkpoints then).
        let _ = writer.pragma_update(None, "wal_autocheckpoint", 0);
        let (nudge, woken) = mpsc::channel::<()>();
        let pending = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = pending.clone();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-checkpoint"))
            .spawn(move || {
                while woken.recv().is_ok() {
                    std::thread::sleep(CHECKPOINT_EVERY);
                    while woken.try_recv().is_ok() {}
                    flag.store(false, std::sync::atomic::Ordering::Relaxed);
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })?;
        Ok(Some(Self {
            nudge,
            pending,
            thread,
        }))
    }

    /// After a commit: wakes the thread unless a checkpoint is already due.
    fn committed(&self) {
        if !self
            .pending
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            let _ = self.nudge.send(());
        }
    }

    fn stop(self) {
        drop(self.nudge);
        let _ = self.thread.join();
    }
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
    conn.set_prepared_statement_cache_capacity(32);
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Tens of thousands of rows in one run: a larger page cache (8 MiB). A store's writer
        // hands checkpoints to a thread of its own (see `Checkpointer`); any other connection
        // that writes leaves the WAL to grow to ~40 MB before copying pages back.
        conn.pragma_update(None, "cache_size", -8_192)?;
        conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    }
    Ok(conn)
}

/// Creates `dir` if needed, opens `dir/file` for writing and applies `schema`.
pub fn open_store(
    dir: &Path,
    file: &str,
    schema: &str,
) -> Result<Connection, Box<dyn std::error::Error + Send + Sync>> {
    std::fs::create_dir_all(dir)?;
    let conn = open(&dir.join(file), false)?;
    conn.execute_batch(schema)?;
    Ok(conn)
}

/// Executes through the connection's statement cache: the writer runs the same few
/// statements tens of thousands of times.
pub fn exec(c: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    c.prepare_cached(sql)?.execute(params)
}

impl GroupCommit {
    pub fn spawn(mut conn: Connection, name: &str, on_commit: OnCommit) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<(Priority, Job, Reply)>();
        let checkpointer = Checkpointer::spawn(&conn, name)?;
        let thread = std::thread::Builder::new()
            .name(format!("{name}-writer"))
            .spawn(move || {
                let mut queues = Queues::default();
                let mut open = true;
                loop {
                    if queues.is_empty() {
                        if !open {
                            break;
                        }
                        match rx.recv() {
                            Ok(j) => queues.push(j),
                            Err(_) => break,
                        }
                    }
                    let deadline = std::time::Instant::now() + LINGER;
                    while open && queues.urgent.len() < MAX_BATCH {
                        let wait = deadline.saturating_duration_since(std::time::Instant::now());
                        match rx.recv_timeout(wait) {
                            Ok(j) => queues.push(j),
                            Err(mpsc::RecvTimeoutError::Timeout) => break,
                            Err(mpsc::RecvTimeoutError::Disconnected) => open = false,
                        }
                    }
                    // Whatever else has arrived meanwhile competes for this batch by rank.
                    while let Ok(j) = rx.try_recv() {
                        queues.push(j);
                    }
                    let batch = queues.batch();
                    commit_batch(&mut conn, batch, on_commit);
                    if let Some(c) = &checkpointer {
                        c.committed();
                    }
                }
                if let Some(c) = checkpointer {
                    c.stop();
                }
            })?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues a job now; the returned future resolves once the batch holding it is committed.
    pub fn submit<F>(
        &self,
        priority: Priority,
        job: F,
    ) -> impl Future<Output = Result<(), WriterError>> + Send + 'static
    where
        F: Fn(&Connection) -> rusqlite::Result<()> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let sent = self
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send((priority, Box::new(job), reply)).is_ok());
        async move {
            if !sent {
                return Err(WriterError::Stopped);
            }
            answer.await.map_err(|_| WriterError::Stopped)??;
            Ok(())
        }
    }

    /// Queues an urgent job and waits until it is committed.
    pub async fn run<F>(&self, job: F) -> Result<(), WriterError>
    where
        F: Fn(&Connection) -> rusqlite::Result<()> + Send + 'static,
    {
        self.submit(Priority::Urgent { rank: 0 }, job).await
    }
}

fn commit_batch(conn: &mut Connection, batch: Vec<(Job, Reply)>, on_commit: OnCommit) {
    let jobs: Vec<&Job> = batch.iter().map(|(j, _)| j).collect();
    match run_in_transaction(conn, &jobs, on_commit) {
        Ok(()) => {
            for (_, reply) in batch {
                let _ = reply.send(Ok(()));
            }
        }
        Err(e) if batch.len() == 1 => {
            for (_, reply) in batch {
                let _ = reply.send(Err(clone_err(&e)));
            }
        }
        // Something failed and the whole batch was rolled back: replay each job alone, so
        // that only the failing ones fail.
        Err(_) => {
            for (job, reply) in batch {
                let _ = reply.send(run_in_transaction(conn, &[&job], on_commit));
            }
        }
    }
}

/// Runs the jobs in one transaction: all committed, or none.
fn run_in_transaction(
    conn: &mut Connection,
    jobs: &[&Job],
    on_commit: OnCommit,
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for job in jobs {
        job(&tx)?;
    }
    on_commit(&tx)?;
    tx.commit()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The first column of a query's rows, read on a connection of its own.
    fn column(db: &Path, sql: &str) -> Vec<i64> {
        open(db, true)
            .unwrap()
            .prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[tokio::test]
    async fn a_failing_job_does_not_undo_its_batch_mates() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("t.db"), false).unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER PRIMARY KEY)")
            .unwrap();
        fn noop(_: &Connection) -> rusqlite::Result<()> {
            Ok(())
        }
        let w = GroupCommit::spawn(conn, "test", noop).unwrap();
        let a = w.submit(Priority::Background, |c| {
            exec(c, "INSERT INTO t VALUES (1)", []).map(|_| ())
        });
        let b = w.submit(Priority::Background, |c| {
            exec(c, "INSERT INTO t VALUES (2)", [])?;
            exec(c, "INSERT INTO t VALUES (1)", []).map(|_| ())
        });
        let c = w.submit(Priority::Urgent { rank: 0 }, |c| {
            exec(c, "INSERT INTO t VALUES (3)", []).map(|_| ())
        });
        assert!(c.await.is_ok());
        assert!(a.await.is_ok());
        assert!(b.await.is_err(), "duplicate key");
        drop(w);
        let vals = column(&dir.path().join("t.db"), "SELECT v FROM t ORDER BY v");
        assert_eq!(
            vals,
            [1, 3],
            "the failed job's first insert was rolled back"
        );
    }

    #[tokio::test]
    async fn commits_reach_the_database_file_off_the_writer_thread() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let conn = open(&db, false).unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER PRIMARY KEY, pad TEXT)")
            .unwrap();
        let before = std::fs::metadata(&db).unwrap().len();
        let w = GroupCommit::spawn(conn, "test", |_| Ok(())).unwrap();
        for v in 0..200 {
            w.run(move |c| {
                exec(
                    c,
                    "INSERT INTO t VALUES (?1, ?2)",
                    rusqlite::params![v, "x".repeat(4000)],
                )
                .map(|_| ())
            })
            .await
            .unwrap();
        }
        // The writer no longer checkpoints: the pages reach the database file only through the
        // checkpointer, while the writer (and its WAL) stay open.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::metadata(&db).unwrap().len() < before + 200 * 4000 {
            assert!(
                std::time::Instant::now() < deadline,
                "the WAL was never checkpointed"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        drop(w);
    }

    #[tokio::test]
    async fn urgent_jobs_queued_together_commit_by_rank_then_arrival() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("t.db"), false).unwrap();
        conn.execute_batch("CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, v INTEGER)")
            .unwrap();
        let w = GroupCommit::spawn(conn, "test", |_| Ok(())).unwrap();
        // Holds the writer while the others queue up.
        let busy = w.run(|_| {
            std::thread::sleep(std::time::Duration::from_millis(200));
            Ok(())
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let jobs: Vec<_> = [(1, 10), (3, 30), (2, 20), (3, 31), (0, 0)]
            .into_iter()
            .map(|(rank, v)| {
                w.submit(Priority::Urgent { rank }, move |c| {
                    exec(c, "INSERT INTO t (v) VALUES (?1)", [v]).map(|_| ())
                })
            })
            .collect();
        busy.await.unwrap();
        for j in jobs {
            j.await.unwrap();
        }
        drop(w);
        let order = column(&dir.path().join("t.db"), "SELECT v FROM t ORDER BY seq");
        assert_eq!(order, [30, 31, 20, 10, 0]);
    }
}
