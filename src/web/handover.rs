//! `GET /api/handover?from=&to=` — the shift handover (交接班) over a chosen span: parcels
//! per line and lane, alarms and what still needs someone, officer flags, inspection
//! results, gate passes and every manual override (`store::handover`). Every role may read
//! it; the console prints it.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::alarm_center::utc_param;
use super::auth::{ErrorBody, NotLoggedIn};
use super::{ApiError, AppState, WebState};
use crate::store::handover::{self, Handover};

/// This module's routes, with their OpenAPI descriptions.
pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new().routes(routes!(summary))
}

/// The span of a handover.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ShiftQuery {
    /// Start of the shift, RFC 3339 (`2026-12-06T08:00:00+08:00`).
    #[param(value_type = String, format = DateTime, max_length = 40)]
    from: String,
    /// End of the shift, RFC 3339; default now.
    #[param(value_type = Option<String>, format = DateTime, max_length = 40)]
    to: Option<String>,
}

/// The shift handover over a span.
#[utoipa::path(get, path = "/api/handover", tag = "stats", params(ShiftQuery),
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The handover of the span", body = Handover),
        (status = 400, description = "No `from`, or `from`/`to` not RFC 3339, or `to` before `from`", body = ErrorBody),
        NotLoggedIn,
        (status = 503, description = "The store is not available", body = ErrorBody)))]
async fn summary(
    State(state): State<AppState>,
    Query(q): Query<ShiftQuery>,
) -> Result<Json<Handover>, ApiError> {
    let from = utc_param("from", Some(q.from.as_str()))?.ok_or_else(|| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "from is required: the start of the shift".into(),
        )
    })?;
    let to = utc_param("to", q.to.as_deref())?
        .unwrap_or_else(|| crate::store::timestamp(chrono::Utc::now()));
    if to < from {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("to ({to}) is before from ({from})"),
        ));
    }
    Ok(Json(
        state
            .store
            .reader
            .read(move |c| handover::compute(c, &from, &to))
            .await?,
    ))
}
