//! What customs says about a waybill, as the lane decision takes it: the facts of its
//! declaration list and the instruction that stands for it. The store reads them
//! (`store::manifests::facts`, `store::instructions::standing_instruction`); the decision
//! only looks at them.

use serde::{Deserialize, Serialize};

/// What the sorting decision needs to know about a waybill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManifestFacts {
    /// Customs status.
    pub return_status: i32,
    /// Declared gross weight in kg.
    pub gross_weight_kg: Option<f64>,
    /// E-commerce company, for risk statistics.
    pub ebc_code: Option<String>,
}

/// What the platform instructs for a waybill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstructionKind {
    /// Customs will open it: inspection lane.
    Inspect,
    /// Keep it on site: exception lane.
    Hold,
    /// Lifts an earlier inspect or hold.
    Release,
}

impl InstructionKind {
    /// Name as stored and as the platform sends it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inspect => "inspect",
            Self::Hold => "hold",
            Self::Release => "release",
        }
    }

    /// The kind with this stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "inspect" => Self::Inspect,
            "hold" => Self::Hold,
            "release" => Self::Release,
            _ => return None,
        })
    }
}
