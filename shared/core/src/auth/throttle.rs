//! Login throttling: failed logins are counted per username and per client
//! address in a sliding window; past the limit, logins are refused until the
//! oldest failure leaves the window. State is per process (on Lambda, per
//! instance), which bounds guessing without a store round trip.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failure counters with a sliding window.
pub struct LoginThrottle {
    window: Duration,
    per_user: usize,
    per_address: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Default for LoginThrottle {
    /// 10 failures per username and 50 per address in 15 minutes.
    fn default() -> Self {
        Self::new(Duration::from_secs(15 * 60), 10, 50)
    }
}

impl LoginThrottle {
    /// Builds a throttle with its limits.
    pub fn new(window: Duration, per_user: usize, per_address: usize) -> Self {
        Self { window, per_user, per_address, failures: Mutex::new(HashMap::new()) }
    }

    /// Returns how long to wait when either key is over its limit.
    pub fn check(&self, user_key: &str, address: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut map = self.lock();
        let a = Self::wait(&mut map, &format!("u:{user_key}"), self.per_user, self.window, now);
        let b = Self::wait(&mut map, &format!("a:{address}"), self.per_address, self.window, now);
        a.max(b)
    }

    /// Records a failed attempt for both keys.
    pub fn record_failure(&self, user_key: &str, address: &str) {
        let now = Instant::now();
        let mut map = self.lock();
        for key in [format!("u:{user_key}"), format!("a:{address}")] {
            map.entry(key).or_default().push_back(now);
        }
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
    }

    /// Forgets the username's failures after a successful login.
    pub fn record_success(&self, user_key: &str) {
        self.lock().remove(&format!("u:{user_key}"));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        // A poisoned lock only means another thread panicked mid-update of counters.
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait(
        map: &mut HashMap<String, VecDeque<Instant>>,
        key: &str,
        limit: usize,
        window: Duration,
        now: Instant,
    ) -> Option<Duration> {
        let q = map.get_mut(key)?;
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        if q.len() < limit {
            return None;
        }
        q.front().map(|oldest| window.saturating_sub(now.duration_since(*oldest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_failures_for_one_user_block_that_user_only() {
        let t = LoginThrottle::new(Duration::from_secs(60), 3, 100);
        for _ in 0..3 {
            assert!(t.check("acme/bob", "1.1.1.1").is_none());
            t.record_failure("acme/bob", "1.1.1.1");
        }
        assert!(t.check("acme/bob", "2.2.2.2").is_some());
        assert!(t.check("acme/alice", "1.1.1.1").is_none());
    }

    #[test]
    fn a_success_clears_the_user_counter() {
        let t = LoginThrottle::new(Duration::from_secs(60), 2, 100);
        t.record_failure("acme/bob", "1.1.1.1");
        t.record_success("acme/bob");
        t.record_failure("acme/bob", "1.1.1.1");
        assert!(t.check("acme/bob", "1.1.1.1").is_none());
    }

    #[test]
    fn too_many_failures_from_one_address_block_every_user_there() {
        let t = LoginThrottle::new(Duration::from_secs(60), 100, 2);
        t.record_failure("acme/a", "9.9.9.9");
        t.record_failure("acme/b", "9.9.9.9");
        assert!(t.check("acme/c", "9.9.9.9").is_some());
    }
}
