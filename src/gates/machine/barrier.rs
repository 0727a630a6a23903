//! The barrier side of a lane: one opening from the open command until the barrier is
//! down again (vehicles counted, a second one alarmed, the stuck and not-passed timeouts,
//! the close once the truck is clear), and the barrier kept down outside an opening.
//!
//! Closing is decided on a poll only, from the loops that poll read: a timer raises
//! alarms but never moves the barrier.

use std::time::Instant;

use customs_edge_devices::gate_io::{BarrierCommand, GateInputs, GateStatus};
use tracing::{info, warn};

use super::messages::{Action, Source};
use crate::gates::LaneSettings;

/// Raise a lane alarm (`gate:<lane>`).
pub(super) fn alarm(out: &mut Vec<Action>, gate: &str, kind: &'static str, detail: String) {
    warn!(gate, alarm = kind, %detail, "gate alarm");
    out.push(Action::Raise {
        source: Source::Lane,
        kind,
        detail,
    });
}

/// One opening of the barrier and what went through it.
#[derive(Debug, Clone)]
pub(super) struct Opening {
    /// The committed pass it serves.
    pub(super) pass_id: i64,
    /// When the open was first commanded.
    pub(super) since: Instant,
    /// The device holds the open command (read back); until it does, every poll repeats it.
    pub(super) commanded: bool,
    /// The barrier reported fully open at least once.
    pub(super) opened: bool,
    /// Vehicles that entered the exit loop during this opening.
    pub(super) vehicles: u32,
    pub(super) tailgate_alarmed: bool,
    pub(super) stuck_alarmed: bool,
    pub(super) pass_alarmed: bool,
}

impl Opening {
    /// An opening for pass `pass_id`, commanded at `now`.
    pub(super) fn new(pass_id: i64, now: Instant) -> Self {
        Self {
            pass_id,
            since: now,
            commanded: false,
            opened: false,
            vehicles: 0,
            tailgate_alarmed: false,
            stuck_alarmed: false,
            pass_alarmed: false,
        }
    }

    /// The open command for this opening.
    pub(super) fn open(&self) -> Action {
        Action::Barrier {
            command: BarrierCommand::Open,
            pass: Some(self.pass_id),
        }
    }

    /// One poll while the barrier is open: repeat the command until it is held, count
    /// vehicles, alarm on a second one and on the timeouts. Returns whether the barrier
    /// closes now: a vehicle went through and both loops are clear, or none came in
    /// `pass_wait` and both loops are clear.
    pub(super) fn watch(
        &mut self,
        status: &GateStatus,
        before: GateInputs,
        now: Instant,
        s: &LaneSettings,
        out: &mut Vec<Action>,
    ) -> bool {
        let inputs = status.inputs;
        if !self.commanded {
            // The command did not get through (link down): repeat it until it does.
            out.push(self.open());
        }
        if status.is_open() {
            self.opened = true;
        }
        self.stuck(now, s, out);
        self.count(inputs, before, s, out);
        if self.vehicles >= 1 && !inputs.any_loop() {
            return true;
        }
        if self.vehicles == 0 && now >= self.since + s.pass_wait() {
            self.not_passed(s, out);
            return !inputs.any_loop();
        }
        false
    }

    /// Count a vehicle entering the exit loop; a second one, or one waiting at the
    /// barrier behind the first, is a tailgate.
    pub(super) fn count(
        &mut self,
        inputs: GateInputs,
        before: GateInputs,
        s: &LaneSettings,
        out: &mut Vec<Action>,
    ) {
        if inputs.loop_after && !before.loop_after {
            self.vehicles += 1;
        }
        let second_waiting = self.vehicles >= 1 && inputs.loop_before && !before.loop_before;
        if (self.vehicles >= 2 || second_waiting) && !self.tailgate_alarmed {
            self.tailgate_alarmed = true;
            let id = &s.config.id;
            alarm(
                out,
                id,
                "gate_tailgate",
                format!(
                    "gate {id}: a second vehicle at the barrier opened for pass {}",
                    self.pass_id
                ),
            );
        }
    }

    /// The timeouts that need no poll: the barrier not open in time, no vehicle in time.
    pub(super) fn on_timer(&mut self, now: Instant, s: &LaneSettings, out: &mut Vec<Action>) {
        self.stuck(now, s, out);
        if self.vehicles == 0 && now >= self.since + s.pass_wait() {
            self.not_passed(s, out);
        }
    }

    fn stuck(&mut self, now: Instant, s: &LaneSettings, out: &mut Vec<Action>) {
        if !self.opened && !self.stuck_alarmed && now >= self.since + s.barrier_move() {
            self.stuck_alarmed = true;
            let id = &s.config.id;
            alarm(
                out,
                id,
                "barrier_stuck",
                format!("gate {id}: barrier did not open in time"),
            );
        }
    }

    fn not_passed(&mut self, s: &LaneSettings, out: &mut Vec<Action>) {
        if !self.pass_alarmed {
            self.pass_alarmed = true;
            let id = &s.config.id;
            alarm(
                out,
                id,
                "vehicle_not_passed",
                format!(
                    "gate {id}: the truck of pass {} did not pass the open barrier",
                    self.pass_id
                ),
            );
        }
    }

    /// When a timeout of this opening is due, if one is still armed.
    pub(super) fn deadline(&self, s: &LaneSettings) -> Option<Instant> {
        let stuck = (!self.opened && !self.stuck_alarmed).then(|| self.since + s.barrier_move());
        let pass = (self.vehicles == 0 && !self.pass_alarmed).then(|| self.since + s.pass_wait());
        stuck.into_iter().chain(pass).min()
    }
}

impl Opening {
    /// The truck went through and the loops are clear: record it, then close.
    pub(super) fn close(self, now: Instant, out: &mut Vec<Action>) -> Closing {
        out.push(Action::MarkCleared {
            pass_id: self.pass_id,
            vehicles: self.vehicles,
        });
        out.push(Action::Barrier {
            command: BarrierCommand::Close,
            pass: Some(self.pass_id),
        });
        Closing {
            opening: self,
            since: now,
            alarmed: false,
        }
    }
}

/// What a poll finds of a closing barrier.
#[derive(Debug)]
pub(super) enum AfterClosing {
    /// Fully down: the opening is over.
    Down,
    /// A loop is occupied: open again for the same opening.
    Reopened(Opening),
    /// Still on its way down.
    Moving,
}

/// The barrier commanded closed behind an opening.
#[derive(Debug, Clone)]
pub(super) struct Closing {
    /// The opening it ends; taken up again if a loop is occupied before it is down.
    pub(super) opening: Opening,
    /// When the close was commanded.
    pub(super) since: Instant,
    pub(super) alarmed: bool,
}

impl Closing {
    /// One poll while the barrier closes.
    pub(super) fn watch(
        &mut self,
        status: &GateStatus,
        before: GateInputs,
        now: Instant,
        s: &LaneSettings,
        out: &mut Vec<Action>,
    ) -> AfterClosing {
        let gate = &s.config.id;
        if status.is_closed() {
            let (pass, vehicles) = (self.opening.pass_id, self.opening.vehicles);
            info!(gate = %gate, pass, vehicles, "barrier closed");
            return AfterClosing::Down;
        }
        if !status.inputs.any_loop() {
            self.timeout(now, s, out);
            return AfterClosing::Moving;
        }
        // The opening lasts until the barrier is down: a vehicle now is one more through it.
        self.opening.count(status.inputs, before, s, out);
        // Something is under the barrier: open again, never close on it.
        warn!(gate = %gate, "loop occupied while closing; opening again");
        let mut opening = self.opening.clone();
        opening.commanded = false;
        out.push(opening.open());
        AfterClosing::Reopened(opening)
    }

    /// Alarm once if the barrier is not down `barrier_move` after the command.
    pub(super) fn timeout(&mut self, now: Instant, s: &LaneSettings, out: &mut Vec<Action>) {
        if !self.alarmed && now >= self.since + s.barrier_move() {
            self.alarmed = true;
            let id = &s.config.id;
            alarm(
                out,
                id,
                "barrier_stuck",
                format!("gate {id}: barrier did not close in time"),
            );
        }
    }

    /// When the close times out, unless it did already.
    pub(super) fn deadline(&self, s: &LaneSettings) -> Option<Instant> {
        (!self.alarmed).then(|| self.since + s.barrier_move())
    }
}

/// Outside an opening the barrier belongs down (fail closed).
#[derive(Debug, Default)]
pub(super) struct KeepClosed {
    /// When the barrier, found open with no opening of ours, was last told to close.
    close_sent: Option<Instant>,
    alarmed: bool,
}

impl KeepClosed {
    /// Found open after a restart or moved by hand, the barrier is closed as soon as both
    /// loops are clear (again every `barrier_move` while it stays open), and an alarm is
    /// raised while a vehicle is under it. A barrier in manual mode (the key switch on its
    /// cabinet) is left to the people at the cabinet.
    pub(super) fn check(
        &mut self,
        status: &GateStatus,
        now: Instant,
        s: &LaneSettings,
        out: &mut Vec<Action>,
    ) {
        if status.is_closed() || status.inputs.manual {
            self.close_sent = None;
            self.alarmed = false;
            return;
        }
        let id = &s.config.id;
        if !status.inputs.any_loop() {
            let due = self
                .close_sent
                .is_none_or(|t| now.saturating_duration_since(t) >= s.barrier_move());
            if due {
                warn!(gate = %id, position = status.position_pct, "barrier open without a pass; closing it");
                out.push(Action::Barrier {
                    command: BarrierCommand::Close,
                    pass: None,
                });
                self.close_sent = Some(now);
            }
        } else if !self.alarmed {
            self.alarmed = true;
            alarm(
                out,
                id,
                "barrier_open_unexpectedly",
                format!(
                    "gate {id}: the barrier is open ({} %) with no pass, and a vehicle is on the loop",
                    status.position_pct
                ),
            );
        }
    }
}
