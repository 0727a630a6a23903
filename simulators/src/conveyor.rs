//! The physical model of a minimal sorting line — feeder, belt, entry photo-eye, scanner,
//! diverter, lanes — as pure state advanced by [`Conveyor::tick`].
//!
//! There is no I/O and no clock in here: every call takes `now`, the simulated time since
//! the line started, so tests drive it with explicit times. Like a real PLC it works in scan
//! cycles: a parcel enters, is scanned or drops in the tick in which that is detected.
//!
//! The flow of one parcel:
//!
//! 1. [`Conveyor::inject`] puts it in the feeder queue and gives it a sim id.
//! 2. The feeder puts it on the belt at the entry photo-eye (position 0) once the previous
//!    parcel's trailing edge is `gap_mm` past the eye; the PLC gives it the next tracking
//!    number ([`LineStatus::push_entry`]).
//! 3. When its leading edge passes `scanner_at_mm` a [`ScanEvent`] is emitted (the code, or
//!    `None` for an unreadable label).
//! 4. When it reaches `diverter_at_mm` it falls into the lane of the last accepted lane
//!    command for its tracking number, or into the exception lane if none came in time.
//!
//! Lane commands arrive through [`Conveyor::lane_command`] (the PLC server calls it for a
//! write of `CMD_TRACKING` + `CMD_LANE`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use customs_edge_devices::line_plc::map::{
    CMD_LANE, CMD_TRACKING, COMMAND_LEN, CONTROLLER_HEARTBEAT,
};
use customs_edge_devices::line_plc::{LineStatus, StatusFlags};

use crate::parcel::{InjectError, NewParcel};
use crate::report::{CommandRecord, ParcelReport, ParcelState, Report};

mod config;
mod events;
#[cfg(test)]
mod tests;

pub use config::LineConfig;
pub use events::{CommandOutcome, LaneOutOfRange, LineEvent, ScanEvent};

/// Parcels the feeder holds before refusing more, so a runaway client cannot exhaust memory.
pub const FEEDER_CAPACITY: usize = 10_000;
/// Dropped parcels (and command records of each kind) kept in the report; older ones are
/// evicted and counted in [`Report::evicted_parcels`].
pub const REPORT_KEEP: usize = 10_000;

#[derive(Debug, Clone)]
struct Parcel {
    id: u64,
    code: Option<String>,
    length_mm: u16,
    injected_at: Duration,
    tracking_no: Option<u16>,
    entered_at: Option<Duration>,
    scanned_at: Option<Duration>,
    /// Last accepted command: (lane, arrival time).
    command: Option<(u16, Duration)>,
    /// (lane, time) once it dropped.
    dropped: Option<(u16, Duration)>,
    defaulted: bool,
}

/// The line: feeder, belt, PLC registers and the ground-truth record of every parcel.
#[derive(Debug)]
pub struct Conveyor {
    config: LineConfig,
    /// Wall-clock time of sim time zero, to stamp the report.
    epoch: DateTime<Utc>,
    status: LineStatus,
    /// The command block as last written (heartbeat, tracking, lane).
    command_regs: [u16; COMMAND_LEN as usize],
    /// Every parcel still in the report, oldest first; ids are consecutive.
    parcels: VecDeque<Parcel>,
    /// Ids waiting in the feeder, first to enter first.
    feeder: VecDeque<u64>,
    /// Ids on the belt in entry order; nothing overtakes, so the front drops first.
    belt: VecDeque<u64>,
    /// The latest parcel given each tracking number: lane commands are matched through it.
    by_tracking: HashMap<u16, u64>,
    lane_counts: BTreeMap<u16, u64>,
    accepted_commands: u64,
    late: VecDeque<CommandRecord>,
    unknown: VecDeque<CommandRecord>,
    rejected: VecDeque<CommandRecord>,
    evicted: u64,
    next_id: u64,
    /// Latest time seen; time never runs backwards even if callers race.
    now: Duration,
}

impl Conveyor {
    /// A line at sim time zero, which is `epoch` on the wall clock.
    pub fn new(config: LineConfig, epoch: DateTime<Utc>) -> Self {
        let status = LineStatus {
            flags: StatusFlags {
                running: true,
                ..StatusFlags::default()
            },
            belt_speed_mm_s: config.belt_speed_mm_s,
            ..LineStatus::default()
        };
        Self {
            config,
            epoch,
            status,
            command_regs: [0; COMMAND_LEN as usize],
            parcels: VecDeque::new(),
            feeder: VecDeque::new(),
            belt: VecDeque::new(),
            by_tracking: HashMap::new(),
            lane_counts: (1..=config.lanes).map(|l| (l, 0)).collect(),
            accepted_commands: 0,
            late: VecDeque::new(),
            unknown: VecDeque::new(),
            rejected: VecDeque::new(),
            evicted: 0,
            next_id: 1,
            now: Duration::ZERO,
        }
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

    fn advance(&mut self, now: Duration) -> Duration {
        self.now = self.now.max(now);
        self.now
    }

    fn parcel_mut(&mut self, id: u64) -> Option<&mut Parcel> {
        let first = self.parcels.front()?.id;
        let index = usize::try_from(id.checked_sub(first)?).ok()?;
        self.parcels.get_mut(index)
    }

    /// Put a parcel in the feeder queue; returns its sim id.
    pub fn inject(&mut self, now: Duration, parcel: NewParcel) -> Result<u64, InjectError> {
        parcel.check()?;
        if self.feeder.len() >= FEEDER_CAPACITY {
            return Err(InjectError::FeederFull);
        }
        let now = self.advance(now);
        let id = self.next_id;
        self.next_id += 1;
        self.parcels.push_back(Parcel {
            id,
            code: parcel.code,
            length_mm: parcel.length_mm,
            injected_at: now,
            tracking_no: None,
            entered_at: None,
            scanned_at: None,
            command: None,
            dropped: None,
            defaulted: false,
        });
        self.feeder.push_back(id);
        Ok(id)
    }

    /// Leading-edge position of a parcel that entered at `entered_at`, in mm.
    fn position_mm(&self, entered_at: Duration, now: Duration) -> u64 {
        let micros = now.saturating_sub(entered_at).as_micros();
        (micros * u128::from(self.config.belt_speed_mm_s) / 1_000_000) as u64
    }

    /// Advance the line to `now`: one PLC scan cycle. Returns what happened, in order.
    pub fn tick(&mut self, now: Duration) -> Vec<LineEvent> {
        let now = self.advance(now);
        self.status.plc_heartbeat = self.status.plc_heartbeat.wrapping_add(1);
        let mut events = Vec::new();
        let belt: Vec<u64> = self.belt.iter().copied().collect();
        let mut dropped = Vec::new();
        for id in belt {
            if self.move_parcel(id, now, &mut events) {
                dropped.push(id);
            }
        }
        self.belt.retain(|id| !dropped.contains(id));
        self.feed(now, &mut events);
        self.evict();
        events
    }

    /// Scan and/or drop one parcel on the belt; true when it dropped.
    fn move_parcel(&mut self, id: u64, now: Duration, events: &mut Vec<LineEvent>) -> bool {
        let (scanner_at, diverter_at) = (self.config.scanner_at_mm, self.config.diverter_at_mm);
        let exception_lane = self.config.exception_lane;
        let Some(entered_at) = self.parcel_mut(id).and_then(|p| p.entered_at) else {
            return false;
        };
        let pos = self.position_mm(entered_at, now);
        let Some(parcel) = self.parcel_mut(id) else {
            return false;
        };
        if parcel.scanned_at.is_none() && pos >= u64::from(scanner_at) {
            parcel.scanned_at = Some(now);
            events.push(LineEvent::Scanned(ScanEvent {
                parcel_id: id,
                code: parcel.code.clone(),
            }));
        }
        if pos < u64::from(diverter_at) {
            return false;
        }
        let (lane, defaulted) = match parcel.command {
            Some((lane, _)) => (lane, false),
            None => (exception_lane, true),
        };
        parcel.dropped = Some((lane, now));
        parcel.defaulted = defaulted;
        let tracking_no = parcel.tracking_no.unwrap_or_default();
        self.status.push_drop(tracking_no, lane);
        *self.lane_counts.entry(lane).or_default() += 1;
        events.push(LineEvent::Dropped {
            parcel_id: id,
            tracking_no,
            lane,
            defaulted,
        });
        true
    }

    /// Put the next waiting parcel on the belt if the gap behind the previous one allows.
    fn feed(&mut self, now: Duration, events: &mut Vec<LineEvent>) {
        let Some(&next) = self.feeder.front() else {
            return;
        };
        if let Some(&last) = self.belt.back() {
            let gap = self.config.gap_mm;
            let Some(p) = self.parcel_mut(last) else {
                return;
            };
            let (entered_at, length) = (p.entered_at.unwrap_or(now), p.length_mm);
            if self.position_mm(entered_at, now) < u64::from(length) + u64::from(gap) {
                return;
            }
        }
        self.feeder.pop_front();
        let Some(length_mm) = self.parcel_mut(next).map(|p| p.length_mm) else {
            return;
        };
        let tracking_no = self.status.push_entry(length_mm);
        let parcel = self.parcel_mut(next).expect("looked up above");
        parcel.tracking_no = Some(tracking_no);
        parcel.entered_at = Some(now);
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
            self.evicted += 1;
        }
        for list in [&mut self.late, &mut self.unknown, &mut self.rejected] {
            while list.len() > REPORT_KEEP {
                list.pop_front();
            }
        }
    }

    /// The controller wrote its heartbeat: echo it in the status block.
    pub fn controller_heartbeat(&mut self, value: u16) {
        self.command_regs[CONTROLLER_HEARTBEAT as usize] = value;
        self.status.controller_heartbeat_echo = value;
    }

    /// The controller wrote a lane command (`CMD_TRACKING` + `CMD_LANE` in one request).
    ///
    /// A lane outside `1..=lanes` is refused and recorded; otherwise the registers take the
    /// values and the command is accepted (and acked in `CMD_ACK_*`) if its parcel is on the
    /// belt before the diverter, or recorded as late or unknown. A later command for the
    /// same parcel replaces an earlier one.
    pub fn lane_command(
        &mut self,
        now: Duration,
        tracking_no: u16,
        lane: u16,
    ) -> Result<CommandOutcome, LaneOutOfRange> {
        let now = self.advance(now);
        if !(1..=self.config.lanes).contains(&lane) {
            let err = LaneOutOfRange {
                lane,
                lanes: self.config.lanes,
            };
            self.reject_command(now, tracking_no, lane, err.to_string());
            return Err(err);
        }
        self.command_regs[CMD_TRACKING as usize] = tracking_no;
        self.command_regs[CMD_LANE as usize] = lane;
        let parcel_id = self.by_tracking.get(&tracking_no).copied();
        let at = self.wall(now);
        let Some(parcel) = parcel_id.and_then(|id| self.parcel_mut(id)) else {
            self.unknown.push_back(CommandRecord {
                tracking_no,
                lane,
                at,
                parcel_id: None,
                reason: format!("no parcel on the line has tracking number {tracking_no}"),
            });
            return Ok(CommandOutcome::Unknown);
        };
        let parcel_id = parcel.id;
        if let Some((dropped_lane, dropped_at)) = parcel.dropped {
            let reason = format!(
                "parcel {parcel_id} already dropped into lane {dropped_lane}, {} ms earlier",
                now.saturating_sub(dropped_at).as_millis()
            );
            self.late.push_back(CommandRecord {
                tracking_no,
                lane,
                at,
                parcel_id: Some(parcel_id),
                reason,
            });
            return Ok(CommandOutcome::Late { parcel_id });
        }
        parcel.command = Some((lane, now));
        self.status.cmd_ack_tracking = tracking_no;
        self.status.cmd_ack_lane = lane;
        self.accepted_commands += 1;
        Ok(CommandOutcome::Accepted { parcel_id })
    }

    /// Record a command write the PLC refused, with the reason (for the report).
    pub fn reject_command(&mut self, now: Duration, tracking_no: u16, lane: u16, reason: String) {
        let now = self.advance(now);
        let at = self.wall(now);
        self.rejected.push_back(CommandRecord {
            tracking_no,
            lane,
            at,
            parcel_id: None,
            reason,
        });
    }

    fn wall(&self, sim: Duration) -> DateTime<Utc> {
        self.epoch + chrono::TimeDelta::from_std(sim).unwrap_or(chrono::TimeDelta::MAX)
    }

    /// The ground truth so far.
    pub fn report(&self, now: Duration) -> Report {
        let now = self.now.max(now);
        let wall = |d: Duration| self.wall(d);
        let parcels: Vec<ParcelReport> = self
            .parcels
            .iter()
            .map(|p| ParcelReport {
                id: p.id,
                code: p.code.clone(),
                length_mm: p.length_mm,
                state: match (p.entered_at, p.dropped) {
                    (_, Some(_)) => ParcelState::Dropped,
                    (Some(_), None) => ParcelState::OnBelt,
                    (None, None) => ParcelState::Waiting,
                },
                tracking_no: p.tracking_no,
                injected_at: wall(p.injected_at),
                entered_at: p.entered_at.map(wall),
                scanned_at: p.scanned_at.map(wall),
                commanded_lane: p.command.map(|(lane, _)| lane),
                command_at: p.command.map(|(_, at)| wall(at)),
                lane: p.dropped.map(|(lane, _)| lane),
                dropped_at: p.dropped.map(|(_, at)| wall(at)),
                defaulted: p.defaulted,
            })
            .collect();
        Report {
            generated_at: wall(now),
            line: self.config,
            injected: self.next_id - 1,
            in_flight: self.feeder.len() + self.belt.len(),
            waiting: self.feeder.len(),
            lane_counts: self.lane_counts.clone(),
            accepted_commands: self.accepted_commands,
            late_commands: self.late.iter().cloned().collect(),
            unknown_commands: self.unknown.iter().cloned().collect(),
            rejected_commands: self.rejected.iter().cloned().collect(),
            evicted_parcels: self.evicted,
            connections: crate::report::Connections::default(),
            parcels,
        }
    }
}
