//! What the site sends: its streams, and the body of each message kind.
//!
//! Each stream is ordered on its own and acknowledged on its own. The priority streams
//! carry records customs acts on (decisions, gate passes, officer actions, health); the
//! bulk streams (telemetry, statistics) are sent only when the priority streams have
//! nothing waiting, so a telemetry backlog never holds back a decision.

use serde::{Deserialize, Serialize};

mod holds;
pub use holds::{Bag, BagParcel, DecisionRevised, Interception};

/// An uplink stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Sort results and parcel outcomes.
    Decisions,
    /// Gate passes and arrival reports.
    Gate,
    /// Officer actions and inspection results.
    Officer,
    /// Alarms, device health and dead-lettered downlink messages.
    Health,
    /// PLC tag values (bulk).
    Telemetry,
    /// Periodic statistics (bulk).
    Stats,
}

impl Stream {
    /// Every stream, priority streams first.
    pub const ALL: [Self; 6] = [
        Self::Decisions,
        Self::Gate,
        Self::Officer,
        Self::Health,
        Self::Telemetry,
        Self::Stats,
    ];

    /// Name in topics and envelopes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decisions => "decisions",
            Self::Gate => "gate",
            Self::Officer => "officer",
            Self::Health => "health",
            Self::Telemetry => "telemetry",
            Self::Stats => "stats",
        }
    }

    /// The stream of a name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Bulk streams yield to the others and are the first to stop growing when the outbox
    /// nears its quota.
    pub fn is_bulk(self) -> bool {
        matches!(self, Self::Telemetry | Self::Stats)
    }
}

/// Uplink message kinds, by `Envelope::kind`.
pub mod kind {
    /// [`super::SortResult`] on `decisions`.
    pub const SORT_RESULT: &str = "sort_result";
    /// [`super::ParcelOutcome`] on `decisions`.
    pub const PARCEL_OUTCOME: &str = "parcel_outcome";
    /// [`super::DecisionRevised`] on `decisions`.
    pub const DECISION_REVISED: &str = "decision_revised";
    /// [`super::Interception`] on `decisions`.
    pub const INTERCEPTION: &str = "interception";
    /// [`super::Bag`] on `decisions`.
    pub const BAG: &str = "bag";
    /// [`super::Arrival`] on `gate`.
    pub const ARRIVAL: &str = "arrival";
    /// [`super::GatePass`] on `gate`.
    pub const GATE_PASS: &str = "gate_pass";
    /// [`super::OfficerAction`] on `officer`.
    pub const OFFICER_ACTION: &str = "officer_action";
    /// [`super::InspectionResult`] on `officer`.
    pub const INSPECTION_RESULT: &str = "inspection_result";
    /// [`super::AuditAnchor`] on `officer`.
    pub const AUDIT_ANCHOR: &str = "audit_anchor";
    /// [`super::Alarm`] on `health`.
    pub const ALARM: &str = "alarm";
    /// [`super::DeviceHealth`] on `health`.
    pub const DEVICE_HEALTH: &str = "device_health";
    /// [`super::DeadLetter`] on `health`.
    pub const DEAD_LETTER: &str = "dead_letter";
    /// [`super::Telemetry`] on `telemetry`.
    pub const TELEMETRY: &str = "telemetry";
    /// [`super::Statistics`] on `stats`.
    pub const STATISTICS: &str = "statistics";

    /// Every uplink kind with its stream.
    pub const ALL: [(&str, super::Stream); 15] = [
        (SORT_RESULT, super::Stream::Decisions),
        (PARCEL_OUTCOME, super::Stream::Decisions),
        (DECISION_REVISED, super::Stream::Decisions),
        (INTERCEPTION, super::Stream::Decisions),
        (BAG, super::Stream::Decisions),
        (ARRIVAL, super::Stream::Gate),
        (GATE_PASS, super::Stream::Gate),
        (OFFICER_ACTION, super::Stream::Officer),
        (INSPECTION_RESULT, super::Stream::Officer),
        (AUDIT_ANCHOR, super::Stream::Officer),
        (ALARM, super::Stream::Health),
        (DEVICE_HEALTH, super::Stream::Health),
        (DEAD_LETTER, super::Stream::Health),
        (TELEMETRY, super::Stream::Telemetry),
        (STATISTICS, super::Stream::Stats),
    ];
}

/// The head of the site's audit chain, sent so that a copy of it lives outside the site:
/// a rewrite of the chain up to here no longer matches what the platform holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditAnchor {
    /// The newest audit entry's sequence number (its id; entries count from 1).
    pub audit_seq: i64,
    /// That entry's chain hash (SHA-256, hex).
    pub hash: String,
    /// When the entry was made.
    pub entry_at: String,
    /// Why it was sent: `interval`, or the action of the entry (`gate_override`,
    /// `account_create`, ...).
    pub reason: String,
}

/// The platform's copy of a site's audit anchor, exported to a file for
/// `customs-edge audit verify --anchor`: a [`crate::signed`] wrapper around this, signed
/// by the platform for the topic [`anchor_export_topic`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorExport {
    /// The site whose chain it anchors.
    pub site: String,
    /// The anchored entry's sequence number.
    pub audit_seq: i64,
    /// Its hash.
    pub hash: String,
    /// When the entry was made.
    pub entry_at: String,
    /// When the platform received the anchor.
    pub received_at: String,
}

/// The "topic" an exported anchor file is signed for: it never travels over MQTT, but
/// binding it to the site keeps one site's file from passing for another's.
pub fn anchor_export_topic(site: &str) -> String {
    format!("customs-edge/anchor-export/{site}")
}

/// A file kept as evidence, referenced by content hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceRef {
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// `xray_view`, `camera_frame`, `plate_snapshot`.
    pub kind: String,
    /// Why it is linked (e.g. `late_view`), if not the plain record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// One measured value of a parcel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// `weight`, `length`, ...
    pub kind: String,
    /// The value, if numeric.
    pub value: Option<f64>,
    /// Its unit.
    pub unit: Option<String>,
    /// When it was taken.
    pub at: String,
}

/// A lane decision for a parcel on a sorting line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SortResult {
    /// The site's parcel record id; the key of this record.
    pub parcel_id: i64,
    /// Sorting line id.
    pub line: String,
    /// The PLC's tracking number at the entry photo-eye.
    pub tracking_no: i64,
    /// When the parcel entered the line.
    pub entered_at: String,
    /// The waybill read from its barcode, if one was agreed.
    pub logistics_no: Option<String>,
    /// `read`, `no_read`, `conflict`, `none`.
    pub read_status: String,
    /// Lane number commanded.
    pub lane: i64,
    /// `release`, `inspection` or `exception`.
    pub lane_kind: String,
    /// Every reason code that applied, e.g. `status_not_released:120`.
    pub reasons: Vec<String>,
    /// When the decision was made.
    pub decided_at: String,
    /// Measured weight in kg, if stable.
    pub weight_kg: Option<f64>,
    /// Readings taken on the line.
    pub readings: Vec<Reading>,
    /// X-ray views and camera frames linked so far.
    pub evidence: Vec<EvidenceRef>,
    /// Risk signals (weight deviation, unmatched, duplicate waybill, company anomalies).
    pub risk: serde_json::Value,
}

/// What physically became of a parcel after its decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParcelOutcome {
    /// The parcel record id.
    pub parcel_id: i64,
    /// Sorting line id.
    pub line: String,
    /// `sorted` (dropped where commanded), `lane_mismatch`, `unconfirmed` (no drop
    /// confirmation in time), `interrupted` (in flight across a controller restart).
    pub outcome: String,
    /// The lane the PLC reported it fell into, if it did.
    pub dropped_lane: Option<i64>,
    /// When this was known.
    pub at: String,
}

/// A truck arriving at the site with parcels (the CEB507 arrival report's content).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arrival {
    /// The gate pass record id; the key of this record.
    pub gate_pass_id: i64,
    /// Supervision site code.
    pub loct_no: String,
    /// Vehicle plate.
    pub vehicle_no: String,
    /// The carrier's bill (manifest) number of the expected arrival reported, when the
    /// truck came with one ([`crate::downlink::ExpectedArrival::bill_no`]); left out when
    /// not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_no: Option<String>,
    /// Waybills with their bag numbers.
    pub items: Vec<ArrivalItem>,
    /// Arrival time.
    pub arrived_at: String,
}

/// One waybill of an arrival report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArrivalItem {
    /// Waybill number.
    pub logistics_no: String,
    /// Bag number.
    pub total_package_no: Option<String>,
}

/// A truck through a gate lane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatePass {
    /// The gate pass record id; the key of this record.
    pub gate_pass_id: i64,
    /// Gate lane id.
    pub gate: String,
    /// `in` or `out`.
    pub direction: String,
    /// The agreed plate, if any.
    pub plate: Option<String>,
    /// The exit permit matched, if any.
    pub permit_no: Option<String>,
    /// Weighbridge weight in kg.
    pub weight_kg: Option<f64>,
    /// `released`, `refused` or `override`.
    pub verdict: String,
    /// Every reason that applied.
    pub reasons: Vec<String>,
    /// Who overrode, and why, when the verdict is `override`.
    pub override_by: Option<String>,
    /// The override reason.
    pub override_reason: Option<String>,
    /// Plate snapshots and camera frames.
    pub evidence: Vec<EvidenceRef>,
    /// When.
    pub at: String,
}

/// An officer or operator action (flag, override, acknowledgement...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfficerAction {
    /// The action's record id; the key of this record.
    pub action_id: i64,
    /// Who.
    pub actor: String,
    /// What: `flag_inspection`, ...
    pub action: String,
    /// The parcel record, if the action is about one.
    pub parcel_id: Option<i64>,
    /// The waybill, if the action is about one.
    pub logistics_no: Option<String>,
    /// The reason given.
    pub reason: String,
    /// When.
    pub at: String,
}

/// The result of a customs inspection of a parcel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectionResult {
    /// The result's record id; the key of this record.
    pub result_id: i64,
    /// The parcel record.
    pub parcel_id: Option<i64>,
    /// The waybill; `None` for a parcel whose barcode was never read.
    pub logistics_no: Option<String>,
    /// The officer.
    pub officer: String,
    /// `conform`, `discrepancy`, `seized` or `returned`.
    pub result: String,
    /// The officer's note.
    pub note: Option<String>,
    /// When.
    pub at: String,
}

/// An alarm raised or cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    /// The alarm record id; the key of this record (with `state`).
    pub alarm_id: i64,
    /// `raised` or `cleared`.
    pub state: String,
    /// Where: `line:L1:plc`, `platform:outbox`, ...
    pub source: String,
    /// What: `tracking_lost`, `drop_unconfirmed`, ...
    pub alarm: String,
    /// In words.
    pub detail: String,
    /// The parcel record it concerns, if any.
    pub parcel_id: Option<i64>,
    /// When.
    pub at: String,
}

/// The health of a subsystem when it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceHealth {
    /// Subsystem: `line:L1:plc`, `line:L1:scanner:top`, ...
    pub device: String,
    /// `starting` (not yet connected), `ok`, `degraded` or `down`.
    pub state: String,
    /// Why, in words.
    pub detail: String,
    /// When.
    pub at: String,
}

/// A downlink message the site could not apply, kept in its dead-letter table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The dead-letter record id; the key of this record.
    pub dead_letter_id: i64,
    /// The topic it came on.
    pub topic: String,
    /// Reason code: `too_large`, `not_utf8`, `malformed`, `unknown_schema`, `wrong_site`,
    /// `unknown_kind`, `bad_body`; with signing on also `unsigned`,
    /// `bad_signature_wrapper`, `unknown_key`, `bad_signature`, `expired`, `replayed`.
    pub reason: String,
    /// The reason in words.
    pub detail: String,
    /// The message id, when the envelope could be read.
    pub message_id: Option<String>,
    /// Payload size in bytes.
    pub bytes: usize,
    /// When it was received.
    pub received_at: String,
}

/// PLC tag values that changed beyond their deadband or reached their maximum interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    /// The device the tags come from, e.g. `line:L1:plc`.
    pub device: String,
    /// The values.
    pub tags: Vec<TagValue>,
}

/// One tag value with its quality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagValue {
    /// Tag name from config.
    pub tag: String,
    /// Last value read; on a `stale` or `bad` quality, the last good value, if any.
    pub value: Option<f64>,
    /// `good`; `stale` when the link is down and the value is the last one known; `bad`
    /// when the device answered with something that does not decode.
    pub quality: String,
    /// When the value was read.
    pub at: String,
}

/// Counts over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    /// Period start.
    pub from: String,
    /// Period end.
    pub to: String,
    /// Per line.
    pub lines: Vec<LineStatistics>,
    /// Messages waiting in the outbox at the end of the period.
    pub outbox_pending: u64,
}

/// Counts of one line over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineStatistics {
    /// Line id.
    pub line: String,
    /// Parcels decided.
    pub parcels: u64,
    /// To the release lane.
    pub release: u64,
    /// To the inspection lane.
    pub inspection: u64,
    /// To the exception lane.
    pub exception: u64,
    /// With a weight out of tolerance.
    pub weight_mismatch: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_round_trip_and_bulk_streams_come_last() {
        for s in Stream::ALL {
            assert_eq!(Stream::parse(s.as_str()), Some(s));
        }
        let first_bulk = Stream::ALL.iter().position(|s| s.is_bulk()).unwrap();
        assert!(Stream::ALL[first_bulk..].iter().all(|s| s.is_bulk()));
    }
}
