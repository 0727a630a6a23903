//! A running line: its [`Conveyor`] shared by the device servers, the site clock, and the
//! ticker that advances every line.
//!
//! The PLC server, the scanners, the X-ray writer, the HTTP API and the ticker all touch
//! the same conveyor, each for a few microseconds of plain data work, so it sits behind
//! one `std::sync::Mutex` reached only through [`SharedLine::with`], which computes `now`
//! while holding the lock: operations are then stamped in the order they really happened,
//! and a lane command that got the lock before the tick that drops its parcel counts as in
//! time. What a tick produced (scans, X-ray jobs) is handed on after the lock is released.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::conveyor::{
    BagRecord, BagScanError, Conveyor, LineEvent, LinePart, ScanEvent, ScannerId, XrayJob,
};
use crate::faults::{FaultKind, FaultSource};
use crate::report::Connections;

/// Scans buffered per scanner client before a slow one starts missing some.
const SCAN_BUFFER: usize = 1024;

/// The site's clock: sim time zero as a Tokio instant (so tests can pause time) and as a
/// wall-clock time (to stamp the report and name X-ray files).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
    epoch: DateTime<Utc>,
}

impl Clock {
    /// A clock whose sim time zero is now.
    pub fn start() -> Self {
        Self {
            start: Instant::now(),
            epoch: Utc::now(),
        }
    }

    /// Sim time now.
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Wall-clock time of sim time zero.
    pub fn epoch(&self) -> DateTime<Utc> {
        self.epoch
    }

    /// The wall-clock time of a sim time.
    pub fn wall(&self, sim: Duration) -> DateTime<Utc> {
        self.epoch + chrono::TimeDelta::from_std(sim).unwrap_or(chrono::TimeDelta::MAX)
    }

    /// The Tokio instant of a sim time.
    pub fn instant(&self, sim: Duration) -> Instant {
        self.start + sim
    }
}

/// Which device a [`ClientGuard`] counts a connection for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// The Modbus TCP PLC.
    Plc,
    /// A barcode scanner.
    Scanner(ScannerId),
}

/// A `Clone` handle to one running line.
#[derive(Debug, Clone)]
pub struct SharedLine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    id: String,
    clock: Clock,
    /// A `std` mutex, not Tokio's: every holder does a short synchronous update (a tick, a
    /// register read, a command) and never holds it across an `.await`.
    conveyor: Mutex<Conveyor>,
    /// Clients of the PLC, the top, the side and the bag-label scanner.
    clients: [AtomicUsize; 4],
    /// Cancelled when a `plc_link_drop` begins, which closes every PLC connection made
    /// before; replaced by a fresh token. Locked only while the conveyor lock is held, so
    /// "is the link up" and "which token" are read together.
    link: Mutex<CancellationToken>,
    top: broadcast::Sender<ScanEvent>,
    side: broadcast::Sender<ScanEvent>,
    bag: broadcast::Sender<ScanEvent>,
    xray: Option<(PathBuf, mpsc::UnboundedSender<XrayJob>)>,
}

impl SharedLine {
    /// Share `conveyor`, on the site's `clock`; `xray` is the directory and the writer's
    /// job queue when the line has an X-ray.
    pub fn new(
        conveyor: Conveyor,
        clock: Clock,
        xray: Option<(PathBuf, mpsc::UnboundedSender<XrayJob>)>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                id: conveyor.id().to_owned(),
                clock,
                conveyor: Mutex::new(conveyor),
                clients: Default::default(),
                link: Mutex::new(CancellationToken::new()),
                top: broadcast::channel(SCAN_BUFFER).0,
                side: broadcast::channel(SCAN_BUFFER).0,
                bag: broadcast::channel(SCAN_BUFFER).0,
                xray,
            }),
        }
    }

    /// The line id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The site clock.
    pub fn clock(&self) -> Clock {
        self.inner.clock
    }

    /// The line's X-ray directory, if it has an X-ray.
    pub fn xray_dir(&self) -> Option<&PathBuf> {
        self.inner.xray.as_ref().map(|(dir, _)| dir)
    }

    /// Run `f` on the conveyor with the current sim time.
    pub fn with<R>(&self, f: impl FnOnce(&mut Conveyor, Duration) -> R) -> R {
        // A panic while holding the lock leaves plain data behind; keep the sim running.
        let mut conveyor = self
            .inner
            .conveyor
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = self.inner.clock.now();
        f(&mut conveyor, now)
    }

    /// Scans of one scanner, from now on.
    pub fn subscribe(&self, scanner: ScannerId) -> broadcast::Receiver<ScanEvent> {
        match scanner {
            ScannerId::Top => self.inner.top.subscribe(),
            ScannerId::Side => self.inner.side.subscribe(),
            ScannerId::Bag => self.inner.bag.subscribe(),
        }
    }

    /// Someone scans bag label `bag_no` at the release lane: the open bag is closed with
    /// it (ground truth) and the bag-label scanner sends it.
    pub fn close_bag(&self, bag_no: &str) -> Result<BagRecord, BagScanError> {
        let (bag, frame) = self.with(|c, now| c.close_bag(now, bag_no))?;
        info!(
            line = self.id(),
            bag_no,
            parcels = bag.parcels.len(),
            "bag closed at the release lane"
        );
        // No receiver just means no client of the scanner is connected.
        let _ = self.inner.bag.send(frame);
        Ok(bag)
    }

    /// Someone takes the parcel labelled `code` out of its bag and scans it at the lane;
    /// its sim id.
    pub fn retrieve(&self, code: &str) -> Result<u64, BagScanError> {
        let (id, frame) = self.with(|c, now| c.retrieve(now, code))?;
        info!(
            line = self.id(),
            code,
            parcel_id = id,
            "parcel taken back out of its bag"
        );
        let _ = self.inner.bag.send(frame);
        Ok(id)
    }

    /// Clients connected now.
    pub fn connections(&self) -> Connections {
        let n = |i: usize| self.inner.clients[i].load(Ordering::Relaxed);
        Connections {
            plc_clients: n(0),
            top_clients: n(1),
            side_clients: n(2),
            bag_clients: n(3),
        }
    }

    /// This line's share of a report, with its connections and X-ray directory.
    pub fn part(&self, with_parcels: bool) -> LinePart {
        let mut part = self.with(|c, _| c.part(with_parcels));
        part.line.connections = self.connections();
        part.line.xray_dir = self.xray_dir().map(|d| d.display().to_string());
        part
    }

    /// Whether a PLC client and at least one scanner client are connected.
    pub fn has_clients(&self) -> bool {
        let c = self.connections();
        c.plc_clients > 0 && c.top_clients + c.side_clients > 0
    }

    /// Count a client of `device` until the guard is dropped.
    pub fn client_guard(&self, device: Device) -> ClientGuard {
        self.count(device, true);
        ClientGuard {
            line: self.clone(),
            device,
        }
    }

    fn count(&self, device: Device, connected: bool) {
        let index = match device {
            Device::Plc => 0,
            Device::Scanner(ScannerId::Top) => 1,
            Device::Scanner(ScannerId::Side) => 2,
            Device::Scanner(ScannerId::Bag) => 3,
        };
        let counter = &self.inner.clients[index];
        if device == Device::Plc {
            // Under the conveyor lock, so the heartbeat watch sees counts in order.
            self.with(|c, now| {
                let n = if connected {
                    counter.fetch_add(1, Ordering::Relaxed) + 1
                } else {
                    counter.fetch_sub(1, Ordering::Relaxed) - 1
                };
                c.set_plc_clients(now, n);
            });
        } else if connected {
            counter.fetch_add(1, Ordering::Relaxed);
        } else {
            counter.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn link_token(&self) -> std::sync::MutexGuard<'_, CancellationToken> {
        self.inner
            .link
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// For a new PLC connection: the token that cuts it when the link drops, or `None`
    /// while the link is down (the connection is to be closed at once).
    pub fn plc_link(&self) -> Option<CancellationToken> {
        self.with(|c, _| c.link_up().then(|| self.link_token().clone()))
    }

    /// Start a fault now; returns its id for [`SharedLine::end_fault`].
    pub fn begin_fault(&self, kind: FaultKind, source: FaultSource, duration_ms: u64) -> u64 {
        let id = self.with(|c, now| {
            let id = c.begin_fault(now, kind, source, Some(duration_ms));
            if kind == FaultKind::PlcLinkDrop {
                let mut token = self.link_token();
                token.cancel();
                *token = CancellationToken::new();
            }
            id
        });
        warn!(
            line = self.id(),
            ?kind,
            duration_ms,
            ?source,
            "fault begins"
        );
        id
    }

    /// End the fault `id`.
    pub fn end_fault(&self, id: u64) {
        self.with(|c, now| c.end_fault(now, id));
        info!(line = self.id(), id, "fault ends");
    }

    /// Advance the line one tick and hand on what happened.
    pub fn tick(&self) {
        let events = self.with(Conveyor::tick);
        for event in events {
            self.log_event(&event);
            match event {
                LineEvent::Scanned(scan) => {
                    let channel = match scan.scanner {
                        ScannerId::Top => &self.inner.top,
                        ScannerId::Side => &self.inner.side,
                        ScannerId::Bag => &self.inner.bag,
                    };
                    // No receiver just means no client of that scanner is connected.
                    let _ = channel.send(scan);
                }
                LineEvent::XrayEntered(job) => {
                    if let Some((_, jobs)) = &self.inner.xray {
                        // Closed only at shutdown.
                        let _ = jobs.send(job);
                    }
                }
                _ => {}
            }
        }
    }

    fn log_event(&self, event: &LineEvent) {
        let line = self.id();
        match event {
            LineEvent::Entered {
                parcel_id,
                tracking_no,
                length_mm,
            } => debug!(line, parcel_id, tracking_no, length_mm, "parcel entered"),
            LineEvent::Weighed {
                parcel_id,
                weight_g,
                stable,
                ..
            } => debug!(line, parcel_id, weight_g, stable, "parcel weighed"),
            LineEvent::Scanned(ScanEvent {
                parcel_id,
                scanner,
                code,
            }) => debug!(
                line,
                parcel_id,
                %scanner,
                code = code.as_deref().unwrap_or("<no read>"),
                "parcel scanned"
            ),
            LineEvent::XrayEntered(job) => {
                debug!(
                    line,
                    parcel_id = job.parcel_id,
                    seq = job.seq,
                    "parcel in the X-ray"
                );
            }
            LineEvent::Dropped {
                parcel_id,
                tracking_no,
                lane,
                defaulted,
            } => info!(
                line,
                parcel_id, tracking_no, lane, defaulted, "parcel dropped"
            ),
            LineEvent::Fault { kind, active } => warn!(line, ?kind, active, "PLC fault"),
        }
    }
}

/// Advance every line every `tick` until `shutdown` (one task for all lines keeps the
/// wake-ups at one per tick however many lines there are).
pub async fn run_ticker(lines: Vec<SharedLine>, tick: Duration, shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(tick);
    // After a stall, carry on from now rather than bursting: positions come from the belt
    // odometer, so no movement is lost either way.
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        for line in &lines {
            line.tick();
        }
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
        self.line.count(self.device, false);
    }
}
