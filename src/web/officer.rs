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
use serde::Deserialize;

use super::AppState;
use super::auth::{Denied, Officers, Require};
use crate::store::instructions::{self, OfficerFlag};

/// Shortest reason a flag accepts, in characters.
const MIN_REASON_CHARS: usize = 2;

#[derive(Deserialize)]
pub(super) struct FlagRequest {
    /// Why the officer wants it opened. Required.
    #[serde(default)]
    reason: String,
}

/// Flag parcel `id` for inspection.
pub(super) async fn flag_parcel(
    State(state): State<AppState>,
    Require(officer, ..): Require<Officers>,
    Path(id): Path<i64>,
    Json(body): Json<FlagRequest>,
) -> Result<Json<serde_json::Value>, Denied> {
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
    Ok(Json(serde_json::json!({
        "flag_id": flag_id,
        "parcel_id": id,
        "logistics_no": waybill,
        "by": officer.actor,
    })))
}
