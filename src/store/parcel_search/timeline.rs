//! A parcel's timeline: every event the store holds for it, in time order.
//!
//! Events come from the parcel row itself (entry, X-ray entry, decision, lane command,
//! drop), from the tables that name it (scans, readings, evidence links, alarms,
//! inspection results), and from those that name its waybill (flags, instructions). Two
//! events at the same millisecond keep the order a parcel lives them in (entry before
//! scan before decision before drop).

use rusqlite::{Connection, Row, params};
use serde_json::json;

use super::detail::{ParcelDetail, TimelineEvent};
use crate::store::StoreError;

/// Where a kind of event falls among events of the same instant.
fn stage(kind: &str) -> u8 {
    match kind {
        "entered" => 0,
        "instruction" => 1,
        "scan" => 2,
        "reading" => 3,
        "xray_entered" => 4,
        "evidence" => 5,
        "flag" => 6,
        "decision" => 7,
        "command_written" => 8,
        "command_acked" => 9,
        "drop" => 10,
        "alarm" => 11,
        _ => 12,
    }
}

/// The time as stored (RFC 3339 UTC, milliseconds), so that times written in other forms
/// sort where they belong; a time that does not parse is kept as it is.
fn sort_key(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at).map_or_else(
        |_| at.to_owned(),
        |t| crate::store::timestamp(t.with_timezone(&chrono::Utc)),
    )
}

#[derive(Default)]
struct Events(Vec<TimelineEvent>);

impl Events {
    fn push(&mut self, at: Option<String>, kind: &'static str, detail: serde_json::Value) {
        if let Some(at) = at {
            self.0.push(event(at, kind, detail));
        }
    }

    fn into_sorted(self) -> Vec<TimelineEvent> {
        let mut events = self.0;
        // Stable: events of one kind at one instant stay in the order they were read (by id).
        events.sort_by_cached_key(|e| (sort_key(&e.at), stage(e.kind)));
        events
    }
}

/// Run `sql` with `args` and turn each row into an event.
fn events_of<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    args: P,
    event: impl FnMut(&Row<'_>) -> rusqlite::Result<TimelineEvent>,
) -> Result<Vec<TimelineEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(args, event)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn event(at: String, kind: &'static str, detail: serde_json::Value) -> TimelineEvent {
    TimelineEvent {
        at,
        kind,
        detail,
        evidence: None,
    }
}

/// Every event of the parcel in `d` (whose other parts are read already), in time order.
pub(super) fn timeline(
    conn: &Connection,
    d: &ParcelDetail,
) -> Result<Vec<TimelineEvent>, StoreError> {
    let id = d.parcel.id;
    let mut events = Events::default();
    parcel_row(conn, d, &mut events)?;
    events.0.extend(events_of(
        conn,
        "SELECT at, scanner, kind, code, detail FROM scans WHERE parcel_id = ?1 ORDER BY id",
        [id],
        |r| {
            let detail = json!({
                "scanner": r.get::<_, String>(1)?, "scan": r.get::<_, String>(2)?,
                "code": r.get::<_, Option<String>>(3)?, "detail": r.get::<_, Option<String>>(4)?,
            });
            Ok(event(r.get(0)?, "scan", detail))
        },
    )?);
    events.0.extend(events_of(
        conn,
        "SELECT at, kind, value, unit, raw FROM readings WHERE parcel_id = ?1 ORDER BY id",
        [id],
        |r| {
            let detail = json!({
                "reading": r.get::<_, String>(1)?, "value": r.get::<_, Option<f64>>(2)?,
                "unit": r.get::<_, Option<String>>(3)?, "raw": r.get::<_, Option<String>>(4)?,
            });
            Ok(event(r.get(0)?, "reading", detail))
        },
    )?);
    events.0.extend(events_of(
        conn,
        "SELECT coalesce(e.produced_at, l.linked_at), e.sha256, e.kind, l.role, l.linked_at
         FROM evidence_links l JOIN evidence e ON e.id = l.evidence_id
         WHERE l.record_kind = ?1 AND l.record_id = ?2 ORDER BY e.id",
        params![crate::store::evidence_rows::RECORD_PARCEL, id],
        |r| {
            let detail = json!({
                "evidence": r.get::<_, String>(2)?, "role": r.get::<_, Option<String>>(3)?,
                "linked_at": r.get::<_, String>(4)?,
            });
            Ok(TimelineEvent {
                evidence: Some(r.get(1)?),
                ..event(r.get(0)?, "evidence", detail)
            })
        },
    )?);
    events.0.extend(events_of(
        conn,
        "SELECT at, kind, source, detail, cleared_at FROM alarms WHERE parcel_id = ?1 ORDER BY id",
        [id],
        |r| {
            let detail = json!({
                "alarm": r.get::<_, String>(1)?, "source": r.get::<_, String>(2)?,
                "detail": r.get::<_, String>(3)?, "cleared_at": r.get::<_, Option<String>>(4)?,
            });
            Ok(event(r.get(0)?, "alarm", detail))
        },
    )?);
    for f in &d.flags {
        let scope = if f.parcel_id == Some(id) {
            "parcel"
        } else {
            "waybill"
        };
        events.push(
            Some(f.at.clone()),
            "flag",
            json!({ "flag_id": f.id, "officer": f.officer, "reason": f.reason, "scope": scope }),
        );
    }
    for i in &d.instructions {
        events.push(
            Some(i.received_at.clone()),
            "instruction",
            json!({ "instruction": i.kind, "reason": i.reason, "source": i.source,
                    "issued_at": i.issued_at, "standing": i.standing }),
        );
    }
    for i in &d.inspections {
        events.push(
            Some(i.at.clone()),
            "inspection",
            json!({ "inspection_id": i.id, "result": i.result, "findings": i.findings,
                    "officer": i.officer }),
        );
    }
    Ok(events.into_sorted())
}

/// What the parcel's row holds besides its [`crate::store::parcels::ParcelView`].
struct Stations {
    length_mm: Option<i64>,
    xray_entered_at: Option<String>,
    command_written_at: Option<String>,
    command_acked_at: Option<String>,
    /// The decision's facts, JSON.
    inputs: Option<String>,
    /// The decision's risk signals, JSON.
    risk: Option<String>,
}

/// The events the parcel's own row records: entry, X-ray entry, decision, command, drop.
fn parcel_row(conn: &Connection, d: &ParcelDetail, events: &mut Events) -> Result<(), StoreError> {
    let p = &d.parcel;
    let row = conn
        .prepare_cached(
            "SELECT length_mm, xray_entered_at, command_written_at, command_acked_at, decision_inputs, risk
             FROM parcels WHERE id = ?1",
        )?
        .query_row([p.id], |r| {
            Ok(Stations {
                length_mm: r.get(0)?,
                xray_entered_at: r.get(1)?,
                command_written_at: r.get(2)?,
                command_acked_at: r.get(3)?,
                inputs: r.get(4)?,
                risk: r.get(5)?,
            })
        })?;
    let parse = |s: Option<String>| {
        s.and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .unwrap_or(serde_json::Value::Null)
    };
    events.push(
        Some(p.entered_at.clone()),
        "entered",
        json!({ "line_id": p.line_id, "tracking_no": p.tracking_no, "length_mm": row.length_mm }),
    );
    events.push(row.xray_entered_at, "xray_entered", json!({}));
    events.push(
        p.decided_at.clone(),
        "decision",
        json!({
            "lane": p.lane, "lane_kind": p.lane_kind, "reasons": p.reasons,
            "read_status": p.read_status, "logistics_no": p.logistics_no,
            "inputs": parse(row.inputs), "risk": parse(row.risk),
        }),
    );
    events.push(
        row.command_written_at,
        "command_written",
        json!({ "lane": p.lane }),
    );
    events.push(
        row.command_acked_at,
        "command_acked",
        json!({ "lane": p.lane }),
    );
    events.push(
        p.dropped_at.clone(),
        "drop",
        json!({
            "outcome": p.outcome, "decided_lane": p.lane,
            // An unconfirmed drop names the lane decided, not one the PLC reported.
            "dropped_lane": p.dropped_lane.filter(|_| p.outcome != "unconfirmed"),
            "mismatch": p.outcome == "lane_mismatch",
        }),
    );
    Ok(())
}
