//! Putting a backup back: nothing in the data directory is touched until the backup has
//! proved itself.
//!
//! 1. The exclusive lock on the data directory: refused while a controller (or any
//!    command) has the store open, and nothing can open it until the restore is done.
//! 2. The manifest; the database's SHA-256; a copy of it staged in the data directory
//!    (`.restore-<time>/`), its checksum again, `PRAGMA integrity_check`, the audit chain
//!    and its head against the manifest; every evidence file staged and checked.
//! 3. Only then: the database (with its `-wal`/`-shm`), `evidence/` and the lines'
//!    decision log (`decisions/`, its records are the replaced database's) in use are moved to
//!    `replaced-<time>/` in the data directory, and the staged ones renamed into place —
//!    renames within one filesystem, so the swap takes no time and needs no extra space.

use std::path::{Path, PathBuf};

use super::files::{copy_synced, place, sha256_file};
use super::{BackupError, Manifest, Progress, snapshot};
use crate::evidence::EVIDENCE_DIR;
use crate::store::DB_FILE;
use crate::store::lock::DataDirLock;

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// The restored backup's manifest.
    pub manifest: Manifest,
    /// Where the data it replaced was moved (none when the data directory had no store).
    pub replaced: Option<PathBuf>,
}

/// Restore the backup in `from` into `data_dir` (made if missing).
pub fn restore(
    from: &Path,
    data_dir: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<RestoreReport, BackupError> {
    let manifest = Manifest::read(from)?;
    std::fs::create_dir_all(data_dir).map_err(BackupError::io(data_dir, "create"))?;
    let _lock = DataDirLock::exclusive(data_dir)?;
    let known = crate::store::schema_version();
    if manifest.database.schema_version > known {
        return Err(BackupError::TooNew {
            found: manifest.database.schema_version,
            known,
        });
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let staging = data_dir.join(format!(".restore-{stamp}"));
    std::fs::create_dir(&staging).map_err(BackupError::io(&staging, "create"))?;
    let staged = stage(from, &staging, &manifest, progress);
    let result = staged.and_then(|()| swap(data_dir, &staging, &stamp));
    let _ = std::fs::remove_dir_all(&staging);
    let replaced = result?;
    if let Ok(dir) = std::fs::File::open(data_dir) {
        let _ = dir.sync_all();
    }
    Ok(RestoreReport { manifest, replaced })
}

/// Copy and verify everything into `staging`.
fn stage(
    from: &Path,
    staging: &Path,
    manifest: &Manifest,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), BackupError> {
    let db = from.join(&manifest.database.file);
    let expect = |path: &Path, found: String| -> Result<(), BackupError> {
        if found == manifest.database.sha256 {
            Ok(())
        } else {
            Err(BackupError::Checksum {
                path: path.to_owned(),
                expected: manifest.database.sha256.clone(),
                found,
            })
        }
    };
    expect(&db, sha256_file(&db)?)?;
    let staged_db = staging.join(DB_FILE);
    // Copied, never linked: the restored database is written to from now on.
    copy_synced(&db, &staged_db)?;
    expect(&staged_db, sha256_file(&staged_db)?)?;
    let checked = snapshot::check(&staged_db)?;
    if checked.audit_head != manifest.database.audit_head {
        return Err(BackupError::Manifest {
            path: from.join(super::MANIFEST_FILE),
            reason: format!(
                "the database's audit log ends at {} but the manifest recorded {}",
                checked.audit_head, manifest.database.audit_head
            ),
        });
    }
    let total = manifest.files.len() as u64;
    for (i, file) in manifest.files.iter().enumerate() {
        progress(Progress::Evidence {
            files_done: i as u64,
            files_total: total,
        });
        let src = from.join(&file.path);
        if !src.is_file() {
            return Err(BackupError::Manifest {
                path: from.join(super::MANIFEST_FILE),
                reason: format!("{} is listed but not in the backup", file.path),
            });
        }
        place(&src, &staging.join(&file.path), &file.sha256, None)?;
    }
    progress(Progress::Evidence {
        files_done: total,
        files_total: total,
    });
    Ok(())
}

/// Move what is in use aside and the staged store into place; on a failure half way, the
/// moved-aside files go back.
fn swap(data_dir: &Path, staging: &Path, stamp: &str) -> Result<Option<PathBuf>, BackupError> {
    let aside = data_dir.join(format!("replaced-{stamp}"));
    let in_use: Vec<String> = [
        DB_FILE.to_owned(),
        format!("{DB_FILE}-wal"),
        format!("{DB_FILE}-shm"),
        EVIDENCE_DIR.to_owned(),
        // Decisions logged for the database being replaced: not for the restored one.
        crate::sorting::decision_log::DIR.to_owned(),
    ]
    .into_iter()
    .filter(|name| data_dir.join(name).exists())
    .collect();
    let mut moved: Vec<&str> = Vec::new();
    let undo = |moved: &[&str]| {
        for name in moved {
            let _ = std::fs::rename(aside.join(name), data_dir.join(name));
        }
    };
    if !in_use.is_empty() {
        std::fs::create_dir(&aside).map_err(BackupError::io(&aside, "create"))?;
    }
    for name in &in_use {
        if let Err(e) = std::fs::rename(data_dir.join(name), aside.join(name)) {
            // The last connection of a store closing as it was looked at checkpoints its
            // WAL into the database and removes the WAL and its index: nothing is lost by
            // their going.
            if e.kind() == std::io::ErrorKind::NotFound && name.starts_with(&format!("{DB_FILE}-"))
            {
                continue;
            }
            undo(&moved);
            return Err(BackupError::io(&data_dir.join(name), "move aside")(e));
        }
        moved.push(name);
    }
    let mut placed: Vec<&str> = Vec::new();
    for name in [DB_FILE, EVIDENCE_DIR] {
        let staged = staging.join(name);
        if !staged.exists() {
            continue;
        }
        if let Err(e) = std::fs::rename(&staged, data_dir.join(name)) {
            for p in &placed {
                let _ = std::fs::rename(data_dir.join(p), staging.join(p));
            }
            undo(&moved);
            return Err(BackupError::io(&data_dir.join(name), "move into place")(e));
        }
        placed.push(name);
    }
    Ok((!in_use.is_empty()).then_some(aside))
}
