//! Alarms for the operators: device faults, unconfirmed drops, lost tracking.

use rusqlite::{Transaction, params};

use super::StoreError;

/// Raise an alarm; returns its id.
pub fn raise(
    tx: &Transaction<'_>,
    source: &str,
    kind: &str,
    detail: &str,
    parcel_id: Option<i64>,
) -> Result<i64, StoreError> {
    tx.prepare_cached(
        "INSERT INTO alarms (at, source, kind, detail, parcel_id) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![super::now(), source, kind, detail, parcel_id])?;
    Ok(tx.last_insert_rowid())
}

/// Clear every open alarm of `kind` from `source` (the condition went away).
pub fn clear(tx: &Transaction<'_>, source: &str, kind: &str) -> Result<usize, StoreError> {
    Ok(tx
        .prepare_cached("UPDATE alarms SET cleared_at = ?3 WHERE source = ?1 AND kind = ?2 AND cleared_at IS NULL")?
        .execute(params![source, kind, super::now()])?)
}
