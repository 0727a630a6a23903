//! A parcel as a client asks for it (`POST /parcels`, [`RunningSim::inject`](crate::RunningSim::inject),
//! a scenario, the generator), and the checks it must pass before it goes in the feeder.

use serde::{Deserialize, Serialize};

use crate::conveyor::FEEDER_CAPACITY;

/// Longest parcel the feeder takes: anything longer is not a parcel.
pub const MAX_LENGTH_MM: u16 = 5000;
/// Longest code a label may carry (logisticsNo is at most 80 characters; garbage may be longer).
pub const MAX_CODE_BYTES: usize = 256;
/// Heaviest parcel: the scale's weight register holds grams in 16 bits.
pub const MAX_WEIGHT_KG: f64 = 65.0;

/// The lane a parcel should end in, by kind; the line config maps kinds to lane numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LaneKind {
    /// Released by customs: the release lane.
    Release,
    /// To be opened by customs: the inspection lane.
    Inspection,
    /// Anything unknown, late or unmatched: the exception lane.
    Exception,
}

impl std::str::FromStr for LaneKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "release" => Ok(Self::Release),
            "inspection" => Ok(Self::Inspection),
            "exception" => Ok(Self::Exception),
            other => Err(format!(
                "{other:?} is not a lane kind (release, inspection or exception)"
            )),
        }
    }
}

/// A parcel to put on the line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewParcel {
    /// Line id (`L1`, …); absent = the first line.
    #[serde(default)]
    pub line: Option<String>,
    /// The barcode on its label; `null` for an unreadable label (both scanners then send
    /// their no-read string). Required in JSON, so a misspelt field is not a silent no-read.
    #[serde(deserialize_with = "Option::deserialize")]
    pub code: Option<String>,
    /// Length along the belt in mm (default 400).
    #[serde(default = "default_length_mm")]
    pub length_mm: u16,
    /// True weight in kg (default 1.0); the scale reports it in grams with a little noise.
    #[serde(default = "default_weight_kg")]
    pub weight_kg: f64,
    /// Something dense inside: its X-ray views show a dark blob.
    #[serde(default)]
    pub dense_object: bool,
    /// Damaged label: both scanners send the no-read string although `code` is known.
    #[serde(default)]
    pub no_read: bool,
    /// Only the top scanner reads; the side scanner sends the no-read string.
    #[serde(default)]
    pub side_no_read: bool,
    /// The top scanner sends the code twice.
    #[serde(default)]
    pub double_read: bool,
    /// The side scanner reads this code instead of `code` (a conflicting read).
    #[serde(default)]
    pub conflict: Option<String>,
    /// The lane kind the controller should choose; the report flags a parcel that ends
    /// anywhere else as `wrong_lane`.
    #[serde(default)]
    pub expect: Option<LaneKind>,
}

fn default_length_mm() -> u16 {
    400
}

fn default_weight_kg() -> f64 {
    1.0
}

impl Default for NewParcel {
    fn default() -> Self {
        Self {
            line: None,
            code: None,
            length_mm: default_length_mm(),
            weight_kg: default_weight_kg(),
            dense_object: false,
            no_read: false,
            side_no_read: false,
            double_read: false,
            conflict: None,
            expect: None,
        }
    }
}

impl NewParcel {
    /// A 400 mm, 1 kg parcel with this label (`None` = unreadable) and defaults otherwise.
    pub fn with_code(code: Option<&str>) -> Self {
        Self {
            code: code.map(str::to_owned),
            ..Self::default()
        }
    }
}

/// Why a parcel was not put in the feeder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InjectError {
    /// Length zero or implausibly long.
    #[error("length_mm must be 1..={MAX_LENGTH_MM}, got {0}")]
    Length(u16),
    /// Weight negative, not a number, or more than the scale can report.
    #[error("weight_kg must be within 0.0..={MAX_WEIGHT_KG}, got {0}")]
    Weight(String),
    /// An empty code (an unreadable label is `null`).
    #[error("{0} must not be empty (use null for an unreadable label)")]
    EmptyCode(&'static str),
    /// A code too long to be a label.
    #[error("{0} is {1} bytes, longer than the maximum of {MAX_CODE_BYTES}")]
    CodeTooLong(&'static str, usize),
    /// A control character would break the scanner's STX/ETX or CR/LF framing.
    #[error("{0} contains the control character U+{1:04X}, which would break the scanner framing")]
    ControlCharacter(&'static str, u32),
    /// No line has this id.
    #[error("no line {0:?}; the lines are {1}")]
    UnknownLine(String, String),
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

fn check_code(field: &'static str, code: &str) -> Result<(), InjectError> {
    if code.is_empty() {
        return Err(InjectError::EmptyCode(field));
    }
    if code.len() > MAX_CODE_BYTES {
        return Err(InjectError::CodeTooLong(field, code.len()));
    }
    if let Some(c) = code.chars().find(|c| c.is_control()) {
        return Err(InjectError::ControlCharacter(field, u32::from(c)));
    }
    Ok(())
}

impl NewParcel {
    /// Check the parcel can go on the line (the line id is checked by the site).
    pub fn check(&self) -> Result<(), InjectError> {
        if self.length_mm == 0 || self.length_mm > MAX_LENGTH_MM {
            return Err(InjectError::Length(self.length_mm));
        }
        if !(0.0..=MAX_WEIGHT_KG).contains(&self.weight_kg) {
            return Err(InjectError::Weight(self.weight_kg.to_string()));
        }
        if let Some(code) = &self.code {
            check_code("code", code)?;
        }
        if let Some(code) = &self.conflict {
            check_code("conflict", code)?;
        }
        Ok(())
    }

    /// True weight in grams.
    pub fn weight_g(&self) -> u32 {
        (self.weight_kg * 1000.0).round() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_parcel_json_needs_a_code_field_and_defaults_the_rest() {
        let p: NewParcel = serde_json::from_str(r#"{"code": null}"#).unwrap();
        assert_eq!(p, NewParcel::default());
        let err = serde_json::from_str::<NewParcel>(r#"{"length_mm": 300}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `code`"), "{err}");
        let err =
            serde_json::from_str::<NewParcel>(r#"{"code": "A", "lenght_mm": 1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn scanner_options_and_expectation_parse_from_json() {
        let p: NewParcel = serde_json::from_str(
            r#"{"code": "SF1", "line": "L2", "weight_kg": 2.5, "dense_object": true,
                "double_read": true, "conflict": "SF2", "expect": "inspection"}"#,
        )
        .unwrap();
        assert_eq!(p.line.as_deref(), Some("L2"));
        assert_eq!(p.weight_g(), 2500);
        assert_eq!(p.expect, Some(LaneKind::Inspection));
        assert!(p.dense_object && p.double_read && !p.no_read);
    }

    #[test]
    fn impossible_weights_and_bad_conflict_codes_are_refused() {
        let heavy = NewParcel {
            weight_kg: 70.0,
            ..NewParcel::with_code(Some("A"))
        };
        assert!(matches!(heavy.check(), Err(InjectError::Weight(_))));
        let nan = NewParcel {
            weight_kg: f64::NAN,
            ..NewParcel::with_code(Some("A"))
        };
        assert!(matches!(nan.check(), Err(InjectError::Weight(_))));
        let conflict = NewParcel {
            conflict: Some("B\r".into()),
            ..NewParcel::with_code(Some("A"))
        };
        assert_eq!(
            conflict.check(),
            Err(InjectError::ControlCharacter("conflict", 13))
        );
    }
}
