//! One realistic message of every downlink kind, as a platform writes it, and what the
//! site makes of a downlink message.

use customs_edge_protocol::SCHEMA_VERSION;
use customs_edge_protocol::downlink::{self, Downlink};
use customs_edge_protocol::envelope;
use serde_json::{Value, json};

use super::{AT, SITE};

pub(super) fn down(kind: &str, body: Value) -> Value {
    let mut message = json!({
        "schema": SCHEMA_VERSION, "id": "platform:down:7", "stream": "down", "seq": 7,
        "site": SITE, "created": AT, "kind": kind
    });
    message["body"] = body;
    message
}

/// What the site does with a downlink message: `Ok` when it applies it, else the reason
/// code it dead-letters it with.
pub(super) fn site_reads(message: &Value) -> Result<Downlink, &'static str> {
    let bytes = serde_json::to_vec(message).unwrap();
    let envelope =
        envelope::open::<envelope::RawBody>(&bytes, 1 << 20, SITE).map_err(|e| e.code())?;
    Downlink::from_envelope(&envelope).map_err(|e| e.code())
}

/// One realistic message of every downlink kind, as a platform writes it (customs field
/// names, optional fields left out or given).
pub(super) fn downlink_examples() -> Vec<(&'static str, Value)> {
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
