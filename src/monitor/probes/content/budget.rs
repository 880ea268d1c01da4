//! The CPU a profile's content analysis may use on the monitor host: a bucket of CPU-seconds
//! filled at `cores` per second. A sample waits for what the last one of its rendition cost,
//! then pays what it really cost, so that samples spread out instead of going over.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The bucket holds this many seconds of the budget: samples may bunch up that much.
const BURST_S: f64 = 10.0;

#[derive(Debug)]
pub struct Budget {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    cores: f64,
    /// CPU-seconds available; below zero after a sample cost more than it waited for.
    tokens: f64,
    at: Instant,
}

impl State {
    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * self.cores).min(self.cores * BURST_S);
        self.at = now;
    }
}

impl Budget {
    pub fn new(cores: f64) -> Self {
        let cores = cores.max(1e-3);
        Self {
            state: Mutex::new(State {
                cores,
                tokens: cores * BURST_S,
                at: Instant::now(),
            }),
        }
    }

    pub fn cores(&self) -> f64 {
        self.lock().cores
    }

    pub fn set_cores(&self, cores: f64) {
        let mut s = self.lock();
        s.refill(Instant::now());
        s.cores = cores.max(1e-3);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `cpu_s` is available and takes it; false if stopped first.
    pub async fn take(&self, cpu_s: f64, stop: &CancellationToken) -> bool {
        loop {
            let wait = {
                let mut s = self.lock();
                s.refill(Instant::now());
                // Never more than a full bucket: one dear sample must still run.
                let need = cpu_s.min(s.cores * BURST_S);
                if s.tokens >= need {
                    s.tokens -= cpu_s;
                    return true;
                }
                Duration::from_secs_f64((need - s.tokens) / s.cores)
            };
            tokio::select! {
                () = stop.cancelled() => return false,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Settles a sample that cost `extra` CPU-seconds more than it took (less if negative).
    pub fn settle(&self, extra: f64) {
        let mut s = self.lock();
        s.refill(Instant::now());
        s.tokens -= extra;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn samples_wait_so_that_use_stays_under_the_budget() {
        let b = Budget::new(0.5);
        let stop = CancellationToken::new();
        let t0 = Instant::now();
        // 40 samples of 0.25 CPU-s: 10 CPU-s of work, 5 of them from the full bucket, the
        // rest at 0.5 cores: 10 s.
        for _ in 0..40 {
            assert!(b.take(0.25, &stop).await);
        }
        let took = t0.elapsed().as_secs_f64();
        assert!((9.5..=10.5).contains(&took), "{took}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_sample_dearer_than_it_asked_for_delays_the_next() {
        let b = Budget::new(1.0);
        let stop = CancellationToken::new();
        assert!(b.take(10.0, &stop).await);
        b.settle(5.0);
        let t0 = Instant::now();
        assert!(b.take(1.0, &stop).await);
        assert!((t0.elapsed().as_secs_f64() - 6.0).abs() < 0.01);
        stop.cancel();
        assert!(!b.take(100.0, &stop).await);
    }
}
