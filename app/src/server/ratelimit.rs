//! In-memory fixed-window rate limits, per instance (the README says so: with N
//! instances a client gets up to N times the limit).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The per-instance rate limits. Log-in attempts are counted before the password is
/// checked (see `accounts::authenticate`): per (account, client address), which locks
/// that address out of that account; per address; and per account from every address
/// together, a much higher ceiling.
pub struct Limits {
    pub login_account_address: RateLimiter<(String, IpAddr)>,
    pub login_ip: RateLimiter<IpAddr>,
    pub login_account_total: RateLimiter<String>,
    /// Sign-ups per client address per hour.
    pub signups: RateLimiter<IpAddr>,
    /// New referrer codes per client address per minute.
    pub referrer_codes: RateLimiter<IpAddr>,
    /// REST API requests per key per minute.
    pub api_per_key: RateLimiter<i64>,
}

impl Limits {
    pub fn new(config: &crate::server::config::Config) -> Self {
        let window = Duration::from_secs(config.accounts.login_window_secs);
        Limits {
            login_account_address: RateLimiter::new(config.accounts.login_max_failures_per_account, window),
            login_ip: RateLimiter::new(config.accounts.login_max_failures_per_ip, window),
            login_account_total: RateLimiter::new(config.accounts.login_max_failures_per_account_total, window),
            signups: RateLimiter::new(config.accounts.signup_max_per_hour_per_ip, Duration::from_secs(3600)),
            referrer_codes: RateLimiter::new(config.referrals.auto_create_per_minute, Duration::from_secs(60)),
            api_per_key: RateLimiter::new(config.api.rate_limit_per_minute, Duration::from_secs(60)),
        }
    }
}

pub struct RateLimiter<K> {
    max: u32,
    window: Duration,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    started: Instant,
    count: u32,
}

/// `Err(seconds)` tells how long until the key may try again.
pub type Verdict = Result<(), u64>;

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max: max.max(1),
            window,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Bucket>> {
        // A panic while holding this lock cannot leave a bucket half-written.
        self.buckets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `key` is under its limit, without counting anything.
    pub fn check(&self, key: &K) -> Verdict {
        let now = Instant::now();
        match self.lock().get(key) {
            Some(b) if now.duration_since(b.started) < self.window && b.count >= self.max => {
                Err(self.retry_after(b, now))
            }
            _ => Ok(()),
        }
    }

    /// Counts one event for `key`; refuses it when the limit is already reached.
    pub fn hit(&self, key: &K) -> Verdict {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, b| now.duration_since(b.started) < window);
        }
        let bucket = map.entry(key.clone()).or_insert(Bucket { started: now, count: 0 });
        if now.duration_since(bucket.started) >= self.window {
            *bucket = Bucket { started: now, count: 0 };
        }
        if bucket.count >= self.max {
            return Err(self.retry_after(bucket, now));
        }
        bucket.count += 1;
        Ok(())
    }

    /// Gives back one event counted by `hit` (a reservation that turned out not to
    /// count, such as a log-in attempt with the right password).
    pub fn release(&self, key: &K) {
        if let Some(b) = self.lock().get_mut(key) {
            b.count = b.count.saturating_sub(1);
        }
    }

    pub fn reset(&self, key: &K) {
        self.lock().remove(key);
    }

    fn retry_after(&self, b: &Bucket, now: Instant) -> u64 {
        let left = self.window.saturating_sub(now.duration_since(b.started));
        left.as_secs().max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_refuses_after_max_hits_and_says_when_to_retry() {
        let rl = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(rl.hit(&"k").is_ok());
        }
        let wait = rl.hit(&"k").unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(rl.check(&"k").is_err());
        assert!(rl.check(&"other").is_ok());
        rl.reset(&"k");
        assert!(rl.hit(&"k").is_ok());
        rl.release(&"k");
        rl.release(&"k");
        for _ in 0..3 {
            assert!(rl.hit(&"k").is_ok());
        }
        assert!(rl.hit(&"k").is_err());
    }

    #[test]
    fn a_new_window_starts_afresh() {
        let rl = RateLimiter::new(1, Duration::from_millis(20));
        assert!(rl.hit(&1).is_ok());
        assert!(rl.hit(&1).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(rl.hit(&1).is_ok());
    }
}
