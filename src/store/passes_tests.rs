use customs_edge_protocol::downlink::ExitPermit;

use super::*;
use crate::store::Store;

fn permit(no: &str, plate: &str, status: i32) -> ExitPermit {
    ExitPermit {
        permit_no: no.into(),
        vehicle_no: plate.into(),
        vehicle_weight: None,
        frame_weight: None,
        container_no: None,
        container_weight: None,
        total_gross_weight: Some(30_000.0),
        status,
        items: Vec::new(),
    }
}

fn new_pass(direction: &'static str, verdict: PassVerdict, permit_no: Option<&str>) -> NewPass {
    NewPass {
        site: "3511W001".into(),
        gate_id: "K1".into(),
        direction,
        plate: Some("闽G12345".into()),
        permit_no: permit_no.map(str::to_owned),
        weight_kg: Some(30_100.0),
        weight_stable: true,
        verdict,
        reasons: vec![
            serde_json::json!({"code": "permit_approved", "zh": "核放单已审批 请通行", "detail": "x"}),
        ],
        led_text: "闽G12345 核放单已审批 请通行".into(),
        override_by: None,
        consensus: serde_json::json!({"reads": []}),
        evidence: Vec::new(),
        arrivals: Vec::new(),
        at: crate::store::now(),
    }
}

async fn store_with_permits(permits: Vec<ExitPermit>) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .writer
        .write(move |tx| {
            crate::store::outbox::configure(tx, true, 1 << 30)?;
            for p in &permits {
                crate::store::downlink::upsert_permit(tx, p, &crate::store::now())?;
            }
            Ok(())
        })
        .await
        .unwrap();
    (dir, store)
}

fn outbox_kinds(store: &Store) -> Vec<String> {
    store
        .reader
        .read_blocking(|c| {
            let mut stmt =
                c.prepare("SELECT kind FROM outbox WHERE stream = 'gate' ORDER BY seq")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<String>, _>>()?)
        })
        .unwrap()
}

#[tokio::test]
async fn a_release_marks_the_permit_passed_and_goes_uplink_in_one_transaction() {
    let (_dir, store) = store_with_permits(vec![
        permit("HF1", "闽G12345", permit_status::APPROVED),
        permit("HF2", "闽G12345", permit_status::APPLIED),
    ])
    .await;
    let p = new_pass("out", PassVerdict::Released, Some("HF1"));
    let id = store
        .writer
        .write(move |tx| record_pass(tx, &p))
        .await
        .unwrap();
    let permits = store
        .reader
        .read_blocking(|c| permits_for_plate(c, "闽G12345"))
        .unwrap();
    let status = |no: &str| permits.iter().find(|p| p.permit_no == no).unwrap().status;
    assert_eq!(status("HF1"), permit_status::PASSED);
    assert_eq!(
        status("HF2"),
        permit_status::APPLIED,
        "only the matched permit moves"
    );
    assert_eq!(outbox_kinds(&store), ["gate_pass"]);
    let view = store
        .reader
        .read_blocking(move |c| pass(c, id))
        .unwrap()
        .unwrap();
    assert_eq!(view.verdict, "released");
    assert_eq!(view.reasons[0]["code"], "permit_approved");
    assert!(
        store
            .reader
            .read_blocking(approved_plates)
            .unwrap()
            .is_empty(),
        "a used permit no longer resolves misreads"
    );
}

#[tokio::test]
async fn a_refusal_leaves_the_permit_alone_and_is_still_reported() {
    let (_dir, store) =
        store_with_permits(vec![permit("HF1", "闽G12345", permit_status::APPROVED)]).await;
    let p = new_pass("out", PassVerdict::Refused, Some("HF1"));
    store
        .writer
        .write(move |tx| record_pass(tx, &p))
        .await
        .unwrap();
    let permits = store
        .reader
        .read_blocking(|c| permits_for_plate(c, "闽G12345"))
        .unwrap();
    assert_eq!(permits[0].status, permit_status::APPROVED);
    assert_eq!(outbox_kinds(&store), ["gate_pass"]);
}

#[tokio::test]
async fn an_override_is_audited_with_who_and_why() {
    let (_dir, store) = store_with_permits(Vec::new()).await;
    let mut p = new_pass("out", PassVerdict::Override, None);
    p.override_by = Some((
        "zhang.wei".into(),
        "customs officer on site checked the seal".into(),
    ));
    let id = store
        .writer
        .write(move |tx| record_pass(tx, &p))
        .await
        .unwrap();
    let (actor, action, detail): (String, String, String) = store
        .reader
        .read_blocking(|c| {
            Ok(c.query_row(
                "SELECT actor, action, detail FROM audit_log ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .unwrap();
    assert_eq!(actor, "zhang.wei");
    assert_eq!(action, "gate_override");
    assert!(detail.contains("checked the seal"), "{detail}");
    let view = store
        .reader
        .read_blocking(move |c| pass(c, id))
        .unwrap()
        .unwrap();
    assert_eq!(view.override_by.as_deref(), Some("zhang.wei"));
}

#[tokio::test]
async fn an_entry_sends_the_arrival_report_too() {
    let (_dir, store) = store_with_permits(Vec::new()).await;
    let p = new_pass("in", PassVerdict::Released, None);
    store
        .writer
        .write(move |tx| record_pass(tx, &p))
        .await
        .unwrap();
    assert_eq!(outbox_kinds(&store), ["gate_pass", "arrival"]);
}

#[tokio::test]
async fn cleared_passes_record_the_vehicles_through_the_opening() {
    let (_dir, store) = store_with_permits(Vec::new()).await;
    let p = new_pass("out", PassVerdict::Released, None);
    let id = store
        .writer
        .write(move |tx| record_pass(tx, &p))
        .await
        .unwrap();
    store
        .writer
        .write(move |tx| mark_cleared(tx, id, 2, "2026-11-27T08:00:05Z"))
        .await
        .unwrap();
    let recent = store
        .reader
        .read_blocking(|c| recent_passes(c, Some("K1"), 10))
        .unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].vehicles, Some(2));
    assert_eq!(
        recent[0].cleared_at.as_deref(),
        Some("2026-11-27T08:00:05Z")
    );
    assert!(
        store
            .reader
            .read_blocking(|c| recent_passes(c, Some("K2"), 10))
            .unwrap()
            .is_empty()
    );
}
