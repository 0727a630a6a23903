//! The database part of a backup: a consistent copy of a store that may be in use, and
//! the checks a copy must pass before anyone relies on it.
//!
//! The copy uses SQLite's online backup API from a connection of its own, stepping a few
//! thousand pages at a time with a short pause between steps so the disk is shared with
//! the controller's writer. The source connection holds one read transaction from the
//! first step to the last: in WAL mode that pins a snapshot without blocking the writer
//! (WAL readers never do), and because the snapshot cannot move, SQLite does not restart
//! the copy each time the controller commits — under load it otherwise never finishes.
//! The price is a WAL that cannot be checkpointed past that snapshot until the copy is
//! done; it shrinks back as soon as it is.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use tokio_util::sync::CancellationToken;

use super::{BackupError, Progress};
use crate::audit_cli::{Verdict, verify_chain};

/// What the checks of a copy found.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    /// `PRAGMA user_version`.
    pub schema_version: i64,
    /// Audit entries, chain intact.
    pub audit_entries: u64,
    /// The newest audit hash.
    pub audit_head: String,
    /// Rows per table.
    pub counts: BTreeMap<String, i64>,
}

/// Open the live database for copying: read-write without create (a read-only connection
/// cannot recover a WAL a crashed controller left), never written to.
pub(crate) fn open_source(path: &Path) -> Result<Connection, BackupError> {
    if !path.is_file() {
        return Err(BackupError::NoDatabase(path.to_owned()));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(BackupError::sqlite("opening the database", path))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(BackupError::sqlite("setting the busy timeout", path))?;
    Ok(conn)
}

/// Copy the database `source` into a new file `dest`, in steps of `pages`, as one
/// snapshot. The copy is left in rollback-journal mode: one self-contained file.
pub(crate) fn copy_database(
    source: &Connection,
    source_path: &Path,
    dest: &Path,
    pages: i32,
    pause: Duration,
    cancel: &CancellationToken,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), BackupError> {
    let sql = BackupError::sqlite("copying the database", source_path);
    // Pin the snapshot: every step reads the same one.
    source.execute_batch("BEGIN").map_err(&sql)?;
    source
        .query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .map_err(&sql)?;
    let result = step_all(source, source_path, dest, pages, pause, cancel, progress);
    let _ = source.execute_batch("COMMIT");
    result?;
    let copy = Connection::open(dest).map_err(BackupError::sqlite("opening the copy", dest))?;
    copy.pragma_update(None, "journal_mode", "DELETE")
        .map_err(BackupError::sqlite("leaving WAL mode in the copy", dest))?;
    Ok(())
}

fn step_all(
    source: &Connection,
    source_path: &Path,
    dest: &Path,
    pages: i32,
    pause: Duration,
    cancel: &CancellationToken,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), BackupError> {
    let mut copy =
        Connection::open(dest).map_err(BackupError::sqlite("creating the copy", dest))?;
    let backup = Backup::new(source, &mut copy).map_err(BackupError::sqlite(
        "starting the online backup",
        source_path,
    ))?;
    loop {
        if cancel.is_cancelled() {
            return Err(BackupError::Cancelled);
        }
        let step = backup
            .step(pages)
            .map_err(BackupError::sqlite("copying database pages", source_path))?;
        let p = backup.progress();
        let total = u64::try_from(p.pagecount).unwrap_or(0);
        let remaining = u64::try_from(p.remaining).unwrap_or(0);
        progress(Progress::Database {
            pages_done: total.saturating_sub(remaining),
            pages_total: total,
        });
        match step {
            StepResult::Done => return Ok(()),
            // More to copy, or the source is busy for a moment: give the writer the disk.
            _ => std::thread::sleep(pause),
        }
    }
}

/// Check a copy: `PRAGMA integrity_check` (every page, every index), the audit chain, and
/// count its records.
pub(crate) fn check(path: &Path) -> Result<Checked, BackupError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(BackupError::sqlite("opening the copy", path))?;
    let sql = BackupError::sqlite("checking the copy", path);
    let report: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(&sql)?;
    if report != ["ok"] {
        return Err(BackupError::Integrity {
            path: path.to_owned(),
            report: report.into_iter().take(20).collect::<Vec<_>>().join("; "),
        });
    }
    let (audit_entries, audit_head) = match verify_chain(&conn).map_err(&sql)? {
        Verdict::Intact { entries, head } => (entries, head),
        Verdict::Broken { id, problem, .. } => {
            return Err(BackupError::AuditBroken {
                path: path.to_owned(),
                id,
                problem,
            });
        }
    };
    let schema_version = crate::store::user_version(&conn).map_err(&sql)?;
    Ok(Checked {
        schema_version,
        audit_entries,
        audit_head,
        counts: counts(&conn).map_err(&sql)?,
    })
}

/// Rows of every table, by name (whatever tables later migrations add).
pub(crate) fn counts(conn: &Connection) -> rusqlite::Result<BTreeMap<String, i64>> {
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    tables
        .into_iter()
        .map(|t| {
            let n = conn.query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))?;
            Ok((t, n))
        })
        .collect()
}

/// One evidence row of a copy.
#[derive(Debug, Clone)]
pub(crate) struct EvidenceRow {
    pub id: i64,
    pub sha256: String,
    pub path: String,
    pub bytes: u64,
}

/// Every evidence row of the copy (thumbnails are not evidence: they are made again).
pub(crate) fn evidence_rows(copy: &Path) -> Result<Vec<EvidenceRow>, BackupError> {
    let conn = Connection::open_with_flags(copy, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(BackupError::sqlite("opening the copy", copy))?;
    conn.prepare("SELECT id, sha256, path, bytes FROM evidence ORDER BY id")
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(EvidenceRow {
                    id: r.get(0)?,
                    sha256: r.get(1)?,
                    path: r.get(2)?,
                    bytes: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                })
            })?
            .collect()
        })
        .map_err(BackupError::sqlite(
            "listing the evidence of the copy",
            copy,
        ))
}

/// Whether the live store still has evidence row `id` (the purge may have taken it since
/// the snapshot).
pub(crate) fn still_in_store(
    source: &Connection,
    source_path: &Path,
    id: i64,
) -> Result<bool, BackupError> {
    source
        .prepare_cached("SELECT 1 FROM evidence WHERE id = ?1")
        .and_then(|mut s| s.exists([id]))
        .map_err(BackupError::sqlite(
            "looking up evidence in the store",
            source_path,
        ))
}

/// Take evidence rows the purge removed after the snapshot out of the copy, as the purge
/// did in the store.
pub(crate) fn forget_purged(copy: &Path, ids: &[i64]) -> Result<(), BackupError> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut conn = Connection::open(copy).map_err(BackupError::sqlite("opening the copy", copy))?;
    let sql = BackupError::sqlite("removing purged evidence from the copy", copy);
    let tx = conn.transaction().map_err(&sql)?;
    for id in ids {
        tx.execute("DELETE FROM evidence_links WHERE evidence_id = ?1", [id])
            .map_err(&sql)?;
        tx.execute("DELETE FROM evidence WHERE id = ?1", [id])
            .map_err(&sql)?;
    }
    tx.commit().map_err(&sql)
}
