//! The one backoff queue consumers use for a delivery that failed for now
//! (an update batch whose store failed, a job whose run failed): doubling
//! with each delivery, from a first wait up to a cap.

use std::time::Duration;

/// The wait before delivery `attempts + 1`: `first` after the first
/// delivery, doubling with each one, at most `cap`.
pub fn doubling_delay(attempts: u32, first: Duration, cap: Duration) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    first.saturating_mul(1 << doublings).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_from_the_first_up_to_the_cap() {
        let (first, cap) = (Duration::from_millis(200), Duration::from_secs(60));
        let delays: Vec<u64> = (1..=12).map(|a| doubling_delay(a, first, cap).as_millis() as u64).collect();
        assert_eq!(delays, [200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 51_200, 60_000, 60_000, 60_000]);
        assert_eq!(doubling_delay(0, first, cap), first);
        assert_eq!(doubling_delay(u32::MAX, first, cap), cap);
    }
}
