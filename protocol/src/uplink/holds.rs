//! The bodies of what a hold after the decision leaves behind: a revised decision, an
//! interception, and the bags of the release lanes.

use serde::{Deserialize, Serialize};

/// A lane decision changed after it was made (a hold that came after a release): both
/// versions and why. The parcel's lane was commanded again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRevised {
    /// The revision's record id; the key of this record.
    pub revision_id: i64,
    pub parcel_id: i64,
    /// Sorting line id.
    pub line: String,
    /// The waybill, if one was read.
    pub logistics_no: Option<String>,
    /// What came after the decision: `status:500`, `instruction:inspect`, `officer_flag:7`, ...
    pub cause: String,
    /// The lane first decided.
    pub old_lane: Option<i64>,
    /// Its kind (`release`).
    pub old_lane_kind: Option<String>,
    /// Its reasons.
    pub old_reasons: Vec<String>,
    /// The lane now commanded.
    pub new_lane: i64,
    /// Its kind (`inspection` or `exception`).
    pub new_lane_kind: String,
    /// Its reasons.
    pub new_reasons: Vec<String>,
    /// When it was revised.
    pub at: String,
}

/// A parcel held (or never released) that dropped into a release lane: opened, then
/// retrieved. Until its retrieval, it and its bag count as held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interception {
    /// The interception's record id; the key of this record.
    pub interception_id: i64,
    /// `opened` or `retrieved`.
    pub state: String,
    pub parcel_id: i64,
    /// Its waybill, if read.
    pub logistics_no: Option<String>,
    /// Sorting line id.
    pub line: String,
    /// The release lane it fell into.
    pub lane: i64,
    /// The bag's record id it went into, if any.
    pub bag_id: Option<i64>,
    /// The bag's number, once the bag is closed.
    pub bag_no: Option<String>,
    /// When it dropped.
    pub dropped_at: Option<String>,
    /// Why it is held: `status:500`, `instruction:hold`, `officer_flag:7`, `decided:inspection`.
    pub cause: String,
    /// Who recorded the retrieval (retrieved only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieved_by: Option<String>,
    /// The label scanned at retrieval, when a scanner was at hand (retrieved only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieval_scan: Option<String>,
    /// Why recorded by hand without a scan (retrieved only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieval_reason: Option<String>,
    /// When this happened.
    pub at: String,
}

/// A bag (总包) of a release lane, closed with its number and contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bag {
    /// The bag's record id; the key of this record.
    pub bag_id: i64,
    /// Its number (totalPackageNo).
    pub bag_no: String,
    /// Sorting line id.
    pub line: String,
    /// The release lane it was filled at.
    pub lane: i64,
    /// When its first parcel dropped (or it was opened).
    pub opened_at: String,
    /// When it was closed.
    pub closed_at: String,
    /// Who closed it.
    pub closed_by: String,
    /// Its parcels.
    pub parcels: Vec<BagParcel>,
}

/// One parcel of a bag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BagParcel {
    pub parcel_id: i64,
    /// Its waybill, if read.
    pub logistics_no: Option<String>,
    /// Declared gross weight, kg.
    pub declared_kg: Option<f64>,
    /// Measured weight, kg.
    pub measured_kg: Option<f64>,
}
