//! Weighing and run-time faults seen through the controller's own PLC driver.

use crate::common;

use std::time::Duration;

use common::{Site, dropped, poll_status};
use customs_edge_devices::line_plc::{FaultCode, LinePlc, PlcErrorKind, RegisterMap};
use customs_edge_simulators::faults::FaultKind;
use customs_edge_simulators::report::ParcelState;
use customs_edge_simulators::{LineConfig, LineSetup, SimConfig};
use serde_json::json;
use tokio::time::Instant;

fn belt(speed: u16) -> SimConfig {
    SimConfig {
        lines: vec![LineSetup {
            line: LineConfig {
                belt_speed_mm_s: speed,
                ..LineConfig::default()
            },
            ..LineSetup::default()
        }],
        ..SimConfig::default()
    }
}

async fn fault(site: &Site, kind: &str, duration_ms: u64) {
    let (status, answer) = site
        .post(
            "/faults",
            &json!({"kind": kind, "duration_ms": duration_ms}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["lines"], json!(["L1"]));
}

#[tokio::test]
async fn weight_shows_up_in_the_weight_ring_with_its_tracking_number() {
    let site = Site::start(belt(1000)).await;
    let id = site
        .post_parcel(json!({"code": "SF1", "weight_kg": 2.345}))
        .await;
    let mut plc = site.plc(0, RegisterMap::default());
    let status = poll_status(&mut plc, "a weighing", |s| {
        (s.weight_count > 0).then(|| s.clone())
    })
    .await;
    let (weights, lost) = status.weights_since(0);
    assert_eq!(lost, 0);
    let w = weights[0];
    assert!(w.stable && w.weight_g.abs_diff(2345) <= 5, "{w:?}");
    let entry = status.entries_since(0).0[0];
    assert_eq!(w.tracking_no, entry.tracking_no);
    let report = site.report().await;
    let p = report.parcel(id).unwrap();
    assert_eq!(
        (p.weighed_g, p.weight_stable),
        (Some(w.weight_g), Some(true))
    );
    assert!(p.weighed_at.is_some());
    site.stop().await;
}

#[tokio::test]
async fn estop_stops_parcels_on_the_belt_until_it_is_released() {
    // 3000 mm at 1000 mm/s: 3 s from the photo-eye to the diverter.
    let site = Site::start(belt(1000)).await;
    let id = site.post_parcel(json!({"code": "SF2"})).await;
    site.report_until("the parcel on the belt", |r| {
        r.parcel(id).is_some_and(|p| p.state == ParcelState::OnBelt)
    })
    .await;
    fault(&site, "estop", 1500).await;
    let mut plc = site.plc(0, RegisterMap::default());
    let status = plc.read_status().await.unwrap();
    assert!(status.flags.estop && !status.flags.running);
    assert_eq!(
        (status.fault, status.belt_speed_mm_s),
        (Some(FaultCode::EmergencyStop), 0)
    );
    let report = site.report_until("the drop", |r| dropped(r, id)).await;
    let p = report.parcel(id).unwrap();
    let travel = (p.dropped_at.unwrap() - p.entered_at.unwrap())
        .to_std()
        .unwrap();
    assert!(
        travel >= Duration::from_millis(4400),
        "{travel:?}: the stop did not hold it"
    );
    let f = &report.faults[0];
    assert_eq!((f.kind, f.duration_ms), (FaultKind::Estop, Some(1500)));
    let held = (f.ended_at.unwrap() - f.started_at).to_std().unwrap();
    assert!(held >= Duration::from_millis(1500), "{held:?}");
    let status = plc.read_status().await.unwrap();
    // (This client writes no heartbeat, so by now the PLC may show fault 6 instead.)
    assert!(status.flags.running && !status.flags.estop);
    assert_ne!(status.fault, Some(FaultCode::EmergencyStop));
    site.stop().await;
}

#[tokio::test]
async fn scale_and_xray_faults_show_their_flags_and_codes() {
    let site = Site::start(SimConfig::default()).await;
    let mut plc = site.plc(0, RegisterMap::default());
    fault(&site, "xray_fault", 60_000).await;
    let status = plc.read_status().await.unwrap();
    assert!(status.flags.xray_fault && status.flags.fault);
    assert_eq!(status.fault, Some(FaultCode::Xray));
    fault(&site, "scale_fault", 60_000).await;
    let status = plc.read_status().await.unwrap();
    assert!(status.flags.scale_fault && status.flags.xray_fault);
    assert_eq!(status.fault, Some(FaultCode::Scale), "the lower code wins");
    let (code, answer) = site
        .post(
            "/faults",
            &json!({"kind": "controller_heartbeat_lost", "duration_ms": 5}),
        )
        .await;
    assert_eq!(code, 400, "{answer}");
    let (code, _) = site
        .post(
            "/faults",
            &json!({"kind": "estop", "duration_ms": 5, "line": "L7"}),
        )
        .await;
    assert_eq!(code, 400);
    site.stop().await;
}

#[tokio::test]
async fn plc_link_drop_refuses_the_client_for_the_duration_then_lets_it_reconnect() {
    let site = Site::start(SimConfig::default()).await;
    let mut plc = LinePlc::new(
        site.sim.lines[0].plc,
        RegisterMap::default(),
        Duration::from_secs(2),
    );
    plc.read_status().await.expect("connected before the drop");
    let before = Instant::now();
    fault(&site, "plc_link_drop", 1500).await;
    let err = plc.read_status().await.unwrap_err();
    assert_eq!(err.kind(), PlcErrorKind::Transport, "{err}");
    let report = site.report().await;
    assert!(!report.lines[0].state.plc_link_up);
    let back = poll_status(&mut plc, "the PLC link back", |_| Some(Instant::now())).await;
    assert!(
        back - before >= Duration::from_millis(1500),
        "reconnected after {:?}, inside the drop",
        back - before
    );
    assert!(plc.connections() >= 2, "the driver reconnected");
    let report = site.report().await;
    assert!(report.lines[0].state.plc_link_up);
    assert_eq!(report.lines[0].connections.plc_clients, 1);
    let f = &report.faults[0];
    assert_eq!(f.kind, FaultKind::PlcLinkDrop);
    assert!(f.ended_at.is_some());
    site.stop().await;
}

#[tokio::test]
async fn a_controller_that_stops_its_heartbeat_gets_fault_6_until_it_beats_again() {
    let site = Site::start(SimConfig::default()).await;
    let mut plc = site.plc(0, RegisterMap::default());
    plc.write_heartbeat(1).await.unwrap();
    let status = poll_status(&mut plc, "fault 6", |s| {
        (s.fault == Some(FaultCode::ControllerHeartbeatLost)).then(|| s.clone())
    })
    .await;
    assert!(status.flags.running, "the belt keeps running");
    plc.write_heartbeat(2).await.unwrap();
    assert_eq!(plc.read_status().await.unwrap().fault, None);
    let report = site.report().await;
    assert_eq!(report.faults[0].kind, FaultKind::ControllerHeartbeatLost);
    assert!(report.faults[0].ended_at.is_some());
    site.stop().await;
}
