//! Officer actions on parcels (customs officers only).
//!
//! `POST /api/parcels/{id}/flag {reason}` flags a parcel for inspection: the flag, its
//! audit entry and its uplink message are written in one transaction
//! (`store::instructions::add_flag`), and the decision sends the parcel to the inspection
//! lane if it has not been decided yet.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rusqlite::OptionalExtension as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{BadJson, Denied, ErrorBody, NotLoggedIn, Officers, Require};
use super::{AppState, WebState};
use crate::store::instructions::{self, OfficerFlag};

/// Longest reason a flag accepts, in characters.
const MAX_REASON_CHARS: usize = 500;
/// Shortest reason a flag accepts, in characters.
const MIN_REASON_CHARS: usize = 2;

/// This module's routes, with their OpenAPI descriptions.
pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new().routes(routes!(flag_parcel))
}

/// An officer's flag.
#[derive(Deserialize, ToSchema)]
pub(super) struct FlagRequest {
    /// Why the officer wants it opened: 2 to 500 characters (not counting spaces around).
    #[serde(default)]
    #[schema(
        required = true,
        max_length = 500,
        pattern = "^\\s*\\S[\\s\\S]*\\S\\s*$"
    )]
    reason: String,
}

/// A flag, recorded.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Flagged {
    /// The flag's record id.
    flag_id: i64,
    /// The parcel flagged.
    parcel_id: i64,
    /// Its waybill number, when it was read.
    logistics_no: Option<String>,
    /// The officer who flagged it.
    by: String,
}

/// Flag parcel `id` for inspection.
#[utoipa::path(
    post,
    path = "/api/parcels/{id}/flag",
    tag = "line",
    security(("session" = []), ("bearer" = [])),
    params(("id" = i64, Path, description = "The parcel's record id")),
    request_body = FlagRequest,
    responses(
        (status = 200, description = "Flagged: the flag, its audit entry and its uplink \
            message are written; an undecided parcel goes to the inspection lane", body = Flagged),
        (status = 400, description = "No reason, or one shorter than 2 characters", body = ErrorBody),
        NotLoggedIn,
        (status = 403, description = "Not a customs officer, or the CSRF token is missing \
            or wrong", body = ErrorBody),
        (status = 404, description = "No such parcel", body = ErrorBody),
        BadJson,
    )
)]
pub(super) async fn flag_parcel(
    State(state): State<AppState>,
    Require(officer, ..): Require<Officers>,
    Path(id): Path<i64>,
    Json(body): Json<FlagRequest>,
) -> Result<Json<Flagged>, Denied> {
    crate::web::errors::text_len("reason", &body.reason, 0, MAX_REASON_CHARS)?;
    let reason = body.reason.trim().to_owned();
    if reason.chars().count() < MIN_REASON_CHARS {
        return Err(Denied::new(
            StatusCode::BAD_REQUEST,
            format!("a flag needs a reason of at least {MIN_REASON_CHARS} characters"),
        ));
    }
    let actor = officer.actor.clone();
    let flagged = state
        .store
        .writer
        .write(move |tx| {
            let waybill: Option<Option<String>> = tx
                .prepare_cached("SELECT logistics_no FROM parcels WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            let Some(waybill) = waybill else {
                return Ok(None);
            };
            let flag = OfficerFlag {
                parcel_id: Some(id),
                logistics_no: None,
                officer: &actor,
                reason: &reason,
            };
            Ok(Some((instructions::add_flag(tx, &flag)?, waybill)))
        })
        .await?;
    let (flag_id, waybill) =
        flagged.ok_or_else(|| Denied::new(StatusCode::NOT_FOUND, format!("no parcel {id}")))?;
    tracing::info!(parcel = id, officer = %officer.actor, "parcel flagged for inspection");
    Ok(Json(Flagged {
        flag_id,
        parcel_id: id,
        logistics_no: waybill,
        by: officer.actor,
    }))
}
