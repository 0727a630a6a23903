//! The exit gate's load check: does the truck carry only what was released here? Pure: the
//! store gathers a [`Load`] (what the permit names, and what the site knows of each bag,
//! waybill and bill) and [`check_load`] judges it item by item.
//!
//! An item passes when every bag and waybill it names is known here, each bag is closed,
//! and every parcel in it (or of the waybill) was decided for release, confirmed dropped in
//! a release lane, has customs status 800 now and no open interception. A permit with no
//! items follows the lane's [`PermitWithoutItems`]. Anything else holds the truck, with
//! the failed items listed on its pass (the gates page shows them).

use std::collections::HashMap;

use crate::config::PermitWithoutItems;
use crate::gates::verdict::{GateReason, GateReasonCode, GateVerdict};

/// Most failed items written on a pass one by one (the headline counts them all).
pub const MAX_LISTED: usize = 100;

/// One line of the permit as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadItem {
    /// Bill (list) number.
    pub bill_no: Option<String>,
    /// Waybill.
    pub logistics_no: Option<String>,
    /// Bag number (totalPackageNo).
    pub total_package_no: Option<String>,
}

/// What the site knows of one parcel the permit names (directly, through its bag or bill).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelFacts {
    /// Its record id in the store.
    pub parcel_id: i64,
    /// Its waybill.
    pub logistics_no: Option<String>,
    /// Decided for release.
    pub released: bool,
    /// Confirmed dropped into a release lane (it is in a bag).
    pub in_release_lane: bool,
    /// Its customs status now (`None`: no declaration list).
    pub status: Option<i32>,
    /// An interception of it not yet retrieved.
    pub open_interception: Option<i64>,
    /// Its interception's retrieval is recorded: it was taken out of its bag, which no
    /// longer carries it.
    pub retrieved: bool,
}

impl ParcelFacts {
    /// Why it may not leave, if it may not.
    fn problem(&self) -> Option<(GateReasonCode, String)> {
        let who = format!(
            "parcel {} ({})",
            self.parcel_id,
            self.logistics_no.as_deref().unwrap_or("unread")
        );
        if self.retrieved {
            return Some((
                GateReasonCode::LoadHeld,
                format!("{who} was intercepted and taken back out of its bag"),
            ));
        }
        if let Some(i) = self.open_interception {
            return Some((
                GateReasonCode::LoadHeld,
                format!("{who} is intercepted (interception {i}, retrieval not recorded)"),
            ));
        }
        if !self.released {
            return Some((GateReasonCode::LoadHeld, format!("{who} was not released")));
        }
        if self.status != Some(800) {
            let status = self
                .status
                .map_or_else(|| "none".to_owned(), |s| s.to_string());
            return Some((
                GateReasonCode::LoadHeld,
                format!("{who} has customs status {status}, not 800"),
            ));
        }
        if !self.in_release_lane {
            return Some((
                GateReasonCode::LoadNotSorted,
                format!("{who} was not confirmed dropped in a release lane"),
            ));
        }
        None
    }
}

/// A bag as known here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BagFacts {
    /// Closed by an operator.
    pub closed: bool,
    /// Its parcels.
    pub parcels: Vec<ParcelFacts>,
}

/// What the store knows about everything a permit names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Load {
    /// The permit whose items these are.
    pub permit_no: String,
    /// Its items.
    pub items: Vec<LoadItem>,
    /// The bags it names that are known here, by number.
    pub bags: HashMap<String, BagFacts>,
    /// The parcels sorted here of each waybill it names (directly or through a bill).
    pub waybills: HashMap<String, Vec<ParcelFacts>>,
    /// The waybills of each bill it names that is known here (declaration lists with
    /// that list number).
    pub bills: HashMap<String, Vec<String>>,
}

/// One item that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFailure {
    /// The item: `bag B7`, `waybill SF1001`, `bill 3511…`, `permit P1`.
    pub item: String,
    /// Why, as a gate reason.
    pub code: GateReasonCode,
    /// In words.
    pub detail: String,
}

/// One thing a permit names (a bag, a waybill or a bill) and how it fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemCheck {
    /// The item: `bag B7`, `waybill SF1001`, `bill 3511…`, `permit P1`.
    pub item: String,
    /// Why it failed; `None` when it may leave.
    pub failure: Option<(GateReasonCode, String)>,
}

/// Judge a permit's load: the items that fail, none when the truck may leave.
pub fn check_load(load: &Load, without_items: PermitWithoutItems) -> Vec<LoadFailure> {
    failures(judge_items(load, without_items))
}

/// The items of `checks` that failed.
pub fn failures(checks: Vec<ItemCheck>) -> Vec<LoadFailure> {
    checks
        .into_iter()
        .filter_map(|c| {
            c.failure.map(|(code, detail)| LoadFailure {
                item: c.item,
                code,
                detail,
            })
        })
        .collect()
}

/// The one failed item when what permit `permit_no` names could not be read (`error`):
/// the truck waits for a person.
pub fn unreadable(permit_no: &str, error: &str) -> ItemCheck {
    ItemCheck {
        item: format!("permit {permit_no}"),
        failure: Some((
            GateReasonCode::ManualDecisionNeeded,
            format!("what the permit names could not be read: {error}"),
        )),
    }
}

/// Judge a permit's load item by item, in the permit's order: every bag, waybill and bill
/// it names with its failure or none (the gates page lists them).
pub fn judge_items(load: &Load, without_items: PermitWithoutItems) -> Vec<ItemCheck> {
    let mut checks = Vec::new();
    if load.items.is_empty() {
        if without_items == PermitWithoutItems::Hold {
            checks.push(ItemCheck {
                item: format!("permit {}", load.permit_no),
                failure: Some((
                    GateReasonCode::PermitNoItems,
                    format!(
                        "permit {} names no bags, waybills or bills: what the truck carries cannot be checked",
                        load.permit_no
                    ),
                )),
            });
        }
        return checks;
    }
    let mut judged = |item: String, failure: Option<(GateReasonCode, String)>| {
        checks.push(ItemCheck { item, failure });
    };
    for item in &load.items {
        if let Some(bag_no) = &item.total_package_no {
            judged(format!("bag {bag_no}"), bag_problem(load, bag_no));
        }
        if let Some(waybill) = &item.logistics_no {
            judged(format!("waybill {waybill}"), waybill_problem(load, waybill));
        }
        if let Some(bill) = &item.bill_no {
            let problem = match load.bills.get(bill) {
                None => Some((
                    GateReasonCode::LoadNotSorted,
                    format!("bill {bill} has no declaration list here"),
                )),
                Some(waybills) => waybills
                    .iter()
                    .find_map(|w| waybill_problem(load, w))
                    .map(|(code, detail)| (code, format!("bill {bill}: {detail}"))),
            };
            judged(format!("bill {bill}"), problem);
        }
    }
    checks
}

/// Why a bag may not leave: not filled here, not closed, or a parcel in it held.
fn bag_problem(load: &Load, bag_no: &str) -> Option<(GateReasonCode, String)> {
    match load.bags.get(bag_no) {
        None => Some((
            GateReasonCode::BagUnknown,
            format!("bag {bag_no} was not filled at this site"),
        )),
        Some(bag) if !bag.closed => Some((
            GateReasonCode::BagOpen,
            format!("bag {bag_no} is not closed"),
        )),
        Some(bag) => bag
            .parcels
            .iter()
            .filter(|p| !p.retrieved)
            .find_map(ParcelFacts::problem)
            .map(|(code, detail)| (code, format!("bag {bag_no}: {detail}"))),
    }
}

/// Why a waybill may not leave: never sorted here, or a parcel of it held.
fn waybill_problem(load: &Load, waybill: &str) -> Option<(GateReasonCode, String)> {
    let parcels = load.waybills.get(waybill).map_or(&[][..], Vec::as_slice);
    if parcels.is_empty() {
        return Some((
            GateReasonCode::LoadNotSorted,
            format!("waybill {waybill} never went through the X-ray line here"),
        ));
    }
    // A parcel of it intercepted holds it; otherwise one released into a bag is enough (a
    // repeat scan of the same waybill went to the exception lane, not into a bag).
    if let Some(held) = parcels
        .iter()
        .find(|p| p.open_interception.is_some())
        .and_then(ParcelFacts::problem)
    {
        return Some(held);
    }
    let problems: Vec<_> = parcels.iter().map(ParcelFacts::problem).collect();
    if problems.iter().any(Option::is_none) {
        return None;
    }
    problems.into_iter().flatten().next()
}

/// The verdict after the load check: unchanged when nothing failed; otherwise refused,
/// headed by the first failure's reason with the count, then each failed item (up to
/// [`MAX_LISTED`]), then what the permit and weight said.
pub fn apply(verdict: GateVerdict, failures: &[LoadFailure]) -> GateVerdict {
    let Some(first) = failures.first() else {
        return verdict;
    };
    let permit = verdict.permit_no.clone().unwrap_or_default();
    let mut reasons = vec![GateReason::new(
        first.code,
        format!(
            "load check of permit {permit}: {} item(s) failed, first {}: {}",
            failures.len(),
            first.item,
            first.detail
        ),
    )];
    reasons.extend(
        failures
            .iter()
            .take(MAX_LISTED)
            .map(|f| GateReason::new(f.code, format!("{}: {}", f.item, f.detail))),
    );
    reasons.extend(verdict.reasons);
    GateVerdict {
        open: false,
        permit_no: verdict.permit_no,
        reasons,
    }
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
