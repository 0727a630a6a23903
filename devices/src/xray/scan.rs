//! Blocking filesystem work of the feed: listing the directory and statting files.
//!
//! Each function here blocks; the feed runs them through [`blocking`] so the async
//! threads (shared with the sorting lines) never wait on the disk.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::state::Snapshot;

/// Run blocking filesystem work off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
}

/// Whether `path` names an image file: a wanted extension, not a dotfile.
pub(super) fn is_image_name(path: &Path, extensions: &[String]) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.starts_with('.') {
        return false;
    }
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// The image files in `dir`; fails whole rather than return a partial listing.
pub(super) fn list_images(dir: &Path, extensions: &[String]) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        // A file gone since the listing began is left to the stat that follows.
        if is_image_name(&path, extensions) && !entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(path);
        }
    }
    Ok(out)
}

/// A file's size and mtime; `None` when it is gone or not a file.
pub(super) fn snapshot(path: &Path) -> io::Result<Option<Snapshot>> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(Some(Snapshot {
            len: meta.len(),
            modified: meta.modified().unwrap_or_else(|_| SystemTime::now()),
        })),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A file and what a stat of it found.
pub(super) type Stat = (PathBuf, io::Result<Option<Snapshot>>);

/// Stat every path, each on its own: one failure does not hide the others.
pub(super) fn stat_all(paths: Vec<PathBuf>) -> Vec<Stat> {
    paths
        .into_iter()
        .map(|p| {
            let snap = snapshot(&p);
            (p, snap)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exts() -> Vec<String> {
        super::super::DEFAULT_EXTENSIONS
            .iter()
            .map(|&e| e.to_owned())
            .collect()
    }

    #[test]
    fn image_names_are_recognised_by_extension_ignoring_case() {
        let e = exts();
        for ok in [
            "a.png",
            "b.JPG",
            "c.jpeg",
            "d.Tif",
            "e.tiff",
            "f.bmp",
            "x.tmp.png",
        ] {
            assert!(is_image_name(Path::new(ok), &e), "{ok}");
        }
        for no in ["a.png.tmp", ".a.png", "a.txt", "png", "a.", "a.png~"] {
            assert!(!is_image_name(Path::new(no), &e), "{no}");
        }
    }
}
