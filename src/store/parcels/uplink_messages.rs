//! The uplink messages of a parcel, built from what is stored: its sort result (with its
//! readings and evidence) once decided, and its outcome once it dropped or was
//! interrupted. Queued in the outbox in the caller's transaction.

use rusqlite::{Connection, Transaction};

use customs_edge_protocol::uplink::{self, Stream};

use crate::evidence::EvidenceKind;
use crate::store::{StoreError, outbox};

/// Queue the sort result of a decided parcel for the platform.
pub(super) fn enqueue_sort_result(tx: &Transaction<'_>, parcel_id: i64) -> Result<(), StoreError> {
    let result = sort_result(tx, parcel_id)?;
    outbox::enqueue(tx, Stream::Decisions, uplink::kind::SORT_RESULT, &result)?;
    Ok(())
}

/// The uplink sort result of a decided parcel, from what is stored.
fn sort_result(conn: &Connection, parcel_id: i64) -> Result<uplink::SortResult, StoreError> {
    let mut result = conn
        .prepare_cached(
            "SELECT line_id, tracking_no, entered_at, logistics_no, read_status, lane, lane_kind,
                reasons, decided_at, CASE WHEN weight_stable THEN weight_kg END, risk
             FROM parcels WHERE id = ?1",
        )?
        .query_row([parcel_id], |r| {
            Ok(uplink::SortResult {
                parcel_id,
                line: r.get(0)?,
                tracking_no: r.get(1)?,
                entered_at: r.get(2)?,
                logistics_no: r.get(3)?,
                read_status: r.get(4)?,
                lane: r.get(5)?,
                lane_kind: r.get(6)?,
                reasons: serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default(),
                decided_at: r.get(8)?,
                weight_kg: r.get(9)?,
                readings: Vec::new(),
                evidence: Vec::new(),
                risk: r
                    .get::<_, Option<String>>(10)?
                    .and_then(|s| serde_json::from_str(&s).ok())
                    .unwrap_or(serde_json::Value::Null),
            })
        })?;
    result.readings = conn
        .prepare_cached(
            "SELECT kind, value, unit, at FROM readings WHERE parcel_id = ?1 AND value IS NOT NULL ORDER BY id",
        )?
        .query_map([parcel_id], |r| {
            Ok(uplink::Reading {
                kind: r.get(0)?,
                value: r.get(1)?,
                unit: r.get(2)?,
                at: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    result.evidence = crate::store::evidence_rows::for_record(conn, "parcel", parcel_id)?
        .into_iter()
        .map(|e| uplink::EvidenceRef {
            sha256: e.sha256,
            kind: e.kind.map_or("unknown", EvidenceKind::as_str).to_owned(),
            role: e.role,
        })
        .collect();
    Ok(result)
}

/// Queue the outcome of a parcel (sorted, lane mismatch, interrupted) for the platform.
pub(super) fn enqueue_outcome(
    tx: &Transaction<'_>,
    parcel_id: i64,
    line: &str,
    outcome: &str,
    dropped_lane: Option<u16>,
    at: &str,
) -> Result<(), StoreError> {
    let body = uplink::ParcelOutcome {
        parcel_id,
        line: line.to_owned(),
        outcome: outcome.to_owned(),
        dropped_lane: dropped_lane.map(i64::from),
        at: at.to_owned(),
    };
    outbox::enqueue(tx, Stream::Decisions, uplink::kind::PARCEL_OUTCOME, &body)?;
    Ok(())
}
