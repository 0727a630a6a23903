//! Evidence retention: which kept files may go, oldest first, and forgetting them.
//!
//! Evidence older than the retention period goes, and while the evidence on disk is above
//! its quota the oldest goes first — but never evidence that something still depends on:
//!
//! - a parcel not decided yet, or whose sort result or outcome the platform has not
//!   acknowledged (its message is still in the outbox);
//! - a parcel under an inspection hold: sent to the inspection lane, or whose waybill's
//!   latest customs instruction is `inspect` or `hold`;
//! - a gate pass whose message the platform has not acknowledged.
//!
//! [`purge`] removes the rows in the caller's transaction and returns the files to delete;
//! the caller deletes them once the transaction has committed, so a crash in between
//! leaves a file without a row (harmless), never a row without its file.

use std::path::PathBuf;

use rusqlite::{Transaction, params};

use super::StoreError;

/// What to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Evidence kept longer than this many seconds may go.
    pub older_than: Option<i64>,
    /// Keep the total below this many bytes, oldest first.
    pub quota_bytes: Option<u64>,
    /// Most rows removed in one call (the writer's transactions stay short).
    pub batch: u32,
}

/// Evidence rows nothing depends on, in the order they may go (oldest first). The records
/// still waiting for the platform are collected once (the outbox can hold a long outage).
const PURGEABLE: &str = "
    WITH pending_parcels AS MATERIALIZED (
        SELECT json_extract(body, '$.parcel_id') AS id FROM outbox
        WHERE kind IN ('sort_result', 'parcel_outcome')),
    pending_passes AS MATERIALIZED (
        SELECT json_extract(body, '$.gate_pass_id') AS id FROM outbox WHERE kind = 'gate_pass')
    SELECT e.id, e.path, e.thumb_path, e.bytes, e.created_at FROM evidence e
    WHERE NOT EXISTS (
        SELECT 1 FROM evidence_links l JOIN parcels p ON l.record_kind = 'parcel' AND p.id = l.record_id
        WHERE l.evidence_id = e.id AND (
            p.decided_at IS NULL
            OR p.lane_kind = 'inspection'
            OR p.id IN (SELECT id FROM pending_parcels)
            OR (p.logistics_no IS NOT NULL AND (
                SELECT i.kind FROM customs_instructions i
                WHERE i.logistics_no = p.logistics_no ORDER BY i.id DESC LIMIT 1
            ) IN ('inspect', 'hold'))
        )
    )
    AND NOT EXISTS (
        SELECT 1 FROM evidence_links l
        WHERE l.evidence_id = e.id AND l.record_kind = 'gate_pass'
          AND l.record_id IN (SELECT id FROM pending_passes)
    )
    ORDER BY e.created_at, e.id";

/// One evidence row that went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    /// Row id it had.
    pub id: i64,
    /// Its file, relative to the data directory.
    pub path: PathBuf,
    /// Its thumbnail, if one was made.
    pub thumb: Option<PathBuf>,
    /// Its size.
    pub bytes: u64,
}

/// Total bytes of kept evidence.
pub fn total_bytes(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    let total: i64 = tx.query_row("SELECT COALESCE(SUM(bytes), 0) FROM evidence", [], |r| {
        r.get(0)
    })?;
    Ok(u64::try_from(total).unwrap_or(0))
}

/// Remove, in `tx`, up to `policy.batch` evidence rows the policy lets go (with their
/// links); returns them so their files can be deleted after the commit.
pub fn purge(
    tx: &Transaction<'_>,
    policy: &Policy,
    now_unix: i64,
) -> Result<Vec<Purged>, StoreError> {
    let mut over = match policy.quota_bytes {
        Some(quota) => total_bytes(tx)?.saturating_sub(quota),
        None => 0,
    };
    let cutoff = policy
        .older_than
        .map(|secs| chrono::DateTime::from_timestamp(now_unix - secs, 0).unwrap_or_default());
    let mut chosen = Vec::new();
    {
        let mut stmt = tx.prepare_cached(PURGEABLE)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            if chosen.len() >= policy.batch as usize {
                break;
            }
            let created: String = row.get(4)?;
            let expired = cutoff.is_some_and(|cut| {
                chrono::DateTime::parse_from_rfc3339(&created).is_ok_and(|t| t < cut)
            });
            if !expired && over == 0 {
                // Oldest first: once one row is young enough and the quota is met, so are
                // all after it.
                break;
            }
            let bytes = u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0);
            over = over.saturating_sub(bytes);
            chosen.push(Purged {
                id: row.get(0)?,
                path: PathBuf::from(row.get::<_, String>(1)?),
                thumb: row.get::<_, Option<String>>(2)?.map(PathBuf::from),
                bytes,
            });
        }
    }
    let mut unlink = tx.prepare_cached("DELETE FROM evidence_links WHERE evidence_id = ?1")?;
    let mut delete = tx.prepare_cached("DELETE FROM evidence WHERE id = ?1")?;
    for p in &chosen {
        unlink.execute(params![p.id])?;
        delete.execute(params![p.id])?;
    }
    Ok(chosen)
}

#[cfg(test)]
#[path = "purge_tests.rs"]
mod tests;
