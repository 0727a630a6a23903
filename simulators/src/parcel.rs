//! A parcel as a client asks for it (`POST /parcels`, [`RunningSim::inject`](crate::RunningSim::inject),
//! the generator), and the checks it must pass before it goes in the feeder.

use serde::{Deserialize, Serialize};

use crate::conveyor::FEEDER_CAPACITY;

/// Longest parcel the feeder takes: anything longer is not a parcel.
pub const MAX_LENGTH_MM: u16 = 5000;
/// Longest code a label may carry (logisticsNo is at most 80 characters; garbage may be longer).
pub const MAX_CODE_BYTES: usize = 256;

/// A parcel to put on the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewParcel {
    /// The barcode on its label; `null` for an unreadable label (the scanner then sends its
    /// no-read string). Required, so that a misspelt field is not silently a no-read.
    #[serde(deserialize_with = "Option::deserialize")]
    pub code: Option<String>,
    /// Length along the belt in mm (default 400).
    #[serde(default = "default_length_mm")]
    pub length_mm: u16,
}

fn default_length_mm() -> u16 {
    400
}

/// Why a parcel was not put in the feeder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InjectError {
    /// Length zero or implausibly long.
    #[error("length_mm must be 1..={MAX_LENGTH_MM}, got {0}")]
    Length(u16),
    /// An empty code (an unreadable label is `null`).
    #[error("code must not be empty (use null for an unreadable label)")]
    EmptyCode,
    /// A code too long to be a label.
    #[error("code is {0} bytes, longer than the maximum of {MAX_CODE_BYTES}")]
    CodeTooLong(usize),
    /// A control character would break the scanner's STX/ETX or CR/LF framing.
    #[error("code contains the control character U+{0:04X}, which would break the scanner framing")]
    ControlCharacter(u32),
    /// The feeder queue is full.
    #[error("the feeder already holds {FEEDER_CAPACITY} parcels; try again later")]
    FeederFull,
}

impl InjectError {
    /// Whether the request itself is wrong (as opposed to the line being busy).
    pub fn is_bad_request(&self) -> bool {
        !matches!(self, Self::FeederFull)
    }
}

impl NewParcel {
    /// Check the parcel can go on the line.
    pub fn check(&self) -> Result<(), InjectError> {
        if self.length_mm == 0 || self.length_mm > MAX_LENGTH_MM {
            return Err(InjectError::Length(self.length_mm));
        }
        if let Some(code) = &self.code {
            if code.is_empty() {
                return Err(InjectError::EmptyCode);
            }
            if code.len() > MAX_CODE_BYTES {
                return Err(InjectError::CodeTooLong(code.len()));
            }
            if let Some(c) = code.chars().find(|c| c.is_control()) {
                return Err(InjectError::ControlCharacter(u32::from(c)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_parcel_json_needs_a_code_field_and_defaults_the_length() {
        let p: NewParcel = serde_json::from_str(r#"{"code": null}"#).unwrap();
        assert_eq!(
            p,
            NewParcel {
                code: None,
                length_mm: 400
            }
        );
        let err = serde_json::from_str::<NewParcel>(r#"{"length_mm": 300}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `code`"), "{err}");
        let err =
            serde_json::from_str::<NewParcel>(r#"{"code": "A", "lenght_mm": 1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
