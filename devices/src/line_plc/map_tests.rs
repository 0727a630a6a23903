use super::*;

#[test]
fn status_block_round_trips_through_registers() {
    let mut s = LineStatus {
        plc_heartbeat: 7,
        flags: StatusFlags {
            running: true,
            fault: true,
            xray_running: true,
            ..StatusFlags::default()
        },
        belt_speed_mm_s: 500,
        ..LineStatus::default()
    };
    s.clock_ms = 65_000;
    s.push_entry(300);
    assert_eq!(s.entries[1].entered_ms, 65_000);
    assert_eq!(clock_ms_since(65_000, 464), 1000, "the clock wraps");
    s.push_drop(1, 3);
    let words = s.encode();
    assert_eq!(words.len(), STATUS_LEN as usize);
    assert_eq!(LineStatus::decode(&words).unwrap(), s);
}

#[test]
fn short_block_is_rejected_with_its_length() {
    assert_eq!(
        LineStatus::decode(&[0; 5]),
        Err(DecodeError::WrongLength { got: 5 })
    );
}

#[test]
fn garbled_registers_are_named_with_their_value() {
    let good = LineStatus::default().encode();
    for (offset, value, name) in [
        (BELT_SPEED, 40_000, "BELT_SPEED"),
        (STATUS, 0x8001, "STATUS"),
        (FAULT_CODE, 99, "FAULT_CODE"),
        (DROP_RING + 1, 300, "DROP_RING lane"),
        (WEIGHT_RING + 2, 7, "WEIGHT_RING flags"),
    ] {
        let mut words = good.clone();
        words[offset as usize] = value;
        match LineStatus::decode(&words) {
            Err(DecodeError::OutOfRange {
                name: n,
                offset: o,
                value: v,
                ..
            }) => {
                assert_eq!((n, o, v), (name, offset, value));
            }
            other => panic!("{name}: expected out of range, got {other:?}"),
        }
    }
}

#[test]
fn weighings_and_lane_counters_round_trip() {
    let mut s = LineStatus::default();
    s.push_weight(1, 1250, true);
    s.push_weight(2, 800, false);
    s.push_drop(1, 2);
    s.fault = Some(FaultCode::Scale);
    s.flags.scale_fault = true;
    let back = LineStatus::decode(&s.encode()).unwrap();
    assert_eq!(back, s);
    let (weights, lost) = back.weights_since(1);
    assert_eq!(
        (weights, lost),
        (
            vec![WeightRecord {
                tracking_no: 2,
                weight_g: 800,
                stable: false
            }],
            0
        )
    );
    assert_eq!(back.lane_drops[1], 1);
}

#[test]
fn entries_since_returns_new_parcels_oldest_first() {
    let mut s = LineStatus::default();
    for len in [100, 200, 300] {
        s.push_entry(len);
    }
    let (new, lost) = s.entries_since(1);
    assert_eq!(lost, 0);
    assert_eq!(
        new.iter()
            .map(|e| (e.tracking_no, e.length_mm))
            .collect::<Vec<_>>(),
        vec![(2, 200), (3, 300)]
    );
    assert!(s.entries_since(3).0.is_empty());
}

#[test]
fn entries_survive_tracking_number_wrap() {
    let mut s = LineStatus {
        entry_count: u16::MAX - 1,
        ..LineStatus::default()
    };
    s.push_entry(1);
    s.push_entry(2);
    assert_eq!(s.entry_count, 1);
    let (new, lost) = s.entries_since(u16::MAX - 1);
    assert_eq!(lost, 0);
    assert_eq!(
        new.iter().map(|e| e.tracking_no).collect::<Vec<_>>(),
        vec![u16::MAX, 1]
    );
    // 0 is skipped: exactly two numbers were issued after 65534
}

#[test]
fn ring_overflow_is_counted_as_lost() {
    let mut s = LineStatus::default();
    for i in 0..10 {
        s.push_drop(i + 1, 1);
    }
    let (drops, lost) = s.drops_since(0);
    assert_eq!(lost, 2);
    assert_eq!(drops.first().unwrap().tracking_no, 3);
    assert_eq!(drops.last().unwrap().tracking_no, 10);
}

#[test]
fn overlapping_blocks_are_a_problem() {
    let map = RegisterMap {
        unit_id: 1,
        status_base: 0,
        command_base: 20,
    };
    assert_eq!(map.problems().len(), 1);
    assert!(RegisterMap::default().problems().is_empty());
}

#[test]
fn the_field_lists_cover_both_blocks_exactly() {
    use crate::register_block::layout_problems;
    assert_eq!(
        layout_problems(STATUS_FIELDS, STATUS_LEN),
        Vec::<String>::new()
    );
    assert_eq!(
        layout_problems(COMMAND_FIELDS, COMMAND_LEN),
        Vec::<String>::new()
    );
}
