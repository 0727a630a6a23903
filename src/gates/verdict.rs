//! The gate verdict: given an agreed plate, the permits issued for it and the
//! weighbridge's reading, does the barrier open? Pure: no store, no clock, no devices.
//!
//! On exit a truck leaves only against an approved permit that was not used yet, weighing
//! within tolerance of the permit's total gross weight; anything missing or uncertain
//! holds it (fail closed). On entry the arrival is recorded and the truck goes in.

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::permit::{Permit, permit_status};

/// Why a gate did what it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GateReasonCode {
    /// An approved permit, weight within tolerance: the truck leaves.
    PermitApproved,
    /// The arrival is recorded: the truck enters.
    ArrivalRecorded,
    /// No arrival was announced for this truck, and the lane requires one.
    ArrivalNotExpected,
    /// No permit was issued for this plate.
    NoPermit,
    /// The permit is applied for but not approved.
    PermitNotApproved,
    /// The permit was used already (passed the gate).
    PermitUsed,
    /// The permit was voided.
    PermitVoided,
    /// The permit was deleted.
    PermitDeleted,
    /// The permit has a status this controller does not know.
    PermitUnknownStatus,
    /// The permit carries no total gross weight to compare with.
    PermitNoGrossWeight,
    /// Weighbridge weight out of tolerance of the permit's gross weight.
    WeightMismatch,
    /// The weighbridge never settled.
    WeightUnstable,
    /// The lane has no weighbridge reading (none configured, or it is unreachable).
    WeightMissing,
    /// The plate reads did not agree in time: an operator decides.
    ManualDecisionNeeded,
    /// An operator opened the barrier by hand.
    ManualOverride,
    /// The truck left the loop before a verdict; the barrier never moved.
    LeftBeforeVerdict,
    /// The permit names no bags, waybills or bills, and the lane holds such permits.
    PermitNoItems,
    /// A parcel on the permit is held: not released, status not 800, or intercepted.
    LoadHeld,
    /// A waybill on the permit never went through the X-ray line here (or was not
    /// confirmed dropped in a release lane).
    LoadNotSorted,
    /// A bag on the permit was not filled here.
    BagUnknown,
    /// A bag on the permit is not closed.
    BagOpen,
}

impl GateReasonCode {
    /// Stable English code, as stored and sent uplink.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PermitApproved => "permit_approved",
            Self::ArrivalRecorded => "arrival_recorded",
            Self::ArrivalNotExpected => "arrival_not_expected",
            Self::NoPermit => "no_permit",
            Self::PermitNotApproved => "permit_not_approved",
            Self::PermitUsed => "permit_used",
            Self::PermitVoided => "permit_voided",
            Self::PermitDeleted => "permit_deleted",
            Self::PermitUnknownStatus => "permit_unknown_status",
            Self::PermitNoGrossWeight => "permit_no_gross_weight",
            Self::WeightMismatch => "weight_mismatch",
            Self::WeightUnstable => "weight_unstable",
            Self::WeightMissing => "weight_missing",
            Self::ManualDecisionNeeded => "manual_decision_needed",
            Self::ManualOverride => "manual_override",
            Self::LeftBeforeVerdict => "left_before_verdict",
            Self::PermitNoItems => "permit_no_items",
            Self::LoadHeld => "load_held",
            Self::LoadNotSorted => "load_not_sorted",
            Self::BagUnknown => "bag_unknown",
            Self::BagOpen => "bag_open",
        }
    }

    /// Chinese phrase for the LED and the consoles.
    pub fn zh(self) -> &'static str {
        match self {
            Self::PermitApproved => "核放单已审批 请通行",
            Self::ArrivalRecorded => "入区登记 请通行",
            Self::ArrivalNotExpected => "无运抵预报",
            Self::NoPermit => "无核放单",
            Self::PermitNotApproved => "核放单未审批",
            Self::PermitUsed => "核放单已使用",
            Self::PermitVoided => "核放单已作废",
            Self::PermitDeleted => "核放单已删除",
            Self::PermitUnknownStatus => "核放单状态未知",
            Self::PermitNoGrossWeight => "核放单无总重",
            Self::WeightMismatch => "重量不符",
            Self::WeightUnstable => "称重不稳定",
            Self::WeightMissing => "无称重数据",
            Self::ManualDecisionNeeded => "请等待人工处理",
            Self::ManualOverride => "人工放行 请通行",
            Self::LeftBeforeVerdict => "车辆未经判定已离开",
            Self::PermitNoItems => "核放单无货物明细",
            Self::LoadHeld => "含未放行包裹",
            Self::LoadNotSorted => "包裹未过机",
            Self::BagUnknown => "总包未登记",
            Self::BagOpen => "总包未封包",
        }
    }
}

/// One reason with its specifics. Serialises as `{"code", "zh", "detail"}`, the same
/// shape as the plate consensus's reasons, so a pass lists both in one array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateReason {
    /// The rule that applied; its Chinese text comes with it.
    pub code: GateReasonCode,
    /// Which permit, which weights.
    pub detail: String,
}

impl GateReason {
    /// A reason with its detail.
    pub fn new(code: GateReasonCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

impl Serialize for GateReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("GateReason", 3)?;
        s.serialize_field("code", self.code.as_str())?;
        s.serialize_field("zh", self.code.zh())?;
        s.serialize_field("detail", &self.detail)?;
        s.end()
    }
}

/// What the weighbridge said about the truck on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Weight {
    /// No reading: no weighbridge, or it is unreachable or faulted.
    Missing,
    /// Still moving (the last reading, kg).
    Unstable(f64),
    /// Settled, kg.
    Stable(f64),
}

impl Weight {
    /// The reading, stable or not.
    pub fn kg(self) -> Option<f64> {
        match self {
            Self::Missing => None,
            Self::Unstable(kg) | Self::Stable(kg) => Some(kg),
        }
    }
}

/// How far the weighbridge may be from the permit's gross weight: the larger of an
/// absolute margin and a percentage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// kg.
    pub abs_kg: f64,
    /// Percent of the permit's total gross weight.
    pub pct: f64,
}

impl Tolerance {
    /// The allowed difference for a permit of `gross_kg`.
    pub fn allowed(self, gross_kg: f64) -> f64 {
        self.abs_kg.max(gross_kg.abs() * self.pct / 100.0)
    }
}

/// The gate's conclusion for one truck.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateVerdict {
    /// Whether the barrier opens.
    pub open: bool,
    /// The permit it rests on (the approved one, or the one that refused it).
    pub permit_no: Option<String>,
    /// Why, headline first.
    pub reasons: Vec<GateReason>,
}

impl GateVerdict {
    fn refuse(permit_no: Option<String>, reason: GateReason) -> Self {
        Self {
            open: false,
            permit_no,
            reasons: vec![reason],
        }
    }

    /// What the LED shows: the plate and the headline reason in Chinese.
    pub fn led_text(&self, plate: &str) -> String {
        let headline = self
            .reasons
            .first()
            .map_or(GateReasonCode::ManualDecisionNeeded.zh(), |r| r.code.zh());
        format!("{plate} {headline}")
    }
}

/// The verdict for a truck leaving with `plate`, given every permit issued for it.
pub fn exit_verdict(
    plate: &str,
    permits: &[Permit],
    weight: Weight,
    tol: Tolerance,
) -> GateVerdict {
    let approved: Vec<&Permit> = permits
        .iter()
        .filter(|p| p.status == permit_status::APPROVED)
        .collect();
    if approved.is_empty() {
        return refused_by_status(plate, permits);
    }
    // Several approved permits for one truck: the one whose gross weight the weighbridge
    // matches best (the truck carries one load); the newest when none has a weight.
    let permit = approved
        .iter()
        .min_by(|a, b| {
            let gap = |p: &Permit| match (p.total_gross_weight_kg, weight.kg()) {
                (Some(gross), Some(kg)) => (gross - kg).abs(),
                _ => f64::INFINITY,
            };
            gap(a).total_cmp(&gap(b))
        })
        .copied()
        .unwrap_or(approved[0]);
    let no = Some(permit.permit_no.clone());
    let Some(gross) = permit.total_gross_weight_kg else {
        return GateVerdict::refuse(
            no,
            GateReason::new(
                GateReasonCode::PermitNoGrossWeight,
                format!(
                    "permit {} has no total gross weight to check against",
                    permit.permit_no
                ),
            ),
        );
    };
    let kg = match weight {
        Weight::Stable(kg) => kg,
        Weight::Unstable(kg) => {
            return GateVerdict::refuse(
                no,
                GateReason::new(
                    GateReasonCode::WeightUnstable,
                    format!("the weighbridge did not settle (last reading {kg:.0} kg)"),
                ),
            );
        }
        Weight::Missing => {
            return GateVerdict::refuse(
                no,
                GateReason::new(GateReasonCode::WeightMissing, "no weighbridge reading"),
            );
        }
    };
    let allowed = tol.allowed(gross);
    let diff = kg - gross;
    if diff.abs() > allowed {
        return GateVerdict::refuse(
            no,
            GateReason::new(
                GateReasonCode::WeightMismatch,
                format!(
                    "weighbridge {kg:.0} kg vs permit {} gross {gross:.0} kg: {diff:+.0} kg, more than the {allowed:.0} kg allowed",
                    permit.permit_no
                ),
            ),
        );
    }
    GateVerdict {
        open: true,
        permit_no: no,
        reasons: vec![GateReason::new(
            GateReasonCode::PermitApproved,
            format!(
                "permit {} approved for {plate}; weighbridge {kg:.0} kg vs gross {gross:.0} kg ({diff:+.0} kg, {allowed:.0} kg allowed)",
                permit.permit_no
            ),
        )],
    }
}

/// No approved permit: say why, naming the permit that comes closest.
fn refused_by_status(plate: &str, permits: &[Permit]) -> GateVerdict {
    // The most telling status first: used beats voided beats deleted beats not approved.
    let rank = |status: i32| match status {
        permit_status::PASSED | permit_status::PASSED_GATE_1 | permit_status::PASSED_GATE_2 => 0,
        permit_status::VOIDED => 1,
        permit_status::DELETED => 2,
        permit_status::APPLIED => 3,
        _ => 4,
    };
    let Some(permit) = permits.iter().min_by_key(|p| rank(p.status)) else {
        return GateVerdict::refuse(
            None,
            GateReason::new(
                GateReasonCode::NoPermit,
                format!("no exit permit for {plate}"),
            ),
        );
    };
    let code = match permit.status {
        permit_status::PASSED | permit_status::PASSED_GATE_1 | permit_status::PASSED_GATE_2 => {
            GateReasonCode::PermitUsed
        }
        permit_status::VOIDED => GateReasonCode::PermitVoided,
        permit_status::DELETED => GateReasonCode::PermitDeleted,
        permit_status::APPLIED => GateReasonCode::PermitNotApproved,
        _ => GateReasonCode::PermitUnknownStatus,
    };
    GateVerdict::refuse(
        Some(permit.permit_no.clone()),
        GateReason::new(
            code,
            format!(
                "permit {} for {plate} has status {} (only 1, approved, lets a truck out)",
                permit.permit_no, permit.status
            ),
        ),
    )
}

/// The verdict for a truck entering with `plate`, given the bills announced for it: the
/// arrival is recorded; a lane that `require_expected` turns away a truck nobody announced.
pub fn entry_verdict(plate: &str, bills: &[String], require_expected: bool) -> GateVerdict {
    if bills.is_empty() && require_expected {
        return GateVerdict::refuse(
            None,
            GateReason::new(
                GateReasonCode::ArrivalNotExpected,
                format!(
                    "no arrival is announced for {plate}, and this lane admits announced trucks only"
                ),
            ),
        );
    }
    let detail = if bills.is_empty() {
        format!("{plate} entered without an announced arrival; recorded")
    } else {
        format!(
            "{plate} entered with bill(s) {}; arrival reported",
            bills.join(", ")
        )
    };
    GateVerdict {
        open: true,
        permit_no: None,
        reasons: vec![GateReason::new(GateReasonCode::ArrivalRecorded, detail)],
    }
}

/// What a gate pass is: `released` by the rules, `refused`, or opened by an `override`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PassVerdict {
    /// The rules let the truck through.
    Released,
    /// The barrier stayed closed.
    Refused,
    /// An operator opened the barrier by hand, with a reason.
    Override,
}

impl PassVerdict {
    /// As stored and sent uplink.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Released => "released",
            Self::Refused => "refused",
            Self::Override => "override",
        }
    }
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
