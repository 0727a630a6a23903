//! One simulated line against the controller's own drivers, over real loopback sockets.

use crate::common;

use std::time::Duration;

use common::{Site, dropped, next_frame};
use customs_edge_devices::line_plc::RegisterMap;
use customs_edge_devices::scanner::{Framing, ScanFrame};
use customs_edge_simulators::{GeneratorConfig, LineConfig, LineSetup, NewParcel, SimConfig};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_modbus::ExceptionCode;
use tokio_util::sync::CancellationToken;

use common::PATIENCE;

fn one_line(setup: LineSetup) -> SimConfig {
    SimConfig {
        lines: vec![setup],
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn commanded_parcel_takes_its_lane_and_an_uncommanded_one_defaults() {
    // 3000 mm at 1000 mm/s leaves 3 s between entry and diverter for one loopback write.
    let site = Site::start(one_line(LineSetup {
        line: LineConfig {
            belt_speed_mm_s: 1000,
            ..LineConfig::default()
        },
        framing: Framing::CrLf,
        ..LineSetup::default()
    }))
    .await;
    let mut scans = site.scanner(0, false, Framing::CrLf);
    site.report_until("the scanner client", |r| {
        r.lines[0].connections.top_clients == 1
    })
    .await;
    let mut plc = site.plc(0, RegisterMap::default());

    let first = site
        .post_parcel(json!({"code": "SF100200300", "length_mm": 400}))
        .await;
    let second = site.post_parcel(json!({"code": null})).await;

    // The controller's view: the first entry on the photo-eye ring is the first parcel.
    let deadline = Instant::now() + PATIENCE;
    let entry = loop {
        let status = plc.read_status().await.expect("status reads");
        if let Some(&entry) = status.entries_since(0).0.first() {
            break entry;
        }
        assert!(Instant::now() < deadline, "no parcel entered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(entry.length_mm, 400);
    plc.write_lane(entry.tracking_no, 1)
        .await
        .expect("lane command accepted");
    let status = plc.read_status().await.unwrap();
    assert_eq!(
        (status.cmd_ack_tracking, status.cmd_ack_lane),
        (entry.tracking_no, 1)
    );
    assert!(status.flags.running);
    assert_eq!(status.belt_speed_mm_s, 1000);

    assert_eq!(
        next_frame(&mut scans).await,
        ScanFrame::Code("SF100200300".into())
    );
    assert_eq!(next_frame(&mut scans).await, ScanFrame::NoRead);

    let report = site
        .report_until("both parcels dropped", |r| {
            dropped(r, first) && dropped(r, second)
        })
        .await;
    let p1 = report.parcel(first).unwrap();
    assert_eq!(p1.tracking_no, Some(entry.tracking_no));
    assert_eq!(
        (p1.commanded_lane, p1.lane, p1.defaulted),
        (Some(1), Some(1), false)
    );
    assert!(p1.command_at.unwrap() < p1.dropped_at.unwrap());
    let p2 = report.parcel(second).unwrap();
    assert_eq!(
        (p2.code.as_deref(), p2.lane, p2.defaulted),
        (None, Some(3), true)
    );
    let counts = &report.summary.lane_counts;
    assert_eq!((counts[&1], counts[&2], counts[&3]), (1, 0, 1));
    assert_eq!(report.summary.in_flight, 0);
    assert_eq!(report.summary.missed, 1);
    assert!(p1.slack_ms.unwrap() > 0.0 && p1.latency_ms.is_some());

    let (drops, lost) = plc.read_status().await.unwrap().drops_since(0);
    assert_eq!(lost, 0);
    let drops: Vec<_> = drops.iter().map(|d| (d.tracking_no, d.lane)).collect();
    assert_eq!(
        drops,
        [(entry.tracking_no, 1), (p2.tracking_no.unwrap(), 3)]
    );
    site.stop().await;
}

#[tokio::test]
async fn plc_answers_mapping_mistakes_with_modbus_exceptions() {
    let site = Site::start(SimConfig::default()).await;
    let good = RegisterMap::default();

    let mut wrong_base = site.plc(
        0,
        RegisterMap {
            status_base: 500,
            ..good
        },
    );
    let err = wrong_base.read_status().await.unwrap_err();
    assert_eq!(
        err.exception(),
        Some(ExceptionCode::IllegalDataAddress),
        "{err}"
    );

    let mut wrong_unit = site.plc(0, RegisterMap { unit_id: 7, ..good });
    let err = wrong_unit.read_status().await.unwrap_err();
    assert_eq!(
        err.exception(),
        Some(ExceptionCode::GatewayTargetDevice),
        "{err}"
    );

    let mut plc = site.plc(0, good);
    let err = plc.write_lane(1, 9).await.unwrap_err();
    assert_eq!(
        err.exception(),
        Some(ExceptionCode::IllegalDataValue),
        "{err}"
    );
    plc.write_heartbeat(41).await.unwrap();
    assert_eq!(
        plc.read_status().await.unwrap().controller_heartbeat_echo,
        41
    );
    assert_eq!(plc.connections(), 1, "exceptions keep the connection");

    let report = site.report().await;
    assert_eq!(report.rejected_commands.len(), 1);
    assert_eq!(
        (
            report.rejected_commands[0].tracking_no,
            report.rejected_commands[0].lane
        ),
        (1, 9)
    );
    site.stop().await;
}

#[tokio::test]
async fn command_after_the_drop_is_reported_late_and_unknown_numbers_too() {
    let site = Site::start(one_line(LineSetup {
        line: LineConfig {
            belt_speed_mm_s: 2000,
            ..LineConfig::default()
        },
        ..LineSetup::default()
    }))
    .await;
    let id = site
        .sim
        .inject(NewParcel {
            length_mm: 300,
            ..NewParcel::with_code(Some("SF9"))
        })
        .unwrap();
    let report = site
        .report_until("the parcel dropped", |r| dropped(r, id))
        .await;
    let tracking_no = report.parcel(id).unwrap().tracking_no.unwrap();

    let mut plc = site.plc(0, RegisterMap::default());
    plc.write_lane(tracking_no, 1)
        .await
        .expect("a late write is still a valid write");
    plc.write_lane(999, 2).await.expect("so is an unknown one");

    let report = site.report().await;
    assert_eq!(report.parcel(id).unwrap().lane, Some(3));
    assert_eq!(report.late_commands.len(), 1);
    assert_eq!(report.late_commands[0].parcel_id, Some(id));
    assert_eq!(report.unknown_commands.len(), 1);
    assert_eq!(report.unknown_commands[0].tracking_no, 999);
    site.stop().await;
}

#[tokio::test]
async fn http_api_explains_bad_requests() {
    let site = Site::start(SimConfig::default()).await;
    let health: Value = site
        .http
        .get(site.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({"status": "ok"}));

    for (body, needle) in [
        ("{not json", "key must be a string"),
        (r#"{"length_mm": 400}"#, "missing field `code`"),
        (r#"{"code": "A", "length_mm": -1}"#, "length_mm"),
        (r#"{"code": ""}"#, "must not be empty"),
    ] {
        let resp = site
            .http
            .post(site.url("/parcels"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{body}");
        let error: Value = resp.json().await.unwrap();
        let message = error["error"].as_str().unwrap();
        assert!(message.contains(needle), "{body}: {message}");
    }
    let resp = site.http.get(site.url("/nope")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(site.report().await.summary.injected, 0);
    site.stop().await;
}

#[tokio::test]
async fn generator_keeps_the_line_busy() {
    let site = Site::start(SimConfig {
        generator: Some(GeneratorConfig {
            every: Duration::from_millis(20),
            codes: vec!["YT0001".into()],
            ..GeneratorConfig::default()
        }),
        ..SimConfig::default()
    })
    .await;
    let report = site
        .report_until("three generated parcels", |r| r.summary.injected >= 3)
        .await;
    assert!(
        report
            .parcels
            .iter()
            .all(|p| p.code.as_deref() == Some("YT0001"))
    );
    site.stop().await;
}

#[tokio::test]
async fn generator_waiting_for_clients_starts_only_once_a_controller_is_attached() {
    let site = Site::start(SimConfig {
        generator: Some(GeneratorConfig {
            every: Duration::from_millis(20),
            codes: vec!["YT0002".into()],
            wait_for_clients: true,
            ..GeneratorConfig::default()
        }),
        ..SimConfig::default()
    })
    .await;
    // Attach a PLC client first: the scanner is still unattended, so nothing may be injected.
    let mut plc = site.plc(0, RegisterMap::default());
    plc.read_status().await.expect("PLC answers");
    let before_scanner = site.report().await;
    assert_eq!(before_scanner.lines[0].connections.plc_clients, 1);
    let attached_at = chrono::Utc::now();
    let mut events = site.scanner(0, false, Framing::StxEtx);
    assert_eq!(
        next_frame(&mut events).await,
        ScanFrame::Code("YT0002".into())
    );
    let report = site.report().await;
    let first = report.parcels.first().expect("a generated parcel");
    assert!(
        first.injected_at >= attached_at,
        "{first:?} injected before the scanner client attached at {attached_at}"
    );
    assert_eq!(
        before_scanner.summary.injected, 0,
        "nothing was injected while the scanner had no client"
    );
    site.stop().await;
}

#[tokio::test]
async fn invalid_config_is_refused_with_every_problem() {
    let config = one_line(LineSetup {
        line: LineConfig {
            lanes: 2,
            exception_lane: 3,
            scanner_at_mm: 4000,
            ..LineConfig::default()
        },
        ..LineSetup::default()
    });
    let err = customs_edge_simulators::start(config, CancellationToken::new())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("exception_lane") && message.contains("scanner_at_mm"),
        "{message}"
    );
}
