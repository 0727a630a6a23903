//! The gate status block decoded and checked against the register map of [`super::map`].

use super::map::{
    BARRIER_POSITION, CONTROLLER_HEARTBEAT_ECHO, FAULT_CODE, GateFault, GateInputs, HEARTBEAT,
    INPUTS, POSITION_OPEN, STATUS_LEN,
};

/// The decoded status block: what one poll of the gate says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct GateStatus {
    /// Device heartbeat counter.
    pub heartbeat: u16,
    /// Loops, limit switches, fault and mode.
    pub inputs: GateInputs,
    /// Barrier position, percent open (0..=100).
    pub position_pct: u16,
    /// Active fault, if any.
    pub fault: Option<GateFault>,
    /// Last controller heartbeat the device saw.
    pub controller_heartbeat_echo: u16,
}

/// Why a gate status block could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The block had the wrong number of words.
    #[error("gate status block has {got} words, expected {STATUS_LEN}")]
    WrongLength {
        /// Words received.
        got: usize,
    },
    /// A register holds a value the map does not allow.
    #[error("gate register {name} (status offset {offset}) holds {value}: {why}")]
    OutOfRange {
        /// Register name from the map.
        name: &'static str,
        /// Offset in the status block.
        offset: u16,
        /// The raw value.
        value: u16,
        /// What the map allows.
        why: &'static str,
    },
}

impl GateStatus {
    /// Decode and check the status block as read from the device.
    pub fn decode(words: &[u16]) -> Result<Self, DecodeError> {
        if words.len() != STATUS_LEN as usize {
            return Err(DecodeError::WrongLength { got: words.len() });
        }
        let w = |off: u16| words[off as usize];
        let bad = |name, offset, why| DecodeError::OutOfRange {
            name,
            offset,
            value: w(offset),
            why,
        };
        let inputs = GateInputs::from_word(w(INPUTS)).map_err(|why| bad("INPUTS", INPUTS, why))?;
        let position_pct = w(BARRIER_POSITION);
        if position_pct > POSITION_OPEN {
            return Err(bad(
                "BARRIER_POSITION",
                BARRIER_POSITION,
                "0 to 100 percent",
            ));
        }
        let fault = GateFault::from_word(w(FAULT_CODE))
            .map_err(|_| bad("FAULT_CODE", FAULT_CODE, "0 or a code from 1 to 4"))?;
        Ok(Self {
            heartbeat: w(HEARTBEAT),
            inputs,
            position_pct,
            fault,
            controller_heartbeat_echo: w(CONTROLLER_HEARTBEAT_ECHO),
        })
    }

    /// Encode into the status block (what the gate simulator serves).
    pub fn encode(&self) -> Vec<u16> {
        let mut words = vec![0u16; STATUS_LEN as usize];
        words[HEARTBEAT as usize] = self.heartbeat;
        words[INPUTS as usize] = self.inputs.to_word();
        words[BARRIER_POSITION as usize] = self.position_pct;
        words[FAULT_CODE as usize] = self.fault.map_or(0, |f| f as u16);
        words[CONTROLLER_HEARTBEAT_ECHO as usize] = self.controller_heartbeat_echo;
        words
    }

    /// Whether the barrier is fully open.
    pub fn is_open(&self) -> bool {
        self.inputs.open
    }

    /// Whether the barrier is fully closed.
    pub fn is_closed(&self) -> bool {
        self.inputs.closed
    }
}
