//! The gate lanes' traffic as one `Clone` handle: start the lanes, queue vehicles, wait
//! for them, read the ground truth.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Tasks;
use super::generate::VehicleGenerator;
use super::journey::{self, Queued};
use super::judge::{
    BarrierRecord, GateLaneReport, GateReport, Ledger, VehicleRecord, VehicleState,
};
use super::lane::{GateLaneAddrs, GateLaneSetup, GateLaneSim, start_lane};
use super::ocr::plan_shots;
use super::spec::VehicleSpec;
use crate::gate_io::BarrierEventKind;
use crate::line::Clock;

/// The traffic's randomness and generated vehicles (`[traffic]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficOptions {
    /// Seed of every random choice (misreads, no-reads, generated vehicles, weighbridge
    /// noise): the same seed plays the same run.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Random vehicles for every lane, queued after the listed ones.
    #[serde(default)]
    pub generate: Option<VehicleGenerator>,
    /// Each lane's vehicles start only once a controller has written the gate I/O's
    /// heartbeat register (non-zero); their `at_ms` then counts from that moment.
    #[serde(default)]
    pub wait_for_controller: bool,
}

fn default_seed() -> u64 {
    1
}

impl Default for TrafficOptions {
    fn default() -> Self {
        Self {
            seed: default_seed(),
            generate: None,
            wait_for_controller: false,
        }
    }
}

/// Why a vehicle was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The spec is malformed.
    #[error("{0}")]
    Invalid(String),
    /// No lane with that id.
    #[error("no gate lane {0:?}; the lanes are {1}")]
    UnknownLane(String, String),
    /// No lane goes that way (or the named lane goes the other way).
    #[error("{0}")]
    NoLane(String),
}

/// Every problem of `gates`, `vehicles` and `options`, each with its path.
pub fn problems(
    gates: &[GateLaneSetup],
    vehicles: &[VehicleSpec],
    options: &TrafficOptions,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (i, g) in gates.iter().enumerate() {
        let at = format!("gate[{i}] ({})", g.id);
        if !seen.insert(g.id.as_str()) {
            out.push(format!("{at}: id is used by another gate"));
        }
        out.extend(g.problems().into_iter().map(|p| format!("{at}: {p}")));
    }
    let lanes: Vec<(&str, super::Direction)> =
        gates.iter().map(|g| (g.id.as_str(), g.direction)).collect();
    for (i, v) in vehicles.iter().enumerate() {
        let at = format!("vehicle[{i}] ({})", v.plate);
        out.extend(v.problems().into_iter().map(|p| format!("{at}: {p}")));
        if let Err(err) = pick_lane(&lanes, v, &|_| 0) {
            out.push(format!("{at}: {err}"));
        }
    }
    if let Some(g) = &options.generate {
        out.extend(
            g.problems()
                .into_iter()
                .map(|p| format!("traffic.generate: {p}")),
        );
    }
    out
}

/// The lane index for `v` among `lanes` (id, direction); `load(i)` = vehicles lane `i`
/// has had, to pick the least busy one.
fn pick_lane(
    lanes: &[(&str, super::Direction)],
    v: &VehicleSpec,
    load: &dyn Fn(usize) -> usize,
) -> Result<usize, QueueError> {
    if let Some(id) = &v.lane {
        let i = lanes.iter().position(|(l, _)| l == id).ok_or_else(|| {
            let ids: Vec<&str> = lanes.iter().map(|(l, _)| *l).collect();
            QueueError::UnknownLane(id.clone(), ids.join(", "))
        })?;
        return match v.direction {
            Some(d) if d != lanes[i].1 => Err(QueueError::NoLane(format!(
                "lane {id} goes {}, the vehicle {}",
                lanes[i].1.as_str(),
                d.as_str()
            ))),
            _ => Ok(i),
        };
    }
    let fits = |i: &usize| v.direction.is_none_or(|d| lanes[*i].1 == d);
    (0..lanes.len())
        .filter(fits)
        .min_by_key(|&i| load(i))
        .ok_or_else(|| {
            QueueError::NoLane(format!(
                "no gate lane goes {}",
                v.direction.map_or("anywhere", super::Direction::as_str)
            ))
        })
}

/// splitmix64 of `seed` and `n`: an independent seed per vehicle.
fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Slot {
    sim: GateLaneSim,
    queue: mpsc::UnboundedSender<Queued>,
}

struct Inner {
    lanes: Vec<Slot>,
    ledger: Ledger,
    seed: u64,
    /// A `std` mutex: ids and lane loads are assigned together, never across an `.await`.
    /// (vehicles ever queued per lane, the lane of the last vehicle queued).
    assign: Mutex<(Vec<usize>, Option<usize>)>,
}

/// A `Clone` handle to the running gate lanes and their traffic.
#[derive(Clone)]
pub struct Traffic {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.inner.lanes.iter().map(|l| l.sim.id.as_str()).collect();
        f.debug_struct("Traffic")
            .field("lanes", &ids)
            .finish_non_exhaustive()
    }
}

impl Traffic {
    /// Bind every lane of `gates`, spawn their device servers and one driver per lane into
    /// `tasks` (all stop on `shutdown`), then queue `vehicles` and the generated ones.
    /// The traffic's clock (`at_ms`, report times) starts now.
    pub async fn start(
        gates: &[GateLaneSetup],
        vehicles: &[VehicleSpec],
        options: &TrafficOptions,
        shutdown: &CancellationToken,
        tasks: &mut Tasks,
    ) -> anyhow::Result<(Self, Vec<GateLaneAddrs>)> {
        let found = problems(gates, vehicles, options);
        anyhow::ensure!(
            found.is_empty(),
            "invalid gate traffic:\n  - {}",
            found.join("\n  - ")
        );
        let clock = Clock::start();
        let start = Instant::now();
        let ledger = Ledger::new(clock);
        let mut lanes = Vec::new();
        let mut addrs = Vec::new();
        for (i, setup) in gates.iter().enumerate() {
            let (sim, a) =
                start_lane(setup, mix(options.seed, !(i as u64)), shutdown, tasks).await?;
            let (tx, rx) = mpsc::unbounded_channel();
            let (s, l) = (shutdown.clone(), ledger.clone());
            let (driver, wait) = (sim.clone(), options.wait_for_controller);
            tasks.spawn(async move {
                journey::run(driver, rx, l, (start, wait), s).await;
                ("gate lane driver", Ok(()))
            });
            lanes.push(Slot { sim, queue: tx });
            addrs.push(a);
        }
        let traffic = Self {
            inner: Arc::new(Inner {
                assign: Mutex::new((vec![0; lanes.len()], None)),
                lanes,
                ledger,
                seed: options.seed,
            }),
        };
        traffic.queue_all(vehicles.iter().cloned())?;
        if let Some(g) = &options.generate {
            let ids: Vec<(String, super::Direction)> =
                gates.iter().map(|g| (g.id.clone(), g.direction)).collect();
            let mut rng = StdRng::seed_from_u64(options.seed);
            traffic.queue_all(g.vehicles(&ids, &mut rng))?;
        }
        Ok((traffic, addrs))
    }

    /// Every lane, in config order.
    pub fn lanes(&self) -> impl Iterator<Item = &GateLaneSim> {
        self.inner.lanes.iter().map(|s| &s.sim)
    }

    /// The lane with this id.
    pub fn lane(&self, id: &str) -> Option<&GateLaneSim> {
        self.lanes().find(|l| l.id == id)
    }

    /// Queue a vehicle on its lane (see [`VehicleSpec::lane`]); a tailgater without a lane
    /// follows the last vehicle queued. Returns its id and lane id.
    pub fn queue(&self, mut spec: VehicleSpec) -> Result<(u64, String), QueueError> {
        let problems = spec.problems();
        if !problems.is_empty() {
            return Err(QueueError::Invalid(problems.join("; ")));
        }
        let inner = &self.inner;
        let ids: Vec<(&str, super::Direction)> = inner
            .lanes
            .iter()
            .map(|s| (s.sim.id.as_str(), s.sim.direction))
            .collect();
        let mut assign = inner.assign.lock().unwrap_or_else(PoisonError::into_inner);
        let i = match (spec.lane.is_none() && spec.tailgate, assign.1) {
            (true, Some(last)) => last,
            _ => pick_lane(&ids, &spec, &|i| assign.0[i])?,
        };
        let lane = &inner.lanes[i].sim;
        spec.direction = Some(lane.direction);
        spec.lane = Some(lane.id.clone());
        assign.0[i] += 1;
        assign.1 = Some(i);
        // Ids are taken under the lock, so they follow the queue order.
        let id = inner.ledger.len() as u64 + 1;
        let shots = plan_shots(&spec, &mut StdRng::seed_from_u64(mix(inner.seed, id)));
        inner.ledger.add(new_record(id, &spec, &lane.id));
        let queued = Queued { id, spec, shots };
        // A closed queue means the traffic stopped; the vehicle stays `queued`.
        let _ = inner.lanes[i].queue.send(queued);
        Ok((id, lane.id.clone()))
    }

    /// Queue each of `specs` in order; stops at the first refused.
    pub fn queue_all(
        &self,
        specs: impl IntoIterator<Item = VehicleSpec>,
    ) -> Result<Vec<u64>, QueueError> {
        specs
            .into_iter()
            .map(|s| self.queue(s).map(|(id, _)| id))
            .collect()
    }

    /// Whether every vehicle queued so far left or was held.
    pub fn all_done(&self) -> bool {
        let p = *self.inner.ledger.progress().borrow();
        p.done == p.queued
    }

    /// Resolves once every vehicle queued so far left or was held.
    pub async fn done(&self) {
        let mut progress = self.inner.ledger.progress();
        // The sender lives as long as `self`: this only ends when the condition holds.
        let _ = progress.wait_for(|p| p.done == p.queued).await;
    }

    /// Wait until every vehicle queued so far left or was held; false on `timeout`.
    pub async fn wait_done(&self, timeout: Duration) -> bool {
        let mut progress = self.inner.ledger.progress();
        let done = progress.wait_for(|p| p.done == p.queued);
        tokio::time::timeout(timeout, done)
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Wait until vehicle `id` left or was held; its record, or `None` on `timeout`.
    pub async fn wait_vehicle(&self, id: u64, timeout: Duration) -> Option<VehicleRecord> {
        let mut progress = self.inner.ledger.progress();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = self.vehicle(id)
                && v.verdict_correct.is_some()
            {
                return Some(v);
            }
            tokio::time::timeout_at(deadline, progress.changed())
                .await
                .ok()?
                .ok()?;
        }
    }

    /// Vehicle `id`'s record so far.
    pub fn vehicle(&self, id: u64) -> Option<VehicleRecord> {
        self.inner.ledger.record(id)
    }

    /// Judge the loads of trucks that leave with the site's custody book.
    pub fn set_custody(&self, custody: crate::custody::Custody) {
        self.inner.ledger.set_custody(custody);
    }

    /// The ground truth so far.
    pub fn report(&self) -> GateReport {
        let ledger = &self.inner.ledger;
        let lanes = self.lanes().map(|l| lane_report(l, ledger)).collect();
        ledger.report(ledger.records(), lanes)
    }
}

fn new_record(id: u64, spec: &VehicleSpec, lane: &str) -> VehicleRecord {
    VehicleRecord {
        id,
        plate: spec.plate.clone(),
        lane: lane.to_owned(),
        direction: spec.direction.unwrap_or(super::Direction::In),
        entitled: spec.entitled,
        tailgate: spec.tailgate,
        true_weight_kg: spec.true_weight_kg,
        state: VehicleState::Queued,
        shots: Vec::new(),
        arrived: None,
        weight_stable: None,
        first_shot: None,
        last_shot: None,
        open_command: None,
        opened: None,
        left: false,
        left_at: None,
        held: false,
        held_at: None,
        led_texts: Vec::new(),
        latency_ms: None,
        load: spec.load.clone(),
        custody_escape: false,
        custody_problems: Vec::new(),
        verdict_correct: None,
    }
}

fn kind_name(kind: BarrierEventKind) -> &'static str {
    match kind {
        BarrierEventKind::OpenStarted => "open_started",
        BarrierEventKind::Opened => "opened",
        BarrierEventKind::CloseStarted => "close_started",
        BarrierEventKind::Closed => "closed",
        BarrierEventKind::CloseRefused => "close_refused",
        BarrierEventKind::Reversed => "reversed",
        BarrierEventKind::StoppedByFault => "stopped_by_fault",
    }
}

fn lane_report(lane: &GateLaneSim, ledger: &Ledger) -> GateLaneReport {
    let barrier = lane
        .gate
        .events()
        .into_iter()
        .map(|e| BarrierRecord {
            at: ledger.moment(lane.gate_instant(e.at)),
            kind: kind_name(e.kind).to_owned(),
            position_pct: e.position_pct,
            loop_occupied: e.loop_occupied,
        })
        .collect();
    GateLaneReport {
        id: lane.id.clone(),
        direction: lane.direction,
        lane_no: lane.lane_no,
        position_pct: lane.gate.status().position_pct,
        led_text: lane.gate.led_text(),
        closed_on_occupied_loop: lane.gate.closed_on_occupied_loop(),
        barrier,
    }
}
