//! Faults with explicit time: e-stop, scale, X-ray, link drop, the heartbeat watch.

use customs_edge_devices::line_plc::FaultCode;

use super::super::*;
use super::{Line, TICK};
use crate::faults::{FaultKind, FaultSource};

fn begin(sim: &mut Line, kind: FaultKind) -> u64 {
    sim.c
        .begin_fault(sim.now, kind, FaultSource::Api, Some(1000))
}

#[test]
fn estop_stops_the_belt_with_fault_code_1_until_released() {
    let mut sim = Line::new();
    let id = sim.inject(Some("A"), 400);
    let (entered_at, _) = sim.entered(id);
    let fault = begin(&mut sim, FaultKind::Estop);
    let status = sim.c.status();
    assert!(status.flags.estop && status.flags.fault && !status.flags.running);
    assert_eq!(
        (status.fault, status.belt_speed_mm_s),
        (Some(FaultCode::EmergencyStop), 0)
    );
    sim.run_for(Duration::from_secs(3));
    sim.c.end_fault(sim.now, fault);
    let status = sim.c.status();
    assert!(status.flags.running && status.fault.is_none());
    let (dropped_at, _, _) = sim.dropped(id);
    let travel = dropped_at.checked_sub(entered_at).unwrap();
    let want = Duration::from_secs(9);
    assert!(
        travel >= want.checked_sub(TICK).unwrap() && travel <= want + 2 * TICK,
        "{travel:?}"
    );
    let faults = sim.c.fault_records();
    assert_eq!(faults.len(), 1);
    assert_eq!(
        (faults[0].kind, faults[0].duration_ms),
        (FaultKind::Estop, Some(1000))
    );
    assert!(faults[0].ended_at.unwrap() > faults[0].started_at);
}

#[test]
fn overlapping_estops_hold_the_belt_until_both_end() {
    let mut sim = Line::new();
    let a = begin(&mut sim, FaultKind::Estop);
    let b = begin(&mut sim, FaultKind::Estop);
    sim.c.end_fault(sim.now, a);
    sim.c.end_fault(sim.now, a);
    assert!(!sim.c.status().flags.running, "one e-stop still pressed");
    sim.c.end_fault(sim.now, b);
    assert!(sim.c.status().flags.running);
}

#[test]
fn scale_fault_pushes_unstable_weighings_with_fault_code_4() {
    let mut sim = Line::new();
    begin(&mut sim, FaultKind::ScaleFault);
    let status = sim.c.status();
    assert!(status.flags.scale_fault && status.flags.running);
    assert_eq!(status.fault, Some(FaultCode::Scale));
    let id = sim.inject(Some("A"), 400);
    sim.until(
        |e| matches!(e, LineEvent::Weighed { parcel_id, stable: false, .. } if *parcel_id == id),
    );
    let (ring, _) = sim.c.status().weights_since(0);
    assert!(!ring[0].stable);
}

#[test]
fn xray_fault_writes_no_images_and_shows_fault_code_5() {
    let mut sim = Line::new();
    let fault = begin(&mut sim, FaultKind::XrayFault);
    let status = sim.c.status();
    assert!(status.flags.xray_fault && !status.flags.xray_running);
    assert_eq!(status.fault, Some(FaultCode::Xray));
    assert!(!sim.c.xray_writes());
    let id = sim.inject(Some("A"), 400);
    sim.dropped(id);
    assert!(
        !sim.events
            .iter()
            .any(|(_, e)| matches!(e, LineEvent::XrayEntered(_)))
    );
    sim.c.end_fault(sim.now, fault);
    assert!(sim.c.status().flags.xray_running && sim.c.xray_writes());
}

#[test]
fn the_most_severe_fault_shows_in_the_fault_code() {
    let mut sim = Line::new();
    let scale = begin(&mut sim, FaultKind::ScaleFault);
    begin(&mut sim, FaultKind::XrayFault);
    let estop = begin(&mut sim, FaultKind::Estop);
    assert_eq!(sim.c.status().fault, Some(FaultCode::EmergencyStop));
    sim.c.end_fault(sim.now, estop);
    assert_eq!(sim.c.status().fault, Some(FaultCode::Scale));
    sim.c.end_fault(sim.now, scale);
    assert_eq!(sim.c.status().fault, Some(FaultCode::Xray));
}

#[test]
fn plc_link_drop_has_no_fault_code_and_keeps_the_belt_moving() {
    let mut sim = Line::new();
    let fault = begin(&mut sim, FaultKind::PlcLinkDrop);
    assert!(!sim.c.link_up());
    assert!(sim.c.status().flags.running && sim.c.status().fault.is_none());
    sim.c.end_fault(sim.now, fault);
    assert!(sim.c.link_up());
}

#[test]
fn a_frozen_controller_heartbeat_raises_fault_6_until_it_changes() {
    let mut sim = Line::new();
    sim.run_for(Duration::from_secs(5));
    assert_eq!(sim.c.status().fault, None, "no client, nothing to watch");
    sim.c.set_plc_clients(sim.now, 1);
    sim.c.controller_heartbeat(sim.now, 1);
    sim.run_for(Duration::from_millis(1900));
    sim.c.controller_heartbeat(sim.now, 1);
    sim.run_for(Duration::from_millis(50));
    assert_eq!(sim.c.status().fault, None, "1.95 s without a change");
    sim.run_for(Duration::from_millis(100));
    let status = sim.c.status();
    assert_eq!(status.fault, Some(FaultCode::ControllerHeartbeatLost));
    assert!(
        status.flags.running,
        "a lost heartbeat does not stop the belt"
    );
    assert!(sim.events.iter().any(|(_, e)| matches!(
        e,
        LineEvent::Fault {
            kind: FaultKind::ControllerHeartbeatLost,
            active: true
        }
    )));
    sim.c.controller_heartbeat(sim.now, 2);
    assert_eq!(sim.c.status().fault, None);
    let faults = sim.c.fault_records();
    assert_eq!(faults.len(), 1);
    assert_eq!(
        (faults[0].source, faults[0].duration_ms),
        (FaultSource::Watch, None)
    );
    assert!(faults[0].ended_at.is_some());
}
