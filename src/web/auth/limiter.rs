//! A per-client rate limit for login attempts: a fixed window per address, in a map of
//! bounded size. Pure: the caller passes the time, so tests need no clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Login attempts one address may make per window.
pub const ATTEMPTS_PER_WINDOW: u32 = 10;
/// How far back the attempts are counted.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; beyond that, finished windows and then the oldest go.
pub const MAX_CLIENTS: usize = 4096;

/// Attempts per client address. `None` stands for "address unknown" (a server started
/// without connection info): those clients share one window.
#[derive(Debug)]
pub struct Limiter {
    per_window: u32,
    window: Duration,
    max_clients: usize,
    windows: HashMap<Option<IpAddr>, (Instant, u32)>,
}

impl Default for Limiter {
    fn default() -> Self {
        Self::new(ATTEMPTS_PER_WINDOW, WINDOW, MAX_CLIENTS)
    }
}

impl Limiter {
    /// A limiter admitting `per_window` attempts per `window`, remembering `max_clients`.
    pub fn new(per_window: u32, window: Duration, max_clients: usize) -> Self {
        Self {
            per_window,
            window,
            max_clients: max_clients.max(1),
            windows: HashMap::new(),
        }
    }

    /// Count an attempt by `client` at `now`; `Err(wait)` when it is over the limit.
    pub fn attempt(&mut self, client: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        if !self.windows.contains_key(&client) && self.windows.len() >= self.max_clients {
            self.make_room(now);
        }
        let (start, count) = self.windows.entry(client).or_insert((now, 0));
        if now.duration_since(*start) >= self.window {
            (*start, *count) = (now, 0);
        }
        if *count >= self.per_window {
            return Err(self.window.saturating_sub(now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }

    /// How many clients are remembered.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// Whether no client is remembered.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    fn make_room(&mut self, now: Instant) {
        let window = self.window;
        self.windows
            .retain(|_, (start, _)| now.duration_since(*start) < window);
        if self.windows.len() >= self.max_clients
            && let Some(oldest) = self
                .windows
                .iter()
                .min_by_key(|(_, (start, _))| *start)
                .map(|(k, _)| *k)
        {
            self.windows.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps)] // the limiter's key is an optional address
    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn the_eleventh_attempt_in_a_minute_waits_for_the_window_to_end() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        for i in 0..10 {
            assert!(l.attempt(ip(1), t0 + Duration::from_secs(i)).is_ok());
        }
        let wait = l.attempt(ip(1), t0 + Duration::from_secs(15)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(45));
        assert!(
            l.attempt(ip(2), t0 + Duration::from_secs(15)).is_ok(),
            "per address"
        );
        assert!(
            l.attempt(ip(1), t0 + Duration::from_secs(60)).is_ok(),
            "a new window"
        );
    }

    #[test]
    fn the_map_stays_bounded_under_many_addresses() {
        let mut l = Limiter::new(1, WINDOW, 3);
        let t0 = Instant::now();
        for i in 0..50u8 {
            l.attempt(ip(i), t0 + Duration::from_millis(u64::from(i)))
                .unwrap();
            assert!(l.len() <= 3);
        }
        // The newest stay limited.
        assert!(l.attempt(ip(49), t0 + Duration::from_secs(1)).is_err());
    }
}
