use std::sync::Arc;

use super::*;
use crate::store::parcels;

fn record(parcel_id: i64, lane_kind: &str) -> Logged {
    Logged {
        parcel_id,
        line_id: "L1".to_owned(),
        tracking_no: 7,
        decided_at: crate::store::now(),
        logistics_no: Some(format!("LP{parcel_id:08}")),
        read_status: "read".to_owned(),
        lane: if lane_kind == "release" { 1 } else { 3 },
        lane_kind: lane_kind.to_owned(),
        reasons_json: "[]".to_owned(),
        inputs_json: r#"{"note":"多行\nvalue"}"#.to_owned(),
        risk_json: "{}".to_owned(),
        ebc_code: None,
        weight_mismatch: false,
    }
}

fn segments(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join(DIR))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(SUFFIX))
        .collect();
    names.sort();
    names
}

/// `log` with segments of two records each.
fn small(log: Arc<DecisionLog>) -> DecisionLog {
    let mut log = Arc::into_inner(log).expect("the only handle");
    let one = serde_json::to_vec(&record(1, "release")).unwrap().len() as u64 + 1;
    log.segment_bytes = 2 * one;
    log
}

#[test]
fn segments_whose_decisions_all_committed_are_deleted() {
    let data = tempfile::tempdir().unwrap();
    let (log, recovered) = DecisionLog::open(data.path()).unwrap();
    assert!(recovered.records.is_empty());
    recovered.done();
    let log = small(log);
    let tickets: Vec<Ticket> = (1..=5)
        .map(|n| log.append(&record(n, "release")).unwrap())
        .collect();
    assert_eq!(
        segments(data.path()).len(),
        3,
        "{:?}",
        segments(data.path())
    );
    for t in tickets {
        log.settled(t, true);
    }
    // Only the segment still appended to is left.
    assert_eq!(segments(data.path()), ["0000000003.jsonl"]);
}

#[test]
fn a_segment_with_a_failed_commit_is_kept_and_recovered_at_the_next_open() {
    let data = tempfile::tempdir().unwrap();
    {
        let (log, recovered) = DecisionLog::open(data.path()).unwrap();
        recovered.done();
        let log = small(log);
        let mut tickets: Vec<Ticket> = (1..=4)
            .map(|n| log.append(&record(n, "release")).unwrap())
            .collect();
        let last = tickets.pop().unwrap();
        let failed = tickets.remove(0);
        for t in tickets {
            log.settled(t, true);
        }
        log.settled(failed, false);
        // Record 4's commit never came (the process ends here).
        drop(last);
    }
    let (_log, recovered) = DecisionLog::open(data.path()).unwrap();
    let ids: Vec<i64> = recovered.records.iter().map(|r| r.parcel_id).collect();
    // The first segment (1, 2) for the failure, the last (3, 4) still open.
    assert_eq!(ids, [1, 2, 3, 4]);
    assert_eq!(recovered.records[0], {
        let mut r = record(1, "release");
        r.decided_at.clone_from(&recovered.records[0].decided_at);
        r
    });
    assert_eq!(recovered.torn, 0);
    recovered.done();
    assert!(segments(data.path()).is_empty());
}

#[test]
fn a_torn_last_line_is_skipped_and_the_records_before_it_recovered() {
    let data = tempfile::tempdir().unwrap();
    {
        let (log, recovered) = DecisionLog::open(data.path()).unwrap();
        recovered.done();
        for n in 1..=3 {
            let _ = log.append(&record(n, "inspection")).unwrap();
        }
    }
    let name = segments(data.path()).pop().unwrap();
    let path = data.path().join(DIR).join(name);
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(br#"{"parcel_id":4,"line_id":"L"#).unwrap();
    let (_log, recovered) = DecisionLog::open(data.path()).unwrap();
    let ids: Vec<i64> = recovered.records.iter().map(|r| r.parcel_id).collect();
    assert_eq!((ids, recovered.torn), (vec![1, 2, 3], 1));
}

#[tokio::test]
async fn a_second_controller_cannot_open_a_log_in_use() {
    let data = tempfile::tempdir().unwrap();
    let (held, _) = DecisionLog::open(data.path()).unwrap();
    let err = DecisionLog::open(data.path()).unwrap_err();
    assert!(matches!(err, LogError::InUse { .. }), "{err}");
    assert!(
        err.to_string().contains("decisions"),
        "names the directory: {err}"
    );
    let waited = std::time::Instant::now();
    let again = DecisionLog::open_waiting(data.path(), std::time::Duration::from_millis(200)).await;
    assert!(again.is_err());
    assert!(waited.elapsed() >= std::time::Duration::from_millis(200));
    // A controller stopping in this process lets go: the next one opens it.
    let holder = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(held);
    });
    let reopened = DecisionLog::open_waiting(data.path(), std::time::Duration::from_secs(10)).await;
    assert!(reopened.is_ok(), "{:?}", reopened.err());
    holder.join().unwrap();
}

#[test]
fn the_log_is_private_to_the_service_user() {
    use std::os::unix::fs::PermissionsExt as _;
    let data = tempfile::tempdir().unwrap();
    let (log, _) = DecisionLog::open(data.path()).unwrap();
    let _ = log.append(&record(1, "release")).unwrap();
    let dir = data.path().join(DIR);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let segment = dir.join(segments(data.path()).pop().unwrap());
    assert_eq!(mode(&segment), 0o600);
}

#[tokio::test]
async fn replay_stores_only_the_decisions_the_store_does_not_have() {
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).unwrap();
    let at = crate::store::now();
    let ids: Vec<i64> = store
        .writer
        .write(move |tx| {
            (1..=2)
                .map(|n| parcels::insert_entry(tx, "L1", n, &at, 300))
                .collect()
        })
        .await
        .unwrap();
    // The first was stored before the crash, as inspection; the second was not.
    let first = record(ids[0], "inspection");
    store
        .writer
        .write(move |tx| parcels::record_decision(tx, &first.row()))
        .await
        .unwrap();
    let records = vec![
        record(ids[0], "release"),
        record(ids[1], "release"),
        record(9_999, "release"),
    ];
    let replayed = replay(&store, records.clone()).await.unwrap();
    assert_eq!(
        replayed,
        Replayed {
            stored: 1,
            known: 1,
            orphaned: 1
        }
    );
    let kinds: Vec<(i64, Option<String>, Option<i64>)> = store
        .reader
        .read(|conn| {
            Ok(conn
                .prepare("SELECT id, lane_kind, lane FROM parcels ORDER BY id")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?)
        })
        .await
        .unwrap();
    assert_eq!(
        kinds,
        [
            (ids[0], Some("inspection".to_owned()), Some(3)),
            (ids[1], Some("release".to_owned()), Some(1)),
        ],
        "the stored decision kept, the missing one stored"
    );
    // Replaying again changes nothing.
    let again = replay(&store, records).await.unwrap();
    assert_eq!((again.stored, again.known), (0, 2));
}
