//! Exit permits (核放单) as the gate checks a truck against them: the permit and the
//! statuses the platform gives it. The store reads and updates them
//! (`store::passes::permits_for_plate`, `store::passes::record_pass`); the verdict only
//! looks at them.

use serde::Serialize;

/// Exit permit statuses (核放单状态) as the platform sends them.
pub mod permit_status {
    /// Applied, not yet approved.
    pub const APPLIED: i32 = 0;
    /// Approved: the truck may leave once.
    pub const APPROVED: i32 = 1;
    /// Passed the gate.
    pub const PASSED: i32 = 2;
    /// Passed gate 1 of a two-gate site.
    pub const PASSED_GATE_1: i32 = 3;
    /// Passed gate 2 of a two-gate site.
    pub const PASSED_GATE_2: i32 = 4;
    /// Deleted: no truck leaves on it.
    pub const DELETED: i32 = 5;
    /// Voided: no truck leaves on it.
    pub const VOIDED: i32 = 6;
}

/// An exit permit as the gate sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Permit {
    /// Permit number.
    pub permit_no: String,
    /// The plate it was issued for.
    pub vehicle_no: String,
    /// Status ([`permit_status`]).
    pub status: i32,
    /// Total gross weight (vehicle, frame, container and goods), kg.
    pub total_gross_weight_kg: Option<f64>,
    /// When it last changed here.
    pub updated_at: String,
}
