//! Backups of the store, taken while the controller runs, and putting one back.
//!
//! - [`backup`] (`customs-edge backup --to DIR`): the database through SQLite's online
//!   backup API as one snapshot ([`snapshot`]), the evidence files its records refer to
//!   (linked or copied, each checked against its SHA-256: [`files`]), the copy checked
//!   (`PRAGMA integrity_check`, the audit chain), then `manifest.json` and `README.txt`
//!   ([`manifest`]) so the directory says what it is.
//! - [`restore()`] (`customs-edge restore --from DIR`): refuses while anything has the
//!   store open, verifies everything, and only then swaps the backup in, keeping what it
//!   replaces aside ([`restore`](mod@restore)).
//! - [`schedule`]: backups from `[backup]` inside the controller, the newest `keep` kept,
//!   an alarm while they fail.
//!
//! Thumbnails are not backed up: the consoles make them again on first request.

mod files;
mod manifest;
mod restore;
pub mod schedule;
mod snapshot;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use files::sha256_file;
pub use manifest::{
    DatabaseEntry, EvidenceSummary, FORMAT, FORMAT_VERSION, FileEntry, MANIFEST_FILE, Manifest,
    README_FILE, Unusable,
};
pub use restore::{RestoreReport, restore};

use crate::store::DB_FILE;
use crate::store::lock::{DataDirLock, LockError};
use files::Placed;

/// Why a backup or a restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The backup would mix with files already there.
    #[error("{} is not empty: a backup goes into a new or empty directory", .0.display())]
    TargetNotEmpty(PathBuf),
    /// There is no store to back up.
    #[error("no database at {}", .0.display())]
    NoDatabase(PathBuf),
    /// A file operation failed.
    #[error("{}: {op}: {source}", path.display())]
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error("{what} ({}): {source}", path.display())]
    Sqlite {
        /// What was being done.
        what: &'static str,
        /// The database.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// `PRAGMA integrity_check` found problems.
    #[error("{}: PRAGMA integrity_check failed: {report}", path.display())]
    Integrity {
        /// The database.
        path: PathBuf,
        /// What it said (the first problems).
        report: String,
    },
    /// The audit log's hash chain is broken.
    #[error("{}: the audit log is broken at entry {id}: {problem}", path.display())]
    AuditBroken {
        /// The database.
        path: PathBuf,
        /// The first entry that does not fit.
        id: i64,
        /// What does not match.
        problem: String,
    },
    /// A file's content is not what it should be.
    #[error("{}: SHA-256 is {found}, expected {expected}", path.display())]
    Checksum {
        /// The copied file, in the backup.
        path: PathBuf,
        /// What the manifest or the file's name says.
        expected: String,
        /// What it is.
        found: String,
    },
    /// The manifest is missing or unusable.
    #[error("{}: {reason}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The backup was made by a newer release.
    #[error(
        "the backup's database has schema version {found}, newer than the {known} this \
         build knows: restore it with the release that made it"
    )]
    TooNew {
        /// Its schema version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// The data directory is in use in a way that excludes this.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// Shutdown came first.
    #[error("cancelled")]
    Cancelled,
}

impl BackupError {
    pub(crate) fn io(path: &Path, op: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |source| Self::Io { path, op, source }
    }

    pub(crate) fn sqlite(what: &'static str, path: &Path) -> impl Fn(rusqlite::Error) -> Self {
        let path = path.to_owned();
        move |source| Self::Sqlite {
            what,
            path: path.clone(),
            source,
        }
    }
}

/// How far a long backup or restore has come, for a progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Database pages copied.
    Database {
        /// Copied so far.
        pages_done: u64,
        /// In the database.
        pages_total: u64,
    },
    /// Evidence files in place.
    Evidence {
        /// Placed so far.
        files_done: u64,
        /// To place.
        files_total: u64,
    },
}

/// How to take a backup.
#[derive(Debug, Clone)]
pub struct Options {
    /// A previous backup to hard-link unchanged evidence from (the newest, for scheduled
    /// backups): only new files are read and written.
    pub reuse: Option<PathBuf>,
    /// Database pages copied per step (4 KiB each).
    pub pages_per_step: i32,
    /// Pause between two steps, so the controller's writer gets the disk.
    pub pause: Duration,
    /// Stops the backup between two steps (the controller shutting down).
    pub cancel: CancellationToken,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            reuse: None,
            pages_per_step: 1024,
            pause: Duration::from_millis(5),
            cancel: CancellationToken::new(),
        }
    }
}

/// Back up the store in `data_dir` into `target` (new or empty). On failure nothing is
/// left in `target`.
pub fn backup(
    data_dir: &Path,
    target: &Path,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Manifest, BackupError> {
    let _lock = DataDirLock::shared(data_dir)?;
    if target.exists() {
        let mut entries = std::fs::read_dir(target).map_err(BackupError::io(target, "read"))?;
        if entries.next().is_some() {
            return Err(BackupError::TargetNotEmpty(target.to_owned()));
        }
    } else {
        std::fs::create_dir_all(target).map_err(BackupError::io(target, "create"))?;
    }
    let result = backup_into(data_dir, target, options, progress);
    if result.is_err() {
        // It was empty: whatever is in it now is this attempt's.
        if let Ok(entries) = std::fs::read_dir(target) {
            for entry in entries.flatten() {
                let path = entry.path();
                let _ = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
            }
        }
    }
    result
}

fn backup_into(
    data_dir: &Path,
    target: &Path,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Manifest, BackupError> {
    let source_path = data_dir.join(DB_FILE);
    let source = snapshot::open_source(&source_path)?;
    let copy = target.join(DB_FILE);
    let snapshot_at = crate::store::now();
    snapshot::copy_database(
        &source,
        &source_path,
        &copy,
        options.pages_per_step,
        options.pause,
        &options.cancel,
        progress,
    )?;
    let (evidence, files, purged) =
        copy_evidence(&source, &source_path, data_dir, target, options, progress)?;
    snapshot::forget_purged(&copy, &purged)?;
    let checked = snapshot::check(&copy)?;
    let database = DatabaseEntry {
        file: DB_FILE.to_owned(),
        bytes: std::fs::metadata(&copy)
            .map_err(BackupError::io(&copy, "stat"))?
            .len(),
        sha256: sha256_file(&copy)?,
        schema_version: checked.schema_version,
        integrity_check: "ok".to_owned(),
        audit_entries: checked.audit_entries,
        audit_head: checked.audit_head,
    };
    let manifest = Manifest {
        format: manifest::FORMAT.to_owned(),
        format_version: manifest::FORMAT_VERSION,
        software: format!("customs-edge {}", env!("CARGO_PKG_VERSION")),
        snapshot_at,
        finished_at: crate::store::now(),
        source_data_dir: std::fs::canonicalize(data_dir)
            .unwrap_or_else(|_| data_dir.to_owned())
            .display()
            .to_string(),
        database,
        counts: checked.counts,
        evidence,
        files,
    };
    files::write_synced(
        &target.join(README_FILE),
        manifest::readme(&manifest).as_bytes(),
    )?;
    manifest.write(target)?;
    if let Ok(dir) = std::fs::File::open(target) {
        let _ = dir.sync_all();
    }
    Ok(manifest)
}

/// Place every evidence file the copy refers to; returns the summary, the files, and the
/// rows the purge removed from the store since the snapshot.
fn copy_evidence(
    source: &rusqlite::Connection,
    source_path: &Path,
    data_dir: &Path,
    target: &Path,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<(EvidenceSummary, Vec<FileEntry>, Vec<i64>), BackupError> {
    let rows = snapshot::evidence_rows(&target.join(DB_FILE))?;
    let total = rows.len() as u64;
    let mut summary = EvidenceSummary::default();
    let (mut entries, mut purged) = (Vec::new(), Vec::new());
    for (i, row) in rows.iter().enumerate() {
        if options.cancel.is_cancelled() {
            return Err(BackupError::Cancelled);
        }
        progress(Progress::Evidence {
            files_done: i as u64,
            files_total: total,
        });
        let rel = Path::new(&row.path);
        if !is_inside(rel) {
            summary.unusable.push(Unusable {
                path: row.path.clone(),
                reason: "its path leaves the data directory".into(),
            });
            continue;
        }
        let src = data_dir.join(rel);
        if !src.exists() {
            if snapshot::still_in_store(source, source_path, row.id)? {
                summary.unusable.push(Unusable {
                    path: row.path.clone(),
                    reason: "missing from the data directory".into(),
                });
            } else {
                purged.push(row.id);
            }
            continue;
        }
        let reuse = options.reuse.as_ref().map(|r| r.join(rel));
        match files::place(&src, &target.join(rel), &row.sha256, reuse.as_deref()) {
            Ok(how) => {
                match how {
                    Placed::Reused => summary.reused += 1,
                    Placed::Linked => summary.linked += 1,
                    Placed::Copied => summary.copied += 1,
                }
                summary.files += 1;
                summary.bytes += row.bytes;
                entries.push(FileEntry {
                    path: row.path.clone(),
                    bytes: row.bytes,
                    sha256: row.sha256.clone(),
                });
            }
            Err(BackupError::Checksum { found, .. }) => summary.unusable.push(Unusable {
                path: row.path.clone(),
                reason: format!("its content hashes to {found}, not to its name"),
            }),
            Err(e) => return Err(e),
        }
    }
    summary.purged_during_backup = purged.len() as u64;
    progress(Progress::Evidence {
        files_done: total,
        files_total: total,
    });
    Ok((summary, entries, purged))
}

/// A relative path that stays below where it is joined (no `..`, no root).
pub(crate) fn is_inside(rel: &Path) -> bool {
    !rel.as_os_str().is_empty()
        && rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

#[cfg(test)]
mod tests;
