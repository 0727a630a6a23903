//! Declaration lists (清单, CEB603 head and goods lines): what the platform sends and the
//! controller decides on.
//!
//! The JSON form uses the customs field names (`logisticsNo`, `invtNo`, `returnStatus` …)
//! so a list exported from a platform imports as it is; other CEB603 fields are accepted
//! and ignored. `docs/manifest-format.md` documents the format for `import-manifests`.

use serde::{Deserialize, Serialize};

use crate::limits::{self, Lengths};

/// The only customs status that lets a parcel go to the release lane.
pub const STATUS_RELEASED: i32 = 800;

/// One declaration list: the head fields the site needs and its goods lines.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeclarationList {
    /// Waybill number: what the barcode on the parcel says (≤ 80 chars). Required.
    pub logistics_no: String,
    /// List number: 4-digit customs code, 4-digit year, `E`, 9-digit sequence.
    #[serde(default)]
    pub invt_no: Option<String>,
    /// Order number (≤ 60 chars).
    #[serde(default)]
    pub order_no: Option<String>,
    /// Trade mode: 9610, 9710, 9810 or 1210.
    #[serde(default)]
    pub trade_mode: Option<String>,
    /// E-commerce company code.
    #[serde(default)]
    pub ebc_code: Option<String>,
    /// E-commerce company name.
    #[serde(default)]
    pub ebc_name: Option<String>,
    /// Destination country code.
    #[serde(default)]
    pub country: Option<String>,
    /// Declared gross weight in kg.
    #[serde(default)]
    pub gross_weight: Option<f64>,
    /// Declared net weight in kg.
    #[serde(default)]
    pub net_weight: Option<f64>,
    /// Number of packages.
    #[serde(default)]
    pub pack_no: Option<u32>,
    /// Bag or pallet number.
    #[serde(default)]
    pub total_package_no: Option<String>,
    /// Supervision site code.
    #[serde(default)]
    pub loct_no: Option<String>,
    /// Customs status (returnStatus). Required; only 800 releases.
    pub return_status: i32,
    /// Customs' text for the status.
    #[serde(default)]
    pub return_info: Option<String>,
    /// Goods lines.
    #[serde(default)]
    pub goods: Vec<GoodsLine>,
}

/// One goods line of a declaration list.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GoodsLine {
    /// Line number, from 1.
    pub gnum: u32,
    /// Goods name.
    pub item_name: String,
    /// HS code.
    #[serde(default)]
    pub gcode: Option<String>,
    /// Quantity.
    #[serde(default)]
    pub qty: Option<f64>,
    /// Unit code.
    #[serde(default)]
    pub unit: Option<String>,
    /// Unit price.
    #[serde(default)]
    pub price: Option<f64>,
    /// Line total.
    #[serde(default)]
    pub total_price: Option<f64>,
    /// Currency code.
    #[serde(default)]
    pub currency: Option<String>,
}

/// Known customs statuses and what they mean (for messages and the console).
pub fn status_name(status: i32) -> Option<&'static str> {
    Some(match status {
        1 => "staged",
        2 => "declaring",
        3 => "sent",
        4 => "send failed",
        100 => "rejected",
        120 => "stored by customs",
        300 => "manual review",
        399 => "cleared",
        500 => "inspection",
        700 => "returned",
        800 => "released",
        899 => "closed",
        _ => return None,
    })
}

impl DeclarationList {
    /// Parse one JSON line and check it; the error says what is wrong.
    pub fn from_json_line(line: &str) -> Result<Self, String> {
        let list: Self = serde_json::from_str(line).map_err(|e| e.to_string())?;
        list.check()?;
        Ok(list)
    }

    /// Check the fields a decision depends on, and every text field's length
    /// ([`crate::limits`]); all problems in one message, each naming its field.
    pub fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        let ln = &self.logistics_no;
        let mut lengths = self.lengths();
        if ln.chars().count() > limits::LOGISTICS_NO {
            lengths.check(|| "logisticsNo".into(), ln, limits::LOGISTICS_NO);
        } else if ln.is_empty() || !ln.bytes().all(|b| b.is_ascii_graphic()) {
            problems.push(format!(
                "logisticsNo {ln:?} must be 1 to 80 printable ASCII characters"
            ));
        }
        if let Some(invt) = &self.invt_no
            && invt.chars().count() <= limits::INVT_NO
            && !valid_invt_no(invt)
        {
            problems.push(format!(
                "invtNo {invt:?} is not 4 digits + 4-digit year + E + 9 digits"
            ));
        }
        if let Some(mode) = &self.trade_mode
            && mode.chars().count() <= limits::TRADE_MODE
            && !["9610", "9710", "9810", "1210"].contains(&mode.as_str())
        {
            problems.push(format!(
                "tradeMode {mode:?} is not one of 9610, 9710, 9810, 1210"
            ));
        }
        if status_name(self.return_status).is_none() {
            problems.push(format!(
                "returnStatus {} is not a known customs status",
                self.return_status
            ));
        }
        for (name, w) in [
            ("grossWeight", self.gross_weight),
            ("netWeight", self.net_weight),
        ] {
            if w.is_some_and(|w| !w.is_finite() || w < 0.0) {
                problems.push(format!("{name} must be a non-negative number of kg"));
            }
        }
        for g in &self.goods {
            if let Some(code) = &g.gcode
                && code.chars().count() <= limits::HS_CODE
                && !(code.len() >= 6
                    && code.len() <= 10
                    && code.bytes().all(|b| b.is_ascii_digit()))
            {
                problems.push(format!(
                    "goods line {}: gcode {code:?} is not a 6 to 10 digit HS code",
                    g.gnum
                ));
            }
        }
        problems.extend(lengths.into_problems());
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// The length problems of every text field but `logisticsNo` (checked with its
    /// format).
    fn lengths(&self) -> Lengths {
        let mut l = Lengths::default();
        let head = [
            ("invtNo", self.invt_no.as_deref(), limits::INVT_NO),
            ("orderNo", self.order_no.as_deref(), limits::ORDER_NO),
            ("tradeMode", self.trade_mode.as_deref(), limits::TRADE_MODE),
            ("ebcCode", self.ebc_code.as_deref(), limits::COMPANY_CODE),
            ("ebcName", self.ebc_name.as_deref(), limits::COMPANY_NAME),
            ("country", self.country.as_deref(), limits::SHORT_CODE),
            (
                "totalPackageNo",
                self.total_package_no.as_deref(),
                limits::PACKAGE_NO,
            ),
            ("loctNo", self.loct_no.as_deref(), limits::SITE_CODE),
            (
                "returnInfo",
                self.return_info.as_deref(),
                limits::CUSTOMS_TEXT,
            ),
        ];
        for (field, value, max) in head {
            l.check_opt(|| field.to_owned(), value, max);
        }
        for (i, g) in self.goods.iter().enumerate() {
            l.check(
                || format!("goods[{i}].itemName"),
                &g.item_name,
                limits::ITEM_NAME,
            );
            let line = [
                ("gcode", g.gcode.as_deref(), limits::HS_CODE),
                ("unit", g.unit.as_deref(), limits::SHORT_CODE),
                ("currency", g.currency.as_deref(), limits::SHORT_CODE),
            ];
            for (field, value, max) in line {
                l.check_opt(|| format!("goods[{i}].{field}"), value, max);
            }
        }
        l
    }
}

fn valid_invt_no(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 18
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'E'
        && b[9..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customs_style_line_parses() {
        let line = r#"{"logisticsNo":"SF1001","invtNo":"35012026E000000001","orderNo":"O-1","tradeMode":"9610",
            "returnStatus":800,"grossWeight":1.25,"appType":"1",
            "goods":[{"gnum":1,"itemName":"T恤","gcode":"6109100021","qty":2,"unit":"011","price":9.5,"totalPrice":19,"currency":"142"}]}"#;
        let list = DeclarationList::from_json_line(line).unwrap();
        assert_eq!(list.return_status, STATUS_RELEASED);
        assert_eq!(list.goods[0].item_name, "T恤");
    }

    #[test]
    fn every_problem_in_a_line_is_named() {
        let line = r#"{"logisticsNo":"SF 1","invtNo":"123","tradeMode":"0110","returnStatus":42}"#;
        let err = DeclarationList::from_json_line(line).unwrap_err();
        for needle in ["logisticsNo", "invtNo", "tradeMode", "returnStatus 42"] {
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn a_text_over_its_limit_is_named_and_not_echoed() {
        let line = format!(
            r#"{{"logisticsNo":"{}","ebcName":"{}","returnStatus":800,"goods":[{{"gnum":1,"itemName":"{}"}}]}}"#,
            "S".repeat(10_000),
            "公".repeat(limits::COMPANY_NAME + 1),
            "T".repeat(limits::ITEM_NAME),
        );
        let err = DeclarationList::from_json_line(&line).unwrap_err();
        assert!(
            err.contains("logisticsNo is 10000 characters, at most 80"),
            "{err}"
        );
        assert!(
            err.contains("ebcName is 101 characters, at most 100"),
            "{err}"
        );
        assert!(!err.contains("itemName"), "at the limit is fine: {err}");
        assert!(err.len() < 300, "the value is not repeated back: {err}");
    }

    #[test]
    fn a_missing_status_is_an_error_not_a_default() {
        let err = DeclarationList::from_json_line(r#"{"logisticsNo":"SF1"}"#).unwrap_err();
        assert!(err.contains("returnStatus"), "{err}");
    }
}
