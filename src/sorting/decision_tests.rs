use super::*;

const TOLERANCE: WeightTolerance = WeightTolerance {
    abs_kg: 0.1,
    pct: 5.0,
};

fn released() -> Inputs {
    Inputs {
        read: Read::Code("SF1".into()),
        manifest: Some(ManifestFacts {
            return_status: 800,
            gross_weight_kg: Some(2.0),
            ebc_code: None,
        }),
        instruction: None,
        officer_flags: 0,
        weight: Weight::Stable { kg: 2.05 },
        xray: Some(XrayViews {
            got: 2,
            expected: 2,
        }),
        duplicate_of: None,
        tracking_lost: false,
    }
}

fn with(f: impl FnOnce(&mut Inputs)) -> Decision {
    let mut inputs = released();
    f(&mut inputs);
    decide(&inputs, TOLERANCE)
}

fn codes(d: &Decision) -> Vec<String> {
    d.reasons.iter().map(Reason::code).collect()
}

#[test]
fn a_clean_released_parcel_goes_to_release_lane() {
    let d = decide(&released(), TOLERANCE);
    assert_eq!(
        d,
        Decision {
            lane: LaneKind::Release,
            reasons: vec![Reason::Released]
        }
    );
}

#[test]
fn every_status_but_800_and_500_goes_to_exception_lane() {
    for status in [1, 2, 3, 4, 100, 120, 300, 399, 700, 899] {
        let d = with(|i| i.manifest.as_mut().unwrap().return_status = status);
        assert_eq!(d.lane, LaneKind::Exception, "status {status}");
        assert_eq!(d.reasons, vec![Reason::StatusNotReleased(status)]);
    }
}

#[test]
fn inspection_status_instruction_and_officer_flag_go_to_inspection() {
    let status = with(|i| i.manifest.as_mut().unwrap().return_status = 500);
    let instruction = with(|i| i.instruction = Some(InstructionKind::Inspect));
    let flag = with(|i| i.officer_flags = 1);
    for (d, code) in [
        (status, "status_inspection"),
        (instruction, "instruction_inspect"),
        (flag, "officer_flag"),
    ] {
        assert_eq!(d.lane, LaneKind::Inspection);
        assert_eq!(codes(&d), vec![code]);
    }
}

#[test]
fn a_release_instruction_lifts_nothing_but_itself() {
    assert_eq!(
        with(|i| i.instruction = Some(InstructionKind::Release)).lane,
        LaneKind::Release
    );
    let held = with(|i| i.instruction = Some(InstructionKind::Hold));
    assert_eq!(
        (held.lane, codes(&held)),
        (LaneKind::Exception, vec!["instruction_hold".to_owned()])
    );
}

#[test]
fn weight_beyond_tolerance_goes_to_inspection_with_both_weights() {
    // declared 2.0 kg: allowed max(0.1, 5 % of 2.0 = 0.1) = 0.1 kg
    let d = with(|i| i.weight = Weight::Stable { kg: 2.25 });
    assert_eq!(d.lane, LaneKind::Inspection);
    assert_eq!(codes(&d), vec!["weight_out_of_tolerance:2250/2000"]);
    assert_eq!(
        with(|i| i.weight = Weight::Stable { kg: 1.9 }).lane,
        LaneKind::Release,
        "at the edge is within"
    );
}

#[test]
fn percentage_tolerance_governs_heavy_parcels() {
    let heavy = |kg| {
        with(|i| {
            i.manifest.as_mut().unwrap().gross_weight_kg = Some(20.0);
            i.weight = Weight::Stable { kg };
        })
    };
    assert_eq!(
        heavy(20.9).lane,
        LaneKind::Release,
        "0.9 kg off is within 5 % of 20 kg"
    );
    assert_eq!(heavy(21.1).lane, LaneKind::Inspection);
}

#[test]
fn missing_or_unstable_weight_and_missing_xray_never_release() {
    for (d, code) in [
        (with(|i| i.weight = Weight::Missing), "weight_missing"),
        (
            with(|i| i.weight = Weight::Unstable { kg: 2.0 }),
            "weight_unstable",
        ),
        (
            with(|i| i.manifest.as_mut().unwrap().gross_weight_kg = None),
            "declared_weight_missing",
        ),
        (
            with(|i| {
                i.xray = Some(XrayViews {
                    got: 0,
                    expected: 2,
                });
            }),
            "xray_missing",
        ),
        (
            with(|i| {
                i.xray = Some(XrayViews {
                    got: 3,
                    expected: 2,
                });
            }),
            "xray_views_mismatch:3/2",
        ),
        (with(|i| i.duplicate_of = Some(7)), "duplicate_waybill:7"),
        (with(|i| i.tracking_lost = true), "tracking_lost"),
    ] {
        assert_eq!(d.lane, LaneKind::Exception, "{code}");
        assert_eq!(codes(&d), vec![code]);
    }
}

#[test]
fn a_line_without_scale_or_xray_decides_without_them() {
    let d = with(|i| {
        i.weight = Weight::NotMeasured;
        i.xray = None;
    });
    assert_eq!(d.lane, LaneKind::Release);
}

#[test]
fn unread_or_conflicting_labels_never_release() {
    for read in [
        Read::Nothing,
        Read::NoRead,
        Read::Conflict(vec!["A".into(), "B".into()]),
    ] {
        let d = with(|i| {
            i.read = read.clone();
            i.manifest = None;
        });
        assert_eq!(d.lane, LaneKind::Exception, "{read:?}");
    }
}

#[test]
fn a_flag_wins_over_an_exception_and_every_reason_is_kept() {
    let d = with(|i| {
        i.read = Read::NoRead;
        i.manifest = None;
        i.officer_flags = 2;
        i.weight = Weight::Missing;
    });
    assert_eq!(d.lane, LaneKind::Inspection);
    assert_eq!(codes(&d), vec!["no_read", "officer_flag", "weight_missing"]);
}

#[test]
fn reasons_are_stored_as_stable_codes() {
    let d = with(|i| i.manifest.as_mut().unwrap().return_status = 300);
    assert_eq!(d.reasons_json(), r#"["status_not_released:300"]"#);
}
