//! What a backup directory holds, said by the directory itself: `manifest.json` (when,
//! from where, the schema version, the record counts, every file with its size and
//! SHA-256) and a `README.txt` for whoever finds it without this program at hand.
//!
//! The manifest is written last, through a temporary name: a directory without one is an
//! incomplete backup and is never restored from.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::BackupError;

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The explanation's file name.
pub const README_FILE: &str = "README.txt";
/// What `format` says in every manifest.
pub const FORMAT: &str = "customs-edge-backup";
/// The manifest layout this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A backup's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] of the build that wrote it.
    pub format_version: u32,
    /// The program that wrote it (`customs-edge 0.1.0`).
    pub software: String,
    /// When the database snapshot was taken (RFC 3339 UTC): the backup's moment.
    pub snapshot_at: String,
    /// When the backup was complete.
    pub finished_at: String,
    /// The data directory it was taken from.
    pub source_data_dir: String,
    /// The database copy.
    pub database: DatabaseEntry,
    /// Rows per table in the copy.
    pub counts: BTreeMap<String, i64>,
    /// The evidence files the copy's records refer to.
    pub evidence: EvidenceSummary,
    /// Every evidence file in the backup, relative to it.
    pub files: Vec<FileEntry>,
}

/// The database copy in a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseEntry {
    /// Its file, relative to the backup (`customs-edge.db`).
    pub file: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// `PRAGMA user_version`: the schema version.
    pub schema_version: i64,
    /// What `PRAGMA integrity_check` said of the copy (`ok`).
    pub integrity_check: String,
    /// Entries in the audit log, its chain verified.
    pub audit_entries: u64,
    /// The newest audit entry's hash: compare with `audit verify` on a restored copy.
    pub audit_head: String,
}

/// The evidence part of a backup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceSummary {
    /// Files in the backup.
    pub files: u64,
    /// Their total size.
    pub bytes: u64,
    /// Hard-linked from the previous backup.
    pub reused: u64,
    /// Hard-linked from the data directory.
    pub linked: u64,
    /// Copied byte for byte (no hard link possible).
    pub copied: u64,
    /// Purged by the retention task between the snapshot and the copy: their rows were
    /// taken out of the copy too, as the purge took them out of the store.
    pub purged_during_backup: u64,
    /// Files the records refer to that were missing or did not match their hash in the
    /// data directory; their rows stay in the copy (the records are what they are).
    pub unusable: Vec<Unusable>,
}

/// An evidence file that could not be backed up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unusable {
    /// Its path relative to the data directory.
    pub path: String,
    /// Why it could not be copied.
    pub reason: String,
}

/// One file in the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Relative to the backup directory (and to the data directory once restored).
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

impl Manifest {
    /// Read and check the manifest of the backup in `dir`.
    pub fn read(dir: &Path) -> Result<Self, BackupError> {
        let path = dir.join(MANIFEST_FILE);
        let bad = |reason: String| BackupError::Manifest {
            path: path.clone(),
            reason,
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(bad(
                    "no manifest: not a backup, or one that did not finish".into()
                ));
            }
            Err(e) => return Err(BackupError::io(&path, "read")(e)),
        };
        let manifest: Self = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if manifest.format != FORMAT {
            return Err(bad(format!(
                "format {:?}, expected {FORMAT:?}",
                manifest.format
            )));
        }
        if manifest.format_version > FORMAT_VERSION {
            return Err(bad(format!(
                "format version {} is newer than the {FORMAT_VERSION} this build reads",
                manifest.format_version
            )));
        }
        for entry in &manifest.files {
            let p = Path::new(&entry.path);
            if p.is_absolute()
                || p.components()
                    .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return Err(bad(format!("file path {:?} leaves the backup", entry.path)));
            }
        }
        Ok(manifest)
    }

    /// Write it into `dir`, last.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), BackupError> {
        let json = serde_json::to_vec_pretty(self).expect("a manifest serialises");
        super::files::write_synced(&dir.join(MANIFEST_FILE), &json)
    }
}

/// The README written into every backup.
pub(crate) fn readme(manifest: &Manifest) -> String {
    let m = manifest;
    [
        "customs-edge backup".to_owned(),
        "===================".to_owned(),
        String::new(),
        format!(
            "A consistent copy of the customs-edge store in {},",
            m.source_data_dir
        ),
        format!("as it was at {} (UTC).", m.snapshot_at),
        String::new(),
        format!(
            "- {}: the SQLite database, schema version {}. Copied with",
            m.database.file, m.database.schema_version
        ),
        "  SQLite's online backup API: one snapshot, even while the controller ran.".to_owned(),
        format!(
            "  PRAGMA integrity_check: {}. Audit log: {} entries, chain intact, head",
            m.database.integrity_check, m.database.audit_entries
        ),
        format!("  {}.", m.database.audit_head),
        format!(
            "- evidence/: the {} evidence files its records refer to (X-ray views,",
            m.evidence.files
        ),
        "  camera frames, plate snapshots), each named by its SHA-256.".to_owned(),
        format!("- {MANIFEST_FILE}: when, from where, the record counts, and every file with"),
        "  its size and SHA-256. A directory without it is an incomplete backup.".to_owned(),
        String::new(),
        "To put it back (stop the controller first; the data it replaces is kept aside".to_owned(),
        "in replaced-<time>/ in the data directory):".to_owned(),
        String::new(),
        "    customs-edge restore --from <this directory> --config /etc/customs-edge/site.toml"
            .to_owned(),
        String::new(),
        "restore checks every checksum, PRAGMA integrity_check and the audit chain".to_owned(),
        "before it replaces anything.".to_owned(),
        String::new(),
    ]
    .join("\n")
}
