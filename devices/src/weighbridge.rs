//! The truck weighbridge (its weighing indicator) over Modbus TCP holding registers: the
//! register map shared by driver and simulator, the status decode, and the driver.
//!
//! **Status block** (read-only, one FC03 of [`STATUS_LEN`] words at `status_base`):
//!
//! | offset | name | meaning |
//! |---|---|---|
//! | 0 | `SEQUENCE` | reading counter, incremented with every new weight reading (wraps); frozen means a dead indicator |
//! | 1 | `WEIGHT_HI` | gross weight in kg, signed 32-bit two's complement, **high word first** (big-endian word order, "ABCD") |
//! | 2 | `WEIGHT_LO` | low word of the weight |
//! | 3 | `FLAGS` | bit 0 stable (motion detector settled), 1 overload (above capacity), 2 fault (load cell or indicator), 3 at zero (centre of zero), 4 tare active (the weight is net); other bits 0 |
//!
//! The weight is signed because an empty platform drifts a few kg below zero. A weight
//! outside [`MIN_WEIGHT_KG`]..=[`MAX_WEIGHT_KG`] is a garbled register and fails to decode.
//! A verdict may only use a reading that is stable and neither overloaded nor faulted
//! ([`WeighbridgeStatus::usable_weight_kg`]).

use std::net::SocketAddr;
use std::time::Duration;

use crate::modbus_link::{LinkError, LinkErrorKind, ModbusLink};
use crate::register_block::Field;

/// Offset of the reading counter.
pub const SEQUENCE: u16 = 0;
/// Offset of the weight's high word.
pub const WEIGHT_HI: u16 = 1;
/// Offset of the weight's low word.
pub const WEIGHT_LO: u16 = 2;
/// Offset of the flags word.
pub const FLAGS: u16 = 3;
/// Number of words in the status block.
pub const STATUS_LEN: u16 = 4;

/// The status block, field by field (each from its constant above).
pub const STATUS_FIELDS: &[Field] = &[
    Field::word("SEQUENCE", SEQUENCE),
    Field::word("WEIGHT_HI", WEIGHT_HI),
    Field::word("WEIGHT_LO", WEIGHT_LO),
    Field::word("FLAGS", FLAGS),
];

/// Lowest weight a real indicator reports (zero drift), kg.
pub const MIN_WEIGHT_KG: i32 = -1_000;
/// Highest weight a real indicator reports (far above any truck scale's capacity), kg.
pub const MAX_WEIGHT_KG: i32 = 1_000_000;

/// Where the status block lives on a given indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeighbridgeMap {
    /// Modbus unit id (slave id) of the indicator.
    pub unit_id: u8,
    /// First holding register of the status block.
    pub status_base: u16,
}

impl Default for WeighbridgeMap {
    fn default() -> Self {
        Self {
            unit_id: 1,
            status_base: 0,
        }
    }
}

impl WeighbridgeMap {
    /// Whether the block runs past the 16-bit address space.
    pub fn problems(&self) -> Vec<String> {
        if u32::from(self.status_base) + u32::from(STATUS_LEN) > 0x1_0000 {
            vec![format!(
                "status block runs past register 65535 (needs {STATUS_LEN} words)"
            )]
        } else {
            Vec::new()
        }
    }
}

/// The flags word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct WeighFlags {
    /// The weight has settled.
    pub stable: bool,
    /// The load is above the scale's capacity.
    pub overload: bool,
    /// A load cell or the indicator failed.
    pub fault: bool,
    /// The scale is at zero (centre of zero).
    pub zero: bool,
    /// A tare is active: the weight is net.
    pub tare: bool,
}

const FLAG_BITS: u16 = 0b1_1111;

impl WeighFlags {
    /// Decode the flags word; `Err` when a bit outside the map is set.
    pub fn from_word(word: u16) -> Result<Self, u16> {
        if word & !FLAG_BITS != 0 {
            return Err(word);
        }
        let bit = |n: u16| word & (1 << n) != 0;
        Ok(Self {
            stable: bit(0),
            overload: bit(1),
            fault: bit(2),
            zero: bit(3),
            tare: bit(4),
        })
    }

    /// Encode into the flags word.
    pub fn to_word(self) -> u16 {
        [self.stable, self.overload, self.fault, self.zero, self.tare]
            .iter()
            .enumerate()
            .fold(0, |word, (n, &on)| word | (u16::from(on) << n))
    }
}

/// The decoded status block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct WeighbridgeStatus {
    /// Reading counter: a new value means a new reading.
    pub sequence: u16,
    /// Weight in kg.
    pub weight_kg: i32,
    /// Status flags.
    pub flags: WeighFlags,
}

/// Why a weighbridge status block could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The block had the wrong number of words.
    #[error("weighbridge status block has {got} words, expected {STATUS_LEN}")]
    WrongLength {
        /// Words received.
        got: usize,
    },
    /// `WEIGHT_HI`/`WEIGHT_LO` hold a weight no indicator reports.
    #[error(
        "weighbridge registers WEIGHT_HI/WEIGHT_LO (status offsets 1-2) hold {value} kg: {MIN_WEIGHT_KG} to {MAX_WEIGHT_KG} kg"
    )]
    Weight {
        /// The decoded weight.
        value: i64,
    },
    /// `FLAGS` has bits set outside the map.
    #[error(
        "weighbridge register FLAGS (status offset 3) holds {0:#06x}: only bits 0 to 4 are defined"
    )]
    Flags(u16),
}

/// Split a weight into (high word, low word).
pub fn weight_words(weight_kg: i32) -> [u16; 2] {
    let raw = weight_kg as u32;
    [(raw >> 16) as u16, raw as u16]
}

/// Join (high word, low word) into a weight.
pub fn weight_from_words(hi: u16, lo: u16) -> i32 {
    ((u32::from(hi) << 16) | u32::from(lo)) as i32
}

impl WeighbridgeStatus {
    /// Decode and check the status block.
    pub fn decode(words: &[u16]) -> Result<Self, DecodeError> {
        if words.len() != STATUS_LEN as usize {
            return Err(DecodeError::WrongLength { got: words.len() });
        }
        let w = |off: u16| words[off as usize];
        let weight_kg = weight_from_words(w(WEIGHT_HI), w(WEIGHT_LO));
        if !(MIN_WEIGHT_KG..=MAX_WEIGHT_KG).contains(&weight_kg) {
            return Err(DecodeError::Weight {
                value: i64::from(weight_kg),
            });
        }
        let flags = WeighFlags::from_word(w(FLAGS)).map_err(DecodeError::Flags)?;
        Ok(Self {
            sequence: w(SEQUENCE),
            weight_kg,
            flags,
        })
    }

    /// Encode into the status block (what the simulator serves).
    pub fn encode(&self) -> Vec<u16> {
        let [hi, lo] = weight_words(self.weight_kg);
        vec![self.sequence, hi, lo, self.flags.to_word()]
    }

    /// The weight, when a decision may use it: stable, not overloaded, no fault.
    pub fn usable_weight_kg(&self) -> Option<i32> {
        (self.flags.stable && !self.flags.overload && !self.flags.fault).then_some(self.weight_kg)
    }
}

/// An error talking to the weighbridge.
#[derive(Debug, thiserror::Error)]
pub enum WeighbridgeError {
    /// The link failed or the indicator answered with an exception.
    #[error("weighbridge: {0}")]
    Link(#[from] LinkError),
    /// The status block did not decode; `raw` is what the indicator sent.
    #[error("weighbridge status block rejected: {error}")]
    Decode {
        /// What is wrong with it.
        error: DecodeError,
        /// The words as read.
        raw: Vec<u16>,
    },
}

impl WeighbridgeError {
    /// The kind of error, for callers that act on it.
    pub fn kind(&self) -> LinkErrorKind {
        match self {
            Self::Link(e) => e.kind(),
            Self::Decode { .. } => LinkErrorKind::Protocol,
        }
    }
}

/// The weighbridge driver: owns its Modbus TCP connection. Read-only: an indicator is
/// zeroed and tared at its own keypad, not by the controller.
#[derive(Debug)]
pub struct Weighbridge {
    link: ModbusLink,
    map: WeighbridgeMap,
}

impl Weighbridge {
    /// A driver for the indicator at `addr`; it connects on first use.
    pub fn new(addr: SocketAddr, map: WeighbridgeMap, timeout: Duration) -> Self {
        Self {
            link: ModbusLink::new(addr, map.unit_id, timeout),
            map,
        }
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.link.is_connected()
    }

    /// How many times a connection has been (re)established.
    pub fn connections(&self) -> u64 {
        self.link.connections()
    }

    /// Read and decode the status block in one request.
    pub async fn read_status(&mut self) -> Result<WeighbridgeStatus, WeighbridgeError> {
        let words = self
            .link
            .read_holding(
                "reading the weighbridge status block",
                self.map.status_base,
                STATUS_LEN,
            )
            .await?;
        WeighbridgeStatus::decode(&words)
            .map_err(|error| WeighbridgeError::Decode { error, raw: words })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_list_covers_the_block_exactly() {
        let problems = crate::register_block::layout_problems(STATUS_FIELDS, STATUS_LEN);
        assert_eq!(problems, Vec::<String>::new());
    }

    #[test]
    fn status_round_trips_including_negative_and_large_weights() {
        for weight_kg in [0, -12, 49_350, 65_536, MAX_WEIGHT_KG, MIN_WEIGHT_KG] {
            let s = WeighbridgeStatus {
                sequence: 7,
                weight_kg,
                flags: WeighFlags {
                    stable: true,
                    zero: weight_kg == 0,
                    ..WeighFlags::default()
                },
            };
            assert_eq!(WeighbridgeStatus::decode(&s.encode()), Ok(s));
        }
    }

    #[test]
    fn weight_is_high_word_first() {
        assert_eq!(weight_words(70_000), [1, 4_464]);
        assert_eq!(weight_words(-1), [0xFFFF, 0xFFFF]);
        assert_eq!(weight_from_words(1, 4_464), 70_000);
    }

    #[test]
    fn garbled_registers_are_named() {
        let [hi, lo] = weight_words(MAX_WEIGHT_KG + 1);
        let err = WeighbridgeStatus::decode(&[0, hi, lo, 0]).unwrap_err();
        assert!(err.to_string().contains("WEIGHT_HI"), "{err}");
        let err = WeighbridgeStatus::decode(&[0, 0, 10, 0x20]).unwrap_err();
        assert_eq!(err, DecodeError::Flags(0x20));
        assert!(err.to_string().contains("FLAGS"));
        assert_eq!(
            WeighbridgeStatus::decode(&[0, 0]),
            Err(DecodeError::WrongLength { got: 2 })
        );
    }

    #[test]
    fn only_a_stable_healthy_reading_is_usable() {
        let mut s = WeighbridgeStatus {
            sequence: 1,
            weight_kg: 30_000,
            flags: WeighFlags::default(),
        };
        assert_eq!(s.usable_weight_kg(), None);
        s.flags.stable = true;
        assert_eq!(s.usable_weight_kg(), Some(30_000));
        s.flags.overload = true;
        assert_eq!(s.usable_weight_kg(), None);
    }
}
