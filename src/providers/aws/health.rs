//! T1 on aws without spending MediaLive's quota. The monitor asks after each encoder every
//! second, but MediaLive allows 5 requests a second per account and region, shared with the
//! creates and deletes of every event. So the region's channel states are read at once
//! (ListChannels) and kept for `STATES_FOR`, and each channel's alerts for `ALERTS_FOR`: with
//! ten channels on air in a region, about 1.2 requests a second.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How long the region's channel states are believed.
pub const STATES_FOR: Duration = Duration::from_secs(5);
/// How long a channel's count of alerts is believed.
pub const ALERTS_FOR: Duration = Duration::from_secs(10);

/// Answers kept by key for a while; callers that find one stale wait for the one refresh.
pub struct Cache<V> {
    ttl: Duration,
    entries: tokio::sync::Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> Cache<V> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The answer for `key`, fetched again once older than the time to live. A failed fetch
    /// keeps the last answer for another while (the service is not asked again at once), or
    /// gives `None` when there was none.
    pub async fn get<E, F, Fut>(&self, key: &str, fetch: F) -> Option<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let mut entries = self.entries.lock().await;
        if let Some((at, v)) = entries.get(key)
            && at.elapsed() < self.ttl
        {
            return Some(v.clone());
        }
        match fetch().await {
            Ok(v) => {
                entries.insert(key.to_string(), (Instant::now(), v.clone()));
                Some(v)
            }
            Err(_) => entries.get_mut(key).map(|(at, v)| {
                *at = Instant::now();
                v.clone()
            }),
        }
    }
}

impl<V> Cache<V> {
    /// Drops the answer for `key`: the next read asks again (after a change this process made).
    pub async fn forget(&self, key: &str) {
        self.entries.lock().await.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_answer_is_kept_for_its_time_and_a_failure_keeps_the_last() {
        let cache = Cache::new(Duration::from_secs(5));
        let calls = std::sync::atomic::AtomicU32::new(0);
        let fetch = |v: Result<u32, ()>| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async move { v }
        };
        assert_eq!(cache.get("eu", || fetch(Ok(1))).await, Some(1));
        assert_eq!(cache.get("eu", || fetch(Ok(2))).await, Some(1), "kept");
        assert_eq!(cache.get("us", || fetch(Err(()))).await, None, "none yet");
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(cache.get("eu", || fetch(Ok(3))).await, Some(3), "stale");
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(
            cache.get("eu", || fetch(Err(()))).await,
            Some(3),
            "last kept"
        );
        assert_eq!(
            cache.get("eu", || fetch(Ok(4))).await,
            Some(3),
            "not asked again at once"
        );
        assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 4);
    }
}
