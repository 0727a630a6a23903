//! Faults on the line: e-stop, scale, X-ray, PLC link, and the PLC's watch on the
//! controller heartbeat; how they show in the status block; their records.
//!
//! Injected faults are counted per kind, so two overlapping e-stops keep the belt stopped
//! until both are released. `FAULT_CODE` shows the most severe active fault, i.e. the
//! lowest code: e-stop 1, scale 4, X-ray 5, controller heartbeat lost 6. A
//! `plc_link_drop` has no code (the controller cannot read it anyway).

use std::collections::VecDeque;
use std::time::Duration;

use customs_edge_devices::line_plc::FaultCode;
use customs_edge_devices::line_plc::map::{BELT_RUN, CONTROLLER_HEARTBEAT};

use super::{Conveyor, LineEvent};
use crate::faults::{FaultKind, FaultRecord, FaultSource};

/// The controller heartbeat must change at least this often while a PLC client is
/// connected, or the PLC raises `FAULT_CODE` 6.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
struct Entry {
    kind: FaultKind,
    source: FaultSource,
    started: Duration,
    ended: Option<Duration>,
    planned_ms: Option<u64>,
}

/// Active faults and the record of every fault.
#[derive(Debug, Default)]
pub(super) struct FaultState {
    estop: u32,
    scale: u32,
    xray: u32,
    link: u32,
    plc_clients: usize,
    heartbeat_changed_at: Duration,
    /// Id of the open heartbeat-lost record while the fault stands.
    heartbeat_lost: Option<u64>,
    /// Records, oldest first; the first has id `first_id`.
    log: VecDeque<Entry>,
    first_id: u64,
}

impl FaultState {
    pub(super) fn scale_faulted(&self) -> bool {
        self.scale > 0
    }

    pub(super) fn xray_faulted(&self) -> bool {
        self.xray > 0
    }

    fn counter(&mut self, kind: FaultKind) -> Option<&mut u32> {
        match kind {
            FaultKind::Estop => Some(&mut self.estop),
            FaultKind::ScaleFault => Some(&mut self.scale),
            FaultKind::XrayFault => Some(&mut self.xray),
            FaultKind::PlcLinkDrop => Some(&mut self.link),
            FaultKind::ControllerHeartbeatLost => None,
        }
    }

    fn open(&mut self, entry: Entry) -> u64 {
        self.log.push_back(entry);
        self.first_id + self.log.len() as u64 - 1
    }

    fn entry_mut(&mut self, id: u64) -> Option<&mut Entry> {
        let index = usize::try_from(id.checked_sub(self.first_id)?).ok()?;
        self.log.get_mut(index)
    }

    /// Forget the oldest ended records beyond `keep`.
    pub(super) fn evict(&mut self, keep: usize) {
        while self.log.len() > keep && self.log.front().is_some_and(|e| e.ended.is_some()) {
            self.log.pop_front();
            self.first_id += 1;
        }
    }
}

impl Conveyor {
    /// Start a fault now; returns its id for [`Conveyor::end_fault`].
    pub fn begin_fault(
        &mut self,
        now: Duration,
        kind: FaultKind,
        source: FaultSource,
        duration_ms: Option<u64>,
    ) -> u64 {
        let now = self.advance(now);
        self.integrate(now);
        if let Some(n) = self.faults.counter(kind) {
            *n += 1;
        }
        self.tally.faults += 1;
        let id = self.faults.open(Entry {
            kind,
            source,
            started: now,
            ended: None,
            planned_ms: duration_ms,
        });
        self.refresh_status();
        id
    }

    /// End the fault `id` (a second call, or an unknown id, does nothing).
    pub fn end_fault(&mut self, now: Duration, id: u64) {
        let now = self.advance(now);
        self.integrate(now);
        let Some(entry) = self.faults.entry_mut(id) else {
            return;
        };
        if entry.ended.is_some() {
            return;
        }
        entry.ended = Some(now);
        let kind = entry.kind;
        if let Some(n) = self.faults.counter(kind) {
            *n = n.saturating_sub(1);
        }
        self.refresh_status();
    }

    /// Whether the PLC accepts Modbus connections (no `plc_link_drop` is active).
    pub fn link_up(&self) -> bool {
        self.faults.link == 0
    }

    /// The number of connected PLC clients changed. A first client gets a full
    /// [`HEARTBEAT_TIMEOUT`] before its heartbeat is missed.
    pub fn set_plc_clients(&mut self, now: Duration, clients: usize) {
        let now = self.advance(now);
        if self.faults.plc_clients == 0 && clients > 0 {
            self.faults.heartbeat_changed_at = now;
        }
        self.faults.plc_clients = clients;
    }

    /// The controller wrote its heartbeat: echo it; a change clears a heartbeat fault.
    pub fn controller_heartbeat(&mut self, now: Duration, value: u16) {
        let now = self.advance(now);
        let reg = &mut self.command_regs[CONTROLLER_HEARTBEAT as usize];
        if *reg != value {
            *reg = value;
            self.faults.heartbeat_changed_at = now;
            if let Some(id) = self.faults.heartbeat_lost.take() {
                self.end_fault(now, id);
            }
        }
        self.status.controller_heartbeat_echo = value;
    }

    /// Raise the heartbeat fault when a connected controller's heartbeat froze.
    pub(super) fn watch_heartbeat(&mut self, now: Duration, events: &mut Vec<LineEvent>) {
        let f = &self.faults;
        let frozen = now.saturating_sub(f.heartbeat_changed_at) >= HEARTBEAT_TIMEOUT;
        if f.plc_clients > 0 && frozen && f.heartbeat_lost.is_none() {
            let kind = FaultKind::ControllerHeartbeatLost;
            let id = self.begin_fault(now, kind, FaultSource::Watch, None);
            self.faults.heartbeat_lost = Some(id);
            events.push(LineEvent::Fault { kind, active: true });
        }
    }

    /// The controller asked the belt to run (`true`) or stop.
    pub fn belt_run(&mut self, now: Duration, run: bool) {
        let now = self.advance(now);
        self.integrate(now);
        self.command_regs[BELT_RUN as usize] = u16::from(run);
        self.refresh_status();
    }

    /// Recompute the status word, fault code and belt speed from the faults and commands.
    pub(super) fn refresh_status(&mut self) {
        let f = &self.faults;
        let running = self.command_regs[BELT_RUN as usize] == 1 && f.estop == 0;
        let fault = if f.estop > 0 {
            Some(FaultCode::EmergencyStop)
        } else if f.scale > 0 {
            Some(FaultCode::Scale)
        } else if f.xray > 0 {
            Some(FaultCode::Xray)
        } else if f.heartbeat_lost.is_some() {
            Some(FaultCode::ControllerHeartbeatLost)
        } else {
            None
        };
        let s = &mut self.status;
        s.flags.running = running;
        s.flags.estop = f.estop > 0;
        s.flags.fault = fault.is_some();
        s.flags.xray_running = self.xray_enabled && f.xray == 0;
        s.flags.xray_fault = f.xray > 0;
        s.flags.scale_fault = f.scale > 0;
        s.fault = fault;
        s.belt_speed_mm_s = if running {
            self.config.belt_speed_mm_s
        } else {
            0
        };
    }

    /// The fault records still kept, oldest first.
    pub fn fault_records(&self) -> Vec<FaultRecord> {
        self.faults
            .log
            .iter()
            .map(|e| FaultRecord {
                line: self.id.clone(),
                kind: e.kind,
                source: e.source,
                started_at: self.wall(e.started),
                ended_at: e.ended.map(|t| self.wall(t)),
                duration_ms: e.planned_ms,
            })
            .collect()
    }
}
