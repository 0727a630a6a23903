//! Alarms for the operators: device faults, unconfirmed drops, lost tracking, a filling
//! outbox. Each one raised or cleared also goes to the platform on the `health` stream.

use customs_edge_protocol::uplink::{self, Stream};
use rusqlite::{Transaction, params};

use super::{StoreError, outbox};

/// Raise an alarm; returns its id.
pub fn raise(
    tx: &Transaction<'_>,
    source: &str,
    kind: &str,
    detail: &str,
    parcel_id: Option<i64>,
) -> Result<i64, StoreError> {
    let at = super::now();
    tx.prepare_cached(
        "INSERT INTO alarms (at, source, kind, detail, parcel_id) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![at, source, kind, detail, parcel_id])?;
    let id = tx.last_insert_rowid();
    let body = uplink::Alarm {
        alarm_id: id,
        state: "raised".into(),
        source: source.into(),
        alarm: kind.into(),
        detail: detail.into(),
        parcel_id,
        at,
    };
    outbox::enqueue(tx, Stream::Health, uplink::kind::ALARM, &body)?;
    Ok(id)
}

/// Clear every open alarm of `kind` from `source` (the condition went away).
pub fn clear(tx: &Transaction<'_>, source: &str, kind: &str) -> Result<usize, StoreError> {
    let at = super::now();
    let cleared: Vec<(i64, String, Option<i64>)> = tx
        .prepare_cached(
            "UPDATE alarms SET cleared_at = ?3 WHERE source = ?1 AND kind = ?2 AND cleared_at IS NULL
             RETURNING id, detail, parcel_id",
        )?
        .query_map(params![source, kind, at], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (id, detail, parcel_id) in &cleared {
        let body = uplink::Alarm {
            alarm_id: *id,
            state: "cleared".into(),
            source: source.into(),
            alarm: kind.into(),
            detail: detail.clone(),
            parcel_id: *parcel_id,
            at: at.clone(),
        };
        outbox::enqueue(tx, Stream::Health, uplink::kind::ALARM, &body)?;
    }
    Ok(cleared.len())
}
