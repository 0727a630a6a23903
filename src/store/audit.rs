//! The append-only, hash-chained audit log of officer and operator actions.
//!
//! Each entry's hash is SHA-256 over the previous entry's hash and the entry's own fields,
//! so changing or removing any entry breaks every hash after it. Triggers in the schema
//! refuse UPDATE and DELETE. Entries of overrides and account changes send the chain's head
//! uplink at once (`super::anchors`), so a rewrite is caught against the platform's copy.

use rusqlite::{OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use super::StoreError;

/// The hash that the first entry chains from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Append one action; returns its hash.
pub fn append_audit(
    tx: &Transaction<'_>,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &serde_json::Value,
) -> Result<String, StoreError> {
    let prev: String = tx
        .prepare_cached("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or_else(|| GENESIS.to_owned());
    let detail = detail.to_string();
    let hash = entry_hash(&prev, at, actor, action, subject, &detail);
    tx.prepare_cached(
        "INSERT INTO audit_log (at, actor, action, subject, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![at, actor, action, subject, detail, prev, hash])?;
    if super::anchors::anchors_at_once(action) {
        super::anchors::enqueue_head(tx, action, false)?;
    }
    Ok(hash)
}

/// The hash of one entry given the hash before it.
pub fn entry_hash(
    prev: &str,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    for field in [prev, at, actor, action, subject, detail] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}
