//! What the platform sends to a site, on `<prefix>/<site>/down/<kind>`.
//!
//! Every downlink message is applied by the site in one transaction, at most once per
//! message id, and only then acknowledged to the broker. Bodies carry batches so a large
//! load (a million lists) does not need a million messages.

use serde::{Deserialize, Serialize};

use crate::declaration::DeclarationList;
use crate::envelope::{Body, Envelope, EnvelopeError};

mod arrivals;
mod checks;

pub use arrivals::{
    Arrivals, BILL_NO_MAX_CHARS, ExpectedArrival, ExpectedArrivalItem, LOGISTICS_NO_MAX_CHARS,
};

/// Downlink message kinds, by `Envelope::kind` (and the last topic level).
pub mod kind {
    /// [`super::Lists`]: new or replaced declaration lists.
    pub const LISTS: &str = "lists";
    /// [`super::ListStatus`]: customs status updates by logisticsNo.
    pub const LIST_STATUS: &str = "list_status";
    /// [`super::Permits`]: new or replaced exit permits.
    pub const PERMITS: &str = "permits";
    /// [`super::PermitStatus`]: exit permit status updates.
    pub const PERMIT_STATUS: &str = "permit_status";
    /// [`super::Instructions`]: inspect, hold or release by logisticsNo.
    pub const INSTRUCTIONS: &str = "instructions";
    /// [`super::Arrivals`]: expected arrivals (运抵预报), a bill on a truck by plate.
    pub const ARRIVALS: &str = "arrivals";
    /// [`super::Ack`]: the platform has applied an uplink stream up to a sequence number.
    pub const ACK: &str = "ack";

    /// Every downlink kind.
    pub const ALL: [&str; 7] = [
        LISTS,
        LIST_STATUS,
        PERMITS,
        PERMIT_STATUS,
        INSTRUCTIONS,
        ARRIVALS,
        ACK,
    ];
}

/// New or replaced declaration lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lists {
    /// The lists (at least one).
    pub lists: Vec<DeclarationList>,
}

/// Customs status updates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListStatus {
    pub updates: Vec<StatusUpdate>,
}

/// One status update of a declaration list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusUpdate {
    /// Waybill number.
    pub logistics_no: String,
    /// New customs status; only 800 releases.
    pub return_status: i32,
    /// Customs' text for it.
    #[serde(default)]
    pub return_info: Option<String>,
}

/// New or replaced exit permits (核放单).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permits {
    pub permits: Vec<ExitPermit>,
}

/// One exit permit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExitPermit {
    /// Permit number.
    pub permit_no: String,
    /// Vehicle plate.
    pub vehicle_no: String,
    /// Vehicle weight, kg.
    #[serde(default)]
    pub vehicle_weight: Option<f64>,
    /// Frame weight, kg.
    #[serde(default)]
    pub frame_weight: Option<f64>,
    /// Container number.
    #[serde(default)]
    pub container_no: Option<String>,
    /// Container weight, kg.
    #[serde(default)]
    pub container_weight: Option<f64>,
    /// Total gross weight of the truck as it should weigh at the gate, kg.
    #[serde(default)]
    pub total_gross_weight: Option<f64>,
    /// 0 applied, 1 approved, 2 passed, 3/4 gate 1/2, 5 deleted, 6 voided.
    pub status: i32,
    /// Waybills and bags on the truck.
    #[serde(default)]
    pub items: Vec<PermitItem>,
}

/// One line of an exit permit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermitItem {
    /// Bill (list) number.
    #[serde(default)]
    pub bill_no: Option<String>,
    /// Waybill number.
    #[serde(default)]
    pub logistics_no: Option<String>,
    /// Bag number.
    #[serde(default)]
    pub total_package_no: Option<String>,
}

/// Exit permit status updates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermitStatus {
    pub updates: Vec<PermitStatusUpdate>,
}

/// One exit permit status update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermitStatusUpdate {
    /// Permit number.
    pub permit_no: String,
    /// New status.
    pub status: i32,
}

/// Customs instructions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instructions {
    pub instructions: Vec<Instruction>,
}

/// One instruction for a waybill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Instruction {
    /// Waybill number.
    pub logistics_no: String,
    /// `inspect`, `hold` or `release`.
    pub action: String,
    /// Why, in words.
    #[serde(default)]
    pub reason: Option<String>,
    /// When customs issued it.
    pub issued_at: String,
}

/// The platform has applied an uplink stream up to and including `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    /// Uplink stream name.
    pub stream: String,
    /// Highest sequence number applied; acknowledges every one before it too.
    pub seq: u64,
}

/// A downlink message read by its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Downlink {
    /// See [`Lists`].
    Lists(Lists),
    /// See [`ListStatus`].
    ListStatus(ListStatus),
    /// See [`Permits`].
    Permits(Permits),
    /// See [`PermitStatus`].
    PermitStatus(PermitStatus),
    /// See [`Instructions`].
    Instructions(Instructions),
    /// See [`Arrivals`].
    Arrivals(Arrivals),
    /// See [`Ack`].
    Ack(Ack),
}

impl Downlink {
    /// Read an opened envelope's body by its kind, and check what a type cannot say.
    pub fn from_envelope<B: Body>(envelope: &Envelope<B>) -> Result<Self, EnvelopeError> {
        fn body<T: serde::de::DeserializeOwned>(b: &impl Body) -> Result<T, EnvelopeError> {
            b.read().map_err(|e| EnvelopeError::BadBody(e.to_string()))
        }
        fn checked<T>(b: T, check: fn(&T) -> Result<(), String>) -> Result<T, EnvelopeError> {
            check(&b).map_err(EnvelopeError::BadBody)?;
            Ok(b)
        }
        let bad = |m: String| Err(EnvelopeError::BadBody(m));
        let message = match envelope.kind.as_str() {
            kind::LISTS => {
                let b: Lists = body(&envelope.body)?;
                let problems: Vec<String> = b
                    .lists
                    .iter()
                    .enumerate()
                    .filter_map(|(i, l)| {
                        let at = checks::label(
                            &format!("lists[{i}]"),
                            &l.logistics_no,
                            crate::limits::LOGISTICS_NO,
                        );
                        l.check().err().map(|e| format!("{at}: {e}"))
                    })
                    .collect();
                if !problems.is_empty() {
                    return bad(problems.join("; "));
                }
                Self::Lists(b)
            }
            kind::LIST_STATUS => {
                Self::ListStatus(checked(body(&envelope.body)?, ListStatus::check)?)
            }
            kind::PERMITS => Self::Permits(checked(body(&envelope.body)?, Permits::check)?),
            kind::PERMIT_STATUS => {
                Self::PermitStatus(checked(body(&envelope.body)?, PermitStatus::check)?)
            }
            kind::INSTRUCTIONS => {
                Self::Instructions(checked(body(&envelope.body)?, Instructions::check)?)
            }
            kind::ARRIVALS => Self::Arrivals(checked(body(&envelope.body)?, Arrivals::check)?),
            kind::ACK => Self::Ack(checked(body(&envelope.body)?, Ack::check)?),
            other => return Err(EnvelopeError::UnknownKind(other.to_owned())),
        };
        Ok(message)
    }

    /// The kind name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Lists(_) => kind::LISTS,
            Self::ListStatus(_) => kind::LIST_STATUS,
            Self::Permits(_) => kind::PERMITS,
            Self::PermitStatus(_) => kind::PERMIT_STATUS,
            Self::Instructions(_) => kind::INSTRUCTIONS,
            Self::Arrivals(_) => kind::ARRIVALS,
            Self::Ack(_) => kind::ACK,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{RawBody, open};

    #[allow(clippy::needless_pass_by_value)]
    fn payload(kind: &str, body: serde_json::Value) -> Vec<u8> {
        serde_json::json!({
            "schema": 1, "id": "platform:down:7", "stream": "down", "seq": 7, "site": "S1",
            "created": "2026-11-27T10:00:00.000Z", "kind": kind, "body": body
        })
        .to_string()
        .into_bytes()
    }

    #[allow(clippy::needless_pass_by_value)] // test call sites read better with json! values
    fn read(kind: &str, body: serde_json::Value) -> Result<Downlink, EnvelopeError> {
        Downlink::from_envelope(&open::<RawBody>(&payload(kind, body), 1 << 20, "S1")?)
    }

    #[test]
    fn each_kind_reads() {
        let cases = [
            (
                kind::LISTS,
                serde_json::json!({"lists": [{"logisticsNo": "A1", "returnStatus": 800}]}),
            ),
            (
                kind::LIST_STATUS,
                serde_json::json!({"updates": [{"logisticsNo": "A1", "returnStatus": 120}]}),
            ),
            (
                kind::PERMITS,
                serde_json::json!({"permits": [{"permitNo": "P1", "vehicleNo": "闽G12345", "status": 1}]}),
            ),
            (
                kind::PERMIT_STATUS,
                serde_json::json!({"updates": [{"permitNo": "P1", "status": 2}]}),
            ),
            (
                kind::INSTRUCTIONS,
                serde_json::json!({"instructions": [{"logisticsNo": "A1", "action": "inspect", "issuedAt": "2026-11-27T10:00:00Z"}]}),
            ),
            (
                kind::ARRIVALS,
                serde_json::json!({"arrivals": [{"billNo": "MB1", "vehicleNo": "闽G12345",
                    "items": [{"logisticsNo": "A1", "totalPackageNo": "BAG1"}]}]}),
            ),
            (
                kind::ACK,
                serde_json::json!({"stream": "decisions", "seq": 41}),
            ),
        ];
        for (k, body) in cases {
            assert_eq!(read(k, body).unwrap().kind(), k);
        }
    }

    #[test]
    fn bodies_that_do_not_fit_are_named() {
        let e = read(
            kind::LISTS,
            serde_json::json!({"lists": [{"logisticsNo": "A1"}]}),
        )
        .unwrap_err();
        assert_eq!(e.code(), "bad_body");
        let e = read(
            kind::LISTS,
            serde_json::json!({"lists": [{"logisticsNo": "A1", "returnStatus": 42}]}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("A1"), "{e}");
        let e = read(kind::INSTRUCTIONS, serde_json::json!({"instructions": [{"logisticsNo": "A1", "action": "shred", "issuedAt": "x"}]})).unwrap_err();
        assert!(e.to_string().contains("shred"), "{e}");
        let e = read(
            kind::ARRIVALS,
            serde_json::json!({"arrivals": [{"billNo": "MB1", "vehicleNo": "闽G12345", "items": []}]}),
        )
        .unwrap_err();
        assert_eq!(e.code(), "bad_body");
        assert!(
            e.to_string().contains("MB1") && e.to_string().contains("items"),
            "{e}"
        );
        let e = read(
            kind::ARRIVALS,
            serde_json::json!({"arrivals": [{"billNo": "MB1", "items": [{"logisticsNo": "A1"}]}]}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("vehicleNo"), "{e}");
        let e = read("teleport", serde_json::json!({})).unwrap_err();
        assert_eq!(e.code(), "unknown_kind");
    }
}
