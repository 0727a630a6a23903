//! The wait between reconnection attempts, shared by every link that retries (Modbus
//! links, scanner clients, the X-ray feed, the platform session, video capture, the
//! simulators' MQTT link): it starts at a floor, doubles after each failed attempt up to a
//! cap, optionally spread by jitter, and goes back to the floor only when the caller says
//! so with [`Backoff::reset`].
//!
//! It does no I/O and reads no clock: the caller sleeps (or schedules its next attempt)
//! for what [`Backoff::next_wait`] returns.

use std::time::Duration;

use rand::Rng as _;

/// Doubling waits between attempts, from a floor up to a cap.
///
/// What counts as success is the caller's decision, made by calling [`Backoff::reset`]:
/// most links reset once a connection is up, video capture only once a stream has
/// delivered frames. A link that should not reset on a connection that dies before doing
/// any work calls `reset` after that work instead of at connect.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    floor: Duration,
    cap: Duration,
    /// Each wait is spread uniformly over `1 ± jitter` of the step; 0 for none.
    jitter: f64,
    /// The step the next wait is taken from.
    step: Duration,
    /// Waits handed out since the last reset.
    failures: u32,
}

impl Backoff {
    /// Waits of `floor`, then twice that, and so on up to `cap`. A floor above the cap is
    /// used once, then the cap.
    pub const fn new(floor: Duration, cap: Duration) -> Self {
        Self {
            floor,
            cap,
            jitter: 0.0,
            step: floor,
            failures: 0,
        }
    }

    /// Spreads each wait uniformly over `1 ± fraction` of its step (0.25: 75 % to 125 %), so
    /// that clients which lost the same server do not all come back at the same moment.
    /// The doubling itself is not jittered. `fraction` is clamped to `0..=1`.
    #[must_use]
    pub fn with_jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction.clamp(0.0, 1.0);
        self
    }

    /// The wait before the next attempt, after a failed one: the current step (jittered),
    /// after which the step doubles, up to the cap.
    pub fn next_wait(&mut self) -> Duration {
        let step = self.step;
        self.step = step.saturating_mul(2).min(self.cap);
        self.failures = self.failures.saturating_add(1);
        if self.jitter > 0.0 {
            let factor = rand::rng().random_range(1.0 - self.jitter..1.0 + self.jitter);
            step.mul_f64(factor)
        } else {
            step
        }
    }

    /// Back to the floor: the next failure waits the shortest time again.
    pub fn reset(&mut self) {
        self.step = self.floor;
        self.failures = 0;
    }

    /// The step the next wait is taken from (before jitter).
    pub fn current(&self) -> Duration {
        self.step
    }

    /// How many waits were handed out since the last reset: 0 while nothing has failed.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn waits_double_from_the_floor_to_the_cap() {
        let mut b = Backoff::new(ms(250), ms(1000));
        let waits: Vec<_> = (0..5).map(|_| b.next_wait().as_millis()).collect();
        assert_eq!(waits, [250, 500, 1000, 1000, 1000]);
        assert_eq!(b.failures(), 5);
    }

    #[test]
    fn reset_goes_back_to_the_floor() {
        let mut b = Backoff::new(ms(100), ms(5000));
        b.next_wait();
        b.next_wait();
        assert_eq!(b.current(), ms(400));
        b.reset();
        assert_eq!((b.current(), b.failures()), (ms(100), 0));
        assert_eq!(b.next_wait(), ms(100));
    }

    #[test]
    fn a_floor_above_the_cap_is_used_once() {
        let mut b = Backoff::new(ms(60_000), ms(30_000));
        assert_eq!(b.next_wait(), ms(60_000));
        assert_eq!(b.next_wait(), ms(30_000));
    }

    #[test]
    fn jitter_stays_within_its_fraction_and_does_not_compound() {
        let mut b = Backoff::new(Duration::from_secs(4), Duration::from_secs(4)).with_jitter(0.25);
        for _ in 0..100 {
            let d = b.next_wait();
            assert!(
                d >= Duration::from_secs(3) && d <= Duration::from_secs(5),
                "{d:?}"
            );
            assert_eq!(b.current(), Duration::from_secs(4));
        }
    }

    #[test]
    fn huge_steps_saturate_instead_of_overflowing() {
        let mut b = Backoff::new(Duration::MAX, Duration::MAX);
        assert_eq!(b.next_wait(), Duration::MAX);
        assert_eq!(b.next_wait(), Duration::MAX);
    }
}
