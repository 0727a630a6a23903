//! Backups and restores of a store in use, damaged backups, and the evidence purge racing
//! a backup.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::evidence::{EvidenceKind, EvidenceStore};
use crate::store::evidence_rows::{self, Origin, RECORD_PARCEL};
use crate::store::{Store, append_audit, now, parcels};

/// A store with `n` parcels, each with an evidence file and an audit entry.
async fn store_with_parcels(dir: &Path, n: u16) -> Store {
    let store = Store::open(dir).unwrap();
    let kept = EvidenceStore::new(dir);
    for i in 1..=n {
        let file = kept
            .keep_bytes(
                format!("view {i}").as_bytes(),
                Path::new("v.bin"),
                EvidenceKind::XrayView,
            )
            .unwrap();
        store
            .writer
            .write(move |tx| {
                let parcel = parcels::insert_entry(tx, "L1", i, &now(), 400)?;
                let id = evidence_rows::insert(tx, &file, Origin::default(), &now())?;
                evidence_rows::link(tx, id, RECORD_PARCEL, parcel, None)?;
                append_audit(
                    tx,
                    &now(),
                    "op.li",
                    "test",
                    &format!("parcel:{parcel}"),
                    &serde_json::json!({}),
                )?;
                Ok(())
            })
            .await
            .unwrap();
    }
    store
}

fn count(db: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_the_store_is_written_restores_to_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = store_with_parcels(&data, 20).await;
    // The writer keeps committing for the whole backup.
    let stop = CancellationToken::new();
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.is_cancelled() {
                store
                    .writer
                    .write(|tx| {
                        tx.execute(
                            "INSERT INTO rejected_inputs (at, source, reason, payload) VALUES (?1, 'load', 'test', zeroblob(2000))",
                            [now()],
                        )?;
                        Ok(())
                    })
                    .await
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let target = dir.path().join("backup");
    let options = Options {
        pages_per_step: 2,
        pause: Duration::from_millis(1),
        ..Options::default()
    };
    let (data2, target2) = (data.clone(), target.clone());
    let manifest =
        tokio::task::spawn_blocking(move || backup(&data2, &target2, &options, &mut |_| {}))
            .await
            .unwrap()
            .unwrap();
    stop.cancel();
    assert!(writer.await.unwrap() > 10, "the writer kept going");

    assert_eq!(manifest.counts["parcels"], 20);
    assert_eq!(manifest.evidence.files, 20);
    assert_eq!(manifest.evidence.linked, 20, "same filesystem: linked");
    assert_eq!(manifest.database.audit_entries, 20);
    assert!(target.join(MANIFEST_FILE).is_file() && target.join(README_FILE).is_file());
    let snapshot_rows = manifest.counts["rejected_inputs"];
    assert_eq!(
        count(&target.join(DB_FILE), "rejected_inputs"),
        snapshot_rows
    );

    let restored = dir.path().join("restored");
    let report = restore(&target, &restored, &mut |_| {}).unwrap();
    assert!(report.replaced.is_none());
    let db = restored.join(DB_FILE);
    assert_eq!(count(&db, "parcels"), 20);
    assert_eq!(count(&db, "rejected_inputs"), snapshot_rows);
    for file in &manifest.files {
        assert!(restored.join(&file.path).is_file(), "{}", file.path);
    }
    let reopened = Store::open(&restored).unwrap();
    drop(reopened);
}

#[tokio::test]
async fn a_backup_goes_only_into_an_empty_directory_and_reuses_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _store = store_with_parcels(&data, 3).await;
    let first = dir.path().join("first");
    backup(&data, &first, &Options::default(), &mut |_| {}).unwrap();
    let err = backup(&data, &first, &Options::default(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, BackupError::TargetNotEmpty(_)), "{err}");
    let options = Options {
        reuse: Some(first.clone()),
        ..Options::default()
    };
    let second = backup(&data, &dir.path().join("second"), &options, &mut |_| {}).unwrap();
    assert_eq!(second.evidence.reused, 3);
    assert_eq!(second.evidence.linked + second.evidence.copied, 0);
}

#[tokio::test]
async fn restore_refuses_a_store_in_use_and_keeps_what_it_replaces_aside() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = store_with_parcels(&data, 2).await;
    let target = dir.path().join("backup");
    backup(&data, &target, &Options::default(), &mut |_| {}).unwrap();

    let live = dir.path().join("live");
    let in_use = store_with_parcels(&live, 5).await;
    let err = restore(&target, &live, &mut |_| {}).unwrap_err();
    assert!(matches!(err, BackupError::Locked(_)), "{err}");
    assert!(err.to_string().contains("has the store open"), "{err}");
    drop(in_use);

    let report = restore(&target, &live, &mut |_| {}).unwrap();
    let aside = report.replaced.expect("the old store is kept aside");
    assert_eq!(count(&aside.join(DB_FILE), "parcels"), 5);
    assert!(aside.join("evidence").is_dir());
    assert_eq!(count(&live.join(DB_FILE), "parcels"), 2);
    drop(store);
}

#[tokio::test]
async fn a_damaged_backup_is_refused_before_anything_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _store = store_with_parcels(&data, 2).await;
    let target = dir.path().join("backup");
    let manifest = backup(&data, &target, &Options::default(), &mut |_| {}).unwrap();
    // A copy, not the hard link the data directory shares.
    let victim = target.join(&manifest.files[1].path);
    std::fs::remove_file(&victim).unwrap();
    std::fs::write(&victim, b"tampered").unwrap();

    let live = dir.path().join("live");
    drop(store_with_parcels(&live, 4).await);
    let err = restore(&target, &live, &mut |_| {}).unwrap_err();
    assert!(matches!(err, BackupError::Checksum { .. }), "{err}");
    assert_eq!(count(&live.join(DB_FILE), "parcels"), 4, "nothing replaced");
    let leftovers: Vec<_> = std::fs::read_dir(&live)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".restore") || n.starts_with("replaced"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn evidence_purged_after_the_snapshot_leaves_the_copy_and_missing_evidence_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = store_with_parcels(&data, 3).await;
    let target = dir.path().join("backup");
    std::fs::create_dir(&target).unwrap();
    let source_path = data.join(DB_FILE);
    let source = snapshot::open_source(&source_path).unwrap();
    let options = Options::default();
    snapshot::copy_database(
        &source,
        &source_path,
        &target.join(DB_FILE),
        100,
        Duration::ZERO,
        &options.cancel,
        &mut |_| {},
    )
    .unwrap();
    // After the snapshot: the purge takes evidence 1 (row and file); file 2 vanishes.
    let (p1, p2): (String, String) = store
        .writer
        .write(|tx| {
            let path = |id: i64| {
                tx.query_row("SELECT path FROM evidence WHERE id = ?1", [id], |r| {
                    r.get::<_, String>(0)
                })
            };
            let (p1, p2) = (path(1)?, path(2)?);
            tx.execute("DELETE FROM evidence_links WHERE evidence_id = 1", [])?;
            tx.execute("DELETE FROM evidence WHERE id = 1", [])?;
            Ok((p1, p2))
        })
        .await
        .unwrap();
    std::fs::remove_file(data.join(&p1)).unwrap();
    std::fs::remove_file(data.join(&p2)).unwrap();

    let (summary, files, purged) =
        copy_evidence(&source, &source_path, &data, &target, &options, &mut |_| {}).unwrap();
    assert_eq!(purged, [1]);
    assert_eq!(summary.purged_during_backup, 1);
    assert_eq!(files.len(), 1);
    assert_eq!(summary.unusable.len(), 1);
    assert_eq!(summary.unusable[0].path, p2);
    assert!(summary.unusable[0].reason.contains("missing"));
    snapshot::forget_purged(&target.join(DB_FILE), &purged).unwrap();
    assert_eq!(count(&target.join(DB_FILE), "evidence"), 2);
    assert_eq!(count(&target.join(DB_FILE), "evidence_links"), 2);
}
