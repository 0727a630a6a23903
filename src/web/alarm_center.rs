//! The alarms every console page shows in its header, and their history.
//!
//! `GET /api/alarms` gives every alarm that needs someone — open, or cleared without anyone
//! acknowledging it — from every source (lines, gates, devices, the controller itself, and
//! whatever kinds other parts raise), with the count not yet acknowledged; `GET
//! /api/alarms/history` every alarm raised in a time range with when it cleared and who
//! acknowledged it. Acknowledging is `POST /api/alarms/{id}/ack` (`lines.rs`).

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{ErrorBody, NotLoggedIn};
use super::{ApiError, AppState, WebState};
use crate::store::alarm_history::{self, AlarmRecord};

/// Most alarms in the header's list.
const MAX_ATTENTION: u32 = 200;

/// This module's routes, with their OpenAPI descriptions.
pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(attention))
        .routes(routes!(history))
}

/// The alarms that need someone.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Attention {
    /// How many of them nobody has acknowledged yet.
    unacked: usize,
    /// Open alarms and cleared ones nobody acknowledged, newest first.
    alarms: Vec<AlarmRecord>,
}

/// Every alarm that needs someone, from every source, newest first.
#[utoipa::path(get, path = "/api/alarms", tag = "line",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Open alarms and cleared ones not acknowledged", body = Attention),
        NotLoggedIn,
        (status = 503, description = "The store is not available", body = ErrorBody)))]
async fn attention(State(state): State<AppState>) -> Result<Json<Attention>, ApiError> {
    let mut alarms = state
        .store
        .reader
        .read(|c| alarm_history::needing_attention(c, MAX_ATTENTION))
        .await?;
    // The controller's alarms the store could not take yet (negative ids).
    alarms.extend(
        state
            .alarms
            .views()
            .into_iter()
            .filter(|a| a.id < 0)
            .map(|a| AlarmRecord {
                id: a.id,
                at: a.at,
                source: format!("{}:{}", crate::alarm_book::SOURCE, a.source),
                kind: a.kind,
                detail: a.detail,
                parcel_id: None,
                cleared_at: None,
                acked_by: None,
                acked_at: None,
            }),
    );
    alarms.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
    Ok(Json(Attention {
        unacked: alarms.iter().filter(|a| a.acked_by.is_none()).count(),
        alarms,
    }))
}

/// Which alarms.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct HistoryQuery {
    /// Raised at or after (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, max_length = 40)]
    from: Option<String>,
    /// Raised before (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, max_length = 40)]
    to: Option<String>,
    /// How many, newest first (1..=2000, default 500).
    #[param(minimum = 1, maximum = 2000)]
    limit: Option<u32>,
}

/// Every alarm raised in a time range: raised, cleared, acknowledged, by whom.
#[utoipa::path(get, path = "/api/alarms/history", tag = "line", params(HistoryQuery),
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Alarms raised in the range, newest first", body = [AlarmRecord]),
        (status = 400, description = "`from` or `to` is not an RFC 3339 time", body = ErrorBody),
        NotLoggedIn,
        (status = 503, description = "The store is not available", body = ErrorBody)))]
async fn history(
    State(state): State<AppState>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Vec<AlarmRecord>>, ApiError> {
    let from = utc_param("from", q.from.as_deref())?;
    let to = utc_param("to", q.to.as_deref())?;
    let limit = super::errors::in_range("limit", q.limit, 1, 2000)?.unwrap_or(500);
    Ok(Json(
        state
            .store
            .reader
            .read(move |c| alarm_history::history(c, from.as_deref(), to.as_deref(), limit))
            .await?,
    ))
}

/// An RFC 3339 time as the store's UTC text, or a 400 naming the parameter (an empty value
/// too: leave the parameter out instead).
pub(super) fn utc_param(name: &str, value: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(v) = value else {
        return Ok(None);
    };
    super::errors::text_len(name, v, 0, super::limits::TIME)?;
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| Some(crate::store::timestamp(t.with_timezone(&chrono::Utc))))
        .map_err(|e| {
            ApiError(
                axum::http::StatusCode::BAD_REQUEST,
                format!("{name} is not an RFC 3339 time ({v:?}): {e}"),
            )
        })
}
