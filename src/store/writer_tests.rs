//! The writer's two classes: control work ahead of a bulk backlog, the order within each
//! class, and failures that fail a batch and never the writer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::*;

/// A writer on a fresh database with one table `t (class, n)`.
fn writer() -> (tempfile::TempDir, Writer, StoreStatus) {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join("w.db")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    conn.execute_batch(
        "CREATE TABLE t (class TEXT NOT NULL, n INTEGER NOT NULL);
         CREATE TABLE parent (id INTEGER PRIMARY KEY);
         CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
    )
    .unwrap();
    let status = StoreStatus::default();
    let writer = Writer::spawn(conn, status.clone());
    (dir, writer, status)
}

fn insert(tx: &Transaction<'_>, class: &str, n: usize) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO t (class, n) VALUES (?1, ?2)",
        (class, n as i64),
    )?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_write_queued_behind_a_bulk_backlog_commits_before_the_backlog_is_done() {
    const BACKLOG: usize = 100;
    let (_dir, writer, _) = writer();
    let done = Arc::new(AtomicUsize::new(0));
    let mut bulk = Vec::new();
    for i in 0..BACKLOG {
        let (w, done) = (writer.clone(), done.clone());
        // Queued in order, each a long bulk operation (10 ms: the backlog is 1 s).
        bulk.push(tokio::spawn(async move {
            w.write_bulk(move |tx| {
                std::thread::sleep(Duration::from_millis(10));
                insert(tx, "bulk", i)?;
                done.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
            .await
        }));
    }
    // Wait until the backlog is being worked through.
    while done.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let d = done.clone();
    let ran_before = writer
        .write(move |tx| {
            insert(tx, "control", 0)?;
            Ok(d.load(Ordering::SeqCst))
        })
        .await
        .unwrap();
    let committed_with = done.load(Ordering::SeqCst);
    assert!(
        committed_with < BACKLOG / 2,
        "the control write committed after {committed_with} of {BACKLOG} bulk operations \
         (it ran after {ran_before}): it waited behind the backlog"
    );
    for b in bulk {
        b.await.unwrap().unwrap();
    }
    assert_eq!(
        done.load(Ordering::SeqCst),
        BACKLOG,
        "the backlog still all commits"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_work_still_moves_while_control_work_keeps_coming() {
    let (_dir, writer, _) = writer();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut control = Vec::new();
    for _ in 0..4 {
        let (w, stop) = (writer.clone(), stop.clone());
        control.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                w.write(move |tx| insert(tx, "control", n)).await.unwrap();
                n += 1;
            }
        }));
    }
    for i in 0..20 {
        writer
            .write_bulk(move |tx| insert(tx, "bulk", i))
            .await
            .unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    for c in control {
        c.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_class_commits_in_the_order_it_was_queued() {
    let (_dir, writer, _) = writer();
    let order = Arc::new(Mutex::new(Vec::<(&'static str, usize)>::new()));
    let record = |class: &'static str, n: usize| {
        let order = order.clone();
        move |tx: &Transaction<'_>| {
            order.lock().unwrap().push((class, n));
            if class == "bulk" {
                std::thread::sleep(Duration::from_millis(2));
            }
            insert(tx, class, n)
        }
    };
    // Bulk writes queued in order (a join polls its futures in order, each queues at its
    // first poll), with readings submitted without waiting in between.
    let mut readings = Vec::new();
    let bulk = (0..20).map(|i| writer.write_bulk(record("bulk", i)));
    let bulk = futures_util::future::join_all(bulk);
    tokio::pin!(bulk);
    // Start the bulk futures (they queue), then submit the control readings.
    assert!(futures_util::poll!(bulk.as_mut()).is_pending());
    for i in 0..20 {
        readings.push(writer.submit(record("control", i)).await.unwrap());
    }
    // The decision's commit covers every reading queued before it.
    writer.write(record("control", 20)).await.unwrap();
    for (i, r) in readings.iter_mut().enumerate() {
        assert!(
            matches!(r.try_committed(), Some(Ok(()))),
            "reading {i} is committed once the later control write is"
        );
    }
    for r in bulk.await {
        r.unwrap();
    }
    let order = order.lock().unwrap().clone();
    for class in ["control", "bulk"] {
        let ns: Vec<usize> = order
            .iter()
            .filter(|(c, _)| *c == class)
            .map(|(_, n)| *n)
            .collect();
        let mut sorted = ns.clone();
        sorted.sort_unstable();
        assert_eq!(
            ns, sorted,
            "{class} writes ran in the order they were queued"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_bulk_write_fails_alone_and_a_failed_commit_fails_its_batch_not_the_writer() {
    let (_dir, writer, status) = writer();
    // An operation that fails rolls back alone; its neighbours commit.
    let failed = writer
        .write_bulk(|tx| {
            insert(tx, "bulk", 1)?;
            Err::<(), _>(StoreError::Invalid("on purpose".into()))
        })
        .await;
    assert!(matches!(failed, Err(StoreError::Invalid(_))), "{failed:?}");
    // A commit that fails (a deferred foreign key broken): the batch fails, and says why.
    let broken = writer
        .write_bulk(|tx| {
            tx.execute("INSERT INTO child (p) VALUES (42)", [])?;
            Ok(())
        })
        .await;
    assert!(
        matches!(&broken, Err(StoreError::CommitFailed(why)) if why.contains("FOREIGN KEY")),
        "{broken:?}"
    );
    assert!(status.commit_failing(), "the failed commit is reported");
    // The writer goes on, for both classes.
    writer.write(|tx| insert(tx, "control", 2)).await.unwrap();
    writer.write_bulk(|tx| insert(tx, "bulk", 3)).await.unwrap();
    let rows: Vec<(String, i64)> = writer
        .write(|tx| {
            let mut stmt = tx.prepare("SELECT class, n FROM t ORDER BY n")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    assert_eq!(
        rows,
        [("control".to_owned(), 2), ("bulk".to_owned(), 3)],
        "the failed writes left nothing"
    );
}

#[tokio::test]
async fn a_bulk_write_to_the_outbox_tells_the_publisher_and_the_pulse_beats() {
    let dir = tempfile::tempdir().unwrap();
    let store = super::super::Store::open(dir.path()).unwrap();
    let mut commits = store.writer.outbox_commits();
    let before = *commits.borrow_and_update();
    store
        .writer
        .write_bulk(|tx| {
            super::super::outbox::configure(tx, true, 1 << 20)?;
            super::super::outbox::enqueue(
                tx,
                customs_edge_protocol::uplink::Stream::Health,
                "test",
                &serde_json::json!({}),
            )?;
            Ok(())
        })
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), commits.changed())
        .await
        .expect("told within 5 s")
        .unwrap();
    assert_ne!(*commits.borrow(), before);
    assert!(
        store.writer.pulse().last().is_some(),
        "the writer beats its pulse"
    );
}
