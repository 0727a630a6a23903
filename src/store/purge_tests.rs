use rusqlite::params;

use super::*;
use crate::store::Store;

const OLD: &str = "2026-01-01T00:00:00Z";
const NEW: &str = "2026-11-27T00:00:00Z";
/// 2026-11-27T12:00:00Z.
const NOW: i64 = 1_795_780_800;
const NINETY_DAYS: i64 = 90 * 86_400;

/// Evidence `name` created at `at`, `bytes` long; its id.
fn evidence(tx: &Transaction<'_>, name: &str, at: &str, bytes: i64) -> i64 {
    tx.execute(
        "INSERT INTO evidence (sha256, kind, path, bytes, created_at) VALUES (?1, 'camera_frame', ?2, ?3, ?4)",
        params![name, format!("evidence/{name}.jpg"), bytes, at],
    )
    .unwrap();
    tx.last_insert_rowid()
}

fn link(tx: &Transaction<'_>, evidence_id: i64, kind: &str, record: i64) {
    tx.execute(
        "INSERT INTO evidence_links (evidence_id, record_kind, record_id, linked_at) VALUES (?1, ?2, ?3, ?4)",
        params![evidence_id, kind, record, OLD],
    )
    .unwrap();
}

fn parcel(tx: &Transaction<'_>, decided: bool, lane_kind: &str, waybill: &str) -> i64 {
    tx.execute(
        "INSERT INTO parcels (line_id, tracking_no, entered_at, decided_at, lane_kind, logistics_no, outcome)
         VALUES ('L1', 1, ?1, ?2, ?3, ?4, 'sorted')",
        params![OLD, decided.then_some(OLD), lane_kind, waybill],
    )
    .unwrap();
    tx.last_insert_rowid()
}

fn pending(tx: &Transaction<'_>, seq: i64, kind: &str, body: &serde_json::Value) {
    tx.execute(
        "INSERT INTO outbox (stream, seq, kind, body, created_at) VALUES ('decisions', ?1, ?2, ?3, ?4)",
        params![seq, kind, body.to_string(), OLD],
    )
    .unwrap();
}

fn remaining(store: &Store) -> Vec<String> {
    store
        .reader
        .read_blocking(|c| {
            let mut stmt = c.prepare("SELECT sha256 FROM evidence ORDER BY sha256")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<String>, _>>()?)
        })
        .unwrap()
}

#[tokio::test]
async fn old_evidence_goes_but_never_what_a_record_still_depends_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let purged = store
        .writer
        .write(|tx| {
            evidence(tx, "a-old-unlinked", OLD, 10);
            evidence(tx, "b-new-unlinked", NEW, 10);
            let e = evidence(tx, "c-old-sorted", OLD, 10);
            let p = parcel(tx, true, "release", "W1");
            link(tx, e, "parcel", p);
            let e = evidence(tx, "d-old-undecided", OLD, 10);
            let p = parcel(tx, false, "release", "W2");
            link(tx, e, "parcel", p);
            let e = evidence(tx, "e-old-inspection", OLD, 10);
            let p = parcel(tx, true, "inspection", "W3");
            link(tx, e, "parcel", p);
            let e = evidence(tx, "f-old-unacked", OLD, 10);
            let p = parcel(tx, true, "release", "W4");
            link(tx, e, "parcel", p);
            pending(tx, 1, "sort_result", &serde_json::json!({ "parcel_id": p }));
            let e = evidence(tx, "g-old-held", OLD, 10);
            let p = parcel(tx, true, "exception", "W5");
            link(tx, e, "parcel", p);
            tx.execute(
                "INSERT INTO customs_instructions (logistics_no, kind, source, issued_at, received_at)
                 VALUES ('W5', 'release', 'x', ?1, ?1), ('W5', 'hold', 'x', ?1, ?1)",
                [OLD],
            )?;
            let e = evidence(tx, "h-old-gate-unacked", OLD, 10);
            link(tx, e, "gate_pass", 7);
            pending(tx, 2, "gate_pass", &serde_json::json!({ "gate_pass_id": 7 }));
            let e = evidence(tx, "i-old-released-after-hold", OLD, 10);
            let p = parcel(tx, true, "release", "W6");
            link(tx, e, "parcel", p);
            tx.execute(
                "INSERT INTO customs_instructions (logistics_no, kind, source, issued_at, received_at)
                 VALUES ('W6', 'hold', 'x', ?1, ?1), ('W6', 'release', 'x', ?1, ?1)",
                [OLD],
            )?;
            let policy = Policy {
                older_than: Some(NINETY_DAYS),
                quota_bytes: None,
                batch: 100,
            };
            purge(tx, &policy, NOW)
        })
        .await
        .unwrap();
    let gone: Vec<_> = purged
        .iter()
        .map(|p| p.path.display().to_string())
        .collect();
    assert_eq!(
        gone,
        [
            "evidence/a-old-unlinked.jpg",
            "evidence/c-old-sorted.jpg",
            "evidence/i-old-released-after-hold.jpg"
        ]
    );
    assert_eq!(
        remaining(&store),
        [
            "b-new-unlinked",
            "d-old-undecided",
            "e-old-inspection",
            "f-old-unacked",
            "g-old-held",
            "h-old-gate-unacked"
        ]
    );
    let links: i64 = store
        .reader
        .read_blocking(
            |c| Ok(c.query_row("SELECT COUNT(*) FROM evidence_links", [], |r| r.get(0))?),
        )
        .unwrap();
    assert_eq!(links, 5, "links of what went are gone, the rest stay");
}

#[tokio::test]
async fn over_quota_the_oldest_go_first_until_it_fits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let purged = store
        .writer
        .write(|tx| {
            evidence(tx, "x1", "2026-11-27T01:00:00Z", 100);
            evidence(tx, "x2", "2026-11-27T02:00:00Z", 100);
            evidence(tx, "x3", "2026-11-27T03:00:00Z", 100);
            let policy = Policy {
                older_than: Some(NINETY_DAYS),
                quota_bytes: Some(150),
                batch: 100,
            };
            purge(tx, &policy, NOW)
        })
        .await
        .unwrap();
    assert_eq!(purged.len(), 2);
    assert_eq!(remaining(&store), ["x3"]);
}
