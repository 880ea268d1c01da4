//! A long-running `orchestrate run` under test, and waiting on what it does.

use std::io::Read;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Polls `f` every 200 ms until it gives a value, for at most `secs`.
pub fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The daemon under test, stopped however the test ends, before the project's `down` (which
/// needs the state lock it holds): a failed assertion must not leave it running.
pub struct Daemon(pub std::process::Child);

impl Daemon {
    /// SIGTERM, then up to 30 s for it to exit.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        if let Ok(Some(s)) = self.0.try_wait() {
            return Some(s);
        }
        let _ = kill(Pid::from_raw(self.0.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.0.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// Stops it and checks that it exited 0 (its stderr, piped, in the message if not).
    pub fn finish(mut self) {
        let status = self.stop().expect("run stops within 30 s of SIGTERM");
        let mut err = String::new();
        if let Some(mut e) = self.0.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        assert!(status.success(), "run exited with {status}: {err}");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.stop().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
