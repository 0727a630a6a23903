//! Wrong passwords slow down the next try of the same name from the same address, and
//! nothing else: an exponential delay per (name as typed, client address), not a lock on
//! the account. Someone guessing from one address waits longer and longer; the account's
//! owner at another address logs in at once. The key is the typed name whether or not
//! such an account exists, so an unknown name is answered exactly like a known one.
//! Pure: the caller passes the time, so tests need no clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Wrong passwords for one name from one address before any delay.
pub const FREE_FAILURES: u32 = 3;
/// The first delay; each further wrong password doubles it.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The cap on the doubling delay: a wrong password never waits longer.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Keys remembered at most; beyond that, the ones whose delay ended longest ago go.
pub const MAX_KEYS: usize = 8192;

/// Who is trying: the lower-cased name as typed, and the client's address.
pub type Key = (String, Option<IpAddr>);

/// One key's record.
#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    until: Instant,
}

/// The delays, per [`Key`].
#[derive(Debug, Default)]
pub struct Throttle {
    records: HashMap<Key, Record>,
}

/// The key of `username` typed at `client`.
pub fn key(username: &str, client: Option<IpAddr>) -> Key {
    (username.trim().to_lowercase(), client)
}

/// The delay after `failures` wrong passwords.
pub fn delay_after(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let doublings = (failures - FREE_FAILURES).min(20);
    (FIRST_DELAY * 2u32.pow(doublings)).min(MAX_DELAY)
}

impl Throttle {
    /// `Err(wait)` while `key` must wait before its next try.
    pub fn check(&self, key: &Key, now: Instant) -> Result<(), Duration> {
        match self.records.get(key) {
            Some(r) if r.until > now => Err(r.until - now),
            _ => Ok(()),
        }
    }

    /// Count a wrong password by `key`; returns the delay it now waits.
    pub fn failed(&mut self, key: Key, now: Instant) -> Duration {
        if !self.records.contains_key(&key) && self.records.len() >= MAX_KEYS {
            self.make_room(now);
        }
        let r = self.records.entry(key).or_insert(Record {
            failures: 0,
            until: now,
        });
        r.failures = r.failures.saturating_add(1);
        let delay = delay_after(r.failures);
        r.until = now + delay;
        delay
    }

    /// The right password: `key` starts over.
    pub fn succeeded(&mut self, key: &Key) {
        self.records.remove(key);
    }

    /// Forget every delay of `username` (its password was reset: old guesses are moot).
    pub fn forget_name(&mut self, username: &str) {
        let name = username.trim().to_lowercase();
        self.records.retain(|(n, _), _| *n != name);
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn make_room(&mut self, now: Instant) {
        // Keys with no delay running and under the free failures go first; then the
        // delay that ends soonest (its guesser loses the least).
        self.records
            .retain(|_, r| r.until > now || r.failures >= FREE_FAILURES);
        if self.records.len() >= MAX_KEYS
            && let Some(k) = self
                .records
                .iter()
                .min_by_key(|(_, r)| r.until)
                .map(|(k, _)| k.clone())
        {
            self.records.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps)] // the throttle's key holds an optional address
    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn the_delay_doubles_after_the_free_failures_and_is_capped() {
        assert_eq!(delay_after(1), Duration::ZERO);
        assert_eq!(delay_after(2), Duration::ZERO);
        assert_eq!(delay_after(3), Duration::from_secs(1));
        assert_eq!(delay_after(4), Duration::from_secs(2));
        assert_eq!(delay_after(8), Duration::from_secs(32));
        assert_eq!(delay_after(40), MAX_DELAY);
    }

    #[test]
    fn a_guesser_waits_and_the_owner_elsewhere_does_not() {
        let mut t = Throttle::default();
        let now = Instant::now();
        for _ in 0..10 {
            t.failed(key("Admin", ip(66)), now);
        }
        let wait = t.check(&key("admin", ip(66)), now).unwrap_err();
        assert_eq!(wait, Duration::from_secs(128));
        assert!(
            t.check(&key("admin", ip(7)), now).is_ok(),
            "another address"
        );
        assert!(
            t.check(&key("officer", ip(66)), now).is_ok(),
            "another name"
        );
        assert!(
            t.check(&key("admin", ip(66)), now + wait).is_ok(),
            "after the wait"
        );
        t.succeeded(&key("admin", ip(66)));
        assert!(t.is_empty());
    }

    #[test]
    fn the_map_stays_bounded() {
        let mut t = Throttle::default();
        let now = Instant::now();
        for i in 0..(MAX_KEYS + 100) {
            t.failed(key(&format!("u{i}"), ip(1)), now);
        }
        assert!(t.len() <= MAX_KEYS);
    }
}
