//! The simulated site against the controller's own drivers, over real loopback sockets.

use std::time::Duration;

use customs_edge_devices::line_plc::{LinePlc, PlcError, RegisterMap};
use customs_edge_devices::scanner::{
    Framing, ScanFrame, ScannerClient, ScannerCodec, ScannerEvent,
};
use customs_edge_simulators::conveyor::LineConfig;
use customs_edge_simulators::report::{ParcelState, Report};
use customs_edge_simulators::{GeneratorConfig, NewParcel, RunningSim, SimConfig};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};
use tokio_modbus::ExceptionCode;
use tokio_util::sync::CancellationToken;

/// Bound on every wait: generous, for a busy 2-core CI machine.
const PATIENCE: Duration = Duration::from_secs(30);

struct Site {
    sim: RunningSim,
    shutdown: CancellationToken,
    http: reqwest::Client,
}

impl Site {
    async fn start(config: SimConfig) -> Self {
        let shutdown = CancellationToken::new();
        let sim = customs_edge_simulators::start(config, shutdown.clone())
            .await
            .expect("site starts");
        Self {
            sim,
            shutdown,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.sim.http)
    }

    async fn post_parcel(&self, body: Value) -> u64 {
        let resp = self
            .http
            .post(self.url("/parcels"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        resp.json::<Value>().await.unwrap()["id"].as_u64().unwrap()
    }

    async fn report(&self) -> Report {
        let resp = self.http.get(self.url("/report")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    /// Poll the report until `done` holds for it.
    async fn report_until(&self, what: &str, done: impl Fn(&Report) -> bool) -> Report {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let report = self.report().await;
            if done(&report) {
                return report;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {report:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn plc(&self, map: RegisterMap) -> LinePlc {
        LinePlc::new(self.sim.plc, map, Duration::from_secs(5))
    }

    async fn stop(self) {
        self.shutdown.cancel();
        timeout(PATIENCE, self.sim.wait())
            .await
            .expect("site stops in time")
            .expect("site stops cleanly");
    }
}

fn dropped(report: &Report, id: u64) -> bool {
    report
        .parcel(id)
        .is_some_and(|p| p.state == ParcelState::Dropped)
}

async fn next_frame(events: &mut mpsc::Receiver<ScannerEvent>) -> ScanFrame {
    loop {
        match timeout(PATIENCE, events.recv())
            .await
            .expect("scan in time")
            .expect("client runs")
        {
            ScannerEvent::Frame { frame, .. } => return frame,
            ScannerEvent::Connected { .. } => {}
            ScannerEvent::Disconnected { error, .. } => panic!("scanner disconnected: {error}"),
        }
    }
}

#[tokio::test]
async fn commanded_parcel_takes_its_lane_and_an_uncommanded_one_defaults() {
    // 3000 mm at 1000 mm/s leaves 3 s between entry and diverter for one loopback write.
    let site = Site::start(SimConfig {
        line: LineConfig {
            belt_speed_mm_s: 1000,
            ..LineConfig::default()
        },
        framing: Framing::CrLf,
        ..SimConfig::default()
    })
    .await;
    let (tx, mut scans) = mpsc::channel(16);
    let client = ScannerClient::new(
        "line-1",
        site.sim.scanner,
        ScannerCodec::new(Framing::CrLf, "NoRead", 80),
    );
    tokio::spawn(client.run(tx, site.shutdown.clone()));
    site.report_until("the scanner client", |r| r.connections.scanner_clients == 1)
        .await;
    let mut plc = site.plc(RegisterMap::default());

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
    assert_eq!(
        (
            report.lane_counts[&1],
            report.lane_counts[&2],
            report.lane_counts[&3]
        ),
        (1, 0, 1)
    );
    assert_eq!(report.in_flight, 0);

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

    let mut wrong_base = site.plc(RegisterMap {
        status_base: 500,
        ..good
    });
    let err = wrong_base.read_status().await.unwrap_err();
    assert!(
        matches!(
            err,
            PlcError::Exception {
                code: ExceptionCode::IllegalDataAddress,
                ..
            }
        ),
        "{err}"
    );

    let mut wrong_unit = site.plc(RegisterMap { unit_id: 7, ..good });
    let err = wrong_unit.read_status().await.unwrap_err();
    assert!(
        matches!(
            err,
            PlcError::Exception {
                code: ExceptionCode::GatewayTargetDevice,
                ..
            }
        ),
        "{err}"
    );

    let mut plc = site.plc(good);
    let err = plc.write_lane(1, 9).await.unwrap_err();
    assert!(
        matches!(
            err,
            PlcError::Exception {
                code: ExceptionCode::IllegalDataValue,
                ..
            }
        ),
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
    let site = Site::start(SimConfig {
        line: LineConfig {
            belt_speed_mm_s: 2000,
            ..LineConfig::default()
        },
        ..SimConfig::default()
    })
    .await;
    let id = site
        .sim
        .inject(NewParcel {
            code: Some("SF9".into()),
            length_mm: 300,
        })
        .unwrap();
    let report = site
        .report_until("the parcel dropped", |r| dropped(r, id))
        .await;
    let tracking_no = report.parcel(id).unwrap().tracking_no.unwrap();

    let mut plc = site.plc(RegisterMap::default());
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
    assert_eq!(site.report().await.injected, 0);
    site.stop().await;
}

#[tokio::test]
async fn generator_keeps_the_line_busy() {
    let site = Site::start(SimConfig {
        generator: Some(GeneratorConfig {
            every: Duration::from_millis(20),
            codes: vec!["YT0001".into()],
            no_read_rate: 0.0,
            wait_for_clients: false,
        }),
        ..SimConfig::default()
    })
    .await;
    let report = site
        .report_until("three generated parcels", |r| r.injected >= 3)
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
            no_read_rate: 0.0,
            wait_for_clients: true,
        }),
        ..SimConfig::default()
    })
    .await;
    // Attach a PLC client first: the scanner is still unattended, so nothing may be injected.
    let mut plc = site.plc(RegisterMap::default());
    plc.read_status().await.expect("PLC answers");
    let before_scanner = site.report().await;
    assert_eq!(before_scanner.connections.plc_clients, 1);
    let (events_tx, mut events) = mpsc::channel(16);
    let codec = ScannerCodec::new(Framing::StxEtx, "NoRead", 80);
    let attached_at = chrono::Utc::now();
    tokio::spawn(
        ScannerClient::new("top", site.sim.scanner, codec).run(events_tx, site.shutdown.clone()),
    );
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
        before_scanner.injected, 0,
        "nothing was injected while the scanner had no client"
    );
    site.stop().await;
}

#[tokio::test]
async fn invalid_config_is_refused_with_every_problem() {
    let config = SimConfig {
        line: LineConfig {
            lanes: 2,
            exception_lane: 3,
            scanner_at_mm: 4000,
            ..LineConfig::default()
        },
        ..SimConfig::default()
    };
    let err = customs_edge_simulators::start(config, CancellationToken::new())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("exception_lane") && message.contains("scanner_at_mm"),
        "{message}"
    );
}
