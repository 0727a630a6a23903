//! Audit anchors: the head of the audit chain (sequence and hash) sent uplink as an
//! `audit_anchor` on the officer stream, in the transaction of the entry that made it or
//! from the periodic task, and marked when the platform's ack covers it. `audit verify`
//! checks the chain against the last acknowledged one (`crate::audit_anchor`).

use customs_edge_protocol::uplink::{AuditAnchor, Stream, kind};
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};

use super::StoreError;
use super::outbox::{self, Enqueued};

/// Reason of an anchor sent by the periodic task.
pub const INTERVAL: &str = "interval";

/// Whether an audit entry of `action` sends an anchor at once: gate overrides and account
/// changes, the entries an intruder with the database would most want to rewrite.
pub fn anchors_at_once(action: &str) -> bool {
    action == "gate_override" || action == "password_change" || action.starts_with("account_")
}

/// An anchor as the site keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// audit_log.id of the chain head it carries.
    pub audit_seq: i64,
    /// That entry's hash.
    pub hash: String,
    /// Why it was sent.
    pub reason: String,
    /// When the platform acknowledged it, if it has.
    pub acked_at: Option<String>,
}

/// Send the current head of the chain uplink, with `reason`; nothing when the log is
/// empty or no platform is configured. `only_if_new`: not when the last anchor already
/// carries this head (the periodic task).
pub fn enqueue_head(
    tx: &Transaction<'_>,
    reason: &str,
    only_if_new: bool,
) -> Result<Option<u64>, StoreError> {
    let head: Option<(i64, String, String)> = tx
        .prepare_cached("SELECT id, hash, at FROM audit_log ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((audit_seq, hash, entry_at)) = head else {
        return Ok(None);
    };
    if only_if_new {
        let last: Option<i64> = tx
            .prepare_cached("SELECT max(audit_seq) FROM audit_anchors")?
            .query_row([], |r| r.get(0))?;
        if last.is_some_and(|l| l >= audit_seq) {
            return Ok(None);
        }
    }
    let body = AuditAnchor {
        audit_seq,
        hash: hash.clone(),
        entry_at: entry_at.clone(),
        reason: reason.to_owned(),
    };
    let Enqueued::Seq(seq) = outbox::enqueue(tx, Stream::Officer, kind::AUDIT_ANCHOR, &body)?
    else {
        return Ok(None);
    };
    tx.prepare_cached(
        "INSERT INTO audit_anchors (outbox_seq, audit_seq, hash, entry_at, reason, sent_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        i64::try_from(seq).unwrap_or(i64::MAX),
        audit_seq,
        hash,
        entry_at,
        reason,
        super::now()
    ])?;
    Ok(Some(seq))
}

/// The platform acknowledged the officer stream up to `seq`: every anchor at or below it
/// is held by the platform now. Returns how many were newly marked.
pub fn acked(tx: &Transaction<'_>, seq: u64) -> Result<usize, StoreError> {
    Ok(tx
        .prepare_cached(
            "UPDATE audit_anchors SET acked_at = ?2 WHERE outbox_seq <= ?1 AND acked_at IS NULL",
        )?
        .execute(params![
            i64::try_from(seq).unwrap_or(i64::MAX),
            super::now()
        ])?)
}

/// The newest anchor the platform acknowledged.
pub fn last_acked(conn: &Connection) -> rusqlite::Result<Option<Anchor>> {
    conn.query_row(
        "SELECT audit_seq, hash, reason, acked_at FROM audit_anchors
         WHERE acked_at IS NOT NULL ORDER BY outbox_seq DESC LIMIT 1",
        [],
        |r| {
            Ok(Anchor {
                audit_seq: r.get(0)?,
                hash: r.get(1)?,
                reason: r.get(2)?,
                acked_at: r.get(3)?,
            })
        },
    )
    .optional()
}
