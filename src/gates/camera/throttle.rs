//! Wrong credentials slow down the next try of the same camera from the same address, and
//! a camera guessed at from many addresses stops checking addresses it does not know.
//!
//! - **Per (camera, address):** `free_failures` wrong tries, then each one makes the next
//!   wait a delay that doubles (1 s, 2 s, 4 s … up to `max_delay`); a try during the
//!   delay is answered `429` with `Retry-After` and its password is not checked. Another
//!   address, or the right password from this one, is not affected by it.
//! - **Per camera:** more than `camera_failures_per_minute` wrong tries from all
//!   addresses together and, for the rest of that minute, only the addresses the camera
//!   has posted from successfully are checked; the others wait. An intruder with many
//!   addresses gets that many guesses a minute; the camera at its usual address is never
//!   slowed by someone else's guesses.
//! - **Bounded:** at most `max_sources` (camera, address) pairs are remembered; beyond that
//!   the pair not heard from the longest is forgotten (a scan of many addresses costs that
//!   scanner its own delays, not memory), and each camera remembers a few good addresses.
//!
//! Pure: the caller passes the time, so tests need no clock.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::config::PlateAuthLimits;

/// The window of the per-camera count.
const CAMERA_WINDOW: Duration = Duration::from_secs(60);
/// Addresses a camera posted from successfully, remembered per camera.
const KNOWN_PER_CAMERA: usize = 4;
/// A (camera, address) pair with no wrong try for this long (beyond its delay) starts over.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

/// Why a try is not checked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Throttled {
    /// This address made too many wrong tries for this camera.
    Source(Duration),
    /// The camera is being guessed at from many addresses and this one is not known.
    Camera(Duration),
}

impl Throttled {
    /// How long to wait.
    pub(super) fn retry_after(self) -> Duration {
        match self {
            Self::Source(d) | Self::Camera(d) => d,
        }
    }

    /// The metric outcome and the answer's code.
    pub(super) fn outcome(self) -> &'static str {
        match self {
            Self::Source(_) => "source_throttled",
            Self::Camera(_) => "camera_throttled",
        }
    }
}

/// One (camera, address) pair's record.
#[derive(Debug, Clone, Copy)]
struct Source {
    failures: u32,
    /// No try is checked before this.
    until: Instant,
    last_failure: Instant,
    /// Its place in [`AuthThrottle::order`].
    seq: u64,
}

/// One camera's count of wrong tries this minute, and where it posted from.
#[derive(Debug, Default)]
struct CameraCount {
    window_start: Option<Instant>,
    failures: u32,
    /// Most recent first.
    known: Vec<IpAddr>,
}

type Key = (String, IpAddr);

/// The delays of the plate listener, per camera and address.
#[derive(Debug)]
pub(super) struct AuthThrottle {
    limits: PlateAuthLimits,
    sources: HashMap<Key, Source>,
    /// Pairs by their last wrong try, oldest first: the first goes when the map is full.
    order: BTreeMap<u64, Key>,
    next_seq: u64,
    /// By configured camera id: bounded by the config.
    cameras: HashMap<String, CameraCount>,
}

impl AuthThrottle {
    pub(super) fn new(limits: PlateAuthLimits) -> Self {
        Self {
            limits,
            sources: HashMap::new(),
            order: BTreeMap::new(),
            next_seq: 0,
            cameras: HashMap::new(),
        }
    }

    /// The delay a pair waits after `failures` wrong tries.
    pub(super) fn delay_after(&self, failures: u32) -> Duration {
        let free = self.limits.free_failures;
        if failures < free {
            return Duration::ZERO;
        }
        let doublings = (failures - free).min(30);
        self.limits
            .first_delay()
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.limits.max_delay())
    }

    /// `Err` while a try of `camera` from `ip` must not be checked.
    pub(super) fn check(&self, camera: &str, ip: IpAddr, now: Instant) -> Result<(), Throttled> {
        if let Some(s) = self.sources.get(&(camera.to_owned(), ip))
            && s.until > now
        {
            return Err(Throttled::Source(s.until - now));
        }
        if let Some(c) = self.cameras.get(camera)
            && let Some(start) = c.window_start
            && now.saturating_duration_since(start) < CAMERA_WINDOW
            && c.failures >= self.limits.camera_failures_per_minute
            && !c.known.contains(&ip)
        {
            return Err(Throttled::Camera(start + CAMERA_WINDOW - now));
        }
        Ok(())
    }

    /// Counts a wrong try of `camera` from `ip`; returns the pair's failures so far and
    /// the delay its next try now waits.
    pub(super) fn failed(&mut self, camera: &str, ip: IpAddr, now: Instant) -> (u32, Duration) {
        let count = self.cameras.entry(camera.to_owned()).or_default();
        if count
            .window_start
            .is_none_or(|s| now.saturating_duration_since(s) >= CAMERA_WINDOW)
        {
            count.window_start = Some(now);
            count.failures = 0;
        }
        count.failures = count.failures.saturating_add(1);

        let key = (camera.to_owned(), ip);
        let seq = self.next_seq;
        self.next_seq += 1;
        let previous = self.sources.remove(&key);
        if let Some(p) = previous {
            self.order.remove(&p.seq);
        }
        while self.sources.len() >= self.limits.max_sources.max(1) {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.sources.remove(&oldest);
        }
        let failures = previous
            .filter(|p| now.saturating_duration_since(p.until.max(p.last_failure)) < FORGET_AFTER)
            .map_or(0, |p| p.failures)
            .saturating_add(1);
        let delay = self.delay_after(failures);
        self.sources.insert(
            key.clone(),
            Source {
                failures,
                until: now + delay,
                last_failure: now,
                seq,
            },
        );
        self.order.insert(seq, key);
        (failures, delay)
    }

    /// The right credentials: the pair starts over, and the camera knows the address.
    pub(super) fn succeeded(&mut self, camera: &str, ip: IpAddr) {
        if let Some(s) = self.sources.remove(&(camera.to_owned(), ip)) {
            self.order.remove(&s.seq);
        }
        let count = self.cameras.entry(camera.to_owned()).or_default();
        if count.known.first() != Some(&ip) {
            count.known.retain(|k| *k != ip);
            count.known.insert(0, ip);
            count.known.truncate(KNOWN_PER_CAMERA);
        }
    }

    /// How many (camera, address) pairs are remembered.
    #[cfg(test)]
    pub(super) fn sources(&self) -> usize {
        self.sources.len()
    }
}

/// At most one warning per camera per [`LogGate::EVERY`]; the rest are counted and the
/// next warning says how many, so a flood of wrong passwords cannot flood the log.
#[derive(Debug, Default)]
pub(super) struct LogGate {
    /// By configured camera id: (last warned, suppressed since).
    last: HashMap<String, (Instant, u64)>,
}

impl LogGate {
    const EVERY: Duration = Duration::from_secs(10);

    /// `Some(suppressed since the last warning)` when this one is to be logged.
    pub(super) fn admit(&mut self, camera: &str, now: Instant) -> Option<u64> {
        match self.last.get_mut(camera) {
            Some((at, suppressed)) if now.saturating_duration_since(*at) < Self::EVERY => {
                *suppressed += 1;
                None
            }
            Some((at, suppressed)) => {
                *at = now;
                Some(std::mem::take(suppressed))
            }
            None => {
                self.last.insert(camera.to_owned(), (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
#[path = "throttle_tests.rs"]
mod tests;
