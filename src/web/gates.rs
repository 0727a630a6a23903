//! The gate API: lanes live, recent passes, and the operator override.
//!
//! An override needs an operator or administrator — a console session, or for API clients
//! `Authorization: Bearer <token>` of an operator in the config's `[[operators]]` (both
//! checked by `auth::guard`) — and a reason; who and why are written into the pass and the
//! audit log.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::auth::{Operators, Require};
use super::{ApiError, AppState};
use crate::gates::{Gates, OverrideError};
use crate::store::gates::{self, PassView};

/// Shortest reason an override accepts, in characters.
const MIN_REASON_CHARS: usize = 4;

fn running(state: &AppState) -> Result<&Gates, ApiError> {
    state
        .gates
        .as_ref()
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "this site runs no gate lanes".into()))
}

/// Every lane live, with the camera listener's counters.
pub(super) async fn lanes(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let gates = running(&state)?;
    Ok(Json(serde_json::json!({
        "lanes": gates.views(),
        "cameras": gates.cameras.snapshot(),
    })))
}

#[derive(Deserialize)]
pub(super) struct PassesQuery {
    /// One lane only.
    gate: Option<String>,
    /// How many, newest first (1..=500, default 50).
    limit: Option<u32>,
}

/// Recent gate passes.
pub(super) async fn passes(
    State(state): State<AppState>,
    Query(q): Query<PassesQuery>,
) -> Result<Json<Vec<PassView>>, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    Ok(Json(
        state
            .store
            .reader
            .read(move |c| gates::recent_passes(c, q.gate.as_deref(), limit))
            .await?,
    ))
}

/// One gate pass.
pub(super) async fn pass(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<PassView>, ApiError> {
    state
        .store
        .reader
        .read(move |c| gates::pass(c, id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no gate pass {id}")))
}

#[derive(Deserialize)]
pub(super) struct OverrideRequest {
    /// Why the barrier is opened by hand. Required.
    #[serde(default)]
    reason: String,
}

/// Open a lane's barrier by hand for the truck on it.
pub(super) async fn override_open(
    State(state): State<AppState>,
    Require(who, ..): Require<Operators>,
    Path(gate): Path<String>,
    Json(body): Json<OverrideRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let gates = running(&state)?;
    let actor = who.actor;
    let reason = body.reason.trim().to_owned();
    if reason.chars().count() < MIN_REASON_CHARS {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("an override needs a reason of at least {MIN_REASON_CHARS} characters"),
        ));
    }
    match gates.override_open(&gate, actor.clone(), reason).await {
        Ok(pass_id) => Ok(Json(serde_json::json!({ "pass_id": pass_id, "by": actor }))),
        Err(e @ OverrideError::UnknownLane(_)) => {
            Err(ApiError(StatusCode::NOT_FOUND, e.to_string()))
        }
        Err(e @ OverrideError::NotNow(_)) => Err(ApiError(StatusCode::CONFLICT, e.to_string())),
        Err(e @ OverrideError::Stopped(_)) => {
            Err(ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
        }
    }
}
