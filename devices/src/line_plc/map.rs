//! Register map of the sorting-line PLC: one typed definition shared by driver and simulator.
//!
//! All data are Modbus **holding registers** (function codes 03, 06 and 16) on one unit id.
//! The map has two blocks whose base addresses come from config, so a real PLC can be
//! mapped without code changes:
//!
//! **Status block** (PLC → controller, read in one FC03 request of [`STATUS_LEN`] words):
//!
//! | offset | name | meaning |
//! |---|---|---|
//! | 0 | `PLC_HEARTBEAT` | incremented by the PLC every scan cycle; a frozen value means a dead PLC |
//! | 1 | `STATUS` | bit 0 belt running, 1 emergency stop, 2 fault, 3 X-ray running, 4 X-ray fault, 5 scale fault; other bits 0 |
//! | 2 | `BELT_SPEED` | belt speed in mm/s (0..=10000) |
//! | 3 | `FAULT_CODE` | 0 none, else one of [`FaultCode`] |
//! | 4 | `PLC_CLOCK_MS` | the PLC's free-running millisecond clock (wraps every 65.536 s) |
//! | 5 | `ENTRY_COUNT` | tracking number of the newest parcel at the entry photo-eye (wraps, 0 = none yet) |
//! | 6..=29 | `ENTRY_RING` | 8 slots of (tracking number, parcel length mm, `PLC_CLOCK_MS` at entry); slot = tracking number mod 8 |
//! | 30 | `WEIGHT_COUNT` | number of weighings by the dynamic scale so far (wraps) |
//! | 31..=54 | `WEIGHT_RING` | 8 slots of (tracking number, weight in g, flags: bit 0 stable); slot = (count − 1) mod 8 |
//! | 55 | `DROP_COUNT` | number of parcels dropped into a lane so far (wraps) |
//! | 56..=71 | `DROP_RING` | 8 slots of (tracking number, lane); slot = (drop count − 1) mod 8 |
//! | 72 | `CMD_ACK_TRACKING` | tracking number of the last lane command the PLC accepted |
//! | 73 | `CMD_ACK_LANE` | lane of that command (read back to verify the write) |
//! | 74 | `CONTROLLER_HEARTBEAT_ECHO` | the last controller heartbeat the PLC saw |
//! | 75..=82 | `LANE_DROPS` | drops per lane 1..=8 since the PLC started (wrap), to cross-check the drop ring |
//!
//! **Command block** (controller → PLC; readable, so every write can be read back):
//!
//! | offset | name | meaning |
//! |---|---|---|
//! | 0 | `CONTROLLER_HEARTBEAT` | incremented by the controller on every poll; the PLC raises fault 6 when it stops |
//! | 1 | `CMD_TRACKING` | tracking number the lane command is for |
//! | 2 | `CMD_LANE` | lane number; written together with `CMD_TRACKING` in one FC16 request |
//! | 3 | `BELT_RUN` | 1 run the belt, 0 stop it (an operator command; e-stop overrides) |
//!
//! Tracking numbers run 1..=65535 and wrap to 1 (0 means "none"). The rings let the
//! controller catch up when several parcels enter, weigh or drop between two polls; more
//! than 8 between two polls is a lost event the driver reports. The entry's clock stamp
//! tells the controller how long ago a parcel passed the photo-eye, so its position does not
//! depend on when the poll that saw it came. A parcel that reaches the
//! diverter with no accepted command falls into the PLC's default (exception) lane.

use crate::register_block::Field;

/// Offset of the PLC heartbeat in the status block.
pub const PLC_HEARTBEAT: u16 = 0;
/// Offset of the status flags word.
pub const STATUS: u16 = 1;
/// Offset of the belt speed (mm/s).
pub const BELT_SPEED: u16 = 2;
/// Offset of the fault code.
pub const FAULT_CODE: u16 = 3;
/// Offset of the PLC's millisecond clock.
pub const PLC_CLOCK_MS: u16 = 4;
/// Offset of the newest entry tracking number.
pub const ENTRY_COUNT: u16 = 5;
/// Offset of the first entry ring slot.
pub const ENTRY_RING: u16 = 6;
/// Offset of the weighing counter.
pub const WEIGHT_COUNT: u16 = 30;
/// Offset of the first weight ring slot.
pub const WEIGHT_RING: u16 = 31;
/// Offset of the drop counter.
pub const DROP_COUNT: u16 = 55;
/// Offset of the first drop ring slot.
pub const DROP_RING: u16 = 56;
/// Offset of the tracking number of the last accepted command.
pub const CMD_ACK_TRACKING: u16 = 72;
/// Offset of the lane of the last accepted command.
pub const CMD_ACK_LANE: u16 = 73;
/// Offset of the echoed controller heartbeat.
pub const CONTROLLER_HEARTBEAT_ECHO: u16 = 74;
/// Offset of the drop counter of lane 1 (lanes 1..=8 follow).
pub const LANE_DROPS: u16 = 75;
/// Number of words in the status block.
pub const STATUS_LEN: u16 = 83;
/// Number of slots in each ring.
pub const RING_SLOTS: u16 = 8;
/// Lanes with a drop counter.
pub const COUNTED_LANES: u16 = 8;

/// Offset of the controller heartbeat in the command block.
pub const CONTROLLER_HEARTBEAT: u16 = 0;
/// Offset of the command's tracking number.
pub const CMD_TRACKING: u16 = 1;
/// Offset of the command's lane.
pub const CMD_LANE: u16 = 2;
/// Offset of the belt run request.
pub const BELT_RUN: u16 = 3;
/// Number of words in the command block.
pub const COMMAND_LEN: u16 = 4;

/// The status block, field by field (each from its constant above).
pub const STATUS_FIELDS: &[Field] = &[
    Field::word("PLC_HEARTBEAT", PLC_HEARTBEAT),
    Field::word("STATUS", STATUS),
    Field::word("BELT_SPEED", BELT_SPEED),
    Field::word("FAULT_CODE", FAULT_CODE),
    Field::word("PLC_CLOCK_MS", PLC_CLOCK_MS),
    Field::word("ENTRY_COUNT", ENTRY_COUNT),
    Field::words("ENTRY_RING", ENTRY_RING, RING_SLOTS * 3),
    Field::word("WEIGHT_COUNT", WEIGHT_COUNT),
    Field::words("WEIGHT_RING", WEIGHT_RING, RING_SLOTS * 3),
    Field::word("DROP_COUNT", DROP_COUNT),
    Field::words("DROP_RING", DROP_RING, RING_SLOTS * 2),
    Field::word("CMD_ACK_TRACKING", CMD_ACK_TRACKING),
    Field::word("CMD_ACK_LANE", CMD_ACK_LANE),
    Field::word("CONTROLLER_HEARTBEAT_ECHO", CONTROLLER_HEARTBEAT_ECHO),
    Field::words("LANE_DROPS", LANE_DROPS, COUNTED_LANES),
];

/// The command block, field by field.
pub const COMMAND_FIELDS: &[Field] = &[
    Field::word("CONTROLLER_HEARTBEAT", CONTROLLER_HEARTBEAT),
    Field::word("CMD_TRACKING", CMD_TRACKING),
    Field::word("CMD_LANE", CMD_LANE),
    Field::word("BELT_RUN", BELT_RUN),
];

/// Highest belt speed a real line can report, mm/s; more is a garbled register.
pub const MAX_BELT_SPEED: u16 = 10_000;
/// Highest lane number any diverter has; more is a garbled register.
pub const MAX_LANE: u16 = 64;

/// Why the PLC stopped or degraded, as written to `FAULT_CODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultCode {
    /// An emergency stop is pressed.
    EmergencyStop = 1,
    /// The belt motor or drive failed.
    BeltDrive = 2,
    /// The diverter is jammed.
    DiverterJam = 3,
    /// The dynamic scale failed.
    Scale = 4,
    /// The X-ray machine failed.
    Xray = 5,
    /// The controller heartbeat stopped changing.
    ControllerHeartbeatLost = 6,
}

impl FaultCode {
    /// Decode a fault code register; `Ok(None)` is 0 (no fault).
    pub fn from_word(word: u16) -> Result<Option<Self>, u16> {
        Ok(Some(match word {
            0 => return Ok(None),
            1 => Self::EmergencyStop,
            2 => Self::BeltDrive,
            3 => Self::DiverterJam,
            4 => Self::Scale,
            5 => Self::Xray,
            6 => Self::ControllerHeartbeatLost,
            other => return Err(other),
        }))
    }
}

/// Where the two blocks live on a given PLC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterMap {
    /// Modbus unit id (slave id) of the PLC.
    pub unit_id: u8,
    /// First holding register of the status block.
    pub status_base: u16,
    /// First holding register of the command block.
    pub command_base: u16,
}

impl Default for RegisterMap {
    fn default() -> Self {
        Self {
            unit_id: 1,
            status_base: 0,
            command_base: 100,
        }
    }
}

impl RegisterMap {
    /// Whether the two blocks overlap or run past the 16-bit address space.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let status_end = u32::from(self.status_base) + u32::from(STATUS_LEN);
        let command_end = u32::from(self.command_base) + u32::from(COMMAND_LEN);
        if status_end > 0x1_0000 {
            out.push(format!(
                "status block runs past register 65535 (needs {STATUS_LEN} words)"
            ));
        }
        if command_end > 0x1_0000 {
            out.push(format!(
                "command block runs past register 65535 (needs {COMMAND_LEN} words)"
            ));
        }
        let (s0, c0) = (u32::from(self.status_base), u32::from(self.command_base));
        if s0 < command_end && c0 < status_end {
            out.push(format!(
                "status block {s0}..{status_end} overlaps command block {c0}..{command_end}"
            ));
        }
        out
    }

    /// Absolute address of the command's tracking number (the start of the FC16 write).
    pub fn command_address(&self) -> u16 {
        self.command_base + CMD_TRACKING
    }

    /// Absolute address of the controller heartbeat.
    pub fn heartbeat_address(&self) -> u16 {
        self.command_base + CONTROLLER_HEARTBEAT
    }
}

/// Flags of the status word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct StatusFlags {
    /// The belt is running.
    pub running: bool,
    /// An emergency stop is pressed.
    pub estop: bool,
    /// The PLC reports a fault (see the fault code).
    pub fault: bool,
    /// The X-ray machine is running.
    pub xray_running: bool,
    /// The X-ray machine reports a fault.
    pub xray_fault: bool,
    /// The dynamic scale reports a fault.
    pub scale_fault: bool,
}

/// Bits of the status word that mean something; any other bit set is a garbled word.
const STATUS_BITS: u16 = 0b11_1111;

impl StatusFlags {
    /// Decode the status word; `Err` when a bit outside the map is set.
    pub fn from_word(word: u16) -> Result<Self, u16> {
        if word & !STATUS_BITS != 0 {
            return Err(word);
        }
        let bit = |n: u16| word & (1 << n) != 0;
        Ok(Self {
            running: bit(0),
            estop: bit(1),
            fault: bit(2),
            xray_running: bit(3),
            xray_fault: bit(4),
            scale_fault: bit(5),
        })
    }

    /// Encode into the status word.
    pub fn to_word(self) -> u16 {
        [
            self.running,
            self.estop,
            self.fault,
            self.xray_running,
            self.xray_fault,
            self.scale_fault,
        ]
        .iter()
        .enumerate()
        .fold(0, |word, (n, &on)| word | (u16::from(on) << n))
    }
}

pub use super::status::{
    DecodeError, DropRecord, EntryRecord, LineStatus, WeightRecord, clock_ms_since,
    next_tracking_no,
};

#[cfg(test)]
#[path = "map_tests.rs"]
mod tests;
