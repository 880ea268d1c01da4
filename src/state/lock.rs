//! The state lock: an advisory file lock (released by the kernel if the holder dies), with the
//! holder's pid, host, command and start time written inside so that others can name it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub since: Timestamp,
    pub command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on {} (`{}`) since {}",
            self.pid, self.host, self.command, self.since
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// `at`: the state dir, or the database's URL without its password.
    #[error("the state in {at} is locked by {}; gave up after waiting {}", holder.as_ref().map_or("another process".to_string(), |h| h.to_string()), crate::config::duration::format_duration(*waited))]
    Held {
        at: String,
        holder: Option<Holder>,
        waited: Duration,
    },
    #[error("cannot lock the state in {at}: {reason}")]
    Db { at: String, reason: String },
    #[error("cannot lock {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug)]
pub struct StateLock {
    file: File,
}

pub const LOCK_FILE: &str = "lock";

impl StateLock {
    /// Takes the lock, waiting up to `timeout` (polling) for another holder to let go.
    pub async fn acquire(dir: &Path, timeout: Duration, command: &str) -> Result<Self, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if started.elapsed() >= timeout {
                        return Err(LockError::Held {
                            at: dir.display().to_string(),
                            holder: read_holder(&mut file),
                            waited: timeout,
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        let text = serde_json::to_string(&me(command)).unwrap_or_default();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| file.write_all(text.as_bytes()))
            .and_then(|()| file.flush())
            .map_err(io)?;
        Ok(Self { file })
    }

    /// Who holds the lock now, if anyone does.
    pub fn current_holder(dir: &Path) -> Result<Option<Holder>, LockError> {
        let path = dir.join(LOCK_FILE);
        let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(LockError::Io { path, source }),
        };
        match file.try_lock() {
            Ok(()) => {
                // Nobody holds it; clear what a dead holder left behind.
                let _ = file.set_len(0);
                let _ = file.unlock();
                Ok(None)
            }
            Err(TryLockError::WouldBlock) => Ok(read_holder(&mut file)),
            Err(TryLockError::Error(source)) => Err(LockError::Io { path, source }),
        }
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Who takes a lock now: this process.
pub fn me(command: &str) -> Holder {
    Holder {
        pid: std::process::id(),
        host: host(),
        since: Timestamp::now(),
        command: command.to_string(),
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

pub fn host() -> String {
    hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown-host".into())
}
