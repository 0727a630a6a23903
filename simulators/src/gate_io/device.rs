//! The physical gate lane as pure state advanced by time: two ground loops, a barrier arm
//! that takes `travel_time` to go from closed to open, the loop interlock, the LED, and the
//! ground truth of every barrier movement. No I/O: the Modbus service and the tests drive
//! it with explicit `now` values (time since the simulator started).

use std::time::Duration;

use customs_edge_devices::gate_io::map::{
    BARRIER_CMD, COMMAND_LEN, CONTROLLER_HEARTBEAT, LED_LEN, LED_TEXT, LED_WORDS, POSITION_OPEN,
    decode_led,
};
use customs_edge_devices::gate_io::{BarrierCommand, GateFault, GateInputs, GateStatus};
use serde::Serialize;

/// How the simulated gate behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateSimConfig {
    /// Time for the arm to travel from fully closed to fully open (and back).
    pub travel_time: Duration,
}

impl Default for GateSimConfig {
    fn default() -> Self {
        Self {
            travel_time: Duration::from_secs(3),
        }
    }
}

/// One barrier movement or refusal, for the ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BarrierEventKind {
    /// An open command started the arm moving up.
    OpenStarted,
    /// The arm reached fully open.
    Opened,
    /// A close command started the arm moving down.
    CloseStarted,
    /// The arm reached fully closed.
    Closed,
    /// A close command was refused because a loop was occupied.
    CloseRefused,
    /// A loop became occupied while closing: the arm reversed to open.
    Reversed,
    /// A fault stopped the arm.
    StoppedByFault,
}

/// A ground-truth record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BarrierEvent {
    /// Time since the simulator started.
    pub at: Duration,
    /// What happened.
    pub kind: BarrierEventKind,
    /// Barrier position at that moment, percent open.
    pub position_pct: u16,
    /// Whether either loop was occupied at that moment.
    pub loop_occupied: bool,
}

/// Why a command write was refused (mapped to a Modbus exception by the service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A value outside the map, or a close against the interlock (exception 0x03).
    BadValue,
    /// Faulted or in manual mode: remote commands are not obeyed (exception 0x04).
    NotAccepting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Motion {
    Still,
    Opening,
    Closing,
}

/// The simulated gate lane.
#[derive(Debug, Clone)]
pub struct GateDevice {
    config: GateSimConfig,
    /// Position in millionths of full travel (0 closed, `FULL` open): integer, exact.
    position: u64,
    motion: Motion,
    last_tick: Duration,
    loop_before: bool,
    loop_after: bool,
    manual: bool,
    fault: Option<GateFault>,
    commands: [u16; COMMAND_LEN as usize],
    events: Vec<BarrierEvent>,
    closed_on_occupied_loop: bool,
}

const FULL: u64 = 1_000_000;

impl GateDevice {
    /// A gate with the barrier fully closed, loops free, at time zero.
    pub fn new(config: GateSimConfig) -> Self {
        Self {
            config,
            position: 0,
            motion: Motion::Still,
            last_tick: Duration::ZERO,
            loop_before: false,
            loop_after: false,
            manual: false,
            fault: None,
            commands: [0; COMMAND_LEN as usize],
            events: Vec::new(),
            closed_on_occupied_loop: false,
        }
    }

    /// Advance the arm to `now`.
    pub fn tick(&mut self, now: Duration) {
        let dt = now.saturating_sub(self.last_tick);
        self.last_tick = self.last_tick.max(now);
        if self.motion == Motion::Still || self.fault.is_some() {
            return;
        }
        let travel = self.config.travel_time.as_micros().max(1);
        let step = (dt.as_micros() * u128::from(FULL) / travel).min(u128::from(FULL)) as u64;
        match self.motion {
            Motion::Opening => {
                self.position = (self.position + step).min(FULL);
                if self.position == FULL {
                    self.motion = Motion::Still;
                    self.record(now, BarrierEventKind::Opened);
                }
            }
            Motion::Closing => {
                self.position = self.position.saturating_sub(step);
                if self.position == 0 {
                    self.motion = Motion::Still;
                    if self.any_loop() {
                        self.closed_on_occupied_loop = true;
                    }
                    self.record(now, BarrierEventKind::Closed);
                }
            }
            Motion::Still => {}
        }
    }

    fn record(&mut self, at: Duration, kind: BarrierEventKind) {
        let event = BarrierEvent {
            at,
            kind,
            position_pct: self.position_pct(),
            loop_occupied: self.any_loop(),
        };
        self.events.push(event);
    }

    fn any_loop(&self) -> bool {
        self.loop_before || self.loop_after
    }

    /// Barrier position, percent open (rounded down, so 100 only when fully open).
    pub fn position_pct(&self) -> u16 {
        (self.position * u64::from(POSITION_OPEN) / FULL) as u16
    }

    /// The status block as the device would serve it at `now` (after [`Self::tick`]).
    pub fn status(&self, now: Duration) -> GateStatus {
        GateStatus {
            // The device scans every 100 ms.
            heartbeat: (now.as_millis() / 100) as u16,
            inputs: GateInputs {
                loop_before: self.loop_before,
                loop_after: self.loop_after,
                open: self.position == FULL,
                closed: self.position == 0,
                fault: self.fault.is_some(),
                manual: self.manual,
            },
            position_pct: self.position_pct(),
            fault: self.fault,
            controller_heartbeat_echo: self.commands[CONTROLLER_HEARTBEAT as usize],
        }
    }

    /// The command block as last written (what a read of it returns).
    pub fn command_registers(&self) -> &[u16] {
        &self.commands
    }

    /// Apply a write of `words` at command-block offset `off`. Everything is checked
    /// before anything changes: a refused write changes nothing.
    pub fn write(&mut self, now: Duration, off: usize, words: &[u16]) -> Result<(), Refusal> {
        self.tick(now);
        let mut next = self.commands;
        next[off..off + words.len()].copy_from_slice(words);
        let written = |reg: u16| (off..off + words.len()).contains(&usize::from(reg));
        // The LED shows LED_LEN code units; they must be valid UTF-16 within the field.
        let text = &next[usize::from(LED_TEXT)..usize::from(LED_TEXT + LED_WORDS)];
        if decode_led(next[usize::from(LED_LEN)], text).is_err() {
            return Err(Refusal::BadValue);
        }
        let command = if written(BARRIER_CMD) {
            let cmd = BarrierCommand::from_word(next[usize::from(BARRIER_CMD)])
                .map_err(|_| Refusal::BadValue)?;
            if cmd != BarrierCommand::Hold && (self.fault.is_some() || self.manual) {
                return Err(Refusal::NotAccepting);
            }
            if cmd == BarrierCommand::Close && self.any_loop() {
                self.record(now, BarrierEventKind::CloseRefused);
                return Err(Refusal::BadValue);
            }
            Some(cmd)
        } else {
            None
        };
        self.commands = next;
        match command {
            Some(BarrierCommand::Open)
                if self.position < FULL && self.motion != Motion::Opening =>
            {
                self.motion = Motion::Opening;
                self.record(now, BarrierEventKind::OpenStarted);
            }
            Some(BarrierCommand::Close) if self.position > 0 && self.motion != Motion::Closing => {
                self.motion = Motion::Closing;
                self.record(now, BarrierEventKind::CloseStarted);
            }
            Some(BarrierCommand::Hold) => self.motion = Motion::Still,
            _ => {}
        }
        Ok(())
    }

    /// The text on the LED display.
    pub fn led_text(&self) -> String {
        let text = &self.commands[usize::from(LED_TEXT)..];
        decode_led(self.commands[usize::from(LED_LEN)], text).unwrap_or_default()
    }

    /// Set a loop's occupancy; a loop becoming occupied while closing reverses the arm.
    pub fn set_loop(&mut self, now: Duration, after: bool, occupied: bool) {
        self.tick(now);
        if after {
            self.loop_after = occupied;
        } else {
            self.loop_before = occupied;
        }
        if occupied && self.motion == Motion::Closing {
            self.motion = Motion::Opening;
            self.commands[usize::from(BARRIER_CMD)] = BarrierCommand::Open.to_word();
            self.record(now, BarrierEventKind::Reversed);
        }
    }

    /// Raise (`Some`) or clear (`None`) a fault; a fault stops the arm where it is.
    pub fn set_fault(&mut self, now: Duration, fault: Option<GateFault>) {
        self.tick(now);
        if fault.is_some() && self.fault.is_none() && self.motion != Motion::Still {
            self.motion = Motion::Still;
            self.record(now, BarrierEventKind::StoppedByFault);
        }
        self.fault = fault;
    }

    /// Switch manual/local mode (remote open/close refused while on).
    pub fn set_manual(&mut self, now: Duration, manual: bool) {
        self.tick(now);
        self.manual = manual;
    }

    /// Every barrier movement and refusal so far, oldest first.
    pub fn events(&self) -> &[BarrierEvent] {
        &self.events
    }

    /// Whether the arm ever reached fully closed with a loop occupied (must stay false).
    pub fn closed_on_occupied_loop(&self) -> bool {
        self.closed_on_occupied_loop
    }
}
