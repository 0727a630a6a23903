//! Gate passes and the exit permits the gate loop checks them against.
//!
//! [`record_pass`] writes a pass with everything it rests on in one transaction: the row,
//! its plate snapshots linked as evidence, the permit moved to passed, the uplink message
//! (and the CEB507 arrival for an entry), and for an override its audit entry.

use customs_edge_protocol::uplink::{self, Stream};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::arrivals;
use super::evidence_rows::{self, RECORD_GATE_PASS};
use super::{StoreError, audit, outbox};
use crate::gates::arrival::ExpectedArrival;
use crate::gates::permit::{Permit, permit_status};
use crate::gates::verdict::PassVerdict;

/// Every permit issued for `plate`, newest first.
pub fn permits_for_plate(conn: &Connection, plate: &str) -> Result<Vec<Permit>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT permit_no, vehicle_no, status, total_gross_weight_kg, updated_at
         FROM exit_permits WHERE vehicle_no = ?1 ORDER BY updated_at DESC, permit_no",
    )?;
    let rows = stmt.query_map([plate], |r| {
        Ok(Permit {
            permit_no: r.get(0)?,
            vehicle_no: r.get(1)?,
            status: r.get(2)?,
            total_gross_weight_kg: r.get(3)?,
            updated_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Plates that hold an approved permit: what a misread is resolved against.
pub fn approved_plates(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT vehicle_no FROM exit_permits WHERE status = ?1 ORDER BY vehicle_no",
    )?;
    let rows = stmt.query_map([permit_status::APPROVED], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A gate pass to record.
#[derive(Debug, Clone)]
pub struct NewPass {
    /// Site code (loctNo), for the arrival report.
    pub site: String,
    /// Lane id.
    pub gate_id: String,
    /// `in` or `out`.
    pub direction: &'static str,
    /// The agreed plate, if any.
    pub plate: Option<String>,
    /// The permit matched, if any.
    pub permit_no: Option<String>,
    /// Weighbridge weight, kg.
    pub weight_kg: Option<f64>,
    /// Whether the weighbridge called that weight stable.
    pub weight_stable: bool,
    /// Released, refused, or an override; only a refusal leaves the permit unused.
    pub verdict: PassVerdict,
    /// Every reason, headline first, as JSON objects `{code, zh, detail}`.
    pub reasons: Vec<serde_json::Value>,
    /// What the LED showed.
    pub led_text: String,
    /// Who overrode, and why.
    pub override_by: Option<(String, String)>,
    /// The plate reads and their consensus, as JSON.
    pub consensus: serde_json::Value,
    /// Plate snapshots (evidence row ids with their hashes).
    pub evidence: Vec<(i64, String)>,
    /// Entry: the bills announced for the truck; each is reported arrived (CEB507).
    pub arrivals: Vec<ExpectedArrival>,
    /// When the verdict was made.
    pub at: String,
}

/// Record a gate pass with its evidence, permit status, uplink and audit; returns its id.
pub fn record_pass(tx: &Transaction<'_>, pass: &NewPass) -> Result<i64, StoreError> {
    let reasons = serde_json::Value::Array(pass.reasons.clone()).to_string();
    let (by, why) = pass.override_by.as_ref().map_or((None, None), |(by, why)| {
        (Some(by.as_str()), Some(why.as_str()))
    });
    tx.prepare_cached(
        "INSERT INTO gate_passes (gate_id, direction, plate, permit_no, weight_kg, verdict, reasons, led_text,
            override_by, override_reason, at, consensus, weight_stable)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        pass.gate_id,
        pass.direction,
        pass.plate,
        pass.permit_no,
        pass.weight_kg,
        pass.verdict.as_str(),
        reasons,
        pass.led_text,
        by,
        why,
        pass.at,
        pass.consensus.to_string(),
        pass.weight_stable,
    ])?;
    let id = tx.last_insert_rowid();
    for (evidence_id, _) in &pass.evidence {
        evidence_rows::link(tx, *evidence_id, RECORD_GATE_PASS, id, None)?;
    }
    let opened = pass.verdict != PassVerdict::Refused;
    if opened && let Some(permit) = &pass.permit_no {
        tx.prepare_cached(
            "UPDATE exit_permits SET status = ?2, updated_at = ?3 WHERE permit_no = ?1 AND status = ?4",
        )?
        .execute(params![
            permit,
            permit_status::PASSED,
            pass.at,
            permit_status::APPROVED
        ])?;
    }
    if let Some((by, why)) = &pass.override_by {
        audit::append_audit(
            tx,
            &pass.at,
            by,
            "gate_override",
            &format!("gate {} pass {id}", pass.gate_id),
            &serde_json::json!({
                "reason": why,
                "plate": pass.plate,
                "permit_no": pass.permit_no,
                "weight_kg": pass.weight_kg,
                "reasons": pass.reasons,
            }),
        )?;
    }
    let body = uplink::GatePass {
        gate_pass_id: id,
        gate: pass.gate_id.clone(),
        direction: pass.direction.to_owned(),
        plate: pass.plate.clone(),
        permit_no: pass.permit_no.clone(),
        weight_kg: pass.weight_kg,
        verdict: pass.verdict.as_str().to_owned(),
        reasons: pass
            .reasons
            .iter()
            .filter_map(|r| r.get("code").and_then(|c| c.as_str()).map(str::to_owned))
            .collect(),
        override_by: by.map(str::to_owned),
        override_reason: why.map(str::to_owned),
        evidence: pass
            .evidence
            .iter()
            .map(|(_, sha256)| uplink::EvidenceRef {
                sha256: sha256.clone(),
                kind: crate::evidence::EvidenceKind::PlateSnapshot
                    .as_str()
                    .to_owned(),
                role: None,
            })
            .collect(),
        at: pass.at.clone(),
    };
    outbox::enqueue(tx, Stream::Gate, uplink::kind::GATE_PASS, &body)?;
    if opened
        && pass.direction == "in"
        && let Some(plate) = &pass.plate
    {
        // One CEB507 report per announced bill; a truck nobody announced is still
        // reported, without a bill or waybills.
        let reports = if pass.arrivals.is_empty() {
            vec![uplink::Arrival {
                gate_pass_id: id,
                loct_no: pass.site.clone(),
                vehicle_no: plate.clone(),
                bill_no: None,
                items: Vec::new(),
                arrived_at: pass.at.clone(),
            }]
        } else {
            let mut reports = Vec::new();
            for expected in &pass.arrivals {
                if arrivals::mark_arrived(tx, &expected.bill_no, id, &pass.at)? {
                    reports.push(expected.arrival_report(id, &pass.site, &pass.at));
                }
            }
            reports
        };
        for report in &reports {
            outbox::enqueue(tx, Stream::Gate, uplink::kind::ARRIVAL, report)?;
        }
    }
    Ok(id)
}

/// The truck of pass `id` cleared the exit loop; `vehicles` went through the opening.
pub fn mark_cleared(
    tx: &Transaction<'_>,
    id: i64,
    vehicles: u32,
    at: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE gate_passes SET cleared_at = ?2, vehicles = ?3 WHERE id = ?1")?
        .execute(params![id, at, vehicles])?;
    Ok(())
}

/// A gate pass as the consoles and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PassView {
    /// Record id.
    pub id: i64,
    /// Lane id.
    pub gate_id: String,
    /// `in` or `out`.
    pub direction: String,
    /// The agreed plate.
    pub plate: Option<String>,
    /// The permit matched.
    pub permit_no: Option<String>,
    /// Weighbridge weight, kg.
    pub weight_kg: Option<f64>,
    /// `released`, `refused` or `override`.
    pub verdict: String,
    /// Every reason, `{code, zh, detail}`.
    pub reasons: serde_json::Value,
    /// What the LED showed.
    pub led_text: Option<String>,
    /// Who overrode.
    pub override_by: Option<String>,
    /// Why the operator overrode, in their words.
    pub override_reason: Option<String>,
    /// The plate reads and their consensus.
    pub consensus: serde_json::Value,
    /// When the verdict was made.
    pub at: String,
    /// When the truck cleared the exit loop.
    pub cleared_at: Option<String>,
    /// Vehicles through the opening.
    pub vehicles: Option<u32>,
    /// SHA-256 of each plate snapshot.
    pub snapshots: Vec<String>,
}

const PASS_COLUMNS: &str =
    "id, gate_id, direction, plate, permit_no, weight_kg, verdict, reasons, led_text,
    override_by, override_reason, consensus, at, cleared_at, vehicles";

fn pass_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PassView> {
    let json = |i| -> rusqlite::Result<serde_json::Value> {
        Ok(r.get::<_, Option<String>>(i)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(serde_json::Value::Null))
    };
    Ok(PassView {
        id: r.get(0)?,
        gate_id: r.get(1)?,
        direction: r.get(2)?,
        plate: r.get(3)?,
        permit_no: r.get(4)?,
        weight_kg: r.get(5)?,
        verdict: r.get(6)?,
        reasons: json(7)?,
        led_text: r.get(8)?,
        override_by: r.get(9)?,
        override_reason: r.get(10)?,
        consensus: json(11)?,
        at: r.get(12)?,
        cleared_at: r.get(13)?,
        vehicles: r.get(14)?,
        snapshots: Vec::new(),
    })
}

fn with_snapshots(conn: &Connection, mut pass: PassView) -> Result<PassView, StoreError> {
    pass.snapshots = evidence_rows::for_record(conn, RECORD_GATE_PASS, pass.id)?
        .into_iter()
        .map(|e| e.sha256)
        .collect();
    Ok(pass)
}

/// The newest passes, of one lane or all, newest first.
pub fn recent_passes(
    conn: &Connection,
    gate_id: Option<&str>,
    limit: u32,
) -> Result<Vec<PassView>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PASS_COLUMNS} FROM gate_passes WHERE ?1 IS NULL OR gate_id = ?1
         ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = stmt
        .query_map(params![gate_id, limit], pass_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(|p| with_snapshots(conn, p)).collect()
}

/// One pass by id.
pub fn pass(conn: &Connection, id: i64) -> Result<Option<PassView>, StoreError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {PASS_COLUMNS} FROM gate_passes WHERE id = ?1"
        ))?
        .query_row([id], pass_row)
        .optional()?;
    row.map(|p| with_snapshots(conn, p)).transpose()
}

#[cfg(test)]
#[path = "passes_tests.rs"]
mod tests;

/// What a pass search asks: any of plate, permit (each a part, case-insensitive), lane and
/// a time range `[from, to)` (RFC 3339 UTC text).
#[derive(Debug, Clone, Default)]
pub struct PassSearch {
    /// Part of the plate.
    pub plate: Option<String>,
    /// Part of the permit number.
    pub permit: Option<String>,
    /// One lane.
    pub gate: Option<String>,
    /// From, included.
    pub from: Option<String>,
    /// To, excluded.
    pub to: Option<String>,
}

/// Passes matching `q`, newest first, at most `limit`.
pub fn search_passes(
    conn: &Connection,
    q: &PassSearch,
    limit: u32,
) -> Result<Vec<PassView>, StoreError> {
    let like = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                format!(
                    "%{}%",
                    s.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                )
            })
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PASS_COLUMNS} FROM gate_passes
         WHERE (?1 IS NULL OR plate LIKE ?1 ESCAPE '\\')
           AND (?2 IS NULL OR permit_no LIKE ?2 ESCAPE '\\')
           AND (?3 IS NULL OR gate_id = ?3)
           AND (?4 IS NULL OR at >= ?4) AND (?5 IS NULL OR at < ?5)
         ORDER BY at DESC, id DESC LIMIT ?6"
    ))?;
    let rows = stmt
        .query_map(
            params![like(&q.plate), like(&q.permit), q.gate, q.from, q.to, limit],
            pass_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(|p| with_snapshots(conn, p)).collect()
}
