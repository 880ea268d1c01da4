//! The process's clock: the wall clock, unless `bench season` installs a simulated one.
//!
//! A season of events spans weeks. To run it in minutes, the simulated clock runs `1 / scale`
//! times faster than the wall clock (the `sim` provider shrinks its latencies by the same
//! scale) and jumps over stretches where nothing is in flight. Everything that reads the time
//! for the schedule, the journal or a step's duration reads it here, so that phases, recorded
//! durations (from which leads are learned) and billed minutes all share that one timeline.
//! It is process-wide for the same reason tokio's paused clock is per runtime: every layer must
//! agree on it, and threading it through each signature would give no more safety.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

struct Simulated {
    origin: Timestamp,
    real_origin: Instant,
    scale: f64,
    /// Total of the jumps so far, in simulated microseconds.
    jumped_us: AtomicI64,
}

static SIMULATED: OnceLock<Simulated> = OnceLock::new();

/// The current time.
pub fn now() -> Timestamp {
    match SIMULATED.get() {
        None => Timestamp::now(),
        Some(s) => {
            let us = scaled_us(s, s.real_origin.elapsed()) + s.jumped_us.load(Ordering::Acquire);
            s.origin
                .checked_add(SignedDuration::from_micros(us))
                .unwrap_or(s.origin)
        }
    }
}

/// Makes [`now`] start at `origin` and run `1 / scale` times faster than the wall clock.
/// Only the first call has an effect; it says whether it did.
pub fn simulate(origin: Timestamp, scale: f64) -> bool {
    SIMULATED
        .set(Simulated {
            origin,
            real_origin: Instant::now(),
            scale: scale.max(1e-9),
            jumped_us: AtomicI64::new(0),
        })
        .is_ok()
}

/// Moves the simulated clock forward to `to` (no effect on the wall clock or when `to` has
/// passed). The caller guarantees nothing is in flight: a sleeping step would not see the jump.
pub fn jump_to(to: Timestamp) {
    if let Some(s) = SIMULATED.get() {
        let gap = to.duration_since(now());
        if gap > SignedDuration::ZERO {
            s.jumped_us
                .fetch_add(gap.as_micros() as i64, Ordering::AcqRel);
        }
    }
}

/// The wall-clock time that `d` of this clock's time takes.
pub fn real(d: Duration) -> Duration {
    match SIMULATED.get() {
        None => d,
        Some(s) => d.mul_f64(s.scale),
    }
}

/// How much of this clock's time a wall-clock duration `d` is.
pub fn from_real(d: Duration) -> Duration {
    match SIMULATED.get() {
        None => d,
        Some(s) => d.div_f64(s.scale),
    }
}

fn scaled_us(s: &Simulated, real: Duration) -> i64 {
    (real.as_secs_f64() / s.scale * 1e6) as i64
}

/// Measures a duration on this clock.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch {
    started: Instant,
    jumped_us: i64,
}

impl Stopwatch {
    pub fn start() -> Self {
        Self {
            started: Instant::now(),
            jumped_us: SIMULATED
                .get()
                .map_or(0, |s| s.jumped_us.load(Ordering::Acquire)),
        }
    }

    pub fn elapsed(&self) -> Duration {
        let real = self.started.elapsed();
        match SIMULATED.get() {
            None => real,
            Some(s) => {
                let us = scaled_us(s, real) + s.jumped_us.load(Ordering::Acquire) - self.jumped_us;
                Duration::from_micros(us.max(0) as u64)
            }
        }
    }
}
