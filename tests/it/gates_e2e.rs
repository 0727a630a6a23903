//! Truck gates end to end: simulated lanes (loops, a physical barrier, a weighbridge that
//! settles with noise, plate cameras posting Hikvision and Dahua events with Digest and
//! Basic auth) against the running controller. The simulator's ground truth says whether
//! each truck left and what the LED showed; the store says what was recorded.

use crate::common;

use std::time::Duration;

use common::gate_site::{
    GateSite, OPERATOR, OPERATOR_TOKEN, PLATE_8, PLATE_A, PLATE_B, dahua_basic, hik_digest, permit,
    relaxed_timing, start_gate_site, truck,
};
use common::platform::{
    SITE, platform_config, start_platform, validate_everything_applied, wait_ledger,
};
use common::wait_for;
use customs_edge_simulators::broker::Broker;

fn pass_rows(site: &GateSite) -> Vec<Vec<serde_json::Value>> {
    site.query(
        "SELECT plate, permit_no, verdict, led_text, reasons, override_by, override_reason, weight_kg, cleared_at
         FROM gate_passes ORDER BY id",
    )
}

fn permit_status(site: &GateSite, no: &str) -> i64 {
    site.query(&format!(
        "SELECT status FROM exit_permits WHERE permit_no = '{no}'"
    ))[0][0]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_truck_leaves_its_permit_is_used_and_the_platform_hears_of_it() {
    let broker = Broker::start();
    let platform = start_platform(&broker).await;
    let site = start_gate_site(
        &[hik_digest(), dahua_basic()],
        relaxed_timing(),
        vec![
            permit("HF001", PLATE_A, 1, 30_000.0),
            permit("HF002", PLATE_B, 1, 18_000.0),
        ],
        |c| c.platform = Some(platform_config(&broker, "")),
    )
    .await;
    let a = site
        .drive(truck(PLATE_A, 30_150, "K1").entitled(true))
        .await;
    let b = site
        .drive(truck(PLATE_B, 17_900, "K2").entitled(true))
        .await;
    for v in [&a, &b] {
        assert!(v.left, "{v:#?}");
        assert_eq!(v.verdict_correct, Some(true));
        assert!(
            v.led_texts
                .iter()
                .any(|t| t.ends_with("核放单已审批 请通行")),
            "{:?}",
            v.led_texts
        );
    }
    assert_eq!(permit_status(&site, "HF001"), 2, "permit passed");
    assert_eq!(permit_status(&site, "HF002"), 2, "permit passed");
    // Both passes are recorded with their snapshots, and each truck cleared the loop.
    let rows = wait_for("both passes cleared", Duration::from_secs(30), || async {
        let rows = pass_rows(&site);
        (rows.len() == 2 && rows.iter().all(|r| !r[8].is_null())).then_some(rows)
    })
    .await;
    assert_eq!(rows[0][0], PLATE_A);
    assert_eq!(rows[0][1], "HF001");
    assert_eq!(rows[0][2], "released");
    let snapshots = site.query(
        "SELECT COUNT(*) FROM evidence_links l JOIN evidence e ON e.id = l.evidence_id
         WHERE l.record_kind = 'gate_pass' AND e.kind = 'plate_snapshot'",
    );
    assert!(snapshots[0][0].as_i64().unwrap() >= 2, "{snapshots:?}");
    // The platform applied both gate passes, once each.
    let ledger = wait_ledger(&platform, "two gate passes", Duration::from_secs(30), |l| {
        l.sites
            .get(SITE)
            .and_then(|s| s.streams.get("gate"))
            .is_some_and(|g| g.applied >= 2)
    })
    .await;
    assert_eq!(ledger.totals.applied_twice, 0);
    let passes: Vec<_> = platform
        .applied(SITE, "gate")
        .into_iter()
        .filter(|m| m.kind == "gate_pass")
        .map(|m| {
            (
                m.body["plate"].clone(),
                m.body["verdict"].clone(),
                m.body["permit_no"].clone(),
            )
        })
        .collect();
    assert_eq!(
        passes,
        [
            (PLATE_A.into(), "released".into(), "HF001".into()),
            (PLATE_B.into(), "released".into(), "HF002".into())
        ]
    );
    validate_everything_applied(&platform);
    // The barrier never came down on the truck.
    assert_eq!(site.traffic.report().totals.closed_on_occupied_loop, 0);
    site.stop().await;
    platform.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_permit_a_voided_one_or_a_used_one_keeps_the_barrier_down_and_the_led_says_why() {
    let mut timing = relaxed_timing();
    timing.patience_ms = 6_000;
    let site = start_gate_site(
        &[hik_digest()],
        timing,
        vec![
            permit("HF-VOID", PLATE_B, 6, 20_000.0),
            permit("HF-USED", PLATE_8, 2, 20_000.0),
        ],
        |_| {},
    )
    .await;
    for (plate, why) in [
        (PLATE_A, "无核放单"),
        (PLATE_B, "核放单已作废"),
        (PLATE_8, "核放单已使用"),
    ] {
        let v = site.drive(truck(plate, 20_000, "K1")).await;
        assert!(v.held && !v.left, "{v:#?}");
        assert_eq!(v.verdict_correct, Some(true));
        assert!(
            v.led_texts.iter().any(|t| t == &format!("{plate} {why}")),
            "{plate}: {:?}",
            v.led_texts
        );
    }
    let rows = pass_rows(&site);
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r[2] == "refused"), "{rows:?}");
    assert_eq!(
        permit_status(&site, "HF-VOID"),
        6,
        "a refusal changes no permit"
    );
    let report = site.traffic.report();
    assert!(
        report.lanes[0]
            .barrier
            .iter()
            .all(|b| b.kind != "open_started"),
        "the barrier never moved: {:?}",
        report.lanes[0].barrier
    );
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_8_read_as_b_is_resolved_to_the_permit_plate_and_recorded() {
    let site = start_gate_site(
        &[dahua_basic()],
        relaxed_timing(),
        vec![permit("HF008", PLATE_8, 1, 25_000.0)],
        |_| {},
    )
    .await;
    let mut spec = truck(PLATE_8, 25_100, "K2").entitled(true);
    spec.misread_rate = 1.0;
    spec.reads = 2;
    let v = site.drive(spec).await;
    assert!(v.left, "{v:#?}");
    assert!(
        v.shots
            .iter()
            .all(|s| s.plate.as_deref() == Some("闽GBH3K7")),
        "every read was the misread: {:?}",
        v.shots
    );
    let rows = pass_rows(&site);
    assert_eq!(rows[0][0], PLATE_8, "the pass carries the permit's plate");
    assert_eq!(rows[0][1], "HF008");
    let reasons = rows[0][4].as_str().unwrap();
    assert!(reasons.contains("plate_confusion_resolved"), "{reasons}");
    assert!(
        reasons.contains("闽GBH3K7"),
        "the read that was resolved: {reasons}"
    );
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truck_out_of_weight_tolerance_is_held_and_an_override_lets_it_out_audited() {
    let mut timing = relaxed_timing();
    timing.patience_ms = 40_000;
    let site = start_gate_site(
        &[hik_digest()],
        timing,
        vec![permit("HF-W", PLATE_A, 1, 30_000.0)],
        |_| {},
    )
    .await;
    // 3 % of 30 t is 900 kg: 2 t over is held.
    let (id, _) = site
        .traffic
        .queue(truck(PLATE_A, 32_000, "K1"))
        .expect("queued");
    let held = wait_for(
        "the truck held for its weight",
        Duration::from_secs(60),
        || async {
            let lanes = site.lanes().await;
            (lanes["lanes"][0]["phase"] == "held").then_some(lanes)
        },
    )
    .await;
    assert_eq!(held["lanes"][0]["led_text"], format!("{PLATE_A} 重量不符"));
    // Overrides need an operator's token and a reason.
    let (status, body) = site
        .override_gate("K1", "not-a-token", "checked by hand")
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = site.override_gate("K1", OPERATOR_TOKEN, " ").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = site
        .override_gate("K9", OPERATOR_TOKEN, "checked by hand")
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = site
        .override_gate("K1", OPERATOR_TOKEN, "重量差为备用轮胎，现场查验无误")
        .await;
    assert_eq!(status, 200, "{body}");
    let v = site
        .traffic
        .wait_vehicle(id, Duration::from_secs(60))
        .await
        .expect("the truck went");
    assert!(v.left, "{v:#?}");
    let rows = pass_rows(&site);
    assert_eq!(rows.len(), 2, "the refusal and the override: {rows:?}");
    assert_eq!(rows[0][2], "refused");
    assert!(rows[0][4].as_str().unwrap().contains("weight_mismatch"));
    assert_eq!(rows[1][2], "override");
    assert_eq!(rows[1][5], OPERATOR);
    assert_eq!(rows[1][6], "重量差为备用轮胎，现场查验无误");
    let audit =
        site.query("SELECT actor, action, detail FROM audit_log WHERE action = 'gate_override'");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0][0], OPERATOR);
    assert!(audit[0][2].as_str().unwrap().contains("备用轮胎"));
    assert_eq!(
        permit_status(&site, "HF-W"),
        2,
        "the goods left under the permit"
    );
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_plate_camera_leaves_the_truck_waiting_for_a_manual_decision() {
    let mut timing = relaxed_timing();
    timing.patience_ms = 15_000;
    let site = start_gate_site(
        &[hik_digest()],
        timing,
        vec![permit("HF-S", PLATE_A, 1, 30_000.0)],
        |c| c.gates[0].plate_wait_s = 3.0,
    )
    .await;
    let mut spec = truck(PLATE_A, 30_000, "K1").entitled(false);
    spec.reads = 0;
    let v = site.drive(spec).await;
    assert!(v.held && !v.left, "never opened on a guess: {v:#?}");
    assert!(
        v.led_texts
            .iter()
            .any(|t| t == "未收到车牌识别 请等待人工处理"),
        "{:?}",
        v.led_texts
    );
    let rows = pass_rows(&site);
    assert_eq!(rows[0][2], "refused");
    assert!(
        rows[0][4]
            .as_str()
            .unwrap()
            .contains("manual_decision_needed")
    );
    assert_eq!(
        permit_status(&site, "HF-S"),
        1,
        "the permit is still unused"
    );
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_plate_events_get_400_and_disturb_nothing() {
    let site = start_gate_site(
        &[dahua_basic()],
        relaxed_timing(),
        vec![permit("HF-M", PLATE_A, 1, 30_000.0)],
        |_| {},
    )
    .await;
    let url = format!(
        "http://{}/cameras/CAM-K2/events",
        site.controller.gates.as_ref().unwrap().camera_addr
    );
    let post = |content_type: &'static str, body: Vec<u8>| {
        site.http
            .post(&url)
            .basic_auth(
                common::gate_site::CAMERA_USER,
                Some(common::gate_site::CAMERA_PASSWORD),
            )
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let huge = format!(
        r#"{{"Picture":{{"Plate":{{"PlateNumber":"{PLATE_A}","Confidence":90}},"NormalPic":{{"Content":"{}"}}}}}}"#,
        "A".repeat(6 * 1024 * 1024)
    );
    for (what, content_type, body) in [
        (
            "bad XML",
            "application/xml",
            b"<EventNotificationAlert><ANPR>".to_vec(),
        ),
        ("bad JSON", "application/json", b"{\"Picture\": {".to_vec()),
        ("wrong content type", "text/plain", b"plate=123".to_vec()),
        ("oversized image", "application/json", huge.into_bytes()),
    ] {
        let res = post(content_type, body).await.expect(what);
        assert_eq!(res.status().as_u16(), 400, "{what}");
        let body: serde_json::Value = res.json().await.expect(what);
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {body}"
        );
    }
    let lanes = site.lanes().await;
    assert_eq!(lanes["lanes"][0]["phase"], "idle", "no truck came of it");
    assert!(
        site.query("SELECT id FROM gate_passes").is_empty(),
        "nothing recorded"
    );
    // The lane still works.
    let v = site
        .drive(truck(PLATE_A, 30_000, "K2").entitled(true))
        .await;
    assert!(v.left, "{v:#?}");
    let rejected: u64 = site.lanes().await["cameras"]["rejected"]
        .as_object()
        .expect("rejections by reason")
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(rejected, 4);
    site.stop().await;
}
