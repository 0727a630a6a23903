//! Evidence files in the store: one row per content hash, linked to every record it
//! evidences through `evidence_links` (a late X-ray view, a camera that returns the same
//! frozen frame for two events: one file, several records).
//!
//! The files themselves are kept by [`crate::evidence::EvidenceStore`]; a row holds the hash,
//! the kind, the paths relative to the data directory, the size and what decoding learned.

use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::StoreError;
use crate::evidence::{EvidenceKind, Kept};

/// Record kinds that evidence is linked to.
pub const RECORD_PARCEL: &str = "parcel";
/// A truck's pass through a gate lane.
pub const RECORD_GATE_PASS: &str = "gate_pass";

/// Where a kept file came from, for the row.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    /// The device's own file name.
    pub source_name: Option<&'a str>,
    /// When the device produced it (file time or camera time).
    pub produced_at: Option<&'a str>,
}

/// Store a kept file; the same content (by SHA-256) is stored once and its id returned.
pub fn insert(
    tx: &Transaction<'_>,
    kept: &Kept,
    origin: Origin<'_>,
    at: &str,
) -> Result<i64, StoreError> {
    let path = kept.rel_path.to_string_lossy();
    let thumb = kept.thumb.as_ref().map(|_| {
        crate::evidence::thumb_path_of(&kept.rel_path)
            .to_string_lossy()
            .into_owned()
    });
    tx.prepare_cached(
        "INSERT INTO evidence (sha256, kind, path, thumb_path, bytes, width, height, decode_error, source_name,
            produced_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (sha256) DO NOTHING",
    )?
    .execute(params![
        kept.sha256,
        kept.kind.as_str(),
        path,
        thumb,
        kept.bytes as i64,
        kept.width,
        kept.height,
        kept.decode_error,
        origin.source_name,
        origin.produced_at,
        at
    ])?;
    Ok(tx
        .prepare_cached("SELECT id FROM evidence WHERE sha256 = ?1")?
        .query_row([&kept.sha256], |r| r.get(0))?)
}

/// What [`link`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    /// The evidence is now linked to the record.
    Linked,
    /// It was linked to that record already.
    Already,
}

/// Link the evidence `evidence_id` to a record (`parcel`, `gate_pass`), with an optional
/// role (`late_view`: produced after the decision was made).
pub fn link(
    tx: &Transaction<'_>,
    evidence_id: i64,
    record_kind: &str,
    record_id: i64,
    role: Option<&str>,
) -> Result<Linked, StoreError> {
    let exists = tx
        .prepare_cached("SELECT 1 FROM evidence WHERE id = ?1")?
        .exists([evidence_id])?;
    if !exists {
        return Err(StoreError::NotFound(format!("evidence {evidence_id}")));
    }
    let changed = tx
        .prepare_cached(
            "INSERT INTO evidence_links (evidence_id, record_kind, record_id, role, linked_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            evidence_id,
            record_kind,
            record_id,
            role,
            super::now()
        ])?;
    Ok(if changed == 1 {
        Linked::Linked
    } else {
        Linked::Already
    })
}

/// One piece of evidence of a record, as the consoles show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EvidenceRef {
    /// Row id.
    pub id: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// What it shows; `None` for a kind this build does not know.
    pub kind: Option<EvidenceKind>,
    /// The file, relative to the data directory.
    pub path: PathBuf,
    /// Its thumbnail, relative to the data directory, when the image decoded.
    pub thumb: Option<PathBuf>,
    /// Size in bytes.
    pub bytes: i64,
    /// Why it did not decode, if it did not.
    pub decode_error: Option<String>,
    /// The link's role, if any (`late_view`).
    pub role: Option<String>,
    /// When it was stored.
    pub created_at: String,
}

/// The evidence linked to a record, oldest first.
pub fn for_record(
    conn: &Connection,
    record_kind: &str,
    record_id: i64,
) -> Result<Vec<EvidenceRef>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.id, e.sha256, e.kind, e.path, e.thumb_path, e.bytes, e.decode_error, l.role, e.created_at
         FROM evidence_links l JOIN evidence e ON e.id = l.evidence_id
         WHERE l.record_kind = ?1 AND l.record_id = ?2 ORDER BY e.id",
    )?;
    let rows = stmt.query_map(params![record_kind, record_id], |r| {
        Ok(EvidenceRef {
            id: r.get(0)?,
            sha256: r.get(1)?,
            kind: EvidenceKind::parse(&r.get::<_, String>(2)?),
            path: PathBuf::from(r.get::<_, String>(3)?),
            thumb: r.get::<_, Option<String>>(4)?.map(PathBuf::from),
            bytes: r.get(5)?,
            decode_error: r.get(6)?,
            role: r.get(7)?,
            created_at: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A kept file by its content hash: (kind, path relative to the data directory, whether
/// it decoded as an image).
pub fn by_sha256(
    conn: &Connection,
    sha256: &str,
) -> Result<Option<(String, PathBuf, bool)>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT kind, path, thumb_path IS NOT NULL FROM evidence WHERE sha256 = ?1",
        )?
        .query_row([sha256], |r| {
            Ok((r.get(0)?, PathBuf::from(r.get::<_, String>(1)?), r.get(2)?))
        })
        .optional()?)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::evidence::EvidenceStore;
    use crate::store::Store;

    fn kept(data: &Path, name: &str, bytes: &[u8]) -> Kept {
        let src = data.join(name);
        std::fs::write(&src, bytes).unwrap();
        EvidenceStore::new(data)
            .keep(&src, EvidenceKind::XrayView)
            .unwrap()
    }

    #[tokio::test]
    async fn the_same_content_is_one_row_and_may_evidence_several_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = kept(dir.path(), "a.png", b"view a");
        let b = kept(dir.path(), "b.png", b"view b");
        let a2 = kept(dir.path(), "again.png", b"view a");
        let (ids, links) = store
            .writer
            .write(move |tx| {
                let origin = Origin {
                    source_name: Some("a.png"),
                    produced_at: None,
                };
                let ids = [
                    insert(tx, &a, origin, "t1")?,
                    insert(tx, &b, Origin::default(), "t1")?,
                    insert(tx, &a2, origin, "t2")?,
                ];
                let links = [
                    link(tx, ids[0], RECORD_PARCEL, 7, None)?,
                    link(tx, ids[0], RECORD_PARCEL, 7, None)?,
                    link(tx, ids[0], RECORD_PARCEL, 8, Some("late_view"))?,
                    link(tx, ids[1], RECORD_PARCEL, 7, None)?,
                ];
                Ok((ids, links))
            })
            .await
            .unwrap();
        assert_eq!(ids[0], ids[2]);
        assert_ne!(ids[0], ids[1]);
        assert_eq!(
            links,
            [
                Linked::Linked,
                Linked::Already,
                Linked::Linked,
                Linked::Linked
            ]
        );
        let refs = store
            .reader
            .read(|conn| for_record(conn, RECORD_PARCEL, 7))
            .await
            .unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[0].kind, Some(EvidenceKind::XrayView));
        assert!(refs[0].path.starts_with("evidence"));
        assert_eq!(
            refs[0].thumb, None,
            "junk bytes do not decode: no thumbnail"
        );
        assert!(refs[0].decode_error.is_some());
        assert_eq!(refs[0].created_at, "t1");
        let eight = store
            .reader
            .read(|conn| for_record(conn, RECORD_PARCEL, 8))
            .await
            .unwrap();
        assert_eq!(eight.len(), 1);
        assert_eq!(eight[0].role.as_deref(), Some("late_view"));
    }

    #[tokio::test]
    async fn linking_unknown_evidence_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let err = store
            .writer
            .write(|tx| link(tx, 404, RECORD_GATE_PASS, 1, None))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    }
}
