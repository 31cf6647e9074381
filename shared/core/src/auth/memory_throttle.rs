//! [`MemoryThrottle`]: the in-process adapter of the throttle port. State is
//! per process, bounded in keys, and evicted in expiry order, so neither a
//! flood of distinct keys nor a full map makes an attempt scan the map.

use crate::ports::{Admission, PortError, Throttle, ThrottleLimit, MAX_THROTTLE_KEY};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys kept when no capacity is named: about 30 MB at the most.
pub const DEFAULT_THROTTLE_KEYS: usize = 100_000;

struct Entry {
    /// Admission times, oldest first; at most the key's `max`.
    attempts: VecDeque<Instant>,
    /// When the newest attempt leaves the window, and a tie-breaker: the entry's key in `order`.
    expires: (Instant, u64),
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Keys by expiry: the front is the first to go, whether expired or evicted for room.
    order: BTreeMap<(Instant, u64), String>,
    ticket: u64,
}

/// Sliding-window counters in memory, at most `capacity` keys.
pub struct MemoryThrottle {
    capacity: usize,
    state: Mutex<State>,
}

impl Default for MemoryThrottle {
    fn default() -> Self {
        Self::new(DEFAULT_THROTTLE_KEYS)
    }
}

impl MemoryThrottle {
    /// Builds a throttle keeping at most `capacity` keys; past it, the key
    /// whose attempts expire first is forgotten.
    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), state: Mutex::default() }
    }

    /// Returns how many keys are held.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-update of counters.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    /// Drops the keys whose newest attempt left its window: only the expired front is visited.
    fn expire(&mut self, now: Instant) {
        while let Some(entry) = self.order.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            self.entries.remove(&key);
        }
    }

    /// How long until `limit.key` may be attempted again; `None` when it may now.
    fn wait(&mut self, limit: &ThrottleLimit, now: Instant) -> Option<Duration> {
        let entry = self.entries.get_mut(&limit.key)?;
        while entry.attempts.front().is_some_and(|t| now.duration_since(*t) >= limit.window) {
            entry.attempts.pop_front();
        }
        if entry.attempts.len() < limit.max as usize {
            return None;
        }
        entry.attempts.front().map(|oldest| limit.window.saturating_sub(now.duration_since(*oldest)))
    }

    fn count(&mut self, limit: &ThrottleLimit, now: Instant, capacity: usize) {
        self.ticket += 1;
        let expires = (now + limit.window, self.ticket);
        match self.entries.get_mut(&limit.key) {
            Some(entry) => {
                self.order.remove(&entry.expires);
                entry.attempts.push_back(now);
                entry.expires = expires;
            }
            None => {
                if self.entries.len() >= capacity {
                    if let Some((_, victim)) = self.order.pop_first() {
                        self.entries.remove(&victim);
                    }
                }
                let attempts = VecDeque::from([now]);
                self.entries.insert(limit.key.clone(), Entry { attempts, expires });
            }
        }
        self.order.insert(expires, limit.key.clone());
    }
}

#[async_trait]
impl Throttle for MemoryThrottle {
    async fn admit(&self, limits: &[ThrottleLimit]) -> Result<Admission, PortError> {
        if let Some(long) = limits.iter().find(|l| l.key.len() > MAX_THROTTLE_KEY) {
            return Err(PortError::new(
                crate::ports::PortErrorKind::Invalid,
                format!("key of {} bytes", long.key.len()),
            ));
        }
        let now = Instant::now();
        let mut state = self.lock();
        state.expire(now);
        let wait = limits.iter().filter_map(|l| state.wait(l, now)).max();
        if let Some(retry_after) = wait {
            return Ok(Admission::Refused { retry_after });
        }
        for limit in limits {
            state.count(limit, now, self.capacity);
        }
        Ok(Admission::Admitted)
    }

    async fn release(&self, key: &str) -> Result<(), PortError> {
        let mut state = self.lock();
        let emptied = state.entries.get_mut(key).is_some_and(|e| {
            e.attempts.pop_back();
            e.attempts.is_empty()
        });
        if emptied {
            if let Some(entry) = state.entries.remove(key) {
                state.order.remove(&entry.expires);
            }
        }
        Ok(())
    }

    async fn forget(&self, key: &str) -> Result<(), PortError> {
        let mut state = self.lock();
        if let Some(entry) = state.entries.remove(key) {
            state.order.remove(&entry.expires);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(key: &str, max: u32) -> ThrottleLimit {
        ThrottleLimit { key: key.into(), max, window: Duration::from_secs(60) }
    }

    #[tokio::test]
    async fn a_key_at_its_limit_refuses_and_counts_nothing_for_the_other_keys() {
        let t = MemoryThrottle::default();
        for _ in 0..3 {
            assert_eq!(t.admit(&[limit("u", 3), limit("a", 100)]).await.unwrap(), Admission::Admitted);
        }

        let refused = t.admit(&[limit("u", 3), limit("a", 100)]).await.unwrap();

        assert!(matches!(refused, Admission::Refused { retry_after } if retry_after > Duration::from_secs(58)));
        for _ in 0..97 {
            assert_eq!(t.admit(&[limit("a", 100)]).await.unwrap(), Admission::Admitted, "a counted 3, not 4");
        }
    }

    #[tokio::test]
    async fn released_and_forgotten_attempts_no_longer_count() {
        let t = MemoryThrottle::default();
        t.admit(&[limit("u", 1)]).await.unwrap();
        t.release("u").await.unwrap();
        assert_eq!(t.admit(&[limit("u", 1)]).await.unwrap(), Admission::Admitted);
        t.forget("u").await.unwrap();
        assert_eq!(t.admit(&[limit("u", 1)]).await.unwrap(), Admission::Admitted);
        assert_eq!(t.len(), 1);
    }

    #[tokio::test]
    async fn a_flood_of_distinct_keys_never_holds_more_than_the_capacity() {
        let t = MemoryThrottle::new(1_000);

        for i in 0..50_000 {
            t.admit(&[limit(&format!("u:{i}"), 10)]).await.unwrap();
        }

        assert_eq!(t.len(), 1_000);
        let newest = t.admit(&[limit("u:49999", 1)]).await.unwrap();
        assert!(matches!(newest, Admission::Refused { .. }), "the newest keys are the ones kept");
    }

    #[tokio::test]
    async fn expired_keys_are_dropped_without_being_asked_for() {
        let t = MemoryThrottle::default();
        let short = ThrottleLimit { key: "gone".into(), max: 1, window: Duration::ZERO };
        t.admit(std::slice::from_ref(&short)).await.unwrap();

        t.admit(&[limit("other", 1)]).await.unwrap();

        assert_eq!(t.len(), 1);
    }

    #[tokio::test]
    async fn keys_longer_than_the_port_allows_are_refused_as_invalid() {
        let t = MemoryThrottle::default();
        assert!(t.admit(&[limit(&"x".repeat(MAX_THROTTLE_KEY + 1), 1)]).await.is_err());
    }
}
