//! Processes the local provider owns: each in its own process group, remembered by a pidfile
//! that also records the process's start time, so that an orchestrate started later can tell
//! its own process from an unrelated one that was given a recycled pid.
//!
//! Linux only: the start time comes from `/proc/<pid>/stat`.

use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::files::write_atomic;

/// Environment variable every owned process carries: the provider id of its resource.
pub const RESOURCE_ENV: &str = "ORCHESTRATE_RESOURCE";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidFile {
    pub pid: u32,
    /// Clock ticks after boot at which the process started (`/proc/<pid>/stat`, field 22).
    pub start_ticks: u64,
}

impl PidFile {
    pub fn read(path: &Path) -> Option<Self> {
        serde_json::from_slice(&fs::read(path).ok()?).ok()
    }

    /// True while the very process this file names is running (a zombie is not).
    pub fn is_running(&self) -> bool {
        matches!(stat(self.pid), Some((state, ticks)) if ticks == self.start_ticks && state != 'Z')
    }

    /// SIGTERM to the whole group, then SIGKILL once `grace` has passed. A process that is no
    /// longer ours (exited, or its pid reused) is left alone.
    pub fn stop(&self, grace: Duration) {
        if !self.is_running() {
            return;
        }
        let group = Pid::from_raw(self.pid as i32);
        let _ = killpg(group, Signal::SIGTERM);
        if self.wait_gone(grace) {
            return;
        }
        let _ = killpg(group, Signal::SIGKILL);
        self.wait_gone(Duration::from_secs(5));
    }

    /// Sends `signal` to the group if it is still ours.
    pub fn signal(&self, signal: Signal) -> bool {
        self.is_running() && killpg(Pid::from_raw(self.pid as i32), signal).is_ok()
    }

    fn wait_gone(&self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if !self.is_running() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        !self.is_running()
    }
}

/// Starts `cmd` in a process group of its own with stdin closed and both outputs appended to
/// `log`, writes its pidfile, and reaps it from a thread so that it never lingers as a zombie in
/// a long-lived orchestrate. The process outlives this one: `up` returns while it runs.
pub fn spawn(mut cmd: Command, log: &Path, pidfile: &Path) -> io::Result<PidFile> {
    let out = fs::OpenOptions::new().create(true).append(true).open(log)?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0);
    let mut child = cmd.spawn()?;
    let pid = child.id();
    let start_ticks = stat(pid).map(|(_, t)| t).unwrap_or(0);
    let file = PidFile { pid, start_ticks };
    write_atomic(pidfile, &serde_json::to_vec(&file).unwrap_or_default())?;
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(file)
}

/// State letter and start time of `pid`.
fn stat(pid: u32) -> Option<(char, u64)> {
    let f = stat_fields(pid)?;
    let state = f.first()?.chars().next()?;
    // The start time is field 22.
    Some((state, f.get(19)?.parse().ok()?))
}

/// User plus system CPU time `pid` has used, in clock ticks (USER_HZ, 100 a second on Linux).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let f = stat_fields(pid)?;
    // utime and stime are fields 14 and 15.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// The fields of `/proc/<pid>/stat` from field 3 (the state) on.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(String::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_running_and_a_wrong_start_time_is_not() {
        let me = std::process::id();
        let (_, ticks) = stat(me).expect("own stat");
        assert!(
            PidFile {
                pid: me,
                start_ticks: ticks
            }
            .is_running()
        );
        assert!(
            !PidFile {
                pid: me,
                start_ticks: ticks + 1
            }
            .is_running()
        );
    }

    #[test]
    fn spawned_group_stops_on_term() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let pf = spawn(cmd, &dir.path().join("log"), &dir.path().join("pid")).expect("spawn");
        assert!(pf.is_running());
        assert_eq!(PidFile::read(&dir.path().join("pid")), Some(pf));
        pf.stop(Duration::from_secs(5));
        assert!(!pf.is_running());
    }
}
