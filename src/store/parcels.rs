//! Parcels, their scans and their decisions in the store.
//!
//! What the platform hears of a parcel (its sort result, its outcome) is built from the
//! stored rows in `uplink_messages`, in the transaction that stores them.

mod uplink_messages;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::StoreError;

/// A new parcel seen at the entry photo-eye; returns its record id.
pub fn insert_entry(
    tx: &Transaction<'_>,
    line_id: &str,
    tracking_no: u16,
    entered_at: &str,
    length_mm: u16,
) -> Result<i64, StoreError> {
    tx.prepare_cached(
        "INSERT INTO parcels (line_id, tracking_no, entered_at, length_mm) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![line_id, tracking_no, entered_at, length_mm])?;
    Ok(tx.last_insert_rowid())
}

/// One scanner message as stored.
#[derive(Debug, Clone)]
pub struct ScanRow<'a> {
    /// Line the scanner is on.
    pub line_id: &'a str,
    /// Scanner name.
    pub scanner: &'a str,
    /// Parcel the scan was assigned to, if any.
    pub parcel_id: Option<i64>,
    /// When it was received.
    pub at: &'a str,
    /// `code`, `no_read` or `invalid`.
    pub kind: &'a str,
    /// The code read.
    pub code: Option<&'a str>,
    /// Why invalid or unassigned, with the raw bytes.
    pub detail: Option<&'a str>,
}

/// Store a scanner message.
pub fn insert_scan(tx: &Transaction<'_>, scan: &ScanRow<'_>) -> Result<i64, StoreError> {
    tx.prepare_cached(
        "INSERT INTO scans (line_id, scanner, parcel_id, at, kind, code, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![scan.line_id, scan.scanner, scan.parcel_id, scan.at, scan.kind, scan.code, scan.detail])?;
    Ok(tx.last_insert_rowid())
}

/// A decision as stored with its parcel.
#[derive(Debug, Clone)]
pub struct DecisionRow<'a> {
    /// Parcel record id.
    pub parcel_id: i64,
    /// When the decision was made.
    pub decided_at: &'a str,
    /// The agreed barcode read.
    pub logistics_no: Option<&'a str>,
    /// `read`, `no_read`, `conflict` or `none`.
    pub read_status: &'a str,
    /// Lane number.
    pub lane: u16,
    /// `release`, `inspection` or `exception`.
    pub lane_kind: &'a str,
    /// Reason codes, JSON array.
    pub reasons_json: &'a str,
    /// The facts the decision used, JSON.
    pub inputs_json: &'a str,
    /// Risk signals, JSON.
    pub risk_json: &'a str,
    /// E-commerce company of the waybill, for statistics.
    pub ebc_code: Option<&'a str>,
    /// The measured weight was out of tolerance.
    pub weight_mismatch: bool,
}

/// Store the decision for a parcel.
pub fn record_decision(tx: &Transaction<'_>, d: &DecisionRow<'_>) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE parcels SET decided_at = ?2, logistics_no = ?3, read_status = ?4, lane = ?5, lane_kind = ?6,
                reasons = ?7, decision_inputs = ?8, risk = ?9, ebc_code = ?10, weight_mismatch = ?11
             WHERE id = ?1",
        )?
        .execute(params![
            d.parcel_id,
            d.decided_at,
            d.logistics_no,
            d.read_status,
            d.lane,
            d.lane_kind,
            d.reasons_json,
            d.inputs_json,
            d.risk_json,
            d.ebc_code,
            d.weight_mismatch
        ])?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("parcel {}", d.parcel_id)));
    }
    uplink_messages::enqueue_sort_result(tx, d.parcel_id)?;
    if d.lane_kind == "release" {
        // A hold committed while the line was deciding: the line acts on it at once.
        super::holds::check_decision(tx, d.parcel_id)?;
    }
    Ok(())
}

/// Store the scale's weighing of a parcel.
pub fn record_weight(
    tx: &Transaction<'_>,
    parcel_id: i64,
    kg: f64,
    stable: bool,
    at: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE parcels SET weight_kg = ?2, weight_stable = ?3, weighed_at = ?4 WHERE id = ?1",
    )?
    .execute(params![parcel_id, kg, stable, at])?;
    tx.prepare_cached("INSERT INTO readings (parcel_id, kind, value, unit, raw, at) VALUES (?1, 'weight', ?2, 'kg', ?3, ?4)")?
        .execute(params![parcel_id, kg, if stable { "stable" } else { "unstable" }, at])?;
    Ok(())
}

/// Note when a parcel entered the X-ray tunnel.
pub fn record_xray_entered(
    tx: &Transaction<'_>,
    parcel_id: i64,
    at: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE parcels SET xray_entered_at = ?2 WHERE id = ?1")?
        .execute(params![parcel_id, at])?;
    Ok(())
}

/// Record one X-ray view of a parcel (the machine's file, as a reading) and count it.
pub fn record_xray_view(
    tx: &Transaction<'_>,
    parcel_id: i64,
    file: &str,
    at: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO readings (parcel_id, kind, raw, at) VALUES (?1, 'xray_view', ?2, ?3)",
    )?
    .execute(params![parcel_id, file, at])?;
    tx.prepare_cached("UPDATE parcels SET xray_images = xray_images + 1 WHERE id = ?1")?
        .execute([parcel_id])?;
    Ok(())
}

/// The earliest other parcel with this waybill that went to release or inspection.
pub fn earlier_sorted(
    conn: &Connection,
    logistics_no: &str,
    parcel_id: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM parcels WHERE logistics_no = ?1 AND id <> ?2 AND lane_kind IN ('release', 'inspection')
             ORDER BY id LIMIT 1",
        )?
        .query_row(params![logistics_no, parcel_id], |r| r.get(0))
        .optional()?)
}

/// Parcels of this e-commerce company decided since `since` whose weight was out of tolerance.
pub fn ebc_weight_mismatches_since(
    conn: &Connection,
    ebc_code: &str,
    since: &str,
) -> Result<u32, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM parcels WHERE ebc_code = ?1 AND weight_mismatch = 1 AND decided_at >= ?2",
        )?
        .query_row(params![ebc_code, since], |r| r.get(0))?)
}

/// Note when the lane command was written to the PLC, or when the PLC acknowledged it.
pub fn record_command(
    tx: &Transaction<'_>,
    parcel_id: i64,
    at: &str,
    acked: bool,
) -> Result<(), StoreError> {
    let sql = if acked {
        "UPDATE parcels SET command_acked_at = ?2 WHERE id = ?1"
    } else {
        "UPDATE parcels SET command_written_at = ?2 WHERE id = ?1"
    };
    tx.prepare_cached(sql)?.execute(params![parcel_id, at])?;
    Ok(())
}

/// Store the lane the PLC reports the parcel fell into, and the outcome. A parcel that
/// fell into a release lane (`into_release`) goes into that lane's open bag, and gets an
/// interception when it should not be there (a hold stands, or it was not released).
pub fn record_drop(
    tx: &Transaction<'_>,
    parcel_id: i64,
    lane: u16,
    at: &str,
    outcome: &str,
    into_release: bool,
) -> Result<(), StoreError> {
    let line_id: Option<String> = tx
        .prepare_cached(
            "UPDATE parcels SET dropped_lane = ?2, dropped_at = ?3, outcome = ?4 WHERE id = ?1 RETURNING line_id",
        )?
        .query_row(params![parcel_id, lane, at, outcome], |r| r.get(0))
        .optional()?;
    let Some(line_id) = line_id else {
        return Err(StoreError::NotFound(format!("parcel {parcel_id}")));
    };
    let dropped = (outcome != "unconfirmed").then_some(lane);
    uplink_messages::enqueue_outcome(tx, parcel_id, &line_id, outcome, dropped, at)?;
    if dropped.is_some() && into_release {
        super::bags::put_in_open_bag(tx, parcel_id, &line_id, lane, at)?;
        super::holds::on_release_drop(tx, parcel_id)?;
    } else if dropped.is_some() {
        super::holds::resolve(tx, parcel_id, super::holds::LateOutcome::Recommanded, None)?;
    }
    Ok(())
}

/// Mark the parcels a previous run left in flight on `line_id` as interrupted.
pub fn mark_interrupted(tx: &Transaction<'_>, line_id: &str) -> Result<usize, StoreError> {
    let ids: Vec<i64> = tx
        .prepare_cached(
            "UPDATE parcels SET outcome = 'interrupted' WHERE line_id = ?1 AND outcome = 'in_flight' RETURNING id",
        )?
        .query_map([line_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let at = super::now();
    for id in &ids {
        uplink_messages::enqueue_outcome(tx, *id, line_id, "interrupted", None, &at)?;
    }
    Ok(ids.len())
}

/// Keep a piece of bad input for inspection.
pub fn reject_input(
    tx: &Transaction<'_>,
    at: &str,
    source: &str,
    reason: &str,
    payload: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO rejected_inputs (at, source, reason, payload) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![at, source, reason, payload])?;
    Ok(())
}

/// A parcel as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ParcelView {
    /// Record id.
    pub id: i64,
    /// The line it went through.
    pub line_id: String,
    /// PLC tracking number.
    pub tracking_no: u16,
    /// When it entered the line.
    pub entered_at: String,
    /// The waybill read, if any.
    pub logistics_no: Option<String>,
    /// How the read went.
    pub read_status: String,
    /// Lane decided.
    pub lane: Option<u16>,
    /// Kind of lane decided.
    pub lane_kind: Option<String>,
    /// Reason codes.
    pub reasons: Vec<String>,
    /// When it was decided.
    pub decided_at: Option<String>,
    /// Lane the PLC reported.
    pub dropped_lane: Option<u16>,
    /// When it dropped.
    pub dropped_at: Option<String>,
    /// in_flight, sorted, lane_mismatch, interrupted.
    pub outcome: String,
}

/// The columns [`view`] reads, in its order, from `parcels` aliased `p` (so a query can
/// join other tables and select more columns after these).
pub(crate) const VIEW_COLUMNS: &str =
    "p.id, p.line_id, p.tracking_no, p.entered_at, p.logistics_no, p.read_status, p.lane,
    p.lane_kind, p.reasons, p.decided_at, p.dropped_lane, p.dropped_at, p.outcome";

/// A [`ParcelView`] from a row that starts with [`VIEW_COLUMNS`].
pub(crate) fn view(r: &rusqlite::Row<'_>) -> rusqlite::Result<ParcelView> {
    let reasons: Option<String> = r.get(8)?;
    Ok(ParcelView {
        id: r.get(0)?,
        line_id: r.get(1)?,
        tracking_no: r.get(2)?,
        entered_at: r.get(3)?,
        logistics_no: r.get(4)?,
        read_status: r.get(5)?,
        lane: r.get(6)?,
        lane_kind: r.get(7)?,
        reasons: reasons
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default(),
        decided_at: r.get(9)?,
        dropped_lane: r.get(10)?,
        dropped_at: r.get(11)?,
        outcome: r.get(12)?,
    })
}

/// The most recent parcels, newest first.
pub fn recent(conn: &Connection, limit: u32) -> Result<Vec<ParcelView>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {VIEW_COLUMNS} FROM parcels p ORDER BY p.id DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit], view)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One parcel by record id.
pub fn get(conn: &Connection, id: i64) -> Result<ParcelView, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {VIEW_COLUMNS} FROM parcels p WHERE p.id = ?1"
    ))?;
    stmt.query_row([id], view).map_err(|e| match e {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound(format!("parcel {id}")),
        e => e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn a_companys_recent_weight_mismatches_are_counted_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .writer
            .write(|tx| {
                for (tracking, ebc, mismatch, at) in [
                    (1, "E1", true, "2026-11-27T10:00:00.000Z"),
                    (2, "E1", false, "2026-11-27T10:00:01.000Z"),
                    (3, "E2", true, "2026-11-27T10:00:02.000Z"),
                    (4, "E1", true, "2026-11-26T09:00:00.000Z"),
                ] {
                    let id = insert_entry(tx, "L1", tracking, at, 300)?;
                    let row = DecisionRow {
                        parcel_id: id,
                        decided_at: at,
                        logistics_no: None,
                        read_status: "read",
                        lane: 2,
                        lane_kind: "inspection",
                        reasons_json: "[]",
                        inputs_json: "{}",
                        risk_json: "{}",
                        ebc_code: Some(ebc),
                        weight_mismatch: mismatch,
                    };
                    record_decision(tx, &row)?;
                }
                Ok(())
            })
            .await
            .unwrap();
        let n = store
            .reader
            .read(|conn| ebc_weight_mismatches_since(conn, "E1", "2026-11-27T00:00:00.000Z"))
            .await
            .unwrap();
        assert_eq!(
            n, 1,
            "one mismatch of E1 since midnight; the other is older, E2 is another company"
        );
    }
}
