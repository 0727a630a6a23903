//! Bodies for what the central platform sends: downlink payloads and declaration lists.

use customs_edge_protocol::declaration::DeclarationList;
use customs_edge_protocol::downlink::{Downlink, kind};
use customs_edge_protocol::envelope::{self, Envelope, SCHEMA_VERSION};

/// The site code the targets' envelopes are addressed to (the demo site's).
pub(crate) const SITE: &str = "3511W001";
/// The controller's default downlink size limit (`platform.max_downlink_kb`).
const LIMIT: usize = 1024 * 1024;

/// A downlink payload as the controller opens it: envelope (the body kept as its text), then
/// body by kind. What opens keeps the id, so a dead letter can name it.
pub fn downlink(data: &[u8]) {
    match envelope::open::<envelope::RawBody>(data, LIMIT, SITE) {
        Ok(env) => {
            let read = Downlink::from_envelope(&env);
            if let Err(e) = &read {
                let _ = (e.code(), e.to_string());
            }
        }
        Err(e) => {
            let _ = (e.code(), e.to_string());
        }
    }
}

/// Byte 0 picks the kind (modulo the number of kinds); the rest is the body's JSON, put in
/// a well-formed envelope so every input reaches the body's reader and its checks.
pub fn downlink_body(data: &[u8]) {
    const KINDS: [&str; 7] = [
        kind::LISTS,
        kind::LIST_STATUS,
        kind::PERMITS,
        kind::PERMIT_STATUS,
        kind::INSTRUCTIONS,
        kind::ARRIVALS,
        kind::ACK,
    ];
    let [selector, body @ ..] = data else {
        return;
    };
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let kind = KINDS[usize::from(*selector) % KINDS.len()];
    let env = Envelope {
        schema: SCHEMA_VERSION,
        id: envelope::message_id(SITE, "platform", 1),
        stream: "platform".to_owned(),
        seq: 1,
        site: SITE.to_owned(),
        created: "2026-12-06T00:00:00Z".to_owned(),
        kind: kind.to_owned(),
        body,
    };
    if let Ok(message) = Downlink::from_envelope(&env) {
        assert_eq!(
            message.kind(),
            kind,
            "a body is read as the kind it was sent as"
        );
    }
}

/// One line of a declaration-list import (JSON Lines), as `customs-edge import` and the
/// platform simulator read it. A list that reads back passes its own checks again after a
/// round trip through JSON.
pub fn declaration_line(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(list) = DeclarationList::from_json_line(line) else {
        return;
    };
    let json = serde_json::to_string(&list).expect("a declaration list serialises");
    let again = DeclarationList::from_json_line(&json).expect("a written list reads back");
    // Floats are compared by what the checks see, not bit for bit: serde_json's default
    // float parser may land one unit in the last place away on exotic exponents.
    assert_eq!(
        again.logistics_no, list.logistics_no,
        "round trip keeps the waybill"
    );
    assert_eq!(
        again.return_status, list.return_status,
        "round trip keeps the status"
    );
    assert_eq!(
        again.goods.len(),
        list.goods.len(),
        "round trip keeps every goods line"
    );
}
