//! The store's own tests: migrations and their copies, the writer's batches, the audit log.

use super::*;

#[test]
fn migrations_are_valid() {
    migrations().validate().unwrap();
}

#[test]
fn a_failing_migration_changes_nothing_and_names_the_copy_made_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    let mut conn = Connection::open(&path).unwrap();
    configure(&conn).unwrap();
    migrate(&mut conn, &path, MIGRATION_STEPS).unwrap();
    conn.execute(
        "INSERT INTO rejected_inputs (at, source, reason) VALUES ('t', 'kept', 'test')",
        [],
    )
    .unwrap();
    let mut steps = MIGRATION_STEPS.to_vec();
    steps.push(M::up("CREATE TABLE kept_a (x); CREATE TABLE parcels (x);"));
    let err = migrate(&mut conn, &path, &steps).unwrap_err();
    let StoreError::MigrationFailed(failure) = &err else {
        panic!("expected MigrationFailed, got {err:?}");
    };
    let (Some(copy), from) = (&failure.backup, &failure.from) else {
        panic!("expected a copy: {failure:?}");
    };
    assert_eq!(*from, schema_version());
    assert!(copy.is_file(), "{}", copy.display());
    let message = err.to_string();
    assert!(message.contains(&copy.display().to_string()), "{message}");
    assert!(message.contains("already exists"), "{message}");
    assert_eq!(user_version(&conn).unwrap(), schema_version());
    let kept: i64 = conn
        .query_row(
            "SELECT count(*) FROM rejected_inputs WHERE source = 'kept'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 1);
    let half_done: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'kept_a'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        half_done, 0,
        "the failed migration's first statement is rolled back"
    );
}

#[test]
fn a_database_from_a_newer_release_is_refused_with_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.pragma_update(None, "user_version", schema_version() + 3)
            .unwrap();
    }
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { .. }), "{err:?}");
    assert!(err.to_string().contains("newer release"), "{err}");
}

#[tokio::test]
async fn a_pending_migration_backs_up_the_existing_database_first() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.execute_batch("CREATE TABLE legacy (x INTEGER); INSERT INTO legacy VALUES (42);")
            .unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let backups: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| {
            std::path::Path::new(n)
                .extension()
                .is_some_and(|e| e == "bak")
        })
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let copy = Connection::open(dir.path().join(&backups[0])).unwrap();
    let x: i64 = copy
        .query_row("SELECT x FROM legacy", [], |r| r.get(0))
        .unwrap();
    assert_eq!(x, 42);
    // A second open has nothing pending and makes no new backup.
    drop(store);
    Store::open(dir.path()).unwrap();
    let n = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".bak")
        })
        .count();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_failing_write_rolls_back_alone_and_the_rest_of_its_batch_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let insert = |source: &'static str, fail: bool| {
        let writer = store.writer.clone();
        async move {
            writer
                .write(move |tx| {
                    tx.execute(
                        "INSERT INTO rejected_inputs (at, source, reason) VALUES ('t', ?1, 'test')",
                        [source],
                    )?;
                    if fail {
                        Err(StoreError::NotFound("on purpose".into()))
                    } else {
                        Ok(())
                    }
                })
                .await
        }
    };
    // Queued together, so they share a batch.
    let (a, b, c) = tokio::join!(insert("a", false), insert("b", true), insert("c", false));
    assert!(a.is_ok() && c.is_ok());
    assert!(matches!(b, Err(StoreError::NotFound(_))));
    // A resolved write is committed: a reader sees it at once.
    let mut sources = sources(&store).await;
    sources.sort();
    assert_eq!(sources, ["a", "c"]);
}

#[tokio::test]
async fn the_audit_log_refuses_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .writer
        .write(|tx| append_audit(tx, "t", "op1", "test", "s", &serde_json::json!({})))
        .await
        .unwrap();
    let tamper = store
        .writer
        .write(|tx| Ok(tx.execute("UPDATE audit_log SET actor = 'x'", [])?))
        .await;
    assert!(tamper.unwrap_err().to_string().contains("append-only"));
    let delete = store
        .writer
        .write(|tx| Ok(tx.execute("DELETE FROM audit_log", [])?))
        .await;
    assert!(delete.is_err());
}

/// A write that stops the writer thread inside it until `go` is sent or dropped: what is
/// queued meanwhile waits, so a test can arrange the queues.
async fn stopping_write(
    writer: &Writer,
    source: &'static str,
) -> (std::sync::mpsc::Sender<()>, Submitted<()>) {
    let (running_tx, running) = tokio::sync::oneshot::channel();
    let (go, go_rx) = std::sync::mpsc::channel::<()>();
    let done = writer
        .submit(move |tx| {
            insert_source(tx, source)?;
            let _ = running_tx.send(());
            let _ = go_rx.recv();
            Ok(())
        })
        .await
        .unwrap();
    running.await.expect("the stopping write runs");
    (go, done)
}

fn insert_source(tx: &rusqlite::Transaction<'_>, source: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO rejected_inputs (at, source, reason) VALUES ('t', ?1, 'test')",
        [source],
    )?;
    Ok(())
}

/// The sources in the order they were written.
async fn sources(store: &Store) -> Vec<String> {
    store
        .reader
        .read(|conn| {
            let mut stmt = conn.prepare("SELECT source FROM rejected_inputs ORDER BY rowid")?;
            let rows = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap()
}

/// A control write commits with the rows of `source`'s prefix it saw already written.
async fn control_write(store: &Store, prefix: &'static str) -> Submitted<i64> {
    store
        .writer
        .for_control()
        .submit(move |tx| {
            let seen = tx.query_row(
                "SELECT count(*) FROM rejected_inputs WHERE source LIKE ?1 || '%'",
                [prefix],
                |r| r.get(0),
            )?;
            insert_source(tx, "control")?;
            Ok(seen)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_control_write_commits_before_the_bulk_writes_queued_ahead_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (go, first) = stopping_write(&store.writer, "first").await;
    let mut bulk = Vec::new();
    for i in 0..100 {
        let name = format!("bulk{i:03}");
        bulk.push(
            store
                .writer
                .submit(move |tx| insert_source(tx, &name))
                .await
                .unwrap(),
        );
    }
    let control = control_write(&store, "bulk").await;
    go.send(()).unwrap();
    first.committed().await.unwrap();
    assert_eq!(
        control.committed().await.unwrap(),
        0,
        "no bulk write ran before it"
    );
    for b in bulk {
        b.committed().await.unwrap();
    }
    let order = sources(&store).await;
    assert_eq!(order[..2], ["first", "control"]);
    let expected: Vec<String> = (0..100).map(|i| format!("bulk{i:03}")).collect();
    assert_eq!(order[2..], expected[..], "the bulk writes kept their order");
}

#[tokio::test]
async fn a_batch_of_bulk_writes_stops_for_a_control_write_and_the_rest_keep_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let control_writer = store.writer.for_control();
    // Hold the writer in a control write while the bulk writes queue, so they are all
    // ready when the next batch gathers, and the first of them stops that batch.
    let (go_hold, hold) = stopping_write(&control_writer, "hold").await;
    let (running_tx, running) = tokio::sync::oneshot::channel();
    let (go_first, go_first_rx) = std::sync::mpsc::channel::<()>();
    let first = store
        .writer
        .submit(move |tx| {
            insert_source(tx, "bulk000")?;
            let _ = running_tx.send(());
            let _ = go_first_rx.recv();
            Ok(())
        })
        .await
        .unwrap();
    let mut bulk = Vec::new();
    for i in 1..200 {
        let name = format!("bulk{i:03}");
        bulk.push(
            store
                .writer
                .submit(move |tx| insert_source(tx, &name))
                .await
                .unwrap(),
        );
    }
    go_hold.send(()).unwrap();
    hold.committed().await.unwrap();
    // The batch of bulk writes has begun: the control write arrives in the middle of it.
    running.await.unwrap();
    let control = control_write(&store, "bulk").await;
    go_first.send(()).unwrap();
    assert_eq!(
        control.committed().await.unwrap(),
        1,
        "the control write waited for the bulk write running when it came, no more"
    );
    first.committed().await.unwrap();
    for b in bulk {
        b.committed().await.unwrap();
    }
    let order = sources(&store).await;
    assert_eq!(order[..3], ["hold", "bulk000", "control"]);
    let expected: Vec<String> = (1..200).map(|i| format!("bulk{i:03}")).collect();
    assert_eq!(
        order[3..],
        expected[..],
        "the bulk writes left for later kept their order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bulk_writes_go_on_under_a_flood_of_control_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut flood = Vec::new();
    for _ in 0..6 {
        let writer = store.writer.for_control();
        let stop = stop.clone();
        flood.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                writer
                    .write(|tx| insert_source(tx, "control"))
                    .await
                    .unwrap();
                n += 1;
            }
            n
        }));
    }
    let bulk = async {
        for _ in 0..200 {
            store
                .writer
                .write(|tx| insert_source(tx, "bulk"))
                .await
                .unwrap();
        }
    };
    let finished = tokio::time::timeout(std::time::Duration::from_secs(60), bulk).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut control_writes = 0;
    for task in flood {
        control_writes += task.await.unwrap();
    }
    assert!(
        finished.is_ok(),
        "200 bulk writes did not finish beside {control_writes} control writes"
    );
    assert!(control_writes > 0);
}
