//! Every MQTT message kind has a JSON Schema in `docs/mqtt/schemas`, and what the Rust
//! types write (uplink) or accept (downlink) fits it; what they refuse, it refuses.

mod common;

use std::collections::BTreeSet;

use common::{SHARED_SCHEMAS, schema_dir, validate_against};
use customs_edge_protocol::downlink::{self, Downlink};
use customs_edge_protocol::envelope::{self, message_id};
use customs_edge_protocol::uplink::{self, Stream};
use customs_edge_protocol::{Envelope, SCHEMA_VERSION};
use serde::Serialize;
use serde_json::{Value, json};

const SITE: &str = "3511W001";
const AT: &str = "2026-11-27T10:00:00.000Z";
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
fn uplink_examples() -> Vec<(&'static str, Value)> {
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

fn down(kind: &str, body: Value) -> Value {
    let mut message = json!({
        "schema": SCHEMA_VERSION, "id": "platform:down:7", "stream": "down", "seq": 7,
        "site": SITE, "created": AT, "kind": kind
    });
    message["body"] = body;
    message
}

/// What the site does with a downlink message: `Ok` when it applies it, else the reason
/// code it dead-letters it with.
fn site_reads(message: &Value) -> Result<Downlink, &'static str> {
    let bytes = serde_json::to_vec(message).unwrap();
    let envelope = envelope::open(&bytes, 1 << 20, SITE).map_err(|e| e.code())?;
    Downlink::from_envelope(&envelope).map_err(|e| e.code())
}

/// One realistic message of every downlink kind, as a platform writes it (customs field
/// names, optional fields left out or given).
fn downlink_examples() -> Vec<(&'static str, Value)> {
    use downlink::kind;
    vec![
        (
            kind::LISTS,
            down(
                kind::LISTS,
                json!({"lists": [
                    {"logisticsNo": "SF1001", "invtNo": "35012026E000000001", "orderNo": "O-1",
                     "tradeMode": "9610", "ebcCode": "3511900001", "ebcName": "三明跨境",
                     "country": "USA", "grossWeight": 1.25, "netWeight": 1.1, "packNo": 1,
                     "totalPackageNo": "BAG-0001", "loctNo": SITE, "returnStatus": 800,
                     "returnInfo": "放行", "appType": "1",
                     "goods": [{"gnum": 1, "itemName": "T恤", "gcode": "6109100021", "qty": 2,
                                "unit": "011", "price": 9.5, "totalPrice": 19, "currency": "142"}]},
                    {"logisticsNo": "SF1002", "returnStatus": 120}
                ]}),
            ),
        ),
        (
            kind::LIST_STATUS,
            down(
                kind::LIST_STATUS,
                json!({"updates": [
                    {"logisticsNo": "SF1002", "returnStatus": 800, "returnInfo": "放行"},
                    {"logisticsNo": "SF1003", "returnStatus": 100}
                ]}),
            ),
        ),
        (
            kind::PERMITS,
            down(
                kind::PERMITS,
                json!({"permits": [
                    {"permitNo": "HF3511202600001", "vehicleNo": "闽G12345", "vehicleWeight": 9800.0,
                     "frameWeight": 4200.0, "containerNo": "CSLU1234567", "containerWeight": 2200.0,
                     "totalGrossWeight": 18250.0, "status": 1,
                     "items": [{"billNo": "35012026E000000001", "logisticsNo": "SF1001",
                                "totalPackageNo": "BAG-0001"}, {"totalPackageNo": "BAG-0002"}]},
                    {"permitNo": "HF3511202600002", "vehicleNo": "闽GD12345", "status": 0}
                ]}),
            ),
        ),
        (
            kind::PERMIT_STATUS,
            down(
                kind::PERMIT_STATUS,
                json!({"updates": [{"permitNo": "HF3511202600001", "status": 6}]}),
            ),
        ),
        (
            kind::INSTRUCTIONS,
            down(
                kind::INSTRUCTIONS,
                json!({"instructions": [
                    {"logisticsNo": "SF1001", "action": "inspect", "reason": "risk model hit",
                     "issuedAt": "2026-11-27T09:30:00Z"},
                    {"logisticsNo": "SF1002", "action": "hold",
                     "issuedAt": "2026-11-27T17:30:00+08:00"}
                ]}),
            ),
        ),
        (
            kind::ARRIVALS,
            down(
                kind::ARRIVALS,
                json!({"arrivals": [
                    {"billNo": "SFMB20261127001", "vehicleNo": "闽G56789",
                     "items": [{"logisticsNo": "SF1001", "totalPackageNo": "BAG-0001"},
                               {"logisticsNo": "SF1002"}]},
                    {"billNo": "运单-2", "vehicleNo": "闽GD12345",
                     "items": [{"logisticsNo": "SF1003", "totalPackageNo": null}]}
                ]}),
            ),
        ),
        (
            kind::ACK,
            down(kind::ACK, json!({"stream": "decisions", "seq": 41})),
        ),
    ]
}

fn file_stems(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(schema_dir().join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .map(|name| {
            name.strip_suffix(".schema.json")
                .unwrap_or_else(|| panic!("{dir}/{name} is not a .schema.json file"))
                .to_owned()
        })
        .collect()
}

#[test]
fn every_kind_has_a_schema_and_every_schema_a_kind() {
    let up_kinds: BTreeSet<String> = uplink::kind::ALL
        .iter()
        .map(|(k, _)| (*k).to_owned())
        .collect();
    assert_eq!(file_stems("uplink"), up_kinds);
    let down_kinds: BTreeSet<String> = downlink::kind::ALL
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
    assert_eq!(file_stems("downlink"), down_kinds);
    let top: BTreeSet<String> = std::fs::read_dir(schema_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = SHARED_SCHEMAS
        .iter()
        .map(|s| (*s).to_owned())
        .chain(["uplink".to_owned(), "downlink".to_owned()])
        .collect();
    assert_eq!(top, expected);
}

#[test]
fn the_examples_cover_every_kind() {
    let up: Vec<&str> = uplink_examples().iter().map(|(k, _)| *k).collect();
    let all_up: Vec<&str> = uplink::kind::ALL.iter().map(|(k, _)| *k).collect();
    assert_eq!(up, all_up);
    let down: Vec<&str> = downlink_examples().iter().map(|(k, _)| *k).collect();
    assert_eq!(down, downlink::kind::ALL);
}

#[test]
fn what_the_site_writes_fits_the_uplink_schemas() {
    for (kind, message) in uplink_examples() {
        validate_against("uplink", kind, &message).unwrap();
    }
}

#[test]
fn uplink_options_may_be_null_or_left_out() {
    let mut message = uplink_examples().remove(0).1;
    let body = message["body"].as_object_mut().unwrap();
    body.insert("logistics_no".into(), Value::Null);
    body.remove("weight_kg");
    body["evidence"][0]["role"] = Value::Null;
    validate_against("uplink", "sort_result", &message).unwrap();
}

#[test]
fn what_the_site_accepts_fits_the_downlink_schemas() {
    for (kind, message) in downlink_examples() {
        let read = site_reads(&message).unwrap_or_else(|code| panic!("{kind}: {code}"));
        assert_eq!(read.kind(), kind);
        validate_against("downlink", kind, &message).unwrap();
    }
}

#[test]
fn downlink_bodies_written_by_the_rust_types_fit_too() {
    // The serializer writes `null` for every unset option; the site reads that as unset.
    for (kind, message) in downlink_examples() {
        let body = match site_reads(&message).unwrap() {
            Downlink::Lists(b) => serde_json::to_value(b),
            Downlink::ListStatus(b) => serde_json::to_value(b),
            Downlink::Permits(b) => serde_json::to_value(b),
            Downlink::PermitStatus(b) => serde_json::to_value(b),
            Downlink::Instructions(b) => serde_json::to_value(b),
            Downlink::Arrivals(b) => serde_json::to_value(b),
            Downlink::Ack(b) => serde_json::to_value(b),
        }
        .unwrap();
        let rewritten = down(kind, body);
        site_reads(&rewritten).unwrap();
        validate_against("downlink", kind, &rewritten).unwrap();
    }
}

#[test]
fn each_uplink_kind_is_tied_to_its_kind_and_stream() {
    for (kind, message) in uplink_examples() {
        let (_, stream) = uplink::kind::ALL.iter().find(|(k, _)| *k == kind).unwrap();
        let other = Stream::ALL.iter().find(|s| *s != stream).unwrap();
        let mut wrong_stream = message.clone();
        wrong_stream["stream"] = json!(other.as_str());
        assert!(
            validate_against("uplink", kind, &wrong_stream).is_err(),
            "{kind}"
        );
        let mut wrong_id = message.clone();
        wrong_id["id"] = json!(message_id(SITE, other.as_str(), 1));
        assert!(
            validate_against("uplink", kind, &wrong_id).is_err(),
            "{kind}"
        );
        let mut wrong_kind = message;
        wrong_kind["kind"] = json!("teleport");
        assert!(
            validate_against("uplink", kind, &wrong_kind).is_err(),
            "{kind}"
        );
    }
}

/// A change that spoils a valid message.
type Spoil = fn(&mut Value);

#[test]
fn invalid_uplink_messages_are_refused() {
    let sort_result = uplink_examples().remove(0).1;
    let cases: [(&str, Spoil); 10] = [
        ("a required body field missing", |m| {
            m["body"].as_object_mut().unwrap().remove("lane");
        }),
        ("a required envelope field missing", |m| {
            m.as_object_mut().unwrap().remove("created");
        }),
        ("an unknown envelope field", |m| m["extra"] = json!(1)),
        ("another schema version", |m| m["schema"] = json!(2)),
        ("seq 0", |m| m["seq"] = json!(0)),
        ("a lane kind that is none of the three", |m| {
            m["body"]["lane_kind"] = json!("chute");
        }),
        ("a time that is not RFC 3339", |m| {
            m["body"]["decided_at"] = json!("2026-11-27 10:00");
        }),
        ("a null where a value is required", |m| {
            m["body"]["line"] = Value::Null;
        }),
        ("a hash that is not hex", |m| {
            m["body"]["evidence"][0]["sha256"] = json!("xyz");
        }),
        ("a string where a number is", |m| {
            m["body"]["parcel_id"] = json!("1207");
        }),
    ];
    for (what, spoil) in cases {
        let mut message = sort_result.clone();
        spoil(&mut message);
        let err = validate_against("uplink", "sort_result", &message);
        assert!(err.is_err(), "{what} passed: {message}");
    }
}

#[test]
fn the_schemas_refuse_what_the_site_dead_letters() {
    use downlink::kind;
    let lists = |list: Value| down(kind::LISTS, json!({"lists": [list]}));
    let permits = |permit: Value| down(kind::PERMITS, json!({"permits": [permit]}));
    let instructions = |i: Value| down(kind::INSTRUCTIONS, json!({"instructions": [i]}));
    let cases = [
        ("unknown envelope field", {
            let mut m = down(kind::ACK, json!({"stream": "gate", "seq": 1}));
            m["extra"] = json!(true);
            m
        }),
        (
            "unknown body field",
            down(kind::ACK, json!({"stream": "gate", "seq": 1, "extra": 1})),
        ),
        (
            "ack without seq",
            down(kind::ACK, json!({"stream": "gate"})),
        ),
        (
            "permit field unknown",
            permits(json!({"permitNo": "P1", "vehicleNo": "闽G1234", "status": 1, "driver": "x"})),
        ),
        (
            "permit without status",
            permits(json!({"permitNo": "P1", "vehicleNo": "闽G12345"})),
        ),
        (
            "permit items null",
            permits(json!({"permitNo": "P1", "vehicleNo": "闽G1234", "status": 1, "items": null})),
        ),
        (
            "list without returnStatus",
            lists(json!({"logisticsNo": "SF1"})),
        ),
        (
            "list with an unknown status",
            lists(json!({"logisticsNo": "SF1", "returnStatus": 42})),
        ),
        (
            "list with a bad invtNo",
            lists(json!({"logisticsNo": "SF1", "invtNo": "123", "returnStatus": 800})),
        ),
        (
            "list with a bad tradeMode",
            lists(json!({"logisticsNo": "SF1", "tradeMode": "0110", "returnStatus": 800})),
        ),
        (
            "list with a space in logisticsNo",
            lists(json!({"logisticsNo": "SF 1", "returnStatus": 800})),
        ),
        (
            "list with a negative weight",
            lists(json!({"logisticsNo": "SF1", "grossWeight": -1, "returnStatus": 800})),
        ),
        (
            "list with a bad HS code",
            lists(json!({
                "logisticsNo": "SF1", "returnStatus": 800,
                "goods": [{"gnum": 1, "itemName": "T恤", "gcode": "61"}]
            })),
        ),
        (
            "status update with an unknown status",
            down(
                kind::LIST_STATUS,
                json!({"updates": [{"logisticsNo": "SF1", "returnStatus": 42}]}),
            ),
        ),
        (
            "instruction that is none of the three",
            instructions(json!({"logisticsNo": "SF1", "action": "shred", "issuedAt": AT})),
        ),
        (
            "instruction without issuedAt",
            instructions(json!({"logisticsNo": "SF1", "action": "hold"})),
        ),
        ("another schema version", {
            let mut m = down(kind::ACK, json!({"stream": "gate", "seq": 1}));
            m["schema"] = json!(2);
            m
        }),
    ];
    for (what, message) in cases {
        let kind = message["kind"].as_str().unwrap();
        assert!(site_reads(&message).is_err(), "the site applies {what}");
        assert!(
            validate_against("downlink", kind, &message).is_err(),
            "the schema lets through {what}: {message}"
        );
    }
}

#[test]
fn a_failure_names_the_field() {
    let mut message = uplink_examples().remove(0).1;
    message["body"]["lane_kind"] = json!("chute");
    let err = validate_against("uplink", "sort_result", &message).unwrap_err();
    assert!(err.contains("/body/lane_kind"), "{err}");
    let err = validate_against("uplink", "teleport", &message).unwrap_err();
    assert!(err.contains("no schema"), "{err}");
}

#[test]
fn the_examples_in_the_readme_fit_their_schemas() {
    let readme = std::fs::read_to_string(schema_dir().join("../README.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```json\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 3, "the README lost its examples");
    for block in blocks {
        let message: Value = serde_json::from_str(block).unwrap();
        let kind = message["kind"].as_str().unwrap();
        let dir = if downlink::kind::ALL.contains(&kind) {
            site_reads(&message).unwrap_or_else(|code| panic!("{kind}: {code}"));
            "downlink"
        } else {
            "uplink"
        };
        validate_against(dir, kind, &message).unwrap();
    }
}
