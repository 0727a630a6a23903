//! Expected arrivals (`arrivals` downlink) and the arrival report (`arrival` uplink) against
//! their schemas: what the site refuses, the schema refuses; an arrival report with or
//! without its bill fits. (`schemas.rs` covers every kind with one good example each.)

use crate::common;

use common::validate_against;
use customs_edge_protocol::downlink::{Downlink, kind};
use customs_edge_protocol::envelope::{self, message_id};
use customs_edge_protocol::uplink::{self, Stream};
use customs_edge_protocol::{Envelope, SCHEMA_VERSION};
use serde_json::{Value, json};

const SITE: &str = "3511W001";
const AT: &str = "2026-11-27T10:00:00.000Z";

#[allow(clippy::needless_pass_by_value)] // call sites read better with json! values
fn arrivals(notices: Value) -> Value {
    json!({
        "schema": SCHEMA_VERSION, "id": "platform:down:7", "stream": "down", "seq": 7,
        "site": SITE, "created": AT, "kind": kind::ARRIVALS, "body": {"arrivals": notices}
    })
}

/// What the site does with a downlink message: `Ok` when it applies it, else the reason
/// code it dead-letters it with and the reason in words.
fn site_reads(message: &Value) -> Result<Downlink, (&'static str, String)> {
    let bytes = serde_json::to_vec(message).unwrap();
    let envelope = envelope::open::<envelope::RawBody>(&bytes, 1 << 20, SITE)
        .map_err(|e| (e.code(), e.to_string()))?;
    Downlink::from_envelope(&envelope).map_err(|e| (e.code(), e.to_string()))
}

fn report(bill_no: Option<&str>) -> Value {
    let body = uplink::Arrival {
        gate_pass_id: 33,
        loct_no: SITE.into(),
        vehicle_no: "闽G56789".into(),
        bill_no: bill_no.map(str::to_owned),
        items: vec![uplink::ArrivalItem {
            logistics_no: "SF1001".into(),
            total_package_no: None,
        }],
        arrived_at: AT.into(),
    };
    serde_json::to_value(Envelope {
        schema: SCHEMA_VERSION,
        id: message_id(SITE, Stream::Gate.as_str(), 9),
        stream: Stream::Gate.as_str().to_owned(),
        seq: 9,
        site: SITE.to_owned(),
        created: AT.to_owned(),
        kind: uplink::kind::ARRIVAL.to_owned(),
        body,
    })
    .unwrap()
}

#[test]
fn an_arrival_report_fits_with_its_bill_or_without_one_which_is_left_out() {
    let with_bill = report(Some("SFMB20261127001"));
    validate_against("uplink", uplink::kind::ARRIVAL, &with_bill).unwrap();
    let without = report(None);
    assert!(without["body"].get("bill_no").is_none(), "{without}");
    validate_against("uplink", uplink::kind::ARRIVAL, &without).unwrap();
    // A platform reads both back as the site wrote them.
    for message in [&with_bill, &without] {
        let back: uplink::Arrival = serde_json::from_value(message["body"].clone()).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), message["body"]);
    }
    let mut long = with_bill;
    long["body"]["bill_no"] = json!("B".repeat(65));
    assert!(validate_against("uplink", uplink::kind::ARRIVAL, &long).is_err());
}

#[test]
fn a_bill_of_64_characters_and_a_missing_bag_are_accepted_by_both() {
    let message = arrivals(json!([{"billNo": "运".repeat(64), "vehicleNo": "闽G56789",
                                   "items": [{"logisticsNo": "SF1"}]}]));
    site_reads(&message).unwrap();
    validate_against("downlink", kind::ARRIVALS, &message).unwrap();
}

#[test]
fn the_schema_refuses_every_expected_arrival_the_site_dead_letters() {
    let item = json!([{"logisticsNo": "SF1", "totalPackageNo": "BAG1"}]);
    let one = |notice: Value| arrivals(json!([notice]));
    let cases = [
        (
            "no items",
            one(json!({"billNo": "MB1", "vehicleNo": "闽G12345", "items": []})),
            "items is empty",
        ),
        (
            "no vehicleNo",
            one(json!({"billNo": "MB1", "items": item})),
            "vehicleNo",
        ),
        (
            "a blank vehicleNo",
            one(json!({"billNo": "MB1", "vehicleNo": " ", "items": item})),
            "vehicleNo",
        ),
        (
            "an empty billNo",
            one(json!({"billNo": "", "vehicleNo": "闽G12345", "items": item})),
            "billNo",
        ),
        (
            "a billNo of 65 characters",
            one(json!({"billNo": "运".repeat(65), "vehicleNo": "闽G12345", "items": item})),
            "billNo",
        ),
        (
            "no billNo",
            one(json!({"vehicleNo": "闽G12345", "items": item})),
            "billNo",
        ),
        (
            "a logisticsNo of 81 characters",
            one(json!({"billNo": "MB1", "vehicleNo": "闽G12345",
                       "items": [{"logisticsNo": "S".repeat(81)}]})),
            "logisticsNo",
        ),
        (
            "a logisticsNo with a space",
            one(json!({"billNo": "MB1", "vehicleNo": "闽G12345",
                       "items": [{"logisticsNo": "SF 1"}]})),
            "logisticsNo",
        ),
        (
            "an unknown field",
            one(json!({"billNo": "MB1", "vehicleNo": "闽G12345", "items": item, "driver": "x"})),
            "driver",
        ),
        (
            "an unknown item field",
            one(json!({"billNo": "MB1", "vehicleNo": "闽G12345",
                       "items": [{"logisticsNo": "SF1", "weight": 1}]})),
            "weight",
        ),
        (
            "items null",
            one(json!({"billNo": "MB1", "vehicleNo": "闽G12345", "items": null})),
            "expected a sequence",
        ),
    ];
    for (what, message, named) in cases {
        let (code, reason) = site_reads(&message)
            .err()
            .unwrap_or_else(|| panic!("the site applies {what}"));
        assert_eq!(code, "bad_body", "{what}");
        assert!(reason.contains(named), "{what}: {reason}");
        assert!(
            validate_against("downlink", kind::ARRIVALS, &message).is_err(),
            "the schema lets through {what}: {message}"
        );
    }
}

#[test]
fn one_bill_twice_in_a_message_is_refused_by_the_site() {
    // A rule across items that JSON Schema cannot say; the site says it.
    let notice =
        json!({"billNo": "MB1", "vehicleNo": "闽G12345", "items": [{"logisticsNo": "SF1"}]});
    let message = arrivals(json!([notice, notice]));
    let (code, reason) = site_reads(&message).unwrap_err();
    assert_eq!(code, "bad_body");
    assert!(reason.contains("billNo comes twice"), "{reason}");
}
