//! Gates and sessions: operators override a held truck from the console, officers may
//! not, API clients keep their bearer token; `/metrics` carries the gate verdicts.

use std::time::Duration;

use customs_edge_simulators::plate_camera::{CameraAuth, CameraForm};
use customs_edge_simulators::vehicles::VehicleSpec;
use reqwest::StatusCode;
use serde_json::json;

use super::common::gate_site::{GateSite, OPERATOR_TOKEN, permit, relaxed_timing, start_gate_site};
use super::common::{self, wait_for};
use super::support::{Session, anon, start};

const PLATE: &str = "闽G3K7H6";

/// Lane K1 with one permit for [`PLATE`] (`status`: 1 approved, 0 applied for) and a
/// patient truck, the operator `op.sun` and the officer `officer.he`; the console's base URL.
async fn lane_with_desks(permit_status: i32) -> (GateSite, String) {
    let mut timing = relaxed_timing();
    timing.patience_ms = 40_000;
    let lane = common::gate_site::Lane::exit("K1", CameraForm::Hikvision, CameraAuth::Digest);
    let site = start_gate_site(
        &[lane],
        timing,
        vec![permit("HF-S", PLATE, permit_status, 30_000.0)],
        |_| {},
    )
    .await;
    let base = format!("http://{}", site.controller.web_addr);
    let admin = Session::login(&base, common::ADMIN_USER, common::ADMIN_PASSWORD).await;
    admin.create_account("op.sun", "operator").await;
    admin.create_account("officer.he", "officer").await;
    (site, base)
}

/// A truck of `kg` to K1, held (`why`); its vehicle id.
async fn held_truck(site: &GateSite, kg: i32, why: &str) -> u64 {
    let (id, _) = site
        .traffic
        .queue(VehicleSpec::new(PLATE, kg).on_lane("K1"))
        .expect("queued");
    wait_for(why, Duration::from_secs(60), || async {
        (site.lanes().await["lanes"][0]["phase"] == "held").then_some(())
    })
    .await;
    id
}

/// The held truck `id` drove out, and its pass records the override by `by`.
async fn left_overridden_by(site: &GateSite, id: u64, by: &str) {
    let v = site
        .traffic
        .wait_vehicle(id, Duration::from_secs(60))
        .await
        .expect("the truck went");
    assert!(v.left, "{v:#?}");
    let rows = site.query("SELECT override_by FROM gate_passes WHERE verdict = 'override'");
    assert_eq!(rows, vec![vec![json!(by)]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_session_overrides_a_held_truck_and_the_pass_names_them() {
    let (site, base) = lane_with_desks(1).await;
    let id = held_truck(&site, 32_000, "the truck held for its weight").await;
    let reason = json!({ "reason": "备用轮胎，现场查验无误" });
    let officer = Session::login(&base, "officer.he", "officer.he-pass-2026").await;
    assert_eq!(
        officer
            .post("/api/gates/K1/override", reason.clone())
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let operator = Session::login(&base, "op.sun", "op.sun-pass-2026").await;
    let (status, body) = operator
        .post("/api/gates/K1/override", reason.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["by"], "op.sun");
    left_overridden_by(&site, id, "op.sun").await;
    // API clients keep their bearer token (no cookie, no CSRF); a wrong one is refused.
    let (status, _) = site
        .override_gate("K1", "not-a-token", "checked by hand")
        .await;
    assert_eq!(status, 403);
    let (status, body) = site
        .override_gate("K1", OPERATOR_TOKEN, "checked by hand")
        .await;
    assert_eq!(status, 409, "authorised, but no truck waits now: {body}");
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_scraped_without_login_and_carry_the_gate_verdicts() {
    let server = start().await;
    customs_edge::metrics::record_gate_verdict("K1", "release");
    let admin = server.set_up().await;
    assert_eq!(admin.get("/api/parcels").await, StatusCode::OK);
    let res = anon()
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    assert!(
        text.contains("# TYPE customs_edge_gate_verdicts_total counter"),
        "{text}"
    );
    assert!(
        text.contains(r#"customs_edge_gate_verdicts_total{gate="K1",verdict="release"}"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"customs_edge_http_requests_total{route="/api/parcels",method="GET",status="200"}"#
        ),
        "{text}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truck_without_an_approved_permit_leaves_only_with_an_officer_confirming() {
    // Status 0: applied for, not approved.
    let (site, base) = lane_with_desks(0).await;
    let operator = Session::login(&base, "op.sun", "op.sun-pass-2026").await;

    // No truck: nothing to override.
    let reason = json!({ "reason": "司机出示纸质核放单" });
    let (status, body) = operator
        .post("/api/gates/K1/override", reason.clone())
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "an idle lane: {body}");

    let id = held_truck(&site, 30_000, "the truck held for its permit").await;
    let with = |username: &str, password: &str| json!({ "reason": "司机出示纸质核放单", "officer": { "username": username, "password": password } });
    for (body, why) in [
        (reason.clone(), "the operator alone"),
        (
            with("officer.he", "wrong-password-2026"),
            "a wrong officer password",
        ),
        (
            with("op.sun", "op.sun-pass-2026"),
            "the operator as their own officer",
        ),
        (
            with("zhan.admin", common::ADMIN_PASSWORD),
            "an administrator, not an officer",
        ),
    ] {
        let (status, answer) = operator.post("/api/gates/K1/override", body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{why}: {answer}");
    }
    assert_eq!(
        site.lanes().await["lanes"][0]["phase"],
        "held",
        "the barrier stays shut"
    );
    let (status, body) = operator
        .post(
            "/api/gates/K1/override",
            with("officer.he", "officer.he-pass-2026"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["by"], "op.sun");
    assert_eq!(body["confirmed_by"], "officer.he");
    left_overridden_by(&site, id, "op.sun + officer.he").await;
    let audit = site.query(
        "SELECT actor, action FROM audit_log WHERE action IN ('gate_override', 'confirm_override') ORDER BY id",
    );
    assert_eq!(
        audit,
        vec![
            vec![json!("op.sun + officer.he"), json!("gate_override")],
            vec![json!("officer.he"), json!("confirm_override")],
        ],
        "both people are in the audit log"
    );
    site.stop().await;
}
