//! Interceptions: a held (or never released) parcel that dropped into a release lane.
//! Opening one raises an alarm naming the waybill, line, lane, bag and when it dropped, and
//! goes uplink; until its retrieval is recorded (with a scan of the parcel's label, or by
//! hand with a reason, audited) the parcel and its bag count as held.

use customs_edge_protocol::uplink::{self, Stream};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::store::{StoreError, outbox};

/// The alarm kind of an open interception.
pub const ALARM_KIND: &str = "interception";

/// An interception as the consoles and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct InterceptionView {
    /// Record id.
    pub id: i64,
    /// The parcel intercepted, by record id.
    pub parcel_id: i64,
    /// Its waybill, if read.
    pub logistics_no: Option<String>,
    /// Its line.
    pub line_id: String,
    /// The release lane it fell into.
    pub lane: i64,
    /// The bag it went into.
    pub bag_id: Option<i64>,
    /// That bag's number, once closed.
    pub bag_no: Option<String>,
    /// When it dropped.
    pub dropped_at: Option<String>,
    /// Why it is held.
    pub cause: String,
    /// When the interception was opened.
    pub opened_at: String,
    /// Its alarm.
    pub alarm_id: Option<i64>,
    /// When its retrieval was recorded (open while `None`).
    pub retrieved_at: Option<String>,
    /// Who recorded it.
    pub retrieved_by: Option<String>,
    /// The label scanned at retrieval.
    pub retrieval_scan: Option<String>,
    /// Why recorded by hand.
    pub retrieval_reason: Option<String>,
}

/// A retrieval as recorded by an officer or operator: a scan of the parcel's label where
/// a scanner is at hand, or a reason when by hand.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct Retrieval {
    /// The code scanned from the parcel's label: must be its waybill (at most 80
    /// characters).
    #[serde(default)]
    #[schema(max_length = 80)]
    pub scan: Option<String>,
    /// Why the retrieval is recorded by hand (required without a scan; at most 500
    /// characters).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

const SELECT: &str =
    "SELECT i.id, i.parcel_id, i.logistics_no, i.line_id, i.lane, i.bag_id, b.bag_no,
        i.dropped_at, i.cause, i.opened_at, i.alarm_id, i.retrieved_at, i.retrieved_by,
        i.retrieval_scan, i.retrieval_reason
    FROM interceptions i LEFT JOIN bags b ON b.id = i.bag_id";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<InterceptionView> {
    Ok(InterceptionView {
        id: r.get(0)?,
        parcel_id: r.get(1)?,
        logistics_no: r.get(2)?,
        line_id: r.get(3)?,
        lane: r.get(4)?,
        bag_id: r.get(5)?,
        bag_no: r.get(6)?,
        dropped_at: r.get(7)?,
        cause: r.get(8)?,
        opened_at: r.get(9)?,
        alarm_id: r.get(10)?,
        retrieved_at: r.get(11)?,
        retrieved_by: r.get(12)?,
        retrieval_scan: r.get(13)?,
        retrieval_reason: r.get(14)?,
    })
}

/// One interception.
pub fn get(conn: &Connection, id: i64) -> Result<Option<InterceptionView>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE i.id = ?1"))?
        .query_row([id], row)
        .optional()?)
}

/// The interception of a parcel of waybill `logistics_no` on line `line_id`: the open one
/// if there is one, else the newest retrieved; `None` when it was never intercepted there.
pub fn for_waybill(
    conn: &Connection,
    line_id: &str,
    logistics_no: &str,
) -> Result<Option<InterceptionView>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "{SELECT} WHERE i.logistics_no = ?1 AND i.line_id = ?2
             ORDER BY i.retrieved_at IS NULL DESC, i.id DESC LIMIT 1"
        ))?
        .query_row(params![logistics_no, line_id], row)
        .optional()?)
}

/// Interceptions, newest first: the open ones only, or all.
pub fn list(
    conn: &Connection,
    open_only: bool,
    limit: u32,
) -> Result<Vec<InterceptionView>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "{SELECT} WHERE (?1 = 0 OR i.retrieved_at IS NULL) ORDER BY i.id DESC LIMIT ?2"
        ))?
        .query_map(params![open_only, limit], row)?
        .collect::<Result<_, _>>()?)
}

/// Open the interception of a parcel that dropped into a release lane (or return the one
/// it has): the alarm and the uplink message are written with it.
pub fn open(
    tx: &Transaction<'_>,
    parcel_id: i64,
    cause: &str,
) -> Result<InterceptionView, StoreError> {
    let existing: Option<i64> = tx
        .prepare_cached("SELECT id FROM interceptions WHERE parcel_id = ?1")?
        .query_row([parcel_id], |r| r.get(0))
        .optional()?;
    if let Some(id) = existing {
        return get(tx, id)?.ok_or_else(|| StoreError::NotFound(format!("interception {id}")));
    }
    let (logistics_no, line_id, lane, bag_id, dropped_at): (
        Option<String>,
        String,
        Option<i64>,
        Option<i64>,
        Option<String>,
    ) = tx
        .prepare_cached(
            "SELECT logistics_no, line_id, dropped_lane, bag_id, dropped_at FROM parcels WHERE id = ?1",
        )?
        .query_row([parcel_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
    let lane = lane.unwrap_or_default();
    let at = crate::store::now();
    let detail = format!(
        "parcel {parcel_id} (waybill {}) is held ({cause}) but dropped into release lane {lane} \
         of line {line_id}{} at {}: retrieve it and record the retrieval",
        logistics_no.as_deref().unwrap_or("unread"),
        bag_id.map_or_else(String::new, |b| format!(", bag {b}")),
        dropped_at.as_deref().unwrap_or("?"),
    );
    let alarm_id = crate::store::alarms::raise(
        tx,
        &format!("line:{line_id}"),
        ALARM_KIND,
        &detail,
        Some(parcel_id),
    )?;
    tx.prepare_cached(
        "INSERT INTO interceptions (parcel_id, logistics_no, line_id, lane, bag_id, dropped_at,
            cause, opened_at, alarm_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        parcel_id,
        logistics_no,
        line_id,
        lane,
        bag_id,
        dropped_at,
        cause,
        at,
        alarm_id
    ])?;
    let id = tx.last_insert_rowid();
    let view = get(tx, id)?.ok_or_else(|| StoreError::NotFound(format!("interception {id}")))?;
    enqueue(tx, &view, "opened", &at)?;
    tracing::warn!(interception = id, parcel = parcel_id, line = %line_id, lane, %cause, "interception opened: a held parcel is in a release lane");
    Ok(view)
}

fn enqueue(
    tx: &Transaction<'_>,
    v: &InterceptionView,
    state: &str,
    at: &str,
) -> Result<(), StoreError> {
    let body = uplink::Interception {
        interception_id: v.id,
        state: state.to_owned(),
        parcel_id: v.parcel_id,
        logistics_no: v.logistics_no.clone(),
        line: v.line_id.clone(),
        lane: v.lane,
        bag_id: v.bag_id,
        bag_no: v.bag_no.clone(),
        dropped_at: v.dropped_at.clone(),
        cause: v.cause.clone(),
        retrieved_by: v.retrieved_by.clone(),
        retrieval_scan: v.retrieval_scan.clone(),
        retrieval_reason: v.retrieval_reason.clone(),
        at: at.to_owned(),
    };
    outbox::enqueue(tx, Stream::Decisions, uplink::kind::INTERCEPTION, &body)?;
    Ok(())
}

/// Record the retrieval of an open interception by `actor`: a scan that must be the
/// parcel's waybill, or a reason when by hand. Clears its alarm, audited, uplink. `None`
/// when there is no such interception.
pub fn record_retrieval(
    tx: &Transaction<'_>,
    id: i64,
    actor: &str,
    retrieval: &Retrieval,
) -> Result<Option<InterceptionView>, StoreError> {
    let Some(open) = get(tx, id)? else {
        return Ok(None);
    };
    if let Some(at) = &open.retrieved_at {
        return Err(StoreError::Invalid(format!(
            "interception {id} was already retrieved at {at} by {}",
            open.retrieved_by.as_deref().unwrap_or("?")
        )));
    }
    let scan = retrieval
        .scan
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let reason = retrieval
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match (scan, reason) {
        (Some(code), _) if Some(code) != open.logistics_no.as_deref() => {
            return Err(StoreError::Invalid(format!(
                "the label scanned ({code}) is not the intercepted parcel's waybill ({})",
                open.logistics_no.as_deref().unwrap_or("unread")
            )));
        }
        (None, None) => {
            return Err(StoreError::Invalid(
                "a retrieval needs a scan of the parcel's label, or a reason when recorded by hand"
                    .into(),
            ));
        }
        _ => {}
    }
    let at = crate::store::now();
    tx.prepare_cached(
        "UPDATE interceptions SET retrieved_at = ?2, retrieved_by = ?3, retrieval_scan = ?4,
            retrieval_reason = ?5 WHERE id = ?1",
    )?
    .execute(params![id, at, actor, scan, reason])?;
    if let Some(alarm) = open.alarm_id {
        clear_alarm(tx, alarm, &at)?;
    }
    crate::store::append_audit(
        tx,
        &at,
        actor,
        "record_retrieval",
        &format!("parcel:{}", open.parcel_id),
        &serde_json::json!({ "interception": id, "scan": scan, "reason": reason }),
    )?;
    let view = get(tx, id)?.ok_or_else(|| StoreError::NotFound(format!("interception {id}")))?;
    enqueue(tx, &view, "retrieved", &at)?;
    Ok(Some(view))
}

/// Clear one alarm by id (others of its kind on the line stay open), uplink.
fn clear_alarm(tx: &Transaction<'_>, alarm_id: i64, at: &str) -> Result<(), StoreError> {
    let cleared: Option<(String, String, String, Option<i64>)> = tx
        .prepare_cached(
            "UPDATE alarms SET cleared_at = ?2 WHERE id = ?1 AND cleared_at IS NULL
             RETURNING source, kind, detail, parcel_id",
        )?
        .query_row(params![alarm_id, at], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    if let Some((source, kind, detail, parcel_id)) = cleared {
        let body = uplink::Alarm {
            alarm_id,
            state: "cleared".into(),
            source,
            alarm: kind,
            detail,
            parcel_id,
            at: at.to_owned(),
        };
        outbox::enqueue(tx, Stream::Health, uplink::kind::ALARM, &body)?;
    }
    Ok(())
}
