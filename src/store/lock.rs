//! Who is using a data directory: an advisory lock on `<data_dir>/customs-edge.lock`.
//!
//! Everything that opens the store ([`super::Store::open`]: the controller, `import-manifests`,
//! `accounts create-admin`) and `backup` holds a shared lock for as long as it runs, so any
//! number of them work side by side. `restore` takes it exclusively: it cannot replace the
//! database under a running controller, and nothing opens the store while a restore puts
//! files in place. SQLite's own locks cannot tell this: in WAL mode a controller that is
//! not writing at this instant holds nothing a second process could test for.
//!
//! The lock is `flock(2)` on an open file, released by the kernel when the process ends,
//! however it ends: a crashed controller never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The lock file inside the data directory.
pub const LOCK_FILE: &str = "customs-edge.lock";

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone holds it in a way that excludes us.
    #[error("{} is in use: {holder}", dir.display())]
    InUse {
        /// The data directory.
        dir: PathBuf,
        /// Who, as far as the lock tells.
        holder: &'static str,
    },
    /// The lock file could not be opened or locked.
    #[error("lock file {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A held lock on a data directory; released when dropped.
#[derive(Debug)]
pub struct DataDirLock {
    /// Holding the open file is holding the lock.
    _file: File,
    exclusive: bool,
}

impl DataDirLock {
    /// A shared lock: the store is in use, but others may use it too. Fails at once (never
    /// waits) while a restore holds it exclusively.
    pub fn shared(data_dir: &Path) -> Result<Self, LockError> {
        let (file, path) = open(data_dir)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Self {
                _file: file,
                exclusive: false,
            }),
            Err(TryLockError::WouldBlock) => Err(LockError::InUse {
                dir: data_dir.to_owned(),
                holder: "a restore is putting a backup in place; try again when it is done",
            }),
            Err(TryLockError::Error(source)) => Err(LockError::Io { path, source }),
        }
    }

    /// The exclusive lock: nobody else has the store open. Fails at once (never waits).
    pub fn exclusive(data_dir: &Path) -> Result<Self, LockError> {
        let (file, path) = open(data_dir)?;
        match file.try_lock() {
            Ok(()) => Ok(Self {
                _file: file,
                exclusive: true,
            }),
            Err(TryLockError::WouldBlock) => Err(LockError::InUse {
                dir: data_dir.to_owned(),
                holder: "a controller or another customs-edge command has the store open; \
                         stop it first (systemctl stop customs-edge)",
            }),
            Err(TryLockError::Error(source)) => Err(LockError::Io { path, source }),
        }
    }

    /// Whether this is the exclusive lock.
    pub fn is_exclusive(&self) -> bool {
        self.exclusive
    }
}

fn open(data_dir: &Path) -> Result<(File, PathBuf), LockError> {
    let path = data_dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| LockError::Io {
            path: path.clone(),
            source,
        })?;
    Ok((file, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_locks_coexist_and_exclude_the_exclusive_one() {
        let dir = tempfile::tempdir().unwrap();
        let a = DataDirLock::shared(dir.path()).unwrap();
        let b = DataDirLock::shared(dir.path()).unwrap();
        let err = DataDirLock::exclusive(dir.path()).unwrap_err();
        assert!(err.to_string().contains("has the store open"), "{err}");
        drop((a, b));
        let only = DataDirLock::exclusive(dir.path()).unwrap();
        assert!(only.is_exclusive());
        let err = DataDirLock::shared(dir.path()).unwrap_err();
        assert!(err.to_string().contains("a restore"), "{err}");
    }
}
