//! The pure line model driven by explicit time: feeder, tracking numbers, lane commands.

use super::*;
use crate::parcel::LaneKind;
use crate::report::ParcelState;

use super::test_line::{Line, TICK};

mod bags;
mod faults;
mod stations;

#[test]
fn parcel_commanded_in_time_falls_into_that_lane() {
    let mut sim = Line::new();
    let id = sim.inject(Some("SF1001"), 400);
    let (entered_at, tracking_no) = sim.entered(id);
    assert_eq!(tracking_no, 1);
    assert_eq!(sim.c.status().entries_since(0).0[0].length_mm, 400);
    assert_eq!(
        sim.command(tracking_no, 1),
        Ok(CommandOutcome::Accepted { parcel_id: id })
    );
    assert_eq!(
        (sim.c.status().cmd_ack_tracking, sim.c.status().cmd_ack_lane),
        (1, 1)
    );

    let (dropped_at, lane, defaulted) = sim.dropped(id);
    assert_eq!((lane, defaulted), (1, false));
    // 3000 mm at 500 mm/s: 6 s after entry, within one tick.
    let travel = dropped_at.checked_sub(entered_at).unwrap();
    assert!(
        travel >= Duration::from_secs(6) && travel <= Duration::from_secs(6) + TICK,
        "{travel:?}"
    );
    let (drops, _) = sim.c.status().drops_since(0);
    assert_eq!((drops[0].tracking_no, drops[0].lane), (1, 1));

    let report = sim.c.report(sim.now);
    let p = report.parcel(id).unwrap();
    assert_eq!(
        (p.commanded_lane, p.lane, p.state),
        (Some(1), Some(1), ParcelState::Dropped)
    );
    assert!(p.command_at.is_some() && p.scanned_at.is_some());
    assert_eq!(report.summary.lane_counts[&1], 1);
    assert_eq!(
        (report.summary.in_flight, report.summary.accepted_commands),
        (0, 1)
    );
}

#[test]
fn parcel_without_command_falls_into_exception_lane_defaulted() {
    let mut sim = Line::new();
    let id = sim.inject(Some("SF1002"), 400);
    let (_, lane, defaulted) = sim.dropped(id);
    assert_eq!((lane, defaulted), (3, true));
    let report = sim.c.report(sim.now);
    assert!(report.parcel(id).unwrap().defaulted);
    assert_eq!(report.parcel(id).unwrap().commanded_lane, None);
    assert_eq!(report.summary.lane_counts[&3], 1);
    assert_eq!(report.summary.missed, 1);
}

#[test]
fn a_later_command_for_the_same_parcel_changes_its_lane_and_is_reported() {
    let mut sim = Line::new();
    let id = sim.inject(Some("SF1005"), 400);
    let (_, tracking_no) = sim.entered(id);
    sim.command(tracking_no, 1).unwrap();
    sim.command(tracking_no, 1).unwrap();
    sim.command(tracking_no, 2).unwrap();
    let (_, lane, defaulted) = sim.dropped(id);
    assert_eq!((lane, defaulted), (2, false));
    let report = sim.c.report(sim.now);
    let p = report.parcel(id).unwrap();
    assert_eq!(
        (p.first_commanded_lane, p.commanded_lane, p.lane_changes),
        (Some(1), Some(2), 1)
    );
    assert_eq!(report.summary.lane_changes, 1);
}

#[test]
fn command_naming_the_exception_lane_is_not_a_default() {
    let mut sim = Line::new();
    let id = sim.inject(Some("SF1003"), 400);
    let (_, tracking_no) = sim.entered(id);
    sim.command(tracking_no, 3).unwrap();
    let (_, lane, defaulted) = sim.dropped(id);
    assert_eq!((lane, defaulted), (3, false));
}

#[test]
fn later_command_for_the_same_parcel_replaces_the_earlier_one() {
    let mut sim = Line::new();
    let id = sim.inject(Some("SF1004"), 400);
    let (_, tracking_no) = sim.entered(id);
    sim.command(tracking_no, 1).unwrap();
    sim.step();
    sim.command(tracking_no, 2).unwrap();
    assert_eq!(sim.dropped(id).1, 2);
}

#[test]
fn command_after_the_diverter_is_recorded_late_and_changes_nothing() {
    let mut sim = Line::new();
    let id = sim.inject(Some("SF1005"), 400);
    let (_, tracking_no) = sim.entered(id);
    sim.dropped(id);
    assert_eq!(
        sim.command(tracking_no, 1),
        Ok(CommandOutcome::Late { parcel_id: id })
    );
    let report = sim.c.report(sim.now);
    assert_eq!(report.late_commands.len(), 1);
    assert_eq!(report.late_commands[0].parcel_id, Some(id));
    assert_eq!(report.parcel(id).unwrap().lane, Some(3));
    assert_eq!(
        sim.c.status().cmd_ack_tracking,
        0,
        "a late command is not acked"
    );
}

#[test]
fn command_for_unknown_tracking_number_is_recorded() {
    let mut sim = Line::new();
    assert_eq!(sim.command(77, 1), Ok(CommandOutcome::Unknown));
    let report = sim.c.report(sim.now);
    assert_eq!(report.unknown_commands.len(), 1);
    assert_eq!(report.unknown_commands[0].tracking_no, 77);
}

#[test]
fn lane_outside_the_line_is_rejected_and_the_parcel_defaults() {
    let mut sim = Line::new();
    let id = sim.inject(Some("SF1006"), 400);
    let (_, tracking_no) = sim.entered(id);
    for bad in [0, 4] {
        assert_eq!(
            sim.command(tracking_no, bad),
            Err(LaneOutOfRange {
                lane: bad,
                lanes: 3
            })
        );
    }
    assert_eq!(sim.c.status().cmd_ack_tracking, 0);
    assert_eq!(
        sim.c.command_registers(),
        [0, 0, 0, 1],
        "a refused write is not stored"
    );
    let (_, lane, defaulted) = sim.dropped(id);
    assert_eq!((lane, defaulted), (3, true));
    let report = sim.c.report(sim.now);
    assert_eq!(report.rejected_commands.len(), 2);
    assert!(report.rejected_commands[1].reason.contains("lane 4"));
}

#[test]
fn feeder_keeps_the_gap_between_parcels() {
    let mut sim = Line::new();
    let ids = [
        sim.inject(Some("A"), 400),
        sim.inject(Some("B"), 600),
        sim.inject(Some("C"), 200),
    ];
    let times: Vec<Duration> = ids.iter().map(|&id| sim.entered(id).0).collect();
    // The next parcel enters once the previous one's trailing edge is 300 mm past the eye:
    // (400 + 300) mm and (600 + 300) mm at 500 mm/s.
    for (i, need) in [(1, 1400), (2, 1800)] {
        let gap = times[i].checked_sub(times[i - 1]).unwrap();
        let need = Duration::from_millis(need);
        assert!(gap >= need && gap <= need + TICK, "parcel {i}: {gap:?}");
    }
    let report = sim.c.report(sim.now);
    let tracking: Vec<_> = ids
        .iter()
        .map(|&id| report.parcel(id).unwrap().tracking_no)
        .collect();
    assert_eq!(tracking, [Some(1), Some(2), Some(3)]);
}

#[test]
fn waiting_parcels_are_in_flight_without_tracking_number() {
    let mut sim = Line::new();
    sim.inject(Some("A"), 400);
    let second = sim.inject(Some("B"), 400);
    sim.step();
    let report = sim.c.report(sim.now);
    assert_eq!((report.summary.in_flight, report.summary.waiting), (2, 1));
    let p = report.parcel(second).unwrap();
    assert_eq!((p.state, p.tracking_no), (ParcelState::Waiting, None));
}

#[test]
fn unreadable_label_scans_as_no_read_on_both_scanners() {
    let mut sim = Line::new();
    let id = sim.inject(None, 400);
    let (entered_at, _) = sim.entered(id);
    let (at, _) = sim.until(|e| matches!(e, LineEvent::Scanned(_)));
    let scans: Vec<_> = sim
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            LineEvent::Scanned(s) => Some((s.parcel_id, s.scanner, s.code.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        scans,
        [(id, ScannerId::Top, None), (id, ScannerId::Side, None)]
    );
    // 600 mm at 500 mm/s.
    let travel = at.checked_sub(entered_at).unwrap();
    assert!(travel >= Duration::from_millis(1200) && travel <= Duration::from_millis(1200) + TICK);
}

#[test]
fn a_stalled_tick_still_weighs_scans_and_x_rays_before_it_drops() {
    let mut sim = Line::new();
    let id = sim.inject(Some("SF1"), 400);
    sim.entered(id);
    let events = sim.c.tick(sim.now + Duration::from_secs(30));
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            LineEvent::Weighed { .. } => "weighed",
            LineEvent::Scanned(_) => "scanned",
            LineEvent::XrayEntered(_) => "xray",
            LineEvent::Dropped { lane: 3, .. } => "dropped",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["weighed", "scanned", "scanned", "xray", "dropped"]);
}

#[test]
fn heartbeats_count_ticks_and_echo_the_controller() {
    let mut sim = Line::new();
    for _ in 0..5 {
        sim.step();
    }
    sim.c.controller_heartbeat(sim.now, 9);
    let status = sim.c.status();
    assert_eq!(
        (status.plc_heartbeat, status.controller_heartbeat_echo),
        (5, 9)
    );
    assert!(status.flags.running);
    assert_eq!(status.belt_speed_mm_s, 500);
}

#[test]
fn labels_that_would_break_the_framing_are_refused() {
    let mut sim = Line::new();
    let bad = |code: &str, length_mm| NewParcel {
        length_mm,
        ..NewParcel::with_code(Some(code))
    };
    assert_eq!(
        sim.c.inject(sim.now, 1, bad("", 400)),
        Err(InjectError::EmptyCode("code"))
    );
    assert_eq!(
        sim.c.inject(sim.now, 1, bad("A\u{3}B", 400)),
        Err(InjectError::ControlCharacter("code", 3))
    );
    assert_eq!(
        sim.c.inject(sim.now, 1, bad("A", 0)),
        Err(InjectError::Length(0))
    );
    assert!(
        sim.c.inject(sim.now, 1, bad("运单123", 400)).is_ok(),
        "non-ASCII is the controller's problem"
    );
}

#[test]
fn config_problems_are_all_listed() {
    let config = LineConfig {
        belt_speed_mm_s: 0,
        scanner_at_mm: 5000,
        exception_lane: 4,
        xray_views: 0,
        ..LineConfig::default()
    };
    assert_eq!(config.problems().len(), 4, "{:?}", config.problems());
}

#[test]
fn expected_lane_kinds_map_to_the_configured_lanes_and_a_miss_is_wrong() {
    let mut sim = Line::with(LineConfig {
        lanes: 5,
        release_lane: 4,
        inspection_lane: 5,
        exception_lane: 1,
        ..LineConfig::default()
    });
    let release = sim.put(NewParcel {
        expect: Some(LaneKind::Release),
        ..NewParcel::with_code(Some("A"))
    });
    let exception = sim.put(NewParcel {
        expect: Some(LaneKind::Exception),
        ..NewParcel::with_code(Some("B"))
    });
    sim.dropped(exception);
    let report = sim.c.report(sim.now);
    let (r, e) = (
        report.parcel(release).unwrap(),
        report.parcel(exception).unwrap(),
    );
    assert_eq!(
        (r.lane, r.expected_lane, r.wrong_lane),
        (Some(1), Some(4), true)
    );
    assert_eq!(
        (e.lane, e.expected_lane, e.wrong_lane),
        (Some(1), Some(1), false)
    );
    assert_eq!(
        (
            report.summary.wrong_lane,
            report.summary.expected,
            report.summary.missed
        ),
        (1, 2, 2)
    );
    assert_eq!(report.wrong_lane().count(), 1);
}
