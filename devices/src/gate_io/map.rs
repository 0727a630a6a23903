//! Register map of a gate lane's I/O: one typed definition shared by driver and simulator.
//!
//! All data are Modbus **holding registers** (FC03 read, FC06/FC16 write, FC23 write and
//! read back) on one unit id; both block bases come from config ([`GateIoMap`]).
//!
//! **Status block** (device → controller, one FC03 of [`STATUS_LEN`] words):
//!
//! | offset | name | meaning |
//! |---|---|---|
//! | 0 | `HEARTBEAT` | incremented by the device every scan; frozen means a dead device |
//! | 1 | `INPUTS` | bit 0 loop before barrier occupied, 1 loop after barrier occupied, 2 barrier fully open, 3 barrier fully closed, 4 barrier fault, 5 manual/local mode; other bits 0; 2 and 3 never together |
//! | 2 | `BARRIER_POSITION` | 0 (closed) ..= 100 (open), percent |
//! | 3 | `FAULT_CODE` | 0 none, else one of [`GateFault`] |
//! | 4 | `CONTROLLER_HEARTBEAT_ECHO` | last controller heartbeat the device saw |
//!
//! **Command block** (controller → device; readable, so every write is read back):
//!
//! | offset | name | meaning |
//! |---|---|---|
//! | 0 | `CONTROLLER_HEARTBEAT` | written by the controller on every poll |
//! | 1 | `BARRIER_CMD` | 0 hold (stop where it is), 1 open, 2 close; see [`BarrierCommand`] |
//! | 2 | `LED_LEN` | number of UTF-16 code units of LED text in use, 0..=[`LED_WORDS`] |
//! | 3..=34 | `LED_TEXT` | the LED text as UTF-16 code units (one per register), unused words 0 |
//!
//! **LED text** is UTF-16, one code unit per register, not GB2312/GBK: every Chinese
//! character of the verdict texts ("核放单未审批", "重量不符") is one code unit, there is no
//! code page to agree on, and a decode error names the register. [`LED_WORDS`] = 32 code
//! units hold 32 Chinese characters (fewer if a character needs a surrogate pair). The
//! driver writes `LED_LEN` and all 32 text words in one FC16/FC23 request, so the display
//! never shows half a message.
//!
//! **Interlock**: the device refuses a close (`BARRIER_CMD` = 2) with Modbus exception
//! 0x03 (illegal data value) while either loop is occupied, and changes nothing; a barrier
//! that is closing when a loop becomes occupied reverses to open by itself and
//! `BARRIER_CMD` then reads 1. While the barrier is faulted or in manual/local mode, open
//! and close commands are refused with exception 0x04 (server device failure).

use crate::register_block::Field;

/// Offset of the device heartbeat in the status block.
pub const HEARTBEAT: u16 = 0;
/// Offset of the input bits word.
pub const INPUTS: u16 = 1;
/// Offset of the barrier position (percent open).
pub const BARRIER_POSITION: u16 = 2;
/// Offset of the fault code.
pub const FAULT_CODE: u16 = 3;
/// Offset of the echoed controller heartbeat.
pub const CONTROLLER_HEARTBEAT_ECHO: u16 = 4;
/// Number of words in the status block.
pub const STATUS_LEN: u16 = 5;

/// Offset of the controller heartbeat in the command block.
pub const CONTROLLER_HEARTBEAT: u16 = 0;
/// Offset of the barrier command.
pub const BARRIER_CMD: u16 = 1;
/// Offset of the LED text length (UTF-16 code units).
pub const LED_LEN: u16 = 2;
/// Offset of the first LED text word.
pub const LED_TEXT: u16 = 3;
/// Number of LED text words (UTF-16 code units).
pub const LED_WORDS: u16 = 32;
/// Number of words in the command block.
pub const COMMAND_LEN: u16 = LED_TEXT + LED_WORDS;

/// The status block, field by field (each from its constant above).
pub const STATUS_FIELDS: &[Field] = &[
    Field::word("HEARTBEAT", HEARTBEAT),
    Field::word("INPUTS", INPUTS),
    Field::word("BARRIER_POSITION", BARRIER_POSITION),
    Field::word("FAULT_CODE", FAULT_CODE),
    Field::word("CONTROLLER_HEARTBEAT_ECHO", CONTROLLER_HEARTBEAT_ECHO),
];

/// The command block, field by field.
pub const COMMAND_FIELDS: &[Field] = &[
    Field::word("CONTROLLER_HEARTBEAT", CONTROLLER_HEARTBEAT),
    Field::word("BARRIER_CMD", BARRIER_CMD),
    Field::word("LED_LEN", LED_LEN),
    Field::words("LED_TEXT", LED_TEXT, LED_WORDS),
];

/// Fully open position, percent.
pub const POSITION_OPEN: u16 = 100;

/// What the controller asks the barrier to do (`BARRIER_CMD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BarrierCommand {
    /// Stop where it is (also the power-on value).
    Hold = 0,
    /// Open fully.
    Open = 1,
    /// Close fully (refused while a loop is occupied).
    Close = 2,
}

impl BarrierCommand {
    /// Decode a `BARRIER_CMD` word; `Err` returns the word when it is not 0, 1 or 2.
    pub fn from_word(word: u16) -> Result<Self, u16> {
        match word {
            0 => Ok(Self::Hold),
            1 => Ok(Self::Open),
            2 => Ok(Self::Close),
            other => Err(other),
        }
    }

    /// The `BARRIER_CMD` word.
    pub fn to_word(self) -> u16 {
        self as u16
    }
}

/// Why the barrier stopped, as written to `FAULT_CODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateFault {
    /// The barrier motor or drive failed.
    BarrierDrive = 1,
    /// The arm hit something or is blocked.
    BarrierObstructed = 2,
    /// A loop detector failed (its occupancy cannot be trusted).
    LoopDetector = 3,
    /// The arm is broken off or missing (breakaway sensor).
    ArmBroken = 4,
}

impl GateFault {
    /// Decode a fault code register; `Ok(None)` is 0 (no fault).
    pub fn from_word(word: u16) -> Result<Option<Self>, u16> {
        Ok(Some(match word {
            0 => return Ok(None),
            1 => Self::BarrierDrive,
            2 => Self::BarrierObstructed,
            3 => Self::LoopDetector,
            4 => Self::ArmBroken,
            other => return Err(other),
        }))
    }
}

/// The input bits word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct GateInputs {
    /// The loop before the barrier is occupied.
    pub loop_before: bool,
    /// The loop after the barrier is occupied.
    pub loop_after: bool,
    /// The barrier is fully open (limit switch).
    pub open: bool,
    /// The barrier is fully closed (limit switch).
    pub closed: bool,
    /// The barrier reports a fault (see the fault code).
    pub fault: bool,
    /// The device is in manual/local mode: remote commands are refused.
    pub manual: bool,
}

/// Bits of the inputs word that mean something.
const INPUT_BITS: u16 = 0b11_1111;

impl GateInputs {
    /// Decode the inputs word; `Err` names what is wrong with it.
    pub fn from_word(word: u16) -> Result<Self, &'static str> {
        if word & !INPUT_BITS != 0 {
            return Err("only bits 0 to 5 are defined");
        }
        let bit = |n: u16| word & (1 << n) != 0;
        if bit(2) && bit(3) {
            return Err("the barrier cannot be fully open and fully closed at once");
        }
        Ok(Self {
            loop_before: bit(0),
            loop_after: bit(1),
            open: bit(2),
            closed: bit(3),
            fault: bit(4),
            manual: bit(5),
        })
    }

    /// Encode into the inputs word.
    pub fn to_word(self) -> u16 {
        [
            self.loop_before,
            self.loop_after,
            self.open,
            self.closed,
            self.fault,
            self.manual,
        ]
        .iter()
        .enumerate()
        .fold(0, |word, (n, &on)| word | (u16::from(on) << n))
    }

    /// Whether either loop is occupied (a close would be refused).
    pub fn any_loop(self) -> bool {
        self.loop_before || self.loop_after
    }
}

/// Why a text cannot go to, or come from, the LED registers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedTextError {
    /// The text needs more code units than the display field holds.
    #[error("LED text needs {units} UTF-16 code units; the display holds at most {LED_WORDS}")]
    TooLong {
        /// Code units the text needs.
        units: usize,
    },
    /// `LED_LEN` is larger than the field.
    #[error("LED_LEN holds {0}; at most {LED_WORDS}")]
    BadLength(u16),
    /// The text words are not valid UTF-16 (an unpaired surrogate).
    #[error("LED_TEXT is not valid UTF-16")]
    BadText,
}

/// Encode `text` as `LED_LEN` followed by the [`LED_WORDS`] text words (zero padded).
pub fn encode_led(text: &str) -> Result<Vec<u16>, LedTextError> {
    let units: Vec<u16> = text.encode_utf16().collect();
    if units.len() > usize::from(LED_WORDS) {
        return Err(LedTextError::TooLong { units: units.len() });
    }
    let mut words = Vec::with_capacity(usize::from(LED_WORDS) + 1);
    words.push(units.len() as u16);
    words.extend_from_slice(&units);
    words.resize(usize::from(LED_WORDS) + 1, 0);
    Ok(words)
}

/// Decode `LED_LEN` and the text words (as [`encode_led`] lays them out).
pub fn decode_led(len: u16, text: &[u16]) -> Result<String, LedTextError> {
    if len > LED_WORDS || usize::from(len) > text.len() {
        return Err(LedTextError::BadLength(len));
    }
    String::from_utf16(&text[..usize::from(len)]).map_err(|_| LedTextError::BadText)
}

/// Where the two blocks live on a given gate device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateIoMap {
    /// Modbus unit id (slave id) of the device.
    pub unit_id: u8,
    /// First holding register of the status block.
    pub status_base: u16,
    /// First holding register of the command block.
    pub command_base: u16,
}

impl Default for GateIoMap {
    fn default() -> Self {
        Self {
            unit_id: 1,
            status_base: 0,
            command_base: 100,
        }
    }
}

impl GateIoMap {
    /// Whether the two blocks overlap or run past the 16-bit address space.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let (s0, c0) = (u32::from(self.status_base), u32::from(self.command_base));
        let status_end = s0 + u32::from(STATUS_LEN);
        let command_end = c0 + u32::from(COMMAND_LEN);
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
        if s0 < command_end && c0 < status_end {
            out.push(format!(
                "status block {s0}..{status_end} overlaps command block {c0}..{command_end}"
            ));
        }
        out
    }

    /// Absolute address of the controller heartbeat.
    pub fn heartbeat_address(&self) -> u16 {
        self.command_base + CONTROLLER_HEARTBEAT
    }

    /// Absolute address of the barrier command.
    pub fn barrier_address(&self) -> u16 {
        self.command_base + BARRIER_CMD
    }

    /// Absolute address of `LED_LEN` (the start of the LED write).
    pub fn led_address(&self) -> u16 {
        self.command_base + LED_LEN
    }
}

#[cfg(test)]
#[path = "map_tests.rs"]
mod tests;
