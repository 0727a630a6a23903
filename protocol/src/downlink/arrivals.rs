//! Expected arrivals (运抵预报): which truck is coming with which waybills.
//!
//! The platform tells the site, before a truck comes, the bill it carries (`billNo`, the
//! carrier's bill or manifest number), its plate (`vehicleNo`, the CEB507
//! `domesticTrafNo`) and the waybills and bags on it. When the truck passes an entry gate,
//! the site reports its arrival (CEB507, [`crate::uplink::Arrival`]) from this notice.

use serde::{Deserialize, Serialize};

/// Most characters of a `billNo`.
pub const BILL_NO_MAX_CHARS: usize = crate::limits::BILL_NO;
/// Most characters of a `logisticsNo` (printable ASCII, as in a declaration list).
pub const LOGISTICS_NO_MAX_CHARS: usize = crate::limits::LOGISTICS_NO;

/// New or replaced expected arrivals, by `billNo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arrivals {
    /// The notices.
    pub arrivals: Vec<ExpectedArrival>,
}

/// One expected arrival: a bill on a truck.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectedArrival {
    /// The carrier's bill (manifest) number; the key of the notice (1 to 64 characters).
    pub bill_no: String,
    /// Plate of the truck that brings it (CEB507 `domesticTrafNo`).
    pub vehicle_no: String,
    /// The waybills on the truck with their bags (at least one).
    pub items: Vec<ExpectedArrivalItem>,
}

/// One waybill of an expected arrival.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectedArrivalItem {
    /// Waybill number (1 to 80 printable ASCII characters).
    pub logistics_no: String,
    /// Bag (or pallet) number it travels in.
    #[serde(default)]
    pub total_package_no: Option<String>,
}

impl Arrivals {
    /// Check every notice and that no bill comes twice; all problems in one message, each
    /// naming its notice.
    pub fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        for (i, a) in self.arrivals.iter().enumerate() {
            let at = super::checks::label(&format!("arrivals[{i}]"), &a.bill_no, BILL_NO_MAX_CHARS);
            if let Err(e) = a.check() {
                problems.push(format!("{at}: {e}"));
            }
            if let Some(first) = self.arrivals[..i]
                .iter()
                .position(|b| b.bill_no == a.bill_no)
            {
                problems.push(format!(
                    "{at}: billNo comes twice in one message (also arrivals[{first}])"
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

impl ExpectedArrival {
    /// Check what the types cannot say; all problems in one message.
    pub fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        let mut lengths = crate::limits::Lengths::default();
        if self.bill_no.trim().is_empty() {
            problems.push(format!(
                "billNo must be 1 to {BILL_NO_MAX_CHARS} characters, not blank"
            ));
        }
        lengths.check(|| "billNo".to_owned(), &self.bill_no, BILL_NO_MAX_CHARS);
        if self.vehicle_no.trim().is_empty() {
            problems.push("vehicleNo (the plate) is empty".to_owned());
        }
        lengths.check(
            || "vehicleNo".to_owned(),
            &self.vehicle_no,
            crate::limits::PLATE,
        );
        if self.items.is_empty() {
            problems.push("items is empty: a notice names at least one waybill".to_owned());
        }
        for (j, item) in self.items.iter().enumerate() {
            let ln = &item.logistics_no;
            lengths.check_opt(
                || format!("items[{j}].totalPackageNo"),
                item.total_package_no.as_deref(),
                crate::limits::PACKAGE_NO,
            );
            if ln.chars().count() > LOGISTICS_NO_MAX_CHARS {
                lengths.check(
                    || format!("items[{j}].logisticsNo"),
                    ln,
                    LOGISTICS_NO_MAX_CHARS,
                );
            } else if ln.is_empty() || !ln.bytes().all(|b| b.is_ascii_graphic()) {
                problems.push(format!(
                    "items[{j}].logisticsNo {ln:?} must be 1 to {LOGISTICS_NO_MAX_CHARS} \
                     printable ASCII characters"
                ));
            }
        }
        problems.extend(lengths.into_problems());
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(bill: &str, plate: &str, waybills: &[&str]) -> ExpectedArrival {
        ExpectedArrival {
            bill_no: bill.into(),
            vehicle_no: plate.into(),
            items: waybills
                .iter()
                .map(|w| ExpectedArrivalItem {
                    logistics_no: (*w).into(),
                    total_package_no: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_plain_notice_passes() {
        let b = Arrivals {
            arrivals: vec![notice("MB1", "闽G12345", &["SF1", "SF2"])],
        };
        b.check().unwrap();
    }

    #[test]
    fn every_problem_is_named_with_its_notice() {
        let long_bill = "B".repeat(BILL_NO_MAX_CHARS + 1);
        let b = Arrivals {
            arrivals: vec![
                notice("MB1", " ", &[]),
                notice(&long_bill, "闽G12345", &["SF 1", &"S".repeat(81)]),
                notice("MB1", "闽G12345", &["SF3"]),
            ],
        };
        let e = b.check().unwrap_err();
        assert!(e.contains("arrivals[0] \"MB1\": vehicleNo"), "{e}");
        assert!(e.contains("items is empty"), "{e}");
        assert!(e.contains("billNo is 65 characters, at most 64"), "{e}");
        assert!(e.contains("items[0].logisticsNo \"SF 1\""), "{e}");
        assert!(e.contains("items[1].logisticsNo"), "{e}");
        assert!(e.contains("arrivals[2] \"MB1\": billNo comes twice"), "{e}");
    }

    #[test]
    fn the_bill_limit_counts_characters_not_bytes() {
        let bill = "运".repeat(BILL_NO_MAX_CHARS);
        notice(&bill, "闽G12345", &["SF1"]).check().unwrap();
        notice("", "闽G12345", &["SF1"]).check().unwrap_err();
    }
}
