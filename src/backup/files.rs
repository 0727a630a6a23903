//! Evidence files into and out of a backup: a hard link when source and target share a
//! filesystem (evidence files are never changed in place, only written under a new name
//! and unlinked, so a link is as good as a copy and costs nothing), else a copy; every
//! file that enters the set is checked against its SHA-256.
//!
//! A file already in the previous backup is linked from there and not read again: it was
//! checked when it entered, and the content decides the name. That makes a daily backup of
//! months of evidence cost only the new files.

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::path::Path;

use sha2::{Digest as _, Sha256};

use super::BackupError;

/// How a file got into place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placed {
    /// Hard-linked from the previous backup (already verified then).
    Reused,
    /// Hard-linked from the source and verified.
    Linked,
    /// Copied byte for byte and verified.
    Copied,
}

/// SHA-256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String, BackupError> {
    let mut file = File::open(path).map_err(BackupError::io(path, "open"))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(BackupError::io(path, "read"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Put `src` at `dst` (a link from `reuse`, a link from `src`, or a copy) and check the
/// result hashes to `sha256`. A `dst` that exists already is an error.
pub(crate) fn place(
    src: &Path,
    dst: &Path,
    sha256: &str,
    reuse: Option<&Path>,
) -> Result<Placed, BackupError> {
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent).map_err(BackupError::io(parent, "create directory"))?;
    }
    if let Some(previous) = reuse
        && previous.is_file()
        && std::fs::hard_link(previous, dst).is_ok()
    {
        return Ok(Placed::Reused);
    }
    let placed = match std::fs::hard_link(src, dst) {
        Ok(()) => Placed::Linked,
        Err(e) if e.kind() == io::ErrorKind::NotFound && !src.exists() => {
            return Err(BackupError::io(src, "link")(e));
        }
        // Another filesystem, or one without hard links: copy.
        Err(_) => {
            copy_synced(src, dst)?;
            Placed::Copied
        }
    };
    let found = sha256_file(dst)?;
    if found != sha256 {
        let _ = std::fs::remove_file(dst);
        return Err(BackupError::Checksum {
            path: src.to_owned(),
            expected: sha256.to_owned(),
            found,
        });
    }
    Ok(placed)
}

/// Copy `src` to `dst` through a temporary name, synced, so a crash never leaves a
/// partial file under the final name.
pub(crate) fn copy_synced(src: &Path, dst: &Path) -> Result<(), BackupError> {
    let tmp = dst.with_extension("partial");
    let mut from = File::open(src).map_err(BackupError::io(src, "open"))?;
    let mut to = File::create(&tmp).map_err(BackupError::io(&tmp, "create"))?;
    io::copy(&mut from, &mut to).map_err(BackupError::io(&tmp, "copy into"))?;
    to.flush().map_err(BackupError::io(&tmp, "write"))?;
    to.sync_all().map_err(BackupError::io(&tmp, "sync"))?;
    std::fs::rename(&tmp, dst).map_err(BackupError::io(dst, "rename into place"))?;
    Ok(())
}

/// Write `bytes` to `path` through a temporary name, synced.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let tmp = path.with_extension("partial");
    let mut file = File::create(&tmp).map_err(BackupError::io(&tmp, "create"))?;
    file.write_all(bytes)
        .map_err(BackupError::io(&tmp, "write"))?;
    file.sync_all().map_err(BackupError::io(&tmp, "sync"))?;
    std::fs::rename(&tmp, path).map_err(BackupError::io(path, "rename into place"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placed_file_is_linked_and_checked_and_a_wrong_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src.bin");
        std::fs::write(&src, b"evidence").unwrap();
        let sha = sha256_file(&src).unwrap();
        let dst = dir.path().join("a/b/dst.bin");
        assert_eq!(place(&src, &dst, &sha, None).unwrap(), Placed::Linked);
        assert_eq!(std::fs::read(&dst).unwrap(), b"evidence");

        let again = dir.path().join("c/dst.bin");
        assert_eq!(
            place(&src, &again, &sha, Some(&dst)).unwrap(),
            Placed::Reused
        );

        std::fs::write(dir.path().join("junk.bin"), b"changed").unwrap();
        let err = place(
            &dir.path().join("junk.bin"),
            &dir.path().join("d/x.bin"),
            &sha,
            None,
        )
        .unwrap_err();
        assert!(matches!(err, BackupError::Checksum { .. }), "{err}");
        assert!(!dir.path().join("d/x.bin").exists());
    }
}
