use super::*;

fn geometry() -> Geometry {
    Geometry {
        scale_at_mm: Some(300.0),
        scanner_at_mm: 600.0,
        xray_at_mm: Some(1200.0),
        xray_exit_at_mm: Some(2000.0),
        diverter_at_mm: 3000.0,
        window_mm: 300.0,
        scanners: 2,
        xray_views: 2,
        lead: Duration::from_millis(500),
    }
}

fn at(t: &mut Tracker, mm: f64) {
    // move the belt at 500 mm/s for the time it takes to travel `mm`
    t.advance_by(Duration::from_secs_f64(mm / 500.0), 500);
}

fn code(c: &str) -> ScanRead {
    ScanRead::Code(c.into())
}

#[test]
fn a_scan_goes_to_the_parcel_under_the_scanner() {
    let mut t = Tracker::new(geometry());
    t.enter(1, 1, false, 0.0);
    at(&mut t, 700.0);
    t.enter(2, 2, false, 0.0);
    assert_eq!(t.assign_scan("top", code("A"), t.now()), Some(1));
}

#[test]
fn a_scan_with_no_parcel_nearby_is_unassigned() {
    let mut t = Tracker::new(geometry());
    t.enter(1, 1, false, 0.0);
    assert_eq!(t.assign_scan("top", code("A"), t.now()), None);
}

#[test]
fn a_stopped_belt_keeps_parcels_where_they_are_and_has_no_deadline() {
    let mut t = Tracker::new(geometry());
    t.enter(1, 1, false, 0.0);
    at(&mut t, 2600.0);
    t.advance_by(Duration::from_secs(60), 0);
    assert!(t.due(false).is_empty());
    at(&mut t, 200.0);
    assert_eq!(
        t.due(false).len(),
        1,
        "at 2800 mm the 500 ms lead (250 mm) is reached"
    );
}

#[test]
fn reads_of_several_scanners_merge_into_one_verdict() {
    let mut t = Tracker::new(geometry());
    t.enter(1, 1, false, 0.0);
    at(&mut t, 600.0);
    t.assign_scan("top", ScanRead::NoRead, t.now());
    t.assign_scan("side", code("A"), t.now());
    t.assign_scan("side", code("A"), t.now());
    assert_eq!(t.parcels[0].merged_read(), Read::Code("A".into()));
    t.enter(2, 2, false, 0.0);
    at(&mut t, 700.0);
    t.assign_scan("top", code("C"), t.now());
    t.assign_scan("side", code("B"), t.now());
    assert_eq!(
        t.parcels[1].merged_read(),
        Read::Conflict(vec!["B".into(), "C".into()]),
        "two scanners, two codes: a conflict, not a guess"
    );
}

#[test]
fn when_complete_a_parcel_is_due_once_scans_weight_and_views_are_in() {
    let mut t = Tracker::new(geometry());
    t.enter(1, 7, false, 0.0);
    at(&mut t, 300.0);
    assert_eq!(
        t.assign_weight(WeightRecord {
            tracking_no: 7,
            weight_g: 1200,
            stable: true
        }),
        Some(1)
    );
    at(&mut t, 300.0);
    t.assign_scan("top", code("A"), t.now());
    t.assign_scan("side", code("A"), t.now());
    at(&mut t, 700.0);
    assert_eq!(t.due(true).len(), 0, "X-ray views still missing");
    assert!(t.add_xray_image(1));
    assert!(t.add_xray_image(1));
    assert_eq!(t.due(true).len(), 1);
    assert_eq!(t.due(false).len(), 0, "the deadline is not reached yet");
}

#[test]
fn entering_the_xray_is_reported_once() {
    let mut t = Tracker::new(geometry());
    t.enter(1, 1, false, 0.0);
    assert_eq!(
        t.advance_by(Duration::from_secs(2), 500).entered_xray,
        Vec::<(i64, Duration)>::new(),
        "1000 mm"
    );
    assert_eq!(
        t.advance_by(Duration::from_millis(600), 500).entered_xray,
        vec![(1, Duration::from_millis(200))],
        "crossed 1200 mm 100 mm (200 ms) before the end of the step"
    );
    assert_eq!(
        t.advance_by(Duration::from_millis(400), 500).entered_xray,
        Vec::<(i64, Duration)>::new()
    );
    // At 1500 mm; the exit is at 2000 mm.
    let moved = t.advance_by(Duration::from_millis(1100), 500);
    assert_eq!(
        moved.exited_xray,
        vec![(1, Duration::from_millis(100))],
        "crossed 2000 mm 50 mm (100 ms) before the end of the step"
    );
}

#[test]
fn lost_tracking_takes_no_scans_and_is_due_at_once() {
    let mut t = Tracker::new(geometry());
    t.enter(1, 1, false, 0.0);
    at(&mut t, 600.0);
    assert_eq!(t.lose_tracking(), vec![1]);
    assert_eq!(t.assign_scan("top", code("A"), t.now()), None);
    assert_eq!(t.due(false).len(), 1);
    t.enter(2, 2, true, 0.0);
    assert_eq!(t.due(false).len(), 2);
}

#[test]
fn decided_parcels_are_not_due_again_and_leave_on_drop() {
    let mut t = Tracker::new(geometry());
    t.enter(7, 3, false, 0.0);
    at(&mut t, 2900.0);
    assert_eq!(t.due(false)[0].merged_read(), Read::Nothing);
    t.set_lane(7, 3);
    assert!(t.due(false).is_empty());
    assert_eq!(t.remove_tracking(3).map(|p| p.id), Some(7));
    assert!(t.is_empty());
}

#[test]
fn a_parcel_not_dropped_in_time_after_the_diverter_is_unconfirmed() {
    let mut t = Tracker::new(geometry());
    t.enter(1, 1, false, 0.0);
    at(&mut t, 3000.0);
    t.advance_by(Duration::from_secs(2), 500);
    assert!(t.take_unconfirmed(Duration::from_secs(3)).is_empty());
    t.advance_by(Duration::from_millis(1500), 0);
    assert_eq!(t.take_unconfirmed(Duration::from_secs(3)).len(), 1);
}

#[test]
fn scans_follow_entry_order_even_when_the_estimate_lags() {
    let mut t = Tracker::new(Geometry {
        window_mm: 150.0,
        ..geometry()
    });
    t.enter(1, 1, false, 0.0);
    at(&mut t, 150.0);
    t.enter(2, 2, false, 0.0);
    at(&mut t, 550.0); // estimates: parcel 1 at 700 mm, parcel 2 at 550 mm
    // Parcel 1's scans come although by estimate parcel 2 is nearer the scanner.
    assert_eq!(t.assign_scan("top", code("A"), t.now()), Some(1));
    assert_eq!(t.assign_scan("side", code("A"), t.now()), Some(1));
    assert_eq!(
        t.assign_scan("top", code("A"), t.now()),
        Some(1),
        "a double read stays with its parcel"
    );
    assert_eq!(t.assign_scan("top", code("B"), t.now()), Some(2));
    assert_eq!(t.parcels[0].merged_read(), Read::Code("A".into()));
}

#[test]
fn a_scan_handled_late_is_matched_where_the_parcel_was_when_it_was_read() {
    let mut t = Tracker::new(Geometry {
        window_mm: 100.0,
        ..geometry()
    });
    t.enter(1, 1, false, 0.0);
    // Read at 600 mm; handled 300 ms later, when the parcel is at 750 mm.
    at(&mut t, 750.0);
    let handled = t.now();
    assert_eq!(
        t.assign_scan("top", code("A"), handled),
        None,
        "150 mm off now"
    );
    let read = handled.checked_sub(Duration::from_millis(300)).unwrap();
    assert_eq!(t.assign_scan("top", code("A"), read), Some(1));
}
