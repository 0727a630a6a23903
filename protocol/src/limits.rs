//! The longest text each field from the platform may carry: the envelope, every downlink
//! body, and declaration lists (which also come from `import-manifests` files).
//!
//! One table, [`FIELDS`]: the parsers check their fields against these constants (a value
//! over its limit is refused with an error naming the field, never cut), and
//! `protocol/tests/it/limits.rs` reads every JSON Schema in `docs/mqtt/schemas` and checks
//! that each string it describes has exactly this `maxLength`, so the documents and the
//! code cannot drift. Limits count characters (Unicode scalar values), as JSON Schema's
//! `maxLength` does, not bytes.

/// A waybill number (≤ 80 characters in the customs standard).
pub const LOGISTICS_NO: usize = 80;
/// An order number (≤ 60 characters in the customs standard).
pub const ORDER_NO: usize = 60;
/// A list number: 4-digit customs code, 4-digit year, `E`, 9 digits.
pub const INVT_NO: usize = 18;
/// A trade mode code (9610, 9710, 9810, 1210).
pub const TRADE_MODE: usize = 4;
/// A company's customs or credit code (10 or 18 characters).
pub const COMPANY_CODE: usize = 32;
/// A company's name.
pub const COMPANY_NAME: usize = 100;
/// A country, unit or currency code.
pub const SHORT_CODE: usize = 8;
/// A bag or pallet number.
pub const PACKAGE_NO: usize = 64;
/// A supervision site code (loctNo).
pub const SITE_CODE: usize = 16;
/// Customs' words: a status text, an instruction's reason.
pub const CUSTOMS_TEXT: usize = 500;
/// A goods name (≤ 250 characters in the customs standard).
pub const ITEM_NAME: usize = 250;
/// An HS code (6 to 10 digits).
pub const HS_CODE: usize = 10;
/// An exit permit number.
pub const PERMIT_NO: usize = 64;
/// A vehicle plate (7 or 8 characters in China; room for foreign plates).
pub const PLATE: usize = 16;
/// A container number (ISO 6346 is 11 characters).
pub const CONTAINER_NO: usize = 32;
/// A bill (manifest) number.
pub const BILL_NO: usize = 64;
/// A name from a fixed set: an instruction's action, a stream, a message kind.
pub const NAME: usize = 32;
/// A timestamp (RFC 3339).
pub const TIMESTAMP: usize = 40;
/// A message id (`<site>:<stream>:<seq>` uplink; the platform's own downlink).
pub const MESSAGE_ID: usize = crate::envelope::MAX_ID_CHARS;

/// Where a limit applies: a JSON Schema file under `docs/mqtt/schemas` and the JSON
/// pointer of the field's own schema in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLimit {
    /// The schema file, relative to `docs/mqtt/schemas`.
    pub schema: &'static str,
    /// The JSON pointer of the field's schema in that file.
    pub pointer: &'static str,
    /// Most characters.
    pub max_chars: usize,
}

const fn at(schema: &'static str, pointer: &'static str, max_chars: usize) -> FieldLimit {
    FieldLimit {
        schema,
        pointer,
        max_chars,
    }
}

const LIST: &str = "declaration_list.schema.json";
const ENVELOPE: &str = "envelope.schema.json";

/// Every text field from outside, with its limit.
pub const FIELDS: &[FieldLimit] = &[
    at(ENVELOPE, "/properties/id", MESSAGE_ID),
    at(ENVELOPE, "/properties/stream", NAME),
    at(ENVELOPE, "/properties/site", SITE_CODE),
    at(ENVELOPE, "/properties/created", TIMESTAMP),
    at(ENVELOPE, "/properties/kind", NAME),
    at(LIST, "/properties/logisticsNo", LOGISTICS_NO),
    at(LIST, "/properties/invtNo", INVT_NO),
    at(LIST, "/properties/orderNo", ORDER_NO),
    at(LIST, "/properties/tradeMode", TRADE_MODE),
    at(LIST, "/properties/ebcCode", COMPANY_CODE),
    at(LIST, "/properties/ebcName", COMPANY_NAME),
    at(LIST, "/properties/country", SHORT_CODE),
    at(LIST, "/properties/totalPackageNo", PACKAGE_NO),
    at(LIST, "/properties/loctNo", SITE_CODE),
    at(LIST, "/properties/returnInfo", CUSTOMS_TEXT),
    at(LIST, "/$defs/goodsLine/properties/itemName", ITEM_NAME),
    at(LIST, "/$defs/goodsLine/properties/gcode", HS_CODE),
    at(LIST, "/$defs/goodsLine/properties/unit", SHORT_CODE),
    at(LIST, "/$defs/goodsLine/properties/currency", SHORT_CODE),
    at(
        "downlink/ack.schema.json",
        "/$defs/body/properties/stream",
        NAME,
    ),
    at(
        "downlink/arrivals.schema.json",
        "/$defs/arrival/properties/billNo",
        BILL_NO,
    ),
    at(
        "downlink/arrivals.schema.json",
        "/$defs/arrival/properties/vehicleNo",
        PLATE,
    ),
    at(
        "downlink/arrivals.schema.json",
        "/$defs/item/properties/logisticsNo",
        LOGISTICS_NO,
    ),
    at(
        "downlink/arrivals.schema.json",
        "/$defs/item/properties/totalPackageNo",
        PACKAGE_NO,
    ),
    at(
        "downlink/instructions.schema.json",
        "/$defs/instruction/properties/logisticsNo",
        LOGISTICS_NO,
    ),
    at(
        "downlink/instructions.schema.json",
        "/$defs/instruction/properties/action",
        NAME,
    ),
    at(
        "downlink/instructions.schema.json",
        "/$defs/instruction/properties/reason",
        CUSTOMS_TEXT,
    ),
    at(
        "downlink/instructions.schema.json",
        "/$defs/instruction/properties/issuedAt",
        TIMESTAMP,
    ),
    at(
        "downlink/list_status.schema.json",
        "/$defs/update/properties/logisticsNo",
        LOGISTICS_NO,
    ),
    at(
        "downlink/list_status.schema.json",
        "/$defs/update/properties/returnInfo",
        CUSTOMS_TEXT,
    ),
    at(
        "downlink/permit_status.schema.json",
        "/$defs/update/properties/permitNo",
        PERMIT_NO,
    ),
    at(
        "downlink/permits.schema.json",
        "/$defs/permit/properties/permitNo",
        PERMIT_NO,
    ),
    at(
        "downlink/permits.schema.json",
        "/$defs/permit/properties/vehicleNo",
        PLATE,
    ),
    at(
        "downlink/permits.schema.json",
        "/$defs/permit/properties/containerNo",
        CONTAINER_NO,
    ),
    at(
        "downlink/permits.schema.json",
        "/$defs/item/properties/billNo",
        BILL_NO,
    ),
    at(
        "downlink/permits.schema.json",
        "/$defs/item/properties/logisticsNo",
        LOGISTICS_NO,
    ),
    at(
        "downlink/permits.schema.json",
        "/$defs/item/properties/totalPackageNo",
        PACKAGE_NO,
    ),
];

/// The problems of a message's text fields, each naming its field.
#[derive(Debug, Default)]
pub struct Lengths {
    problems: Vec<String>,
}

impl Lengths {
    /// Note `field` when `value` has more than `max` characters.
    pub fn check(&mut self, field: impl FnOnce() -> String, value: &str, max: usize) {
        // A byte count at or under the limit cannot hold more characters.
        if value.len() <= max {
            return;
        }
        let n = value.chars().count();
        if n > max {
            self.problems
                .push(format!("{} is {n} characters, at most {max}", field()));
        }
    }

    /// [`Lengths::check`] for an optional field.
    pub fn check_opt(&mut self, field: impl FnOnce() -> String, value: Option<&str>, max: usize) {
        if let Some(value) = value {
            self.check(field, value, max);
        }
    }

    /// Every problem noted, joined; `Ok` when none.
    pub fn finish(self) -> Result<(), String> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(self.problems.join("; "))
        }
    }

    /// The problems noted so far.
    pub fn into_problems(self) -> Vec<String> {
        self.problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_characters_and_name_the_field() {
        let mut l = Lengths::default();
        l.check(|| "vehicleNo".into(), &"闽".repeat(PLATE), PLATE);
        assert!(
            l.into_problems().is_empty(),
            "16 characters, 48 bytes: fits"
        );
        let mut l = Lengths::default();
        l.check(|| "permits[0].vehicleNo".into(), &"A".repeat(10_000), PLATE);
        l.check_opt(|| "reason".into(), None, 4);
        assert_eq!(
            l.finish().unwrap_err(),
            "permits[0].vehicleNo is 10000 characters, at most 16"
        );
    }

    #[test]
    fn every_field_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for f in FIELDS {
            assert!(seen.insert((f.schema, f.pointer)), "{f:?} twice");
        }
    }
}
