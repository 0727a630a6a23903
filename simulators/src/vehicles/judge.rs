//! The ground truth of the gate lanes: what happened to every vehicle (what the camera
//! sent, when the controller commanded the barrier, whether the vehicle left or was held)
//! and whether the barrier's verdict was right. Served at `GET /gates/report`.
//!
//! Times are [`Moment`]s: milliseconds on the simulator's monotonic clock (since the
//! traffic started) and the same instant as UTC wall time.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;

use super::ocr::ShotKind;
use super::spec::Direction;
use crate::line::Clock;
use crate::report::Stats;

/// One instant, monotonic and wall.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Moment {
    /// Milliseconds since the traffic started (monotonic clock).
    pub ms: f64,
    /// The same instant, UTC.
    pub at: DateTime<Utc>,
}

/// One plate event the camera sent for a vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShotRecord {
    /// A good read, a misread or a no-read.
    pub kind: ShotKind,
    /// The plate sent; `null` = no read.
    pub plate: Option<String>,
    /// The confidence sent.
    pub confidence: f32,
    /// When it was sent (also the capture time in the event).
    pub sent: Moment,
    /// The controller's HTTP status; `null` = not answered (or no camera).
    pub http_status: Option<u16>,
    /// Why the post failed, when it did.
    pub error: Option<String>,
}

/// Where a vehicle is in its journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VehicleState {
    /// Waiting for its lane.
    Queued,
    /// On the loop before the barrier, the weighbridge settling.
    Weighing,
    /// The camera is sending its events.
    Reading,
    /// Waiting for the barrier to be fully open.
    Waiting,
    /// Driving through.
    Passing,
    /// Gone through the barrier.
    Left,
    /// Backed off after waiting `patience_ms`.
    Held,
}

/// One vehicle's history and verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VehicleRecord {
    /// Vehicle id, in queue order from 1.
    pub id: u64,
    /// The true plate.
    pub plate: String,
    /// Lane id.
    pub lane: String,
    /// Which way it goes.
    pub direction: Direction,
    /// Ground truth: whether the barrier should have opened for it.
    pub entitled: bool,
    /// It followed the vehicle before it through the same opening.
    pub tailgate: bool,
    /// Its true weight, kg.
    pub true_weight_kg: i32,
    /// Where it is now.
    pub state: VehicleState,
    /// Every camera event sent for it, in order.
    pub shots: Vec<ShotRecord>,
    /// It drove onto the loop before the barrier.
    pub arrived: Option<Moment>,
    /// The weighbridge reported a stable weight.
    pub weight_stable: Option<Moment>,
    /// The first camera event was sent.
    pub first_shot: Option<Moment>,
    /// The last camera event was sent.
    pub last_shot: Option<Moment>,
    /// The controller's open command started the barrier moving (from the gate I/O's
    /// ground truth), between its arrival and its passing or backing off.
    pub open_command: Option<Moment>,
    /// It saw the barrier fully open.
    pub opened: Option<Moment>,
    /// It went through.
    pub left: bool,
    /// It left the loop after the barrier.
    pub left_at: Option<Moment>,
    /// It gave up waiting and backed off.
    pub held: bool,
    /// It backed off the loop.
    pub held_at: Option<Moment>,
    /// Each text the LED showed while it was at the barrier, in order.
    pub led_texts: Vec<String>,
    /// Open command − the last camera event sent before it, ms: how long the controller
    /// took once it had what it decided on. `null` when it opened before any event.
    pub latency_ms: Option<f64>,
    /// What it carries, as loaded.
    #[serde(default)]
    pub load: Option<crate::custody::VehicleLoad>,
    /// It left carrying a held parcel, a bag never filled here or a waybill never sorted
    /// into a release lane (see `custody_problems`): a wrong verdict.
    #[serde(default)]
    pub custody_escape: bool,
    /// What was wrong with its load when it left, one line each.
    #[serde(default)]
    pub custody_problems: Vec<String>,
    /// Whether it left exactly when entitled, and not with held or unsorted goods; `null`
    /// until it left or was held.
    pub verdict_correct: Option<bool>,
}

/// Totals over every vehicle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GateTotals {
    /// Vehicles queued.
    pub vehicles: u64,
    /// Of those, that left or were held.
    pub done: u64,
    /// Went through.
    pub left: u64,
    /// Backed off.
    pub held: u64,
    /// Left though not entitled, or held though entitled, or left with held or unsorted
    /// goods.
    pub wrong_verdict: u64,
    /// Left carrying held or unsorted goods (each is a wrong verdict too).
    #[serde(default)]
    pub custody_escapes: u64,
    /// Open command latency over vehicles that had one.
    pub latency_ms: Stats,
    /// Times the barrier reached fully closed with a loop occupied (must be 0).
    pub closed_on_occupied_loop: u64,
    /// Vehicles that went through on another's opening.
    pub tailgates: u64,
    /// Camera events sent.
    pub shots: u64,
    /// Of those, misreads.
    pub misreads: u64,
    /// Of those, no-reads.
    pub no_reads: u64,
}

/// One barrier movement or refusal of a lane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarrierRecord {
    /// When, on both clocks (see [`Moment`]).
    pub at: Moment,
    /// `open_started`, `opened`, `close_started`, `closed`, `close_refused`, `reversed`,
    /// `stopped_by_fault`.
    pub kind: String,
    /// Position then, percent open.
    pub position_pct: u16,
    /// Whether a loop was occupied then.
    pub loop_occupied: bool,
}

/// One lane's state and barrier history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateLaneReport {
    /// Lane id.
    pub id: String,
    /// Which way it goes.
    pub direction: Direction,
    /// Lane (channel) number.
    pub lane_no: u32,
    /// Barrier position now, percent open.
    pub position_pct: u16,
    /// The LED text now.
    pub led_text: String,
    /// Whether the barrier ever closed on an occupied loop.
    pub closed_on_occupied_loop: bool,
    /// Every barrier movement and refusal, oldest first.
    pub barrier: Vec<BarrierRecord>,
}

/// The gate lanes' ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// True when every queued vehicle left or was held.
    pub finished: bool,
    /// Counts over every vehicle.
    pub totals: GateTotals,
    /// Each lane.
    pub lanes: Vec<GateLaneReport>,
    /// Every vehicle, in queue order.
    pub vehicles: Vec<VehicleRecord>,
}

impl GateReport {
    /// The vehicle with this id.
    pub fn vehicle(&self, id: u64) -> Option<&VehicleRecord> {
        self.vehicles.iter().find(|v| v.id == id)
    }

    /// The vehicles whose verdict was wrong.
    pub fn wrong_verdicts(&self) -> impl Iterator<Item = &VehicleRecord> {
        self.vehicles
            .iter()
            .filter(|v| v.verdict_correct == Some(false))
    }
}

/// How many vehicles are queued and done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    pub(crate) queued: usize,
    pub(crate) done: usize,
}

/// The vehicles' records, shared by the lanes (which write them) and the report.
#[derive(Debug, Clone)]
pub(crate) struct Ledger {
    clock: Clock,
    /// A `std` mutex: held only to update or copy records, never across an `.await`.
    vehicles: Arc<Mutex<Vec<VehicleRecord>>>,
    progress: Arc<watch::Sender<Progress>>,
    /// The site's custody book, once the site is assembled (the traffic starts first).
    custody: Arc<std::sync::OnceLock<crate::custody::Custody>>,
}

impl Ledger {
    pub(crate) fn new(clock: Clock) -> Self {
        Self {
            clock,
            vehicles: Arc::default(),
            progress: Arc::new(watch::Sender::new(Progress::default())),
            custody: Arc::default(),
        }
    }

    /// `instant` on the traffic's clock.
    pub(crate) fn moment(&self, instant: Instant) -> Moment {
        let since = instant.saturating_duration_since(self.clock.instant(Duration::ZERO));
        Moment {
            ms: crate::report::round_us(since.as_secs_f64() * 1e3),
            at: self.clock.wall(since),
        }
    }

    /// Now on the traffic's clock.
    pub(crate) fn now(&self) -> Moment {
        self.moment(Instant::now())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<VehicleRecord>> {
        self.vehicles.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Add a queued vehicle's record (its id must be the next one).
    pub(crate) fn add(&self, record: VehicleRecord) {
        self.lock().push(record);
        self.progress.send_modify(|p| p.queued += 1);
    }

    /// Change vehicle `id`'s record.
    pub(crate) fn update<R>(&self, id: u64, f: impl FnOnce(&mut VehicleRecord) -> R) -> R {
        let mut vehicles = self.lock();
        f(&mut vehicles[(id - 1) as usize])
    }

    /// Judge custody with the site's book from now on.
    pub(crate) fn set_custody(&self, custody: crate::custody::Custody) {
        let _ = self.custody.set(custody);
    }

    /// Vehicle `id` is done: judge it. One that left is judged by what it carried too.
    pub(crate) fn finish(&self, id: u64) {
        let (left, load) = self.update(id, |v| (v.left, v.load.clone()));
        let problems = match (left, load, self.custody.get()) {
            (true, Some(load), Some(custody)) => custody.problems(&load),
            _ => Vec::new(),
        };
        self.update(id, |v| {
            v.custody_escape = !problems.is_empty();
            v.custody_problems = problems;
            v.verdict_correct = Some(v.left == v.entitled && !v.custody_escape);
        });
        self.progress.send_modify(|p| p.done += 1);
    }

    /// How many vehicles were queued.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// A copy of vehicle `id`'s record.
    pub(crate) fn record(&self, id: u64) -> Option<VehicleRecord> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.lock().get(index).cloned()
    }

    /// A copy of every record.
    pub(crate) fn records(&self) -> Vec<VehicleRecord> {
        self.lock().clone()
    }

    /// Watch the progress.
    pub(crate) fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// The report over `vehicles` and `lanes`.
    pub(crate) fn report(
        &self,
        vehicles: Vec<VehicleRecord>,
        lanes: Vec<GateLaneReport>,
    ) -> GateReport {
        let progress = *self.progress.borrow();
        let mut totals = GateTotals {
            vehicles: vehicles.len() as u64,
            ..GateTotals::default()
        };
        let mut latencies = Vec::new();
        for v in &vehicles {
            let done = v.verdict_correct.is_some();
            totals.done += u64::from(done);
            totals.left += u64::from(v.left);
            totals.held += u64::from(v.held);
            totals.wrong_verdict += u64::from(v.verdict_correct == Some(false));
            totals.custody_escapes += u64::from(v.custody_escape);
            totals.tailgates += u64::from(v.tailgate && v.left);
            totals.shots += v.shots.len() as u64;
            let count = |k: ShotKind| v.shots.iter().filter(|s| s.kind == k).count() as u64;
            totals.misreads += count(ShotKind::Misread);
            totals.no_reads += count(ShotKind::NoRead);
            latencies.extend(v.latency_ms.map(|ms| ms as f32));
        }
        totals.latency_ms = Stats::of(&mut latencies);
        totals.closed_on_occupied_loop = lanes
            .iter()
            .flat_map(|l| &l.barrier)
            .filter(|e| e.kind == "closed" && e.loop_occupied)
            .count() as u64;
        GateReport {
            generated_at: Utc::now(),
            finished: progress.done == progress.queued,
            totals,
            lanes,
            vehicles,
        }
    }
}
