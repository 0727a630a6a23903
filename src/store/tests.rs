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
    let sources: Vec<String> = store
        .reader
        .read(|conn| {
            let mut stmt = conn.prepare("SELECT source FROM rejected_inputs ORDER BY source")?;
            let rows = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
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
