//! The physical model of one sorting line — feeder, belt, entry photo-eye, dynamic scale,
//! top and side scanners, X-ray tunnel, diverter, lanes — as pure state advanced by
//! [`Conveyor::tick`].
//!
//! There is no I/O and no clock in here: every call takes `now`, the simulated time since
//! the site started, so tests drive it with explicit times. Like a real PLC it works in
//! scan cycles: a parcel enters, is weighed, scanned, X-rayed or drops in the tick in which
//! that is detected.
//!
//! The belt is an odometer: while it runs it advances `belt_speed_mm_s` per second; a
//! parcel's leading edge is at `odometer − odometer at entry`. `BELT_RUN` = 0 from the
//! controller or an e-stop stops it, and then nothing moves and nothing enters.
//!
//! The flow of one parcel:
//!
//! 1. [`Conveyor::inject`] puts it in the feeder queue.
//! 2. The feeder puts it on the belt at the entry photo-eye (position 0) once the previous
//!    parcel's trailing edge is `gap_mm` past the eye; the PLC gives it the next tracking
//!    number ([`LineStatus::push_entry`]).
//! 3. At `scale_at_mm` the scale pushes its weight ([`LineStatus::push_weight`]).
//! 4. At `scanner_at_mm` the top and side scanners send their frames ([`ScanEvent`]).
//! 5. At `xray_at_mm` it enters the X-ray: an [`XrayJob`] says its images are due
//!    `xray_delay_ms` later (written by [`crate::xray`], recorded by
//!    [`Conveyor::xray_written`]).
//! 6. At `diverter_at_mm` it falls into the lane of the last accepted lane command for its
//!    tracking number, or into the exception lane if none came in time; in the release
//!    lane it goes into the lane's open bag (`bags`).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use customs_edge_devices::line_plc::LineStatus;
use customs_edge_devices::line_plc::map::{BELT_RUN, COMMAND_LEN};

use crate::parcel::{InjectError, NewParcel};
use crate::report::{CommandRecord, Tally};

mod bags;
mod commands;
mod config;
mod events;
mod faults;
mod record;
mod snapshot;
mod stations;
#[cfg(test)]
mod test_line;
#[cfg(test)]
mod tests;

pub use bags::{BAG_NO_MAX_CHARS, BagRecord, BagScanError};
pub use config::{LineConfig, MAX_XRAY_VIEWS};
pub use events::{CommandOutcome, LaneOutOfRange, LineEvent, ScanEvent, ScannerId, XrayJob};
pub use faults::HEARTBEAT_TIMEOUT;
pub use snapshot::{LinePart, assemble};

use faults::FaultState;
use record::Parcel;

/// Parcels the feeder holds before refusing more, so a runaway client cannot exhaust memory.
pub const FEEDER_CAPACITY: usize = 10_000;
/// Dropped parcels (and command and fault records of each kind) kept per line in the
/// report; older ones are evicted, and still counted in the summary.
pub const REPORT_KEEP: usize = 10_000;

/// The line: feeder, belt, PLC registers and the ground-truth record of every parcel.
#[derive(Debug)]
pub struct Conveyor {
    id: String,
    config: LineConfig,
    /// Wall-clock time of sim time zero, to stamp the report.
    epoch: DateTime<Utc>,
    /// Whether the line has an X-ray machine that writes images.
    xray_enabled: bool,
    status: LineStatus,
    /// The command block as last written (heartbeat, tracking, lane, belt run).
    command_regs: [u16; COMMAND_LEN as usize],
    /// Every parcel still in the report, oldest first; ids increase (not consecutively:
    /// ids are unique across the lines of a site).
    parcels: VecDeque<Parcel>,
    /// Ids waiting in the feeder, first to enter first.
    feeder: VecDeque<u64>,
    /// Ids on the belt in entry order; nothing overtakes, so the front drops first.
    belt: VecDeque<u64>,
    /// The latest parcel given each tracking number: lane commands are matched through it.
    by_tracking: HashMap<u16, u64>,
    /// Belt travel since the start, in µm.
    odometer_um: u64,
    /// Sim time up to which the odometer is integrated.
    moved_until: Duration,
    faults: FaultState,
    /// State of the scale's noise generator (xorshift; deterministic per line).
    rng: u64,
    /// X-ray sequence number of the last parcel X-rayed.
    xray_seq: u64,
    tally: Tally,
    late: VecDeque<CommandRecord>,
    unknown: VecDeque<CommandRecord>,
    rejected: VecDeque<CommandRecord>,
    /// The release lane's bags: which parcel is physically in which bag.
    bags: bags::Bags,
    /// Latest time seen; time never runs backwards even if callers race.
    now: Duration,
}

impl Conveyor {
    /// Line `id` at sim time zero, which is `epoch` on the wall clock; `xray_enabled` when
    /// it has an X-ray machine writing images.
    pub fn new(
        id: impl Into<String>,
        config: LineConfig,
        epoch: DateTime<Utc>,
        xray_enabled: bool,
    ) -> Self {
        let mut command_regs = [0; COMMAND_LEN as usize];
        // The belt runs from the start; the controller may stop it with BELT_RUN = 0.
        command_regs[BELT_RUN as usize] = 1;
        let mut conveyor = Self {
            id: id.into(),
            config,
            epoch,
            xray_enabled,
            status: LineStatus::default(),
            command_regs,
            parcels: VecDeque::new(),
            feeder: VecDeque::new(),
            belt: VecDeque::new(),
            by_tracking: HashMap::new(),
            odometer_um: 0,
            moved_until: Duration::ZERO,
            faults: FaultState::default(),
            rng: 0x9E37_79B9_7F4A_7C15,
            xray_seq: 0,
            tally: Tally {
                lane_counts: (1..=config.lanes).map(|l| (l, 0)).collect(),
                ..Tally::default()
            },
            late: VecDeque::new(),
            unknown: VecDeque::new(),
            rejected: VecDeque::new(),
            bags: bags::Bags::default(),
            now: Duration::ZERO,
        };
        conveyor.refresh_status();
        conveyor
    }

    /// The line's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The line's configuration.
    pub fn config(&self) -> &LineConfig {
        &self.config
    }

    /// The PLC status block as the controller reads it.
    pub fn status(&self) -> &LineStatus {
        &self.status
    }

    /// The command block registers as last written.
    pub fn command_registers(&self) -> [u16; COMMAND_LEN as usize] {
        self.command_regs
    }

    /// Whether every parcel injected so far has dropped.
    pub fn all_dropped(&self) -> bool {
        self.feeder.is_empty() && self.belt.is_empty()
    }

    fn advance(&mut self, now: Duration) -> Duration {
        self.now = self.now.max(now);
        self.now
    }

    fn wall(&self, sim: Duration) -> DateTime<Utc> {
        self.epoch + chrono::TimeDelta::from_std(sim).unwrap_or(chrono::TimeDelta::MAX)
    }

    fn parcel_mut(&mut self, id: u64) -> Option<&mut Parcel> {
        let index = self.parcels.binary_search_by_key(&id, |p| p.id).ok()?;
        self.parcels.get_mut(index)
    }

    /// Put a parcel with sim id `id` in the feeder queue. Ids must increase from one call
    /// to the next (the site hands them out under this line's lock).
    pub fn inject(&mut self, now: Duration, id: u64, parcel: NewParcel) -> Result<(), InjectError> {
        parcel.check()?;
        if self.feeder.len() >= FEEDER_CAPACITY {
            return Err(InjectError::FeederFull);
        }
        debug_assert!(self.parcels.back().is_none_or(|p| p.id < id));
        let now = self.advance(now);
        self.parcels.push_back(Parcel::new(id, parcel, now));
        self.feeder.push_back(id);
        self.tally.injected += 1;
        Ok(())
    }

    /// Bring the odometer up to `now` at the belt's current speed.
    fn integrate(&mut self, now: Duration) {
        let Some(elapsed) = now.checked_sub(self.moved_until) else {
            return;
        };
        let micros = elapsed.as_micros();
        let speed = u128::from(self.status.belt_speed_mm_s);
        // mm/s × µs = nm; / 1000 = µm.
        self.odometer_um += (speed * micros / 1000) as u64;
        self.moved_until = now;
    }

    /// Leading-edge position in mm of a parcel that entered at odometer `entered_um`.
    fn position_mm(&self, entered_um: u64) -> u64 {
        (self.odometer_um - entered_um) / 1000
    }

    /// Advance the line to `now`: one PLC scan cycle. Returns what happened, in order.
    pub fn tick(&mut self, now: Duration) -> Vec<LineEvent> {
        let now = self.advance(now);
        // The PLC's free-running ms clock; entries in this cycle are stamped with it.
        self.status.clock_ms = (now.as_millis() % 65_536) as u16;
        self.integrate(now);
        self.status.plc_heartbeat = self.status.plc_heartbeat.wrapping_add(1);
        let mut events = Vec::new();
        self.watch_heartbeat(now, &mut events);
        let mut dropped = 0;
        for i in 0..self.belt.len() {
            let id = self.belt[i];
            if self.move_parcel(id, now, &mut events) {
                dropped += 1;
            }
        }
        // Nothing overtakes on a belt: the parcels that dropped are the front ones.
        self.belt.drain(..dropped);
        self.feed(now, &mut events);
        self.evict();
        self.refresh_status();
        events
    }

    /// Run the stations a parcel passed since the last tick; true when it dropped.
    fn move_parcel(&mut self, id: u64, now: Duration, events: &mut Vec<LineEvent>) -> bool {
        let c = self.config;
        let Some((_, entered_um)) = self.parcel_mut(id).and_then(|p| p.entered) else {
            return false;
        };
        let pos = self.position_mm(entered_um);
        if pos >= u64::from(c.scale_at_mm) {
            self.weigh(id, now, events);
        }
        if pos >= u64::from(c.scanner_at_mm) {
            self.scan(id, now, events);
        }
        if pos >= u64::from(c.xray_at_mm) {
            self.xray(id, now, events);
        }
        pos >= u64::from(c.diverter_at_mm) && self.drop_parcel(id, now, events)
    }

    /// The parcel reached the diverter: it falls into its commanded lane or the default.
    fn drop_parcel(&mut self, id: u64, now: Duration, events: &mut Vec<LineEvent>) -> bool {
        let (config, exception_lane) = (self.config, self.config.exception_lane);
        let Some(p) = self.parcel_mut(id) else {
            return false;
        };
        let (lane, defaulted) = match p.command {
            Some((lane, _)) => (lane, false),
            None => (exception_lane, true),
        };
        p.dropped = Some((lane, now));
        p.defaulted = defaulted;
        let tracking_no = p.tracking_no.unwrap_or_default();
        let expected = p.expected_lane(&config).is_some();
        let wrong = p.wrong_lane(&config);
        let (latency, slack) = (p.latency_ms(), p.slack_ms());
        self.status.push_drop(tracking_no, lane);
        let t = &mut self.tally;
        t.dropped += 1;
        *t.lane_counts.entry(lane).or_default() += 1;
        t.missed += u64::from(defaulted);
        t.expected += u64::from(expected);
        t.wrong_lane += u64::from(wrong);
        t.sample(latency, slack);
        events.push(LineEvent::Dropped {
            parcel_id: id,
            tracking_no,
            lane,
            defaulted,
        });
        self.bag_drop(id, lane, now);
        true
    }

    /// Put the next waiting parcel on the running belt if the gap behind the previous one
    /// allows.
    fn feed(&mut self, now: Duration, events: &mut Vec<LineEvent>) {
        if !self.status.flags.running {
            return;
        }
        let Some(&next) = self.feeder.front() else {
            return;
        };
        if let Some(&last) = self.belt.back() {
            let gap = u64::from(self.config.gap_mm);
            let Some((length, Some((_, entered_um)))) =
                self.parcel_mut(last).map(|p| (p.spec.length_mm, p.entered))
            else {
                return;
            };
            if self.position_mm(entered_um) < u64::from(length) + gap {
                return;
            }
        }
        self.feeder.pop_front();
        let Some(length_mm) = self.parcel_mut(next).map(|p| p.spec.length_mm) else {
            return;
        };
        let tracking_no = self.status.push_entry(length_mm);
        let odometer = self.odometer_um;
        let parcel = self.parcel_mut(next).expect("looked up above");
        parcel.tracking_no = Some(tracking_no);
        parcel.entered = Some((now, odometer));
        self.belt.push_back(next);
        self.by_tracking.insert(tracking_no, next);
        events.push(LineEvent::Entered {
            parcel_id: next,
            tracking_no,
            length_mm,
        });
    }

    /// Drop the oldest dropped parcels and command records beyond [`REPORT_KEEP`].
    fn evict(&mut self) {
        while self.parcels.len() > REPORT_KEEP
            && self.parcels.front().is_some_and(|p| p.dropped.is_some())
        {
            self.parcels.pop_front();
            self.tally.evicted += 1;
        }
        for list in [&mut self.late, &mut self.unknown, &mut self.rejected] {
            while list.len() > REPORT_KEEP {
                list.pop_front();
            }
        }
        self.faults.evict(REPORT_KEEP);
    }
}
