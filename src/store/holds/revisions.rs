//! A decision revised after it was made: the parcel's row takes the new lane, and the
//! revision keeps both versions and the cause (and goes uplink as `decision_revised`).

use customs_edge_protocol::uplink::{self, Stream};
use rusqlite::{Transaction, params};

use crate::store::{StoreError, outbox};

/// The new version of a decision.
#[derive(Debug, Clone)]
pub struct Revision<'a> {
    /// The parcel whose decision is revised, by record id.
    pub parcel_id: i64,
    /// What came after the first decision.
    pub cause: &'a str,
    /// Lane number now commanded.
    pub lane: u16,
    /// Its kind.
    pub lane_kind: &'a str,
    /// Reason codes, JSON array.
    pub reasons_json: &'a str,
    /// The facts the new version used, JSON.
    pub inputs_json: &'a str,
}

/// Revise a parcel's decision; returns the revision's record id.
pub fn revise_decision(tx: &Transaction<'_>, r: &Revision<'_>) -> Result<i64, StoreError> {
    let (line, logistics_no, old_lane, old_kind, old_reasons): (
        String,
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<String>,
    ) = tx
        .prepare_cached(
            "SELECT line_id, logistics_no, lane, lane_kind, reasons FROM parcels WHERE id = ?1",
        )?
        .query_row([r.parcel_id], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })?;
    let at = crate::store::now();
    tx.prepare_cached(
        "INSERT INTO decision_revisions (parcel_id, at, cause, old_lane, old_lane_kind, old_reasons,
            new_lane, new_lane_kind, new_reasons) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        r.parcel_id,
        at,
        r.cause,
        old_lane,
        old_kind,
        old_reasons,
        r.lane,
        r.lane_kind,
        r.reasons_json
    ])?;
    let id = tx.last_insert_rowid();
    tx.prepare_cached(
        "UPDATE parcels SET lane = ?2, lane_kind = ?3, reasons = ?4, decision_inputs = ?5 WHERE id = ?1",
    )?
    .execute(params![
        r.parcel_id,
        r.lane,
        r.lane_kind,
        r.reasons_json,
        r.inputs_json
    ])?;
    let reasons = |s: Option<&str>| -> Vec<String> {
        s.and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    };
    let body = uplink::DecisionRevised {
        revision_id: id,
        parcel_id: r.parcel_id,
        line,
        logistics_no,
        cause: r.cause.to_owned(),
        old_lane,
        old_lane_kind: old_kind,
        old_reasons: reasons(old_reasons.as_deref()),
        new_lane: i64::from(r.lane),
        new_lane_kind: r.lane_kind.to_owned(),
        new_reasons: reasons(Some(r.reasons_json)),
        at,
    };
    outbox::enqueue(tx, Stream::Decisions, uplink::kind::DECISION_REVISED, &body)?;
    Ok(id)
}
