//! The host: the store (opens, `PRAGMA quick_check`, schema version), free disk space of
//! the data and backup directories, permissions of the data directory and of every file
//! holding a secret (owner-only), and the system clock ([`super::clock`]).

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{Probe, Row};
use crate::config::Config;
use crate::store::DB_FILE;

/// Below this much free space (or [`DISK_FAIL_PCT`]) the disk check fails.
pub const DISK_FAIL_BYTES: u64 = 1 << 30;
/// Below this share free the disk check fails.
pub const DISK_FAIL_PCT: f64 = 2.0;
/// Below this much free space (or [`DISK_WARN_PCT`]) it warns.
pub const DISK_WARN_BYTES: u64 = 10 << 30;
/// Below this share free it warns.
pub const DISK_WARN_PCT: f64 = 10.0;

/// Any permission bit for the group or for other users.
const GROUP_OR_OTHERS: u32 = 0o077;

/// The host's probes with their time limits.
pub(super) fn probes(config: &Config) -> Vec<(String, Duration, Probe)> {
    let data = config.storage.data_dir.clone();
    let mut out: Vec<(String, Duration, Probe)> = Vec::new();
    let d = data.clone();
    // quick_check reads every page: give a large store its time.
    out.push((
        "store".into(),
        Duration::from_secs(60),
        blocking(move || vec![store(&d)]),
    ));
    let d = data.clone();
    out.push((
        "data dir".into(),
        Duration::from_secs(5),
        blocking(move || vec![disk("data dir", "storage.data_dir", &d), data_dir(&d)]),
    ));
    if let Some(backup) = &config.backup {
        let dir = backup.dir.clone();
        out.push((
            "backup dir".into(),
            Duration::from_secs(5),
            blocking(move || vec![disk("backup dir", "backup.dir", &dir)]),
        ));
    }
    let mut secrets: Vec<(String, String, PathBuf)> = config
        .cameras
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let file = c.password_file.clone()?;
            Some((
                format!("camera {}", c.id),
                format!("cameras[{i}].password_file"),
                file,
            ))
        })
        .collect();
    if let Some(key) = config
        .platform
        .as_ref()
        .and_then(|p| p.client_key_file.clone())
    {
        secrets.push(("broker".into(), "platform.client_key_file".into(), key));
    }
    for (subject, key, file) in secrets {
        out.push((
            subject.clone(),
            Duration::from_secs(5),
            blocking(move || vec![secret_file(&subject, &key, &file)]),
        ));
    }
    out.push((
        "system clock".into(),
        Duration::from_secs(5),
        Box::pin(super::clock::check()),
    ));
    out
}

fn blocking(f: impl FnOnce() -> Vec<Row> + Send + 'static) -> Probe {
    Box::pin(async move {
        tokio::task::spawn_blocking(f)
            .await
            .unwrap_or_else(|e| vec![Row::fail("doctor", "internal", e.to_string())])
    })
}

/// The database: there, opens, passes `PRAGMA quick_check`, a schema this build knows.
fn store(data_dir: &Path) -> Row {
    let path = data_dir.join(DB_FILE);
    if !path.exists() {
        return Row::warn(
            "store",
            "database",
            format!(
                "no database at {} yet: the controller creates it at its first start",
                path.display()
            ),
        );
    }
    let checked = (|| -> rusqlite::Result<(String, i64)> {
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let quick: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        Ok((quick, crate::store::user_version(&conn)?))
    })();
    let known = crate::store::schema_version();
    match checked {
        Err(e) => Row::fail("store", "database", format!("{}: {e}", path.display())),
        Ok((quick, _)) if quick != "ok" => Row::fail(
            "store",
            "database",
            format!(
                "{}: PRAGMA quick_check says {quick}: restore the newest backup",
                path.display()
            ),
        ),
        Ok((_, version)) if version > known => Row::fail(
            "store",
            "database",
            format!(
                "{} has schema {version}, made by a newer release (this one knows {known})",
                path.display()
            ),
        ),
        Ok((_, version)) if version < known => Row::warn(
            "store",
            "database",
            format!(
                "{}: quick_check ok; schema {version}, migrated to {known} at the next start \
                 (a copy is made first)",
                path.display()
            ),
        ),
        Ok((_, version)) => Row::ok(
            "store",
            "database",
            format!("{}: quick_check ok, schema {version}", path.display()),
        ),
    }
}

/// Free space where `dir` (or the nearest existing parent) lives.
fn disk(subject: &str, key: &str, dir: &Path) -> Row {
    let probe = dir
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    let stat = match rustix::fs::statvfs(probe) {
        Ok(s) => s,
        Err(e) => {
            return Row::fail(
                subject,
                "disk space",
                format!("{} ({key}): {e}", probe.display()),
            );
        }
    };
    let free = stat.f_bavail * stat.f_frsize;
    let used = stat.f_blocks.saturating_sub(stat.f_bfree) * stat.f_frsize;
    // Of what this user can have (used + available), as df counts: blocks reserved for
    // root are not free to the controller.
    let total = used + free;
    let pct = if total == 0 {
        0.0
    } else {
        free as f64 * 100.0 / total as f64
    };
    let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
    let detail = format!(
        "{:.1} GiB free of {:.1} GiB ({pct:.0} %) at {}",
        gib(free),
        gib(total),
        probe.display()
    );
    if free < DISK_FAIL_BYTES || pct < DISK_FAIL_PCT {
        Row::fail(
            subject,
            "disk space",
            format!("{detail}: the store stops keeping evidence; free space or move {key}"),
        )
    } else if free < DISK_WARN_BYTES || pct < DISK_WARN_PCT {
        Row::warn(subject, "disk space", detail)
    } else {
        Row::ok(subject, "disk space", detail)
    }
}

/// The data directory: a directory this user can write, not open to everyone.
fn data_dir(dir: &Path) -> Row {
    const S: &str = "data dir";
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Row::warn(
                S,
                "permissions",
                format!(
                    "{} does not exist yet: the controller creates it",
                    dir.display()
                ),
            );
        }
        Err(e) => return Row::fail(S, "permissions", format!("{}: {e}", dir.display())),
    };
    if !meta.is_dir() {
        return Row::fail(
            S,
            "permissions",
            format!("{} is not a directory (storage.data_dir)", dir.display()),
        );
    }
    let mode = meta.permissions().mode() & 0o7777;
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    let writable = std::fs::write(&probe, b"").and_then(|()| std::fs::remove_file(&probe));
    let who = format!(
        "{} (mode {mode:04o}, owner uid {})",
        dir.display(),
        meta.uid()
    );
    match writable {
        Err(e) => Row::fail(
            S,
            "permissions",
            format!("{who}: not writable by this user: {e}"),
        ),
        Ok(()) if mode & 0o002 != 0 => Row::fail(
            S,
            "permissions",
            format!("{who}: anyone may write here, records and evidence included; chmod o-w"),
        ),
        Ok(()) if mode & 0o007 != 0 => Row::warn(
            S,
            "permissions",
            format!("{who}: other users can read the records and evidence; chmod o-rwx"),
        ),
        Ok(()) => Row::ok(
            S,
            "permissions",
            format!("{who}: writable, closed to other users"),
        ),
    }
}

/// A file holding a secret: readable by us, by nobody but its owner.
fn secret_file(subject: &str, key: &str, file: &Path) -> Row {
    let meta = match std::fs::metadata(file) {
        Ok(m) => m,
        Err(e) => {
            return Row::fail(
                subject,
                "secret file",
                format!("{} ({key}): {e}", file.display()),
            );
        }
    };
    let mode = meta.permissions().mode() & 0o7777;
    if let Err(e) = std::fs::File::open(file) {
        return Row::fail(
            subject,
            "secret file",
            format!("{} ({key}): not readable by this user: {e}", file.display()),
        );
    }
    if mode & GROUP_OR_OTHERS != 0 {
        Row::fail(
            subject,
            "secret file",
            format!(
                "{} ({key}) has mode {mode:04o}: group or other users can read the secret; \
                 chmod 600 (or 400)",
                file.display()
            ),
        )
    } else {
        Row::ok(
            subject,
            "secret file",
            format!(
                "{} ({key}) is readable by its owner only (mode {mode:04o})",
                file.display()
            ),
        )
    }
}
