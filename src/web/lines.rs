//! The sorting lines live, and the officer's judging view.
//!
//! `GET /api/lines` gives each line's belt (from the line task's [`BeltView`]) with its lane
//! counts since midnight Beijing time; `GET /api/judging?line=` picks the parcel an officer
//! should look at now: the undecided parcel nearest its deadline among those whose X-ray
//! views are in (or, before any are, the next undecided one), with its declaration, its
//! weights and its views.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Denied, ErrorBody, NotLoggedIn, Operators, Require};
use super::{ApiError, AppState, WebState};
use crate::sorting::BeltView;
use crate::sorting::belt::OnBelt;
use crate::store::StoreError;
use crate::store::alarms::{self, AlarmView};
use crate::store::parcel_search::{self, Declaration};
use crate::store::parcels::{self, ParcelView};

/// This module's routes, with their OpenAPI descriptions.
pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(lines))
        .routes(routes!(judging))
        .routes(routes!(acknowledge_alarm))
}

/// One line: its belt live and today's lane counts.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct LineOverview {
    /// The belt and the parcels on it.
    #[serde(flatten)]
    belt: BeltView,
    /// Parcels per lane kind since midnight Beijing time.
    counts: LaneCounts,
    /// The line's open alarms (its PLC, scanners, X-ray) and the controller's own (the
    /// store cannot commit, the disk is low, a task failed), newest first. An alarm the
    /// store could not take yet has a negative id and cannot be acknowledged until it is
    /// written.
    alarms: Vec<AlarmView>,
}

/// Parcels per lane kind.
#[derive(Debug, Default, Serialize, ToSchema)]
pub(super) struct LaneCounts {
    /// Decided for release.
    release: u64,
    /// Decided for inspection.
    inspection: u64,
    /// Decided for the exception lane.
    exception: u64,
    /// Not decided yet.
    pending: u64,
}

/// Every sorting line, live.
#[utoipa::path(get, path = "/api/lines", tag = "line",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Each line's belt, today's lane counts and open alarms", body = [LineOverview]),
        NotLoggedIn))]
async fn lines(State(state): State<AppState>) -> Result<Json<Vec<LineOverview>>, ApiError> {
    let belts: Vec<BeltView> = state.belts.iter().map(|b| b.borrow().clone()).collect();
    let since = beijing_midnight_utc(Utc::now());
    let ids: Vec<String> = belts.iter().map(|b| b.line_id.clone()).collect();
    let (per_line, stored_controller) = state
        .store
        .reader
        .read(move |c| {
            let per_line = ids
                .iter()
                .map(|id| {
                    let alarms = alarms::open(c, &format!("line:{id}"), MAX_ALARMS)?;
                    Ok((lane_counts(c, id, &since)?, alarms))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let controller = alarms::open(c, crate::alarm_book::SOURCE, MAX_ALARMS)?;
            Ok((per_line, controller))
        })
        .await?;
    let controller = controller_alarms(stored_controller, &state.alarms);
    Ok(Json(
        belts
            .into_iter()
            .zip(per_line)
            .map(|(belt, (counts, mut alarms))| {
                alarms.extend(controller.iter().cloned());
                alarms.sort_by(|a, b| b.at.cmp(&a.at));
                LineOverview {
                    belt,
                    counts,
                    alarms,
                }
            })
            .collect(),
    ))
}

/// The controller's own alarms (store, disk, failed tasks), shown with every line: those
/// in the store as stored (with who acknowledged them), and those the store could not take
/// yet from memory (negative ids).
fn controller_alarms(
    stored: Vec<AlarmView>,
    book: &crate::alarm_book::AlarmBook,
) -> Vec<AlarmView> {
    let mut all = stored;
    all.extend(book.views().into_iter().filter(|a| a.id < 0).map(|mut a| {
        a.source = format!("{}:{}", crate::alarm_book::SOURCE, a.source);
        a
    }));
    all
}

/// Most open alarms shown per line.
const MAX_ALARMS: u32 = 50;

/// An operator acknowledges an alarm: it stays open until its condition clears, but the
/// console shows who has it in hand. Audited.
#[utoipa::path(post, path = "/api/alarms/{id}/ack", tag = "line",
    params(("id" = i64, Path, description = "Alarm id")),
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Acknowledged (or already was)"),
        NotLoggedIn,
        (status = 403, description = "Not an operator, or no CSRF token", body = ErrorBody),
        (status = 404, description = "No such alarm", body = ErrorBody)))]
async fn acknowledge_alarm(
    State(state): State<AppState>,
    Require(operator, ..): Require<Operators>,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, Denied> {
    let actor = operator.actor.clone();
    let found = state
        .store
        .writer
        .write(move |tx| alarms::acknowledge(tx, id, &actor))
        .await?;
    if !found {
        return Err(Denied::new(StatusCode::NOT_FOUND, format!("no alarm {id}")));
    }
    tracing::info!(alarm = id, operator = %operator.actor, "alarm acknowledged");
    Ok(Json(
        serde_json::json!({ "alarm_id": id, "by": operator.actor }),
    ))
}

/// Midnight of today in Beijing (UTC+8), as RFC 3339 UTC text comparable with the store's.
fn beijing_midnight_utc(now: DateTime<Utc>) -> String {
    let beijing = crate::store::beijing();
    let midnight = now
        .with_timezone(&beijing)
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_local_timezone(beijing)
        .single()
        .expect("a fixed offset has no gaps");
    crate::store::timestamp(midnight.with_timezone(&Utc))
}

fn lane_counts(c: &Connection, line: &str, since: &str) -> Result<LaneCounts, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT coalesce(lane_kind, 'pending'), count(*) FROM parcels
         WHERE entered_at >= ?2 AND line_id = ?1 GROUP BY 1",
    )?;
    let mut counts = LaneCounts::default();
    for row in stmt.query_map(rusqlite::params![line, since], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })? {
        let (kind, n) = row?;
        match kind.as_str() {
            "release" => counts.release = n,
            "inspection" => counts.inspection = n,
            "exception" => counts.exception = n,
            _ => counts.pending += n,
        }
    }
    Ok(counts)
}

#[derive(Debug, Deserialize, IntoParams)]
pub(super) struct JudgingQuery {
    /// Line id; the first line when absent.
    #[param(max_length = 64)]
    line: Option<String>,
}

/// What an officer judges now on one line.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Judging {
    /// Line id.
    line_id: String,
    /// The server's time (RFC 3339 UTC), to count down from.
    now: String,
    /// The parcel to judge now, if any is on the belt undecided.
    parcel: Option<JudgedParcel>,
    /// The other undecided parcels, nearest deadline first.
    waiting: Vec<Waiting>,
}

/// An undecided parcel behind the one being judged (the judging strip: each one can be
/// flagged ahead of its turn).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Waiting {
    /// Record id.
    parcel_id: i64,
    /// Tracking number the PLC gave it.
    tracking_no: i64,
    /// The waybill its scans agree on so far, if any.
    code: Option<String>,
    /// How far along the belt it is, mm (belt order: the largest is nearest the diverter).
    position_mm: f64,
    /// Milliseconds until its decision.
    deadline_in_ms: Option<u64>,
    /// X-ray views in so far.
    xray_views: u32,
    /// Their content hashes (`/api/evidence/{sha256}`), in order.
    views: Vec<String>,
    /// Whether an officer flag already stands against it or its waybill.
    flagged: bool,
    /// Its list's customs status (returnStatus; only 800 releases), when its waybill has a
    /// list: the console says when the parcel goes to exception or inspection anyway.
    return_status: Option<i32>,
    /// The first goods line's name, for the strip's label.
    goods: Option<String>,
    /// Gross weight declared on its list, kg.
    declared_weight_kg: Option<f64>,
    /// Weight the scale measured, kg.
    measured_weight_kg: Option<f64>,
}

/// The parcel being judged, with what an officer needs to see.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct JudgedParcel {
    /// The parcel as the line monitor shows it.
    #[serde(flatten)]
    parcel: ParcelView,
    /// When its decision is due (RFC 3339 UTC); a flag must be in before.
    deadline_at: Option<String>,
    /// Milliseconds until then.
    deadline_in_ms: Option<u64>,
    /// Whether an officer flag already stands against it or its waybill.
    flagged: bool,
    /// Its X-ray views' content hashes (`/api/evidence/{sha256}`), in order.
    xray_views: Vec<String>,
    /// Gross weight declared on its list, kg.
    declared_weight_kg: Option<f64>,
    /// Weight the scale measured, kg.
    measured_weight_kg: Option<f64>,
    /// Its declaration list, when the waybill has one.
    declaration: Option<Declaration>,
}

/// The parcel an officer should judge now on a line.
#[utoipa::path(get, path = "/api/judging", tag = "line", params(JudgingQuery),
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The parcel to judge (or none) and those waiting", body = Judging),
        NotLoggedIn,
        (status = 404, description = "No such line", body = ErrorBody)))]
async fn judging(
    State(state): State<AppState>,
    Query(q): Query<JudgingQuery>,
) -> Result<Json<Judging>, ApiError> {
    super::limits::opt("line", q.line.as_deref(), super::limits::ID)?;
    let belt = match &q.line {
        Some(id) => state.belts.iter().find(|b| b.borrow().line_id == *id),
        None => state.belts.first(),
    }
    .map(|b| b.borrow().clone())
    .ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            match &q.line {
                Some(id) => format!("no sorting line {id:?}"),
                None => "this site runs no sorting line".to_owned(),
            },
        )
    })?;
    let now = Utc::now();
    let mut undecided: Vec<&OnBelt> = belt
        .parcels
        .iter()
        .filter(|p| p.deadline_in_ms.is_some())
        .collect();
    undecided.sort_by_key(|p| p.deadline_in_ms);
    let current = undecided
        .iter()
        .find(|p| p.xray_views > 0)
        .or_else(|| undecided.first())
        .copied();
    let behind: Vec<OnBelt> = undecided
        .iter()
        .filter(|p| Some(p.parcel_id) != current.map(|c| c.parcel_id))
        .map(|p| (*p).clone())
        .collect();
    let current = current.cloned();
    let (parcel, waiting) = state
        .store
        .reader
        .read(move |c| {
            let parcel = match &current {
                Some(on_belt) => judged_parcel(c, on_belt, now)?,
                None => None,
            };
            let waiting = behind
                .iter()
                .map(|p| waiting_parcel(c, p))
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok((parcel, waiting))
        })
        .await?;
    Ok(Json(Judging {
        line_id: belt.line_id,
        now: crate::store::timestamp(now),
        parcel,
        waiting,
    }))
}

fn waiting_parcel(c: &Connection, p: &OnBelt) -> Result<Waiting, StoreError> {
    let views = if p.xray_views > 0 {
        xray_views(c, p.parcel_id)?
    } else {
        Vec::new()
    };
    let declaration = match &p.code {
        Some(code) => parcel_search::declaration(c, code)?,
        None => None,
    };
    let measured_weight_kg: Option<f64> = c
        .prepare_cached("SELECT weight_kg FROM parcels WHERE id = ?1")?
        .query_row([p.parcel_id], |r| r.get(0))?;
    Ok(Waiting {
        return_status: declaration.as_ref().map(|d| d.return_status),
        goods: declaration
            .as_ref()
            .and_then(|d| d.goods.first().map(|g| g.item_name.clone())),
        declared_weight_kg: declaration.as_ref().and_then(|d| d.gross_weight_kg),
        measured_weight_kg,
        parcel_id: p.parcel_id,
        tracking_no: i64::from(p.tracking_no),
        code: p.code.clone(),
        position_mm: p.position_mm,
        deadline_in_ms: p.deadline_in_ms,
        xray_views: p.xray_views,
        views,
        flagged: crate::store::instructions::flags_against(c, p.parcel_id, p.code.as_deref())? > 0,
    })
}

fn xray_views(c: &Connection, id: i64) -> Result<Vec<String>, StoreError> {
    Ok(crate::store::evidence_rows::for_record(c, "parcel", id)?
        .into_iter()
        .filter(|e| e.kind == Some(crate::evidence::EvidenceKind::XrayView))
        .map(|e| e.sha256)
        .collect())
}

fn judged_parcel(
    c: &Connection,
    on_belt: &OnBelt,
    now: DateTime<Utc>,
) -> Result<Option<JudgedParcel>, StoreError> {
    let (id, deadline_in_ms) = (on_belt.parcel_id, on_belt.deadline_in_ms);
    let mut parcel = parcels::get(c, id)?;
    // Decided since the belt was last published: nothing left to judge.
    if parcel.decided_at.is_some() {
        return Ok(None);
    }
    // The store learns the waybill with the decision; the belt knows it from the scans.
    parcel.logistics_no.clone_from(&on_belt.code);
    let measured_weight_kg: Option<f64> = c
        .prepare_cached("SELECT weight_kg FROM parcels WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    let flagged =
        crate::store::instructions::flags_against(c, id, parcel.logistics_no.as_deref())? > 0;
    let xray_views = xray_views(c, id)?;
    let declaration = match &parcel.logistics_no {
        Some(waybill) => parcel_search::declaration(c, waybill)?,
        None => None,
    };
    Ok(Some(JudgedParcel {
        deadline_at: deadline_in_ms
            .map(|ms| crate::store::timestamp(now + chrono::Duration::milliseconds(ms as i64))),
        deadline_in_ms,
        flagged,
        xray_views,
        declared_weight_kg: declaration.as_ref().and_then(|d| d.gross_weight_kg),
        measured_weight_kg,
        declaration,
        parcel,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_midnight_is_sixteen_hundred_utc_the_day_before() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // 01:30 in Beijing on the 28th is 17:30 UTC on the 27th: the day began at 16:00 UTC.
        assert_eq!(
            beijing_midnight_utc(at("2026-11-27T17:30:00Z")),
            "2026-11-27T16:00:00.000Z"
        );
        // 23:59 in Beijing on the 27th is 15:59 UTC: the day began the evening before.
        assert_eq!(
            beijing_midnight_utc(at("2026-11-27T15:59:00Z")),
            "2026-11-26T16:00:00.000Z"
        );
    }
}
