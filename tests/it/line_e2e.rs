//! The whole sorting line — two scanners, the dynamic scale, the X-ray feed — against the
//! simulated line over real sockets. The simulator's ground truth (the lane each parcel
//! physically fell into) is what these tests assert; the controller's records must say why.

use crate::common;

use std::time::Duration;

use common::{list_weighing, start_full_site};
use customs_edge::sorting::waybill::InstructionKind;
use customs_edge::store::instructions::{self, OfficerFlag};
use serde_json::{Value, json};

const RELEASE: u64 = 1;
const INSPECTION: u64 = 2;
const EXCEPTION: u64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_of_the_brief_sends_parcels_to_the_right_lane() {
    let site = start_full_site(vec![
        list_weighing("SF6000000001", 800, 1.0),
        list_weighing("SF6000000002", 120, 1.0),
        list_weighing("SF6000000003", 100, 1.0),
        list_weighing("SF6000000004", 500, 1.0),
        list_weighing("SF6000000005", 800, 1.0),
        list_weighing("SF6000000006", 800, 1.0),
        list_weighing("SF6000000007", 800, 1.0),
    ])
    .await;
    site.instruct("SF6000000005", InstructionKind::Inspect)
        .await;

    let cases: Vec<(&str, Value, u64, &str)> = vec![
        (
            "released",
            json!({"code": "SF6000000001", "weight_kg": 1.02}),
            RELEASE,
            "released",
        ),
        (
            "not yet released",
            json!({"code": "SF6000000002", "weight_kg": 1.0}),
            EXCEPTION,
            "status_not_released:120",
        ),
        (
            "rejected by customs",
            json!({"code": "SF6000000003", "weight_kg": 1.0}),
            EXCEPTION,
            "status_not_released:100",
        ),
        (
            "unknown waybill",
            json!({"code": "SF6999999999", "weight_kg": 1.0}),
            EXCEPTION,
            "manifest_not_found",
        ),
        (
            "no read",
            json!({"code": "SF6000000001", "no_read": true}),
            EXCEPTION,
            "no_read",
        ),
        (
            "conflicting codes",
            json!({"code": "SF6000000006", "conflict": "SF6000000007"}),
            EXCEPTION,
            "read_conflict",
        ),
        (
            "inspection status",
            json!({"code": "SF6000000004", "weight_kg": 1.0}),
            INSPECTION,
            "status_inspection",
        ),
        (
            "inspect instruction",
            json!({"code": "SF6000000005", "weight_kg": 1.0}),
            INSPECTION,
            "instruction_inspect",
        ),
        (
            "weight beyond tolerance",
            json!({"code": "SF6000000007", "weight_kg": 1.6}),
            INSPECTION,
            "weight_out_of_tolerance:",
        ),
    ];
    let mut ids = Vec::new();
    for (_, parcel, _, _) in &cases {
        ids.push(site.inject_json(parcel.clone()).await);
    }
    let report = site.wait_dropped(&ids).await;
    let records = site.controller_parcels().await;
    for ((what, _, lane, reason), id) in cases.iter().zip(&ids) {
        let truth = report.parcel(*id).unwrap();
        let record = records
            .iter()
            .find(|r| r["tracking_no"] == json!(truth.tracking_no));
        assert_eq!(
            u64::from(truth.lane.unwrap()),
            *lane,
            "{what}: fell into lane {:?} (left to the PLC default: {}); the controller's record: {record:?}",
            truth.lane,
            truth.defaulted,
        );
        assert!(
            !truth.defaulted,
            "{what}: commanded in time, not left to the PLC default"
        );
        let record = record.unwrap_or_else(|| panic!("{what}: no controller record"));
        let reasons = record["reasons"].as_array().unwrap();
        assert!(
            reasons
                .iter()
                .any(|r| r.as_str().unwrap().starts_with(reason)),
            "{what}: expected reason {reason}, got {reasons:?}"
        );
    }
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_flag_after_the_scan_but_before_the_deadline_sends_the_parcel_to_inspection() {
    let site = start_full_site(vec![list_weighing("SF7000000001", 800, 1.0)]).await;
    let id = site
        .inject_json(json!({"code": "SF7000000001", "weight_kg": 1.0, "dense_object": true}))
        .await;

    // The officer sees the X-ray views of a scanned parcel and flags it.
    let parcel_id = common::wait_for("the parcel's views", Duration::from_secs(30), || async {
        let rows = site.query(
            "SELECT id, decided_at FROM parcels WHERE xray_images >= 2 AND read_status = 'pending'",
        );
        rows.first().map(|r| r[0].as_i64().unwrap())
    })
    .await;
    site.controller
        .store
        .writer
        .write(move |tx| {
            let flag = OfficerFlag {
                parcel_id: Some(parcel_id),
                logistics_no: None,
                officer: "officer-7",
                reason: "dense object in view 2",
            };
            instructions::add_flag(tx, &flag)
        })
        .await
        .unwrap();
    let undecided = site.query(&format!(
        "SELECT decided_at FROM parcels WHERE id = {parcel_id}"
    ));
    assert!(
        undecided[0][0].is_null(),
        "the flag came before the deadline (the test's premise)"
    );

    let report = site.wait_dropped(&[id]).await;
    assert_eq!(
        report.parcel(id).unwrap().lane,
        Some(2),
        "flagged before the deadline: inspection lane"
    );
    let record = site.query(&format!(
        "SELECT reasons FROM parcels WHERE id = {parcel_id}"
    ));
    assert_eq!(record[0][0], json!(r#"["officer_flag"]"#));
    let audited =
        site.query("SELECT actor, action FROM audit_log WHERE action = 'flag_for_inspection'");
    assert_eq!(
        audited,
        vec![vec![json!("officer-7"), json!("flag_for_inspection")]]
    );
    common::wait_for("the views kept as evidence", Duration::from_secs(30), || async {
        let n = site.query(&format!(
            "SELECT count(*) FROM evidence_links WHERE record_kind = 'parcel' AND record_id = {parcel_id}"
        ));
        (n[0][0].as_i64() == Some(2)).then_some(())
    })
    .await;
    // Each view is served as received, and its thumbnail is made on request.
    let views = site.query(&format!(
        "SELECT e.sha256 FROM evidence e JOIN evidence_links l ON l.evidence_id = e.id
         WHERE l.record_kind = 'parcel' AND l.record_id = {parcel_id}"
    ));
    let base = format!("http://{}/api/evidence", site.controller.web_addr);
    for view in &views {
        let sha = view[0].as_str().unwrap();
        let original = site.http.get(format!("{base}/{sha}")).send().await.unwrap();
        assert_eq!(original.headers()["content-type"], "image/png");
        let bytes = original.bytes().await.unwrap();
        assert_eq!(sha256_hex(&bytes), sha, "served as kept");
        let thumb = site
            .http
            .get(format!("{base}/{sha}/thumb"))
            .send()
            .await
            .unwrap();
        assert_eq!(thumb.status(), 200);
        assert_eq!(thumb.headers()["content-type"], "image/jpeg");
        let thumb = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
        assert!(thumb.width() <= 256 && thumb.height() <= 256);
    }
    let missing = site
        .http
        .get(format!("{base}/{}", "0".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let bad = site
        .http
        .get(format!("{base}/not-a-hash/thumb"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_five_second_plc_link_drop_releases_nothing_from_that_window_and_the_line_resumes() {
    let codes: Vec<String> = (0..14).map(|i| format!("SF8{i:011}")).collect();
    let site = start_full_site(codes.iter().map(|c| list_weighing(c, 800, 1.0)).collect()).await;
    let mut ids = Vec::new();
    for code in &codes[..8] {
        ids.push(
            site.inject_json(json!({"code": code, "weight_kg": 1.0}))
                .await,
        );
    }
    // Let the first parcels get going, then cut the PLC link for 5 s.
    common::wait_for("a first parcel sorted", Duration::from_secs(60), || async {
        let report = site.report().await;
        ids.iter()
            .any(|id| report.parcel(*id).and_then(|p| p.lane).is_some())
            .then_some(())
    })
    .await;
    site.fault("plc_link_drop", 5000).await;
    let drop_report = common::wait_for("the link drop to end", Duration::from_secs(60), || async {
        let report = site.report_json().await;
        let ended = report["faults"]
            .as_array()?
            .iter()
            .any(|f| f["kind"] == "plc_link_drop" && f["ended_at"].is_string());
        ended.then_some(report)
    })
    .await;
    // Parcels after the drop: the line resumes by itself.
    for code in &codes[8..] {
        ids.push(
            site.inject_json(json!({"code": code, "weight_kg": 1.0}))
                .await,
        );
    }
    let report = site.wait_dropped(&ids).await;
    let fault = drop_report["faults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "plc_link_drop")
        .unwrap()
        .clone();
    let (started, ended) = (
        fault["started_at"].as_str().unwrap().to_owned(),
        fault["ended_at"].as_str().unwrap().to_owned(),
    );

    let records = site.controller_parcels().await;
    let mut released_after = 0;
    for id in &ids {
        let truth = report.parcel(*id).unwrap();
        let commanded_before_drop = truth.command_at.is_some_and(|t| t.to_rfc3339() < started);
        let entered_after_drop = truth.entered_at.is_some_and(|t| t.to_rfc3339() > ended);
        if truth.lane == Some(1) {
            assert!(
                commanded_before_drop || entered_after_drop,
                "released from the drop window: {truth:?}"
            );
            released_after += usize::from(entered_after_drop);
        }
        if !commanded_before_drop && !entered_after_drop {
            assert_eq!(
                truth.lane,
                Some(3),
                "a parcel of the window must end in the exception lane: {truth:?}"
            );
        }
    }
    assert!(released_after >= 1, "the line resumed releasing by itself");
    assert!(
        records.iter().any(|r| r["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == "tracking_lost")),
        "the controller says why: tracking lost"
    );
    let alarms = site.query("SELECT kind, cleared_at FROM alarms WHERE kind = 'tracking_lost'");
    assert!(
        !alarms.is_empty() && alarms.iter().all(|a| a[1].is_string()),
        "alarm raised and cleared: {alarms:?}"
    );
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_stop_freezes_the_belt_and_parcels_are_still_sorted_right_after_it() {
    let site = start_full_site(vec![
        list_weighing("SF9000000001", 800, 1.0),
        list_weighing("SF9000000002", 120, 1.0),
    ])
    .await;
    let released = site
        .inject_json(json!({"code": "SF9000000001", "weight_kg": 1.0}))
        .await;
    let held = site
        .inject_json(json!({"code": "SF9000000002", "weight_kg": 1.0}))
        .await;
    // Stop the belt while both parcels are on it, between the scanners and the diverter.
    common::wait_for("both parcels scanned", Duration::from_secs(30), || async {
        let report = site.report().await;
        [released, held]
            .iter()
            .all(|id| report.parcel(*id).is_some_and(|p| p.scanned_at.is_some()))
            .then_some(())
    })
    .await;
    site.fault("estop", 3000).await;
    let report = site.wait_dropped(&[released, held]).await;
    assert_eq!(
        report.parcel(released).unwrap().lane,
        Some(1),
        "released after the stop"
    );
    assert_eq!(
        report.parcel(held).unwrap().lane,
        Some(3),
        "held by customs: exception"
    );
    for id in [released, held] {
        assert!(
            !report.parcel(id).unwrap().defaulted,
            "commanded in time despite the stop"
        );
    }
    let alarms = site.query("SELECT kind, cleared_at FROM alarms WHERE kind LIKE 'plc_fault:%'");
    assert!(
        alarms
            .iter()
            .any(|a| a[0] == "plc_fault:emergency_stop" && a[1].is_string()),
        "the e-stop was raised and cleared as an alarm: {alarms:?}"
    );
    site.stop().await;
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}
