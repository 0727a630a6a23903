//! The shift handover (交接班) over a chosen span: what each line sorted per lane, every
//! alarm raised (by kind, and how many still need someone), officer flags and inspection
//! results, gate passes by verdict and every manual override with who and why. Read-only;
//! times are RFC 3339 UTC text like the store's.

use rusqlite::{Connection, params};
use serde::Serialize;

use super::StoreError;

/// One line's parcels in the span, per lane kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LineCounts {
    /// Line id.
    pub line_id: String,
    /// Sent to the release lane.
    pub release: u64,
    /// Sent to inspection.
    pub inspection: u64,
    /// Sent to the exception lane.
    pub exception: u64,
    /// Not decided (yet).
    pub pending: u64,
}

/// A count under a name (an alarm kind, an inspection result, a gate verdict).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Named {
    /// The code.
    pub key: String,
    /// How many.
    pub count: u64,
}

/// A manual override of a gate lane.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OverrideRow {
    /// The pass's record id.
    pub pass_id: i64,
    /// Lane id.
    pub gate_id: String,
    /// The plate, if read.
    pub plate: Option<String>,
    /// The permit, if any.
    pub permit_no: Option<String>,
    /// Who (the operator, and the confirming officer when the permit needed one).
    pub by: Option<String>,
    /// Why the barrier was opened by hand.
    pub reason: Option<String>,
    /// When (UTC).
    pub at: String,
}

/// The handover of a span.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Handover {
    /// Start, included (UTC).
    pub from: String,
    /// End, excluded (UTC).
    pub to: String,
    /// Parcels per line and lane kind, by when they entered.
    pub lines: Vec<LineCounts>,
    /// Alarms raised in the span, per kind.
    pub alarms: Vec<Named>,
    /// Of those, how many are still open or not acknowledged.
    pub alarms_needing_attention: u64,
    /// Officer flags in the span.
    pub flags: u64,
    /// Inspection results recorded in the span, per result.
    pub inspections: Vec<Named>,
    /// Gate passes in the span, per verdict.
    pub gate_passes: Vec<Named>,
    /// Every manual override in the span, oldest first.
    pub overrides: Vec<OverrideRow>,
}

fn named(conn: &Connection, sql: &str, from: &str, to: &str) -> Result<Vec<Named>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(Named {
            key: r.get(0)?,
            count: r.get::<_, i64>(1)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The handover of `[from, to)`.
pub fn compute(conn: &Connection, from: &str, to: &str) -> Result<Handover, StoreError> {
    let mut lines: Vec<LineCounts> = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT line_id, coalesce(lane_kind, 'pending'), count(*) FROM parcels
             WHERE entered_at >= ?1 AND entered_at < ?2 GROUP BY 1, 2 ORDER BY 1",
        )?;
        let mut rows = stmt.query(params![from, to])?;
        while let Some(r) = rows.next()? {
            let (line, kind, n): (String, String, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            if lines.last().is_none_or(|l| l.line_id != line) {
                lines.push(LineCounts {
                    line_id: line,
                    ..LineCounts::default()
                });
            }
            let l = lines.last_mut().expect("just pushed");
            let n = n as u64;
            match kind.as_str() {
                "release" => l.release += n,
                "inspection" => l.inspection += n,
                "exception" => l.exception += n,
                _ => l.pending += n,
            }
        }
    }
    let alarms = named(
        conn,
        "SELECT kind, count(*) FROM alarms WHERE at >= ?1 AND at < ?2 GROUP BY 1 ORDER BY 2 DESC, 1",
        from,
        to,
    )?;
    let alarms_needing_attention: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM alarms WHERE at >= ?1 AND at < ?2
             AND (cleared_at IS NULL OR acked_by IS NULL)",
        )?
        .query_row(params![from, to], |r| r.get(0))?;
    let flags: i64 = conn
        .prepare_cached("SELECT count(*) FROM officer_flags WHERE at >= ?1 AND at < ?2")?
        .query_row(params![from, to], |r| r.get(0))?;
    let inspections = named(
        conn,
        "SELECT result, count(*) FROM inspection_results WHERE at >= ?1 AND at < ?2 GROUP BY 1 ORDER BY 1",
        from,
        to,
    )?;
    let gate_passes = named(
        conn,
        "SELECT verdict, count(*) FROM gate_passes WHERE at >= ?1 AND at < ?2 GROUP BY 1 ORDER BY 1",
        from,
        to,
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, gate_id, plate, permit_no, override_by, override_reason, at FROM gate_passes
         WHERE at >= ?1 AND at < ?2 AND verdict = 'override' ORDER BY at, id",
    )?;
    let overrides = stmt
        .query_map(params![from, to], |r| {
            Ok(OverrideRow {
                pass_id: r.get(0)?,
                gate_id: r.get(1)?,
                plate: r.get(2)?,
                permit_no: r.get(3)?,
                by: r.get(4)?,
                reason: r.get(5)?,
                at: r.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Handover {
        from: from.to_owned(),
        to: to.to_owned(),
        lines,
        alarms,
        alarms_needing_attention: alarms_needing_attention as u64,
        flags: flags as u64,
        inspections,
        gate_passes,
        overrides,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, alarms};

    #[tokio::test]
    async fn a_handover_counts_alarms_and_what_still_needs_someone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .writer
            .write(|tx| {
                alarms::raise(
                    tx,
                    "line:L1:plc",
                    "plc_fault:emergency_stop",
                    "E-stop",
                    None,
                )?;
                alarms::clear(tx, "line:L1:plc", "plc_fault:emergency_stop")?;
                alarms::raise(tx, "gate:K1", "barrier_stuck", "stuck", None)?;
                Ok(())
            })
            .await
            .unwrap();
        let h = store
            .reader
            .read(|c| compute(c, "2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(h.alarms.len(), 2, "{h:?}");
        assert_eq!(
            h.alarms_needing_attention, 2,
            "cleared but not acknowledged counts"
        );
        assert!(h.lines.is_empty() && h.overrides.is_empty() && h.flags == 0);
        let none = store
            .reader
            .read(|c| compute(c, "2999-01-01T00:00:00Z", "2999-01-02T00:00:00Z"))
            .await
            .unwrap();
        assert!(none.alarms.is_empty());
    }
}
