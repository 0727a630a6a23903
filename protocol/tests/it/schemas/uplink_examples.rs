//! One realistic message of every uplink kind, written by the Rust types through the
//! envelope the site puts around them.

use customs_edge_protocol::envelope::message_id;
use customs_edge_protocol::uplink::{self, Stream};
use customs_edge_protocol::{Envelope, SCHEMA_VERSION};
use serde::Serialize;
use serde_json::{Value, json};

use super::{AT, SITE};

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn up<B: Serialize>(kind: &str, stream: Stream, seq: u64, body: B) -> Value {
    let envelope = Envelope {
        schema: SCHEMA_VERSION,
        id: message_id(SITE, stream.as_str(), seq),
        stream: stream.as_str().to_owned(),
        seq,
        site: SITE.to_owned(),
        created: AT.to_owned(),
        kind: kind.to_owned(),
        body,
    };
    serde_json::to_value(envelope).unwrap()
}

fn evidence(kind: &str, role: Option<&str>) -> uplink::EvidenceRef {
    uplink::EvidenceRef {
        sha256: SHA.to_owned(),
        kind: kind.to_owned(),
        role: role.map(str::to_owned),
    }
}

/// One realistic message of every uplink kind, written by the Rust types; options both set
/// and unset across the set.
pub(super) fn uplink_examples() -> Vec<(&'static str, Value)> {
    use uplink::kind;
    vec![
        (
            kind::SORT_RESULT,
            up(
                kind::SORT_RESULT,
                Stream::Decisions,
                41,
                uplink::SortResult {
                    parcel_id: 1207,
                    line: "L1".into(),
                    tracking_no: 88,
                    entered_at: "2026-11-27T09:59:58.120Z".into(),
                    logistics_no: Some("SF1001".into()),
                    read_status: "read".into(),
                    lane: 2,
                    lane_kind: "inspection".into(),
                    reasons: vec!["instruction:inspect".into()],
                    decided_at: "2026-11-27T09:59:59.010Z".into(),
                    weight_kg: Some(1.25),
                    readings: vec![
                        uplink::Reading {
                            kind: "weight".into(),
                            value: Some(1.25),
                            unit: Some("kg".into()),
                            at: AT.into(),
                        },
                        uplink::Reading {
                            kind: "barcode".into(),
                            value: None,
                            unit: None,
                            at: AT.into(),
                        },
                    ],
                    evidence: vec![
                        evidence("xray_view", None),
                        evidence("camera_frame", Some("late_view")),
                    ],
                    risk: json!({"weight_deviation_pct": 2.5, "duplicate_waybill": false}),
                },
            ),
        ),
        (
            kind::PARCEL_OUTCOME,
            up(
                kind::PARCEL_OUTCOME,
                Stream::Decisions,
                42,
                uplink::ParcelOutcome {
                    parcel_id: 1207,
                    line: "L1".into(),
                    outcome: "unconfirmed".into(),
                    dropped_lane: None,
                    at: AT.into(),
                },
            ),
        ),
        (
            kind::DECISION_REVISED,
            up(
                kind::DECISION_REVISED,
                Stream::Decisions,
                43,
                uplink::DecisionRevised {
                    revision_id: 3,
                    parcel_id: 1208,
                    line: "L1".into(),
                    logistics_no: Some("SF1002".into()),
                    cause: "status:500".into(),
                    old_lane: Some(1),
                    old_lane_kind: Some("release".into()),
                    old_reasons: vec!["released".into()],
                    new_lane: 2,
                    new_lane_kind: "inspection".into(),
                    new_reasons: vec!["status_inspection".into()],
                    at: AT.into(),
                },
            ),
        ),
        (
            kind::INTERCEPTION,
            up(
                kind::INTERCEPTION,
                Stream::Decisions,
                44,
                uplink::Interception {
                    interception_id: 5,
                    state: "retrieved".into(),
                    parcel_id: 1209,
                    logistics_no: Some("SF1003".into()),
                    line: "L1".into(),
                    lane: 1,
                    bag_id: Some(12),
                    bag_no: None,
                    dropped_at: Some("2026-11-27T09:59:58.000Z".into()),
                    cause: "officer_flag:7".into(),
                    retrieved_by: Some("op.zhang".into()),
                    retrieval_scan: Some("SF1003".into()),
                    retrieval_reason: None,
                    at: AT.into(),
                },
            ),
        ),
        (
            kind::BAG,
            up(
                kind::BAG,
                Stream::Decisions,
                45,
                uplink::Bag {
                    bag_id: 12,
                    bag_no: "ZB3511000012".into(),
                    line: "L1".into(),
                    lane: 1,
                    opened_at: "2026-11-27T09:30:00.000Z".into(),
                    closed_at: AT.into(),
                    closed_by: "op.zhang".into(),
                    parcels: vec![
                        uplink::BagParcel {
                            parcel_id: 1207,
                            logistics_no: Some("SF1001".into()),
                            declared_kg: Some(1.2),
                            measured_kg: Some(1.25),
                        },
                        uplink::BagParcel {
                            parcel_id: 1210,
                            logistics_no: None,
                            declared_kg: None,
                            measured_kg: None,
                        },
                    ],
                },
            ),
        ),
        (
            kind::ARRIVAL,
            up(
                kind::ARRIVAL,
                Stream::Gate,
                7,
                uplink::Arrival {
                    gate_pass_id: 31,
                    loct_no: SITE.into(),
                    vehicle_no: "闽G12345".into(),
                    bill_no: Some("SFMB20261127001".into()),
                    items: vec![
                        uplink::ArrivalItem {
                            logistics_no: "SF1001".into(),
                            total_package_no: Some("BAG-0001".into()),
                        },
                        uplink::ArrivalItem {
                            logistics_no: "SF1002".into(),
                            total_package_no: None,
                        },
                    ],
                    arrived_at: AT.into(),
                },
            ),
        ),
        (
            kind::GATE_PASS,
            up(
                kind::GATE_PASS,
                Stream::Gate,
                8,
                uplink::GatePass {
                    gate_pass_id: 32,
                    gate: "G1-out".into(),
                    direction: "out".into(),
                    plate: Some("闽GD12345".into()),
                    permit_no: None,
                    weight_kg: Some(18_250.0),
                    verdict: "override".into(),
                    reasons: vec!["no_permit".into()],
                    override_by: Some("op-zhang".into()),
                    override_reason: Some("permit delayed, supervisor approved".into()),
                    evidence: vec![evidence("plate_snapshot", None)],
                    at: AT.into(),
                },
            ),
        ),
        (
            kind::OFFICER_ACTION,
            up(
                kind::OFFICER_ACTION,
                Stream::Officer,
                3,
                uplink::OfficerAction {
                    action_id: 5,
                    actor: "officer-li".into(),
                    action: "flag_inspection".into(),
                    parcel_id: Some(1207),
                    logistics_no: Some("SF1001".into()),
                    reason: "dense object in X-ray view".into(),
                    at: AT.into(),
                },
            ),
        ),
        (
            kind::INSPECTION_RESULT,
            up(
                kind::INSPECTION_RESULT,
                Stream::Officer,
                4,
                uplink::InspectionResult {
                    result_id: 2,
                    parcel_id: None,
                    logistics_no: Some("SF1001".into()),
                    officer: "officer-li".into(),
                    result: "conform".into(),
                    note: Some("batteries declared".into()),
                    at: AT.into(),
                },
            ),
        ),
        (
            kind::AUDIT_ANCHOR,
            up(
                kind::AUDIT_ANCHOR,
                Stream::Officer,
                5,
                uplink::AuditAnchor {
                    audit_seq: 42,
                    hash: "9f2b".repeat(16),
                    entry_at: AT.into(),
                    reason: "gate_override".into(),
                },
            ),
        ),
        (
            kind::ALARM,
            up(
                kind::ALARM,
                Stream::Health,
                10,
                uplink::Alarm {
                    alarm_id: 9,
                    state: "raised".into(),
                    source: "line:L1:plc".into(),
                    alarm: "tracking_lost".into(),
                    detail: "parcel 88 not seen at the diverter".into(),
                    parcel_id: Some(1207),
                    at: AT.into(),
                },
            ),
        ),
        (
            kind::DEVICE_HEALTH,
            up(
                kind::DEVICE_HEALTH,
                Stream::Health,
                11,
                uplink::DeviceHealth {
                    device: "line:L1:scanner:top".into(),
                    state: "degraded".into(),
                    detail: "3 no-reads in a row".into(),
                    at: AT.into(),
                },
            ),
        ),
        (
            kind::DEAD_LETTER,
            up(
                kind::DEAD_LETTER,
                Stream::Health,
                12,
                uplink::DeadLetter {
                    dead_letter_id: 1,
                    topic: "customs-edge/3511W001/down/lists".into(),
                    reason: "bad_body".into(),
                    detail: "body does not fit its kind: missing field `returnStatus`".into(),
                    message_id: Some("platform:down:7".into()),
                    bytes: 312,
                    received_at: AT.into(),
                },
            ),
        ),
        (
            kind::TELEMETRY,
            up(
                kind::TELEMETRY,
                Stream::Telemetry,
                900,
                uplink::Telemetry {
                    device: "line:L1:plc".into(),
                    tags: vec![
                        uplink::TagValue {
                            tag: "belt_speed".into(),
                            value: Some(0.5),
                            quality: "good".into(),
                            at: AT.into(),
                        },
                        uplink::TagValue {
                            tag: "motor_temp".into(),
                            value: None,
                            quality: "bad".into(),
                            at: AT.into(),
                        },
                    ],
                },
            ),
        ),
        (
            kind::STATISTICS,
            up(
                kind::STATISTICS,
                Stream::Stats,
                60,
                uplink::Statistics {
                    from: "2026-11-27T09:00:00.000Z".into(),
                    to: AT.into(),
                    lines: vec![uplink::LineStatistics {
                        line: "L1".into(),
                        parcels: 7200,
                        release: 7000,
                        inspection: 150,
                        exception: 50,
                        weight_mismatch: 12,
                    }],
                    outbox_pending: 0,
                },
            ),
        ),
    ]
}
