//! Which loops must be making progress for the controller to count as alive.
//!
//! Each critical loop (a sorting line, the store writer, a gate lane) owns a [`Pulse`] and
//! beats it once per iteration: one relaxed atomic store, so it costs nothing when no
//! service manager is watching. The daemon registers those pulses in a [`Watchdog`] with
//! how long the loop may go without a beat. [`ping_loop`] tells systemd's watchdog the
//! process is alive only while every registered loop is fresh: a stalled line task stops
//! the pings, systemd kills the process after `WatchdogSec=` and `Restart=` starts it
//! again, and the line's parcels fail closed to the exception lane meanwhile.
//!
//! Freshness is decided by [`stalled`], a pure function over plain data, so it is tested
//! without clocks or sockets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A pulse that was never beaten: its loop has not started yet (still resolving device
/// addresses, say) and is not judged until it has.
const NEVER: u64 = u64::MAX;

/// One loop's heartbeat. `Clone` shares it: the loop beats, the watchdog reads.
#[derive(Debug, Clone)]
pub struct Pulse {
    inner: Arc<PulseInner>,
}

#[derive(Debug)]
struct PulseInner {
    /// What `last_ms` counts from; each pulse has its own, so no global clock is needed.
    origin: Instant,
    /// Milliseconds from `origin` to the last beat, or [`NEVER`].
    last_ms: AtomicU64,
}

impl Default for Pulse {
    fn default() -> Self {
        Self {
            inner: Arc::new(PulseInner {
                origin: Instant::now(),
                last_ms: AtomicU64::new(NEVER),
            }),
        }
    }
}

impl Pulse {
    /// A pulse not beaten yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The loop made progress now.
    pub fn beat(&self) {
        let ms = u64::try_from(self.inner.origin.elapsed().as_millis()).unwrap_or(NEVER - 1);
        self.inner.last_ms.store(ms, Ordering::Relaxed);
    }

    /// When the loop last made progress; `None` before its first beat.
    pub fn last(&self) -> Option<Instant> {
        match self.inner.last_ms.load(Ordering::Relaxed) {
            NEVER => None,
            ms => Some(self.inner.origin + Duration::from_millis(ms)),
        }
    }
}

/// A loop under watch, as [`stalled`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beat {
    /// The loop, in words (`line L1`, `store writer`, `gate 01`).
    pub name: String,
    /// Its last beat; `None` before the first.
    pub last: Option<Instant>,
    /// How long it may go without one.
    pub stall_after: Duration,
}

/// The loops that have gone longer than their `stall_after` without a beat, by name.
/// A loop that has not beaten yet is not judged (it is still starting).
pub fn stalled(beats: &[Beat], now: Instant) -> Vec<String> {
    beats
        .iter()
        .filter(|b| {
            b.last
                .is_some_and(|last| now.saturating_duration_since(last) > b.stall_after)
        })
        .map(|b| b.name.clone())
        .collect()
}

/// The registry of watched loops. `Clone` shares it.
#[derive(Debug, Clone, Default)]
pub struct Watchdog {
    /// A `std` mutex: registering and reading are a push and a copy, never across `.await`.
    loops: Arc<Mutex<Vec<(String, Pulse, Duration)>>>,
}

impl Watchdog {
    /// Watch `pulse` as `name`, which must beat at least every `stall_after`.
    pub fn watch(&self, name: impl Into<String>, pulse: Pulse, stall_after: Duration) {
        self.loops
            .lock()
            .expect("watchdog lock")
            .push((name.into(), pulse, stall_after));
    }

    /// Every watched loop as it stands.
    pub fn beats(&self) -> Vec<Beat> {
        self.loops
            .lock()
            .expect("watchdog lock")
            .iter()
            .map(|(name, pulse, stall_after)| Beat {
                name: name.clone(),
                last: pulse.last(),
                stall_after: *stall_after,
            })
            .collect()
    }

    /// The loops stalled now.
    pub fn stalled_now(&self) -> Vec<String> {
        stalled(&self.beats(), Instant::now())
    }

    /// How many loops are watched.
    pub fn len(&self) -> usize {
        self.loops.lock().expect("watchdog lock").len()
    }

    /// Whether no loop is watched.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Beat `pulse` whenever `view` changes, until `shutdown` or until its sender is gone.
///
/// For loops that publish their state every iteration on a `watch` channel (a gate lane
/// publishes its view after every poll): the publication is the heartbeat, so the loop's
/// own code needs no change.
pub fn beat_on_change<T: Send + Sync + 'static>(
    mut view: watch::Receiver<T>,
    pulse: Pulse,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                changed = view.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    pulse.beat();
                }
            }
        }
    });
}

/// What the ping loop tells the service manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ping {
    /// Every loop is fresh: `WATCHDOG=1`.
    Alive,
    /// These loops are stalled: no ping, and a `STATUS=` line naming them.
    Stalled(Vec<String>),
    /// They made progress again after a stall.
    Recovered,
}

/// Every `period`, ask the watchdog and `send` what to tell the service manager, until
/// `shutdown`. `send` is the notify socket in the service and a recorder in tests.
pub async fn ping_loop(
    watchdog: Watchdog,
    period: Duration,
    mut send: impl FnMut(Ping) + Send,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut was_stalled = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let stalled = watchdog.stalled_now();
        if stalled.is_empty() {
            if was_stalled {
                tracing::warn!("every watched loop is making progress again");
                send(Ping::Recovered);
            }
            send(Ping::Alive);
            was_stalled = false;
        } else {
            tracing::error!(
                loops = %stalled.join(", "),
                "loops stalled: withholding the systemd watchdog ping (systemd restarts the service if this lasts)"
            );
            send(Ping::Stalled(stalled));
            was_stalled = true;
        }
    }
}

#[cfg(test)]
#[path = "watchdog_tests.rs"]
mod tests;
