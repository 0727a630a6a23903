//! The running line: the [`Conveyor`] shared by the device servers, its sim clock, and the
//! ticker task that advances it.
//!
//! The PLC server, the HTTP API and the ticker all touch the same conveyor, each for a few
//! microseconds of plain data work, so it sits behind one `std::sync::Mutex` reached only
//! through [`SharedLine::with`], which computes `now` while holding the lock: operations are
//! then stamped in the order they really happened, and a lane command that got the lock
//! before the tick that drops its parcel counts as in time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::conveyor::{Conveyor, LineEvent, ScanEvent};
use crate::report::{Connections, Report};

/// A `Clone` handle to the running line.
#[derive(Debug, Clone)]
pub struct SharedLine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Sim time zero (a Tokio instant, so tests can pause time).
    start: Instant,
    /// A `std` mutex, not Tokio's: every holder does a short synchronous update (a tick, a
    /// register read, a command) and never holds it across an `.await`.
    conveyor: Mutex<Conveyor>,
    plc_clients: AtomicUsize,
    scanner_clients: AtomicUsize,
}

/// Which device a [`ClientGuard`] counts a connection for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// The Modbus TCP PLC.
    Plc,
    /// The barcode scanner.
    Scanner,
}

impl SharedLine {
    /// Share `conveyor`, whose sim time zero is now.
    pub fn new(conveyor: Conveyor) -> Self {
        Self {
            inner: Arc::new(Inner {
                start: Instant::now(),
                conveyor: Mutex::new(conveyor),
                plc_clients: AtomicUsize::new(0),
                scanner_clients: AtomicUsize::new(0),
            }),
        }
    }

    /// Run `f` on the conveyor with the current sim time.
    pub fn with<R>(&self, f: impl FnOnce(&mut Conveyor, Duration) -> R) -> R {
        // A panic while holding the lock leaves plain data behind; keep the sim running.
        let mut conveyor = self
            .inner
            .conveyor
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = self.inner.start.elapsed();
        f(&mut conveyor, now)
    }

    /// The ground-truth report, with the current connection counts.
    pub fn report(&self) -> Report {
        let mut report = self.with(|c, now| c.report(now));
        report.connections = Connections {
            plc_clients: self.inner.plc_clients.load(Ordering::Relaxed),
            scanner_clients: self.inner.scanner_clients.load(Ordering::Relaxed),
        };
        report
    }

    /// Whether at least one PLC client and one scanner client are connected.
    pub fn has_clients(&self) -> bool {
        self.inner.plc_clients.load(Ordering::Relaxed) > 0
            && self.inner.scanner_clients.load(Ordering::Relaxed) > 0
    }

    /// Count a client of `device` until the guard is dropped.
    pub fn client_guard(&self, device: Device) -> ClientGuard {
        self.counter(device).fetch_add(1, Ordering::Relaxed);
        ClientGuard {
            line: self.clone(),
            device,
        }
    }

    fn counter(&self, device: Device) -> &AtomicUsize {
        match device {
            Device::Plc => &self.inner.plc_clients,
            Device::Scanner => &self.inner.scanner_clients,
        }
    }

    /// Advance the line every `tick` until `shutdown`, sending each scan to `scans`.
    pub async fn run_ticker(
        self,
        tick: Duration,
        scans: broadcast::Sender<ScanEvent>,
        shutdown: CancellationToken,
    ) {
        let mut interval = tokio::time::interval(tick);
        // After a stall, carry on from now rather than bursting: positions come from
        // elapsed time, so no movement is lost either way.
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = interval.tick() => {}
            }
            for event in self.with(Conveyor::tick) {
                log_event(&event);
                if let LineEvent::Scanned(scan) = event {
                    // No receiver just means no scanner client is connected.
                    let _ = scans.send(scan);
                }
            }
        }
    }
}

fn log_event(event: &LineEvent) {
    match event {
        LineEvent::Entered {
            parcel_id,
            tracking_no,
            length_mm,
        } => debug!(parcel_id, tracking_no, length_mm, "parcel entered"),
        LineEvent::Scanned(ScanEvent { parcel_id, code }) => {
            debug!(
                parcel_id,
                code = code.as_deref().unwrap_or("<no read>"),
                "parcel scanned"
            );
        }
        LineEvent::Dropped {
            parcel_id,
            tracking_no,
            lane,
            defaulted,
        } => info!(parcel_id, tracking_no, lane, defaulted, "parcel dropped"),
    }
}

/// Counts one connected client while it lives.
#[derive(Debug)]
pub struct ClientGuard {
    line: SharedLine,
    device: Device,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.line
            .counter(self.device)
            .fetch_sub(1, Ordering::Relaxed);
    }
}
