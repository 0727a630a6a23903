use super::*;

const TOL: Tolerance = Tolerance {
    abs_kg: 200.0,
    pct: 3.0,
};

fn permit(no: &str, status: i32, gross: Option<f64>) -> Permit {
    Permit {
        permit_no: no.into(),
        vehicle_no: "闽G12345".into(),
        status,
        total_gross_weight_kg: gross,
        updated_at: "2026-11-27T08:00:00Z".into(),
    }
}

fn codes(v: &GateVerdict) -> Vec<&'static str> {
    v.reasons.iter().map(|r| r.code.as_str()).collect()
}

#[test]
fn an_approved_permit_within_tolerance_opens() {
    let v = exit_verdict(
        "闽G12345",
        &[permit("HF1", 1, Some(30_000.0))],
        Weight::Stable(30_500.0),
        TOL,
    );
    assert!(v.open);
    assert_eq!(v.permit_no.as_deref(), Some("HF1"));
    assert_eq!(codes(&v), ["permit_approved"]);
    assert_eq!(v.led_text("闽G12345"), "闽G12345 核放单已审批 请通行");
}

#[test]
fn the_tolerance_is_the_larger_of_kg_and_percent() {
    // 3 % of 30 t is 900 kg: 899 over passes, 901 over does not.
    let p = [permit("HF1", 1, Some(30_000.0))];
    assert!(exit_verdict("闽G12345", &p, Weight::Stable(30_899.0), TOL).open);
    let v = exit_verdict("闽G12345", &p, Weight::Stable(30_901.0), TOL);
    assert!(!v.open);
    assert_eq!(codes(&v), ["weight_mismatch"]);
    assert_eq!(v.led_text("闽G12345"), "闽G12345 重量不符");
    // A light van: 3 % of 2 t is 60 kg, so the 200 kg floor applies.
    let p = [permit("HF2", 1, Some(2_000.0))];
    assert!(exit_verdict("闽G12345", &p, Weight::Stable(1_801.0), TOL).open);
    assert!(!exit_verdict("闽G12345", &p, Weight::Stable(1_799.0), TOL).open);
}

#[test]
fn every_non_approved_status_refuses_with_its_own_reason() {
    for (status, code, zh) in [
        (0, "permit_not_approved", "核放单未审批"),
        (2, "permit_used", "核放单已使用"),
        (3, "permit_used", "核放单已使用"),
        (4, "permit_used", "核放单已使用"),
        (5, "permit_deleted", "核放单已删除"),
        (6, "permit_voided", "核放单已作废"),
        (9, "permit_unknown_status", "核放单状态未知"),
    ] {
        let v = exit_verdict(
            "闽G12345",
            &[permit("HF1", status, Some(30_000.0))],
            Weight::Stable(30_000.0),
            TOL,
        );
        assert!(!v.open, "status {status}");
        assert_eq!(codes(&v), [code], "status {status}");
        assert!(v.led_text("闽G12345").ends_with(zh), "status {status}");
        assert_eq!(v.permit_no.as_deref(), Some("HF1"));
    }
}

#[test]
fn no_permit_refuses() {
    let v = exit_verdict("闽G12345", &[], Weight::Stable(30_000.0), TOL);
    assert!(!v.open);
    assert_eq!(codes(&v), ["no_permit"]);
    assert_eq!(v.permit_no, None);
    assert_eq!(v.led_text("闽G12345"), "闽G12345 无核放单");
}

#[test]
fn a_used_permit_beside_an_approved_one_does_not_matter() {
    let v = exit_verdict(
        "闽G12345",
        &[
            permit("HF0", 2, Some(10_000.0)),
            permit("HF1", 1, Some(30_000.0)),
        ],
        Weight::Stable(30_100.0),
        TOL,
    );
    assert!(v.open);
    assert_eq!(v.permit_no.as_deref(), Some("HF1"));
}

#[test]
fn with_two_approved_permits_the_weight_picks_the_load() {
    let permits = [
        permit("HF-LIGHT", 1, Some(12_000.0)),
        permit("HF-HEAVY", 1, Some(31_000.0)),
    ];
    let v = exit_verdict("闽G12345", &permits, Weight::Stable(30_950.0), TOL);
    assert!(v.open);
    assert_eq!(v.permit_no.as_deref(), Some("HF-HEAVY"));
}

#[test]
fn uncertain_weights_hold_the_truck() {
    let p = [permit("HF1", 1, Some(30_000.0))];
    let v = exit_verdict("闽G12345", &p, Weight::Unstable(30_000.0), TOL);
    assert!(!v.open);
    assert_eq!(codes(&v), ["weight_unstable"]);
    let v = exit_verdict("闽G12345", &p, Weight::Missing, TOL);
    assert!(!v.open);
    assert_eq!(codes(&v), ["weight_missing"]);
    let v = exit_verdict(
        "闽G12345",
        &[permit("HF1", 1, None)],
        Weight::Stable(30_000.0),
        TOL,
    );
    assert!(!v.open);
    assert_eq!(codes(&v), ["permit_no_gross_weight"]);
}

#[test]
fn led_texts_fit_the_display() {
    // 32 UTF-16 units; the longest plate (8) + a space + the longest phrase.
    let longest = [
        GateReasonCode::PermitApproved,
        GateReasonCode::ArrivalRecorded,
        GateReasonCode::NoPermit,
        GateReasonCode::PermitNotApproved,
        GateReasonCode::PermitUsed,
        GateReasonCode::PermitVoided,
        GateReasonCode::PermitDeleted,
        GateReasonCode::PermitUnknownStatus,
        GateReasonCode::PermitNoGrossWeight,
        GateReasonCode::WeightMismatch,
        GateReasonCode::WeightUnstable,
        GateReasonCode::WeightMissing,
        GateReasonCode::ManualDecisionNeeded,
        GateReasonCode::ManualOverride,
        GateReasonCode::PermitNoItems,
        GateReasonCode::LoadHeld,
        GateReasonCode::LoadNotSorted,
        GateReasonCode::BagUnknown,
        GateReasonCode::BagOpen,
    ]
    .iter()
    .map(|c| c.zh().encode_utf16().count())
    .max()
    .unwrap();
    assert!(8 + 1 + longest <= 32, "{longest}");
}

#[test]
fn reasons_serialise_like_plate_reasons() {
    let r = GateReason::new(GateReasonCode::WeightMismatch, "x");
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        serde_json::json!({"code": "weight_mismatch", "zh": "重量不符", "detail": "x"})
    );
}

#[test]
fn an_entry_records_the_arrival_and_a_strict_lane_turns_away_the_unannounced() {
    let v = entry_verdict("闽G12345", &["BL1".into()], true);
    assert!(v.open);
    assert_eq!(codes(&v), ["arrival_recorded"]);
    assert!(v.reasons[0].detail.contains("BL1"));
    assert!(
        entry_verdict("闽G12345", &[], false).open,
        "recorded though not announced"
    );
    let v = entry_verdict("闽G12345", &[], true);
    assert!(!v.open);
    assert_eq!(v.led_text("闽G12345"), "闽G12345 无运抵预报");
}
