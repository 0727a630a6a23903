//! The parcel API: the search box, one parcel's detail with its whole timeline, and the
//! inspection results officers record after opening a parcel.
//!
//! - `GET /api/parcels/search` — by waybill, order or list number (exact or prefix in `q`,
//!   exact in their own parameters), by tracking number, by a time range on entry, by
//!   lane; newest first, paged with `before_id`. A parameter that cannot be read is a 400
//!   naming it (`{"error", "parameter"}`), never an empty page.
//! - `GET /api/parcels/{id}` — the parcel, its declaration list, what was measured, the
//!   evidence, flags, instructions, inspection results and every event in time order.
//! - `POST /api/parcels/{id}/inspection` — officers only: the result, its audit entry and
//!   its uplink message in one transaction (`store::inspections::record`).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{BadJson, Denied, ErrorBody, NotLoggedIn, Officers, Require};
use super::{AppState, WebState};
use crate::store::StoreError;
use crate::store::inspections::{self, Inspection, NewInspection, Outcome};
use crate::store::parcel_search::{self, MAX_LIMIT, Page, ParcelDetail, Search};

/// Longest search text: a waybill number is at most 80 characters.
const MAX_Q_CHARS: usize = 80;
/// The lane kinds a search may ask for.
const LANE_KINDS: [&str; 3] = ["release", "inspection", "exception"];

/// This module's routes, with their OpenAPI descriptions.
pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(detail))
        .routes(routes!(record_inspection))
}

/// 400 naming `parameter` (`{"error", "parameter"}`).
fn bad(parameter: &str, message: impl Into<String>) -> Denied {
    Denied::new(StatusCode::BAD_REQUEST, message).with("parameter", parameter)
}

/// The search's query string, as typed; [`parse_search`] checks it.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct SearchQuery {
    /// A waybill, order number or list number (exact or prefix, case as typed), or a PLC
    /// tracking number (exact). At most 80 characters.
    #[param(max_length = 80)]
    q: Option<String>,
    /// This waybill (logisticsNo), exact. At most 80 characters.
    #[param(max_length = 80)]
    waybill: Option<String>,
    /// This order number (orderNo), exact. At most 60 characters.
    #[param(max_length = 60)]
    order_no: Option<String>,
    /// This list number (invtNo), exact. At most 18 characters.
    #[param(max_length = 18)]
    invt_no: Option<String>,
    /// Entered at or after this time (RFC 3339, any offset).
    #[param(value_type = Option<String>, format = DateTime, max_length = 40)]
    from: Option<String>,
    /// Entered before this time (RFC 3339, any offset).
    #[param(value_type = Option<String>, format = DateTime, max_length = 40)]
    to: Option<String>,
    /// `release`, `inspection` or `exception`.
    #[param(value_type = Option<LaneKind>, inline)]
    lane_kind: Option<String>,
    /// Parcels on the page, 1 to 500 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// Only parcels older than this id: the `next_before_id` of the page before.
    #[param(value_type = Option<i64>, minimum = 1)]
    before_id: Option<String>,
}

/// The lane kinds a search may ask for, as the document names them.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // documents `lane_kind`, which is read as text and checked
enum LaneKind {
    Release,
    Inspection,
    Exception,
}

/// A value given and not blank.
fn given(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// An RFC 3339 time as stored (UTC, milliseconds). A `+` that a hand-typed URL turned
/// into a space before the offset is taken back.
fn parse_time(parameter: &str, text: &str) -> Result<String, Denied> {
    let parsed = DateTime::parse_from_rfc3339(text).or_else(|e| {
        let offset = text
            .len()
            .checked_sub(6)
            .filter(|&i| text.as_bytes()[i] == b' ' && text.as_bytes()[i + 3] == b':');
        match offset {
            Some(i) => DateTime::parse_from_rfc3339(&format!("{}+{}", &text[..i], &text[i + 1..])),
            None => Err(e),
        }
    });
    parsed
        .map(|t| crate::store::timestamp(t.with_timezone(&Utc)))
        .map_err(|e| {
            bad(
                parameter,
                format!(
                    "{parameter} {text:?} is not an RFC 3339 time ({e}); for example \
                     2026-11-27T08:00:00+08:00"
                ),
            )
        })
}

/// Check the query string and turn it into a [`Search`]; the error names the parameter.
pub(super) fn parse_search(q: SearchQuery) -> Result<Search, Denied> {
    for (parameter, value, max) in [
        ("q", &q.q, MAX_Q_CHARS),
        ("waybill", &q.waybill, MAX_Q_CHARS),
        ("order_no", &q.order_no, 60),
        ("invt_no", &q.invt_no, 18),
        ("from", &q.from, crate::web::limits::TIME),
        ("to", &q.to, crate::web::limits::TIME),
    ] {
        if let Some(v) = value {
            crate::web::errors::text_len(parameter, v, 0, max)?;
        }
    }
    let text = given(q.q);
    let from = q.from.map(|t| parse_time("from", &t)).transpose()?;
    let to = q.to.map(|t| parse_time("to", &t)).transpose()?;
    if let (Some(f), Some(t)) = (&from, &to)
        && f > t
    {
        return Err(bad("from", format!("from ({f}) is after to ({t})")));
    }
    let lane_kind = q.lane_kind;
    if let Some(k) = &lane_kind
        && !LANE_KINDS.contains(&k.as_str())
    {
        return Err(bad(
            "lane_kind",
            format!("lane_kind is release, inspection or exception, not {k:?}"),
        ));
    }
    let limit = match given(q.limit) {
        None => parcel_search::DEFAULT_LIMIT,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| bad("limit", format!("limit is 1 to {MAX_LIMIT}, not {l:?}")))?,
    };
    let before_id = match given(q.before_id) {
        None => None,
        Some(b) => Some(b.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            bad(
                "before_id",
                format!("before_id is a parcel id (a positive whole number), not {b:?}"),
            )
        })?),
    };
    Ok(Search {
        q: text,
        waybill: given(q.waybill),
        order_no: given(q.order_no),
        invt_no: given(q.invt_no),
        from,
        to,
        lane_kind,
        limit,
        before_id,
    })
}

/// Search parcels, newest first.
#[utoipa::path(
    get,
    path = "/api/parcels/search",
    tag = "line",
    security(("session" = []), ("bearer" = [])),
    params(SearchQuery),
    responses(
        (status = 200, description = "One page of parcels, newest first, each with the head \
            of its declaration list", body = Page),
        (status = 400, description = "A parameter that cannot be read (a time that is not RFC \
            3339, `from` after `to`, a limit outside 1 to 500, an unknown parameter): the \
            message and the field `parameter` name it", body = ErrorBody),
        NotLoggedIn,
    )
)]
async fn search(
    State(state): State<AppState>,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<Page>, Denied> {
    let Query(query) = query.map_err(|e| {
        let text = e.body_text();
        let parameter = text
            .split('`')
            .nth(1)
            .filter(|_| text.contains("unknown field"))
            .unwrap_or("query");
        bad(parameter, text.clone())
    })?;
    let s = parse_search(query)?;
    Ok(Json(
        state
            .store
            .reader
            .read(move |c| parcel_search::search(c, &s))
            .await?,
    ))
}

/// One parcel with everything the store holds about it.
#[utoipa::path(
    get,
    path = "/api/parcels/{id}",
    tag = "line",
    security(("session" = []), ("bearer" = [])),
    params(("id" = i64, Path, description = "The parcel's record id")),
    responses(
        (status = 200, description = "The parcel, its declaration list, what was measured, \
            its evidence, flags, instructions, inspection results, and every event in time \
            order", body = ParcelDetail),
        NotLoggedIn,
        (status = 404, description = "No such parcel", body = ErrorBody),
    )
)]
async fn detail(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<ParcelDetail>, Denied> {
    state
        .store
        .reader
        .read(move |c| parcel_search::detail(c, id))
        .await?
        .map(Json)
        .ok_or_else(|| Denied::new(StatusCode::NOT_FOUND, format!("no parcel {id}")))
}

/// An inspection result as an officer enters it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(super) struct InspectionRequest {
    /// `conform`, `discrepancy`, `seized` or `returned`.
    #[serde(default)]
    #[schema(value_type = Outcome, required = true)]
    result: String,
    /// What was found, 2 to 2000 characters.
    #[serde(default)]
    #[schema(
        required = true,
        max_length = 2000,
        pattern = "^\\s*\\S[\\s\\S]*\\S\\s*$"
    )]
    findings: String,
}

/// Record what an officer found on opening parcel `id` (officers only).
#[utoipa::path(
    post,
    path = "/api/parcels/{id}/inspection",
    tag = "line",
    security(("session" = []), ("bearer" = [])),
    params(("id" = i64, Path, description = "The parcel's record id")),
    request_body = InspectionRequest,
    responses(
        (status = 201, description = "Recorded: the result, its audit entry and its uplink \
            message (`inspection_result`) are written in one transaction", body = Inspection),
        (status = 200, description = "The same result from the same officer is the parcel's \
            newest already (a second click): nothing new is written; the kept one", body = Inspection),
        (status = 400, description = "An unknown result, or findings shorter than 2 or longer \
            than 2000 characters: the field `parameter` names which", body = ErrorBody),
        NotLoggedIn,
        (status = 403, description = "Not a customs officer, or the CSRF token is missing or \
            wrong", body = ErrorBody),
        (status = 404, description = "No such parcel", body = ErrorBody),
        BadJson,
    )
)]
async fn record_inspection(
    State(state): State<AppState>,
    Require(officer, ..): Require<Officers>,
    Path(id): Path<i64>,
    Json(body): Json<InspectionRequest>,
) -> Result<(StatusCode, Json<Inspection>), Denied> {
    let outcome = Outcome::parse(body.result.trim()).ok_or_else(|| {
        bad(
            "result",
            format!(
                "result is conform, discrepancy, seized or returned, not {:?}",
                body.result
            ),
        )
    })?;
    crate::web::errors::text_len(
        "findings",
        &body.findings,
        0,
        inspections::MAX_FINDINGS_CHARS,
    )?;
    let findings = inspections::check_findings(&body.findings)
        .map_err(|m| bad("findings", m))?
        .to_owned();
    let actor = officer.actor.clone();
    let kept = state
        .store
        .writer
        .write(move |tx| {
            let new = NewInspection {
                parcel_id: id,
                outcome,
                findings: &findings,
                officer: &actor,
            };
            inspections::record_once(tx, &new)
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => {
                Denied::new(StatusCode::NOT_FOUND, format!("no parcel {id}"))
            }
            StoreError::Invalid(m) => bad("findings", m),
            e => Denied::from(e),
        })?;
    let (kept, created) = kept;
    if !created {
        return Ok((StatusCode::OK, Json(kept)));
    }
    tracing::info!(parcel = id, officer = %officer.actor, result = outcome.as_str(), "inspection result recorded");
    Ok((StatusCode::CREATED, Json(kept)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> SearchQuery {
        let uri: axum::http::Uri = format!("/api/parcels/search?{text}").parse().unwrap();
        Query::<SearchQuery>::try_from_uri(&uri).unwrap().0
    }

    fn parsed(text: &str) -> Search {
        parse_search(query(text)).unwrap()
    }

    async fn refused(text: &str) -> (StatusCode, serde_json::Value) {
        let denied = parse_search(query(text)).unwrap_err();
        let res = axum::response::IntoResponse::into_response(denied);
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[test]
    fn times_in_any_offset_are_searched_as_stored() {
        let s = parsed("from=2026-11-27T08:00:00%2B08:00&to=2026-11-27T01:00:00Z");
        assert_eq!(s.from.as_deref(), Some("2026-11-27T00:00:00.000Z"));
        assert_eq!(s.to.as_deref(), Some("2026-11-27T01:00:00.000Z"));
        // A `+` typed into a URL arrives as a space.
        let s = parsed("from=2026-11-27T08:00:00+08:00");
        assert_eq!(s.from.as_deref(), Some("2026-11-27T00:00:00.000Z"));
    }

    #[test]
    fn defaults_and_blank_values() {
        let s = parsed("q=%20&waybill=&limit=");
        assert_eq!(s, Search::default());
        assert_eq!(s.limit, 100);
        let s = parsed("q=SF001&limit=500&before_id=42&lane_kind=exception");
        assert_eq!(
            (s.q.as_deref(), s.limit, s.before_id),
            (Some("SF001"), 500, Some(42))
        );
    }

    #[tokio::test]
    async fn every_bad_parameter_is_named() {
        for (query, parameter) in [
            ("from=yesterday", "from"),
            ("to=2026-13-01T00:00:00Z", "to"),
            ("from=2026-11-27T02:00:00Z&to=2026-11-27T01:00:00Z", "from"),
            ("limit=0", "limit"),
            ("limit=501", "limit"),
            ("limit=ten", "limit"),
            ("before_id=-1", "before_id"),
            ("before_id=x", "before_id"),
            ("lane_kind=chute", "lane_kind"),
        ] {
            let (status, body) = refused(query).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(body["parameter"], parameter, "{query}: {body}");
            assert!(
                body["error"].as_str().unwrap().contains(parameter),
                "{query}: {body}"
            );
        }
        let long = format!("q={}", "S".repeat(81));
        assert_eq!(refused(&long).await.1["parameter"], "q");
    }
}
