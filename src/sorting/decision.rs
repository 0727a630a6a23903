//! The lane decision: a pure function of plain data, so it is fast, testable and explainable.
//!
//! Fail closed. A parcel goes to the **release** lane only when its waybill was read without
//! conflict, its declaration list is found and released by customs (status 800), no
//! instruction or officer flag stands against it, its measured weight is stable and within
//! tolerance of the declared weight, its X-ray views are there (when the line has an X-ray
//! feed), it is not a second parcel with an already sorted waybill, and the line never lost
//! track of it. Anything **flagged** — an officer flag, an inspect instruction, customs status
//! 500, a weight beyond tolerance — goes to the **inspection** lane, even when something else
//! is also wrong (customs then holds it physically). Everything else goes to the
//! **exception** lane. Every reason that applied is returned, not just the first.

use serde::Serialize;

use super::waybill::{InstructionKind, ManifestFacts};
use crate::manifest::STATUS_RELEASED;

/// Customs status meaning "to be inspected" in some systems.
pub const STATUS_INSPECTION: i32 = 500;

/// The kind of lane a parcel is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LaneKind {
    /// Customs released it; it may leave.
    Release,
    /// Customs will open it.
    Inspection,
    /// Unknown, late, unmatched or unclear: people look at it.
    Exception,
}

impl LaneKind {
    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Inspection => "inspection",
            Self::Exception => "exception",
        }
    }
}

/// What the scanners agreed on for one parcel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "codes")]
pub enum Read {
    /// One code (possibly read by several scanners).
    Code(String),
    /// Scanners saw the parcel but none could read it.
    NoRead,
    /// Scanners read different codes: a conflict, never a guess.
    Conflict(Vec<String>),
    /// No scanner reported anything for the parcel.
    Nothing,
}

impl Read {
    /// Name as stored in `parcels.read_status`.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Code(_) => "read",
            Self::NoRead => "no_read",
            Self::Conflict(_) => "conflict",
            Self::Nothing => "none",
        }
    }

    /// The code, when there is exactly one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Code(code) => Some(code),
            _ => None,
        }
    }
}

/// What the dynamic scale said.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Weight {
    /// The line has no scale: weight is not part of the decision.
    NotMeasured,
    /// A settled weighing.
    Stable {
        /// The settled reading, kg.
        kg: f64,
    },
    /// The scale did not settle.
    Unstable {
        /// Kilograms, for the record only.
        kg: f64,
    },
    /// The parcel passed the scale and no weighing came.
    Missing,
}

/// How far measured weight may be from declared weight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WeightTolerance {
    /// Absolute tolerance in kg.
    pub abs_kg: f64,
    /// Relative tolerance in percent of the declared weight.
    pub pct: f64,
}

impl WeightTolerance {
    /// The larger of the two tolerances for this declared weight: small parcels are held to
    /// the absolute figure, large ones to the percentage.
    pub fn allowed_kg(&self, declared_kg: f64) -> f64 {
        self.abs_kg.max(declared_kg * self.pct / 100.0)
    }
}

/// X-ray views of a parcel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct XrayViews {
    /// Views matched to the parcel.
    pub got: u32,
    /// Views the machine writes per parcel.
    pub expected: u32,
}

/// Everything the decision looks at, as plain data (also stored with the decision).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inputs {
    /// What the scanners agreed on.
    pub read: Read,
    /// The declaration list, when found.
    pub manifest: Option<ManifestFacts>,
    /// The instruction that stands for the waybill, if any.
    pub instruction: Option<InstructionKind>,
    /// Officer flags against the parcel or its waybill.
    pub officer_flags: u32,
    /// The scale's verdict.
    pub weight: Weight,
    /// X-ray views matched to the parcel and the views the machine writes per parcel;
    /// `None` when the line has no X-ray feed.
    pub xray: Option<XrayViews>,
    /// Record id of an earlier parcel with the same waybill that already went to release
    /// or inspection.
    pub duplicate_of: Option<i64>,
    /// The line lost sight of the parcel (PLC link down or heartbeat frozen while it was
    /// on the belt), so its scans and position cannot be trusted.
    pub tracking_lost: bool,
}

/// Why a parcel got its lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Found, released by customs, nothing against it.
    Released,
    /// No scanner reported anything for this parcel.
    NoScan,
    /// The label could not be read.
    NoRead,
    /// Scanners read different codes.
    ReadConflict,
    /// No declaration list for the waybill.
    ManifestNotFound,
    /// The declaration list's customs status is not 800 (nor 500).
    StatusNotReleased(i32),
    /// Customs status 500: to be inspected.
    StatusInspection,
    /// The platform instructed an inspection.
    InstructionInspect,
    /// The platform instructed a hold.
    InstructionHold,
    /// An officer flagged it.
    OfficerFlag,
    /// Measured weight is beyond tolerance of the declared weight (grams).
    WeightOutOfTolerance {
        /// Measured, g.
        measured_g: i64,
        /// Declared, g.
        declared_g: i64,
    },
    /// The scale did not settle.
    WeightUnstable,
    /// No weighing for the parcel.
    WeightMissing,
    /// The declaration list has no gross weight to compare with.
    DeclaredWeightMissing,
    /// No X-ray view was matched to it.
    XrayMissing,
    /// Another number of views than the machine writes per parcel: two parcels in the
    /// tunnel at once, or a view lost, so the images cannot be trusted to be its own.
    XrayViewsMismatch {
        /// Views matched.
        got: u32,
        /// Views expected.
        expected: u32,
    },
    /// The waybill already went through (record id of the earlier parcel).
    DuplicateWaybill(i64),
    /// The line lost sight of it.
    TrackingLost,
}

impl Reason {
    /// Stable code as stored and sent: `status_not_released:300`.
    pub fn code(&self) -> String {
        match self {
            Self::Released => "released".into(),
            Self::NoScan => "no_scan".into(),
            Self::NoRead => "no_read".into(),
            Self::ReadConflict => "read_conflict".into(),
            Self::ManifestNotFound => "manifest_not_found".into(),
            Self::StatusNotReleased(status) => format!("status_not_released:{status}"),
            Self::StatusInspection => "status_inspection".into(),
            Self::InstructionInspect => "instruction_inspect".into(),
            Self::InstructionHold => "instruction_hold".into(),
            Self::OfficerFlag => "officer_flag".into(),
            Self::WeightOutOfTolerance {
                measured_g,
                declared_g,
            } => {
                format!("weight_out_of_tolerance:{measured_g}/{declared_g}")
            }
            Self::WeightUnstable => "weight_unstable".into(),
            Self::WeightMissing => "weight_missing".into(),
            Self::DeclaredWeightMissing => "declared_weight_missing".into(),
            Self::XrayMissing => "xray_missing".into(),
            Self::XrayViewsMismatch { got, expected } => {
                format!("xray_views_mismatch:{got}/{expected}")
            }
            Self::DuplicateWaybill(first) => format!("duplicate_waybill:{first}"),
            Self::TrackingLost => "tracking_lost".into(),
        }
    }

    /// Whether this reason sends the parcel to inspection.
    fn inspects(&self) -> bool {
        matches!(
            self,
            Self::StatusInspection
                | Self::InstructionInspect
                | Self::OfficerFlag
                | Self::WeightOutOfTolerance { .. }
        )
    }
}

/// A lane and every reason that applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Where the parcel goes.
    pub lane: LaneKind,
    /// Why; never empty.
    pub reasons: Vec<Reason>,
}

impl Decision {
    /// Reason codes as a JSON array, as stored.
    pub fn reasons_json(&self) -> String {
        serde_json::to_string(&self.reasons.iter().map(Reason::code).collect::<Vec<_>>())
            .expect("strings serialize")
    }
}

/// Decide the lane for a parcel.
pub fn decide(inputs: &Inputs, tolerance: WeightTolerance) -> Decision {
    let mut reasons = Vec::new();
    if inputs.tracking_lost {
        reasons.push(Reason::TrackingLost);
    }
    match &inputs.read {
        Read::Nothing => reasons.push(Reason::NoScan),
        Read::NoRead => reasons.push(Reason::NoRead),
        Read::Conflict(_) => reasons.push(Reason::ReadConflict),
        Read::Code(_) => match &inputs.manifest {
            None => reasons.push(Reason::ManifestNotFound),
            Some(m) if m.return_status == STATUS_INSPECTION => {
                reasons.push(Reason::StatusInspection);
            }
            Some(m) if m.return_status != STATUS_RELEASED => {
                reasons.push(Reason::StatusNotReleased(m.return_status));
            }
            Some(_) => {}
        },
    }
    match inputs.instruction {
        Some(InstructionKind::Inspect) => reasons.push(Reason::InstructionInspect),
        Some(InstructionKind::Hold) => reasons.push(Reason::InstructionHold),
        Some(InstructionKind::Release) | None => {}
    }
    if inputs.officer_flags > 0 {
        reasons.push(Reason::OfficerFlag);
    }
    weigh(inputs, tolerance, &mut reasons);
    match inputs.xray {
        Some(XrayViews { got: 0, .. }) => reasons.push(Reason::XrayMissing),
        Some(XrayViews { got, expected }) if got != expected => {
            reasons.push(Reason::XrayViewsMismatch { got, expected });
        }
        _ => {}
    }
    if let Some(first) = inputs.duplicate_of {
        reasons.push(Reason::DuplicateWaybill(first));
    }
    let lane = if reasons.iter().any(Reason::inspects) {
        LaneKind::Inspection
    } else if reasons.is_empty() {
        reasons.push(Reason::Released);
        LaneKind::Release
    } else {
        LaneKind::Exception
    };
    Decision { lane, reasons }
}

fn weigh(inputs: &Inputs, tolerance: WeightTolerance, reasons: &mut Vec<Reason>) {
    let measured = match inputs.weight {
        Weight::NotMeasured => return,
        Weight::Missing => return reasons.push(Reason::WeightMissing),
        Weight::Unstable { .. } => return reasons.push(Reason::WeightUnstable),
        Weight::Stable { kg } => kg,
    };
    // Without a list there is nothing to compare with; that is already a reason.
    let Some(manifest) = &inputs.manifest else {
        return;
    };
    let Some(declared) = manifest.gross_weight_kg else {
        return reasons.push(Reason::DeclaredWeightMissing);
    };
    // Compared in whole grams: the scale reports grams, and float kg would put a parcel
    // exactly at the edge on either side by rounding.
    let grams = |kg: f64| (kg * 1000.0).round() as i64;
    let (measured_g, declared_g) = (grams(measured), grams(declared));
    if (measured_g - declared_g).abs() > grams(tolerance.allowed_kg(declared)) {
        reasons.push(Reason::WeightOutOfTolerance {
            measured_g,
            declared_g,
        });
    }
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
