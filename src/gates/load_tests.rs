use super::*;

fn parcel(id: i64, waybill: &str) -> ParcelFacts {
    ParcelFacts {
        parcel_id: id,
        logistics_no: Some(waybill.to_owned()),
        released: true,
        in_release_lane: true,
        status: Some(800),
        open_interception: None,
        retrieved: false,
    }
}

fn bag_item(no: &str) -> LoadItem {
    LoadItem {
        total_package_no: Some(no.to_owned()),
        ..LoadItem::default()
    }
}

fn waybill_item(no: &str) -> LoadItem {
    LoadItem {
        logistics_no: Some(no.to_owned()),
        ..LoadItem::default()
    }
}

/// A permit of `bags` closed bags of `per_bag` released parcels, every waybill also
/// listed by number.
fn big(bags: usize, per_bag: usize) -> Load {
    let mut load = Load {
        permit_no: "P1".into(),
        ..Load::default()
    };
    let mut id = 0;
    for b in 0..bags {
        let bag_no = format!("B{b}");
        load.items.push(bag_item(&bag_no));
        let mut parcels = Vec::new();
        for _ in 0..per_bag {
            id += 1;
            let w = format!("W{id}");
            load.items.push(waybill_item(&w));
            load.waybills.insert(w.clone(), vec![parcel(id, &w)]);
            parcels.push(parcel(id, &w));
        }
        load.bags.insert(
            bag_no,
            BagFacts {
                closed: true,
                parcels,
            },
        );
    }
    load
}

fn codes(f: &[LoadFailure]) -> Vec<(&str, &str)> {
    f.iter()
        .map(|f| (f.item.as_str(), f.code.as_str()))
        .collect()
}

#[test]
fn a_clean_load_passes() {
    assert!(check_load(&big(3, 4), PermitWithoutItems::Hold).is_empty());
}

#[test]
fn each_bad_item_is_named_with_its_reason() {
    let mut load = big(4, 2);
    // B0 holds an intercepted parcel; B1 is still open; B2 holds a parcel decided for
    // inspection; W7 (in B3) has had its status changed; a bag and a waybill nobody knows.
    load.bags.get_mut("B0").unwrap().parcels[0].open_interception = Some(5);
    load.bags.get_mut("B1").unwrap().closed = false;
    load.bags.get_mut("B2").unwrap().parcels[1].released = false;
    load.waybills.get_mut("W7").unwrap()[0].status = Some(500);
    load.items.push(bag_item("B9"));
    load.items.push(waybill_item("NEVER"));
    let failures = check_load(&load, PermitWithoutItems::Hold);
    assert_eq!(
        codes(&failures),
        [
            ("bag B0", "load_held"),
            ("bag B1", "bag_open"),
            ("bag B2", "load_held"),
            ("waybill W7", "load_held"),
            ("bag B9", "bag_unknown"),
            ("waybill NEVER", "load_not_sorted"),
        ]
    );
    assert!(
        failures[0].detail.contains("interception 5"),
        "{}",
        failures[0].detail
    );
    assert!(
        failures[3].detail.contains("status 500"),
        "{}",
        failures[3].detail
    );
    assert!(
        failures[5].detail.contains("never went through"),
        "{}",
        failures[5].detail
    );
}

#[test]
fn a_waybill_with_one_parcel_in_a_bag_and_a_repeat_in_the_exception_lane_passes() {
    let mut load = big(1, 1);
    let mut repeat = parcel(99, "W1");
    repeat.released = false;
    repeat.in_release_lane = false;
    load.waybills.get_mut("W1").unwrap().push(repeat);
    assert!(check_load(&load, PermitWithoutItems::Hold).is_empty());
}

#[test]
fn a_waybill_released_but_not_confirmed_dropped_is_not_sorted() {
    let mut load = big(0, 0);
    load.items.push(waybill_item("W1"));
    let mut p = parcel(1, "W1");
    p.in_release_lane = false;
    load.waybills.insert("W1".into(), vec![p]);
    assert_eq!(
        codes(&check_load(&load, PermitWithoutItems::Hold)),
        [("waybill W1", "load_not_sorted")]
    );
}

#[test]
fn a_bill_is_checked_through_its_waybills() {
    let mut load = big(1, 2);
    load.items.push(LoadItem {
        bill_no: Some("35112026E000000001".into()),
        ..LoadItem::default()
    });
    load.bills
        .insert("35112026E000000001".into(), vec!["W1".into(), "W2".into()]);
    assert!(check_load(&load, PermitWithoutItems::Hold).is_empty());
    load.bills
        .get_mut("35112026E000000001")
        .unwrap()
        .push("W3".into());
    assert_eq!(
        codes(&check_load(&load, PermitWithoutItems::Hold)),
        [("bill 35112026E000000001", "load_not_sorted")]
    );
    load.items.push(LoadItem {
        bill_no: Some("UNKNOWN".into()),
        ..LoadItem::default()
    });
    assert_eq!(check_load(&load, PermitWithoutItems::Hold).len(), 2);
}

#[test]
fn a_permit_without_items_follows_the_setting() {
    let load = Load {
        permit_no: "P1".into(),
        ..Load::default()
    };
    assert_eq!(
        codes(&check_load(&load, PermitWithoutItems::Hold)),
        [("permit P1", "permit_no_items")]
    );
    assert!(check_load(&load, PermitWithoutItems::Release).is_empty());
}

#[test]
fn a_failed_check_refuses_with_the_count_first_and_lists_at_most_max_listed() {
    let mut load = big(1, 300);
    for p in &mut load.bags.get_mut("B0").unwrap().parcels {
        p.status = Some(500);
    }
    for ps in load.waybills.values_mut() {
        ps[0].status = Some(500);
    }
    let failures = check_load(&load, PermitWithoutItems::Hold);
    assert_eq!(failures.len(), 301);
    let verdict = GateVerdict {
        open: true,
        permit_no: Some("P1".into()),
        reasons: vec![GateReason::new(GateReasonCode::PermitApproved, "ok")],
    };
    let held = apply(verdict.clone(), &failures);
    assert!(!held.open);
    assert_eq!(held.reasons[0].code, GateReasonCode::LoadHeld);
    assert!(held.reasons[0].detail.contains("301 item(s) failed"));
    assert_eq!(held.reasons.len(), 1 + MAX_LISTED + 1);
    assert_eq!(held.led_text("闽G12345"), "闽G12345 含未放行包裹");
    assert_eq!(apply(verdict.clone(), &[]), verdict);
}

#[test]
fn five_thousand_waybills_in_fifty_bags_are_checked_in_a_few_milliseconds() {
    let load = big(50, 100);
    assert_eq!(load.items.len(), 5_050);
    let started = std::time::Instant::now();
    assert!(check_load(&load, PermitWithoutItems::Hold).is_empty());
    // Debug build on a busy machine: generous; the release figure is in BENCHMARKS.md.
    assert!(
        started.elapsed() < std::time::Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_retrieved_parcel_no_longer_holds_its_bag_but_its_waybill_stays_held() {
    let mut load = big(1, 2);
    let p = &mut load.bags.get_mut("B0").unwrap().parcels[0];
    p.status = Some(500);
    p.retrieved = true;
    let w1 = &mut load.waybills.get_mut("W1").unwrap()[0];
    w1.status = Some(500);
    w1.retrieved = true;
    assert_eq!(
        codes(&check_load(&load, PermitWithoutItems::Hold)),
        [("waybill W1", "load_held")],
        "the bag passes; the waybill named on its own does not"
    );
}

#[test]
fn every_item_is_judged_and_the_view_lists_the_failed_first() {
    let mut load = big(2, 3);
    load.items.push(waybill_item("NEVER-SORTED"));
    let checks = judge_items(&load, PermitWithoutItems::Hold);
    assert_eq!(checks.len(), load.items.len(), "one judgement per item");
    assert_eq!(
        checks.iter().filter(|c| c.failure.is_none()).count(),
        load.items.len() - 1
    );
    let view = crate::gates::view::LoadCheckView::new("P1", &checks);
    assert_eq!((view.items, view.failed), (load.items.len(), 1));
    let first = &view.listed[0];
    assert_eq!(
        (
            first.item.as_str(),
            first.ok,
            first.code.as_deref(),
            first.zh.as_deref()
        ),
        (
            "waybill NEVER-SORTED",
            false,
            Some("load_not_sorted"),
            Some("包裹未过机")
        )
    );
    assert!(view.listed[1..].iter().all(|i| i.ok && i.code.is_none()));
}

#[test]
fn the_view_of_a_big_load_is_capped_but_counts_everything() {
    let load = big(50, 100);
    let checks = judge_items(&load, PermitWithoutItems::Hold);
    let view = crate::gates::view::LoadCheckView::new("P1", &checks);
    assert_eq!((view.items, view.failed), (5_050, 0));
    assert_eq!(view.listed.len(), crate::gates::view::MAX_LISTED_ITEMS);
}
