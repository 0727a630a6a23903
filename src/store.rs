//! Local storage: SQLite on disk in WAL mode.
//!
//! - Numbered migrations in `migrations/` are applied at start; when one is pending on an
//!   existing database, a consistent copy is written next to it first (`VACUUM INTO`), and
//!   a migration that fails names that copy. All pending migrations run in one
//!   transaction, so a failure leaves the database as it was.
//! - Whoever has the store open holds a shared lock on the data directory ([`lock`]), so a
//!   restore never replaces it under them.
//! - All writes go through one writer thread ([`Writer`]) that batches whatever is queued
//!   into one transaction, each operation in its own savepoint so one failing write never
//!   takes its neighbours down. A write's future resolves only after its batch committed:
//!   that is the point at which anything else may hear of the record. The control loops'
//!   writes ([`Store::for_control`]) go ahead of the rest.
//! - Reads run on a small pool of read-only connections ([`Reader`]) off the async threads.

pub mod audit;
pub mod bags;
pub mod holds;
mod reader;
pub mod status;
mod writer;

pub mod accounts;
pub mod alarm_history;
pub mod alarms;
pub mod anchors;
pub mod arrivals;
pub mod downlink;
pub mod evidence_rows;
pub mod files;
pub mod handover;
pub mod inspections;
pub mod instructions;
pub mod lock;
pub mod manifests;
pub mod outbox;
pub mod parcel_search;
pub mod parcels;
pub mod passes;
pub mod permit_load;
pub mod purge;
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
    /// Reading the migration state failed.
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// Applying the pending migrations failed; the database is unchanged.
    #[error(transparent)]
    MigrationFailed(Box<MigrationFailure>),
    /// The database was made by a newer release than this build.
    #[error(
        "{} has schema version {found}, newer than the {known} this build knows: it was made \
         by a newer release of customs-edge; run that release, or restore a backup made by \
         this one",
        path.display()
    )]
    TooNew {
        /// The database.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// Another process excludes us from the data directory (a restore in progress).
    #[error(transparent)]
    Locked(#[from] lock::LockError),
    /// The data directory could not be used.
    #[error("data directory {}: {source}", dir.display())]
    DataDir {
        /// The data directory, as configured.
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

/// Pending migrations that failed: nothing was changed (they run in one transaction), and
/// the copy made before is named.
#[derive(Debug, thiserror::Error)]
#[error(
    "migrating {} from schema version {from} to {to} failed: {source}; nothing was changed \
     (the migrations run in one transaction){}",
    path.display(),
    backup.as_ref().map_or_else(String::new, |b| format!(
        "; the copy made before migrating is {}", b.display()
    ))
)]
pub struct MigrationFailure {
    /// The database.
    pub path: PathBuf,
    /// Its schema version before.
    pub from: i64,
    /// The version this build migrates to.
    pub to: i64,
    /// The copy written before migrating (none for a new, empty database).
    pub backup: Option<PathBuf>,
    /// What failed.
    pub source: rusqlite_migration::Error,
}

/// The schema migrations, numbered by position: never edit one that has shipped, add the next.
const MIGRATION_STEPS: &[M<'static>] = &[
    M::up(include_str!("store/migrations/001_initial.sql")),
    M::up(include_str!("store/migrations/002_line_inputs.sql")),
    M::up(include_str!("store/migrations/003_platform_sync.sql")),
    M::up(include_str!("store/migrations/004_gate_loop.sql")),
    M::up(include_str!("store/migrations/005_expected_arrivals.sql")),
    M::up(include_str!("store/migrations/006_evidence_retention.sql")),
    M::up(include_str!("store/migrations/007_accounts.sql")),
    M::up(include_str!("store/migrations/008_inspection_results.sql")),
    M::up(include_str!("store/migrations/009_gate_passes_at.sql")),
    M::up(include_str!("store/migrations/010_holds_and_bags.sql")),
    M::up(include_str!("store/migrations/011_audit_anchors.sql")),
    M::up(include_str!("store/migrations/012_session_handles.sql")),
];

/// The schema migrations of this build (tests migrate in-memory databases with them).
#[cfg(test)]
fn migrations() -> Migrations<'static> {
    Migrations::from_slice(MIGRATION_STEPS)
}

/// The schema version this build migrates every database to.
pub fn schema_version() -> i64 {
    MIGRATION_STEPS.len() as i64
}

/// The schema version a database says it has (`PRAGMA user_version`).
pub fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
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
    /// The shared lock on the data directory, released when the last clone is gone.
    _lock: std::sync::Arc<lock::DataDirLock>,
}

impl Store {
    /// Open (creating if needed) the database in `data_dir` and bring its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        files::create_private_dir(data_dir).map_err(|source| StoreError::DataDir {
            dir: data_dir.to_owned(),
            source,
        })?;
        let dir_lock = lock::DataDirLock::shared(data_dir)?;
        let path = data_dir.join(DB_FILE);
        if !path.exists() {
            // Created owner-only before SQLite opens it; its -wal and -shm files take the
            // database's mode.
            let _ = files::write_private(&path, b"");
        }
        let mut conn = Connection::open(&path)?;
        for file in [
            path.clone(),
            wal_sibling(&path, "-wal"),
            wal_sibling(&path, "-shm"),
        ] {
            if let Err(e) = files::restrict(&file) {
                tracing::warn!(file = %file.display(), error = %e, "cannot make the file owner-only");
            }
        }
        configure(&conn)?;
        migrate(&mut conn, &path, MIGRATION_STEPS)?;
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
            _lock: std::sync::Arc::new(dir_lock),
        })
    }

    /// This store for a control loop (a sorting line, a gate lane): its writes go in the
    /// writer's control queue, ahead of the bulk writes ([`Writer::for_control`]).
    #[must_use]
    pub fn for_control(&self) -> Self {
        Self {
            writer: self.writer.for_control(),
            ..self.clone()
        }
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

/// `path` with `suffix` appended to its file name (`customs-edge.db-wal`).
fn wal_sibling(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
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

/// Bring the database at `path` to the last of `steps`, copying it first when it has
/// records; a failure names the copy.
fn migrate(conn: &mut Connection, path: &Path, steps: &[M<'_>]) -> Result<(), StoreError> {
    let known = steps.len() as i64;
    let from = user_version(conn)?;
    if from > known {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found: from,
            known,
        });
    }
    let migrations = Migrations::from_slice(steps);
    if migrations.pending_migrations(conn)? == 0 {
        return Ok(());
    }
    let backup = if has_tables(conn)? {
        Some(backup(conn, path, from)?)
    } else {
        None
    };
    migrations.to_latest(conn).map_err(|source| {
        StoreError::MigrationFailed(Box::new(MigrationFailure {
            path: path.to_owned(),
            from,
            to: known,
            backup,
            source,
        }))
    })
}

/// Write a consistent copy of the database before migrating it; returns where.
fn backup(conn: &Connection, path: &Path, version: i64) -> Result<PathBuf, StoreError> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let target = path.with_file_name(format!("{DB_FILE}.v{version}.{stamp}.bak"));
    tracing::info!(backup = %target.display(), version, "schema migration pending; backing up the database first");
    conn.execute("VACUUM INTO ?1", [target.to_string_lossy()])?;
    Ok(target)
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
mod tests;
