//! Local storage: SQLite on disk in WAL mode.
//!
//! - Numbered migrations in `migrations/` are applied at start; when one is pending on an
//!   existing database, a consistent copy is written next to it first (`VACUUM INTO`).
//! - All writes go through one writer thread ([`Writer`]) that batches whatever is queued
//!   into one transaction, each operation in its own savepoint so one failing write never
//!   takes its neighbours down. A write's future resolves only after its batch committed:
//!   that is the point at which anything else may hear of the record.
//! - Reads run on a small pool of read-only connections ([`Reader`]) off the async threads.

pub mod audit;
mod reader;
pub mod status;
mod writer;

pub mod accounts;
pub mod alarms;
pub mod arrivals;
pub mod downlink;
pub mod evidence;
pub mod gates;
pub mod inspections;
pub mod instructions;
pub mod manifests;
pub mod outbox;
pub mod parcel_search;
pub mod parcels;
pub mod retention;
pub mod stats;

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

pub use audit::append_audit;
pub use reader::Reader;
pub use status::{Shed, StoreHealth, StoreStatus};
pub use writer::{Submitted, Writer};

/// The database file name inside the data directory.
pub const DB_FILE: &str = "customs-edge.db";

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// The data directory could not be used.
    #[error("data directory {}: {source}", dir.display())]
    DataDir {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The batch this write was part of did not commit.
    #[error("commit failed: {0}")]
    CommitFailed(String),
    /// A write that breaks a rule of the records (a flag without a reason, …).
    #[error("{0}")]
    Invalid(String),
    /// A record that must exist does not.
    #[error("{0} not found")]
    NotFound(String),
    /// The writer thread has stopped (the controller is shutting down).
    #[error("the store writer has stopped")]
    WriterGone,
}

/// The schema migrations, numbered by position: never edit one that has shipped, add the next.
const MIGRATION_STEPS: &[M<'static>] = &[
    M::up(include_str!("migrations/001_initial.sql")),
    M::up(include_str!("migrations/002_line_inputs.sql")),
    M::up(include_str!("migrations/003_platform_sync.sql")),
    M::up(include_str!("migrations/004_gate_loop.sql")),
    M::up(include_str!("migrations/005_expected_arrivals.sql")),
    M::up(include_str!("migrations/006_evidence_retention.sql")),
    M::up(include_str!("migrations/007_accounts.sql")),
    M::up(include_str!("migrations/008_inspection_results.sql")),
    M::up(include_str!("migrations/009_gate_passes_at.sql")),
];

fn migrations() -> Migrations<'static> {
    Migrations::from_slice(MIGRATION_STEPS)
}

/// The open store: one writer and a pool of readers on the same file.
#[derive(Clone, Debug)]
pub struct Store {
    /// Where all writes go.
    pub writer: Writer,
    /// Where reads come from.
    pub reader: Reader,
    path: PathBuf,
    /// Whether commits succeed, and what is shed for want of disk.
    status: StoreStatus,
    /// Keeps the background checkpointer running; it stops when the last clone is gone.
    _checkpointer: std::sync::Arc<std::sync::mpsc::SyncSender<()>>,
}

impl Store {
    /// Open (creating if needed) the database in `data_dir` and bring its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            dir: data_dir.to_owned(),
            source,
        })?;
        let path = data_dir.join(DB_FILE);
        let mut conn = Connection::open(&path)?;
        configure(&conn)?;
        let migrations = migrations();
        let pending = migrations.pending_migrations(&conn)?;
        if pending > 0 && has_tables(&conn)? {
            backup(&conn, &path)?;
        }
        migrations.to_latest(&mut conn)?;
        // Checkpoints: a background connection copies the WAL into the database every
        // CHECKPOINT_EVERY, off the writer, so a commit never waits for thousands of pages to
        // be copied (that wait was most of the decision's tail latency). SQLite's automatic
        // checkpoint stays on in the writer: with the copying done, it has only the last few
        // frames left, and completing it is what lets the writer start the WAL over (a
        // checkpointer alone never catches up exactly at a writer's BEGIN, and the WAL grew
        // by 1.7 GB a minute).
        let checkpointer = spawn_checkpointer(&path)?;
        let reader = Reader::open(&path, reader::POOL_SIZE)?;
        let status = StoreStatus::default();
        let writer = Writer::spawn(conn, status.clone());
        Ok(Self {
            writer,
            reader,
            path,
            status,
            _checkpointer: std::sync::Arc::new(checkpointer),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether commits succeed, and what is shed for want of disk.
    pub fn status(&self) -> &StoreStatus {
        &self.status
    }
}

/// How often the background checkpointer copies the WAL into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// Start the background checkpointer; it runs until the returned sender is dropped.
fn spawn_checkpointer(path: &Path) -> Result<std::sync::mpsc::SyncSender<()>, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<()>(0);
    std::thread::Builder::new()
        .name("store-checkpoint".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                rx.recv_timeout(CHECKPOINT_EVERY)
            {
                // PASSIVE: copies what no reader needs, never waits for the writer.
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::debug!(error = %e, "background checkpoint");
                }
            }
        })
        .map_err(|source| StoreError::DataDir {
            dir: path.to_owned(),
            source,
        })?;
    Ok(tx)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

fn has_tables(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Write a consistent copy of the database before migrating it.
fn backup(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let target = path.with_file_name(format!("{DB_FILE}.v{version}.{stamp}.bak"));
    tracing::info!(backup = %target.display(), version, "schema migration pending; backing up the database first");
    conn.execute("VACUUM INTO ?1", [target.to_string_lossy()])?;
    Ok(())
}

/// Current time as stored: RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    timestamp(chrono::Utc::now())
}

/// Beijing time, UTC+8 all year: what the consoles, exports and burned frames show.
pub fn beijing() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Format a time as stored.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
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
                        if fail { Err(StoreError::NotFound("on purpose".into())) } else { Ok(()) }
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
                let mut stmt =
                    conn.prepare("SELECT source FROM rejected_inputs ORDER BY source")?;
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
}
