//! Exponential backoff with full jitter (AWS's recommendation for contended APIs).

use std::time::Duration;

use rand::Rng;

use crate::model::RetryPolicy;

/// Delay before retry number `attempt` (1 = the first retry).
pub fn backoff(policy: &RetryPolicy, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let cap = policy
        .base_delay
        .0
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(policy.max_delay.0);
    let jittered = cap.mul_f64(rand::rng().random::<f64>());
    retry_after.map_or(jittered, |r| r.max(jittered))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::duration::HumanDuration;

    #[test]
    fn grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: HumanDuration(Duration::from_millis(100)),
            max_delay: HumanDuration(Duration::from_secs(1)),
        };
        for _ in 0..100 {
            assert!(backoff(&p, 1, None) <= Duration::from_millis(100));
            assert!(backoff(&p, 3, None) <= Duration::from_millis(400));
            assert!(backoff(&p, 30, None) <= Duration::from_secs(1));
            assert!(backoff(&p, 1, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
        }
    }
}
