//! Retry policy: exponential backoff with a cap and equal jitter
//! (`specs/connection-manager.md` §2.5).

use std::time::Duration;

use serde::Serialize;

/// How a connection retries. All of it is configurable per link.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RetryPolicy {
    /// Delay before the first retry.
    pub base: Duration,
    /// Growth per attempt.
    pub factor: f64,
    /// Upper bound of the delay.
    pub cap: Duration,
    /// Give up after this many consecutive failed attempts (0 = never).
    pub max_attempts: u32,
    /// Retry at all after a failure; otherwise go to `disconnected`.
    pub auto_reconnect: bool,
    /// The attempt counter resets only after the link stayed up this long,
    /// so a link that fails right after opening keeps backing off.
    pub stable_after: Duration,
    /// Limit of one open attempt.
    pub open_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            factor: 2.0,
            cap: Duration::from_secs(30),
            max_attempts: 0,
            auto_reconnect: true,
            stable_after: Duration::from_secs(5),
            open_timeout: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Delay before retry `attempt` (1-based), without jitter:
    /// `min(cap, base × factor^(attempt−1))`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(1024) as i32;
        let secs = self.base.as_secs_f64() * self.factor.max(1.0).powi(exponent);
        Duration::from_secs_f64(secs.min(self.cap.as_secs_f64()))
    }

    /// Whether `attempt` failed attempts exhaust the policy.
    pub fn gives_up_after(&self, attempt: u32) -> bool {
        !self.auto_reconnect || (self.max_attempts != 0 && attempt >= self.max_attempts)
    }
}

/// Equal jitter: a delay `d` becomes uniform in `[d/2, d]`, so retries of
/// many devices do not synchronise. Seeded, so tests are reproducible.
#[derive(Debug, Clone)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A seed that differs between connections and runs.
    pub fn from_entropy(salt: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let salt = salt.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Self::new(nanos ^ salt)
    }

    /// SplitMix64 step, mapped to [0, 1).
    fn next_unit(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn apply(&mut self, delay: Duration) -> Duration {
        let half = delay.as_secs_f64() / 2.0;
        Duration::from_secs_f64(half + half * self.next_unit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn delays_grow_and_cap() {
        let policy = RetryPolicy::default();
        let secs: Vec<f64> = (1..=8).map(|n| policy.delay(n).as_secs_f64()).collect();
        assert_eq!(secs, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]);
        assert_eq!(policy.delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn giving_up() {
        let mut policy = RetryPolicy::default();
        assert!(!policy.gives_up_after(1000));
        policy.max_attempts = 3;
        assert!(!policy.gives_up_after(2));
        assert!(policy.gives_up_after(3));
        policy.max_attempts = 0;
        policy.auto_reconnect = false;
        assert!(policy.gives_up_after(1));
    }

    proptest! {
        #[test]
        fn jitter_stays_in_the_equal_jitter_band(seed: u64, millis in 1u64..100_000) {
            let mut jitter = Jitter::new(seed);
            let delay = Duration::from_millis(millis);
            for _ in 0..20 {
                let d = jitter.apply(delay);
                prop_assert!(d >= delay / 2 && d <= delay, "{d:?} outside [{:?}, {delay:?}]", delay / 2);
            }
        }
    }

    #[test]
    fn jitter_spreads() {
        let mut jitter = Jitter::new(7);
        let delay = Duration::from_secs(10);
        let samples: Vec<Duration> = (0..100).map(|_| jitter.apply(delay)).collect();
        let below = samples
            .iter()
            .filter(|d| **d < Duration::from_millis(7500))
            .count();
        assert!(
            (25..=75).contains(&below),
            "{below} of 100 in the lower half of the band"
        );
    }
}
