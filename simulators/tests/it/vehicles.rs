//! Vehicles driving through simulated gate lanes, against a tiny fake controller that
//! polls the gate I/O over Modbus TCP with the real driver and a tiny HTTP server that
//! records the camera's posts; the simulator's ground truth is checked against both.

mod harness;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use customs_edge_simulators::vehicles::ocr::confusions;
use customs_edge_simulators::vehicles::{
    Direction, GateReport, ShotKind, VehicleSpec, VehicleState,
};
use harness::{CONTROLLER_POLL, PATIENCE, Policy, harness};
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;
fn truck(plate: &str) -> VehicleSpec {
    VehicleSpec::new(plate, 32_000)
}

#[tokio::test]
async fn an_entitled_vehicle_leaves_and_is_judged_correct() {
    let h = harness(Policy::allowing(&["闽G12345"]), 20_000).await;
    let (id, lane) = h.traffic.queue(truck("闽G12345").entitled(true)).unwrap();
    assert_eq!(lane, "G1");
    let report = h.done().await;
    let v = report.vehicle(id).unwrap();
    assert_eq!(v.state, VehicleState::Left);
    assert!(v.left && !v.held);
    assert_eq!(v.verdict_correct, Some(true));
    assert_eq!(v.direction, Direction::Out);
    assert_eq!(v.shots.len(), 2);
    assert!(v.shots.iter().all(|s| s.http_status == Some(200)), "{v:#?}");
    assert!(
        v.shots
            .iter()
            .all(|s| s.plate.as_deref() == Some("闽G12345"))
    );
    let (stable, first) = (v.weight_stable.unwrap(), v.first_shot.unwrap());
    assert!(v.arrived.unwrap().ms + 300.0 <= stable.ms, "{v:#?}");
    assert!(
        stable.ms <= first.ms,
        "the camera fires once the weight is stable"
    );
    assert!(v.open_command.is_some() && v.opened.unwrap().ms <= v.left_at.unwrap().ms);
    assert!(
        v.led_texts.contains(&"请通行".to_owned()),
        "{:?}",
        v.led_texts
    );
    let t = &report.totals;
    assert_eq!((t.vehicles, t.done, t.left, t.held), (1, 1, 1, 0));
    assert_eq!((t.wrong_verdict, t.closed_on_occupied_loop), (0, 0));
    assert_eq!(t.latency_ms.count, 1);
    assert!(report.finished);
    assert_eq!(h.posts.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_vehicle_the_barrier_never_opens_for_is_held_after_patience() {
    let h = harness(Policy::allowing(&[]), 1_500).await;
    let ids = h
        .traffic
        .queue_all([truck("闽G11111"), truck("闽G22222").entitled(true)])
        .unwrap();
    let report = h.done().await;
    for &id in &ids {
        let v = report.vehicle(id).unwrap();
        assert!(v.held && !v.left, "{v:#?}");
        assert_eq!(v.state, VehicleState::Held);
        assert!(v.open_command.is_none() && v.opened.is_none());
        let waited = v.held_at.unwrap().ms - v.last_shot.unwrap().ms;
        assert!(waited >= 1_500.0, "backed off after {waited} ms");
        assert!(
            v.led_texts.contains(&"禁止通行".to_owned()),
            "{:?}",
            v.led_texts
        );
    }
    let (stranger, entitled) = (
        report.vehicle(ids[0]).unwrap(),
        report.vehicle(ids[1]).unwrap(),
    );
    assert_eq!(
        stranger.verdict_correct,
        Some(true),
        "not entitled, held: right"
    );
    assert_eq!(
        entitled.verdict_correct,
        Some(false),
        "entitled, held: wrong"
    );
    assert_eq!(report.totals.held, 2);
    assert_eq!(report.totals.wrong_verdict, 1);
    assert_eq!(report.wrong_verdicts().count(), 1);
    let statuses = &h.seen.lock().unwrap().statuses;
    assert!(
        statuses.iter().all(|s| s.inputs.closed),
        "the barrier never moved"
    );
}

#[tokio::test]
async fn misreads_substitute_one_confusion_and_what_was_sent_is_recorded() {
    let h = harness(Policy::allowing(&[]), 500).await;
    let mut spec = truck("闽G80251");
    spec.reads = 4;
    spec.misread_rate = 1.0;
    let (id, _) = h.traffic.queue(spec).unwrap();
    let report = h.done().await;
    let v = report.vehicle(id).unwrap();
    assert_eq!(v.shots.len(), 4);
    assert_eq!(report.totals.misreads, 4);
    let received: Vec<Option<String>> = h
        .posts
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.plate.clone())
        .collect();
    let sent: Vec<Option<String>> = v.shots.iter().map(|s| s.plate.clone()).collect();
    assert_eq!(sent, received, "the record is what the controller got");
    for shot in &v.shots {
        assert_eq!(shot.kind, ShotKind::Misread);
        assert!(shot.confidence < 0.92);
        let wrong = shot.plate.as_deref().unwrap();
        let diffs: Vec<(char, char)> = "闽G80251"
            .chars()
            .zip(wrong.chars())
            .filter(|(a, b)| a != b)
            .collect();
        assert_eq!(diffs.len(), 1, "{wrong}");
        assert!(confusions(diffs[0].0).contains(&diffs[0].1), "{wrong}");
    }
}

#[tokio::test]
async fn no_reads_are_sent_as_no_plate() {
    let h = harness(Policy::allowing(&[]), 500).await;
    let mut spec = truck("闽G80251");
    spec.no_read_rate = 1.0;
    let (id, _) = h.traffic.queue(spec).unwrap();
    let report = h.done().await;
    let v = report.vehicle(id).unwrap();
    assert!(
        v.shots
            .iter()
            .all(|s| s.kind == ShotKind::NoRead && s.plate.is_none())
    );
    assert!(h.posts.lock().unwrap().iter().all(|p| p.plate.is_none()));
    assert_eq!(report.totals.no_reads, 2);
}

#[tokio::test]
async fn the_barrier_position_gates_passage() {
    let mut policy = Policy::allowing(&["闽G12345"]);
    policy.release = Arc::new(AtomicBool::new(false));
    let release = policy.release.clone();
    let h = harness(policy, 30_000).await;
    let (id, _) = h.traffic.queue(truck("闽G12345").entitled(true)).unwrap();
    // The vehicle has sent its reads and waits at the closed barrier.
    let deadline = Instant::now() + PATIENCE;
    while h.traffic.vehicle(id).unwrap().state != VehicleState::Waiting {
        assert!(Instant::now() < deadline, "never waited at the barrier");
        sleep(Duration::from_millis(20)).await;
    }
    // Watch the controller's view for twenty polls: the truck stays before the arm.
    let polls = h.seen.lock().unwrap().statuses.len();
    while h.seen.lock().unwrap().statuses.len() < polls + 20 {
        assert!(Instant::now() < deadline, "the controller stopped polling");
        sleep(CONTROLLER_POLL).await;
    }
    let v = h.traffic.vehicle(id).unwrap();
    assert!(!v.left && v.opened.is_none(), "{v:#?}");
    let statuses = h.seen.lock().unwrap().statuses.clone();
    assert!(
        statuses[polls..]
            .iter()
            .all(|s| s.inputs.loop_before && !s.inputs.loop_after)
    );
    let released_at = Instant::now();
    release.store(true, Ordering::SeqCst);
    let v = h.traffic.wait_vehicle(id, PATIENCE).await.unwrap();
    assert!(v.left);
    let report = h.traffic.report();
    let opened = report.lanes[0]
        .barrier
        .iter()
        .find(|e| e.kind == "opened")
        .expect("the barrier opened");
    assert!(
        opened.at.ms <= v.opened.unwrap().ms,
        "passed only once fully open"
    );
    assert!(h.seen.lock().unwrap().opens[0] >= released_at);
    // Whatever the controller saw: never a truck past the arm unless it was fully open.
    let statuses = &h.seen.lock().unwrap().statuses;
    assert!(
        statuses
            .iter()
            .all(|s| !s.inputs.loop_after || s.inputs.open),
        "a vehicle passed a barrier that was not fully open"
    );
}

#[tokio::test]
async fn latency_runs_from_the_last_shot_to_the_open_command() {
    let mut policy = Policy::allowing(&["闽G12345"]);
    policy.reads = 3;
    policy.open_delay = Duration::from_millis(400);
    let h = harness(policy, 20_000).await;
    let mut spec = truck("闽G12345").entitled(true);
    spec.reads = 3;
    let (id, _) = h.traffic.queue(spec).unwrap();
    let report = h.done().await;
    let v = report.vehicle(id).unwrap();
    let (last, open) = (v.last_shot.unwrap(), v.open_command.unwrap());
    assert_eq!(v.shots.last().unwrap().sent, last);
    let latency = v.latency_ms.unwrap();
    assert!((latency - (open.ms - last.ms)).abs() < 0.01);
    assert!((400.0..2_500.0).contains(&latency), "latency {latency} ms");
    let started = report.lanes[0]
        .barrier
        .iter()
        .find(|e| e.kind == "open_started")
        .unwrap();
    assert_eq!(started.at, open, "the command as the gate I/O obeyed it");
    assert_eq!(report.totals.latency_ms.p50, Some(latency));
}

#[tokio::test]
async fn a_tailgater_goes_through_the_same_opening() {
    let h = harness(Policy::allowing(&["闽G12345"]), 20_000).await;
    let mut follower = truck("闽G54321");
    follower.tailgate = true;
    let ids = h
        .traffic
        .queue_all([truck("闽G12345").entitled(true), follower])
        .unwrap();
    let report = h.done().await;
    let (first, second) = (
        report.vehicle(ids[0]).unwrap(),
        report.vehicle(ids[1]).unwrap(),
    );
    assert!(first.left && first.open_command.is_some());
    assert!(second.left && second.tailgate, "{second:#?}");
    assert!(second.open_command.is_none(), "no open command of its own");
    assert!(second.arrived.unwrap().ms < first.left_at.unwrap().ms);
    assert_eq!(second.verdict_correct, Some(false));
    assert_eq!(report.totals.tailgates, 1);
    assert_eq!(report.totals.closed_on_occupied_loop, 0);
    let opens = report.lanes[0]
        .barrier
        .iter()
        .filter(|e| e.kind == "open_started")
        .count();
    assert_eq!(opens, 1, "one opening for two vehicles");
}

/// Gate lanes without a controller: every vehicle is held after a short patience.
const GATE_SCENARIO: &str = r#"
name = "gates"
[traffic]
seed = 5
[traffic.generate]
per_lane = 1
entitled_rate = 0.0

[[gate]]
id = "G1"
direction = "out"
io_listen = "127.0.0.1:0"
weighbridge_listen = "127.0.0.1:0"
[gate.timing]
barrier_travel_ms = 300
settle_ms = 200
patience_ms = 400
headway_ms = 50
poll_ms = 10

[[vehicle]]
plate = "闽G12345"
true_weight_kg = 30000
entitled = true

[[vehicle]]
plate = "闽G67890"
true_weight_kg = 20000
"#;

#[tokio::test]
async fn a_site_with_gate_lanes_serves_their_ground_truth_and_finishes_with_its_vehicles() {
    let scenario = customs_edge_simulators::Scenario::from_toml(GATE_SCENARIO).unwrap();
    let config = customs_edge_simulators::SimConfig {
        scenario: Some(scenario),
        ..customs_edge_simulators::SimConfig::default()
    };
    let sim = customs_edge_simulators::start(config, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(sim.gates.len(), 1);
    assert!(sim.gates[0].weighbridge.is_some() && sim.gates[0].camera_url.is_none());
    let http = reqwest::Client::new();
    let base = format!("http://{}", sim.http);
    let queued = http
        .post(format!("{base}/gates/vehicles"))
        .body(r#"{"plate": "闽G24680", "true_weight_kg": 25000}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status(), 201);
    let bad = http
        .post(format!("{base}/gates/vehicles"))
        .body(r#"{"plate": "闽G24680", "true_weight_kg": 1, "lane": "G9"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    tokio::time::timeout(PATIENCE, sim.finished())
        .await
        .expect("the run ends once the vehicles are done");
    let report: GateReport = http
        .get(format!("{base}/gates/report"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(report.finished);
    let t = &report.totals;
    assert_eq!((t.vehicles, t.held, t.left, t.wrong_verdict), (4, 4, 0, 1));
    assert_eq!(report.wrong_verdicts().next().unwrap().plate, "闽G12345");
    let full = sim.site().site_report();
    let json = serde_json::to_value(&full).unwrap();
    assert_eq!(json["gates"]["totals"]["vehicles"], 4);
    assert!(
        json["summary"].is_object(),
        "the lines' report stays at the top level"
    );
    sim.finish(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test]
async fn edge_sim_judges_the_gates_and_exits_1_on_a_wrong_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("gates.toml");
    std::fs::write(&scenario, GATE_SCENARIO).unwrap();
    let report_file = dir.path().join("report.json");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_edge-sim"))
        .args(["--scenario", scenario.to_str().unwrap(), "--base-port", "0"])
        .args(["--print-addresses-json", "--report-file"])
        .arg(&report_file)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(PATIENCE, child)
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let addresses: serde_json::Value =
        serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(addresses["gates"][0]["id"], "G1");
    assert!(stdout.contains("wrong_verdict=1"), "{stdout}");
    let text = std::fs::read_to_string(&report_file).unwrap();
    let full = customs_edge_simulators::report::SiteReport::from_json(&text).unwrap();
    let gates = full.gates.expect("the gates' ground truth");
    assert_eq!((gates.totals.vehicles, gates.totals.held), (3, 3));
    assert!(full.lines.finished);
    let _: customs_edge_simulators::Report = serde_json::from_str(&text).unwrap();
}

#[tokio::test]
async fn a_truck_that_leaves_with_held_or_unsorted_goods_is_a_custody_escape() {
    let h = harness(
        Policy::allowing(&["闽G12345", "闽G23456", "闽G34567"]),
        20_000,
    )
    .await;
    let custody = customs_edge_simulators::custody::Custody::new(Vec::new());
    custody.pack("ZB1", vec!["SF1".into(), "SF2".into()]);
    custody.pack("ZB2", vec!["SF3".into()]);
    h.traffic.set_custody(custody.clone());
    // Customs held SF2 after it was packed; SF9 was never sorted here.
    custody.hold("SF2");
    let ids = h
        .traffic
        .queue_all([
            truck("闽G12345")
                .entitled(true)
                .loaded(vec!["ZB1".into()], Vec::new()),
            truck("闽G23456")
                .entitled(true)
                .loaded(vec!["ZB2".into()], vec!["SF9".into()]),
            truck("闽G34567")
                .entitled(true)
                .loaded(vec!["ZB2".into()], vec!["SF3".into()]),
        ])
        .unwrap();
    let report = h.done().await;
    let held = report.vehicle(ids[0]).unwrap();
    assert!(held.left && held.custody_escape, "{held:#?}");
    assert_eq!(held.verdict_correct, Some(false));
    assert_eq!(held.custody_problems, ["bag ZB1 carries held parcel SF2"]);
    let unsorted = report.vehicle(ids[1]).unwrap();
    assert_eq!(
        unsorted.custody_problems,
        ["waybill SF9 was never sorted into a release lane"]
    );
    let clean = report.vehicle(ids[2]).unwrap();
    assert!(clean.left && !clean.custody_escape, "{clean:#?}");
    assert_eq!(clean.verdict_correct, Some(true));
    let t = &report.totals;
    assert_eq!((t.custody_escapes, t.wrong_verdict), (2, 2));
}
