//! The gate API: lanes live, recent passes, and the operator override.
//!
//! An override needs an operator or administrator — a console session, or for API clients
//! `Authorization: Bearer <token>` of an operator in the config's `[[operators]]` (both
//! checked by `auth::guard`) — and a reason; who and why are written into the pass and the
//! audit log.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{BadJson, ErrorBody, NotLoggedIn, Operators, Require};
use super::{ApiError, AppState, WebState};
use crate::gates::camera::CameraStatsView;
use crate::gates::view::LaneView;
use crate::gates::{Gates, OverrideError};
use crate::store::passes::{self, PassView};

/// Longest reason an override accepts, in characters.
const MAX_REASON_CHARS: usize = 500;
/// Shortest reason an override accepts, in characters.
const MIN_REASON_CHARS: usize = 4;

/// This module's routes, with their OpenAPI descriptions.
pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(lanes))
        .routes(routes!(passes))
        .routes(routes!(pass))
        .routes(routes!(override_open))
}

fn running(state: &AppState) -> Result<&Gates, ApiError> {
    state
        .gates
        .as_ref()
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "this site runs no gate lanes".into()))
}

/// Every lane live, and what the plate-camera listener has done.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Lanes {
    /// Each lane as its loop last saw it.
    lanes: Vec<LaneView>,
    /// The plate-camera listener's counters since start.
    cameras: CameraStatsView,
}

/// Every lane live, with the camera listener's counters.
#[utoipa::path(
    get,
    path = "/api/gates",
    tag = "gates",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Every lane, live", body = Lanes),
        NotLoggedIn,
        (status = 404, description = "This site runs no gate lanes", body = ErrorBody),
    )
)]
pub(super) async fn lanes(State(state): State<AppState>) -> Result<Json<Lanes>, ApiError> {
    let gates = running(&state)?;
    Ok(Json(Lanes {
        lanes: gates.views(),
        cameras: gates.cameras.snapshot(),
    }))
}

/// Which passes.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PassesQuery {
    /// One lane only.
    #[param(max_length = 64)]
    gate: Option<String>,
    /// How many, newest first (1..=500, default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// Recent gate passes, newest first.
#[utoipa::path(
    get,
    path = "/api/gates/passes",
    tag = "gates",
    security(("session" = []), ("bearer" = [])),
    params(PassesQuery),
    responses(
        (status = 200, description = "Recent passes, newest first", body = Vec<PassView>),
        (status = 400, description = "A query parameter is not of its type (plain text)"),
        NotLoggedIn,
    )
)]
pub(super) async fn passes(
    State(state): State<AppState>,
    Query(q): Query<PassesQuery>,
) -> Result<Json<Vec<PassView>>, ApiError> {
    let limit = super::errors::in_range("limit", q.limit, 1, 500)?.unwrap_or(50);
    super::limits::opt("gate", q.gate.as_deref(), super::limits::ID)?;
    Ok(Json(
        state
            .store
            .reader
            .read(move |c| passes::recent_passes(c, q.gate.as_deref(), limit))
            .await?,
    ))
}

/// One gate pass.
#[utoipa::path(
    get,
    path = "/api/gates/passes/{id}",
    tag = "gates",
    security(("session" = []), ("bearer" = [])),
    params(("id" = i64, Path, description = "The pass's record id")),
    responses(
        (status = 200, description = "The pass", body = PassView),
        (status = 400, description = "The id is not a number (plain text)"),
        NotLoggedIn,
        (status = 404, description = "No such pass", body = ErrorBody),
    )
)]
pub(super) async fn pass(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<PassView>, ApiError> {
    state
        .store
        .reader
        .read(move |c| passes::pass(c, id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no gate pass {id}")))
}

/// A manual override.
#[derive(Deserialize, ToSchema)]
pub(super) struct OverrideRequest {
    /// Why the barrier is opened by hand: 4 to 500 characters (not counting spaces around).
    #[serde(default)]
    #[schema(
        required = true,
        max_length = 500,
        pattern = "^\\s*\\S[\\s\\S]{2,}\\S\\s*$"
    )]
    reason: String,
    /// A customs officer's confirmation: required when the truck is held leaving without an
    /// approved exit permit (the answer 403 says so), ignored otherwise.
    #[serde(default)]
    officer: Option<super::override_check::OfficerConfirmation>,
}

/// An override, recorded.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Overridden {
    /// The gate pass the override opened.
    pass_id: i64,
    /// Who overrode.
    by: String,
    /// The officer who confirmed it, when the permit needed one.
    confirmed_by: Option<String>,
}

/// Open a lane's barrier by hand for the truck on it.
#[utoipa::path(
    post,
    path = "/api/gates/{gate}/override",
    tag = "gates",
    security(("session" = []), ("bearer" = [])),
    params(("gate" = String, Path, max_length = 64, description = "The lane's id, e.g. `K1`")),
    request_body = OverrideRequest,
    responses(
        (status = 200, description = "The barrier opens; the pass names who and why", body = Overridden),
        (status = 400, description = "No reason, or one shorter than 4 characters; a lane id, \
            reason or officer's name or password over its limit", body = ErrorBody),
        NotLoggedIn,
        (status = 403, description = "Not an operator or administrator, the CSRF token \
            is missing or wrong, or the permit is missing or not approved and no customs \
            officer confirmed (or the officer's confirmation was refused)", body = ErrorBody),
        (status = 404, description = "No such lane, or this site runs no gate lanes", body = ErrorBody),
        (status = 409, description = "The lane cannot take an override now (no truck held, \
            barrier already open)", body = ErrorBody),
        (status = 503, description = "The lane's task is not running (shutting down)", body = ErrorBody),
        BadJson,
    )
)]
pub(super) async fn override_open(
    State(state): State<AppState>,
    Require(who, ..): Require<Operators>,
    Path(gate): Path<String>,
    Json(body): Json<OverrideRequest>,
) -> Result<Json<Overridden>, ApiError> {
    let gates = running(&state)?;
    let actor = who.actor;
    super::errors::text_len("gate", &gate, 0, super::limits::ID)?;
    super::errors::text_len("reason", &body.reason, 0, MAX_REASON_CHARS)?;
    if let Some(officer) = &body.officer {
        officer.check()?;
    }
    let reason = body.reason.trim().to_owned();
    if reason.chars().count() < MIN_REASON_CHARS {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("an override needs a reason of at least {MIN_REASON_CHARS} characters"),
        ));
    }
    let needs_officer = super::override_check::officer_needed(&state, gates, &gate).await?;
    let officer = match (&needs_officer, body.officer) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(ApiError(
                StatusCode::FORBIDDEN,
                format!(
                    "this truck's permit is missing or not approved ({}): the override needs a \
                     customs officer's confirmation as well (officer username and password)",
                    needs_officer.as_deref().unwrap_or_default()
                ),
            ));
        }
        (Some(_), Some(confirm)) => {
            Some(super::override_check::confirm_officer(&state, &actor, confirm).await?)
        }
    };
    // Both names go into the pass; the officer's confirmation has its own audit entry.
    let recorded = match &officer {
        Some(o) => format!("{actor} + {o}"),
        None => actor.clone(),
    };
    match gates.override_open(&gate, recorded, reason).await {
        Ok(pass_id) => {
            if let (Some(o), Some(why)) = (&officer, &needs_officer) {
                super::override_check::audit_confirmation(&state, o, &actor, &gate, why, pass_id)
                    .await?;
            }
            Ok(Json(Overridden {
                pass_id,
                by: actor,
                confirmed_by: officer,
            }))
        }
        Err(e @ OverrideError::UnknownLane(_)) => {
            Err(ApiError(StatusCode::NOT_FOUND, e.to_string()))
        }
        Err(e @ OverrideError::NotNow(_)) => Err(ApiError(StatusCode::CONFLICT, e.to_string())),
        Err(e @ OverrideError::Stopped(_)) => {
            Err(ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
        }
    }
}
