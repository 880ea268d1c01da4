//! A token bucket per provider and region, reserving ahead so that waiters queue fairly.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::model::RateLimit;

pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(limit: RateLimit) -> Self {
        let burst = f64::from(limit.burst.max(1));
        Self {
            rate: limit.requests_per_second.max(1e-9),
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes one token, sleeping until it is available.
    pub async fn acquire(&self) {
        let wait = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let (tokens, last) = *s;
            let refilled =
                (tokens + now.duration_since(last).as_secs_f64() * self.rate).min(self.burst);
            let left = refilled - 1.0;
            *s = (left, now);
            if left >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-left / self.rate)
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_steady_rate() {
        let b = TokenBucket::new(RateLimit {
            requests_per_second: 10.0,
            burst: 5,
        });
        let start = Instant::now();
        for _ in 0..5 {
            b.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst is free");
        for _ in 0..10 {
            b.acquire().await;
        }
        let e = start.elapsed().as_secs_f64();
        assert!(
            (0.99..1.01).contains(&e),
            "10 more at 10/s take 1s, took {e}"
        );
    }
}
