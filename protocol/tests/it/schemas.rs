//! Every MQTT message kind has a JSON Schema in `docs/mqtt/schemas`, and what the Rust
//! types write (uplink) or accept (downlink) fits it; what they refuse, it refuses.

use crate::common;
mod downlink_examples;
mod limits;
mod uplink_examples;

use std::collections::BTreeSet;

use common::{SHARED_SCHEMAS, schema_dir, validate_against};
use customs_edge_protocol::downlink::{self, Downlink};
use customs_edge_protocol::envelope::message_id;
use customs_edge_protocol::uplink::{self, Stream};
use downlink_examples::{down, downlink_examples, site_reads};
use serde_json::{Value, json};
use uplink_examples::uplink_examples;

const SITE: &str = "3511W001";
const AT: &str = "2026-11-27T10:00:00.000Z";

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

#[test]
fn a_signed_message_fits_the_wrapper_schema() {
    use customs_edge_protocol::signed::SealKey;

    let key = SealKey::from_seed(&[3; 32]);
    let (_, envelope) = &uplink_examples()[0];
    let topic = format!("customs-edge/{SITE}/up/decisions");
    let payload = key.seal(&topic, envelope.to_string().as_bytes(), 1_800_000_000);
    let value: Value = serde_json::from_slice(&payload).unwrap();
    validate_against("", "signed", &value).unwrap();
    assert_eq!(
        &value["msg"], envelope,
        "the wrapper carries the envelope as it is"
    );
    let mut bad = value.clone();
    bad["sig"] = json!("not hex");
    assert!(validate_against("", "signed", &bad).is_err());

    let envelopes: Vec<String> = uplink_examples()
        .iter()
        .map(|(_, e)| e.to_string())
        .collect();
    let msgs: Vec<&[u8]> = envelopes.iter().map(String::as_bytes).collect();
    let batch = key.seal_batch(&topic, &msgs, 1_800_000_000);
    let value: Value = serde_json::from_slice(&batch).unwrap();
    validate_against("", "signed", &value).unwrap();
    assert_eq!(value["msgs"].as_array().unwrap().len(), envelopes.len());
    let mut both = value.clone();
    both["msg"] = value["msgs"][0].clone();
    assert!(
        validate_against("", "signed", &both).is_err(),
        "a wrapper carries msg or msgs, not both"
    );
}
